"""Cold start as a user meets it: a scratch copy of the package with no compiled kernels.

The package (``weldcell/``, ``urdf/``, ``programs/``) is copied to a scratch folder without any
``__pycache__`` (so numba's on-disk kernel cache is gone) and every command runs there in a fresh
interpreter, with ``NUMBA_CACHE_DIR`` and ``WELDCELL_CACHE_DIR`` pointing at empty scratch folders.
Measured, wall time of the whole process:

* ``python -c pass`` and ``python -c "import roboticstoolbox"``: the peers (interpreter start, and
  the kinematics library a weldcell-less script would import first);
* ``weldcell --help`` (target ≤ 0.2 s) and ``weldcell check`` of the demo program (target ≤ 0.5 s);
* the first ``weldcell plan`` with an empty kernel cache (numba compiles: what a user gets who
  skipped ``scripts/setup.sh``), then ``weldcell warmup`` alone (what setup does), then the first
  ``plan`` after warmup (target ≤ 5 s: the first plan after installing with the setup script) and a
  second one.

Usage: python benchmarks/bench_cold_start.py [--program programs/demo_tjoint.yaml] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}")
    return dt


def _best(args: list[str], cwd: Path, env: dict[str, str], repeat: int) -> float:
    return min(_run(args, cwd, env) for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", default="programs/demo_tjoint.yaml")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="weldcell-cold-") as tmp:
        scratch = Path(tmp) / "src"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
        for name in ("weldcell", "urdf", "programs"):
            shutil.copytree(ROOT / name, scratch / name, ignore=ignore)
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(scratch),
            NUMBA_CACHE_DIR=str(Path(tmp) / "numba"),
            WELDCELL_CACHE_DIR=str(Path(tmp) / "cache"),
            PYTHONDONTWRITEBYTECODE="0",
        )
        prog = str(scratch / a.program)
        wc = [py, "-m", "weldcell"]
        rows: list[tuple[str, float, str]] = []
        t_pass = _best([py, "-c", "pass"], scratch, env, a.repeat)
        t_rtb = _best([py, "-c", "import roboticstoolbox"], scratch, env, a.repeat)
        rows.append(("python -c pass (peer)", t_pass, ""))
        rows.append(("python -c 'import roboticstoolbox' (peer)", t_rtb, ""))
        rows.append(("weldcell --help", _best([*wc, "--help"], scratch, env, a.repeat), "≤ 0.2 s"))
        rows.append(("weldcell check (warm)", _best([*wc, "check", prog], scratch, env, a.repeat), "≤ 0.5 s"))
        out = Path(tmp) / "out"
        rows.append(
            (
                "first plan, empty kernel cache",
                _run([*wc, "plan", prog, "-o", str(out / "a")], scratch, env),
                "",
            )
        )
        shutil.rmtree(Path(tmp) / "numba", ignore_errors=True)
        for pycache in scratch.rglob("__pycache__"):
            for f in list(pycache.glob("*.nbi")) + list(pycache.glob("*.nbc")):
                f.unlink()
        rows.append(("weldcell warmup (what setup runs)", _run([*wc, "warmup"], scratch, env), ""))
        rows.append(
            (
                "first plan after warmup",
                _run([*wc, "plan", prog, "-o", str(out / "b")], scratch, env),
                "≤ 5 s",
            )
        )
        rows.append(("second plan", _run([*wc, "plan", prog, "-o", str(out / "c")], scratch, env), ""))
    print(f"cold start of a scratch copy ({a.program}), wall time of the whole process:")
    for name, t, target in rows:
        print(
            f"  {name:44s} {t:7.2f} s  {t / t_pass:6.1f}× python  {t / t_rtb:5.2f}× import rtb"
            f"  {('target ' + target) if target else ''}"
        )


if __name__ == "__main__":
    main()
