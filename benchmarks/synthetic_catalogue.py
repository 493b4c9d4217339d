"""A synthetic part catalogue for batch planning: small T-joint, lap and butt parts on several robots.

``write_catalogue(n, directory)`` writes ``n`` weld programs (``part_000.yaml`` ...) that cycle
through robots (UR3e, UR5e, UR10e, UR16e, KUKA KR6 R900) and joint kinds (T-joint with a fillet on
each side of the web, lap fillet, square butt), with the part placed at about half the robot's reach
(on a 400 mm table that keeps clear of the robot's base) and the seam length and part position varied
per program (seeded, reproducible). Used by ``plan_batch.py`` and by the batch tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: robot: (part distance from the base along x [mm], home [deg])
ROBOTS = {
    "ur3e": (300.0, "[0, -100, 100, -90, -90, 0]"),
    "ur5e": (450.0, "[0, -100, 100, -90, -90, 0]"),
    "ur10e": (650.0, "[0, -100, 100, -90, -90, 0]"),
    "ur16e": (500.0, "[0, -100, 100, -90, -90, 0]"),
    "kr6_r900": (500.0, "[0, -90, 90, 0, 90, 0]"),
}
KINDS = ("tjoint", "lap", "butt")

_CELL = """\
format: weldcell.program/1
name: synthetic {kind} {idx:03d} ({robot})
cell:
  robot: {robot}
  base: {{xyz_mm: [0, 0, 0], rpy_deg: [0, 0, 0]}}
  torch: {{model: torch_mig_22, stickout_mm: 15}}
  home_deg: {home}
  approach_mm: 30
  retract_mm: 30
  clearance_mm: 2
  bodies:
    - name: table
      role: table
      box: {{size_mm: [400, 600, 40]}}
      pose: {{xyz_mm: [{x:.1f}, 0, -20]}}
    - name: base_plate
      role: workpiece
      box: {{size_mm: [160, 160, 10]}}
      pose: {{xyz_mm: [{x:.1f}, {y:.1f}, 5]}}
"""
_PROC = """\
procedures:
  p:
    process: mag
    travel_speed_mm_s: {speed:.0f}
    wire_feed_m_min: 7.5
    voltage_v: 23.5
    gas: {{preflow_s: 0.1, postflow_s: 0.2}}
    arc_start: {{dwell_s: 0.1}}
    crater_fill: {{time_s: 0.2, current_a: 140}}
    work_angle_deg: {work:.0f}
    travel_angle_deg: 5
    tolerance: {{work_angle_deg: 5, travel_angle_deg: 5}}
    torch_rotation: {{mode: free}}
seams:
"""


def _tjoint(half: float, x: float, y: float) -> tuple[str, str]:
    body = (
        "    - name: web\n      role: workpiece\n      box: {size_mm: [160, 10, 60]}\n"
        f"      pose: {{xyz_mm: [{x:.1f}, {y:.1f}, 40]}}\n"
    )
    seams = (
        f"  - id: left\n    joint: fillet\n    workpiece: base_plate\n"
        f"    geometry: {{line: {{start_mm: [{-half:.1f}, 5, 5], end_mm: [{half:.1f}, 5, 5]}}}}\n"
        f"    normals: [[0, 0, 1], [0, 1, 0]]\n    procedure: p\n"
        f"  - id: right\n    joint: fillet\n    workpiece: base_plate\n"
        f"    geometry: {{line: {{start_mm: [{half:.1f}, -5, 5], end_mm: [{-half:.1f}, -5, 5]}}}}\n"
        f"    normals: [[0, 0, 1], [0, -1, 0]]\n    procedure: p\n"
    )
    return body, seams


def _lap(half: float, x: float, y: float) -> tuple[str, str]:
    body = (
        "    - name: cover\n      role: workpiece\n      box: {size_mm: [80, 160, 4]}\n"
        f"      pose: {{xyz_mm: [{x + 40:.1f}, {y:.1f}, 12]}}\n"
    )
    seams = (
        f"  - id: lap_edge\n    joint: lap\n    workpiece: base_plate\n"
        f"    geometry: {{line: {{start_mm: [0, {-half:.1f}, 5], end_mm: [0, {half:.1f}, 5]}}}}\n"
        f"    normals: [[0, 0, 1], [-1, 0, 0]]\n    procedure: p\n"
    )
    return body, seams


def _butt(half: float, x: float, y: float) -> tuple[str, str]:
    seams = (
        f"  - id: butt\n    joint: butt\n    workpiece: base_plate\n"
        f"    geometry: {{line: {{start_mm: [0, {-half:.1f}, 5], end_mm: [0, {half:.1f}, 5]}}}}\n"
        f"    face_normal: [0, 0, 1]\n    procedure: p\n"
    )
    return "", seams


def catalogue_program(idx: int, rng: np.random.Generator) -> str:
    """The YAML text of program ``idx`` of the catalogue (robot and kind cycle with ``idx``)."""
    robot = list(ROBOTS)[idx % len(ROBOTS)]
    kind = KINDS[(idx // len(ROBOTS)) % len(KINDS)]
    dist, home = ROBOTS[robot]
    x = dist + rng.uniform(-20.0, 20.0)
    y = rng.uniform(-40.0, 40.0)
    half = rng.uniform(15.0, 35.0)
    body, seams = {"tjoint": _tjoint, "lap": _lap, "butt": _butt}[kind](half, x, y)
    work = 45.0 if kind != "butt" else 90.0
    head = _CELL.format(kind=kind, idx=idx, robot=robot, home=home, x=x, y=y)
    return head + body + _PROC.format(speed=rng.uniform(10.0, 16.0), work=work) + seams


def write_catalogue(n: int, directory: Path, seed: int = 0) -> list[Path]:
    """Write ``n`` programs ``part_000.yaml`` ... into ``directory`` (created); returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = directory / f"part_{i:03d}.yaml"
        path.write_text(catalogue_program(i, rng))
        paths.append(path)
    return paths
