"""Schema and record types of the weld log (:mod:`weldcell.cell.weldlog`).

The SQL schema (version :data:`SCHEMA_VERSION`), the frozen record types the queries return, and the
row converters. Units: times [s] since the epoch, arc lengths and deviations [m], current [A],
voltage [V], wire feed [m/s]. The columns themselves are specified once, in
:mod:`weldcell.cell.logschema`; the record types' fields follow that specification (a test checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.cell.logschema import (
    EVENTS,
    JOBS,
    SEAMS,
    convert_row,
    schema_sql,
)
from weldcell.errors import WeldcellError

#: The SQL of the current schema, generated from the column specification in ``logschema``.
SCHEMA_SQL = schema_sql()

#: Seam results that count as "this seam is welded".
SEAM_DONE = "ok"


class WeldLogError(WeldcellError):
    """The weld log file cannot be opened or does not hold the requested record."""


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job (one part through one program). Times in [s] since the epoch."""

    id: int
    program_path: str
    program_hash: str
    trajectory_path: str
    trajectory_hash: str
    part_serial: str
    robot: str
    started: float
    ended: float | None
    result: str
    cell_id: str = ""
    writer: str = ""
    operator: str = ""
    wire_batch: str = ""
    gas_batch: str = ""
    validation_stamp: str = ""


@dataclass(frozen=True, slots=True)
class JobTrace:
    """Who and what welded a job, for traceable (ISO 3834-style) records.

    Where each value comes from is documented in ``docs/weld-log.md``: the CLI options of
    ``weldcell cell run`` / ``demo``, the program (WPS per seam) and the trajectory's stamp file.

    Attributes:
        cell_id: The cell (several cells may write to one database).
        operator: Welding operator.
        wire_batch: Filler wire batch / lot number.
        gas_batch: Shielding gas batch / lot number.
        wps_id: WPS / procedure id for seams that ``wps_by_seam`` does not name.
        wps_by_seam: Seam id -> WPS / procedure id.
    """

    cell_id: str = ""
    operator: str = ""
    wire_batch: str = ""
    gas_batch: str = ""
    wps_id: str = ""
    wps_by_seam: tuple[tuple[str, str], ...] = ()

    def wps_for(self, seam_id: str) -> str:
        """The WPS id of ``seam_id`` ("" when neither the seam nor the job names one)."""
        return dict(self.wps_by_seam).get(seam_id, self.wps_id)


@dataclass(frozen=True, slots=True)
class SeamRecord:
    """One attempt at welding a seam. Times [s] since the epoch, arc lengths [m], deviations [m]."""

    id: int
    job_id: int
    seam_id: str
    pass_index: int
    attempt: int
    started: float
    ended: float | None
    result: str
    faults: tuple[str, ...]
    s_start: float
    s_end_planned: float | None
    s_reached: float | None
    s_stop: float | None
    deviation_max_m: float | None
    deviation_rms_m: float | None
    wps_id: str = ""
    inspection_status: str = "pending"
    inspected_by: str = ""
    inspected_at: float | None = None
    inspection_note: str = ""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A cell event. ``t`` [s] since the epoch; ``data`` is a JSON-compatible dict."""

    id: int
    job_id: int | None
    t: float
    kind: str
    seam_id: str | None
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PartOffsetRecord:
    """A part's measured offset (touch sensing) in one job: translation [m] of the part origin and
    rotation vector [rad] of the correction, both in the world frame; ``T_world_part`` as 4 rows."""

    id: int
    job_id: int
    part: str
    t: float
    dx: float
    dy: float
    dz: float
    rx: float
    ry: float
    rz: float
    rms_m: float
    observed_dof: int
    touches: int
    T_world_part: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class SignalTrace:
    """Process signals of one seam attempt, each of shape (M,), in the order they were written.

    Attributes:
        t: Time [s] since the epoch.
        seam_s: Seam arc length [m] at the sample (NaN when unknown).
        current: Welding current [A].
        voltage: Arc voltage [V].
        wire_feed: Wire feed speed [m/s].
    """

    t: npt.NDArray[np.float64]
    seam_s: npt.NDArray[np.float64]
    current: npt.NDArray[np.float64]
    voltage: npt.NDArray[np.float64]
    wire_feed: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where an interrupted job continues.

    Attributes:
        job_id: The job.
        done_seams: Seam ids (with pass) already welded completely, as ``(seam_id, pass_index)``.
        seam_id: The seam that was being welded when the job stopped, or None if it stopped between
            seams.
        pass_index: Pass of that seam.
        s_stop: Seam arc length [m] where the arc stopped on that seam (exact after a detected
            fault; the last committed progress after a crash), or None.
        exact: True when ``s_stop`` was measured at the stop, False when it is the last committed
            progress of a writer that died.
    """

    job_id: int
    done_seams: frozenset[tuple[str, int]]
    seam_id: str | None
    pass_index: int
    s_stop: float | None
    exact: bool


def sql_num(x: float | None) -> float | None:
    """NaN/inf → NULL (SQLite has no NaN)."""
    if x is None or not math.isfinite(float(x)):
        return None
    return float(x)


def job_from_row(r: tuple[Any, ...]) -> JobRecord:
    """A :class:`JobRecord` from a row selected with ``select_list(JOBS)``."""
    return JobRecord(*convert_row(JOBS, r))


def seam_from_row(r: tuple[Any, ...]) -> SeamRecord:
    """A :class:`SeamRecord` from a row selected with ``select_list(SEAMS)``."""
    return SeamRecord(*convert_row(SEAMS, r))


def event_from_row(r: tuple[Any, ...]) -> EventRecord:
    """An :class:`EventRecord` from a row selected with ``select_list(EVENTS)``."""
    return EventRecord(*convert_row(EVENTS, r))
