"""Robot commands: the ``weldcell controller`` group (each vendor adds its virtual controller to it
through the vendor registry, :mod:`weldcell.cli.vendors`) and ``weldcell run``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from weldcell.cli.common import default_out_dir, robot_driver_options
from weldcell.errors import WeldcellError

if TYPE_CHECKING:
    from weldcell.drivers.registry import RobotUrl

PROGRAM_SUFFIXES = (".yaml", ".yml")

controller_app = typer.Typer(help="Run a virtual robot controller in the foreground.", no_args_is_help=True)


def _parse_robot(url: str) -> RobotUrl:
    """A robot address checked against the driver registry (``ur://HOST[:RTDE_PORT]``,
    ``kuka-rsi://BIND_HOST:PORT``, ``virtual``, plug-in schemes).

    Raises:
        DriverError: an unknown scheme (the message lists the known ones) or a malformed address.
    """
    from weldcell.app.devices import check_robot_url

    return check_robot_url(url)


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
    dashboard_port: int | None = typer.Option(
        None, "--dashboard-port", help="Dashboard port of the UR controller (default 29999)."
    ),
    script_port: int | None = typer.Option(
        None, "--script-port", help="URScript port the servo program is sent to (default 30002)."
    ),
    driver_option: list[str] | None = typer.Option(
        None,
        "--driver-option",
        help="A connection option of the robot's driver, NAME=VALUE (repeatable; e.g. power_on=true).",
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
    from weldcell.app.devices import check_driver_options
    from weldcell.drivers.registry import check_cell_settings, probe_robot, program_mode_needs, runs_programs
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, resolve_stamp_key

    parsed = _parse_robot(robot)
    key = resolve_stamp_key(FROM_ENVIRONMENT if stamp_key is None else stamp_key)
    if mode not in ("stream", "program"):
        raise WeldcellError(f"--mode {mode!r}: expected 'stream' or 'program'")
    if mode == "program" and not runs_programs(parsed.scheme):
        raise WeldcellError(f"--mode program runs the job as one controller program: {program_mode_needs()}")
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
    # the driver checks its options (names, ports, ...) before a program is planned (which takes a while)
    options = robot_driver_options(
        driver_option, dashboard_port=dashboard_port, script_port=script_port, power_on=power_on
    )
    check_driver_options(parsed, options)
    check_cell_settings(parsed, {"arc_output": arc_output})
    if source.is_file() and source.suffix.lower() not in PROGRAM_SUFFIXES:
        from weldcell.app.planvalidate import check_job_input

        check_job_input(source, stamp_key=key)  # a trajectory's stamp is checked before anything connects
    if source.is_file():
        probe_robot(parsed)  # an unreachable robot is reported before the slow planning
    del move_to_start  # the cell always makes its validated start move
    _run_cell(
        source,
        robot,
        powersource,
        options,
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
    driver_options: dict[str, object],
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

    from weldcell.app.job import RunOptions, run_job
    from weldcell.app.planvalidate import check_job_input
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
            driver_options=driver_options,
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
