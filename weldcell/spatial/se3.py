"""Pure functions on homogeneous transforms stored as (..., 4, 4) float64 arrays.

Names follow ``<out>_from_<in>``. All functions broadcast over leading dimensions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError

NDArrayF = npt.NDArray[np.float64]


def check_transforms(T: npt.ArrayLike, name: str = "T", *, atol: float = 1e-6) -> NDArrayF:
    """Return ``T`` as a float64 array of shape (..., 4, 4) after checking it is rigid.

    Args:
        T: Homogeneous transforms, shape (..., 4, 4).
        name: Argument name used in error messages.
        atol: Tolerance on orthonormality of the rotation part and on the last row.

    Raises:
        InputShapeError: wrong shape, NaN/inf entries, or not a proper rigid transform.
    """
    arr = np.asarray(T, dtype=np.float64)
    if arr.ndim < 2 or arr.shape[-2:] != (4, 4):
        raise InputShapeError(f"{name}: expected shape (..., 4, 4), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputShapeError(f"{name}: contains NaN or infinite values")
    R = arr[..., :3, :3]
    err = np.abs(np.swapaxes(R, -1, -2) @ R - np.eye(3)).max(initial=0.0)
    if err > atol:
        raise InputShapeError(
            f"{name}: rotation part is not orthonormal (max |RᵀR - I| = {err:.2e} > {atol:.0e})"
        )
    if np.any(np.linalg.det(R) < 0):
        raise InputShapeError(f"{name}: rotation part has determinant -1 (a reflection, not a rotation)")
    last = np.abs(arr[..., 3, :] - np.array([0.0, 0.0, 0.0, 1.0])).max(initial=0.0)
    if last > atol:
        raise InputShapeError(f"{name}: last row must be [0, 0, 0, 1]")
    return arr


def invert_transforms(T: NDArrayF) -> NDArrayF:
    """Inverse of rigid transforms, shape (..., 4, 4) -> (..., 4, 4): ``T_b_a`` from ``T_a_b``."""
    R = T[..., :3, :3]
    p = T[..., :3, 3]
    Rt = np.swapaxes(R, -1, -2)
    out = np.zeros_like(T)
    out[..., :3, :3] = Rt
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", Rt, p)
    out[..., 3, 3] = 1.0
    return out


def se3_from_rotation_translation(R: npt.ArrayLike, p: npt.ArrayLike) -> NDArrayF:
    """Build transforms from rotations (..., 3, 3) and translations (..., 3) [m]."""
    R_arr = np.asarray(R, dtype=np.float64)
    p_arr = np.asarray(p, dtype=np.float64)
    shape = np.broadcast_shapes(R_arr.shape[:-2], p_arr.shape[:-1])
    out = np.zeros((*shape, 4, 4))
    out[..., :3, :3] = R_arr
    out[..., :3, 3] = p_arr
    out[..., 3, 3] = 1.0
    return out


def rotation_from_axis_angle(axis: npt.ArrayLike, angle: npt.ArrayLike) -> NDArrayF:
    """Rodrigues rotation matrices, axis (..., 3) (normalised here), angle (...) [rad] -> (..., 3, 3)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    th = np.asarray(angle, dtype=np.float64)[..., None, None]
    x, y, z = a[..., 0], a[..., 1], a[..., 2]
    zero = np.zeros_like(x)
    K = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2)
    eye = np.broadcast_to(np.eye(3), K.shape)
    result: NDArrayF = eye + np.sin(th) * K + (1.0 - np.cos(th)) * (K @ K)
    return result


