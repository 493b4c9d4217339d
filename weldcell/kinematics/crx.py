"""FANUC CRX-10iA/L kinematics: FK and all-branch IK of a non-spherical (offset) wrist, batched.

Geometry: standard DH, ``T_{i-1,i} = Rz(θ_i) Tz(d_i) Tx(a_i) Rx(α_i)``, ``θ_i = q_i + offset_i``, with
the CRX-10iA/L table (upper arm 710 mm, forearm 540 mm, wrist offset 150 mm, faceplate 160 mm; FANUC's
data as used by Wandelbots' robot viewer, ``FANUC_CRX10iAL`` DH parameters)::

    i   a [m]   d [m]    α        offset
    1   0       0        +π/2     0
    2   0.710   0        0        +π/2
    3   0       0        -π/2     0
    4   0       -0.540   +π/2     0
    5   0       0.150    -π/2     0
    6   0       -0.160   π        0

The base frame is FANUC's world frame (J1 axis at the J2 height). J4 and J5 intersect, J5 and J6
intersect, but the two points are 150 mm apart: the wrist is not spherical, so the position and
orientation sub-problems do not decouple as in the OPW solver.

**Method (1-D search with closed-form sub-problems).** From the flange pose, the J5-J6 intersection
``O5 = p + d6 z6`` and the J6 axis are known. The J5 axis ``z4`` is perpendicular to the J6 axis, so
``z4(φ) = cos φ x6 + sin φ y6`` for one unknown angle φ, and the J4-J5 intersection is
``O4(φ) = O5 - d5 z4(φ)``. For each φ the arm J1-J3 reaching ``O4`` is closed form: J1 = the azimuth
of ``O4`` (or that + π), then a planar two-link arm (710, 540; elbow ±). The remaining condition is
that the J4 axis (the forearm, ``z3``) is perpendicular to the J5 axis: ``f(φ) = z3(φ) · z4(φ) = 0``.
Its roots are bracketed on a grid of ``n_grid`` angles (sign changes, all poses and the 4 arm
branches at once), refined by false position (Illinois; bisection where that is slow) to machine
precision, and J4, J5, J6 follow in closed form.
Each pose has up to 16 solutions: (J1 branch, elbow branch, root k of f), k ≤ 4 per arm branch.
A root where f only touches zero (a double root: the arm at a boundary between branches) can be
missed; the residual of every returned solution is checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.kinematics.root_search import bracket_roots

NDArrayF = npt.NDArray[np.float64]

N_CRX_BRANCHES = 16


@dataclass(frozen=True, slots=True)
class CrxDH:
    """DH table of a CRX arm (see module docstring): lengths [m], angles [rad], shape (6,) each."""

    a: tuple[float, ...] = (0.0, 0.710, 0.0, 0.0, 0.0, 0.0)
    d: tuple[float, ...] = (0.0, 0.0, 0.0, -0.540, 0.150, -0.160)
    alpha: tuple[float, ...] = (math.pi / 2, 0.0, -math.pi / 2, math.pi / 2, -math.pi / 2, math.pi)
    offset: tuple[float, ...] = (0.0, math.pi / 2, 0.0, 0.0, 0.0, 0.0)


CRX10IA_L = CrxDH()


def _dh(theta: NDArrayF, a: float, d: float, alpha: float) -> NDArrayF:
    ct, st = np.cos(theta), np.sin(theta)
    ca, sa = math.cos(alpha), math.sin(alpha)
    T = np.zeros((*theta.shape, 4, 4))
    T[..., 0, 0], T[..., 0, 1], T[..., 0, 2], T[..., 0, 3] = ct, -st * ca, st * sa, a * ct
    T[..., 1, 0], T[..., 1, 1], T[..., 1, 2], T[..., 1, 3] = st, ct * ca, -ct * sa, a * st
    T[..., 2, 1], T[..., 2, 2], T[..., 2, 3] = sa, ca, d
    T[..., 3, 3] = 1.0
    return T


def crx_fk(q: npt.ArrayLike, dh: CrxDH = CRX10IA_L, frame: int = 6) -> NDArrayF:
    """Flange poses ``T_base_flange`` [m], shape (..., 4, 4), of joints ``q`` [rad], shape (..., 6).

    ``frame`` < 6 gives the pose of DH frame ``frame`` instead (frame 4: z along the J5 axis).
    """
    qa = np.asarray(q, dtype=np.float64)
    T = np.broadcast_to(np.eye(4), (*qa.shape[:-1], 4, 4)).copy()
    for i in range(frame):
        T = T @ _dh(qa[..., i] + dh.offset[i], dh.a[i], dh.d[i], dh.alpha[i])
    return T


def _arm(o4: NDArrayF, dh: CrxDH) -> tuple[NDArrayF, NDArrayF, NDArrayF, NDArrayF]:
    """θ1, θ2, θ3 and the J4 axis z3 for the 4 arm branches reaching points ``o4`` (..., 3).

    Returns arrays with a new axis of length 4 before the last (branch = 2·shoulder + elbow);
    unreachable points give NaN.
    """
    L1, L2 = dh.a[1], -dh.d[3]
    az = np.arctan2(o4[..., 1], o4[..., 0])
    th1 = np.stack([az, az, az + math.pi, az + math.pi], axis=-1)
    x1 = np.stack([np.cos(th1), np.sin(th1), np.zeros_like(th1)], axis=-1)
    r = np.einsum("...k,...bk->...b", o4, x1)
    h = np.broadcast_to(o4[..., 2:3], r.shape)
    cb = (r * r + h * h - L1 * L1 - L2 * L2) / (2 * L1 * L2)
    beta = np.arccos(np.clip(cb, -1.0, 1.0))  # clamped: f stays continuous at the edge of the reach
    beta = beta * np.array([1.0, -1.0, 1.0, -1.0])
    th2p = np.arctan2(h, r) - np.arctan2(L2 * np.sin(beta), L1 + L2 * np.cos(beta))
    w_ang = th2p + beta
    y1 = np.array([0.0, 0.0, 1.0])
    z3 = -(np.cos(w_ang)[..., None] * x1 + np.sin(w_ang)[..., None] * y1)
    th2 = th2p
    th3 = beta + math.pi / 2
    return th1, th2, th3, z3


def _f(T: NDArrayF, phi: NDArrayF, dh: CrxDH) -> tuple[NDArrayF, tuple[NDArrayF, ...]]:
    """f(φ) = z3 · z4 for poses T (P, 4, 4) and angles φ (P, ...): shape (P, ..., 4) and the parts."""
    x6, y6, z6, p = T[:, :3, 0], T[:, :3, 1], T[:, :3, 2], T[:, :3, 3]
    ext = (slice(None),) + (None,) * (phi.ndim - 1)
    z4 = np.cos(phi)[..., None] * x6[ext] + np.sin(phi)[..., None] * y6[ext]
    o5 = p + dh.d[5] * z6
    o4 = o5[ext] - dh.d[4] * z4
    th1, th2, th3, z3 = _arm(o4, dh)
    f = np.einsum("...bk,...k->...b", z3, z4)
    return f, (th1, th2, th3, z4)


def _refine(
    Tp: NDArrayF, bi: npt.NDArray[np.int64], lo: NDArrayF, hi: NDArrayF, flo: NDArrayF, dh: CrxDH
) -> NDArrayF:
    """Roots of f in the brackets [lo, hi] (f(lo) = flo): Illinois false position (superlinear, the
    bracket is kept), then bisection steps on the rows it left unconverged."""
    rows = np.arange(len(lo))
    fhi = _f(Tp, hi[:, None], dh)[0][rows, 0, bi]
    x = 0.5 * (lo + hi)
    side = np.zeros(len(lo), dtype=np.int8)  # which end was kept last: -1 lo, +1 hi
    for _ in range(16):
        den = fhi - flo
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(den != 0.0, (lo * fhi - hi * flo) / den, 0.5 * (lo + hi))
        x = np.where((x > lo) & (x < hi), x, 0.5 * (lo + hi))
        fx = _f(Tp, x[:, None], dh)[0][rows, 0, bi]
        left = np.sign(fx) == np.sign(flo)  # the root is in [x, hi]: x replaces lo, hi is kept
        flo_new = np.where(left, fx, np.where(side == -1, 0.5 * flo, flo))
        fhi_new = np.where(left, np.where(side == 1, 0.5 * fhi, fhi), fx)
        lo, hi = np.where(left, x, lo), np.where(left, hi, x)
        flo, fhi = flo_new, fhi_new
        side = np.where(left, 1, -1).astype(np.int8)
    # rows whose bracket is still wide (a flat f near a double root): finish by bisection
    wide = np.flatnonzero(hi - lo > 1e-12)
    if wide.size:
        lw, hw, fw, bw, r = lo[wide], hi[wide], flo[wide], bi[wide], np.arange(wide.size)
        for _ in range(40):
            mid = 0.5 * (lw + hw)
            fm = _f(Tp[wide], mid[:, None], dh)[0][r, 0, bw]
            left = np.sign(fm) == np.sign(fw)
            lw, fw, hw = np.where(left, mid, lw), np.where(left, fm, fw), np.where(left, hw, mid)
        x[wide] = 0.5 * (lw + hw)
    return x


def crx_ik(
    T_base_flange: npt.ArrayLike, dh: CrxDH = CRX10IA_L, n_grid: int = 360
) -> tuple[NDArrayF, npt.NDArray[np.int8]]:
    """All IK branches of flange poses ``T_base_flange`` (..., 4, 4) [m].

    Returns:
        q: Joints [rad] in (-π, π], shape (..., 16, 6); missing branches are NaN rows, valid rows
            first, ordered by (J1 branch, elbow, φ).
        labels: (J1 branch 0/1, elbow 0/1, root index k) per row, shape (..., 16, 3), -1 when missing.
    """
    Tin = np.asarray(T_base_flange, dtype=np.float64)
    lead = Tin.shape[:-2]
    T = Tin.reshape(-1, 4, 4)
    P = T.shape[0]
    pi_, bi, lo, hi, flo = bracket_roots(T, lambda Ts, x: _f(Ts, x, dh)[0], n_grid)
    Tp = T[pi_]
    phi = _refine(Tp, bi, lo, hi, flo, dh)
    _, (th1, th2, th3, z4) = _f(Tp, phi[:, None], dh)
    k = np.arange(len(phi))
    t1, t2, t3, z4 = th1[k, 0, bi], th2[k, 0, bi], th3[k, 0, bi], z4[k, 0]
    # closed-form wrist: frames 0..3 from θ1..θ3, then θ4 from z4, θ5 from z5 = -z6, θ6 from x6
    R3 = (
        _dh(t1, dh.a[0], dh.d[0], dh.alpha[0]) @ _dh(t2, dh.a[1], dh.d[1], dh.alpha[1])
        @ _dh(t3, dh.a[2], dh.d[2], dh.alpha[2])
    )[:, :3, :3]  # fmt: skip
    z4_3 = np.einsum("nji,nj->ni", R3, z4)
    t4 = np.arctan2(z4_3[:, 0], -z4_3[:, 1])
    R4 = R3 @ _dh(t4, 0.0, 0.0, dh.alpha[3])[:, :3, :3]
    z5 = -Tp[:, :3, 2]
    z5_4 = np.einsum("nji,nj->ni", R4, z5)
    t5 = np.arctan2(-z5_4[:, 0], z5_4[:, 1])
    R5 = R4 @ _dh(t5, 0.0, 0.0, dh.alpha[4])[:, :3, :3]
    M = np.einsum("nji,njk->nik", R5, Tp[:, :3, :3]) @ _dh(np.zeros(1), 0.0, 0.0, dh.alpha[5])[0, :3, :3].T
    t6 = np.arctan2(M[:, 1, 0], M[:, 0, 0])
    th = np.stack([t1, t2, t3, t4, t5, t6], axis=-1) - np.asarray(dh.offset)
    qs = np.arctan2(np.sin(th), np.cos(th))
    # keep the true solutions: drops roots of the clamped f beyond the reach (and any unconverged one)
    Tq = crx_fk(qs, dh)
    good = (np.linalg.norm(Tq[:, :3, 3] - Tp[:, :3, 3], axis=1) <= 1e-9) & (
        np.abs(Tq[:, :3, :3] - Tp[:, :3, :3]).max(axis=(1, 2)) <= 1e-9
    )
    pi_, bi, phi, qs = pi_[good], bi[good], phi[good], qs[good]
    out = np.full((P, N_CRX_BRANCHES, 6), np.nan)
    lab = np.full((P, N_CRX_BRANCHES, 3), -1, dtype=np.int8)
    order = np.lexsort((phi, bi, pi_))
    slot = np.zeros(P, dtype=np.int64)
    count_b = np.zeros((P, 4), dtype=np.int64)
    for j in order.tolist():  # scatter: at most 16 roots per pose (loop over found roots, not poses)
        p = pi_[j]
        if slot[p] >= N_CRX_BRANCHES:
            continue
        out[p, slot[p]] = qs[j]
        lab[p, slot[p]] = (bi[j] // 2, bi[j] % 2, count_b[p, bi[j]])
        count_b[p, bi[j]] += 1
        slot[p] += 1
    return out.reshape(*lead, N_CRX_BRANCHES, 6), lab.reshape(*lead, N_CRX_BRANCHES, 3)
