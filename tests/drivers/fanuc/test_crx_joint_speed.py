"""FANUC's joint speed limits apply in FANUC's joint convention (issue 15): the CRX's J3 speed limits
FANUC's J3 = q3 + q2 (the forearm angle), not the model's relative q3. The virtual controller checks
that, and the model's per-joint box (``qd_max``, what the planner and validator use) implies it: a
trajectory at the corner of the box (q2 and q3 both at their limits, adding up on FANUC's J3) runs
through the driver without an alarm, and a command 10 % faster than FANUC's J3 speed is an alarm."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from stamp_helpers import stamp_for_test

from weldcell.drivers.base import ExecutionOutcome, joint_move
from weldcell.drivers.fanuc.config import FanucConfig
from weldcell.drivers.fanuc.driver import FanucDriver
from weldcell.drivers.fanuc.joints import controller_deg_from_q, joint_map
from weldcell.drivers.fanuc.virtual_controller import VirtualFanuc, VirtualFanucConfig
from weldcell.kinematics import load_robot
from weldcell.kinematics.safety import CONTROLLER_JOINT_MAPS, CONTROLLER_JOINT_SPEEDS
from weldcell.trajectory import save_trajectory
from weldcell.trajectory.ops import QUINTIC_PEAK_SPEED, quintic_rest_to_rest

wire = pytest.importorskip("airo_fanuc.testing.wire", reason="airo-fanuc==0.1.0 (test extra)")

START_DEG = (0.0, 10.0, -20.0, 0.0, -60.0, 0.0)  # controller joints


@pytest.fixture
def crx_vc() -> Iterator[VirtualFanuc]:
    ctrl = VirtualFanuc(VirtualFanucConfig(robot="crx10ial", port=0, q_start_deg=START_DEG))
    with ctrl:
        yield ctrl


def _stream_ramp(ctrl: VirtualFanuc, v_ctrl_deg_s: np.ndarray, cycles: int = 30) -> object:
    """Stream controller-joint targets moving at ``v_ctrl_deg_s`` for ``cycles`` 8 ms cycles (after a
    one-cycle ramp at half that speed); returns the last status."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.settimeout(1.0)
        s.connect(ctrl.address)
        s.send(wire.encode_start_packet())
        st = None
        while st is None:
            st = wire.decode_status_packet(s.recv(2048))
        target = np.array([*START_DEG, 0.0, 0.0, 0.0])
        for k in range(cycles):
            target[:6] += v_ctrl_deg_s * ctrl.dt * (0.5 if k == 0 else 1.0)
            s.send(wire.encode_command_packet(st.sequence_no, target.tolist()))
            st = None
            while st is None:
                st = wire.decode_status_packet(s.recv(2048))
            if st.in_error:
                break
        return st
    finally:
        s.close()


def test_box_corner_does_not_trip_and_too_fast_j3_does(crx_vc: VirtualFanuc) -> None:
    robot = load_robot("crx10ial")
    A = np.asarray(CONTROLLER_JOINT_MAPS["crx10ial"], dtype=float)
    box = np.degrees(robot.qd_max)
    # the corner of the box where q2 and q3 add up on FANUC's J3: exactly FANUC's J3 speed
    qd = box * np.array([1, 1, 1, -1, 1, -1])
    v = A @ qd
    assert v[2] == pytest.approx(np.degrees(CONTROLLER_JOINT_SPEEDS["crx10ial"][2]))
    st = _stream_ramp(crx_vc, v)
    assert not st.in_error and not crx_vc.status().alarm, crx_vc.status().alarm
    moved = np.array(crx_vc.status().q_deg[:6]) - START_DEG
    assert moved[2] > 0.5 * v[2] * 29 * crx_vc.dt  # J3 really moved at that speed


def test_j3_faster_than_the_data_sheet_is_an_alarm(crx_vc: VirtualFanuc) -> None:
    """FANUC's J3 at 1.1 × its 180 °/s, with the model's q3 alone within its own box (q2 against it):
    the controller stops it, naming J3."""
    v = np.zeros(6)
    v[1] = -60.0  # J2 = -q2: q2 = +60 °/s (in the box)
    v[2] = 1.1 * 180.0  # J3 = q3 + q2 = 198 °/s
    st = _stream_ramp(crx_vc, v)
    assert st.in_error
    assert "J3" in crx_vc.status().alarm


def test_planned_corner_trajectory_runs_through_the_driver(crx_vc: VirtualFanuc, tmp_path: Path) -> None:
    """A stamped trajectory whose q2 and q3 peak at 90 % of their box limits at the same instant (a
    quintic; FANUC's J3 then peaks at 162 °/s, far above the model's q3 limit of 108 °/s that the old
    check compared it with) completes without an alarm. 90 %: the stream has to absorb a late cycle
    on a loaded test machine (a one-cycle hiccup at 100 % made a 189 °/s step)."""
    d = FanucDriver(FanucConfig(robot="crx10ial", port=crx_vc.address[1], silence=0.5))
    d.stamp_key = None
    d.connect(5.0)
    try:
        m = joint_map("crx10ial")
        q0 = d.state().q
        box = np.asarray(load_robot("crx10ial").qd_max, dtype=float)
        dq = np.zeros(6)
        dq[1], dq[2] = 0.3 * box[1], 0.3 * box[2]  # same duration for both at their box speed
        T = QUINTIC_PEAK_SPEED * dq[2] / (0.9 * box[2])
        q, qd, qdd = quintic_rest_to_rest(q0, q0 + dq, d.dt, T)
        peak = np.abs(qd).max(axis=0)
        assert np.all(peak <= box + 1e-9)  # valid against the model's limits (the duration is rounded up
        assert peak[1:3] == pytest.approx(0.9 * box[1:3], rel=2e-2)  # to whole cycles: within 2 %)
        base = joint_move(d.robot, q0, q0, d.dt)
        n = q.shape[0]
        traj = replace(
            base,
            t=np.arange(n) * d.dt,
            q=q,
            qd=qd,
            qdd=qdd,
            T_world_tcp=load_robot("crx10ial").fk(q),
            arc_on=np.zeros(n, bool),
            seam_index=-np.ones(n, np.int32),
            seam_s=np.full(n, np.nan),
        )
        p = tmp_path / "corner.npz"
        save_trajectory(traj, p)
        stamp_for_test(p, traj)
        h = d.execute(traj, traj_path=p)
        assert h.wait_until_done(20.0).outcome is ExecutionOutcome.COMPLETED
        assert not crx_vc.status().alarm
        j3_speed = np.abs(np.diff(controller_deg_from_q(q, m)[:, 2])) / d.dt
        assert j3_speed.max() > 0.87 * 180.0  # it did use FANUC's full J3 speed
    finally:
        d.close()
