"""Numba kernel of the ladder-graph dynamic programme (compiled once, cached on disk)."""

from __future__ import annotations

import numpy as np
from numba import njit

_TWO_PI = 2.0 * np.pi


@njit(cache=True)
def _wrapped_abs(d, wrap):  # pragma: no cover
    """``|(d + π) % 2π - π|`` when ``wrap`` else ``|d|`` [rad], bit for bit, without the float modulo.

    Python's float ``%`` is ``fmod`` plus a sign fix; for ``x = d + π`` in [-2π, 4π) that is ``x - 2π``
    (exact) above 2π, ``x + 2π`` below 0 and ``x`` between, so the same rounding happens here.
    """
    if wrap:
        x = d + np.pi
        if x >= _TWO_PI:
            x = x - _TWO_PI if x < 2.0 * _TWO_PI else x % _TWO_PI
        elif x < 0.0:
            x = x + _TWO_PI if x >= -_TWO_PI else x % _TWO_PI
        d = x - np.pi
    return abs(d)


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
    cost, back = ladder_dp_multi(
        Q, valid, labels, node_cost, wrap, max_step, weights, start_cost.reshape(1, -1), nbr, B
    )
    return cost[0], back[0]


@njit(cache=True)
def ladder_dp_multi(  # pragma: no cover
    Q, valid, labels, node_cost, wrap, max_step, weights, start_cost, nbr, B
):
    """:func:`ladder_dp` for F start-cost rows at once, sharing the edge computations.

    ``start_cost`` has shape (F, V); the result ``cost``/``back`` has shape (F, N, V) and row f is
    exactly what :func:`ladder_dp` returns with ``start_cost[f]`` (same order of comparisons, same
    ties). An edge's joint steps are evaluated once for all rows, and not at all when no row
    reaches its source node.
    """
    N, V, n = Q.shape
    F = start_cost.shape[0]
    cost = np.full((F, N, V), np.inf)
    back = np.full((F, N, V), -1, dtype=np.int64)
    for f in range(F):
        for v in range(V):
            if valid[0, v]:
                cost[f, 0, v] = node_cost[0, v] + start_cost[f, v]
    best = np.empty(F)
    arg = np.empty(F, dtype=np.int64)
    for i in range(1, N):
        for v in range(V):
            if not valid[i, v]:
                continue
            for f in range(F):
                best[f] = np.inf
                arg[f] = -1
            k = v // B
            b = v - k * B
            lab = labels[i, v]
            for t in range(nbr.shape[1]):
                kk = nbr[k, t]
                if kk < 0:
                    break
                u = kk * B + b
                if labels[i - 1, u] != lab:
                    continue
                reached = False
                for f in range(F):
                    if cost[f, i - 1, u] != np.inf:
                        reached = True
                        break
                if not reached:
                    continue
                e = 0.0
                ok = True
                for j in range(n):
                    d = _wrapped_abs(Q[i, v, j] - Q[i - 1, u, j], wrap[j])
                    if d > max_step[j]:
                        ok = False
                        break
                    e += weights[j] * d * d
                if not ok:
                    continue
                for f in range(F):
                    cu = cost[f, i - 1, u]
                    if cu != np.inf and cu + e < best[f]:
                        best[f] = cu + e
                        arg[f] = u
            for f in range(F):
                if arg[f] >= 0:
                    cost[f, i, v] = best[f] + node_cost[i, v]
                    back[f, i, v] = arg[f]
    return cost, back


@njit(cache=True)
def limit_distance(Q, lo, hi, wrap):  # pragma: no cover
    """Distance to the nearest joint limit [rad] per joint, modulo 2π for wrapping joints, (M, n).

    Q (M, n) [rad]; lo, hi (n,) [rad]; wrap (n,) 1 for joints whose range spans a full turn (the
    best 2π-equivalent counts), for ``seam._limit_distance``.
    """
    M, n = Q.shape
    out = np.empty((M, n))
    for m in range(M):
        for j in range(n):
            q = Q[m, j]
            d = min(q - lo[j], hi[j] - q)
            if wrap[j]:
                up = min(q + _TWO_PI - lo[j], hi[j] - q - _TWO_PI)
                down = min(q - _TWO_PI - lo[j], hi[j] - q + _TWO_PI)
                d = max(d, max(up, down))
            out[m, j] = d
    return out


@njit(cache=True)
def nearest_branch(Q, q_ref, wrap):  # pragma: no cover
    """Per sample, the IK branch nearest a reference: ``argmin_b Σ_j wrapped(Q[m, b, j] - q_ref[m, j])²``.

    Q (M, B, n) [rad] (rows with a NaN are no solution); q_ref (M, n) [rad]; wrap (n,) 1 where the
    difference is taken modulo 2π. Returns (best (M,) branch index, the first of equals; its squared
    distance (M,) [rad²], inf when no branch has a solution).
    """
    M, B, n = Q.shape
    best = np.zeros(M, dtype=np.int64)
    dist = np.full(M, np.inf)
    for m in range(M):
        for b in range(B):
            s = 0.0
            finite = True
            for j in range(n):
                v = Q[m, b, j]
                if not np.isfinite(v):
                    finite = False
                    break
                d = _wrapped_abs(v - q_ref[m, j], wrap[j])
                s += d * d
            if finite and s < dist[m]:
                dist[m] = s
                best[m] = b
    return best, dist
