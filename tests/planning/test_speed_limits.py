"""Cartesian speed limits of planned moves: exact speed measure, limited timing, program settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.errors import ProgramError
from weldcell.kinematics import load_robot, load_torch
from weldcell.kinematics.safety import default_limits, planning_limits
from weldcell.planning.collision import CollisionChecker
from weldcell.planning.speed_limits import (
    SpeedLimits,
    elbow_link_index,
    point_speeds,
    speed_limits_for_cell,
    time_path_limited,
)
from weldcell.planning.transit import TransitOptions, plan_joint_move, time_path
from weldcell.program import load_program


class _Free:
    """A collision checker for an empty cell (nothing to hit)."""

    def check(self, q: np.ndarray) -> np.ndarray:
        return np.ones(np.atleast_2d(q).shape[0], dtype=bool)

    def clearance(self, q: np.ndarray) -> np.ndarray:
        return np.full(np.atleast_2d(q).shape[0], np.inf)

    def colliding_bodies(self, q: np.ndarray) -> list[tuple[str, str]]:
        return []


FREE: CollisionChecker = _Free()  # type: ignore[assignment]


@pytest.mark.parametrize("name", ["ur3e", "ur5e", "ur10e", "ur16e", "kr6_r900"])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_point_speeds_match_finite_differences(name: str, seed: int) -> None:
    robot = load_robot(name)
    torch = load_torch("torch_mig_22")
    T_ft = np.asarray(torch.T_flange_tcp(0.015))
    rng = np.random.default_rng(seed)
    lo, hi = np.asarray(robot.q_lower), np.asarray(robot.q_upper)
    q0 = rng.uniform(np.maximum(lo, -3), np.minimum(hi, 3))
    qd = rng.uniform(-1, 1, size=robot.n_joints)
    h = 1e-5  # [s]
    tcp, elbow = point_speeds(robot, q0[None], qd[None], T_ft)
    T = robot.fk(np.stack([q0 - h * qd, q0 + h * qd])) @ T_ft
    v_fd = np.linalg.norm(T[1, :3, 3] - T[0, :3, 3]) / (2 * h)
    L = robot.link_poses(np.stack([q0 - h * qd, q0 + h * qd]))[:, elbow_link_index(robot), :3, 3]
    e_fd = np.linalg.norm(L[1] - L[0]) / (2 * h)
    assert tcp[0] == pytest.approx(v_fd, rel=1e-6, abs=1e-9)
    assert elbow[0] == pytest.approx(e_fd, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", ["ur10e", "kr6_r900"])
def test_point_speeds_do_not_depend_on_the_block_size(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The speeds of a long motion are computed in blocks (memory, issue #14): same values, any size."""
    import weldcell.planning.speed_limits as sl

    robot = load_robot(name)
    T_ft = np.asarray(load_torch("torch_mig_22").T_flange_tcp(0.015))
    rng = np.random.default_rng(7)
    lo, hi = np.asarray(robot.q_lower), np.asarray(robot.q_upper)
    q = rng.uniform(np.maximum(lo, -3), np.minimum(hi, 3), size=(1001, robot.n_joints))
    qd = rng.uniform(-1, 1, size=q.shape)
    qd[::97] = 0.0  # standing samples inside blocks and on their edges
    whole = [point_speeds(robot, q[i : i + 1], qd[i : i + 1], T_ft) for i in (0, 500, 1000)]
    for block in (1, 7, 256, 4096):
        monkeypatch.setattr(sl, "_BLOCK", block)
        tcp, elbow = point_speeds(robot, q, qd, T_ft)
        assert tcp.shape == elbow.shape == (1001,)
        if block == 1:
            ref = (tcp, elbow)
            assert np.all(tcp[::97] == 0.0) and np.all(elbow[::97] == 0.0)
            for i, (t1, e1) in zip((0, 500, 1000), whole, strict=True):
                assert (tcp[i], elbow[i]) == (t1[0], e1[0])
        else:
            np.testing.assert_array_equal(tcp, ref[0])
            np.testing.assert_array_equal(elbow, ref[1])


