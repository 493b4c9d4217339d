"""Robot commands: ``weldcell controller ur`` (a virtual UR controller) and ``weldcell run``."""

from __future__ import annotations

import contextlib
import itertools
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from weldcell.cli.common import console
from weldcell.errors import DriverError, WeldcellError

if TYPE_CHECKING:
    from weldcell.kinematics.safety import SafetyLimits

PROGRAM_SUFFIXES = (".yaml", ".yml")

controller_app = typer.Typer(help="Run a virtual robot controller in the foreground.", no_args_is_help=True)


@controller_app.command("ur")
def controller_ur(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to bind (127.0.0.1 or another 127.0.0.N; others need --allow-remote).",
    ),
    allow_remote: bool = typer.Option(
        False,
        "--allow-remote",
        help="Allow a non-loopback --host: anyone on that network can then run URScript and switch outputs.",
    ),
    cb3: bool = typer.Option(
        False, "--cb3", help="Advertise a CB3 controller (3.15, 125 Hz) instead of e-Series."
    ),
    arm: str = typer.Option("", "--arm", help="Arm model (ur3e, ur5e, ur10e, ur16e, ur3, ur5, ur10)."),
    version: str = typer.Option("", "--version", help="Advertised software version, e.g. 5.11.1.108318."),
    power_off: bool = typer.Option(
        False, "--power-off", help="Boot with the arm powered off (as after power-up)."
    ),
    q_home: str = typer.Option(
        "", "--q-home", help="Initial joint positions [rad], six comma-separated numbers."
    ),
    rtde_port: int = typer.Option(30004, "--rtde-port"),
    dashboard_port: int = typer.Option(29999, "--dashboard-port"),
    primary_port: int = typer.Option(30001, "--primary-port"),
    secondary_port: int = typer.Option(30002, "--secondary-port"),
    realtime_port: int = typer.Option(30003, "--realtime-port"),
    program_dir: Path | None = typer.Option(
        None, "--program-dir", help="Folder that dashboard 'load' reads from."
    ),
    arc_loopback: str = typer.Option(
        "", "--arc-loopback", help="DO:DI:DELAY - input DI follows output DO after DELAY s (simulated arc)."
    ),
    safety_config: Path | None = typer.Option(
        None,
        "--safety-config",
        help="YAML file with the safety limits (tool_speed_mm_s, elbow_speed_mm_s, power_w, ...); "
        "default: UR's default safety preset.",
    ),
) -> None:
    """Run a virtual UR controller (RTDE, Dashboard, URScript ports) until Ctrl-C."""
    from weldcell.cli.common import warn_remote
    from weldcell.drivers.bind import check_bind_address
    from weldcell.drivers.ur.virtual_controller import TEST_COMMANDS, Ports, VirtualController
    from weldcell.drivers.ur.virtual_core import CoreConfig

    if check_bind_address(host, allow_remote, "virtual UR controller"):
        warn_remote(host, "virtual UR controller", "run URScript, move the arm and switch its outputs")

    ver = (3, 15, 7, 106331) if cb3 else (5, 11, 1, 108318)
    if version:
        try:
            parts = tuple(int(x) for x in version.split("."))
        except ValueError as err:
            raise WeldcellError(f"--version {version!r}: expected four numbers like 5.11.1.108318") from err
        if len(parts) != 4:
            raise WeldcellError(f"--version {version!r}: expected four numbers like 5.11.1.108318")
        ver = parts
    loop: tuple[int, int, float] | None = None
    if arc_loopback:
        try:
            do, di, delay = arc_loopback.split(":")
            loop = (int(do), int(di), float(delay))
        except ValueError as err:
            raise WeldcellError(
                f"--arc-loopback {arc_loopback!r}: expected DO:DI:DELAY, e.g. 0:0:0.2"
            ) from err
    from weldcell.drivers.ur.models import ARMS

    arm_name = arm or ("ur5" if ver[0] < 5 else "ur5e")
    if arm_name not in ARMS:
        raise WeldcellError(f"--arm {arm_name!r} is not known; choose from {sorted(ARMS)}")
    home = CoreConfig().q_home
    if q_home:
        try:
            home = tuple(float(x) for x in q_home.split(","))
        except ValueError as err:
            raise WeldcellError(f"--q-home {q_home!r}: expected six numbers in rad, comma-separated") from err
        if len(home) != 6:
            raise WeldcellError(f"--q-home {q_home!r}: expected six joint positions, got {len(home)}")
    safety = _load_safety_config(safety_config, arm_name) if safety_config is not None else None
    config = CoreConfig(
        arm=arm_name, version=ver, powered=not power_off, arc_loopback=loop, q_home=home, safety=safety
    )
    ports = Ports(rtde_port, dashboard_port, primary_port, secondary_port, realtime_port)
    vc = VirtualController(host, config, ports, program_dir, allow_remote=allow_remote)
    with vc:
        console.print(
            f"virtual UR controller [bold]{arm_name}[/] (software {'.'.join(map(str, ver))}, "
            f"{round(1 / vc.core.cycle)} Hz) on {host}: RTDE {vc.ports.rtde}, "
            f"dashboard {vc.ports.dashboard}, "
            f"scripts {vc.ports.primary}/{vc.ports.secondary}/{vc.ports.realtime}"
        )
        lim = vc.core.safety.limits
        console.print(
            f"safety configuration: tool {lim.tcp_speed * 1000:.0f} mm/s, "
            f"elbow {lim.elbow_speed * 1000:.0f} mm/s, "
            f"power {lim.power:.0f} W, momentum {lim.momentum:.0f} kg·m/s, stopping time "
            f"{lim.stopping_time * 1000:.0f} ms ({lim.source})"
        )
        console.print("test commands on the dashboard port: " + "; ".join(TEST_COMMANDS))
        console.print("Ctrl-C to stop")
        with contextlib.suppress(KeyboardInterrupt):
            while not vc.wait(0.5):
                pass
    console.print("virtual controller stopped")


