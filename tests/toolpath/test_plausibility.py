"""Plausibility warnings: seams off the part, torch inside the material, seams out of reach."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from weldcell.cli import app
from weldcell.program.model import Body
from weldcell.spatial import se3_from_xyz_rpy
from weldcell.toolpath.plausibility import arm_reach, body_signed_distance, program_warnings

runner = CliRunner()
ON_TOP = {  # a butt seam on the top face of the 10 mm plate (part frame z = 5)
    "joint": "butt",
    "normals": None,
    "face_normal": [0, 0, 1],
    "geometry": {"line": {"start_mm": [-50, 0, 5], "end_mm": [50, 0, 5]}},
}
PROC = {"work_angle_deg": 90}


def kinds(prog) -> list[str]:
    return [w.kind for w in program_warnings(prog)]


def test_seam_on_the_part_gives_no_warning(program_factory) -> None:
    assert kinds(program_factory(ON_TOP, PROC)) == []


def test_fillet_on_a_plate_edge_gives_no_warning(program_factory) -> None:
    seam = {
        "geometry": {"line": {"start_mm": [-100, -50, 5], "end_mm": [-100, 50, 5]}},
        "normals": [[0, 0, 1], [-1, 0, 0]],
    }
    assert kinds(program_factory(seam)) == []


@pytest.mark.parametrize("lift_mm", [10.0, 4.0])
def test_seam_in_mid_air_is_reported_with_its_distance(program_factory, lift_mm: float) -> None:
    seam = dict(
        ON_TOP, geometry={"line": {"start_mm": [-50, 0, 5 + lift_mm], "end_mm": [50, 0, 5 + lift_mm]}}
    )
    (w,) = program_warnings(program_factory(seam, PROC))
    assert w.kind == "off_surface" and w.seam_id == "s"
    assert w.value == pytest.approx(lift_mm * 1e-3, abs=1e-9)
    assert "seam 's'" in w.message and f"{lift_mm:.1f} mm" in w.message and "'part'" in w.message


def test_normal_into_the_material_is_reported(program_factory) -> None:
    seam = dict(ON_TOP, face_normal=[0, 0, -1])  # torch would come up through the plate
    (w,) = program_warnings(program_factory(seam, PROC))
    assert w.kind == "torch_inside_material" and "inside body 'part'" in w.message
    assert w.value == pytest.approx(3e-3 * math.cos(math.radians(10)), abs=1e-9)  # 10° travel angle


def test_seam_out_of_reach_is_reported(program_factory, tmp_path: Path) -> None:
    import yaml

    prog = program_factory(ON_TOP, PROC)
    data = yaml.safe_load(Path(prog.path).read_text())
    data["cell"]["bodies"][0]["pose"]["xyz_mm"] = [1500, 0, 5]  # 1.5 m out for an 850 mm arm
    path = tmp_path / "far.yaml"
    path.write_text(yaml.safe_dump(data))
    from weldcell.program import load_program

    (w,) = program_warnings(load_program(path))
    _, reach = arm_reach("ur5e")
    assert w.kind == "out_of_reach" and w.value > w.limit == reach
    assert "out of the robot's reach" in w.message and "ur5e" in w.message
    assert 0.85 < reach < 1.0  # UR5e: 850 mm class arm, measured from the shoulder with the wrist offsets


@pytest.mark.parametrize("robot", ["ur3e", "ur5e", "ur10e", "ur16e", "kr6_r900"])
def test_arm_reach_is_an_upper_bound_of_sampled_poses(robot: str) -> None:
    from weldcell.kinematics import load_robot

    r = load_robot(robot)
    c, reach = arm_reach(robot)
    q = np.random.default_rng(7).uniform(r.q_lower, r.q_upper, (5000, len(r.q_lower)))
    d = np.linalg.norm(np.asarray(r.fk(q))[:, :3, 3] - c, axis=1)
    assert d.max() <= reach + 1e-9
    assert d.max() > 0.9 * reach  # and not a loose sum of link lengths


def test_check_cli_warns_exits_0_and_fails_with_strict(program_factory) -> None:
    seam = dict(ON_TOP, geometry={"line": {"start_mm": [-50, 0, 15], "end_mm": [50, 0, 15]}})
    prog = program_factory(seam, PROC)
    result = runner.invoke(app, ["check", str(prog.path)], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "warning: seam 's' lies on no workpiece surface: 10.0 mm" in text
    assert "verdict: OK with 1 warnings" in text
    strict = runner.invoke(app, ["check", "--strict", str(prog.path)], env={"COLUMNS": "200"})
    assert strict.exit_code == 2 and "verdict: FAILED" in strict.output


@settings(max_examples=40, deadline=None)
@given(
    size=st.tuples(*[st.floats(0.01, 0.3)] * 3),
    rpy=st.tuples(*[st.floats(-math.pi, math.pi)] * 3),
    seed=st.integers(0, 2**16),
)
def test_box_distance_matches_a_mesh(
    size: tuple[float, float, float], rpy: tuple[float, float, float], seed: int
) -> None:
    T = se3_from_xyz_rpy(np.array([0.1, -0.2, 0.3]), np.array(rpy))
    body = Body("b", "workpiece", "box", np.array(size), 0.0, 0.0, None, T)
    mesh = trimesh.creation.box(extents=size, transform=T)
    p = T[:3, 3] + np.random.default_rng(seed).uniform(-0.3, 0.3, (50, 3))
    expected = -trimesh.proximity.signed_distance(mesh, p)
    assert np.allclose(body_signed_distance(body, p), expected, atol=1e-9)


def test_plan_warns_loudly_about_a_seam_in_mid_air(program_factory, tmp_path: Path) -> None:
    seam = dict(ON_TOP, geometry={"line": {"start_mm": [-50, 0, 15], "end_mm": [50, 0, 15]}})
    prog = program_factory(seam, PROC)
    result = runner.invoke(app, ["plan", str(prog.path), "-o", str(tmp_path / "out")], env={"COLUMNS": "200"})
    assert "WARNING: seam 's' lies on no workpiece surface: 10.0 mm" in " ".join(result.output.split())


def test_validate_warns_loudly_about_a_seam_in_mid_air(program_factory, tmp_path: Path) -> None:
    seam = dict(ON_TOP, geometry={"line": {"start_mm": [-50, 0, 15], "end_mm": [50, 0, 15]}})
    prog = program_factory(seam, PROC)
    result = runner.invoke(
        app, ["validate", str(prog.path), "-o", str(tmp_path / "out")], env={"COLUMNS": "200"}
    )
    assert "WARNING: seam 's' lies on no workpiece surface: 10.0 mm" in " ".join(result.output.split())
