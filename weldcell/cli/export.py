"""``weldcell export``: write a validated trajectory as a controller program (URScript)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import cast

import typer

from weldcell.cli.common import console, exit_on_error, job_name
from weldcell.drivers.registry import default_export_format, export_formats, resolve_target
from weldcell.drivers.vendor import ExportRequest


def _format_enum() -> type[enum.Enum]:
    """The program formats the registered vendors write (:func:`weldcell.drivers.registry.export_formats`)."""
    names = list(export_formats())
    members = {name.upper().replace("-", "_"): name for name in names}
    return cast("type[enum.Enum]", enum.Enum("ExportFormat", members, type=str))


#: Program formats ``weldcell export`` can write, from the vendor registry (``urscript``, ``krl``, ...).
ExportFormat = _format_enum()


def default_export_path(trajectory: Path, fmt: enum.Enum | str) -> Path:
    """Where ``export`` writes without ``-o``: beside the trajectory, named after the job.

    ``weldcell-out/box_frame/trajectory.npz`` -> ``weldcell-out/box_frame/box_frame.script`` (urscript)
    or ``…/BOX_FRAME.LS`` (fanuc-tp), ``…/box_frame.mod`` (rapid), or the folder
    ``weldcell-out/box_frame/krl/`` (krl; ``kuka-rsi/`` for the RSI files): each format's
    ``default_name`` in its vendor's registration.
    """
    name = fmt.value if isinstance(fmt, enum.Enum) else fmt
    return export_formats()[name].default_path(trajectory, job_name(trajectory))


def register(app: typer.Typer) -> None:
    """Add ``weldcell export`` to ``app``."""

    @app.command("export")
    def export_cmd(
        trajectory: Path = typer.Argument(..., help="Trajectory file (.npz) from 'weldcell plan'."),
        fmt: ExportFormat = typer.Option(  # type: ignore[valid-type]
            default_export_format(), "--format", "-f", help="Program format (from the registered vendors)."
        ),
        output: Path | None = typer.Option(
            None,
            "--output",
            "-o",
            help="Program file (urscript) or folder (krl, kuka-rsi) to write (default: beside the "
            "trajectory, named after the job: weldcell-out/JOB/JOB.script, weldcell-out/JOB/krl/, ...).",
        ),
        program: Path | None = typer.Option(
            None,
            "--program",
            help="Weld program the trajectory was planned from, for the weld parameters "
            "(default: the one named in plan.json beside the trajectory).",
        ),
        weld_parameters: bool = typer.Option(
            True,
            "--weld-parameters/--no-weld-parameters",
            help="Send the procedures' weld parameters to the power source from the program.",
        ),
        use_jobs: bool = typer.Option(
            False, "--use-jobs", help="Select the procedures' job numbers (job bits) instead of set-points."
        ),
        arc_do: int = typer.Option(0, "--arc-do", help="Standard digital output that switches the arc on."),
        arc_di: int = typer.Option(0, "--arc-di", help="Standard digital input 'arc established'."),
        arc_timeout: float = typer.Option(2.0, "--arc-timeout", help="Wait for arc established in seconds."),
        transit_tolerance: float = typer.Option(
            1e-3, "--transit-tolerance", help="Largest joint deviation of the movej way points, in rad."
        ),
        max_lines: int = typer.Option(
            5000, "--max-lines", help="Program size limit in lines (above it: refuse, or --split)."
        ),
        split: bool = typer.Option(
            False, "--split", help="Above --max-lines, write several programs (NAME_1.script, ...)."
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
            help="kuka-rsi: the RSI driver's address and settings "
            "(?cycle_ms=4|12&mode=absolute|relative&stop=1|0; stop=0 leaves out the Stop element and "
            "the STOP object that end the session cleanly).",
        ),
    ) -> None:
        """Write TRAJECTORY as URScript: movel/movec welds, blended movej transits, weld parameters."""
        with exit_on_error():
            name = fmt.value  # type: ignore[attr-defined]
            if output is None:
                output = default_export_path(trajectory, name)
            request = ExportRequest(
                trajectory=trajectory,
                output=output,
                program=program,
                weld_parameters=weld_parameters,
                use_jobs=use_jobs,
                arc_do=arc_do,
                arc_di=arc_di,
                arc_timeout=arc_timeout,
                transit_tolerance=transit_tolerance,
                max_lines=max_lines,
                split=split,
                force_unvalidated=force_unvalidated,
                stamp_key=stamp_key,
                sensor_url=sensor_url,
            )
            writer = resolve_target(export_formats()[name].writer, f"export format {name!r}")
            for line in writer(name, request):
                console.print(line)
