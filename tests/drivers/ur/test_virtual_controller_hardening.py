"""The virtual UR controller rejects what the real one rejects and keeps its cycle under bad clients.

Functional checks of the limits (package size, inputs, program folder, skipped cycles) on an
in-process controller with ephemeral ports; the socket fuzz campaigns live in ``tests/drivers/fuzz``.
"""

from __future__ import annotations

import logging
import math
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ur_raw_client import DATA, OUT, START, RawRTDE, V
from waiting import wait_until

from weldcell.drivers.ur.client.dashboard import DashboardClient
from weldcell.drivers.ur.virtual import controller as vcm
from weldcell.drivers.ur.virtual.controller import Ports, VirtualController


@pytest.fixture
def vc(tmp_path: Path) -> Iterator[VirtualController]:
    (tmp_path / "programs").mkdir()
    c = VirtualController("127.0.0.1", ports=Ports(0, 0, 0, 0, 0), program_dir=tmp_path / "programs")
    c.start()
    try:
        yield c
    finally:
        c.close()


def _rtde(vc: VirtualController) -> RawRTDE:
    return RawRTDE("127.0.0.1", vc.ports.rtde)


# --- 2: output/input recipes over UR's 2048-byte package limit ----------------------------------


def test_output_recipe_over_2048_bytes_refused_v2(vc: VirtualController) -> None:
    with _rtde(vc) as c:
        assert c.request(V, struct.pack(">H", 2)) == b"\x01"
        # 42 × VECTOR6D = 2016 B + 3 header + 1 id + 8 timestamp = 2028 B: accepted
        rid, types = c.setup_outputs(["timestamp"] + ["actual_q"] * 42)
        assert rid == 1 and types == ["DOUBLE"] + ["VECTOR6D"] * 42
        # 43 × VECTOR6D = 2068 B: refused with recipe id 0 (types still listed, as for any failed setup)
        rid, types = c.setup_outputs(["actual_q"] * 43)
        assert rid == 0 and types == ["VECTOR6D"] * 43
        rid, _ = c.setup_outputs(["actual_q"] * 1400)  # the case: used to kill the cycle thread
        assert rid == 0
        rid, types = c.setup_outputs(["timestamp", "no_such_field"])
        assert rid == 0 and types == ["DOUBLE", "NOT_FOUND"]
    with _rtde(vc) as c:
        assert c.request(V, struct.pack(">H", 2)) == b"\x01"
        rid, _ = c.setup_outputs(["actual_q"] * 1400)
        assert rid == 0
        assert c.request(START) == b"\x00", "START must fail without an accepted output recipe"
    # the controller is alive and streams to a good client
    with _rtde(vc) as c:
        c.start_stream()
        n, distinct, _ = c.count_packages(0.3)
        assert distinct > 50 and n == distinct


def test_output_recipe_over_limit_refused_v1(vc: VirtualController) -> None:
    with _rtde(vc) as c:
        assert c.request(V, struct.pack(">H", 1)) == b"\x01"
        reply = c.request(OUT, ",".join(["actual_q"] * 100).encode())  # v1: types only, no id
        assert reply.decode().split(",") == ["VECTOR6D"] * 100
        assert c.request(START) == b"\x00"


def test_input_recipe_over_limit_refused(vc: VirtualController) -> None:
    with _rtde(vc) as c:
        assert c.request(V, struct.pack(">H", 2)) == b"\x01"
        names = [f"input_double_register_{i}" for i in range(48)] * 6  # 288 × 8 B > 2048 B
        rid, _ = c.setup_inputs(names)
        assert rid == 0
        rid, types = c.setup_inputs(["input_int_register_30"])
        assert rid == 1 and types == ["INT32"]


def test_client_package_length_field_bounded(vc: VirtualController) -> None:
    with _rtde(vc) as c:
        c.sock.sendall(struct.pack(">HB", 65000, OUT) + b"x" * 100)
        with pytest.raises((ConnectionError, OSError)):
            for _ in range(10):
                c.recv_package()


