"""ABB GoFa CRB 15000 kinematics: FK and all-branch IK of its offset wrist, batched.

Geometry (modified DH, Craig: ``T_{i-1,i} = Rx(α_{i-1}) Tx(a_{i-1}) Rz(θ_i) Tz(d_i)``, ``θ_i = q_i +
offset_i``), the CRB 15000-5/0.95 as ABB dimensions it (product specification "Dimensions": axis-2
height 265 mm, lower arm 444 mm, axis 3-4 offset 110 mm, upper arm 470 mm, wrist offset 80 mm,
axis 5 to the mounting flange 101 mm)::

    i   α_{i-1}   a_{i-1} [m]   d_i [m]   offset
    1   0         0             0.265     0
    2   -π/2      0             0         -π/2
    3   0         0.444         0         0
    4   -π/2      0.110         0.470     0
    5   +π/2      0             0         0
    6   -π/2      0.080         0.101     π

The J4 and J5 axes intersect (the point ``O5``); the J6 axis is 80 mm from it along the common
normal ``x5`` of J5 and J6: the wrist is not spherical, as on the FANUC CRX, and the same method
applies (:mod:`weldcell.kinematics.crx`).

**Method (1-D search with closed-form sub-problems).** From the flange pose the J6 axis ``z6`` and
the foot point ``F = p - d6 z6`` are known. ``x5`` is perpendicular to ``z6``, so ``x5(φ) = cos φ x6 +
sin φ y6`` for one unknown angle φ; then ``O5(φ) = F - a5 x5(φ)`` and the J5 axis ``z5(φ) = x5 × z6``.
For each φ the arm J1-J3 reaching ``O5`` is closed form: J1 = the azimuth of ``O5`` (or that + π), then
a planar two-link arm (444 mm, and the 110 / 470 mm elbow as one link of √(110² + 470²) at its angle;
elbow ±). The remaining condition is that the J4 axis ``z4`` (from J1-J3) is perpendicular to the
J5 axis: ``f(φ) = z4(φ) · z5(φ) = 0``. Its roots are bracketed on a grid of ``n_grid`` angles (sign
changes; all poses and the 4 arm branches at once; two roots inside one cell are split at the
extremum of f between them, found by golden section, as in the CRX solver) and refined by bisection
to machine precision; J4, J5, J6 follow in closed form. A root where f only touches zero (a double
root: the arm at a boundary between branches) can be missed; every returned solution's residual is
checked (≤ 1e-9).

**Implementation (gofa6).** :func:`gofa_ik` runs a numba kernel (:mod:`weldcell.kinematics._gofa_kernel`,
compiled once and cached on disk, ~0.15 ms of CPU per pose) that loops over the poses and evaluates f
without trigonometric calls; :func:`_gofa_ik_numpy` is the same method on (poses, grid, branches)
arrays, the tests' reference. f is periodic: its value at φ = 2π is the one at 0, so a root there
(q6 = ±π) is bracketed once.

Joint directions and ``tool0`` at zero equal ROS-Industrial's URDF of the arm
(``abb_crb15000_support/urdf/crb15000_5_95_macro.xacro``; checked in tests/kinematics/test_gofa_model.py),
so q is ABB's joint angle. The arm loads as ``load_robot("crb15000_5_95")`` (limits in
:mod:`weldcell.kinematics.specs`). **Not covered:** the other CRB 15000 variants (10/1.52, 12/1.27).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.kinematics._gofa_kernel import gofa_ik_kernel
from weldcell.kinematics.branch_kernel import call_branch_kernel
from weldcell.kinematics.root_search import bracket_roots

NDArrayF = npt.NDArray[np.float64]

#: Most IK solutions per pose: 2 (J1) × 2 (elbow) × up to 4 roots of f.
N_GOFA_BRANCHES = 16


@dataclass(frozen=True, slots=True)
class ModifiedDH:
    """Modified DH table (see module docstring): ``alpha``/``a`` are α_{i-1}/a_{i-1} [rad]/[m],
    ``d`` [m] and ``offset`` [rad], shape (6,) each."""

    alpha: tuple[float, ...]
    a: tuple[float, ...]
    d: tuple[float, ...]
    offset: tuple[float, ...]


#: CRB 15000-5/0.95 (ABB product specification, "Dimensions").
CRB15000_5_095 = ModifiedDH(
    alpha=(0.0, -math.pi / 2, 0.0, -math.pi / 2, math.pi / 2, -math.pi / 2),
    a=(0.0, 0.0, 0.444, 0.110, 0.0, 0.080),
    d=(0.265, 0.0, 0.0, 0.470, 0.0, 0.101),
    offset=(0.0, -math.pi / 2, 0.0, 0.0, 0.0, math.pi),
)


def _mdh(theta: NDArrayF, alpha: float, a: float, d: float) -> NDArrayF:
    """``Rx(α) Tx(a) Rz(θ) Tz(d)`` for angles θ (...): shape (..., 4, 4)."""
    ct, st = np.cos(theta), np.sin(theta)
    ca, sa = math.cos(alpha), math.sin(alpha)
    T = np.zeros((*np.shape(theta), 4, 4))
    T[..., 0, 0], T[..., 0, 1], T[..., 0, 3] = ct, -st, a
    T[..., 1, 0], T[..., 1, 1], T[..., 1, 2], T[..., 1, 3] = st * ca, ct * ca, -sa, -sa * d
    T[..., 2, 0], T[..., 2, 1], T[..., 2, 2], T[..., 2, 3] = st * sa, ct * sa, ca, ca * d
    T[..., 3, 3] = 1.0
    return T


def gofa_fk(q: npt.ArrayLike, dh: ModifiedDH = CRB15000_5_095) -> NDArrayF:
    """Flange poses ``T_base_flange`` [m], shape (..., 4, 4), of joints ``q`` [rad], shape (..., 6)."""
    qa = np.asarray(q, dtype=np.float64)
    T = np.broadcast_to(np.eye(4), (*qa.shape[:-1], 4, 4)).copy()
    for i in range(6):
        T = T @ _mdh(qa[..., i] + dh.offset[i], dh.alpha[i], dh.a[i], dh.d[i])
    return T


def _arm(o5: NDArrayF, dh: ModifiedDH) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
    """θ1, θ2, θ3 (DH angles, offsets included) of the 4 arm branches reaching points ``o5`` (..., 3).

    Returns arrays with a new last axis of length 4 (branch = 2·shoulder + elbow). Unreachable
    points are clamped to the edge of the reach (f stays continuous; the residual check drops them).
    """
    L1 = dh.a[2]
    a3, d4 = dh.a[3], dh.d[3]
    L2 = math.hypot(a3, d4)
    gam = math.atan2(d4, a3)
    az = np.arctan2(o5[..., 1], o5[..., 0])
    th1 = np.stack([az, az, az + math.pi, az + math.pi], axis=-1)
    r = np.hypot(o5[..., 0], o5[..., 1])[..., None] * np.array([1.0, 1.0, -1.0, -1.0])
    # planar coordinates in frame 2 before θ2: x2 = x1 (radial), y2 = -z (α1 = -π/2)
    X = r
    Y = np.broadcast_to(-(o5[..., 2:3] - dh.d[0]), r.shape)
    c = (X * X + Y * Y - L1 * L1 - L2 * L2) / (2 * L1 * L2)
    e = np.arccos(np.clip(c, -1.0, 1.0)) * np.array([1.0, -1.0, 1.0, -1.0])
    th3 = e - gam  # L2 cos(θ3 + γ) = c·L2: the elbow link at angle θ3 + γ from x2
    th2 = np.arctan2(Y, X) - np.arctan2(L2 * np.sin(e), L1 + L2 * np.cos(e))
    return th1, th2, th3


def _frames3(th1: NDArrayF, th2: NDArrayF, th3: NDArrayF, dh: ModifiedDH) -> NDArrayF:
    """Rotations R_base_3 of DH angles θ1..θ3: shape (..., 3, 3)."""
    T = _mdh(th1, dh.alpha[0], dh.a[0], dh.d[0]) @ _mdh(th2, dh.alpha[1], dh.a[1], dh.d[1])
    T = T @ _mdh(th3, dh.alpha[2], dh.a[2], dh.d[2])
    return T[..., :3, :3]


def _f(T: NDArrayF, phi: NDArrayF, dh: ModifiedDH) -> tuple[NDArrayF, tuple[NDArrayF, ...]]:
    """f(φ) = z4 · z5 for poses T (P, 4, 4) and angles φ (P, G): shape (P, G, 4), and the parts."""
    x6, y6, z6, p = T[:, :3, 0], T[:, :3, 1], T[:, :3, 2], T[:, :3, 3]
    x5 = np.cos(phi)[..., None] * x6[:, None] + np.sin(phi)[..., None] * y6[:, None]  # (P, G, 3)
    z5 = np.cross(x5, np.broadcast_to(z6[:, None], x5.shape))
    o5 = (p - dh.d[5] * z6)[:, None] - dh.a[5] * x5
    th1, th2, th3 = _arm(o5, dh)  # (P, G, 4)
    # J4 axis: z of Rx(α3) in frame 3, rotated to the base one joint at a time (element-wise: no
    # (P, G, 4, 4, 4) matrix products; they were most of the IK's time, issue gofa6)
    z4 = _z4_base(th1, th2, th3, dh)
    f = z4[0] * z5[..., 0, None] + z4[1] * z5[..., 1, None] + z4[2] * z5[..., 2, None]
    return f, (th1, th2, th3, x5)


def _rot_vec(
    v: tuple[NDArrayF, NDArrayF, NDArrayF], theta: NDArrayF | None, alpha: float
) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
    """``Rx(α) Rz(θ) v`` element-wise for vectors given as their three component arrays."""
    x, y, z = v
    if theta is not None:
        ct, st = np.cos(theta), np.sin(theta)
        x, y = ct * x - st * y, st * x + ct * y
    if alpha != 0.0:
        ca, sa = math.cos(alpha), math.sin(alpha)
        y, z = ca * y - sa * z, sa * y + ca * z
    return x, y, z


def _z4_base(
    th1: NDArrayF, th2: NDArrayF, th3: NDArrayF, dh: ModifiedDH
) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
    """The J4 axis in the base frame, ``R_base_3 Rx(α3) e_z``, as (x, y, z) arrays of θ1..θ3's shape."""
    zero = np.zeros(np.shape(th1))
    v = (zero, zero - math.sin(dh.alpha[3]), zero + math.cos(dh.alpha[3]))
    v = _rot_vec(v, th3, dh.alpha[2])
    v = _rot_vec(v, th2, dh.alpha[1])
    return _rot_vec(v, th1, dh.alpha[0])


