"""Compiled all-branch IK kernel of the ABB GoFa (offset wrist): the method of
:mod:`weldcell.kinematics.gofa`, one pose at a time in a numba loop.

The residual ``f(φ) = z4 · z5`` per arm branch, its brackets (sign changes on the grid, two roots
inside one cell split at the extremum found by golden section, as in
:func:`weldcell.kinematics.root_search.bracket_roots`), the bisection to machine precision, the
closed-form wrist and the FK residual check (≤ 1e-9 m, ≤ 1e-9 in the rotation matrix) are those of
the NumPy formulation, step for step, so the solutions agree with it to rounding. The NumPy version
built (poses × grid × 4 branches) stacks of 4 x 4 matrices for every evaluation of f; here f is a
few dozen scalar operations (issue gofa6: the GoFa T-joint spent ~30 s of its ~35 s plan in IK).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

NDArrayF = npt.NDArray[np.float64]

_TOL_RES = 1e-9
_BISECT = 52  # bisection steps: a 2π/360 bracket shrinks to ~4e-18, below the doubles' spacing
_GOLDEN = 30  # golden-section steps locating an extremum of f inside two grid cells


@numba.njit(cache=True, inline="always")
def _rot_vec(
    x: float, y: float, z: float, ct: float, st: float, alpha: float
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """``Rx(α) Rz(θ) v`` with cos θ = ct, sin θ = st."""
    x, y = ct * x - st * y, st * x + ct * y
    ca, sa = math.cos(alpha), math.sin(alpha)
    return x, ca * y - sa * z, sa * y + ca * z


@numba.njit(cache=True)
def _arm_f(
    Tp: NDArrayF,
    phi: float,
    b: int,
    alpha: NDArrayF,
    a: NDArrayF,
    d: NDArrayF,
    arm: NDArrayF,
) -> float:  # pragma: no cover - compiled
    """f(φ) of arm branch b (2·shoulder + elbow) for the flange pose Tp; θ1..θ3 into ``arm`` (3,).

    Points beyond the reach are clamped to its edge (f stays continuous; the residual check drops
    their solutions), as :func:`weldcell.kinematics.gofa._arm` does.
    """
    c, s = math.cos(phi), math.sin(phi)
    x5x = c * Tp[0, 0] + s * Tp[0, 1]
    x5y = c * Tp[1, 0] + s * Tp[1, 1]
    x5z = c * Tp[2, 0] + s * Tp[2, 1]
    z6x, z6y, z6z = Tp[0, 2], Tp[1, 2], Tp[2, 2]
    z5x = x5y * z6z - x5z * z6y
    z5y = x5z * z6x - x5x * z6z
    z5z = x5x * z6y - x5y * z6x
    ox = Tp[0, 3] - d[5] * z6x - a[5] * x5x
    oy = Tp[1, 3] - d[5] * z6y - a[5] * x5y
    oz = Tp[2, 3] - d[5] * z6z - a[5] * x5z
    L1 = a[2]
    L2 = math.hypot(a[3], d[3])
    gam = math.atan2(d[3], a[3])
    az = math.atan2(oy, ox)
    shoulder = 1.0 if b < 2 else -1.0
    th1 = az if b < 2 else az + math.pi
    X = math.hypot(ox, oy) * shoulder
    Y = -(oz - d[0])
    cc = (X * X + Y * Y - L1 * L1 - L2 * L2) / (2.0 * L1 * L2)
    e = math.acos(min(1.0, max(-1.0, cc))) * (1.0 if b % 2 == 0 else -1.0)
    th3 = e - gam
    th2 = math.atan2(Y, X) - math.atan2(L2 * math.sin(e), L1 + L2 * math.cos(e))
    arm[0], arm[1], arm[2] = th1, th2, th3
    # the J4 axis: Rx(α3) e_z in frame 3, rotated to the base joint by joint
    vx, vy, vz = 0.0, -math.sin(alpha[3]), math.cos(alpha[3])
    vx, vy, vz = _rot_vec(vx, vy, vz, math.cos(th3), math.sin(th3), alpha[2])
    vx, vy, vz = _rot_vec(vx, vy, vz, math.cos(th2), math.sin(th2), alpha[1])
    vx, vy, vz = _rot_vec(vx, vy, vz, math.cos(th1), math.sin(th1), alpha[0])
    return vx * z5x + vy * z5y + vz * z5z


@numba.njit(cache=True)
def _sign(v: float) -> int:  # pragma: no cover - compiled
    return (v > 0.0) - (v < 0.0)


@numba.njit(cache=True)
def _rot_mdh(theta: float, alpha: float, R: NDArrayF) -> None:  # pragma: no cover - compiled
    """Rotation part of ``Rx(α) Rz(θ)`` into R (3, 3)."""
    ct, st = math.cos(theta), math.sin(theta)
    ca, sa = math.cos(alpha), math.sin(alpha)
    R[0, 0], R[0, 1], R[0, 2] = ct, -st, 0.0
    R[1, 0], R[1, 1], R[1, 2] = st * ca, ct * ca, -sa
    R[2, 0], R[2, 1], R[2, 2] = st * sa, ct * sa, ca


@numba.njit(cache=True)
def _matmul3(A: NDArrayF, B: NDArrayF, C: NDArrayF) -> None:  # pragma: no cover - compiled
    """C = A B for 3 x 3 matrices (C distinct from A and B)."""
    for i in range(3):
        for j in range(3):
            C[i, j] = A[i, 0] * B[0, j] + A[i, 1] * B[1, j] + A[i, 2] * B[2, j]


@numba.njit(cache=True)
def _fk(
    q: NDArrayF, alpha: NDArrayF, a: NDArrayF, d: NDArrayF, off: NDArrayF, T: NDArrayF, A: NDArrayF, B: NDArrayF
) -> None:  # pragma: no cover - compiled
    """Flange pose of joints q (6,) into T (4, 4) (modified DH; A, B: 4 x 4 scratch)."""
    for i in range(4):
        for j in range(4):
            T[i, j] = 1.0 if i == j else 0.0
    for k in range(6):
        th = q[k] + off[k]
        ct, st = math.cos(th), math.sin(th)
        ca, sa = math.cos(alpha[k]), math.sin(alpha[k])
        A[0, 0], A[0, 1], A[0, 2], A[0, 3] = ct, -st, 0.0, a[k]
        A[1, 0], A[1, 1], A[1, 2], A[1, 3] = st * ca, ct * ca, -sa, -sa * d[k]
        A[2, 0], A[2, 1], A[2, 2], A[2, 3] = st * sa, ct * sa, ca, ca * d[k]
        for i in range(3):
            for j in range(4):
                v = T[i, 0] * A[0, j] + T[i, 1] * A[1, j] + T[i, 2] * A[2, j]
                if j == 3:
                    v += T[i, 3]
                B[i, j] = v
        for i in range(3):
            for j in range(4):
                T[i, j] = B[i, j]


@numba.njit(cache=True)
def _bisect(
    Tp: NDArrayF,
    b: int,
    lo: float,
    hi: float,
    flo: float,
    alpha: NDArrayF,
    a: NDArrayF,
    d: NDArrayF,
    arm: NDArrayF,
) -> float:  # pragma: no cover - compiled
    """The root of branch b's f in [lo, hi] (f(lo) = flo), by bisection."""
    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        fm = _arm_f(Tp, mid, b, alpha, a, d, arm)
        if _sign(fm) == _sign(flo):
            lo, flo = mid, fm
        else:
            hi = mid
    return 0.5 * (lo + hi)


