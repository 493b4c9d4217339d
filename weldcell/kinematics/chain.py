"""Compiled FK / Jacobian kernels on serial chains read from URDF (:mod:`weldcell.kinematics.urdf`).

The URDF reading (``UrdfChain``, ``Capsule``, ``load_chain``) lives in the numba-free
:mod:`weldcell.kinematics.urdf` so that loading a program does not import numba; it is re-exported
here for existing callers.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from weldcell.kinematics.urdf import Capsule as Capsule
from weldcell.kinematics.urdf import UrdfChain as UrdfChain
from weldcell.kinematics.urdf import capsule_from_collision as capsule_from_collision
from weldcell.kinematics.urdf import load_chain as load_chain

NDArrayF = npt.NDArray[np.float64]
NDArrayI = npt.NDArray[np.int64]


# ------------------------------------------------------------------------------------ numba kernels


@numba.njit(cache=True, error_model="numpy")
def _frames_core(
    q: NDArrayF, origins: NDArrayF, axes: NDArrayF, qidx: NDArrayI, out: NDArrayF
) -> None:  # pragma: no cover - compiled
    """out[k, j + 1] = out[k, j] @ origins[j] @ Rot(axes[j], q[k, qidx[j]]); out[k, 0] = I."""
    N = q.shape[0]
    J = origins.shape[0]
    for k in range(N):
        for i in range(4):
            for m in range(4):
                out[k, 0, i, m] = 1.0 if i == m else 0.0
        for j in range(J):
            qi = qidx[j]
            if qi >= 0:
                x, y, z = axes[j, 0], axes[j, 1], axes[j, 2]
                c = math.cos(q[k, qi])
                s = math.sin(q[k, qi])
                t = 1.0 - c
                R00, R01, R02 = t * x * x + c, t * x * y - s * z, t * x * z + s * y
                R10, R11, R12 = t * x * y + s * z, t * y * y + c, t * y * z - s * x
                R20, R21, R22 = t * x * z - s * y, t * y * z + s * x, t * z * z + c
            else:
                R00, R01, R02 = 1.0, 0.0, 0.0
                R10, R11, R12 = 0.0, 1.0, 0.0
                R20, R21, R22 = 0.0, 0.0, 1.0
            for i in range(3):
                a0, a1, a2, a3 = out[k, j, i, 0], out[k, j, i, 1], out[k, j, i, 2], out[k, j, i, 3]
                m0 = a0 * origins[j, 0, 0] + a1 * origins[j, 1, 0] + a2 * origins[j, 2, 0]
                m1 = a0 * origins[j, 0, 1] + a1 * origins[j, 1, 1] + a2 * origins[j, 2, 1]
                m2 = a0 * origins[j, 0, 2] + a1 * origins[j, 1, 2] + a2 * origins[j, 2, 2]
                out[k, j + 1, i, 0] = m0 * R00 + m1 * R10 + m2 * R20
                out[k, j + 1, i, 1] = m0 * R01 + m1 * R11 + m2 * R21
                out[k, j + 1, i, 2] = m0 * R02 + m1 * R12 + m2 * R22
                out[k, j + 1, i, 3] = (
                    a0 * origins[j, 0, 3] + a1 * origins[j, 1, 3] + a2 * origins[j, 2, 3] + a3
                )
            out[k, j + 1, 3, 0] = 0.0
            out[k, j + 1, 3, 1] = 0.0
            out[k, j + 1, 3, 2] = 0.0
            out[k, j + 1, 3, 3] = 1.0


@numba.njit(cache=True, error_model="numpy")
def chain_link_poses(
    q: NDArrayF, origins: NDArrayF, axes: NDArrayF, qidx: NDArrayI
) -> NDArrayF:  # pragma: no cover - compiled
    """Poses of every link on the chain, ``T_root_link``, shape (N, J + 1, 4, 4), for q (N, n)."""
    out = np.empty((q.shape[0], origins.shape[0] + 1, 4, 4))
    _frames_core(q, origins, axes, qidx, out)
    return out


@numba.njit(cache=True, error_model="numpy")
def chain_fk(q: NDArrayF, origins: NDArrayF, axes: NDArrayF, qidx: NDArrayI) -> NDArrayF:  # pragma: no cover
    """Tip pose ``T_root_tip``, shape (N, 4, 4), for q (N, n)."""
    N = q.shape[0]
    J = origins.shape[0]
    out = np.empty((N, 4, 4))
    for k in range(N):
        A00, A01, A02, A03 = 1.0, 0.0, 0.0, 0.0
        A10, A11, A12, A13 = 0.0, 1.0, 0.0, 0.0
        A20, A21, A22, A23 = 0.0, 0.0, 1.0, 0.0
        for j in range(J):
            # M = A @ origin
            M00 = A00 * origins[j, 0, 0] + A01 * origins[j, 1, 0] + A02 * origins[j, 2, 0]
            M01 = A00 * origins[j, 0, 1] + A01 * origins[j, 1, 1] + A02 * origins[j, 2, 1]
            M02 = A00 * origins[j, 0, 2] + A01 * origins[j, 1, 2] + A02 * origins[j, 2, 2]
            M10 = A10 * origins[j, 0, 0] + A11 * origins[j, 1, 0] + A12 * origins[j, 2, 0]
            M11 = A10 * origins[j, 0, 1] + A11 * origins[j, 1, 1] + A12 * origins[j, 2, 1]
            M12 = A10 * origins[j, 0, 2] + A11 * origins[j, 1, 2] + A12 * origins[j, 2, 2]
            M20 = A20 * origins[j, 0, 0] + A21 * origins[j, 1, 0] + A22 * origins[j, 2, 0]
            M21 = A20 * origins[j, 0, 1] + A21 * origins[j, 1, 1] + A22 * origins[j, 2, 1]
            M22 = A20 * origins[j, 0, 2] + A21 * origins[j, 1, 2] + A22 * origins[j, 2, 2]
            A03 = A00 * origins[j, 0, 3] + A01 * origins[j, 1, 3] + A02 * origins[j, 2, 3] + A03
            A13 = A10 * origins[j, 0, 3] + A11 * origins[j, 1, 3] + A12 * origins[j, 2, 3] + A13
            A23 = A20 * origins[j, 0, 3] + A21 * origins[j, 1, 3] + A22 * origins[j, 2, 3] + A23
            qi = qidx[j]
            if qi >= 0:
                x, y, z = axes[j, 0], axes[j, 1], axes[j, 2]
                c = math.cos(q[k, qi])
                s = math.sin(q[k, qi])
                t = 1.0 - c
                R00, R01, R02 = t * x * x + c, t * x * y - s * z, t * x * z + s * y
                R10, R11, R12 = t * x * y + s * z, t * y * y + c, t * y * z - s * x
                R20, R21, R22 = t * x * z - s * y, t * y * z + s * x, t * z * z + c
                A00 = M00 * R00 + M01 * R10 + M02 * R20
                A01 = M00 * R01 + M01 * R11 + M02 * R21
                A02 = M00 * R02 + M01 * R12 + M02 * R22
                A10 = M10 * R00 + M11 * R10 + M12 * R20
                A11 = M10 * R01 + M11 * R11 + M12 * R21
                A12 = M10 * R02 + M11 * R12 + M12 * R22
                A20 = M20 * R00 + M21 * R10 + M22 * R20
                A21 = M20 * R01 + M21 * R11 + M22 * R21
                A22 = M20 * R02 + M21 * R12 + M22 * R22
            else:
                A00, A01, A02 = M00, M01, M02
                A10, A11, A12 = M10, M11, M12
                A20, A21, A22 = M20, M21, M22
        out[k, 0, 0], out[k, 0, 1], out[k, 0, 2], out[k, 0, 3] = A00, A01, A02, A03
        out[k, 1, 0], out[k, 1, 1], out[k, 1, 2], out[k, 1, 3] = A10, A11, A12, A13
        out[k, 2, 0], out[k, 2, 1], out[k, 2, 2], out[k, 2, 3] = A20, A21, A22, A23
        out[k, 3, 0], out[k, 3, 1], out[k, 3, 2], out[k, 3, 3] = 0.0, 0.0, 0.0, 1.0
    return out


@numba.njit(cache=True, error_model="numpy")
def chain_jacobian(
    q: NDArrayF, origins: NDArrayF, axes: NDArrayF, qidx: NDArrayI
) -> NDArrayF:  # pragma: no cover - compiled
    """Geometric Jacobian ``[v; ω]`` of the tip origin in the root frame, shape (N, 6, n)."""
    N, n = q.shape
    J = origins.shape[0]
    F = np.empty((N, J + 1, 4, 4))
    _frames_core(q, origins, axes, qidx, F)
    out = np.zeros((N, 6, n))
    for k in range(N):
        pex, pey, pez = F[k, J, 0, 3], F[k, J, 1, 3], F[k, J, 2, 3]
        for j in range(J):
            qi = qidx[j]
            if qi < 0:
                continue
            # the child frame of joint j has the joint axis fixed and its origin on the axis
            ax, ay, az = axes[j, 0], axes[j, 1], axes[j, 2]
            wx = F[k, j + 1, 0, 0] * ax + F[k, j + 1, 0, 1] * ay + F[k, j + 1, 0, 2] * az
            wy = F[k, j + 1, 1, 0] * ax + F[k, j + 1, 1, 1] * ay + F[k, j + 1, 1, 2] * az
            wz = F[k, j + 1, 2, 0] * ax + F[k, j + 1, 2, 1] * ay + F[k, j + 1, 2, 2] * az
            rx = pex - F[k, j + 1, 0, 3]
            ry = pey - F[k, j + 1, 1, 3]
            rz = pez - F[k, j + 1, 2, 3]
            out[k, 0, qi] += wy * rz - wz * ry
            out[k, 1, qi] += wz * rx - wx * rz
            out[k, 2, qi] += wx * ry - wy * rx
            out[k, 3, qi] += wx
            out[k, 4, qi] += wy
            out[k, 5, qi] += wz
    return out


@numba.njit(cache=True, error_model="numpy")
def first_nonfinite_row(q: NDArrayF) -> int:  # pragma: no cover - compiled
    """Index of the first row of q (N, n) holding NaN or inf, -1 if all are finite."""
    for k in range(q.shape[0]):
        for j in range(q.shape[1]):
            if not math.isfinite(q[k, j]):
                return k
    return -1


@numba.njit(cache=True, error_model="numpy")
def chain_fk_checked(
    q: NDArrayF, origins: NDArrayF, axes: NDArrayF, qidx: NDArrayI
) -> tuple[NDArrayF, int]:  # pragma: no cover - compiled
    """:func:`chain_fk` plus the finiteness check in one compiled call: (poses, -1) or (empty, bad row)."""
    bad = first_nonfinite_row(q)
    if bad >= 0:
        return np.empty((0, 4, 4)), bad
    return chain_fk(q, origins, axes, qidx), -1


@numba.njit(cache=True, error_model="numpy")
def chain_link_poses_checked(
    q: NDArrayF, origins: NDArrayF, axes: NDArrayF, qidx: NDArrayI
) -> tuple[NDArrayF, int]:  # pragma: no cover - compiled
    """:func:`chain_link_poses` plus the finiteness check (see :func:`chain_fk_checked`)."""
    bad = first_nonfinite_row(q)
    if bad >= 0:
        return np.empty((0, origins.shape[0] + 1, 4, 4)), bad
    return chain_link_poses(q, origins, axes, qidx), -1


@numba.njit(cache=True, error_model="numpy")
def chain_jacobian_checked(
    q: NDArrayF, origins: NDArrayF, axes: NDArrayF, qidx: NDArrayI
) -> tuple[NDArrayF, int]:  # pragma: no cover - compiled
    """:func:`chain_jacobian` plus the finiteness check (see :func:`chain_fk_checked`)."""
    bad = first_nonfinite_row(q)
    if bad >= 0:
        return np.empty((0, 6, q.shape[1])), bad
    return chain_jacobian(q, origins, axes, qidx), -1
