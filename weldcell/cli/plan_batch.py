"""``weldcell plan-batch DIR_OR_GLOB -o OUT``: plan and validate a catalogue of programs in parallel.

Each program gets the files of ``weldcell plan`` + ``weldcell validate`` in ``OUT/<name>/``; results
are cached by content (:mod:`weldcell.batch.cache`), so a second run plans only what changed.
``OUT/index.html`` links every program's report, ``OUT/batch.json`` lists the outcomes.
Exit status: 0 every program passed, 1 at least one failed (listed with the reason), 2 bad input.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import typer

from weldcell.cli.common import EXIT_ERROR, console, err_console, output_folder
from weldcell.cli.plan import MAX_DT_MS, MAX_ROTATION_SAMPLES, MIN_DT_MS, check_positive
from weldcell.errors import WeldcellError

PROGRAM_SUFFIXES = (".yaml", ".yml")
EXIT_FAILED = 1


def find_programs(source: str) -> list[Path]:
    """The program files of ``source``: a folder (its ``*.yaml``/``*.yml``), a glob or one file.

    Raises:
        WeldcellError: nothing matches (names the argument and what was expected).
    """
    path = Path(source)
    expected = "expected a folder of weld programs (.yaml), a glob such as 'parts/**/*.yaml', or a program"
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PROGRAM_SUFFIXES)
        if not found:
            raise WeldcellError(f"{source}: the folder holds no weld programs (*.yaml, *.yml); {expected}")
        return found
    if path.is_file():
        return [path]
    matches = sorted(Path(m) for m in glob.glob(source, recursive=True))  # noqa: PTH207 (absolute globs)
    found = [p for p in matches if p.is_file() and p.suffix.lower() in PROGRAM_SUFFIXES]
    if not found:
        what = "matches no weld program (.yaml)" if glob.has_magic(source) else "not found"
        raise WeldcellError(f"{source}: {what}; {expected}")
    return found


def unique_names(programs: list[Path]) -> list[str]:
    """One output-folder name per program: its stem, or its path below the common folder when stems clash."""
    stems = [p.stem for p in programs]
    if len(set(stems)) == len(stems):
        return stems
    resolved = [p.resolve() for p in programs]
    root = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    return [str(p.relative_to(root).with_suffix("")).replace(os.sep, "__") for p in resolved]


def _prepare(
    programs: list[Path], out: Path, options: dict[str, Any], key_options: dict[str, Any]
) -> tuple[list[Any], list[Any]]:
    """(tasks to run, results of programs that cannot even be keyed: bad files, unknown models)."""
    from weldcell.batch import BatchTask, ItemResult, ItemStatus, cache_key
    from weldcell.cli.batch_worker import clear_outputs
    from weldcell.program import load_program

    tasks, bad = [], []
    for name, path in zip(unique_names(programs), programs, strict=True):
        try:
            key = cache_key(load_program(path), key_options)
        except WeldcellError as err:
            clear_outputs(out / name)  # no older plan of it may stay behind
            bad.append(ItemResult(name, str(path), ItemStatus.ERROR, str(err)))
            continue
        tasks.append(BatchTask(name, path, out / name, options, key))
    return tasks, bad


def plan_batch_command(
    source: str = typer.Argument(
        ..., help="Folder of weld programs, a glob ('parts/**/*.yaml') or one program."
    ),
    out: Path = typer.Option(
        ..., "-o", "--out", help="Output folder: one sub-folder per program, index.html."
    ),
    workers: int = typer.Option(
        2,
        "--workers",
        "-j",
        help="Parallel workers (local processes, or the CPUs of --ray local); 0: in this process.",
    ),
    ray: str | None = typer.Option(
        None, "--ray", help="Run on Ray: a cluster address (ray://HOST:10001, HOST:6379, auto) or 'local'."
    ),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Result cache (default: OUT/.cache)."),
    use_cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse results of unchanged programs."),
    dt_ms: float = typer.Option(2.0, "--dt-ms", help="Controller period in ms."),
    rotation_samples: int = typer.Option(36, help="Samples of the free torch rotation per full turn."),
    keep_order: bool = typer.Option(False, help="Weld in file order even when a program leaves it open."),
    seed: int = typer.Option(0, help="Seed of the transit searches (same seed = identical trajectory)."),
    keep_configuration: bool = typer.Option(
        False, "--keep-configuration", help="Weld each job in one arm configuration."
    ),
    dynamics: bool = typer.Option(False, "--dynamics", help="Also replay with motor dynamics (slower)."),
    images: bool = typer.Option(False, "--images/--no-images", help="Render cell images into the reports."),
    stamp_key: Path | None = typer.Option(
        None, "--stamp-key", help="Stamp key file (keyed stamps). Default: $WELDCELL_STAMP_KEY, else unkeyed."
    ),
) -> None:
    """Plan and validate many programs in parallel; OUT/index.html links every report (exit 1: failures)."""
    from weldcell.batch import ResultCache, run_batch, write_index_html
    from weldcell.batch.runner import result_path, with_cached
    from weldcell.cli.batch_worker import clear_outputs, plan_and_validate_one
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, resolve_stamp_key

    check_positive("--dt-ms", dt_ms, "a controller period in ms (UR: 2)", upper=MAX_DT_MS, lower=MIN_DT_MS)
    if not 1 <= rotation_samples <= MAX_ROTATION_SAMPLES:
        raise WeldcellError(
            f"--rotation-samples {rotation_samples}: expected 1 … {MAX_ROTATION_SAMPLES} (default 36)"
        )
    if workers < 0 or (workers == 0 and ray is not None):
        raise WeldcellError(f"--workers {workers}: expected 1 or more (0: in this process, not with --ray)")
    if ray is not None:
        from weldcell.batch.runner import require_ray

        require_ray()  # a missing extra fails before any work
    key = resolve_stamp_key(FROM_ENVIRONMENT if stamp_key is None else stamp_key)  # a bad key fails first
    programs = find_programs(source)
    output_folder(out)
    options: dict[str, Any] = {
        "dt_ms": dt_ms,
        "rotation_samples": rotation_samples,
        "keep_order": keep_order,
        "seed": seed,
        "keep_configuration": keep_configuration,
        "dynamics": dynamics,
        "images": images,
        "stamp_key_file": None if key is None else str(Path(key.path).resolve()),
    }
    key_options = {k: v for k, v in options.items() if k != "stamp_key_file"}
    key_options["stamp_key_id"] = None if key is None else key.key_id
    cache = ResultCache(cache_dir if cache_dir is not None else out / ".cache")
    tasks, results = _prepare(programs, out, options, key_options)
    todo = []
    for t in tasks:
        hit = cache.get(t.key) if use_cache and t.key is not None else None
        if hit is None:
            todo.append(t)
            continue
        entry, stored = hit
        cached = with_cached(_item(stored, t), True)
        clear_outputs(t.out_dir)
        ResultCache.restore(entry, list(cached.files), t.out_dir)
        result_path(t.out_dir).write_text(json.dumps(cached.to_dict(), indent=2))
        results.append(cached)
    console.print(
        f"{len(programs)} program(s): {len(todo)} to plan, {len(tasks) - len(todo)} unchanged (cached), "
        f"{len(programs) - len(tasks)} that do not load; "
        + (f"Ray at {ray}" if ray is not None else f"{workers or 'no'} worker process(es)"),
        highlight=False,
    )
    t0 = time.perf_counter()
    planned = _run_with_progress(todo, plan_and_validate_one, workers, ray, run_batch)
    wall = time.perf_counter() - t0
    by_name = {t.name: t for t in todo}
    for r in planned:
        task = by_name[r.name]
        if use_cache and task.key is not None and r.status.value != "error":
            cache.put(task.key, task.out_dir, list(r.files), r.to_dict())
    results.extend(planned)
    order = {name: i for i, name in enumerate(unique_names(programs))}
    results.sort(key=lambda r: order[r.name])
    _write_outputs(results, out, wall, workers, ray, write_index_html)
    _print_table(results)
    failed = [r for r in results if not r.ok]
    console.print(
        f"{len(results) - len(failed)} of {len(results)} passed; planned {len(planned)} in {wall:.1f} s"
        + (f" ({len(planned) / wall:.2f} programs/s)" if planned and wall > 0 else "")
        + f"; index: {out / 'index.html'}",
        highlight=False,
    )
    if failed:
        err_console.print(f"[bold red]{len(failed)} program(s) failed:[/]", highlight=False)
        for r in failed:
            err_console.print(f"  {r.name}: {r.status.value}: {r.reason}", highlight=False, markup=False)
        sys.exit(EXIT_FAILED)


def _item(stored: dict[str, Any], task: Any) -> Any:
    """A cached result renamed to this run's task (the same content may sit under another name)."""
    from dataclasses import replace

    from weldcell.batch import ItemResult

    return replace(ItemResult.from_dict(stored), name=task.name, program=str(task.program))


