"""Loading, SI conversion, round trip through save_program, JSON Schema, and the example programs."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.program import Program, load_program, program_json_schema, program_to_dict, save_program
from weldcell.toolpath import toolpaths_for_program
from weldcell.toolpath.plausibility import arm_reach

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = sorted((ROOT / "programs").glob("*.yaml"))


def assert_same(a: Any, b: Any, path: str = "program") -> None:
    """Field-by-field equality of two loaded programs (floats to 1e-9)."""
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            if f.name in ("path", "hash", "mesh_path"):
                continue
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k}]")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, (np.ndarray, float)) and not isinstance(a, bool):
        np.testing.assert_allclose(a, b, atol=1e-9, rtol=0, err_msg=path)
    else:
        assert a == b, path


def test_demo_loads_in_si() -> None:
    path = ROOT / "programs" / "demo_tjoint.yaml"
    prog = load_program(path)
    assert prog.hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prog.version == "weldcell.program/1"
    assert prog.cell.robot == "ur5e" and prog.cell.torch == "torch_mig_22"
    assert prog.cell.stickout == pytest.approx(0.015)
    assert prog.cell.approach_distance == pytest.approx(0.040)
    np.testing.assert_allclose(np.degrees(prog.cell.home_q), [0, -100, 100, -90, -90, 0])
    proc = prog.procedures["fillet_4mm"]
    assert proc.travel_speed == pytest.approx(0.010)
    assert proc.wire_feed == pytest.approx(7.5 / 60.0)
    assert proc.work_angle == pytest.approx(math.radians(45))
    assert proc.travel_angle == pytest.approx(math.radians(10))
    assert proc.crater_fill_time == pytest.approx(0.5)
    seam = prog.seam("fillet_left")
    np.testing.assert_allclose(seam.geometry.points, [[-0.0325, 0.005, 0.005], [0.0325, 0.005, 0.005]])
    np.testing.assert_allclose(seam.T_world_part[:3, 3], [0.5, 0.0, 0.005])
    assert prog.sequence == ("fillet_left", "fillet_right")
    with pytest.raises(dataclasses.FrozenInstanceError):
        prog.name = "x"  # type: ignore[misc]
    assert not prog.cell.T_world_base.flags.writeable
    # the demo runs in real time: about 15 s of arc
    arc = sum(s.arc_time for s in toolpaths_for_program(prog))
    assert 13.0 <= arc <= 16.0


def test_tcp_comes_from_the_torch_model() -> None:
    kin = pytest.importorskip("weldcell.kinematics")
    if not hasattr(kin, "load_torch"):
        pytest.skip("kinematics has no load_torch yet")
    prog = load_program(ROOT / "programs" / "lap_stitch.yaml")
    np.testing.assert_allclose(prog.cell.T_flange_tcp, kin.load_torch("torch_mig_22").T_flange_tcp(0.014))


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_example_round_trip(path: Path, tmp_path: Path) -> None:
    prog = load_program(path)
    out = save_program(prog, tmp_path / path.name)
    again = load_program(out)
    assert_same(prog, again)
    for a, b in zip(toolpaths_for_program(prog), toolpaths_for_program(again), strict=True):
        np.testing.assert_allclose(a.T_world_tcp, b.T_world_tcp, atol=1e-9)
    # saving twice gives the same text
    assert program_to_dict(again, tmp_path) == program_to_dict(
        load_program(save_program(again, out)), tmp_path
    )


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return program_json_schema()


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_example_matches_json_schema(path: Path, schema: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_schema_rejects_unknown_keys(schema: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = yaml.safe_load((ROOT / "programs" / "demo_tjoint.yaml").read_text())
    data["procedures"]["fillet_4mm"]["travel_speed_mm_min"] = 600
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
    assert schema["title"].startswith("weldcell weld program")


def test_examples_are_well_placed_and_varied() -> None:
    progs = [load_program(p) for p in PROGRAMS]
    names = {p.path.stem for p in progs}
    assert {
        "demo_tjoint",
        "tjoint_double_fillet",
        "lap_stitch",
        "butt_weave",
        "pipe_flange",
        "multipass_fillet",
        "box_frame",
    } <= names
    assert "kr6_r900" in {p.cell.robot for p in progs}
    by = {p.path.stem: p for p in progs}
    assert len(by["box_frame"].seams) >= 8
    assert any(s.stitch for s in by["lap_stitch"].seams)
    assert len(by["multipass_fillet"].seams[0].passes) == 3
    assert any(by["butt_weave"].procedures[n].weave for n in by["butt_weave"].procedures)
    assert by["pipe_flange"].seams[0].geometry.kind == "circle"
    for prog in progs:
        if prog.cell.external is not None:
            continue  # seams on a positioner are welded where it turns them, not at its home pose
        base = prog.cell.T_world_base
        # the outer bounds are for the ~0.97 m arms (UR5e, KR 6); larger arms scale them by their reach
        scale = max(1.0, arm_reach(prog.cell.robot)[1] / 0.98)
        for seg in toolpaths_for_program(prog):
            p = (seg.T_world_tcp[:, :3, 3] - base[:3, 3]) @ base[:3, :3]
            radial = np.hypot(p[:, 0], p[:, 1])
            assert radial.min() >= 0.35 and radial.max() <= 0.68 * scale, (prog.name, seg.seam_id)
            assert p[:, 2].min() >= 0.0 and p[:, 2].max() <= 0.3 * scale, (prog.name, seg.seam_id)
        for body in prog.cell.bodies:  # the robot base is not inside any body
            q = (base[:3, 3] - body.T_world_body[:3, 3]) @ body.T_world_body[:3, :3]
            if body.shape == "box":
                assert np.any(np.abs(q) > body.size / 2 + 0.05), (prog.name, body.name)
            if body.role == "workpiece":  # workpieces rest on or above the table top (z = 0)
                half = body.size[2] / 2 if body.shape == "box" else body.length / 2
                assert body.T_world_body[2, 3] - half >= -1e-9, (prog.name, body.name)


RICH = """
format: weldcell.program/1
name: everything
description: all features at once
cell:
  robot: ur10e
  base: {xyz_mm: [10, -20, 5], rpy_deg: [0, 0, 15]}
  torch: {model: torch_mig_22}
  home_deg: [0, -90, 90, -90, -90, 0]
  bodies:
    - name: part
      role: workpiece
      box: {size_mm: [300, 300, 10]}
      pose: {xyz_mm: [500, 0, 5], rpy_deg: [1, 2, 3]}
    - {name: tube, role: fixture, cylinder: {radius_mm: 20, length_mm: 100}, pose: {xyz_mm: [400, 200, 50]}}
    - {name: ball, role: obstacle, sphere: {radius_mm: 30}, pose: {xyz_mm: [300, -300, 300]}}
