"""Cut a planned :class:`JointTrajectory` into the steps the cell executes, and build restarts.

A trajectory alternates arc-off motion (home → approach, retract → transit → approach, retract →
home) and arc-on blocks (arc-start dwell at rest, weld, crater fill at rest). The robot is at rest
at every arc on/off sample, so the cell can stop there for the arc handshake. :func:`job_steps`
returns that sequence as :class:`MoveStep` and :class:`SeamStep` index ranges (inclusive, sharing
their boundary sample).

:func:`continue_from` builds a rest-to-rest continuation of a slice from any sample: the robot
starts at rest on that sample, accelerates along the *same* geometric path (fractional-index
re-timing with a smooth ramp) and then follows the original samples. It is used to restart a seam
after an arc loss and to continue a transit move after a pause.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError
from weldcell.trajectory import ArcEvent, JointTrajectory

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class MoveStep:
    """Arc-off motion from sample ``i0`` to ``i1`` (inclusive), at rest at both ends."""

    i0: int
    i1: int


@dataclass(frozen=True, slots=True)
class SeamStep:
    """One arc-on block, samples ``i0`` (arc on, at rest) to ``i1`` (arc off, at rest), inclusive.

    Attributes:
        i0: First arc-on sample (start of the arc-start dwell).
        i1: Last arc-on sample (end of crater fill).
        weld0: First sample at which the torch moves (end of the dwell).
        weld1: Last sample at which the torch moves (start of crater fill).
        seam_id: Seam identifier.
        segment: Ordinal of this block among the blocks of the same seam (pass or stitch), from 0.
        s0: Seam arc length at the start of the block [m].
        s1: Seam arc length at the end of the block [m]. ``s1 < s0`` when the planner welds the
            seam backwards (from its programmed end to its start): "further along the weld" then
            means a smaller seam arc length, which :meth:`further` and :meth:`back_off` handle.
    """

    i0: int
    i1: int
    weld0: int
    weld1: int
    seam_id: str
    segment: int
    s0: float
    s1: float

    @property
    def forward(self) -> bool:
        """True when the weld runs towards growing seam arc length (``s1 >= s0``)."""
        return self.s1 >= self.s0

    def further(self, a: float, b: float) -> float:
        """Of two seam arc lengths [m], the one further along this weld."""
        return max(a, b) if self.forward else min(a, b)

    def back_off(self, s_stop: float, overlap: float) -> float:
        """Where to restart after the arc stopped at ``s_stop`` [m]: ``overlap`` [m] back along the
        weld (towards its start), never before the block's start ``s0``."""
        if self.forward:
            return max(s_stop - overlap, self.s0)
        return min(s_stop + overlap, self.s0)


Step = MoveStep | SeamStep


def job_steps(traj: JointTrajectory, *, rest_tol: float = 1e-9) -> tuple[Step, ...]:
    """Split a trajectory into arc-off moves and arc-on seam blocks, in execution order.

    Args:
        traj: The planned trajectory.
        rest_tol: Joint motion [rad] below which consecutive samples count as "at rest".

    Raises:
        InputShapeError: an arc-on block without a seam, or without seam arc lengths.
    """
    n = traj.n_samples
    steps: list[Step] = []
    prev = 0
    count: dict[str, int] = {}
    moving = np.concatenate([np.any(np.abs(np.diff(traj.q, axis=0)) > rest_tol, axis=1), [False]])
    for seg in traj.arc_segments():
        a, b, k = seg.first, seg.last, seg.seam_index
        if a > prev:
            steps.append(MoveStep(prev, a))
        if k < 0:
            raise InputShapeError(f"arc-on samples {a}..{b} (t={traj.t[a]:.3f} s) belong to no seam")
        s = traj.seam_s[a : b + 1]
        if not np.any(np.isfinite(s)):
            raise InputShapeError(f"arc-on samples {a}..{b} of seam {traj.seam_ids[k]!r} carry no seam_s")
        mv = np.flatnonzero(moving[a:b])
        weld0 = a + int(mv[0]) if mv.size else a
        weld1 = a + int(mv[-1]) + 1 if mv.size else b
        sid = traj.seam_ids[k]
        finite = s[np.isfinite(s)]  # in execution order: first and last are where the weld starts/ends
        steps.append(
            SeamStep(a, b, weld0, weld1, sid, count.get(sid, 0), float(finite[0]), float(finite[-1]))
        )
        count[sid] = count.get(sid, 0) + 1
        prev = b
    if prev < n - 1:
        steps.append(MoveStep(prev, n - 1))
    return tuple(steps)


def index_at_s(traj: JointTrajectory, step: SeamStep, s: float) -> int:
    """First moving weld sample of ``step`` that has reached seam arc length ``s`` [m] (clamped).

    "Reached" follows the weld's direction: seam arc length ≥ ``s`` on a forward weld, ≤ ``s`` on
    a seam welded backwards.
    """
    seg = traj.seam_s[step.weld0 : step.weld1 + 1]
    if step.forward:
        ok = np.flatnonzero(np.nan_to_num(seg, nan=-np.inf) >= s - 1e-12)
    else:
        ok = np.flatnonzero(np.nan_to_num(seg, nan=np.inf) <= s + 1e-12)
    if ok.size == 0:
        return step.weld1
    return step.weld0 + int(ok[0])


