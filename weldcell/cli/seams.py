"""``weldcell seams detect ASSEMBLY -o PROGRAM.yaml``: seam candidates from a CAD mesh assembly."""

from __future__ import annotations

from pathlib import Path

import typer

from weldcell.cli.common import console, err_console, exit_on_error

seams_app = typer.Typer(
    help="Seams from CAD: detect candidate weld seams on a mesh assembly.", no_args_is_help=True
)

#: Home configurations [deg] written when --home-deg is not given (as in the shipped programs).
_HOME_DEG = {
    "ur3e": (0, -100, 100, -90, -90, 0),
    "ur5e": (0, -100, 100, -90, -90, 0),
    "ur10e": (0, -100, 100, -90, -90, 0),
    "ur16e": (0, -100, 100, -90, -90, 0),
    "kr6_r900": (0, -90, 90, 0, 90, 0),
    "kr10_r1420": (0, -90, 90, 0, 60, 0),
    "arcmate100id": (0, 0, 0, 0, -90, 0),
    "crx10ial": (0, 0, 0, 0, -90, 0),
    "irb1520id": (0, 0, 0, 0, 60, 0),
}
_UNITS = {"mm": 1e-3, "m": 1.0, "cm": 1e-2, "inch": 25.4e-3}


def _floats(text: str | None, n: int | None, option: str) -> tuple[float, ...] | None:
    from weldcell.errors import InvalidValueError

    if text is None:
        return None
    try:
        vals = tuple(float(x) for x in text.replace(",", " ").split())
    except ValueError:
        raise InvalidValueError(f"{option} {text!r}: expected numbers separated by commas") from None
    if n is not None and len(vals) != n:
        raise InvalidValueError(f"{option} {text!r}: expected {n} numbers, got {len(vals)}")
    return vals


