"""Programs nobody tuned the code to (``unseen/``) and YAML that once hung or crashed the loader.

The unseen programs cover every robot family, floor / wall / ceiling mounts, lap, butt, circle,
arc, polyline, spline, multi-pass, weave and stitch seams, meshes in millimetres and in metres; two
are meant to fail planning (a seam out of reach, a seam under a clamp). Here they are loaded and
checked; ``tests/cli/test_unseen_plan.py`` plans the clamped one.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from weldcell.cli import app
from weldcell.errors import ProgramError, ProgramFormatError
from weldcell.program import load_program
from weldcell.program.yamlio import MAX_YAML_VALUES
from weldcell.toolpath import toolpaths_for_program

HERE = Path(__file__).parent
UNSEEN = sorted((HERE / "unseen").glob("*.yaml"))
DEMO = HERE.parents[1] / "programs" / "demo_tjoint.yaml"
runner = CliRunner()


def test_unseen_corpus_covers_the_families() -> None:
    robots = {yaml.safe_load(p.read_text())["cell"]["robot"] for p in UNSEEN}
    assert len(UNSEEN) >= 10
    assert {"ur3e", "ur10e", "ur16e", "kr6_r900", "kr10_r1420", "arcmate100id", "crx10ial"} <= robots
    assert {"irb1520id", "crb15000_5_95"} <= robots


@pytest.mark.parametrize("path", UNSEEN, ids=[p.stem for p in UNSEEN])
def test_unseen_program_loads_and_gives_tool_paths(path: Path) -> None:
    program = load_program(path)
    segments = toolpaths_for_program(program)
    assert segments and all(np.isfinite(s.T_world_tcp).all() for s in segments)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 0 and "verdict: OK" in result.output, result.output


def test_out_of_reach_seam_is_named_by_check() -> None:
    result = runner.invoke(app, ["check", str(HERE / "unseen" / "gofa_seam_out_of_reach.yaml")])
    text = " ".join(result.output.split())
    assert "seam 'far_seam' is out of the robot's reach" in text
    assert "near_seam' is out" not in text


def test_mesh_in_mm_and_in_m_are_the_same_part() -> None:
    program = load_program(HERE / "unseen" / "ur5e_mesh_bracket_mm.yaml")
    by_name = {b.name: b for b in program.cell.bodies}
    pieces_mm = by_name["bracket_mm"].geometry.convex_pieces()
    pieces_m = by_name["bracket_m"].geometry.convex_pieces()
    assert len(pieces_mm) == len(pieces_m) == 2
    for a, b in zip(pieces_mm, pieces_m, strict=True):
        np.testing.assert_allclose(np.ptp(a.vertices, axis=0), np.ptp(b.vertices, axis=0), atol=1e-9)
    assert np.ptp(pieces_mm[0].vertices, axis=0).max() == pytest.approx(0.12)


# --- YAML that hung or crashed the loader -------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def _refused(path: Path, *fragments: str) -> str:
    with pytest.raises(ProgramFormatError) as exc:
        load_program(path)
    message = str(exc.value)
    assert message.startswith(str(path)) and "\n" not in message
    for f in fragments:
        assert f in message
    return message


def test_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    text = 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]\n'
    for i in range(1, 9):  # 9**9 values from 9 lines: hung the schema check
        text += f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]\n"
    t0 = time.perf_counter()
    _refused(_write(tmp_path, text), f"expand to more than {MAX_YAML_VALUES} values")
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize(
    "text", ["format: weldcell.program/1\nname: &a [*a]\n", "cell: &c {robot: ur5e, bodies: [*c]}\n"]
)
def test_alias_cycle_is_refused(tmp_path: Path, text: str) -> None:
    _refused(_write(tmp_path, text), "a YAML alias refers to a value that contains it")


def test_aliases_that_stay_small_still_work(tmp_path: Path) -> None:
    text = DEMO.read_text().replace(
        "    job: 12\n", "    job: 12\n    gas: &gas {preflow_s: 0.2, postflow_s: 0.8}\n"
    )
    text = text.replace("    gas: {preflow_s: 0.2, postflow_s: 0.8}\n", "", 1)
    assert "&gas" in text
    program = load_program(_write(tmp_path, text))
    assert len(program.seams) == 2


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("9" * 5000, "4300 digits"),
        ("2026-13-45", "month must be in 1..12"),
        ("!!float", "string index out of range"),
    ],
)
def test_unreadable_scalar_is_an_error_not_a_traceback(tmp_path: Path, value: str, fragment: str) -> None:
    _refused(
        _write(tmp_path, f"format: weldcell.program/1\nname: {value}\n"),
        "a YAML value cannot be read",
        fragment,
    )


def test_control_character_message_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"format: weldcell.program/1\x00\n")
    _refused(path, "control characters are not allowed")


def test_yaml_1_2_floats_are_numbers(tmp_path: Path) -> None:
    text = DEMO.read_text()
    plain = load_program(_write(tmp_path, text))
    sci = text.replace("travel_speed_mm_s: 10", "travel_speed_mm_s: 1e1").replace(
        "stickout_mm: 15", "stickout_mm: 1.5e1"
    )
    assert sci != text
    program = load_program(_write(tmp_path, sci))
    assert (
        program.procedures["fillet_4mm"].travel_speed == plain.procedures["fillet_4mm"].travel_speed == 0.01
    )
    np.testing.assert_allclose(program.cell.T_flange_tcp, plain.cell.T_flange_tcp)


# --- meshes ----------------------------------------------------------------------------------------


def _mesh_program(tmp_path: Path, mesh: str, scale: str) -> Path:
    text = (HERE / "unseen" / "ur5e_mesh_bracket_mm.yaml").read_text()
    text = text.replace("{file: bracket_mm.stl, scale: 0.001}", f"{{file: {mesh}, scale: {scale}}}")
    text = text.replace(
        "{file: bracket_m.obj, scale: 1}", f"{{file: {HERE / 'unseen' / 'bracket_m.obj'}, scale: 1}}"
    )
    return _write(tmp_path, text)


def test_mesh_in_mm_read_as_metres_is_refused(tmp_path: Path) -> None:
    path = _mesh_program(tmp_path, str(HERE / "unseen" / "bracket_mm.stl"), "1")
    with pytest.raises(ProgramError) as exc:
        load_program(path)
    assert "cell.bodies[1].mesh.scale" in str(exc.value) and "120 m across" in str(exc.value)
    assert "needs scale 0.001" in str(exc.value)


def test_mesh_with_nan_vertex_is_refused(tmp_path: Path) -> None:
    solid = ["solid x"]
    tet = [(0, 0, 0), (0.05, 0, 0), (0, 0.05, 0), (0, 0, float("nan"))]
    for a, b, c in ((0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)):
        solid += ["facet normal 0 0 0", "outer loop"]
        solid += [f"vertex {tet[k][0]} {tet[k][1]} {tet[k][2]}" for k in (a, b, c)]
        solid += ["endloop", "endfacet"]
    (tmp_path / "nan.stl").write_text("\n".join([*solid, "endsolid x"]) + "\n")
    path = _mesh_program(tmp_path, "nan.stl", "1")
    with pytest.raises(ProgramError) as exc:
        load_program(path)
    assert "cell.bodies[1].mesh" in str(exc.value)


# --- programs that loaded but weld nothing, or names that break one-line messages ------------------


def _demo_with(tmp_path: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load(DEMO.read_text())
    data.pop("sequence")
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return _write(tmp_path, yaml.safe_dump(data, allow_unicode=True))


def test_program_without_seams_is_refused(tmp_path: Path) -> None:
    """It loaded, and ``weldcell plan`` wrote an empty trajectory with exit 0."""
    with pytest.raises(ProgramError, match=r"seams: the program has no seams; expected at least one seam"):
        load_program(_demo_with(tmp_path, {"seams": []}))


@pytest.mark.parametrize("bad", ["", "   ", "a b\nc", "tab\there", " lead"])
@pytest.mark.parametrize(
    ("field", "key"), [("seams.0.id", "seams[0].id"), ("cell.bodies.0.name", "cell.bodies[0].name")]
)
def test_blank_or_multiline_names_are_refused(tmp_path: Path, bad: str, field: str, key: str) -> None:
    with pytest.raises(ProgramError) as exc:
        load_program(_demo_with(tmp_path, {field: bad}))
    message = str(exc.value)
    assert f"{key}: " in message and "\n" not in message
    assert "expected a name" in message


def test_blank_procedure_name_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(DEMO.read_text())
    data["procedures"] = {" ": data["procedures"]["fillet_4mm"]}
    for seam in data["seams"]:
        seam["procedure"] = " "
    with pytest.raises(ProgramError, match=r"procedures\. : procedure name is empty"):
        load_program(_write(tmp_path, yaml.safe_dump(data)))


def test_unicode_names_are_fine(tmp_path: Path) -> None:
    program = load_program(
        _demo_with(tmp_path, {"seams.0.id": "Kehlnaht_ü_1", "cell.bodies.0.name": "Tisch_ä"})
    )
    assert program.seams[0].id == "Kehlnaht_ü_1"
