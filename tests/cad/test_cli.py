"""``weldcell seams detect`` end to end: a program that check and plan accept, selection, the view."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from weldcell.cad.testparts import Assembly, box, tjoint

from .conftest import Run, write_stl


def _small_tjoint() -> Assembly:
    base = box([-0.03, -0.05, -0.01], [0.03, 0.05, 0.0])
    web = box([-0.03, -0.004, 0.0], [0.03, 0.004, 0.05])
    return Assembly("small", (("base", *base), ("web", *web)), ())


def test_detect_check_plan(weldcell: Run, tmp_path: Path) -> None:
    stl = write_stl(_small_tjoint(), tmp_path / "tee.stl")
    prog = tmp_path / "tee.yaml"
    png = tmp_path / "tee.png"
    code, out = weldcell(
        "seams", "detect", stl, "-o", prog, "--select", "c1", "--view", png, "--robot", "ur10e"
    )
    assert code == 0, out
    assert "2 seam candidates" in out
    text = prog.read_text()
    assert text.count("\n    selected: true") == 1 and text.count("\n    selected: false") == 1
    assert (tmp_path / "tee_parts" / "tee_1.stl").is_file()
    assert png.stat().st_size > 20_000
    code, out = weldcell("check", prog)
    assert code == 0, out
    assert "seam c2: not selected ('selected: false'), skipped" in out
    code, out = weldcell("plan", prog, "-o", tmp_path / "plan", "--rotation-samples", "12", "--dt-ms", "8")
    assert code == 0, out
    assert "not selected" in out
    assert (tmp_path / "plan" / "trajectory.npz").is_file()
    # nothing selected: check and plan refuse, naming the field
    code, out = weldcell("seams", "detect", stl, "-o", prog, "--select", "none")
    assert code == 0 and "no candidate is selected" in out
    code, out = weldcell("check", prog)
    assert code == 2 and "no seam is selected" in out


def test_options_and_failures(weldcell: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    stl = write_stl(tjoint(rng, 90.0, gap=1.0e-3), tmp_path / "gap.stl")
    code, out = weldcell("seams", "detect", stl, "-o", tmp_path / "g.yaml")
    assert code == 1 and "no seam candidates found" in out
    code, out = weldcell(
        "seams", "detect", stl, "-o", tmp_path / "g.yaml", "--tolerance-mm", "1.5", "--robot", "ur16e"
    )
    assert code == 0 and "fillet" in out
    code, out = weldcell("seams", "detect", stl, "-o", tmp_path / "g.yaml", "--select", "c9")
    assert code == 2 and "--select: no candidate c9" in out
    code, out = weldcell("seams", "detect", stl, "-o", tmp_path / "g.yaml", "--robot", "abc")
    assert code == 2 and "--robot 'abc': unknown" in out
    code, out = weldcell("seams", "detect", stl, "-o", tmp_path / "g.yaml", "--units", "yd")
    assert code == 2 and "--units 'yd'" in out
    code, out = weldcell("seams", "detect", stl, "-o", tmp_path / "g.yaml", "--max-open-deg", "30")
    assert code == 2 and "--max-open-deg" in out and "45.0° and 30.0°" in out
    code, out = weldcell("seams", "detect", tmp_path / "nope.stl", "-o", tmp_path / "g.yaml")
    assert code == 2 and "nope.stl: file not found" in out


def test_open_corner_gives_corner_seams_check_accepts(weldcell: Run, tmp_path: Path) -> None:
    """Two plates edge to edge (a 110° open corner): two corner seams (outside 70°, inside 110°),
    written as ``joint: corner`` with their work angles, and the program checks."""
    from weldcell.cad.testparts import corner

    stl = write_stl(corner(np.random.default_rng(4), 110.0), tmp_path / "corner.stl")
    prog = tmp_path / "corner.yaml"
    code, out = weldcell("seams", "detect", stl, "-o", prog, "--select", "all", "--robot", "ur10e")
    assert code == 0, out
    text = prog.read_text()
    assert text.count("joint: corner") == 2 and "fillet" not in text and "lap" not in text
    assert "work_angle_deg: 35" in text and "work_angle_deg: 55" in text
    code, out = weldcell("check", prog)
    assert code == 0, out