def detect_command(
    assembly: Path = typer.Argument(
        ..., help="Mesh assembly: STL/OBJ/PLY/OFF/glTF/GLB file or a folder of part files."
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Program to write (YAML); part meshes go next to it."
    ),
    units: str = typer.Option("mm", "--units", help="Units of the mesh files: mm, cm, m or inch."),
    tolerance_mm: float = typer.Option(
        0.5, "--tolerance-mm", help="Largest gap or overlap between parts that counts as contact [mm]."
    ),
    butt_gap_mm: float = typer.Option(
        3.0, "--butt-gap-mm", help="Widest gap between two plate edges that is a butt seam [mm]."
    ),
    min_length_mm: float = typer.Option(5.0, "--min-length-mm", help="Shortest seam reported [mm]."),
    min_open_deg: float = typer.Option(
        45.0, "--min-open-deg", help="Smallest open angle of a fillet/lap [deg]."
    ),
    max_open_deg: float = typer.Option(
        150.0, "--max-open-deg", help="Largest open angle of a fillet/lap [deg]."
    ),
    robot: str = typer.Option("ur5e", "--robot", help="Robot model of the cell."),
    torch: str = typer.Option("torch_mig_22", "--torch", help="Torch model."),
    stickout_mm: float = typer.Option(15.0, "--stickout-mm", help="Wire stick-out [mm]."),
    home_deg: str | None = typer.Option(
        None, "--home-deg", help="Home configuration [deg], comma separated (default per robot)."
    ),
    part_xyz_mm: str | None = typer.Option(
        None,
        "--part-xyz-mm",
        help="Assembly frame origin in the world [mm] 'x,y,z' "
        "(default: 450 mm in front of the robot, resting on z = 0).",
    ),
    base_xyz_mm: str = typer.Option("0,0,0", "--base-xyz-mm", help="Robot base in the world [mm] 'x,y,z'."),
    base_rpy_deg: str = typer.Option(
        "0,0,0", "--base-rpy-deg", help="Robot base roll, pitch, yaw [deg] (180,0,0: hanging; wall: ±90)."
    ),
    part_rpy_deg: str = typer.Option(
        "0,0,0", "--part-rpy-deg", help="Assembly frame roll, pitch, yaw in the world [deg]."
    ),
    select: str = typer.Option(
        "all", "--select", help="Candidates written with selected: true: 'all', 'none' or ids 'c1,c3'."
    ),
    view: Path | None = typer.Option(
        None, "--view", help="Also write a PNG picture of the candidates with their ids."
    ),
) -> None:
    """Find candidate fillet, lap and butt seams between the parts of an assembly and write a program.

    Every candidate is a seam of the program with its id and `selected: true|false`; unselected
    seams are skipped (and named) by check, plan and every other command. Exit status: 0 with at
    least one candidate, 1 when none was found, 2 on errors (unreadable file, bad option).
    """
    import numpy as np
    from rich.table import Table

    from weldcell.cad import DetectOptions, detect_seams
    from weldcell.cad.io import load_assembly, save_part_stl
    from weldcell.cad.program_out import CellPlacement, program_yaml
    from weldcell.errors import InvalidValueError
    from weldcell.kinematics import robot_names

    with exit_on_error():
        if units not in _UNITS:
            raise InvalidValueError(f"--units {units!r}: expected one of {', '.join(_UNITS)}")
        if robot not in robot_names():
            raise InvalidValueError(f"--robot {robot!r}: unknown; available: {', '.join(robot_names())}")
        home = _floats(home_deg, None, "--home-deg")
        if home is None:
            if robot not in _HOME_DEG:
                raise InvalidValueError(f"--robot {robot}: give its home configuration with --home-deg")
            home = tuple(float(q) for q in _HOME_DEG[robot])
        rpy = _floats(part_rpy_deg, 3, "--part-rpy-deg")
        bxyz = _floats(base_xyz_mm, 3, "--base-xyz-mm")
        brpy = _floats(base_rpy_deg, 3, "--base-rpy-deg")
        assert rpy is not None and bxyz is not None and brpy is not None  # mypy
        try:
            opt = DetectOptions(
                gap_tol=tolerance_mm * 1e-3,
                butt_gap_max=butt_gap_mm * 1e-3,
                min_length=min_length_mm * 1e-3,
                min_interior=float(np.deg2rad(min_open_deg)),
                max_interior=float(np.deg2rad(max_open_deg)),
                probe=max(1.5e-3, 3 * tolerance_mm * 1e-3),
            )
        except ValueError as err:
            raise InvalidValueError(
                f"--tolerance-mm / --butt-gap-mm / --min-length-mm / --min-open-deg / --max-open-deg: {err}"
            ) from None
        parts = load_assembly(assembly, _UNITS[units], opt)
        candidates = detect_seams(parts, opt)
        ids = [c.id for c in candidates]
        if select == "all":
            chosen = set(ids)
        elif select == "none":
            chosen = set()
        else:
            chosen = {x.strip() for x in select.split(",") if x.strip()}
            unknown = sorted(chosen - set(ids))
            if unknown:
                raise InvalidValueError(
                    f"--select: no candidate {', '.join(unknown)}; candidates: {', '.join(ids) or 'none'}"
                )
        xyz = _floats(part_xyz_mm, 3, "--part-xyz-mm")
        if xyz is None:
            allv = np.concatenate([p.mesh.V for p in parts])
            lo, hi = allv.min(axis=0), allv.max(axis=0)
            c = 0.5 * (lo + hi)
            xyz = (450.0 - c[0] * 1e3, -c[1] * 1e3, -lo[2] * 1e3)
        out_dir = output.parent
        part_dir = Path(output.stem + "_parts")
        files = {}
        for p in parts:
            rel = part_dir / f"{p.name}.stl"
            save_part_stl(p, out_dir / rel)
            files[p.name] = rel.as_posix()
        cell = CellPlacement(
            robot,
            torch,
            stickout_mm,
            home,
            (xyz[0], xyz[1], xyz[2]),
            (rpy[0], rpy[1], rpy[2]),
            base_xyz_mm=(bxyz[0], bxyz[1], bxyz[2]),
            base_rpy_deg=(brpy[0], brpy[1], brpy[2]),
        )
        text = program_yaml(candidates, files, cell, name=output.stem, source=assembly.name, selected=chosen)
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as err:
            raise InvalidValueError(f"-o {output}: cannot write the program: {err.strerror}") from None
        if view is not None:
            from weldcell.cad.view import render_candidates_png

            render_candidates_png(
                parts, candidates, view, title=f"{assembly.name}: {len(candidates)} seam candidates"
            )

    table = Table(title=f"{len(candidates)} seam candidates on {assembly.name} ({len(parts)} parts)")
    for col in ("id", "selected", "joint", "curve", "mm", "open angle", "work angle", "on", "with"):
        table.add_column(col)
    for s in candidates:
        open_angle = f"{np.rad2deg(s.interior):.1f}°" if s.normal_2 is not None else "-"
        table.add_row(
            s.id,
            "yes" if s.id in chosen else "no",
            s.joint,
            s.curve,
            f"{s.length * 1e3:.1f}",
            open_angle,
            f"{np.rad2deg(s.work_angle):.1f}°",
            s.part_1,
            s.part_2,
        )
    console.print(table)
    console.print(f"wrote {output} (parts in {out_dir / part_dir}/)" + (f" and {view}" if view else ""))
    if not candidates:
        err_console.print(
            "[bold red]no seam candidates found[/]: the program has no seams and cannot be used"
        )
        raise typer.Exit(1)
    if not chosen:
        err_console.print(
            "[yellow]no candidate is selected[/]: set `selected: true` on the seams to weld "
            "(plan refuses a program without one)"
        )


def register(app: typer.Typer) -> None:
    """Add the ``seams`` group (``seams detect``) to ``app``."""
    seams_app.command("detect")(detect_command)
    app.add_typer(seams_app, name="seams")
