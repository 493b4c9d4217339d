"""Recovery moves: the retract backs the torch off along its axis; the re-approach lands on the target."""

from __future__ import annotations

import numpy as np
import pytest
from cellsynth import make_trajectory

from weldcell.cell.moves import MoveLimits, reapproach_move, retract_move
from weldcell.cell.segments import SeamStep, job_steps
from weldcell.kinematics import load_robot


def test_retract_is_a_straight_back_off_along_the_torch_axis() -> None:
    robot = load_robot("ur5e")
    traj = make_trajectory()
    step = next(s for s in job_steps(traj) if isinstance(s, SeamStep))
    q0 = traj.q[(step.weld0 + step.weld1) // 2]
    move = retract_move(robot, traj, q0, 0.02, MoveLimits())
    T = traj.T_world_base @ robot.fk(move.q) @ traj.T_flange_tcp
    p0, z0 = T[0, :3, 3], T[0, :3, 2]
    d = (T[:, :3, 3] - p0) @ -z0
    off_axis = np.linalg.norm((T[:, :3, 3] - p0) + d[:, None] * z0, axis=1)
    assert d[-1] == pytest.approx(0.02, abs=1e-6) and np.all(np.diff(d) >= -1e-9)
    assert off_axis.max() < 2e-4  # straight to a fraction of a millimetre
    np.testing.assert_allclose(move.qd[[0, -1]], 0.0)  # rest to rest
    assert np.abs(move.qd).max() <= robot.qd_max.min()
    tcp_speed = np.linalg.norm(np.diff(T[:, :3, 3], axis=0), axis=1) / traj.dt
    assert tcp_speed.max() <= MoveLimits().tcp_speed * 1.05


def test_reapproach_ends_at_rest_exactly_on_the_target_sample() -> None:
    robot = load_robot("ur5e")
    traj = make_trajectory()
    step = next(s for s in job_steps(traj) if isinstance(s, SeamStep))
    q_stop = traj.q[step.weld1 - 20]
    q_target = traj.q[step.weld0 + 60]
    move = reapproach_move(
        robot, traj, q_stop, q_target, retract_distance=0.02, approach_distance=0.02, limits=MoveLimits()
    )
    np.testing.assert_allclose(move.q[0], q_stop, atol=1e-12)
    np.testing.assert_allclose(move.q[-1], q_target, atol=1e-9)
    assert not move.arc_on.any()
    assert np.abs(np.diff(move.q, axis=0)).max() / traj.dt <= robot.qd_max.min()
    # the last 20 mm come straight down the torch axis onto the seam
    T = traj.T_world_base @ robot.fk(move.q[-200:]) @ traj.T_flange_tcp
    z = T[-1, :3, 2]
    lateral = (T[:, :3, 3] - T[-1, :3, 3]) - ((T[:, :3, 3] - T[-1, :3, 3]) @ z)[:, None] * z
    assert np.linalg.norm(lateral, axis=1).max() < 2e-4