procedures:
  a:
    process: mag
    travel_speed_mm_s: 6
    wire_feed_m_min: 8
    voltage_v: 24
    current_a: 200
    job: 7
    gas: {preflow_s: 0.4, postflow_s: 1.1}
    arc_start: {dwell_s: 0.25, current_a: 250, ramp_mm: 4}
    crater_fill: {time_s: 0.6, current_a: 120, voltage_v: 19}
    work_angle_deg: 40
    travel_angle_deg: -7
    stickout_mm: 13
    weave: {pattern: trapezoid, amplitude_mm: 2, frequency_hz: 1.5, dwell_s: 0.1}
    tolerance: {work_angle_deg: 4, travel_angle_deg: 6}
    torch_rotation: {mode: fixed, angle_deg: 20, tolerance_deg: 15}
  t:
    process: tig
    travel_speed_mm_s: 2
    current_a: 120
    work_angle_deg: 90
    weave: {pattern: figure_eight, amplitude_mm: 1, frequency_hz: 0.5, longitudinal_mm: 0.5}
  l:
    process: laser
    travel_speed_mm_s: 30
    laser_power_w: 2000
    work_angle_deg: 80
seams:
  - id: c
    joint: fillet
    workpiece: part
    geometry: {circle: {center_mm: [0, 0, 5], axis: [0, 0, 1], start_mm: [40, 0, 5], sweep_deg: 370}}
    normals: [[0, 0, 1], [1, 0, 0]]
    procedure: a
    passes: [{}, {lateral_mm: 1.5, height_mm: 2, work_angle_deg: 35, travel_angle_deg: 5, procedure: t}]
  - id: p
    joint: corner
    workpiece: part
    geometry: {polyline: {points_mm: [[-100, -100, 5], [0, -100, 5], [0, 0, 5]], blend_radius_mm: 8}}
    normals: [[0, 0, 1], [0, 1, 0]]
    procedure: a
    direction: reverse
    reversible: false
    stitch: {length_mm: 20, pitch_mm: 50, start_offset_mm: 3}
  - id: s
    joint: groove
    geometry: {spline: {points_mm: [[400, -50, 10], [450, -40, 12], [500, -60, 10], [550, -50, 11]]}}
    face_normal: [0, 0, 1]
    procedure: l
  - id: a
    joint: lap
    workpiece: part
    geometry: {arc: {start_mm: [100, 0, 5], mid_mm: [80, 60, 5], end_mm: [0, 100, 5]}}
    normals: [[0, 0, 1], [1, 0, 0]]
    procedure: t
