"""Our RSI driver (sensor side) driven by rsipi's EchoServer, an independent KUKA robot emulator.

The emulator runs in its own process (it binds 0.0.0.0:50000 and writes logs/ into its working
directory, a temporary folder); it owns the IPOC clock, checks the IPOC echo and SENTYPE of every
reply, counts late/invalid packets into ``Delay`` and breaks RSI off past its Timeout budget. Its
configuration is the Ethernet XML our exporter writes for the driver.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kuka_helpers import Validated
from streaming_helpers import JsonLinePeer, free_udp_port, settled_q, stamped_move

from weldcell.drivers.base import ExecutionOutcome
from weldcell.drivers.kuka.config import RsiConfig
from weldcell.drivers.kuka.driver import RsiDriver
from weldcell.drivers.kuka.rsi_files import ethernet_config_xml
from weldcell.drivers.kuka.rsi_xml import RobTelegram
from weldcell.errors import DriverFaultError
from weldcell.trajectory import load_trajectory

pytest.importorskip("RSIPI.rsi_echo_server", reason="rsipi==0.3.0 (test extra, installed with --no-deps)")

PEER = Path(__file__).resolve().parent / "rsipi_echo_peer.py"


class EchoPeer(JsonLinePeer):
    """rsipi's EchoServer in a child process."""

    def __init__(
        self, tmp: Path, config: RsiConfig, *, timeout_packets: int = 100, start_deg: Any = None
    ) -> None:
        xml = tmp / "rsi_eth.xml"
        xml.write_text(ethernet_config_xml(config))
        args = [
            sys.executable,
            str(PEER),
            str(xml),
            "--delay-ms",
            str(config.cycle_ms),
            "--mode",
            config.mode,
        ]
        args += ["--timeout-packets", str(timeout_packets), "--digin", "5"]
        if start_deg is not None:
            args += ["--start-deg=" + ",".join(f"{v:.6f}" for v in start_deg)]
        super().__init__(args, "rsipi EchoServer", cwd=tmp, stop_wait=5.0)
        assert self.hello.get("ready"), "rsipi EchoServer did not start"


@pytest.fixture
def rsi(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[RsiDriver, EchoPeer]]:
    params: dict[str, Any] = getattr(request, "param", {})
    # the EchoServer has no STOP object: closing waits end_timeout for telegrams that keep coming
    fields = {"end_timeout": 0.2, **params.get("config", {})}
    cfg = RsiConfig(robot="kr10_r1420", host="127.0.0.1", port=free_udp_port(), **fields)
    peer = EchoPeer(
        tmp_path, cfg, timeout_packets=params.get("timeout_packets", 100), start_deg=params.get("start")
    )
    driver = params.get("cls", RsiDriver)(cfg)
    try:
        driver.connect(5.0)
        yield driver, peer
    finally:
        driver.close()
        peer.stop()


# rsipi sends AIPos with 2 decimals of a degree: the absolute reference (the first AIPos) and each
# reading are rounded by up to 0.005°, so positions agree to 0.01° (+ float noise).
ATOL = np.radians(0.0101)

MODES = [
    {"config": {"cycle": 0.004, "mode": "absolute"}},
    {"config": {"cycle": 0.004, "mode": "relative"}},
    {"config": {"cycle": 0.012, "mode": "absolute"}},
    {"config": {"cycle": 0.012, "mode": "relative"}},
]