def _load_safety_config(path: Path, arm_name: str) -> SafetyLimits:
    """The safety configuration in ``path`` over UR's default preset for ``arm_name``."""
    import yaml

    from weldcell.drivers.ur.models import ARMS
    from weldcell.drivers.ur.virtual_safety import default_for_arm
    from weldcell.kinematics.safety import limits_from_mapping

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise WeldcellError(f"--safety-config {path}: cannot read the file ({err.strerror})") from err
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise WeldcellError(f"--safety-config {path}: not a YAML file ({err})") from err
    limits = limits_from_mapping(data, default_for_arm(ARMS[arm_name]), str(path))  # InvalidValueError
    if limits.joint_speed and len(limits.joint_speed) != 6:
        raise WeldcellError(
            f"{path}: field 'joint_speed_deg_s': expected 6 numbers, got {len(limits.joint_speed)}"
        )
    return limits


def _parse_robot(url: str) -> tuple[str, str, int | None]:
    """('ur' | 'virtual', host, rtde port or None) from ``ur://HOST[:PORT]`` or ``virtual``."""
    if url in ("virtual", "virtual://"):
        return "virtual", "", None
    if not url.startswith("ur://"):
        raise WeldcellError(f"--robot {url!r}: expected ur://HOST (e.g. ur://192.168.0.10) or 'virtual'")
    rest = url[5:].strip("/")
    host, _, port = rest.partition(":")
    if not host:
        raise WeldcellError(f"--robot {url!r}: the host is missing")
    try:
        number = int(port) if port else None
    except ValueError as err:
        raise WeldcellError(f"--robot {url!r}: port {port!r} is not a number") from err
    if number is not None and not 1 <= number <= 65535:
        raise WeldcellError(f"--robot {url!r}: port {number} is outside 1 … 65535")
    return "ur", host, number


def _probe(host: str, port: int, timeout: float = 3.0) -> None:
    """Open and close a TCP connection to the controller's RTDE port, so a wrong address fails fast."""
    import socket

    from weldcell.errors import DriverConnectionError

    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        raise DriverConnectionError(
            f"robot {host}:{port} does not answer ({err.strerror or err}); check the address and that "
            "the controller is on"
        ) from err