# --- 5: RTDE inputs validated like the real controller ----------------------------------------


def test_inputs_nan_inf_out_of_range_rejected(
    vc: VirtualController, caplog: pytest.LogCaptureFixture
) -> None:
    core = vc.core
    with _rtde(vc) as c:
        assert c.request(V, struct.pack(">H", 2)) == b"\x01"
        names = ["speed_slider_mask", "speed_slider_fraction"]
        rid, _ = c.setup_inputs(names)
        for bad in (math.nan, math.inf, -0.5, 1.5):
            c.send(DATA, struct.pack(">BId", rid, 1, bad))
        c.send(DATA, struct.pack(">BId", rid, 1, 0.25))
        a_names = [
            "standard_analog_output_mask",
            "standard_analog_output_type",
            "standard_analog_output_0",
            "standard_analog_output_1",
        ]
        rid_a, _ = c.setup_inputs(a_names)
        c.send(DATA, struct.pack(">BBBdd", rid_a, 1, 0, 0.5, 0.0))  # output 0: 0.5, current mode
        c.send(DATA, struct.pack(">BBBdd", rid_a, 3, 3, math.inf, -math.inf))  # both rejected
        c.send(DATA, struct.pack(">BBBdd", rid_a, 3, 3, math.nan, 2.0))  # both rejected
        # type bits outside the mask must not apply: mask output 1 only, type asks voltage for both
        c.send(DATA, struct.pack(">BBBdd", rid_a, 2, 3, 9.9, 0.75))
        rid_r, _ = c.setup_inputs(["input_double_register_30"])
        c.send(DATA, struct.pack(">Bd", rid_r, 2.5))
        c.send(DATA, struct.pack(">Bd", rid_r, math.nan))

        def all_applied() -> bool:  # the server thread took every package (the last is rejected)
            with core.lock:
                return core.rejected_inputs >= 4 + 2 + 2 + 1

        wait_until(all_applied, what="the controller to take the 9 rejected inputs")
    with core.lock:
        assert core.speed_slider == 0.25
        assert core.analog_out == [0.5, 0.75]
        assert core.analog_out_type == 0b10, "type bit of output 0 applied outside the mask"
        assert core.analog_out_physical(0) == pytest.approx(0.012)  # current mode: 4 + 16·0.5 mA, in A
        assert core.analog_out_physical(1) == pytest.approx(7.5)  # voltage mode: 10·0.75 V
        assert core.in_double[30] == 2.5
        assert core.rejected_inputs == 4 + 2 + 2 + 1
    assert any("speed_slider_fraction" in m and "ignored" in m for m in core.log)


# --- 4: skipped cycles are visible ------------------------------------------------------------


def test_skipped_cycles_advance_timestamp_and_are_logged(
    vc: VirtualController, caplog: pytest.LogCaptureFixture
) -> None:
    core = vc.core
    caplog.set_level(logging.WARNING, logger=vcm.__name__)
    time.sleep(0.1)
    with core.lock:
        t0, w0 = core.time, time.monotonic()
        missed0 = core.missed_cycles
        time.sleep(0.3)  # the cycle thread cannot step: a 300 ms stall

    def on_real_time() -> bool:  # the cycle thread has run again (a loaded host may take a while)
        with core.lock:
            return core.time - t0 >= 0.3 and abs((core.time - t0) - (time.monotonic() - w0)) <= 0.05

    wait_until(on_real_time, what="controller time back on real time after the stall")
    with core.lock:
        missed = core.missed_cycles - missed0
    assert missed >= 100, f"only {missed} skipped cycles counted for a 300 ms stall"

    def logged() -> bool:
        return any("skipped" in r.getMessage() and "cycles" in r.getMessage() for r in caplog.records)

    if not logged():
        # the report is rate-limited (one line a second): a skip a loaded host caused while the
        # fixture started may have used this second's line; a second stall after the interval
        # must be reported
        time.sleep(1.1)
        with core.lock:
            time.sleep(0.1)
    wait_until(logged, what="the skipped cycles reported in the log")
    with DashboardClient("127.0.0.1", port=vc.ports.dashboard) as d:
        import json

        state = json.loads(d.command("weldcell state"))
        assert state["missed_cycles"] >= missed
        # the controller's own timing shows the stalled cycle
        timing = state["cycle_timing"]
        assert timing["late_cycles"] >= 1 and timing["lateness_max_s"] >= 0.25, timing
        assert timing["lateness_p99_9_s"] <= timing["lateness_max_s"]
        assert d.command("weldcell cycle_timing reset") == "ok"
        time.sleep(0.05)
        after = json.loads(d.command("weldcell state"))["cycle_timing"]
        assert after["cycles"] < timing["cycles"] and after["lateness_max_s"] < 0.25, after