@numba.njit(cache=True)
def _solve(
    Tp: NDArrayF,
    phi: float,
    b: int,
    alpha: NDArrayF,
    a: NDArrayF,
    d: NDArrayF,
    off: NDArrayF,
    q: NDArrayF,
    arm: NDArrayF,
    R: NDArrayF,
    S: NDArrayF,
    U: NDArrayF,
) -> None:  # pragma: no cover - compiled
    """Joints q (6,) [rad] in (-π, π] of arm branch b at the root φ (the closed-form wrist)."""
    _arm_f(Tp, phi, b, alpha, a, d, arm)
    c, s = math.cos(phi), math.sin(phi)
    x5 = np.empty(3)
    z5 = np.empty(3)
    for k in range(3):
        x5[k] = c * Tp[k, 0] + s * Tp[k, 1]
    z5[0] = x5[1] * Tp[2, 2] - x5[2] * Tp[1, 2]
    z5[1] = x5[2] * Tp[0, 2] - x5[0] * Tp[2, 2]
    z5[2] = x5[0] * Tp[1, 2] - x5[1] * Tp[0, 2]
    # Ra = R_base_3 Rx(α3)
    _rot_mdh(arm[0], alpha[0], R)
    _rot_mdh(arm[1], alpha[1], S)
    _matmul3(R, S, U)
    _rot_mdh(arm[2], alpha[2], S)
    _matmul3(U, S, R)
    _rot_mdh(0.0, alpha[3], S)
    _matmul3(R, S, U)  # U = Ra
    # θ4 puts the J5 axis (z5 = -y4) in place: x4 = y4 × z4 = -z5 × Ra e_z
    x4x = -(z5[1] * U[2, 2] - z5[2] * U[1, 2])
    x4y = -(z5[2] * U[0, 2] - z5[0] * U[2, 2])
    x4z = -(z5[0] * U[1, 2] - z5[1] * U[0, 2])
    t4 = math.atan2(
        U[0, 1] * x4x + U[1, 1] * x4y + U[2, 1] * x4z, U[0, 0] * x4x + U[1, 0] * x4y + U[2, 0] * x4z
    )
    # Rb = Ra Rz(θ4) Rx(α4); θ5 turns x5 onto x5(φ)
    S[0, 0], S[0, 1], S[0, 2] = math.cos(t4), -math.sin(t4), 0.0
    S[1, 0], S[1, 1], S[1, 2] = math.sin(t4), math.cos(t4), 0.0
    S[2, 0], S[2, 1], S[2, 2] = 0.0, 0.0, 1.0
    _matmul3(U, S, R)
    _rot_mdh(0.0, alpha[4], S)
    _matmul3(R, S, U)  # U = Rb
    t5 = math.atan2(
        U[0, 1] * x5[0] + U[1, 1] * x5[1] + U[2, 1] * x5[2], U[0, 0] * x5[0] + U[1, 0] * x5[1] + U[2, 0] * x5[2]
    )
    # Rc = Rb Rz(θ5) Rx(α5); θ6 turns x6 onto the pose's x axis
    S[0, 0], S[0, 1], S[0, 2] = math.cos(t5), -math.sin(t5), 0.0
    S[1, 0], S[1, 1], S[1, 2] = math.sin(t5), math.cos(t5), 0.0
    S[2, 0], S[2, 1], S[2, 2] = 0.0, 0.0, 1.0
    _matmul3(U, S, R)
    _rot_mdh(0.0, alpha[5], S)
    _matmul3(R, S, U)  # U = Rc
    t6 = math.atan2(
        U[0, 1] * Tp[0, 0] + U[1, 1] * Tp[1, 0] + U[2, 1] * Tp[2, 0],
        U[0, 0] * Tp[0, 0] + U[1, 0] * Tp[1, 0] + U[2, 0] * Tp[2, 0],
    )
    q[0], q[1], q[2], q[3], q[4], q[5] = arm[0], arm[1], arm[2], t4, t5, t6
    for k in range(6):
        v = q[k] - off[k]
        q[k] = math.atan2(math.sin(v), math.cos(v))


