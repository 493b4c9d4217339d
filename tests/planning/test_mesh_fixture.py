"""A seam beside a mesh fixture: the torch passes inside the mesh's bounding box, clear of the mesh.

The clamp is one STL file in millimetres with two closed blocks, one at each end of the seam; the
torch travels between them. The planner (convex pieces, scale applied) plans it and the simulator
(the same pieces in pybullet) validates it; the same cell with the clamp's bounding box as a body is
refused, which is what the planner did before mesh bodies were modelled.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trimesh

from weldcell.planning import LadderOptions, PlanOptions, PlanStatus, plan_program
from weldcell.program import load_program
from weldcell.sim import validate_trajectory

FAST = PlanOptions(ladder=LadderOptions(rotation_samples=12), tolerance_samples=1)

PROGRAM = """\
format: weldcell.program/1
name: fillet between the blocks of a mesh clamp
cell:
  robot: ur10e
  base: {{xyz_mm: [0, 0, 0], rpy_deg: [0, 0, 0]}}
  torch: {{model: torch_mig_22, stickout_mm: 15}}
  home_deg: [0, -100, 100, -90, -90, 0]
  clearance_mm: 3
  bodies:
    - name: table
      role: table
      box: {{size_mm: [800, 1000, 40]}}
      pose: {{xyz_mm: [700, 0, -20]}}
    - name: flange_plate
      role: workpiece
      box: {{size_mm: [300, 200, 12]}}
      pose: {{xyz_mm: [700, 100, 6]}}
    - name: plate_web
      role: workpiece
      box: {{size_mm: [300, 10, 100]}}
      pose: {{xyz_mm: [700, 100, 62]}}
    - name: clamp
      role: fixture
{clamp}
procedures:
  fillet:
    process: mag
    travel_speed_mm_s: 10
    wire_feed_m_min: 8
    voltage_v: 24
    work_angle_deg: 45
    travel_angle_deg: 0
    torch_rotation: {{mode: free}}
seams:
  - id: fillet_in_clamp
    joint: fillet
    workpiece: flange_plate
    geometry:
      line: {{start_mm: [-60, -5, 6], end_mm: [60, -5, 6]}}
    normals: [[0, 0, 1], [0, -1, 0]]
    procedure: fillet
"""


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("clamp")
    # two blocks on the flange plate (top at z = 12 mm), 30 mm wide in y, ends of the seam at x = 640/760
    blocks = [
        trimesh.creation.box((40.0, 45.0, 50.0)).apply_translation((560.0, 62.5, 37.0)),
        trimesh.creation.box((40.0, 45.0, 50.0)).apply_translation((840.0, 62.5, 37.0)),
    ]
    trimesh.util.concatenate(blocks).export(d / "clamp.stl")
    mesh = d / "mesh.yaml"
    mesh.write_text(PROGRAM.format(clamp="      mesh: {file: clamp.stl, scale: 0.001}"))
    # the clamp's bounding box: x 540..860, y 40..85, z 12..62 mm
    box = d / "box.yaml"
    box.write_text(
        PROGRAM.format(clamp="      box: {size_mm: [320, 45, 50]}\n      pose: {xyz_mm: [700, 62.5, 37]}")
    )
    return mesh, box


def test_seam_between_mesh_blocks_plans_and_validates(programs: tuple[Path, Path]) -> None:
    program = load_program(programs[0])
    clamp = program.cell.body("clamp")
    assert clamp.shape == "mesh" and len(clamp.geometry.convex_pieces()) == 2
    result = plan_program(program, FAST)
    assert result.ok, result.reason
    report = validate_trajectory(result.trajectory, program)
    assert report.passed, [v.message() for v in report.violations]


def test_the_bounding_box_of_the_clamp_is_refused(programs: tuple[Path, Path]) -> None:
    result = plan_program(load_program(programs[1]), FAST)
    assert result.status is PlanStatus.COLLISION, result.reason
    assert "clamp" in result.reason