sequence: [s, c, p, a]
precedence: [[s, p], [c, a]]
"""


def test_rich_program_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "rich.yaml"
    src.write_text(RICH)
    prog = load_program(src)
    assert prog.procedures["a"].free_rotation is False
    assert prog.procedures["a"].rotation_angle == pytest.approx(math.radians(20))
    assert prog.procedures["a"].job == 7
    assert prog.seam("c").geometry.sweep == pytest.approx(math.radians(370))
    assert prog.seam("s").normal_2 is None
    assert prog.precedence == (("s", "p"), ("c", "a"))
    (tmp_path / "out").mkdir()
    again = load_program(save_program(prog, tmp_path / "out" / "rich.yaml"))
    assert_same(prog, again)
    segs = toolpaths_for_program(prog)
    assert [s.seam_id for s in segs][:3] == ["s", "c", "c"]
    assert {s.procedure for s in segs if s.seam_id == "c"} == {"a", "t"}


@settings(max_examples=20, deadline=None)
@given(
    speed=st.floats(0.5, 50.0),
    wire=st.floats(0.5, 25.0),
    work=st.floats(10.0, 170.0),
    travel=st.floats(-45.0, 45.0),
    stickout=st.floats(3.0, 40.0),
    dwell=st.floats(0.0, 2.0),
    xyz=st.lists(st.floats(-1000.0, 1000.0), min_size=3, max_size=3),
    rpy=st.lists(st.floats(-179.0, 179.0), min_size=3, max_size=3),
)
def test_generated_procedures_convert_and_round_trip(
    tmp_path_factory, speed, wire, work, travel, stickout, dwell, xyz, rpy
) -> None:
    data = yaml.safe_load((ROOT / "programs" / "demo_tjoint.yaml").read_text())
    proc = data["procedures"]["fillet_4mm"]
    proc.update(
        {
            "travel_speed_mm_s": speed,
            "wire_feed_m_min": wire,
            "work_angle_deg": work,
            "travel_angle_deg": travel,
            "stickout_mm": stickout,
            "arc_start": {"dwell_s": dwell},
        }
    )
    data["cell"]["bodies"].append(
        {
            "name": "extra",
            "role": "obstacle",
            "box": {"size_mm": [10, 10, 10]},
            "pose": {"xyz_mm": xyz, "rpy_deg": rpy},
        }
    )
    d = tmp_path_factory.mktemp("gen")
    path = d / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    prog: Program = load_program(path)
    p = prog.procedures["fillet_4mm"]
    assert p.travel_speed == pytest.approx(speed * 1e-3)
    assert p.wire_feed == pytest.approx(wire / 60.0)
    assert p.work_angle == pytest.approx(math.radians(work))
    assert p.travel_angle == pytest.approx(math.radians(travel))
    assert p.stickout == pytest.approx(stickout * 1e-3)
    np.testing.assert_allclose(prog.cell.body("extra").T_world_body[:3, 3], np.array(xyz) * 1e-3)
    assert_same(prog, load_program(save_program(prog, d / "again.yaml")))
