"""joint_move: the rest-to-rest joint move under joint and Cartesian planning limits, for any arm."""

from __future__ import annotations

import numpy as np
import pytest

from weldcell.errors import InputShapeError
from weldcell.kinematics import load_robot
from weldcell.kinematics.safety import default_limits, planning_limits
from weldcell.trajectory import joint_move


@pytest.mark.parametrize(
    ("robot", "fraction", "dt"),
    [("ur3e", 1.0, 0.002), ("ur16e", 0.5, 0.002), ("kr6_r900", 0.8, 0.004), ("kr10_r1420", 1.0, 0.012)],
)
def test_joint_move_stays_under_joint_and_cartesian_limits(robot: str, fraction: float, dt: float) -> None:
    model = load_robot(robot)
    rng = np.random.default_rng(7)
    lo, hi = np.asarray(model.q_lower), np.asarray(model.q_upper)
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    q0 = mid + 0.3 * half * rng.uniform(-1, 1, model.n_joints)
    q1 = np.clip(q0 + rng.uniform(-1.2, 1.2, model.n_joints), lo, hi)
    traj = joint_move(robot, q0, q1, dt, speed_fraction=fraction)
    assert traj.robot == robot and traj.dt == dt
    np.testing.assert_allclose(traj.q[0], q0, atol=1e-12)
    np.testing.assert_allclose(traj.q[-1], q1, atol=1e-12)
    assert not traj.qd[[0, -1]].any()
    # joints: stored and finite-difference speeds under the fraction of the limits
    qd_lim = fraction * np.asarray(model.qd_max) * (1 + 1e-9)
    assert np.all(np.abs(traj.qd) <= qd_lim)
    assert np.all(np.abs(np.diff(traj.q, axis=0)) / dt <= qd_lim * 1.001)
    # Cartesian: every link origin (elbow included) under the planning limit
    lim = planning_limits(default_limits(robot))
    pts = model.link_poses(traj.q)[:, :, :3, 3]
    v = np.linalg.norm(np.diff(pts, axis=0), axis=2).max() / dt
    assert v <= min(lim.tcp_speed, lim.elbow_speed) * 1.01
    np.testing.assert_allclose(traj.T_world_tcp, model.fk(traj.q))


def test_joint_move_refuses_a_bad_speed_fraction() -> None:
    with pytest.raises(InputShapeError, match="speed_fraction"):
        joint_move("ur10e", np.zeros(6), np.ones(6), 0.002, speed_fraction=1.5)


def test_zero_move_is_one_period_at_rest() -> None:
    q = np.full(6, 0.3)
    traj = joint_move("ur5e", q, q, 0.002)
    assert traj.n_samples == 2 and not np.abs(traj.q - q).any()
