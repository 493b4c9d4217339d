"""``weldcell controller positioner``: the virtual positioner device (servo axes over Modbus TCP)."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import typer

from weldcell.cli.common import console
from weldcell.errors import WeldcellError


def controller_positioner(
    port: int = typer.Option(1502, "--port", help="TCP port to listen on (0: a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    axis: list[str] = typer.Option(
        [],
        "--axis",
        help="An axis NAME:revolute:LOWER_DEG:UPPER_DEG:SPEED_DEG_S:ACCEL_DEG_S2 or "
        "NAME:prismatic:LOWER_MM:UPPER_MM:SPEED_MM_S:ACCEL_MM_S2 (repeat per axis, in order).",
    ),
    urdf: Path | None = typer.Option(
        None, "--urdf", help="Read the axes from a URDF (revolute, continuous, prismatic joints in order)."
    ),
    accel_deg_s2: float = typer.Option(
        460.0, "--accel-deg-s2", help="With --urdf: maximum acceleration of revolute axes [deg/s²]."
    ),
    accel_mm_s2: float = typer.Option(
        2000.0, "--accel-mm-s2", help="With --urdf: maximum acceleration of prismatic axes [mm/s²]."
    ),
    start: str = typer.Option(
        "", "--start", help="Initial positions, comma-separated, in deg (revolute) or mm (prismatic)."
    ),
    watchdog_ms: float = typer.Option(100.0, "--watchdog-ms", help="Default watchdog time [ms]."),
    following_error_deg: float = typer.Option(
        2.865, "--following-error-deg", help="Following-error fault limit of revolute axes [deg]."
    ),
    following_error_mm: float = typer.Option(
        5.0, "--following-error-mm", help="Following-error fault limit of prismatic axes [mm]."
    ),
    response_delay_ms: float = typer.Option(
        0.0, "--response-delay-ms", help="Extra drive delay [ms] (simulates a sluggish drive)."
    ),
    duration: float = typer.Option(0.0, "--duration", help="Stop after this many seconds (0: until Ctrl-C)."),
) -> None:
    """Run a virtual positioner: servo axes behind the weldcell positioner register map (docs/drivers.md).

    It enforces travel limits, maximum speed and acceleration, a following-error limit and a watchdog,
    and latches a fault on any violation. Prints one JSON line with its counters when it ends.
    """
    from weldcell.drivers.positioner.servo import ServoConfig
    from weldcell.drivers.positioner.virtual import (
        DEVICE_PRIORITY,
        VirtualPositioner,
        VirtualPositionerConfig,
        axes_from_text,
        axes_from_urdf,
    )

    if (urdf is None) == (not axis):
        raise WeldcellError("give the axes either with --axis (one per axis) or with --urdf FILE, not both")
    if urdf is not None:
        axes = axes_from_urdf(urdf, math.radians(accel_deg_s2), accel_mm_s2 * 1e-3)
    else:
        axes = axes_from_text(axis)
    q0 = None
    if start:
        try:
            vals = [float(v) for v in start.split(",")]
        except ValueError as err:
            raise WeldcellError(f"--start {start!r}: expected comma-separated numbers") from err
        if len(vals) != len(axes):
            raise WeldcellError(f"--start {start!r}: {len(vals)} values for {len(axes)} axes")
        q0 = tuple(
            math.radians(v) if a.kind == "revolute" else v * 1e-3 for v, a in zip(vals, axes, strict=True)
        )
    if duration < 0 or not math.isfinite(duration):
        raise WeldcellError(f"--duration {duration}: expected a number of seconds ≥ 0")
    if not 0 <= port <= 65535:
        raise WeldcellError(f"--port {port}: expected 0 … 65535")
    cfg = VirtualPositionerConfig(
        ServoConfig(
            axes,
            watchdog=watchdog_ms / 1000.0,
            following_error_rad=math.radians(following_error_deg),
            following_error_m=following_error_mm * 1e-3,
            response_delay=response_delay_ms / 1000.0,
        ),
        host=host,
        port=port,
        q0=q0,
        fifo_priority=DEVICE_PRIORITY,  # the device's process: real-time where permitted
        freeze_gc=True,
    )
    dev = VirtualPositioner(cfg)
    h, p = dev.address
    names = ", ".join(f"{a.name} ({a.kind})" for a in axes)
    console.print(f"virtual positioner on modbus-positioner://{h}:{p}: {names}", highlight=False)
    try:
        deadline = time.monotonic() + duration if duration > 0 else math.inf
        while time.monotonic() < deadline:
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        counters = dev.stop()
    console.print(json.dumps(dataclasses.asdict(counters)), highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``controller positioner`` to the ``controller`` group (after ``robot.register``)."""
    del app  # the group lives in weldcell.cli.robot
    from weldcell.cli.robot import controller_app

    controller_app.command("positioner")(controller_positioner)
