"""One output-folder scheme: every command writes into ./weldcell-out/<job>/ unless --out says otherwise.

Nothing is written next to the program (``programs/`` may be read-only or under version control), and
the planned trajectory has one name, ``trajectory.npz``, for plan, validate, cell run and run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from weldcell.cli.common import default_out_dir, job_name
from weldcell.planning import load_trajectory
from weldcell.trajectory.stamp import stamp_path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planning"))
from job_programs import ribbed_plate


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("programs/box_frame.yaml", "box_frame"),
        ("cell7/job.yml", "job"),
        ("weldcell-out/box_frame/trajectory.npz", "box_frame"),
        ("out/job.traj.npz", "job"),
        ("legacy.npz", "legacy"),
    ],
)
def test_job_name_and_default_folder(source: str, name: str) -> None:
    assert job_name(Path(source)) == name
    assert default_out_dir(Path(source)) == Path("weldcell-out") / name


def test_plan_validate_export_meet_in_one_folder_of_the_working_directory(  # type: ignore[no-untyped-def]
    weldcell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    program = ribbed_plate(src / "ribs.yaml", "kr6_r900", ribs=1)
    before = _tree(src)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    code, text = weldcell("plan", program)
    assert code == 0, text
    folder = work / "weldcell-out" / "ribs"
    assert load_trajectory(folder / "trajectory.npz").n_samples > 0
    assert json.loads((folder / "plan.json").read_text())["complete"] is True

    code, text = weldcell("validate", program, "--no-images")
    assert code == 0, text
    assert json.loads((folder / "validation.json").read_text())["passed"] is True
    assert stamp_path(folder / "trajectory.npz").is_file()

    code, text = weldcell("export", folder / "trajectory.npz", "--format", "krl")
    assert code == 0, text
    assert sorted(p.suffix for p in (folder / "krl").iterdir()) == [".dat", ".src"]

    assert _tree(src) == before, "a command wrote next to the program"
