"""``weldcell export``: write a validated trajectory as a controller program (URScript)."""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from weldcell.cli.common import console, exit_on_error, job_name


class ExportFormat(str, enum.Enum):
    """Program formats ``weldcell export`` can write."""

    URSCRIPT = "urscript"
    KRL = "krl"
    KUKA_RSI = "kuka-rsi"
    FANUC_TP = "fanuc-tp"
    RAPID = "rapid"


def default_export_path(trajectory: Path, fmt: ExportFormat) -> Path:
    """Where ``export`` writes without ``-o``: beside the trajectory, named after the job.

    ``weldcell-out/box_frame/trajectory.npz`` -> ``weldcell-out/box_frame/box_frame.script`` (urscript)
    or ``…/BOX_FRAME.LS`` (fanuc-tp), ``…/box_frame.mod`` (rapid), or the folder
    ``weldcell-out/box_frame/krl/`` (krl; ``kuka-rsi/`` for the RSI files).
    """
    if fmt is ExportFormat.URSCRIPT:
        return trajectory.parent / f"{job_name(trajectory)}.script"
    if fmt is ExportFormat.FANUC_TP:
        return trajectory.parent / f"{job_name(trajectory).upper()}.LS"
    if fmt is ExportFormat.RAPID:
        return trajectory.parent / f"{job_name(trajectory)}.mod"
    return trajectory.parent / fmt.value


def register(app: typer.Typer) -> None:
    """Add ``weldcell export`` to ``app``."""

    @app.command("export")
    def export_cmd(
        trajectory: Path = typer.Argument(..., help="Trajectory file (.npz) from 'weldcell plan'."),
        fmt: ExportFormat = typer.Option(ExportFormat.URSCRIPT, "--format", "-f", help="Program format."),
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
            if output is None:
                output = default_export_path(trajectory, fmt)
            if fmt is ExportFormat.RAPID:  # ABB: one RAPID module with Arc instructions and weld data
                from weldcell.drivers.abb.rapid_export import export_for_cli as rapid_for_cli
                from weldcell.trajectory.stamp import FROM_ENVIRONMENT

                for line in rapid_for_cli(
                    trajectory,
                    output,
                    program=program,
                    force_unvalidated=force_unvalidated,
                    stamp_key=FROM_ENVIRONMENT if stamp_key is None else stamp_key,
                ):
                    console.print(line)
                return
            if fmt is ExportFormat.FANUC_TP:  # FANUC: one ASCII .LS program
                from weldcell.drivers.fanuc.tp_export import export_for_cli as tp_export

                for line in tp_export(trajectory, output, program, force_unvalidated, stamp_key):
                    console.print(line)
                return
            if (
                fmt is not ExportFormat.URSCRIPT
            ):  # KUKA: .src/.dat (krl) or the RSI files (kuka-rsi) into a folder
                from weldcell.drivers.kuka.krl_export import export_for_cli
                from weldcell.trajectory.stamp import FROM_ENVIRONMENT

                key = FROM_ENVIRONMENT if stamp_key is None else stamp_key
                for line in export_for_cli(
                    fmt.value, trajectory, output, arc_do=arc_do, arc_di=arc_di, sensor_url=sensor_url,
                    force_unvalidated=force_unvalidated, stamp_key=key,
                ):  # fmt: skip
                    console.print(line)
                return
            from weldcell.drivers.powersource.io import IoMap
            from weldcell.drivers.ur.export import UrExportOptions, export_urscript

            prog = None
            if program is not None and weld_parameters:
                from weldcell.program import load_program

                prog = load_program(program)
            options = UrExportOptions(
                arc_do=arc_do,
                arc_di=arc_di,
                arc_timeout=arc_timeout,
                transit_tolerance=transit_tolerance,
                transit_corridor=max(3e-3, 3 * transit_tolerance),
                max_lines=max_lines,
                split=split,
                io_map=IoMap(arc_on=arc_do, arc_established=arc_di),
                use_jobs=use_jobs,
            )
            from weldcell.trajectory.stamp import FROM_ENVIRONMENT

            s = export_urscript(
                trajectory,
                output,
                options,
                force_unvalidated=force_unvalidated,
                program=prog,
                weld_parameters=weld_parameters,
                stamp_key=FROM_ENVIRONMENT if stamp_key is None else stamp_key,
            )
            if force_unvalidated:
                console.print("[yellow]warning:[/] exported without checking the validation stamp")
            if not s.weld_parameters:
                console.print(
                    "[yellow]warning:[/] no weld parameters in the program: set them on the power source"
                )
            files = ", ".join(str(p) for p in s.parts)
            console.print(
                f"wrote [bold]{files}[/] ({fmt.value}): {s.lines} lines, {s.n_bytes / 1024:.0f} KiB"
                + (f" in {len(s.parts)} programs (run them in order)" if len(s.parts) > 1 else "")
            )
            console.print(
                f"estimated cycle time {s.cycle_time:.1f} s (planned {s.planned_cycle_time:.1f} s, "
                f"{100 * (s.cycle_time / s.planned_cycle_time - 1):+.1f} %); "
                f"{s.movej} movej, {s.movel} movel, {s.movec} movec, {s.servoj} servoj"
            )
            for r in s.seam_reports:
                extra = f"; not sent (no I/O channel): {', '.join(r.unsent)}" if r.unsent else ""
                console.print(
                    f"  seam {r.seam_id}: {r.mode}, {r.moves} moves, "
                    f"path within {r.deviation * 1e3:.3f} mm{extra}"
                )
                if r.nominal_mismatch > options.weld_tolerance:
                    console.print(
                        f"  [yellow]warning:[/] seam {r.seam_id}: the planned joints reach the nominal "
                        "torch poses "
                        f"only within {r.nominal_mismatch * 1e3:.3f} mm on this controller's kinematics"
                    )
