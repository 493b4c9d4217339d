"""Transit moves between rest configurations: direct joint move, else ompl RRT-Connect + shortcutting.

A move is first tried as a straight line in joint space, checked densely with the collision
checker and, between the samples, continuously (:func:`motion_free`: slacks against a bound on how
far any capsule can move, so no sweep between two checked configurations is missed). When the
line is blocked, ompl's RRT-Connect searches a path (the validity checker is the batched collision
checker called on one state), ompl's path simplifier shortcuts it, and every straight piece is
re-checked the same way here. The path is then timed: a single straight piece with
ruckig (time-optimal, jerk-limited, stays on the line); several pieces with toppra along a spline
through the way points, whose samples are collision-checked again. When the spline cuts a corner
into an obstacle, the move stops at each way point instead (ruckig per piece), which stays on the
checked lines.

Determinism: the same move with the same options gives the same path, in any process and whatever
was planned before in it. ompl's random generator is process-global (the 2.0.1 bindings expose no
per-planner seeding), but ``ompl.util.RNG.setSeed`` re-seeds its seed generator whenever it is called,
and every ompl object draws its own generator from that sequence when it is constructed. So each
search calls ``setSeed`` with a seed derived from ``TransitOptions.seed``, the attempt number and the
two end configurations immediately before it builds its space, planner and simplifier, and the
search stops after a fixed number of state validity checks (``planner_checks``) instead of after a
wall-clock time; ``planner_time`` remains only as a safety cap (a search that hits it is logged, as
its result may then depend on the machine's speed). Every result is checked again here, so validity
never depends on the random choices.
"""

from __future__ import annotations

import functools
import logging
import time
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError, PlanningError
from weldcell.kinematics.safety import default_limits, planning_limits
from weldcell.planning.collision import CollisionChecker
from weldcell.planning.path_timing import TransitOptions as TransitOptions
from weldcell.planning.path_timing import motion_free as motion_free
from weldcell.planning.path_timing import time_path as time_path
from weldcell.planning.speed_limits import SpeedLimits, time_path_limited
from weldcell.trajectory import JointTrajectory

if TYPE_CHECKING:
    from weldcell.kinematics import Robot

log = logging.getLogger(__name__)
NDArrayF = npt.NDArray[np.float64]


class TransitError(PlanningError):
    """No collision-free transit move was found between two configurations."""


def segment_free(checker: CollisionChecker, q0: NDArrayF, q1: NDArrayF, resolution: float) -> bool:
    """True when the straight joint line q0 -> q1 is free: sampled every ``resolution`` [rad], and
    continuously between the samples where the checker allows (:func:`motion_free`)."""
    steps = max(1, int(np.ceil(np.max(np.abs(q1 - q0)) / resolution)))
    a = np.linspace(0.0, 1.0, steps + 1)[:, None]
    return motion_free(checker, q0 + a * (q1 - q0))


def search_seed(seed: int, attempt: int, q0: NDArrayF, q1: NDArrayF) -> int:
    """Seed (1 ... 2**31 - 1) of one ompl search, from the options' seed, the attempt and the end points."""
    ends = zlib.crc32(np.ascontiguousarray(np.stack([q0, q1]), dtype=np.float64).tobytes())
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(attempt), ends]).generate_state(1)[0]
    return int(state) % 0x7FFFFFFF + 1


