"""Generate the URDF files in ``urdf/`` from :mod:`weldcell.kinematics.specs`.

The generated files are committed; ``tests/kinematics/test_urdf.py`` checks they are up to date.
Regenerate after editing a spec with::

    python -m weldcell.kinematics.urdf_gen

Geometry uses only cylinders, boxes and spheres (visual = collision), sized to the real links, so
the models load offline in pybullet and ``roboticstoolbox.Robot.URDF`` without meshes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from weldcell.kinematics.positioner_specs import POSITIONER_SPECS, PositionerSpec
from weldcell.kinematics.specs import (
    CRX_SPECS,
    GOFA_SPECS,
    OPW_SPECS,
    SERIAL_SPECS,
    TORCH_SPECS,
    UR_SPECS,
    CrxSpec,
    GofaSpec,
    OPWSpec,
    SerialSpec,
    TorchSpec,
    URSpec,
)
from weldcell.spatial.se3 import se3_from_xyz_rpy, xyz_rpy_from_se3

NDArrayF = npt.NDArray[np.float64]

URDF_DIR = Path(__file__).resolve().parents[2] / "urdf"

_COLORS = {
    "ur_grey": (0.82, 0.83, 0.85, 1.0),
    "ur_blue": (0.33, 0.55, 0.75, 1.0),
    "dark": (0.15, 0.15, 0.17, 1.0),
    "kuka_orange": (0.96, 0.47, 0.0, 1.0),
    "black": (0.05, 0.05, 0.05, 1.0),
    "copper": (0.80, 0.50, 0.20, 1.0),
    "brass": (0.78, 0.66, 0.30, 1.0),
    "steel": (0.65, 0.65, 0.68, 1.0),
    "white": (0.92, 0.92, 0.92, 1.0),
}

#: Colours written only into the files that use them (the shared palette above is in every file).
_EXTRA_COLORS = {
    "fanuc_yellow": (0.98, 0.82, 0.0, 1.0),
}


@dataclass(frozen=True)
class Prim:
    """One geometric primitive of a link, pose ``T_link_prim`` (cylinders along the prim z axis).

    ``dims`` is (radius, length) for a cylinder, (radius,) for a sphere, (x, y, z) full extents
    for a box, all in [m].
    """

    kind: str
    T_link_prim: NDArrayF
    dims: tuple[float, ...]
    color: str


@dataclass
class _Link:
    name: str
    prims: list[Prim] = field(default_factory=list)
    mass: float = 0.5


@dataclass
class _Joint:
    name: str
    parent: str
    child: str
    T_parent_joint: NDArrayF
    axis: tuple[float, float, float] = (0.0, 0.0, 1.0)
    kind: str = "revolute"
    lower: float = 0.0
    upper: float = 0.0
    velocity: float = 0.0
    effort: float = 0.0


def _tf(
    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0), rpy: tuple[float, float, float] = (0, 0, 0)
) -> NDArrayF:
    return se3_from_xyz_rpy(np.array(xyz, dtype=float), np.array(rpy, dtype=float))


def _rot_x(a: float) -> NDArrayF:
    return _tf(rpy=(a, 0.0, 0.0))


def _rot_axis(axis: tuple[float, float, float], angle: float) -> NDArrayF:
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    T = np.eye(4)
    T[:3, :3] = np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * (K @ K)
    return T


def cyl(p0: tuple[float, float, float], p1: tuple[float, float, float], r: float, color: str) -> Prim:
    """Cylinder of radius ``r`` [m] between the centres ``p0`` and ``p1`` [m] of its end faces."""
    a = np.asarray(p0, dtype=float)
    b = np.asarray(p1, dtype=float)
    d = b - a
    length = float(np.linalg.norm(d))
    yaw = math.atan2(d[1], d[0])
    pitch = math.atan2(math.hypot(d[0], d[1]), d[2])
    mid = 0.5 * (a + b)
    return Prim("cylinder", _tf(tuple(mid), (0.0, pitch, yaw)), (r, length), color)


def box(center: tuple[float, float, float], size: tuple[float, float, float], color: str) -> Prim:
    """Axis-aligned box with full extents ``size`` [m] centred at ``center`` [m]."""
    return Prim("box", _tf(center), size, color)


def sphere(center: tuple[float, float, float], r: float, color: str) -> Prim:
    """Sphere of radius ``r`` [m]."""
    return Prim("sphere", _tf(center), (r,), color)


# ----------------------------------------------------------------------------------------------- UR


def _ur_model(s: URSpec) -> tuple[str, list[_Link], list[_Joint]]:
    names = ["shoulder_pan", "shoulder_lift", "elbow", "wrist_1", "wrist_2", "wrist_3"]
    links_n = [
        "shoulder_link",
        "upper_arm_link",
        "forearm_link",
        "wrist_1_link",
        "wrist_2_link",
        "wrist_3_link",
    ]
    a = (0.0, s.a2, s.a3, 0.0, 0.0, 0.0)
    d = (s.d1, 0.0, 0.0, s.d4, s.d5, s.d6)
    alpha = (math.pi / 2, 0.0, 0.0, math.pi / 2, -math.pi / 2, 0.0)
    so, eo = s.shoulder_offset, s.elbow_offset
    fz = so - eo  # forearm tube height along the elbow axis
    h_base = 0.55 * s.d1
    rw = s.r_wrist
    prims: dict[str, list[Prim]] = {
        "base": [cyl((0, 0, 0), (0, 0, h_base), s.r_base, "ur_grey")],
        "shoulder_link": [
            cyl((0, 0, -(s.d1 - h_base)), (0, 0, 0.7 * s.r_shoulder), s.r_shoulder, "ur_blue"),
            cyl((0, 0.6 * s.r_shoulder, 0), (0, -(so + 0.5 * s.r_upper), 0), s.r_shoulder, "ur_grey"),
        ],
        "upper_arm_link": [
            cyl((0, 0, so - s.r_shoulder), (0, 0, so + s.r_shoulder), s.r_shoulder, "ur_blue"),
            cyl((0, 0, so), (s.a2, 0, so), s.r_upper, "ur_grey"),
            cyl((s.a2, 0, fz - 0.5 * s.r_elbow), (s.a2, 0, so + s.r_elbow), s.r_elbow, "ur_blue"),
        ],
        "forearm_link": [
            cyl((0, 0, fz), (s.a3, 0, fz), s.r_fore, "ur_grey"),
        ],
        "wrist_1_link": [
            cyl((0, 0, -(s.d4 - fz) - s.r_fore), (0, 0, 0.9 * rw), rw, "ur_blue"),
        ],
        "wrist_2_link": [
            cyl((0, 0, -s.d5), (0, 0, 0.9 * rw), rw, "ur_blue"),
        ],
        "wrist_3_link": [
            cyl((0, 0, -s.d6), (0, 0, -0.012), rw, "ur_blue"),
            cyl((0, 0, -0.012), (0, 0, 0.0), 0.0315, "steel"),
        ],
    }
    masses = {"base": 4.0, "shoulder_link": 3.7, "upper_arm_link": 8.4, "forearm_link": 2.3}
    links = [_Link("base", prims["base"], masses["base"])]
    joints: list[_Joint] = []
    parent = "base"
    for i in range(6):
        # URDF joint i: origin Tx(a_{i-1}) Rx(α_{i-1}) Tz(d_i), axis z (standard DH, θ and d commute)
        a_prev = a[i - 1] if i else 0.0
        al_prev = alpha[i - 1] if i else 0.0
        T = _tf((a_prev, 0.0, 0.0)) @ _rot_x(al_prev) @ _tf((0.0, 0.0, d[i]))
        joints.append(
            _Joint(
                f"{names[i]}_joint", parent, links_n[i], T,
                lower=s.q_lower[i], upper=s.q_upper[i], velocity=s.qd_max[i], effort=150.0,
            )
        )  # fmt: skip
        links.append(_Link(links_n[i], prims[links_n[i]], masses.get(links_n[i], 1.2)))
        parent = links_n[i]
    # a6 = 0, α6 = 0: the flange (tool0) is DH frame 6 itself
    joints.append(
        _Joint("flange_joint", parent, "flange", _tf((a[5], 0, 0)) @ _rot_x(alpha[5]), kind="fixed")
    )
    links.append(_Link("flange", [], 0.01))
    return s.name, links, joints


# ---------------------------------------------------------------------------------------------- OPW


def _opw_model(s: OPWSpec) -> tuple[str, list[_Link], list[_Joint]]:
    ax_native = ((0, 0, 1), (0, 1, 0), (0, 1, 0), (0, 0, 1), (0, 1, 0), (0, 0, 1))
    origins = (
        (0.0, 0.0, 0.0),
        (s.a1, s.b, s.c1),
        (0.0, 0.0, s.c2),
        (s.a2, 0.0, 0.0),
        (0.0, 0.0, s.c3),
        (0.0, 0.0, 0.0),
    )
    link_n = [f"link_{i}" for i in range(1, 7)]
    o = s.color
    prims: dict[str, list[Prim]] = {
        "base": [box((0, 0, 0.025), (0.32, 0.32, 0.05), "black"), cyl((0, 0, 0), (0, 0, 0.2), 0.11, "black")],
        "link_1": [
            cyl((0, 0, 0.2), (0, 0, 0.31), 0.105, o),
            cyl((s.a1, 0.11, s.c1), (s.a1, -0.1, s.c1), 0.085, o),
        ],
        "link_2": [
            box((0, 0.07, 0.5 * s.c2), (0.1, 0.06, s.c2), o),
            cyl((0, 0.12, s.c2), (0, -0.06, s.c2), 0.065, o),
        ],
        "link_3": [cyl((s.a2, 0, -0.07), (s.a2, 0, 0.12), 0.065, o)],
        "link_4": [cyl((0, 0, 0.12), (0, 0, s.c3 - 0.05), 0.045, o)],
        "link_5": [cyl((0, 0.06, 0), (0, -0.06, 0), 0.042, o)],
        "link_6": [
            cyl((0, 0, 0.03), (0, 0, s.c4 - 0.012), 0.035, o),
            cyl((0, 0, s.c4 - 0.012), (0, 0, s.c4), 0.0315, "steel"),
        ],
    }
    links = [_Link("base", prims["base"], 10.0)]
    joints: list[_Joint] = []
    parent = "base"
    for i in range(6):
        # θ_i = sign_i q_i + offset_i  ->  URDF origin = native origin · Rot(axis, offset), axis · sign
        T = _tf(origins[i]) @ _rot_axis(ax_native[i], s.offsets[i])
        axis = tuple(float(s.signs[i] * c) for c in ax_native[i])
        joints.append(
            _Joint(
                f"joint_a{i + 1}", parent, link_n[i], T, axis=axis,  # type: ignore[arg-type]
                lower=s.q_lower[i], upper=s.q_upper[i], velocity=s.qd_max[i], effort=100.0,
            )
        )  # fmt: skip
        links.append(_Link(link_n[i], prims[link_n[i]], 2.0))
        parent = link_n[i]
    joints.append(_Joint("flange_joint", parent, "flange", _tf((0.0, 0.0, s.c4)), kind="fixed"))
    links.append(_Link("flange", [], 0.01))
    return s.name, links, joints


# ---------------------------------------------------------------------------------------------- CRX


def _crx_model(s: CrxSpec) -> tuple[str, list[_Link], list[_Joint]]:
    """CRX from its DH table: link i is DH frame i-1 turned by θ_i; its fixed part
    ``Tz(d_i) Tx(a_i) Rx(α_i)`` (and the next joint's offset ``Rz(offset_{i+1})``) is the origin of
    joint i+1, so the chain's FK equals :func:`weldcell.kinematics.crx.crx_fk` above ``base_height``."""
    link_n = [f"link_{i}" for i in range(1, 7)]
    o = s.color
    h = s.base_height
    radii = (0.085, 0.075, 0.065, 0.055, 0.05, 0.045)
    prims: dict[str, list[Prim]] = {
        "base": [cyl((0, 0, 0), (0, 0, 0.5 * h), 0.09, "dark")],
        "link_1": [cyl((0, 0, -0.5 * h), (0, 0, 0.0), radii[0], o)],
    }
    for i in range(1, 6):
        r = radii[i]
        end = (s.a[i], 0.0, s.d[i])
        p = [cyl((0, 0, -r), (0, 0, r), r, o)]  # the joint housing, along the joint axis
        if abs(s.a[i]) + abs(s.d[i]) > 0:
            p.append(cyl((0, 0, 0), end, 0.8 * r, o))
        prims[link_n[i]] = p
    prims["link_6"].append(cyl((0, 0, s.d[5] + 0.012), (0, 0, s.d[5]), 0.0315, "steel"))
    links = [_Link("base", prims["base"], 8.0)]
    joints: list[_Joint] = []
    parent = "base"
    T_prev = _tf((0.0, 0.0, h))
    for i in range(6):
        T = T_prev @ _rot_axis((0.0, 0.0, 1.0), s.offset[i])
        joints.append(
            _Joint(
                f"joint_{i + 1}", parent, link_n[i], T,
                lower=s.q_lower[i], upper=s.q_upper[i], velocity=s.qd_max[i], effort=100.0,
            )
        )  # fmt: skip
        links.append(_Link(link_n[i], prims[link_n[i]], 2.0))
        parent = link_n[i]
        T_prev = _tf((s.a[i], 0.0, s.d[i])) @ _rot_x(s.alpha[i])
    joints.append(_Joint("flange_joint", parent, "flange", T_prev, kind="fixed"))
    links.append(_Link("flange", [], 0.01))
    return s.name, links, joints


# --------------------------------------------------------------------------------------------- GoFa


def _gofa_model(s: GofaSpec) -> tuple[str, list[_Link], list[_Joint]]:
    """GoFa from its modified DH table: joint i's origin is ``Tz(d_{i-1}) Rx(α_{i-1}) Tx(a_{i-1})
    Rz(offset_i)`` from link i-1 (``Tz`` commutes with the previous joint's ``Rz``), the last ``Tz(d6)``
    places the flange, so the chain's FK equals :func:`weldcell.kinematics.gofa.gofa_fk`. Link i's
    geometry runs along its joint axis to ``d_i``, then along x to the next axis (``a_i``)."""
    link_n = [f"link_{i}" for i in range(1, 7)]
    o = s.color
    radii = (0.075, 0.07, 0.06, 0.05, 0.045, 0.04)
    prims: dict[str, list[Prim]] = {"base": [cyl((0, 0, 0), (0, 0, 0.12), 0.09, "dark")]}
    for i in range(6):
        r = radii[i]
        p = [cyl((0, 0, -r), (0, 0, r), r, o)]  # the joint housing, along the joint axis
        nxt_a = s.a[i + 1] if i < 5 else 0.0
        if i == 0:
            p = [cyl((0, 0, -s.d[0] + 0.12), (0, 0, r), r, o)]  # the column from the base to J2
        elif abs(s.d[i]) > 0:
            p.append(cyl((0, 0, 0), (0, 0, s.d[i]), 0.8 * r, o))
        if abs(nxt_a) > 0:
            p.append(cyl((0, 0, s.d[i]), (nxt_a, 0, s.d[i]), 0.8 * r, o))
        prims[link_n[i]] = p
    prims["link_6"].append(cyl((0, 0, -0.012), (0, 0, 0.0), 0.0315, "steel"))
    links = [_Link("base", prims["base"], 8.0)]
    joints: list[_Joint] = []
    parent = "base"
    d_prev = 0.0
    for i in range(6):
        T = _tf((0.0, 0.0, d_prev)) @ _rot_x(s.alpha[i]) @ _tf((s.a[i], 0.0, 0.0))
        T = T @ _rot_axis((0.0, 0.0, 1.0), s.offset[i])
        joints.append(
            _Joint(
                f"joint_{i + 1}", parent, link_n[i], T,
                lower=s.q_lower[i], upper=s.q_upper[i], velocity=s.qd_max[i], effort=100.0,
            )
        )  # fmt: skip
        links.append(_Link(link_n[i], prims[link_n[i]], 2.0))
        parent = link_n[i]
        d_prev = s.d[i]
    joints.append(_Joint("flange_joint", parent, "flange", _tf((0.0, 0.0, d_prev)), kind="fixed"))
    links.append(_Link("flange", [], 0.01))
    return s.name, links, joints


# ------------------------------------------------------------------------------------------- serial


def _serial_model(s: SerialSpec) -> tuple[str, list[_Link], list[_Joint]]:
    n = len(s.axes)
    r = s.radius
    links = [_Link("base", [cyl((0, 0, 0), (0, 0, s.origins_xyz[0][2]), r * 1.2, "dark")], 4.0)]
    joints: list[_Joint] = []
    parent = "base"
    for i in range(n):
        nxt = s.origins_xyz[i + 1]
        name = f"link_{i + 1}"
        color = "white" if i % 2 == 0 else "ur_blue"
        prims = [sphere((0, 0, 0), r, color)]
        if any(abs(c) > 0 for c in nxt):
            prims.append(cyl((0, 0, 0), nxt, r * (0.9 if i < n - 1 else 0.7), color))
        joints.append(
            _Joint(
                f"joint_{i + 1}", parent, name, _tf(s.origins_xyz[i]), axis=s.axes[i],
                lower=s.q_lower[i], upper=s.q_upper[i], velocity=s.qd_max[i], effort=100.0,
            )
        )  # fmt: skip
        links.append(_Link(name, prims, 2.0))
        parent = name
    joints.append(_Joint("flange_joint", parent, "flange", _tf(s.origins_xyz[n]), kind="fixed"))
    links.append(_Link("flange", [], 0.01))
    return s.name, links, joints


# -------------------------------------------------------------------------------------------- torch


def torch_geometry(s: TorchSpec) -> dict[str, tuple[list[Prim], NDArrayF]]:
    """Torch links: name -> (primitives in the link frame, ``T_flange_link``)."""
    ca, sa = math.cos(s.neck_angle), math.sin(s.neck_angle)
    T_flange_neck = np.eye(4)
    T_flange_neck[:3, :3] = np.array([[ca, 0.0, sa], [0.0, 1.0, 0.0], [-sa, 0.0, ca]])
    T_flange_neck[:3, 3] = [0.0, 0.0, s.body_length]
    L = s.neck_length
    nz0 = L - s.nozzle_length
    tip_end = L - s.tip_recess
    body = [
        cyl((0, 0, 0), (0, 0, s.mount_length), s.r_mount, "dark"),
        cyl((0, 0, s.mount_length), (0, 0, s.body_length), s.r_body, "black"),
        sphere((0, 0, s.body_length), s.r_body, "black"),
    ]
    neck = [
        cyl((0, 0, 0), (0, 0, nz0), s.r_neck, "black"),
        cyl((0, 0, nz0), (0, 0, L - s.nozzle_tip_length), s.r_nozzle, "brass"),
        cyl((0, 0, L - s.nozzle_tip_length), (0, 0, L), s.r_nozzle_tip, "brass"),
    ]
    tip = [cyl((0, 0, tip_end - 0.02), (0, 0, tip_end), s.r_tip, "copper")]
    return {
        "torch_body": (body, np.eye(4)),
        "torch_neck": (neck, T_flange_neck),
        "contact_tip": (tip, T_flange_neck),
    }


def _torch_model(s: TorchSpec) -> tuple[str, list[_Link], list[_Joint]]:
    geo = torch_geometry(s)
    links = [_Link("flange", [], 0.01)]
    joints: list[_Joint] = []
    for name, (prims, T) in geo.items():
        parent = "flange"
        links.append(_Link(name, prims, 0.3))
        joints.append(_Joint(f"{name}_joint", parent, name, T, kind="fixed"))
    T_tcp = geo["torch_neck"][1] @ _tf((0.0, 0.0, s.neck_length - s.tip_recess + s.nominal_stickout))
    links.append(_Link("tcp", [], 0.001))
    joints.append(_Joint("tcp_joint", "flange", "tcp", T_tcp, kind="fixed"))
    return s.name, links, joints


# ------------------------------------------------------------------------------- positioners/track

#: Geometry of each positioner model: link name -> primitives in the link frame (collision = visual).
_POSITIONER_GEOMETRY: dict[str, dict[str, list[Prim]]] = {
    "turntable_1ax": {
        "base": [cyl((0, 0, 0), (0, 0, 0.68), 0.2, "dark")],
        "table_link": [cyl((0, 0, 0), (0, 0, 0.05), 0.3, "steel")],
    },
    "tilt_rotate_2ax": {
        "base": [
            box((0, 0, 0.05), (0.9, 0.5, 0.1), "dark"),
            cyl((-0.36, 0, 0.1), (-0.36, 0, 0.9), 0.06, "dark"),
            cyl((0.36, 0, 0.1), (0.36, 0, 0.9), 0.06, "dark"),
        ],
        "tilt_link": [
            cyl((-0.34, 0, 0), (0.34, 0, 0), 0.04, "steel"),
            box((0, 0, -0.13), (0.3, 0.3, 0.06), "steel"),
        ],
        "rotate_link": [cyl((0, 0, 0), (0, 0, 0.10), 0.3, "steel")],
    },
    "headstock_1ax": {
        "base": [
            box((0.0, 0, 0.5), (0.4, 0.5, 1.0), "dark"),
            box((1.0, 0, 0.05), (1.8, 0.4, 0.1), "dark"),
            box((1.9, 0, 0.5), (0.2, 0.3, 1.0), "dark"),
        ],
        "spindle_link": [cyl((0, 0, 0), (0, 0, 0.04), 0.25, "steel")],
    },
    "track_1ax": {
        "base": [box((1.5, 0, 0.05), (3.6, 0.5, 0.1), "dark")],
        "carriage_link": [box((0, 0, 0.0), (0.6, 0.6, 0.1), "steel")],
    },
}


def _positioner_model(s: PositionerSpec) -> tuple[str, list[_Link], list[_Joint]]:
    geo = _POSITIONER_GEOMETRY[s.name]
    links = [_Link("base", geo["base"], 50.0)]
    joints: list[_Joint] = []
    parent = "base"
    for ax in s.axes:
        child = f"{ax.name}_link"
        links.append(_Link(child, geo[child], 20.0))
        joints.append(
            _Joint(
                ax.name, parent, child, _tf(ax.xyz, ax.rpy), axis=ax.axis, kind=ax.kind,
                lower=ax.lower, upper=ax.upper, velocity=ax.qd_max, effort=1000.0,
            )
        )  # fmt: skip
        parent = child
    joints.append(_Joint("flange_joint", parent, "flange", _tf(s.flange_xyz, s.flange_rpy), kind="fixed"))
    links.append(_Link("flange", [], 0.01))
    return s.name, links, joints


# -------------------------------------------------------------------------------------------- write


def _f(x: float) -> str:
    v = float(x)
    if abs(v) < 1e-15:
        v = 0.0
    return repr(v)


def _origin(T: NDArrayF) -> str:
    xyz, rpy = xyz_rpy_from_se3(T)
    return (
        f'<origin xyz="{_f(xyz[0])} {_f(xyz[1])} {_f(xyz[2])}" rpy="{_f(rpy[0])} {_f(rpy[1])} {_f(rpy[2])}"/>'
    )


def _geometry(p: Prim) -> str:
    if p.kind == "cylinder":
        return f'<cylinder radius="{_f(p.dims[0])}" length="{_f(p.dims[1])}"/>'
    if p.kind == "sphere":
        return f'<sphere radius="{_f(p.dims[0])}"/>'
    return f'<box size="{_f(p.dims[0])} {_f(p.dims[1])} {_f(p.dims[2])}"/>'


def _write(name: str, links: list[_Link], joints: list[_Joint], comment: str) -> str:
    out = ['<?xml version="1.0"?>', f"<!-- {comment} -->", f'<robot name="{name}">']
    used = {p.color for link in links for p in link.prims}
    palette = {**_COLORS, **{c: v for c, v in _EXTRA_COLORS.items() if c in used}}
    for c, rgba in palette.items():
        out.append(f'  <material name="{c}"><color rgba="{" ".join(_f(v) for v in rgba)}"/></material>')
    for link in links:
        out.append(f'  <link name="{link.name}">')
        m = link.mass
        ii = max(m * 0.002, 1e-5)
        out.append(
            f'    <inertial><mass value="{_f(m)}"/><origin xyz="0 0 0" rpy="0 0 0"/>'
            f'<inertia ixx="{_f(ii)}" ixy="0" ixz="0" iyy="{_f(ii)}" iyz="0" izz="{_f(ii)}"/></inertial>'
        )
        for p in link.prims:
            g = _geometry(p)
            o = _origin(p.T_link_prim)
            out.append(f'    <visual>{o}<geometry>{g}</geometry><material name="{p.color}"/></visual>')
            out.append(f"    <collision>{o}<geometry>{g}</geometry></collision>")
        out.append("  </link>")
    for j in joints:
        out.append(f'  <joint name="{j.name}" type="{j.kind}">')
        out.append(f'    <parent link="{j.parent}"/><child link="{j.child}"/>')
        out.append(f"    {_origin(j.T_parent_joint)}")
        if j.kind in ("revolute", "prismatic"):
            ax = " ".join(_f(v) for v in j.axis)
            out.append(f'    <axis xyz="{ax}"/>')
            out.append(
                f'    <limit lower="{_f(j.lower)}" upper="{_f(j.upper)}" '
                f'velocity="{_f(j.velocity)}" effort="{_f(j.effort)}"/>'
            )
        out.append("  </joint>")
    out.append("</robot>")
    return "\n".join(out) + "\n"


def generate_all() -> dict[str, str]:
    """All generated URDF texts, file name -> contents."""
    files: dict[str, str] = {}
    hdr = "generated by weldcell.kinematics.urdf_gen from weldcell/kinematics/specs.py; do not edit"
    for s in UR_SPECS.values():
        files[f"{s.name}.urdf"] = _write(*_ur_model(s), f"{hdr}; UR DH table (universal-robots.com)")
    for o in OPW_SPECS.values():
        files[f"{o.name}.urdf"] = _write(*_opw_model(o), f"{hdr}; OPW parameters (Brandstötter et al. 2014)")
    for c in CRX_SPECS.values():
        files[f"{c.name}.urdf"] = _write(
            *_crx_model(c), f"{hdr}; FANUC CRX DH table (weldcell.kinematics.crx); see specs.py for sources"
        )
    for g in GOFA_SPECS.values():
        files[f"{g.name}.urdf"] = _write(
            *_gofa_model(g), f"{hdr}; ABB GoFa modified DH table (weldcell.kinematics.gofa); see specs.py"
        )
    for r in SERIAL_SPECS.values():
        files[f"{r.name}.urdf"] = _write(*_serial_model(r), f"{hdr}; generic 7-axis S-R-S arm")
    for t in TORCH_SPECS.values():
        files[f"{t.name}.urdf"] = _write(*_torch_model(t), f"{hdr}; MIG torch, TCP = wire end")
    phdr = hdr.replace("specs.py", "positioner_specs.py")
    for ps in POSITIONER_SPECS.values():
        accel = ", ".join(f"{a.name} {a.qdd_max:.6g}" for a in ps.axes)
        files[f"{ps.name}.urdf"] = _write(
            *_positioner_model(ps),
            f"{phdr}; {ps.description}; weldcell: role={ps.role} payload_kg={ps.payload_kg:g} "
            f"acceleration (rad/s2 or m/s2): {accel}",
        )
    return files


def write_all(directory: Path = URDF_DIR) -> list[Path]:
    """Write every generated URDF into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for fname, text in generate_all().items():
        path = directory / fname
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    write_all()
