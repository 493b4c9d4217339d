"""Our EGM driver (sensor side) against a test robot whose messages are encoded by abb-robot-client's
shipped ``egm_pb2`` (ABB's descriptor, not our message classes): the virtual ABB controller's robot
logic with the peer's protobuf classes for every byte on the wire, in its own process
(egm_peer_robot.py)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from abb_helpers import Validated
from streaming_helpers import JsonLinePeer, free_udp_port, settled_q, stamped_move
from test_driver_contract import DriverContract

from weldcell.drivers.abb.config import EgmConfig, EgmConfigError
from weldcell.drivers.abb.driver import EgmDriver
from weldcell.drivers.base import ExecutionOutcome, RobotDriver
from weldcell.errors import DriverFaultError, DriverTimeoutError
from weldcell.trajectory import load_trajectory

pytest.importorskip("abb_robot_client._egm_protobuf.egm_pb2", reason="abb-robot-client==0.4.0 (test extra)")

PEER = Path(__file__).resolve().parent / "egm_peer_robot.py"

Q0_DEG = (0.0, 10.0, -10.0, 0.0, 60.0, 0.0)
SILENCE = 3.0  # [s] generous: the machine running the tests is shared and sometimes stalls processes


class PeerRobot(JsonLinePeer):
    """The test robot (peer-encoded virtual ABB controller) in a child process."""

    def __init__(self, port: int, start_deg: Any = Q0_DEG, din: int = 5, comm_timeout: float = 1.0) -> None:
        args = [sys.executable, str(PEER), "--port", str(port), "--din", str(din)]
        args += [
            "--comm-timeout",
            str(comm_timeout),
            "--start-deg=" + ",".join(f"{v:.12f}" for v in start_deg),
        ]
        super().__init__(args, "EGM test robot")
        assert self.hello.get("ready"), self.hello
        self.address = tuple(self.hello["address"])


def start_both(d: EgmDriver, **robot_kw: Any) -> PeerRobot:
    """Bind the driver first (as on a real cell: the sensor is up before RAPID starts EGM), then start
    the robot, then wait for the connection."""
    import threading

    errors: list[BaseException] = []

    def connect() -> None:
        try:
            d.connect(60.0)
        except BaseException as err:  # re-raised in the test thread
            errors.append(err)

    t = threading.Thread(target=connect)
    t.start()
    deadline = time.monotonic() + 10.0
    while d._sock is None and not errors and time.monotonic() < deadline:
        time.sleep(0.005)
    robot = PeerRobot(d.config.port, **robot_kw)
    t.join(90.0)
    if errors:
        robot.stop()
        raise errors[0]
    return robot


@pytest.fixture(scope="module")
def shared_robot() -> Iterator[tuple[int, PeerRobot]]:
    """One test robot for the module (a process start costs seconds on a loaded machine); its
    CommTimeout is long so that the session outlives the gaps between tests' drivers."""
    port = free_udp_port()
    robot = PeerRobot(port, comm_timeout=3600.0)
    yield port, robot
    robot.stop()


@pytest.fixture
def pair(shared_robot: tuple[int, PeerRobot]) -> Iterator[tuple[EgmDriver, PeerRobot]]:
    port, robot = shared_robot
    d = EgmDriver(EgmConfig(robot="irb1520id", port=port, silence=SILENCE))
    try:
        d.connect(20.0)
        yield d, robot
    finally:
        d.close()


class TestEgmDriverContract(DriverContract):
    """The RobotDriver contract (stamp required, limits, stop, digital outputs) over EGM."""

    @pytest.fixture
    def driver(self, pair: tuple[EgmDriver, PeerRobot]) -> Iterator[RobotDriver]:
        yield pair[0]


def test_streams_with_sequence_numbers_and_rate(pair: tuple[EgmDriver, PeerRobot], tmp_path: Path) -> None:
    d, robot = pair
    s0 = d.state()
    assert s0.digital_in == 5 and s0.program_running
    traj, p = stamped_move(d, tmp_path, 0.1)
    st0 = robot.status()
    n0, t0 = d.stats["messages"], time.monotonic()
    res = d.execute(traj, traj_path=p).wait_until_done(20.0)  # type: ignore[arg-type]
    cycles = d.stats["messages"] - n0
    elapsed = time.monotonic() - t0
    assert res.outcome is ExecutionOutcome.COMPLETED
    np.testing.assert_allclose(settled_q(d), traj.q[-1], atol=1e-9)  # type: ignore[attr-defined]
    st = robot.status()
    delta = {k: st[k] - st0[k] for k in ("cycles", "missed", "invalid", "clamped", "sensor_seq_gaps")}
    # every reply carried the next sensor sequence number; the robot followed without clamping
    assert st["running"] and delta["sensor_seq_gaps"] == 0 and delta["invalid"] == 0, delta
    assert delta["clamped"] == 0, delta
    # two Python processes on a shared, overloaded 2-core machine (load 10-13 measured): up to a
    # third of the replies came a sample late (the robot then follows them one sample later)
    assert delta["missed"] <= 0.5 * delta["cycles"], delta
    assert d.stats["lost"] == 0 and d.stats["malformed"] == 0
    assert cycles / elapsed >= 0.5 / d.config.cycle, (cycles, elapsed)  # ≥ half of 250 Hz on a loaded host
    assert d.peer == robot.address  # replies go to the robot's source port