def _prepare(source: Path, out_dir: Path | None, key: Any) -> tuple[Any, Path, Any]:
    """(trajectory, trajectory file, program or None) ready to run: a program is planned, validated and
    stamped here; for a trajectory the program it was planned from is looked up (for the start move).

    ``key``: the cell's stamp key (``StampKey`` or None), see :func:`weldcell.trajectory.stamp.verify_stamp`.
    """
    from weldcell.trajectory import load_trajectory
    from weldcell.trajectory.stamp import verify_stamp

    if not source.exists():
        raise WeldcellError(f"{source}: file not found")
    if source.is_dir():
        raise WeldcellError(f"{source}: is a folder; expected a weld program (.yaml) or a trajectory (.npz)")
    if source.suffix.lower() not in PROGRAM_SUFFIXES:
        from weldcell.cell.demo import program_for

        traj = load_trajectory(source)
        verify_stamp(source, traj, key=key)
        return traj, source, program_for(traj, source)
    from weldcell.cell.demo import Progress, plan_and_validate

    folder = out_dir or source.with_name(f"{source.stem}_run")
    folder.mkdir(parents=True, exist_ok=True)

    def say(p: Progress) -> None:
        console.print(p.message, markup=False, highlight=False)

    # the same plan → validate → stamp path as `weldcell demo` and `weldcell cell run`
    program, traj, traj_path, _ = plan_and_validate(source, folder, say, stamp_key=key)
    return traj, traj_path, program


def _move_to_start(driver: Any, traj: Any, traj_path: Path, program: Any, q0: Any, key: Any) -> None:
    """The cell's start move: planned collision-free, within the planning speed limits, with real TCP
    poses, validated in the simulator and stamped before it runs (``weldcell.cell.joinmove``).

    Raises:
        WeldcellError: no program to validate against, no safe move, or validation failed.
    """
    from weldcell.cell.approval import SimApprover
    from weldcell.cell.demo import collision_checker_for
    from weldcell.cell.joinmove import plan_cell_move
    from weldcell.kinematics import load_robot

    if program is None:
        raise WeldcellError(
            f"{traj_path}: the weld program it was planned from is not next to it, so the move to the "
            "start cannot be checked for collisions; run the program .yaml, or jog the robot to the start"
        )
    move = plan_cell_move(load_robot(traj.robot), traj, q0, traj.q[0], collision_checker_for(program))
    approver = SimApprover(program, traj_path.parent / "motions", stamp_key=key)
    try:
        approval = approver.approve(move, "start")
    finally:
        approver.close()
    console.print(f"moving to the start pose: {move.duration:.1f} s, collision-free, validated")
    res = driver.execute(move, traj_path=approval.path).wait_until_done(move.duration + 30.0)
    if res.outcome.value != "completed":
        raise DriverError(f"the move to the start pose did not complete: {res.reason}")


def _slices(traj: Any) -> list[tuple[int, int, str]]:
    """Split at arc switching samples: (start, end, seam id or '' for transit)."""
    welds = {seg.first: seg for seg in traj.arc_segments()}
    cuts = sorted({0, traj.n_samples, *welds, *(seg.last + 1 for seg in welds.values())})
    out = []
    for a, b in itertools.pairwise(cuts):
        end = min(b + 1, traj.n_samples)  # include the boundary sample so slices join at rest
        seg = welds.get(a)
        out.append((a, end, (seg.seam_id or "") if seg is not None else ""))
    return out


