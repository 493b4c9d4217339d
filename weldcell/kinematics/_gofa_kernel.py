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


@numba.njit(cache=True)
def _constants(alpha: NDArrayF, a: NDArrayF, d: NDArrayF) -> NDArrayF:  # pragma: no cover - compiled
    """The constants f needs, once per call: see :func:`_f` for the layout."""
    K = np.empty(16)
    L2 = math.hypot(a[3], d[3])
    K[0], K[1] = a[2], L2  # the lower arm, the elbow-wrist link
    K[2], K[3] = a[3] / L2, d[3] / L2  # cos, sin of its angle γ from x3
    K[4], K[5] = d[0], d[5]
    K[6] = a[5]
    for i in range(4):
        K[7 + 2 * i] = math.cos(alpha[i])
        K[8 + 2 * i] = math.sin(alpha[i])
    return K


@numba.njit(cache=True)
def _arm_angles(
    Tp: NDArrayF, c: float, s: float, b: int, a: NDArrayF, d: NDArrayF, arm: NDArrayF
) -> None:  # pragma: no cover - compiled
    """θ1..θ3 (DH angles, offsets included) of arm branch b at cos φ = c, sin φ = s into arm (3,).

    Points beyond the reach are clamped to its edge, as :func:`weldcell.kinematics.gofa._arm` does.
    """
    ox = Tp[0, 3] - d[5] * Tp[0, 2] - a[5] * (c * Tp[0, 0] + s * Tp[0, 1])
    oy = Tp[1, 3] - d[5] * Tp[1, 2] - a[5] * (c * Tp[1, 0] + s * Tp[1, 1])
    oz = Tp[2, 3] - d[5] * Tp[2, 2] - a[5] * (c * Tp[2, 0] + s * Tp[2, 1])
    L1 = a[2]
    L2 = math.hypot(a[3], d[3])
    gam = math.atan2(d[3], a[3])
    az = math.atan2(oy, ox)
    th1 = az if b < 2 else az + math.pi
    X = math.hypot(ox, oy) * (1.0 if b < 2 else -1.0)
    Y = -(oz - d[0])
    cc = (X * X + Y * Y - L1 * L1 - L2 * L2) / (2.0 * L1 * L2)
    e = math.acos(min(1.0, max(-1.0, cc))) * (1.0 if b % 2 == 0 else -1.0)
    arm[0] = th1
    arm[1] = math.atan2(Y, X) - math.atan2(L2 * math.sin(e), L1 + L2 * math.cos(e))
    arm[2] = e - gam


