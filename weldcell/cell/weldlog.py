"""The weld log: every job, seam attempt, process-signal sample and cell event in one SQLite file.

The log is written so that a crash (power cut, ``kill -9``) loses nothing already welded:

* one file, journal mode WAL, ``synchronous=FULL``;
* every seam event (seam started, progress, seam ended, fault) is its own committed transaction;
* process signals are buffered by the caller and written in small committed batches, so at most
  one batch (a fraction of a second of signals) is lost.

Tables (units in the column names' docs, SI throughout):

``jobs``     one row per job run on a part: program path and SHA-256, trajectory hash, part serial,
             robot, start/end time [s since the epoch], result (``running``/``ok``/``fault``/...).
``seams``    one row per *attempt* at a seam: job, seam id, pass, attempt number, start/end time,
             result, faults (JSON list), ``s_start`` where the arc started [m seam arc length],
             ``s_end_planned``, ``s_reached`` (last committed progress [m]), ``s_stop`` (exact stop
             position after a fault [m]), planned-vs-executed TCP path deviation max/RMS [m].
``signals``  sampled process signals per seam attempt: time [s], seam arc length [m], welding
             current [A], arc voltage [V], wire feed speed [m/s].
``events``   everything else the cell reports (state changes, faults, operator actions).

A job whose row still says ``running`` after the writer died is *interrupted*;
:meth:`WeldLog.resume_point` tells where to continue it.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.cell.logrecords import (
    SCHEMA_SQL,
    SEAM_DONE,
    EventRecord,
    JobRecord,
    PartOffsetRecord,
    ResumePoint,
    SeamRecord,
    SignalTrace,
    WeldLogError,
    event_from_row,
    job_from_row,
    seam_from_row,
    sql_num,
)
from weldcell.cell.logschema import (
    EVENTS,
    JOBS,
    PART_OFFSETS,
    SCHEMA_VERSION,
    SEAMS,
    SIGNAL_COLUMNS,
    convert_row,
    migrate,
    select_list,
)

__all__ = [
    "SCHEMA_VERSION",
    "SEAM_DONE",
    "EventRecord",
    "JobRecord",
    "PartOffsetRecord",
    "ResumePoint",
    "SeamRecord",
    "SignalTrace",
    "WeldLog",
    "WeldLogError",
]


#: SQL for "the further along the weld of ``s_reached`` and {}": a seam attempt runs towards its
#: ``s_end_planned``, so a backwards weld (``s_end_planned < s_start``) progresses to smaller values.
_FURTHEST = (
    "CASE WHEN s_end_planned IS NOT NULL AND s_end_planned < s_start"
    " THEN MIN(COALESCE(s_reached, s_start), {0}) ELSE MAX(COALESCE(s_reached, s_start), {0}) END"
)


class WeldLog:
    """Read/write access to a weld log file. Thread safe (one connection guarded by a lock).

    Use as a context manager, or call :meth:`close`.

    Args:
        path: The SQLite file; created (with its folder) if missing.
        readonly: Open without creating or writing (for ``weldcell log`` queries).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        if self.path.is_dir():
            raise WeldLogError(
                f"{self.path}: is a folder; expected a weld log file (SQLite), e.g. weldlog.sqlite"
            )
        if readonly and not self.path.is_file():
            raise WeldLogError(f"{self.path}: weld log not found")
        if readonly and self.path.stat().st_size == 0:
            raise WeldLogError(f"{self.path}: the file is empty; expected a weld log written by weldcell")
        if not readonly:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                why = err.strerror or str(err)
                if isinstance(err, (FileExistsError, NotADirectoryError)):
                    why = "a folder on its path is a file"
                raise WeldLogError(f"{self.path}: cannot create the weld log's folder ({why})") from err
        self._db = None
        try:
            self._db = sqlite3.connect(
                str(self.path), timeout=10.0, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA busy_timeout=10000")
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "meta" not in tables:
                self.close()
                raise WeldLogError(
                    f"{self.path}: a SQLite database but not a weldcell weld log "
                    f"(tables {sorted(tables)[:5]}); expected a file written by weldcell"
                )
            version = self._version() if tables else None
            if version is not None and version > SCHEMA_VERSION:
                self.close()
                raise WeldLogError(
                    f"{self.path}: written by a newer weldcell (weld log schema {version}); this one "
                    f"reads schema {SCHEMA_VERSION} and older: update weldcell to read it"
                )
            if not readonly:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                if version is not None and version < SCHEMA_VERSION:
                    self._backup(self.path.with_name(f"{self.path.name}.v{version}.bak"))
                    migrate(self._db, version)
                self._db.executescript(SCHEMA_SQL)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif version is not None and version < SCHEMA_VERSION:
                # read-only: migrate a copy in memory, leave the file as it is
                memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
                self._db.backup(memory)
                self._db.close()
                self._db = memory
                migrate(self._db, version)
            version = self._version()
        except sqlite3.Error as err:
            self.close()
            raise WeldLogError(f"{self.path}: not a weldcell weld log ({err})") from err
        if version != SCHEMA_VERSION:
            self.close()
            raise WeldLogError(
                f"{self.path}: weld log schema {version if version is not None else 'missing'} is not "
                f"supported; expected {SCHEMA_VERSION}"
            )

    def _version(self) -> int | None:
        assert self._db is not None  # only called while opening
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        try:
            return None if row is None else int(row[0])
        except ValueError:
            return None

    def _backup(self, target: Path) -> None:
        """Copy the whole log to ``target`` (SQLite's online backup) before a migration changes it."""
        if target.exists():
            return  # an earlier attempt already kept the original
        try:
            copy = sqlite3.connect(str(target))
        except sqlite3.Error as err:
            raise WeldLogError(
                f"{self.path}: cannot write the backup {target} before migrating ({err})"
            ) from err
        try:
            assert self._db is not None  # only called while opening
            self._db.backup(copy)
        finally:
            copy.close()

    # --- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> WeldLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db is None:
                raise WeldLogError(f"{self.path}: weld log is closed")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None:
                raise WeldLogError(f"{self.path}: weld log is closed")
            return list(self._db.execute(sql, tuple(args)).fetchall())

    # --- writing -------------------------------------------------------------------------------
    def start_job(
        self,
        *,
        program_path: str = "",
        program_hash: str = "",
        trajectory_path: str = "",
        trajectory_hash: str = "",
        part_serial: str = "",
        robot: str = "",
        t: float | None = None,
    ) -> int:
        """Open a job record (committed). Returns the job id."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO jobs(program_path, program_hash, trajectory_path, trajectory_hash,"
                " part_serial, robot, started) VALUES(?,?,?,?,?,?,?)",
                (
                    program_path,
                    program_hash,
                    trajectory_path,
                    trajectory_hash,
                    part_serial,
                    robot,
                    time.time() if t is None else t,
                ),
            )
            return int(cur.lastrowid or 0)

    def end_job(self, job_id: int, result: str, *, t: float | None = None) -> None:
        """Close a job with its result (``ok``, ``fault``, ``aborted``, ``estop``, ...)."""
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET ended=?, result=? WHERE id=?",
                (time.time() if t is None else t, result, job_id),
            )

    def set_job_result(self, job_id: int, result: str) -> None:
        """Change a job's result without closing it (e.g. ``running`` again on resume)."""
        with self._tx() as db:
            db.execute("UPDATE jobs SET result=?, ended=NULL WHERE id=?", (result, job_id))

    def start_seam(
        self,
        job_id: int,
        seam_id: str,
        *,
        s_start: float,
        s_end_planned: float | None = None,
        pass_index: int = 0,
        t: float | None = None,
    ) -> int:
        """Open a seam attempt (committed). The attempt number counts earlier attempts of that seam.

        Args:
            job_id: The job.
            seam_id: Seam identifier (program seam id).
            s_start: Seam arc length where the arc starts [m] (> 0 for a restart after a fault).
            s_end_planned: Seam arc length where the weld is planned to end [m].
            pass_index: Pass number of multi-pass seams.
            t: Time [s] since the epoch (now by default).

        Returns:
            The seam record id.
        """
        with self._tx() as db:
            (n,) = db.execute(
                "SELECT COUNT(*) FROM seams WHERE job_id=? AND seam_id=? AND pass_index=?",
                (job_id, seam_id, pass_index),
            ).fetchone()
            cur = db.execute(
                "INSERT INTO seams(job_id, seam_id, pass_index, attempt, started, s_start, s_end_planned,"
                " s_reached) VALUES(?,?,?,?,?,?,?,?)",
                (
                    job_id,
                    seam_id,
                    pass_index,
                    int(n) + 1,
                    time.time() if t is None else t,
                    float(s_start),
                    sql_num(s_end_planned),
                    float(s_start),
                ),
            )
            return int(cur.lastrowid or 0)

    def add_signals(
        self, seam_record: int, samples: npt.ArrayLike, *, s_reached: float | None = None
    ) -> None:
        """Append process-signal samples to a seam attempt (one committed batch).

        Args:
            seam_record: Seam record id from :meth:`start_seam`.
            samples: Shape (M, 5): time [s], seam arc length [m], current [A], voltage [V],
                wire feed [m/s] (the order of ``logschema.SIGNAL_COLUMNS``).
            s_reached: Progress along the seam [m] to commit with the batch (kept monotonic).
        """
        arr = np.asarray(samples, dtype=np.float64).reshape(-1, len(SIGNAL_COLUMNS))
        rows = [tuple(sql_num(v) for v in r) for r in arr.tolist()]
        with self._tx() as db:
            db.executemany(
                f"INSERT INTO signals(seam_record, {select_list(SIGNAL_COLUMNS)})"
                f" VALUES(?{',?' * len(SIGNAL_COLUMNS)})",
                [(seam_record, *r) for r in rows],
            )
            if s_reached is not None and math.isfinite(s_reached):
                db.execute(
                    f"UPDATE seams SET s_reached={_FURTHEST.format('?')} WHERE id=?",
                    (float(s_reached), float(s_reached), seam_record),
                )

    def end_seam(
        self,
        seam_record: int,
        result: str,
        *,
        s_stop: float | None = None,
        faults: Sequence[str] = (),
        deviation_max_m: float | None = None,
        deviation_rms_m: float | None = None,
        t: float | None = None,
    ) -> None:
        """Close a seam attempt (committed).

        Args:
            seam_record: Seam record id.
            result: ``ok`` when welded to the end, else the reason (``arc_loss``, ``estop``, ...).
            s_stop: Seam arc length [m] where the arc went out (end of the seam when ``ok``).
            faults: Fault messages during the attempt.
            deviation_max_m: Largest planned-vs-executed TCP path deviation on the attempt [m].
            deviation_rms_m: RMS of that deviation [m].
            t: Time [s] since the epoch (now by default).
        """
        with self._tx() as db:
            db.execute(
                "UPDATE seams SET ended=?, result=?, s_stop=?, faults=?, deviation_max_m=?,"
                f" deviation_rms_m=?, s_reached={_FURTHEST.format('COALESCE(?, s_start)')}"
                " WHERE id=?",
                (
                    time.time() if t is None else t,
                    result,
                    sql_num(s_stop),
                    json.dumps(list(faults)),
                    sql_num(deviation_max_m),
                    sql_num(deviation_rms_m),
                    sql_num(s_stop),
                    sql_num(s_stop),
                    seam_record,
                ),
            )

    def add_event(
        self,
        job_id: int | None,
        kind: str,
        message: str = "",
        *,
        seam_id: str | None = None,
        data: dict[str, Any] | None = None,
        t: float | None = None,
    ) -> int:
        """Record a cell event (committed). Returns the event id."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO events(job_id, t, kind, seam_id, message, data) VALUES(?,?,?,?,?,?)",
                (
                    job_id,
                    time.time() if t is None else t,
                    kind,
                    seam_id,
                    message,
                    json.dumps(data or {}, default=float),
                ),
            )
            return int(cur.lastrowid or 0)

    def add_part_offset(
        self,
        job_id: int,
        part: str,
        T_world_part_nominal: Any,
        T_world_part: Any,
        *,
        rms: float,
        observed_dof: int,
        touches: int,
        t: float | None = None,
    ) -> int:
        """Record a part's measured pose (touch sensing) for a job (committed). Returns the record id.

        Args:
            job_id: The job.
            part: Workpiece body name.
            T_world_part_nominal: Pose in the program (4, 4).
            T_world_part: Measured pose (4, 4).
            rms: RMS residual of the fit [m].
            observed_dof: Degrees of freedom the touches determined.
            touches: Number of touches.
            t: Time [s] since the epoch (default now).
        """
        from weldcell.spatial import rotvec_from_rotation

        T_nom = np.asarray(T_world_part_nominal, dtype=np.float64)
        T_meas = np.asarray(T_world_part, dtype=np.float64)
        d = T_meas[:3, 3] - T_nom[:3, 3]
        rv = np.asarray(rotvec_from_rotation(T_meas[:3, :3] @ T_nom[:3, :3].T))
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO part_offsets(job_id, part, t, dx, dy, dz, rx, ry, rz, rms_m, observed_dof, "
                "touches, T_world_part) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    job_id,
                    part,
                    time.time() if t is None else t,
                    *(float(v) for v in d),
                    *(float(v) for v in rv),
                    float(rms),
                    int(observed_dof),
                    int(touches),
                    json.dumps(T_meas.tolist()),
                ),
            )
            return int(cur.lastrowid or 0)

    def part_offsets(self, job_id: int) -> list[PartOffsetRecord]:
        """Measured part offsets of a job, in the order they were recorded."""
        rows = self._query(
            f"SELECT {select_list(PART_OFFSETS)} FROM part_offsets WHERE job_id=? ORDER BY id", (job_id,)
        )
        return [PartOffsetRecord(*convert_row(PART_OFFSETS, r)) for r in rows]

    # --- queries -------------------------------------------------------------------------------
    def jobs(self, limit: int | None = None) -> list[JobRecord]:
        """All jobs, newest first (``limit`` newest only)."""
        sql = f"SELECT {select_list(JOBS)} FROM jobs ORDER BY id DESC" + (" LIMIT ?" if limit else "")
        rows = self._query(sql, (limit,) if limit else ())
        return [job_from_row(r) for r in rows]

    def job(self, job_id: int) -> JobRecord:
        """One job. Raises :class:`WeldLogError` when there is none with that id."""
        rows = self._query(f"SELECT {select_list(JOBS)} FROM jobs WHERE id=?", (job_id,))
        if not rows:
            known = [j.id for j in self.jobs(limit=10)]
            raise WeldLogError(f"{self.path}: no job {job_id}; latest jobs: {known}")
        return job_from_row(rows[0])

    def latest_job(self) -> JobRecord:
        """The newest job. Raises :class:`WeldLogError` on an empty log."""
        rows = self.jobs(limit=1)
        if not rows:
            raise WeldLogError(f"{self.path}: the weld log holds no jobs yet")
        return rows[0]

    def seams(self, job_id: int) -> list[SeamRecord]:
        """Seam attempts of a job in the order they were started."""
        return [
            seam_from_row(r)
            for r in self._query(
                f"SELECT {select_list(SEAMS)} FROM seams WHERE job_id=? ORDER BY id", (job_id,)
            )
        ]

    def seam(self, seam_record: int) -> SeamRecord:
        """One seam attempt by record id."""
        rows = self._query(f"SELECT {select_list(SEAMS)} FROM seams WHERE id=?", (seam_record,))
        if not rows:
            raise WeldLogError(f"{self.path}: no seam record {seam_record}")
        return seam_from_row(rows[0])

    def signals(self, seam_record: int) -> SignalTrace:
        """Process signals of a seam attempt in time order."""
        n = len(SIGNAL_COLUMNS)
        rows = self._query(
            f"SELECT {select_list(SIGNAL_COLUMNS)} FROM signals WHERE seam_record=? ORDER BY rowid",
            (seam_record,),
        )
        arr = np.array(rows, dtype=np.float64).reshape(-1, n) if rows else np.zeros((0, n))  # NULL -> NaN
        return SignalTrace(*(arr[:, i].copy() for i in range(n)))

    def events(self, job_id: int | None = None) -> list[EventRecord]:
        """Events of a job (all events when ``job_id`` is None) in time order."""
        cols = select_list(EVENTS)
        if job_id is None:
            rows = self._query(f"SELECT {cols} FROM events ORDER BY id")
        else:
            rows = self._query(f"SELECT {cols} FROM events WHERE job_id=? ORDER BY id", (job_id,))
        return [event_from_row(r) for r in rows]

    def resume_point(self, job_id: int) -> ResumePoint:
        """Where an interrupted (or faulted) job continues.

        A seam counts as done when one of its attempts ended ``ok``. The stop position of the
        seam in progress is the ``s_stop`` of its last attempt when the controller measured it, else
        the last committed progress ``s_reached`` (the writer died mid-seam); over several attempts
        at that seam the furthest position along the weld counts (the smallest seam arc length for
        a seam welded backwards, whose ``s_end_planned`` is below its ``s_start``).
        """
        seams = self.seams(job_id)
        done = frozenset((s.seam_id, s.pass_index) for s in seams if s.result == SEAM_DONE)
        open_attempts = [s for s in seams if (s.seam_id, s.pass_index) not in done]
        if not open_attempts:
            return ResumePoint(job_id, done, None, 0, None, True)
        last = open_attempts[-1]
        attempts = [s for s in open_attempts if (s.seam_id, s.pass_index) == (last.seam_id, last.pass_index)]
        first = attempts[0]
        backwards = first.s_end_planned is not None and first.s_end_planned < first.s_start
        best: tuple[float, bool] | None = None
        for a in attempts:
            cand = (a.s_stop, True) if a.s_stop is not None else (a.s_reached, False)
            if cand[0] is None:
                continue
            if best is None or (cand[0] < best[0] if backwards else cand[0] > best[0]):
                best = (float(cand[0]), cand[1])
        if best is None:
            return ResumePoint(job_id, done, last.seam_id, last.pass_index, None, False)
        return ResumePoint(job_id, done, last.seam_id, last.pass_index, best[0], best[1])

    def mark_interrupted(self, job_id: int) -> int:
        """Close the attempts a dead writer left ``running`` as ``interrupted``. Returns how many."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE seams SET result='interrupted', s_stop=NULL,"
                " ended=COALESCE((SELECT MAX(t) FROM signals WHERE seam_record=seams.id), started)"
                " WHERE job_id=? AND result='running'",
                (job_id,),
            )
            return int(cur.rowcount)

    def integrity_ok(self) -> bool:
        """True when SQLite's ``PRAGMA integrity_check`` passes."""
        return bool(self._query("PRAGMA integrity_check")[0][0] == "ok")
