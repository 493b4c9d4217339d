"""Job-wide choice of arm configurations: IK branch, torch rotation and joint turns of every seam.

The seam search gives, per weld segment, the cheapest joint path of every arm configuration
(shoulder / elbow / wrist labels) and, with a free torch rotation, of every quarter turn of the
rotation at its start. Each such path may also be shifted by whole turns (2π) on joints whose
range allows it (UR joints turn ±360°): the same torch poses, other joint values. Choosing per
seam in isolation lets neighbouring seams 100 mm apart end up in different configurations, with
the torch turned half round, or with the base a full turn apart. Here the choice is made across
the job, in weld order, in two exact dynamic programmes:

1. **paths** (:func:`choose_branches`): one state per candidate path of each segment; moving from
   one to the next costs the estimated joint motion time ``Σ_j |Δq_j| / qd_max_j`` [s] (wrapping
   joints counted the short way round, as step 2 can shift them) plus ``change_cost`` when the
   configuration labels differ. The job starts and ends at home. With ``keep_configuration``
   consecutive welds must share their labels (the moves from and to home are not restricted:
   home is the user's choice).
2. **turns**: with the paths fixed, the cost separates by joint, so per wrapping joint a small
   programme over its admissible whole-turn shifts (those that keep the segment's whole motion
   inside the joint range) gives the exact least travel.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

NDArrayF = npt.NDArray[np.float64]
TWO_PI = 2.0 * np.pi

CONFIGURATION_CHANGE_COST = 3.0
"""Cost of one configuration change [s of joint motion]: a flip is chosen only to save more."""


@dataclass(frozen=True, slots=True)
class BranchOption:
    """How to weld a segment: a candidate path (index into its spans) and a whole-turn shift.

    Attributes:
        plan: Index of the candidate path among the segment's spans (0 = its own cheapest).
        shift: Whole turns added per joint [rad], shape (n,).
        q_start: Approach configuration with the shift [rad], shape (n,).
        q_end: Depart configuration with the shift [rad], shape (n,).
        labels: Configuration labels (shoulder, elbow, wrist), shape (3,).
    """

    plan: int
    shift: NDArrayF
    q_start: NDArrayF
    q_end: NDArrayF
    labels: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class PlanSpan:
    """What the choice needs of one candidate path of a segment.

    Attributes:
        q_start, q_end: Approach and depart configurations [rad], shape (n,).
        q_min, q_max: Smallest and largest value per joint over the whole motion of the segment
            (approach, weld, depart) [rad], shape (n,).
        labels: Configuration labels, shape (3,).
        extra_cost: Cost of welding the segment this way [s] (e.g. an approach that cannot go
            straight in; ``inf``: not possible after all).
    """

    q_start: NDArrayF
    q_end: NDArrayF
    q_min: NDArrayF
    q_max: NDArrayF
    labels: tuple[int, int, int]
    extra_cost: float = 0.0


@dataclass(frozen=True, slots=True)
class KeepConfigurationFailure:
    """``keep_configuration`` is impossible: the segment at ``position`` shares no configuration.

    Attributes:
        position: Index in the weld order of the first segment that would need a change.
        available: The configurations the welds before it could all share.
        offered: The configurations this segment can be welded in.
    """

    position: int
    available: tuple[tuple[int, int, int], ...]
    offered: tuple[tuple[int, int, int], ...]


def joint_shifts(span: PlanSpan, j: int, lower: float, upper: float) -> NDArrayF:
    """Whole-turn shifts [rad] of joint ``j`` that keep the segment inside [lower, upper]; 0 first."""
    out = [0.0]
    for k in (-2, -1, 1, 2):
        d = k * TWO_PI
        if span.q_min[j] + d >= lower - 1e-9 and span.q_max[j] + d <= upper + 1e-9:
            out.append(d)
    return np.asarray(out, dtype=np.float64)


def choose_branches(
    spans: list[list[PlanSpan]],
    home: NDArrayF,
    home_labels: tuple[int, int, int],
    qd_max: NDArrayF,
    lower: NDArrayF,
    upper: NDArrayF,
    wrap: npt.NDArray[np.bool_],
    *,
    change_cost: float = CONFIGURATION_CHANGE_COST,
    keep_configuration: bool = False,
) -> list[BranchOption] | KeepConfigurationFailure:
    """The candidate path and whole-turn shift per segment, segments in weld order (module docstring).

    Args:
        spans: Per segment in weld order, its candidate paths (non-empty).
        home: Home configuration [rad], shape (n,): start and end of the job.
        home_labels: Configuration labels of home.
        qd_max: Joint speed limits [rad/s], shape (n,) (weights of the joint motion).
        lower, upper: Joint limits [rad], shape (n,).
        wrap: Joints that may be shifted by whole turns, shape (n,).
        change_cost: Cost of a configuration change [s].
        keep_configuration: Consecutive welds must share their configuration labels.

    Returns:
        One option per segment, or a :class:`KeepConfigurationFailure`.
    """
    if not spans:
        return []
    if keep_configuration:
        failure = _keep_check(spans)
        if failure is not None:
            return failure
    w = 1.0 / np.asarray(qd_max, dtype=np.float64)
    wrap = np.asarray(wrap, dtype=bool)
    h = np.asarray(home, dtype=np.float64)
    picked = _choose_paths(spans, h, np.asarray(home_labels), w, wrap, change_cost, keep_configuration)
    chosen = [sp[k] for sp, k in zip(spans, picked, strict=True)]
    shift = np.zeros((len(chosen), len(h)))
    for j in np.flatnonzero(wrap):
        shift[:, j] = _choose_turns(chosen, int(j), float(h[j]), float(lower[j]), float(upper[j]))
    return [
        BranchOption(k, d, sp.q_start + d, sp.q_end + d, sp.labels)
        for k, sp, d in zip(picked, chosen, shift, strict=True)
    ]


def _choose_paths(
    spans: list[list[PlanSpan]],
    home: NDArrayF,
    home_labels: npt.NDArray[np.int64],
    w: NDArrayF,
    wrap: npt.NDArray[np.bool_],
    change_cost: float,
    keep: bool,
) -> list[int]:
    """Step 1: the candidate path per segment (Viterbi)."""

    def move(a: NDArrayF, la: Any, b: NDArrayF, lb: Any, weld: bool) -> NDArrayF:
        d = np.abs(b[None, :, :] - a[:, None, :])
        d = np.where(wrap, np.abs((d + np.pi) % TWO_PI - np.pi), d)
        c: NDArrayF = d @ w
        differ = np.any(np.asarray(la)[:, None, :] != np.asarray(lb)[None, :, :], axis=-1)
        c = c + change_cost * differ
        if weld and keep:
            c = np.where(differ, np.inf, c)
        return c

    def starts(sp: list[PlanSpan]) -> NDArrayF:
        return np.array([x.q_start for x in sp])

    def ends(sp: list[PlanSpan]) -> NDArrayF:
        return np.array([x.q_end for x in sp])

    def labs(sp: list[PlanSpan]) -> npt.NDArray[np.int64]:
        return np.array([x.labels for x in sp], dtype=np.int64).reshape(-1, 3)

    def own(sp: list[PlanSpan]) -> NDArrayF:
        return np.array([x.extra_cost for x in sp], dtype=np.float64)

    h, hl = home[None], home_labels[None]
    cost = move(h, hl, starts(spans[0]), labs(spans[0]), False)[0] + own(spans[0])
    back: list[npt.NDArray[np.int64]] = []
    for prev, cur in itertools.pairwise(spans):
        total = cost[:, None] + move(ends(prev), labs(prev), starts(cur), labs(cur), True) + own(cur)[None]
        arg = np.argmin(total, axis=0)
        back.append(arg)
        cost = total[arg, np.arange(total.shape[1])]
    cost = cost + move(ends(spans[-1]), labs(spans[-1]), h, hl, False)[:, 0]
    k = int(np.argmin(cost))
    picked = [k]
    for arg in reversed(back):
        k = int(arg[k])
        picked.append(k)
    return picked[::-1]


def _choose_turns(chosen: list[PlanSpan], j: int, home: float, lower: float, upper: float) -> NDArrayF:
    """Step 2: whole-turn shift of joint j per segment with the least travel from home to home."""
    shifts = [joint_shifts(sp, j, lower, upper) for sp in chosen]
    cost = np.abs(chosen[0].q_start[j] + shifts[0] - home)
    back = []
    for i in range(1, len(chosen)):
        a = chosen[i - 1].q_end[j] + shifts[i - 1]
        b = chosen[i].q_start[j] + shifts[i]
        total = cost[:, None] + np.abs(b[None, :] - a[:, None])
        arg = np.argmin(total, axis=0)
        back.append(arg)
        cost = total[arg, np.arange(total.shape[1])]
    cost = cost + np.abs(home - (chosen[-1].q_end[j] + shifts[-1]))
    k = int(np.argmin(cost))
    out = [float(shifts[-1][k])]
    for i in range(len(chosen) - 1, 0, -1):
        k = int(back[i - 1][k])
        out.append(float(shifts[i - 1][k]))
    return np.asarray(out[::-1], dtype=np.float64)


def _keep_check(spans: list[list[PlanSpan]]) -> KeepConfigurationFailure | None:
    """The first segment (in order) whose configurations leave none common to all welds so far."""
    common = {o.labels for o in spans[0]}
    for i, sp in enumerate(spans[1:], start=1):
        offered = {o.labels for o in sp}
        if not common & offered:
            return KeepConfigurationFailure(i, tuple(sorted(common)), tuple(sorted(offered)))
        common &= offered
    return None


def label_text(labels: tuple[int, int, int]) -> str:
    """Configuration labels as words, e.g. ``"shoulder +1, elbow -1, wrist +1"``."""
    return ", ".join(f"{n} {v:+d}" for n, v in zip(("shoulder", "elbow", "wrist"), labels, strict=True))


_ALT_MARGIN = 0.05  # [rad] allowance for the approach / depart around a not yet completed joint path


def completed_span(planned: Any, extra_cost: float = 0.0) -> PlanSpan:
    """The exact :class:`PlanSpan` of a completed segment (``q_approach``, ``q_depart``, ``weld.q``)."""
    allq = np.concatenate([planned.weld.q, planned.q_approach[None], planned.q_depart[None]])
    return PlanSpan(
        planned.q_approach,
        planned.q_depart,
        allq.min(axis=0),
        allq.max(axis=0),
        _labels(planned.path),
        extra_cost,
    )


def plan_spans(planned: Any) -> list[PlanSpan]:
    """The :class:`PlanSpan` of a planned segment (planner object with ``q_approach``,
    ``q_depart``, ``weld.q``, ``path.labels``) and of each of its ``alternatives`` (joint paths of
    other configurations, not yet completed: their ends and range stand in, with a small margin)."""
    allq = np.concatenate([planned.weld.q, planned.q_approach[None], planned.q_depart[None]])
    out = [
        PlanSpan(
            planned.q_approach, planned.q_depart, allq.min(axis=0), allq.max(axis=0), _labels(planned.path)
        )
    ]
    for path in planned.alternatives:
        q = np.asarray(path.q, dtype=np.float64)
        out.append(
            PlanSpan(q[0], q[-1], q.min(axis=0) - _ALT_MARGIN, q.max(axis=0) + _ALT_MARGIN, _labels(path))
        )
    return out


def _labels(path: Any) -> tuple[int, int, int]:
    lab = np.asarray(path.labels).ravel()
    return (int(lab[0]), int(lab[1]), int(lab[2]))


def shifted(planned: Any, shift: NDArrayF) -> Any:
    """A planned segment with whole turns ``shift`` (n,) [rad] added to all its joint values."""
    d = np.asarray(shift, dtype=np.float64)
    return replace(
        planned,
        path=replace(planned.path, q=planned.path.q + d, alternatives=()),
        weld=replace(planned.weld, q=planned.weld.q + d),
        q_approach=planned.q_approach + d,
        q_depart=planned.q_depart + d,
        alternatives=(),
    )
