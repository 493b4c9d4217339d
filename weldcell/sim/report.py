"""Validation results: violations, per-seam metrics, time series, and their JSON form.

A :class:`ValidationReport` is a frozen value; ``report.passed`` is True when it holds no violation.
:meth:`ValidationReport.summary` is the JSON-friendly part (what the CLI writes and what the
validation stamp embeds); the time series (:class:`ValidationSeries`) feed the HTML plots.
Reports hold no wall-clock times, so validating the same inputs twice gives equal summaries.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

NDArrayF = npt.NDArray[np.float64]


class ViolationKind(str, Enum):
    """What a violation is about."""

    COLLISION = "collision"  # penetration (distance < 0)
    CLEARANCE = "clearance"  # closer than the required clearance, not touching
    JOINT_POSITION = "joint_position"
    JOINT_VELOCITY = "joint_velocity"
    JOINT_ACCELERATION = "joint_acceleration"
    TCP_DEVIATION = "tcp_deviation"
    TORCH_ANGLE = "torch_angle"
    TRAVEL_SPEED = "travel_speed"
    SINGULARITY = "singularity"
    ARC_NOT_AT_REST = "arc_not_at_rest"
    CELL_MISMATCH = "cell_mismatch"
    TRACKING = "tracking_error"
    NOT_WELDED = "not_welded"  # a programmed pass or stitch not welded end to end
    TCP_SPEED = "tcp_speed"  # above the controller's safety limit (protective stop)
    ELBOW_SPEED = "elbow_speed"


_UNITS = {
    ViolationKind.COLLISION: ("mm", 1e3),
    ViolationKind.CLEARANCE: ("mm", 1e3),
    ViolationKind.JOINT_POSITION: ("deg", 180 / math.pi),
    ViolationKind.JOINT_VELOCITY: ("deg/s", 180 / math.pi),
    ViolationKind.JOINT_ACCELERATION: ("deg/s²", 180 / math.pi),
    ViolationKind.TCP_DEVIATION: ("mm", 1e3),
    ViolationKind.TORCH_ANGLE: ("deg", 180 / math.pi),
    ViolationKind.TRAVEL_SPEED: ("mm/s", 1e3),
    ViolationKind.TCP_SPEED: ("mm/s", 1e3),
    ViolationKind.ELBOW_SPEED: ("mm/s", 1e3),
    ViolationKind.SINGULARITY: ("", 1.0),
    ViolationKind.ARC_NOT_AT_REST: ("deg/s", 180 / math.pi),
    ViolationKind.CELL_MISMATCH: ("mm", 1e3),
    ViolationKind.TRACKING: ("deg", 180 / math.pi),
    ViolationKind.NOT_WELDED: ("mm", 1e3),
}

_WHAT = {
    ViolationKind.COLLISION: "collision",
    ViolationKind.CLEARANCE: "clearance too small",
    ViolationKind.JOINT_POSITION: "joint position outside its limits",
    ViolationKind.JOINT_VELOCITY: "joint speed above its limit",
    ViolationKind.JOINT_ACCELERATION: "joint acceleration above its limit",
    ViolationKind.TCP_DEVIATION: "torch tip off the programmed path",
    ViolationKind.TORCH_ANGLE: "torch angle off the programmed angle",
    ViolationKind.TRAVEL_SPEED: "travel speed off the programmed speed",
    ViolationKind.SINGULARITY: "robot too close to a singularity",
    ViolationKind.ARC_NOT_AT_REST: "robot moving when the arc switches",
    ViolationKind.CELL_MISMATCH: "trajectory planned for another cell layout",
    ViolationKind.TRACKING: "robot cannot follow the trajectory (dynamic replay)",
    ViolationKind.NOT_WELDED: "programmed weld not welded end to end (value: welded length)",
    ViolationKind.TCP_SPEED: "torch tip faster than the controller's safety limit (protective stop)",
    ViolationKind.ELBOW_SPEED: "elbow faster than the controller's safety limit (protective stop)",
}


@dataclass(frozen=True, slots=True)
class Violation:
    """One violated requirement over a time interval.

    Attributes:
        kind: What is violated.
        time: First sample time of the violation [s].
        time_end: Last sample time of the violation [s].
        seam_id: Seam being welded then (None during transit moves).
        context: Where in the program: "weld <seam>" or "transit before <seam>" / "transit after ...".
        bodies: The parts involved: (a, b) for collisions ("robot/forearm_link", "cell/clamp_2"),
            (joint name,) for joint limits, () otherwise.
        value: Worst value over the interval (SI: m, rad, rad/s, rad/s², m/s).
        limit: The limit it is compared against (same unit).
    """

    kind: ViolationKind
    time: float
    time_end: float
    seam_id: str | None
    context: str
    bodies: tuple[str, ...]
    value: float
    limit: float

    def message(self) -> str:
        """One line a welder can act on."""
        unit, scale = _UNITS[self.kind]
        what = _WHAT[self.kind]
        parts = f" between {self.bodies[0]} and {self.bodies[1]}" if len(self.bodies) == 2 else ""
        if len(self.bodies) == 1:
            parts = f" on {self.bodies[0]}"
        span = f"t = {self.time:.3f} s" + (f"–{self.time_end:.3f} s" if self.time_end > self.time else "")
        return (
            f"{what}{parts} at {span} ({self.context}): {self.value * scale:.3g} {unit}"
            f" (limit {self.limit * scale:.3g} {unit})"
        ).replace("  ", " ")

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (SI values)."""
        return {
            "kind": self.kind.value,
            "time_s": round(self.time, 6),
            "time_end_s": round(self.time_end, 6),
            "seam_id": self.seam_id,
            "context": self.context,
            "bodies": list(self.bodies),
            "value": _num(self.value),
            "limit": _num(self.limit),
            "message": self.message(),
        }