def _run_with_progress(todo: list[Any], fn: Any, workers: int, ray: str | None, run_batch: Any) -> list[Any]:
    """Run the batch with a live progress bar on a terminal, one plain line per program otherwise."""
    if not todo:
        return []
    if not console.is_terminal:
        n = [0]

        def line(r: Any) -> None:
            n[0] += 1
            err_console.print(
                f"[{n[0]}/{len(todo)}] {r.name}: {r.status.value}", highlight=False, markup=False
            )

        return list(run_batch(todo, fn, workers=workers, ray_address=ray, on_done=line))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]plan + validate[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        job = bar.add_task("", total=len(todo))

        def advance(r: Any) -> None:
            bar.update(job, advance=1, description=f"{r.name}: {r.status.value}")

        return list(run_batch(todo, fn, workers=workers, ray_address=ray, on_done=advance))


def _write_outputs(
    results: list[Any], out: Path, wall: float, workers: int, ray: str | None, index: Any
) -> None:
    try:
        index(results, out)
        doc = {
            "schema": "weldcell.plan-batch/1",
            "workers": workers,
            "ray": ray,
            "wall_time_s": round(wall, 3),
            "programs": [r.to_dict() for r in results],
        }
        (out / "batch.json").write_text(json.dumps(doc, indent=2))
    except OSError as err:
        raise WeldcellError(f"--out {out}: cannot write the index ({err.strerror or err})") from err


def _print_table(results: list[Any]) -> None:
    from rich.table import Table

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}"

    if not console.is_terminal:
        for r in results:
            console.print(
                f"{r.name}: {r.status.value}, robot {r.robot or '-'}, {r.n_segments} segment(s), cycle "
                f"{num(r.cycle_time_s)} s{', cached' if r.cached else ''}",
                highlight=False,
                markup=False,
            )
        return
    table = Table(title=f"{len(results)} program(s)")
    for col in ("program", "robot", "status", "segments", "cycle [s]", "plan [s]", "cached"):
        table.add_column(col)
    for r in results:
        table.add_row(
            r.name,
            r.robot or "-",
            "[green]ok[/]" if r.ok else f"[red]{r.status.value}[/]",
            str(r.n_segments),
            num(r.cycle_time_s),
            f"{r.plan_time_s:.1f}",
            "yes" if r.cached else "",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``weldcell plan-batch`` to ``app``."""
    app.command("plan-batch")(plan_batch_command)


__all__ = ["EXIT_ERROR", "find_programs", "register", "unique_names"]
