"""Collision geometry for pybullet that is exactly the planner's: capsules, written into a URDF copy.

The planner's checker (:class:`weldcell.planning.CapsuleCollisionChecker`) sees the robot links and
the torch as capsules (``Robot.collision_capsules``: the conservative capsule of every URDF collision
primitive; ``Torch.collision_capsules``: named torch parts). pybullet loads URDF cylinders as convex
hulls with a collision margin and then reports distances up to 1 mm short, so the two engines
disagreed by about 1 mm and the planner padded every clearance. Here the robot and torch are loaded
into pybullet with the same capsules as implicit capsule shapes (exact distances), so planner and
simulator measure the same geometry (agreement to well under 0.1 mm, tested) and both apply the
clearances as written. Visual shapes are kept unchanged.

Robot: every ``<collision>`` primitive of a moving link is replaced by its capsule (the same
``capsule_from_collision`` the kinematics uses); meshes are kept as they are, and so are the links
rigidly attached to the base (the planner does not check them against the cell, and the scene needs
their true shape to find the table the robot stands on). Torch: its collisions
are removed and every named torch capsule becomes a collision-only link fixed to the torch root
(``torch_mount``, ``torch_body``, ``torch_neck``, ``torch_nozzle``, ``contact_tip``,
``torch_wire``; original links with these names keep their visuals as ``<name>_visual``), so the
simulator's clearance rules can tell the parts apart by link name.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import ModelError
from weldcell.kinematics.urdf import capsule_from_collision

NDArrayF = npt.NDArray[np.float64]


def _rpy_from_z_axis(d: NDArrayF) -> tuple[float, float, float]:
    """Roll, pitch, yaw [rad] (URDF convention) of a frame whose z axis is the unit vector ``d``."""
    pitch = math.acos(max(-1.0, min(1.0, float(d[2]))))
    yaw = math.atan2(float(d[1]), float(d[0])) if math.hypot(float(d[0]), float(d[1])) > 1e-12 else 0.0
    return 0.0, pitch, yaw


def capsule_collision_xml(p0: npt.ArrayLike, p1: npt.ArrayLike, radius: float, name: str = "") -> ET.Element:
    """A URDF ``<collision>`` element for the capsule over segment p0-p1 [m] (link frame) with ``radius``."""
    a = np.asarray(p0, dtype=np.float64)
    b = np.asarray(p1, dtype=np.float64)
    d = b - a
    length = float(np.linalg.norm(d))
    coll = ET.Element("collision", {"name": name} if name else {})
    mid = 0.5 * (a + b)
    if length < 1e-9:
        ET.SubElement(coll, "origin", {"xyz": " ".join(repr(float(x)) for x in mid), "rpy": "0 0 0"})
        geom = ET.SubElement(coll, "geometry")
        ET.SubElement(geom, "sphere", {"radius": repr(float(radius))})
        return coll
    rpy = _rpy_from_z_axis(d / length)
    ET.SubElement(
        coll,
        "origin",
        {"xyz": " ".join(repr(float(x)) for x in mid), "rpy": " ".join(repr(float(x)) for x in rpy)},
    )
    geom = ET.SubElement(coll, "geometry")
    ET.SubElement(geom, "capsule", {"radius": repr(float(radius)), "length": repr(length)})
    return coll


def _absolute_meshes(root: ET.Element, base: Path) -> None:
    for mesh in root.iter("mesh"):
        fn = mesh.get("filename")
        if fn and "://" not in fn and not Path(fn).is_absolute():
            mesh.set("filename", str((base / fn).resolve()))


def _read(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        raise ModelError(f"cannot read the URDF {path}: {err}") from err


def _static_links(root: ET.Element) -> set[str]:
    """The root link and every link joined to it by fixed joints only (they never move)."""
    joints = [(j.find("parent"), j.find("child"), j.get("type", "")) for j in root.findall("joint")]
    edges = [
        (p.get("link", ""), c.get("link", ""), kind)
        for p, c, kind in joints
        if p is not None and c is not None
    ]
    children = {c for _, c, _ in edges}
    static = {lk.get("name", "") for lk in root.findall("link") if lk.get("name") not in children}
    grew = True
    while grew:
        grew = False
        for parent, child, kind in edges:
            if kind == "fixed" and parent in static and child not in static:
                static.add(child)
                grew = True
    return static


def robot_capsule_urdf(urdf: Path, out: Path) -> Path:
    """Write a copy of the robot URDF whose collision primitives are their capsules; returns ``out``."""
    root = _read(urdf)
    static = _static_links(root)
    for link in root.iter("link"):
        name = link.get("name", "")
        if name in static:
            continue  # never moves: keeps its own shape (the scene finds what it stands on)
        for i, coll in enumerate(list(link.findall("collision"))):
            cap = capsule_from_collision(name, coll, coll.get("name") or f"{name}_{i}")
            if cap is None:
                continue  # meshes stay as they are
            idx = list(link).index(coll)
            link.remove(coll)
            link.insert(idx, capsule_collision_xml(cap.p0, cap.p1, cap.radius, cap.name))
    _absolute_meshes(root, urdf.parent)
    ET.ElementTree(root).write(out, encoding="unicode")
    return out


def torch_link_name(capsule_name: str) -> str:
    """pybullet link name of a torch capsule (``nozzle`` -> ``torch_nozzle``, ``wire`` -> ``torch_wire``)."""
    return (
        capsule_name
        if capsule_name.startswith("torch_") or capsule_name == "contact_tip"
        else f"torch_{capsule_name}"
    )


def torch_capsule_urdf(urdf: Path, capsules: Sequence[Any], out: Path) -> Path:
    """Write a copy of the torch URDF with the torch capsules (flange frame) as its collision geometry.

    Args:
        urdf: The torch URDF (root link = the robot flange).
        capsules: ``Torch.collision_capsules`` (``link == "flange"``, each with a ``name``).
        out: File to write.
    """
    root = _read(urdf)
    links = root.findall("link")
    children = {j.find("child").get("link") for j in root.findall("joint") if j.find("child") is not None}  # type: ignore[union-attr]
    roots = [lk.get("name", "") for lk in links if lk.get("name") not in children]
    if len(roots) != 1:
        raise ModelError(f"torch URDF {urdf}: expected one root link, found {roots}")
    wanted = {torch_link_name(str(cap.name)) for cap in capsules}
    renamed: dict[str, str] = {}
    for link in links:
        for coll in list(link.findall("collision")):
            link.remove(coll)
        name = link.get("name", "")
        if name in wanted and name != roots[0]:  # the original (visual) link gives its name away
            renamed[name] = f"{name}_visual"
            link.set("name", renamed[name])
    for joint in root.findall("joint"):
        for end in ("parent", "child"):
            el = joint.find(end)
            if el is not None and el.get("link") in renamed:
                el.set("link", renamed[el.get("link", "")])
    taken = {lk.get("name") for lk in links}
    joint_names = {j.get("name", "") for j in root.findall("joint")}
    for cap in capsules:
        if getattr(cap, "link", "flange") != "flange":
            raise ModelError(f"torch capsule {cap.name!r}: expected it in the flange frame, got {cap.link!r}")
        name = torch_link_name(str(cap.name))
        if name in taken:
            raise ModelError(f"torch capsule {cap.name!r}: two capsules map to the link name {name!r}")
        taken.add(name)
        link = ET.SubElement(root, "link", {"name": name})
        inertial = ET.SubElement(link, "inertial")
        ET.SubElement(inertial, "mass", {"value": "0.001"})
        ET.SubElement(inertial, "origin", {"xyz": "0 0 0", "rpy": "0 0 0"})
        ET.SubElement(
            inertial,
            "inertia",
            {"ixx": "1e-6", "ixy": "0", "ixz": "0", "iyy": "1e-6", "iyz": "0", "izz": "1e-6"},
        )
        link.append(capsule_collision_xml(cap.p0, cap.p1, cap.radius, str(cap.name)))
        jname = f"{name}_capsule_joint"
        while jname in joint_names:
            jname += "_"
        joint_names.add(jname)
        joint = ET.SubElement(root, "joint", {"name": jname, "type": "fixed"})
        ET.SubElement(joint, "parent", {"link": roots[0]})
        ET.SubElement(joint, "child", {"link": name})
        ET.SubElement(joint, "origin", {"xyz": "0 0 0", "rpy": "0 0 0"})
    _absolute_meshes(root, urdf.parent)
    ET.ElementTree(root).write(out, encoding="unicode")
    return out
