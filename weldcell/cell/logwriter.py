"""Writing the weld log: jobs, seam attempts (each event its own committed transaction), signal
batches, events, inspections and part offsets, and marking the jobs of dead writers ``interrupted``.
Part of :class:`weldcell.cell.weldlog.WeldLog`.
"""

from __future__ import annotations

import json
import math
import socket
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import text

from weldcell.cell.logreader import LogReader
from weldcell.cell.logrecords import (
    JobTrace,
    SeamRecord,
    WeldLogError,
    sql_num,
)
from weldcell.cell.logschema import (
    INSPECTION_STATES,
    SIGNAL_COLUMNS,
)
from weldcell.cell.logstore import _pid_alive, _this_writer


class LogWriter(LogReader):
    """The writing side of :class:`weldcell.cell.weldlog.WeldLog` (thread safe)."""

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
