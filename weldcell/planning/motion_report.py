"""Figures of a planned job's motion: per move peak TCP / elbow speed, joint travel, configuration changes.

The planner records where each move of the timeline starts and ends (:class:`MoveSpan`); from the
finished trajectory this module measures every move (:func:`motion_summary`): the peak TCP and
elbow speeds (exact, :func:`weldcell.planning.speed_limits.point_speeds`), the joint travel
(sum over joints of the path length in joint space) and the configuration changes (changes of the
shoulder / elbow / wrist labels, ``robot.configuration_labels``, between consecutive samples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weldcell.planning.speed_limits import SpeedLimits, point_speeds

if TYPE_CHECKING:
    from weldcell.kinematics import Robot
    from weldcell.trajectory import JointTrajectory

NDArrayF = npt.NDArray[np.float64]

MOVE_KINDS = ("transit", "approach", "weld", "depart")


@dataclass(frozen=True, slots=True)
class MoveSpan:
    """Where one move lies in the trajectory.

    Attributes:
        kind: ``"transit"`` (between rest configurations away from the part), ``"approach"``
            (approach point to seam start), ``"weld"`` (arc on, dwell to crater fill) or
            ``"depart"`` (seam end to depart point).
        label: What the move connects, e.g. ``"home → seam A"``, ``"seam A → seam B"``.
        first: Index of its first sample.
        last: Index of its last sample (inclusive).
        speed_scale: Factor applied to the joint speed limits for the Cartesian limits (1 = none).
    """

    kind: str
    label: str
    first: int
    last: int
    speed_scale: float = 1.0


@dataclass(frozen=True, slots=True)
class MoveReport:
    """Measured figures of one move.

    Attributes:
        kind, label, speed_scale: As in :class:`MoveSpan`.
        t_start: Start time [s].
        duration: Duration [s].
        peak_tcp_speed: Largest TCP speed [m/s].
        peak_elbow_speed: Largest elbow speed [m/s].
        joint_travel: Sum over the joints of their travel [rad].
        configuration_changes: Changes of the configuration labels during the move.
    """

    kind: str
    label: str
    t_start: float
    duration: float
    peak_tcp_speed: float
    peak_elbow_speed: float
    joint_travel: float
    configuration_changes: int
    speed_scale: float


@dataclass(frozen=True, slots=True)
class MotionSummary:
    """Motion figures of a whole job.

    Attributes:
        limits: The planning speed limits the moves were timed under.
        moves: One report per move, in time order.
        joint_travel: Total joint travel of the job [rad] (sum over joints).
        joint_travel_per_joint: Travel per joint [rad], shape (n,) as a tuple.
        configuration_changes: Configuration changes over the whole job.
        peak_transit_tcp_speed: Largest TCP speed on any move with the arc off [m/s].
        peak_elbow_speed: Largest elbow speed over the job [m/s].
    """

    limits: SpeedLimits
    moves: tuple[MoveReport, ...]
    joint_travel: float
    joint_travel_per_joint: tuple[float, ...]
    configuration_changes: int
    peak_transit_tcp_speed: float
    peak_elbow_speed: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (units in the key names)."""
        return {
            "tcp_speed_limit_m_s": self.limits.tcp_speed,
            "elbow_speed_limit_m_s": self.limits.elbow_speed,
            "controller_tcp_speed_limit_m_s": _finite(self.limits.controller_tcp_speed),
            "controller_elbow_speed_limit_m_s": _finite(self.limits.controller_elbow_speed),
            "speed_limit_source": self.limits.source,
            "joint_travel_rad": self.joint_travel,
            "joint_travel_per_joint_rad": list(self.joint_travel_per_joint),
            "configuration_changes": self.configuration_changes,
            "peak_transit_tcp_speed_m_s": self.peak_transit_tcp_speed,
            "peak_elbow_speed_m_s": self.peak_elbow_speed,
            "moves": [
                {
                    "kind": m.kind,
                    "label": m.label,
                    "t_start_s": m.t_start,
                    "duration_s": m.duration,
                    "peak_tcp_speed_m_s": m.peak_tcp_speed,
                    "peak_elbow_speed_m_s": m.peak_elbow_speed,
                    "joint_travel_rad": m.joint_travel,
                    "configuration_changes": m.configuration_changes,
                    "speed_scale": m.speed_scale,
                }
                for m in self.moves
            ],
        }


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def configuration_changes(robot: Robot, q: NDArrayF) -> npt.NDArray[np.bool_]:
    """Per step i → i+1 of q (M, n) [rad]: True where the configuration labels change, shape (M-1,)."""
    if q.shape[0] < 2:
        return np.zeros(0, dtype=bool)
    lab = np.asarray(robot.configuration_labels(q), dtype=np.int8)
    out: npt.NDArray[np.bool_] = np.any(lab[1:] != lab[:-1], axis=1)
    return out


