"""Compiled all-branch IK kernel of the FANUC CRX (offset wrist); the method of
:mod:`weldcell.kinematics.crx`, one pose at a time in a numba loop.

The residual ``f(φ) = z3 · z4`` of :mod:`weldcell.kinematics.crx` is evaluated here without
trigonometry: the elbow of the planar two-link arm (J2-J3) reaching ``O4(φ)`` is one of the two
intersections of the circle of radius ``L1`` about the shoulder (on the J1 axis) with the circle of
radius ``L2`` about ``O4``, in the vertical plane through the J1 axis and ``O4``. Because the CRX has
no shoulder offset, the four arm branches (J1 = azimuth or azimuth + π, elbow ±) put the elbow at only
two points of that plane: branches (0, 1) and (1, 0) share the elbow ``τ = +1``, branches (0, 0) and
(1, 1) the elbow ``τ = -1``, so they share the residual ``f_τ(φ) = -(O4 - E_τ) · z4 / L2`` and its
roots. Each root of ``f_τ`` is bracketed on the grid (sign changes; two roots inside one cell are
split at the extremum of f between them, found by golden section, as in
:func:`weldcell.kinematics.root_search.bracket_roots`), refined by false position (Illinois, with a
bisection step every fifth iteration so the bracket always shrinks) until the bracket is two
adjacent doubles, and gives one joint solution on each of its two arm branches; J1-J3 and the
wrist J4-J6 follow in closed form and every solution's FK residual is checked (≤ 1e-9 m, ≤ 1e-9
in the rotation matrix).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

NDArrayF = npt.NDArray[np.float64]

_MAX_ROOTS = 24  # roots of one f_τ per pose kept (at most 4 are real; spurious ones beyond the reach)
_TOL_RES = 1e-9
_TOL_TANGENT = 1e-12  # |f| at an extremum that counts as touching zero (f is dimensionless, ~1)


@numba.njit(cache=True, inline="always")
def _f_tau(
    o5x: float,
    o5y: float,
    o5z: float,
    x6: NDArrayF,
    y6: NDArrayF,
    c: float,
    s: float,
    d5: float,
    L1: float,
    L2: float,
    tau: float,
) -> float:  # pragma: no cover - compiled
    """f_τ at the angle with cos c, sin s (see the module docstring); NaN where O4 is on the origin."""
    z4x = c * x6[0] + s * y6[0]
    z4y = c * x6[1] + s * y6[1]
    z4z = c * x6[2] + s * y6[2]
    o4x = o5x - d5 * z4x
    o4y = o5y - d5 * z4y
    o4z = o5z - d5 * z4z
    rho = math.sqrt(o4x * o4x + o4y * o4y)
    if rho > 0.0:
        ux = o4x / rho
        uy = o4y / rho
    else:  # on the J1 axis: azimuth 0, as arctan2(0, 0) gives
        ux = 1.0
        uy = 0.0
    D2 = rho * rho + o4z * o4z
    D = math.sqrt(D2)
    if D == 0.0:
        return np.nan
    a = (L1 * L1 - L2 * L2 + D2) / (2.0 * D)
    hh2 = L1 * L1 - a * a
    if hh2 >= 0.0:
        hh = math.sqrt(hh2)
        ex = (a * rho - tau * hh * o4z) / D
        ez = (a * o4z + tau * hh * rho) / D
        norm = L2
    else:  # beyond the reach: the arm stretched or folded along O4 (f stays continuous)
        ex = L1 * rho / D
        ez = L1 * o4z / D
        norm = abs(D - L1)
        if norm == 0.0:
            return np.nan
    fx = o4x - ex * ux
    fy = o4y - ex * uy
    fz = o4z - ez
    return float(-(fx * z4x + fy * z4y + fz * z4z) / norm)


@numba.njit(cache=True, inline="always")
def _f_both(
    o5x: float,
    o5y: float,
    o5z: float,
    x6: NDArrayF,
    y6: NDArrayF,
    c: float,
    s: float,
    d5: float,
    L1: float,
    L2: float,
) -> tuple[float, float, bool]:  # pragma: no cover - compiled
    """(f_-1, f_+1, O4 within the reach) at the angle with cos c, sin s: :func:`_f_tau` for both elbows."""
    z4x = c * x6[0] + s * y6[0]
    z4y = c * x6[1] + s * y6[1]
    z4z = c * x6[2] + s * y6[2]
    o4x = o5x - d5 * z4x
    o4y = o5y - d5 * z4y
    o4z = o5z - d5 * z4z
    rho = math.sqrt(o4x * o4x + o4y * o4y)
    if rho > 0.0:
        ux = o4x / rho
        uy = o4y / rho
    else:
        ux = 1.0
        uy = 0.0
    D2 = rho * rho + o4z * o4z
    D = math.sqrt(D2)
    if D == 0.0:
        return np.nan, np.nan, False
    a = (L1 * L1 - L2 * L2 + D2) / (2.0 * D)
    hh2 = L1 * L1 - a * a
    # the common part (elbow on the line to O4) and the part of ±hh across it
    if hh2 >= 0.0:
        hh = math.sqrt(hh2)
        ex0 = a * rho / D
        ez0 = a * o4z / D
        exh = -hh * o4z / D
        ezh = hh * rho / D
        norm = L2
    else:
        ex0 = L1 * rho / D
        ez0 = L1 * o4z / D
        exh = 0.0
        ezh = 0.0
        norm = abs(D - L1)
        if norm == 0.0:
            return np.nan, np.nan, False
    reach = hh2 >= -1e-9 * L1 * L1  # a root just past the edge (rounding) is still tried
    base = (o4x - ex0 * ux) * z4x + (o4y - ex0 * uy) * z4y + (o4z - ez0) * z4z
    cross = exh * (ux * z4x + uy * z4y) + ezh * z4z
    # f_τ = -((O4 - E0 - τ Eh) · z4) / norm
    return -(base + cross) / norm, -(base - cross) / norm, reach


@numba.njit(cache=True)
def _rot_dh(theta: float, alpha: float, R: NDArrayF) -> None:  # pragma: no cover - compiled
    """Rotation part of ``Rz(θ) Rx(α)`` into R (3, 3)."""
    ct, st = math.cos(theta), math.sin(theta)
    ca, sa = math.cos(alpha), math.sin(alpha)
    R[0, 0], R[0, 1], R[0, 2] = ct, -st * ca, st * sa
    R[1, 0], R[1, 1], R[1, 2] = st, ct * ca, -ct * sa
    R[2, 0], R[2, 1], R[2, 2] = 0.0, sa, ca


@numba.njit(cache=True)
def _fk(
    q: NDArrayF,
    a: NDArrayF,
    d: NDArrayF,
    alpha: NDArrayF,
    off: NDArrayF,
    T: NDArrayF,
    A: NDArrayF,
    B: NDArrayF,
) -> None:  # pragma: no cover - compiled
    """Flange pose of joints q (6,) into T (4, 4) (A, B: 4 x 4 scratch)."""
    for i in range(4):
        for j in range(4):
            T[i, j] = 1.0 if i == j else 0.0
    for k in range(6):
        th = q[k] + off[k]
        ct, st = math.cos(th), math.sin(th)
        ca, sa = math.cos(alpha[k]), math.sin(alpha[k])
        A[0, 0], A[0, 1], A[0, 2], A[0, 3] = ct, -st * ca, st * sa, a[k] * ct
        A[1, 0], A[1, 1], A[1, 2], A[1, 3] = st, ct * ca, -ct * sa, a[k] * st
        A[2, 0], A[2, 1], A[2, 2], A[2, 3] = 0.0, sa, ca, d[k]
        A[3, 0], A[3, 1], A[3, 2], A[3, 3] = 0.0, 0.0, 0.0, 1.0
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
def _refine(
    o5x: float,
    o5y: float,
    o5z: float,
    x6: NDArrayF,
    y6: NDArrayF,
    d5: float,
    L1: float,
    L2: float,
    tau: float,
    lo: float,
    hi: float,
    flo: float,
) -> float:  # pragma: no cover
    """Root of f_τ in [lo, hi] (f(lo) = flo, f(hi) of the other sign or 0)."""
    fhi = _f_tau(o5x, o5y, o5z, x6, y6, math.cos(hi), math.sin(hi), d5, L1, L2, tau)
    if fhi == 0.0:
        return hi
    if flo == 0.0:
        return lo
    glo, ghi = flo, fhi  # Illinois-weighted end values (flo, fhi: the true ones)
    side = 0
    for it in range(400):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:  # the bracket is two adjacent doubles
            break
        den = ghi - glo
        x = mid
        if it % 5 != 4 and den != 0.0:
            xf = (lo * ghi - hi * glo) / den
            if lo < xf < hi:
                x = xf
        fx = _f_tau(o5x, o5y, o5z, x6, y6, math.cos(x), math.sin(x), d5, L1, L2, tau)
        if fx == 0.0 or math.isnan(fx):
            return x
        if (fx > 0.0) == (flo > 0.0):  # the root is in [x, hi]
            lo, flo, glo = x, fx, fx
            if side == 1:
                ghi *= 0.5
            side = 1
        else:
            hi, fhi, ghi = x, fx, fx
            if side == -1:
                glo *= 0.5
            side = -1
    return lo if abs(flo) <= abs(fhi) else hi


@numba.njit(cache=True)
def _golden_split(
    o5x: float,
    o5y: float,
    o5z: float,
    x6: NDArrayF,
    y6: NDArrayF,
    d5: float,
    L1: float,
    L2: float,
    tau: float,
    lo: float,
    hi: float,
    f_lo: float,
    f_mid: float,
) -> float:  # pragma: no cover
    """The extremum of f_τ in [lo, hi] (golden section on f·sign(f_mid)).

    NaN unless f_τ changes sign there."""
    gold = (math.sqrt(5.0) - 1.0) / 2.0
    sgn = 1.0 if f_mid > 0.0 else -1.0
    a_, b_ = lo, hi
    for _ in range(30):
        cc = b_ - gold * (b_ - a_)
        dd = a_ + gold * (b_ - a_)
        fc = _f_tau(o5x, o5y, o5z, x6, y6, math.cos(cc), math.sin(cc), d5, L1, L2, tau) * sgn
        fd = _f_tau(o5x, o5y, o5z, x6, y6, math.cos(dd), math.sin(dd), d5, L1, L2, tau) * sgn
        if fc < fd:
            b_ = dd
        else:
            a_ = cc
    xm = 0.5 * (a_ + b_)
    fm = _f_tau(o5x, o5y, o5z, x6, y6, math.cos(xm), math.sin(xm), d5, L1, L2, tau)
    return xm if fm * sgn < 0.0 else np.nan


@numba.njit(cache=True)
def _edge_cell(
    o5x: float,
    o5y: float,
    o5z: float,
    x6: NDArrayF,
    y6: NDArrayF,
    d5: float,
    L1: float,
    L2: float,
    tau: float,
    g0: float,
    g1: float,
    reach0: bool,
    f0: float,
    f1: float,
    x_prev: float,
    f_prev: float,
    roots: NDArrayF,
    n: int,
) -> int:  # pragma: no cover - compiled
    """Roots of f_τ in a grid cell [g0, g1] that the edge of the reach crosses; returns the new count.

    Only the part within the reach holds solutions. There the two elbows meet at the edge, so f_τ can
    turn back before it (two roots near the edge, no sign change over the cell): the edge is located
    by bisection, then the in-reach part [inside end, edge] is searched for a sign change, else for
    an extremum that crosses zero."""
    x_in, x_out = (g0, g1) if reach0 else (g1, g0)
    f_in = f0 if reach0 else f1
    for _ in range(60):
        xm = 0.5 * (x_in + x_out)
        if xm in (x_in, x_out):
            break
        _fa, _fb, inside = _f_both(o5x, o5y, o5z, x6, y6, math.cos(xm), math.sin(xm), d5, L1, L2)
        if inside:
            x_in = xm
        else:
            x_out = xm
    x_edge = x_in
    x_start = g0 if reach0 else g1
    f_edge = _f_tau(o5x, o5y, o5z, x6, y6, math.cos(x_edge), math.sin(x_edge), d5, L1, L2, tau)
    lo, hi = min(x_start, x_edge), max(x_start, x_edge)
    if hi <= lo or not (f_edge == f_edge and f_in == f_in):
        return n
    f_lo, f_hi = (f_in, f_edge) if x_start < x_edge else (f_edge, f_in)
    if f_lo * f_hi <= 0.0:
        if n < roots.shape[0] and not (f_lo == 0.0 and lo > 0.0 and lo == g0):
            roots[n] = _refine(o5x, o5y, o5z, x6, y6, d5, L1, L2, tau, lo, hi, f_lo)
            n += 1
        return n
    xm = _golden_split(o5x, o5y, o5z, x6, y6, d5, L1, L2, tau, lo, hi, f_lo, f_lo)
    if (
        math.isnan(xm)
        and not math.isnan(f_prev)
        and f_prev * f_in > 0.0
        and (f_in - f_prev) * (f_edge - f_in) < 0.0
    ):
        # an extremum at the cell's in-reach grid point: the pair can straddle it
        lo, hi = min(x_prev, x_edge), max(x_prev, x_edge)
        f_lo = f_prev if x_prev < x_edge else f_edge
        xm = _golden_split(o5x, o5y, o5z, x6, y6, d5, L1, L2, tau, lo, hi, f_lo, f_lo)
    if xm == xm and n + 2 <= roots.shape[0]:
        fm = _f_tau(o5x, o5y, o5z, x6, y6, math.cos(xm), math.sin(xm), d5, L1, L2, tau)
        roots[n] = _refine(o5x, o5y, o5z, x6, y6, d5, L1, L2, tau, lo, xm, f_lo)
        roots[n + 1] = _refine(o5x, o5y, o5z, x6, y6, d5, L1, L2, tau, xm, hi, fm)
        n += 2
    return n


@numba.njit(cache=True)
def _solve(
    T: NDArrayF,
    phi: float,
    branch: int,
    a: NDArrayF,
    d: NDArrayF,
    alpha: NDArrayF,
    off: NDArrayF,
    q: NDArrayF,
    R: NDArrayF,
    S: NDArrayF,
    U: NDArrayF,
) -> None:  # pragma: no cover
    """Joints q (6,) [rad] in (-π, π] of arm branch ``branch`` (2·shoulder + elbow) at root φ."""
    L1, L2, d5, d6 = a[1], -d[3], d[4], d[5]
    c, s = math.cos(phi), math.sin(phi)
    z4x = c * T[0, 0] + s * T[0, 1]
    z4y = c * T[1, 0] + s * T[1, 1]
    z4z = c * T[2, 0] + s * T[2, 1]
    o4x = T[0, 3] + d6 * T[0, 2] - d5 * z4x
    o4y = T[1, 3] + d6 * T[1, 2] - d5 * z4y
    az = math.atan2(o4y, o4x)
    th1 = az + (math.pi if branch >= 2 else 0.0)
    r = o4x * math.cos(th1) + o4y * math.sin(th1)
    h = T[2, 3] + d6 * T[2, 2] - d5 * z4z
    cb = min(1.0, max(-1.0, (r * r + h * h - L1 * L1 - L2 * L2) / (2.0 * L1 * L2)))
    beta = math.acos(cb) * (1.0 if branch % 2 == 0 else -1.0)
    th2 = math.atan2(h, r) - math.atan2(L2 * math.sin(beta), L1 + L2 * math.cos(beta))
    th3 = beta + 0.5 * math.pi
    # R3 = R(θ1, α1) R(θ2, α2) R(θ3, α3)
    _rot_dh(th1, alpha[0], R)
    _rot_dh(th2, alpha[1], S)
    for i in range(3):
        for j in range(3):
            U[i, j] = R[i, 0] * S[0, j] + R[i, 1] * S[1, j] + R[i, 2] * S[2, j]
    _rot_dh(th3, alpha[2], S)
    for i in range(3):
        for j in range(3):
            R[i, j] = U[i, 0] * S[0, j] + U[i, 1] * S[1, j] + U[i, 2] * S[2, j]
    v0 = R[0, 0] * z4x + R[1, 0] * z4y + R[2, 0] * z4z
    v1 = R[0, 1] * z4x + R[1, 1] * z4y + R[2, 1] * z4z
    th4 = math.atan2(v0, -v1)
    _rot_dh(th4, alpha[3], S)
    for i in range(3):
        for j in range(3):
            U[i, j] = R[i, 0] * S[0, j] + R[i, 1] * S[1, j] + R[i, 2] * S[2, j]
    # z5 = -z6 in frame 4
    w0 = -(U[0, 0] * T[0, 2] + U[1, 0] * T[1, 2] + U[2, 0] * T[2, 2])
    w1 = -(U[0, 1] * T[0, 2] + U[1, 1] * T[1, 2] + U[2, 1] * T[2, 2])
    th5 = math.atan2(-w0, w1)
    _rot_dh(th5, alpha[4], S)
    for i in range(3):
        for j in range(3):
            R[i, j] = U[i, 0] * S[0, j] + U[i, 1] * S[1, j] + U[i, 2] * S[2, j]
    # M = R5ᵀ R_T Rx(α6)ᵀ: only its first column's x, y are needed
    _rot_dh(0.0, alpha[5], S)
    m0 = 0.0
    m1 = 0.0
    for k in range(3):
        # (R5ᵀ R_T)[i, k] Rx(α6)ᵀ[k, 0], with Rx(α6)ᵀ[k, 0] = Rx(α6)[0, k]
        m0 += (R[0, 0] * T[0, k] + R[1, 0] * T[1, k] + R[2, 0] * T[2, k]) * S[0, k]
        m1 += (R[0, 1] * T[0, k] + R[1, 1] * T[1, k] + R[2, 1] * T[2, k]) * S[0, k]
    th6 = math.atan2(m1, m0)
    q[0], q[1], q[2], q[3], q[4], q[5] = th1, th2, th3, th4, th5, th6
    for k in range(6):
        v = q[k] - off[k]
        q[k] = math.atan2(math.sin(v), math.cos(v))


@numba.njit(cache=True)
def crx_ik_kernel(
    T: NDArrayF,
    a: NDArrayF,
    d: NDArrayF,
    alpha: NDArrayF,
    off: NDArrayF,
    n_grid: int,
    out: NDArrayF,
    lab: npt.NDArray[np.int8],
) -> None:  # pragma: no cover - compiled
    """All branches of poses T (P, 4, 4) into out (P, 16, 6) (NaN-filled) and lab (P, 16, 3) (-1)."""
    P = T.shape[0]
    nb = out.shape[1]
    L1, L2, d5, d6 = a[1], -d[3], d[4], d[5]
    G = n_grid + 1
    grid = np.empty(G)
    cg = np.empty(G)
    sg = np.empty(G)
    for i in range(G):
        grid[i] = 2.0 * math.pi * i / n_grid
        cg[i] = math.cos(grid[i])
        sg[i] = math.sin(grid[i])
    fg = np.empty((2, G))
    roots = np.empty((2, _MAX_ROOTS))
    nroots = np.zeros(2, dtype=np.int64)
    inreach = np.zeros((2, _MAX_ROOTS), dtype=np.bool_)
    rg = np.zeros(G, dtype=np.bool_)
    x6 = np.empty(3)
    y6 = np.empty(3)
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
        for k in range(3):
            x6[k] = Tp[k, 0]
            y6[k] = Tp[k, 1]
        o5x = Tp[0, 3] + d6 * Tp[0, 2]
        o5y = Tp[1, 3] + d6 * Tp[1, 2]
        o5z = Tp[2, 3] + d6 * Tp[2, 2]
        for i in range(n_grid):
            fg[0, i], fg[1, i], rg[i] = _f_both(o5x, o5y, o5z, x6, y6, cg[i], sg[i], d5, L1, L2)
        # periodic: φ = 2π takes the values at 0 (evaluated apart they differ by rounding, and a root
        # at exactly φ = 0 could fall between them, uncounted; gofa6)
        fg[0, n_grid], fg[1, n_grid], rg[n_grid] = fg[0, 0], fg[1, 0], rg[0]
        for t in range(2):
            tau = -1.0 if t == 0 else 1.0
            n = 0
            for i in range(n_grid):
                f0, f1 = fg[t, i], fg[t, i + 1]
                if not (f0 == f0 and f1 == f1):
                    continue
                if rg[i] != rg[i + 1]:  # the edge of the reach is in this cell
                    # the in-reach grid point one cell further from the edge, for an extremum there
                    k_prev = i - 1 if rg[i] else i + 2
                    ok_prev = 0 <= k_prev <= n_grid and rg[k_prev]
                    x_prev = grid[k_prev] if ok_prev else np.nan
                    f_prev = fg[t, k_prev] if ok_prev else np.nan
                    n = _edge_cell(
                        o5x,
                        o5y,
                        o5z,
                        x6,
                        y6,
                        d5,
                        L1,
                        L2,
                        tau,
                        grid[i],
                        grid[i + 1],
                        rg[i],
                        f0,
                        f1,
                        x_prev,
                        f_prev,
                        roots[t],
                        n,
                    )
                    continue
                if not rg[i]:
                    continue  # beyond the reach: f is clamped there, its roots are no solutions
                s0 = (f0 > 0.0) - (f0 < 0.0)
                s1 = (f1 > 0.0) - (f1 < 0.0)
                crosses = (
                    s0 * s1 <= 0
                    and not (s0 == 0 and s1 == 0)
                    and not (i >= 1 and s0 == 0)
                    and not (i == n_grid - 1 and s1 == 0)  # the root at 2π is the one at 0
                )
                if crosses and n < _MAX_ROOTS:
                    roots[t, n] = _refine(o5x, o5y, o5z, x6, y6, d5, L1, L2, tau, grid[i], grid[i + 1], f0)
                    n += 1
                # two roots inside one cell: an extremum of one sign between grid points i, i+1, i+2
                if i + 2 <= n_grid and rg[i + 2]:
                    f2 = fg[t, i + 2]
                    s2 = (f2 > 0.0) - (f2 < 0.0)
                    # for a parabola through the three values with its vertex between them,
                    # |f(vertex) - f1| <= max(|f0 - f1|, |f2 - f1|); a margin of 4 covers the
                    # cubic term at this grid spacing, so the golden section runs only where f
                    # can reach zero (it is the costly part of the search otherwise)
                    dip = 4.0 * max(abs(f0 - f1), abs(f2 - f1))
                    if (f1 - f0) * (f2 - f1) < 0.0 and s0 == s1 and s1 == s2 and abs(f1) <= dip:
                        sgn = 1.0 if f1 > 0.0 else -1.0
                        lo_, hi_ = grid[i], grid[i + 2]
                        for _ in range(30):
                            cc = hi_ - gold * (hi_ - lo_)
                            dd = lo_ + gold * (hi_ - lo_)
                            fc = (
                                _f_tau(o5x, o5y, o5z, x6, y6, math.cos(cc), math.sin(cc), d5, L1, L2, tau)
                                * sgn
                            )
                            fd = (
                                _f_tau(o5x, o5y, o5z, x6, y6, math.cos(dd), math.sin(dd), d5, L1, L2, tau)
                                * sgn
                            )
                            if fc < fd:
                                hi_ = dd
                            else:
                                lo_ = cc
                        xm = 0.5 * (lo_ + hi_)
                        fm = _f_tau(o5x, o5y, o5z, x6, y6, math.cos(xm), math.sin(xm), d5, L1, L2, tau)
                        if fm * sgn < 0.0 and n + 2 <= _MAX_ROOTS:
                            roots[t, n] = _refine(o5x, o5y, o5z, x6, y6, d5, L1, L2, tau, grid[i], xm, f0)
                            roots[t, n + 1] = _refine(
                                o5x, o5y, o5z, x6, y6, d5, L1, L2, tau, xm, grid[i + 2], fm
                            )
                            n += 2
                        elif abs(fm) <= _TOL_TANGENT and n < _MAX_ROOTS:
                            # f touches zero without crossing (a double root: J5 = 0, the wrist
                            # singular; found by hypothesis): the extremum is the root, and the
                            # solution's FK check below decides whether it is one
                            roots[t, n] = xm
                            n += 1
            # sort the roots by φ (insertion sort: a handful)
            for i in range(1, n):
                v = roots[t, i]
                j = i - 1
                while j >= 0 and roots[t, j] > v:
                    roots[t, j + 1] = roots[t, j]
                    j -= 1
                roots[t, j + 1] = v
            nroots[t] = n
            for i in range(n):
                _fa, _fb, inreach[t, i] = _f_both(
                    o5x, o5y, o5z, x6, y6, math.cos(roots[t, i]), math.sin(roots[t, i]), d5, L1, L2
                )
        slot = 0
        for b in range(4):
            t = 1 if (b == 1 or b == 2) else 0
            kb = 0
            for r in range(nroots[t]):
                if slot >= nb:
                    break
                if not inreach[t, r]:
                    continue  # a root of the clamped f beyond the reach: no arm reaches O4 there
                _solve(Tp, roots[t, r], b, a, d, alpha, off, q, R, S, U)
                _fk(q, a, d, alpha, off, Tq, A, B)
                good = True
                dp = 0.0
                for k in range(3):
                    dp += (Tq[k, 3] - Tp[k, 3]) ** 2
                if not math.sqrt(dp) <= _TOL_RES:
                    good = False
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
