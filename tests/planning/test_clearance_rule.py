"""One clearance rule: clearance_mm applies to the nozzle as written, in planner and simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from weldcell.planning import LadderOptions, PlanOptions, PlanStatus, plan_program
from weldcell.program import load_program
from weldcell.sim import validate_trajectory

HERE = Path(__file__).resolve().parent / "programs"
FAST = PlanOptions(ladder=LadderOptions(rotation_samples=12), tolerance_samples=1)


def test_45_degree_fillet_at_15mm_stickout_with_3mm_plans_and_validates() -> None:
    program = load_program(HERE / "fillet_45_3mm.yaml")
    assert program.cell.clearance == pytest.approx(0.003)
    result = plan_program(program, FAST)
    assert result.ok, result.reason
    (rep,) = result.seams
    # the nozzle is ~3.85 mm from the plates: kept as written, with nothing added
    assert 0.003 <= rep.min_clearance < 0.0041
    report = validate_trajectory(result.trajectory, program)
    assert report.passed, [v.message() for v in report.violations]
    (seam,) = report.seams
    # the simulator measures the same nozzle distance as the planner (same capsules)
    assert seam.min_nozzle_clearance == pytest.approx(rep.min_clearance, abs=1e-4)


def test_more_clearance_than_the_nozzle_has_is_refused(tmp_path: Path) -> None:
    text = (HERE / "fillet_45_3mm.yaml").read_text().replace("clearance_mm: 3", "clearance_mm: 4.5")
    path = tmp_path / "fillet_45_4p5mm.yaml"
    path.write_text(text)
    result = plan_program(load_program(path), FAST)
    assert result.status is PlanStatus.COLLISION
    assert "web_fillet" in result.reason and "nozzle" in result.reason
