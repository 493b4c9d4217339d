"""Progress when the output is not a terminal: plain lines per planning stage (CI logs, pipes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from weldcell.cli.common import plain_progress

ROOT = Path(__file__).resolve().parents[2]


def test_plain_progress_prints_each_stage_once(capsys: pytest.CaptureFixture[str]) -> None:
    show = plain_progress("planning")
    show(0.0, "building the collision model")
    show(0.05, "seam a pass 1")
    show(0.10, "seam a pass 1")  # same stage: no new line
    show(1.0, "done")
    err = capsys.readouterr().err.splitlines()
    assert [re.sub(r"\(\d+\.\d s\)", "(t)", line) for line in err] == [
        "planning   0% building the collision model (t)",
        "planning   5% seam a pass 1 (t)",
        "planning 100% done (t)",
    ]


def test_plan_prints_plain_stage_lines_when_piped(weldcell, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, text = weldcell("plan", ROOT / "programs" / "demo_tjoint.yaml", "-o", tmp_path / "out")
    assert code == 0, text
    stages = re.findall(r"planning +(\d+)% ([^()]+?) \(\d+\.\d s\)", text)
    assert stages[0] == ("0", "building the collision model")
    assert stages[-1] == ("100", "done")
    assert any(msg.startswith("seam ") for _, msg in stages)
    assert any(msg.startswith("transit moves") for _, msg in stages)
    percents = [int(p) for p, _ in stages]
    assert percents == sorted(percents)
    assert "\x1b[" not in text  # plain text, no terminal control codes
