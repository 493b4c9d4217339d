"""A small synthetic 6R arm + torch + cell for planning tests that must not depend on the real models.

The arm has UR-like proportions; its URDF (written to a temporary directory) uses capsule collision
shapes equal to ``collision_capsules`` so pybullet and the capsule checker see the same geometry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from weldcell.kinematics.urdf import LinkChain, load_chain
from weldcell.spatial import se3_from_xyz_rpy

JOINTS = ("j1", "j2", "j3", "j4", "j5", "j6")
# (link, parent, joint origin xyz, rpy, axis)
CHAIN = (
    ("l1", "base_link", (0, 0, 0.16), (0, 0, 0), (0, 0, 1)),
    ("l2", "l1", (0, 0.13, 0), (0, 0, 0), (0, 1, 0)),
    ("l3", "l2", (0, -0.12, 0.42), (0, 0, 0), (0, 1, 0)),
    ("l4", "l3", (0, 0, 0.39), (0, 0, 0), (0, 1, 0)),
    ("l5", "l4", (0, 0.1, 0), (0, 0, 0), (0, 0, 1)),
    ("l6", "l5", (0, 0, 0.1), (0, 0, 0), (0, 1, 0)),
)


@dataclass(frozen=True)
class Capsule:
    link: str
    p0: np.ndarray
    p1: np.ndarray
    radius: float
    name: str = ""


CAPSULES = (
    Capsule("base_link", np.array([0, 0, 0.0]), np.array([0, 0, 0.1]), 0.075, "base"),
    Capsule("l2", np.array([0, 0.0, 0.0]), np.array([0, 0, 0.42]), 0.06, "upper_arm"),
    Capsule("l3", np.array([0, 0.0, 0.05]), np.array([0, 0, 0.39]), 0.05, "forearm"),
    Capsule("l5", np.array([0, 0, 0.0]), np.array([0, 0, 0.06]), 0.045, "wrist2"),
)
TORCH_CAPSULES = (
    Capsule("flange", np.array([0, 0, 0.0]), np.array([0, 0, 0.2]), 0.025, "body"),
    Capsule("flange", np.array([0, 0, 0.2]), np.array([0, 0, 0.28]), 0.01, "nozzle"),
    Capsule("flange", np.array([0, 0, 0.28]), np.array([0, 0, 0.295]), 0.0006, "wire"),
)


def _capsule_xml(c: Capsule) -> str:
    p0, p1 = np.asarray(c.p0, float), np.asarray(c.p1, float)
    mid = 0.5 * (p0 + p1)
    d = p1 - p0
    length = float(np.linalg.norm(d))
    z = d / length if length > 0 else np.array([0, 0, 1.0])
    # rotation taking z to d: pitch then yaw
    pitch = float(np.arccos(np.clip(z[2], -1, 1)))
    yaw = float(np.arctan2(z[1], z[0]))
    return (
        f'<collision><origin xyz="{mid[0]} {mid[1]} {mid[2]}" rpy="0 {pitch} {yaw}"/>'
        f'<geometry><capsule radius="{c.radius}" length="{length}"/></geometry></collision>'
    )


def write_urdf(path: Path, capsules: tuple[Capsule, ...] = CAPSULES) -> Path:
    links = ["base_link", *(c[0] for c in CHAIN), "flange"]
    parts = ['<?xml version="1.0"?>', '<robot name="synth">']
    for link in links:
        shapes = "".join(_capsule_xml(c) for c in capsules if c.link == link)
        parts.append(
            f'<link name="{link}"><inertial><mass value="1"/><inertia ixx="0.01" ixy="0" ixz="0" '
            f'iyy="0.01" iyz="0" izz="0.01"/></inertial>{shapes}</link>'
        )
    for (link, parent, xyz, rpy, axis), jn in zip(CHAIN, JOINTS, strict=True):
        parts.append(
            f'<joint name="{jn}" type="revolute"><parent link="{parent}"/><child link="{link}"/>'
            f'<origin xyz="{" ".join(map(str, xyz))}" rpy="{" ".join(map(str, rpy))}"/>'
            f'<axis xyz="{" ".join(map(str, axis))}"/>'
            f'<limit lower="-6.28" upper="6.28" effort="100" velocity="3.14"/></joint>'
        )
    parts.append(
        '<joint name="flange_fixed" type="fixed"><parent link="l6"/><child link="flange"/>'
        '<origin xyz="0 0.08 0" rpy="-1.5707963267948966 0 0"/></joint>'
    )
    parts.append("</robot>")
    path.write_text("\n".join(parts))
    return path


def write_torch_urdf(path: Path) -> Path:
    shapes = "".join(_capsule_xml(c) for c in TORCH_CAPSULES if c.name != "wire")
    path.write_text(
        '<?xml version="1.0"?><robot name="torch"><link name="flange"><inertial><mass value="0.5"/>'
        '<inertia ixx="0.001" ixy="0" ixz="0" iyy="0.001" iyz="0" izz="0.001"/></inertial>'
        f"{shapes}</link></robot>"
    )
    return path


@dataclass
class SynthRobot:
    urdf_path: Path
    name: str = "synth"
    joint_names: tuple[str, ...] = JOINTS
    q_lower: np.ndarray = field(default_factory=lambda: np.full(6, -2 * np.pi))
    q_upper: np.ndarray = field(default_factory=lambda: np.full(6, 2 * np.pi))
    qd_max: np.ndarray = field(default_factory=lambda: np.full(6, np.pi))
    qdd_max: np.ndarray = field(default_factory=lambda: np.full(6, 8.0))
    collision_capsules: tuple[Capsule, ...] = CAPSULES

    @property
    def n_joints(self) -> int:
        return 6

    @property
    def link_chain(self) -> LinkChain:
        """The chain the collision kernels run on, read by weldcell's one URDF reader (``fk`` below is
        independent of it)."""
        return load_chain(self.urdf_path, tip="flange").link_chain()

    def fk(self, q: np.ndarray) -> np.ndarray:
        """T_base_flange, evaluated independently of the planning chain code."""
        q = np.asarray(q, float)
        batch = q.reshape(-1, 6)
        out = np.empty((batch.shape[0], 4, 4))
        for m, qq in enumerate(batch):
            T = np.eye(4)
            for (_, _, xyz, rpy, axis), th in zip(CHAIN, qq, strict=True):
                R = np.eye(4)
                ax = np.asarray(axis, float)
                K = np.array([[0, -ax[2], ax[1]], [ax[2], 0, -ax[0]], [-ax[1], ax[0], 0]])
                R[:3, :3] = np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * K @ K
                T = T @ se3_from_xyz_rpy(xyz, rpy) @ R
            out[m] = T @ se3_from_xyz_rpy((0, 0.08, 0), (-np.pi / 2, 0, 0))
        return out.reshape(*q.shape[:-1], 4, 4)


@dataclass
class SynthTorch:
    name: str = "synth_torch"
    collision_capsules: tuple[Capsule, ...] = TORCH_CAPSULES


@dataclass(frozen=True)
class SynthBody:
    name: str
    role: str
    shape: str
    size: np.ndarray
    radius: float
    length: float
    T_world_body: np.ndarray
    mesh_path: Path | None = None


@dataclass(frozen=True)
class SynthCell:
    bodies: tuple[SynthBody, ...]
    T_world_base: np.ndarray = field(default_factory=lambda: np.eye(4))
    clearance: float = 0.003


def default_cell() -> SynthCell:
    def T(xyz: tuple[float, float, float], rpy: tuple[float, float, float] = (0, 0, 0)) -> np.ndarray:
        return se3_from_xyz_rpy(xyz, rpy)

    return SynthCell(
        bodies=(
            SynthBody("table", "table", "box", np.array([1.2, 1.0, 0.04]), 0, 0, T((0.55, 0, -0.12))),
            SynthBody("plate", "workpiece", "box", np.array([0.3, 0.2, 0.01]), 0, 0, T((0.5, 0.05, -0.095))),
            SynthBody(
                "pipe", "workpiece", "cylinder", np.zeros(3), 0.05, 0.3, T((0.45, -0.3, 0.1), (0.3, 1.2, 0))
            ),
            SynthBody("ball", "obstacle", "sphere", np.zeros(3), 0.08, 0, T((0.2, 0.45, 0.35))),
            SynthBody("post", "fixture", "cylinder", np.zeros(3), 0.04, 0.8, T((-0.35, -0.3, 0.3))),
            SynthBody(
                "clamp", "fixture", "box", np.array([0.08, 0.05, 0.12]), 0, 0, T((0.3, 0.3, 0.0), (0, 0, 0.5))
            ),
        )
    )