@pytest.mark.parametrize("rsi", MODES, indirect=True, ids=["4ms-abs", "4ms-rel", "12ms-abs", "12ms-rel"])
def test_streams_move_and_back(rsi: tuple[RsiDriver, EchoPeer], tmp_path: Path) -> None:
    d, peer = rsi
    s0 = d.state()
    assert s0.mode.value == "running" and s0.digital_in == 5  # DiL from the emulator
    n0 = d.stats["telegrams"]
    t0 = time.monotonic()
    traj, p = stamped_move(d, tmp_path, 0.1)
    res = d.execute(traj, traj_path=p).wait_until_done(20.0)
    assert res.outcome is ExecutionOutcome.COMPLETED
    # the emulator's AIPos (2 decimals of a degree) is the commanded end
    np.testing.assert_allclose(settled_q(d), traj.q[-1], atol=ATOL)
    st = peer.status()
    np.testing.assert_allclose(list(st["AIPos"].values()), np.degrees(traj.q[-1]), atol=0.0101)
    back, pb = stamped_move(d, tmp_path, -0.1)
    assert d.execute(back, traj_path=pb).wait_until_done(20.0).outcome is ExecutionOutcome.COMPLETED
    np.testing.assert_allclose(settled_q(d), s0.q, atol=ATOL)
    elapsed = time.monotonic() - t0
    cycles = d.stats["telegrams"] - n0
    st = peer.status()
    # a Python sensor on a loaded 2-core machine misses the odd cycle: few, and reported exactly
    assert st["running"] and st["faulty_packets"] <= 0.05 * cycles, (st, cycles)
    time.sleep(0.05)
    assert d.late_packets == peer.status()["Delay"]["D"]
    assert d.peer is not None and d.peer[1] == 50000  # replies go to the source port
    # the emulator paces with sleep(): at least half the nominal rate on a loaded 2-core machine
    assert cycles / elapsed >= 0.5 / d.config.cycle, (cycles, elapsed)


@pytest.mark.parametrize("rsi", [MODES[0]], indirect=True)
def test_digital_outputs_read_back(rsi: tuple[RsiDriver, EchoPeer]) -> None:
    d, peer = rsi
    d.set_digital_out(3, True, timeout=2.0)
    assert d.state().digital_output(3) and peer.status()["DoutW"] == 8
    d.set_digital_out(3, False, timeout=2.0)
    assert peer.status()["DoutW"] == 0


def test_validated_weld_slice_with_arc(kr10_validated: Validated, tmp_path: Path) -> None:
    """A slice of the planned and validated KR 10 program: stamp checked, arc output follows arc_on."""
    traj = load_trajectory(kr10_validated.traj)
    first_arc = int(np.argmax(traj.arc_on))
    start = max(0, first_arc - 150)  # 0.3 s before the arc starts ...
    end = first_arc + 250  # ... to 0.5 s into the weld
    cfg = RsiConfig(robot="kr10_r1420", host="127.0.0.1", port=free_udp_port())
    peer = EchoPeer(tmp_path, cfg, start_deg=np.degrees(traj.q[start]))
    d = RsiDriver(cfg)
    try:
        d.connect(5.0)
        h = d.execute(traj, traj_path=kr10_validated.traj, start_index=start, end_index=end)
        arc_seen = False
        while not h.done:
            arc_seen |= d.state().digital_output(0)
            time.sleep(0.01)
        res = h.wait_until_done(1.0)
        assert res.outcome is ExecutionOutcome.COMPLETED and res.reached_index == end - 1
        assert arc_seen and d.state().digital_output(0)  # still welding at the end of the slice
        np.testing.assert_allclose(settled_q(d), traj.q[end - 1], atol=ATOL)
        assert peer.status()["faulty_packets"] == 0
    finally:
        d.close()
        peer.stop()


class LateDriver(RsiDriver):
    """Answers every 10th telegram 3 cycles late (fault injection)."""

    def _cycle(self, tel: RobTelegram, addr: tuple[str, int]) -> bytes:
        reply = super()._cycle(tel, addr)
        if self.stats["telegrams"] % 10 == 0 and self.stats["telegrams"] > 20:
            time.sleep(3 * self.config.cycle)
        return reply


class WrongIpocDriver(RsiDriver):
    """Echoes IPOC + 1 after 50 telegrams (fault injection)."""

    def _cycle(self, tel: RobTelegram, addr: tuple[str, int]) -> bytes:
        reply = super()._cycle(tel, addr)
        if self.stats["telegrams"] > 50:
            reply = reply.replace(
                f"<IPOC>{tel.ipoc_text}</IPOC>".encode(), f"<IPOC>{tel.ipoc + 1}</IPOC>".encode()
            )
        return reply


