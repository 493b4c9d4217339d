"""Joint moves the cell plans between two rest positions: to the job start, and every re-approach travel.

The robot may stand anywhere when a job starts or resumes (jogged, stopped by a fault, left by a
killed process). The move from there is

1. planned collision-free with the planner's transit planner
   (:func:`weldcell.planning.plan_joint_move`: direct line when free, else RRT-Connect), with the
   cell's capsule collision checker;
2. timed within the joint limits and then slowed down (uniform time scaling, the path is kept) until
   the TCP and the elbow stay within the robot's *planning* limits
   (:func:`weldcell.kinematics.safety.planning_limits` of the controller's safety configuration);
3. given the real forward-kinematics TCP poses, so that the simulator's validation compares it with
   what the robot will really do.

A move that cannot be planned raises :class:`StartMoveError` with the reason: which bodies collide
and where the TCP is at that configuration.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError, PlanningError
from weldcell.kinematics.safety import default_limits, planning_limits
from weldcell.trajectory import JointTrajectory
from weldcell.trajectory.ops import quintic_rest_to_rest, rest_to_rest_duration

if TYPE_CHECKING:
    from weldcell.kinematics import Robot
    from weldcell.planning.collision import CollisionChecker

NDArrayF = npt.NDArray[np.float64]
log = logging.getLogger(__name__)

ELBOW_LINK_INDEX = 3
"""Index in ``Robot.link_names`` of the link whose origin is the elbow joint (child of joint 3)."""


class StartMoveError(PlanningError):
    """The cell cannot plan a safe move between two rest positions; the message says why."""


def _where(robot: Robot, template: JointTrajectory, q: NDArrayF) -> str:
    T = template.T_world_base @ robot.fk(q) @ template.T_flange_tcp
    p = T[:3, 3] * 1e3
    joints = np.round(np.rad2deg(q), 1).tolist()
    return f"TCP at [{p[0]:.0f}, {p[1]:.0f}, {p[2]:.0f}] mm (world), joints {joints}°"


def blocked_reason(
    robot: Robot, template: JointTrajectory, checker: CollisionChecker, q0: NDArrayF, q1: NDArrayF
) -> str:
    """Which bodies collide, and where, first along the straight joint line from ``q0`` to ``q1`` [rad]."""
    n = max(2, int(np.ceil(np.max(np.abs(q1 - q0)) / 0.01)) + 1)
    Q = q0 + np.linspace(0.0, 1.0, n)[:, None] * (q1 - q0)
    free = np.asarray(checker.check(Q), dtype=bool)
    if bool(np.all(free)):
        return "the direct joint move is free"
    k = int(np.argmin(free))
    pairs = ", ".join(f"{a} with {b}" for a, b in checker.colliding_bodies(Q[k])) or "unknown pair"
    where = _where(robot, template, Q[k])
    return f"the direct joint move collides {100.0 * k / (n - 1):.0f} % of the way ({pairs}; {where})"


def speed_scale_factor(robot: Robot, template: JointTrajectory, q: NDArrayF) -> float:
    """How much slower (≥ 1) samples ``q`` (M, n) at ``template.dt`` must run to keep the TCP, elbow and
    joint speeds within the planning limits of the robot's default safety configuration."""
    if q.shape[0] < 2:
        return 1.0
    lim = planning_limits(default_limits(robot.name))
    dt = template.dt
    T_world_tcp = template.T_world_base @ robot.fk(q) @ template.T_flange_tcp
    v_tcp = np.linalg.norm(np.diff(T_world_tcp[:, :3, 3], axis=0), axis=1) / dt
    p_elbow = robot.link_poses(q)[:, ELBOW_LINK_INDEX, :3, 3]
    v_elbow = np.linalg.norm(np.diff(p_elbow, axis=0), axis=1) / dt
    factors = [1.0, float(v_tcp.max()) / lim.tcp_speed, float(v_elbow.max()) / lim.elbow_speed]
    if lim.joint_speed:
        qd = np.abs(np.diff(q, axis=0)) / dt
        factors.append(float(np.max(qd / np.asarray(lim.joint_speed)[None, : q.shape[1]])))
    return max(factors)


def time_scaled(q: NDArrayF, factor: float) -> NDArrayF:
    """Samples (M', n) of the same joint path ``q`` (M, n) run ``factor`` (≥ 1) times slower."""
    if factor <= 1.0:
        return q
    m = q.shape[0]
    m_new = int(np.ceil((m - 1) * factor)) + 1
    u = np.linspace(0.0, m - 1, m_new)
    lo = np.minimum(np.floor(u).astype(int), m - 2)
    w = (u - lo)[:, None]
    return np.asarray((1.0 - w) * q[lo] + w * q[lo + 1], dtype=np.float64)


def joint_move_samples(
    q_start: NDArrayF,
    q_goal: NDArrayF,
    dt: float,
    qd_max: NDArrayF,
    qdd_max: NDArrayF,
    *,
    scale: float = 0.3,
    min_time: float = 0.05,
) -> NDArrayF:
    """Quintic rest-to-rest joint move samples (M, n) [rad] from ``q_start`` to ``q_goal`` [rad].

    Args:
        q_start: Start joint positions [rad], shape (n,).
        q_goal: Goal joint positions [rad], shape (n,).
        dt: Sample period [s].
        qd_max: Joint speed limits [rad/s], shape (n,).
        qdd_max: Joint acceleration limits [rad/s²], shape (n,).
        scale: Fraction of the limits used, (0, 1].
        min_time: Shortest move [s].
    """
    dq = np.asarray(q_goal, dtype=np.float64) - np.asarray(q_start, dtype=np.float64)
    T = rest_to_rest_duration(dq, scale * np.asarray(qd_max), scale * np.asarray(qdd_max), min_time=min_time)
    return quintic_rest_to_rest(q_start, q_goal, dt, T, min_intervals=2)[0]


