"""Program format of positioner and track cells: what loads, and clear errors naming file and field."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from weldcell.errors import ProgramError
from weldcell.program import load_program

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "tests" / "planning" / "programs" / "pos_flange_kr6_ceiling.yaml").read_text()
POSITIONER_BLOCK = (
    "  positioner:\n    model: tilt_rotate_2ax\n    base: {xyz_mm: [0, 650, 0], rpy_deg: [0, 0, 0]}\n"
)


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return load_program(path)


def test_examples_load_with_positioner_and_mounted_parts() -> None:
    prog = load_program(ROOT / "programs" / "flange_tilt_rotate.yaml")
    ext = prog.cell.external
    assert ext is not None and ext.model == "tilt_rotate_2ax" and ext.role == "positioner"
    flange = prog.cell.body("flange")
    assert flange.mounted_on == "positioner"
    # home: the table top (flange frame) at 0.85 m, 0.75 m in front; the body 10 mm above it
    np.testing.assert_allclose(flange.T_world_body[:3, 3], [0.0, 0.75, 0.86], atol=1e-12)
    seam = prog.seam("all_round")
    assert seam.positioning is not None and seam.positioning.mode == "coordinated"
    assert seam.positioning.weld_position == "1F"
    assert seam.positioning.tolerance == pytest.approx(math.radians(5.0))
    turntable = load_program(ROOT / "programs" / "turntable_fillet.yaml")
    assert turntable.seam("rib").positioning.mode == "fixed"


def test_mode_shorthand_and_track(tmp_path: Path) -> None:
    text = BASE.replace(
        "positioner: {mode: coordinated, weld_position: 1F, tolerance_deg: 4}", "positioner: free"
    )
    seam = _load(tmp_path, text).seams[0]
    assert seam.positioning.mode == "free" and seam.positioning.weld_position == "1F"
    track = (
        BASE.replace(
            POSITIONER_BLOCK,
            "  track:\n    model: track_1ax\n    home_mm: [500]\n",
        )
        .replace("      mounted_on: positioner\n", "")
        .replace(
            "positioner: {mode: coordinated, weld_position: 1F, tolerance_deg: 4}",
            "positioner: {mode: fixed, position_mm: [800]}",
        )
    )
    prog = _load(tmp_path, track)
    assert prog.cell.external.role == "track"
    np.testing.assert_allclose(prog.cell.external.home, [0.5])
    np.testing.assert_allclose(prog.seams[0].positioning.q, [0.8])
    assert prog.seams[0].positioning.weld_position is None


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("model: tilt_rotate_2ax", "model: tilt_rotate", "cell.positioner.model", "did you mean"),
        ("model: tilt_rotate_2ax", "model: track_1ax", "cell.positioner.model", "unknown positioner"),
        (
            "    base: {xyz_mm: [0, 650, 0], rpy_deg: [0, 0, 0]}\n",
            "    base: {xyz_mm: [0, 650, 0], rpy_deg: [0, 0, 0]}\n    home_deg: [200, 0]\n",
            "cell.positioner.home_deg[0]",
            "outside tilt_rotate_2ax axis 'tilt' limits",
        ),
        (
            "    base: {xyz_mm: [0, 650, 0], rpy_deg: [0, 0, 0]}\n",
            "    base: {xyz_mm: [0, 650, 0], rpy_deg: [0, 0, 0]}\n    home_deg: [0]\n",
            "cell.positioner.home_deg",
            "expected 2 value(s)",
        ),
        (
            "tolerance_deg: 4}",
            "tolerance_deg: 4, angles_deg: [10, 20]}",
            "seams[0].positioner.angles_deg",
            "only for mode fixed",
        ),
        (
            "mode: coordinated, weld_position: 1F, tolerance_deg: 4}",
            "mode: fixed, position_mm: [100]}",
            "seams[0].positioner.position_mm",
            "use angles_deg",
        ),
        ("weld_position: 1F", "weld_position: 5F", "seams[0].positioner.weld_position", "1F"),
        ("tolerance_deg: 4", "tolerance_deg: -4", "seams[0].positioner.tolerance_deg", "> 0"),
    ],
)
def test_bad_positioner_input_names_file_and_field(
    tmp_path: Path, old: str, new: str, field: str, words: str
) -> None:
    assert old in BASE
    with pytest.raises(ProgramError) as info:
        _load(tmp_path, BASE.replace(old, new, 1))
    text = str(info.value)
    assert "p.yaml" in text and field in text and words in text, text


def test_mounted_without_positioner_and_seam_on_static_part(tmp_path: Path) -> None:
    no_pos = BASE.replace(
        "  positioner:\n    model: tilt_rotate_2ax\n    base: {xyz_mm: [0, 650, 0], rpy_deg: [0, 0, 0]}\n", ""
    )
    with pytest.raises(ProgramError, match=r"mounted on a positioner but the cell has none") as info:
        _load(tmp_path, no_pos)
    assert "cell.bodies[0].mounted_on" in str(info.value)
    static = BASE.replace("      mounted_on: positioner\n", "", 1)  # the flange no longer rides on it
    with pytest.raises(ProgramError, match="not mounted on it") as info2:
        _load(tmp_path, static)
    assert "seams[0].workpiece" in str(info2.value)
