"""Socket fuzz campaigns against the virtual UR controller (its own process, 127.0.0.71).

Every server port gets random bytes, truncated headers, oversize length fields, wrong protocol
versions, thousands of connect/disconnects, clients that never read and newline-free floods. After
each campaign a well-formed client must still receive 500 data packages per second, counted per
package (each with its own controller timestamp), every controller thread must be alive and the
controller's memory must stay bounded. Every loop is bounded by a count and a time.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from fuzz_support import blast, bounded, fifo_priority, rss_bytes
from ur_raw_client import DATA, INP, OUT, START, RawRTDE, V

from weldcell.drivers.ur.client.dashboard import DashboardClient
from weldcell.drivers.ur.virtual.controller import Ports, VirtualControllerHandle, start_virtual_controller

HOST = "127.0.0.71"
RATE_FLOOR = 400  # packages/s counted on the socket: 80 % of 500 Hz, margin for the shared 2-core CI box
# ur_rtde exposes only the latest package, so its count is a poll of distinct timestamps from Python,
# which loses samples whenever this process is descheduled: 75 %, as in test_ur_interop.py (a 250 Hz
# stream still fails it)
UR_RTDE_FLOOR = 375
RSS_GROWTH_LIMIT = 96 * 1024 * 1024  # [bytes]
THREADS = {
    "controller-cycle",
    "rtde-accept",
    "dashboard-accept",
    "script-primary-accept",
    "script-secondary-accept",
    "script-realtime-accept",
}


@pytest.fixture(scope="module")
def ctl() -> Iterator[tuple[VirtualControllerHandle, int]]:
    h = start_virtual_controller(HOST, ports=Ports(30004, 0, 0, 0, 0))
    try:
        time.sleep(0.5)
        yield h, rss_bytes(h.pid)
    finally:
        h.stop()


def _state(h: VirtualControllerHandle) -> dict[str, object]:
    with DashboardClient(HOST, port=h.ports.dashboard, timeout=5.0) as d:
        return json.loads(d.command("weldcell state"))  # type: ignore[no-any-return]


def _rate(h: VirtualControllerHandle) -> tuple[int, int, float]:
    """Best of 3: (packages, distinct timestamps, controller time span) in 1 s for a good client."""
    best = (0, 0, 0.0)
    for _ in range(3):
        with RawRTDE(HOST, h.ports.rtde) as c:
            c.start_stream(["timestamp", "actual_q", "robot_mode"])
            got = c.count_packages(1.0)
        if got[1] > best[1]:
            best = got
        if best[1] >= RATE_FLOOR:
            break
    return best


def _ur_rtde_rate() -> int | None:
    """Best of 3: distinct controller timestamps ur_rtde's RTDEReceiveInterface receives in 1 s.

    ``getTimestamp`` is polled every 0.2 ms (> 500 Hz), so each distinct value is one package
    received (not a row of ur_rtde's periodic recorder, which repeats the last package). None when
    ur_rtde is not installed.
    """
    try:
        import rtde_receive
    except ImportError:
        return None
    best = 0
    for _ in range(3):
        r = rtde_receive.RTDEReceiveInterface(HOST, 500.0, ["timestamp", "actual_q"])
        try:
            seen = set()
            with fifo_priority():
                end = time.monotonic() + 1.0
                while time.monotonic() < end:
                    seen.add(r.getTimestamp())
                    time.sleep(0.0002)
            best = max(best, len(seen))
        finally:
            r.disconnect()
        if best >= UR_RTDE_FLOOR:
            break
    return best


def _assert_ur_rtde_rate(what: str) -> None:
    seen = _ur_rtde_rate()
    assert seen is None or seen >= UR_RTDE_FLOOR, f"after {what}: ur_rtde saw {seen} distinct timestamps/s"


def assert_healthy(ctl: tuple[VirtualControllerHandle, int], what: str, peer: bool = True) -> None:
    """Rate (our raw client; ur_rtde too if ``peer``), controller threads, script ports, memory."""
    h, rss0 = ctl
    assert h.is_alive(), f"controller process died during {what}"
    n, distinct, span = _rate(h)
    assert distinct >= RATE_FLOOR, f"after {what}: {distinct} packages/s (distinct timestamps), expected ~500"
    assert n == distinct, f"after {what}: {n} packages but {distinct} distinct timestamps"
    assert span == pytest.approx(1.0, abs=0.25), f"after {what}: controller time advanced {span} s in 1 s"
    if peer:
        _assert_ur_rtde_rate(what)
    state = _state(h)
    missing = THREADS - set(state["threads"])  # type: ignore[arg-type]
    assert not missing, f"after {what}: controller threads died: {sorted(missing)}"
    for port in (h.ports.primary, h.ports.secondary, h.ports.realtime):
        socket.create_connection((HOST, port), timeout=2).close()
    growth = rss_bytes(h.pid) - rss0
    assert growth < RSS_GROWTH_LIMIT, f"after {what}: controller memory grew by {growth / 1e6:.0f} MB"


def _ports(h: VirtualControllerHandle) -> list[int]:
    p = h.ports
    return [p.rtde, p.dashboard, p.primary, p.secondary, p.realtime]


# --- campaigns ------------------------------------------------------------------------------------


def test_random_bytes_every_port(ctl: tuple[VirtualControllerHandle, int]) -> None:
    h, _ = ctl
    rng = np.random.default_rng(12)
    for i in bounded(300, 8.0):
        port = _ports(h)[i % 5]
        blast(HOST, port, rng.bytes(int(rng.integers(1, 8192))))
    assert_healthy(ctl, "random bytes")


def test_rtde_truncated_headers_and_oversize_lengths(ctl: tuple[VirtualControllerHandle, int]) -> None:
    h, _ = ctl
    cases = [
        b"\x00",  # half a size field
        b"\x00\x0c",  # size without type
        b"\x00\x0cU\x01",  # data package cut short
        struct.pack(">HB", 0, ord("V")),  # size below the header
        struct.pack(">HB", 2, ord("V")),
        struct.pack(">HB", 65535, ord("O")) + b"timestamp," * 100,  # announces 64 kB
        struct.pack(">HB", 16385, ord("I")) + b"a" * 16382,  # just over the server's limit
        struct.pack(">HB", 3, ord("U")) * 5000,  # empty data packages
    ]
    for i in bounded(200, 6.0):
        blast(HOST, h.ports.rtde, cases[i % len(cases)], linger=0.002 if i % 7 == 0 else 0.0)
    # several half-sent packages held open at once while the stream runs
    held = []
    for _ in bounded(10, 2.0):
        s = socket.create_connection((HOST, h.ports.rtde), timeout=2)
        s.sendall(struct.pack(">HB", 60000, ord("O")) + b"x" * 1000)
        held.append(s)
    try:
        assert_healthy(ctl, "truncated headers and oversize length fields (10 held open)")
    finally:
        for s in held:
            s.close()


def test_rtde_wrong_protocol_versions_and_sequences(ctl: tuple[VirtualControllerHandle, int]) -> None:
    h, _ = ctl
    rng = np.random.default_rng(5)
    for _ in bounded(150, 6.0):
        try:
            with RawRTDE(HOST, h.ports.rtde, timeout=2.0) as c:
                version = int(rng.choice([0, 3, 4, 255, 65535, 1, 2]))
                ok = c.request(V, struct.pack(">H", version))
                assert ok == (b"\x01" if version in (1, 2) else b"\x00")
                # requests out of order / malformed for the negotiated version
                assert c.request(START) == b"\x00"  # no output recipe yet
                c.request(OUT, b"\x7f\xf8" + b"\x00" * 6 + b"timestamp")  # NaN frequency (v2)
                c.request(OUT, rng.bytes(int(rng.integers(0, 64))))
                c.request(INP, b"input_int_register_30," * int(rng.integers(1, 120)))
                c.send(DATA, bytes([int(rng.integers(0, 256))]) + rng.bytes(int(rng.integers(0, 40))))
                c.send(ord("M"), rng.bytes(int(rng.integers(0, 40))))
                c.send(int(rng.integers(0, 256)), rng.bytes(int(rng.integers(0, 40))))
        except (OSError, ConnectionError):
            pass
    assert_healthy(ctl, "wrong protocol versions and request sequences")


def test_thousands_of_connect_disconnects(ctl: tuple[VirtualControllerHandle, int]) -> None:
    h, _ = ctl
    ports = _ports(h)
    done = 0
    for i in bounded(3000, 12.0):
        try:
            s = socket.create_connection((HOST, ports[i % 5]), timeout=2)
            if i % 3 == 0:  # some reset instead of a clean close
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            done += 1
        except OSError:
            pass
    assert done >= 1000, f"only {done} connect/disconnects in the time budget"
    assert_healthy(ctl, f"{done} connect/disconnects")


def test_clients_that_never_read(ctl: tuple[VirtualControllerHandle, int]) -> None:
    h, _ = ctl
    stalled: list[socket.socket] = []
    try:
        for _ in bounded(4, 3.0):  # RTDE streams of ~2 kB packages at 500 Hz, never read
            c = RawRTDE(HOST, h.ports.rtde)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.start_stream(["timestamp"] + ["actual_q"] * 40)
            stalled.append(c.sock)
        stop = threading.Event()

        def dashboard_flood() -> None:  # commands without reading a single reply
            with socket.create_connection((HOST, h.ports.dashboard), timeout=3) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                for _ in bounded(20000, 6.0):
                    if stop.is_set():
                        return
                    try:
                        s.sendall(b"robotmode\nget robot model\n" * 20)
                    except OSError:
                        return

        t = threading.Thread(target=dashboard_flood, daemon=True)
        t.start()
        try:
            # ur_rtde is polled from this process, where the flood thread competes for the GIL: it
            # is checked once the flood ends (the stalled RTDE clients are still connected)
            assert_healthy(ctl, "4 RTDE clients and a dashboard client that never read", peer=False)
        finally:
            stop.set()
            t.join(10)
        _assert_ur_rtde_rate("4 RTDE clients that never read")
        # the stalled RTDE clients were dropped (the controller counts its RTDE clients)
        assert _state(h)["rtde_clients"] == 0, "clients that never read were not dropped"
    finally:
        for s in stalled:
            s.close()


def test_newline_free_floods(ctl: tuple[VirtualControllerHandle, int]) -> None:
    h, _ = ctl
    for port in (h.ports.dashboard, h.ports.primary, h.ports.secondary, h.ports.realtime):
        with socket.create_connection((HOST, port), timeout=3) as s:
            sent = 0
            t0 = time.monotonic()
            for _ in bounded(4000, 4.0):  # up to 16 MB without a newline
                try:
                    s.sendall(b"A" * 4096)
                    sent += 4096
                except OSError:
                    break
            closed_after = sent
        assert closed_after <= 8 * 1024 * 1024, (
            f"port {port} kept reading {closed_after} bytes without newline"
        )
        assert time.monotonic() - t0 < 10
    # one program just over the size limit on a script port is refused (connection closed)
    with socket.create_connection((HOST, h.ports.secondary), timeout=3) as s:
        body = b"def big():\n" + b"  x = 1\n" * 600_000
        with pytest.raises(OSError):
            for _ in bounded(10, 8.0):
                s.sendall(body)
    assert_healthy(ctl, "newline-free floods and an oversize program")
