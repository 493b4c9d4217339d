"""Batch planning throughput: a synthetic catalogue of 50 programs, planned and validated.

Run: ``python benchmarks/plan_batch.py [--n 50] [--modes serial,pool1,pool2,ray1,ray2]``.

The catalogue (``synthetic_catalogue.py``) cycles through five robots (UR3e/5e/10e/16e, KR6 R900)
and three joint kinds (T-joint fillets, lap fillet, square butt). Every mode plans and validates the
whole catalogue from scratch (no cache) with the same work function as ``weldcell plan-batch``:

* ``serial``: one after another in this process (the baseline of the ratios),
* ``pool1``, ``pool2``: the local process pool with 1 and 2 workers (their start-up included),
* ``ray1``, ``ray2``: a Ray instance started on this machine with 1 and 2 CPUs (``--ray local``;
  Ray's start-up is timed separately and excluded, as a cluster is started once for many batches).

Printed per mode: wall time, programs/s and the ratio to serial. The machine is shared (2 cores):
note ``uptime`` with the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic_catalogue import write_catalogue  # noqa: E402

from weldcell.batch import BatchTask, run_batch  # noqa: E402
from weldcell.cli.batch_worker import plan_and_validate_one  # noqa: E402

OPTIONS = {
    "dt_ms": 2.0,
    "rotation_samples": 36,
    "keep_order": False,
    "seed": 0,
    "keep_configuration": False,
    "dynamics": False,
    "images": False,
    "stamp_key_file": None,
}


def _tasks(programs: list[Path], out: Path) -> list[BatchTask]:
    return [BatchTask(p.stem, p, out / p.stem, OPTIONS) for p in programs]


def _run(mode: str, programs: list[Path], root: Path) -> tuple[float, int]:
    """(wall time [s], programs that passed) of one mode."""
    out = root / mode
    tasks = _tasks(programs, out)
    if mode == "serial":
        workers, ray = 0, None
    elif mode.startswith("pool"):
        workers, ray = int(mode[4:]), None
    else:
        workers, ray = int(mode[3:]), "local"
    t0 = time.perf_counter()
    results = run_batch(tasks, plan_and_validate_one, workers=workers, ray_address=ray)
    wall = time.perf_counter() - t0
    for r in results:
        if not r.ok:
            print(f"  {mode}: {r.name} {r.status.value}: {r.reason[:300]}")
    return wall, sum(r.ok for r in results)


def main() -> None:
    """Run the modes and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="Programs in the catalogue.")
    ap.add_argument("--modes", default="serial,pool1,pool2,ray1,ray2")
    args = ap.parse_args()
    modes = args.modes.split(",")
    with tempfile.TemporaryDirectory(prefix="weldcell-batch-bench-") as tmp:
        root = Path(tmp)
        programs = write_catalogue(args.n, root / "catalogue")
        print(f"{args.n} synthetic programs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        # warm the numba kernels' disk cache once so that no mode pays the first compilation
        run_batch(_tasks(programs[:1], root / "warm"), plan_and_validate_one, workers=0)
        rows = []
        for mode in modes:
            ray_init = None
            if mode.startswith("ray"):
                import ray

                t0 = time.perf_counter()
                ray.init(num_cpus=int(mode[3:]), include_dashboard=False, log_to_driver=False)
                ray_init = time.perf_counter() - t0
            try:
                wall, ok = _run(mode, programs, root)
            finally:
                if ray_init is not None:
                    import ray

                    ray.shutdown()
            rows.append((mode, wall, ok, ray_init))
            extra = f" (Ray start {ray_init:.1f} s, excluded)" if ray_init is not None else ""
            print(
                f"{mode:7s} {wall:7.1f} s  {args.n / wall:5.2f} programs/s  {ok}/{args.n} passed{extra}",
                flush=True,
            )
        base = next((w for m, w, _, _ in rows if m == "serial"), None)
        print("\nmode     wall [s]  programs/s  ratio to serial")
        for mode, wall, _ok, _ in rows:
            ratio = f"{base / wall:.2f}" if base else "-"
            print(f"{mode:7s} {wall:9.1f}  {args.n / wall:10.2f}  {ratio:>15s}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
