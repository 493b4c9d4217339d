"""The cell controller: runs a planned, validated trajectory as a welding job on a robot and a power source.

Sequence per job: (robot to the first sample) → for each arc-on block of the trajectory: transit and
approach (arc off) → arc start handshake (the robot does not move before *arc stable* and *motion
release*; no ignition → retries, then FAULT) → weld with process-signal sampling into the weld log →
crater fill → arc off (wire-stick check) → retract / transit → … → home.

Faults and operator actions (all recorded in the weld log, one commit per seam event):

* arc loss mid-seam → stop motion, arc off, record the seam arc length where the arc went out,
  retract; state FAULT. After ``reset`` and ``resume`` the torch re-approaches and the seam restarts
  ``ArcProcedure.restart_overlap`` before that point, on the planned path.
* operator ``pause`` → motion stops (on a seam: with a normal arc end); ``resume`` continues.
* e-stop (``estop()`` or the e-stop input) → motion stop and weld stop at once; state ESTOP.
* power-source link lost / timeout, robot connection dropped, protective stop → FAULT.
* the process dies → the log is intact; a new controller adopts the job with :meth:`recover_job`.

The controller runs the job in one worker thread; command methods may be called from any thread.
It never prints: progress goes to the ``on_event`` callback and the weld log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from weldcell.cell.arc import ArcProcedure, end_arc, strike_arc
from weldcell.cell.monitor import AttemptTrace, SeamMonitor
from weldcell.cell.moves import MoveLimits, build_trajectory, joint_move_samples, reapproach_move, retract_move
from weldcell.cell.robotport import Motion, RobotPort
from weldcell.cell.segments import MoveStep, SeamStep, Step, continue_from, index_at_s, job_steps, slice_trajectory
from weldcell.cell.state import CellState, CellStateMachine, Command, InterlockConfig, evaluate_interlocks
from weldcell.cell.weldlog import WeldLog
from weldcell.drivers.powersource.base import PowerSource, WeldParams
from weldcell.errors import CellStateError, DriverError, WeldcellError
from weldcell.planning.trajectory import JointTrajectory

if TYPE_CHECKING:
    from weldcell.kinematics import Robot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CellConfig:
    """Cell settings.

    Attributes:
        arc: Arc handshake and restart settings.
        interlocks: Safety inputs on the robot controller, or None when the cell has none wired.
        moves: Limits of the recovery moves the cell plans itself.
        retract_distance: Back-off along the torch axis after a stop on a seam [m].
        approach_distance: Approach length onto a restart point [m].
        poll_period: Period of the cell's supervision loop [s].
        signal_flush_period: Time between committed batches of process signals [s].
        motion_margin: Extra time allowed for a slice beyond its duration [s].
    """

    arc: ArcProcedure = field(default_factory=ArcProcedure)
    interlocks: InterlockConfig | None = None
    moves: MoveLimits = field(default_factory=MoveLimits)
    retract_distance: float = 0.02
    approach_distance: float = 0.02
    poll_period: float = 0.01
    signal_flush_period: float = 0.25
    motion_margin: float = 5.0


@dataclass(frozen=True, slots=True)
class CellEvent:
    """Something the cell reports: ``kind`` (``state``, ``seam_start``, ``seam_end``, ``fault``, ...)."""

    kind: str
    message: str
    seam_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


class _Interrupt(Exception):
    """Leaves the worker: the job stops in ``command``'s state (PAUSE, FAULT or ESTOP)."""

    def __init__(self, command: Command, message: str) -> None:
        super().__init__(message)
        self.command = command
        self.message = message


class _ArcLost(Exception):
    def __init__(self, s: float, reason: str) -> None:
        super().__init__(reason)
        self.s = s
        self.reason = reason


@dataclass
class _Cursor:
    """Where the job continues: step number; for a seam, the restart arc length [m] (None = from its start)."""

    step: int = 0
    restart_s: float | None = None
    retracted: bool = True


