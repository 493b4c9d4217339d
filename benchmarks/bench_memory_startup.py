"""Peak memory of ``weldcell plan`` and start-up time of ``weldcell --help`` / ``weldcell check`` (issue #14).

Run: ``python benchmarks/bench_memory_startup.py [--program programs/box_frame.yaml] [--repeat 5]``.

Every figure is measured on a fresh ``weldcell`` process (``python -m weldcell``, the installed
command's code path), as a user meets it, and printed with its target:

* peak resident set (``ru_maxrss`` of the child) of ``weldcell plan programs/box_frame.yaml``
  (target ≤ 250 MB), with what a process holds before any planning data, measured the same way:
  the interpreter (peer: ``python -c pass``), ``import numba`` (peer: the JIT runtime alone),
  ``import weldcell.planning``, the same once numba's code generator and runtime are initialised
  (one trivial kernel compiled: what loading the first cached kernel costs, issue #14) and after
  loading the compiled kernels (one small plan);
* ``weldcell --help`` (target ≤ 0.2 s) and a warm ``weldcell check programs/demo_tjoint.yaml``
  (target ≤ 0.5 s): best wall time of ``--repeat`` runs and the CPU time of that run (on a shared
  machine the CPU time is what the code costs, the wall time what a user waits; note ``uptime``).

The kernels must be compiled first (``weldcell warmup``); a plan that compiles is not a memory figure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAN_PEAK_TARGET_MB = 250.0
HELP_TARGET_S = 0.2
CHECK_TARGET_S = 0.5


# Linux counts in a child's peak resident set the resident set of the process it was forked
# from (the peak is carried over when the child execs), so a benchmark that has planned before
# would report its own size: every command starts from this small launcher instead.
_LAUNCH = (
    "import os, subprocess, sys, time\n"
    "t0 = time.perf_counter()\n"
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "err = p.stderr.read()\n"
    "_, status, ru = os.wait4(p.pid, 0)\n"
    "sys.stderr.write(err.decode(errors='replace')[-2000:])\n"
    "print(time.perf_counter() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, status)\n"
)


def _child(args: list[str]) -> tuple[float, float, float]:
    """Run ``args``: (wall time [s], CPU time [s], peak resident set [MB]); exits on failure."""
    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCH, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    fields = proc.stdout.split()
    if proc.returncode != 0 or len(fields) != 4 or fields[3] != "0":
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return float(fields[0]), float(fields[1]), float(fields[2])  # Linux: ru_maxrss in KiB -> MB


def plan_peak_mb(program: Path, out_dir: Path) -> float:
    """Peak resident set [MB] of a fresh ``weldcell plan program -o out_dir`` process."""
    return _child([sys.executable, "-m", "weldcell", "plan", str(program), "-o", str(out_dir)])[2]


def _best(args: list[str], repeat: int) -> tuple[float, float, float]:
    return min(_child(args) for _ in range(repeat))


def main() -> None:
    """Measure and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", default="programs/box_frame.yaml", help="program whose plan is measured")
    ap.add_argument("--repeat", type=int, default=5, help="runs per timing (the best is printed)")
    a = ap.parse_args()
    py = sys.executable
    wc = [py, "-m", "weldcell"]
    print(f"== load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("== peak resident memory of a fresh process [MB]")
    small = "programs/demo_tjoint.yaml"
    floors = (
        ("python -c pass (peer)", [py, "-c", "pass"]),
        ("import numba (peer: the JIT runtime)", [py, "-c", "import numba"]),
        ("import weldcell.planning", [py, "-c", "import weldcell.planning"]),
        (
            "... and numba's JIT runtime initialised",
            [py, "-c", "import numba, weldcell.planning; numba.njit(lambda x: x + 1)(1)"],
        ),
        (
            "... and its kernels loaded (demo plan)",
            [py, "-c", f"from weldcell.planning import plan_program as p; from weldcell.program import "
             f"load_program as l; p(l({small!r}))"],
        ),
    )  # fmt: skip
    for name, args in floors:
        print(f"   {name:44s} {_best(args, 1)[2]:6.0f}")
    with tempfile.TemporaryDirectory(prefix="weldcell-bench-") as tmp:
        peaks = [plan_peak_mb(Path(a.program), Path(tmp)) for _ in range(2)]
    peak = min(peaks)
    verdict = "met" if peak <= PLAN_PEAK_TARGET_MB else f"missed by {peak - PLAN_PEAK_TARGET_MB:.0f} MB"
    print(
        f"   {'weldcell plan ' + Path(a.program).name:44s} {peak:6.0f}  "
        f"(target ≤ {PLAN_PEAK_TARGET_MB:.0f} MB: {verdict})"
    )
    print(f"== start-up: best wall time of {a.repeat} runs [s] (CPU time of that run)")
    rows = (
        ("python -c pass (peer)", [py, "-c", "pass"], None),
        ("weldcell --help", [*wc, "--help"], HELP_TARGET_S),
        ("weldcell check demo_tjoint.yaml (warm)", [*wc, "check", small], CHECK_TARGET_S),
    )
    _child([*wc, "check", small])  # warm: the arm's reach is cached by the first check
    for name, args, target in rows:
        wall, cpu, _ = _best(args, a.repeat)
        goal = (
            "" if target is None else f"  (target ≤ {target:.1f} s: {'met' if wall <= target else 'missed'})"
        )
        print(f"   {name:44s} {wall:6.3f} ({cpu:.3f}){goal}")


if __name__ == "__main__":
    main()