def gofa_ik(
    T_base_flange: npt.ArrayLike, dh: ModifiedDH = CRB15000_5_095, n_grid: int = 360
) -> tuple[NDArrayF, npt.NDArray[np.int8]]:
    """All IK branches of flange poses ``T_base_flange`` (..., 4, 4) [m].

    The compiled kernel (:mod:`weldcell.kinematics._gofa_kernel`) of the method above, one pose at
    a time; :func:`_gofa_ik_numpy` is the same method in NumPy (the tests check they agree).

    Args:
        T_base_flange: Flange poses [m], shape (..., 4, 4).
        dh: The arm's modified DH table.
        n_grid: Grid cells over the full turn of φ (bracketing the roots of f).

    Returns:
        q: Joints [rad] in (-π, π], shape (..., 16, 6); missing branches are NaN rows, valid rows
            first, ordered by (J1 branch, elbow, φ).
        labels: (J1 branch 0/1, elbow 0/1, root index k) per row, shape (..., 16, 3), -1 when missing.

    Raises:
        InputShapeError: ``T_base_flange`` is not of shape (..., 4, 4).
    """
    return call_branch_kernel(
        T_base_flange,
        N_GOFA_BRANCHES,
        gofa_ik_kernel,
        np.asarray(dh.alpha, dtype=np.float64),
        np.asarray(dh.a, dtype=np.float64),
        np.asarray(dh.d, dtype=np.float64),
        np.asarray(dh.offset, dtype=np.float64),
        int(n_grid),
    )