def _ompl_path(
    robot: Robot,
    checker: CollisionChecker,
    q0: NDArrayF,
    q1: NDArrayF,
    options: TransitOptions,
    attempt: int = 0,
) -> NDArrayF | None:
    import ompl.base as ob
    import ompl.geometric as og
    import ompl.util as ou

    # setSeed re-seeds ompl's global seed generator (it logs an error when generators already exist,
    # which is expected here: the re-seeding still takes effect, verified with ompl 2.0.1)
    ou.setLogLevel(ou.LogLevel.LOG_NONE)
    ou.RNG.setSeed(search_seed(options.seed, attempt, q0, q1))
    ou.setLogLevel(ou.LogLevel.LOG_ERROR)
    n = q0.shape[0]
    lo = np.maximum(np.asarray(robot.q_lower, dtype=np.float64), np.minimum(q0, q1) - np.pi)
    hi = np.minimum(np.asarray(robot.q_upper, dtype=np.float64), np.maximum(q0, q1) + np.pi)
    space = ob.RealVectorStateSpace(n)
    bounds = ob.RealVectorBounds(n)
    for j in range(n):
        bounds.setLow(j, float(lo[j]))
        bounds.setHigh(j, float(hi[j]))
    space.setBounds(bounds)
    ss = og.SimpleSetup(space)
    buf = np.empty((1, n))
    fast = getattr(checker, "is_free", None)

    checks = [0]

    def valid(state: Any) -> bool:
        checks[0] += 1
        for j in range(n):
            buf[0, j] = state[j]
        if fast is not None:
            return bool(fast(buf[0]))
        return bool(checker.check(buf)[0])

    ss.setStateValidityChecker(valid)
    si = ss.getSpaceInformation()
    si.setStateValidityCheckingResolution(min(0.5, options.resolution / max(space.getMaximumExtent(), 1e-9)))
    si.setMotionValidator(_batched_motion_validator(ob, si, checker, checks))
    ss.setPlanner(og.RRTConnect(si))
    start = space.allocState()
    goal = space.allocState()
    for j in range(n):
        start[j] = float(q0[j])
        goal[j] = float(q1[j])
    ss.setStartAndGoalStates(start, goal)
    deadline = time.monotonic() + options.planner_time

    def stop() -> bool:
        return checks[0] >= options.planner_checks or time.monotonic() > deadline

    ss.solve(ob.PlannerTerminationCondition(stop))
    if time.monotonic() > deadline:
        log.warning(
            "transit search stopped by its %.1f s time cap after %d checks: the result may not be "
            "reproducible",
            options.planner_time,
            checks[0],
        )
    if not ss.haveExactSolutionPath():
        return None
    path = ss.getSolutionPath()
    og.PathSimplifier(si).simplifyMax(path)
    return np.array([[path.getState(k)[j] for j in range(n)] for k in range(path.getStateCount())])


def find_path(
    robot: Robot, checker: CollisionChecker, q0: NDArrayF, q1: NDArrayF, options: TransitOptions
) -> NDArrayF:
    """Collision-free joint way points (W, n) from q0 to q1: the straight line when it is free.

    Raises:
        TransitError: start or goal in collision, or no path found.
    """
    ends = checker.check(np.stack([q0, q1]))
    for ok, q, what in ((ends[0], q0, "start"), (ends[1], q1, "goal")):
        if not ok:
            pairs = ", ".join(f"{a} with {b}" for a, b in checker.colliding_bodies(q)) or "unknown pair"
            raise TransitError(f"transit {what} configuration {np.round(q, 3).tolist()} collides: {pairs}")
    if segment_free(checker, q0, q1, options.resolution):
        return np.stack([q0, q1])
    for attempt in range(options.attempts):
        wp = _ompl_path(robot, checker, q0, q1, options, attempt)
        if wp is None:
            continue
        wp[0], wp[-1] = q0, q1
        if all(segment_free(checker, wp[k], wp[k + 1], options.resolution) for k in range(len(wp) - 1)):
            log.debug("transit: RRT-Connect path with %d way points (attempt %d)", len(wp), attempt + 1)
            return wp
    raise TransitError(
        f"no collision-free transit move found from {np.round(q0, 3).tolist()} to {np.round(q1, 3).tolist()} "
        f"({options.attempts} RRT-Connect searches of {options.planner_checks} checks each)"
    )