@numba.njit(cache=True)
def _f(Tp: NDArrayF, c: float, s: float, b: int, K: NDArrayF) -> float:  # pragma: no cover - compiled
    """f(φ) = z4 · z5 of arm branch b (2·shoulder + elbow) at cos φ = c, sin φ = s, pose Tp.

    The angles of :func:`_arm_angles` enter only through their cosines and sines, which follow
    from the arm's geometry without trigonometric calls (the costly part of f otherwise).
    ``K`` (:func:`_constants`): L1, L2, cos γ, sin γ, d1, d6, a6, then cos αi, sin αi for i = 0..3.
    """
    L1, L2, cgam, sgam, d1, d6, a6 = K[0], K[1], K[2], K[3], K[4], K[5], K[6]
    x5x = c * Tp[0, 0] + s * Tp[0, 1]
    x5y = c * Tp[1, 0] + s * Tp[1, 1]
    x5z = c * Tp[2, 0] + s * Tp[2, 1]
    z6x, z6y, z6z = Tp[0, 2], Tp[1, 2], Tp[2, 2]
    z5x = x5y * z6z - x5z * z6y
    z5y = x5z * z6x - x5x * z6z
    z5z = x5x * z6y - x5y * z6x
    ox = Tp[0, 3] - d6 * z6x - a6 * x5x
    oy = Tp[1, 3] - d6 * z6y - a6 * x5y
    oz = Tp[2, 3] - d6 * z6z - a6 * x5z
    rho = math.sqrt(ox * ox + oy * oy)
    sh = 1.0 if b < 2 else -1.0
    if rho > 0.0:
        c1, s1 = sh * ox / rho, sh * oy / rho
    else:  # on the J1 axis: azimuth 0, as arctan2(0, 0) gives
        c1, s1 = sh, 0.0
    X = sh * rho
    Y = d1 - oz
    cc = min(1.0, max(-1.0, (X * X + Y * Y - L1 * L1 - L2 * L2) / (2.0 * L1 * L2)))
    ce = cc
    se = math.sqrt(max(0.0, 1.0 - cc * cc)) * (1.0 if b % 2 == 0 else -1.0)
    c3, s3 = ce * cgam + se * sgam, se * cgam - ce * sgam  # θ3 = e - γ
    r = math.sqrt(X * X + Y * Y)
    cA, sA = (X / r, Y / r) if r > 0.0 else (1.0, 0.0)  # atan2(Y, X)
    u, v = L1 + L2 * ce, L2 * se
    m = math.sqrt(u * u + v * v)
    cB, sB = (u / m, v / m) if m > 0.0 else (1.0, 0.0)  # atan2(L2 sin e, L1 + L2 cos e)
    c2, s2 = cA * cB + sA * sB, sA * cB - cA * sB  # θ2 = A - B
    # the J4 axis: Rx(α3) e_z in frame 3, rotated to the base, Rx(α_{i-1}) Rz(θ_i) at a time
    vx, vy, vz = 0.0, -K[14], K[13]
    vx, vy = c3 * vx - s3 * vy, s3 * vx + c3 * vy
    vy, vz = K[11] * vy - K[12] * vz, K[12] * vy + K[11] * vz
    vx, vy = c2 * vx - s2 * vy, s2 * vx + c2 * vy
    vy, vz = K[9] * vy - K[10] * vz, K[10] * vy + K[9] * vz
    vx, vy = c1 * vx - s1 * vy, s1 * vx + c1 * vy
    vy, vz = K[7] * vy - K[8] * vz, K[8] * vy + K[7] * vz
    return float(vx * z5x + vy * z5y + vz * z5z)


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
    q: NDArrayF,
    alpha: NDArrayF,
    a: NDArrayF,
    d: NDArrayF,
    off: NDArrayF,
    T: NDArrayF,
    A: NDArrayF,
    B: NDArrayF,
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
    K: NDArrayF,
) -> float:  # pragma: no cover - compiled
    """The root of branch b's f in [lo, hi] (f(lo) = flo), by bisection."""
    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        fm = _f(Tp, math.cos(mid), math.sin(mid), b, K)
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
    c, s = math.cos(phi), math.sin(phi)
    _arm_angles(Tp, c, s, b, a, d, arm)
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
        U[0, 1] * x5[0] + U[1, 1] * x5[1] + U[2, 1] * x5[2],
        U[0, 0] * x5[0] + U[1, 0] * x5[1] + U[2, 0] * x5[2],
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
    cg = np.cos(grid)
    sg_ = np.sin(grid)
    K = _constants(alpha, a, d)
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
            for i in range(n_grid):
                fg[i] = _f(Tp, cg[i], sg_[i], b, K)
            fg[n_grid] = fg[0]  # periodic: f(2π) is f(0), so a root at φ = 0 is counted once
            n = 0
            for i in range(n_grid):
                f0, f1 = fg[i], fg[i + 1]
                if not (math.isfinite(f0) and math.isfinite(f1)):
                    continue
                s0, s1 = _sign(f0), _sign(f1)
                if (
                    s0 * s1 <= 0
                    and not (s0 == 0 and s1 == 0)
                    and not (i >= 1 and s0 == 0)
                    and not (i == n_grid - 1 and s1 == 0)
                ):
                    roots[n] = _bisect(Tp, b, grid[i], grid[i + 1], f0, K)
                    n += 1
            # two roots inside one cell: an extremum between three grid values of one sign, at
            # every grid point m (m = 0 between 2π - Δ, taken as -Δ, and Δ)
            for m in range(n_grid):
                i = m - 1 if m > 0 else n_grid - 1
                f0, f1, f2 = fg[i], fg[m], fg[m + 1]
                s1 = _sign(f1)
                if not ((f1 - f0) * (f2 - f1) < 0.0 and _sign(f0) == s1 and s1 == _sign(f2)):
                    continue
                sg = float(s1)
                lo0 = grid[i] if m > 0 else grid[i] - 2.0 * math.pi
                hi0 = grid[m + 1]
                lo_, hi_ = lo0, hi0
                for _ in range(_GOLDEN):
                    cc = hi_ - gold * (hi_ - lo_)
                    dd = lo_ + gold * (hi_ - lo_)
                    fc = _f(Tp, math.cos(cc), math.sin(cc), b, K) * sg
                    fd = _f(Tp, math.cos(dd), math.sin(dd), b, K) * sg
                    if fc < fd:
                        hi_ = dd
                    else:
                        lo_ = cc
                xm = 0.5 * (lo_ + hi_)
                fm = _f(Tp, math.cos(xm), math.sin(xm), b, K)
                if _sign(fm) == -s1:
                    roots[n] = _bisect(Tp, b, lo0, xm, f0, K)
                    roots[n + 1] = _bisect(Tp, b, xm, hi0, fm, K)
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
