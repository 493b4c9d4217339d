"""ABB commands: ``weldcell controller abb-egm`` (a virtual ABB controller, the robot side of EGM)."""

from __future__ import annotations

import dataclasses
import json
import math

import typer

from weldcell.drivers.command_support import console, host_port
from weldcell.errors import WeldcellError


def controller_abb_egm(
    sensor: str = typer.Option(
        ..., "--sensor", help="The sensor's HOST:PORT (the UDPUC device's remote address, port 6510)."
    ),
    robot: str = typer.Option("irb1520id", "--robot", help="Robot model (axis ranges and speeds)."),
    sample_rate_ms: int = typer.Option(4, "--sample-rate-ms", help="EGM \\SampleRate: 4, 8, 12 … ms."),
    comm_timeout_s: float = typer.Option(
        1.0, "--comm-timeout-s", help="EGM \\CommTimeout: end the session after this long without replies."
    ),
    start_timeout_s: float = typer.Option(
        10.0, "--start-timeout-s", help="Time the sensor has for its first reply (then CommTimeout applies)."
    ),
    start_deg: str = typer.Option(
        "0,0,0,0,60,0", "--start-deg", help="Joint positions [deg] where the EGM session starts."
    ),
    din: int = typer.Option(0, "--din", help="Digital-input word reported in RAPIDfromRobot.dnum[1]."),
    duration: float = typer.Option(0.0, "--duration", help="Stop after this many seconds (0: until Ctrl-C)."),
    bind: str = typer.Option("127.0.0.1", "--bind", help="Local address the messages are sent from."),
    arc_loopback: str = typer.Option(
        "",
        "--arc-loopback",
        help="DO:DI:DELAY: input bit DI follows output bit DO after DELAY s (a simulated "
        "'arc established'), e.g. 0:0:0.05.",
    ),
    cond_time_s: float = typer.Option(
        0.0,
        "--cond-time-s",
        help="EGMRunJoint \\CondTime: end the session cleanly once every axis held within 0.1° of the "
        "target this long (0: never).",
    ),
) -> None:
    """Run a virtual ABB controller: one EgmRobot per sample to the sensor, EGM joint-mode rules.

    Prints one JSON line with the counters (and ``output_log``, every change of the digital-output
    word the sensor set, with the session time in ms) when it ends. Exits 1 when the EGM session ended
    (CommTimeout, reference out of bounds) and 0 when stopped by --duration or Ctrl-C or when
    EGMRunJoint finished by its convergence condition (--cond-time-s).
    """
    from weldcell.drivers.abb.virtual_egm import VirtualEgm, VirtualEgmConfig

    host, port = host_port(sensor, "--sensor")
    try:
        q = tuple(float(v) for v in start_deg.split(","))
    except ValueError as err:
        raise WeldcellError(f"--start-deg {start_deg!r}: expected comma-separated angles in degrees") from err
    loop: tuple[int, int, float] | None = None
    if arc_loopback:
        try:
            do, di, delay = arc_loopback.split(":")
            loop = (int(do), int(di), float(delay))
        except ValueError as err:
            raise WeldcellError(
                f"--arc-loopback {arc_loopback!r}: expected DO:DI:DELAY, e.g. 0:0:0.05"
            ) from err
    if cond_time_s < 0 or not math.isfinite(cond_time_s):
        raise WeldcellError(f"--cond-time-s {cond_time_s}: expected a number of seconds ≥ 0")
    if duration < 0 or not math.isfinite(duration):
        raise WeldcellError(f"--duration {duration}: expected a number of seconds ≥ 0")
    cfg = VirtualEgmConfig(
        robot=robot,
        sensor_host=host,
        sensor_port=port,
        bind_host=bind,
        cycle=sample_rate_ms / 1000.0,
        comm_timeout=comm_timeout_s,
        start_timeout=start_timeout_s,
        q_start_deg=q,
        din=din,
        arc_loopback=loop,
        cond_time=cond_time_s if cond_time_s > 0 else None,
    )
    ctrl = VirtualEgm(cfg)
    src = ctrl.address
    console.print(
        f"virtual ABB controller ({robot}, EGM joint mode, {sample_rate_ms} ms) sending from "
        f"{src[0]}:{src[1]} to {host}:{port}",
        highlight=False,
    )
    try:
        status = ctrl.run(duration if duration > 0 else None)
    except KeyboardInterrupt:
        status = ctrl.status()
    finally:
        ctrl.stop()
    print(json.dumps(dataclasses.asdict(status)), flush=True)
    if status.converged:
        console.print(f"EGM session ended: {status.stop_reason}", highlight=False)
    elif not status.running:
        console.print(f"[red]EGM session ended:[/red] {status.stop_reason}", highlight=False)
        raise typer.Exit(1)
