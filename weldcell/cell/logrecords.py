"""Schema and record types of the weld log (:mod:`weldcell.cell.weldlog`).

The SQL schema (version :data:`SCHEMA_VERSION`), the frozen record types the queries return, and the
row converters. Units: times [s] since the epoch, arc lengths and deviations [m], current [A],
voltage [V], wire speed [m/s].
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import WeldcellError

SCHEMA_VERSION = 1

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs(
    id INTEGER PRIMARY KEY,
    program_path TEXT NOT NULL DEFAULT '',
    program_hash TEXT NOT NULL DEFAULT '',
    trajectory_path TEXT NOT NULL DEFAULT '',
    trajectory_hash TEXT NOT NULL DEFAULT '',
    part_serial TEXT NOT NULL DEFAULT '',
    robot TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL,
    ended REAL,
    result TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE IF NOT EXISTS seams(
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    seam_id TEXT NOT NULL,
    pass_index INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    result TEXT NOT NULL DEFAULT 'running',
    faults TEXT NOT NULL DEFAULT '[]',
    s_start REAL NOT NULL,
    s_end_planned REAL,
    s_reached REAL,
    s_stop REAL,
    deviation_max_m REAL,
    deviation_rms_m REAL
);
CREATE INDEX IF NOT EXISTS seams_job ON seams(job_id);
CREATE TABLE IF NOT EXISTS signals(
    seam_record INTEGER NOT NULL REFERENCES seams(id),
    t REAL NOT NULL,
    seam_s REAL,
    current REAL,
    voltage REAL,
    wire_speed REAL
);
CREATE INDEX IF NOT EXISTS signals_seam ON signals(seam_record);
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY,
    job_id INTEGER,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    seam_id TEXT,
    message TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_job ON events(job_id);
"""

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
class SignalTrace:
    """Process signals of one seam attempt, each of shape (M,).

    Attributes:
        t: Time [s] since the epoch.
        seam_s: Seam arc length [m] at the sample (NaN when unknown).
        current: Welding current [A].
        voltage: Arc voltage [V].
        wire_speed: Wire feed speed [m/s].
    """

    t: npt.NDArray[np.float64]
    seam_s: npt.NDArray[np.float64]
    current: npt.NDArray[np.float64]
    voltage: npt.NDArray[np.float64]
    wire_speed: npt.NDArray[np.float64]

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


def opt_float(x: Any) -> float | None:
    return None if x is None else float(x)


def sql_num(x: float | None) -> float | None:
    """NaN/inf → NULL (SQLite has no NaN)."""
    if x is None or not math.isfinite(float(x)):
        return None
    return float(x)


def job_from_row(r: tuple[Any, ...]) -> JobRecord:
    return JobRecord(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], float(r[7]), opt_float(r[8]), r[9])


def seam_from_row(r: tuple[Any, ...]) -> SeamRecord:
    return SeamRecord(
        int(r[0]),
        int(r[1]),
        str(r[2]),
        int(r[3]),
        int(r[4]),
        float(r[5]),
        opt_float(r[6]),
        str(r[7]),
        tuple(json.loads(r[8] or "[]")),
        float(r[9]),
        opt_float(r[10]),
        opt_float(r[11]),
        opt_float(r[12]),
        opt_float(r[13]),
        opt_float(r[14]),
    )
