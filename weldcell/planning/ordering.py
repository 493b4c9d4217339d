"""Seam ordering: a small travelling-salesman problem over seam ends, with precedence constraints.

Each seam can be welded forward or (when reversible) backwards; welding it takes the robot from the
seam's start configuration to its end configuration. The cost of going from one seam to the next is
the estimated time of the joint move between them (per joint a trapezoidal profile under the speed
and acceleration limits, the slowest joint sets the time). The tour starts and ends at home. Up to
``exact_limit`` seams the optimum is found by dynamic programming over subsets (Held-Karp); beyond,
a greedy tour is improved by 2-opt moves that keep precedence.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.errors import PlanningError

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SeamEnds:
    """Start and end configurations [rad] (n,) of one seam per direction (None = direction not allowed)."""

    forward: tuple[NDArrayF, NDArrayF] | None
    reverse: tuple[NDArrayF, NDArrayF] | None


def move_time(
    q0: NDArrayF,
    q1: NDArrayF,
    qd_max: NDArrayF,
    qdd_max: NDArrayF,
    wrap: npt.NDArray[np.bool_] | None = None,
) -> float:
    """Estimated rest-to-rest joint move time [s] (slowest joint, trapezoidal profile).

    Joints in ``wrap`` count the shorter way round (the job-wide configuration choice,
    :mod:`~weldcell.planning.job_branches`, may shift a seam's joint path by whole turns).
    """
    d = np.abs(np.asarray(q1) - np.asarray(q0))
    if wrap is not None:
        d = np.where(wrap, np.abs((d + np.pi) % (2 * np.pi) - np.pi), d)
    v, a = qd_max, qdd_max
    t = np.where(d > v * v / a, d / v + v / a, 2.0 * np.sqrt(d / a))
    return float(np.max(t))


def order_seams(
    ends: list[SeamEnds],
    home: NDArrayF,
    qd_max: NDArrayF,
    qdd_max: NDArrayF,
    precedence: list[tuple[int, int]],
    exact_limit: int = 9,
    wrap: npt.NDArray[np.bool_] | None = None,
) -> list[tuple[int, bool]]:
    """Order and direction of the seams that minimises the estimated transit time.

    Args:
        ends: Per seam, its start/end configurations per allowed direction.
        home: Home configuration [rad], start and end of the tour.
        qd_max, qdd_max: Joint speed [rad/s] and acceleration [rad/s²] limits.
        precedence: Pairs (i, j): seam i must be welded before seam j.
        exact_limit: Largest number of seams solved exactly.
        wrap: Joints whose moves count the shorter way round (see :func:`move_time`).

    Returns:
        [(seam index, reversed), ...] in weld order.

    Raises:
        PlanningError: the precedence constraints contain a cycle.
    """
    m = len(ends)
    if m == 0:
        return []
    options: list[list[tuple[bool, NDArrayF, NDArrayF]]] = []
    for e in ends:
        opts = []
        if e.forward is not None:
            opts.append((False, e.forward[0], e.forward[1]))
        if e.reverse is not None:
            opts.append((True, e.reverse[0], e.reverse[1]))
        if not opts:
            raise PlanningError("a seam has no plannable direction")
        options.append(opts)
    before = [0] * m
    for i, j in precedence:
        before[j] |= 1 << i

    memo: dict[tuple[int, int], float] = {}

    def cost(q0: NDArrayF, q1: NDArrayF) -> float:
        key = (id(q0), id(q1))
        if key not in memo:
            memo[key] = move_time(q0, q1, qd_max, qdd_max, wrap)
        return memo[key]

    if m <= exact_limit:
        return _held_karp(options, before, home, cost)
    return _greedy_2opt(options, before, home, cost)


def _held_karp(
    options: list[list[tuple[bool, NDArrayF, NDArrayF]]],
    before: list[int],
    home: NDArrayF,
    cost: object,
) -> list[tuple[int, bool]]:
    m = len(options)
    c = cost
    best: dict[tuple[int, int, int], tuple[float, tuple[int, int, int] | None]] = {}
    for i in range(m):
        if before[i]:
            continue
        for d, (_, qs, _) in enumerate(options[i]):
            best[(1 << i, i, d)] = (c(home, qs), None)  # type: ignore[operator]
    for mask in range(1, 1 << m):
        for i, d in itertools.product(range(m), range(2)):
            key = (mask, i, d)
            if key not in best:
                continue
            base, _ = best[key]
            q_end = options[i][d][2]
            for j in range(m):
                if mask & (1 << j) or (before[j] & mask) != before[j]:
                    continue
                for e, (_, qs, _) in enumerate(options[j]):
                    nk = (mask | (1 << j), j, e)
                    val = base + c(q_end, qs)  # type: ignore[operator]
                    if nk not in best or val < best[nk][0]:
                        best[nk] = (val, key)
    full = (1 << m) - 1
    finals = [(v + c(options[k[1]][k[2]][2], home), k) for k, (v, _) in best.items() if k[0] == full]  # type: ignore[operator]
    if not finals:
        raise PlanningError("the seam precedence constraints contain a cycle; no weld order satisfies them")
    _, key = min(finals, key=lambda x: x[0])
    order: list[tuple[int, bool]] = []
    cur: tuple[int, int, int] | None = key
    while cur is not None:
        order.append((cur[1], options[cur[1]][cur[2]][0]))
        cur = best[cur][1]
    return order[::-1]


def _feasible(order: list[tuple[int, int]], before: list[int]) -> bool:
    done = 0
    for i, _ in order:
        if (before[i] & done) != before[i]:
            return False
        done |= 1 << i
    return True


def _greedy_2opt(
    options: list[list[tuple[bool, NDArrayF, NDArrayF]]],
    before: list[int],
    home: NDArrayF,
    cost: object,
) -> list[tuple[int, bool]]:
    c = cost
    m = len(options)
    done = 0
    q = home
    order: list[tuple[int, int]] = []
    while len(order) < m:
        cands = [
            (c(q, options[j][d][1]), j, d)  # type: ignore[operator]
            for j in range(m)
            if not done & (1 << j) and (before[j] & done) == before[j]
            for d in range(len(options[j]))
        ]
        if not cands:
            raise PlanningError(
                "the seam precedence constraints contain a cycle; no weld order satisfies them"
            )
        _, j, d = min(cands)
        order.append((j, d))
        done |= 1 << j
        q = options[j][d][2]
    # 2-opt on a table of the move times (every (seam, direction) end to every start, and home): the
    # O(m³) tour evaluations of a pass are then float additions, in the same order as a
    # walk along the tour from home back to home (same values, same sums as per-candidate evaluation)
    k_of = [[0] * len(o) for o in options]
    stops: list[tuple[int, int]] = []
    for i, o in enumerate(options):
        for d in range(len(o)):
            k_of[i][d] = len(stops)
            stops.append((i, d))
    from_home = [c(home, options[i][d][1]) for i, d in stops]  # type: ignore[operator]
    to_home = [c(options[i][d][2], home) for i, d in stops]  # type: ignore[operator]
    table = [[c(options[i][d][2], options[j][e][1]) for j, e in stops] for i, d in stops]  # type: ignore[operator]

    def tour_cost(o: list[tuple[int, int]]) -> float:
        ks = [k_of[i][d] for i, d in o]
        total = 0.0
        total += from_home[ks[0]]
        for k0, k1 in itertools.pairwise(ks):
            total += table[k0][k1]
        return float(total + to_home[ks[-1]])

    improved = True
    best = tour_cost(order)
    while improved:
        improved = False
        for a in range(m - 1):
            for b in range(a + 1, m):
                seg = [
                    (i, (len(options[i]) - 1 - d) if len(options[i]) > 1 else d)
                    for i, d in order[a : b + 1][::-1]
                ]
                cand = order[:a] + seg + order[b + 1 :]
                if _feasible(cand, before):
                    val = tour_cost(cand)
                    if val < best - 1e-9:
                        order, best, improved = cand, val, True
    return [(i, options[i][d][0]) for i, d in order]
