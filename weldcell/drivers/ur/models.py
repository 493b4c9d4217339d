"""Controller-side arm data of Universal Robots arms: DH parameters, joint limits, forward kinematics.

The virtual controller uses these, like a real controller uses its own calibration, independently
of weldcell's planning models. DH parameters: Universal Robots, "DH parameters for calculations of
kinematics and dynamics" (https://www.universal-robots.com/articles/ur/application-installation/
dh-parameters-for-calculations-of-kinematics-and-dynamics/). Joint speed limits: UR e-Series and
CB3 technical specifications (base/shoulder 120 deg/s on the 10 and 16 kg arms, wrists 360 deg/s on
the 3 kg arms, 180 deg/s otherwise). Position limits: +-360 deg per joint (the controller's range;
weldcell's planning model may be tighter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.errors import InvalidValueError
from weldcell.spatial.se3 import rotation_from_rotvec, rotvec_from_rotation

NDArrayF = npt.NDArray[np.float64]

_D = np.pi / 180.0


@dataclass(frozen=True)
class URArm:
    """DH parameters and limits of one UR arm.

    Attributes:
        name: Model name, e.g. ``"ur5e"``.
        model: Name the controller reports (dashboard ``get robot model``), e.g. ``"UR5"``.
        d: DH d [m], shape (6,).
        a: DH a [m], shape (6,).
        alpha: DH alpha [rad], shape (6,).
        q_lower: Lower joint limits [rad], shape (6,).
        q_upper: Upper joint limits [rad], shape (6,).
        qd_max: Joint speed limits [rad/s], shape (6,).
    """

    name: str
    model: str
    d: tuple[float, ...]
    a: tuple[float, ...]
    alpha: tuple[float, ...]
    q_lower: tuple[float, ...]
    q_upper: tuple[float, ...]
    qd_max: tuple[float, ...]


_ALPHA = (np.pi / 2, 0.0, 0.0, np.pi / 2, -np.pi / 2, 0.0)
_LIM = (2 * np.pi,) * 6


def _arm(
    name: str, model: str, d: tuple[float, ...], a2: float, a3: float, speed_deg: tuple[float, ...]
) -> URArm:
    return URArm(
        name=name,
        model=model,
        d=d,
        a=(0.0, a2, a3, 0.0, 0.0, 0.0),
        alpha=_ALPHA,
        q_lower=tuple(-x for x in _LIM),
        q_upper=_LIM,
        qd_max=tuple(s * _D for s in speed_deg),
    )


_S180 = (180.0,) * 6
_S120 = (120.0, 120.0, 180.0, 180.0, 180.0, 180.0)
_S3 = (180.0, 180.0, 180.0, 360.0, 360.0, 360.0)

ARMS: dict[str, URArm] = {
    a.name: a
    for a in (
        _arm("ur3e", "UR3", (0.15185, 0, 0, 0.13105, 0.08535, 0.0921), -0.24355, -0.2132, _S3),
        _arm("ur5e", "UR5", (0.1625, 0, 0, 0.1333, 0.0997, 0.0996), -0.425, -0.3922, _S180),
        _arm("ur10e", "UR10", (0.1807, 0, 0, 0.17415, 0.11985, 0.11655), -0.6127, -0.57155, _S120),
        _arm("ur16e", "UR16", (0.1807, 0, 0, 0.17415, 0.11985, 0.11655), -0.4784, -0.36, _S120),
        _arm("ur3", "UR3", (0.1519, 0, 0, 0.11235, 0.08535, 0.0819), -0.24365, -0.21325, _S3),
        _arm("ur5", "UR5", (0.089159, 0, 0, 0.10915, 0.09465, 0.0823), -0.425, -0.39225, _S180),
        _arm("ur10", "UR10", (0.1273, 0, 0, 0.163941, 0.1157, 0.0922), -0.612, -0.5723, _S120),
    )
}


def get_arm(name: str) -> URArm:
    """The arm called ``name``; ValueError listing the known names otherwise."""
    try:
        return ARMS[name]
    except KeyError:
        raise InvalidValueError(f"unknown UR arm {name!r}; known: {sorted(ARMS)}") from None


def fk(arm: URArm, q: npt.ArrayLike) -> NDArrayF:
    """Flange pose in the base frame, T_base_flange (4, 4), for joint positions q [rad] (6,)."""
    qq = np.asarray(q, dtype=np.float64)
    T = np.eye(4)
    for i in range(6):
        ct, st = np.cos(qq[i]), np.sin(qq[i])
        ca, sa = np.cos(arm.alpha[i]), np.sin(arm.alpha[i])
        A = np.array(
            [
                [ct, -st * ca, st * sa, arm.a[i] * ct],
                [st, ct * ca, -ct * sa, arm.a[i] * st],
                [0.0, sa, ca, arm.d[i]],
                [0.0, 0.0, 0.0, 1.0],
            ]
        )
        T = T @ A
    return T


def rotvec_from_matrix(R: NDArrayF) -> NDArrayF:
    """Rotation vector [rad] (3,) of a rotation matrix (3, 3) (UR pose convention rx, ry, rz).

    Exact near π (see :func:`weldcell.spatial.rotvec_from_rotation`).
    """
    return rotvec_from_rotation(R)


def matrix_from_rotvec(r: npt.ArrayLike) -> NDArrayF:
    """Rotation matrix (3, 3) from a rotation vector [rad] (3,)."""
    return rotation_from_rotvec(r)


def pose_from_matrix(T: NDArrayF) -> NDArrayF:
    """UR pose [x, y, z, rx, ry, rz] (m, rad) of a (4, 4) transform."""
    return np.concatenate([T[:3, 3], rotvec_from_matrix(T[:3, :3])])


def matrix_from_pose(p: npt.ArrayLike) -> NDArrayF:
    """(4, 4) transform of a UR pose [x, y, z, rx, ry, rz] (m, rad)."""
    pp = np.asarray(p, dtype=np.float64)
    T = np.eye(4)
    T[:3, :3] = matrix_from_rotvec(pp[3:])
    T[:3, 3] = pp[:3]
    return T


def ik_near(
    arm: URArm, T_base_flange: NDArrayF, q_seed: npt.ArrayLike, iterations: int = 50
) -> NDArrayF | None:
    """Numerical IK (damped least squares) from ``q_seed``; None if it does not converge to 1e-7 m/rad."""
    q = np.asarray(q_seed, dtype=np.float64).copy()
    eps = 1e-6
    for _ in range(iterations):
        T = fk(arm, q)
        dp = T_base_flange[:3, 3] - T[:3, 3]
        dr = rotvec_from_matrix(T_base_flange[:3, :3] @ T[:3, :3].T)
        err = np.concatenate([dp, dr])
        if np.linalg.norm(err) < 1e-9:
            return q
        J = np.zeros((6, 6))
        for j in range(6):
            qq = q.copy()
            qq[j] += eps
            Tj = fk(arm, qq)
            J[:3, j] = (Tj[:3, 3] - T[:3, 3]) / eps
            J[3:, j] = rotvec_from_matrix(Tj[:3, :3] @ T[:3, :3].T) / eps
        lam = 1e-6
        q = q + J.T @ np.linalg.solve(J @ J.T + lam * np.eye(6), err)
    T = fk(arm, q)
    ok = (
        np.linalg.norm(T_base_flange[:3, 3] - T[:3, 3]) < 1e-7
        and np.linalg.norm(rotvec_from_matrix(T_base_flange[:3, :3] @ T[:3, :3].T)) < 1e-6
    )
    return q if ok else None