class SilentDriver(RsiDriver):
    """Does not answer telegrams 40 … 59 (fault injection: an empty reply is not sent)."""

    def _cycle(self, tel: RobTelegram, addr: tuple[str, int]) -> bytes:
        reply = super()._cycle(tel, addr)
        return b"" if 40 <= self.stats["telegrams"] < 60 else reply


# a budget the 20 dropped replies cannot exhaust even when a loaded machine adds late ones of its own
@pytest.mark.parametrize("rsi", [{"cls": LateDriver, "timeout_packets": 1000}], indirect=True)
def test_late_replies_are_counted_and_reported(rsi: tuple[RsiDriver, EchoPeer], tmp_path: Path) -> None:
    d, peer = rsi
    traj, p = stamped_move(d, tmp_path, 0.05)
    res = d.execute(traj, traj_path=p).wait_until_done(30.0)
    st = peer.status()
    assert st["faulty_packets"] > 0 and st["running"]
    assert res.outcome is ExecutionOutcome.COMPLETED and res.underruns > 0
    # the driver and the robot judge lateness on their own clocks: under load they can differ by a
    # reply that arrived at the edge of the cycle
    assert abs(d.late_packets - st["Delay"]["D"]) <= 2
    # absolute corrections: the robot still ends where the trajectory ends
    np.testing.assert_allclose(settled_q(d), traj.q[-1], atol=ATOL)


@pytest.mark.parametrize("rsi", [{"cls": LateDriver, "config": {"late_limit": 0}}], indirect=True)
def test_late_limit_faults_execution(rsi: tuple[RsiDriver, EchoPeer], tmp_path: Path) -> None:
    d, _ = rsi
    traj, p = stamped_move(d, tmp_path, 0.05)
    with pytest.raises(DriverFaultError, match="late RSI packets"):
        d.execute(traj, traj_path=p).wait_until_done(30.0)


@pytest.mark.parametrize("rsi", [{"cls": WrongIpocDriver, "timeout_packets": 20}], indirect=True)
def test_wrong_ipoc_breaks_rsi_off(rsi: tuple[RsiDriver, EchoPeer], tmp_path: Path) -> None:
    d, peer = rsi
    traj, p = stamped_move(d, tmp_path, 0.1, speed=0.05)
    with pytest.raises(DriverFaultError, match=r"RSITimeout|KSS29002"):
        d.execute(traj, traj_path=p).wait_until_done(30.0)
    st = peer.status()
    assert not st["running"] and st["faulty_packets"] == 21  # broke off when the budget of 20 was exceeded
    assert d.state().safety.value == "fault"


@pytest.mark.parametrize("rsi", [{"cls": SilentDriver}], indirect=True)
def test_silence_is_charged_as_late_packets(rsi: tuple[RsiDriver, EchoPeer], tmp_path: Path) -> None:
    d, peer = rsi
    deadline = time.monotonic() + 5
    while d.stats["telegrams"] < 120 and time.monotonic() < deadline:
        time.sleep(0.02)
    st = peer.status()
    assert st["running"] and 15 <= st["faulty_packets"] <= 25
    time.sleep(0.1)
    assert d.late_packets == peer.status()["Delay"]["D"]


def test_echo_server_accepts_the_stop_element(rsi: tuple[RsiDriver, EchoPeer]) -> None:
    """rsipi's EchoServer, configured with our Ethernet XML (with the ``Stop`` RECEIVE element), takes
    replies carrying ``<Stop>0</Stop>`` and ``<Stop>1</Stop>`` as valid: it ignores the element (it has
    no STOP object), so the driver's end_session reports that the robot kept sending."""
    d, peer = rsi
    assert d.config.stop_element
    time.sleep(0.3)
    before = peer.status()
    end = d.end_session(timeout=0.4)
    after = peer.status()
    assert before["running"] and after["running"]
    # a rejected element would make every reply faulty (~100 in 0.4 s) and break RSI off; allow the
    # odd late reply of a loaded machine
    assert after["faulty_packets"] - before["faulty_packets"] <= 5
    assert after["ipoc"] > before["ipoc"]
    assert not end.ended and end.stop_replies > 10 and "STOP object" in end.message