def _gofa_ik_numpy(
    T_base_flange: npt.ArrayLike, dh: ModifiedDH = CRB15000_5_095, n_grid: int = 360
) -> tuple[NDArrayF, npt.NDArray[np.int8]]:
    """:func:`gofa_ik` in NumPy, all poses at once: the reference the compiled kernel is tested against.

    About 100 times slower than the kernel (it evaluates f on (poses, grid, 4 branches) arrays).
    """
    Tin = np.asarray(T_base_flange, dtype=np.float64)
    lead = Tin.shape[:-2]
    T = Tin.reshape(-1, 4, 4)
    P = T.shape[0]
    pi_, bi, lo, hi, flo = bracket_roots(T, lambda Ts, x: _f(Ts, x, dh)[0], n_grid)
    Tp = T[pi_]
    rows = np.arange(len(lo))
    for _ in range(52):  # bisection to machine precision on each bracketed root
        mid = 0.5 * (lo + hi)
        fm = _f(Tp, mid[:, None], dh)[0][rows, 0, bi]
        left = np.sign(fm) == np.sign(flo)
        lo, flo, hi = np.where(left, mid, lo), np.where(left, fm, flo), np.where(left, hi, mid)
    phi = 0.5 * (lo + hi)
    _, (th1, th2, th3, x5) = _f(Tp, phi[:, None], dh)
    t1, t2, t3, x5 = th1[rows, 0, bi], th2[rows, 0, bi], th3[rows, 0, bi], x5[rows, 0]
    # closed-form wrist: θ4 puts the J5 axis (z5 = x5 × z6 = -y4) in place, θ5 turns x5 onto x5(φ),
    # θ6 turns x6 onto the pose's x axis
    z6 = Tp[:, :3, 2]
    z5 = np.cross(x5, z6)
    Ra = _frames3(t1, t2, t3, dh) @ _mdh(np.zeros(len(t1)), dh.alpha[3], 0.0, 0.0)[:, :3, :3]
    x4 = np.cross(-z5, Ra[:, :, 2])  # x4 = y4 × z4 with y4 = -z5
    x4_a = np.einsum("nji,nj->ni", Ra, x4)
    t4 = np.arctan2(x4_a[:, 1], x4_a[:, 0])
    Rb = Ra @ _mdh(t4, 0.0, 0.0, 0.0)[:, :3, :3] @ _mdh(np.zeros(len(t1)), dh.alpha[4], 0.0, 0.0)[:, :3, :3]
    x5_b = np.einsum("nji,nj->ni", Rb, x5)
    t5 = np.arctan2(x5_b[:, 1], x5_b[:, 0])
    Rc = Rb @ _mdh(t5, 0.0, 0.0, 0.0)[:, :3, :3] @ _mdh(np.zeros(len(t1)), dh.alpha[5], 0.0, 0.0)[:, :3, :3]
    x6_c = np.einsum("nji,nj->ni", Rc, Tp[:, :3, 0])
    t6 = np.arctan2(x6_c[:, 1], x6_c[:, 0])
    th = np.stack([t1, t2, t3, t4, t5, t6], axis=-1) - np.asarray(dh.offset)
    qs = np.arctan2(np.sin(th), np.cos(th))
    Tq = gofa_fk(qs, dh)
    good = (np.linalg.norm(Tq[:, :3, 3] - Tp[:, :3, 3], axis=1) <= 1e-9) & (
        np.abs(Tq[:, :3, :3] - Tp[:, :3, :3]).max(axis=(1, 2)) <= 1e-9
    )
    pi_, bi, phi, qs = pi_[good], bi[good], phi[good], qs[good]
    out = np.full((P, N_GOFA_BRANCHES, 6), np.nan)
    lab = np.full((P, N_GOFA_BRANCHES, 3), -1, dtype=np.int8)
    order = np.lexsort((phi, bi, pi_))
    slot = np.zeros(P, dtype=np.int64)
    count_b = np.zeros((P, 4), dtype=np.int64)
    for j in order.tolist():  # scatter: at most 16 roots per pose (loop over found roots, not poses)
        p = pi_[j]
        if slot[p] >= N_GOFA_BRANCHES:
            continue
        out[p, slot[p]] = qs[j]
        lab[p, slot[p]] = (bi[j] // 2, bi[j] % 2, count_b[p, bi[j]])
        count_b[p, bi[j]] += 1
        slot[p] += 1
    return out.reshape(*lead, N_GOFA_BRANCHES, 6), lab.reshape(*lead, N_GOFA_BRANCHES, 3)
