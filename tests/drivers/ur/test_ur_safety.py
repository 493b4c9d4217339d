"""The virtual UR controller's safety configuration: limits checked every cycle, stops reported.

Unit tests drive :class:`SafetyMonitor` with set-point sequences whose speeds are known in closed
form; the socket test streams a trajectory through :class:`URDriver` that stays inside every joint
speed limit but moves the tool faster than UR's default 1.5 m/s tool speed limit, and checks that
the controller protective-stops and the driver reports it as such.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stamp_helpers import stamp_for_test

from weldcell.drivers.base import joint_move
from weldcell.drivers.ur import models
from weldcell.drivers.ur.driver import URDriver, URDriverConfig
from weldcell.drivers.ur.virtual.controller import Ports, start_virtual_controller
from weldcell.drivers.ur.virtual.core import ControllerCore, CoreConfig, ProtectiveStopError, SafetyMode
from weldcell.drivers.ur.virtual.safety import SafetyMonitor, SafetyViolation, frame_origins
from weldcell.errors import DriverFaultError
from weldcell.kinematics.safety import default_limits, planning_limits, ur_default
from weldcell.trajectory import JointTrajectory, save_trajectory

DT = 0.002
Q_HOME = np.array(CoreConfig().q_home)
# arm stretched out horizontally: the TCP is ~0.9 m from the base axis
Q_REACH = np.array([0.0, 0.0, 0.0, -np.pi / 2, 0.0, 0.0])


def _rotate_base(monitor: SafetyMonitor, q0: np.ndarray, rate: float, cycles: int) -> None:
    q = q0.copy()
    for _ in range(cycles):
        q1 = q + np.array([rate * DT, 0, 0, 0, 0, 0])
        monitor.check(q, q1, np.zeros(6), 0.0)
        q = q1


def test_ur_default_preset_values() -> None:
    lim = ur_default("ur5e")
    assert lim.tcp_speed == 1.5 and lim.elbow_speed == 1.5
    assert lim.power == 300.0 and lim.momentum == 25.0 and lim.stopping_time == 0.4
    assert planning_limits(lim).tcp_speed == pytest.approx(1.0)
    assert default_limits("ur10e").joint_speed[0] == pytest.approx(np.radians(131.0))


def test_tool_speed_violation_names_limit_and_value() -> None:
    arm = models.get_arm("ur5e")
    radius = float(np.linalg.norm(models.fk(arm, Q_REACH)[:2, 3]))
    mon = SafetyMonitor(arm, None, DT)
    rate_ok = 1.4 / radius  # 1.4 m/s at the TCP, under 1.5
    _rotate_base(mon, Q_REACH, rate_ok, 50)
    assert mon.peak["tcp_speed"] == pytest.approx(1.4, rel=1e-3)
    mon.reset()
    with pytest.raises(SafetyViolation, match=r"tool speed limit: TCP at 16\d\d mm/s, limit 1500 mm/s"):
        _rotate_base(mon, Q_REACH, 1.65 / radius, 50)


def test_elbow_speed_momentum_and_joint_limits() -> None:
    arm = models.get_arm("ur10e")
    limits = dataclasses.replace(ur_default("ur10e"), tcp_speed=10.0, elbow_speed=0.5)
    mon = SafetyMonitor(arm, limits, DT)
    elbow_r = float(np.linalg.norm(frame_origins(arm, Q_REACH)[2, :2]))
    with pytest.raises(SafetyViolation, match="elbow speed limit"):
        _rotate_base(mon, Q_REACH, 0.6 / elbow_r, 5)
    heavy = SafetyMonitor(arm, dataclasses.replace(limits, elbow_speed=10.0, momentum=5.0), DT)
    with pytest.raises(SafetyViolation, match="momentum limit"):
        _rotate_base(heavy, Q_REACH, 1.0, 5)
    fast = SafetyMonitor(arm, None, DT)
    with pytest.raises(SafetyViolation, match=r"joint 1 speed limit: 14\d.\d °/s above 131.0 °/s"):
        _rotate_base(fast, Q_HOME, np.radians(145.0), 2)
    strict = SafetyMonitor(arm, dataclasses.replace(ur_default("ur10e"), stopping_time=0.1), DT)
    with pytest.raises(SafetyViolation, match="stopping time limit: predicted 250 ms above 100 ms"):
        _rotate_base(strict, Q_HOME, np.radians(100.0), 2)
    far = SafetyMonitor(arm, None, DT)
    q = Q_HOME.copy()
    q[5] = np.radians(364.0)
    with pytest.raises(SafetyViolation, match="joint 6 position limit"):
        far.check(Q_HOME, q, np.zeros(6), 0.0)


def test_tcp_offset_counts_for_tool_speed() -> None:
    arm = models.get_arm("ur5e")
    mon = SafetyMonitor(arm, None, DT)
    # wrist 3 spinning at 170 °/s: the flange centre stands still, a TCP 0.6 m off the axis does not
    q0 = Q_HOME.copy()
    offset = np.array([0.6, 0.0, 0.1, 0.0, 0.0, 0.0])
    q = q0.copy()
    with pytest.raises(SafetyViolation, match="tool speed limit"):
        for _ in range(20):
            q1 = q + np.array([0, 0, 0, 0, 0, np.radians(170.0) * DT])
            mon.check(q, q1, offset, 0.0)
            q = q1
    ok = SafetyMonitor(arm, None, DT)
    q = q0.copy()
    for _ in range(20):
        q1 = q + np.array([0, 0, 0, 0, 0, np.radians(170.0) * DT])
        ok.check(q, q1, np.zeros(6), 0.0)
        q = q1


@settings(max_examples=25, deadline=None)
@given(
    arm=st.sampled_from(["ur3e", "ur5e", "ur10e", "ur16e"]),
    dq=st.lists(st.floats(-3.0, 3.0), min_size=6, max_size=6),
)
def test_joint_moves_never_trip_the_default_configuration(arm: str, dq: list[float]) -> None:
    """The driver's rest-to-rest moves at full joint speed stay inside UR's default limits."""
    q1 = np.clip(Q_HOME + np.array(dq), -2 * np.pi, 2 * np.pi)
    traj = joint_move(arm, Q_HOME, q1, DT, speed_fraction=1.0)
    mon = SafetyMonitor(models.get_arm(arm), None, DT)
    offset = np.array([0.0, 0.0, 0.3, 0.0, 0.0, 0.0])  # a torch 0.3 m long
    for a, b in zip(traj.q[:-1], traj.q[1:], strict=True):
        mon.check(a, b, offset, 0.0, tolerance=0.02)
    assert mon.peak.get("tcp_speed", 0.0) <= 1.0 * 1.02 + 1e-9 or np.allclose(dq, 0)


def test_core_violation_is_a_protective_stop_with_the_reason() -> None:
    core = ControllerCore(CoreConfig(q_home=tuple(Q_REACH)))
    radius = float(np.linalg.norm(core.tcp_pose(Q_REACH)[:2]))
    q = Q_REACH.copy()
    with pytest.raises(ProtectiveStopError, match="safety limit violation: tool speed limit"):
        for _ in range(50):
            q = q + np.array([2.0 / radius * DT, 0, 0, 0, 0, 0])
            core.command(q)
            core._finish_cycle()


def test_custom_limits_reach_the_controller_process(tmp_path: Path) -> None:
    """A configured (reduced) limit travels to the controller process and stops a streamed move."""
    limits = dataclasses.replace(ur_default("ur5e"), tcp_speed=0.25, source="test cell: 250 mm/s")
    host = "127.0.0.61"
    with start_virtual_controller(
        host, CoreConfig(q_home=tuple(Q_REACH), safety=limits, unlock_delay=0.2), Ports(0, 0, 0, 0, 0)
    ) as h:
        d = URDriver(
            host,
            URDriverConfig(
                rtde_port=h.ports.rtde, dashboard_port=h.ports.dashboard, script_port=h.ports.secondary
            ),
        )
        d.connect(5.0)
        try:
            q1 = Q_REACH + np.array([0.6, 0, 0, 0, 0, 0])
            traj: JointTrajectory = joint_move("ur5e", Q_REACH, q1, DT, speed_fraction=0.5)
            p = tmp_path / "fast.npz"
            save_trajectory(traj, p)
            stamp_for_test(p, traj)
            with pytest.raises(DriverFaultError, match="tool speed limit") as err:
                d.execute(traj, traj_path=p).wait_until_done(10.0)
            assert err.value.error_code == "PROTECTIVE_STOP"
            assert d.state().safety.name == "PROTECTIVE_STOP"
        finally:
            d.close()


def test_safety_mode_enum_is_reported() -> None:
    core = ControllerCore(CoreConfig())
    core.protective_stop("safety limit violation: test")
    assert core.safety_mode is SafetyMode.PROTECTIVE_STOP
    assert core.safety_status_bits() & (1 << 2)


def test_streamed_torch_tip_over_the_tool_speed_limit_is_stopped(tmp_path: Path) -> None:
    """The servo program sets the trajectory's TCP: wrist 3 spinning leaves the flange centre still,
    so with the flange as TCP the move completes, while the same joint motion with a torch tip 0.6 m
    off the wrist axis (1.7 m/s at the tip, UR's default limit 1.5 m/s) is protective-stopped."""
    host = "127.0.0.143"
    q0 = Q_HOME.copy()
    spin: JointTrajectory = joint_move(
        "ur5e", q0, q0 + np.array([0, 0, 0, 0, 0, 2.0]), DT, speed_fraction=0.9
    )
    T_flange_tcp = np.eye(4)
    T_flange_tcp[:3, 3] = [0.6, 0.0, 0.1]
    torch = dataclasses.replace(spin, T_flange_tcp=T_flange_tcp, T_world_tcp=spin.T_world_tcp @ T_flange_tcp)
    back: JointTrajectory = joint_move("ur5e", spin.q[-1], q0, DT, speed_fraction=0.9)
    paths = {}
    for name, traj in (("spin", spin), ("back", back), ("torch", torch)):
        paths[name] = tmp_path / f"{name}.npz"
        save_trajectory(traj, paths[name])
        stamp_for_test(paths[name], traj)
    with start_virtual_controller(host, CoreConfig(unlock_delay=0.2), Ports(0, 0, 0, 0, 0)) as h:
        d = URDriver(
            host,
            URDriverConfig(
                rtde_port=h.ports.rtde, dashboard_port=h.ports.dashboard, script_port=h.ports.secondary
            ),
        )
        d.connect(5.0)
        try:
            assert d.execute(spin, traj_path=paths["spin"]).wait_until_done(10.0).outcome.value == "completed"
            assert d.execute(back, traj_path=paths["back"]).wait_until_done(10.0).outcome.value == "completed"
            with pytest.raises(DriverFaultError, match="tool speed limit") as err:
                d.execute(torch, traj_path=paths["torch"]).wait_until_done(10.0)
            assert err.value.error_code == "PROTECTIVE_STOP"
            assert d.state().safety.name == "PROTECTIVE_STOP"
        finally:
            d.close()
