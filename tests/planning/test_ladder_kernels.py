"""The compiled ladder kernels against plain numpy / Python references (bit for bit)."""

from __future__ import annotations

import numpy as np

from weldcell.planning._ladder_kernels import (
    _wrapped_abs,
    ladder_dp,
    ladder_dp_multi,
    limit_distance,
    nearest_branch,
)
from weldcell.planning.seam import _limit_distance

TWO_PI = 2.0 * np.pi


def _reference_dp(Q, valid, labels, node_cost, wrap, max_step, weights, start_cost, nbr, B):  # type: ignore[no-untyped-def]
    """The ladder programme as first written: one start-cost row, Python loops, numpy's modulo."""
    N, V, n = Q.shape
    cost = np.full((N, V), np.inf)
    back = np.full((N, V), -1)
    cost[0, valid[0]] = node_cost[0, valid[0]] + start_cost[valid[0]]
    for i in range(1, N):
        for v in np.flatnonzero(valid[i]):
            best, arg = np.inf, -1
            k, b = divmod(int(v), B)
            for kk in nbr[k]:
                if kk < 0:
                    break
                u = kk * B + b
                if cost[i - 1, u] == np.inf or labels[i - 1, u] != labels[i, v]:
                    continue
                d = Q[i, v] - Q[i - 1, u]
                d = np.abs(np.where(wrap == 1, (d + np.pi) % TWO_PI - np.pi, d))
                if np.any(d > max_step):
                    continue
                e = 0.0
                for j in range(n):
                    e += weights[j] * d[j] * d[j]
                if cost[i - 1, u] + e < best:
                    best, arg = cost[i - 1, u] + e, u
            if arg >= 0:
                cost[i, v] = best + node_cost[i, v]
                back[i, v] = arg
    return cost, back


def _random_ladder(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    N, K, B, n = 7, 6, 4, 6
    V = K * B
    # a common joint path, per-node scatter (some steps exceed max_step), whole turns on the wrapping
    # joints (edges join across them) and a few on the others (edges do not)
    wrap = np.array([1, 1, 0, 1, 0, 1])
    path = np.cumsum(rng.normal(0.0, 0.3, (N, 1, n)), axis=0)
    turns = rng.integers(-1, 2, (N, V, n)) * np.where(wrap == 1, 1, rng.random((N, V, n)) < 0.05)
    Q = path + rng.normal(0.0, 0.3, (N, V, n)) + TWO_PI * turns
    valid = rng.random((N, V)) < 0.8
    labels = (rng.random((N, V)) < 0.1).astype(np.int64)
    node_cost = rng.random((N, V))
    max_step = np.full(n, 1.2)
    weights = rng.uniform(0.5, 2.0, n)
    nbr = np.full((K, 4), -1)
    for k in range(K):
        nbr[k, :3] = [(k - 1) % K, k, (k + 1) % K]
    return Q, valid, labels, node_cost, wrap, max_step, weights, nbr, B, rng


def test_multi_row_programme_equals_separate_reference_runs() -> None:
    for seed in range(4):
        Q, valid, labels, node_cost, wrap, max_step, weights, nbr, B, rng = _random_ladder(seed)
        V = Q.shape[1]
        starts = np.stack([rng.random(V)] + [np.where(rng.random(V) < 0.3, 0.0, np.inf) for _ in range(4)])
        cost0, lasts, backs = ladder_dp_multi(
            Q, valid, labels, node_cost, wrap, max_step, weights, starts, nbr, B
        )
        # memory (issue #14): row 0's costs whole, every row's last costs, int32 predecessors
        assert cost0.shape == Q.shape[:2] and lasts.shape == starts.shape and backs.dtype == np.int32
        for f in range(len(starts)):
            ref_c, ref_b = _reference_dp(
                Q, valid, labels, node_cost, wrap, max_step, weights, starts[f], nbr, B
            )
            if f == 0:
                np.testing.assert_array_equal(cost0, ref_c)
            np.testing.assert_array_equal(lasts[f], ref_c[-1])
            np.testing.assert_array_equal(backs[f], ref_b)
        assert np.isfinite(cost0[-1]).any()  # the case exercises real paths
        single = ladder_dp(Q, valid, labels, node_cost, wrap, max_step, weights, starts[0], nbr, B)
        np.testing.assert_array_equal(single[0], cost0)
        np.testing.assert_array_equal(single[1], backs[0])


def test_wrapped_difference_is_numpys_modulo_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    d = np.r_[
        rng.uniform(-20.0, 20.0, 20_000),
        [np.pi, -np.pi, 3 * np.pi, -3 * np.pi, TWO_PI, -TWO_PI, 2 * TWO_PI, 0.0, -0.0, 1e-300],
        np.nextafter(np.pi, 0.0) * np.array([1.0, -1.0, 3.0, -3.0]),
    ]
    want = np.abs((d + np.pi) % TWO_PI - np.pi)
    got = np.array([_wrapped_abs(x, 1) for x in d])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.array([_wrapped_abs(x, 0) for x in d]), np.abs(d))


def test_limit_distance_and_nearest_branch_match_numpy() -> None:
    rng = np.random.default_rng(6)
    lo = np.array([-TWO_PI] * 5 + [-3.0])
    hi = -lo
    wrap = np.array([True] * 5 + [False])
    Q = rng.uniform(-8.0, 8.0, (40, 9, 6))
    d = np.minimum(Q - lo, hi - Q)
    shifted = np.maximum(
        np.minimum(Q + TWO_PI - lo, hi - Q - TWO_PI), np.minimum(Q - TWO_PI - lo, hi - Q + TWO_PI)
    )
    np.testing.assert_array_equal(_limit_distance(Q, lo, hi, wrap), np.where(wrap, np.maximum(d, shifted), d))
    np.testing.assert_array_equal(
        limit_distance(Q[0], lo, hi, wrap.astype(np.int64)), _limit_distance(Q[0], lo, hi, wrap)
    )

    Q[3, :, 2] = np.nan  # a sample without any solution
    Q[4, ::2, 0] = np.nan
    ref = rng.uniform(-3.0, 3.0, (40, 6))
    dd = Q - ref[:, None]
    dd = np.where(wrap, (dd + np.pi) % TWO_PI - np.pi, dd)
    dist = np.where(np.all(np.isfinite(Q), axis=-1), np.sum(dd * dd, axis=-1), np.inf)
    best, got = nearest_branch(Q, ref, wrap.astype(np.int64))
    np.testing.assert_array_equal(best, np.argmin(dist, axis=1))
    np.testing.assert_array_equal(got, dist[np.arange(40), best])
    assert got[3] == np.inf and np.isfinite(got[4])
