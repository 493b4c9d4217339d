"""Compiled closed-form inverse kinematics: UR (6R, offset wrist) and OPW (spherical wrist) arms.

Both kernels return all 8 branches per pose, shape (N, 8, 6). Branch index
``b = 4·i_shoulder + 2·i_elbow + i_wrist`` where ``i = 0`` means the configuration label +1 and
``i = 1`` the label -1 (see :func:`ur_labels` / :func:`opw_labels` and docs/conventions.md).
A branch that does not exist (pose out of reach) or has no 2π-equivalent inside the joint limits
is a row of NaN. Each joint value is the 2π-equivalent nearest 0 that lies inside the limits.

Singular poses return valid solutions: when the wrist is singular (UR θ5 ≈ 0 or π, OPW θ5 ≈ 0)
one free joint is fixed at 0 (UR: joint 6 when the arm can reach that way, else the nearest value
it can; OPW: native θ4) and the others absorb the remaining rotation; when an OPW wrist centre lies
on axis 1, θ1 puts the flange z axis into the arm plane (front and back), which minimises |θ5|.

Derivations (standard DH for UR, as in docs/conventions.md):
UR: ``R_1_6 = Rz(θ2+θ3+θ4) Ry(-θ5) Rz(θ6)``; θ1 from the wrist-2 point lying at distance d4 from
the shoulder plane; θ5, θ6 from the third row of ``R_1_6``; θ2, θ3 from the planar 2R problem.
OPW: ``R = Rz(θ1) Ry(θ2+θ3) Rz(θ4) Ry(θ5) Rz(θ6)`` (Brandstötter et al. 2014), wrist as ZYZ.
Angles use atan2 of well-conditioned sine/cosine pairs (never acos near ±1), so solutions stay
exact to rounding at and near singularities.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

NDArrayF = npt.NDArray[np.float64]

_TWO_PI = 2.0 * math.pi
_INV_TWO_PI = 1.0 / _TWO_PI
_REACH_TOL_M = 5e-10  # [m] a branch whose reach misses by less than this (rounding) is kept and clamped
_SING_TOL = 1e-12  # |sin θ5| below this: wrist singular, free joint fixed at 0
# [rad] slack on joint limits (values are clamped into the limits): with the arm stretched (elbow
# singular) θ2 and θ3 are only good to ~1e-9 rad (acos near 1), so a pose whose wrist joint is at
# its limit came out 5e-10 rad beyond it and was refused (found by hypothesis on the KR 6 R900:
# A3 stretched, A5 = 120°); clamping by at most 1e-9 rad moves the TCP by at most 1e-9 m per metre
_LIMIT_TOL = 1e-9
_ROT_TOL = 5e-10  # [rad] largest rotation error accepted when re-splitting θ234 / θ6 near θ5 = 0


# atan2 without libm: t = min/max in [0, 1] is reduced by atan(t) = kπ/24 + atan((t - c_k)/(1 + t c_k)),
# c_k = tan(kπ/24), k = 0..6, to |u| ≤ tan(π/48) ≈ 0.0655, where the Taylor series to u^13 is exact
# to ~1e-19; the series is evaluated with Estrin's scheme (short dependency chains). About 3x faster
# than libm's atan2 here and within 2 ulp of it (tests/kinematics/test_analytic.py).
_CK = tuple(math.tan(k * math.pi / 24) for k in range(7))
_AK = tuple(k * math.pi / 24 for k in range(7))
_BK = tuple(math.tan((2 * k + 1) * math.pi / 48) for k in range(6))


@numba.njit(cache=True, error_model="numpy")
def fast_atan2(y: float, x: float) -> float:  # pragma: no cover - compiled
    """atan2(y, x) [rad] in [-π, π] for finite inputs (0 for (0, 0))."""
    ax = abs(x)
    ay = abs(y)
    swap = ay > ax
    lo = ax if swap else ay  # t = lo / hi in [0, 1]
    hi = ay if swap else ax
    if hi == 0.0:
        return 0.0
    # atan(lo/hi) = atan(c_k) + atan((lo - c_k·hi) / (hi + c_k·lo)): one division, no branches
    k = (
        int(lo > _BK[0] * hi)
        + int(lo > _BK[1] * hi)
        + int(lo > _BK[2] * hi)
        + int(lo > _BK[3] * hi)
        + int(lo > _BK[4] * hi)
        + int(lo > _BK[5] * hi)
    )
    c = _CK[k]
    u = (lo - c * hi) / (hi + c * lo)
    z = u * u
    z2 = z * z
    # atan(u) = u + u z (-1/3 + z/5 - z²/7 + z³/9 - z⁴/11 + z⁵/13)
    p01 = -1.0 / 3.0 + z * (1.0 / 5.0)
    p23 = -1.0 / 7.0 + z * (1.0 / 9.0)
    p45 = -1.0 / 11.0 + z * (1.0 / 13.0)
    poly = p01 + z2 * (p23 + z2 * p45)
    a = _AK[k] + (u + u * z * poly)
    a = math.pi / 2 - a if swap else a
    a = math.pi - a if x < 0.0 else a
    return -a if y < 0.0 else a


@numba.njit(cache=True, error_model="numpy")
def _hypot(x: float, y: float) -> float:  # pragma: no cover - compiled
    return math.sqrt(x * x + y * y)


@numba.njit(cache=True, error_model="numpy")
def _out_of_reach(x: float, y: float, rmin: float, rmax: float) -> bool:  # pragma: no cover - compiled
    """True if a 2R arm with reach [rmin, rmax] misses the point (x, y) by more than _REACH_TOL_M."""
    rho = math.sqrt(x * x + y * y)
    return rho > rmax + _REACH_TOL_M or rho < rmin - _REACH_TOL_M


@numba.njit(cache=True, error_model="numpy")
def _fit(x: float, lo: float, hi: float) -> float:  # pragma: no cover - compiled
    """The 2π-equivalent of ``x`` nearest 0 inside [lo, hi] (NaN when none)."""
    w = x - _TWO_PI * math.floor(x * _INV_TWO_PI + 0.5)  # (-π, π] up to rounding; branch-free
    if lo <= w <= hi:  # fast path: the value nearest 0 is inside
        return w
    for m in range(3):
        if m == 0:
            c = w
        elif m == 1:
            c = w - _TWO_PI if w > 0.0 else w + _TWO_PI
        else:
            c = w + _TWO_PI if w > 0.0 else w - _TWO_PI
        if lo - _LIMIT_TOL <= c <= hi + _LIMIT_TOL:
            return min(max(c, lo), hi)
    return math.nan


@numba.njit(cache=True, error_model="numpy")
def _reachable_theta234(
    theta: float, px: float, py: float, d5: float, e: float, a2: float, a3: float
) -> float:  # pragma: no cover - compiled
    """The θ234 nearest ``theta`` for which the UR elbow can reach the wrist-1 point (NaN if none).

    The wrist-1 point in the shoulder plane is ``F(θ) = (px + e cos θ - d5 sin θ,
    py + e sin θ + d5 cos θ) = P + ρ (cos(θ + β), sin(θ + β))`` with ``e = d6 sin θ5``; the 2R arm
    reaches it when ``| |a2| - |a3| | ≤ |F| ≤ |a2| + |a3|``.
    """
    rmin = abs(abs(a2) - abs(a3))
    rmax = abs(a2) + abs(a3)
    rho = math.sqrt(d5 * d5 + e * e)
    beta = math.atan2(d5, e)
    P = math.sqrt(px * px + py * py)
    if P * rho <= 0.0:
        return theta if rmin <= rho <= rmax else math.nan
    lo = (rmin * rmin - P * P - rho * rho) / (2.0 * rho * P)
    hi = (rmax * rmax - P * P - rho * rho) / (2.0 * rho * P)
    if lo > 1.0 or hi < -1.0:
        return math.nan
    # cos δ ∈ [lo, hi] with δ = θ + β - atan2(py, px)  <=>  |δ| ∈ [acos(hi), acos(lo)]
    dmin = math.acos(min(hi, 1.0))
    dmax = math.acos(max(lo, -1.0))
    alpha = math.atan2(py, px)
    d0 = theta + beta - alpha
    d0 = d0 - _TWO_PI * math.floor(d0 / _TWO_PI + 0.5)
    ad = min(max(abs(d0), dmin), dmax)
    d = ad if d0 >= 0.0 else -ad
    # keep the result within 2π of the input so that Δ is the true (small) change
    return theta + (d - d0)


@numba.njit(cache=True, error_model="numpy")
def _ur_ik_core(
    T: NDArrayF,
    d1: float,
    a2: float,
    a3: float,
    d4: float,
    d5: float,
    d6: float,
    lower: NDArrayF,
    upper: NDArrayF,
) -> NDArrayF:  # pragma: no cover - compiled
    """All 8 IK branches of a UR arm, T (N, 4, 4) ``T_base_flange`` -> q (N, 8, 6) [rad]."""
    N = T.shape[0]
    out = np.empty((N, 8, 6))
    rmin = abs(abs(a2) - abs(a3))
    rmax = abs(a2) + abs(a3)
    pi_ok = np.empty(6, dtype=np.bool_)
    for j in range(6):
        pi_ok[j] = lower[j] <= -math.pi and upper[j] >= math.pi
    for k in range(N):
        mask = 0
        r00, r01, r02 = T[k, 0, 0], T[k, 0, 1], T[k, 0, 2]
        r10, r11, r12 = T[k, 1, 0], T[k, 1, 1], T[k, 1, 2]
        r20, r21 = T[k, 2, 0], T[k, 2, 1]
        px, py, pz = T[k, 0, 3], T[k, 1, 3], T[k, 2, 3]
        p5x = px - d6 * r02
        p5y = py - d6 * r12
        rr = _hypot(p5x, p5y)
        if rr <= 0.0:
            out[k] = math.nan
            continue
        if rr < abs(d4) - _REACH_TOL_M:  # wrist-2 point inside the cylinder of radius d4 around axis 1
            out[k] = math.nan
            continue
        ratio = min(max(d4 / rr, -1.0), 1.0)
        cpsi = p5x / rr
        spsi = p5y / rr
        calpha = math.sqrt(max(0.0, 1.0 - ratio * ratio))
        for ish in range(2):
            # θ1 = ψ + α (ish 0) or ψ + π - α (ish 1), sin α = d4 / r
            ca = calpha if ish == 0 else -calpha
            c1 = cpsi * ca - spsi * ratio
            s1 = spsi * ca + cpsi * ratio
            th1 = fast_atan2(s1, c1)
            # third row of R_1_6 (= n·R with n = (s1, -c1, 0)) and its first two rows
            nx = s1 * r00 - c1 * r10
            ny = s1 * r01 - c1 * r11
            nz = s1 * r02 - c1 * r12
            m00 = c1 * r00 + s1 * r10
            m01 = c1 * r01 + s1 * r11
            s5abs = _hypot(nx, ny)
            x16 = c1 * px + s1 * py
            y16 = pz - d1
            th5p = fast_atan2(s5abs, nz)
            if s5abs > _SING_TOL:
                c6p = nx / s5abs
                s6p = -ny / s5abs
                th6p = fast_atan2(s6p, c6p)
            else:
                th6p = 0.0
                c6p = 1.0
                s6p = 0.0
            # (R_1_6 Rz(-θ6)) e_y = Rz(θ234) e_y = (-s234, c234, 0)
            s234p = -(s6p * m00 + c6p * m01)
            c234p = s6p * r20 + c6p * r21
            th234p = fast_atan2(s234p, c234p)
            for iw in range(2):
                if iw == 0:
                    s5, th5, th6, s234, c234, th234 = s5abs, th5p, th6p, s234p, c234p, th234p
                elif s5abs > _SING_TOL:
                    # wrist flip: θ5 -> -θ5, θ6 -> θ6 + π, θ234 -> θ234 + π
                    s5, th5, th6 = -s5abs, -th5p, th6p + math.pi
                    s234, c234, th234 = -s234p, -c234p, th234p + math.pi
                else:
                    s5, th5, th6, s234, c234, th234 = -s5abs, -th5p, th6p, s234p, c234p, th234p
                x = x16 + d6 * s5 * c234 - d5 * s234
                y = y16 + d6 * s5 * s234 + d5 * c234
                c3 = (x * x + y * y - a2 * a2 - a3 * a3) / (2.0 * a2 * a3)
                if _out_of_reach(x, y, rmin, rmax):
                    # At (or near) θ5 = 0 / π joints 2, 3, 4 and 6 are (nearly) parallel and the split
                    # of the rotation between θ234 and θ6 is free (or ill-conditioned). If the wrist
                    # that split gives is out of reach, move θ234 to the nearest reachable value and
                    # give θ6 the opposite change; accept it only if the rotation this costs,
                    # about |sin θ5 · Δ|, stays below _ROT_TOL.
                    t_new = _reachable_theta234(th234, x16, y16, d5, d6 * s5, a2, a3)
                    delta = t_new - th234
                    if math.isnan(t_new) or s5abs * abs(delta) > _ROT_TOL:
                        continue
                    th234 = t_new
                    th6 = th6 - delta if nz >= 0.0 else th6 + delta
                    s234 = math.sin(th234)
                    c234 = math.cos(th234)
                    x = x16 + d6 * s5 * c234 - d5 * s234
                    y = y16 + d6 * s5 * s234 + d5 * c234
                    c3 = (x * x + y * y - a2 * a2 - a3 * a3) / (2.0 * a2 * a3)
                    if _out_of_reach(x, y, rmin, rmax):
                        continue
                c3 = min(max(c3, -1.0), 1.0)
                s3abs = math.sqrt(max(0.0, 1.0 - c3 * c3))
                th3p = fast_atan2(s3abs, c3)
                for ie in range(2):
                    s3 = s3abs if ie == 0 else -s3abs
                    th3 = th3p if ie == 0 else -th3p
                    A = a2 + a3 * c3
                    B = a3 * s3
                    th2 = fast_atan2(y * A - x * B, x * A + y * B)
                    bi = 4 * ish + 2 * ie + iw
                    mask |= 1 << bi
                    # θ1, θ2, θ3, θ5 come from atan2 in [-π, π]: already nearest 0, only check limits
                    v0 = th1 if pi_ok[0] else _fit(th1, lower[0], upper[0])
                    v1 = th2 if pi_ok[1] else _fit(th2, lower[1], upper[1])
                    v2 = th3 if pi_ok[2] else _fit(th3, lower[2], upper[2])
                    v3 = _fit(th234 - th2 - th3, lower[3], upper[3])
                    v4 = th5 if pi_ok[4] else _fit(th5, lower[4], upper[4])
                    v5 = _fit(th6, lower[5], upper[5])
                    if math.isnan(v0 + v1 + v2 + v3 + v4 + v5):
                        for j in range(6):
                            out[k, bi, j] = math.nan
                    else:
                        out[k, bi, 0] = v0
                        out[k, bi, 1] = v1
                        out[k, bi, 2] = v2
                        out[k, bi, 3] = v3
                        out[k, bi, 4] = v4
                        out[k, bi, 5] = v5
        if mask != 255:
            for bb in range(8):
                if not (mask >> bb) & 1:
                    out[k, bb] = math.nan
    return out


@numba.njit(cache=True, error_model="numpy")
def _opw_ik_core(
    T: NDArrayF,
    a1: float,
    a2: float,
    b: float,
    c1: float,
    c2: float,
    c3: float,
    c4: float,
    offsets: NDArrayF,
    signs: NDArrayF,
    lower: NDArrayF,
    upper: NDArrayF,
) -> NDArrayF:  # pragma: no cover - compiled
    """All 8 IK branches of an OPW arm, T (N, 4, 4) ``T_base_flange`` -> q (N, 8, 6) [rad]."""
    N = T.shape[0]
    out = np.empty((N, 8, 6))
    kk = _hypot(a2, c3)
    phi = fast_atan2(a2, c3)
    cphi = c3 / kk
    sphi = a2 / kk
    th = np.empty(6)
    for k in range(N):
        mask = 0
        r00, r02 = T[k, 0, 0], T[k, 0, 2]
        r10, r12 = T[k, 1, 0], T[k, 1, 2]
        r20, r22 = T[k, 2, 0], T[k, 2, 2]
        cx = T[k, 0, 3] - c4 * r02
        cy = T[k, 1, 3] - c4 * r12
        cz = T[k, 2, 3] - c4 * r22
        rc2 = cx * cx + cy * cy
        rho2 = rc2 - b * b
        if rho2 < 0.0 and math.sqrt(rc2) < abs(b) - _REACH_TOL_M:
            out[k] = math.nan
            continue
        rho = math.sqrt(max(rho2, 0.0))
        for ish in range(2):
            # θ1 = atan2(cy, cx) - atan2(b, ±ρ): the wrist centre lies at (±ρ, b) in the arm frame
            sr = rho if ish == 0 else -rho
            if rc2 > _SING_TOL * _SING_TOL:
                cs1 = (cx * sr + cy * b) / rc2
                sn1 = (cy * sr - cx * b) / rc2
            else:
                # wrist centre on axis 1: θ1 is free. Put the flange z axis into the arm plane
                # (front / back), which minimises |θ5|; θ1 = 0 / π if flange z is along axis 1 too.
                nzxy = _hypot(r02, r12)
                sgn = 1.0 if ish == 0 else -1.0
                if nzxy > 1e-9:
                    cs1 = sgn * r02 / nzxy
                    sn1 = sgn * r12 / nzxy
                else:
                    cs1 = sgn
                    sn1 = 0.0
                # if that θ1 is outside the axis-1 range, use the nearest limit instead
                q1 = signs[0] * (fast_atan2(sn1, cs1) - offsets[0])
                if math.isnan(_fit(q1, lower[0], upper[0])):
                    dlo = abs(q1 - lower[0] - _TWO_PI * math.floor((q1 - lower[0]) * _INV_TWO_PI + 0.5))
                    dhi = abs(q1 - upper[0] - _TWO_PI * math.floor((q1 - upper[0]) * _INV_TWO_PI + 0.5))
                    t1 = signs[0] * (lower[0] if dlo <= dhi else upper[0]) + offsets[0]
                    cs1 = math.cos(t1)
                    sn1 = math.sin(t1)
            th1 = fast_atan2(sn1, cs1)
            h = cs1 * cx + sn1 * cy - a1
            v = cz - c1
            cpsi = (h * h + v * v - c2 * c2 - kk * kk) / (2.0 * c2 * kk)
            if _out_of_reach(h, v, abs(c2 - kk), c2 + kk):
                continue
            cpsi = min(max(cpsi, -1.0), 1.0)
            spabs = math.sqrt(max(0.0, 1.0 - cpsi * cpsi))
            psi3p = fast_atan2(spabs, cpsi)
            # W = Rz(θ1)ᵀ R
            w00 = cs1 * r00 + sn1 * r10
            w02 = cs1 * r02 + sn1 * r12
            w10 = -sn1 * r00 + cs1 * r10
            w12 = -sn1 * r02 + cs1 * r12
            for ie in range(2):
                sp = spabs if ie == 0 else -spabs
                psi3 = psi3p if ie == 0 else -psi3p
                Ap = kk * sp
                Bp = c2 + kk * cpsi
                y2 = h * Bp - v * Ap
                x2 = v * Bp + h * Ap
                th2 = fast_atan2(y2, x2)
                th3 = psi3 - phi
                # sin/cos of θ2 + θ3 from the atan2 arguments (no trig calls)
                n2 = _hypot(x2, y2)
                c2_ = x2 / n2
                s2_ = y2 / n2
                c3_ = cpsi * cphi + sp * sphi
                s3_ = sp * cphi - cpsi * sphi
                s23 = s2_ * c3_ + c2_ * s3_
                c23 = c2_ * c3_ - s2_ * s3_
                # M = Ry(θ23)ᵀ W = Rz(θ4) Ry(θ5) Rz(θ6)
                M00 = c23 * w00 - s23 * r20
                M02 = c23 * w02 - s23 * r22
                M10 = w10
                M12 = w12
                M20 = s23 * w00 + c23 * r20
                M22 = s23 * w02 + c23 * r22
                hyp = _hypot(M02, M12)
                th5p = fast_atan2(hyp, M22)
                if hyp > _SING_TOL:
                    c4_ = M02 / hyp
                    s4_ = M12 / hyp
                    th4p = fast_atan2(s4_, c4_)
                else:
                    th4p = 0.0
                    c4_ = 1.0
                    s4_ = 0.0
                n00 = M22 * (c4_ * M00 + s4_ * M10) - hyp * M20
                n10 = -s4_ * M00 + c4_ * M10
                th6p = fast_atan2(n10, n00)
                for iw in range(2):
                    th[0] = th1
                    th[1] = th2
                    th[2] = th3
                    if iw == 0:
                        th[3] = th4p
                        th[4] = th5p
                        th[5] = th6p
                    elif hyp > _SING_TOL:  # wrist flip: θ5 -> -θ5, θ4 -> θ4 + π, θ6 -> θ6 + π
                        th[3] = th4p + math.pi
                        th[4] = -th5p
                        th[5] = th6p + math.pi
                    else:
                        th[3] = th4p
                        th[4] = -th5p
                        th[5] = th6p
                    bi = 4 * ish + 2 * ie + iw
                    mask |= 1 << bi
                    for j in range(6):
                        fv = _fit(signs[j] * (th[j] - offsets[j]), lower[j], upper[j])
                        if math.isnan(fv):
                            for i in range(6):
                                out[k, bi, i] = math.nan
                            break
                        out[k, bi, j] = fv
        if mask != 255:
            for bb in range(8):
                if not (mask >> bb) & 1:
                    out[k, bb] = math.nan
    return out


@numba.njit(cache=True, error_model="numpy")
def check_rigid_kernel(T: NDArrayF, atol: float) -> int:  # pragma: no cover - compiled
    """Index of the first non-rigid / non-finite transform in T (N, 4, 4), or -1 if all are fine."""
    for k in range(T.shape[0]):
        for i in range(4):
            for j in range(4):
                if not math.isfinite(T[k, i, j]):
                    return k
        if abs(T[k, 3, 0]) > atol or abs(T[k, 3, 1]) > atol or abs(T[k, 3, 2]) > atol:
            return k
        if abs(T[k, 3, 3] - 1.0) > atol:
            return k
        for i in range(3):
            for j in range(i, 3):
                d = T[k, 0, i] * T[k, 0, j] + T[k, 1, i] * T[k, 1, j] + T[k, 2, i] * T[k, 2, j]
                if abs(d - (1.0 if i == j else 0.0)) > atol:
                    return k
        det = (
            T[k, 0, 0] * (T[k, 1, 1] * T[k, 2, 2] - T[k, 1, 2] * T[k, 2, 1])
            - T[k, 0, 1] * (T[k, 1, 0] * T[k, 2, 2] - T[k, 1, 2] * T[k, 2, 0])
            + T[k, 0, 2] * (T[k, 1, 0] * T[k, 2, 1] - T[k, 1, 1] * T[k, 2, 0])
        )
        if det < 0.0:
            return k
    return -1


def ur_labels(q: NDArrayF, a2: float, a3: float, d5: float) -> npt.NDArray[np.int8]:
    """UR configuration labels (shoulder, elbow, wrist) ∈ {+1, -1}, q (N, 6) -> (N, 3).

    shoulder: sign of the wrist-2 point's x in DH frame 1 (``a2 c2 + a3 c23 + d5 s234``);
    elbow: sign of sin θ3; wrist: sign of sin θ5 (0 counts as +1).
    """
    t2, t3 = q[:, 1], q[:, 2]
    t234 = q[:, 1] + q[:, 2] + q[:, 3]
    x15 = a2 * np.cos(t2) + a3 * np.cos(t2 + t3) + d5 * np.sin(t234)
    return np.stack(
        [np.where(x15 >= 0, 1, -1), np.where(np.sin(t3) >= 0, 1, -1), np.where(np.sin(q[:, 4]) >= 0, 1, -1)],
        axis=-1,
    ).astype(np.int8)


def opw_labels(
    q: NDArrayF, a1: float, a2: float, c2: float, c3: float, offsets: NDArrayF, signs: NDArrayF
) -> npt.NDArray[np.int8]:
    """OPW configuration labels (shoulder, elbow, wrist) ∈ {+1, -1}, q (N, 6) -> (N, 3).

    With native angles θ = sign·q + offset: shoulder: sign of the wrist centre's distance in front
    of axis 1 (``a1 + c2 sin θ2 + k sin(θ2 + θ3 + φ)``); elbow: sign of sin(θ3 + φ),
    ``φ = atan2(a2, c3)``; wrist: sign of sin θ5.
    """
    th = signs * q + offsets
    kk = math.hypot(a2, c3)
    phi = math.atan2(a2, c3)
    psi3 = th[:, 2] + phi
    front = a1 + c2 * np.sin(th[:, 1]) + kk * np.sin(th[:, 1] + psi3)
    return np.stack(
        [
            np.where(front >= 0, 1, -1),
            np.where(np.sin(psi3) >= 0, 1, -1),
            np.where(np.sin(th[:, 4]) >= 0, 1, -1),
        ],
        axis=-1,
    ).astype(np.int8)


@numba.njit(cache=True, error_model="numpy")
def ur_ik_kernel(T: NDArrayF, P: NDArrayF, atol: float) -> tuple[NDArrayF, int]:  # pragma: no cover
    """UR IK with input check in one compiled call (one dispatch, for single-pose latency).

    Args:
        T: ``T_base_flange`` (N, 4, 4), C-contiguous.
        P: ``[d1, a2, a3, d4, d5, d6, lower (6), upper (6)]`` (see :func:`ur_params`).
        atol: Rigidity tolerance; negative skips the check.

    Returns:
        (q (N, 8, 6), -1) or (empty, index of the first bad pose).
    """
    if atol >= 0.0:
        bad = check_rigid_kernel(T, atol)
        if bad >= 0:
            return np.empty((0, 8, 6)), bad
    return _ur_ik_core(T, P[0], P[1], P[2], P[3], P[4], P[5], P[6:12], P[12:18]), -1


@numba.njit(cache=True, error_model="numpy")
def opw_ik_kernel(T: NDArrayF, P: NDArrayF, atol: float) -> tuple[NDArrayF, int]:  # pragma: no cover
    """OPW IK with input check in one compiled call; P from :func:`opw_params` (see ur_ik_kernel)."""
    if atol >= 0.0:
        bad = check_rigid_kernel(T, atol)
        if bad >= 0:
            return np.empty((0, 8, 6)), bad
    return (
        _opw_ik_core(T, P[0], P[1], P[2], P[3], P[4], P[5], P[6], P[7:13], P[13:19], P[19:25], P[25:31]),
        -1,
    )


def ur_params(d: tuple[float, ...], lower: NDArrayF, upper: NDArrayF) -> NDArrayF:
    """Parameter vector of :func:`ur_ik_kernel`: DH lengths (d1, a2, a3, d4, d5, d6) [m] and limits [rad]."""
    return np.ascontiguousarray(np.concatenate([np.asarray(d, dtype=np.float64), lower, upper]))


def opw_params(
    lengths: tuple[float, ...], offsets: NDArrayF, signs: NDArrayF, lower: NDArrayF, upper: NDArrayF
) -> NDArrayF:
    """Parameter vector of :func:`opw_ik_kernel`: (a1, a2, b, c1, c2, c3, c4) [m], offsets, signs, limits."""
    return np.ascontiguousarray(
        np.concatenate([np.asarray(lengths, dtype=np.float64), offsets, signs, lower, upper]).astype(
            np.float64
        )
    )
