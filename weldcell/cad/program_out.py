"""Write seam candidates as a weld program (``weldcell.program/1``) the user edits and selects from.

Every candidate becomes a seam with its id, its geometry in the part frame (the assembly frame:
all parts share it, each part is a mesh body written next to the program) and ``selected: true``
or ``selected: false``. The loader leaves unselected seams out and every command names them as
skipped (:mod:`weldcell.program.loader`), so deselecting is one edit and nothing is welded
silently. A comment above each seam says what was found (joint, angle, length, parts).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.cad.seam import SeamCandidate

NDArrayF = npt.NDArray[np.float64]

#: Work angle [deg] of each joint's procedure; a candidate that bisects at another angle gets a
#: pass with its own ``work_angle_deg``.
PROCEDURE_WORK_ANGLE_DEG = {"fillet": 45.0, "lap": 45.0, "butt": 90.0, "corner": 45.0}


@dataclass(frozen=True, slots=True)
class CellPlacement:
    """Robot, torch and where the assembly sits in the cell.

    Attributes:
        robot: Robot model name.
        torch: Torch model name.
        stickout_mm: Contact-tip-to-work distance [mm].
        home_deg: Home configuration [deg], one per joint.
        part_xyz_mm: Assembly (part) frame origin in the world [mm].
        part_rpy_deg: Its roll, pitch, yaw [deg] (URDF convention).
        clearance_mm: Clearance the planner keeps from the bodies [mm].
        base_xyz_mm: Robot base origin in the world [mm].
        base_rpy_deg: Robot base roll, pitch, yaw [deg].
    """

    robot: str
    torch: str
    stickout_mm: float
    home_deg: tuple[float, ...]
    part_xyz_mm: tuple[float, float, float]
    part_rpy_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    clearance_mm: float = 2.0
    base_xyz_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    base_rpy_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _v(x: NDArrayF, scale: float = 1e3) -> str:
    return "[" + ", ".join(f"{float(c) * scale + 0.0:.4f}".rstrip("0").rstrip(".") for c in x) + "]"


def _n(x: NDArrayF) -> str:
    return _v(np.asarray(x), 1.0)


def _geometry(s: SeamCandidate) -> tuple[str, float | None]:
    if s.curve == "line":
        return f"line: {{start_mm: {_v(s.points[0])}, end_mm: {_v(s.points[1])}}}", None
    if s.curve == "arc":
        return (
            f"arc: {{start_mm: {_v(s.points[0])}, mid_mm: {_v(s.points[1])}, end_mm: {_v(s.points[2])}}}",
            None,
        )
    if s.curve == "circle":
        return (
            f"circle: {{center_mm: {_v(s.center)}, axis: {_n(s.axis)}, start_mm: {_v(s.points[0])}, "
            f"sweep_deg: {np.rad2deg(s.sweep):.3f}}}"
        ), None
    pts = s.points
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    d = np.diff(pts, axis=0) / seg[:, None]
    turn = np.arccos(np.clip(np.einsum("ij,ij->i", d[:-1], d[1:]), -1.0, 1.0))
    # the blend's tangent length r·tan(θ/2) must fit in half of each neighbouring segment
    room = 0.45 * np.minimum(seg[:-1], seg[1:]) / np.maximum(np.tan(turn / 2), 1e-9)
    radius = float(min(3e-3, np.min(room))) if len(room) else 3e-3
    body = ", ".join(_v(p) for p in pts)
    return f"polyline: {{points_mm: [{body}], blend_radius_mm: {radius * 1e3:.3f}}}", radius


def program_yaml(
    candidates: Sequence[SeamCandidate],
    part_files: dict[str, str],
    cell: CellPlacement,
    *,
    name: str,
    source: str,
    selected: Collection[str] | None = None,
) -> str:
    """The program text.

    Args:
        candidates: Seam candidates (assembly frame).
        part_files: Part name → mesh file (millimetres) relative to the program.
        cell: Robot, torch and placement.
        name: Program name.
        source: Where the candidates came from (for the description).
        selected: Ids written with ``selected: true``; None selects all.
    """
    sel = {s.id for s in candidates} if selected is None else set(selected)
    L: list[str] = [
        "# Seam candidates found by `weldcell seams detect`. Review each one: set `selected: false` on",
        "# a candidate you do not want welded (weldcell check / plan name it as skipped), edit the",
        "# procedures, then `weldcell check` and `weldcell plan` this file. Geometry is in the part",
        "# frame (the assembly's frame), in mm.",
        "format: weldcell.program/1",
        f"name: {_q(name)}",
        f"description: {_q(f'{len(candidates)} seam candidates detected on {source}')}",
        "",
        "cell:",
        f"  robot: {cell.robot}",
        f"  base: {{xyz_mm: [{_nums(cell.base_xyz_mm)}], rpy_deg: [{_nums(cell.base_rpy_deg)}]}}",
        f"  torch: {{model: {cell.torch}, stickout_mm: {cell.stickout_mm:g}}}",
        f"  home_deg: [{', '.join(f'{q:g}' for q in cell.home_deg)}]",
        f"  clearance_mm: {cell.clearance_mm:g}",
        "  bodies:",
    ]
    xyz = _nums(cell.part_xyz_mm)
    rpy = _nums(cell.part_rpy_deg)
    for part, f in part_files.items():
        L += [
            f"    - name: {part}",
            "      role: workpiece",
            f"      mesh: {{file: {_q(f)}, scale: 0.001}}",
            f"      pose: {{xyz_mm: [{xyz}], rpy_deg: [{rpy}]}}",
        ]
    joints = sorted({s.joint for s in candidates})
    L += ["", "procedures:"]
    for j in joints:
        L += [
            f"  {j}:",
            "    process: mag",
            "    travel_speed_mm_s: 8",
            "    wire_feed_m_min: 7",
            "    voltage_v: 22",
            "    gas: {preflow_s: 0.3, postflow_s: 1.0}",
            "    arc_start: {dwell_s: 0.2}",
            "    crater_fill: {time_s: 0.4}",
            f"    work_angle_deg: {PROCEDURE_WORK_ANGLE_DEG[j]:g}",
            "    travel_angle_deg: 5",
            "    tolerance: {work_angle_deg: 5, travel_angle_deg: 5}",
        ]
    L += ["", "seams:"]
    for s in candidates:
        geom, _ = _geometry(s)
        angle = (
            f"open angle {np.rad2deg(s.interior):.1f}°, work angle {np.rad2deg(s.work_angle):.1f}°"
            if s.normal_2 is not None
            else "one face"
        )
        L += [
            f"  # {s.id}: {s.joint} {s.curve}, {s.length * 1e3:.1f} mm, {angle}; "
            f"on {s.part_1}, with {s.part_2}",
            f"  - id: {s.id}",
            f"    selected: {'true' if s.id in sel else 'false'}",
            f"    joint: {s.joint}",
            f"    workpiece: {s.part_1}",
            f"    geometry: {{{geom}}}",
        ]
        if s.normal_2 is not None:
            L.append(f"    normals: [{_n(s.normal_1)}, {_n(s.normal_2)}]")
        else:
            L.append(f"    face_normal: {_n(s.normal_1)}")
        L.append(f"    procedure: {s.joint}")
        wa = float(np.rad2deg(s.work_angle))
        if abs(wa - PROCEDURE_WORK_ANGLE_DEG[s.joint]) > 0.05:
            L.append(f"    passes: [{{work_angle_deg: {wa:.2f}}}]")
    return "\n".join(L) + "\n"


def _nums(v: tuple[float, ...]) -> str:
    return ", ".join(f"{c + 0.0:.4f}".rstrip("0").rstrip(".") for c in v)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
