"""Collision flags of densely sampled joint paths, most samples proven free by a motion bound.

A weld is sampled every 2-4 ms: consecutive samples differ by micro-radians, and checking every one
of them (354 k samples for an eight-seam job) was a quarter of the planning time (issue #14). Here
one sample in ``stride`` (an *anchor*) gets an exact slack query, and a sample q near anchor q_a is
free without a query when

    lb(q_a) > 2 · Σ_j R_j · |q_j - q_a,j|

R_j [m/rad] are the checker's ``motion_coefficients`` (how far any capsule axis point can move per
radian of joint j), so a capsule moves by at most the sum and a pair distance (capsule to body:
once, capsule to capsule: twice) changes by at most twice that. ``lb`` is a lower bound of the
anchor's slack (smallest distance less requirement over all pairs): the query's slack is exact only
below its saturation value ``cap``; a pair culled above it is farther than ``cap`` but may need up
to the largest requirement, so ``lb = min(slack, cap - max requirement)`` (the anchors are
queried with ``cap = 1 cm + max requirement``). Every sample not
proven free this way is checked exactly, so the flags are those of ``checker.check`` (the test
compares them on random paths).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from weldcell.planning.collision import CollisionChecker

NDArrayF = npt.NDArray[np.float64]

STRIDE = 16  # samples per anchor
_CAP = 0.01  # [m] slack is exact below this (plus the largest requirement) at the anchors
_TOL = 1e-9  # [m] rounding allowance of the bound


def dense_free(checker: CollisionChecker, q: npt.ArrayLike, stride: int = STRIDE) -> npt.NDArray[np.bool_]:
    """Free flags (M,) of configurations q (M, n) [rad] sampled along a path; equal to ``checker.check(q)``.

    Fast when consecutive samples are close (a weld at its sample period, a joint move at its check
    resolution) and the checker gives slacks and a motion bound (``query``, ``motion_coefficients``,
    ``pair_requirements``, as :class:`~weldcell.planning.collision.CapsuleCollisionChecker`); any
    other checker is asked for every sample.

    Args:
        checker: The collision checker.
        q: Joint positions [rad], shape (M, n), in path order.
        stride: One sample in ``stride`` gets an exact query; the others are proven free from it or
            checked.
    """
    Q = np.ascontiguousarray(np.atleast_2d(np.asarray(q, dtype=np.float64)))
    coef_fn = getattr(checker, "motion_coefficients", None)
    query = getattr(checker, "query", None)
    req_fn = getattr(checker, "max_requirement", None)
    M = Q.shape[0]
    if coef_fn is None or query is None or req_fn is None or stride < 2 or 2 * stride > M:
        return np.asarray(checker.check(Q), dtype=np.bool_)
    coef = 2.0 * np.asarray(coef_fn(), dtype=np.float64)
    anchors = np.arange(0, M, stride)
    cap = _CAP + float(req_fn())  # so that culled pairs keep a slack of at least _CAP
    res = query(Q[anchors], exact_below=cap)
    lb = np.minimum(res.slack, _CAP)
    # nearest anchor of every sample; a NaN sample or anchor is never proven (NaN comparisons fail)
    near = np.minimum((np.arange(M) + stride // 2) // stride, len(anchors) - 1)
    reach = np.abs(Q - Q[anchors[near]]) @ coef
    proven = lb[near] - reach > _TOL
    free = np.zeros(M, dtype=np.bool_)
    free[proven] = True
    free[anchors] = res.free
    rest = np.flatnonzero(~proven)
    rest = rest[rest % stride != 0]  # anchors are decided by their exact query
    if rest.size:
        free[rest] = checker.check(Q[rest])
    return free
