"""Wiring of whole cell runs: ``weldcell cell run`` (:func:`run_job`) and the pieces ``weldcell demo``
(:mod:`weldcell.app.demo`, the virtual cells) composes.

:func:`plan_and_validate` plans a program and validates it in simulation (report and stamp);
:func:`weld` runs one job through the cell controller on connected devices;
:func:`virtual_power_source_process` runs the virtual Modbus power source in its own process.
:func:`run_job` plans (or loads) a job and welds it against real addresses. Robot addresses go
through the driver registry (:func:`check_robot_url`,
:func:`connect_cell_robot`): ``ur://``, ``kuka-rsi://``, ``fanuc://``, ``virtual`` or a plug-in's
scheme. Both return a :class:`CellRunResult` and report progress through a callback; neither prints.
Child processes are stopped on return, on error and on KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weldcell.cell.approval import MotionApprover, SimApprover, StampOnly
from weldcell.cell.calibrated import check_trajectory_tcp, load_program_for_cell
from weldcell.cell.cellconfig import CellSetup
from weldcell.cell.controller import CellConfig, CellController, CellEvent
from weldcell.cell.jobtypes import ProgramArc, ProgramMode
from weldcell.cell.positioner_cell import (
    check_positioner_option,
    connect_cell_positioner,
    sync_figures,
)
from weldcell.cell.state import CellState
from weldcell.cell.weldlog import JobTrace, WeldLog
from weldcell.drivers.controller_process import wait_until_ready
from weldcell.drivers.powersource.base import WeldParams
from weldcell.errors import (
    DriverConnectionError,
    DriverError,
    PlanningError,
    ProgramError,
    ValidationError,
    WeldcellError,
)
from weldcell.resources import data_dir
from weldcell.trajectory import JointTrajectory, load_trajectory, save_trajectory
from weldcell.trajectory.stamp import FROM_ENVIRONMENT, KeySource, StampKey, resolve_stamp_key, verify_stamp

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.drivers.positioner import PositionerPort
    from weldcell.drivers.powersource.base import PowerSource
    from weldcell.planning.collision import CollisionChecker
    from weldcell.program.model import Program

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.drivers.registry import RobotUrl

log = logging.getLogger(__name__)

DEMO_PROGRAM = data_dir("programs") / "demo_tjoint.yaml"


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress message: ``kind`` is ``stage``, ``state``, ``seam_start``, ``seam_end``, ``fault``, ..."""

    kind: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Options of :func:`run_job` (a real cell).

    Attributes:
        job: Weld program (``.yaml``) or a planned trajectory (``.npz``, validated, with its stamp).
        robot_url: Robot address for the driver registry: ``ur://HOST[:RTDE_PORT]``,
            ``kuka-rsi://BIND_HOST:PORT``, ``fanuc://HOST[:PORT]`` or ``virtual`` (an in-process
            simulated robot); see :func:`connect_cell_robot`.
        powersource_url: ``modbus://HOST:PORT``, or None for a dry run with the arc disabled.
        log_path: Weld log: a file, ``sqlite:///PATH`` or ``postgresql://…``.
        trace: Cell, operator, consumable batches and WPS recorded with the job (see :class:`JobTrace`).
        out_dir: Folder for the planned trajectory, report and motion stamps.
        part_serial: Serial recorded in the weld log.
        use_power_source_jobs: True: select the procedure's stored job number on the power source;
            False: send wire feed and voltage (parameter mode); None: parameters when the procedure
            has them, else its job (see :func:`params_from_program`).
        job_timeout: Longest time the job may take [s].
        stamp_key: The cell's stamp key file: the job's stamp must be signed with it and the cell
            stamps its own motions with it (None: ``$WELDCELL_STAMP_KEY`` if set, else unkeyed).
        config: Cell settings (interlocks, arc, power-source timeout; ``--cell-config``).
        dashboard_port: UR dashboard port (None: the driver's default).
        script_port: UR port the servo program is sent to (None: the driver's default).
        power_on: Power on and release the brakes through the dashboard at connect.
        connect_timeout: Longest wait for the robot at connect [s] (None: 15 s; RSI
            :data:`RSI_CONNECT_TIMEOUT`, the operator starts the KRL program).
        program_mode: Run the job as one controller program (UR program mode, see
            :mod:`weldcell.cell.programjob`) under the same supervision and weld log; False: stream it.
        arc_output: Program mode only: the power source is wired to the robot, the arc on this digital
            output and "arc established" on ``arc_input`` (None: the arc goes through
            ``powersource_url``, or a dry run without one).
        arc_input: Program mode: robot digital input "arc established" (with ``arc_output``).
        positioner_url: The positioner streamed with the robot (``modbus-positioner://HOST:PORT``);
            required exactly when the trajectory has external axes.
        opcua: Publish the cell over OPC UA on this ``opc.tcp://HOST:PORT`` endpoint (None: no server).
        cell_setup: The loaded cell configuration whose calibration the job uses: a program's bodies
            may name its ``calibration.frames`` and its ``calibration.tcp_xyz_mm`` replaces the torch
            model's TCP for planning, validation and execution; a planned trajectory must have been
            planned with that TCP (:mod:`weldcell.cell.calibrated`). None: no calibration.
    """

    job: Path
    robot_url: str
    powersource_url: str | None
    log_path: Path | str = Path("weldlog.sqlite")
    trace: JobTrace = field(default_factory=JobTrace)
    out_dir: Path = Path("weldcell-out")
    part_serial: str = ""
    use_power_source_jobs: bool | None = None
    job_timeout: float = 3600.0
    stamp_key: Path | None = None
    config: CellConfig | None = None
    dashboard_port: int | None = None
    script_port: int | None = None
    power_on: bool = False
    connect_timeout: float | None = None
    program_mode: bool = False
    arc_output: int | None = None
    arc_input: int = 0
    positioner_url: str | None = None
    opcua: str | None = None
    cell_setup: CellSetup | None = None

    def program(self) -> ProgramMode | None:
        """The cell's program mode for these options (None: stream mode)."""
        if not self.program_mode:
            return None
        if self.powersource_url is not None:
            return ProgramMode(ProgramArc.FIELDBUS)
        if self.arc_output is not None:
            return ProgramMode(ProgramArc.ROBOT_IO, self.arc_output, self.arc_input)
        return ProgramMode(ProgramArc.DRY_RUN)


@dataclass(frozen=True, slots=True)
class CellRunResult:
    """Outcome of a run: final cell state, the weld-log job, and the files written."""

    state: CellState
    message: str
    job_id: int
    log_path: Path | str
    trajectory_path: Path | None
    report_path: Path | None
    program_path: Path | None
    #: The positioner's synchronisation figures (skew in ms, lag), None without a positioner.
    positioner_sync: dict[str, Any] | None = None


def params_from_program(program: Program, *, use_jobs: bool | None) -> dict[str, WeldParams]:
    """Welding parameters per seam id from the program's procedures.

    Args:
        program: ``weldcell.program.Program``.
        use_jobs: True: select the procedure's stored power-source job (a procedure without a job
            number sends its parameters); False: send wire feed [m/s], voltage [V] and current [A]
            in parameter mode (job 0); None (default of the CLI): send the parameters when the
            procedure has them, else select its job. A job number only works when that job is
            stored on the power source; the parameters work on any power source.

    Raises:
        ProgramError: a procedure that has neither parameters nor a job number.
    """
    out: dict[str, WeldParams] = {}
    for seam in program.seams:
        proc = program.procedures[seam.procedure]
        has_values = any(v for v in (proc.wire_feed, proc.voltage, proc.current))
        job = bool(proc.job) and (use_jobs is True or (use_jobs is None and not has_values))
        if job and proc.job is not None:
            out[seam.id] = WeldParams(job=int(proc.job))
        elif has_values:
            out[seam.id] = WeldParams(
                wire_feed=float(proc.wire_feed or 0.0),
                voltage=float(proc.voltage or 0.0),
                current=float(proc.current or 0.0),
            )
        else:
            raise ProgramError(
                f"procedure {seam.procedure!r} (seam {seam.id!r}) has no wire feed, voltage or current to "
                "send in parameter mode; give them, or a job number and --use-jobs",
                file=str(getattr(program, "path", "")),
            )
    return out


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _psu_main(host: str, port: int, stop: Any, ready: Any) -> None:
    """Child process: the virtual power source until ``stop`` is set or the parent dies."""

    from weldcell.drivers.powersource.virtual import start_virtual_power_source

    parent = os.getppid()

    try:
        handle = start_virtual_power_source(host, port)
    except WeldcellError as err:
        ready.put(("error", str(err)))
        return
    ready.put(("ok", handle.address[1]))
    try:
        while not stop.wait(0.1) and handle.running and os.getppid() == parent:
            pass
    finally:
        handle.stop()


@contextlib.contextmanager
def children_ignore_sigint() -> Iterator[None]:
    """Start child processes with SIGINT ignored: Ctrl-C reaches the whole process group, but the
    children must stay up until the cell has stopped the robot and the arc; the parent stops them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def virtual_power_source_process(host: str, timeout: float = 120.0) -> Iterator[str]:
    """Run the virtual Modbus power source in a child process; yields its ``modbus://`` URL.

    ``timeout`` [s] bounds its start-up (generous: a spawned child's imports take tens of seconds
    on a loaded machine; a child that dies is reported at once).
    """
    ctx = mp.get_context("spawn")
    stop, ready = ctx.Event(), ctx.Queue()
    port = _free_port(host)
    proc = ctx.Process(target=_psu_main, args=(host, port, stop, ready), name="virtual-psu", daemon=True)
    with children_ignore_sigint():
        proc.start()
    try:
        status, info = wait_until_ready(proc, ready, timeout, "virtual power source")
        if status != "ok":
            raise DriverConnectionError(f"virtual power source failed to start: {info}")
        yield f"modbus://{host}:{info}"
    finally:
        stop.set()
        proc.join(5.0)
        if proc.is_alive():
            proc.kill()
            proc.join(2.0)


def plan_and_validate(
    program_path: Path,
    out_dir: Path,
    progress: ProgressFn,
    *,
    stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT,
    program: Program | None = None,
) -> tuple[Any, JointTrajectory, Path, Path]:
    """Load, plan and validate a program; write trajectory, report and stamp into ``out_dir``.

    ``stamp_key`` is the cell's stamp key (None: unkeyed stamp; default ``$WELDCELL_STAMP_KEY``).
    ``program``: an already loaded (e.g. touch-corrected) program to plan instead of loading
    ``program_path`` (which then only names it).

    Returns:
        (program, trajectory, trajectory path, report path).

    Raises:
        PlanningError: planning failed (the reason names the seam).
        ValidationError: the plan failed validation (the report is still written).
    """
    from weldcell.planning import plan_program
    from weldcell.program import load_program
    from weldcell.sim import validate_trajectory
    from weldcell.sim.stamping import write_validation_stamp

    if program is None:
        program = load_program(program_path)
    report_path = out_dir / "validation.json"
    # Planning is deterministic (same program, same trajectory), so a plan the simulator rejects
    # is reported, not planned again.
    progress(Progress("stage", f"planning {program_path.name}: {len(program.seams)} seam(s) …"))
    t0 = time.monotonic()
    stage = [""]

    def planner_stage(fraction: float, message: str) -> None:  # one line per planner stage
        if message != stage[0]:
            stage[0] = message
            progress(Progress("plan", f"  planning {fraction:4.0%} {message}", {"fraction": fraction}))

    plan = plan_program(program, progress=planner_stage)
    if plan.trajectory is None:
        raise PlanningError(f"planning {program_path.name} failed: {plan.reason}")
    traj = plan.trajectory
    progress(
        Progress(
            "stage",
            f"planned in {time.monotonic() - t0:.1f} s: {traj.duration:.1f} s of motion, "
            f"{traj.n_samples} samples at {1 / traj.dt:.0f} Hz",
        )
    )
    traj_path = save_trajectory(traj, out_dir / "trajectory.npz")
    t0 = time.monotonic()
    report = validate_trajectory(traj, program)
    report_path.write_text(report.to_json())
    if not report.passed:
        first = report.violations[0].message() if report.violations else ""
        raise ValidationError(
            f"{program_path.name}: validation found {len(report.violations)} violation(s): "
            f"{first} (report: {report_path})"
        )
    write_validation_stamp(report, traj_path, key=stamp_key)
    progress(
        Progress("stage", f"validated in simulation in {time.monotonic() - t0:.1f} s: passed, stamp written")
    )
    return program, traj, traj_path, report_path


#: Connection timeout [s] when the robot must come to the driver: an RSI robot sends its first
#: telegram only when the operator starts the KRL program (the drivers say so themselves:
#: ``default_connect_timeout``; kept for code that imports it).
RSI_CONNECT_TIMEOUT = 60.0


def check_robot_url(url: str) -> RobotUrl:
    """Parse and check a robot address (fast; nothing connects): the scheme must have a driver in the
    registry (:mod:`weldcell.drivers.registry`), and the driver checks the rest (``check_url``: a host
    where one is needed, its query settings).

    ``virtual`` is short for ``virtual://`` (an in-process simulated robot).

    Raises:
        DriverError: no ``SCHEME://``, an unknown scheme (the message lists the known ones), or what
            the driver finds wrong (a missing host, a bad port, a bad setting in the query).
    """
    from weldcell.drivers.registry import check_url_settings, driver_table, parse_robot_url, url_forms

    parsed = parse_robot_url("virtual://" if url == "virtual" else url)
    table = driver_table()
    if parsed.scheme not in table:
        raise DriverError(
            f"robot address {url!r}: no driver for scheme {parsed.scheme!r}; expected "
            f"{', '.join(url_forms())} or virtual (known schemes: {', '.join(sorted(table))})"
        )
    try:
        check_url_settings(parsed)  # the driver's own checks (host, host to bind, query, settings)
    except DriverError as err:
        text = str(err)
        raise DriverError(text if url in text else f"robot address {url!r}: {text}") from err
    return parsed


def connect_cell_robot(
    url: str,
    robot: str,
    *,
    q0: Any | None = None,
    timeout: float | None = None,
    **settings: Any,
) -> RobotDriver:
    """A connected robot driver for the cell, built by the driver registry from ``url``.

    The driver decides its options (``cell_options``, see
    :func:`weldcell.drivers.registry.cell_driver_options`) from the job's robot model and the cell's
    connection settings, taking what applies to it: ``q0`` (a virtual robot's start), ``power_on``,
    ``dashboard_port``, ``script_port`` (a UR controller's dashboard and script ports), ... The
    vendors' drivers describe their addresses and how their arc command follows the trajectory's arc
    flags (docs/drivers.md).

    Args:
        url: Robot address (``SCHEME://HOST[:PORT][?…]`` of a registered driver, or ``virtual``).
        robot: The weldcell robot model the trajectory was planned for (``traj.robot``).
        q0: Joint positions [rad] of a virtual robot, shape (n,).
        timeout: Connection timeout [s] (None: the driver's ``default_connect_timeout``, else 15 s).
        **settings: More connection settings (None: the driver's default).

    Raises:
        DriverError: a bad address, a model in the address that is not the trajectory's robot, or a
            connection that failed (``DriverConnectionError`` / ``DriverTimeoutError``).
    """
    from weldcell.drivers.registry import cell_driver_options, connect_robot, default_connect_timeout

    parsed = check_robot_url(url)
    opts = cell_driver_options(parsed, robot, {"q0": q0, **settings})
    wait = default_connect_timeout(parsed.scheme, 15.0) if timeout is None else timeout
    return connect_robot(parsed.url, timeout=wait, **opts)


def connect_power_source(url: str, config: CellConfig) -> Any:
    """A connected Modbus power source whose heartbeat is fast enough for the communication timeout
    the cell sets on it (``CellConfig.power_source_comm_timeout``: at least five toggles per timeout)."""
    from weldcell.drivers.powersource.modbus import ModbusOptions, ModbusPowerSource

    t = config.power_source_comm_timeout
    options = ModbusOptions()
    if t is not None and t > 0:
        options = ModbusOptions(
            heartbeat_period=min(options.heartbeat_period, t / 5),
            poll_period=min(options.poll_period, t / 5),
        )
    power = ModbusPowerSource.from_url(url, options)
    power.connect()
    return power


def arc_off_budget(robot: RobotDriver) -> float | None:
    """Time [s] after the PC dies until the UR robot stops: its servo program's PC watchdog
    (``1 / watchdog_hz``), or earlier when the streamed look-ahead runs out (None: unknown driver)."""
    cfg = getattr(robot, "config", None)
    hz = getattr(cfg, "watchdog_hz", None)
    if not hz:
        return None
    lookahead = getattr(cfg, "lookahead", None)
    return min(1.0 / float(hz), float(lookahead)) if lookahead else 1.0 / float(hz)


def check_arc_off_budget(robot: RobotDriver, config: CellConfig) -> None:
    """The power source's communication timeout must end the arc before the robot stops when the PC
    dies (:func:`arc_off_budget`).

    Raises:
        CellConfigError: the timeout is not shorter than the budget.
    """
    from weldcell.cell.cellconfig import CellConfigError

    budget = arc_off_budget(robot)
    t = config.power_source_comm_timeout
    if budget is not None and t is not None and not 0 < t < budget:
        raise CellConfigError(
            f"power_source.comm_timeout_s = {t:g} s: when the PC dies the robot stops after {budget:g} s "
            f"(its watchdog / streamed look-ahead); the power source must end the arc sooner, so the "
            f"timeout must be > 0 and < {budget:g} s"
        )


def _event_to_progress(progress: ProgressFn) -> Callable[[CellEvent], None]:
    def relay(ev: CellEvent) -> None:
        progress(Progress(ev.kind, ev.message, dict(ev.data)))

    return relay


def weld(
    *,
    robot: RobotDriver,
    power: PowerSource,
    program: Program,
    traj: JointTrajectory,
    traj_path: Path,
    log_path: Path | str,
    out_dir: Path,
    part_serial: str,
    params: dict[str, WeldParams],
    config: CellConfig,
    timeout: float,
    progress: ProgressFn,
    recover_job: int | None = None,
    stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT,
    program_mode: ProgramMode | None = None,
    positioner: PositionerPort | None = None,
    trace: JobTrace | None = None,
    opcua: str | None = None,
    approver: MotionApprover | None = None,
) -> tuple[CellState, str, int]:
    """Run one job on connected devices, or continue the interrupted job ``recover_job`` of the log
    (:meth:`CellController.recover_job`). Returns (final state, message, weld-log job id).

    ``stamp_key`` is the cell's stamp key: the approver and the robot driver check every stamp
    with it, and the approver stamps the cell's own motions with it. ``program_mode``: run the job
    as one controller program (None: stream it). ``program`` may be None only in program mode: the
    job then runs from where it was planned to start, and the cell validates no move of its own.
    ``positioner``: the connected positioner streamed with the robot (trajectories with external axes).
    ``opcua``: publish the cell over OPC UA on this ``opc.tcp://`` endpoint while the job runs
    (:mod:`weldcell.cell.opcua`).
    ``approver``: the job's motion approver, built before the robot connected (see
    :func:`prebuilt_approver`); None: built here. Either way it is closed when the job ends.
    """
    from weldcell.drivers.powersource.dryrun import ArcDisabled

    key = resolve_stamp_key(stamp_key)
    robot.stamp_key = key
    dry = isinstance(power, ArcDisabled) and (program_mode is None or program_mode.arc is ProgramArc.DRY_RUN)
    check_arc_off_budget(robot, config)
    if approver is None:
        if program is not None:
            approver = SimApprover(program, out_dir / "motions", stamp_key=key)
        elif program_mode is not None:
            approver = StampOnly(
                f"the weld program {Path(traj_path).name} was planned from is not next to it (the "
                "simulator needs its cell); run the program .yaml, or jog the robot to the job's start",
                stamp_key=key,
            )
        else:
            raise ValidationError(f"{traj_path}: the weld program it was planned from is needed to run it")
    with contextlib.ExitStack() as plant, WeldLog(log_path) as wlog:
        on_event = _event_to_progress(progress)
        on_sample = None
        if opcua is not None:
            from weldcell.cell.opcua import OpcUaCellServer

            server = plant.enter_context(OpcUaCellServer(opcua, traj.robot, traj.joint_names))
            relay = on_event

            def on_event(ev: CellEvent) -> None:
                server.on_event(ev)
                relay(ev)

            on_sample = server.on_sample
            progress(Progress("stage", f"OPC UA: publishing the cell on {opcua}"))
        ctl = CellController(
            robot,
            power,
            wlog,
            config,
            checker=collision_checker_for(program) if program is not None else None,
            params=params,
            approver=approver,
            on_event=on_event,
            program_mode=program_mode,
            positioner=positioner,
            on_sample=on_sample,
        )
        ctl.trace = trace_for_program(program, trace or JobTrace())
        try:
            if recover_job is None:
                ctl.load(
                    traj,
                    program_path=str(Path(program.path).resolve()) if program is not None else "",
                    trajectory_path=str(Path(traj_path).resolve()),
                    part_serial=part_serial or ("DRY RUN" if dry else ""),
                )
                job_id = ctl.start()
                if dry:
                    wlog.add_event(job_id, "dry_run", "arc disabled: dry run, nothing is welded")
                if program_mode is not None:
                    wlog.add_event(
                        job_id,
                        "program_mode",
                        f"the job runs as one controller program (arc: {program_mode.arc.value})",
                        data={"arc": program_mode.arc.value},
                    )
                progress(Progress("stage", f"welding job {job_id} …"))
            else:
                ctl.recover_job(recover_job, traj, trajectory_path=traj_path)
                job_id = recover_job
                ctl.resume()
                progress(Progress("stage", f"resuming job {job_id} …"))
            state = ctl.wait(timeout)
            return state, ctl.last_error or "job complete", job_id
        except KeyboardInterrupt:
            ctl.estop("operator interrupt (Ctrl-C)")
            raise
        finally:
            ctl.close()
            approver.close()


def trace_for_program(program: Program | None, trace: JobTrace) -> JobTrace:
    """``trace`` with the WPS of each seam: the name of its procedure in the program.

    A seam's procedure is the program's record of its WPS (docs/weld-log.md); ``trace.wps_id`` (the
    ``--wps`` option) names the WPS of seams without a program (a trajectory run in program mode).
    """
    if program is None:
        return trace
    by_seam = tuple((s.id, s.procedure) for s in program.seams)
    return dataclasses.replace(trace, wps_by_seam=by_seam)


def prebuilt_approver(
    program: Program | None, out_dir: Path, stamp_key: StampKey | None
) -> MotionApprover | None:
    """The job's :class:`SimApprover`, to build *before* the robot connects (None: none to prebuild).

    Building its pybullet scene (URDFs, meshes) holds the GIL for 0.1 s unloaded and for seconds on a
    loaded machine (1.9 s measured at load 13): a streaming driver already connected cannot answer
    its controller meanwhile (a FANUC then coasts and drops "motion possible"). Programs with touch
    patterns get theirs after touch sensing (their part pose changes the scene).
    """
    if program is None or program.touch:
        return None
    return SimApprover(program, out_dir / "motions", stamp_key=stamp_key)


def collision_checker_for(program: Program) -> CollisionChecker | None:
    """The capsule collision checker of the program's cell, for planning re-approach moves."""
    try:
        from weldcell.kinematics import load_robot, load_torch
        from weldcell.planning import CapsuleCollisionChecker

        cell = program.cell
        return CapsuleCollisionChecker(load_robot(cell.robot), load_torch(cell.torch), cell)
    except WeldcellError as err:
        log.warning("no collision checker for re-approach planning (%s)", err)
        return None


def run_job(options: RunOptions, progress: ProgressFn | None = None) -> CellRunResult:
    """Run a program or validated trajectory on a cell (see the module docstring).

    The robot driver comes from the driver registry (:func:`connect_cell_robot`): ``ur://``,
    ``kuka-rsi://`` or any registered scheme. Without a power source (``powersource_url`` None) the
    job runs with the arc disabled (a dry run,
    :class:`~weldcell.drivers.powersource.dryrun.ArcDisabled`) through the same controller,
    interlocks, validated moves and weld log. ``robot_url`` ``"virtual"`` runs it on an in-process
    :class:`~weldcell.drivers.virtual.VirtualRobot` standing at the program's first sample.
    """
    from weldcell.drivers.powersource.modbus import parse_modbus_url
    from weldcell.drivers.registry import (
        default_connect_timeout,
        program_mode_needs,
        runs_programs,
        waiting_for,
    )
    from weldcell.trajectory.stamp import verify_stamp

    # both addresses and the job are checked before the (slow) planning, before the log and the
    # output folder are created, and before anything connects
    robot_url = check_robot_url(options.robot_url)
    program_mode = options.program()
    if program_mode is not None and not runs_programs(robot_url.scheme):
        raise DriverConnectionError(
            f"program mode runs the job as one program on the controller: {program_mode_needs()}, not "
            f"{options.robot_url!r}; stream the job instead (--mode stream)"
        )
    if program_mode is None and options.arc_output is not None:
        raise WeldcellError(
            "an arc output on the robot is for program mode; in stream mode the cell switches the arc "
            "through its power source"
        )
    if options.arc_output is not None and options.powersource_url is not None:
        raise WeldcellError(
            "give either a power source (the cell switches the arc) or a robot arc output (the program "
            "switches it), not both"
        )
    if options.powersource_url is not None:
        parse_modbus_url(options.powersource_url)
    if options.opcua is not None:
        from weldcell.cell.opcua import check_opcua_endpoint

        check_opcua_endpoint(options.opcua)
    key = resolve_stamp_key(FROM_ENVIRONMENT if options.stamp_key is None else options.stamp_key)
    check_job_input(Path(options.job), stamp_key=key, setup=options.cell_setup)
    WeldLog(options.log_path).close()  # a bad log path fails here, before anything connects
    job = Path(options.job)
    say = progress or (lambda p: None)
    loaded: Program | None = None
    if job.suffix.lower() in (".yaml", ".yml"):
        loaded, use = load_program_for_cell(job, options.cell_setup)  # frames resolved, TCP applied
        for line in use.lines():
            say(Progress("stage", line))
    if loaded is not None and loaded.touch and (program_mode is not None or options.powersource_url is None):
        raise WeldcellError(
            f"{job}: the program has touch patterns; they need a power source with touch sensing "
            "(--powersource modbus://…) and stream mode (docs/touch-and-calibration.md)"
        )
    planned: tuple[Any, JointTrajectory] | None = None
    if job.suffix.lower() not in (".yaml", ".yml"):
        traj = load_trajectory(job)
        verify_stamp(job, traj, key=key)
        check_trajectory_tcp(traj, options.cell_setup, str(job))
        check_positioner_option(traj, options.positioner_url, str(job))
        found = program_for(traj, job)
        if found is None and program_mode is None:
            raise ValidationError(
                f"{job}: cannot find the weld program it was planned from (hash "
                f"{traj.program_hash[:12]}); run the program .yaml instead"
            )
        planned = (found, traj)
    out = Path(options.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report_path: Path | None = None
    if planned is None:
        program, traj, traj_path, report_path = plan_and_validate(
            job, out, say, stamp_key=key, program=loaded
        )
        check_positioner_option(traj, options.positioner_url, str(job))
    else:
        program, traj = planned
        traj_path = job
    with contextlib.ExitStack() as stack:
        approver = prebuilt_approver(program, out, key)
        if approver is not None:
            stack.callback(approver.close)  # idempotent: weld() closes it too
        hint = waiting_for(robot_url)
        if hint is not None:
            wait = options.connect_timeout
            if wait is None:
                wait = default_connect_timeout(robot_url.scheme, 15.0)
            say(Progress("stage", f"waiting up to {wait:g} s for {hint} …"))
        robot = connect_cell_robot(
            robot_url.url,
            traj.robot,
            q0=traj.q[0],
            timeout=options.connect_timeout,
            power_on=options.power_on,
            dashboard_port=options.dashboard_port,
            script_port=options.script_port,
        )
        stack.callback(robot.close)
        say(Progress("stage", f"robot connected: {robot_url.url} ({type(robot).__name__}, {traj.robot})"))
        config = options.config or CellConfig()
        if options.powersource_url is None:
            from weldcell.drivers.powersource.dryrun import ArcDisabled

            power: PowerSource = ArcDisabled()
            power.connect()
            if program_mode is not None and program_mode.arc is ProgramArc.ROBOT_IO:
                say(
                    Progress(
                        "stage",
                        f"power source on the robot's I/O: arc on DO {program_mode.arc_output}, "
                        f"arc established on DI {program_mode.arc_input}",
                    )
                )
            else:
                say(Progress("stage", "no power source: dry run with the arc disabled"))
        else:
            power = connect_power_source(options.powersource_url, config)
        stack.callback(power.close)
        positioner = None
        if traj.external is not None and options.positioner_url is not None:
            positioner = connect_cell_positioner(options.positioner_url, traj.external)
            stack.callback(positioner.close)
            say(Progress("stage", f"{traj.external.role} connected: {options.positioner_url}"))
        if program is not None and program.touch:  # locate the parts first (docs/touch-and-calibration.md)
            from weldcell.cell.touch import locate_parts, program_with_part_pose, record_part_offsets

            robot.stamp_key = key
            say(Progress("stage", f"touch sensing: {len(program.touch)} pattern(s) …"))
            regs = locate_parts(
                robot,
                power,
                program,
                out / "touch_motions",
                stamp_key=key,
                checker_for=collision_checker_for,
                say=lambda m: say(Progress("touch", m)),
            )
            program = program_with_part_pose(program, regs)
            program, traj, traj_path, report_path = plan_and_validate(
                job, out, say, stamp_key=key, program=program
            )
        else:
            regs = ()
        state, message, job_id = weld(
            robot=robot,
            power=power,
            program=program,
            traj=traj,
            traj_path=traj_path,
            log_path=options.log_path,
            out_dir=out,
            part_serial=options.part_serial,
            params=params_from_program(program, use_jobs=options.use_power_source_jobs)
            if program is not None
            else {},
            config=config,
            timeout=options.job_timeout,
            stamp_key=key,
            progress=say,
            program_mode=program_mode,
            positioner=positioner,
            trace=options.trace,
            opcua=options.opcua,
            approver=approver,
        )
        if regs:
            record_part_offsets(options.log_path, job_id, regs)
        end_robot_session(robot, options.log_path, job_id, say)
    return CellRunResult(
        state,
        message,
        job_id,
        options.log_path,
        traj_path,
        report_path,
        Path(program.path) if program is not None else None,
        sync_figures(options.log_path, job_id),
    )


def end_robot_session(robot: Any, log_path: Path | str, job_id: int, say: ProgressFn) -> None:
    """End the robot's streaming session after the job, if its driver has one (KUKA RSI: Stop=1, so the
    KRL program runs RSI_OFF and ends instead of breaking off with RSITimeout), and record how it ended
    in the job's weld log (event ``rsi_session_end``) and the progress. Other drivers: nothing to do."""
    end_session = getattr(robot, "end_session", None)
    if end_session is None or not robot.connected:
        return
    end = end_session()
    data = {
        "ended": end.ended,
        "stop_replies": end.stop_replies,
        "waited_s": round(end.waited, 3),
        "message": end.message,
    }
    with WeldLog(log_path) as wlog:
        wlog.add_event(job_id, "rsi_session_end", end.message, data=data)
    say(Progress("stage" if end.ended else "fault", end.message, data))


def check_job_input(
    job: Path,
    *,
    stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT,
    setup: CellSetup | None = None,
) -> None:
    """Check that ``job`` is a readable weld program or a stamped trajectory (fast; no planning).

    ``stamp_key``: the cell's stamp key a trajectory's stamp must be signed with (see
    :func:`weldcell.trajectory.stamp.verify_stamp`). ``setup``: the cell configuration whose
    calibrated frames the program may name.

    Raises:
        ProgramError: a program that does not load.
        TrajectoryFormatError: a file that is not a weldcell trajectory.
        StampError: a trajectory without a matching validation stamp.
    """
    if job.suffix.lower() in (".yaml", ".yml"):
        load_program_for_cell(job, setup)
    else:
        verify_stamp(job, load_trajectory(job), key=stamp_key)


def program_for(traj: JointTrajectory, traj_path: Path) -> Any | None:
    """The loaded program next to the trajectory (or in programs/) whose hash the trajectory records."""
    import hashlib

    from weldcell.program import load_program

    for folder in (traj_path.parent, DEMO_PROGRAM.parent):
        for p in sorted(folder.glob("*.y*ml")):
            if hashlib.sha256(p.read_bytes()).hexdigest() == traj.program_hash:
                return load_program(p)
    return None


#: Names that moved to :mod:`weldcell.app.demo` (the composition root of ``weldcell demo``), still
#: importable from here for code written before the move. Resolved on first use, so that
#: ``weldcell.cell`` itself never imports the layer above it.
_MOVED_TO_APP = ("DEMO_PROGRAMS", "DemoOptions", "run_demo")


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_APP:
        import importlib

        return getattr(importlib.import_module("weldcell.app.demo"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
