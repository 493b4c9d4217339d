"""Finding the weld program that ``plan.json`` beside a trajectory names."""

from __future__ import annotations

import json
from pathlib import Path

from weldcell.trajectory.io import program_named_beside


def test_the_name_is_tried_as_written_then_beside_the_trajectory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    prog = tmp_path / "job.yaml"
    prog.write_text("x")
    (out / "plan.json").write_text(json.dumps({"program": str(prog)}))
    assert program_named_beside(out / "trajectory.npz") == prog
    (out / "local.yaml").write_text("x")
    (out / "plan.json").write_text(json.dumps({"program": "local.yaml"}))
    assert program_named_beside(out / "trajectory.npz") == out / "local.yaml"


def test_nothing_usable_is_none(tmp_path: Path) -> None:
    traj = tmp_path / "trajectory.npz"
    assert program_named_beside(traj) is None  # no plan.json
    for text in ("{not json", json.dumps({"cycle": 1}), json.dumps({"program": 3}), json.dumps([1])):
        (tmp_path / "plan.json").write_text(text)
        assert program_named_beside(traj) is None, text
    (tmp_path / "plan.json").write_text(json.dumps({"program": "gone.yaml"}))
    assert program_named_beside(traj) is None
