"""``weldcell controller kuka-rsi``: a virtual KRC, the robot side of RSI (registered in ``plugin.py``)."""

from __future__ import annotations

import json
import math

import typer

from weldcell.drivers.command_support import console, host_port
from weldcell.errors import WeldcellError


def controller_kuka_rsi(
    sensor: str = typer.Option(..., "--sensor", help="The sensor's IP_NUMBER:PORT (where telegrams go)."),
    robot: str = typer.Option("kr10_r1420", "--robot", help="Robot model (axis ranges and speeds)."),
    cycle_ms: int = typer.Option(4, "--cycle-ms", help="Interpolation cycle: 4 (IPO_FAST) or 12 (IPO)."),
    mode: str = typer.Option("absolute", "--mode", help="AXISCORR mode: absolute or relative."),
    sentype: str = typer.Option("ImFree", "--sentype", help="Expected Type of the <Sen> replies."),
    timeout_packets: int = typer.Option(
        100, "--timeout", help="ETHERNET Timeout: late packets before break-off."
    ),
    holdon: int | None = typer.Option(
        None, "--holdon", help="HOLDON of AKorr (0/1; default 1 absolute, 0 relative)."
    ),
    start_deg: str = typer.Option(
        "0,-90,90,0,60,0", "--start-deg", help="Axis positions A1..A6 [deg] where RSI starts."
    ),
    digin: int = typer.Option(0, "--digin", help="Digital inputs reported in DiL (bit mask)."),
    duration: float = typer.Option(0.0, "--duration", help="Stop after this many seconds (0: until Ctrl-C)."),
    bind: str = typer.Option("127.0.0.1", "--bind", help="Local address the telegrams are sent from."),
    arc_loopback: str = typer.Option(
        "",
        "--arc-loopback",
        help="DO:DI:DELAY - DiL bit DI follows DiO bit DO after DELAY s (simulated arc established).",
    ),
    stop_object: bool = typer.Option(
        True,
        "--stop-object/--no-stop-object",
        help="The context wires <Stop> to a STOP object (as exported): Stop=1 ends RSI normally.",
    ),
) -> None:
    """Run a virtual KUKA controller: one <Rob> telegram per cycle to the sensor, RSI rules for replies.

    Prints one JSON line with the counters when it ends. Exits 1 when RSI broke off (RSITimeout,
    limit switch, speed) and 0 when the sensor ended it (Stop=1) or it was stopped by --duration
    or Ctrl-C.
    """
    from weldcell.drivers.kuka.virtual_krc import KrcConfig, VirtualKrc

    host, port = host_port(sensor, "--sensor")
    try:
        q = tuple(float(v) for v in start_deg.split(","))
    except ValueError as err:
        raise WeldcellError(
            f"--start-deg {start_deg!r}: expected six comma-separated angles in degrees"
        ) from err
    if len(q) != 6:
        raise WeldcellError(f"--start-deg {start_deg!r}: expected six angles, got {len(q)}")
    if cycle_ms not in (4, 12):
        raise WeldcellError(f"--cycle-ms {cycle_ms}: expected 4 (IPO_FAST) or 12 (IPO)")
    if mode not in ("absolute", "relative"):
        raise WeldcellError(f"--mode {mode!r}: expected absolute or relative")
    if duration < 0 or not math.isfinite(duration):
        raise WeldcellError(f"--duration {duration}: expected a number of seconds ≥ 0")
    loop: tuple[int, int, float] | None = None
    if arc_loopback:
        try:
            do, di, delay = arc_loopback.split(":")
            loop = (int(do), int(di), float(delay))
        except ValueError as err:
            raise WeldcellError(
                f"--arc-loopback {arc_loopback!r}: expected DO:DI:DELAY, e.g. 0:0:0.05"
            ) from err
    cfg = KrcConfig(
        robot=robot,
        sensor_host=host,
        sensor_port=port,
        bind_host=bind,
        cycle=cycle_ms / 1000.0,
        mode=mode,  # type: ignore[arg-type]
        sentype=sentype,
        timeout_packets=timeout_packets,
        holdon=holdon,
        q_start_deg=q,
        digin=digin,
        arc_loopback=loop,
        stop_object=stop_object,
    )
    krc = VirtualKrc(cfg)
    src = krc.address
    console.print(
        f"virtual KRC ({robot}, {cycle_ms} ms, {mode}) sending from {src[0]}:{src[1]} to {host}:{port}",
        highlight=False,
    )
    try:
        status = krc.run(duration if duration > 0 else None)
    except KeyboardInterrupt:
        status = krc.status()
    finally:
        krc.stop()
    summary = {
        "cycles": status.cycles,
        "accepted": status.accepted,
        "late": status.late,
        "invalid": status.invalid,
        "stale": status.stale,
        "overruns": status.overruns,
        "running": status.running,
        "stop_reason": status.stop_reason,
        "q_deg": status.q_deg,
        "dout": status.dout,
        "digin": status.digin,
        "output_log": status.output_log,
        "ended_by_sensor": status.ended_by_sensor,
    }
    print(json.dumps(summary), flush=True)
    if status.ended_by_sensor:
        console.print(f"RSI ended: {status.stop_reason}", highlight=False)
    elif not status.running:
        console.print(f"[red]RSI stopped:[/red] {status.stop_reason}", highlight=False)
        raise typer.Exit(1)