def plan_joint_move(
    robot: Robot,
    q_start: npt.ArrayLike,
    q_goal: npt.ArrayLike,
    checker: CollisionChecker,
    dt: float = 0.002,
    *,
    options: TransitOptions | None = None,
    T_world_base: npt.ArrayLike | None = None,
    T_flange_tcp: npt.ArrayLike | None = None,
    speed_limits: SpeedLimits | None = None,
) -> JointTrajectory:
    """A collision-free, time-optimal rest-to-rest joint move (used by the cell to resume).

    The move keeps the TCP and the elbow under ``speed_limits`` (default: the robot's default
    controller limits times the planning margin, :mod:`weldcell.kinematics.safety`).

    Args:
        robot: ``weldcell.kinematics.Robot``.
        q_start: Start configuration [rad], shape (n,).
        q_goal: Goal configuration [rad], shape (n,).
        checker: Collision checker of the cell.
        dt: Sample period [s].
        options: Transit settings.
        T_world_base: Robot base in the world for the nominal TCP poses (default identity).
        T_flange_tcp: TCP in the flange frame (default identity).
        speed_limits: TCP and elbow speed limits of the move.

    Returns:
        The move as a :class:`JointTrajectory` with the arc off throughout.

    Raises:
        TransitError: no collision-free move; InputShapeError: bad configurations.
    """
    opts = options or TransitOptions()
    n = len(robot.joint_names)
    q0 = np.asarray(q_start, dtype=np.float64)
    q1 = np.asarray(q_goal, dtype=np.float64)
    lo = np.asarray(robot.q_lower, dtype=np.float64)
    hi = np.asarray(robot.q_upper, dtype=np.float64)
    for name, q in (("q_start", q0), ("q_goal", q1)):
        if q.shape != (n,) or not np.all(np.isfinite(q)):
            raise InputShapeError(f"{name}: expected {n} finite joint positions [rad], got {q.tolist()}")
        if np.any(q < lo - 1e-9) or np.any(q > hi + 1e-9):
            raise InputShapeError(f"{name} {np.round(q, 4).tolist()} is outside the joint limits")
    wp = find_path(robot, checker, q0, q1, opts)
    Twb = np.eye(4) if T_world_base is None else np.asarray(T_world_base, dtype=np.float64)
    Tft = np.eye(4) if T_flange_tcp is None else np.asarray(T_flange_tcp, dtype=np.float64)
    if speed_limits is None:
        plan = planning_limits(default_limits(robot.name))
        speed_limits = SpeedLimits(plan.tcp_speed, plan.elbow_speed, source=plan.source)
    q, qd, qdd, _ = time_path_limited(robot, checker, wp, dt, opts, speed_limits, Tft)
    M = q.shape[0]
    return JointTrajectory(
        robot=robot.name,
        joint_names=tuple(robot.joint_names),
        dt=dt,
        t=np.asarray(np.arange(M) * dt, dtype=np.float64),
        q=q,
        qd=qd,
        qdd=qdd,
        T_world_tcp=Twb @ np.asarray(robot.fk(q)) @ Tft,
        arc_on=np.zeros(M, dtype=bool),
        seam_index=np.full(M, -1, dtype=np.int32),
        seam_s=np.full(M, np.nan),
        T_world_base=Twb,
        T_flange_tcp=Tft,
    )


@functools.lru_cache(maxsize=256)
def _bisection_order(nd: int) -> npt.NDArray[np.int64]:
    """The order in which ompl's ``DiscreteMotionValidator`` visits the states 1 ... nd - 1 of a
    motion cut into nd segments (breadth-first bisection: middle first, then the halves' middles)."""
    order: list[int] = []
    queue = [(1, nd - 1)] if nd >= 2 else []
    head = 0
    while head < len(queue):
        a, b = queue[head]
        head += 1
        mid = (a + b) // 2
        order.append(mid)
        if a < mid:
            queue.append((a, mid - 1))
        if b > mid:
            queue.append((mid + 1, b))
    return np.asarray(order, dtype=np.int64)


def _batched_motion_validator(ob: Any, si: Any, checker: CollisionChecker, checks: list[int]) -> Any:
    """An ompl motion validator that checks a whole edge in one batched checker call.

    ompl's default (``DiscreteMotionValidator``) asks the state validity checker once per state along
    the edge, each a Python callback and a one-configuration kernel call (~10 µs; 52 k of them in a
    job, issue #14). This one checks the same states (ompl's own segment count and interpolation,
    end state and the bisection order of the default) in one call to the batched checker (~1 µs per
    state) and returns the same answer. ``checks`` (the search's validity-check budget) advances by
    the number of states the default would have checked (up to its first invalid state), so the
    search stops at the same point and plans the same path, only faster. The three-argument form
    (last valid state wanted) is left to ompl's default validator.
    """
    space = si.getStateSpace()
    n = space.getDimension()
    default = si.getMotionValidator()  # ompl's DiscreteMotionValidator, set up by SpaceInformation

    class _Batched(ob.MotionValidator):
        def checkMotion(self, s1: Any, s2: Any, *last_valid: Any) -> bool:  # ompl's method name
            if last_valid:
                return bool(default.checkMotion(s1, s2, *last_valid))
            nd = int(space.validSegmentCount(s1, s2))
            order = _bisection_order(nd)
            a = np.fromiter((s1[j] for j in range(n)), dtype=np.float64, count=n)
            b = np.fromiter((s2[j] for j in range(n)), dtype=np.float64, count=n)
            t = np.concatenate([[1.0], order / float(nd)])  # the end state first, as the default
            Q = a + (b - a) * t[:, None]
            Q[0] = b
            free = np.asarray(checker.check(Q), dtype=np.bool_)
            bad = np.flatnonzero(~free)
            checks[0] += int(bad[0]) + 1 if bad.size else len(Q)
            return not bad.size

    return _Batched(si)
