"""Approach and pull-back: the documented half and quarter distances and the other IK branches.

tests/planning/programs/hanging_ur16e_pullback.yaml: a hanging UR16e welds a fillet; a bracket
behind its wrist at the seam end blocks the full 50 mm pull-back on the arm's own branch, while a
flipped wrist (3.4 rad away) would fit at 50 mm. The planner must back off half the distance on the
same branch rather than swing the arm over at the part.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from weldcell.kinematics import load_robot, load_torch
from weldcell.planning import LadderOptions, PlanOptions, TransitOptions, plan_program
from weldcell.planning.collision import CapsuleCollisionChecker
from weldcell.planning.planner import _plan_direction, _pull_back_config
from weldcell.program import load_program
from weldcell.sim import validate_trajectory
from weldcell.spatial import invert_transforms
from weldcell.toolpath import toolpaths_for_program

HERE = Path(__file__).resolve().parent / "programs"
OPTS = PlanOptions(ladder=LadderOptions(rotation_samples=12), tolerance_samples=1)


def _pull_back_after_last_weld(traj) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """(TCP distance [m], its angle to the torch axis [rad], largest joint change [rad]) of the move
    from the last arc-off to the next rest."""
    robot = load_robot(traj.robot)
    i = int(np.flatnonzero(traj.arc_on)[-1])
    moving = np.flatnonzero(np.any(np.abs(traj.qd[i + 1 :]) > 1e-9, axis=1))
    still = np.flatnonzero(np.all(np.abs(traj.qd[i + 1 + moving[0] :]) <= 1e-9, axis=1))
    j = i + 1 + moving[0] + still[0]
    T = traj.T_world_base @ robot.fk(traj.q[[i, j]]) @ traj.T_flange_tcp
    dp = T[1, :3, 3] - T[0, :3, 3]
    ang = float(np.arccos(np.clip(dp @ -T[0, :3, 2] / np.linalg.norm(dp), -1, 1)))
    return float(np.linalg.norm(dp)), ang, float(np.max(np.abs(traj.q[j] - traj.q[i])))


def test_blocked_full_pull_back_uses_half_on_the_same_branch() -> None:
    program = load_program(HERE / "hanging_ur16e_pullback.yaml")
    result = plan_program(program, OPTS)
    assert result.ok, result.reason
    dist, ang, dq = _pull_back_after_last_weld(result.trajectory)
    assert dist == pytest.approx(0.025, abs=1e-6)  # half of retract_mm = 50
    assert ang < 1e-6  # straight back along the torch axis
    assert dq < 0.1  # no swing of the arm at the part
    report = validate_trajectory(result.trajectory, program)
    assert report.passed, [v.message() for v in report.violations]


def test_closer_bracket_uses_a_quarter_pull_back(tmp_path: Path) -> None:
    text = (HERE / "hanging_ur16e_pullback.yaml").read_text()
    text = text.replace("[778.9, 370.7, 872.8]", "[778.9, 348.8, 850.9]")  # 31 mm closer along the axis
    path = tmp_path / "closer.yaml"
    path.write_text(text)
    program = load_program(path)
    cell = program.cell
    robot, torch = load_robot(cell.robot), load_torch(cell.torch)
    seg = toolpaths_for_program(program)[0]
    planned = _plan_direction(robot, CapsuleCollisionChecker(robot, torch, cell), seg, False, cell, OPTS)
    T = cell.T_world_base @ robot.fk(np.stack([planned.weld.q[-1], planned.q_depart])) @ cell.T_flange_tcp
    dp = T[1, :3, 3] - T[0, :3, 3]
    # 50 and 25 mm are blocked on every branch with a clear move: a quarter, along the torch axis
    assert np.linalg.norm(dp) == pytest.approx(0.0125, abs=1e-6)
    assert np.allclose(dp / np.linalg.norm(dp), -T[0, :3, 2], atol=1e-6)
    result = plan_program(program, OPTS)
    assert result.ok, result.reason
    report = validate_trajectory(result.trajectory, program)
    assert report.passed, [v.message() for v in report.violations]


def test_no_pull_back_anywhere_says_what_was_tried(tmp_path: Path) -> None:
    program = load_program(HERE / "hanging_ur16e_pullback.yaml")
    cell = program.cell
    robot, torch = load_robot(cell.robot), load_torch(cell.torch)
    seg = toolpaths_for_program(program)[0]
    planned = _plan_direction(robot, CapsuleCollisionChecker(robot, torch, cell), seg, False, cell, OPTS)
    assert not hasattr(planned, "message")
    # a block around the wrist at every pull-back distance (the weld itself is not re-planned here)
    T_flange = cell.T_world_base @ robot.fk(planned.weld.q[-1])
    text = (HERE / "hanging_ur16e_pullback.yaml").read_text()
    c = T_flange[:3, 3] * 1e3
    text = text.replace(
        "    - name: bracket\n",
        f"    - name: hood\n      role: obstacle\n      box: {{size_mm: [160, 160, 160]}}\n"
        f"      pose: {{xyz_mm: [{c[0]:.1f}, {c[1]:.1f}, {c[2]:.1f}]}}\n    - name: bracket\n",
    )
    path = tmp_path / "hooded.yaml"
    path.write_text(text)
    hooded = load_program(path).cell
    checker = CapsuleCollisionChecker(robot, torch, hooded)
    why = _pull_back_config(
        robot,
        checker,
        np.asarray(seg.T_world_depart),
        np.asarray(seg.T_world_tcp[-1]),
        planned.weld.angles[-1],
        seg,
        invert_transforms(hooded.T_world_base),
        invert_transforms(hooded.T_flange_tcp),
        planned.weld.q[-1],
        TransitOptions(),
    )
    assert isinstance(why, str)
    for at in ("50.0 mm:", "25.0 mm:", "12.5 mm:"):
        assert at in why, why
    assert "hood" in why and "needs 3.0 mm" in why
