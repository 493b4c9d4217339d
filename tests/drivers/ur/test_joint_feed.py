"""The RTDE joint feed (a second client on ``actual_q``) against the virtual UR controller on
loopback: the newest joints, beside another client, and an error once the stream stops."""

from __future__ import annotations

import time

import numpy as np
import pytest

from weldcell.drivers.ur.client.rtde_client import RTDEClient
from weldcell.drivers.ur.joint_feed import RTDEJointFeed, open_joint_feed
from weldcell.drivers.ur.virtual.controller import Ports, start_virtual_controller
from weldcell.drivers.ur.virtual.core import CoreConfig
from weldcell.errors import DriverConnectionError

HOST = "127.0.0.37"
Q = (0.3, -1.7, 1.6, -1.5, -1.57, 0.2)


def test_joint_feed_reads_actual_q_and_fails_when_the_stream_stops() -> None:
    h = start_virtual_controller(HOST, CoreConfig(arm="ur10e", q_home=Q), Ports(0, 0, 0, 0, 0))
    try:
        other = RTDEClient(HOST, h.ports.rtde)  # the cell's driver has its own subscription
        other.connect()
        other.negotiate_protocol()
        other.setup_outputs(["actual_q", "timestamp"], 125.0)
        other.start()
        feed = open_joint_feed(f"ur://{HOST}:{h.ports.rtde}")
        try:
            np.testing.assert_allclose(feed(), Q, atol=1e-9)
            assert other.receive(timeout=2.0)["actual_q"] == pytest.approx(list(Q))
            # non-blocking: the newest sample is kept by the reader thread. 500 calls that each waited
            # for a package of the 500 Hz stream would take >= 1 s; non-blocking ones take
            # microseconds, so 0.5 s leaves a loaded host room to preempt this thread
            t0 = time.monotonic()
            for _ in range(500):
                feed()
            assert time.monotonic() - t0 < 0.5
        finally:
            other.close()
            h.stop()
        deadline = time.monotonic() + 10.0
        with pytest.raises(DriverConnectionError, match="no current actual_q"):
            while time.monotonic() < deadline:
                feed()
                time.sleep(0.05)
        feed.close()
        feed.close()  # idempotent
    finally:
        h.stop()


@pytest.mark.parametrize("url", ["ur://127.0.0.1", "kuka-rsi://127.0.0.1:49152", "nonsense"])
def test_joint_feed_url_must_name_host_and_rtde_port(url: str) -> None:
    with pytest.raises(DriverConnectionError, match="expected ur://HOST:RTDE_PORT"):
        open_joint_feed(url)


def test_joint_feed_refused_connection_is_a_driver_error() -> None:
    with pytest.raises(DriverConnectionError, match="cannot connect to RTDE"):
        RTDEJointFeed("127.0.0.37", 9, timeout=0.5)