def external_profile(
    template: JointTrajectory,
    q: npt.NDArray[np.float64],
    q_ext_from: npt.NDArray[np.float64] | None,
    q_ext_to: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64] | None:
    """External-axis positions along an arc-off robot move ``q`` (M, n) [rad] of ``template``'s cell.

    None when ``template`` has no external axes. Otherwise the axes go from ``q_ext_from`` to
    ``q_ext_to`` (default: hold at ``q_ext_from``) in proportion to the joint-space path length the
    robot has covered (a smoothstep in time when the robot stands still), so they start and stop
    with the robot. Shape (M, k) [rad or m].

    Raises:
        InputShapeError: ``template`` has external axes but ``q_ext_from`` is missing or of the wrong size.
    """
    ext = template.external
    if ext is None:
        return None
    if q_ext_from is None:
        raise InputShapeError(
            f"a move of a cell with {ext.role} {ext.device!r} must say where its axes are (q_ext_from)"
        )
    a = np.asarray(q_ext_from, dtype=np.float64)
    b = a if q_ext_to is None else np.asarray(q_ext_to, dtype=np.float64)
    if a.shape != (ext.n_axes,) or b.shape != (ext.n_axes,):
        raise InputShapeError(
            f"external-axis positions must have shape ({ext.n_axes},), got {a.shape}, {b.shape}"
        )
    m = q.shape[0]
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(q, axis=0), axis=1))])
    if m > 1 and cum[-1] > 1e-12:
        u = cum / cum[-1]
    else:
        x = np.linspace(0.0, 1.0, m) if m > 1 else np.ones(1)
        u = x * x * (3.0 - 2.0 * x)
    return np.asarray(a + u[:, None] * (b - a), dtype=np.float64)


def plan_cell_move(
    robot: Robot,
    template: JointTrajectory,
    q_from: npt.ArrayLike,
    q_to: npt.ArrayLike,
    checker: CollisionChecker | None,
    *,
    speed_scale: float = 0.5,
    q_ext_from: npt.ArrayLike | None = None,
    q_ext_to: npt.ArrayLike | None = None,
) -> JointTrajectory:
    """A rest-to-rest, arc-off joint move from ``q_from`` to ``q_to`` [rad] (see the module docstring).

    Args:
        robot: Kinematic model.
        template: Trajectory whose dt, robot, frames and hashes the move takes.
        q_from: Start joint position [rad], shape (n,), at rest.
        q_to: Goal joint position [rad], shape (n,).
        checker: The cell's ``CollisionChecker`` (None: the direct joint move, judged by validation only).
        speed_scale: Fraction of the joint speed and acceleration limits for the timing (0, 1].

    Raises:
        StartMoveError: start or goal collide, or no collision-free move was found; the message names
            the colliding bodies and where.
    """
    from weldcell.planning.transit import TransitError, TransitOptions, plan_joint_move

    q0 = np.asarray(q_from, dtype=np.float64)
    q1 = np.asarray(q_to, dtype=np.float64)
    lo, hi = np.asarray(robot.q_lower), np.asarray(robot.q_upper)
    for what, q in (("current position", q0), ("target", q1)):
        if np.any(q < lo - 1e-6) or np.any(q > hi + 1e-6):
            raise StartMoveError(
                f"the {what} {np.round(np.rad2deg(q), 1).tolist()}° is outside the joint limits "
                f"of {robot.name}"
            )
    if checker is None:
        q = joint_move_samples(q0, q1, template.dt, robot.qd_max, robot.qdd_max, scale=speed_scale)
    else:
        try:
            move = plan_joint_move(
                robot,
                q0,
                q1,
                checker,
                dt=template.dt,
                options=TransitOptions(speed_scale=speed_scale),
                T_world_base=template.T_world_base,
                T_flange_tcp=template.T_flange_tcp,
            )
        except TransitError as err:
            for what, q in (("current position", q0), ("target", q1)):
                if not bool(checker.check(q[None])[0]):
                    pairs = ", ".join(f"{a} with {b}" for a, b in checker.colliding_bodies(q))
                    raise StartMoveError(
                        f"the {what} is in collision ({pairs}; {_where(robot, template, q)})"
                    ) from err
            raise StartMoveError(
                f"no collision-free move from {_where(robot, template, q0)} to "
                f"{_where(robot, template, q1)}: {blocked_reason(robot, template, checker, q0, q1)}, "
                "and the planner found no way around"
            ) from err
        q = np.asarray(move.q, dtype=np.float64)
    factor = speed_scale_factor(robot, template, q)
    if factor > 1.0:
        # a little extra so finite-difference speeds of the resampled path stay below the limit
        q = time_scaled(q, factor * 1.02)
        log.debug("cell move slowed down %.2f× for the TCP / elbow / joint speed planning limits", factor)
    T_world_tcp = template.T_world_base @ robot.fk(q) @ template.T_flange_tcp
    q_ext = None
    if template.external is not None:
        q_ext = external_profile(
            template,
            q,
            None if q_ext_from is None else np.asarray(q_ext_from, dtype=np.float64),
            None if q_ext_to is None else np.asarray(q_ext_to, dtype=np.float64),
        )
    return template.with_samples(q, T_world_tcp, q_ext=q_ext)
