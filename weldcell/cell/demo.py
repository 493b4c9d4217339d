"""Wiring of whole cell runs: ``weldcell demo`` (the virtual cell) and ``weldcell cell run`` (a real one).

:func:`run_demo` starts the virtual UR controller (own process) and the virtual Modbus power source
(own process) on loopback, loads ``programs/demo_tjoint.yaml``, plans it, validates it in simulation
(writing the report and the stamp), and welds it through the UR driver in streaming mode with the
arc controlled over Modbus TCP. :func:`run_job` does the same against real addresses. Both return a
:class:`CellRunResult` and report progress through a callback; neither prints. Child processes are
stopped on return, on error and on KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weldcell.cell.approval import SimApprover
from weldcell.cell.controller import CellConfig, CellController, CellEvent
from weldcell.cell.state import CellState
from weldcell.cell.weldlog import WeldLog
from weldcell.drivers.powersource.base import WeldParams
from weldcell.errors import DriverConnectionError, PlanningError, ProgramError, ValidationError, WeldcellError
from weldcell.resources import data_dir
from weldcell.trajectory import JointTrajectory, load_trajectory, save_trajectory
from weldcell.trajectory.stamp import FROM_ENVIRONMENT, KeySource, StampKey, resolve_stamp_key, verify_stamp

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.drivers.powersource.base import PowerSource
    from weldcell.planning.collision import CollisionChecker
    from weldcell.program.model import Program

log = logging.getLogger(__name__)

DEMO_PROGRAM = data_dir("programs") / "demo_tjoint.yaml"
#: Plans tried when validation rejects one (the planner's randomised search may find a better one).


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress message: ``kind`` is ``stage``, ``state``, ``seam_start``, ``seam_end``, ``fault``, ..."""

    kind: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """Options of :func:`run_demo`.

    Attributes:
        out_dir: Folder for the weld log, validation report, trajectory and stamps.
        view: Open the 3D viewer (``weldcell view``) alongside.
        program: Weld program (default: ``programs/demo_tjoint.yaml``).
        host: Loopback address for the virtual devices.
        part_serial: Serial recorded in the weld log.
        job_timeout: Longest time the job may take [s].
    """

    out_dir: Path = Path("weldcell-demo")
    view: bool = False
    program: Path | None = None
    host: str = "127.0.0.1"
    part_serial: str = "DEMO-0001"
    job_timeout: float = 300.0


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Options of :func:`run_job` (a real cell).

    Attributes:
        job: Weld program (``.yaml``) or a planned trajectory (``.npz``, validated, with its stamp).
        robot_url: ``ur://HOST[:RTDE_PORT]``, or ``virtual`` (an in-process simulated robot).
        powersource_url: ``modbus://HOST:PORT``, or None for a dry run with the arc disabled.
        log_path: Weld log file.
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
    """

    job: Path
    robot_url: str
    powersource_url: str | None
    log_path: Path = Path("weldlog.sqlite")
    out_dir: Path = Path("weldcell-out")
    part_serial: str = ""
    use_power_source_jobs: bool | None = None
    job_timeout: float = 3600.0
    stamp_key: Path | None = None
    config: CellConfig | None = None
    dashboard_port: int | None = None
    script_port: int | None = None
    power_on: bool = False


@dataclass(frozen=True, slots=True)
class CellRunResult:
    """Outcome of a run: final cell state, the weld-log job, and the files written."""

    state: CellState
    message: str
    job_id: int
    log_path: Path
    trajectory_path: Path | None
    report_path: Path | None
    program_path: Path | None


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
    import os

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
def _children_ignore_sigint() -> Iterator[None]:
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
def virtual_power_source_process(host: str, timeout: float = 20.0) -> Iterator[str]:
    """Run the virtual Modbus power source in a child process; yields its ``modbus://`` URL."""
    ctx = mp.get_context("spawn")
    stop, ready = ctx.Event(), ctx.Queue()
    port = _free_port(host)
    proc = ctx.Process(target=_psu_main, args=(host, port, stop, ready), name="virtual-psu", daemon=True)
    with _children_ignore_sigint():
        proc.start()
    try:
        try:
            status, info = ready.get(timeout=timeout)
        except Exception as err:
            raise DriverConnectionError(f"virtual power source did not start within {timeout} s") from err
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
) -> tuple[Any, JointTrajectory, Path, Path]:
    """Load, plan and validate a program; write trajectory, report and stamp into ``out_dir``.

    ``stamp_key`` is the cell's stamp key (None: unkeyed stamp; default ``$WELDCELL_STAMP_KEY``).

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

    program = load_program(program_path)
    stem = program_path.stem
    report_path = out_dir / f"{stem}.validation.json"
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
    traj_path = save_trajectory(traj, out_dir / f"{stem}.traj.npz")
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


def parse_ur_url(url: str) -> tuple[str, int | None]:
    """``ur://HOST[:RTDE_PORT]`` → (host, port or None).

    Raises:
        DriverConnectionError: not a ``ur://`` address.
    """
    from urllib.parse import urlparse

    u = urlparse(url)
    if u.scheme != "ur" or not u.hostname:
        raise DriverConnectionError(f"robot address {url!r} must look like ur://HOST or ur://HOST:PORT")
    try:
        port = u.port
    except ValueError as err:
        raise DriverConnectionError(
            f"robot address {url!r}: expected a port number 1 … 65535 after the host ({err})"
        ) from None
    if port == 0:
        raise DriverConnectionError(f"robot address {url!r}: expected a port number 1 … 65535")
    return u.hostname, port


def connect_ur_robot(
    host: str,
    robot: str,
    *,
    ports: Any | None = None,
    rtde_port: int | None = None,
    power_on: bool = False,
    dashboard_port: int | None = None,
    script_port: int | None = None,
) -> Any:
    """A connected UR driver in streaming mode; arc control stays with the cell (power source)."""
    from weldcell.drivers.ur.driver import URDriver, URDriverConfig

    kw: dict[str, Any] = {"robot": robot, "arc_output": None, "power_on": power_on}
    if ports is not None:
        kw.update(rtde_port=ports.rtde, dashboard_port=ports.dashboard, script_port=ports.secondary)
    else:
        if rtde_port is not None:
            kw["rtde_port"] = rtde_port
        if dashboard_port is not None:
            kw["dashboard_port"] = dashboard_port
        if script_port is not None:
            kw["script_port"] = script_port
    driver = URDriver(host, URDriverConfig(**kw))
    driver.connect(timeout=15.0)
    return driver


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
    log_path: Path,
    out_dir: Path,
    part_serial: str,
    params: dict[str, WeldParams],
    config: CellConfig,
    timeout: float,
    progress: ProgressFn,
    recover_job: int | None = None,
    stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT,
) -> tuple[CellState, str, int]:
    """Run one job on connected devices, or continue the interrupted job ``recover_job`` of the log
    (:meth:`CellController.recover_job`). Returns (final state, message, weld-log job id).

    ``stamp_key`` is the cell's stamp key: the approver and the robot driver check every stamp
    with it, and the approver stamps the cell's own motions with it.
    """
    from weldcell.drivers.powersource.dryrun import ArcDisabled

    key = resolve_stamp_key(stamp_key)
    robot.stamp_key = key
    dry = isinstance(power, ArcDisabled)
    check_arc_off_budget(robot, config)
    approver = SimApprover(program, out_dir / "motions", stamp_key=key)
    with WeldLog(log_path) as wlog:
        ctl = CellController(
            robot,
            power,
            wlog,
            config,
            checker=collision_checker_for(program),
            params=params,
            approver=approver,
            on_event=_event_to_progress(progress),
        )
        try:
            if recover_job is None:
                ctl.load(
                    traj,
                    program_path=str(Path(program.path).resolve()),
                    trajectory_path=str(Path(traj_path).resolve()),
                    part_serial=part_serial or ("DRY RUN" if dry else ""),
                )
                job_id = ctl.start()
                if dry:
                    wlog.add_event(job_id, "dry_run", "arc disabled: dry run, nothing is welded")
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


def run_demo(options: DemoOptions | None = None, progress: ProgressFn | None = None) -> CellRunResult:
    """Run the demo program on the virtual cell (see the module docstring)."""
    from weldcell.drivers.ur.virtual_controller import Ports, start_virtual_controller
    from weldcell.drivers.ur.virtual_core import CoreConfig

    opt = options or DemoOptions()
    if opt.view and sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        # checked before anything starts: the viewer process would fail on its own, after the weld began
        from weldcell.sim.world import SimConnectionError

        raise SimConnectionError(
            "the demo viewer needs an X display (DISPLAY is not set); "
            "run it under xvfb-run, or leave out the viewer"
        )
    say = progress or (lambda p: None)
    out = Path(opt.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    program_path = Path(opt.program) if opt.program else DEMO_PROGRAM
    if not program_path.is_file():
        if opt.program:
            what = "is a folder" if program_path.is_dir() else "not found"
            raise ProgramError(f"{what}; expected a weld program file (.yaml)", file=str(program_path))
        raise ProgramError(
            f"demo program {program_path} not found (the programs/ folder is not installed with this copy "
            "of weldcell); pass a program with --program"
        )
    key = resolve_stamp_key(FROM_ENVIRONMENT)
    program, traj, traj_path, report_path = plan_and_validate(program_path, out, say, stamp_key=key)
    log_path = out / "weldlog.sqlite"
    viewer: subprocess.Popen[bytes] | None = None
    with contextlib.ExitStack() as stack:
        say(Progress("stage", f"starting the virtual UR controller and power source on {opt.host} …"))
        core = CoreConfig(arm=traj.robot, q_home=tuple(float(x) for x in traj.q[0]))
        with _children_ignore_sigint():
            ur = stack.enter_context(
                start_virtual_controller(opt.host, core, ports=Ports(0, 0, 0, 0, 0), log_level=logging.ERROR)
            )
        psu_url = stack.enter_context(virtual_power_source_process(opt.host))
        if opt.view:
            viewer = _start_viewer(traj_path, program_path)
            stack.callback(_stop_viewer, viewer)
        robot = connect_ur_robot(opt.host, traj.robot, ports=ur.ports, power_on=True)
        stack.callback(robot.close)
        power = connect_power_source(psu_url, CellConfig())
        stack.callback(power.close)
        say(Progress("stage", f"robot: ur://{opt.host} (RTDE {ur.ports.rtde}), power source: {psu_url}"))
        state, message, job_id = weld(
            robot=robot,
            power=power,
            program=program,
            traj=traj,
            traj_path=traj_path,
            log_path=log_path,
            out_dir=out,
            part_serial=opt.part_serial,
            params=params_from_program(program, use_jobs=False),
            config=CellConfig(),
            timeout=opt.job_timeout,
            stamp_key=key,
            progress=say,
        )
    return CellRunResult(state, message, job_id, log_path, traj_path, report_path, program_path)


def run_job(options: RunOptions, progress: ProgressFn | None = None) -> CellRunResult:
    """Run a program or validated trajectory on a cell (see the module docstring).

    Without a power source (``powersource_url`` None) the job runs with the arc disabled (a dry run,
    :class:`~weldcell.drivers.powersource.dryrun.ArcDisabled`) through the same controller,
    interlocks, validated moves and weld log. ``robot_url`` ``"virtual"`` runs it on an in-process
    :class:`~weldcell.drivers.virtual.VirtualRobot` standing at the program's first sample.
    """
    from weldcell.drivers.powersource.modbus import parse_modbus_url
    from weldcell.trajectory.stamp import verify_stamp

    # both addresses and the job are checked before the (slow) planning, before the log and the
    # output folder are created, and before anything connects
    virtual = options.robot_url in ("virtual", "virtual://")
    host, port = ("", None) if virtual else parse_ur_url(options.robot_url)
    if options.powersource_url is not None:
        parse_modbus_url(options.powersource_url)
    key = resolve_stamp_key(FROM_ENVIRONMENT if options.stamp_key is None else options.stamp_key)
    check_job_input(Path(options.job), stamp_key=key)
    WeldLog(options.log_path).close()  # a bad log path fails here, before anything connects
    job = Path(options.job)
    planned: tuple[Any, JointTrajectory] | None = None
    if job.suffix.lower() not in (".yaml", ".yml"):
        traj = load_trajectory(job)
        verify_stamp(job, traj, key=key)
        found = program_for(traj, job)
        if found is None:
            raise ValidationError(
                f"{job}: cannot find the weld program it was planned from (hash "
                f"{traj.program_hash[:12]}); run the program .yaml instead"
            )
        planned = (found, traj)
    say = progress or (lambda p: None)
    out = Path(options.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report_path: Path | None = None
    if planned is None:
        program, traj, traj_path, report_path = plan_and_validate(job, out, say, stamp_key=key)
    else:
        program, traj = planned
        traj_path = job
    with contextlib.ExitStack() as stack:
        if virtual:
            from weldcell.drivers.virtual import VirtualRobot

            robot: RobotDriver = VirtualRobot(traj.robot, traj.q[0])
            robot.connect()
        else:
            robot = connect_ur_robot(
                host,
                traj.robot,
                rtde_port=port,
                power_on=options.power_on,
                dashboard_port=options.dashboard_port,
                script_port=options.script_port,
            )
        stack.callback(robot.close)
        config = options.config or CellConfig()
        if options.powersource_url is None:
            from weldcell.drivers.powersource.dryrun import ArcDisabled

            power: PowerSource = ArcDisabled()
            power.connect()
            say(Progress("stage", "no power source: dry run with the arc disabled"))
        else:
            power = connect_power_source(options.powersource_url, config)
        stack.callback(power.close)
        state, message, job_id = weld(
            robot=robot,
            power=power,
            program=program,
            traj=traj,
            traj_path=traj_path,
            log_path=options.log_path,
            out_dir=out,
            part_serial=options.part_serial,
            params=params_from_program(program, use_jobs=options.use_power_source_jobs),
            config=config,
            timeout=options.job_timeout,
            stamp_key=key,
            progress=say,
        )
    return CellRunResult(state, message, job_id, options.log_path, traj_path, report_path, Path(program.path))


def check_job_input(job: Path, *, stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT) -> None:
    """Check that ``job`` is a readable weld program or a stamped trajectory (fast; no planning).

    ``stamp_key``: the cell's stamp key a trajectory's stamp must be signed with (see
    :func:`weldcell.trajectory.stamp.verify_stamp`).

    Raises:
        ProgramError: a program that does not load.
        TrajectoryFormatError: a file that is not a weldcell trajectory.
        StampError: a trajectory without a matching validation stamp.
    """
    from weldcell.program import load_program

    if job.suffix.lower() in (".yaml", ".yml"):
        load_program(job)
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


def _start_viewer(traj_path: Path, program_path: Path) -> subprocess.Popen[bytes]:
    """``weldcell view TRAJ --program PROGRAM`` in its own process (the pybullet GUI)."""
    code = (
        "import sys; from weldcell.cli import main; "
        "sys.argv = ['weldcell', 'view', sys.argv[1], '--program', sys.argv[2], '--no-validate']; main()"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(traj_path), str(program_path)])


def _stop_viewer(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(2.0)
