"""Short recovery moves the cell plans itself: retract from the seam, joint moves, re-approach.

After an arc loss, a pause or a crash the robot stands somewhere on (or above) a seam and has to
back off, travel above the restart point and come down onto it. These moves are small (tens of
millimetres), so they are built directly:

* a *tool line* backs the TCP off along its own approach axis (−z of the TCP frame) by a distance,
  with the joint positions solved by numerical IK from waypoint to waypoint (seeded by the previous
  one, so the configuration never flips) and quintic timing on the path parameter;
* an *approach* onto a sample is the time reversal of the retract from that sample;
* a *joint move* between two rest positions uses quintic timing, or C's
  :func:`weldcell.planning.plan_joint_move` with a collision checker when one is given.

All moves start and end at rest with the arc off, at the planned trajectory's period ``dt``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weldcell.cell.joinmove import external_profile, plan_cell_move
from weldcell.errors import InvalidValueError, UnreachableError
from weldcell.trajectory import JointTrajectory
from weldcell.trajectory.ops import QUINTIC_PEAK_SPEED, quintic_rest_to_rest, rest_to_rest_duration

if TYPE_CHECKING:
    from weldcell.kinematics import Robot
    from weldcell.planning.collision import CollisionChecker

NDArrayF = npt.NDArray[np.float64]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MoveLimits:
    """Speed limits for recovery moves.

    Attributes:
        joint_speed_scale: Fraction of the robot's joint speed/acceleration limits to use (0, 1].
        tcp_speed: Maximum TCP speed on tool lines (retract/approach) [m/s].
        waypoint_step: Spacing of IK waypoints on tool lines [m].
    """

    joint_speed_scale: float = 0.3
    tcp_speed: float = 0.05
    waypoint_step: float = 0.002

    def __post_init__(self) -> None:
        if not 0 < self.joint_speed_scale <= 1:
            raise InvalidValueError(f"joint_speed_scale must be in (0, 1], got {self.joint_speed_scale}")
        if self.tcp_speed <= 0 or self.waypoint_step <= 0:
            raise InvalidValueError("tcp_speed and waypoint_step must be positive")


def build_trajectory(
    template: JointTrajectory,
    q: NDArrayF,
    T_world_tcp: NDArrayF | None = None,
    q_ext: NDArrayF | None = None,
) -> JointTrajectory:
    """Wrap arc-off joint samples ``q`` (M, n) [rad] at ``template.dt`` into a :class:`JointTrajectory`.

    :meth:`JointTrajectory.with_samples` of ``template``: velocities/accelerations by finite
    differences (zero at both ends). ``T_world_tcp`` (M, 4, 4) defaults to identity poses when the
    caller has no kinematics at hand. ``q_ext`` (M, k): the external axes' positions, required
    exactly when ``template`` has external axes (see :func:`external_profile`).
    """
    m = q.shape[0]
    return template.with_samples(
        q, np.tile(np.eye(4), (m, 1, 1)) if T_world_tcp is None else T_world_tcp, q_ext=q_ext
    )


def tool_line_samples(
    robot: Robot,
    template: JointTrajectory,
    q_start: NDArrayF,
    distance: float,
    limits: MoveLimits,
) -> tuple[NDArrayF, NDArrayF]:
    """Back the TCP off along its −z axis by ``distance`` [m], starting at rest at ``q_start``.

    Returns:
        Joint samples (M, n) [rad] and TCP poses in the world (M, 4, 4).

    Raises:
        UnreachableError: a waypoint has no IK solution near the previous one.
    """
    T_base_world = np.linalg.inv(template.T_world_base)
    T_tcp_flange = np.linalg.inv(template.T_flange_tcp)
    T_world_tcp0 = template.T_world_base @ robot.fk(q_start) @ template.T_flange_tcp
    n_wp = max(int(np.ceil(abs(distance) / limits.waypoint_step)), 1) + 1
    d = np.linspace(0.0, distance, n_wp)
    qs = [np.asarray(q_start, dtype=np.float64)]
    for di in d[1:]:
        T = T_world_tcp0.copy()
        T[:3, 3] = T_world_tcp0[:3, 3] - di * T_world_tcp0[:3, 2]
        res: Any = robot.ik_numerical(T_base_world @ T @ T_tcp_flange, qs[-1])
        if not res.found:
            raise UnreachableError(
                f"cannot back the torch off {di * 1e3:.1f} mm along its axis from the current position "
                f"(IK residual {res.residual_m * 1e3:.2f} mm)"
            )
        qs.append(np.asarray(res.q, dtype=np.float64))
    wp = np.array(qs)
    # time: quintic on the waypoint parameter, limited by TCP speed and joint limits
    dq = wp[-1] - wp[0]
    t_tcp = QUINTIC_PEAK_SPEED * abs(distance) / limits.tcp_speed
    scale = limits.joint_speed_scale
    duration = rest_to_rest_duration(
        dq, scale * np.asarray(robot.qd_max), scale * np.asarray(robot.qdd_max), min_time=max(t_tcp, 0.05)
    )
    u = quintic_rest_to_rest([0.0], [n_wp - 1.0], template.dt, duration, min_intervals=2)[0][:, 0]
    n = u.shape[0]
    lo = np.clip(np.floor(u).astype(int), 0, n_wp - 1)
    hi = np.clip(lo + 1, 0, n_wp - 1)
    w = (u - lo)[:, None]
    q = (1 - w) * wp[lo] + w * wp[hi]
    T_world_tcp = np.tile(T_world_tcp0, (n, 1, 1))
    T_world_tcp[:, :3, 3] = T_world_tcp0[:3, 3] - (u / (n_wp - 1) * distance)[:, None] * T_world_tcp0[:3, 2]
    return q, T_world_tcp


def retract_move(
    robot: Robot,
    template: JointTrajectory,
    q_start: NDArrayF,
    distance: float,
    limits: MoveLimits,
    *,
    q_ext: NDArrayF | None = None,
) -> JointTrajectory:
    """Tool-line retract of ``distance`` [m] from rest at ``q_start`` (arc off)."""
    q, T = tool_line_samples(robot, template, q_start, distance, limits)
    return build_trajectory(template, q, T, external_profile(template, q, q_ext))


def reapproach_move(
    robot: Robot,
    template: JointTrajectory,
    q_now: NDArrayF,
    q_target: NDArrayF,
    *,
    retract_distance: float,
    approach_distance: float,
    limits: MoveLimits,
    checker: CollisionChecker | None = None,
    q_ext_from: NDArrayF | None = None,
    q_ext_to: NDArrayF | None = None,
) -> JointTrajectory:
    """Back off from ``q_now``, travel above ``q_target`` and come down onto it (arc off, rest to rest).

    Args:
        robot: Kinematic model.
        template: Trajectory whose dt, robot and frames the move uses.
        q_now: Current joint position [rad], at rest.
        q_target: Joint position to arrive at [rad] (a sample of the planned weld).
        retract_distance: Back-off from ``q_now`` along the torch axis [m] (0: none).
        approach_distance: Approach length onto ``q_target`` along the torch axis [m].
        limits: Speed limits.
        checker: Optional ``CollisionChecker``; when given, the travel in between is planned
            collision-free (:func:`weldcell.cell.joinmove.plan_cell_move`).
        q_ext_from: Where the cell's external axes (positioner, track) are now [rad or m], shape
            (k,); required when ``template`` has them.
        q_ext_to: Where they must be at ``q_target`` (default: they hold).

    Raises:
        StartMoveError: no safe travel (the message names the colliding bodies).
        UnreachableError: the back-off or the approach line has no IK solution.
    """
    parts_q: list[NDArrayF] = []
    parts_T: list[NDArrayF] = []
    if retract_distance > 0:
        q1, T1 = tool_line_samples(robot, template, q_now, retract_distance, limits)
    else:
        q1 = np.asarray(q_now, dtype=np.float64)[None]
        T1 = (template.T_world_base @ robot.fk(q_now) @ template.T_flange_tcp)[None]
    q3r, T3r = tool_line_samples(robot, template, q_target, approach_distance, limits)
    q3, T3 = q3r[::-1], T3r[::-1]
    parts_q.append(q1)
    parts_T.append(T1)
    # only the travel's joint samples are used; the external axes are profiled over the whole move below
    hold = None if template.external is None else np.zeros(template.external.n_axes)
    travel = np.asarray(
        plan_cell_move(
            robot,
            template,
            q1[-1],
            q3[0],
            checker,
            speed_scale=limits.joint_speed_scale,
            q_ext_from=hold,
        ).q
    )
    T_travel = template.T_world_base @ robot.fk(travel) @ template.T_flange_tcp
    parts_q += [travel[1:], q3[1:]]
    parts_T += [T_travel[1:], T3[1:]]
    q_all = np.concatenate(parts_q)
    return build_trajectory(
        template, q_all, np.concatenate(parts_T), external_profile(template, q_all, q_ext_from, q_ext_to)
    )
