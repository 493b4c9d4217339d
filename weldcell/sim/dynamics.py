"""Dynamic replay: follow a trajectory with pybullet's position-controlled motors and measure lag.

The robot (URDF masses and inertias, gravity on) is stepped at the trajectory's ``dt`` with
``POSITION_CONTROL`` towards each sample's position and velocity, the motor forces capped at the
URDF's effort limits. The tracking error shows moves that ask for more torque than the motors have.
The torch's mass is not included (the torch is carried kinematically in the scene).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.sim.scene import Scene
from weldcell.trajectory import JointTrajectory

NDArrayF = npt.NDArray[np.float64]


def dynamic_replay(
    scene: Scene,
    traj: JointTrajectory,
    joint_indices: tuple[int, ...],
    position_gain: float = 0.3,
    velocity_gain: float = 1.0,
) -> NDArrayF:
    """Replay ``traj`` with motors; returns the largest joint tracking error per sample [rad], (N,).

    Args:
        scene: Scene whose robot is used (its joint states are overwritten).
        traj: Trajectory, sampled at ``traj.dt``.
        joint_indices: pybullet joint indices in ``traj.joint_names`` order.
        position_gain: pybullet position gain (0..1) of the motor controller.
        velocity_gain: pybullet velocity gain of the motor controller.
    """
    cid, robot = scene.client, scene.robot_id
    idx = list(joint_indices)
    order = [scene.joint_indices.index(j) for j in idx]
    forces = [float(f) if f > 0 else 1e4 for f in scene.effort_max[order]]
    pb.setTimeStep(traj.dt, physicsClientId=cid)
    pb.resetJointStatesMultiDof(robot, idx, traj.q[0][:, None].tolist(), physicsClientId=cid)
    err = np.zeros(traj.n_samples)
    n = len(idx)
    for i in range(traj.n_samples):
        pb.setJointMotorControlArray(
            robot,
            idx,
            pb.POSITION_CONTROL,
            targetPositions=traj.q[i].tolist(),
            targetVelocities=traj.qd[i].tolist(),
            forces=forces,
            positionGains=[position_gain] * n,
            velocityGains=[velocity_gain] * n,
            physicsClientId=cid,
        )
        pb.stepSimulation(physicsClientId=cid)
        states = pb.getJointStates(robot, idx, physicsClientId=cid)
        q_sim = np.fromiter((s[0] for s in states), dtype=np.float64, count=n)
        err[i] = float(np.abs(q_sim - traj.q[i]).max())
    return err