def test_elbow_is_the_link_of_the_third_joint() -> None:
    assert load_robot("ur5e").link_names[elbow_link_index(load_robot("ur5e"))] == "forearm_link"
    assert load_robot("kr6_r900").link_names[elbow_link_index(load_robot("kr6_r900"))] == "link_3"


@pytest.mark.parametrize("name", ["ur5e", "ur10e", "ur16e", "kr6_r900"])
def test_a_fast_base_swing_is_slowed_to_the_planning_limits(name: str) -> None:
    robot = load_robot(name)
    T_ft = np.asarray(load_torch("torch_mig_22").T_flange_tcp(0.015))
    # stretched arm, base turns 170°: at full joint speed the torch tip is far above every limit
    q0 = np.zeros(robot.n_joints)
    q0[1] = 0.0  # arm stretched out horizontally
    q1 = q0.copy()
    q1[0] = np.radians(170)
    wp = np.stack([q0, q1])
    opts = TransitOptions()
    q, qd, _ = time_path(robot, FREE, wp, 0.002, opts)
    fast, _ = point_speeds(robot, q, qd, T_ft)
    plan = planning_limits(default_limits(name))
    assert fast.max() > default_limits(name).tcp_speed  # a controller would stop this move
    lim = SpeedLimits(plan.tcp_speed, plan.elbow_speed)
    q, qd, qdd, peaks = time_path_limited(robot, FREE, wp, 0.002, opts, lim, T_ft)
    tcp, elbow = point_speeds(robot, q, qd, T_ft)
    assert tcp.max() <= plan.tcp_speed * 1.0001
    assert elbow.max() <= plan.elbow_speed * 1.0001
    assert peaks.peak_tcp_speed == pytest.approx(tcp.max())
    assert tcp.max() > 0.9 * plan.tcp_speed  # not slower than needed
    assert peaks.speed_scale < 1.0
    # still the same joint path, from rest to rest, within the joint limits
    np.testing.assert_allclose(q[0], q0)
    np.testing.assert_allclose(q[-1], q1)
    assert np.all(np.abs(qd) <= np.asarray(robot.qd_max) * 1.0001)
    assert np.all(np.abs(qdd) <= np.asarray(robot.qdd_max) * 1.0001)
    dev = np.abs(q - q0)[:, 1:]
    assert dev.max() < 1e-9


def test_plan_joint_move_respects_the_default_limits() -> None:
    robot = load_robot("ur10e")
    q0 = np.array([0.0, -np.pi / 2, 0.0, -np.pi / 2, 0.0, 0.0])
    q1 = q0 + np.array([np.pi, 0.3, 0.0, 0.0, 0.0, 0.0])
    T_ft = np.asarray(load_torch("torch_mig_22").T_flange_tcp(0.015))
    traj = plan_joint_move(robot, q0, q1, FREE, T_flange_tcp=T_ft)
    tcp, elbow = point_speeds(robot, traj.q, traj.qd, T_ft)
    assert tcp.max() <= 1.0 * 1.0001 and elbow.max() <= 1.0 * 1.0001
    assert tcp.max() > 0.9


def _program(tmp_path: Path, robot: str, extra: str) -> Path:
    home = "[0, -90, 90, -90, -90, 0]" if robot.startswith("ur") else "[0, -90, 90, 0, 45, 0]"
    text = f"""format: weldcell.program/1
name: speed settings
cell:
  robot: {robot}
  torch: {{model: torch_mig_22}}
  home_deg: {home}
{extra}
procedures:
  p: {{process: mag, travel_speed_mm_s: 8, work_angle_deg: 45, wire_feed_m_min: 7}}
seams:
  - id: a
    joint: fillet
    procedure: p
    geometry:
      line: {{start_mm: [400, -50, 20], end_mm: [400, 50, 20]}}
    normals: [[0, 0, 1], [1, 0, 0]]
"""
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return p


