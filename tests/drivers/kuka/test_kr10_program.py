"""The KR 10 R1420 test program plans, validates and is stamped (``weldcell plan`` / ``validate``)."""

from __future__ import annotations

import numpy as np
from kuka_helpers import Validated

from weldcell.kinematics import load_robot
from weldcell.trajectory import load_trajectory
from weldcell.trajectory.stamp import verify_stamp


def test_plans_and_validates(kr10_validated: Validated) -> None:
    traj = load_trajectory(kr10_validated.traj)
    assert traj.robot == "kr10_r1420"
    verify_stamp(kr10_validated.traj, traj, key=None)
    robot = load_robot("kr10_r1420")
    assert np.all(traj.q >= robot.q_lower) and np.all(traj.q <= robot.q_upper)
    assert traj.arc_on.any()
    # both seams welded: two separate arc-on runs
    edges = np.flatnonzero(np.diff(traj.arc_on.astype(int)) == 1)
    assert len(edges) == 2
