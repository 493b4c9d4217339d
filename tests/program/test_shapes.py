"""One shape vocabulary: the registry drives the schema, loading, saving and the scene loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from weldcell.errors import ProgramError
from weldcell.program import load_program, save_program
from weldcell.program.schema import BodySpec
from weldcell.program.shapes import SHAPES, Mesh
from weldcell.toolpath.plausibility import program_warnings

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "tests" / "planning" / "programs" / "fillet_45_3mm.yaml").read_text()

EXTRA = """\
    - name: post
      role: obstacle
      cylinder: {radius_mm: 20, length_mm: 300}
      pose: {xyz_mm: [300, -400, 150]}
    - name: ball
      role: obstacle
      sphere: {radius_mm: 40}
      pose: {xyz_mm: [300, 400, 300], rpy_deg: [10, 20, 30]}
    - name: clamp_ring
      role: fixture
      mesh: {file: parts/ring.stl}
      pose: {xyz_mm: [900, 300, 30], rpy_deg: [0, 90, 0]}
"""


@pytest.fixture
def program_file(tmp_path: Path) -> Path:
    (tmp_path / "parts").mkdir()
    trimesh.creation.annulus(r_min=40.0, r_max=60.0, height=20.0).export(tmp_path / "parts" / "ring.stl")
    text = BASE.replace("\nprocedures:", "\n" + EXTRA.rstrip("\n") + "\nprocedures:", 1)
    path = tmp_path / "prog.yaml"
    path.write_text(text)
    return path


def test_the_body_schema_has_one_block_per_registered_shape() -> None:
    assert set(SHAPES) <= set(BodySpec.model_fields)
    for kind, cls in SHAPES.items():
        assert BodySpec.model_fields[kind].annotation == (cls.Spec | None)


def test_every_shape_survives_save_and_load(program_file: Path, tmp_path: Path) -> None:
    prog = load_program(program_file)
    shapes = {b.name: b.shape for b in prog.cell.bodies}
    assert shapes["post"] == "cylinder" and shapes["ball"] == "sphere" and shapes["clamp_ring"] == "mesh"
    ring = prog.cell.body("clamp_ring")
    assert isinstance(ring.geometry, Mesh) and ring.mesh_scale == 0.001  # the documented default: mm
    assert ring.geometry.bounding_radius() == pytest.approx(np.hypot(0.06, 0.01), abs=1e-6)
    again = load_program(save_program(prog, program_file.with_name("copy.yaml")))
    for a, b in zip(prog.cell.bodies, again.cell.bodies, strict=True):
        assert a.as_dict() == b.as_dict()
        assert a.geometry == b.geometry
    text = program_file.with_name("copy.yaml").read_text()
    assert "file: parts/ring.stl" in text


def test_a_mesh_hull_is_a_check_warning_naming_the_body(program_file: Path) -> None:
    warnings = [w for w in program_warnings(load_program(program_file)) if w.kind == "mesh_hull"]
    (w,) = warnings
    assert "clamp_ring" in w.message and "ring.stl" in w.message and "mm³" in w.message
    assert w.value == pytest.approx(np.pi * 0.04**2 * 0.02, rel=0.02)


def test_shape_errors_name_file_field_and_expectation(program_file: Path) -> None:
    text = program_file.read_text()
    bad = program_file.with_name("bad.yaml")
    bad.write_text(text.replace("file: parts/ring.stl", "file: parts/none.stl"))
    with pytest.raises(
        ProgramError, match=r"bad\.yaml:\d+: cell\.bodies\[5\]\.mesh\.file: .*none\.stl.*not found"
    ):
        load_program(bad)
    bad.write_text(
        text.replace("sphere: {radius_mm: 40}", "sphere: {radius_mm: 40}\n      box: {size_mm: [1, 1, 1]}")
    )
    with pytest.raises(ProgramError, match="exactly one shape of box, cylinder, sphere, mesh"):
        load_program(bad)
