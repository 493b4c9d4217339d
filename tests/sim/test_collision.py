"""PybulletCollisionChecker: the planner's CollisionChecker protocol answered by pybullet."""

from __future__ import annotations

import numpy as np
import pytest

from weldcell.errors import InputShapeError
from weldcell.kinematics.models import load_robot
from weldcell.sim import ClearanceRules, PybulletCollisionChecker, PybulletWorld, build_scene
from weldcell.sim.cell_model import CellModel
from weldcell.trajectory import JointTrajectory


def test_checker_protocol(cell: CellModel, good_traj: JointTrajectory) -> None:
    robot = load_robot("ur5e")
    with PybulletWorld() as world:
        checker = PybulletCollisionChecker(build_scene(world, cell), joint_names=robot.joint_names)
        home = cell.home_q
        weld = good_traj.q[good_traj.arc_on][::500]
        free = checker.check(np.vstack([home, weld]))
        assert free.dtype == bool and free.all()
        clear = checker.clearance(np.vstack([home, weld]))
        assert clear.shape == (1 + len(weld),)
        assert clear[0] > 0.005  # home: only the shoulder is near the base
        assert np.all(clear[1:] < 0.01)  # the nozzle works close to the workpiece
        assert checker.colliding_bodies(home) == []
        # push the torch 3 cm down into the joint
        down = good_traj.q[np.flatnonzero(good_traj.arc_on)[2000]].copy()
        T = robot.fk(down)
        T[2, 3] -= 0.03
        q_ik = robot.ik(T)
        q_bad = q_ik[np.nanargmin(np.abs(q_ik - down).sum(axis=1))]
        assert not checker.check(q_bad[None])[0]
        pairs = checker.colliding_bodies(q_bad)
        assert any(a.startswith("torch/") and b in ("cell/base_plate", "cell/web") for a, b in pairs), pairs
        assert checker.clearance(q_bad[None])[0] < 0
        with pytest.raises(InputShapeError):
            checker.check(np.zeros((2, 5)))


def test_wire_and_nozzle_rules(cell: CellModel, good_traj: JointTrajectory) -> None:
    """With a huge nozzle clearance the contact tip fails while welding; nozzle and robot links stay fine."""
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        strict = PybulletCollisionChecker(scene, ClearanceRules(clearance=0.002, nozzle_clearance=0.02))
        q = good_traj.q[np.flatnonzero(good_traj.arc_on)[1000]]
        pairs = strict.colliding_bodies(q)
        assert pairs and all(a == "torch/contact_tip" for a, _ in pairs)


def _box(name: str, role: str, T_world_base: np.ndarray, centre_in_base: list[float], size: list[float]):  # type: ignore[no-untyped-def]
    from weldcell.sim import CellBody

    T = np.asarray(T_world_base, dtype=float).copy()
    T[:3, 3] = T_world_base[:3, :3] @ np.asarray(centre_in_base) + T_world_base[:3, 3]
    return CellBody(name, role, "box", T, size=np.asarray(size, dtype=float))


def test_mount_contact_is_explicit_and_nothing_else_is_allowed(cell: CellModel) -> None:
    """The table under the robot base is an allowed contact; a table or obstacle at its side is not."""
    Tb = cell.T_world_base
    mounted = (
        cell.with_body(_box("pedestal", "table", Tb, [0.0, 0.0, -0.05], [0.4, 0.4, 0.1]))
        .with_body(_box("side_table", "table", Tb, [0.123, 0.0, 0.05], [0.1, 0.1, 0.08]))
        .with_body(_box("post", "obstacle", Tb, [-0.123, 0.0, 0.05], [0.1, 0.1, 0.08]))
    )
    names = [b.name for b in mounted.bodies]
    with PybulletWorld() as world:
        scene = build_scene(world, mounted)
        assert scene.mount_contacts == {(-1, names.index("pedestal"))}
        checker = PybulletCollisionChecker(scene)
        pairs = checker.colliding_bodies(cell.home_q)
        assert ("robot/base", "cell/side_table") in pairs  # touches the base from the side: reported
        assert ("robot/base", "cell/post") in pairs
        assert ("robot/base", "cell/pedestal") not in pairs
        # the pedestal still counts for every moving link: fold the arm down into it
        q = np.array(cell.home_q, dtype=float)
        q[1] = np.pi / 2  # upper arm straight down (UR shoulder lift)
        assert any(b == "cell/pedestal" for _, b in checker.colliding_bodies(q))
