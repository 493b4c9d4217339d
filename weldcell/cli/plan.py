"""``weldcell plan PROGRAM -o DIR``: plan a weld program into a trajectory file and a JSON summary."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import typer

from weldcell.cli.common import EXIT_ERROR, console, err_console, output_folder
from weldcell.errors import WeldcellError

MAX_DT_MS = 100.0  # longest controller period accepted by ``--dt-ms`` [ms]
MAX_ROTATION_SAMPLES = 720  # 0.5° steps; more only makes planning slow


def check_positive(option: str, value: float, expected: str, *, upper: float | None = None) -> None:
    """Fail with one line naming ``option`` unless ``0 < value`` (``<= upper``) and finite.

    Raises:
        WeldcellError: the value is zero, negative, NaN/inf or above ``upper``.
    """
    if not (math.isfinite(value) and value > 0 and (upper is None or value <= upper)):
        limit = f", at most {upper:g}" if upper is not None else ""
        raise WeldcellError(f"{option} {value:g}: expected {expected}, > 0{limit}")


def _summary(result: Any, program: Any, plan_time: float, traj_file: Path | None) -> dict[str, Any]:
    def num(x: float) -> float | None:
        return None if not math.isfinite(x) else round(x, 6)

    return {
        "schema": "weldcell.plan-summary/1",
        "program": str(program.path),
        "program_hash": program.hash,
        "status": result.status.value,
        "reason": result.reason,
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
                "arc_time_s": num(r.arc_time),
                "reversed": r.reversed,
                "min_clearance_m": num(r.min_clearance),
                "min_singularity_distance": num(r.min_singularity),
            }
            for r in result.seams
        ],
    }


def plan_command(
    program: Path = typer.Argument(..., help="Weld program (YAML)."),
    out: Path = typer.Option(..., "-o", "--out", help="Output directory (trajectory.npz, plan.json)."),
    dt_ms: float = typer.Option(2.0, "--dt-ms", help="Controller period in ms."),
    rotation_samples: int = typer.Option(36, help="Samples of the free torch rotation per full turn."),
    keep_order: bool = typer.Option(False, help="Weld in file order even when the program leaves it open."),
    seed: int = typer.Option(0, help="Seed of the transit searches (same seed = identical trajectory)."),
) -> None:
    """Plan PROGRAM: joint trajectory (trajectory.npz) and summary (plan.json) in DIR."""
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from weldcell.planning import LadderOptions, PlanOptions, PlanStatus, plan_program, save_trajectory
    from weldcell.program import load_program
    from weldcell.toolpath.plausibility import program_warnings

    check_positive("--dt-ms", dt_ms, "a controller period in ms (UR: 2)", upper=MAX_DT_MS)
    if not 1 <= rotation_samples <= MAX_ROTATION_SAMPLES:
        raise WeldcellError(
            f"--rotation-samples {rotation_samples}: expected a number of torch rotations to try per "
            f"full turn, 1 … {MAX_ROTATION_SAMPLES} (default 36)"
        )
    output_folder(out)
    prog = load_program(program)
    for w in program_warnings(prog):  # planned anyway, but loudly: the plan may weld the wrong thing
        err_console.print(f"[bold yellow]WARNING:[/] {escape(w.message)}", highlight=False)
    options = PlanOptions(
        dt=dt_ms * 1e-3,
        optimize_order=not keep_order,
        ladder=LadderOptions(rotation_samples=rotation_samples),
        seed=seed,
    )
    t0 = time.perf_counter()
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

        result = plan_program(prog, options, progress)
    plan_time = time.perf_counter() - t0
    traj_file = None
    try:
        if result.trajectory is not None:
            traj_file = save_trajectory(result.trajectory, out / "trajectory.npz")
        (out / "plan.json").write_text(json.dumps(_summary(result, prog, plan_time, traj_file), indent=2))
    except OSError as err:
        raise WeldcellError(
            f"--out {out}: cannot write {Path(err.filename or out).name} ({err.strerror or err})"
        ) from err

    table = Table(title=f"{prog.name}: {len(result.seams)} weld segment(s)")
    for col in ("seam", "pass", "stitch", "status", "length [mm]", "arc [s]", "dir", "clearance [mm]"):
        table.add_column(col)
    for r in result.seams:
        ok = r.status is PlanStatus.OK
        table.add_row(
            r.seam_id,
            str(r.pass_index + 1),
            str(r.stitch_index + 1),
            "[green]ok[/]" if ok else f"[red]{r.status.value}[/]",
            f"{r.length * 1e3:.1f}",
            f"{r.arc_time:.2f}" if ok else "-",
            "rev" if r.reversed else "fwd",
            f"{r.min_clearance * 1e3:.1f}" if ok and math.isfinite(r.min_clearance) else "-",
        )
    console.print(table)
    if not result.ok:
        err_console.print(f"[bold red]cannot plan:[/] {result.reason}", highlight=False)
        for r in result.seams:
            if r.status not in (PlanStatus.OK, PlanStatus.NOT_PLANNED) and r.reason != result.reason:
                err_console.print(f"  also: {r.reason}", highlight=False)
        sys.exit(EXIT_ERROR)
    console.print(
        f"cycle time [bold]{result.cycle_time:.2f} s[/]  arc time {result.arc_time:.2f} s  "
        f"air time {result.air_time:.2f} s  (planned in {plan_time:.1f} s)"
    )
    console.print(f"wrote {traj_file} and {out / 'plan.json'}")


def register(app: typer.Typer) -> None:
    """Add ``weldcell plan`` to ``app``."""
    app.command("plan")(plan_command)
