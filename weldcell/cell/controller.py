"""The cell controller: runs a planned, validated trajectory as a welding job on a robot and a power source.

Sequence per job: (robot to the first sample) → for each arc-on block of the trajectory: transit and
approach (arc off) → arc start handshake (the robot does not move before *arc stable* and *motion
release*; no ignition → retries, then FAULT) → weld with process-signal sampling into the weld log →
crater fill → arc off (wire-stick check) → retract / transit → … → home.

Faults and operator actions (all recorded in the weld log, one commit per seam event):

* arc loss mid-seam → stop motion, arc off, record the seam arc length where the arc went out,
  retract; state FAULT. After :meth:`~CellController.reset` and :meth:`~CellController.resume` the
  torch re-approaches and the seam restarts ``ArcProcedure.restart_overlap`` before that point, on
  the planned path.
* operator :meth:`~CellController.pause` → motion stops (on a seam: normal arc end and retract);
  ``resume`` continues.
* e-stop (:meth:`~CellController.estop` or the e-stop input) → robot stop and weld stop at once;
  state ESTOP.
* power-source link lost, robot connection dropped, protective stop, door / light curtain → FAULT.
* the process dies → the log is intact; a new controller adopts the job with
  :meth:`~CellController.recover_job`.

The job runs in one worker thread; command methods may be called from any thread. Nothing here
prints: progress goes to the ``on_event`` callback and to the weld log.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from weldcell.cell.approval import MotionApprover
from weldcell.cell.jobtypes import CellConfig, CellEvent, Cursor, ProgramMode
from weldcell.cell.live import LiveSample
from weldcell.cell.positioner_sync import SYNC_EVENT, PositionerSync, PositionerSyncConfig
from weldcell.cell.programjob import ProgramJobRunner
from weldcell.cell.segments import MoveStep, SeamStep, Step, job_steps
from weldcell.cell.state import CellState, Command, evaluate_interlocks
from weldcell.cell.weldlog import WeldLog
from weldcell.drivers.powersource.base import PowerSource, WeldParams
from weldcell.errors import CellStateError, DriverError, WeldcellError
from weldcell.trajectory import JointTrajectory
from weldcell.trajectory.stamp import stamp_path

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.drivers.positioner import PositionerPort
    from weldcell.kinematics import Robot
    from weldcell.planning.collision import CollisionChecker

log = logging.getLogger(__name__)

__all__ = ["CellConfig", "CellController", "CellEvent"]


def stamp_digest(trajectory_path: str | Path) -> str:
    """SHA-256 of the validation stamp file next to ``trajectory_path`` ("" when there is none).

    The weld log records it with the job: the stamp names the validation report, models and key
    the trajectory was validated with (docs/weld-log.md).
    """
    if not trajectory_path:
        return ""
    sp = stamp_path(trajectory_path)
    try:
        return hashlib.sha256(sp.read_bytes()).hexdigest()
    except OSError:
        return ""


class CellController(ProgramJobRunner):
    """Runs welding jobs on a robot driver and a power source.

    Args:
        robot: A connected ``weldcell.drivers.base.RobotDriver``.
        power: A connected :class:`~weldcell.drivers.powersource.PowerSource`.
        weld_log: The weld log.
        config: Cell settings.
        approver: Validates (and stamps) every motion before it goes to the robot:
            :class:`~weldcell.cell.approval.SimApprover` for real cells,
            :class:`~weldcell.cell.approval.SimulationOnly` for virtual robots.
        kinematics: Robot model for recovery moves and path deviation (``load_robot(traj.robot)``
            when None).
        checker: Optional ``CollisionChecker`` for the travel part of re-approach moves.
        params: Welding parameters per seam id (None: the power source keeps its settings).
        on_event: Progress callback (called from the worker thread; keep it short).
        program_mode: Run each job as one controller program (UR program mode,
            :mod:`weldcell.cell.programjob`) instead of streaming it; None: stream mode.
        positioner: A connected positioner device (``PositionerPort``) streamed in sync with the
            robot (:mod:`weldcell.cell.positioner_sync`); required exactly for trajectories with
            external axes.
        positioner_sync: Stream settings (cycle, lag tolerance).
        on_sample: Receives the live values of every poll (:mod:`weldcell.cell.live`; called from
            the worker thread: it must only store them).
    """

    def __init__(
        self,
        robot: RobotDriver,
        power: PowerSource,
        weld_log: WeldLog,
        config: CellConfig | None = None,
        *,
        approver: MotionApprover,
        kinematics: Robot | None = None,
        checker: CollisionChecker | None = None,
        params: Mapping[str, WeldParams] | None = None,
        on_event: Callable[[CellEvent], None] | None = None,
        program_mode: ProgramMode | None = None,
        positioner: PositionerPort | None = None,
        positioner_sync: PositionerSyncConfig | None = None,
        on_sample: Callable[[LiveSample], None] | None = None,
    ) -> None:
        super().__init__(robot, power, weld_log, config, approver, kinematics, checker, params, on_event)
        self.on_sample = on_sample
        self.program_mode = program_mode
        self._positioner_port = positioner
        self._positioner_config = positioner_sync
        if program_mode is not None and not self.port.supports_programs():
            raise CellStateError(
                f"program mode runs the job as one controller program; the robot driver "
                f"{type(robot).__name__} cannot (use stream mode)"
            )
        self._job_info: dict[str, str] = {}
        self._worker: threading.Thread | None = None
        self._idle = threading.Event()  # set while no worker runs
        self._idle.set()

    # --- queries ---------------------------------------------------------------------------------
    @property
    def state(self) -> CellState:
        """Current cell state."""
        return self._sm.state

    @property
    def job_id(self) -> int | None:
        """Weld-log id of the current job (None when no job is loaded or it was aborted)."""
        return self._job_id

    @property
    def steps(self) -> tuple[Step, ...]:
        """The loaded trajectory's arc-off moves and arc-on seam blocks."""
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
        trajectory_path: str | Path | None = None,
        part_serial: str = "",
    ) -> None:
        """Load a trajectory (IDLE/READY → READY).

        Args:
            traj: The planned trajectory.
            program_path: Program file (recorded in the log).
            trajectory_path: The trajectory file; its validation stamp is checked now.
            part_serial: Part serial number (recorded in the log).

        Raises:
            CellStateError: not IDLE/READY.
            StampError: the trajectory has no matching validation stamp.
        """
        self._sm.check(Command.LOAD)
        self._set_trajectory(traj, trajectory_path)
        self._job_info = {
            "program_path": program_path,
            "trajectory_path": str(trajectory_path or ""),
            "part_serial": part_serial,
        }
        self._sm.apply(Command.LOAD)

    def start(self) -> int:
        """Start the loaded job in a worker thread (READY → RUNNING). Returns the weld-log job id.

        When the robot does not stand at the trajectory's first sample, the move onto the job's path
        is planned (collision-free, within the planning speed limits) and validated now, before the
        job is recorded: a start that is unsafe to reach is refused with the reason.

        Raises:
            CellStateError: not READY, or an interlock is not healthy.
            StartMoveError: no safe move from where the robot stands (names the colliding bodies).
            ValidationError: the move onto the path failed validation in the simulator.
        """
        self._sm.check(Command.START)
        self._check_interlocks_before("start")
        traj = self._require_traj()
        self._configure_power_source()
        self._start_positioner()
        self._prepare_start()
        self._job_id = self.log.start_job(
            program_path=self._job_info.get("program_path", ""),
            program_hash=traj.program_hash,
            trajectory_path=self._job_info.get("trajectory_path", ""),
            trajectory_hash=traj.content_hash(),
            part_serial=self._job_info.get("part_serial", ""),
            robot=traj.robot,
            trace=self.trace,
            validation_stamp=stamp_digest(self._job_info.get("trajectory_path", "")),
        )
        self._cursor = Cursor()
        self.traces = []
        self._sm.apply(Command.START)
        self._emit(
            "job_start",
            f"job {self._job_id} started: {len(self._seam_steps())} arc-on segment(s)",
            job_id=self._job_id,
            program=self._job_info.get("program_path", ""),
            part_serial=self._job_info.get("part_serial", ""),
            segments=len(self._seam_steps()),
        )
        self._spawn()
        return self._job_id

    def pause(self) -> None:
        """Ask the running job to stop now (motion stop; on a seam a normal arc end and a retract)."""
        self._sm.check(Command.PAUSE)
        self._req_pause.set()

    def resume(self) -> None:
        """Continue an interrupted job (PAUSED → RUNNING)."""
        self._sm.check(Command.RESUME)
        self._join_worker()
        self.port.ensure_connected()
        self._check_interlocks_before("resume")
        self._configure_power_source()
        self._start_positioner()
        if self._job_id is not None:
            self.log.set_job_result(self._job_id, "running")
        self._sm.apply(Command.RESUME)
        self._emit(
            "resume",
            f"job resumed at step {self._cursor.step}"
            + (
                f", seam restart at {self._cursor.restart_s * 1e3:.1f} mm"
                if self._cursor.restart_s is not None
                else ""
            ),
        )
        self._spawn()

    def reset(self) -> CellState:
        """Acknowledge a FAULT or an ESTOP (the e-stop input must be released). Returns the new state."""
        self._sm.check(Command.RESET)
        self._join_worker()
        if self.state is CellState.ESTOP:
            self._check_interlocks_before("reset the e-stop")
        try:
            if self.power.status().error:
                self.power.reset_error(timeout=self.config.arc.command_timeout)
        except DriverError as err:  # a dead link shows again at resume
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
        """Emergency stop from any state: robot stop and weld stop now; state ESTOP."""
        self._stop_reason = reason
        self._req_estop.set()
        motion = self._motion
        if motion is not None:
            try:
                motion.stop()
            except DriverError as err:  # link already down: the controller has stopped the arm
                log.error("robot stop on e-stop failed: %s", err)
        self._safe_arc_off()
        running = not self._idle.is_set()
        self._sm.apply(Command.ESTOP)  # the worker, if any, stops at its next check and logs the seam
        if not running and self._job_id is not None:
            self.log.add_event(self._job_id, "estop", reason)

    def wait(self, timeout: float | None = None) -> CellState:
        """Wait until the worker has stopped (job complete, paused, faulted or e-stopped).

        Raises:
            CellStateError: still running after ``timeout`` [s].
        """
        # an Event, not Thread.join: a join interrupted by Ctrl-C can leave the thread looking dead
        # (CPython 3.11) and the cleanup would then skip the safe stop
        if not self._idle.wait(timeout):
            raise CellStateError(f"job still running after {timeout} s")
        return self.state

    def recover_job(
        self, job_id: int, traj: JointTrajectory, *, trajectory_path: str | Path | None = None
    ) -> None:
        """Adopt a job a previous process left unfinished (IDLE/READY → PAUSED; then :meth:`resume`).

        Seams the log records as welded are skipped; the seam in progress restarts at its last
        recorded position minus the programmed overlap.

        Raises:
            CellStateError: the job is finished, or was welded with a different trajectory.
        """
        self._sm.check(Command.RECOVER)
        job = self.log.job(job_id)
        if job.result in ("ok", "aborted"):
            raise CellStateError(f"job {job_id} is already finished ({job.result}); nothing to resume")
        if job.trajectory_hash and job.trajectory_hash != traj.content_hash():
            raise CellStateError(
                f"job {job_id} was welded with another trajectory (hash {job.trajectory_hash[:12]}…); "
                "load the trajectory the job started with"
            )
        path = trajectory_path if trajectory_path is not None else (job.trajectory_path or None)
        self._set_trajectory(traj, path)
        self._job_info = {
            "program_path": job.program_path,
            "trajectory_path": str(path or ""),
            "part_serial": job.part_serial,
        }
        self.log.mark_interrupted(job_id)
        rp = self.log.resume_point(job_id)
        cursor = Cursor(step=len(self._steps) - 1, retracted=False)
        for k, st in enumerate(self._steps):
            if isinstance(st, SeamStep) and (st.seam_id, st.segment) not in rp.done_seams:
                if rp.seam_id == st.seam_id and rp.pass_index == st.segment:
                    s_stop = rp.s_stop if rp.s_stop is not None else st.s0
                    cursor = Cursor(k, st.back_off(s_stop, self.config.arc.restart_overlap), retracted=False)
                else:
                    cursor = Cursor(max(k - 1, 0), None, retracted=False)
                break
        self._cursor = cursor
        self._job_id = job_id
        self._emit(
            "recover",
            f"job {job_id} adopted after an interruption; continues at step {cursor.step}",
            restart_s=cursor.restart_s,
            exact=rp.exact,
            job_id=job_id,
        )
        self._sm.apply(Command.RECOVER)

    def close(self, timeout: float = 30.0) -> None:
        """Stop a running job (as an e-stop would) and wait up to ``timeout`` [s] for the worker."""
        if not self._idle.is_set():
            self.estop("controller closed")
            deadline = time.monotonic() + timeout
            while not self._idle.is_set() and time.monotonic() < deadline:
                try:
                    self._idle.wait(0.1)
                except KeyboardInterrupt:  # a second Ctrl-C must not skip the safe stop and the log
                    log.warning("stopping the cell safely; please wait")
            if not self._idle.is_set():
                log.error("cell worker still running %.0f s after the stop request", timeout)

    # --- internals -------------------------------------------------------------------------------
    def _seam_steps(self) -> list[SeamStep]:
        return [s for s in self._steps if isinstance(s, SeamStep)]

    def _set_positioner(self, traj: JointTrajectory) -> None:
        """The positioner stream for ``traj``: refuse external axes without a matching device, and a
        device without external axes to drive."""
        ext = traj.external
        port = self._positioner_port
        if ext is None:
            if port is not None:
                raise CellStateError(
                    "the trajectory has no external axes: the positioner would stay wherever it stands; "
                    "load a trajectory planned with the positioner, or run without one"
                )
            self.positioner = None
            return
        if port is None:
            raise CellStateError(
                f"the trajectory moves {ext.role} {ext.device!r} (axes {', '.join(ext.names)}) with the "
                "robot but the cell has no positioner: give one (weldcell cell run --positioner "
                "modbus-positioner://HOST:PORT)"
            )
        if self.program_mode is not None:
            raise CellStateError(
                f"the trajectory moves {ext.role} {ext.device!r}: program mode runs the robot alone; "
                "coordinated motion needs the streaming driver (--mode stream)"
            )
        self.positioner = PositionerSync(port, ext, self._positioner_config)

    def _start_positioner(self) -> None:
        if self.positioner is not None:
            self.positioner.start()

    def _set_trajectory(self, traj: JointTrajectory, path: str | Path | None) -> None:
        self._set_positioner(traj)
        steps = job_steps(traj)
        self._main = self.approver.approve_main(traj, Path(path) if path else None)
        self._steps = steps
        self._traj = traj
        if self.kinematics is None:
            try:
                from weldcell.kinematics import load_robot

                self.kinematics = load_robot(traj.robot)
            except WeldcellError as err:
                log.warning(
                    "no kinematic model for %s (%s): no retract moves, no path deviation", traj.robot, err
                )

    def _configure_power_source(self) -> None:
        """Set the power source's own communication timeout (``CellConfig.power_source_comm_timeout``)."""
        t = self.config.power_source_comm_timeout
        if t is not None:
            self.power.set_comm_timeout(t, timeout=self.config.arc.command_timeout)

    def _prepare_start(self) -> None:
        """Plan and validate the move from the robot's position onto the first arc-off step."""
        self._pending_join = None
        traj = self._require_traj()
        first = self._steps[0] if self._steps else None
        q_now = self.port.snapshot().q
        if not isinstance(first, MoveStep) or float(np.max(np.abs(q_now - traj.q[first.i0]))) < 1e-3:
            return
        k, move = self.plan_join(first, q_now, nearest=False)
        self._pending_join = (k, move, self.approver.approve(move, "start"))
        self._emit(
            "start_move",
            f"robot is {float(np.max(np.abs(q_now - traj.q[k]))):.3f} rad from the job's path: "
            f"validated start move of {move.duration:.1f} s onto sample {k}",
        )

    def _check_interlocks_before(self, what: str) -> None:
        if self.config.interlocks is None:
            return
        st = evaluate_interlocks(self.config.interlocks, self.port.snapshot().digital_inputs)
        if not st.ok:
            raise CellStateError(f"cannot {what}: {', '.join(st.problems())}")

    def _spawn(self) -> None:
        self._req_pause.clear()
        self._idle.clear()
        self._worker = threading.Thread(target=self._run_worker, name="weldcell-cell", daemon=True)
        self._worker.start()

    def _run_worker(self) -> None:
        try:
            self._run()
        finally:
            self._end_positioner()
            self._idle.set()

    def _end_positioner(self) -> None:
        """Disable the positioner (brakes on) and record the job's synchronisation figures."""
        sync = self.positioner
        if sync is None:
            return
        sync.close()
        stats = sync.job_stats()
        if stats is not None:
            self._emit(SYNC_EVENT, "job " + stats.describe(), None, **stats.as_dict())

    def _join_worker(self) -> None:
        if threading.current_thread() is not self._worker:
            self._idle.wait(10.0)
