"""Cartesian speed limits of robot motion: TCP (torch tip) and elbow speed, measured and imposed.

A robot controller stops the arm when the tool or the elbow moves faster than its safety
configuration allows (UR default preset: 1.5 m/s each, :mod:`weldcell.kinematics.safety`). Joint
limits alone do not prevent that: a UR5e moving its base at full joint speed with the arm stretched
moves the torch tip at more than 3 m/s. So every move the planner times is measured here (speed of
the TCP and of the elbow per sample, from the exact directional derivative of the forward
kinematics along the joint velocity) and, when it is too fast, timed again with the path velocity
scaled down (:func:`time_path_limited`) until it stays under the planning limits.

The elbow is the origin of the link that the third actuated joint moves (UR: ``forearm_link``, at
the elbow joint; KUKA KR 6: ``link_3``), as in UR's safety system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.errors import InvalidValueError, PlanningError
from weldcell.kinematics.safety import default_limits, planning_limits
from weldcell.planning.collision import CollisionChecker
from weldcell.planning.path_timing import TransitOptions, time_path

if TYPE_CHECKING:
    from weldcell.kinematics import Robot
    from weldcell.program.model import Cell

NDArrayF = npt.NDArray[np.float64]


class SpeedLimitError(PlanningError):
    """A move cannot be timed under the TCP / elbow speed limits."""


_DIFF_STEP = 1e-6  # [rad] joint step of the directional derivative (error ~1e-12 relative)
_RETIME_ITERATIONS = 8
_BISECTIONS = 5
_BISECT_UNTIL = 0.9  # a compliant timing this close to the limits is taken as it is
_RETIME_MARGIN = 0.98  # aim this fraction below the limit when scaling, so sampling never exceeds it


@dataclass(frozen=True, slots=True)
class SpeedLimits:
    """Largest speeds the planner allows for the TCP and the elbow.

    Attributes:
        tcp_speed: Largest TCP (torch tip) speed [m/s].
        elbow_speed: Largest elbow speed [m/s].
        controller_tcp_speed: The controller's own TCP speed limit [m/s] (for reports).
        controller_elbow_speed: The controller's own elbow speed limit [m/s].
        source: Where the numbers come from.
    """

    tcp_speed: float
    elbow_speed: float
    controller_tcp_speed: float = float("inf")
    controller_elbow_speed: float = float("inf")
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("tcp_speed", "elbow_speed"):
            v = getattr(self, name)
            if not (v > 0.0 and np.isfinite(v)):
                raise InvalidValueError(f"SpeedLimits.{name} must be a finite speed > 0 m/s, got {v}")


def speed_limits_for_cell(cell: Cell) -> SpeedLimits:
    """The planning speed limits of a program's cell.

    ``cell.max_tcp_speed`` / ``cell.max_elbow_speed`` [m/s] when the program sets them (the loader
    checks they do not exceed the controller's limits), else the robot's default controller limits
    times the planning margin (:func:`weldcell.kinematics.safety.planning_limits`).
    """
    ctrl = default_limits(str(cell.robot))
    plan = planning_limits(ctrl)
    tcp = getattr(cell, "max_tcp_speed", None)
    elbow = getattr(cell, "max_elbow_speed", None)
    parts = []
    if tcp is not None:
        parts.append("TCP speed from the program's cell.max_tcp_speed_mm_s")
    if elbow is not None:
        parts.append("elbow speed from the program's cell.max_elbow_speed_mm_s")
    if tcp is None or elbow is None:
        parts.append(plan.source)
    return SpeedLimits(
        tcp_speed=float(plan.tcp_speed if tcp is None else tcp),
        elbow_speed=float(plan.elbow_speed if elbow is None else elbow),
        controller_tcp_speed=ctrl.tcp_speed,
        controller_elbow_speed=ctrl.elbow_speed,
        source="; ".join(parts),
    )


def elbow_link_index(robot: Robot) -> int:
    """Index into ``robot.link_names`` / ``robot.link_poses`` of the elbow link (moved by joint 3)."""
    qidx = np.asarray(robot._chain.qidx)
    hits = np.flatnonzero(qidx == min(2, robot.n_joints - 1))
    if not hits.size:
        raise PlanningError(f"robot {robot.name!r}: no third joint to define the elbow")
    return int(hits[0]) + 1


_BLOCK = 2048  # samples per block of point_speeds: 2 x 2048 x links x 4 x 4 float64 = 4-8 MB live
# (8192 made the link poses the memory peak of planning, issue #14; the blocks are independent)


def point_speeds(
    robot: Robot, q: npt.ArrayLike, qd: npt.ArrayLike, T_flange_tcp: npt.ArrayLike
) -> tuple[NDArrayF, NDArrayF]:
    """TCP and elbow speeds [m/s] of the motion (q, qd).

    Exact up to rounding: the directional derivative of the forward kinematics along ``qd``
    (central difference with a 1e-6 rad step, error ~1e-12 relative).

    Args:
        robot: ``weldcell.kinematics.Robot``.
        q: Joint positions [rad], shape (M, n).
        qd: Joint velocities [rad/s], shape (M, n).
        T_flange_tcp: TCP in the flange frame, shape (4, 4).

    Returns:
        (tcp_speed, elbow_speed), each shape (M,).
    """
    Q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    QD = np.atleast_2d(np.asarray(qd, dtype=np.float64))
    norm = np.linalg.norm(QD, axis=1)
    M = Q.shape[0]
    if M == 0:
        return np.zeros(0), np.zeros(0)
    h = _DIFF_STEP
    e = elbow_link_index(robot)
    tcp_in_flange = np.asarray(T_flange_tcp, dtype=np.float64)[:, 3]
    tcp, elbow = np.empty(M), np.empty(M)
    # in blocks: the link poses of a whole job (2 x 10⁵ samples x all links) would take ~250 MB
    for a in range(0, M, _BLOCK):
        b = min(a + _BLOCK, M)
        m = b - a
        u = QD[a:b] / np.where(norm[a:b] > 0.0, norm[a:b], 1.0)[:, None]  # per block: memory, issue #14
        links = np.asarray(robot.link_poses(np.concatenate([Q[a:b] + h * u, Q[a:b] - h * u])))
        p_tcp = links[:, -1] @ tcp_in_flange
        d_tcp = (p_tcp[:m, :3] - p_tcp[m:, :3]) / (2.0 * h)
        d_elb = (links[:m, e, :3, 3] - links[m:, e, :3, 3]) / (2.0 * h)
        tcp[a:b] = np.linalg.norm(d_tcp, axis=1) * norm[a:b]
        elbow[a:b] = np.linalg.norm(d_elb, axis=1) * norm[a:b]
    return tcp, elbow


@dataclass(frozen=True, slots=True)
class MoveSpeeds:
    """Peak speeds of one timed move.

    Attributes:
        peak_tcp_speed: Largest TCP speed [m/s].
        peak_elbow_speed: Largest elbow speed [m/s].
        speed_scale: Factor applied to the joint speed limits to respect the Cartesian limits
            (1 = the move was not slowed down).
    """

    peak_tcp_speed: float
    peak_elbow_speed: float
    speed_scale: float


def _ratio(tcp: NDArrayF, elbow: NDArrayF, limits: SpeedLimits) -> float:
    if not tcp.size:
        return 0.0
    return float(max(tcp.max() / limits.tcp_speed, elbow.max() / limits.elbow_speed))


def time_path_limited(
    robot: Robot,
    checker: CollisionChecker,
    waypoints: NDArrayF,
    dt: float,
    options: TransitOptions,
    limits: SpeedLimits,
    T_flange_tcp: NDArrayF,
) -> tuple[NDArrayF, NDArrayF, NDArrayF, MoveSpeeds]:
    """Time a rest-to-rest move through ``waypoints`` (W, n) so that TCP and elbow stay under ``limits``.

    The move is timed at the joint limits first (:func:`weldcell.planning.path_timing.time_path`); when
    its peak TCP or elbow speed exceeds a limit, the joint speed limits are scaled by
    ``limit / peak`` (a little less) and the accelerations by its square, which is an exact time
    scaling of a time-optimal move (every speed shrinks by the factor), and the move is timed
    again. The path in joint space stays the same; only its speed along it changes. When the
    timing changes shape with the scale (a spline that had to stop at its way points), the scale
    is bisected towards the fastest compliant one.

    Returns:
        (q, qd, qdd, speeds): samples (M, n) each at ``dt`` [s], and the move's peak speeds.

    Raises:
        SpeedLimitError: the move cannot be timed under the limits.
    """

    def timed(v: float, exact: bool) -> tuple[NDArrayF, NDArrayF, NDArrayF, NDArrayF, NDArrayF, float]:
        # exact: accelerations scaled by the square as well, an exact time scaling of the move
        acc = v * v if exact else 1.0
        q, qd, qdd = time_path(
            robot, checker, waypoints, dt, options, velocity_scale=v, acceleration_scale=acc
        )
        tcp, elbow = point_speeds(robot, q, qd, T_flange_tcp)
        return q, qd, qdd, tcp, elbow, _ratio(tcp, elbow, limits)

    scale, exact = 1.0, False
    q, qd, qdd, tcp, elbow, ratio = timed(scale, exact)
    too_fast = 1.0  # largest scale known to exceed a limit
    for _ in range(_RETIME_ITERATIONS):
        if ratio <= 1.0:
            break
        too_fast = scale
        scale *= _RETIME_MARGIN / ratio
        exact = True
        q, qd, qdd, tcp, elbow, ratio = timed(scale, exact)
    if ratio > 1.0:
        raise SpeedLimitError(
            f"cannot time the move under TCP {limits.tcp_speed * 1e3:.0f} mm/s and elbow "
            f"{limits.elbow_speed * 1e3:.0f} mm/s (peak {tcp.max() * 1e3:.0f} / "
            f"{elbow.max() * 1e3:.0f} mm/s)"
        )
    # a timing whose shape changed with the scale (toppra, or the stop-at-every-way-point
    # fallback) may now be much slower than the limits allow: bisect towards the fastest one
    for _ in range(_BISECTIONS):
        if scale >= too_fast or ratio >= _BISECT_UNTIL:
            break
        mid = 0.5 * (scale + too_fast)
        cand = timed(mid, exact)
        if cand[-1] <= 1.0:
            scale = mid
            q, qd, qdd, tcp, elbow, ratio = cand
        else:
            too_fast = mid
    return q, qd, qdd, MoveSpeeds(float(tcp.max()), float(elbow.max()), scale)
