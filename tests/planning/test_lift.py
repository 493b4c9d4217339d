"""Lift-over transits between neighbouring seams (planning/lift.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from weldcell.kinematics import load_robot, load_torch
from weldcell.planning import PlanOptions
from weldcell.planning.collision import CapsuleCollisionChecker
from weldcell.planning.lift import lifted_waypoints
from weldcell.planning.planner import _plan_direction, _Planned
from weldcell.planning.transit import segment_free
from weldcell.program import load_program
from weldcell.spatial import invert_transforms
from weldcell.toolpath import toolpaths_for_program

sys.path.insert(0, str(Path(__file__).parent))
from job_programs import ribbed_plate


def test_lift_over_a_rib_between_two_seams(tmp_path: Path) -> None:
    prog = load_program(ribbed_plate(tmp_path / "p.yaml", "ur10e", ribs=2))
    cell = prog.cell
    robot = load_robot(cell.robot)
    chk = CapsuleCollisionChecker(robot, load_torch(cell.torch), cell, None)
    a, b = (
        _plan_direction(robot, chk, seg, False, cell, PlanOptions()) for seg in toolpaths_for_program(prog)
    )
    assert isinstance(a, _Planned) and isinstance(b, _Planned)
    q0, q1 = a.q_depart, b.q_approach
    assert not segment_free(chk, q0, q1, 0.01)  # the rib is in the way of the straight joint move
    T_ft = np.asarray(cell.T_flange_tcp)
    wp = lifted_waypoints(robot, chk, q0, q1, T_ft, invert_transforms(np.asarray(cell.T_world_base)), 0.01)
    assert wp is not None
    np.testing.assert_allclose(wp[0], q0)
    np.testing.assert_allclose(wp[-1], q1)
    assert all(segment_free(chk, wp[k], wp[k + 1], 0.01) for k in range(len(wp) - 1))
    # the torch goes up and over: the lifted way points are higher than both ends
    z = (robot.fk(wp) @ T_ft)[:, 2, 3]
    assert z[1] > z[0] + 0.04 and z[2] > z[3] + 0.04
    # same arm configuration all along, and a short joint path
    lab = robot.configuration_labels(wp)
    assert np.all(lab == lab[0])
    assert np.sum(np.abs(np.diff(wp, axis=0))) < np.pi
