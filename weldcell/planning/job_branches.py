"""Job-wide choice of arm configurations: IK branch and joint turns of every seam, chosen together.

The seam search gives, per weld segment, the cheapest joint path of every arm configuration
(shoulder / elbow / wrist labels) that can weld it. Each such path may also be shifted by whole
turns (2π) on joints whose range allows it (UR joints turn ±360°): the same torch poses, other
joint values. Choosing per seam in isolation lets neighbouring seams 100 mm apart end up in
different configurations or with the base a full turn apart. Here the choice is made across the
job, in weld order, by a dynamic programme over the candidates of every segment:

* a candidate is (configuration path, turn shift); it starts at its approach and ends at its depart
  configuration;
* moving from one candidate to the next costs the estimated joint motion time
  ``Σ_j |Δq_j| / qd_max_j`` [s] plus ``change_cost`` when the configuration labels differ;
* the job starts and ends at home; with ``keep_configuration`` consecutive welds must share their
  labels (the moves from and to home are not restricted: home is the user's choice).

The result is optimal for the given order (Viterbi over at most a few hundred candidates per
segment, vectorised per step).
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

_MAX_SHIFTS = 64  # turn-shift variants kept per configuration path (nearest to the unshifted one)


@dataclass(frozen=True, slots=True)
class BranchOption:
    """One way to weld a segment: a configuration path (index into its plans) and a turn shift.

    Attributes:
        plan: Index of the configuration path among the segment's plans (0 = its own cheapest).
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
    """What the choice needs of one configuration path of a segment.

    Attributes:
        q_start, q_end: Approach and depart configurations [rad], shape (n,).
        q_min, q_max: Smallest and largest value per joint over the whole motion of the segment
            (approach, weld, depart) [rad], shape (n,).
        labels: Configuration labels, shape (3,).
    """

    q_start: NDArrayF
    q_end: NDArrayF
    q_min: NDArrayF
    q_max: NDArrayF
    labels: tuple[int, int, int]


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


def turn_shifts(
    span: PlanSpan, lower: NDArrayF, upper: NDArrayF, wrap: npt.NDArray[np.bool_]
) -> list[NDArrayF]:
    """Every whole-turn shift (n,) [rad] that keeps the segment's motion inside the joint limits.

    Zero first; at most ``_MAX_SHIFTS`` (the smallest total shift first).
    """
    per_joint: list[list[float]] = []
    for j in range(len(lower)):
        opts = [0.0]
        if wrap[j]:
            for k in (-2, -1, 1, 2):
                d = k * TWO_PI
                if span.q_min[j] + d >= lower[j] - 1e-9 and span.q_max[j] + d <= upper[j] + 1e-9:
                    opts.append(d)
        per_joint.append(opts)
    combos = [np.asarray(c, dtype=np.float64) for c in itertools.product(*per_joint)]
    combos.sort(key=lambda c: float(np.abs(c).sum()))
    return combos[:_MAX_SHIFTS]


def branch_options(
    spans: list[PlanSpan], lower: NDArrayF, upper: NDArrayF, wrap: npt.NDArray[np.bool_]
) -> list[BranchOption]:
    """All (configuration path, turn shift) options of one segment."""
    out = []
    for k, sp in enumerate(spans):
        for d in turn_shifts(sp, lower, upper, wrap):
            out.append(BranchOption(k, d, sp.q_start + d, sp.q_end + d, sp.labels))
    return out


def choose_branches(
    options: list[list[BranchOption]],
    home: NDArrayF,
    home_labels: tuple[int, int, int],
    qd_max: NDArrayF,
    *,
    change_cost: float = CONFIGURATION_CHANGE_COST,
    keep_configuration: bool = False,
) -> list[BranchOption] | KeepConfigurationFailure:
    """The cheapest option per segment, segments in weld order (see the module docstring).

    Args:
        options: Per segment in weld order, its options (non-empty).
        home: Home configuration [rad], shape (n,): start and end of the job.
        home_labels: Configuration labels of home.
        qd_max: Joint speed limits [rad/s], shape (n,) (weights of the joint motion).
        change_cost: Cost of a configuration change [s].
        keep_configuration: Consecutive welds must share their configuration labels.

    Returns:
        One option per segment, or a :class:`KeepConfigurationFailure`.
    """
    if not options:
        return []
    w = 1.0 / np.asarray(qd_max, dtype=np.float64)

    def labels_of(opts: list[BranchOption]) -> npt.NDArray[np.int64]:
        return np.array([o.labels for o in opts], dtype=np.int64).reshape(-1, 3)

    def move(
        a: NDArrayF, la: npt.NDArray[np.int64], b: NDArrayF, lb: npt.NDArray[np.int64], weld: bool
    ) -> NDArrayF:
        c: NDArrayF = np.abs(b[None, :, :] - a[:, None, :]) @ w
        differ = np.any(la[:, None, :] != lb[None, :, :], axis=-1)
        c = c + change_cost * differ
        if weld and keep_configuration:
            c = np.where(differ, np.inf, c)
        return c

    if keep_configuration:
        failure = _keep_check(options)
        if failure is not None:
            return failure
    h = np.asarray(home, dtype=np.float64)[None]
    hl = np.asarray(home_labels, dtype=np.int64)[None]
    first = options[0]
    cost = move(h, hl, np.array([o.q_start for o in first]), labels_of(first), False)[0]
    back: list[npt.NDArray[np.int64]] = []
    for prev, cur in itertools.pairwise(options):
        c = move(
            np.array([o.q_end for o in prev]),
            labels_of(prev),
            np.array([o.q_start for o in cur]),
            labels_of(cur),
            True,
        )
        total = cost[:, None] + c
        arg = np.argmin(total, axis=0)
        back.append(arg)
        cost = total[arg, np.arange(total.shape[1])]
    last = options[-1]
    cost = cost + move(np.array([o.q_end for o in last]), labels_of(last), h, hl, False)[:, 0]
    k = int(np.argmin(cost))
    picked = [k]
    for arg in reversed(back):
        k = int(arg[k])
        picked.append(k)
    picked.reverse()
    return [opts[i] for opts, i in zip(options, picked, strict=True)]


def _keep_check(options: list[list[BranchOption]]) -> KeepConfigurationFailure | None:
    """The first segment (in order) whose configurations leave none common to all welds so far."""
    common = {o.labels for o in options[0]}
    for i, opts in enumerate(options[1:], start=1):
        offered = {o.labels for o in opts}
        if not common & offered:
            return KeepConfigurationFailure(i, tuple(sorted(common)), tuple(sorted(offered)))
        common &= offered
    return None


def label_text(labels: tuple[int, int, int]) -> str:
    """Configuration labels as words, e.g. ``"shoulder +1, elbow -1, wrist +1"``."""
    return ", ".join(f"{n} {v:+d}" for n, v in zip(("shoulder", "elbow", "wrist"), labels, strict=True))


_ALT_MARGIN = 0.05  # [rad] allowance for the approach / depart around a not yet completed joint path


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
