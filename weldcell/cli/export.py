"""``weldcell export``: write a validated trajectory as a controller program (URScript)."""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from weldcell.cli.common import console, exit_on_error


class ExportFormat(str, enum.Enum):
    """Program formats ``weldcell export`` can write."""

    URSCRIPT = "urscript"
    KRL = "krl"
    KUKA_RSI = "kuka-rsi"


def register(app: typer.Typer) -> None:
    """Add ``weldcell export`` to ``app``."""

    @app.command("export")
    def export_cmd(
        trajectory: Path = typer.Argument(..., help="Trajectory file (.npz) from 'weldcell plan'."),
        fmt: ExportFormat = typer.Option(ExportFormat.URSCRIPT, "--format", "-f", help="Program format."),
        output: Path = typer.Option(..., "--output", "-o", help="Program file to write (.script)."),
        arc_do: int = typer.Option(0, "--arc-do", help="Standard digital output that switches the arc on."),
        arc_di: int = typer.Option(0, "--arc-di", help="Standard digital input 'arc established'."),
        arc_timeout: float = typer.Option(2.0, "--arc-timeout", help="Wait for arc established in seconds."),
        servo_period: float | None = typer.Option(
            None,
            "--servo-period",
            help="servoj period in seconds, a multiple of the trajectory dt (default: dt).",
        ),
        transit_tolerance: float = typer.Option(
            1e-3, "--transit-tolerance", help="Largest joint deviation of the movej transit path, in rad."
        ),
        force_unvalidated: bool = typer.Option(
            False,
            "--force-unvalidated",
            help="Export a trajectory without a validation stamp (not for production).",
        ),
        stamp_key: Path | None = typer.Option(
            None,
            "--stamp-key",
            help="The cell's stamp key file: refuse stamps not signed with it "
            "(default: $WELDCELL_STAMP_KEY, else unkeyed stamps).",
        ),
        sensor_url: str = typer.Option(
            "kuka-rsi://127.0.0.1:59152",
            "--sensor-url",
            help="kuka-rsi: the RSI driver's address and settings.",
        ),
    ) -> None:
        """Write TRAJECTORY as one URScript program: movej transits, servoj weld tables, arc I/O."""
        with exit_on_error():
            if (
                fmt is not ExportFormat.URSCRIPT
            ):  # KUKA: .src/.dat (krl) or the RSI files (kuka-rsi) into a folder
                from weldcell.drivers.kuka.krl_export import export_for_cli

                key = None if stamp_key is None else stamp_key
                for line in export_for_cli(
                    fmt.value, trajectory, output, arc_do=arc_do, arc_di=arc_di, sensor_url=sensor_url,
                    force_unvalidated=force_unvalidated, stamp_key=key,
                ):  # fmt: skip
                    console.print(line)
                return
            from weldcell.drivers.ur.export import UrExportOptions, export_urscript

            options = UrExportOptions(
                arc_do=arc_do,
                arc_di=arc_di,
                arc_timeout=arc_timeout,
                servo_period=servo_period,
                transit_tolerance=transit_tolerance,
            )
            from weldcell.planning.stamp import FROM_ENVIRONMENT

            summary = export_urscript(
                trajectory,
                output,
                options,
                force_unvalidated=force_unvalidated,
                stamp_key=FROM_ENVIRONMENT if stamp_key is None else stamp_key,
            )
            if force_unvalidated:
                console.print("[yellow]warning:[/] exported without checking the validation stamp")
            console.print(
                f"wrote [bold]{summary.path}[/] ({fmt.value}): {summary.lines} lines, "
                f"{summary.n_bytes / 1024:.0f} KiB, "
                f"{summary.movej} movej, {summary.servoj} servoj, seams: {', '.join(summary.seams) or 'none'}"
            )
