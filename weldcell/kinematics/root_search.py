"""Bracketing the roots of a one-parameter IK residual (arms with a non-spherical wrist).

The FANUC CRX (:mod:`weldcell.kinematics.crx`) and the ABB GoFa (:mod:`weldcell.kinematics.gofa`)
solve all IK branches by a 1-D search over one angle φ ∈ [0, 2π): for each φ the arm and the wrist
have closed-form solutions on several branches, and a residual ``f(φ)`` per branch is zero where
they fit together. :func:`bracket_roots` finds every sign change of ``f`` on a grid, plus the pairs
of roots that fall inside one grid cell (a local extremum that crosses zero), and returns brackets
the caller refines (bisection, false position).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

NDArrayF = npt.NDArray[np.float64]
NDArrayI = npt.NDArray[np.intp]

#: ``f_of(T, phi)``: poses (P, 4, 4) and angles (P, G) [rad] -> residuals (P, G, B), NaN where a
#: branch has no solution.
Residual = Callable[[NDArrayF, NDArrayF], NDArrayF]


def bracket_roots(
    T: NDArrayF, f_of: Residual, n_grid: int
) -> tuple[NDArrayI, NDArrayI, NDArrayF, NDArrayF, NDArrayF]:
    """Brackets of every root of ``f_of`` in φ ∈ [0, 2π], per pose and branch.

    Args:
        T: Poses (P, 4, 4).
        f_of: The residual (see :data:`Residual`).
        n_grid: Grid cells over the full turn.

    Returns:
        (pose index, branch index, lower bound, upper bound, residual at the lower bound), one
        entry per bracketed root, each shape (R,).
    """
    P = T.shape[0]
    grid = np.linspace(0.0, 2 * math.pi, n_grid + 1)
    f = f_of(T, np.broadcast_to(grid[:-1], (P, n_grid)))  # (P, G, 4)
    # f is periodic: φ = 2π takes the value at 0 (evaluated apart, the two differ by rounding, and
    # a root at exactly φ = 0 could fall between them, uncounted)
    f = np.concatenate([f, f[:, :1]], axis=1)
    s = np.sign(f)
    cross = (s[:, :-1] * s[:, 1:] <= 0) & np.isfinite(f[:, :-1]) & np.isfinite(f[:, 1:])
    cross &= ~((s[:, :-1] == 0) & (s[:, 1:] == 0))
    cross[:, 1:] &= ~(s[:, 1:-1] == 0)  # a root exactly on a grid point is counted once
    cross[:, -1] &= ~(s[:, -1] == 0)  # ... and one at φ = 2π is the one at 0
    pi_, gi, bi = np.nonzero(cross)
    lo, hi = grid[gi].copy(), grid[gi + 1].copy()
    flo = f[pi_, gi, bi]
    # two roots inside one grid cell leave no sign change: at a local extremum of f between grid
    # points of one sign, locate the extremum (golden section); if f changes sign there, bracket both.
    # The grid extended by one cell before 0 (φ = -Δ ≡ 2π - Δ): extrema at every grid point, 0 too
    grid = np.concatenate([[grid[-2] - 2 * math.pi], grid])
    f = np.concatenate([f[:, -2:-1], f], axis=1)
    s = np.sign(f)
    mid_f = f[:, 1:-1]
    ext = (
        ((mid_f - f[:, :-2]) * (f[:, 2:] - mid_f) < 0) & (s[:, :-2] == s[:, 1:-1]) & (s[:, 1:-1] == s[:, 2:])
    )
    ep, eg, eb = np.nonzero(ext)
    if ep.size:
        a_, b_ = grid[eg].copy(), grid[eg + 2].copy()
        sg = np.sign(f[ep, eg + 1, eb])
        gold = (math.sqrt(5.0) - 1.0) / 2.0
        er = np.arange(ep.size)
        for _ in range(30):
            c_, d_ = b_ - gold * (b_ - a_), a_ + gold * (b_ - a_)
            fc = f_of(T[ep], c_[:, None])[er, 0, eb] * sg
            fd = f_of(T[ep], d_[:, None])[er, 0, eb] * sg
            left = fc < fd
            a_, b_ = np.where(left, a_, c_), np.where(left, d_, b_)
        xm = 0.5 * (a_ + b_)
        fm = f_of(T[ep], xm[:, None])[er, 0, eb]
        two = np.sign(fm) == -sg
        ep, eg, eb, xm = ep[two], eg[two], eb[two], xm[two]
        pi_ = np.concatenate([pi_, ep, ep])
        bi = np.concatenate([bi, eb, eb])
        lo = np.concatenate([lo, grid[eg], xm])
        hi = np.concatenate([hi, xm, grid[eg + 2]])
        flo = np.concatenate([flo, f[ep, eg, eb], fm[two]])
    return pi_, bi, lo, hi, flo
