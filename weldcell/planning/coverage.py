"""Weld coverage: does a trajectory weld every programmed pass and stitch end to end?

A trajectory's arc-on runs (``arc_on`` true over consecutive samples) each weld one segment of the
program; ``seam_s`` gives the arc length along the seam [m] on those samples (a seam welded backwards
counts down). :func:`check_coverage` matches every programmed segment (a pass or a stitch, with its
seam arc-length interval ``seg.s[0] .. seg.s[-1]``) to a distinct run of the same seam that covers
that interval end to end, monotonically, within ``tolerance``; whatever is left over on either side
is a problem, described in one sentence naming the seam. The planner runs this on every plan before
calling it OK, and the simulator's validator runs it again on the trajectory it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.trajectory import JointTrajectory

if TYPE_CHECKING:
    from weldcell.toolpath.segments import WeldSegment

NDArrayF = npt.NDArray[np.float64]
COVERAGE_TOLERANCE = 1e-5
"""[m] How far a welded run's ends may lie from the programmed segment's ends (0.01 mm)."""


@dataclass(frozen=True, slots=True)
class WeldRun:
    """One arc-on run of a trajectory.

    Attributes:
        seam_id: Seam welded (None when the run carries no valid seam index).
        i0, i1: First and last sample index.
        s_from, s_to: Smallest and largest seam arc length welded [m] (NaN when unknown).
        backwards: The seam arc length counts down (welded against the programmed direction).
        monotone: The seam arc length never turns back within the run.
    """

    seam_id: str | None
    i0: int
    i1: int
    s_from: float
    s_to: float
    backwards: bool
    monotone: bool

    @property
    def length(self) -> float:
        """Welded seam length [m] (0 when unknown)."""
        return float(self.s_to - self.s_from) if np.isfinite(self.s_to - self.s_from) else 0.0


@dataclass(frozen=True, slots=True)
class CoverageGap:
    """A programmed segment not welded end to end, or a run that welds nothing programmed.

    Attributes:
        seam_id: The seam.
        message: One sentence naming the seam, pass/stitch and the programmed and welded intervals.
        welded: Seam length welded [m] (of the closest run; 0 when none).
        programmed: Programmed length [m] (0 for a run that welds nothing programmed).
        run: Index of the closest run in :attr:`Coverage.runs`, or -1.
    """

    seam_id: str | None
    message: str
    welded: float
    programmed: float
    run: int


@dataclass(frozen=True, slots=True)
class Coverage:
    """Result of :func:`check_coverage`.

    Attributes:
        gaps: Every segment that is not welded end to end, and every run that welds nothing
            programmed; empty when the trajectory welds exactly the program.
        matched: Per programmed segment (input order), the index into ``runs`` that welds it, or -1.
        runs: The trajectory's arc-on runs in time order.
    """

    gaps: tuple[CoverageGap, ...]
    matched: tuple[int, ...]
    runs: tuple[WeldRun, ...]

    @property
    def complete(self) -> bool:
        """True when every segment is welded end to end and nothing else is welded."""
        return not self.gaps

    @property
    def problems(self) -> tuple[str, ...]:
        """The gaps' sentences."""
        return tuple(g.message for g in self.gaps)


def weld_runs(traj: JointTrajectory) -> tuple[WeldRun, ...]:
    """The arc-on runs of ``traj`` in time order."""
    out = []
    for seg in traj.arc_segments():
        a, b, k, sid = seg.first, seg.last, seg.seam_index, seg.seam_id
        s = np.asarray(traj.seam_s[a : b + 1], dtype=np.float64)
        if s.size == 0 or not np.all(np.isfinite(s)) or np.any(traj.seam_index[a : b + 1] != k):
            out.append(WeldRun(sid, a, b, float("nan"), float("nan"), False, False))
            continue
        ds = np.diff(s)
        backwards = bool(s[-1] < s[0])
        monotone = bool(np.all(ds <= 1e-12)) if backwards else bool(np.all(ds >= -1e-12))
        out.append(WeldRun(sid, a, b, float(s.min()), float(s.max()), backwards, monotone))
    return tuple(out)


def _label(seg: WeldSegment) -> str:
    return f"seam {seg.seam_id!r} pass {int(seg.pass_index) + 1}" + (
        f" stitch {int(seg.stitch_index) + 1}" if int(getattr(seg, "stitch_index", 0)) > 0 else ""
    )


def check_coverage(
    traj: JointTrajectory, segments: Sequence[WeldSegment], tolerance: float = COVERAGE_TOLERANCE
) -> Coverage:
    """Check that ``traj`` welds every segment end to end (see the module docstring).

    Args:
        traj: The trajectory.
        segments: The program's weld segments (``weldcell.toolpath.WeldSegment``: ``seam_id``,
            ``pass_index``, ``stitch_index``, ``s`` [m]), e.g. from ``toolpaths_for_program``.
        tolerance: Allowed distance [m] of a run's ends from the segment's ends.

    Returns:
        :class:`Coverage`.
    """
    runs = weld_runs(traj)
    used = [False] * len(runs)
    matched: list[int] = []
    gaps: list[CoverageGap] = []
    for seg in segments:
        s = np.asarray(seg.s, dtype=np.float64)
        lo, hi = float(s[0]), float(s[-1])
        hit = -1
        best: WeldRun | None = None
        best_r = -1
        for r, run in enumerate(runs):
            if used[r] or run.seam_id != seg.seam_id:
                continue
            if run.monotone and abs(run.s_from - lo) <= tolerance and abs(run.s_to - hi) <= tolerance:
                hit = r
                break
            if best is None or run.length > best.length:
                best, best_r = run, r
        matched.append(hit)
        if hit >= 0:
            used[hit] = True
            continue
        want = f"{lo * 1e3:.1f}-{hi * 1e3:.1f} mm ({(hi - lo) * 1e3:.1f} mm)"
        if best is None:
            msg = f"{_label(seg)} is not welded: programmed s = {want}, welded nothing"
            gaps.append(CoverageGap(seg.seam_id, msg, 0.0, hi - lo, -1))
        else:
            got = (
                f"{best.s_from * 1e3:.1f}-{best.s_to * 1e3:.1f} mm ({best.length * 1e3:.1f} mm)"
                if np.isfinite(best.s_from)
                else "an arc-on run without seam positions"
            )
            extra = "" if best.monotone else ", turning back along the seam"
            msg = f"{_label(seg)} is not welded end to end: programmed s = {want}, welded {got}{extra}"
            gaps.append(CoverageGap(seg.seam_id, msg, best.length, hi - lo, best_r))
            used[best_r] = True  # reported here, not again as a run that welds nothing programmed
    for r, run in enumerate(runs):
        if not used[r]:
            t = float(traj.t[run.i0])
            msg = (
                f"arc on at t = {t:.2f} s on seam {run.seam_id!r} (s = {run.s_from * 1e3:.1f}-"
                f"{run.s_to * 1e3:.1f} mm) welds no programmed pass"
            )
            gaps.append(CoverageGap(run.seam_id, msg, run.length, 0.0, r))
    return Coverage(tuple(gaps), tuple(matched), runs)


def welded_length_by_seam(traj: JointTrajectory) -> dict[str, float]:
    """Total welded seam length [m] per seam id over all arc-on runs (passes add up)."""
    out: dict[str, float] = {}
    for run in weld_runs(traj):
        if run.seam_id is not None:
            out[run.seam_id] = out.get(run.seam_id, 0.0) + run.length
    return out
