"""Serial chains read from URDF: joint data and collision capsules (no compiled code, cheap to import).

Only the subset of URDF the shipped models use is read: revolute and fixed joints, ``<origin>``,
``<axis>``, ``<limit>`` and cylinder / sphere / box collision geometry. The chain runs from the
root link to the tip link (``flange``); links that are not on that path are ignored. This is the one
URDF reader of robot chains: the compiled FK / Jacobian kernels (:mod:`weldcell.kinematics.chain`)
and the planner's collision kernels (through :meth:`UrdfChain.link_chain`) all run on what it reads.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

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

    def link_chain(self) -> LinkChain:
        """The chain as links (the form of the collision kernels): see :class:`LinkChain`."""
        J = len(self.origins)
        parent = np.arange(-1, J, dtype=np.int64)
        origin = np.concatenate([np.eye(4)[None], self.origins]).astype(np.float64)
        axis = np.concatenate([np.array([[0.0, 0.0, 1.0]]), self.axes]).astype(np.float64)
        # fixed joints carry a zero axis here; the kernels read it only where qidx >= 0
        axis[1:][self.qidx < 0] = (0.0, 0.0, 1.0)
        qidx = np.concatenate([np.array([-1], dtype=np.int64), self.qidx]).astype(np.int64)
        return LinkChain(self.link_names, parent, origin, axis, qidx, J)


@dataclass(frozen=True)
class LinkChain:
    """The robot's chain as links.

    ``T_base_link[k] = T_base_link[parent[k]] @ origin[k] @ Rot(axis[k], q[qidx[k]])``.

    The same kinematic model as :class:`UrdfChain` (the one read of the URDF), one entry per link
    instead of per joint: the form the planner's numba collision kernels take. Link 0 is the root
    (the robot ``base`` frame, identity); capsules are expressed in the frames of these links.

    Attributes:
        link_names: Link names, length L (root first, ``flange`` last).
        parent: Parent link index per link, -1 for the root, shape (L,).
        origin: Fixed transform parent -> link at q = 0, shape (L, 4, 4) [m].
        axis: Unit joint axis in the link frame, shape (L, 3).
        qidx: Index of the joint variable driving the link, -1 for the root and fixed links, shape (L,).
        flange_link: Index of the link whose frame is the flange (tool0).
    """

    link_names: tuple[str, ...]
    parent: NDArrayI
    origin: NDArrayF
    axis: NDArrayF
    qidx: NDArrayI
    flange_link: int

    def index(self, link: str) -> int:
        """Index of ``link``.

        Raises:
            ModelError: no such link (the message lists the links).
        """
        try:
            return self.link_names.index(link)
        except ValueError:
            raise ModelError(
                f"link {link!r} is not in the robot chain; links: {list(self.link_names)}"
            ) from None

    def rigid_groups(self) -> NDArrayI:
        """Per link, the index of the rigid body it belongs to (links joined by fixed joints share one)."""
        group = np.arange(len(self.link_names))
        for k in range(len(self.link_names)):
            if self.qidx[k] < 0 and self.parent[k] >= 0:
                group[k] = group[self.parent[k]]
        return group


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