def run_cmd(
    source: Path = typer.Argument(..., help="Weld program (.yaml) or validated trajectory (.npz)."),
    robot: str = typer.Option(..., "--robot", "-r", help="ur://HOST[:RTDE_PORT] or 'virtual'."),
    powersource: str | None = typer.Option(
        None,
        "--powersource",
        help="Power source, e.g. modbus://192.168.0.20:502 (stream mode; without it: a dry run with "
        "the arc disabled).",
    ),
    dashboard_port: int = typer.Option(29999, "--dashboard-port", help="Dashboard port of the controller."),
    script_port: int = typer.Option(
        30002, "--script-port", help="URScript port the servo program is sent to."
    ),
    arc_output: int | None = typer.Option(
        None,
        "--arc-output",
        help="Program mode: standard digital output that switches the arc (default 0). Stream mode switches "
        "the arc through the cell's power source.",
    ),
    power_on: bool = typer.Option(False, "--power-on", help="Power on and release brakes via the dashboard."),
    move_to_start: bool = typer.Option(
        False,
        "--move-to-start",
        help="Program mode: move to the start pose first (planned collision-free and validated, like the "
        "cell's start move). Stream mode always does so.",
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for the planned trajectory and the moves the cell plans."
    ),
    mode: str = typer.Option(
        "stream",
        "--mode",
        help="stream: the cell controller streams the job over RTDE (interlocks, weld log); "
        "program: the whole job as one URScript program.",
    ),
    db: Path = typer.Option(Path("weldlog.sqlite"), "--db", help="Weld log file (SQLite), stream mode."),
    cell_config: Path | None = typer.Option(
        None, "--cell-config", help="Cell configuration YAML (see docs/cell.md), stream mode."
    ),
    part_serial: str = typer.Option("", "--part", help="Serial number of the part (stream mode)."),
    stamp_key: Path | None = typer.Option(
        None,
        "--stamp-key",
        help="The cell's stamp key file: refuse stamps not signed with it "
        "(default: $WELDCELL_STAMP_KEY, else unkeyed stamps).",
    ),
) -> None:
    """Execute a program or trajectory on a robot; one result per seam.

    Stream mode runs the job through the cell controller (``weldcell cell run``: validated start and
    recovery moves, interlocks, weld log); without --powersource the arc is disabled (a dry run).
    """
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, resolve_stamp_key

    kind, host, rtde_port = _parse_robot(robot)
    key = resolve_stamp_key(FROM_ENVIRONMENT if stamp_key is None else stamp_key)
    if mode not in ("stream", "program"):
        raise WeldcellError(f"--mode {mode!r}: expected 'stream' or 'program'")
    if mode == "program" and kind != "ur":
        raise WeldcellError("--mode program runs a URScript program: it needs a UR robot (--robot ur://HOST)")
    if arc_output is not None and not 0 <= arc_output <= 7:
        raise WeldcellError(f"--arc-output {arc_output}: expected a standard digital output 0 … 7")
    if mode == "stream" and arc_output is not None:
        raise WeldcellError(
            "--arc-output is for --mode program; in stream mode the cell switches the arc through its "
            "power source (--powersource modbus://HOST:PORT), or runs a dry run without one"
        )
    if mode == "program" and powersource is not None:
        raise WeldcellError(
            "--powersource is for stream mode; --mode program switches the arc with --arc-output"
        )
    if kind == "ur":
        from weldcell.drivers.ur.driver import URDriverConfig

        # checks the ports before a program is planned (which takes a while)
        URDriverConfig(
            rtde_port=rtde_port or 30004,
            dashboard_port=dashboard_port,
            script_port=script_port,
            arc_output=arc_output if arc_output is not None else 0,
        )
    if source.is_file() and source.suffix.lower() not in PROGRAM_SUFFIXES:
        from weldcell.cell.demo import check_job_input

        check_job_input(source, stamp_key=key)  # a trajectory's stamp is checked before anything connects
    if kind == "ur" and source.is_file():
        _probe(host, rtde_port or 30004)  # an unreachable robot is reported before the slow planning
    if mode == "stream":
        ports = (dashboard_port, script_port)
        _run_stream(source, robot, powersource, ports, power_on, out, db, cell_config, part_serial, stamp_key)
        return
    ports3 = (rtde_port, dashboard_port, script_port)
    _run_program_mode(source, host, ports3, arc_output or 0, power_on, move_to_start, out, key)


def _run_stream(
    source: Path,
    robot: str,
    powersource: str | None,
    ports: tuple[int, int],
    power_on: bool,
    out: Path | None,
    db: Path,
    cell_config: Path | None,
    part_serial: str,
    stamp_key: Path | None,
) -> None:
    """Stream mode: the job through the cell controller (arc disabled without a power source)."""
    from weldcell.cell.demo import RunOptions, check_job_input, run_job
    from weldcell.cli.cell import (
        _cell_setup,
        _finish,
        _log_to_file,
        _progress_printer,
        _sigterm_as_interrupt,
    )
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, resolve_stamp_key

    setup = _cell_setup(cell_config)
    if not source.exists():
        raise WeldcellError(f"{source}: file not found")
    if source.is_dir():
        raise WeldcellError(f"{source}: is a folder; expected a weld program (.yaml) or a trajectory (.npz)")
    check_job_input(source, stamp_key=resolve_stamp_key(FROM_ENVIRONMENT if stamp_key is None else stamp_key))
    folder = out or source.with_name(f"{source.stem}_run")
    _sigterm_as_interrupt()
    _log_to_file(folder / "weldcell.log")
    res = run_job(
        RunOptions(
            job=source,
            robot_url=robot,
            powersource_url=powersource,
            log_path=db,
            out_dir=folder,
            part_serial=part_serial,
            use_power_source_jobs=setup.use_jobs,
            config=setup.config,
            dashboard_port=ports[0],
            script_port=ports[1],
            power_on=power_on,
            stamp_key=stamp_key,
        ),
        progress=_progress_printer(),
    )
    _finish(res)


