"""FANUC commands: ``weldcell controller fanuc`` (a virtual FANUC controller, the robot side of J519)."""

from __future__ import annotations

import json
import math

import typer

from weldcell.drivers.command_support import console
from weldcell.errors import WeldcellError


def controller_fanuc(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.N for tests)."),
    port: int = typer.Option(60015, "--port", help="Stream Motion UDP port (the real controller: 60015)."),
    robot: str = typer.Option("arcmate100id", "--robot", help="Robot model (ranges and speeds)."),
    cycle_ms: int = typer.Option(8, "--cycle-ms", help="Status cycle [ms]: 8, or 4 (high-speed option)."),
    version: int = typer.Option(3, "--version-offered", help="Stream Motion version offered: 3 or 4."),
    start_deg: str = typer.Option(
        "0,0,0,0,-90,0", "--start-deg", help="Controller joint angles J1..J6 [deg] at start-up."
    ),
    inputs: str = typer.Option("", "--di", help="Digital inputs that are on, e.g. 101,103 (DI numbers)."),
    no_program: bool = typer.Option(
        False, "--no-program", help="The IBGN TP program is not running (motion is never possible)."
    ),
    duration: float = typer.Option(0.0, "--duration", help="Stop after this many seconds (0: until Ctrl-C)."),
    arc_loopback: str = typer.Option(
        "",
        "--arc-loopback",
        help="DO:DI:DELAY: DI[DI] follows DO[DO] after DELAY seconds (a power source answering "
        "'arc established'), e.g. 101:101:0.05.",
    ),
) -> None:
    """Run a virtual FANUC controller: Stream Motion handshake, one status per cycle, limit checks, I/O.

    Prints one JSON line with the counters when it ends. Exits 1 when it ends with an alarm or after
    the arm stopped because commands stopped, and 0 otherwise.
    """
    from weldcell.drivers.fanuc.virtual_controller import VirtualFanuc, VirtualFanucConfig

    try:
        q = tuple(float(v) for v in start_deg.split(","))
    except ValueError as err:
        raise WeldcellError(f"--start-deg {start_deg!r}: expected comma-separated angles in degrees") from err
    try:
        di = {int(v): True for v in inputs.split(",") if v.strip()}
    except ValueError as err:
        raise WeldcellError(f"--di {inputs!r}: expected comma-separated DI numbers, e.g. 101,102") from err
    if duration < 0 or not math.isfinite(duration):
        raise WeldcellError(f"--duration {duration}: expected a number of seconds ≥ 0")
    loop: tuple[int, int, float] | None = None
    if arc_loopback:
        try:
            loop_do, loop_di, loop_delay = arc_loopback.split(":")
            loop = (int(loop_do), int(loop_di), float(loop_delay))
        except ValueError as err:
            raise WeldcellError(
                f"--arc-loopback {arc_loopback!r}: expected DO:DI:DELAY, e.g. 101:101:0.05"
            ) from err
    if not 1 <= port <= 65535:
        raise WeldcellError(f"--port {port}: expected a UDP port 1 … 65535")
    cfg = VirtualFanucConfig(
        robot=robot,
        host=host,
        port=port,
        cycle_ms=cycle_ms,
        available_version=version,
        q_start_deg=q,
        program_running=not no_program,
        inputs=di,
        arc_loopback=loop,
    )
    ctrl = VirtualFanuc(cfg)
    console.print(
        f"virtual FANUC controller ({robot}, {cycle_ms} ms, Stream Motion v{version}) on "
        f"{ctrl.address[0]}:{ctrl.address[1]}",
        highlight=False,
    )
    try:
        status = ctrl.run(duration if duration > 0 else None)
    except KeyboardInterrupt:
        status = ctrl.status()
    finally:
        ctrl.close()
    summary = {
        "cycles": status.cycles,
        "commands": status.commands,
        "stale": status.stale,
        "double": status.double,
        "coast_stops": status.coast_stops,
        "alarm": status.alarm,
        "q_deg": status.q_deg,
        "do": {str(k): v for k, v in sorted(status.do.items())},
    }
    print(json.dumps(summary), flush=True)
    if status.alarm or status.coast_stops:
        console.print(f"[red]stopped:[/red] {status.alarm or 'commands stopped, the arm stopped'}")
        raise typer.Exit(1)