def restart_index(traj: JointTrajectory, step: SeamStep, s: float) -> int:
    """Weld sample of ``step`` to restart from so that the restart covers seam arc length ``s`` [m].

    The last moving weld sample that has not passed ``s`` in the weld's direction (seam arc length
    ≤ ``s`` on a forward weld, ≥ ``s`` backwards), clamped to the block: the sample
    :func:`index_at_s` returns, stepped back one sample unless it lies on ``s``. Restarting from
    the first sample *past* ``s`` would leave the overlap up to one sample spacing shorter than
    the programmed one; from this sample it is at least the programmed overlap (when the block
    allows it) and at most one sample spacing more.
    """
    i = index_at_s(traj, step, s)
    if i <= step.weld0:
        return step.weld0
    s_i = float(traj.seam_s[i])
    on_s = abs(s_i - s) <= 1e-12
    passed = (s_i > s) if step.forward else (s_i < s)
    return i - 1 if passed and not on_s else i


def slice_trajectory(traj: JointTrajectory, i0: int, i1: int) -> JointTrajectory:
    """Samples ``i0..i1`` (inclusive) as a trajectory starting at t = 0, events shifted."""
    if not 0 <= i0 <= i1 < traj.n_samples:
        raise InputShapeError(f"slice {i0}..{i1} outside the trajectory's 0..{traj.n_samples - 1}")
    sl = slice(i0, i1 + 1)
    t0 = float(traj.t[i0])
    events = tuple(
        ArcEvent(max(e.t - t0, 0.0), e.kind, e.seam_id, e.seam_s)
        for e in traj.events
        if t0 - 1e-9 <= e.t <= float(traj.t[i1]) + 1e-9
    )
    return traj.with_samples(
        traj.q[sl],
        traj.T_world_tcp[sl],
        arc_on=traj.arc_on[sl],
        seam_index=traj.seam_index[sl],
        seam_s=traj.seam_s[sl],
        events=events,
        qd=traj.qd[sl],
        qdd=traj.qdd[sl],
        q_ext=None if traj.external is None else traj.external.q[sl],
    )


def continue_from(
    traj: JointTrajectory,
    i_start: int,
    i_end: int,
    *,
    ramp_time: float = 0.15,
    dwell_samples: int = 0,
) -> tuple[JointTrajectory, NDArrayF]:
    """Rest-to-rest continuation of the path from sample ``i_start`` to ``i_end``.

    The result starts at rest exactly on ``traj.q[i_start]`` (after ``dwell_samples`` samples at
    rest there), accelerates along the same path with a smooth (C¹) speed ramp over ``ramp_time``
    [s] and then runs at the planned rate to ``i_end`` (which must be at rest, as the end of a slice
    is). The geometric path is unchanged: positions are linear interpolations between the original
    samples, so a restarted weld covers the seam from ``seam_s[i_start]`` with no gap.

    Args:
        traj: Planned trajectory.
        i_start: Sample to start from.
        i_end: Last sample (inclusive), at rest.
        ramp_time: Duration of the speed ramp [s].
        dwell_samples: Samples at rest before moving (arc-start dwell of a restarted weld).

    Returns:
        The new trajectory and, per new sample, the fractional index into ``traj`` (M,), which maps
        executed samples back to the plan (e.g. to ``seam_s``).
    """
    if not 0 <= i_start <= i_end < traj.n_samples:
        raise InputShapeError(f"continuation {i_start}..{i_end} outside 0..{traj.n_samples - 1}")
    n_ramp = max(round(ramp_time / traj.dt), 1)
    k = np.arange(n_ramp)
    x = k / n_ramp
    rate = x * x * (3.0 - 2.0 * x)  # smoothstep 0 → 1 samples per sample
    u_ramp = i_start + np.concatenate([[0.0], np.cumsum(rate)[:-1]])
    u_ramp = u_ramp[u_ramp < i_end]
    u_last = u_ramp[-1] if u_ramp.size else float(i_start)
    u_rest = np.arange(u_last + 1.0, i_end, 1.0)
    u = np.concatenate([np.full(dwell_samples, float(i_start)), u_ramp, u_rest, [float(i_end)]])
    return _resample(traj, u), u


def _resample(traj: JointTrajectory, u: NDArrayF) -> JointTrajectory:
    """Positions at fractional sample indices ``u`` (linear interpolation), times re-based."""
    lo = np.clip(np.floor(u).astype(np.int64), 0, traj.n_samples - 1)
    hi = np.clip(lo + 1, 0, traj.n_samples - 1)
    w = (u - lo)[:, None]
    q = (1 - w) * traj.q[lo] + w * traj.q[hi]
    T = traj.T_world_tcp[lo].copy()
    T[:, :3, 3] = (1 - w) * traj.T_world_tcp[lo, :3, 3] + w * traj.T_world_tcp[hi, :3, 3]
    s_lo, s_hi = traj.seam_s[lo], traj.seam_s[hi]
    s = np.where(np.isfinite(s_hi), (1 - w[:, 0]) * s_lo + w[:, 0] * s_hi, s_lo)
    near = np.clip(np.rint(u).astype(np.int64), 0, traj.n_samples - 1)
    arc = traj.arc_on[near]
    events: list[ArcEvent] = []
    if arc[0]:
        sid = traj.seam_ids[int(traj.seam_index[near[0]])]
        events.append(ArcEvent(0.0, "arc_on", sid, float(np.nan_to_num(s[0]))))
    if arc[-1]:
        sid = traj.seam_ids[int(traj.seam_index[near[-1]])]
        events.append(ArcEvent((len(u) - 1) * traj.dt, "arc_off", sid, float(np.nan_to_num(s[-1]))))
    q_ext = None
    if traj.external is not None:  # the positioner / track follows the same path positions
        q_ext = (1 - w) * traj.external.q[lo] + w * traj.external.q[hi]
    return traj.with_samples(
        q, T, arc_on=arc, seam_index=traj.seam_index[near], seam_s=s, events=tuple(events), q_ext=q_ext
    )
