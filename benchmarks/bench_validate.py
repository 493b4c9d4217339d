"""Validation speed as a multiple of real time, for every example program in programs/.

Each program is planned with the planner (``weldcell.planning.plan_program``); programs that do not
plan are listed with the planner's reason. The validation (pybullet FK at every sample, clearance
with the motion-bound scheme, limits, path, singularity; no dynamic replay) is timed inside an
already built scene, best of ``--repeat`` runs, and reported as trajectory duration / wall time
(and / CPU time of this process, which is the better figure on a machine shared with other jobs).

Usage: python benchmarks/bench_validate.py [--repeat 3] [--programs programs/demo_tjoint.yaml ...]
Target: at least 50x real time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from weldcell.planning import plan_program
from weldcell.program import load_program
from weldcell.sim import CellModel, PybulletWorld, ValidationOptions, build_scene, validate_in_scene

ROOT = Path(__file__).resolve().parents[1]


def bench(path: Path, repeat: int) -> str:
    try:
        program = load_program(path)
    except Exception as err:  # report and continue with the next program
        return f"{path.name:28s} does not load: {err}"
    t0 = time.perf_counter()
    result = plan_program(program)
    t_plan = time.perf_counter() - t0
    if result.trajectory is None:
        return f"{path.name:28s} does not plan ({t_plan:.1f} s): {result.reason}"
    traj = result.trajectory
    cell = CellModel.from_program(program)
    with PybulletWorld() as world:
        t0 = time.perf_counter()
        scene = build_scene(world, cell)
        t_scene = time.perf_counter() - t0
        best = best_cpu = float("inf")
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            report = validate_in_scene(scene, traj, ValidationOptions(), program)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
    m = report.metrics
    status = (
        "pass"
        if report.passed
        else f"{len(report.violations)} violation(s): {report.violations[0].message()}"
    )
    return (
        f"{path.name:28s} {traj.duration:7.2f} s traj, {traj.n_samples:6d} samples, validate {best:6.3f} s "
        f"= {traj.duration / best:6.1f}x real time (CPU time {traj.duration / best_cpu:6.1f}x; "
        f"{best / traj.n_samples * 1e6:5.1f} µs/sample, "
        f"scene {t_scene * 1e3:.0f} ms, queries on {m['clearance_query_samples'] / traj.n_samples:5.1%} "
        f"of samples); {status}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--programs", nargs="*", type=Path)
    args = ap.parse_args()
    paths = args.programs or sorted((ROOT / "programs").glob("*.yaml"))
    for p in paths:
        print(bench(p, args.repeat), flush=True)


if __name__ == "__main__":
    main()
