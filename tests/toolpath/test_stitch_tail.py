"""A stitch pattern that does not fit the seam drops its last stitch: ``check`` says so (``stitch_tail``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from weldcell.program import load_program
from weldcell.toolpath import toolpaths_for_program
from weldcell.toolpath.plausibility import program_warnings

DEMO = Path(__file__).resolve().parents[2] / "programs" / "demo_tjoint.yaml"


def _program(tmp_path: Path, half_mm: float, stitch: dict[str, float]) -> Path:
    data = yaml.safe_load(DEMO.read_text())
    data["seams"][0]["geometry"]["line"] = {"start_mm": [-half_mm, 5, 5], "end_mm": [half_mm, 5, 5]}
    data["seams"][0]["stitch"] = stitch
    path = tmp_path / "stitched.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_dropped_last_stitch_is_named(tmp_path: Path) -> None:
    # 60 mm seam, 20 on / 40 pitch from 5 mm: 5-25 fits, 45-65 does not -> 35 mm unwelded
    program = load_program(_program(tmp_path, 30, {"length_mm": 20, "pitch_mm": 40, "start_offset_mm": 5}))
    segs = toolpaths_for_program(program)
    assert sum(s.seam_id == "fillet_left" for s in segs) == 1
    (w,) = [w for w in program_warnings(program, segs) if w.kind == "stitch_tail"]
    assert w.seam_id == "fillet_left"
    assert w.value == pytest.approx(0.035) and w.limit == pytest.approx(0.020)
    assert "last 35.0 mm of the 60.0 mm seam unwelded" in w.message and "45.0–65.0 mm" in w.message


@pytest.mark.parametrize(
    ("half_mm", "stitch"),
    [
        (32.5, {"length_mm": 20, "pitch_mm": 40, "start_offset_mm": 5}),  # 5-25, 45-65: ends on the seam end
        (30, {"length_mm": 20, "pitch_mm": 40, "start_offset_mm": 0}),  # 0-20, 40-60
    ],
)
def test_pattern_that_fits_gives_no_warning(tmp_path: Path, half_mm: float, stitch: dict[str, float]) -> None:
    program = load_program(_program(tmp_path, half_mm, stitch))
    assert not [w for w in program_warnings(program) if w.kind == "stitch_tail"]