class CellController:
    """Runs welding jobs on a robot driver and a power source.

    Args:
        robot: A connected ``RobotDriver``.
        power: A connected :class:`PowerSource`.
        weld_log: The weld log.
        config: Cell settings.
        kinematics: Robot model for recovery moves and path deviation (``load_robot(traj.robot)``
            when None and the model can be loaded).
        checker: Optional collision checker for the travel part of re-approach moves.
        params: Welding parameters per seam id (None: the power source keeps its settings).
        on_event: Progress callback (called from the worker thread).
    """

    def __init__(
        self,
        robot: Any,
        power: PowerSource,
        weld_log: WeldLog,
        config: CellConfig | None = None,
        *,
        kinematics: Robot | None = None,
        checker: Any | None = None,
        params: Mapping[str, WeldParams] | None = None,
        on_event: Callable[[CellEvent], None] | None = None,
    ) -> None:
        self.port = RobotPort(robot)
        self.power = power
        self.log = weld_log
        self.config = config or CellConfig()
        self.kinematics = kinematics
        self.checker = checker
        self.params = dict(params or {})
        self._on_event = on_event
        self._sm = CellStateMachine(on_change=self._state_changed)
        self._traj: JointTrajectory | None = None
        self._steps: tuple[Step, ...] = ()
        self._job_info: dict[str, str] = {}
        self._job_id: int | None = None
        self._cursor = _Cursor()
        self._worker: threading.Thread | None = None
        self._motion: Motion | None = None
        self._req_pause = threading.Event()
        self._req_estop = threading.Event()
        self._stop_reason = ""
        self._lock = threading.RLock()
        self.traces: list[AttemptTrace] = []
        self.last_error: str = ""

    # --- queries ---------------------------------------------------------------------------------
    @property
    def state(self) -> CellState:
        """Current cell state."""
        return self._sm.state

    @property
    def job_id(self) -> int | None:
        """Weld-log id of the current job."""
        return self._job_id

    @property
    def steps(self) -> tuple[Step, ...]:
        """The loaded trajectory's moves and seam blocks."""
        return self._steps

    @property
    def trajectory(self) -> JointTrajectory | None:
        """The loaded trajectory."""
        return self._traj

    # --- commands --------------------------------------------------------------------------------
    def load(
        self,
        traj: JointTrajectory,
        *,
        program_path: str = "",
        trajectory_path: str = "",
        part_serial: str = "",
    ) -> None:
        """Load a trajectory (IDLE/READY → READY). Validation stamps are checked by the driver."""
        self._sm.check(Command.LOAD)
        self._set_trajectory(traj)
        self._job_info = {"program_path": program_path, "trajectory_path": trajectory_path, "part_serial": part_serial}
        self._sm.apply(Command.LOAD)

    def start(self) -> int:
        """Start the loaded job in a worker thread (READY → RUNNING). Returns the weld-log job id.

        Raises:
            CellStateError: not READY, or an interlock is not healthy.
        """
        self._sm.check(Command.START)
        self._check_interlocks_before("start")
        traj = self._require_traj()
        self._job_id = self.log.start_job(
            program_path=self._job_info.get("program_path", ""),
            program_hash=traj.program_hash,
            trajectory_path=self._job_info.get("trajectory_path", ""),
            trajectory_hash=traj.content_hash(),
            part_serial=self._job_info.get("part_serial", ""),
            robot=traj.robot,
        )
        self._cursor = _Cursor()
        self.traces = []
        self._sm.apply(Command.START)
        self._spawn()
        return self._job_id

    def pause(self) -> None:
        """Ask the running job to stop at once (motion stop; a seam ends with a normal arc end)."""
        self._sm.check(Command.PAUSE)
        self._req_pause.set()

    def resume(self) -> None:
        """Continue an interrupted job (PAUSED → RUNNING)."""
        self._sm.check(Command.RESUME)
        self._check_interlocks_before("resume")
        self.port.ensure_connected()
        if self._job_id is not None:
            self.log.set_job_result(self._job_id, "running")
            self.log.add_event(self._job_id, "resume", "operator resumed the job")
        self._sm.apply(Command.RESUME)
        self._spawn()

    def reset(self) -> CellState:
        """Acknowledge a FAULT or an ESTOP (the e-stop must be released). Returns the new state."""
        self._sm.check(Command.RESET)
        if self.state is CellState.ESTOP:
            self._check_interlocks_before("reset the e-stop")
        self._join_worker()
        try:
            if self.power.status().error:
                self.power.reset_error(timeout=self.config.arc.command_timeout)
        except DriverError as err:  # a dead link is reported again at resume
            log.warning("power source error reset failed: %s", err)
        self._req_estop.clear()
        self._req_pause.clear()
        return self._sm.apply(Command.RESET, job_interrupted=self._job_id is not None)

    def abort(self) -> None:
        """Give up an interrupted job (PAUSED/FAULT → READY); the log keeps it as ``aborted``."""
        self._sm.check(Command.ABORT)
        self._join_worker()
        if self._job_id is not None:
            self.log.end_job(self._job_id, "aborted")
        self._sm.apply(Command.ABORT)
        self._job_id = None

    def estop(self, reason: str = "e-stop pressed") -> None:
        """Emergency stop from any state: robot stop and weld stop now, state ESTOP."""
        self._stop_reason = reason
        self._req_estop.set()
        motion = self._motion
        if motion is not None:
            motion.stop()
        try:
            self.power.stop_weld(timeout=self.config.arc.command_timeout)
        except DriverError as err:
            log.error("weld stop on e-stop failed: %s", err)
        worker = self._worker
        if worker is None or not worker.is_alive():
            self._sm.apply(Command.ESTOP)
            if self._job_id is not None:
                self.log.add_event(self._job_id, "estop", reason)

    def wait(self, timeout: float | None = None) -> CellState:
        """Wait until the worker has stopped (job complete, paused, faulted or e-stopped)."""
        w = self._worker
        if w is not None:
            w.join(timeout)
            if w.is_alive():
                raise CellStateError(f"job still running after {timeout} s")
        return self.state

    def recover_job(self, job_id: int, traj: JointTrajectory, *, trajectory_path: str = "") -> None:
        """Adopt a job a previous process left unfinished (state → PAUSED; then :meth:`resume`).

        Raises:
            CellStateError: the job is finished, or was planned from a different trajectory.
        """
        self._sm.check(Command.RECOVER)
        job = self.log.job(job_id)
        if job.result in ("ok", "aborted"):
            raise CellStateError(f"job {job_id} is already finished ({job.result}); nothing to resume")
        if job.trajectory_hash and job.trajectory_hash != traj.content_hash():
            raise CellStateError(
                f"job {job_id} was welded with another trajectory (hash {job.trajectory_hash[:12]}…); "
                f"load the trajectory the job started with"
            )
        self._set_trajectory(traj)
        self._job_info = {"program_path": job.program_path, "trajectory_path": trajectory_path or job.trajectory_path}
        self.log.mark_interrupted(job_id)
        rp = self.log.resume_point(job_id)
        cursor = _Cursor(step=len(self._steps) - 1, retracted=False)
        for k, st in enumerate(self._steps):
            if isinstance(st, SeamStep) and (st.seam_id, st.segment) not in rp.done_seams:
                if rp.seam_id == st.seam_id and rp.pass_index == st.segment:
                    s_stop = rp.s_stop if rp.s_stop is not None else st.s0
                    cursor = _Cursor(k, max(s_stop - self.config.arc.restart_overlap, st.s0), retracted=False)
                else:
                    cursor = _Cursor(max(k - 1, 0), None, retracted=False)
                break
        self._cursor = cursor
        self._job_id = job_id
        self.log.add_event(job_id, "recover", f"job adopted after an interruption; continues at step {cursor.step}",
                           data={"restart_s": cursor.restart_s, "exact": rp.exact})
        self._sm.apply(Command.RECOVER)

    def close(self) -> None:
        """Stop a running job (as an e-stop would) and wait for the worker."""
        w = self._worker
        if w is not None and w.is_alive():
            self.estop("controller closed")
            w.join(10.0)

    # --- internals: setup -----------------------------------------------------------------------
    def _set_trajectory(self, traj: JointTrajectory) -> None:
        self._steps = job_steps(traj)
        self._traj = traj
        if self.kinematics is None:
            try:
                from weldcell.kinematics import load_robot

                self.kinematics = load_robot(traj.robot)
            except (ImportError, WeldcellError) as err:
                log.warning("no kinematic model for %s (%s): no retract moves, no path deviation", traj.robot, err)

    def _require_traj(self) -> JointTrajectory:
        if self._traj is None:
            raise CellStateError("no trajectory loaded")
        return self._traj

    def _check_interlocks_before(self, what: str) -> None:
        if self.config.interlocks is None:
            return
        st = evaluate_interlocks(self.config.interlocks, self.port.snapshot().digital_inputs)
        if not st.ok:
            raise CellStateError(f"cannot {what}: {', '.join(st.problems())}")

    def _spawn(self) -> None:
        self._req_pause.clear()
        self._worker = threading.Thread(target=self._run, name="weldcell-cell", daemon=True)
        self._worker.start()

    def _join_worker(self) -> None:
        w = self._worker
        if w is not None and w is not threading.current_thread():
            w.join(10.0)

    def _emit(self, kind: str, message: str, seam_id: str | None = None, **data: Any) -> None:
        if self._job_id is not None:
            self.log.add_event(self._job_id, kind, message, seam_id=seam_id, data=dict(data))
        if self._on_event is not None:
            self._on_event(CellEvent(kind, message, seam_id, data))

    def _state_changed(self, old: CellState, new: CellState, command: Command) -> None:
        if self._on_event is not None:
            self._on_event(CellEvent("state", f"{old.name} → {new.name}", None, {"command": command.value}))

    # --- internals: the worker ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while self._cursor.step < len(self._steps):
                step = self._steps[self._cursor.step]
                if isinstance(step, MoveStep):
                    self._run_move(step)
                else:
                    self._run_seam(step)
                self._cursor = _Cursor(self._cursor.step + 1)
            if self._job_id is not None:
                self.log.end_job(self._job_id, "ok")
            self._emit("job_end", "job complete")
            self._sm.apply(Command.COMPLETE)
        except _Interrupt as intr:
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

    def _stop_job(self, command: Command, message: str) -> None:
        self.last_error = message
        if self._job_id is not None:
            self.log.set_job_result(self._job_id, "interrupted")
        self._emit({Command.PAUSE: "paused", Command.ESTOP: "estop"}.get(command, "fault"), message)
        if self.state is not CellState.ESTOP:
            self._sm.apply(command)

    def _safe_arc_off(self) -> None:
        try:
            self.power.stop_weld(timeout=self.config.arc.command_timeout)
        except DriverError as err:
            log.error("weld stop failed: %s", err)

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

    def _execute(self, piece: JointTrajectory, monitor: SeamMonitor | None = None) -> None:
        """Run a slice under supervision; raises _Interrupt / _ArcLost on requests and faults."""
        cfg = self.config
        try:
            motion = self.port.execute(piece)
        except DriverError as err:
            raise _Interrupt(Command.FAULT, f"robot refused the motion: {err}") from err
        self._motion = motion
        deadline = time.monotonic() + piece.duration + cfg.motion_margin
        try:
            while not motion.done():
                time.sleep(cfg.poll_period)
                snap = self.port.snapshot()
                req = self._check_requests(snap.digital_inputs)
                if req is not None:
                    raise _Stop(req, motion.index())
                if monitor is not None:
                    try:
                        st = self.power.status()
                    except DriverError as err:
                        raise _Stop(Command.FAULT, motion.index(), f"power source: {err}") from err
                    s = monitor.observe(motion.index(), snap.q, st)
                    if not st.arc_stable:
                        from weldcell.drivers.powersource.base import ErrorCode

                        why = ErrorCode.describe(st.error_code) if st.error_code else "arc no longer stable"
                        raise _ArcLost(s, f"arc lost at {s * 1e3:.1f} mm ({why})")
                if time.monotonic() > deadline:
                    raise _Stop(Command.FAULT, motion.index(), "robot did not finish the motion in time")
            motion.wait(timeout=cfg.motion_margin)
        except (_Stop, _ArcLost):
            motion.stop()
            raise
        except DriverError as err:
            motion.stop()
            raise _Stop(Command.FAULT, motion.index(), f"robot: {err}") from err

    def _run_move(self, step: MoveStep) -> None:
        traj = self._require_traj()
        q_now = self.port.snapshot().q
        pieces: list[JointTrajectory] = []
        if float(np.max(np.abs(q_now - traj.q[step.i0]))) < 1e-3:
            pieces.append(slice_trajectory(traj, step.i0, step.i1))
        else:
            block = traj.q[step.i0 : step.i1 + 1]
            k = step.i0 + int(np.argmin(np.linalg.norm(block - q_now, axis=1)))
            kin = self.kinematics
            qd_max = kin.qd_max if kin is not None else np.full(q_now.shape, 1.0)
            qdd_max = kin.qdd_max if kin is not None else np.full(q_now.shape, 2.0)
            join = joint_move_samples(q_now, traj.q[k], traj.dt, qd_max, qdd_max,
                                      scale=self.config.moves.joint_speed_scale)
            pieces.append(build_trajectory(traj, join))
            if k < step.i1:
                pieces.append(continue_from(traj, k, step.i1)[0])
        for piece in pieces:
            try:
                self._execute(piece)
            except _Stop as stop:
                self._after_stop_in_move(stop)

    def _after_stop_in_move(self, stop: _Stop) -> None:
        if stop.command is Command.ESTOP:
            raise _Interrupt(Command.ESTOP, self._stop_reason or "e-stop")
        self._wait_stopped()
        if stop.command is Command.PAUSE:
            raise _Interrupt(Command.PAUSE, "paused by the operator")
        raise _Interrupt(Command.FAULT, stop.reason or self._stop_reason)

    def _wait_stopped(self) -> None:
        m = self._motion
        try:
            if m is not None:
                m.wait(timeout=self.config.motion_margin)
        except DriverError as err:
            log.info("motion ended with %s", err)

    def _run_seam(self, step: SeamStep) -> None:
        traj = self._require_traj()
        cfg = self.config
        cur = self._cursor
        if cur.restart_s is None:
            piece = slice_trajectory(traj, step.i0, step.i1)
            index_map = step.i0 + np.arange(piece.n_samples, dtype=np.float64)
        else:
            i_r = index_at_s(traj, step, cur.restart_s)
            self._reapproach(traj.q[i_r], retracted=cur.retracted)
            piece, index_map = continue_from(traj, i_r, step.i1, dwell_samples=step.weld0 - step.i0)
        s_start = float(np.nan_to_num(traj.seam_s[int(index_map[0])], nan=step.s0))
        try:
            arc = strike_arc(
                self.power, cfg.arc, self.params.get(step.seam_id),
                on_retry=lambda n, why: self._emit("arc_retry", f"ignition attempt {n} failed: {why}", step.seam_id),
                abort=self._req_estop.is_set,
            )
        except DriverError as err:
            self._safe_arc_off()
            cur.retracted = False
            if self._req_estop.is_set():
                raise _Interrupt(Command.ESTOP, self._stop_reason) from err
            raise _Interrupt(Command.FAULT, f"seam {step.seam_id}: {err}") from err
        assert self._job_id is not None  # mypy
        record = self.log.start_seam(self._job_id, step.seam_id, s_start=s_start, s_end_planned=step.s1,
                                     pass_index=step.segment)
        self._emit("seam_start", f"seam {step.seam_id}: arc stable after {arc.ignition_time:.2f} s "
                   f"({arc.attempts} attempt(s)), welding from {s_start * 1e3:.1f} mm", step.seam_id,
                   attempts=arc.attempts, s_start=s_start)
        monitor = SeamMonitor(self.log, record, traj, step, index_map, cfg.signal_flush_period)
        try:
            self._execute(piece, monitor)
        except _ArcLost as lost:
            self._seam_interrupted(step, monitor, "arc_loss", lost.s, lost.reason, Command.FAULT, arc_end=True)
        except _Stop as stop:
            s = monitor.s_now if np.isfinite(monitor.s_now) else s_start
            if stop.command is Command.ESTOP:
                self._safe_arc_off()
                self._seam_interrupted(step, monitor, "estop", s, self._stop_reason or "e-stop", Command.ESTOP)
            elif stop.command is Command.PAUSE:
                self._wait_stopped()
                s_end = monitor.seam_s_at(self._motion.index()) if self._motion is not None else s
                self._seam_interrupted(step, monitor, "paused", s_end, "paused by the operator", Command.PAUSE,
                                       arc_end=True)
            else:
                self._safe_arc_off()
                reason = stop.reason or self._stop_reason
                self._seam_interrupted(step, monitor, "fault", s, reason, Command.FAULT)
        try:
            end_arc(self.power, cfg.arc)
        except DriverError as err:
            # the seam is welded to its end; the fault (wire stick, current not stopping) blocks the
            # next motion until an operator has cleared it
            monitor.flush()
            self._finish_seam(monitor, "ok", step.s1, [str(err)])
            self._cursor = _Cursor(self._cursor.step + 1)
            raise _Interrupt(Command.FAULT, f"seam {step.seam_id}: {err}") from err
        monitor.flush()
        self._finish_seam(monitor, "ok", step.s1, [])

    def _finish_seam(self, monitor: SeamMonitor, result: str, s_stop: float, faults: list[str]) -> None:
        dmax, drms = monitor.deviation(self.kinematics)
        self.log.end_seam(monitor.record, result, s_stop=s_stop, faults=faults,
                          deviation_max_m=dmax, deviation_rms_m=drms)
        self.traces.append(monitor.trace())
        self._emit("seam_end", f"seam {monitor.step.seam_id}: {result} at {s_stop * 1e3:.1f} mm",
                   monitor.step.seam_id, result=result, s_stop=s_stop, deviation_max_m=dmax)

    def _seam_interrupted(
        self,
        step: SeamStep,
        monitor: SeamMonitor,
        result: str,
        s_stop: float,
        reason: str,
        command: Command,
        *,
        arc_end: bool = False,
    ) -> None:
        """Record where the arc went out, make the cell safe, retract if possible, and leave the worker."""
        faults = [reason]
        if command is not Command.ESTOP:
            self._wait_stopped()
        if arc_end:
            try:
                end_arc(self.power, self.config.arc)
            except DriverError as err:
                faults.append(str(err))
                self._safe_arc_off()
        monitor.flush()
        self._finish_seam(monitor, result, s_stop, faults)
        cur = self._cursor
        cur.restart_s = max(s_stop - self.config.arc.restart_overlap, step.s0)
        cur.retracted = False
        if command is Command.FAULT and arc_end and len(faults) == 1 and self.kinematics is not None:
            try:
                q_now = self.port.wait_still()
                self._execute(retract_move(self.kinematics, self._require_traj(), q_now,
                                           self.config.retract_distance, self.config.moves))
                cur.retracted = True
            except (_Stop, WeldcellError) as err:
                faults.append(f"retract failed: {err}")
        raise _Interrupt(command, f"seam {step.seam_id}: {'; '.join(faults)}")

    def _reapproach(self, q_target: np.ndarray, *, retracted: bool) -> None:
        if self.kinematics is None:
            raise _Interrupt(Command.FAULT, "cannot restart a seam without a kinematic model of the robot")
        traj = self._require_traj()
        q_now = self.port.snapshot().q
        move = reapproach_move(
            self.kinematics, traj, q_now, q_target,
            retract_distance=0.0 if retracted else self.config.retract_distance,
            approach_distance=self.config.approach_distance, limits=self.config.moves, checker=self.checker,
        )
        try:
            self._execute(move)
        except _Stop as stop:
            self._after_stop_in_move(stop)


class _Stop(Exception):
    """A supervised slice was stopped (request, interlock or driver fault) at slice sample ``index``."""

    def __init__(self, command: Command, index: int, reason: str = "") -> None:
        super().__init__(reason or command.value)
        self.command = command
        self.index = index
        self.reason = reason
