"""Timing a joint path and checking a joint motion for collisions: shared by transit and speed limits.

* :class:`TransitOptions` — settings of transit planning and of the timing;
* :func:`motion_free` — continuous collision check of a joint motion;
* :func:`time_path` — a rest-to-rest motion through way points (ruckig on one straight piece,
  toppra on a spline through several, ruckig per piece when the spline is not free).

:mod:`~weldcell.planning.transit` (path search) and :mod:`~weldcell.planning.speed_limits` (Cartesian
speed limits) both build on this module, which imports neither of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.errors import PlanningError
from weldcell.planning.collision import CollisionChecker
from weldcell.planning.timing import ruckig_rest_to_rest, toppra_through

if TYPE_CHECKING:
    from weldcell.kinematics import Robot

log = logging.getLogger(__name__)
NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TransitOptions:
    """Settings of transit planning.

    Attributes:
        resolution: Largest joint step between collision checks along a straight piece [rad].
        planner_time: Wall-time safety cap of one RRT-Connect search [s] (the budget is
            ``planner_checks``; a search cut by the time cap may not be reproducible).
        planner_checks: State validity checks one RRT-Connect search may use (deterministic budget).
        attempts: RRT-Connect searches before giving up.
        seed: Seed of the searches; the same seed, options and end configurations give the same path.
        speed_scale: Fraction of the robot's joint velocity and acceleration limits to use (0, 1].
        jerk_factor: Jerk limit as a multiple of the acceleration limit [1/s].
    """

    resolution: float = 0.01
    planner_time: float = 10.0
    planner_checks: int = 100_000
    attempts: int = 3
    seed: int = 0
    speed_scale: float = 0.95
    jerk_factor: float = 20.0


_SLACK_CAP = 0.05  # [m] slacks are computed exactly below this for the motion check
_MIN_MOTION = 1e-6  # [m] motions shorter than this between two free configurations are accepted
_MAX_HALVINGS = 30


def motion_free(checker: CollisionChecker, Q: npt.ArrayLike) -> bool:
    """True when the joint motion through the consecutive configurations Q (K, n) [rad] stays free.

    With a checker that gives slacks and a motion bound (:class:`CapsuleCollisionChecker`), this is
    a continuous check: between two configurations whose slacks (distance less requirement) are
    ``s0`` and ``s1`` no pair can break its requirement when ``s0 + s1`` is at least the largest
    change of any pair distance over the straight joint line between them (twice the displacement
    bound of ``motion_coefficients``); otherwise the interval is halved, up to 30 times. Other
    checkers are asked at the given configurations only.
    """
    Qa = np.atleast_2d(np.asarray(Q, dtype=np.float64))
    coef_fn = getattr(checker, "motion_coefficients", None)
    query = getattr(checker, "query", None)
    if coef_fn is None or query is None:
        return bool(np.all(checker.check(Qa)))
    coef = 2.0 * np.asarray(coef_fn(), dtype=np.float64)
    req_fn = getattr(checker, "max_requirement", None)
    max_req = float(req_fn()) if req_fn is not None else 0.0

    def slack_bound(Q: NDArrayF) -> NDArrayF:
        # The query's slack is saturated at the cap: a pair culled there is farther than the cap
        # but may need up to the largest requirement, so its slack is only known to exceed
        # cap - max_req. -inf marks a configuration in collision.
        slack = query(Q, exact_below=_SLACK_CAP).slack
        bound = np.maximum(np.minimum(slack, _SLACK_CAP - max_req), 0.0)
        return np.asarray(np.where(slack < 0.0, -np.inf, bound), dtype=np.float64)

    slack = slack_bound(Qa)
    if np.any(slack < 0.0):
        return False
    a, b, sa, sb = Qa[:-1], Qa[1:], slack[:-1], slack[1:]
    for _ in range(_MAX_HALVINGS):
        reach = np.abs(b - a) @ coef
        open_ = (sa + sb < reach) & (reach > _MIN_MOTION)
        if not np.any(open_):
            return True
        a, b, sa, sb = a[open_], b[open_], sa[open_], sb[open_]
        mid = 0.5 * (a + b)
        sm = slack_bound(mid)
        if np.any(sm < 0.0):
            return False
        a, b = np.concatenate([a, mid]), np.concatenate([mid, b])
        sa, sb = np.concatenate([sa, sm]), np.concatenate([sm, sb])
    return False


def time_path(
    robot: Robot,
    checker: CollisionChecker,
    waypoints: NDArrayF,
    dt: float,
    options: TransitOptions,
    *,
    velocity_scale: float = 1.0,
    acceleration_scale: float = 1.0,
) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
    """Sample a rest-to-rest motion through ``waypoints`` (W, n) at ``dt`` [s]: (q, qd, qdd), each (M, n).

    ``velocity_scale`` and ``acceleration_scale`` (0, 1] further reduce the joint speed and
    acceleration limits (used to respect Cartesian speed limits,
    :func:`weldcell.planning.speed_limits.time_path_limited`); the jerk limit scales with both.
    """
    if not (0.0 < velocity_scale <= 1.0 and 0.0 < acceleration_scale <= 1.0):
        raise PlanningError(
            f"velocity_scale {velocity_scale} and acceleration_scale {acceleration_scale} must be in (0, 1]"
        )
    vrob = np.asarray(robot.qd_max, dtype=np.float64)
    arob = np.asarray(robot.qdd_max, dtype=np.float64)
    vmax = options.speed_scale * velocity_scale * vrob
    amax = options.speed_scale * acceleration_scale * arob
    jmax = options.jerk_factor * velocity_scale * amax
    if len(waypoints) == 2:
        return ruckig_rest_to_rest(waypoints[0], waypoints[1], vmax, amax, jmax, dt)
    q, qd, qdd = toppra_through(waypoints, vmax, amax, dt)
    lim_ok = np.all(np.abs(qd) <= vrob) and np.all(np.abs(qdd) <= arob)
    if lim_ok and motion_free(checker, q):
        return q, qd, qdd
    log.debug("transit: spline leaves the checked corridor, stopping at every way point instead")
    parts = [
        ruckig_rest_to_rest(waypoints[k], waypoints[k + 1], vmax, amax, jmax, dt)
        for k in range(len(waypoints) - 1)
    ]
    q = np.concatenate([parts[0][0]] + [p[0][1:] for p in parts[1:]])
    qd = np.concatenate([parts[0][1]] + [p[1][1:] for p in parts[1:]])
    qdd = np.concatenate([parts[0][2]] + [p[2][1:] for p in parts[1:]])
    return q, qd, qdd