def _rotation_from_quat_wxyz(q: NDArrayF) -> NDArrayF:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4), (w, x, y, z) order (not normalised)."""
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    R = np.empty((*q.shape[:-1], 3, 3))
    R[..., 0, 0] = 1 - 2 * (y * y + z * z)
    R[..., 0, 1] = 2 * (x * y - z * w)
    R[..., 0, 2] = 2 * (x * z + y * w)
    R[..., 1, 0] = 2 * (x * y + z * w)
    R[..., 1, 1] = 1 - 2 * (x * x + z * z)
    R[..., 1, 2] = 2 * (y * z - x * w)
    R[..., 2, 0] = 2 * (x * z - y * w)
    R[..., 2, 1] = 2 * (y * z + x * w)
    R[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return R


def quat_wxyz_from_rotation(R: npt.ArrayLike) -> NDArrayF:
    """Unit quaternions (..., 4) in (w, x, y, z) order with w >= 0 of rotation matrices (..., 3, 3).

    Shepperd's method: the component of largest magnitude is taken from the diagonal (a square root
    of a number >= 1) and the others from sums/differences of off-diagonal pairs divided by it, so
    every component is accurate to a few ulp at any angle, including near and at π where the
    trace-based formula loses half the digits.
    """
    Rm = np.asarray(R, dtype=np.float64)
    r00, r11, r22 = Rm[..., 0, 0], Rm[..., 1, 1], Rm[..., 2, 2]
    tr = r00 + r11 + r22
    d21 = Rm[..., 2, 1] - Rm[..., 1, 2]
    d02 = Rm[..., 0, 2] - Rm[..., 2, 0]
    d10 = Rm[..., 1, 0] - Rm[..., 0, 1]
    s01 = Rm[..., 0, 1] + Rm[..., 1, 0]
    s02 = Rm[..., 0, 2] + Rm[..., 2, 0]
    s12 = Rm[..., 1, 2] + Rm[..., 2, 1]
    t = np.stack([1 + tr, 1 + 2 * r00 - tr, 1 + 2 * r11 - tr, 1 + 2 * r22 - tr], axis=-1)  # 4 q_i^2
    # N[k] = 4 q_k q (symmetric), so q = N[k] / (2 sqrt(t_k)) for the k with the largest t_k
    N = np.stack(
        [
            np.stack([t[..., 0], d21, d02, d10], -1),
            np.stack([d21, t[..., 1], s01, s02], -1),
            np.stack([d02, s01, t[..., 2], s12], -1),
            np.stack([d10, s02, s12, t[..., 3]], -1),
        ],
        axis=-2,
    )
    k = np.argmax(t, axis=-1)
    row = np.take_along_axis(N, k[..., None, None], axis=-2)[..., 0, :]
    tk = np.take_along_axis(t, k[..., None], axis=-1)
    q = row / (2.0 * np.sqrt(np.maximum(tk, np.finfo(np.float64).tiny)))
    q = np.where(q[..., :1] < 0, -q, q)
    result: NDArrayF = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return result


def rotvec_from_rotation(R: npt.ArrayLike) -> NDArrayF:
    """Rotation vectors (axis times angle [rad], angle in [0, π]) (..., 3) of rotation matrices (..., 3, 3).

    Computed through the quaternion of :func:`quat_wxyz_from_rotation` and
    ``angle = 2 atan2(|v|, w)``: exact to a few ulp over the whole range, including angles next
    to π (torch-down poses) where ``arccos((tr R - 1) / 2)`` and the skew part both lose precision.
    At exactly π the sign of the axis is arbitrary (both vectors are the same rotation).
    """
    q = quat_wxyz_from_rotation(R)
    w = q[..., 0]
    v = q[..., 1:]
    s = np.linalg.norm(v, axis=-1)
    angle = 2.0 * np.arctan2(s, w)
    small = s < 1e-8
    # angle / s, with the series 2/w (1 - s²/(3w²)) where s is tiny (w is then ~1)
    scale = np.where(small, 2.0 / np.where(small, w, 1.0), angle / np.where(small, 1.0, s))
    result: NDArrayF = v * scale[..., None]
    return result


def rotation_from_rotvec(rotvec: npt.ArrayLike) -> NDArrayF:
    """Rotation matrices (..., 3, 3) of rotation vectors (axis times angle [rad]) (..., 3).

    Goes through the quaternion ``(cos(θ/2), sin(θ/2)/θ · r)``, accurate at every angle
    (``sin(θ/2)/θ`` by its series below 1e-4 rad).
    """
    r = np.asarray(rotvec, dtype=np.float64)
    th = np.linalg.norm(r, axis=-1)
    small = th < 1e-4
    th_safe = np.where(small, 1.0, th)
    k = np.where(small, 0.5 - th * th / 48.0, np.sin(0.5 * th_safe) / th_safe)
    q = np.concatenate([np.cos(0.5 * th)[..., None], r * k[..., None]], axis=-1)
    return _rotation_from_quat_wxyz(q)


def _rot_rpy(rpy: NDArrayF) -> NDArrayF:
    r, p, y = rpy[..., 0], rpy[..., 1], rpy[..., 2]
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    R = np.empty((*rpy.shape[:-1], 3, 3))
    R[..., 0, 0] = cy * cp
    R[..., 0, 1] = cy * sp * sr - sy * cr
    R[..., 0, 2] = cy * sp * cr + sy * sr
    R[..., 1, 0] = sy * cp
    R[..., 1, 1] = sy * sp * sr + cy * cr
    R[..., 1, 2] = sy * sp * cr - cy * sr
    R[..., 2, 0] = -sp
    R[..., 2, 1] = cp * sr
    R[..., 2, 2] = cp * cr
    return R


def se3_from_xyz_rpy(xyz: npt.ArrayLike, rpy: npt.ArrayLike) -> NDArrayF:
    """Transforms from positions (..., 3) [m] and URDF roll-pitch-yaw (..., 3) [rad].

    The rotation is ``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (fixed-axis XYZ), as in URDF ``<origin rpy>``.
    """
    rpy_arr = np.asarray(rpy, dtype=np.float64)
    return se3_from_rotation_translation(_rot_rpy(rpy_arr), xyz)


def xyz_rpy_from_se3(T: NDArrayF) -> tuple[NDArrayF, NDArrayF]:
    """Inverse of :func:`se3_from_xyz_rpy`: positions (..., 3) [m] and roll-pitch-yaw (..., 3) [rad]."""
    R = T[..., :3, :3]
    pitch = np.arcsin(np.clip(-R[..., 2, 0], -1.0, 1.0))
    roll = np.arctan2(R[..., 2, 1], R[..., 2, 2])
    yaw = np.arctan2(R[..., 1, 0], R[..., 0, 0])
    # gimbal lock: pitch = ±90°, put everything in yaw
    lock = np.abs(np.cos(pitch)) < 1e-9
    if np.any(lock):
        roll = np.where(lock, 0.0, roll)
        yaw = np.where(lock, np.arctan2(-R[..., 0, 1], R[..., 1, 1]), yaw)
    return T[..., :3, 3].copy(), np.stack([roll, pitch, yaw], axis=-1)


def se3_from_xyz_quat_wxyz(xyz: npt.ArrayLike, quat_wxyz: npt.ArrayLike) -> NDArrayF:
    """Transforms from positions (..., 3) [m] and unit quaternions in (w, x, y, z) order (..., 4)."""
    q = np.asarray(quat_wxyz, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    R = _rotation_from_quat_wxyz(q)
    return se3_from_rotation_translation(R, xyz)


def rotation_angle_between(R_a: npt.ArrayLike, R_b: npt.ArrayLike) -> NDArrayF:
    """Geodesic angle [rad] between rotations (..., 3, 3) (broadcasting)."""
    Ra = np.asarray(R_a, dtype=np.float64)
    Rb = np.asarray(R_b, dtype=np.float64)
    tr = np.einsum("...ji,...ji->...", Ra, Rb)
    c = np.clip((tr - 1.0) / 2.0, -1.0, 1.0)
    # arccos is ill-conditioned near 0; use the skew part for accuracy
    Rd = np.swapaxes(Ra, -1, -2) @ Rb
    s = 0.5 * np.linalg.norm(
        np.stack(
            [Rd[..., 2, 1] - Rd[..., 1, 2], Rd[..., 0, 2] - Rd[..., 2, 0], Rd[..., 1, 0] - Rd[..., 0, 1]], -1
        ),
        axis=-1,
    )
    result: NDArrayF = np.arctan2(s, c)
    return result
