"""A full 360° circumferential seam on a horizontal pipe: planned when a continuous joint path exists
within the joint ranges (UR joints turn ±360°), else refused naming the joint and where it runs out."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from weldcell.planning import LadderOptions, PlanOptions, PlanStatus, plan_program
from weldcell.program import load_program
from weldcell.sim import validate_trajectory

HERE = Path(__file__).resolve().parent / "programs"
OPTS = PlanOptions(ladder=LadderOptions(rotation_samples=12), tolerance_samples=1)


def test_full_circle_on_a_horizontal_pipe_plans_and_validates() -> None:
    program = load_program(HERE / "horizontal_pipe_360.yaml")
    result = plan_program(program, OPTS)
    assert result.ok, result.reason
    traj = result.trajectory
    on = traj.arc_on
    turn = np.degrees(traj.q[on].max(axis=0) - traj.q[on].min(axis=0))
    # the base joint (on the pipe axis) turns once around; the rest of the arm keeps its pose
    assert turn[0] == pytest.approx(360.0, abs=1.0)
    assert np.all(turn[1:] < 1.0)
    (rep,) = result.seams
    assert rep.length == pytest.approx(2 * np.pi * 0.05715, rel=1e-3)
    report = validate_trajectory(traj, program)
    assert report.passed, [v.message() for v in report.violations]


def test_more_than_the_joint_range_is_refused_naming_joint_and_position(tmp_path: Path) -> None:
    path = tmp_path / "pipe_400.yaml"
    path.write_text(
        (HERE / "horizontal_pipe_360.yaml").read_text().replace("sweep_deg: 360", "sweep_deg: 400")
    )
    result = plan_program(load_program(path), OPTS)
    assert result.status is PlanStatus.JOINT_LIMIT
    m = re.search(
        r"seam 'girth', s = ([\d.]+)-[\d.]+ mm: joint shoulder_pan_joint runs out of range here: the seam "
        r"needs it to turn 400° continuously \(from (-?\d+)° to -?\d+°\), its range is -360° to 360°",
        result.reason,
    )
    assert m, result.reason
    # the base joint turns with the orbit (its axis is the pipe axis): from its start angle it reaches
    # +360° after (360° - start) of orbit, i.e. at s = r · that angle
    s_out, start = float(m.group(1)) * 1e-3, float(m.group(2))
    assert s_out == pytest.approx(np.radians(360.0 - start) * 0.05715, abs=0.003)
