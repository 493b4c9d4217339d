"""pybullet validation of a robot on a linear track: the base rides on the carriage (issue 18).

The program (``programs/track_table_ur5e.yaml``) welds a 1.5 m fillet along a table that the UR5e
cannot weld from a fixed base (the planner refuses that cell without the track); the carriage
travels with the weld.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from weldcell.planning import plan_program
from weldcell.program import load_program
from weldcell.program.model import Program
from weldcell.sim import CellModel
from weldcell.sim.cell_model import CellBody
from weldcell.sim.report import ViolationKind
from weldcell.sim.validate import validate_trajectory
from weldcell.trajectory import JointTrajectory, true_runs

PROGRAM = Path(__file__).parent / "programs" / "track_table_ur5e.yaml"
SEAM_START = np.array([0.450, 0.800, 0.710])  # [m], from the program
SEAM_DIR = np.array([1.0, 0.0, 0.0])


@pytest.fixture(scope="module")
def track_program() -> Program:
    return load_program(PROGRAM)


@pytest.fixture(scope="module")
def track_traj(track_program: Program) -> JointTrajectory:
    result = plan_program(track_program)
    assert result.ok, result.reason
    assert result.trajectory is not None
    return result.trajectory


def test_planned_track_weld_validates(track_program: Program, track_traj: JointTrajectory) -> None:
    """plan -> validate passes; pybullet's torch tip (base moved per sample) lies on the seam."""
    ext = track_traj.external
    assert ext is not None and ext.role == "track"
    (a, b), *more = true_runs(track_traj.arc_on)
    assert not more
    assert ext.q[b, 0] - ext.q[a, 0] > 1.0  # the carriage carries the arm along most of the seam
    report = validate_trajectory(track_traj, track_program)
    assert report.passed, report.violations
    assert any("track" in n for n in report.notes)
    # the replayed TCP (pybullet FK with the base on the carriage) against the seam line, in the world
    arc = np.flatnonzero(track_traj.arc_on)
    nominal = SEAM_START + track_traj.seam_s[arc, None] * SEAM_DIR
    err = np.linalg.norm(report.series.p_world_tcp[arc] - nominal, axis=1)
    assert err.max() < 5e-5, f"{err.max() * 1e3:.4f} mm"
    # world speed of the torch on the weld is the programmed 40 mm/s (base and arm motion together)
    mid = arc[len(arc) // 4 : 3 * len(arc) // 4]
    np.testing.assert_allclose(report.series.tcp_speed[mid], 0.040, rtol=0.01)


def test_carriage_off_plan_fails(track_program: Program, track_traj: JointTrajectory) -> None:
    """The carriage 20 mm off its planned position during the weld: the torch is 20 mm off the seam."""
    ext = track_traj.external
    assert ext is not None
    off = np.where(track_traj.arc_on, 0.020, 0.0)[:, None]
    bad = replace(track_traj, external=replace(ext, q=ext.q + off))
    report = validate_trajectory(bad, track_program)
    assert not report.passed
    dev = [v for v in report.violations if v.kind is ViolationKind.TCP_DEVIATION]
    assert dev and max(v.value for v in dev) == pytest.approx(0.020, abs=1e-4)


def test_obstacle_at_the_rail_end_is_hit(track_program: Program, track_traj: JointTrajectory) -> None:
    """A post beside the rail where the carriage ends the weld: seen only with the base moved."""
    ext = track_traj.external
    assert ext is not None
    cell = CellModel.from_program(track_program)
    x_end = float(cell.T_world_base[0, 3] + ext.q[np.flatnonzero(track_traj.arc_on)[-1], 0] - ext.q[0, 0])
    T = np.eye(4)
    T[:3, 3] = (x_end, 0.0, 0.35)  # through the robot's base link there, clear of it at home
    post = CellBody("post", "obstacle", "box", T, size=(0.05, 0.05, 0.3))
    report = validate_trajectory(track_traj, cell=replace(cell, bodies=(*cell.bodies, post)))
    hits = [v for v in report.violations if v.kind is ViolationKind.COLLISION and "cell/post" in v.bodies]
    assert hits, report.violations
    assert all(v.time > 1.0 for v in hits)  # not at home


def test_cell_base_off_the_rail_is_a_mismatch(track_program: Program, track_traj: JointTrajectory) -> None:
    """Without the program the home is unknown: a base anywhere on the rail matches, off it does not."""
    cell = CellModel.from_program(track_program)
    T_on = cell.T_world_base.copy()
    T_on[0, 3] += 0.3  # another carriage position
    report = validate_trajectory(track_traj, cell=replace(cell, T_world_base=T_on))
    assert not [v for v in report.violations if v.kind is ViolationKind.CELL_MISMATCH]
    T_off = T_on.copy()
    T_off[1, 3] += 0.03
    report = validate_trajectory(track_traj, cell=replace(cell, T_world_base=T_off))
    mism = [v for v in report.violations if v.kind is ViolationKind.CELL_MISMATCH]
    assert mism and mism[0].value == pytest.approx(0.03, abs=1e-9)
