"""A synthetic weld job of any size for the scaling benchmark: short ribs on a plate, fillet-welded.

``rib_grid_program(n_seams)`` writes the YAML of a UR10e cell with ⌈n/2⌉ ribs (40 x 6 x 30 mm)
in a grid on a 600 x 500 mm plate and a 40 mm fillet on each side of each rib (n seams, the order
left to the planner). Used by ``bench_planning.py --scaling``; each seam is the same kind of work,
so planning time and memory should grow linearly with n.
"""

from __future__ import annotations

from pathlib import Path

_HEAD = """\
format: weldcell.program/1
name: synthetic rib grid ({n} seams)
cell:
  robot: ur10e
  base: {{xyz_mm: [0, 0, 0], rpy_deg: [0, 0, 0]}}
  torch: {{model: torch_mig_22, stickout_mm: 15}}
  home_deg: [0, -100, 100, -90, -90, 0]
  approach_mm: 40
  retract_mm: 50
  clearance_mm: 2
  bodies:
    - name: table
      role: table
      box: {{size_mm: [900, 900, 40]}}
      pose: {{xyz_mm: [650, 0, -20]}}
    - name: plate
      role: workpiece
      box: {{size_mm: [600, 500, 10]}}
      pose: {{xyz_mm: [650, 0, 5]}}
"""
_PROC = """\
procedures:
  fillet:
    process: mag
    travel_speed_mm_s: 8
    wire_feed_m_min: 8.0
    voltage_v: 24
    current_a: 210
    gas: {preflow_s: 0.3, postflow_s: 1.0}
    arc_start: {dwell_s: 0.3}
    crater_fill: {time_s: 0.5, current_a: 150}
    work_angle_deg: 45
    travel_angle_deg: 0
    tolerance: {work_angle_deg: 5, travel_angle_deg: 5}
seams:
"""

COLUMNS = 5
PITCH_X_MM = 110.0
PITCH_Y_MM = 90.0


def rib_grid_program(n_seams: int, directory: Path) -> Path:
    """Write the job with ``n_seams`` seams (even, 2-50) into ``directory``; returns its path."""
    if not (2 <= n_seams <= 50 and n_seams % 2 == 0):
        raise ValueError(f"n_seams: expected an even number from 2 to 50, got {n_seams}")
    ribs = n_seams // 2
    body, seams = [], []
    for r in range(ribs):
        i, j = r % COLUMNS, r // COLUMNS
        x = 650.0 + (i - (COLUMNS - 1) / 2) * PITCH_X_MM
        y = (j - 2) * PITCH_Y_MM
        body.append(
            f"    - name: rib{r}\n      role: workpiece\n      box: {{size_mm: [40, 6, 30]}}\n"
            f"      pose: {{xyz_mm: [{x:.1f}, {y:.1f}, 25]}}\n"
        )
        for side, sy in (("a", 1.0), ("b", -1.0)):
            yy = y + sy * 3.0  # the rib face
            x0, x1 = (x - 20.0, x + 20.0) if sy > 0 else (x + 20.0, x - 20.0)
            seams.append(
                f"  - id: rib{r}{side}\n    joint: fillet\n    workpiece: plate\n"
                f"    geometry: {{line: {{start_mm: [{x0 - 650:.1f}, {yy:.1f}, 5], "
                f"end_mm: [{x1 - 650:.1f}, {yy:.1f}, 5]}}}}\n"
                f"    normals: [[0, 0, 1], [0, {sy:.0f}, 0]]\n    procedure: fillet\n"
            )
    text = _HEAD.format(n=n_seams) + "".join(body) + _PROC + "".join(seams)
    path = Path(directory) / f"rib_grid_{n_seams}.yaml"
    path.write_text(text)
    return path