# --- 6: dashboard load confined to the program folder -----------------------------------------


def test_dashboard_load_confined(vc: VirtualController, tmp_path: Path) -> None:
    progs = tmp_path / "programs"
    (progs / "weld.script").write_text('def weld():\n  textmsg("hi")\nend\n')
    (progs / "sub").mkdir()
    (progs / "sub" / "inner.script").write_text('def inner():\n  textmsg("x")\nend\n')
    secret = tmp_path / "secret.script"
    secret.write_text('def secret():\n  textmsg("s")\nend\n')
    (progs / "escape.script").symlink_to(secret)
    (progs / "inside_link.script").symlink_to(progs / "weld.script")
    with DashboardClient("127.0.0.1", port=vc.ports.dashboard) as d:
        assert d.command("load weld.script") == "Loading program: weld.script"
        assert d.command("load sub/inner.script") == "Loading program: sub/inner.script"
        assert d.command("load inside_link.script") == "Loading program: inside_link.script"
        for bad in (
            str(secret),
            "../secret.script",
            "sub/../../secret.script",
            "escape.script",
            "/etc/passwd",
        ):
            assert d.command(f"load {bad}") == f"File not found: {bad}", bad
        assert d.command("get loaded program").endswith("weld.script")  # the link's target, inside


# --- 1/3: bad clients do not stop the cycle ---------------------------------------------------


def test_client_that_never_reads_is_dropped_and_others_keep_500hz(vc: VirtualController) -> None:
    stalled = _rtde(vc)
    stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.start_stream(["timestamp"] + ["actual_q"] * 40)  # ~2 kB per package, 1 MB/s
    try:
        deadline = time.monotonic() + 5.0
        while vc.rtde is not None and vc.rtde.n_clients and time.monotonic() < deadline:
            time.sleep(0.05)
        assert vc.rtde is not None and vc.rtde.n_clients == 0, "the stalled client was not dropped"
        with _rtde(vc) as good:
            good.start_stream()
            # best of 3 one-second windows: the controller shares this process (and 2 cores with the
            # rest of CI); one window a loaded host stalled is not the stalled client's doing
            for _ in range(3):
                n, distinct, span = good.count_packages(1.0)
                assert n == distinct, f"{n - distinct} duplicate packages"
                if distinct >= 400 and span == pytest.approx(1.0, abs=0.2):
                    break
        assert distinct >= 400, f"{distinct} distinct timestamps in 1 s after a stalled client"
        assert span == pytest.approx(1.0, abs=0.2)
    finally:
        stalled.close()


def test_dashboard_newline_free_flood_closed(vc: VirtualController) -> None:
    s = socket.create_connection(("127.0.0.1", vc.ports.dashboard), timeout=3)
    try:
        s.recv(100)
        with pytest.raises(OSError):  # the server closes the connection after 4096 bytes
            for _ in range(1000):
                s.sendall(b"x" * 4096)
    finally:
        s.close()
    with DashboardClient("127.0.0.1", port=vc.ports.dashboard) as d:
        assert d.command("robotmode") == "Robotmode: RUNNING"