def test_cell_speed_settings_default_and_configured(tmp_path: Path) -> None:
    lim = speed_limits_for_cell(load_program(_program(tmp_path, "ur16e", "")).cell)
    assert lim.tcp_speed == pytest.approx(1.0) and lim.elbow_speed == pytest.approx(1.0)
    assert lim.controller_tcp_speed == pytest.approx(1.5)
    lim = speed_limits_for_cell(load_program(_program(tmp_path, "kr6_r900", "")).cell)
    assert lim.tcp_speed == pytest.approx(2.0 * 2 / 3)
    prog = load_program(_program(tmp_path, "ur3e", "  max_tcp_speed_mm_s: 500\n  max_elbow_speed_mm_s: 750"))
    lim = speed_limits_for_cell(prog.cell)
    assert lim.tcp_speed == pytest.approx(0.5) and lim.elbow_speed == pytest.approx(0.75)
    assert "max_tcp_speed_mm_s" in lim.source


def test_cell_speed_above_the_controller_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProgramError) as err:
        load_program(_program(tmp_path, "ur5e", "  max_tcp_speed_mm_s: 2000"))
    msg = str(err.value)
    assert "max_tcp_speed_mm_s" in msg and "1500" in msg and "p.yaml" in msg
    with pytest.raises(ProgramError, match="max_elbow_speed_mm_s"):
        load_program(_program(tmp_path, "ur5e", "  max_elbow_speed_mm_s: 1600"))


@pytest.mark.parametrize("name", ["ur3e", "ur10e", "kr6_r900"])
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_random_moves_stay_under_the_limits_and_are_not_slower_than_needed(name: str, seed: int) -> None:
    robot = load_robot(name)
    T_ft = np.asarray(load_torch("torch_mig_22").T_flange_tcp(0.015))
    rng = np.random.default_rng(seed)
    lo, hi = np.maximum(robot.q_lower, -np.pi), np.minimum(robot.q_upper, np.pi)
    wp = rng.uniform(lo, hi, size=(int(rng.integers(2, 4)), robot.n_joints))
    plan = planning_limits(default_limits(name))
    lim = SpeedLimits(plan.tcp_speed, plan.elbow_speed)
    opts = TransitOptions()
    q, qd, _, peaks = time_path_limited(robot, FREE, wp, 0.002, opts, lim, T_ft)
    tcp, elbow = point_speeds(robot, q, qd, T_ft)
    assert tcp.max() <= lim.tcp_speed * 1.0001 and elbow.max() <= lim.elbow_speed * 1.0001
    assert np.all(np.isfinite(q)) and np.allclose(q[0], wp[0]) and np.allclose(q[-1], wp[-1])
    # some limit is nearly reached: a Cartesian one, or (not slowed) the joints' own
    joint_use = np.max(np.abs(qd) / (opts.speed_scale * np.asarray(robot.qd_max)))
    cart_use = max(tcp.max() / lim.tcp_speed, elbow.max() / lim.elbow_speed)
    assert cart_use > 0.85 or (peaks.speed_scale == 1.0 and joint_use > 0.5)


def test_cell_speed_settings_survive_save_and_load(tmp_path: Path) -> None:
    from weldcell.program import save_program

    prog = load_program(_program(tmp_path, "ur10e", "  max_tcp_speed_mm_s: 600\n  max_elbow_speed_mm_s: 900"))
    again = load_program(save_program(prog, tmp_path / "again.yaml"))
    assert again.cell.max_tcp_speed == pytest.approx(0.6)
    assert again.cell.max_elbow_speed == pytest.approx(0.9)
    plain = load_program(save_program(load_program(_program(tmp_path, "ur10e", "")), tmp_path / "plain.yaml"))
    assert plain.cell.max_tcp_speed is None and plain.cell.max_elbow_speed is None
