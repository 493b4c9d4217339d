"""A KUKA KR 6 R900 fillet along a polyline into an inside corner: plans, welds the whole tool path,
and validates in pybullet (tests/planning/programs/kr6_polyline_box.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from weldcell.planning import LadderOptions, PlanOptions, plan_program
from weldcell.planning.coverage import check_coverage
from weldcell.program import load_program
from weldcell.sim import validate_trajectory
from weldcell.toolpath import toolpaths_for_program

HERE = Path(__file__).resolve().parent / "programs"


def test_kr6_polyline_inside_corner() -> None:
    program = load_program(HERE / "kr6_polyline_box.yaml")
    result = plan_program(
        program, PlanOptions(ladder=LadderOptions(rotation_samples=12), tolerance_samples=1)
    )
    assert result.ok, result.reason
    segments = toolpaths_for_program(program)
    cov = check_coverage(result.trajectory, segments)
    assert cov.complete, cov.problems
    (run,) = cov.runs
    assert run.length == pytest.approx(float(segments[0].s[-1] - segments[0].s[0]), abs=1e-5)
    assert result.seams[0].min_clearance >= 0.003 - 1e-9  # clearance_mm: 3, as written
    report = validate_trajectory(result.trajectory, program)
    assert report.passed, [v.message() for v in report.violations]
