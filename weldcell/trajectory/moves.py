"""The one rest-to-rest joint move that needs no planner: a quintic profile under the robot's limits.

:func:`joint_move` is what a driver (move to the start pose), the cell (short recovery moves) and
the tests use when no collision checker is involved. A collision-free move is
:func:`weldcell.planning.plan_joint_move`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError
from weldcell.trajectory.ops import QUINTIC_PEAK_SPEED, quintic_rest_to_rest, rest_to_rest_duration
from weldcell.trajectory.types import JointTrajectory

NDArrayF = npt.NDArray[np.float64]


def joint_move(
    robot: str,
    q0: NDArrayF,
    q1: NDArrayF,
    dt: float,
    *,
    speed_fraction: float = 0.2,
    joint_names: tuple[str, ...] | None = None,
    tool_reach: float = 0.3,
) -> JointTrajectory:
    """A rest-to-rest quintic joint move from ``q0`` to ``q1`` [rad] sampled every ``dt`` [s].

    The duration makes the peak speed of every joint at most ``speed_fraction`` of its limit, and
    keeps every link origin (the elbow included) and a tool point up to ``tool_reach`` [m] beyond
    the flange within the robot's Cartesian planning limits
    (:func:`weldcell.kinematics.safety.planning_limits` of its default safety configuration), so
    that the controller's tool and elbow speed limits are never reached.

    Args:
        robot: Robot model name (``weldcell.kinematics.load_robot``).
        q0: Start joint positions [rad], shape (n,).
        q1: Goal joint positions [rad], shape (n,).
        dt: Sample period [s].
        speed_fraction: Fraction of each joint's speed limit at the profile's peak, in (0, 1].
        joint_names: Joint names of the trajectory (default: the model's).
        tool_reach: Distance [m] beyond the flange along its z axis whose speed is bounded too.

    Returns:
        The move, with ``T_world_base`` and ``T_flange_tcp`` identity (``T_world_tcp`` is the
        flange pose in the robot's base frame).
    """
    from weldcell.kinematics import load_robot
    from weldcell.kinematics.safety import default_limits, planning_limits

    if not 0 < speed_fraction <= 1:
        raise InputShapeError(f"speed_fraction must be in (0, 1], got {speed_fraction}")
    model = load_robot(robot)
    q0 = np.asarray(q0, dtype=np.float64)
    dq = np.asarray(q1, dtype=np.float64) - q0
    T = rest_to_rest_duration(dq, np.asarray(model.qd_max) * speed_fraction)
    if T > 0.0:
        # Cartesian speed of the quintic at its peak (s = 1/2, speed 1.875/T along the path):
        # sample the path geometry densely and scale the duration so the fastest point obeys the
        # planning limit (point speeds scale exactly with 1/T for a fixed path shape).
        u = np.linspace(0.0, 1.0, 65)
        poses = model.link_poses(q0 + u[:, None] * dq)  # (65, L, 4, 4)
        pts = poses[:, :, :3, 3]
        flange = poses[:, -1]
        tool = flange[:, :3, 3] + tool_reach * flange[:, :3, 2]
        pts = np.concatenate([pts, tool[:, None, :]], axis=1)
        ds_du = np.max(np.linalg.norm(np.diff(pts, axis=0), axis=2), axis=1) * (len(u) - 1)
        lim = planning_limits(default_limits(robot))
        v_cart = float(np.max(ds_du)) * QUINTIC_PEAK_SPEED / T
        v_max = min(lim.tcp_speed, lim.elbow_speed)
        if v_cart > v_max:
            T *= v_cart / v_max
    q, qd, qdd = quintic_rest_to_rest(q0, q0 + dq, dt, T)
    n = q.shape[0]
    return JointTrajectory(
        robot=robot,
        joint_names=joint_names or tuple(model.joint_names),
        dt=dt,
        t=np.arange(n, dtype=np.float64) * dt,
        q=q,
        qd=qd,
        qdd=qdd,
        T_world_tcp=model.fk(q),
        arc_on=np.zeros(n, bool),
        seam_index=-np.ones(n, np.int32),
        seam_s=np.full(n, np.nan),
        T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4),
    )
