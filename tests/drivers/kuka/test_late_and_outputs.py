"""RSI details the whole-cell runs rely on, with a hand-driven socket on the other side:

* the driver, after a late reply the robot did not apply, goes on from where the robot stands (the
  path slips by a cycle) instead of jumping ahead at twice the planned axis speed;
* the virtual KRC reports the DiO it applied in ``DoutW``, logs the output changes, and its arc
  loopback raises / drops the DiL bit after the configured delay.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from stamp_helpers import stamp_for_test

from weldcell.drivers.base import joint_move
from weldcell.drivers.kuka.config import RsiConfig, RsiConfigError
from weldcell.drivers.kuka.driver import RsiDriver
from weldcell.drivers.kuka.rsi_xml import decode_rob, decode_sen, encode_rob, encode_sen
from weldcell.drivers.kuka.virtual_krc import KrcConfig, VirtualKrc
from weldcell.trajectory import save_trajectory

START = (10.0, -80.0, 95.0, 5.0, 50.0, -20.0)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_driver_slips_the_path_after_a_late_reply(tmp_path: Path) -> None:
    port = _free_udp_port()
    drv = RsiDriver(RsiConfig(robot="kr10_r1420", port=port, cycle=0.012, silence=5.0))
    robot = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    robot.bind(("127.0.0.1", 0))
    robot.settimeout(2.0)
    ipoc = [1000]

    def telegram(delay: int) -> list[float]:
        """One <Rob> telegram standing at START; the reply's AKorr [deg]."""
        ipoc[0] += 12
        robot.sendto(encode_rob(ipoc[0], aipos=START, delay=delay), ("127.0.0.1", port))
        sen = decode_sen(robot.recvfrom(65535)[0])
        assert sen.ipoc_text == str(ipoc[0])
        return [sen.akorr[a] for a in ("A1", "A2", "A3", "A4", "A5", "A6")]

    connect = threading.Thread(target=drv.connect, args=(5.0,))
    connect.start()
    try:
        while connect.is_alive():  # the driver binds, then waits for the first telegram
            time.sleep(0.05)
            ipoc[0] += 12
            robot.sendto(encode_rob(ipoc[0], aipos=START, delay=0), ("127.0.0.1", port))
        connect.join()
        while True:  # drain the replies to the connect telegrams
            try:
                robot.settimeout(0.1)
                robot.recvfrom(65535)
            except TimeoutError:
                break
        robot.settimeout(2.0)
        q0 = np.radians(START)
        traj = joint_move("kr10_r1420", q0, q0 + np.array([0.3, 0.2, -0.2, 0.3, 0.2, 0.3]), 0.012)
        assert traj.n_samples > 12
        p = tmp_path / "m.npz"
        save_trajectory(traj, p)
        stamp_for_test(p, traj)
        h = drv.execute(traj, traj_path=p)
        expect = np.degrees(traj.q - q0)  # absolute AKorr of sample k
        got = [telegram(0) for _ in range(5)]  # samples 0 … 4
        np.testing.assert_allclose(got, expect[:5], atol=1e-5)
        # Delay 1: the reply carrying sample 4 came too late; the robot holds sample 3. The next reply
        # commands sample 4 (one step), not sample 5 (two steps at once).
        np.testing.assert_allclose(telegram(1), expect[4], atol=1e-5)
        np.testing.assert_allclose(telegram(1), expect[5], atol=1e-5)
        # the replies with samples 4 and 5 both late: the robot holds sample 4 (of the reply before
        # them), so the next reply commands sample 5, then 6
        np.testing.assert_allclose(telegram(3), expect[5], atol=1e-5)
        np.testing.assert_allclose(telegram(3), expect[6], atol=1e-5)
        assert drv.late_packets == 3
        h.stop()
        for _ in range(40):
            if h.done:
                break
            telegram(3)
        assert h.done and h.result is not None and h.result.underruns == 3
    finally:
        drv.close()
        robot.close()


def test_krc_reports_outputs_and_loops_the_arc_back() -> None:
    port = _free_udp_port()
    sensor = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sensor.bind(("127.0.0.1", port))
    sensor.settimeout(2.0)
    krc = VirtualKrc(
        KrcConfig(sensor_port=port, cycle=0.012, q_start_deg=START, digin=0b1, arc_loopback=(0, 2, 0.06))
    )
    krc.start()
    seen: list[tuple[int, int, int]] = []  # (ipoc, DoutW, DiL) of each telegram

    def cycle(dio: int) -> None:
        data, addr = sensor.recvfrom(65535)
        tel = decode_rob(data)
        seen.append((tel.ipoc, tel.dout or 0, tel.digin or 0))
        sensor.sendto(encode_sen("ImFree", tel.ipoc_text, [0.0] * 6, dio), addr)

    try:
        for _ in range(3):
            cycle(0)
        for _ in range(12):  # arc on for 12 cycles (144 ms)
            cycle(0b1)
        for _ in range(12):
            cycle(0)
        st = krc.status()
    finally:
        krc.stop()
        sensor.close()
    dout = [d for _, d, _ in seen]
    digin = [i for _, _, i in seen]
    # DoutW reports the DiO applied in the previous cycle
    assert dout == [0] * 4 + [1] * 12 + [0] * 11
    assert all(i & 0b1 for i in digin)  # the configured input stays
    loop = [bool(i & 0b100) for i in digin]
    on = loop.index(True)
    off = on + loop[on:].index(False)
    # the loopback input follows the output after 60 ms: 5-7 cycles of 12 ms late, on and off
    assert 4 + 4 <= on <= 4 + 7 and 16 + 4 <= off <= 16 + 7
    # the controller's log of its output changes: on at the 4th cycle's IPOC, off 12 cycles later
    assert [d for _, d in st.output_log] == [1, 0]
    assert st.output_log[1][0] - st.output_log[0][0] == 12 * 12


@pytest.mark.parametrize("loop", [(0, 40, 0.1), (0, 0, -1.0), (0, 0, float("nan"))])
def test_krc_rejects_a_bad_arc_loopback(loop: tuple[int, int, float]) -> None:
    with pytest.raises(RsiConfigError, match="arc_loopback"):
        KrcConfig(arc_loopback=loop)
