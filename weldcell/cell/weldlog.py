"""The weld log: every job, seam attempt, process-signal sample and cell event, in SQLite or PostgreSQL.

One implementation over both back ends (SQLAlchemy Core, :mod:`weldcell.cell.logdb`): a SQLite file
by default, or a PostgreSQL database that several cells write to at once (each job records its
``cell_id``). The log is written so that a crash (power cut, ``kill -9``) loses nothing already
welded:

* SQLite: journal mode WAL, ``synchronous=FULL``; PostgreSQL: the server's committed transactions;
* every seam event (seam started, progress, seam ended, fault) is its own committed transaction;
* process signals are buffered by the caller and written in small committed batches, so at most
  one batch (a fraction of a second of signals) is lost.

Tables (units in the column names' docs, SI throughout; columns in :mod:`weldcell.cell.logschema`):

``jobs``     one row per job run on a part: program path and SHA-256, trajectory hash, validation
             stamp, part serial, cell, operator, consumable batches, robot, start/end time [s since
             the epoch], result (``running``/``ok``/``fault``/``interrupted``/...), writer process.
``seams``    one row per *attempt* at a seam: job, seam id, WPS id, pass, attempt number, start/end
             time, result, faults (JSON list), ``s_start`` where the arc started [m seam arc length],
             ``s_end_planned``, ``s_reached`` (last committed progress [m]), ``s_stop`` (exact stop
             position after a fault [m]), planned-vs-executed TCP path deviation max/RMS [m], and the
             inspection (status, inspector, time, note; settable later).
``signals``  sampled process signals per seam attempt: time [s], seam arc length [m], welding
             current [A], arc voltage [V], wire feed speed [m/s].
``events``   everything else the cell reports (state changes, faults, operator actions).

A job whose row still says ``running`` after its writer died is *interrupted*: opening the log for
writing on the writer's host marks it so (its open seam attempt too), and
:meth:`WeldLog.resume_point` tells where to continue it.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from weldcell.cell.logdb import WRITE_TX, backup_sqlite, memory_copy, open_engine, parse_log_target
from weldcell.cell.logrecords import (
    SEAM_DONE,
    EventRecord,
    JobRecord,
    JobTrace,
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
    INSPECTION_STATES,
    JOBS,
    PART_OFFSETS,
    SCHEMA_VERSION,
    SEAMS,
    SIGNAL_COLUMNS,
    convert_row,
    migrate,
    schema_sql,
    select_list,
)

__all__ = [
    "SCHEMA_VERSION",
    "SEAM_DONE",
    "EventRecord",
    "JobRecord",
    "JobTrace",
    "PartOffsetRecord",
    "ResumePoint",
    "SeamRecord",
    "SignalTrace",
    "WeldLog",
    "WeldLogError",
]

#: SQL for "the further along the weld of ``s_reached`` and {x}": a seam attempt runs towards its
#: ``s_end_planned``, so a backwards weld (``s_end_planned < s_start``) progresses to smaller values.
#: SQLite's two-argument MIN/MAX are PostgreSQL's LEAST/GREATEST.
_FURTHEST = (
    "CASE WHEN s_end_planned IS NOT NULL AND s_end_planned < s_start"
    " THEN {lo}(COALESCE(s_reached, s_start), {x}) ELSE {hi}(COALESCE(s_reached, s_start), {x}) END"
)
_MIN_MAX = {"sqlite": ("MIN", "MAX"), "postgresql": ("LEAST", "GREATEST")}
#: Key of the PostgreSQL advisory lock that serialises schema creation by cells opening at once.
_PG_SCHEMA_LOCK = 0x57454C44


def _pid_alive(pid: int) -> bool:
    """True when a process ``pid`` runs on this host (or we may not signal it: someone else's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _this_writer() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class WeldLog:
    """Read/write access to a weld log. Thread safe (one connection guarded by a lock).

    Use as a context manager, or call :meth:`close`.

    Args:
        target: The SQLite file (created with its folder if missing), ``sqlite:///PATH``, or
            ``postgresql://USER:PASSWORD@HOST[:PORT]/DB`` (the tables are created if missing).
        readonly: Open without creating or writing (for ``weldcell log`` queries).
    """

    def __init__(self, target: str | Path, *, readonly: bool = False) -> None:
        self.target = parse_log_target(target)
        self.dialect = self.target.dialect
        #: Where the log is, for messages: the file, or the server URL without its password.
        self.path: Path | str = self.target.path if self.target.path is not None else self.target.display
        self._lock = threading.RLock()
        self._conn: Connection | None = None
        self._readonly = readonly
        if self.target.path is not None:
            self._check_file(self.target.path, readonly)
        try:
            self._open()
        except SQLAlchemyError as err:
            self.close()
            why = getattr(err, "orig", None) or err
            if self.dialect == "sqlite":
                raise WeldLogError(f"{self.path}: not a weldcell weld log ({why})") from err
            raise WeldLogError(f"{self.path}: cannot open the weld log database ({why})") from err
        except BaseException:
            self.close()
            raise
        if not readonly:
            self.recover_interrupted()

    def _furthest(self, x: str) -> str:
        """SQL: the further along the weld of ``s_reached`` and the SQL expression ``x``."""
        lo, hi = _MIN_MAX[self.dialect]
        return _FURTHEST.format(lo=lo, hi=hi, x=x)

    @staticmethod
    def _check_file(path: Path, readonly: bool) -> None:
        if path.is_dir():
            raise WeldLogError(f"{path}: is a folder; expected a weld log file (SQLite), e.g. weldlog.sqlite")
        if readonly and not path.is_file():
            raise WeldLogError(f"{path}: weld log not found")
        if readonly and path.stat().st_size == 0:
            raise WeldLogError(f"{path}: the file is empty; expected a weld log written by weldcell")
        if not readonly:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                why = err.strerror or str(err)
                if isinstance(err, (FileExistsError, NotADirectoryError)):
                    why = "a folder on its path is a file"
                raise WeldLogError(f"{path}: cannot create the weld log's folder ({why})") from err

    def _open(self) -> None:
        """Connect, check the schema version, migrate or create the tables (see the module docs)."""
        self._engine = open_engine(self.target, durable=not self._readonly)
        self._conn = self._engine.connect()
        version = self._check_version()
        if self._readonly:
            if version is None:
                raise WeldLogError(f"{self.path}: holds no weld log yet (no weldcell tables)")
            if version < SCHEMA_VERSION:
                if self.target.path is None:
                    raise WeldLogError(
                        f"{self.path}: weld log schema {version}; open it once for writing "
                        f"(weldcell cell run) to migrate it to {SCHEMA_VERSION}"
                    )
                # read-only: migrate a copy in memory, leave the file as it is
                self._conn.close()
                self._engine.dispose()
                self._engine = memory_copy(self.target.path)
                self._conn = self._engine.connect()
                migrate(self._conn, version)
        else:
            if version is not None and version < SCHEMA_VERSION:
                if self.target.path is not None:
                    backup_sqlite(
                        self.target.path,
                        self.target.path.with_name(f"{self.target.path.name}.v{version}.bak"),
                    )
                migrate(self._conn, version)
            self._create_schema()
        version = self._version()
        if version != SCHEMA_VERSION:
            raise WeldLogError(
                f"{self.path}: weld log schema {version if version is not None else 'missing'} is not "
                f"supported; expected {SCHEMA_VERSION}"
            )

    def _check_version(self) -> int | None:
        """The log's schema version (None: no tables yet); refuses other databases and newer logs."""
        assert self._conn is not None  # mypy: only called while opening
        with self._conn.begin():
            tables = set(inspect(self._conn).get_table_names())
        if tables and "meta" not in tables:
            kind = "a SQLite database" if self.dialect == "sqlite" else "a database"
            raise WeldLogError(
                f"{self.path}: {kind} but not a weldcell weld log "
                f"(tables {sorted(tables)[:5]}); expected a log written by weldcell"
            )
        version = self._version() if tables else None
        if version is not None and version > SCHEMA_VERSION:
            raise WeldLogError(
                f"{self.path}: written by a newer weldcell (weld log schema {version}); this one "
                f"reads schema {SCHEMA_VERSION} and older: update weldcell to read it"
            )
        return version

    def _create_schema(self) -> None:
        assert self._conn is not None  # mypy: only called while opening
        self._conn.info[WRITE_TX] = True
        try:
            with self._conn.begin():
                if self.dialect == "postgresql":  # cells opening at once: one creates, the others wait
                    self._conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
                for stmt in schema_sql(self.dialect).split(";\n"):
                    if stmt.strip():
                        self._conn.exec_driver_sql(stmt)
                self._conn.execute(
                    text("INSERT INTO meta(key, value) VALUES('schema_version', :v) ON CONFLICT DO NOTHING"),
                    {"v": str(SCHEMA_VERSION)},
                )
        finally:
            self._conn.info[WRITE_TX] = False

    def _version(self) -> int | None:
        rows = self._query("SELECT value FROM meta WHERE key='schema_version'")
        try:
            return None if not rows else int(rows[0][0])
        except ValueError:
            return None

    # --- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None
                    self._engine.dispose()

    def __enter__(self) -> WeldLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require(self) -> Connection:
        if self._conn is None:
            raise WeldLogError(f"{self.path}: weld log is closed")
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One committed write transaction (rolled back on any error)."""
        with self._lock:
            conn = self._require()
            conn.info[WRITE_TX] = True
            try:
                with conn.begin():
                    yield conn
            except SQLAlchemyError as err:
                raise WeldLogError(
                    f"{self.path}: write failed ({getattr(err, 'orig', None) or err})"
                ) from err
            finally:
                conn.info[WRITE_TX] = False

    def _query(self, sql: str, args: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._require()
            try:
                with conn.begin():
                    return [tuple(r) for r in conn.execute(text(sql), dict(args or {})).fetchall()]
            except SQLAlchemyError as err:
                raise WeldLogError(
                    f"{self.path}: query failed ({getattr(err, 'orig', None) or err})"
                ) from err

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
        trace: JobTrace | None = None,
        validation_stamp: str = "",
        t: float | None = None,
    ) -> int:
        """Open a job record (committed). Returns the job id.

        Args:
            program_path: Weld program file.
            program_hash: SHA-256 of the program file.
            trajectory_path: Validated trajectory file.
            trajectory_hash: Content hash of the trajectory.
            part_serial: Serial number of the part.
            robot: Robot address.
            trace: Cell, operator and consumable batches (see :class:`JobTrace`).
            validation_stamp: SHA-256 of the trajectory's validation stamp file.
            t: Start time [s] since the epoch (now by default).
        """
        tr = trace or JobTrace()
        with self._tx() as db:
            row = db.execute(
                text(
                    "INSERT INTO jobs(program_path, program_hash, trajectory_path, trajectory_hash,"
                    " part_serial, robot, started, cell_id, writer, operator, wire_batch, gas_batch,"
                    " validation_stamp) VALUES(:pp, :ph, :tp, :th, :ps, :robot, :t, :cell, :writer, :op,"
                    " :wire, :gas, :stamp) RETURNING id"
                ),
                {
                    "pp": program_path,
                    "ph": program_hash,
                    "tp": trajectory_path,
                    "th": trajectory_hash,
                    "ps": part_serial,
                    "robot": robot,
                    "t": time.time() if t is None else t,
                    "cell": tr.cell_id,
                    "writer": _this_writer(),
                    "op": tr.operator,
                    "wire": tr.wire_batch,
                    "gas": tr.gas_batch,
                    "stamp": validation_stamp,
                },
            ).one()
            return int(row[0])

    def end_job(self, job_id: int, result: str, *, t: float | None = None) -> None:
        """Close a job with its result (``ok``, ``fault``, ``aborted``, ``estop``, ...)."""
        with self._tx() as db:
            db.execute(
                text("UPDATE jobs SET ended=:t, result=:r WHERE id=:id"),
                {"t": time.time() if t is None else t, "r": result, "id": job_id},
            )

    def set_job_result(self, job_id: int, result: str) -> None:
        """Change a job's result without closing it (e.g. ``running`` again on resume, by this process)."""
        with self._tx() as db:
            db.execute(
                text("UPDATE jobs SET result=:r, ended=NULL, writer=:w WHERE id=:id"),
                {"r": result, "w": _this_writer(), "id": job_id},
            )

    def start_seam(
        self,
        job_id: int,
        seam_id: str,
        *,
        s_start: float,
        s_end_planned: float | None = None,
        pass_index: int = 0,
        wps_id: str = "",
        t: float | None = None,
    ) -> int:
        """Open a seam attempt (committed). The attempt number counts earlier attempts of that seam.

        Args:
            job_id: The job.
            seam_id: Seam identifier (program seam id).
            s_start: Seam arc length where the arc starts [m] (> 0 for a restart after a fault).
            s_end_planned: Seam arc length where the weld is planned to end [m].
            pass_index: Pass number of multi-pass seams.
            wps_id: Welding procedure specification (WPS) the seam is welded to.
            t: Time [s] since the epoch (now by default).

        Returns:
            The seam record id.
        """
        with self._tx() as db:
            (n,) = db.execute(
                text("SELECT COUNT(*) FROM seams WHERE job_id=:j AND seam_id=:s AND pass_index=:p"),
                {"j": job_id, "s": seam_id, "p": pass_index},
            ).one()
            row = db.execute(
                text(
                    "INSERT INTO seams(job_id, seam_id, pass_index, attempt, started, s_start, s_end_planned,"
                    " s_reached, wps_id) VALUES(:j, :s, :p, :a, :t, :s0, :s1, :s0, :wps) RETURNING id"
                ),
                {
                    "j": job_id,
                    "s": seam_id,
                    "p": pass_index,
                    "a": int(n) + 1,
                    "t": time.time() if t is None else t,
                    "s0": float(s_start),
                    "s1": sql_num(s_end_planned),
                    "wps": wps_id,
                },
            ).one()
            return int(row[0])

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
        names = [c.name for c in SIGNAL_COLUMNS]
        arr = np.asarray(samples, dtype=np.float64).reshape(-1, len(names))
        rows = [
            {"rec": seam_record, **{n: sql_num(v) for n, v in zip(names, r, strict=True)}}
            for r in arr.tolist()
        ]
        with self._tx() as db:
            if rows:
                db.execute(
                    text(
                        f"INSERT INTO signals(seam_record, {', '.join(names)})"
                        f" VALUES(:rec, {', '.join(':' + n for n in names)})"
                    ),
                    rows,
                )
            if s_reached is not None and math.isfinite(s_reached):
                db.execute(
                    text(f"UPDATE seams SET s_reached={self._furthest(':s')} WHERE id=:id"),
                    {"s": float(s_reached), "id": seam_record},
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
        stop = sql_num(s_stop)
        reached = "s_reached" if stop is None else self._furthest(":stop")
        with self._tx() as db:
            db.execute(
                text(
                    "UPDATE seams SET ended=:t, result=:r, s_stop=:stop, faults=:f, deviation_max_m=:dmax,"
                    f" deviation_rms_m=:drms, s_reached={reached} WHERE id=:id"
                ),
                {
                    "t": time.time() if t is None else t,
                    "r": result,
                    "stop": stop,
                    "f": json.dumps(list(faults)),
                    "dmax": sql_num(deviation_max_m),
                    "drms": sql_num(deviation_rms_m),
                    "id": seam_record,
                },
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
            row = db.execute(
                text(
                    "INSERT INTO events(job_id, t, kind, seam_id, message, data)"
                    " VALUES(:j, :t, :k, :s, :m, :d) RETURNING id"
                ),
                {
                    "j": job_id,
                    "t": time.time() if t is None else t,
                    "k": kind,
                    "s": seam_id,
                    "m": message,
                    "d": json.dumps(data or {}, default=float),
                },
            ).one()
            return int(row[0])

    def inspect_seam(
        self, seam_record: int, status: str, *, by: str, note: str = "", t: float | None = None
    ) -> SeamRecord:
        """Record the inspection of a seam attempt (committed; a later inspection replaces it).

        The change is also kept as an ``inspection`` event of the job, so the history stays.

        Args:
            seam_record: Seam record id.
            status: ``accepted``, ``rejected`` or ``pending``.
            by: Inspector's name (required).
            note: Free text (e.g. the NDT report number).
            t: Time [s] since the epoch (now by default).

        Raises:
            WeldLogError: no such record, an unknown status or no inspector.
        """
        if status not in INSPECTION_STATES:
            raise WeldLogError(
                f"inspection status {status!r}: expected one of {', '.join(INSPECTION_STATES)}"
            )
        if not by.strip():
            raise WeldLogError("inspection: the inspector's name (--by) is required")
        seam = self.seam(seam_record)
        when = time.time() if t is None else t
        with self._tx() as db:
            db.execute(
                text(
                    "UPDATE seams SET inspection_status=:st, inspected_by=:by, inspected_at=:t,"
                    " inspection_note=:n WHERE id=:id"
                ),
                {"st": status, "by": by, "t": when, "n": note, "id": seam_record},
            )
            db.execute(
                text(
                    "INSERT INTO events(job_id, t, kind, seam_id, message, data)"
                    " VALUES(:j, :t, 'inspection', :s, :m, :d)"
                ),
                {
                    "j": seam.job_id,
                    "t": when,
                    "s": seam.seam_id,
                    "m": f"seam record {seam_record} {status} by {by}" + (f": {note}" if note else ""),
                    "d": json.dumps({"seam_record": seam_record, "status": status, "by": by, "note": note}),
                },
            )
        return self.seam(seam_record)

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
        values = {
            "j": job_id,
            "p": part,
            "t": time.time() if t is None else t,
            **{k: float(v) for k, v in zip(("dx", "dy", "dz"), d, strict=True)},
            **{k: float(v) for k, v in zip(("rx", "ry", "rz"), rv, strict=True)},
            "rms": float(rms),
            "dof": int(observed_dof),
            "n": int(touches),
            "T": json.dumps(T_meas.tolist()),
        }
        with self._tx() as db:
            row = db.execute(
                text(
                    "INSERT INTO part_offsets(job_id, part, t, dx, dy, dz, rx, ry, rz, rms_m, observed_dof,"
                    " touches, T_world_part)"
                    " VALUES(:j, :p, :t, :dx, :dy, :dz, :rx, :ry, :rz, :rms, :dof, :n, :T)"
                    " RETURNING id"
                ),
                values,
            ).one()
            return int(row[0])

    def part_offsets(self, job_id: int) -> list[PartOffsetRecord]:
        """Measured part offsets of a job, in the order they were recorded."""
        rows = self._query(
            f"SELECT {select_list(PART_OFFSETS)} FROM part_offsets WHERE job_id=:j ORDER BY id", {"j": job_id}
        )
        return [PartOffsetRecord(*convert_row(PART_OFFSETS, r)) for r in rows]

    # --- queries -------------------------------------------------------------------------------
    def jobs(self, limit: int | None = None, *, cell_id: str | None = None) -> list[JobRecord]:
        """All jobs, newest first (``limit`` newest only; only ``cell_id``'s when given)."""
        where = " WHERE cell_id=:cell" if cell_id is not None else ""
        sql = f"SELECT {select_list(JOBS)} FROM jobs{where} ORDER BY id DESC" + (" LIMIT :n" if limit else "")
        rows = self._query(sql, {"n": limit, "cell": cell_id})
        return [job_from_row(r) for r in rows]

    def job(self, job_id: int) -> JobRecord:
        """One job. Raises :class:`WeldLogError` when there is none with that id."""
        rows = self._query(f"SELECT {select_list(JOBS)} FROM jobs WHERE id=:id", {"id": job_id})
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
                f"SELECT {select_list(SEAMS)} FROM seams WHERE job_id=:j ORDER BY id", {"j": job_id}
            )
        ]

    def seam(self, seam_record: int) -> SeamRecord:
        """One seam attempt by record id."""
        rows = self._query(f"SELECT {select_list(SEAMS)} FROM seams WHERE id=:id", {"id": seam_record})
        if not rows:
            raise WeldLogError(f"{self.path}: no seam record {seam_record}")
        return seam_from_row(rows[0])

    def signals(self, seam_record: int) -> SignalTrace:
        """Process signals of a seam attempt in the order they were written."""
        n = len(SIGNAL_COLUMNS)
        rows = self._query(
            f"SELECT {select_list(SIGNAL_COLUMNS)} FROM signals WHERE seam_record=:r ORDER BY id",
            {"r": seam_record},
        )
        arr = np.array(rows, dtype=np.float64).reshape(-1, n) if rows else np.zeros((0, n))  # NULL -> NaN
        return SignalTrace(*(arr[:, i].copy() for i in range(n)))

    def events(self, job_id: int | None = None) -> list[EventRecord]:
        """Events of a job (all events when ``job_id`` is None) in time order."""
        cols = select_list(EVENTS)
        if job_id is None:
            rows = self._query(f"SELECT {cols} FROM events ORDER BY id")
        else:
            rows = self._query(f"SELECT {cols} FROM events WHERE job_id=:j ORDER BY id", {"j": job_id})
        return [event_from_row(r) for r in rows]

    def writer_gone(self, job: JobRecord) -> bool:
        """True when ``job`` says ``running`` but the process writing it is provably dead.

        Provable only on the writer's own host (its ``HOST:PID``); a job another host is writing
        stays ``running`` until that host's cell opens the log again.
        """
        if job.result != "running" or ":" not in job.writer:
            return False
        host, _, pid = job.writer.rpartition(":")
        return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))

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

    def recover_interrupted(self) -> list[int]:
        """Mark the jobs whose writer on this host died (``kill -9``, power cut) as ``interrupted``.

        Their open seam attempt becomes ``interrupted`` too (:meth:`mark_interrupted`). Runs on every
        opening for writing. Returns the job ids marked.
        """
        rows = self._query(
            "SELECT id, writer FROM jobs WHERE result='running' AND writer LIKE :h",
            {"h": socket.gethostname() + ":%"},
        )
        marked: list[int] = []
        for job_id, writer in rows:
            pid = str(writer).rpartition(":")[2]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with self._tx() as db:
                    db.execute(
                        text("UPDATE jobs SET result='interrupted' WHERE id=:id AND result='running'"),
                        {"id": job_id},
                    )
                self.mark_interrupted(int(job_id))
                self.add_event(
                    int(job_id),
                    "interrupted",
                    f"the process that wrote the job ({writer}) has ended with the job unfinished;"
                    " job marked interrupted",
                )
                marked.append(int(job_id))
        return marked

    def mark_interrupted(self, job_id: int) -> int:
        """Close the attempts a dead writer left ``running`` as ``interrupted``. Returns how many."""
        with self._tx() as db:
            cur = db.execute(
                text(
                    "UPDATE seams SET result='interrupted', s_stop=NULL,"
                    " ended=COALESCE((SELECT MAX(t) FROM signals WHERE seam_record=seams.id), started)"
                    " WHERE job_id=:j AND result='running'"
                ),
                {"j": job_id},
            )
            return int(cur.rowcount)

    def integrity_ok(self) -> bool:
        """True when the database checks pass and no record points at a missing one.

        SQLite: ``PRAGMA integrity_check``; both back ends: every signal's seam attempt and every
        seam attempt's job exist.
        """
        if self.dialect == "sqlite" and self._query("PRAGMA integrity_check")[0][0] != "ok":
            return False
        orphans = self._query(
            "SELECT (SELECT COUNT(*) FROM signals WHERE seam_record NOT IN (SELECT id FROM seams)),"
            " (SELECT COUNT(*) FROM seams WHERE job_id NOT IN (SELECT id FROM jobs))"
        )[0]
        return bool(orphans[0] == 0 and orphans[1] == 0)
