"""The job worker of the cell controller: moves, arc handshakes, supervised welding, fault handling.

:class:`JobRunner` holds the sequencing that runs in the controller's worker thread;
:class:`~weldcell.cell.controller.CellController` adds the operator commands on top. Every motion
goes through :meth:`JobRunner._execute`, a supervision loop that polls (every
``CellConfig.poll_period``) the robot (position, safety inputs), the operator requests and, while
welding, the power source, and turns anything abnormal into a controlled stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from weldcell.cell.approval import Approval, MotionApprover
from weldcell.cell.arc import end_arc, strike_arc
from weldcell.cell.jobtypes import (
    ArcLostError,
    CellConfig,
    CellEvent,
    Cursor,
    JobInterruptedError,
    MotionStoppedError,
)
from weldcell.cell.joinmove import plan_cell_move
from weldcell.cell.live import LiveSample, live_sample
from weldcell.cell.monitor import AttemptTrace, SeamMonitor
from weldcell.cell.moves import build_trajectory, reapproach_move, retract_move
from weldcell.cell.positioner_sync import PositionerSync
from weldcell.cell.robotport import Motion, RobotPort
from weldcell.cell.segments import MoveStep, SeamStep, Step, continue_from, restart_index
from weldcell.cell.state import CellState, CellStateMachine, Command, evaluate_interlocks
from weldcell.cell.weldlog import JobTrace, WeldLog, WeldLogError
from weldcell.drivers.powersource.base import ErrorCode, PowerSource, WeldParams
from weldcell.errors import CellStateError, DriverError, WeldcellError
from weldcell.trajectory import JointTrajectory
from weldcell.trajectory.ops import quintic_rest_to_rest, rest_to_rest_duration

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.kinematics import Robot
    from weldcell.planning.collision import CollisionChecker

log = logging.getLogger(__name__)


class JobRunner:
    """Worker-side state and sequencing (see module docstring). Not used on its own."""

    #: Receives a :class:`~weldcell.cell.live.LiveSample` per poll (from the worker thread: it must
    #: only store it, e.g. :class:`weldcell.cell.opcua.OpcUaCellServer`); None: nobody listens.
    on_sample: Callable[[LiveSample], None] | None = None

    def __init__(
        self,
        robot: RobotDriver,
        power: PowerSource,
        weld_log: WeldLog,
        config: CellConfig | None,
        approver: MotionApprover,
        kinematics: Robot | None,
        checker: CollisionChecker | None,
        params: Mapping[str, WeldParams] | None,
        on_event: Callable[[CellEvent], None] | None,
    ) -> None:
        self.port = RobotPort(robot)
        self.power = power
        self.log = weld_log
        self.config = config or CellConfig()
        self.approver = approver
        self.kinematics = kinematics
        self.checker = checker
        self.params = dict(params or {})
        #: Cell, operator, consumables and WPS per seam recorded with the job (traceable records).
        self.trace = JobTrace()
        self._on_event = on_event
        self._sm = CellStateMachine(on_change=self._state_changed)
        self._traj: JointTrajectory | None = None
        self._main: Approval | None = None
        self._steps: tuple[Step, ...] = ()
        self._job_id: int | None = None
        self._cursor = Cursor()
        self._motion: Motion | None = None
        self._req_pause = threading.Event()
        self._req_estop = threading.Event()
        self._stop_reason = ""
        self._pending_join: tuple[int, JointTrajectory, Approval] | None = None
        self.traces: list[AttemptTrace] = []
        self.last_error: str = ""
        #: The positioner streamed with the robot (set by the controller for a trajectory with
        #: external axes), or None.
        self.positioner: PositionerSync | None = None

    # --- helpers ---------------------------------------------------------------------------------
    def _require_traj(self) -> JointTrajectory:
        if self._traj is None:
            raise CellStateError("no trajectory loaded; load a job first")
        return self._traj

    def _ext_now(self) -> np.ndarray | None:
        """Where the external axes (positioner, track) are now, or None for a robot alone."""
        if self._require_traj().external is None:
            return None
        if self.positioner is None:
            raise CellStateError("the trajectory has external axes but the cell has no positioner")
        return self.positioner.actual()

    def _emit(self, kind: str, message: str, seam_id: str | None = None, **data: Any) -> None:
        if self._job_id is not None:
            try:
                self.log.add_event(self._job_id, kind, message, seam_id=seam_id, data=dict(data))
            except WeldLogError as err:  # the log was closed under a dying process: report, go on
                log.error("event not logged (%s): %s", err, message)
        if self._on_event is not None:
            self._on_event(CellEvent(kind, message, seam_id, data))

    def _state_changed(self, old: CellState, new: CellState, command: Command) -> None:
        if self._on_event is not None:
            self._on_event(
                CellEvent(
                    "state",
                    f"cell {old.name} → {new.name}",
                    None,
                    {"command": command.value, "state": new.value, "previous": old.value},
                )
            )

    def _publish_live(
        self, traj: JointTrajectory, position: float, q: Any, status: Any = None, monitor: Any = None
    ) -> None:
        """Hand one poll's values to :attr:`on_sample`; a failing listener never stops the job."""
        sink = self.on_sample
        if sink is None:
            return
        try:
            sink(live_sample(traj, position, q, status, monitor))
        except Exception:  # a plant-floor publisher's bug must not fault the weld
            log.exception("live-value listener failed")

    def _safe_arc_off(self) -> None:
        try:
            self.power.stop_weld(timeout=self.config.arc.command_timeout)
        except DriverError as err:
            log.error("weld stop failed: %s", err)

    # --- the worker ------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._run_steps()
            if self._req_estop.is_set():  # arrived during the last arc end: the job is done but stopped
                raise JobInterruptedError(Command.ESTOP, self._stop_reason or "e-stop")
            if self._job_id is not None:
                self.log.end_job(self._job_id, "ok")
            self._emit("job_end", "job complete")
            self._sm.apply(Command.COMPLETE)
        except JobInterruptedError as intr:
            self._stop_job(intr.command, intr.message)
        except WeldcellError as err:
            self._safe_arc_off()
            self._stop_job(Command.FAULT, str(err))
        except Exception as err:  # a bug must still leave the cell safe and the log consistent
            log.exception("cell worker failed")
            self._safe_arc_off()
            self._stop_job(Command.FAULT, f"internal error: {err!r}")
        finally:
            self._motion = None

    def _run_steps(self) -> None:
        """Execute the job's steps from the cursor on (stream mode: slice by slice)."""
        while self._cursor.step < len(self._steps):
            step = self._steps[self._cursor.step]
            if isinstance(step, MoveStep):
                self._run_move(step)
            else:
                self._run_seam(step)
            self._cursor = Cursor(self._cursor.step + 1)

    def _stop_job(self, command: Command, message: str) -> None:
        self.last_error = message
        if self._job_id is not None:
            try:
                self.log.set_job_result(self._job_id, "interrupted")
            except WeldLogError as err:
                log.error("job result not logged (%s)", err)
        self._emit({Command.PAUSE: "paused", Command.ESTOP: "estop"}.get(command, "fault"), message)
        if self._sm.state is not CellState.ESTOP:
            self._sm.apply(command)

    def _check_requests(self, inputs: tuple[bool, ...]) -> Command | None:
        if self._req_estop.is_set():
            return Command.ESTOP
        if self.config.interlocks is not None:
            st = evaluate_interlocks(self.config.interlocks, inputs)
            if not st.estop_ok:
                self._stop_reason = "e-stop input"
                return Command.ESTOP
            if not st.ok:
                self._stop_reason = ", ".join(st.problems())
                return Command.FAULT
        if self._req_pause.is_set():
            return Command.PAUSE
        return None

    def _approve(self, piece: JointTrajectory, label: str) -> Approval:
        try:
            return self.approver.approve(piece, label)
        except WeldcellError as err:
            raise JobInterruptedError(Command.FAULT, str(err)) from err

    def _execute(
        self,
        traj: JointTrajectory,
        approval: Approval,
        start: int = 0,
        end: int | None = None,
        monitor: SeamMonitor | None = None,
    ) -> None:
        """Run samples ``[start, end)`` of ``traj`` under supervision.

        Raises:
            JobInterruptedError: the robot refused the motion.
            MotionStoppedError: operator request, interlock, driver fault or power-source link lost.
            ArcLostError: the arc went out while ``monitor`` was watching.
        """
        cfg = self.config
        end_i = traj.n_samples if end is None else end
        self._wait_stopped()  # a previous slice may still be decelerating after a stop
        try:
            req = self._check_requests(self.port.snapshot().digital_inputs)
        except DriverError as err:
            raise MotionStoppedError(Command.FAULT, f"robot: {err}", "robot") from err
        if req is not None:  # an e-stop / pause / interlock that arrived between two motions
            if req is Command.PAUSE:
                self._req_pause.clear()
                raise MotionStoppedError(req, "paused by the operator", "request")
            raise MotionStoppedError(req, self._stop_reason, "estop" if req is Command.ESTOP else "interlock")
        sync = self.positioner if traj.external is not None else None
        if traj.external is not None and sync is None:
            raise JobInterruptedError(
                Command.FAULT,
                f"the motion moves {traj.external.role} {traj.external.device!r} "
                "but the cell has no positioner",
            )
        if sync is not None:
            try:
                sync.check_motion(traj, start, end_i)
            except DriverError as err:
                raise MotionStoppedError(Command.FAULT, str(err), "positioner") from err
        try:
            motion = self.port.execute(traj, approval, start, end_i)
        except DriverError as err:
            raise JobInterruptedError(Command.FAULT, f"robot refused the motion: {err}") from err
        self._motion = motion
        if sync is not None:
            sync.attach(traj, motion.handle)
        deadline = time.monotonic() + (end_i - start) * traj.dt + cfg.motion_margin
        self._supervise(motion, traj, deadline, monitor, sync)
        # (on a stop the positioner keeps following the decelerating robot on its own: nothing here
        # may delay the arc-off that follows)
        if sync is not None:
            stats = sync.finish(timeout=cfg.motion_margin)
            if stats is not None:
                self._emit("positioner_sync", stats.describe(), None, **stats.as_dict())

    def _supervise(
        self,
        motion: Motion,
        traj: JointTrajectory,
        deadline: float,
        monitor: SeamMonitor | None,
        sync: PositionerSync | None,
    ) -> None:
        """Poll the running ``motion`` until it ends; stop it and raise on anything abnormal."""
        cfg = self.config
        try:
            while not motion.done():
                time.sleep(cfg.poll_period)
                if sync is not None and sync.fault:
                    raise MotionStoppedError(Command.FAULT, sync.fault, "positioner")
                snap = self.port.snapshot()
                req = self._check_requests(snap.digital_inputs)
                if req is not None:
                    if req is Command.PAUSE:
                        self._req_pause.clear()  # consumed: the stop and retract run unpaused
                        raise MotionStoppedError(req, "paused by the operator", "request")
                    raise MotionStoppedError(
                        req, self._stop_reason, "estop" if req is Command.ESTOP else "interlock"
                    )
                if monitor is not None:
                    try:
                        st = self.power.status()
                    except DriverError as err:
                        raise MotionStoppedError(Command.FAULT, f"power source: {err}", "power") from err
                    arc_do = self.port.arc_output
                    robot_arc = None
                    if arc_do is not None and len(snap.digital_outputs) > arc_do:
                        robot_arc = snap.digital_outputs[arc_do]
                    s = monitor.observe(motion.position(), snap.q, st, robot_arc)
                    self._publish_live(traj, motion.position(), snap.q, st, monitor)
                    if not st.arc_stable:
                        why = ErrorCode.describe(st.error_code) if st.error_code else "arc no longer stable"
                        raise ArcLostError(s, f"arc lost at {s * 1e3:.1f} mm ({why})")
                else:
                    self._publish_live(traj, motion.position(), snap.q)
                if time.monotonic() > deadline:
                    raise MotionStoppedError(
                        Command.FAULT, "robot did not finish the motion in time", "robot"
                    )
            motion.wait(timeout=cfg.motion_margin)
            if sync is not None and sync.fault:
                raise MotionStoppedError(Command.FAULT, sync.fault, "positioner")
        except (MotionStoppedError, ArcLostError):
            motion.stop()
            raise
        except DriverError as err:
            motion.stop()
            raise MotionStoppedError(Command.FAULT, f"robot: {err}", "robot") from err

    def _wait_stopped(self) -> None:
        m = self._motion
        try:
            if m is not None:
                m.wait(timeout=self.config.motion_margin)
        except DriverError as err:
            log.info("motion ended with %s", err)

    def _interrupt_move(self, stop: MotionStoppedError) -> JobInterruptedError:
        if stop.command is Command.ESTOP:
            return JobInterruptedError(Command.ESTOP, stop.reason or "e-stop")
        self._wait_stopped()
        return JobInterruptedError(stop.command, stop.reason or stop.command.value)

    def _run_move(self, step: MoveStep) -> None:
        """An arc-off move; after an interruption, join the path at its nearest sample and go on."""
        traj = self._require_traj()
        assert self._main is not None  # mypy
        q_now = self.port.snapshot().q
        try:
            if float(np.max(np.abs(q_now - traj.q[step.i0]))) < 1e-3:
                self._index_external(traj, step.i0, q_now)
                self._execute(traj, self._main, step.i0, step.i1 + 1)
                return
            pending, self._pending_join = self._pending_join, None
            if pending is not None and float(np.max(np.abs(pending[1].q[0] - q_now))) < 1e-3:
                k, join, approval = pending  # planned and validated before the job started
            else:
                try:
                    k, join = self.plan_join(step, q_now)
                except WeldcellError as err:
                    raise JobInterruptedError(Command.FAULT, f"cannot join the job's path: {err}") from err
                approval = self._approve(join, "rejoin")
            self._execute(join, approval)
            if k == step.i0:  # joined at the plan's rest position: the planned slice follows
                self._execute(traj, self._main, step.i0, step.i1 + 1)
            elif k < step.i1:
                cont = continue_from(traj, k, step.i1)[0]
                self._execute(cont, self._approve(cont, "continue"))
        except MotionStoppedError as stop:
            raise self._interrupt_move(stop) from None

    def _index_external(self, traj: JointTrajectory, i: int, q_robot: np.ndarray) -> None:
        """Move the positioner (or track) alone onto sample ``i`` of ``traj`` when it stands elsewhere,
        the robot holding at ``q_robot``: a quintic timed within ``MoveLimits.joint_speed_scale`` of
        the device's speed and acceleration limits."""
        sync = self.positioner
        if sync is None or traj.external is None:
            return
        a = sync.actual()
        b = np.asarray(traj.external.q[i], dtype=np.float64)
        if not sync.off_by(a, b):
            return
        axes = sync.port.axes
        scale = self.config.moves.joint_speed_scale  # as the cell's other recovery moves
        vmax = np.array([x.max_speed for x in axes]) * scale
        amax = np.array([x.max_accel for x in axes]) * scale
        duration = rest_to_rest_duration(b - a, vmax, amax, min_time=2 * traj.dt)
        q_ext = quintic_rest_to_rest(a, b, traj.dt, duration, min_intervals=2)[0]
        q = np.repeat(np.asarray(q_robot, dtype=np.float64)[None], len(q_ext), axis=0)
        T = None
        if self.kinematics is not None:
            T = np.repeat(
                (traj.T_world_base @ self.kinematics.fk(q[0]) @ traj.T_flange_tcp)[None], len(q), axis=0
            )
        move = build_trajectory(traj, q, T, q_ext)
        self._emit(
            "positioner_index",
            f"{traj.external.role} {traj.external.device} to the job's sample {i} ({duration:.2f} s)",
            None,
            q_from=[float(v) for v in a],
            q_to=[float(v) for v in b],
        )
        try:
            self._execute(move, self._approve(move, "index_positioner"))
        except MotionStoppedError as stop:
            raise self._interrupt_move(stop) from None

    def plan_join(
        self, step: MoveStep, q_now: np.ndarray, *, nearest: bool = True
    ) -> tuple[int, JointTrajectory]:
        """The move from ``q_now`` (at rest) onto sample ``k`` of the arc-off ``step``: its nearest
        sample, or its first (a rest position of the plan) when ``nearest`` is False.

        Planned collision-free, timed within the planning limits and carrying real TCP poses
        (:func:`weldcell.cell.joinmove.plan_cell_move`). Returns (k, move).

        Raises:
            StartMoveError: no safe move (the message names the colliding bodies and where).
            CellStateError: no kinematic model of the robot.
        """
        traj = self._require_traj()
        if self.kinematics is None:
            raise CellStateError(
                f"the robot is not at the job's path and there is no kinematic model of {traj.robot} "
                "to plan the move there"
            )
        block = traj.q[step.i0 : step.i1 + 1]
        k = step.i0 + int(np.argmin(np.linalg.norm(block - q_now, axis=1))) if nearest else step.i0
        move = plan_cell_move(
            self.kinematics,
            traj,
            q_now,
            traj.q[k],
            self.checker,
            speed_scale=self.config.moves.joint_speed_scale,
            q_ext_from=self._ext_now(),
            q_ext_to=None if traj.external is None else traj.external.q[k],
        )
        return k, move

    def _run_seam(self, step: SeamStep) -> None:
        traj = self._require_traj()
        assert self._main is not None and self._job_id is not None  # mypy
        cfg = self.config
        cur = self._cursor
        if cur.restart_s is None:
            piece, approval, start, end, index_map = traj, self._main, step.i0, step.i1 + 1, None
            s_start = step.s0
        else:
            i_r = restart_index(traj, step, cur.restart_s)
            self._reapproach(i_r, retracted=cur.retracted)
            cur.retracted = False
            piece, index_map = continue_from(traj, i_r, step.i1, dwell_samples=step.weld0 - step.i0)
            approval, start, end = self._approve(piece, f"restart_{step.seam_id}"), 0, piece.n_samples
            s_start = float(np.nan_to_num(traj.seam_s[i_r], nan=step.s0))
        try:
            self._ack_idle_link_error()
            arc = strike_arc(
                self.power,
                cfg.arc,
                self.params.get(step.seam_id),
                on_retry=lambda n, why: self._emit(
                    "arc_retry", f"ignition attempt {n} failed: {why}", step.seam_id
                ),
                abort=self._req_estop.is_set,
            )
        except DriverError as err:
            self._safe_arc_off()
            if self._req_estop.is_set():
                raise JobInterruptedError(Command.ESTOP, self._stop_reason or "e-stop") from err
            raise JobInterruptedError(Command.FAULT, f"seam {step.seam_id}: {err}") from err
        record = self.log.start_seam(
            self._job_id,
            step.seam_id,
            s_start=s_start,
            s_end_planned=step.s1,
            pass_index=step.segment,
            wps_id=self.trace.wps_for(step.seam_id),
        )
        self._emit(
            "seam_start",
            f"seam {step.seam_id}: arc stable after {arc.ignition_time:.2f} s "
            f"({arc.attempts} attempt(s)), welding from {s_start * 1e3:.1f} mm",
            step.seam_id,
            attempts=arc.attempts,
            s_start=s_start,
        )
        monitor = SeamMonitor(self.log, record, traj, step, index_map, cfg.signal_flush_period)
        try:
            self._execute(piece, approval, start, end, monitor)
        except ArcLostError as lost:
            self._seam_interrupted(step, monitor, "arc_loss", lost.s, lost.reason, Command.FAULT, "arc")
        except MotionStoppedError as stop:
            self._seam_stopped(step, monitor, stop)
        try:
            end_arc(self.power, cfg.arc)
        except DriverError as err:
            # welded to its end; the fault (wire stick, current not stopping) blocks the next motion
            # until an operator has cleared it
            self._finish_seam(monitor, "ok", step.s1, [str(err)])
            self._cursor = Cursor(self._cursor.step + 1)
            raise JobInterruptedError(Command.FAULT, f"seam {step.seam_id}: {err}") from err
        self._finish_seam(monitor, "ok", step.s1, [])

    def _ack_idle_link_error(self) -> None:
        """A communication timeout the power source latched while no weld ran (a link hiccup between
        seams) is acknowledged before the arc start; any other error needs the operator."""
        st = self.power.status()
        if st.error_code == ErrorCode.COMM_TIMEOUT and not st.process_active:
            self._emit("psu_ack", "power source reported a communication timeout while idle; acknowledged")
            self.power.reset_error(timeout=self.config.arc.command_timeout)
            if self.power.wait_for(lambda s: not s.error, self.config.arc.ready_timeout) is None:
                raise JobInterruptedError(
                    Command.FAULT, "power source keeps reporting a communication timeout"
                )

    def _seam_stopped(self, step: SeamStep, monitor: SeamMonitor, stop: MotionStoppedError) -> None:
        s = monitor.s_now if np.isfinite(monitor.s_now) else monitor.s_max
        if stop.command is Command.ESTOP:
            self._safe_arc_off()
            self._seam_interrupted(step, monitor, "estop", s, stop.reason or "e-stop", Command.ESTOP, "estop")
        elif stop.command is Command.PAUSE:
            self._wait_stopped()
            m = self._motion
            s_end = monitor.seam_s_at(m.position()) if m is not None else s
            self._seam_interrupted(
                step, monitor, "paused", s_end, "paused by the operator", Command.PAUSE, "request"
            )
        else:
            self._safe_arc_off()
            result = {"robot": "robot_fault", "power": "power_source_fault"}.get(stop.source, "fault")
            self._seam_interrupted(step, monitor, result, s, stop.reason, Command.FAULT, stop.source)

    def _finish_seam(self, monitor: SeamMonitor, result: str, s_stop: float, faults: list[str]) -> None:
        monitor.flush()
        dmax, drms = monitor.deviation(self.kinematics)
        self.log.end_seam(
            monitor.record, result, s_stop=s_stop, faults=faults, deviation_max_m=dmax, deviation_rms_m=drms
        )
        self.traces.append(monitor.trace())
        robot_arc = monitor.robot_arc_summary()
        if robot_arc is not None:
            seen = (
                f"on from {robot_arc['s_first_on'] * 1e3:.1f} to {robot_arc['s_last_on'] * 1e3:.1f} mm"
                if "s_first_on" in robot_arc
                else "never seen on"
            )
            self._emit(
                "robot_arc_output",
                f"seam {monitor.step.seam_id}: robot arc output DO{self.port.arc_output} {seen} "
                f"({robot_arc['polls_on']} of {robot_arc['polls']} polls)",
                monitor.step.seam_id,
                **robot_arc,
            )
        self._emit(
            "seam_end",
            f"seam {monitor.step.seam_id}: {result} at {s_stop * 1e3:.1f} mm"
            + (f" ({'; '.join(faults)})" if faults else ""),
            monitor.step.seam_id,
            result=result,
            s_stop=s_stop,
            deviation_max_m=dmax,
        )

    def _seam_interrupted(
        self,
        step: SeamStep,
        monitor: SeamMonitor,
        result: str,
        s_stop: float,
        reason: str,
        command: Command,
        source: str,
    ) -> None:
        """Record where the arc went out, make the cell safe, retract if possible, and leave the worker.

        ``source``: ``arc`` (arc loss), ``request`` (operator pause, interlock), ``estop``, ``robot``
        (driver fault / lost connection) or ``power`` (power-source link lost). The torch retracts
        only when both devices are healthy and the arc ended normally.
        """
        faults = [reason]
        if source not in ("estop", "robot"):
            self._wait_stopped()
        if source in ("arc", "request"):
            try:
                end_arc(self.power, self.config.arc)
            except DriverError as err:
                faults.append(str(err))
                self._safe_arc_off()
        self._finish_seam(monitor, result, s_stop, faults)
        cur = self._cursor
        cur.restart_s = step.back_off(s_stop, self.config.arc.restart_overlap)
        cur.retracted = False
        if source in ("arc", "request") and len(faults) == 1 and self.kinematics is not None:
            try:
                q_now = self.port.wait_still()
                move = retract_move(
                    self.kinematics,
                    self._require_traj(),
                    q_now,
                    self.config.retract_distance,
                    self.config.moves,
                    q_ext=self._ext_now(),
                )
                self._execute(move, self._approve(move, "retract"))
                cur.retracted = True
            except (MotionStoppedError, WeldcellError) as err:
                self._wait_stopped()
                faults.append(f"retract failed: {err}")
        raise JobInterruptedError(command, f"seam {step.seam_id}: {'; '.join(faults)}")

    def _reapproach(self, i_target: int, *, retracted: bool) -> None:
        """Move back onto sample ``i_target`` of the job's path (external axes there too)."""
        if self.kinematics is None:
            raise JobInterruptedError(
                Command.FAULT, "cannot restart a seam without a kinematic model of the robot"
            )
        traj = self._require_traj()
        q_now = self.port.snapshot().q
        try:
            move = reapproach_move(
                self.kinematics,
                traj,
                q_now,
                traj.q[i_target],
                retract_distance=0.0 if retracted else self.config.retract_distance,
                approach_distance=self.config.approach_distance,
                limits=self.config.moves,
                checker=self.checker,
                q_ext_from=self._ext_now(),
                q_ext_to=None if traj.external is None else traj.external.q[i_target],
            )
        except WeldcellError as err:
            raise JobInterruptedError(Command.FAULT, f"cannot plan the re-approach: {err}") from err
        try:
            self._execute(move, self._approve(move, "reapproach"))
        except MotionStoppedError as stop:
            raise self._interrupt_move(stop) from None
