"""``weldcell validate`` and ``weldcell view``: simulation before anything reaches a robot.

``validate PROGRAM|TRAJECTORY`` plans a program first (or loads a trajectory, with ``--program`` for
its cell), replays it in pybullet, prints the violations, writes ``validation.json`` and
``validation.html`` and, when everything passed, the validation stamp next to the trajectory.
Exit status: 0 passed, 1 violations (or planning failed), 2 bad input.

``view PROGRAM|TRAJECTORY`` opens the 3D viewer; ``--record out.gif`` renders headless instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from weldcell.cli.calibrated import CalibrationConfigOption, cell_setup_or_none, load_calibrated_program
from weldcell.cli.common import (
    TRAJECTORY_FILE,
    announce_kernel_compile,
    console,
    default_out_dir,
    err_console,
    output_folder,
    plain_progress,
)
from weldcell.errors import ProgramError, WeldcellError

if TYPE_CHECKING:
    from weldcell.sim.report import ValidationReport
    from weldcell.trajectory import JointTrajectory

PROGRAM_SUFFIXES = (".yaml", ".yml", ".json")


@contextlib.contextmanager
def _quiet_native_output() -> Iterator[None]:
    """Silence pybullet's C-level prints (build time, URDF warnings) on stdout/stderr."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def _load_inputs(
    source: Path, program_path: Path | None, out_dir: Path, setup: Any = None
) -> tuple[Any, JointTrajectory, Path]:
    """(program, trajectory, trajectory file) from a program (planned here) or a trajectory file.

    ``out_dir`` is created (or a clean error raised) only when a program is planned into it.
    ``setup``: the cell configuration whose calibration (user frames, TCP) the program uses.
    """
    from weldcell.cell.calibrated import check_trajectory_tcp
    from weldcell.trajectory import load_trajectory, save_trajectory
    from weldcell.trajectory.io import program_named_beside

    announce_kernel_compile()
    if source.suffix.lower() in PROGRAM_SUFFIXES:
        if program_path is not None and program_path.resolve() != source.resolve():
            raise ProgramError(
                f"--program {program_path}: only for a trajectory source; {source.name} is a weld "
                "program and brings its own cell (leave --program out)"
            )
        program = load_calibrated_program(source, setup)
        _print_warnings(program)
        output_folder(out_dir)
        traj = _plan(program)
        traj_path = save_trajectory(traj, out_dir / TRAJECTORY_FILE)
        console.print(f"planned {source.name}: {traj.duration:.2f} s, saved {traj_path}")
        return program, traj, traj_path
    traj = load_trajectory(source)
    if program_path is None:
        program_path = program_named_beside(source)
        if program_path is None:
            raise ProgramError(
                f"{source.name}: a trajectory needs its weld program for the cell (pass --program "
                "PROGRAM.yaml; no plan.json beside it names an existing one)"
            )
        console.print(f"program {program_path} (named in plan.json beside the trajectory)")
    program = load_calibrated_program(program_path, setup)
    if traj.program_hash and traj.program_hash != program.hash:
        raise ProgramError(_hash_mismatch(source, traj, program_path, program))
    check_trajectory_tcp(traj, setup, str(source))
    _print_warnings(program)
    return program, traj, source


def _print_warnings(program: Any) -> None:
    """What in the program cannot be right (seam off the part, out of reach, ...), loudly."""
    from rich.markup import escape

    from weldcell.toolpath.plausibility import program_warnings

    for w in program_warnings(program):
        err_console.print(f"[bold yellow]WARNING:[/] {escape(w.message)}", highlight=False)


def _hash_mismatch(source: Path, traj: JointTrajectory, program_path: Path, program: Any) -> str:
    """Why ``traj`` does not belong to ``program``: another program, or another version of it."""
    hashes = (
        f"program hash {traj.program_hash[:12]} in {source.name}, {program.hash[:12]} for {program_path.name}"
    )
    seam_ids = {s.id for s in getattr(program, "seams", ())}
    foreign = [sid for sid in traj.seam_ids if sid not in seam_ids]
    if foreign:
        return (
            f"{source.name} was planned from a different weld program than {program_path.name} ({hashes}; "
            f"seam {foreign[0]!r} is not in {program_path.name}); pass the program it was planned from "
            f"with --program, or plan {program_path.name} again"
        )
    return (
        f"{source.name} was planned from a different program or an earlier version of {program_path.name} "
        f"({hashes}; the seam names match); plan {program_path.name} again"
    )


