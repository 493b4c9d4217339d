"""Robot commands: ``weldcell controller ur`` (a virtual UR controller) and ``weldcell run``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from weldcell.cli.common import console, default_out_dir
from weldcell.errors import WeldcellError

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
    from weldcell.drivers.realtime import configure_thread
    from weldcell.drivers.ur.virtual_controller import (
        CYCLE_PRIORITY,
        SERVER_PRIORITY,
        TEST_COMMANDS,
        Ports,
        VirtualController,
    )
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
    # this process is the controller's own: real-time cycle and server threads, as in the process
    # that start_virtual_controller() spawns (no driver shares its GIL)
    vc = VirtualController(
        host,
        config,
        ports,
        program_dir,
        allow_remote=allow_remote,
        cycle_priority=CYCLE_PRIORITY,
        server_priority=SERVER_PRIORITY,
    )
    configure_thread(SERVER_PRIORITY)  # the waiting main thread, too (it wakes every 0.5 s)
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
    """(scheme, host, port or None) of a robot address, checked against the driver registry
    (``ur://HOST[:RTDE_PORT]``, ``kuka-rsi://BIND_HOST:PORT``, ``virtual``, plug-in schemes).

    Raises:
        DriverError: an unknown scheme (the message lists the known ones) or a malformed address.
    """
    from weldcell.cell.demo import check_robot_url

    parsed = check_robot_url(url)
    return parsed.scheme, parsed.host, parsed.port


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


def run_cmd(
    source: Path = typer.Argument(..., help="Weld program (.yaml) or validated trajectory (.npz)."),
    robot: str = typer.Option(
        ..., "--robot", "-r", help="ur://HOST[:RTDE_PORT], kuka-rsi://BIND_HOST:PORT or 'virtual'."
    ),
    powersource: str | None = typer.Option(
        None,
        "--powersource",
        help="Power source, e.g. modbus://192.168.0.20:502 (without it, and in program mode without "
        "--arc-output: a dry run with the arc disabled).",
    ),
    dashboard_port: int = typer.Option(29999, "--dashboard-port", help="Dashboard port of the controller."),
    script_port: int = typer.Option(
        30002, "--script-port", help="URScript port the servo program is sent to."
    ),
    arc_output: int | None = typer.Option(
        None,
        "--arc-output",
        help="Program mode with the power source wired to the robot: the program switches the arc on "
        "this standard digital output (arc established on digital input 0). Stream mode, and program "
        "mode with --powersource, switch the arc through the cell's power source.",
    ),
    power_on: bool = typer.Option(False, "--power-on", help="Power on and release brakes via the dashboard."),
    move_to_start: bool = typer.Option(
        False,
        "--move-to-start",
        help="Kept for compatibility: both modes always make the cell's start move (planned "
        "collision-free and validated) when the robot is not at the start.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Folder for the planned trajectory and the cell's moves (default: ./weldcell-out/<name>/).",
    ),
    mode: str = typer.Option(
        "stream",
        "--mode",
        help="stream: the cell streams the job over RTDE; program: the controller runs the whole job as "
        "one URScript program. Both run through the cell: start move, interlocks, weld log.",
    ),
    db: str = typer.Option(
        "weldlog.sqlite",
        "--db",
        help="Weld log: a SQLite file, sqlite:///PATH, or postgresql://USER:PASSWORD@HOST[:PORT]/DB.",
    ),
    cell_config: Path | None = typer.Option(
        None, "--cell-config", help="Cell configuration YAML (see docs/cell.md)."
    ),
    part_serial: str = typer.Option("", "--part", help="Serial number of the part."),
    stamp_key: Path | None = typer.Option(
        None,
        "--stamp-key",
        help="The cell's stamp key file: refuse stamps not signed with it "
        "(default: $WELDCELL_STAMP_KEY, else unkeyed stamps).",
    ),
) -> None:
    """Execute a program or trajectory on a robot; one result per seam.

    Both modes run the job through the cell controller (``weldcell cell run``: validated start and
    recovery moves, interlocks, weld log); without --powersource (and, in program mode, without
    --arc-output) the arc is disabled (a dry run).
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
    if powersource is not None and arc_output is not None:
        raise WeldcellError(
            "--powersource and --arc-output both switch the arc: give the power source (the cell switches "
            "it) or the robot output it is wired to (the job program switches it), not both"
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
    del move_to_start  # the cell always makes its validated start move
    ports = (dashboard_port, script_port)
    _run_cell(
        source,
        robot,
        powersource,
        ports,
        power_on,
        out,
        db,
        cell_config,
        part_serial,
        stamp_key,
        (mode == "program", arc_output),
    )


def _run_cell(
    source: Path,
    robot: str,
    powersource: str | None,
    ports: tuple[int, int],
    power_on: bool,
    out: Path | None,
    db: str,
    cell_config: Path | None,
    part_serial: str,
    stamp_key: Path | None,
    program: tuple[bool, int | None],
) -> None:
    """The job through the cell controller, streamed or as one program (``program``: (program mode,
    robot arc output)); the arc is disabled without a power source or robot arc output."""
    import socket

    from weldcell.cell.demo import RunOptions, check_job_input, run_job
    from weldcell.cell.weldlog import JobTrace
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
    folder = out or default_out_dir(source)
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
            trace=JobTrace(cell_id=socket.gethostname()),
            use_power_source_jobs=setup.use_jobs,
            config=setup.config,
            dashboard_port=ports[0],
            script_port=ports[1],
            power_on=power_on,
            stamp_key=stamp_key,
            program_mode=program[0],
            arc_output=program[1],
        ),
        progress=_progress_printer(),
    )
    _finish(res)


def register(app: typer.Typer) -> None:
    """Add ``controller`` (group) and ``run`` to ``app``."""
    app.add_typer(controller_app, name="controller")
    app.command("run")(run_cmd)
