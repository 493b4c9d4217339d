"""Seam ordering: the table-based 2-opt returns what evaluating every candidate tour in full returns."""

from __future__ import annotations

import numpy as np
import pytest

from weldcell.errors import PlanningError
from weldcell.planning.ordering import SeamEnds, move_time, order_seams

QD = np.array([2.0, 2.0, 3.0, 3.0, 3.0, 3.0])
QDD = np.array([4.0, 4.0, 6.0, 6.0, 6.0, 6.0])
WRAP = np.array([True, True, False, True, True, True])


def _reference_order(ends, home, precedence):  # type: ignore[no-untyped-def]
    """Greedy nearest neighbour then first-improvement 2-opt, each candidate tour summed in full."""
    options = [
        [(rev, *pair) for rev, pair in ((False, e.forward), (True, e.reverse)) if pair is not None]
        for e in ends
    ]
    m = len(options)
    before = [0] * m
    for i, j in precedence:
        before[j] |= 1 << i

    def c(a, b):  # type: ignore[no-untyped-def]
        return move_time(a, b, QD, QDD, WRAP)

    def tour(order):  # type: ignore[no-untyped-def]
        q, total = home, 0.0
        for i, d in order:
            total += c(q, options[i][d][1])
            q = options[i][d][2]
        return total + c(q, home)

    def feasible(order):  # type: ignore[no-untyped-def]
        done = 0
        for i, _ in order:
            if before[i] & done != before[i]:
                return False
            done |= 1 << i
        return True

    done, q, order = 0, home, []
    while len(order) < m:
        _, j, d = min(
            (c(q, options[j][d][1]), j, d)
            for j in range(m)
            if not done & (1 << j) and before[j] & done == before[j]
            for d in range(len(options[j]))
        )
        order.append((j, d))
        done |= 1 << j
        q = options[j][d][2]
    best, improved = tour(order), True
    while improved:
        improved = False
        for a in range(m - 1):
            for b in range(a + 1, m):
                seg = [(i, len(options[i]) - 1 - d) for i, d in order[a : b + 1][::-1]]
                cand = order[:a] + seg + order[b + 1 :]
                if feasible(cand) and tour(cand) < best - 1e-9:
                    order, best, improved = cand, tour(cand), True
    return [(i, options[i][d][0]) for i, d in order]


@pytest.mark.parametrize("seed", range(3))
def test_two_opt_matches_full_tour_evaluation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = 14
    ends = []
    for k in range(m):
        a, b = rng.uniform(-3.0, 3.0, (2, 6))
        ends.append(SeamEnds((a, b), (b + 0.01, a - 0.01) if k % 3 else None))
    home = np.zeros(6)
    precedence = [(0, 5), (2, 7), (9, 1)]
    got = order_seams(ends, home, QD, QDD, precedence, wrap=WRAP)
    assert got == _reference_order(ends, home, precedence)
    assert sorted(i for i, _ in got) == list(range(m))
    pos = {i: k for k, (i, _) in enumerate(got)}
    assert all(pos[i] < pos[j] for i, j in precedence)


def test_cyclic_precedence_is_refused() -> None:
    ends = [SeamEnds((np.zeros(6), np.ones(6)), None) for _ in range(12)]
    with pytest.raises(PlanningError, match="cycle"):
        order_seams(ends, np.zeros(6), QD, QDD, [(0, 1), (1, 0)], wrap=WRAP)