@numba.njit(cache=True)
def gofa_ik_kernel(
    T: NDArrayF,
    alpha: NDArrayF,
    a: NDArrayF,
    d: NDArrayF,
    off: NDArrayF,
    n_grid: int,
    out: NDArrayF,
    lab: npt.NDArray[np.int8],
) -> None:  # pragma: no cover - compiled
    """All branches of poses T (P, 4, 4) into out (P, 16, 6) (NaN-filled) and lab (P, 16, 3) (-1).

    Rows per pose: branch by branch (2·J1 branch + elbow), each branch's roots by increasing φ.
    """
    P = T.shape[0]
    nb = out.shape[1]
    G = n_grid + 1
    grid = np.linspace(0.0, 2.0 * math.pi, G)
    fg = np.empty(G)
    roots = np.empty(3 * G)  # ≤ 1 root per cell + 2 per extremum
    arm = np.empty(3)
    q = np.empty(6)
    R = np.empty((3, 3))
    S = np.empty((3, 3))
    U = np.empty((3, 3))
    Tq = np.empty((4, 4))
    A = np.empty((4, 4))
    B = np.empty((4, 4))
    gold = (math.sqrt(5.0) - 1.0) / 2.0
    for p in range(P):
        Tp = T[p]
        slot = 0
        for b in range(4):
            for i in range(G):
                fg[i] = _arm_f(Tp, grid[i], b, alpha, a, d, arm)
            n = 0
            for i in range(n_grid):
                f0, f1 = fg[i], fg[i + 1]
                if not (math.isfinite(f0) and math.isfinite(f1)):
                    continue
                s0, s1 = _sign(f0), _sign(f1)
                if s0 * s1 <= 0 and not (s0 == 0 and s1 == 0) and not (i >= 1 and s0 == 0):
                    roots[n] = _bisect(Tp, b, grid[i], grid[i + 1], f0, alpha, a, d, arm)
                    n += 1
            # two roots inside one cell: an extremum between three grid values of one sign
            for i in range(n_grid - 1):
                f0, f1, f2 = fg[i], fg[i + 1], fg[i + 2]
                s1 = _sign(f1)
                if not ((f1 - f0) * (f2 - f1) < 0.0 and _sign(f0) == s1 and s1 == _sign(f2)):
                    continue
                sg = float(s1)
                lo_, hi_ = grid[i], grid[i + 2]
                for _ in range(_GOLDEN):
                    cc = hi_ - gold * (hi_ - lo_)
                    dd = lo_ + gold * (hi_ - lo_)
                    fc = _arm_f(Tp, cc, b, alpha, a, d, arm) * sg
                    fd = _arm_f(Tp, dd, b, alpha, a, d, arm) * sg
                    if fc < fd:
                        hi_ = dd
                    else:
                        lo_ = cc
                xm = 0.5 * (lo_ + hi_)
                fm = _arm_f(Tp, xm, b, alpha, a, d, arm)
                if _sign(fm) == -s1:
                    roots[n] = _bisect(Tp, b, grid[i], xm, f0, alpha, a, d, arm)
                    roots[n + 1] = _bisect(Tp, b, xm, grid[i + 2], fm, alpha, a, d, arm)
                    n += 2
            # by φ (insertion sort: a handful)
            for i in range(1, n):
                v = roots[i]
                j = i - 1
                while j >= 0 and roots[j] > v:
                    roots[j + 1] = roots[j]
                    j -= 1
                roots[j + 1] = v
            kb = 0
            for r in range(n):
                if slot >= nb:
                    break
                _solve(Tp, roots[r], b, alpha, a, d, off, q, arm, R, S, U)
                _fk(q, alpha, a, d, off, Tq, A, B)
                dp = 0.0
                for k in range(3):
                    dp += (Tq[k, 3] - Tp[k, 3]) ** 2
                good = math.sqrt(dp) <= _TOL_RES
                for i in range(3):
                    for j in range(3):
                        if not abs(Tq[i, j] - Tp[i, j]) <= _TOL_RES:
                            good = False
                if not good:
                    continue
                for k in range(6):
                    out[p, slot, k] = q[k]
                lab[p, slot, 0] = b // 2
                lab[p, slot, 1] = b % 2
                lab[p, slot, 2] = kb
                kb += 1
                slot += 1
