"""The ARC Mate 100iD example program plans, validates and is stamped (``weldcell plan`` / ``validate``)."""

from __future__ import annotations

import numpy as np
from fanuc_helpers import Validated

from weldcell.kinematics import load_robot
from weldcell.trajectory import load_trajectory
from weldcell.trajectory.stamp import verify_stamp


def test_plans_and_validates(arcmate_validated: Validated) -> None:
    traj = load_trajectory(arcmate_validated.traj)
    assert traj.robot == "arcmate100id"
    verify_stamp(arcmate_validated.traj, traj, key=None)
    robot = load_robot("arcmate100id")
    assert np.all(traj.q >= robot.q_lower) and np.all(traj.q <= robot.q_upper)
    edges = np.flatnonzero(np.diff(traj.arc_on.astype(int)) == 1)
    assert len(edges) == 2  # both seams welded
    # the planned TCP follows the model's FK through the torch
    T = robot.fk(traj.q)
    T_world_tcp = traj.T_world_base @ T @ traj.T_flange_tcp
    assert np.abs(T_world_tcp[:, :3, 3] - traj.T_world_tcp[:, :3, 3]).max() < 1e-6
