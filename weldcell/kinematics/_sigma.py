"""Compiled kernels of the singularity measure: the smallest singular value of a scaled Jacobian.

``numpy.linalg.svd`` costs ~6 µs per 6 x 6 matrix in a batch (LAPACK call overhead per matrix); the
planner asks for the measure at every IK node of the seam search and every weld sample (close to a
million configurations for an eight-seam job). These kernels compute the same quantity,
``σ_min(diag(s) · J)`` (see :func:`weldcell.kinematics.robot.singularity_distance_from_jacobian`),
with a one-sided Jacobi SVD (Hestenes), which is accurate to a few ulps also for the small singular
values that matter here, and optionally skip it where a cheap lower bound already shows
``σ_min ≥ exact_below``:

    σ_min ≥ 1 / ‖A⁻¹‖_F = (Σ 1/σ_i²)^(-1/2) ≥ σ_min / √6     (A square 6 x 6, one LU solve)
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from weldcell.kinematics.chain import _frames_core

NDArrayF = npt.NDArray[np.float64]
NDArrayI = npt.NDArray[np.int64]

_MAX_SWEEPS = 60
_BLOCK = 256


@numba.njit(cache=True, error_model="numpy")
def _sigma_min_rows(A: NDArrayF, m: int, n: int) -> float:  # pragma: no cover - compiled
    """Smallest singular value of A[:m, :n] (m ≤ n) by one-sided Jacobi on its rows (A is overwritten)."""
    for _sweep in range(_MAX_SWEEPS):
        rotated = False
        for p in range(m - 1):
            for r in range(p + 1, m):
                alpha = 0.0
                beta = 0.0
                gamma = 0.0
                for j in range(n):
                    a = A[p, j]
                    b = A[r, j]
                    alpha += a * a
                    beta += b * b
                    gamma += a * b
                if gamma == 0.0 or abs(gamma) <= 1e-15 * math.sqrt(alpha * beta):
                    continue
                rotated = True
                zeta = (beta - alpha) / (2.0 * gamma)
                t = (1.0 if zeta >= 0.0 else -1.0) / (abs(zeta) + math.sqrt(1.0 + zeta * zeta))
                c = 1.0 / math.sqrt(1.0 + t * t)
                s = c * t
                for j in range(n):
                    a = A[p, j]
                    b = A[r, j]
                    A[p, j] = c * a - s * b
                    A[r, j] = s * a + c * b
        if not rotated:
            break
    best = np.inf
    for p in range(m):
        nn = 0.0
        for j in range(n):
            nn += A[p, j] * A[p, j]
        best = min(best, nn)
    return math.sqrt(best)


@numba.njit(cache=True, error_model="numpy")
def _inverse_lower_bound(A: NDArrayF, W: NDArrayF, X: NDArrayF) -> float:  # pragma: no cover - compiled
    """``1 / ‖A⁻¹‖_F`` for a 6 x 6 A: a lower bound of σ_min(A) within a factor √6 (0 if singular).

    ``‖A⁻¹‖_F² = Σ 1/σ_i²`` ≤ 6/σ_min². LU with partial pivoting (W, X: 6 x 6 scratch).
    """
    for i in range(6):
        for j in range(6):
            W[i, j] = A[i, j]
    perm = np.arange(6)
    for col in range(6):
        piv = col
        big = abs(W[col, col])
        for i in range(col + 1, 6):
            if abs(W[i, col]) > big:
                big = abs(W[i, col])
                piv = i
        if big == 0.0:
            return 0.0
        if piv != col:
            for j in range(6):
                W[col, j], W[piv, j] = W[piv, j], W[col, j]
            perm[col], perm[piv] = perm[piv], perm[col]
        inv = 1.0 / W[col, col]
        for i in range(col + 1, 6):
            f = W[i, col] * inv
            W[i, col] = f
            for j in range(col + 1, 6):
                W[i, j] -= f * W[col, j]
    total = 0.0
    for e in range(6):  # column e of A⁻¹: solve L U x = P e_e
        for i in range(6):
            x = 1.0 if perm[i] == e else 0.0
            for j in range(i):
                x -= W[i, j] * X[j, e]
            X[i, e] = x
        for i in range(5, -1, -1):
            x = X[i, e]
            for j in range(i + 1, 6):
                x -= W[i, j] * X[j, e]
            x /= W[i, i]
            X[i, e] = x
            total += x * x
    if not total < np.inf:
        return 0.0
    return 1.0 / math.sqrt(total)


@numba.njit(cache=True, error_model="numpy")
def _measure(
    A: NDArrayF, W: NDArrayF, X: NDArrayF, n: int, exact_below: float
) -> float:  # pragma: no cover - compiled
    """σ_min of A (6, n), exact below ``exact_below`` and saturated at it (A is overwritten).

    The bound is taken with a relative safety factor of 1e-9 (far above the rounding of a 6 x 6 LU
    solve at the condition numbers where it decides), so a saturated value is never wrong."""
    if n == 6 and exact_below < np.inf and _inverse_lower_bound(A, W, X) * (1.0 - 1e-9) >= exact_below:
        return exact_below
    return min(_sigma_min_rows(A, 6, n), exact_below)


@numba.njit(cache=True, error_model="numpy")
def sigma_min_batch(
    J: NDArrayF, row_scale: NDArrayF, exact_below: float
) -> NDArrayF:  # pragma: no cover - compiled
    """``min(σ_min(diag(row_scale) · J[k]), exact_below)`` per k for J (M, 6, n), n ≥ 6; shape (M,)."""
    M = J.shape[0]
    n = J.shape[2]
    out = np.empty(M)
    A = np.empty((6, n))
    W = np.empty((6, 6))
    X = np.empty((6, 6))
    for k in range(M):
        for i in range(6):
            for j in range(n):
                A[i, j] = row_scale[i] * J[k, i, j]
        out[k] = _measure(A, W, X, n, exact_below)
    return out


@numba.njit(cache=True, error_model="numpy")
def _scaled_jacobian(
    F: NDArrayF, k: int, axes: NDArrayF, qidx: NDArrayI, row_scale: NDArrayF, A: NDArrayF
) -> None:  # pragma: no cover - compiled
    """A = diag(row_scale) · flange Jacobian of the frames F[k] (see :func:`chain_sigma_min`)."""
    Jn = axes.shape[0]
    n = A.shape[1]
    for i in range(6):
        for j in range(n):
            A[i, j] = 0.0
    pex, pey, pez = F[k, Jn, 0, 3], F[k, Jn, 1, 3], F[k, Jn, 2, 3]
    for j in range(Jn):
        qi = qidx[j]
        if qi < 0:
            continue
        ax, ay, az = axes[j, 0], axes[j, 1], axes[j, 2]
        wx = F[k, j + 1, 0, 0] * ax + F[k, j + 1, 0, 1] * ay + F[k, j + 1, 0, 2] * az
        wy = F[k, j + 1, 1, 0] * ax + F[k, j + 1, 1, 1] * ay + F[k, j + 1, 1, 2] * az
        wz = F[k, j + 1, 2, 0] * ax + F[k, j + 1, 2, 1] * ay + F[k, j + 1, 2, 2] * az
        rx = pex - F[k, j + 1, 0, 3]
        ry = pey - F[k, j + 1, 1, 3]
        rz = pez - F[k, j + 1, 2, 3]
        A[0, qi] += wy * rz - wz * ry
        A[1, qi] += wz * rx - wx * rz
        A[2, qi] += wx * ry - wy * rx
        A[3, qi] += wx
        A[4, qi] += wy
        A[5, qi] += wz
    for i in range(6):
        for j in range(n):
            A[i, j] *= row_scale[i]


@numba.njit(cache=True, error_model="numpy")
def chain_sigma_min(
    q: NDArrayF, origins: NDArrayF, axes: NDArrayF, qidx: NDArrayI, row_scale: NDArrayF, exact_below: float
) -> NDArrayF:  # pragma: no cover - compiled
    """:func:`sigma_min_batch` of the chain's flange Jacobians at q (M, n), without storing them.

    The Jacobian is the one of :func:`weldcell.kinematics.chain.chain_jacobian` (same frames, same
    column formula), so both paths give the same measure.
    """
    M, n = q.shape
    Jn = origins.shape[0]
    out = np.empty(M)
    F = np.empty((_BLOCK, Jn + 1, 4, 4))
    A = np.empty((6, n))
    W = np.empty((6, 6))
    X = np.empty((6, 6))
    for m0 in range(0, M, _BLOCK):
        nb = min(_BLOCK, M - m0)
        _frames_core(q[m0 : m0 + nb], origins, axes, qidx, F)
        for k in range(nb):
            _scaled_jacobian(F, k, axes, qidx, row_scale, A)
            out[m0 + k] = _measure(A, W, X, n, exact_below)
    return out


def sigma_lipschitz(
    origins: NDArrayF, axes: NDArrayF, qidx: NDArrayI, row_scale: NDArrayF, n: int
) -> NDArrayF:
    """Per joint k, a bound L_k on how fast the measure of :func:`chain_sigma_min` changes [1/rad].

    ``|σ_min(A(q')) - σ_min(A(q))| ≤ ‖A(q') - A(q)‖_F ≤ Σ_k L_k |q'_k - q_k|`` (Weyl's inequality,
    then the straight line from q to q'), with ``L_k`` the largest ``‖∂A/∂q_k‖_F`` over all q.
    For the column of frame i (axis w_i, lever r_i = p_e - p_i, |r_i| ≤ D_i, the sum of the
    translations from frame i to the flange), turning joint j (axis ω_j) changes
    ``w_i × r_i`` by at most ``2 |ω_j| |w_i| D_i`` and ``w_i`` by ``|ω_j| |w_i|`` when frame i lies
    beyond joint j, and ``w_i × r_i`` by at most ``|w_i| |ω_j| D_j`` (only the flange moves)
    otherwise. Revolute joints (all arm chains); ``row_scale`` as in :func:`chain_sigma_min`.
    """
    Jn = origins.shape[0]
    t = np.linalg.norm(origins[:, :3, 3], axis=-1)
    reach_from = np.array([float(t[j + 1 :].sum()) for j in range(Jn)])  # D_j: frame j + 1 to flange
    a = np.linalg.norm(axes, axis=-1)
    s_lin = float(np.max(np.abs(row_scale[:3])))
    s_ang = float(np.max(np.abs(row_scale[3:])))
    lip = np.zeros(n)
    joints = [j for j in range(Jn) if qidx[j] >= 0]
    # frames sharing a joint value (columns added up): the plain sum over columns is the bound
    shared = len({int(qidx[j]) for j in joints}) < len(joints)
    for j in joints:
        col = np.array(
            [
                np.hypot(s_lin * 2.0 * a[j] * a[i] * reach_from[i], s_ang * a[j] * a[i])
                if i > j
                else s_lin * a[j] * a[i] * reach_from[j]
                for i in joints
            ]
        )
        lip[qidx[j]] += float(col.sum() if shared else np.sqrt(np.sum(col**2)))
    return lip


@numba.njit(cache=True, error_model="numpy")
def chain_sigma_min_path(
    q: NDArrayF,
    origins: NDArrayF,
    axes: NDArrayF,
    qidx: NDArrayI,
    row_scale: NDArrayF,
    exact_below: float,
    lip: NDArrayF,
) -> NDArrayF:  # pragma: no cover - compiled
    """:func:`chain_sigma_min` with the same values, for a densely sampled joint path q (M, n).

    A sample is evaluated only when the last evaluated one (its lower bound ``b``: the LU bound
    or the SVD value) does not already prove it ≥ ``exact_below`` by the Lipschitz bound
    ``b - Σ_k lip_k |Δq_k|`` (:func:`sigma_lipschitz`), with relative margins of 1e-9 so that
    the evaluation would have saturated as well. Samples proven so are ``exact_below``, the others
    are computed as in :func:`chain_sigma_min`: the result is the same array, at a fraction of the
    cost when the path stays clear of ``exact_below`` (weld samples at a 2 ms period move the
    joints by ~1e-4 rad per sample).
    """
    M, n = q.shape
    Jn = origins.shape[0]
    out = np.empty(M)
    F = np.empty((1, Jn + 1, 4, 4))
    A = np.empty((6, n))
    W = np.empty((6, 6))
    X = np.empty((6, 6))
    need = exact_below * (1.0 + 1e-9) + 1e-15
    anchor = -1
    bound = -np.inf
    for m in range(M):
        if anchor >= 0 and bound > need:
            moved = 0.0
            for k in range(n):
                moved += lip[k] * abs(q[m, k] - q[anchor, k])
            if bound - moved * (1.0 + 1e-9) >= need:
                out[m] = exact_below
                continue
        _frames_core(q[m : m + 1], origins, axes, qidx, F)
        _scaled_jacobian(F, 0, axes, qidx, row_scale, A)
        anchor = m
        bound = -np.inf
        if n == 6 and exact_below < np.inf:
            lb = _inverse_lower_bound(A, W, X) * (1.0 - 1e-9)
            if lb >= exact_below:
                out[m] = exact_below
                bound = lb
        if bound == -np.inf:
            s = _sigma_min_rows(A, 6, n)
            out[m] = min(s, exact_below)
            bound = s * (1.0 - 1e-6) - 1e-12
    return out
