"""``weldcell plan PROGRAM -o DIR``: plan a weld program into a trajectory file and a JSON summary."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import typer

from weldcell.cli.calibrated import CalibrationConfigOption, cell_setup_or_none, load_calibrated_program
from weldcell.cli.common import (
    EXIT_ERROR,
    TRAJECTORY_FILE,
    announce_kernel_compile,
    console,
    default_out_dir,
    err_console,
    output_folder,
    plain_progress,
)
from weldcell.errors import WeldcellError

MAX_DT_MS = 100.0  # longest controller period accepted by ``--dt-ms`` [ms]
#: Shortest controller period accepted by ``--dt-ms`` [ms], twice as fast as the fastest arm interface
#: weldcell drives (UR RTDE 2 ms; KUKA RSI 4 ms, FANUC Stream Motion 4 ms, ABB EGM 4 ms); 0.0001 ms
#: planned 20 000 times the UR's samples and was still running after minutes.
MIN_DT_MS = 0.5
MAX_ROTATION_SAMPLES = 720  # 0.5° steps; more only makes planning slow


def check_positive(
    option: str, value: float, expected: str, *, upper: float | None = None, lower: float | None = None
) -> None:
    """Fail with one line naming ``option`` unless ``0 < value`` (``lower <= value <= upper``) and finite.

    Raises:
        WeldcellError: the value is zero, negative, NaN/inf, below ``lower`` or above ``upper``.
    """
    ok = math.isfinite(value) and value > 0
    ok = ok and (upper is None or value <= upper) and (lower is None or value >= lower)
    if not ok:
        low = f"at least {lower:g}" if lower is not None else "> 0"
        limit = f", at most {upper:g}" if upper is not None else ""
        raise WeldcellError(f"{option} {value:g}: expected {expected}, {low}{limit}")


WELDED_LENGTH_TOLERANCE = 1e-4  # [m] a segment counts as welded when at most 0.1 mm is missing


def welded_lengths(result: Any) -> list[float | None]:
    """Welded seam length [m] per segment report (weld order), None where nothing was welded."""
    from weldcell.planning.motion_report import welded_runs

    runs = [] if result.trajectory is None else welded_runs(result.trajectory)
    return [runs[i].length if i < len(runs) else None for i in range(len(result.seams))]


def incomplete_segments(result: Any, welded: list[float | None]) -> list[str]:
    """One sentence per programmed segment the plan does not weld end to end (empty: all welded)."""
    out = []
    for r, w in zip(result.seams, welded, strict=True):
        where = f"seam {r.seam_id!r} pass {r.pass_index + 1} stitch {r.stitch_index + 1}"
        if w is None:
            out.append(f"{where}: not welded ({r.status.value})")
        elif w < r.length - WELDED_LENGTH_TOLERANCE:
            out.append(f"{where}: welds {w * 1e3:.1f} mm of the programmed {r.length * 1e3:.1f} mm")
    return out


def _summary(
    result: Any,
    program: Any,
    plan_time: float,
    traj_file: Path | None,
    welded: list[float | None],
    incomplete: list[str],
) -> dict[str, Any]:
    def num(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else round(x, 6)

    return {
        "schema": "weldcell.plan-summary/1",
        "program": str(program.path),
        "program_hash": program.hash,
        "status": result.status.value,
        "reason": result.reason,
        "complete": result.ok and not incomplete,
        "incomplete": incomplete,
        "motion": None if result.motion is None else result.motion.to_dict(),
        "trajectory": None if traj_file is None else traj_file.name,
        "cycle_time_s": num(result.cycle_time),
        "arc_time_s": num(result.arc_time),
        "air_time_s": num(result.air_time),
        "plan_time_s": round(plan_time, 3),
        "seams": [
            {
                "seam_id": r.seam_id,
                "pass_index": r.pass_index,
                "stitch_index": r.stitch_index,
                "status": r.status.value,
                "reason": r.reason,
                "s_interval_m": None
                if r.s_interval is None
                else [num(r.s_interval[0]), num(r.s_interval[1])],
                "detail": r.detail,
                "length_m": num(r.length),
                "welded_length_m": num(w),
                "arc_time_s": num(r.arc_time),
                "reversed": r.reversed,
                "min_clearance_m": num(r.min_clearance),
                "min_singularity_distance": num(r.min_singularity),
            }
            for r, w in zip(result.seams, welded, strict=True)
        ],
        # positioner / track cells: achieved weld position per seam sample (planning/coordinated.py)
        "weld_position": None
        if result.trajectory is None
        else result.trajectory.metadata.get("weld_position"),
    }


def _plan_with_bar(prog: Any, options: Any) -> Any:
    """Plan with a live progress bar (on a terminal)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from weldcell.cli.memory import trimming
    from weldcell.planning import plan_program

    with Progress(
        TextColumn("[bold]planning[/]"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=1.0)

        def progress(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, description=message)

        return plan_program(prog, options, trimming(progress))  # trimming: peak memory, issue #14


def plan_command(
    program: Path = typer.Argument(..., help="Weld program (YAML)."),
    out: Path | None = typer.Option(
        None,
        "-o",
        "--out",
        help="Output folder for trajectory.npz and plan.json (default: ./weldcell-out/<program name>/).",
    ),
    dt_ms: float = typer.Option(2.0, "--dt-ms", help="Controller period in ms."),
    rotation_samples: int = typer.Option(36, help="Samples of the free torch rotation per full turn."),
    keep_order: bool = typer.Option(False, help="Weld in file order even when the program leaves it open."),
    seed: int = typer.Option(0, help="Seed of the transit searches (same seed = identical trajectory)."),
    keep_configuration: bool = typer.Option(
        False,
        "--keep-configuration",
        help="Weld the whole job in one arm configuration (no elbow/shoulder/wrist flip between welds).",
    ),
    cell_config: Path | None = CalibrationConfigOption,
) -> None:
    """Plan PROGRAM: joint trajectory (trajectory.npz) and summary (plan.json) in the output folder."""
    from rich.markup import escape

    from weldcell.cli.memory import trimming
    from weldcell.planning import LadderOptions, PlanOptions, PlanStatus, plan_program, save_trajectory
    from weldcell.toolpath.plausibility import program_warnings

    check_positive("--dt-ms", dt_ms, "a controller period in ms (UR: 2)", upper=MAX_DT_MS, lower=MIN_DT_MS)
    if not 1 <= rotation_samples <= MAX_ROTATION_SAMPLES:
        raise WeldcellError(
            f"--rotation-samples {rotation_samples}: expected a number of torch rotations to try per "
            f"full turn, 1 … {MAX_ROTATION_SAMPLES} (default 36)"
        )
    if out is None:
        out = default_out_dir(program)
    output_folder(out)
    announce_kernel_compile()
    prog = load_calibrated_program(program, cell_setup_or_none(cell_config))
    for w in program_warnings(prog):  # planned anyway, but loudly: the plan may weld the wrong thing
        err_console.print(f"[bold yellow]WARNING:[/] {escape(w.message)}", highlight=False)
    options = PlanOptions(
        dt=dt_ms * 1e-3,
        optimize_order=not keep_order,
        ladder=LadderOptions(rotation_samples=rotation_samples),
        seed=seed,
        keep_configuration=keep_configuration,
    )
    t0 = time.perf_counter()
    if not console.is_terminal:  # logs and pipes: a plain line per planning stage, not a live bar
        result = plan_program(prog, options, trimming(plain_progress()))  # trimming: issue #14
    else:
        result = _plan_with_bar(prog, options)
    plan_time = time.perf_counter() - t0
    welded = welded_lengths(result)
    incomplete = incomplete_segments(result, welded)
    traj_file = None
    try:
        if result.trajectory is not None:
            traj_file = save_trajectory(result.trajectory, out / TRAJECTORY_FILE)
        summary = _summary(result, prog, plan_time, traj_file, welded, incomplete)
        (out / "plan.json").write_text(json.dumps(summary, indent=2))
    except OSError as err:
        raise WeldcellError(
            f"--out {out}: cannot write {Path(err.filename or out).name} ({err.strerror or err})"
        ) from err

    _print_summary(prog, result, welded, plan_time)
    if not result.ok or incomplete:
        if not result.ok:
            err_console.print(f"[bold red]cannot plan:[/] {result.reason}", highlight=False)
            for r in result.seams:
                if r.status not in (PlanStatus.OK, PlanStatus.NOT_PLANNED) and r.reason != result.reason:
                    err_console.print(f"  also: {r.reason}", highlight=False)
        else:
            err_console.print(
                "[bold red]the plan does not weld every programmed segment:[/]", highlight=False
            )
            for line in incomplete:
                err_console.print(f"  {line}", highlight=False)
        if traj_file is not None:
            err_console.print(f"wrote {traj_file} (incomplete: do not run it) and {out / 'plan.json'}")
        sys.exit(EXIT_ERROR)
    console.print(
        f"cycle time [bold]{result.cycle_time:.2f} s[/]  arc time {result.arc_time:.2f} s  "
        f"air time {result.air_time:.2f} s  (planned in {plan_time:.1f} s)"
    )
    console.print(f"wrote {traj_file} and {out / 'plan.json'}")


def _print_summary(prog: Any, result: Any, welded: list[float | None], plan_time: float) -> None:
    """The segment and move figures: rich tables on a terminal, plain lines otherwise."""
    from rich.table import Table

    from weldcell.planning import PlanStatus

    def mm(x: float | None) -> str:
        return "-" if x is None or not math.isfinite(x) else f"{x * 1e3:.1f}"

    motion = result.motion
    moves = [] if motion is None else [m for m in motion.moves if m.kind != "weld"]
    if not console.is_terminal:
        for r, w in zip(result.seams, welded, strict=True):
            console.print(
                f"segment {r.seam_id} pass {r.pass_index + 1} stitch {r.stitch_index + 1}: "
                f"{r.status.value}, welded {mm(w)} of {mm(r.length)} mm, "
                f"{'reversed' if r.reversed else 'forward'}"
                + (f", arc {r.arc_time:.2f} s" if r.status is PlanStatus.OK else ""),
                highlight=False,
                markup=False,
            )
        for m in moves:
            console.print(
                f"move {m.kind} {m.label}: {m.duration:.2f} s, peak TCP {m.peak_tcp_speed * 1e3:.0f} mm/s, "
                f"peak elbow {m.peak_elbow_speed * 1e3:.0f} mm/s, joint travel "
                f"{math.degrees(m.joint_travel):.0f} deg, {m.configuration_changes} configuration change(s)",
                highlight=False,
                markup=False,
            )
    else:
        table = Table(title=f"{prog.name}: {len(result.seams)} weld segment(s)")
        for col in (
            "seam",
            "pass",
            "stitch",
            "status",
            "welded / programmed [mm]",
            "arc [s]",
            "dir",
            "clearance [mm]",
        ):
            table.add_column(col)
        for r, w in zip(result.seams, welded, strict=True):
            ok = r.status is PlanStatus.OK
            table.add_row(
                r.seam_id,
                str(r.pass_index + 1),
                str(r.stitch_index + 1),
                "[green]ok[/]" if ok else f"[red]{r.status.value}[/]",
                f"{mm(w)} / {mm(r.length)}",
                f"{r.arc_time:.2f}" if ok else "-",
                "rev" if r.reversed else "fwd",
                mm(r.min_clearance) if ok else "-",
            )
        console.print(table)
        if moves:
            mt = Table(title="moves (arc off)")
            for col in (
                "move",
                "between",
                "time [s]",
                "peak TCP [mm/s]",
                "peak elbow [mm/s]",
                "joints [deg]",
                "flips",
            ):
                mt.add_column(col)
            for m in moves:
                mt.add_row(
                    m.kind,
                    m.label,
                    f"{m.duration:.2f}",
                    f"{m.peak_tcp_speed * 1e3:.0f}",
                    f"{m.peak_elbow_speed * 1e3:.0f}",
                    f"{math.degrees(m.joint_travel):.0f}",
                    str(m.configuration_changes),
                )
            console.print(mt)
    if motion is not None:
        lim = motion.limits
        console.print(
            f"job: joint travel {math.degrees(motion.joint_travel):.0f} deg, "
            f"{motion.configuration_changes} configuration change(s), peak transit TCP speed "
            f"{motion.peak_transit_tcp_speed * 1e3:.0f} mm/s (limit {lim.tcp_speed * 1e3:.0f}), "
            f"peak elbow speed {motion.peak_elbow_speed * 1e3:.0f} mm/s (limit {lim.elbow_speed * 1e3:.0f})",
            highlight=False,
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``weldcell plan`` to ``app``."""
    app.command("plan")(plan_command)
