"""The FANUC CRX-10iA/L on Stream Motion: the virtual controller speaks FANUC's joint convention on the
wire (checked with airo-fanuc's codec and an FK written in that convention, not weldcell's), and our
driver streams a validated CRX trajectory through it to the planned end."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from stamp_helpers import stamp_for_test
from test_joints import crx_fk_fanuc_convention

from weldcell.drivers.base import ExecutionOutcome, joint_move
from weldcell.drivers.fanuc.config import FanucConfig
from weldcell.drivers.fanuc.driver import FanucDriver
from weldcell.drivers.fanuc.joints import controller_deg_from_q, joint_map
from weldcell.drivers.fanuc.virtual_controller import VirtualFanuc, VirtualFanucConfig
from weldcell.trajectory import save_trajectory

wire = pytest.importorskip("airo_fanuc.testing.wire", reason="airo-fanuc==0.1.0 (test extra)")

#: Controller joints [deg]: upper arm leaning 15° forward, forearm 10° down, wrist pointing down.
START_DEG = (5.0, 15.0, -10.0, 0.0, -80.0, 30.0)


@pytest.fixture
def crx_vc() -> Iterator[VirtualFanuc]:
    ctrl = VirtualFanuc(VirtualFanucConfig(robot="crx10ial", port=0, q_start_deg=START_DEG))
    with ctrl:
        yield ctrl


def test_status_in_fanuc_convention(crx_vc: VirtualFanuc) -> None:
    """The status packet's joints are the controller's and its XYZ is the faceplate in FANUC's world
    frame (J2 height): both agree with the URDF FK fed with those joints."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.settimeout(1.0)
        s.connect(crx_vc.address)
        s.send(wire.encode_stop_packet())
        s.send(wire.encode_get_capability_packet())
        cap = wire.decode_capability_result_packet(s.recv(2048))
        s.send(wire.encode_start_packet(version_no=cap.available_version))
        st = None
        while st is None:
            st = wire.decode_status_packet(s.recv(2048))
        np.testing.assert_allclose(st.joint_angle_deg[:6], START_DEG, atol=1e-4)
        T_mount_face = crx_fk_fanuc_convention(np.array(st.joint_angle_deg[:6]))
        expect_mm = (T_mount_face[:3, 3] - [0.0, 0.0, 0.245]) * 1000.0
        np.testing.assert_allclose(st.position_deg[:3], expect_mm, atol=0.01)
        s.send(wire.encode_stop_packet())
    finally:
        s.close()


def test_driver_streams_a_crx_trajectory(crx_vc: VirtualFanuc, tmp_path: Path) -> None:
    """J2 and J3 move together (the interaction matters): the driver reads back the start, streams the
    stamped trajectory and ends where planned, in model joints and in controller joints."""
    d = FanucDriver(FanucConfig(robot="crx10ial", port=crx_vc.address[1], silence=0.5))
    d.stamp_key = None
    d.connect(5.0)
    try:
        m = joint_map("crx10ial")
        q0 = d.state().q
        np.testing.assert_allclose(controller_deg_from_q(q0, m), START_DEG, atol=1e-3)
        traj = joint_move(d.robot, q0, q0 + np.radians([0, 8, -6, 0, 5, 0]), d.dt, speed_fraction=0.2)
        p = tmp_path / "crx.npz"
        save_trajectory(traj, p)
        stamp_for_test(p, traj)
        h = d.execute(traj, traj_path=p)
        assert h.wait_until_done(20.0).outcome is ExecutionOutcome.COMPLETED
        deadline = time.monotonic() + 10.0  # generous: the plant's first-order lag settles
        while time.monotonic() < deadline and np.abs(d.state().q - traj.q[-1]).max() > np.radians(0.01):
            time.sleep(0.02)
        np.testing.assert_allclose(d.state().q, traj.q[-1], atol=np.radians(0.01))
        np.testing.assert_allclose(crx_vc.status().q_deg[:6], controller_deg_from_q(traj.q[-1], m), atol=0.01)
        assert not crx_vc.status().alarm
    finally:
        d.close()
