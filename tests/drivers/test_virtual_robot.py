"""RobotDriver contract on the in-process VirtualRobot; also the shared base helpers."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from weldcell.drivers.base import (
    ExecutionOutcome,
    JointLimits,
    SafetyStatus,
    check_trajectory_limits,
    joint_move,
)
from weldcell.drivers.virtual import ArcLoopback, VirtualRobot
from weldcell.errors import DriverError, DriverFaultError, DriverTimeoutError, StampError

Q0 = np.array([0.0, -1.5708, 1.5708, -1.5708, -1.5708, 0.0])


@pytest.fixture
def robot() -> Iterator[VirtualRobot]:
    threads = threading.active_count()
    r = VirtualRobot("ur5e", Q0, time_scale=4.0, arc=ArcLoopback(output=0, input=1, delay=0.05))
    with r:
        yield r
    assert not r.connected
    assert threading.active_count() <= threads  # the simulation thread is gone


def test_execute_completes_and_progress_is_monotone(robot: VirtualRobot) -> None:
    traj = joint_move("ur5e", Q0, Q0 + 0.3, 0.002, speed_fraction=0.5)
    h = robot.execute(traj, force_unvalidated=True)
    seen = []
    while not h.done:
        seen.append(h.progress.position)
        robot.wait_ticks()
    res = h.wait_until_done(1.0)
    assert res.outcome is ExecutionOutcome.COMPLETED and res.reached_index == traj.n_samples - 1
    assert np.all(np.diff(seen) >= 0)
    np.testing.assert_allclose(robot.state().q, traj.q[-1])


def test_slice_stop_and_resume_from_reached_sample(robot: VirtualRobot) -> None:
    traj = joint_move("ur5e", Q0, Q0 + 0.4, 0.002, speed_fraction=0.3)
    h = robot.execute(traj, start_index=0, end_index=traj.n_samples // 2, force_unvalidated=True)
    while h.progress.index < traj.n_samples // 4:
        robot.wait_ticks()
    h.stop()
    res = h.wait_until_done(2.0)
    assert res.outcome is ExecutionOutcome.STOPPED
    assert traj.n_samples // 4 <= res.reached_index < traj.n_samples // 2
    i, a = res.reached_index, res.position - res.reached_index
    np.testing.assert_allclose(robot.state().q, (1 - a) * traj.q[i] + a * traj.q[i + 1], atol=1e-9)
    with pytest.raises(DriverError, match="not at trajectory sample"):
        robot.execute(traj, start_index=0, force_unvalidated=True)


def test_fault_raises_with_reason(robot: VirtualRobot) -> None:
    traj = joint_move("ur5e", Q0, Q0 + 0.4, 0.002, speed_fraction=0.2)
    robot.set_digital_out(0, True)
    h = robot.execute(traj, force_unvalidated=True)
    robot.wait_ticks(3)
    robot.inject_fault("arc lost: no current")
    with pytest.raises(DriverFaultError, match="arc lost") as err:
        h.wait_until_done(1.0)
    assert err.value.error_code == "protective_stop"
    s = robot.state()
    assert s.safety is SafetyStatus.PROTECTIVE_STOP and not s.digital_output(0)
    with pytest.raises(DriverFaultError):
        robot.execute(joint_move("ur5e", s.q, Q0, 0.002), force_unvalidated=True).wait_until_done(1.0)
    robot.reset_fault()
    assert robot.execute(joint_move("ur5e", s.q, Q0, 0.002), force_unvalidated=True).wait_until_done(5.0)


def test_io_and_arc_loopback(robot: VirtualRobot) -> None:
    robot.set_digital_out(0, True)
    robot.wait_for_digital_in(1, True, timeout=1.0)  # arc established after the ignition delay
    robot.set_digital_out(0, False)
    robot.wait_for_digital_in(1, False, timeout=1.0)
    robot.set_analog_out(1, 2.5)
    assert robot.state().analog_out[1] == 2.5
    with pytest.raises(DriverTimeoutError):
        robot.wait_for_digital_in(7, True, timeout=0.02)
    with pytest.raises(DriverError, match="digital outputs are 0 … 15"):  # VirtualRobot.IO
        robot.set_digital_out(16, True)


def test_stamp_and_limits_are_checked(robot: VirtualRobot) -> None:
    traj = joint_move("ur5e", Q0, Q0 + 0.1, 0.002)
    with pytest.raises(StampError):
        robot.execute(traj)
    bad = dataclasses.replace(traj, robot="ur10e")
    with pytest.raises(DriverError, match="planned for robot"):
        robot.execute(bad, force_unvalidated=True)
    with pytest.raises(DriverError, match="slice"):
        robot.execute(traj, start_index=5, end_index=5, force_unvalidated=True)


def test_check_trajectory_limits_names_joint_and_sample() -> None:
    traj = joint_move("ur5e", Q0, Q0 + 0.5, 0.002, speed_fraction=1.0)
    limits = JointLimits(np.full(6, -np.pi), np.full(6, np.pi), np.full(6, 3.5))
    check_trajectory_limits(traj, limits, 0, traj.n_samples)
    slow = JointLimits(limits.q_lower, limits.q_upper, np.full(6, 0.5))
    with pytest.raises(DriverError, match=r"sample \d+: joint shoulder_pan_joint moves at"):
        check_trajectory_limits(traj, slow, 0, traj.n_samples)
    tight = JointLimits(np.full(6, -1.0), limits.q_upper, limits.qd_max)
    with pytest.raises(DriverError, match="outside its limits"):
        check_trajectory_limits(traj, tight, 0, traj.n_samples)


def test_close_is_idempotent() -> None:
    r = VirtualRobot("ur5e", Q0)
    r.close()
    r.connect()
    r.close()
    r.close()
    with pytest.raises(DriverError, match="not connected"):
        r.state()
