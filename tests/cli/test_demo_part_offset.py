"""``weldcell demo --part-offset-mm/--part-rotate-deg``: bad values and a program without touch
patterns fail with one clear line, before anything is planned or started."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., tuple[int, str]]  # the `weldcell` fixture (tests/cli/conftest.py)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--part-offset-mm", "3,0"), "--part-offset-mm '3,0': expected three numbers"),
        (("--part-offset-mm", "3,x,0"), "expected three numbers X,Y,Z in mm"),
        (("--part-offset-mm", "3,nan,0"), "expected three numbers X,Y,Z in mm"),
        (("--part-rotate-deg", "90"), "--part-rotate-deg 90.0: expected a rotation within ±45°"),
    ],
)
def test_bad_part_offset(weldcell: Run, tmp_path: Path, args: tuple[str, str], expected: str) -> None:
    code, text = weldcell("demo", "--out", tmp_path / "d", *args)
    assert code != 0
    assert expected in text and "Traceback" not in text
    assert not (tmp_path / "d" / "trajectory.npz").exists()


def test_offset_part_without_touch_patterns(weldcell: Run, tmp_path: Path) -> None:
    program = REPO / "programs" / "demo_tjoint.yaml"
    code, text = weldcell("demo", "--program", program, "--out", tmp_path / "d", "--part-offset-mm", "3,0,0")
    assert code != 0
    assert "demo_tjoint.yaml" in text and "no touch patterns" in text
    assert not (tmp_path / "d" / "trajectory.npz").exists()
