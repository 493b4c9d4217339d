"""Our virtual KRC (robot side of RSI): with our driver (the generic driver contract + faults)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from stamp_helpers import stamp_for_test
from streaming_helpers import free_udp_port
from test_driver_contract import DriverContract

from weldcell.drivers.base import ExecutionOutcome, RobotDriver, joint_move
from weldcell.drivers.kuka.config import RsiConfig, RsiConfigError
from weldcell.drivers.kuka.driver import RsiDriver
from weldcell.drivers.kuka.rsi_xml import RobTelegram, decode_rob, encode_sen
from weldcell.drivers.kuka.virtual_krc import KrcConfig, VirtualKrc
from weldcell.errors import DriverFaultError
from weldcell.trajectory import save_trajectory

START = (10.0, -80.0, 95.0, 5.0, 50.0, -20.0)


def pair(
    *,
    cycle: float = 0.004,
    mode: str = "absolute",
    timeout_packets: int = 100,
    start: tuple[float, ...] = START,
) -> tuple[RsiDriver, VirtualKrc]:
    port = free_udp_port()
    krc = VirtualKrc(
        KrcConfig(
            robot="kr10_r1420",
            sensor_port=port,
            cycle=cycle,
            mode=mode,  # type: ignore[arg-type]
            timeout_packets=timeout_packets,
            q_start_deg=start,
            digin=1,
        )
    )
    drv = RsiDriver(RsiConfig(robot="kr10_r1420", port=port, cycle=cycle, mode=mode, silence=0.3))  # type: ignore[arg-type]
    krc.start()
    drv.connect(5.0)
    return drv, krc


class TestRsiDriverOnVirtualKrc(DriverContract):
    """The generic RobotDriver contract, RSI driver against the virtual KRC."""

    @pytest.fixture
    def driver(self) -> Iterator[RobotDriver]:
        drv, krc = pair()
        try:
            yield drv
        finally:
            drv.close()
            krc.stop()


@pytest.mark.parametrize("cycle", [0.004, 0.012])
@pytest.mark.parametrize("mode", ["absolute", "relative"])
def test_follows_trajectory(cycle: float, mode: str, tmp_path: Path) -> None:
    drv, krc = pair(cycle=cycle, mode=mode)
    try:
        q0 = drv.state().q
        np.testing.assert_allclose(np.degrees(q0), START, atol=1e-4)
        traj = joint_move(
            drv.robot, q0, q0 + np.array([0.2, -0.1, 0.15, 0.3, -0.2, 0.4]), drv.dt, speed_fraction=0.5
        )
        p = tmp_path / "m.npz"
        save_trajectory(traj, p)
        stamp_for_test(p, traj)
        res = drv.execute(traj, traj_path=p).wait_until_done(20.0)
        assert res.outcome is ExecutionOutcome.COMPLETED
        time.sleep(5 * cycle)
        st = krc.status()
        np.testing.assert_allclose(np.radians(st.setpoint_deg), traj.q[-1], atol=1e-6)
        np.testing.assert_allclose(drv.state().q, traj.q[-1], atol=2e-6)  # AIPos has 4 decimals of a degree
        assert st.running and st.invalid == 0
        assert drv.delay == st.late  # the controller's counter, as the driver sees it in Delay
        # (late-packet rates are measured with the controller in its own process: test_krc_cli.py)
    finally:
        drv.close()
        krc.stop()


class MutedDriver(RsiDriver):
    """Stops answering once ``mute`` is set (fault injection: a sensor that hangs)."""

    mute = False

    def _cycle(self, tel: RobTelegram, addr: tuple[str, int]) -> bytes:
        reply = super()._cycle(tel, addr)
        return b"" if self.mute else reply


def test_silence_breaks_off_with_rsitimeout(tmp_path: Path) -> None:
    """The sensor goes silent in the middle of a move: after Timeout late packets the KRC breaks off and
    the driver faults the execution with the controller's message."""
    port = free_udp_port()
    krc = VirtualKrc(KrcConfig(sensor_port=port, timeout_packets=25, q_start_deg=START))
    drv = MutedDriver(RsiConfig(robot="kr10_r1420", port=port, silence=0.3))
    krc.start()
    try:
        drv.connect(5.0)
        q0 = drv.state().q
        traj = joint_move(drv.robot, q0, q0 + 0.3, drv.dt, speed_fraction=0.05)
        p = tmp_path / "m.npz"
        save_trajectory(traj, p)
        stamp_for_test(p, traj)
        h = drv.execute(traj, traj_path=p)
        time.sleep(0.2)
        late_before = krc.status().late
        drv.mute = True
        assert krc.done.wait(5.0)
        st = krc.status()
        assert not st.running and "RSITimeout" in st.stop_reason and "KSS29002" in st.stop_reason
        assert st.late == 26 and late_before <= 25
        with pytest.raises(DriverFaultError, match="RSITimeout"):
            h.wait_until_done(3.0)
        assert drv.state().safety.value == "fault"
    finally:
        drv.close()
        krc.stop()