def test_from_url() -> None:
    from weldcell.drivers.registry import driver_for_url

    d = driver_for_url("kuka-rsi://127.0.0.1:49152?robot=kr6_r900&cycle_ms=12&mode=relative", late_limit=3)
    assert isinstance(d, RsiDriver)
    assert d.config == replace(
        RsiConfig(), robot="kr6_r900", port=49152, cycle=0.012, mode="relative", late_limit=3
    )
    assert d.dt == 0.012 and not d.connected


def _run_schedule(sock: socket.socket, schedule: list[tuple[str, float]]) -> RobTelegram:
    """Answer the robot's telegrams per ``schedule`` ((kind, A1 correction [deg])); return the next one."""
    from weldcell.drivers.kuka.rsi_xml import decode_rob, encode_sen

    sock.settimeout(3.0)
    data, addr = sock.recvfrom(65535)
    sock.setblocking(False)
    try:  # answer the newest telegram only (older ones queued before we listened)
        while True:
            data, addr = sock.recvfrom(65535)
    except BlockingIOError:
        pass
    sock.settimeout(3.0)
    tel = decode_rob(data)
    for kind, a1 in schedule:
        corr = [a1, 0.0, 0.0, 0.0, 0.0, 0.0]
        if kind == "ok":
            sock.sendto(encode_sen("ImFree", tel.ipoc_text, corr, 0), addr)
        elif kind == "ipoc":
            sock.sendto(encode_sen("ImFree", str(tel.ipoc + 1), corr, 0), addr)
        elif kind == "sentype":
            sock.sendto(encode_sen("Other", tel.ipoc_text, corr, 0), addr)
        data, addr = sock.recvfrom(65535)
        tel = decode_rob(data)
    return tel


@pytest.mark.parametrize("mode", ["absolute", "relative"])
def test_holdon_and_delay_match_rsipi(tmp_path: Path, mode: str) -> None:
    """The same reply schedule (valid, wrong IPOC, wrong SENTYPE, none, valid) fed to rsipi's EchoServer
    and to our virtual KRC gives the same Delay count and the same A1 set-point (HOLDON as exported)."""
    from weldcell.drivers.kuka.virtual_krc import KrcConfig, VirtualKrc

    start = (10.0, -80.0, 95.0, 5.0, 50.0, -20.0)
    if mode == "absolute":
        schedule = [("ok", 0.0)] * 3 + [
            ("ok", 0.5),
            ("ipoc", 2.0),
            ("sentype", 3.0),
            ("none", 0.0),
            ("ok", 0.5),
        ]
    else:
        schedule = [("ok", 0.0)] * 3 + [
            ("ok", 0.5),
            ("ipoc", 2.0),
            ("sentype", 3.0),
            ("none", 0.0),
            ("ok", 0.25),
        ]
    results = []
    for side in ("rsipi", "ours"):
        port = free_udp_port()
        cfg = RsiConfig(robot="kr10_r1420", port=port, cycle=0.012, mode=mode)  # type: ignore[arg-type]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", port))
        peer: EchoPeer | None = None
        krc: VirtualKrc | None = None
        try:
            if side == "rsipi":
                peer = EchoPeer(tmp_path, cfg, start_deg=start)
            else:
                krc = VirtualKrc(KrcConfig(sensor_port=port, cycle=0.012, mode=mode, q_start_deg=start))  # type: ignore[arg-type]
                krc.start()
            tel = _run_schedule(sock, schedule)
            # the set-point: our plant's AIPos follows it one cycle later, rsipi's at once
            assert tel.aspos is not None and tel.delay is not None
            results.append((tel.delay, round(tel.aspos[0], 2)))
        finally:
            sock.close()
            if peer is not None:
                peer.stop()
            if krc is not None:
                krc.stop()
    expected_a1 = start[0] + 0.5 if mode == "absolute" else start[0] + 0.75
    assert results[0] == results[1] == (3, expected_a1), results
