"""Weld programs of our own for the job-level planning tests (helper module, not tests).

``ribbed_plate`` writes a base plate with parallel ribs (webs) ``pitch_mm`` apart and a fillet along
one side of every rib: many short seams close together, for any robot and mount.
"""

from __future__ import annotations

from pathlib import Path

MOUNTS = {
    # base pose of the robot, plate centre in the world: floor, ceiling (hanging), wall
    "floor": ("{xyz_mm: [0, 0, 0], rpy_deg: [0, 0, 0]}", (450.0, 0.0, 0.0)),
    "ceiling": ("{xyz_mm: [0, 0, 900], rpy_deg: [180, 0, 0]}", (450.0, 0.0, 100.0)),
    "wall": ("{xyz_mm: [0, 0, 500], rpy_deg: [0, -90, 0]}", (450.0, 0.0, 120.0)),
}
HOME = {
    "ur3e": "[0, -90, 90, -90, -90, 0]",
    "ur5e": "[0, -90, 90, -90, -90, 0]",
    "ur10e": "[0, -90, 90, -90, -90, 0]",
    "ur16e": "[0, -90, 90, -90, -90, 0]",
    "kr6_r900": "[0, -90, 90, 0, 45, 0]",
}


def ribbed_plate(
    path: Path,
    robot: str = "ur10e",
    *,
    mount: str = "floor",
    ribs: int = 4,
    pitch_mm: float = 100.0,
    seam_mm: float = 60.0,
    rotation: str = "{mode: free}",
    tolerance: str = "{work_angle_deg: 0, travel_angle_deg: 0}",
    extra_cell: str = "",
    sequence: list[str] | None = None,
    plate_x_mm: float | None = None,
) -> Path:
    """Write the program to ``path`` and return it (see the module docstring)."""
    base, centre = MOUNTS[mount]
    cx, cy, cz = centre
    if plate_x_mm is not None:
        cx = plate_x_mm
    width = pitch_mm * ribs + 40.0
    bodies = [
        f"""    - name: plate
      role: workpiece
      box: {{size_mm: [{seam_mm + 60:g}, {width:g}, 10]}}
      pose: {{xyz_mm: [{cx:g}, {cy:g}, {cz + 5:g}]}}"""
    ]
    seams = []
    y0 = cy - pitch_mm * (ribs - 1) / 2
    for k in range(ribs):
        y = y0 + k * pitch_mm
        bodies.append(
            f"""    - name: rib{k}
      role: workpiece
      box: {{size_mm: [{seam_mm + 20:g}, 8, 60]}}
      pose: {{xyz_mm: [{cx:g}, {y:g}, {cz + 40:g}]}}"""
        )
        a = f"[{cx - seam_mm / 2:g}, {y + 4:g}, {cz + 10:g}]"
        b = f"[{cx + seam_mm / 2:g}, {y + 4:g}, {cz + 10:g}]"
        seams.append(
            f"""  - id: s{k}
    joint: fillet
    procedure: p
    geometry:
      line: {{start_mm: {a}, end_mm: {b}}}
    normals: [[0, 0, 1], [0, 1, 0]]"""
        )
    seq = "" if sequence is None else f"sequence: [{', '.join(sequence)}]\n"
    text = f"""format: weldcell.program/1
name: ribbed plate {robot} {mount}
cell:
  robot: {robot}
  base: {base}
  torch: {{model: torch_mig_22, stickout_mm: 15}}
  home_deg: {HOME[robot]}
  approach_mm: 30
  retract_mm: 30
  clearance_mm: 2
{extra_cell}  bodies:
{chr(10).join(bodies)}
procedures:
  p:
    process: mag
    travel_speed_mm_s: 12
    wire_feed_m_min: 7
    work_angle_deg: 45
    travel_angle_deg: 5
    tolerance: {tolerance}
    torch_rotation: {rotation}
seams:
{chr(10).join(seams)}
{seq}"""
    path.write_text(text)
    return path