def _check_source(source: Path) -> None:
    """Fail with one line when SOURCE is missing or a folder (before any output folder is made)."""
    expected = "expected a weld program (.yaml) or a planned trajectory (.npz)"
    if source.is_dir():
        raise WeldcellError(f"{source}: is a folder; {expected}")
    if not source.exists():
        raise WeldcellError(f"{source}: file not found; {expected}")


def _scene_bodies(scenes: list[Path]) -> list[tuple[Any, ...]]:
    """The bodies of each ``--scene`` file, read up front so a bad file fails before planning."""
    from weldcell.sim.scenes import load_scene

    return [load_scene(path) for path in scenes]


def _cell(program: Any, scenes: list[tuple[Any, ...]]) -> Any:
    """The program's cell plus the bodies of the scene files (a later body replaces a same-named one)."""
    from weldcell.sim import CellModel

    cell = CellModel.from_program(program)
    for bodies in scenes:
        cell = cell.with_bodies(bodies)
    return cell


def _plan(program: Any) -> JointTrajectory:
    try:
        from weldcell.planning import plan_program
    except ImportError as err:
        raise WeldcellError(
            "the planner is not available in this installation (weldcell.planning.plan_program)"
        ) from err
    if not console.is_terminal:  # logs and pipes: a plain line per planning stage
        result = plan_program(program, progress=plain_progress())
    else:
        with console.status("planning ..."):
            result = plan_program(program)
    if result.trajectory is None:
        console.print(f"[bold red]planning failed[/]: {result.reason}")
        raise typer.Exit(code=1)
    return result.trajectory


def _print_report(report: ValidationReport) -> None:
    from rich.table import Table

    if report.passed:
        console.print(
            f"[bold green]PASSED[/] {report.n_samples} samples, {report.duration:.2f} s, no violations"
        )
    else:
        table = Table(title=f"{len(report.violations)} violation(s)", show_lines=False)
        for col in ("kind", "t [s]", "where", "parts", "value", "limit"):
            table.add_column(col)
        for v in report.violations[:60]:
            msg = v.message()
            value = msg.rsplit(": ", 1)[-1]
            table.add_row(
                v.kind.value,
                f"{v.time:.3f}" + (f"–{v.time_end:.3f}" if v.time_end > v.time else ""),
                v.context,
                " / ".join(v.bodies),
                value.split(" (limit ")[0],
                value.split(" (limit ")[-1].rstrip(")") if "(limit" in value else "",
            )
        console.print(table)
        if len(report.violations) > 60:
            console.print(f"... and {len(report.violations) - 60} more (see validation.json)")
    if report.seams:
        st = Table(title="seams")
        for col in (
            "seam",
            "arc [s]",
            "speed prog/plan [mm/s]",
            "max dev [mm]",
            "max angle err [°]",
            "nozzle clr [mm]",
        ):
            st.add_column(col)
        for m in report.seams:
            st.add_row(
                m.seam_id,
                f"{m.arc_time:.2f}",
                f"{m.travel_speed_programmed * 1e3:.2f} / {m.travel_speed_planned * 1e3:.2f}",
                f"{m.max_tcp_deviation * 1e3:.4f}",
                f"{m.max_torch_angle_error * 57.29577951308232:.3f}",
                f"{m.min_nozzle_clearance * 1e3:.2f}",
            )
        console.print(st)
    for note in report.notes:
        console.print(f"[dim]note: {note}[/]")


