"""The seam search uses an angle or rotation tolerance only as far as needed (programmed value first)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from weldcell.kinematics import load_robot
from weldcell.planning import LadderOptions, PlanOptions
from weldcell.planning.nominal import deviation_cost
from weldcell.planning.seam import SeamPath, plan_seam

sys.path.insert(0, str(Path(__file__).parent))
from job_programs import ribbed_plate

D = np.pi / 180


def _line(n: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Torch pointing down along a 200 mm line in front of the robot (base frame)."""
    y = np.linspace(-0.1, 0.1, n)
    T = np.tile(np.diag([1.0, -1.0, -1.0, 1.0]), (n, 1, 1))
    T[:, 0, 3], T[:, 1, 3], T[:, 2, 3] = 0.45, y, 0.1
    return T, y - y[0]


def _samples() -> np.ndarray:
    g = np.linspace(-30, 30, 9) * D
    w = np.array([0.0, -2.0, 2.0]) * D
    return np.array([(a, b, 0.0) for b in w for a in g])


SEG = SimpleNamespace(rotation_range=30 * D, work_angle_tolerance=2 * D, travel_angle_tolerance=0.0)
T_FT = np.eye(4)
T_FT[2, 3] = 0.2


class _Checker:
    """Free space, except: near the middle of the line the torch may not keep its programmed rotation."""

    def __init__(self, robot, block: bool) -> None:  # type: ignore[no-untyped-def]
        self.robot, self.block = robot, block

    def check(self, q: np.ndarray) -> np.ndarray:
        q = np.atleast_2d(q)
        if not self.block:
            return np.ones(len(q), dtype=bool)
        T = self.robot.fk(q)
        x = T[:, :3, 0]
        rot = np.degrees(np.arccos(np.clip(x[:, 0], -1, 1)))  # programmed: flange x = base x
        middle = np.abs(T[:, 1, 3]) < 0.02
        return ~(middle & (rot < 12.0))

    def clearance(self, q: np.ndarray) -> np.ndarray:
        return np.full(np.atleast_2d(q).shape[0], 1.0)


@pytest.mark.parametrize("name", ["ur5e", "ur10e"])
def test_feasible_nominal_gives_zero_deviation(name: str) -> None:
    robot = load_robot(name)
    T, s = _line()
    samples = _samples()
    cost = deviation_cost(samples, SEG, limited_rotation=True)
    path = plan_seam(robot, _Checker(robot, False), T, s, T_FT, samples, LadderOptions(), sample_cost=cost)
    assert isinstance(path, SeamPath)
    assert np.abs(path.angles).max() < 1e-9


def test_tolerance_used_only_where_needed() -> None:
    robot = load_robot("ur5e")
    T, s = _line()
    samples = _samples()
    cost = deviation_cost(samples, SEG, limited_rotation=True)
    path = plan_seam(robot, _Checker(robot, True), T, s, T_FT, samples, LadderOptions(), sample_cost=cost)
    assert isinstance(path, SeamPath)
    gamma = np.degrees(np.abs(path.angles[:, 0]))
    y = s - 0.1
    assert gamma[np.abs(y) < 0.019].min() >= 12.0 - 1e-6  # turned where it must
    assert gamma.max() <= 15.0 + 1e-6  # and not further than the next grid step
    far = np.abs(y) > 0.06
    assert gamma[far].max() < 1e-6  # programmed rotation elsewhere
    assert np.abs(path.angles[:, 1]).max() < 1e-9  # the work angle tolerance was not needed


def test_deviation_cost_is_zero_at_nominal_and_quadratic() -> None:
    samples = np.array([[0.0, 0.0, 0.0], [30 * D, 0.0, 0.0], [0.0, 1 * D, 0.0], [np.pi, 0.0, 0.0]])
    c = deviation_cost(samples, SEG, limited_rotation=True, weight=1.0)
    np.testing.assert_allclose(c[:3], [0.0, 1.0, 0.25])
    free = deviation_cost(samples, SEG, limited_rotation=False, weight=1.0)
    assert free[3] == 0.0 and free[1] == 0.0  # a free rotation costs nothing


@pytest.mark.parametrize(("robot", "mount"), [("ur10e", "floor"), ("ur16e", "ceiling")])
def test_planned_program_keeps_programmed_rotation_and_angles(tmp_path: Path, robot: str, mount: str) -> None:
    from weldcell.kinematics import load_torch
    from weldcell.planning.collision import CapsuleCollisionChecker
    from weldcell.planning.planner import _plan_direction
    from weldcell.program import load_program
    from weldcell.toolpath import toolpaths_for_program

    prog = load_program(
        ribbed_plate(
            tmp_path / "p.yaml",
            robot,
            mount=mount,
            ribs=2,
            rotation="{mode: fixed, angle_deg: 0, tolerance_deg: 30}",
            tolerance="{work_angle_deg: 2, travel_angle_deg: 2}",
        )
    )
    cell = prog.cell
    rob = load_robot(cell.robot)
    chk = CapsuleCollisionChecker(rob, load_torch(cell.torch), cell, None)
    for seg in toolpaths_for_program(prog):
        planned = _plan_direction(rob, chk, seg, False, cell, PlanOptions())
        assert hasattr(planned, "weld"), planned
        assert np.abs(planned.weld.angles).max() < 1e-6  # type: ignore[union-attr]
