"""Serial chains read from URDF: joint data, collision capsules and compiled FK / Jacobian kernels.

Only the subset of URDF the shipped models use is read: revolute and fixed joints, ``<origin>``,
``<axis>``, ``<limit>`` and cylinder / sphere / box collision geometry. The chain runs from the
root link to the tip link (``flange``); links that are not on that path are ignored.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import numpy.typing as npt

from weldcell.errors import ModelError
from weldcell.spatial.se3 import se3_from_xyz_rpy

NDArrayF = npt.NDArray[np.float64]
NDArrayI = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Capsule:
    """A capsule (segment swept by a sphere) fixed to a link: a conservative collision envelope.

    Attributes:
        link: Name of the link whose frame ``p0``/``p1`` are expressed in.
        p0, p1: Segment end points [m], shape (3,), in the ``link`` frame.
        radius: Radius [m].
        name: What the capsule covers (for the torch: ``"nozzle"``, ``"contact_tip"``, ``"wire"``, ...).
    """

    link: str
    p0: NDArrayF
    p1: NDArrayF
    radius: float
    name: str = ""

    def __post_init__(self) -> None:
        for attr in ("p0", "p1"):
            arr = np.array(getattr(self, attr), dtype=np.float64)
            arr.flags.writeable = False
            object.__setattr__(self, attr, arr)


@dataclass(frozen=True)
class UrdfChain:
    """The serial chain from the URDF root to a tip link.

    Attributes:
        name: URDF robot name.
        link_names: Root, the child link of every joint on the path (length J + 1).
        joint_names: Names of the actuated (revolute) joints, in chain order (length n).
        origins: ``T_parent_joint`` of every joint on the path, shape (J, 4, 4).
        axes: Joint axes in the joint frame, shape (J, 3) (unit; zero for fixed joints).
        qidx: Index into q of every joint on the path, -1 for fixed joints, shape (J,).
        lower, upper, velocity: Limits of the actuated joints, shape (n,) [rad], [rad/s].
        capsules: Conservative capsules of the collision primitives of the path links.
    """

    name: str
    link_names: tuple[str, ...]
    joint_names: tuple[str, ...]
    origins: NDArrayF
    axes: NDArrayF
    qidx: NDArrayI
    lower: NDArrayF
    upper: NDArrayF
    velocity: NDArrayF
    capsules: tuple[Capsule, ...]


def _floats(text: str | None, n: int, default: float = 0.0) -> NDArrayF:
    if text is None:
        return np.full(n, default)
    vals = np.array([float(v) for v in text.split()], dtype=np.float64)
    if vals.shape != (n,):
        raise ModelError(f"URDF: expected {n} numbers, got {text!r}")
    return vals


def _attr(elem: ET.Element, tag: str, attr: str, default: str) -> str:
    sub = elem.find(tag)
    if sub is None:
        return default
    return sub.get(attr, default)


def _origin(elem: ET.Element | None) -> NDArrayF:
    if elem is None:
        return np.eye(4)
    return se3_from_xyz_rpy(_floats(elem.get("xyz"), 3), _floats(elem.get("rpy"), 3))


def capsule_from_collision(link: str, coll: ET.Element, name: str) -> Capsule | None:
    """The smallest-axis capsule containing one URDF ``<collision>`` primitive (None for meshes)."""
    T = _origin(coll.find("origin"))
    geom = coll.find("geometry")
    if geom is None:
        return None
    c = geom.find("cylinder")
    if c is not None:
        r = float(c.get("radius", "0"))
        half = 0.5 * float(c.get("length", "0"))
        p0 = T[:3, :3] @ np.array([0.0, 0.0, -half]) + T[:3, 3]
        p1 = T[:3, :3] @ np.array([0.0, 0.0, half]) + T[:3, 3]
        return Capsule(link, p0, p1, r, name)
    s = geom.find("sphere")
    if s is not None:
        return Capsule(link, T[:3, 3].copy(), T[:3, 3].copy(), float(s.get("radius", "0")), name)
    b = geom.find("box")
    if b is not None:
        half_ext = 0.5 * _floats(b.get("size"), 3)
        k = int(np.argmax(half_ext))
        others = np.delete(half_ext, k)
        axis = np.zeros(3)
        axis[k] = half_ext[k]
        p0 = T[:3, :3] @ (-axis) + T[:3, 3]
        p1 = T[:3, :3] @ axis + T[:3, 3]
        return Capsule(link, p0, p1, float(np.hypot(others[0], others[1])), name)
    return None


def load_chain(path: Path, tip: str = "flange") -> UrdfChain:
    """Read the serial chain from the URDF root link to ``tip``.

    Raises:
        ModelError: the file cannot be parsed or has no path from the root to ``tip``.
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        raise ModelError(f"cannot read URDF {path}: {err}") from err
    links = {e.get("name", ""): e for e in root.findall("link")}
    joints_by_child: dict[str, ET.Element] = {}
    for j in root.findall("joint"):
        child = j.find("child")
        if child is not None:
            joints_by_child[child.get("link", "")] = j
    if tip not in links:
        raise ModelError(f"URDF {path.name}: no link {tip!r}; links: {sorted(links)}")
    path_joints: list[ET.Element] = []
    cur = tip
    while cur in joints_by_child:
        j = joints_by_child[cur]
        path_joints.append(j)
        parent = j.find("parent")
        cur = parent.get("link", "") if parent is not None else ""
    path_joints.reverse()
    link_names = [cur] + [_attr(j, "child", "link", "") for j in path_joints]
    origins: list[NDArrayF] = []
    axes: list[NDArrayF] = []
    qidx: list[int] = []
    lower: list[float] = []
    upper: list[float] = []
    vel: list[float] = []
    jnames: list[str] = []
    for j in path_joints:
        kind = j.get("type")
        origins.append(_origin(j.find("origin")))
        if kind in ("revolute", "continuous"):
            ax = _floats(_attr(j, "axis", "xyz", "1 0 0"), 3)
            axes.append(ax / np.linalg.norm(ax))
            qidx.append(len(jnames))
            jnames.append(j.get("name", ""))
            lim = j.find("limit")
            if kind == "continuous" or lim is None:
                lower.append(-2 * math.pi)
                upper.append(2 * math.pi)
                vel.append(float(lim.get("velocity", "1")) if lim is not None else 1.0)
            else:
                lower.append(float(lim.get("lower", "0")))
                upper.append(float(lim.get("upper", "0")))
                vel.append(float(lim.get("velocity", "0")))
        elif kind == "fixed":
            axes.append(np.zeros(3))
            qidx.append(-1)
        else:
            raise ModelError(f"URDF {path.name}: joint {j.get('name')!r} has unsupported type {kind!r}")
    capsules: list[Capsule] = []
    for ln in link_names:
        for i, coll in enumerate(links[ln].findall("collision")):
            cap = capsule_from_collision(ln, coll, coll.get("name") or f"{ln}_{i}")
            if cap is not None:
                capsules.append(cap)
    J = len(path_joints)
    return UrdfChain(
        name=root.get("name", path.stem),
        link_names=tuple(link_names),
        joint_names=tuple(jnames),
        origins=np.array(origins, dtype=np.float64).reshape(J, 4, 4),
        axes=np.array(axes, dtype=np.float64).reshape(J, 3),
        qidx=np.array(qidx, dtype=np.int64),
        lower=np.array(lower),
        upper=np.array(upper),
        velocity=np.array(vel),
        capsules=tuple(capsules),
    )


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
