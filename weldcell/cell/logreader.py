"""Queries of the weld log: jobs, seam attempts, signals, events, part offsets, where an interrupted
job continues (:meth:`LogReader.resume_point`) and the integrity check. Part of
:class:`weldcell.cell.weldlog.WeldLog`.
"""

from __future__ import annotations

import socket

import numpy as np

from weldcell.cell.logrecords import (
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
)
from weldcell.cell.logschema import (
    EVENTS,
    JOBS,
    PART_OFFSETS,
    SEAMS,
    SIGNAL_COLUMNS,
    convert_row,
    select_list,
)
from weldcell.cell.logstore import LogStore, _pid_alive


class LogReader(LogStore):
    """The queries of :class:`weldcell.cell.weldlog.WeldLog` (read-only; thread safe)."""

    def part_offsets(self, job_id: int) -> list[PartOffsetRecord]:
        """Measured part offsets of a job, in the order they were recorded."""
        rows = self._query(
            f"SELECT {select_list(PART_OFFSETS)} FROM part_offsets WHERE job_id=:j ORDER BY id", {"j": job_id}
        )
        return [PartOffsetRecord(*convert_row(PART_OFFSETS, r)) for r in rows]

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
