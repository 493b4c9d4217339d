"""Seam detection benchmark: generated assemblies with known seams, clean and noisy.

Every family of :mod:`weldcell.cad.testparts` (T-joints upright and leaning, with gaps and
overlaps, lap and butt joints, open boxes, pipes on flanges, flanges on pipes, brackets) is
generated with random sizes, tessellations and a random rigid pose, once clean and once with
real-mesh defects (0.05 mm vertex noise, duplicate vertices and faces, a stray sliver), then
scored by :func:`weldcell.cad.evaluate.score`. Prints precision, recall, seam position error [mm]
and work-angle error [deg], per family and in total, and exits 1 when a target is missed
(precision and recall ≥ 0.95, position ≤ 0.5 mm, work angle ≤ 1°, both as 95th percentile and
as maximum over all samples).

    python benchmarks/seam_detection.py [--cases N] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from weldcell.cad import DetectOptions, detect_seams, make_part
from weldcell.cad.evaluate import score
from weldcell.cad.testparts import GENERATORS, moved, perturbed, random_rigid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=6, help="random cases per family and variant")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    opt = DetectOptions()
    rows = []
    totals = {"tp": 0, "det": 0, "found": 0, "known": 0}
    all_pos, all_ang = [], []
    t_total = time.perf_counter()
    for fam, gen in GENERATORS.items():
        for noisy in (False, True):
            tp = det = found = known = 0
            pos, ang = [], []
            t0 = time.perf_counter()
            for _ in range(args.cases):
                asm = moved(gen(rng), random_rigid(rng))
                if noisy:
                    asm = perturbed(asm, rng)
                parts = [make_part(n, V, F, opt) for n, V, F in asm.parts]
                sc = score(detect_seams(parts, opt), asm.seams)
                tp, det, found, known = (
                    tp + sc.true_pos,
                    det + sc.detected,
                    found + sc.found,
                    known + sc.known,
                )
                pos.append(sc.position_err)
                ang.append(sc.angle_err)
            p, a = np.concatenate(pos) * 1e3, np.rad2deg(np.concatenate(ang))
            all_pos.append(p)
            all_ang.append(a)
            for k, v in zip(("tp", "det", "found", "known"), (tp, det, found, known), strict=True):
                totals[k] += v
            rows.append(
                (fam + (" noisy" if noisy else ""), tp, det, found, known, p, a, time.perf_counter() - t0)
            )
    head = (
        f"{'family':<24}{'precision':>10}{'recall':>8}{'pos p95':>9}{'pos max':>9}"
        f"{'ang p95':>9}{'ang max':>9}{'s/case':>8}"
    )
    print(head)
    print("-" * len(head))
    for name, tp, det, found, known, p, a, dt in rows:
        print(
            f"{name:<24}{tp / max(det, 1):>10.3f}{found / max(known, 1):>8.3f}"
            f"{_pct(p, 95):>9.3f}{_max(p):>9.3f}{_pct(a, 95):>9.3f}{_max(a):>9.3f}{dt / args.cases:>8.2f}"
        )
    P, A = np.concatenate(all_pos), np.concatenate(all_ang)
    prec = totals["tp"] / max(totals["det"], 1)
    rec = totals["found"] / max(totals["known"], 1)
    print("-" * len(head))
    print(
        f"{'total':<24}{prec:>10.3f}{rec:>8.3f}{_pct(P, 95):>9.3f}{_max(P):>9.3f}"
        f"{_pct(A, 95):>9.3f}{_max(A):>9.3f}"
    )
    print(
        f"\n{totals['det']} detected, {totals['tp']} true; {totals['known']} known, {totals['found']} found; "
        f"position error [mm] mean {P.mean():.3f}; work-angle error [deg] mean {A.mean():.3f}; "
        f"{time.perf_counter() - t_total:.1f} s"
    )
    misses = []
    if prec < 0.95:
        misses.append(f"precision {prec:.3f} < 0.95")
    if rec < 0.95:
        misses.append(f"recall {rec:.3f} < 0.95")
    if _max(P) > 0.5:
        misses.append(f"largest position error {_max(P):.3f} mm > 0.5 mm")
    if _max(A) > 1.0:
        misses.append(f"largest work-angle error {_max(A):.3f}° > 1°")
    if misses:
        print("TARGETS MISSED: " + "; ".join(misses))
        return 1
    print("all targets met")
    return 0


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if len(x) else float("nan")


def _max(x: np.ndarray) -> float:
    return float(np.max(x)) if len(x) else float("nan")


if __name__ == "__main__":
    sys.exit(main())
