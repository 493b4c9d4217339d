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

from pathlib import Path

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
)
from weldcell.cell.logschema import SCHEMA_VERSION
from weldcell.cell.logwriter import LogWriter

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


class WeldLog(LogWriter):
    """Read/write access to a weld log. Thread safe (one connection guarded by a lock).

    Use as a context manager, or call :meth:`close`.

    Args:
        target: The SQLite file (created with its folder if missing), ``sqlite:///PATH``, or
            ``postgresql://USER:PASSWORD@HOST[:PORT]/DB`` (the tables are created if missing).
        readonly: Open without creating or writing (for ``weldcell log`` queries).

    The code is split by job: the connection, schema checks and migrations
    (:class:`~weldcell.cell.logstore.LogStore`), the queries (:class:`~weldcell.cell.logreader.LogReader`)
    and the writing (:class:`~weldcell.cell.logwriter.LogWriter`).

    Raises:
        WeldLogError: not a weld log, a newer schema, or a database that cannot be opened.
    """

    def __init__(self, target: str | Path, *, readonly: bool = False) -> None:
        super().__init__(target, readonly=readonly)
        if not readonly:
            self.recover_interrupted()

    def __enter__(self) -> WeldLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