def motion_summary(
    robot: Robot, traj: JointTrajectory, spans: list[MoveSpan] | tuple[MoveSpan, ...], limits: SpeedLimits
) -> MotionSummary:
    """Measure every move of ``traj`` (a :class:`~weldcell.trajectory.JointTrajectory`)."""
    q = np.asarray(traj.q, dtype=np.float64)
    tcp, elbow = point_speeds(robot, q, np.asarray(traj.qd), np.asarray(traj.T_flange_tcp))
    step = np.abs(np.diff(q, axis=0))
    flips = configuration_changes(robot, q)
    moves = []
    for sp in spans:
        a, b = sp.first, sp.last
        moves.append(
            MoveReport(
                kind=sp.kind,
                label=sp.label,
                t_start=float(a * traj.dt),
                duration=float((b - a) * traj.dt),
                peak_tcp_speed=float(tcp[a : b + 1].max()),
                peak_elbow_speed=float(elbow[a : b + 1].max()),
                joint_travel=float(step[a:b].sum()),
                configuration_changes=int(flips[a:b].sum()),
                speed_scale=sp.speed_scale,
            )
        )
    off = ~np.asarray(traj.arc_on, dtype=bool)
    return MotionSummary(
        limits=limits,
        moves=tuple(moves),
        joint_travel=float(step.sum()),
        joint_travel_per_joint=tuple(float(x) for x in step.sum(axis=0)),
        configuration_changes=int(flips.sum()),
        peak_transit_tcp_speed=float(tcp[off].max()) if off.any() else 0.0,
        peak_elbow_speed=float(elbow.max()),
    )


_SPEED_TOLERANCE = 1.001  # sampling and rounding allowance on a limit the moves were timed under


def speed_limit_violation(summary: MotionSummary) -> str:
    """One sentence naming the first move above the planning speed limits ("" when none is)."""
    lim = summary.limits
    for m in summary.moves:
        for what, value, limit in (
            ("TCP", m.peak_tcp_speed, lim.tcp_speed),
            ("elbow", m.peak_elbow_speed, lim.elbow_speed),
        ):
            if value > limit * _SPEED_TOLERANCE:
                where = f"the weld of {m.label}" if m.kind == "weld" else f"the {m.kind} move {m.label}"
                return (
                    f"{where} at t = {m.t_start:.2f} s reaches a {what} speed of {value * 1e3:.0f} mm/s, "
                    f"above the limit of {limit * 1e3:.0f} mm/s ({lim.source})"
                )
    return ""


@dataclass(frozen=True, slots=True)
class WeldedRun:
    """One arc-on run of a trajectory (a welded segment).

    Attributes:
        seam_id: The seam welded.
        length: Seam length covered with the arc on [m] (``|seam_s(last) - seam_s(first)|``).
        t_start: Arc-on time [s].
    """

    seam_id: str
    length: float
    t_start: float


def welded_runs(traj: JointTrajectory) -> list[WeldedRun]:
    """The arc-on runs of ``traj`` in time order, with the seam length each one welds."""
    out = []
    for seg in traj.arc_segments():
        a, b, sid = seg.first, seg.last, seg.seam_id or ""
        s = np.asarray(traj.seam_s[a : b + 1], dtype=np.float64)
        s = s[np.isfinite(s)]
        length = float(abs(s[-1] - s[0])) if s.size else 0.0
        out.append(WeldedRun(sid, length, float(a * traj.dt)))
    return out


def plan_metadata(reports: Any, traj: JointTrajectory, motion: MotionSummary) -> dict[str, Any]:
    """The figures stored in the trajectory (``JointTrajectory.metadata``, docs/trajectory-format.md).

    ``reports`` are the planner's segment reports in weld order (``seam_id``, ``pass_index``,
    ``stitch_index``, ``length``, ``reversed``); the i-th arc-on run of ``traj`` welds the i-th.
    """
    runs = welded_runs(traj)
    segments = []
    for i, r in enumerate(reports):
        run = runs[i] if i < len(runs) else None
        segments.append(
            {
                "seam_id": r.seam_id,
                "pass_index": int(r.pass_index),
                "stitch_index": int(r.stitch_index),
                "programmed_length_m": float(r.length),
                "welded_length_m": None if run is None else run.length,
                "reversed": bool(r.reversed),
            }
        )
    return {"schema": "weldcell.plan-figures/1", "segments": segments, "motion": motion.to_dict()}