@dataclass(frozen=True, slots=True)
class SeamMetrics:
    """Weld quality figures of one seam (all on arc-on samples).

    Attributes:
        seam_id: Seam identifier.
        arc_time: Time with the arc on [s].
        length: Seam length welded [m] (range of ``seam_s``).
        travel_speed_programmed: [m/s] (NaN if unknown).
        travel_speed_planned: Median seam progress speed of the trajectory [m/s], ramps excluded.
        max_travel_speed_error: Largest relative error of a pass's planned speed (fraction).
        max_tcp_speed_error: Largest difference between the TCP speed from pybullet's kinematics and
            the nominal TCP speed [m/s].
        max_tcp_deviation: Largest TCP position error [m].
        max_torch_angle_error: Largest angle between actual and nominal torch axis [rad].
        min_nozzle_clearance: Smallest nozzle-to-workpiece distance [m] (NaN if never within range).
    """

    seam_id: str
    arc_time: float
    length: float
    travel_speed_programmed: float
    travel_speed_planned: float
    max_travel_speed_error: float
    max_tcp_speed_error: float
    max_tcp_deviation: float
    max_torch_angle_error: float
    min_nozzle_clearance: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (SI values)."""
        return {k: (v if isinstance(v, str) else _num(v)) for k, v in _fields(self).items()}


@dataclass(frozen=True, slots=True)
class ValidationSeries:
    """Per-sample time series for plots; arrays are read-only.

    Attributes:
        t: Sample times [s], (N,).
        q: Joint positions [rad], (N, n).
        qd: Joint velocities [rad/s], (N, n).
        q_lower, q_upper, qd_max: Limits used, (n,).
        p_world_tcp: TCP positions from pybullet's forward kinematics [m], (N, 3).
        tcp_deviation: |actual - nominal TCP position| [m], (N,).
        torch_angle_error: Angle between actual and nominal torch axis [rad], (N,).
        tcp_speed: TCP speed from pybullet's kinematics [m/s], (N,).
        tcp_speed_nominal: Speed of the nominal TCP path [m/s], (N,).
        check_index: Samples where clearance was computed, (K,).
        check_distance: Smallest distance of any checked pair there [m] (capped), (K,).
        singularity_index: Samples where the singularity measure was computed, (M,).
        singularity: The measure there, (M,).
        seam_index: Seam per sample (-1 transit), (N,).
        seam_s: Arc length along the seam [m], NaN on transit, (N,).
        arc_on: Arc flag, (N,).
        tracking_error: Max joint tracking error per sample from the dynamic replay [rad], (N,) or (0,).
    """

    t: NDArrayF
    q: NDArrayF
    qd: NDArrayF
    q_lower: NDArrayF
    q_upper: NDArrayF
    qd_max: NDArrayF
    p_world_tcp: NDArrayF
    tcp_deviation: NDArrayF
    torch_angle_error: NDArrayF
    tcp_speed: NDArrayF
    tcp_speed_nominal: NDArrayF
    check_index: npt.NDArray[np.int64]
    check_distance: NDArrayF
    singularity_index: npt.NDArray[np.int64]
    singularity: NDArrayF
    seam_index: npt.NDArray[np.int32]
    seam_s: NDArrayF
    arc_on: npt.NDArray[np.bool_]
    tracking_error: NDArrayF

    def __post_init__(self) -> None:
        for name in _fields(self):
            arr = np.array(getattr(self, name), copy=True)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Outcome of validating one trajectory in one cell.

    Attributes:
        robot: Robot model name.
        joint_names: Joint order of the series.
        seam_ids: Seams of the trajectory.
        trajectory_hash: ``JointTrajectory.content_hash()`` of the validated trajectory.
        program_hash: Program hash recorded in the trajectory.
        cell_hash: ``CellModel.content_hash()`` of the cell it was validated in.
        cell_files: Model files (URDFs, meshes) the cell depends on.
        dt: Sample period [s].
        duration: Trajectory duration [s].
        n_samples: Number of samples.
        violations: Everything that failed, in time order.
        metrics: Scalar figures (SI units; names end in the unit where it helps).
        seams: Per-seam figures.
        notes: What was and was not checked (e.g. no acceleration limits known).
        series: Time series for plots (not part of equality or the summary).
        seal: The validator's seal over the summary (set by ``weldcell.sim.validate`` only; a
            report without a matching seal cannot be stamped, see ``weldcell.sim.stamping``).
    """

    robot: str
    joint_names: tuple[str, ...]
    seam_ids: tuple[str, ...]
    trajectory_hash: str
    program_hash: str
    cell_hash: str
    cell_files: tuple[str, ...]
    dt: float
    duration: float
    n_samples: int
    violations: tuple[Violation, ...]
    metrics: MappingProxyType[str, float]
    seams: tuple[SeamMetrics, ...]
    notes: tuple[str, ...]
    series: ValidationSeries | None = field(default=None, compare=False, repr=False)
    seal: str = field(default="", compare=False, repr=False)

    @property
    def passed(self) -> bool:
        """True when there is no violation."""
        return not self.violations

    def summary(self) -> dict[str, Any]:
        """JSON-friendly summary (no time series). Deterministic for the same inputs."""
        return {
            "schema": "weldcell.validation/1",
            "passed": self.passed,
            "robot": self.robot,
            "trajectory_hash": self.trajectory_hash,
            "program_hash": self.program_hash,
            "cell_hash": self.cell_hash,
            "cell_files": list(self.cell_files),
            "dt_s": self.dt,
            "duration_s": round(self.duration, 6),
            "n_samples": self.n_samples,
            "n_violations": len(self.violations),
            "violations": [v.as_dict() for v in self.violations],
            "metrics": {k: _num(v) for k, v in self.metrics.items()},
            "seams": [s.as_dict() for s in self.seams],
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The summary as JSON text."""
        return json.dumps(self.summary(), indent=indent, sort_keys=False)


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


def _num(x: float) -> float | None:
    """Round for stable JSON; NaN/inf become None."""
    xf = float(x)
    if not math.isfinite(xf):
        return None
    return float(f"{xf:.9g}")