def validate_cmd(
    source: Path = typer.Argument(..., help="Weld program (.yaml) or planned trajectory (.npz)."),
    program: Path | None = typer.Option(
        None, "--program", "-p", help="Program of a trajectory file (its cell)."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Output folder for the report (and the plan of a program) (default: ./weldcell-out/<name>/).",
    ),
    dynamics: bool = typer.Option(False, "--dynamics", help="Also replay with motor dynamics (slower)."),
    images: bool = typer.Option(
        True, "--images/--no-images", help="Render cell images into the HTML report."
    ),
    scene_file: list[Path] = typer.Option(
        [], "--scene", help="Scene file(s) from sim/ adding bodies to the cell."
    ),
    stamp_key: Path | None = typer.Option(
        None,
        "--stamp-key",
        help="The cell's stamp key file: write a keyed (HMAC-SHA256) stamp. Default: $WELDCELL_STAMP_KEY, "
        "else an unkeyed stamp.",
    ),
    cell_config: Path | None = CalibrationConfigOption,
) -> None:
    """Validate a program or trajectory in pybullet; stamp it when it passes (exit 1 on violations)."""
    from weldcell.sim.stamping import write_validation_stamp
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, resolve_stamp_key

    key = resolve_stamp_key(FROM_ENVIRONMENT if stamp_key is None else stamp_key)  # a bad key fails first

    with _quiet_native_output():
        from weldcell.sim import PybulletWorld, ValidationOptions, build_scene, validate_in_scene
        from weldcell.sim.html_report import write_html_report
        from weldcell.sim.render import snapshot_images

    _check_source(source)
    bodies = _scene_bodies(scene_file)
    out_dir = out if out is not None else default_out_dir(source)
    setup = cell_setup_or_none(cell_config)
    prog, traj, traj_path = _load_inputs(source, program, out_dir, setup)  # creates out_dir before planning
    output_folder(out_dir)
    cell = _cell(prog, bodies)
    with console.status("validating in pybullet ..."), _quiet_native_output(), PybulletWorld() as world:
        scene = build_scene(world, cell)
        report = validate_in_scene(scene, traj, ValidationOptions(dynamic_replay=dynamics), prog)
        pictures = snapshot_images(scene, traj, report) if images else {}
    _print_report(report)
    (out_dir / "validation.json").write_text(report.to_json())
    html = write_html_report(report, out_dir / "validation.html", pictures)
    console.print(f"report: {out_dir / 'validation.json'}, {html}")
    if not report.passed:
        console.print("[bold red]not stamped[/]: fix the violations and validate again")
        raise typer.Exit(code=1)
    stamp = write_validation_stamp(report, traj_path, key=key)
    keyed = f" (keyed, key id {key.key_id})" if key is not None else " (unkeyed)"
    console.print(f"[green]stamped[/]: {stamp}{keyed}")


def view_cmd(
    source: Path = typer.Argument(..., help="Weld program (.yaml) or planned trajectory (.npz)."),
    program: Path | None = typer.Option(
        None, "--program", "-p", help="Program of a trajectory file (its cell)."
    ),
    record_to: Path | None = typer.Option(
        None, "--record", help="Render headless to out.gif / out.mp4 (+ PNG stills)."
    ),
    speed: float | None = typer.Option(None, "--speed", help="Playback speed factor."),
    fps: float = typer.Option(10.0, "--fps", help="Frames per second of a recording."),
    validate: bool = typer.Option(
        True, "--validate/--no-validate", help="Colour seams by validation status."
    ),
    exit_after: float | None = typer.Option(
        None, "--exit-after", help="Close the viewer after this many seconds."
    ),
    scene_file: list[Path] = typer.Option(
        [], "--scene", help="Scene file(s) from sim/ adding bodies to the cell."
    ),
) -> None:
    """Watch a program or trajectory in the 3D viewer (pybullet GUI), or record it headless."""
    import tempfile

    with _quiet_native_output():
        from weldcell.sim import validate_trajectory
        from weldcell.sim.viewer import check_record_options, check_view_options, record, view
        from weldcell.sim.world import check_display

    if record_to is not None:
        check_record_options(record_to, fps, speed)
        if exit_after is not None:
            raise WeldcellError("--exit-after is for the interactive viewer; a --record run ends by itself")
    else:
        check_view_options(1.0 if speed is None else speed, exit_after)
        check_display()
    _check_source(source)
    bodies = _scene_bodies(scene_file)
    with tempfile.TemporaryDirectory() as tmp:
        prog, traj, _ = _load_inputs(source, program, Path(tmp))
    cell = _cell(prog, bodies)
    report = None
    if validate:
        with console.status("validating ..."), _quiet_native_output():
            report = validate_trajectory(traj, prog, cell=cell)
        console.print(
            "validation: "
            + ("[green]passed[/]" if report.passed else f"[red]{len(report.violations)} violation(s)[/]")
        )
    if record_to is not None:
        with console.status(f"recording {record_to.name} ..."), _quiet_native_output():
            res = record(traj, cell, record_to, report, fps=fps, speed=speed)
        console.print(
            f"wrote {res.path} ({res.frames} frames at {res.speed:.1f}x) and {len(res.stills)} stills"
        )
        return
    res_view = view(traj, cell, report, speed=speed or 1.0, exit_after=exit_after)
    console.print(f"viewer closed after {res_view.frames} frames")


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``view`` to ``app``."""
    app.command("validate")(validate_cmd)
    app.command("view")(view_cmd)