def test_digital_outputs_read_back(pair: tuple[EgmDriver, PeerRobot]) -> None:
    d, robot = pair
    d.set_digital_out(3, True, timeout=2.0)
    assert d.state().digital_output(3) and robot.status()["dout"] == 8
    d.set_digital_out(3, False, timeout=2.0)
    assert robot.status()["dout"] == 0


def test_validated_weld_slice_switches_the_arc(irb1520_validated: Validated) -> None:
    """A slice of the planned and validated IRB 1520ID program: stamp checked, arc DO follows arc_on."""
    traj = load_trajectory(irb1520_validated.traj)
    first_arc = int(np.argmax(traj.arc_on))
    start, end = max(0, first_arc - 150), first_arc + 250
    port = free_udp_port()
    d = EgmDriver(EgmConfig(robot="irb1520id", port=port, silence=SILENCE))
    robot = start_both(d, start_deg=np.degrees(traj.q[start]), comm_timeout=2.0)
    try:
        h = d.execute(traj, traj_path=irb1520_validated.traj, start_index=start, end_index=end)
        arc_before = d.state().digital_output(0)
        arc_seen = False
        while not h.done:
            arc_seen |= d.state().digital_output(0)
            time.sleep(0.01)
        res = h.result
        assert res is not None and res.outcome is ExecutionOutcome.COMPLETED, (res, robot.status())
        assert res.reached_index == end - 1
        assert not arc_before and arc_seen and d.state().digital_output(0)
        np.testing.assert_allclose(settled_q(d), traj.q[end - 1], atol=1e-9)
        assert robot.status()["clamped"] == 0
    finally:
        d.close()
        robot.stop()


class SilentDriver(EgmDriver):
    """Stops answering 10 samples into an execution (fault injection: the sensor process hangs)."""

    def _cycle(self, msg, addr):  # type: ignore[no-untyped-def]
        reply = super()._cycle(msg, addr)
        run = self._run
        if run is not None and run.pos > 10:
            return b""
        return reply


def test_comm_timeout_ends_the_session_and_faults_the_execution(tmp_path: Path) -> None:
    port = free_udp_port()
    d = SilentDriver(EgmConfig(robot="irb1520id", port=port, silence=SILENCE))
    robot = start_both(d, comm_timeout=5.0)  # long: a starved test process must not trip it early
    try:
        traj, p = stamped_move(d, tmp_path, 0.5, speed=0.02)  # 15.8 s: outlasts the CommTimeout
        h = d.execute(traj, traj_path=p)  # type: ignore[arg-type]
        # the robot ends the session after 5 s without replies; its last message says RAPID stopped
        with pytest.raises(DriverFaultError, match=r"RAPID stopped|stopped sending EGM"):
            h.wait_until_done(30.0)
        assert h.result is not None and 10 < h.progress.position < traj.n_samples - 1  # type: ignore[attr-defined]
        st = robot.status()
        assert not st["running"] and "CommTimeout" in st["stop_reason"]
        assert not d.state().digital_output(0)
        assert d.state().safety.value in ("fault", "normal")
    finally:
        d.close()
        robot.stop()


def test_no_controller_is_a_timeout() -> None:
    d = EgmDriver(EgmConfig(robot="irb1520id", port=free_udp_port()))
    t0 = time.monotonic()
    with pytest.raises(DriverTimeoutError, match="EGMRunJoint"):
        d.connect(0.3)
    assert time.monotonic() - t0 < 2.0 and not d.connected


def test_from_url_and_bad_settings() -> None:
    from weldcell.drivers.registry import driver_for_url

    d = driver_for_url("abb-egm://127.0.0.1:6511?robot=irb1520id&sample_rate_ms=8", silence=0.2)
    assert isinstance(d, EgmDriver)
    assert d.config == replace(EgmConfig(), port=6511, cycle=0.008, silence=0.2)
    assert d.dt == 0.008 and not d.connected
    with pytest.raises(EgmConfigError, match=r"multiple of 0\.004"):
        driver_for_url("abb-egm://127.0.0.1:6511?sample_rate_ms=5")
    with pytest.raises(EgmConfigError, match="unknown query parameter"):
        driver_for_url("abb-egm://127.0.0.1:6511?rate=4")
    with pytest.raises(EgmConfigError, match="expected an IP address"):
        EgmConfig(host="robot.local")
