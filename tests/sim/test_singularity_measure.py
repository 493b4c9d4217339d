"""One singularity measure: the validator's (on pybullet's Jacobian) equals the planner's."""

from __future__ import annotations

import numpy as np
import pytest

from weldcell.kinematics import load_robot
from weldcell.sim import CellModel, PybulletWorld, ValidationOptions, build_scene
from weldcell.sim.validate import _singularity
from weldcell.sim.world import Mode
from weldcell.trajectory import JointTrajectory
from weldcell.trajectory.margins import MIN_SINGULARITY


@pytest.mark.parametrize("robot_name", ["ur5e", "ur16e", "kr6_r900"])
def test_validator_measure_equals_planner_measure(robot_name: str) -> None:
    robot = load_robot(robot_name)
    rng = np.random.default_rng(7)
    lo, hi = np.maximum(robot.q_lower, -np.pi), np.minimum(robot.q_upper, np.pi)
    q = rng.uniform(lo, hi, size=(40, robot.n_joints))
    q[0, 4] = 0.0 if robot_name.startswith("ur") else q[0, 4]  # a UR wrist singularity among them
    n = len(q)
    traj = JointTrajectory(
        robot=robot_name,
        joint_names=tuple(robot.joint_names),
        dt=0.002,
        t=np.arange(n) * 0.002,
        q=q,
        qd=np.zeros_like(q),
        qdd=np.zeros_like(q),
        T_world_tcp=robot.fk(q),
        arc_on=np.zeros(n, dtype=bool),
        seam_index=np.full(n, -1, dtype=np.int32),
        seam_s=np.full(n, np.nan),
        T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4),
    )
    cell = CellModel(robot=robot_name, robot_urdf=robot.urdf_path, T_world_base=np.eye(4))
    with PybulletWorld(Mode.DIRECT) as world:
        scene = build_scene(world, cell)
        idx = scene.joint_order(traj.joint_names)
        samples, sing = _singularity(scene, traj, idx, ValidationOptions(singularity_stride=1))
    planner = robot.singularity_distance(q[samples])
    np.testing.assert_allclose(sing, planner, rtol=1e-6, atol=1e-9)
    if robot_name.startswith("ur"):
        assert sing[0] < 1e-9 < MIN_SINGULARITY
    assert ValidationOptions().min_singularity == MIN_SINGULARITY
