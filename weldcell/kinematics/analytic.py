"""Compiled closed-form inverse kinematics: UR (6R, offset wrist) and OPW (spherical wrist) arms.

Both kernels return all 8 branches per pose, shape (N, 8, 6). Branch index
``b = 4·i_shoulder + 2·i_elbow + i_wrist`` where ``i = 0`` means the configuration label +1 and
``i = 1`` the label -1 (see :func:`ur_labels` / :func:`opw_labels` and docs/conventions.md).
A branch that does not exist (pose out of reach) or has no 2π-equivalent inside the joint limits
is a row of NaN. Each joint value is the 2π-equivalent nearest 0 that lies inside the limits.

Singular poses return valid solutions: when the wrist is singular (UR θ5 ≈ 0 or π, OPW θ5 ≈ 0)
one free joint is fixed at 0 (UR: joint 6, OPW: native θ4) and the other absorbs the remaining
rotation; when an OPW wrist centre lies on axis 1 the direction of axis 1 is fixed at native
θ1 = 0 (front) and π (back).

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
_REACH_TOL = 1e-10  # relative slack on acos/asin arguments before a branch is declared unreachable
_SING_TOL = 1e-12  # |sin θ5| below this: wrist singular, free joint fixed at 0
_LIMIT_TOL = 1e-12  # [rad] slack on joint limits (values are clamped into the limits)


@numba.njit(cache=True)
def _fit(x: float, lo: float, hi: float) -> float:  # pragma: no cover - compiled
    """The 2π-equivalent of ``x`` nearest 0 inside [lo, hi] (NaN when none)."""
    w = x - _TWO_PI * math.floor(x / _TWO_PI + 0.5)  # (-π, π]
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


@numba.njit(cache=True)
def _store(
    out: NDArrayF, k: int, b: int, q: NDArrayF, lower: NDArrayF, upper: NDArrayF
) -> None:  # pragma: no cover - compiled
    for j in range(6):
        v = _fit(q[j], lower[j], upper[j])
        if math.isnan(v):
            for i in range(6):
                out[k, b, i] = math.nan
            return
        out[k, b, j] = v


@numba.njit(cache=True)
def ur_ik_kernel(
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
    out = np.full((N, 8, 6), np.nan)
    q = np.empty(6)
    for k in range(N):
        r00, r01, r02 = T[k, 0, 0], T[k, 0, 1], T[k, 0, 2]
        r10, r11, r12 = T[k, 1, 0], T[k, 1, 1], T[k, 1, 2]
        r20, r21 = T[k, 2, 0], T[k, 2, 1]
        px, py, pz = T[k, 0, 3], T[k, 1, 3], T[k, 2, 3]
        p5x = px - d6 * r02
        p5y = py - d6 * r12
        rr = math.hypot(p5x, p5y)
        if rr <= 0.0:
            continue
        ratio = d4 / rr
        if abs(ratio) > 1.0 + _REACH_TOL:
            continue
        ratio = min(max(ratio, -1.0), 1.0)
        cpsi = p5x / rr
        spsi = p5y / rr
        calpha = math.sqrt(max(0.0, 1.0 - ratio * ratio))
        for ish in range(2):
            # θ1 = ψ + α (ish 0) or ψ + π - α (ish 1), sin α = d4 / r
            ca = calpha if ish == 0 else -calpha
            c1 = cpsi * ca - spsi * ratio
            s1 = spsi * ca + cpsi * ratio
            th1 = math.atan2(s1, c1)
            # third row of R_1_6 (= n·R with n = (s1, -c1, 0)) and its first two rows
            nx = s1 * r00 - c1 * r10
            ny = s1 * r01 - c1 * r11
            nz = s1 * r02 - c1 * r12
            m00 = c1 * r00 + s1 * r10
            m01 = c1 * r01 + s1 * r11
            s5abs = math.hypot(nx, ny)
            x16 = c1 * px + s1 * py
            y16 = pz - d1
            th5p = math.atan2(s5abs, nz)
            if s5abs > _SING_TOL:
                c6p = nx / s5abs
                s6p = -ny / s5abs
                th6p = math.atan2(s6p, c6p)
            else:
                th6p = 0.0
                c6p = 1.0
                s6p = 0.0
            # (R_1_6 Rz(-θ6)) e_y = Rz(θ234) e_y = (-s234, c234, 0)
            s234p = -(s6p * m00 + c6p * m01)
            c234p = s6p * r20 + c6p * r21
            th234p = math.atan2(s234p, c234p)
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
                if abs(c3) > 1.0 + _REACH_TOL:
                    continue
                c3 = min(max(c3, -1.0), 1.0)
                s3abs = math.sqrt(max(0.0, 1.0 - c3 * c3))
                th3p = math.atan2(s3abs, c3)
                for ie in range(2):
                    s3 = s3abs if ie == 0 else -s3abs
                    th3 = th3p if ie == 0 else -th3p
                    A = a2 + a3 * c3
                    B = a3 * s3
                    th2 = math.atan2(y * A - x * B, x * A + y * B)
                    q[0] = th1
                    q[1] = th2
                    q[2] = th3
                    q[3] = th234 - th2 - th3
                    q[4] = th5
                    q[5] = th6
                    _store(out, k, 4 * ish + 2 * ie + iw, q, lower, upper)
    return out


@numba.njit(cache=True)
def opw_ik_kernel(
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
    out = np.full((N, 8, 6), np.nan)
    kk = math.hypot(a2, c3)
    phi = math.atan2(a2, c3)
    th = np.empty(6)
    q = np.empty(6)
    for k in range(N):
        r00, r02 = T[k, 0, 0], T[k, 0, 2]
        r10, r12 = T[k, 1, 0], T[k, 1, 2]
        r20, r22 = T[k, 2, 0], T[k, 2, 2]
        cx = T[k, 0, 3] - c4 * r02
        cy = T[k, 1, 3] - c4 * r12
        cz = T[k, 2, 3] - c4 * r22
        rho2 = cx * cx + cy * cy - b * b
        if rho2 < -_REACH_TOL * max(b * b, 1e-6):
            continue
        rho = math.sqrt(max(rho2, 0.0))
        base = math.atan2(cy, cx) if math.hypot(cx, cy) > _SING_TOL else 0.0
        for ish in range(2):
            th1 = base - math.atan2(b, rho) if ish == 0 else base - math.atan2(b, -rho)
            cs1 = math.cos(th1)
            sn1 = math.sin(th1)
            h = cs1 * cx + sn1 * cy - a1
            v = cz - c1
            cpsi = (h * h + v * v - c2 * c2 - kk * kk) / (2.0 * c2 * kk)
            if abs(cpsi) > 1.0 + _REACH_TOL:
                continue
            cpsi = min(max(cpsi, -1.0), 1.0)
            spabs = math.sqrt(max(0.0, 1.0 - cpsi * cpsi))
            # W = Rz(θ1)ᵀ R
            w00 = cs1 * r00 + sn1 * r10
            w02 = cs1 * r02 + sn1 * r12
            w10 = -sn1 * r00 + cs1 * r10
            w12 = -sn1 * r02 + cs1 * r12
            for ie in range(2):
                sp = spabs if ie == 0 else -spabs
                psi3 = math.atan2(sp, cpsi)
                Ap = kk * sp
                Bp = c2 + kk * cpsi
                th2 = math.atan2(h * Bp - v * Ap, v * Bp + h * Ap)
                th3 = psi3 - phi
                th23 = th2 + th3
                s23 = math.sin(th23)
                c23 = math.cos(th23)
                # M = Ry(θ23)ᵀ W = Rz(θ4) Ry(θ5) Rz(θ6)
                M00 = c23 * w00 - s23 * r20
                M02 = c23 * w02 - s23 * r22
                M10 = w10
                M12 = w12
                M20 = s23 * w00 + c23 * r20
                M22 = s23 * w02 + c23 * r22
                hyp = math.hypot(M02, M12)
                for iw in range(2):
                    sg = 1.0 if iw == 0 else -1.0
                    s5 = sg * hyp
                    th5 = math.atan2(s5, M22)
                    if hyp > _SING_TOL:
                        c4_ = sg * M02 / hyp
                        s4_ = sg * M12 / hyp
                        th4 = math.atan2(s4_, c4_)
                    else:
                        th4 = 0.0
                        c4_ = 1.0
                        s4_ = 0.0
                    n00 = M22 * (c4_ * M00 + s4_ * M10) - s5 * M20
                    n10 = -s4_ * M00 + c4_ * M10
                    th6 = math.atan2(n10, n00)
                    th[0] = th1
                    th[1] = th2
                    th[2] = th3
                    th[3] = th4
                    th[4] = th5
                    th[5] = th6
                    for j in range(6):
                        q[j] = signs[j] * (th[j] - offsets[j])
                    _store(out, k, 4 * ish + 2 * ie + iw, q, lower, upper)
    return out


@numba.njit(cache=True)
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
        [np.where(front >= 0, 1, -1), np.where(np.sin(psi3) >= 0, 1, -1), np.where(np.sin(th[:, 4]) >= 0, 1, -1)],
        axis=-1,
    ).astype(np.int8)
