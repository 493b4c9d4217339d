"""Numba kernel of the ladder-graph dynamic programme (compiled once, cached on disk)."""

from __future__ import annotations

import numpy as np
from numba import njit

_TWO_PI = 2.0 * np.pi


@njit(cache=True)
def ladder_dp(Q, valid, labels, node_cost, wrap, max_step, weights, start_cost, nbr, B):  # pragma: no cover
    """Shortest path through the ladder graph.

    Args:
        Q: Node configurations (N, V, n) [rad] (rows of invalid nodes are ignored).
        valid: Node usable (N, V).
        labels: Configuration label code per node (N, V); edges only join equal labels (no flip).
        node_cost: Cost of visiting a node (N, V).
        wrap: 1 for joints whose difference is taken modulo 2π (range ≥ 2π), shape (n,).
        max_step: Largest joint change between neighbouring waypoints [rad], shape (n,).
        weights: Weight of each joint's squared change, shape (n,).
        start_cost: Extra cost of each first-layer node (N=0), shape (V,).
        nbr: Per orientation sample k, the samples an edge may come from (-1 padded), shape (K, D).
        B: IK branches per orientation sample; node v = k * B + b, edges keep the branch b.

    Returns:
        (cost (N, V) cost-to-come, inf where unreachable; back (N, V) predecessor index, -1 for none).
    """
    N, V, n = Q.shape
    cost = np.full((N, V), np.inf)
    back = np.full((N, V), -1, dtype=np.int64)
    for v in range(V):
        if valid[0, v]:
            cost[0, v] = node_cost[0, v] + start_cost[v]
    for i in range(1, N):
        for v in range(V):
            if not valid[i, v]:
                continue
            best = np.inf
            arg = -1
            k = v // B
            b = v - k * B
            for t in range(nbr.shape[1]):
                kk = nbr[k, t]
                if kk < 0:
                    break
                u = kk * B + b
                cu = cost[i - 1, u]
                if cu == np.inf or labels[i - 1, u] != labels[i, v]:
                    continue
                e = 0.0
                ok = True
                for j in range(n):
                    d = Q[i, v, j] - Q[i - 1, u, j]
                    if wrap[j]:
                        d = (d + np.pi) % _TWO_PI - np.pi
                    d = abs(d)
                    if d > max_step[j]:
                        ok = False
                        break
                    e += weights[j] * d * d
                if ok and cu + e < best:
                    best = cu + e
                    arg = u
            if arg >= 0:
                cost[i, v] = best + node_cost[i, v]
                back[i, v] = arg
    return cost, back