def _run_program_mode(
    source: Path,
    host: str,
    ports: tuple[int | None, int, int],
    arc_output: int,
    power_on: bool,
    move_to_start: bool,
    out: Path | None,
    key: Any,
) -> None:
    """Program mode: the whole trajectory as one URScript program on the UR controller.

    ``ports``: RTDE (None: default), Dashboard and script port.
    """
    rtde_port, dashboard_port, script_port = ports
    import numpy as np
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from weldcell.drivers.base import ExecutionOutcome
    from weldcell.drivers.ur.driver import URDriver, URDriverConfig

    traj, traj_path, program = _prepare(source, out, key)
    cfg = URDriverConfig(
        robot=traj.robot,
        rtde_port=rtde_port or 30004,
        dashboard_port=dashboard_port,
        script_port=script_port,
        arc_output=arc_output,
        power_on=power_on,
    )
    driver: Any = URDriver(host, cfg)
    driver.stamp_key = key
    rows: list[tuple[str, str, str]] = []
    with driver:
        q0 = driver.state().q
        if move_to_start and float(np.max(np.abs(q0 - traj.q[0]))) > 1e-3:
            _move_to_start(driver, traj, Path(traj_path), program, q0, key)
            q0 = driver.state().q
        if float(np.max(np.abs(q0 - traj.q[0]))) > 1e-3:
            raise DriverError(
                f"the robot is not at the trajectory's start (largest joint deviation "
                f"{float(np.max(np.abs(q0 - traj.q[0]))):.3f} rad); jog it there or pass --move-to-start"
            )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("running", total=traj.n_samples - 1, info="")
            rows = _run_program(driver, traj, traj_path, arc_output, bar, task)
    table = Table(title="result per seam")
    for col in ("seam", "outcome", "reached"):
        table.add_column(col)
    for r in rows:
        table.add_row(*r)
    console.print(table)
    if any(r[1] != ExecutionOutcome.COMPLETED.value for r in rows) or (not rows and traj.arc_on.any()):
        raise typer.Exit(code=1)


def _run_program(
    driver: Any, traj: Any, traj_path: Path, arc_output: int, bar: Any, task: Any
) -> list[tuple[str, str, str]]:
    """Run the whole trajectory as one URScript program (``--mode program``); rows per seam."""
    import numpy as np

    from weldcell.drivers.base import ExecutionOutcome
    from weldcell.drivers.ur.export import UrExportOptions

    arc_input = driver.config.arc_established_input
    opt = UrExportOptions(arc_do=arc_output, arc_di=arc_input if arc_input is not None else 0)
    h = driver.execute_program(traj, traj_path=traj_path, options=opt)
    while not h.done:
        p = h.progress
        bar.update(task, completed=p.index, info=f"URScript program, t = {p.t:.2f} s")
        time.sleep(0.05)
    res = h.result
    assert res is not None  # mypy
    bar.update(task, completed=res.reached_index)
    rows = []
    for a, b, seam in _slices(traj):
        if not seam:
            continue
        if res.outcome is ExecutionOutcome.COMPLETED or res.reached_index >= b - 1:
            outcome = ExecutionOutcome.COMPLETED.value
        elif res.reached_index >= a:
            outcome = res.outcome.value
        else:
            outcome = "not started"
        s_done = traj.seam_s[a : min(res.reached_index, b - 1) + 1]
        s_done = s_done[np.isfinite(s_done)]
        rows.append((seam, outcome, f"{s_done.max() * 1e3:.0f} mm" if s_done.size else "-"))
    if res.outcome is not ExecutionOutcome.COMPLETED:
        bar.stop()
        console.print(f"[bold red]program {res.outcome.value}[/] at sample {res.reached_index}: {res.reason}")
    return rows


def register(app: typer.Typer) -> None:
    """Add ``controller`` (group) and ``run`` to ``app``."""
    app.add_typer(controller_app, name="controller")
    app.command("run")(run_cmd)