def test_hold_on_and_late_counting_raw_socket() -> None:
    """A hand-driven sensor socket: valid, wrong-IPOC, wrong-SENTYPE, late and no replies, and what the
    controller does with each (Delay, HOLDON in absolute and relative mode)."""
    # (mode, HOLDON, expected A1 after +0.5° then three rejected cycles)
    cases = (("absolute", 1, 10.5), ("absolute", 0, 10.0), ("relative", 0, 10.5), ("relative", 1, 12.0))
    for mode, hold, expected in cases:
        port = free_udp_port()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", port))
        sock.settimeout(2.0)
        krc = VirtualKrc(KrcConfig(sensor_port=port, cycle=0.012, mode=mode, holdon=hold, q_start_deg=START))  # type: ignore[arg-type]
        krc.start()
        try:

            def answer(
                corr: list[float], *, ipoc_shift: int = 0, sentype: str = "ImFree", sock: socket.socket = sock
            ) -> tuple[int, int]:
                data, addr = sock.recvfrom(65535)
                tel = decode_rob(data)
                sock.sendto(encode_sen(sentype, str(tel.ipoc + ipoc_shift), corr, 0), addr)
                return tel.ipoc, tel.delay or 0

            answer([0.0] * 6)
            answer([0.5, 0, 0, 0, 0, 0])
            _, d0 = answer([0.5, 0, 0, 0, 0, 0], ipoc_shift=1)  # wrong IPOC: rejected
            answer([0.5, 0, 0, 0, 0, 0], sentype="Other")  # wrong SENTYPE: rejected
            sock.recvfrom(65535)  # no reply at all
            data, _ = sock.recvfrom(65535)
            tel = decode_rob(data)
            assert tel.delay == d0 + 3
            st = krc.status()
            assert st.invalid == 2 and st.late == 3
            assert tel.aspos is not None
            assert tel.aspos[0] == pytest.approx(expected, abs=1e-4), (mode, hold)
        finally:
            krc.stop()
            sock.close()


def test_software_limit_switch_stops(tmp_path: Path) -> None:
    port = free_udp_port()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(2.0)
    krc = VirtualKrc(KrcConfig(sensor_port=port, cycle=0.012, q_start_deg=(0, -90, 162.9, 0, 0, 0)))
    krc.start()
    try:
        k = 0
        while not krc.done.is_set():
            try:
                data, addr = sock.recvfrom(65535)
            except TimeoutError:
                break
            tel = decode_rob(data)
            sock.sendto(encode_sen("ImFree", tel.ipoc_text, [0, 0, 0.05 * k, 0, 0, 0], 0), addr)
            k += 1
        assert krc.done.wait(2.0)
        st = krc.status()
        assert not st.running and "Software limit switch +A3" in st.stop_reason
        assert st.setpoint_deg[2] <= 163.0
    finally:
        krc.stop()
        sock.close()


def test_bad_config() -> None:
    with pytest.raises(RsiConfigError, match="cycle"):
        KrcConfig(cycle=0.005)
    with pytest.raises(RsiConfigError, match="outside the axis range"):
        VirtualKrc(KrcConfig(q_start_deg=(0, 80, 0, 0, 0, 0)))
