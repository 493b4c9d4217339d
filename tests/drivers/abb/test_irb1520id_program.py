"""The IRB 1520ID test program plans, validates and is stamped (``weldcell plan`` / ``validate``)."""

from __future__ import annotations

import numpy as np
from abb_helpers import Validated

from weldcell.kinematics import load_robot
from weldcell.trajectory import load_trajectory
from weldcell.trajectory.stamp import verify_stamp


def test_plans_and_validates(irb1520_validated: Validated) -> None:
    traj = load_trajectory(irb1520_validated.traj)
    assert traj.robot == "irb1520id"
    verify_stamp(irb1520_validated.traj, traj, key=None)
    robot = load_robot("irb1520id")
    assert np.all(traj.q >= robot.q_lower) and np.all(traj.q <= robot.q_upper)
    edges = np.flatnonzero(np.diff(traj.arc_on.astype(int)) == 1)
    assert len(edges) == 2  # both seams welded
