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
Its roots are bracketed on a grid of ``n_grid`` angles (sign changes; pairs of roots inside one
cell split at the extremum of f; the edge of the arm's reach located and searched on its in-reach
side, where the two elbow solutions meet and f can turn back), refined by false position (Illinois,
with bisection steps) until the bracket is two adjacent doubles, and J4, J5, J6 follow in closed form.
Each pose has up to 16 solutions: (J1 branch, elbow branch, root k of f), k ≤ 4 per arm branch.
A root where f only touches zero (a double root: the arm at a boundary between branches) can be
missed; the residual of every returned solution is checked.

**Implementation (issue 15).** A numba kernel (:mod:`weldcell.kinematics._crx_kernel`, compiled
once and cached on disk) loops over the poses; f is evaluated without trigonometry (the elbow as
the intersection of two circles), and since the CRX has no shoulder offset the four arm branches
share two residuals (J1 flipped by π with the elbow flipped puts the elbow at the same point).
``benchmarks/bench_ik.py --robot crx10ial`` measures it against roboticstoolbox's ik_LM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.kinematics._crx_kernel import crx_ik_kernel
from weldcell.kinematics.branch_kernel import call_branch_kernel

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


def crx_ik(
    T_base_flange: npt.ArrayLike, dh: CrxDH = CRX10IA_L, n_grid: int = 360
) -> tuple[NDArrayF, npt.NDArray[np.int8]]:
    """All IK branches of flange poses ``T_base_flange`` (..., 4, 4) [m].

    Returns:
        q: Joints [rad] in (-π, π], shape (..., 16, 6); missing branches are NaN rows, valid rows
            first, ordered by (J1 branch, elbow, φ).
        labels: (J1 branch 0/1, elbow 0/1, root index k) per row, shape (..., 16, 3), -1 when missing.
    """
    return call_branch_kernel(
        T_base_flange,
        N_CRX_BRANCHES,
        crx_ik_kernel,
        np.asarray(dh.a, dtype=np.float64),
        np.asarray(dh.d, dtype=np.float64),
        np.asarray(dh.alpha, dtype=np.float64),
        np.asarray(dh.offset, dtype=np.float64),
        int(n_grid),
    )
