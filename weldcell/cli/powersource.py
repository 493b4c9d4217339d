"""``weldcell powersource``: run the virtual welding power source (Modbus TCP server) in the foreground."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from weldcell.cli.common import console, exit_on_error


def register(app: typer.Typer) -> None:
    """Add ``weldcell powersource`` to ``app``."""

    @app.command("powersource")
    def powersource_cmd(
        host: str = typer.Option(
            "127.0.0.1", "--host", help="Address to listen on (loopback; others need --allow-remote)."
        ),
        allow_remote: bool = typer.Option(
            False,
            "--allow-remote",
            help="Allow a non-loopback --host: anyone on that network can then start the arc.",
        ),
        port: int = typer.Option(1502, "--port", help="Modbus TCP port (real power sources use 502)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the measurement noise and ignition jitter."),
        image: Path | None = typer.Option(
            None, "--image", help="Process image YAML (default: weldcell standard)."
        ),
        comm_timeout: float = typer.Option(
            0.5, "--comm-timeout", help="Heartbeat timeout in seconds that ends a weld; 0 = off."
        ),
        no_heartbeat_required: bool = typer.Option(
            False, "--no-heartbeat-required", help="Accept weld start before the robot heartbeat toggled."
        ),
        duration: float = typer.Option(
            0.0, "--duration", help="Stop after this many seconds (0 = run until Ctrl-C)."
        ),
    ) -> None:
        """Run a virtual welding power source on Modbus TCP (gas, ignition, arc, crater, faults)."""
        with exit_on_error():
            import math
            from dataclasses import replace

            from weldcell.cli.common import warn_remote
            from weldcell.drivers.bind import check_bind_address
            from weldcell.drivers.powersource.base import ErrorCode
            from weldcell.drivers.powersource.image import ProcessImage, load_process_image
            from weldcell.drivers.powersource.virtual import start_virtual_power_source
            from weldcell.drivers.powersource.virtual_model import VirtualConfig, VirtualTiming
            from weldcell.errors import WeldcellError

            if check_bind_address(host, allow_remote, "virtual power source"):
                warn_remote(host, "virtual power source", "start and stop the arc and inject faults")
            if not (math.isfinite(comm_timeout) and comm_timeout >= 0):
                raise WeldcellError(f"--comm-timeout {comm_timeout}: expected seconds >= 0 (0 = off)")
            if not (math.isfinite(duration) and duration >= 0):
                raise WeldcellError(f"--duration {duration}: expected seconds >= 0 (0 = until Ctrl-C)")
            img = load_process_image(image) if image is not None else ProcessImage()
            config = VirtualConfig(
                image=img,
                timing=replace(VirtualTiming(), comm_timeout=comm_timeout),
                require_heartbeat=not no_heartbeat_required,
            )
            handle = start_virtual_power_source(host, port, config, seed)
            try:
                h, p = handle.address
                console.print(f"virtual power source listening on [bold]modbus://{h}:{p}[/] (Ctrl-C to stop)")
                console.print(
                    f"coils: heartbeat {img.heartbeat_robot}, robot ready {img.robot_ready}, welding start "
                    f"{img.welding_start}, error reset {img.error_reset}; "
                    f"test registers from {img.test_base} (see docs/powersource.md)"
                )
                end = None if duration <= 0 else time.monotonic() + duration
                shown = 0
                last_error = 0
                while handle.running and (end is None or time.monotonic() < end):
                    time.sleep(0.1)
                    transitions = handle.model.transitions()
                    for t, old, new in transitions[shown:]:
                        console.print(f"{t:9.3f} s  {old.name:>8} -> {new.name}")
                    shown = len(transitions)
                    code = handle.model.status().error_code
                    if code != last_error:
                        text = ErrorCode.describe(code) if code else "cleared"
                        console.print(f"[red]error {code}[/]: {text}" if code else "error cleared")
                        last_error = code
            except KeyboardInterrupt:
                console.print("stopping")
            finally:
                handle.stop()
