"""Refusals say exactly why: seam, position along it, constraint, the two bodies and their distance."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from weldcell.kinematics import load_robot, load_torch
from weldcell.planning import LadderOptions, PlanOptions, PlanStatus, TransitError, plan_program
from weldcell.planning import planner as planner_module
from weldcell.planning.collision import CapsuleCollisionChecker, part_label
from weldcell.program import load_program
from weldcell.spatial import invert_transforms

HERE = Path(__file__).resolve().parent / "programs"
FAST = PlanOptions(ladder=LadderOptions(rotation_samples=12), tolerance_samples=1)


def test_clearance_refusal_names_seam_position_parts_distance_and_need(tmp_path: Path) -> None:
    text = (HERE / "fillet_45_3mm.yaml").read_text().replace("clearance_mm: 3", "clearance_mm: 4.5")
    path = tmp_path / "tight.yaml"
    path.write_text(text)
    result = plan_program(load_program(path), FAST)
    assert result.status is PlanStatus.COLLISION
    m = re.search(
        r"seam 'web_fillet', s = [\d.]+-[\d.]+ mm: .*at s = ([\d.]+) mm: torch nozzle ([\d.]+) mm from "
        r"(flange_plate|plate_web), needs 4\.5 mm",
        result.reason,
    )
    assert m, result.reason
    assert 0.0 <= float(m.group(1)) <= 200.0
    assert float(m.group(2)) == pytest.approx(3.85, abs=0.05)  # what the nozzle has at 45° / 15 mm


def test_penetration_is_named_with_its_depth(tmp_path: Path) -> None:
    text = (HERE / "wall_end_fillet.yaml").read_text()
    text = text.replace("    procedure: fillet\n", "    procedure: fillet\n    reversible: false\n")
    path = tmp_path / "irreversible.yaml"
    path.write_text(text)
    result = plan_program(load_program(path), FAST)
    assert result.status is PlanStatus.COLLISION
    assert re.search(
        r"seam 'by_the_wall', s = 0\.0-[\d.]+ mm: .*torch \w+ (penetrates|[\d.]+ mm from) end_wall",
        result.reason,
    ), result.reason
    assert "needs 1.0 mm" in result.reason


def test_transit_failure_names_the_move_and_the_blocker(monkeypatch: pytest.MonkeyPatch) -> None:
    program = load_program(HERE / "wall_end_fillet.yaml")

    def no_path(robot, checker, q0, q1, options):  # type: ignore[no-untyped-def]
        raise TransitError("no collision-free transit move found (test)")

    monkeypatch.setattr(planner_module, "find_path", no_path)
    result = plan_program(program, FAST)
    assert result.status is PlanStatus.TRANSIT_FAILED
    assert result.reason.startswith("transit from home to the approach pose of seam 'by_the_wall' pass 1:")
    assert "straight joint move" in result.reason


def test_blocker_names_the_body_on_the_straight_move() -> None:
    program = load_program(HERE / "wall_end_fillet.yaml")
    cell = program.cell
    robot, torch = load_robot(cell.robot), load_torch(cell.torch)
    checker = CapsuleCollisionChecker(robot, torch, cell)
    # torch tip pointing down into the end wall: the straight move from home runs into the cell
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = [0.435, 0.0, 0.05]
    Q = robot.ik(invert_transforms(cell.T_world_base) @ T @ invert_transforms(cell.T_flange_tcp))
    q1 = Q[np.all(np.isfinite(Q), axis=1)][0]
    text = planner_module._blocker(checker, np.asarray(cell.home_q), q1, 0.01)
    m = re.search(
        r"blocked from \d+ % of the way: (robot|torch) \w+ (penetrates (\w+) by|[\d.]+ mm from (\w+))", text
    )
    assert m and "needs" in text, text
    assert (m.group(3) or m.group(4)) in {b.name for b in cell.bodies}


def test_part_labels() -> None:
    assert part_label("torch:nozzle") == "torch nozzle"
    assert part_label("robot:forearm_link_1") == "robot forearm_link"
    assert part_label("plate_web") == "plate_web"


def test_singularity_refusal_gives_best_measure_and_floor() -> None:
    # a floor no configuration can meet: the refusal says how close the best one came
    program = load_program(HERE / "fillet_45_3mm.yaml")
    opts = PlanOptions(ladder=LadderOptions(rotation_samples=12, singularity_min=10.0), tolerance_samples=1)
    result = plan_program(program, opts)
    assert result.status is PlanStatus.SINGULARITY
    m = re.search(
        r"seam 'web_fillet', s = 0\.0-[\d.]+ mm: .*the best reaches ([\d.]+), needs 10\.0", result.reason
    )
    assert m, result.reason
    assert 0.0 < float(m.group(1)) < 10.0
