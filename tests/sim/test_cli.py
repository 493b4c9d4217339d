"""``weldcell validate`` on trajectory files: exit codes, report files, stamp only on a pass."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from typer.testing import CliRunner

from weldcell.cli import app
from weldcell.program import load_program
from weldcell.trajectory import JointTrajectory, save_trajectory
from weldcell.trajectory.stamp import stamp_path, verify_stamp

DEMO = Path(__file__).resolve().parents[2] / "programs" / "demo_tjoint.yaml"


def _first_seam_program(tmp_path: Path) -> Path:
    """The demo program with only the seam ``good_traj`` welds (a plan must weld every seam)."""
    text = DEMO.read_text()
    start = text.index("  - id: fillet_right")
    end = text.index("\nsequence:")
    out = tmp_path / "demo_left_only.yaml"
    out.write_text(text[:start] + text[end:].replace("[fillet_left, fillet_right]", "[fillet_left]"))
    return out


def test_validate_trajectory_passes_and_stamps(tmp_path: Path, good_traj: JointTrajectory) -> None:
    program = _first_seam_program(tmp_path)
    good_traj = dataclasses.replace(good_traj, program_hash=load_program(program).hash)
    traj = save_trajectory(good_traj, tmp_path / "job.npz")
    res = CliRunner().invoke(
        app, ["validate", str(traj), "--program", str(program), "-o", str(tmp_path / "rep"), "--no-images"]
    )
    assert res.exit_code == 0, res.output
    assert "PASSED" in res.output and "stamped" in res.output
    doc = json.loads((tmp_path / "rep" / "validation.json").read_text())
    assert doc["passed"] is True
    assert (tmp_path / "rep" / "validation.html").is_file()
    assert verify_stamp(traj, good_traj)["trajectory_hash"] == good_traj.content_hash()


def test_validate_failing_trajectory_exits_1_without_stamp(
    tmp_path: Path, good_traj: JointTrajectory
) -> None:
    q = good_traj.q.copy()
    q[3000:, 0] += 0.05
    traj = save_trajectory(dataclasses.replace(good_traj, q=q), tmp_path / "bad.npz")
    res = CliRunner().invoke(
        app, ["validate", str(traj), "--program", str(DEMO), "-o", str(tmp_path / "rep"), "--no-images"]
    )
    assert res.exit_code == 1, res.output
    assert "violation(s)" in res.output and "not stamped" in res.output
    doc = json.loads((tmp_path / "rep" / "validation.json").read_text())
    assert doc["passed"] is False
    assert "joint_velocity" in {v["kind"] for v in doc["violations"]}
    assert not stamp_path(traj).exists()


def test_trajectory_without_program_is_a_clear_error(tmp_path: Path, good_traj: JointTrajectory) -> None:
    traj = save_trajectory(good_traj, tmp_path / "job.npz")
    res = CliRunner().invoke(app, ["validate", str(traj), "-o", str(tmp_path / "rep")])
    assert res.exit_code != 0
    assert isinstance(res.exception, Exception) and "--program" in str(res.exception)
