"""Program mode of the cell: the whole job runs as one controller program, under the cell's supervision.

In stream mode the cell sends the job slice by slice. In program mode (``weldcell run --mode program``,
``weldcell cell run --mode program``) the robot controller runs the exported job program
(:meth:`weldcell.drivers.ur.driver.URDriver.execute_program`) and the cell does everything else the
same way: the validated start move from wherever the robot stands, the interlock checks before the
start and on every supervision poll (an interlock that opens stops the program and drops the arc),
the job record and one seam attempt per arc-on block in the weld log, and the result.

The welded intervals in the log come from the controller's state, not from the plan: the program
writes its weld block to a register (k + 1 from the arc-on point of block k to its arc-off point),
the arc is on while its arc request is high and "arc established" is reported, and the seam arc
length of every poll is that of the planned sample nearest to the robot's *actual* joints.

Who switches the arc (:class:`~weldcell.cell.jobtypes.ProgramArc`):

* ``DRY_RUN`` (no power source): the program never requests the arc; the intervals are the weld
  blocks the program passed through.
* ``ROBOT_IO``: a power source wired to the robot (arc on a digital output, arc established on a
  digital input); the program switches it by itself.
* ``FIELDBUS`` (``--powersource modbus://…``): the program raises an RTDE output bit as arc request
  and waits for an RTDE input bit; the cell strikes the arc on the power source with the seam's
  parameters, reports *arc established*, ends the arc (current stopped, wire free) when the request
  drops, and stops the program on an arc loss. The program carries the PC watchdog, so a dead PC
  stops the robot while the power source's own communication timeout ends the arc.

A job interrupted in program mode continues in stream mode (``resume`` / ``weldcell cell resume``):
a controller program cannot start in the middle of a seam.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from typing import Any

import numpy as np

from weldcell.cell.arc import end_arc, strike_arc
from weldcell.cell.jobtypes import (
    Cursor,
    JobInterruptedError,
    MotionStoppedError,
    ProgramArc,
    ProgramMode,
)
from weldcell.cell.monitor import SeamMonitor
from weldcell.cell.robotport import Motion, ProgramSnapshot
from weldcell.cell.runner import JobRunner
from weldcell.cell.segments import MoveStep, SeamStep
from weldcell.cell.state import Command
from weldcell.drivers.powersource.base import PowerSourceStatus
from weldcell.errors import CellStateError, DriverError, WeldcellError

log = logging.getLogger(__name__)

#: RTDE registers of a fieldbus arc (see weldcell.drivers.ur.streaming.servo_program's register map).
ARC_REQUEST_BIT = 64
ARC_ESTABLISHED_BIT = 64


class _Attempt:
    """The seam attempt open in the log while the program welds one arc-on block."""

    def __init__(self, step: SeamStep, monitor: SeamMonitor) -> None:
        self.step = step
        self.monitor = monitor


class ProgramJobRunner(JobRunner):
    """:class:`JobRunner` with program mode (see the module docstring). Not used on its own."""

    program_mode: ProgramMode | None = None

    def _run_steps(self) -> None:
        if self.program_mode is None or self._cursor != Cursor():
            super()._run_steps()
            return
        try:
            self._run_program_job(self.program_mode)
        except JobInterruptedError:
            self._continue_in_stream_mode()
            raise
        self._cursor = Cursor(len(self._steps))

    # --- the job ---------------------------------------------------------------------------------
    def _run_program_job(self, mode: ProgramMode) -> None:
        traj = self._require_traj()
        assert self._main is not None  # mypy
        if not self.port.supports_programs():
            raise CellStateError(
                f"program mode runs the job as one controller program; the robot driver "
                f"{type(self.port.driver).__name__} cannot (use stream mode)"
            )
        self._move_onto_start()
        options = self._export_options(mode)
        if mode.arc is ProgramArc.FIELDBUS:
            self.port.set_arc_established(False)
        try:
            motion = self.port.execute_program(traj, self._main, options)
        except WeldcellError as err:
            raise JobInterruptedError(Command.FAULT, f"robot refused the job program: {err}") from err
        self._motion = motion
        self._emit("program_start", f"job program running on the controller ({mode.arc.value})")
        self._supervise_program(motion, mode, float(options.arc_timeout))

    def _move_onto_start(self) -> None:
        """The validated start move (planned at ``start()``) when the robot is not at sample 0."""
        traj = self._require_traj()
        q_now = self.port.snapshot().q
        pending, self._pending_join = self._pending_join, None
        if float(np.max(np.abs(q_now - traj.q[0]))) < 1e-3:
            return
        first = self._steps[0] if self._steps else None
        if pending is not None and float(np.max(np.abs(pending[1].q[0] - q_now))) < 1e-3:
            _, join, approval = pending
        elif isinstance(first, MoveStep):
            try:
                _, join = self.plan_join(first, q_now, nearest=False)
            except WeldcellError as err:
                raise JobInterruptedError(Command.FAULT, f"cannot reach the job's start: {err}") from err
            approval = self._approve(join, "start")
        else:
            raise JobInterruptedError(
                Command.FAULT, "the robot is not at the job's first sample, which is already a weld"
            )
        try:
            self._execute(join, approval)
        except MotionStoppedError as stop:
            raise self._interrupt_move(stop) from None

    def _export_options(self, mode: ProgramMode) -> Any:
        arc = self.config.arc
        # the program waits longer for the arc than the cell's strike takes (one attempt) and for the
        # end of the arc than the cell's arc-end handshake
        wait = max(arc.ignition_timeout, arc.arc_off_timeout) + 2 * arc.command_timeout + 0.5
        if mode.arc is ProgramArc.FIELDBUS:
            return self.port.program_options(
                arc_timeout=wait, arc_registers=(ARC_REQUEST_BIT, ARC_ESTABLISHED_BIT)
            )
        if mode.arc is ProgramArc.ROBOT_IO:
            return self.port.program_options(
                arc_timeout=wait, arc_output=mode.arc_output, arc_input=mode.arc_input
            )
        return self.port.program_options(arc_timeout=wait)

    # --- supervision -----------------------------------------------------------------------------
    def _supervise_program(self, motion: Motion, mode: ProgramMode, arc_wait: float) -> None:
        traj = self._require_traj()
        cfg = self.config
        seams = [s for s in self._steps if isinstance(s, SeamStep)]
        request_reg = ARC_REQUEST_BIT if mode.arc is ProgramArc.FIELDBUS else None
        attempt: _Attempt | None = None
        welding = False  # FIELDBUS: the cell has struck the arc on the power source
        welded: set[int] = set()
        ordinal = {step.i0: k for k, step in enumerate(seams)}
        deadline = time.monotonic() + traj.duration + len(seams) * 2 * arc_wait + cfg.motion_margin
        try:
            while not motion.done():
                time.sleep(cfg.poll_period)
                ps = self.port.program_snapshot(request_reg, mode.arc_output)
                req = self._check_requests(ps.digital_inputs)
                if req is not None:
                    if req is Command.PAUSE:
                        self._req_pause.clear()
                        raise MotionStoppedError(req, "paused by the operator", "request")
                    raise MotionStoppedError(
                        req, self._stop_reason, "estop" if req is Command.ESTOP else "interlock"
                    )
                block = ps.block - 1 if 0 < ps.block <= len(seams) else None
                struck = False
                if welding and not ps.arc_request and attempt is not None:
                    # the program ended the weld: the seam is welded; the arc end (current stopped,
                    # wire free) is the power source's part and may still fault the job
                    self._close_attempt(attempt, motion, "ok", [])
                    attempt = None
                if mode.arc is ProgramArc.FIELDBUS:
                    was, welding = welding, self._relay_arc(ps, block, seams, welding)
                    struck = welding and not was
                status = self._arc_status(mode, ps)
                arc_on = block is not None and (
                    mode.arc is ProgramArc.DRY_RUN or (ps.arc_request and status.arc_stable)
                )
                if attempt is not None and (block != ordinal[attempt.step.i0] or not arc_on):
                    if block == ordinal[attempt.step.i0] and ps.arc_request:  # arc lost, request still up
                        self._arc_lost(attempt, status)
                    self._close_attempt(attempt, motion, "ok", [])
                    attempt = None
                if attempt is None and arc_on and block is not None and block not in welded:
                    attempt = self._open_attempt(seams[block], motion, mode.arc is ProgramArc.DRY_RUN)
                    welded.add(block)
                if struck:  # the seam's record is open (robot at rest at the arc start): let it weld
                    self.port.set_arc_established(True)
                if attempt is not None:  # the progress (nearest planned sample) held inside the block
                    st = attempt.step
                    attempt.monitor.observe(min(max(motion.position(), st.i0), st.i1), ps.q, status)
                    self._publish_live(traj, motion.position(), ps.q, status, attempt.monitor)
                else:
                    self._publish_live(traj, motion.position(), ps.q)
                if time.monotonic() > deadline:
                    raise MotionStoppedError(Command.FAULT, "the job program did not finish in time", "robot")
            motion.wait(timeout=cfg.motion_margin)
        except MotionStoppedError as stop:
            motion.stop()
            self._program_interrupted(attempt, motion, mode, stop.command, stop.reason, stop.source)
        except _ArcLostError as lost:
            motion.stop()
            self._program_interrupted(attempt, motion, mode, Command.FAULT, lost.reason, "arc")
        except DriverError as err:  # the program faulted: protective stop, speed slider, halted, link lost
            self._program_interrupted(attempt, motion, mode, Command.FAULT, f"robot: {err}", "robot")
        if attempt is not None:
            self._close_attempt(attempt, motion, "ok", [])
        if mode.arc is ProgramArc.FIELDBUS and welding:
            try:
                self._end_relayed_arc()
            except MotionStoppedError as stop:
                raise JobInterruptedError(Command.FAULT, stop.reason) from None
        missing = [f"{s.seam_id} (block {k + 1})" for k, s in enumerate(seams) if k not in welded]
        if missing:
            raise JobInterruptedError(
                Command.FAULT,
                "the job program ended but the controller never reported these welds: " + ", ".join(missing),
            )
        self._emit(
            "program_end",
            f"job program completed on the controller: {len(welded)} weld(s), "
            f"{motion.traj.n_samples} samples ({motion.traj.duration:.1f} s planned)",
        )

    def _arc_status(self, mode: ProgramMode, ps: ProgramSnapshot) -> PowerSourceStatus:
        """What the arc does now: the power source (FIELDBUS), the robot's arc input (ROBOT_IO),
        or nothing (dry run: no current)."""
        if mode.arc is ProgramArc.FIELDBUS:
            try:
                return self.power.status()
            except DriverError as err:
                raise MotionStoppedError(Command.FAULT, f"power source: {err}", "power") from err
        if mode.arc is ProgramArc.ROBOT_IO:
            on = ps.arc_request and ps.digital_inputs[mode.arc_input]
            nan = math.nan  # a discrete interface measures no current, voltage or wire feed
            return PowerSourceStatus(
                process_active=on,
                current_flow=on,
                arc_stable=on,
                motion_release=on,
                current=nan,
                voltage=nan,
                wire_feed=nan,
                timestamp=time.monotonic(),
            )
        # a dry run's "arc" is the weld block itself, with no current (as ArcDisabled in stream mode)
        return PowerSourceStatus(ready=True, arc_stable=True, motion_release=True, timestamp=time.monotonic())

    def _relay_arc(
        self, ps: ProgramSnapshot, block: int | None, seams: list[SeamStep], welding: bool
    ) -> bool:
        """FIELDBUS: follow the program's arc request on the power source. Returns ``welding``.

        After a strike the caller opens the seam's record and then reports *arc established* to the
        program (which waits for it at rest before it moves).
        """
        if ps.arc_request and not welding:
            step = seams[block] if block is not None else None
            params = self.params.get(step.seam_id) if step is not None else None
            try:
                self._ack_idle_link_error()
                arc = strike_arc(
                    self.power,
                    dataclasses.replace(self.config.arc, ignition_retries=0),
                    params,
                    abort=self._req_estop.is_set,
                )
            except DriverError as err:
                self._safe_arc_off()
                raise MotionStoppedError(
                    Command.FAULT, f"seam {step.seam_id if step else '?'}: {err}", "power"
                ) from err
            self._emit(
                "arc_on",
                f"seam {step.seam_id if step else '?'}: arc stable after {arc.ignition_time:.2f} s "
                "(job program waiting)",
                step.seam_id if step else None,
            )
            return True
        if welding and not ps.arc_request:
            self._end_relayed_arc()
            return False
        return welding

    def _end_relayed_arc(self) -> None:
        try:
            end_arc(self.power, self.config.arc)
        except DriverError as err:  # wire stick or current not stopping: the program keeps waiting
            raise MotionStoppedError(Command.FAULT, str(err), "power") from err
        self.port.set_arc_established(False)

    def _arc_lost(self, attempt: _Attempt, status: PowerSourceStatus) -> None:
        s = attempt.monitor.s_now if np.isfinite(attempt.monitor.s_now) else attempt.monitor.s_max
        why = f"error {status.error_code}" if status.error_code else "arc no longer stable"
        raise _ArcLostError(f"seam {attempt.step.seam_id}: arc lost at {s * 1e3:.1f} mm ({why})")

    def _open_attempt(self, step: SeamStep, motion: Motion, at_arc_on_point: bool) -> _Attempt:
        """Open the seam's record. ``at_arc_on_point``: the block register's change is the event (a dry
        run: the program writes it at the arc-on point, at rest, and moves on at once, possibly
        before the next poll); otherwise the arc came on where the robot stands now."""
        assert self._job_id is not None  # mypy
        traj = self._require_traj()
        probe = SeamMonitor(self.log, -1, traj, step, None)
        s_start = probe.seam_s_at(step.i0 if at_arc_on_point else max(motion.position(), step.i0))
        s_start = s_start if np.isfinite(s_start) else step.s0
        record = self.log.start_seam(
            self._job_id,
            step.seam_id,
            s_start=s_start,
            s_end_planned=step.s1,
            pass_index=step.segment,
            wps_id=self.trace.wps_for(step.seam_id),
        )
        monitor = SeamMonitor(self.log, record, traj, step, None, self.config.signal_flush_period)
        self._emit(
            "seam_start",
            f"seam {step.seam_id}: arc on (job program), welding from {s_start * 1e3:.1f} mm",
            step.seam_id,
            s_start=s_start,
        )
        return _Attempt(step, monitor)

    def _close_attempt(self, attempt: _Attempt, motion: Motion, result: str, faults: list[str]) -> None:
        m, st = attempt.monitor, attempt.step
        # where the torch is now on the seam (the arc went out here when the weld was interrupted)
        s_now = m.seam_s_at(min(max(motion.position(), st.i0), st.i1))
        s_stop = s_now if np.isfinite(s_now) else (m.s_now if np.isfinite(m.s_now) else m.s_max)
        # welded to its end (the log's convention for a finished seam, as streamed): the nearest
        # planned sample to the rest pose can be one just before the crater (6-decimal targets)
        if result == "ok" and motion.position() >= st.weld1 - round(0.1 / motion.traj.dt):
            s_stop = st.s1
        self._finish_seam(m, result, s_stop, faults)

    def _program_interrupted(
        self,
        attempt: _Attempt | None,
        motion: Motion,
        mode: ProgramMode,
        command: Command,
        reason: str,
        source: str,
    ) -> None:
        """Make the cell safe (program stopped by the caller, arc off), record the seam, leave the worker."""
        if mode.arc is ProgramArc.FIELDBUS:
            self._safe_arc_off()
            try:
                self.port.set_arc_established(False)
            except DriverError as err:
                log.error("arc-established bit not cleared: %s", err)
        if source != "robot":
            try:
                motion.wait(timeout=self.config.motion_margin)
            except DriverError as err:
                log.info("job program ended with %s", err)
        if attempt is not None:
            result = {
                "arc": "arc_loss",
                "robot": "robot_fault",
                "power": "power_source_fault",
                "estop": "estop",
            }.get(source, "paused" if command is Command.PAUSE else "fault")
            self._close_attempt(attempt, motion, result, [reason])
        raise JobInterruptedError(command, reason or command.value)

    def _continue_in_stream_mode(self) -> None:
        """After an interruption the job continues by streaming, from the log's resume point."""
        self.program_mode = None
        if self._job_id is None:
            return
        try:
            self._cursor = self._cursor_from_log(self._job_id)
        except WeldcellError as err:
            log.error("no resume point for job %s: %s", self._job_id, err)

    def _cursor_from_log(self, job_id: int) -> Cursor:
        """Where an interrupted job continues: the first seam block without an ``ok`` attempt (from its
        last recorded progress minus the restart overlap when it was started), else the move before it."""
        rp = self.log.resume_point(job_id)
        cursor = Cursor(step=len(self._steps) - 1, retracted=False)
        for k, st in enumerate(self._steps):
            if isinstance(st, SeamStep) and (st.seam_id, st.segment) not in rp.done_seams:
                if rp.seam_id == st.seam_id and rp.pass_index == st.segment:
                    s_stop = rp.s_stop if rp.s_stop is not None else st.s0
                    return Cursor(k, st.back_off(s_stop, self.config.arc.restart_overlap), retracted=False)
                return Cursor(max(k - 1, 0), None, retracted=False)
        return cursor


class _ArcLostError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
