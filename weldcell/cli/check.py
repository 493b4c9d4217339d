"""``weldcell check PROGRAM`` (validate a weld program, table of seams) and ``weldcell schema``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from weldcell.cli.calibrated import CalibrationConfigOption
from weldcell.cli.common import EXIT_ERROR, console, err_console, exit_on_error


def _weave_text(seg_weave: object) -> str:
    from weldcell.program import Weave
    from weldcell.program.weaves import WEAVE_PARAMETERS, weave_pattern

    if not isinstance(seg_weave, Weave):
        return "-"
    w = seg_weave
    text = f"{w.pattern} ±{w.amplitude * 1e3:g} mm {w.frequency:g} Hz"
    for field_name in weave_pattern(w.pattern).parameters:  # its own parameters, in file units
        attr, scale = WEAVE_PARAMETERS[field_name]
        name, unit = field_name.rsplit("_", 1)
        text += f" {name} {getattr(w, attr) / scale:g} {unit}"
    return text


def check_command(
    program: Path = typer.Argument(..., help="Weld program file (YAML)."),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Treat warnings (seam off the part, torch inside the material, out of reach) as errors.",
    ),
    cell_config: Path | None = CalibrationConfigOption,
) -> None:
    """Validate a weld program and print its seams (type, length, passes, arc time, weave).

    Exit status: 0 when the program is valid (warnings are printed but do not fail it unless
    ``--strict``), 2 on errors (and on warnings with ``--strict``).
    """
    import numpy as np
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from weldcell.cli.calibrated import cell_setup_or_none, load_calibrated_program
    from weldcell.errors import WeldcellError
    from weldcell.toolpath import toolpaths_for_program
    from weldcell.toolpath.plausibility import program_warnings

    with exit_on_error():
        try:
            prog = load_calibrated_program(program, cell_setup_or_none(cell_config))
            segments = toolpaths_for_program(prog)
            warnings = program_warnings(prog, segments)
        except WeldcellError as err:
            # printed here (not by exit_on_error) so that brackets in the message are not rich markup
            err_console.print(Text.assemble(("error: ", "bold red"), str(err)), soft_wrap=True)
            err_console.print(Text.assemble(("verdict: FAILED", "bold red"), " (the program cannot be used)"))
            raise typer.Exit(EXIT_ERROR) from None
        table = Table(title=escape(f"{prog.name}  ({program})"), show_lines=False)
        for col, just in (
            ("seam", "left"),
            ("joint", "left"),
            ("curve", "left"),
            ("mm", "right"),
            ("pass", "right"),
            ("stitch", "right"),
            ("arc s", "right"),
            ("weave", "left"),
            ("procedure", "left"),
            ("reach mm", "right"),
        ):
            table.add_column(col, justify=just, no_wrap=col in ("seam", "mm", "arc s"))  # type: ignore[arg-type]
        base = prog.cell.T_world_base
        total = 0.0
        for seam in prog.ordered_seams():
            segs = [s for s in segments if s.seam_id == seam.id]
            arc = sum(s.arc_time for s in segs)
            total += arc
            p_world = segs[0].T_world_tcp[:, :3, 3] - base[:3, 3]
            p_base = p_world @ base[:3, :3]
            radial = float(np.hypot(p_base[:, 0], p_base[:, 1]).max()) if len(p_base) else 0.0
            stitches = max(s.stitch_index for s in segs) + 1
            table.add_row(
                escape(seam.id),
                seam.joint,
                seam.geometry.kind,
                f"{segs[0].seam_length * 1e3:.1f}",
                str(len(seam.passes)),
                str(stitches) if seam.stitch is not None else "-",
                f"{arc:.1f}",
                ", ".join(dict.fromkeys(_weave_text(s.weave) for s in segs)),
                escape(", ".join(dict.fromkeys(s.procedure for s in segs))),
                f"{radial * 1e3:.0f}",
            )
        console.print(table)
        console.print(
            f"robot {prog.cell.robot}, torch {prog.cell.torch} (stick-out {prog.cell.stickout * 1e3:g} mm), "
            f"{len(prog.cell.bodies)} bodies, order: "
            + escape("planner chooses" if prog.sequence is None else " → ".join(prog.sequence))
        )
        for w in warnings:
            err_console.print(Text.assemble(("warning: ", "bold yellow"), w.message), soft_wrap=True)
        summary = (
            f"{len(prog.seams)} seams, {len(segments)} arc-on segments, "
            f"total arc time {total:.1f} s ({math.ceil(total / 60.0)} min), sha256 {prog.hash[:12]}"
        )
        if warnings and strict:
            err_console.print(
                Text.assemble(("verdict: FAILED", "bold red"), f" ({len(warnings)} warnings with --strict)")
            )
            raise typer.Exit(EXIT_ERROR)
        if warnings:
            console.print(f"[bold yellow]verdict: OK with {len(warnings)} warnings[/] {summary}")
        else:
            console.print(f"[bold green]verdict: OK[/] {summary}")


def schema_command(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the schema to this file."),
) -> None:
    """Print the JSON Schema of the weld program format (for editors and CI validation)."""
    from weldcell.program import program_json_schema

    text = json.dumps(program_json_schema(), indent=2, ensure_ascii=False)
    if output is not None:
        with exit_on_error():
            from weldcell.errors import WeldcellError

            try:
                output.write_text(text + "\n", encoding="utf-8")
            except OSError as err:
                why = err.strerror or str(err)
                if output.is_dir():
                    why = "is a folder; expected a file name"
                elif not output.parent.is_dir():
                    why = f"the folder {output.parent} does not exist"
                raise WeldcellError(f"--output {output}: cannot write the schema ({why})") from err
        console.print(f"schema written to {output}", markup=False)
    else:
        typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add ``check`` and ``schema`` to ``app``."""
    app.command("check")(check_command)
    app.command("schema")(schema_command)
