"""weldcell plan: exit status only 0 when every segment is welded; summary figures in output and files."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from weldcell.planning import PlanResult, load_trajectory, plan_program
from weldcell.program import load_program

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planning"))
from job_programs import ribbed_plate


@pytest.fixture(scope="module")
def program_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ribbed_plate(tmp_path_factory.mktemp("p") / "ribs.yaml", "kr6_r900", ribs=2)


def test_complete_plan_exits_0_and_reports_the_figures(weldcell, program_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, text = weldcell("plan", program_file, "-o", tmp_path, "--keep-configuration")
    assert code == 0, text
    assert "welded 60.0 of 60.0 mm" in text
    assert "peak TCP" in text and "joint travel" in text and "configuration change" in text
    summary = json.loads((tmp_path / "plan.json").read_text())
    assert summary["complete"] is True and summary["incomplete"] == []
    assert [s["welded_length_m"] for s in summary["seams"]] == pytest.approx([0.06, 0.06])
    motion = summary["motion"]
    assert motion["configuration_changes"] == 0
    assert 0 < motion["peak_transit_tcp_speed_m_s"] <= motion["tcp_speed_limit_m_s"] * 1.001
    assert motion["tcp_speed_limit_m_s"] == pytest.approx(2.0 * 2 / 3)  # KR 6: 2/3 of 2 m/s
    kinds = {m["kind"] for m in motion["moves"]}
    assert kinds == {"transit", "approach", "weld", "depart"}
    meta = load_trajectory(tmp_path / "trajectory.npz").metadata
    assert meta["motion"]["joint_travel_rad"] == pytest.approx(motion["joint_travel_rad"])
    assert [s["welded_length_m"] for s in meta["segments"]] == pytest.approx([0.06, 0.06])


def test_a_plan_that_welds_less_than_programmed_exits_2(  # type: ignore[no-untyped-def]
    weldcell, program_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weldcell.planning as planning

    good = plan_program(load_program(program_file))
    assert good.ok and good.trajectory is not None
    traj = good.trajectory
    on = np.asarray(traj.arc_on).copy()
    run = np.flatnonzero(on)
    first_end = run[np.flatnonzero(np.diff(run) > 1)[0]]  # last sample of the first weld
    cut = run[0] + (first_end - run[0]) // 2
    on[cut : first_end + 1] = False  # the arc goes out half way along the first seam
    short = replace(traj, arc_on=on)

    def fake(*_args: object, **_kw: object) -> PlanResult:
        return replace(good, trajectory=short)

    monkeypatch.setattr(planning, "plan_program", fake)
    code, text = weldcell("plan", program_file, "-o", tmp_path)
    assert code == 2, text
    assert "does not weld every programmed segment" in text and "of the programmed 60.0 mm" in text, text[
        -600:
    ]
    summary = json.loads((tmp_path / "plan.json").read_text())
    assert summary["complete"] is False and len(summary["incomplete"]) == 1


def test_an_unplannable_program_exits_2(weldcell, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    far = ribbed_plate(tmp_path / "far.yaml", "ur3e", ribs=2, plate_x_mm=900)
    code, text = weldcell("plan", far, "-o", tmp_path / "out")
    assert code == 2
    assert "cannot plan" in text
    assert json.loads((tmp_path / "out" / "plan.json").read_text())["complete"] is False
