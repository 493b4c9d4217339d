"""The work of ``weldcell plan-batch`` on one program: plan, validate, write the same files as
``weldcell plan`` and ``weldcell validate`` (plan.json, trajectory.npz, validation.json,
validation.html and the validation stamp when it passed).

Runs in a worker process (local pool or Ray) and never prints: the outcome is the returned
:class:`~weldcell.batch.ItemResult`, failures included.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from weldcell.batch.runner import BatchTask, ItemResult, ItemStatus, result_path
from weldcell.cli.common import TRAJECTORY_FILE
from weldcell.errors import WeldcellError

PLAN_FILE = "plan.json"
VALIDATION_JSON = "validation.json"
VALIDATION_HTML = "validation.html"


def clear_outputs(out: Path) -> None:
    """Remove a previous run's files of this program from ``out``: a plan that fails now must not
    leave an older trajectory and its stamp next to it."""
    if not out.is_dir():
        return
    names = {PLAN_FILE, TRAJECTORY_FILE, VALIDATION_JSON, VALIDATION_HTML, result_path(out).name}
    for f in out.iterdir():
        if f.is_file() and (f.name in names or f.name.endswith(".stamp.json")):
            f.unlink()


def plan_options(options: dict[str, Any]) -> Any:
    """The planner's options from a batch task's options."""
    from weldcell.planning import LadderOptions, PlanOptions

    return PlanOptions(
        dt=float(options["dt_ms"]) * 1e-3,
        optimize_order=not options["keep_order"],
        ladder=LadderOptions(rotation_samples=int(options["rotation_samples"])),
        seed=int(options["seed"]),
        keep_configuration=bool(options["keep_configuration"]),
    )


def plan_and_validate_one(task: BatchTask) -> ItemResult:
    """Plan and validate ``task.program`` into ``task.out_dir``; every failure is a returned value."""
    out = task.out_dir
    base: dict[str, Any] = {"name": task.name, "program": str(task.program), "key": task.key}
    try:
        return _work(task, base)
    except WeldcellError as err:
        return ItemResult(status=ItemStatus.ERROR, reason=str(err), **base)
    except OSError as err:
        return ItemResult(
            status=ItemStatus.ERROR,
            reason=f"{out}: cannot write ({err.strerror or err})",
            **base,
        )


def _work(task: BatchTask, base: dict[str, Any]) -> ItemResult:
    from weldcell.cli.plan import _summary, incomplete_segments, welded_lengths
    from weldcell.cli.simulate import _quiet_native_output
    from weldcell.planning import plan_program, save_trajectory
    from weldcell.program import load_program
    from weldcell.toolpath.plausibility import program_warnings

    opts = dict(task.options)
    out = task.out_dir
    clear_outputs(out)
    out.mkdir(parents=True, exist_ok=True)
    prog = load_program(task.program)
    warnings = [w.message for w in program_warnings(prog)]
    t0 = time.perf_counter()
    result = plan_program(prog, plan_options(opts))
    plan_time = time.perf_counter() - t0
    welded = welded_lengths(result)
    incomplete = incomplete_segments(result, welded)
    traj_file = (
        None if result.trajectory is None else save_trajectory(result.trajectory, out / TRAJECTORY_FILE)
    )
    summary = _summary(result, prog, plan_time, traj_file, welded, incomplete)
    summary["warnings"] = warnings
    (out / PLAN_FILE).write_text(json.dumps(summary, indent=2))
    files = [PLAN_FILE] + ([TRAJECTORY_FILE] if traj_file is not None else [])
    common: dict[str, Any] = {
        **base,
        "robot": prog.cell.robot,
        "n_segments": len(result.seams),
        "cycle_time_s": float(result.cycle_time) if result.ok else None,
        "plan_time_s": round(plan_time, 3),
    }
    if not result.ok or result.trajectory is None:
        reasons = [result.reason] + [r.reason for r in result.seams if r.reason and r.reason != result.reason]
        return _finish(
            out,
            ItemResult(
                status=ItemStatus.PLAN_FAILED,
                reason="; ".join(reasons),
                files=tuple(files),
                report=PLAN_FILE,
                **common,
            ),
        )
    if incomplete:
        return _finish(
            out,
            ItemResult(
                status=ItemStatus.INCOMPLETE,
                reason="; ".join(incomplete),
                files=tuple(files),
                report=PLAN_FILE,
                **common,
            ),
        )

    with _quiet_native_output():
        from weldcell.sim import PybulletWorld, ValidationOptions, build_scene, validate_in_scene
        from weldcell.sim.html_report import write_html_report
        from weldcell.sim.render import snapshot_images
        from weldcell.sim.stamping import write_validation_stamp
        from weldcell.trajectory.stamp import resolve_stamp_key

    key_file = opts.get("stamp_key_file")
    key = resolve_stamp_key(None if key_file is None else Path(key_file))
    from weldcell.sim import CellModel

    t1 = time.perf_counter()
    with _quiet_native_output(), PybulletWorld() as world:
        scene = build_scene(world, CellModel.from_program(prog))
        report = validate_in_scene(
            scene, result.trajectory, ValidationOptions(dynamic_replay=bool(opts["dynamics"])), prog
        )
        pictures = snapshot_images(scene, result.trajectory, report) if opts["images"] else {}
    validate_time = time.perf_counter() - t1
    (out / VALIDATION_JSON).write_text(report.to_json())
    write_html_report(report, out / VALIDATION_HTML, pictures)
    files += [VALIDATION_JSON, VALIDATION_HTML]
    common["validate_time_s"] = round(validate_time, 3)
    if not report.passed:
        first = "; ".join(v.message() for v in report.violations[:3])
        more = f" (and {len(report.violations) - 3} more)" if len(report.violations) > 3 else ""
        return _finish(
            out,
            ItemResult(
                status=ItemStatus.VALIDATION_FAILED,
                reason=f"{len(report.violations)} violation(s): {first}{more}",
                violations=len(report.violations),
                files=tuple(files),
                report=VALIDATION_HTML,
                **common,
            ),
        )
    stamp = write_validation_stamp(report, out / TRAJECTORY_FILE, key=key)
    files.append(stamp.name)
    return _finish(
        out, ItemResult(status=ItemStatus.OK, files=tuple(files), report=VALIDATION_HTML, **common)
    )


def _finish(out: Path, result: ItemResult) -> ItemResult:
    """Write the result next to the program's outputs and return it."""
    result_path(out).write_text(json.dumps(result.to_dict(), indent=2))
    return result
