"""Thin typed shim over the pybullet API: named tuples instead of magic tuple indices.

Every function takes the client id explicitly (``client``) and passes it on as
``physicsClientId``; there is no global client. Quaternions from pybullet are (x, y, z, w); they are
converted to 4x4 transforms here with :func:`se3_from_pos_quat_xyzw`, so the rest of
``weldcell.sim`` works on ``T_a_b`` arrays only.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.spatial import se3_from_xyz_quat_wxyz

NDArrayF = npt.NDArray[np.float64]


class JointType(IntEnum):
    """Joint types as numbered by pybullet's ``getJointInfo`` (``jointType``)."""

    REVOLUTE = pb.JOINT_REVOLUTE
    PRISMATIC = pb.JOINT_PRISMATIC
    SPHERICAL = pb.JOINT_SPHERICAL
    PLANAR = pb.JOINT_PLANAR
    FIXED = pb.JOINT_FIXED


class JointInfo(NamedTuple):
    """One joint of a multibody (pybullet ``getJointInfo``); the joint's child link has the same index."""

    joint_index: int
    name: str
    type: JointType
    q_index: int
    u_index: int
    damping: float
    friction: float
    lower_limit: float  # [rad] or [m]
    upper_limit: float
    max_force: float  # [N m] or [N]
    max_velocity: float  # [rad/s] or [m/s]
    link_name: str
    axis: tuple[float, float, float]  # in the child link (joint) frame
    parent_frame_pos: tuple[float, float, float]
    parent_frame_orn_xyzw: tuple[float, float, float, float]
    parent_index: int  # -1 = base


class LinkState(NamedTuple):
    """World pose of a link (pybullet ``getLinkState``): CoM frame and URDF link frame."""

    com_pos: tuple[float, float, float]
    com_orn_xyzw: tuple[float, float, float, float]
    local_inertial_pos: tuple[float, float, float]
    local_inertial_orn_xyzw: tuple[float, float, float, float]
    link_frame_pos: tuple[float, float, float]  # worldLinkFramePosition: the URDF link frame
    link_frame_orn_xyzw: tuple[float, float, float, float]


class ClosestPoint(NamedTuple):
    """One result of ``getClosestPoints``; ``distance`` [m] is negative on penetration."""

    body_a: int
    body_b: int
    link_a: int
    link_b: int
    position_on_a: tuple[float, float, float]
    position_on_b: tuple[float, float, float]
    distance: float


def se3_from_pos_quat_xyzw(pos: Any, quat_xyzw: Any) -> NDArrayF:
    """Transforms (..., 4, 4) from positions (..., 3) [m] and pybullet quaternions (..., 4) in xyzw."""
    q = np.asarray(quat_xyzw, dtype=np.float64)
    return se3_from_xyz_quat_wxyz(pos, q[..., [3, 0, 1, 2]])


def pos_quat_xyzw_from_se3(T: NDArrayF) -> tuple[list[float], list[float]]:
    """Position [m] and xyzw quaternion (pybullet order) of one transform (4, 4)."""
    R = T[:3, :3]
    tr = float(np.trace(R))
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        w, x, y, z = 0.25 * s, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2])
        w, x, y, z = (R[2, 1] - R[1, 2]) / s, 0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s
    elif R[1, 1] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2])
        w, x, y, z = (R[0, 2] - R[2, 0]) / s, (R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s
    else:
        s = 2.0 * np.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1])
        w, x, y, z = (R[1, 0] - R[0, 1]) / s, (R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s
    return [float(v) for v in T[:3, 3]], [float(x), float(y), float(z), float(w)]


def joint_info(client: int, body: int, index: int) -> JointInfo:
    """Named version of ``getJointInfo``."""
    r = pb.getJointInfo(body, index, physicsClientId=client)
    return JointInfo(
        joint_index=r[0],
        name=r[1].decode(),
        type=JointType(r[2]),
        q_index=r[3],
        u_index=r[4],
        damping=r[6],
        friction=r[7],
        lower_limit=r[8],
        upper_limit=r[9],
        max_force=r[10],
        max_velocity=r[11],
        link_name=r[12].decode(),
        axis=tuple(r[13]),
        parent_frame_pos=tuple(r[14]),
        parent_frame_orn_xyzw=tuple(r[15]),
        parent_index=r[16],
    )


def joint_infos(client: int, body: int) -> tuple[JointInfo, ...]:
    """All joints of ``body`` in index order."""
    return tuple(joint_info(client, body, j) for j in range(pb.getNumJoints(body, physicsClientId=client)))


def link_state(client: int, body: int, link: int, *, compute_fk: bool = True) -> LinkState:
    """Named version of ``getLinkState`` (forward kinematics recomputed when ``compute_fk``)."""
    r = pb.getLinkState(body, link, computeForwardKinematics=int(compute_fk), physicsClientId=client)
    return LinkState(*(tuple(x) for x in r[:6]))


def base_name(client: int, body: int) -> str:
    """Name of the base link of ``body`` (URDF root link)."""
    return str(pb.getBodyInfo(body, physicsClientId=client)[0].decode())


def closest_points(
    client: int,
    body_a: int,
    body_b: int,
    distance: float,
    *,
    link_a: int | None = None,
    link_b: int | None = None,
) -> list[ClosestPoint]:
    """Named version of ``getClosestPoints`` for pairs closer than ``distance`` [m]."""
    kwargs: dict[str, int] = {}
    if link_a is not None:
        kwargs["linkIndexA"] = link_a
    if link_b is not None:
        kwargs["linkIndexB"] = link_b
    res = pb.getClosestPoints(body_a, body_b, distance, physicsClientId=client, **kwargs)
    return [ClosestPoint(r[1], r[2], r[3], r[4], tuple(r[5]), tuple(r[6]), r[8]) for r in res or ()]


def has_collision_shape(client: int, body: int, link: int) -> bool:
    """True if ``link`` of ``body`` has at least one collision shape."""
    return len(pb.getCollisionShapeData(body, link, physicsClientId=client)) > 0


def aabb(client: int, body: int, link: int) -> tuple[NDArrayF, NDArrayF]:
    """World axis-aligned bounding box (min (3,), max (3,)) [m] of one link."""
    lo, hi = pb.getAABB(body, link, physicsClientId=client)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
