"""URDriver (our RTDE client, dashboard client, servo program) against the virtual UR controller.

The controller runs in its own process on ephemeral ports. Faults: protective stop, PC process
killed mid-stream, network stall (through a stalling TCP proxy), dropped link and reconnect.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from stamp_helpers import stamp_for_test
from waiting import wait_until

from weldcell.drivers.base import ExecutionOutcome, RobotMode, SafetyStatus, joint_move
from weldcell.drivers.realtime import configure_thread
from weldcell.drivers.ur.client import rtde_protocol as rp
from weldcell.drivers.ur.client.dashboard import DashboardClient
from weldcell.drivers.ur.client.rtde_client import RTDEClient
from weldcell.drivers.ur.driver import URDriver, URDriverConfig
from weldcell.drivers.ur.streaming import servo_program as sp
from weldcell.drivers.ur.virtual.controller import Ports, VirtualControllerHandle, start_virtual_controller
from weldcell.drivers.ur.virtual.core import CoreConfig
from weldcell.drivers.ur.virtual.net import CYCLE_PRIORITY, SERVER_PRIORITY
from weldcell.errors import (
    DriverConnectionError,
    DriverError,
    DriverFaultError,
    DriverTimeoutError,
    StampError,
)
from weldcell.trajectory import JointTrajectory, save_trajectory

HOST = "127.0.0.31"
Q_HOME = np.array(CoreConfig().q_home)


@pytest.fixture(scope="module")
def controller() -> Iterator[VirtualControllerHandle]:
    h = start_virtual_controller(HOST, CoreConfig(unlock_delay=0.2), Ports(0, 0, 0, 0, 0))
    yield h
    h.stop()


def _config(h: VirtualControllerHandle, rtde_port: int | None = None) -> URDriverConfig:
    return URDriverConfig(
        rtde_port=rtde_port or h.ports.rtde, dashboard_port=h.ports.dashboard, script_port=h.ports.secondary
    )


@pytest.fixture
def driver(controller: VirtualControllerHandle) -> Iterator[URDriver]:
    d = URDriver(HOST, _config(controller))
    d.connect(5.0)
    try:  # a failing setup must still release the driver's RTDE input registers
        _go_home(d)
        yield d
    finally:
        d.close()


def _dash(h: VirtualControllerHandle, cmd: str) -> str:
    with DashboardClient(HOST, h.ports.dashboard) as d:
        return d.command(cmd)


def _state(h: VirtualControllerHandle) -> dict[str, object]:
    return json.loads(_dash(h, "weldcell state"))  # type: ignore[no-any-return]


def _stamped(traj: JointTrajectory, tmp: Path, name: str = "t.npz") -> Path:
    p = tmp / name
    save_trajectory(traj, p)
    stamp_for_test(p, traj)
    return p


def _go_home(d: URDriver) -> None:
    q = d.state().q
    if np.max(np.abs(q - Q_HOME)) > 1e-6:
        d.move_to(Q_HOME, speed_fraction=1.0, force_unvalidated=True).wait_until_done(10.0)


def _weld_like(q0: np.ndarray, speed: float = 0.6) -> JointTrajectory:
    """A move with the arc on in its middle third."""
    traj = joint_move(
        "ur5e", q0, q0 + np.array([0.2, -0.1, 0.15, 0.1, -0.05, 0.3]), 0.002, speed_fraction=speed
    )
    n = traj.n_samples
    arc = np.zeros(n, bool)
    arc[n // 3 : 2 * n // 3] = True
    return dataclasses.replace(traj, arc_on=arc)


def test_client_handshake_recipes_in_use_and_v1(
    controller: VirtualControllerHandle, driver: URDriver
) -> None:
    with RTDEClient(HOST, controller.ports.rtde) as c:
        assert c.negotiate_protocol((2, 1)) == 2
        assert c.get_controller_version()[:2] == (5, 11)
        with pytest.raises(DriverError, match="in use"):
            c.setup_inputs(["input_int_register_24"])  # owned by the driver's stream recipe
        with pytest.raises(DriverError, match="not available"):
            c.setup_outputs(["timestamp", "no_such_field"], 10.0)
        r1 = c.setup_inputs(["input_int_register_20"])
        r2 = c.setup_inputs(["input_double_register_20", "input_int_register_20"])  # same client may reuse
        assert (r1.recipe_id, r2.recipe_id) == (1, 2)  # ids from 1 per connection; refused setups get 0
    with RTDEClient(HOST, controller.ports.rtde) as c:
        assert c.negotiate_protocol((1,)) == 1
        rec = c.setup_outputs(["timestamp", "actual_q"], 125.0)
        assert not rec.with_id
        c.start()
        a = c.receive(1.0)["timestamp"]
        b = c.receive(1.0)["timestamp"]
        assert b - a == pytest.approx(0.002, abs=1e-9)  # v1 streams at the controller rate
        c.pause()


def test_execute_slice_progress_arc_and_completion(driver: URDriver, tmp_path: Path) -> None:
    traj = _weld_like(Q_HOME)
    p = _stamped(traj, tmp_path)
    n = traj.n_samples
    h = driver.execute(traj, traj_path=p, end_index=n - 20)
    positions, states = [], []
    while not h.done:
        positions.append(h.progress.position)
        states.append(driver.state())
        time.sleep(0.01)
    res = h.wait_until_done(10.0)
    assert res.outcome is ExecutionOutcome.COMPLETED
    assert res.reached_index == n - 21 and res.underruns == 0
    assert np.all(np.diff(positions) >= 0)
    np.testing.assert_allclose(driver.state().q, traj.q[n - 21], atol=1e-9)
    # the sample each state was at, from the state's own joints (one RTDE package carries both the
    # joints and the outputs; the move is monotone in every joint): the driver's progress is
    # published by another thread and a loaded host may read it many cycles before the state
    q_seen = np.array([s.q for s in states])
    at = np.argmin(np.linalg.norm(traj.q[None, :, :] - q_seen[:, None, :], axis=2), axis=1)
    arc_seen = [(int(i), s.digital_output(0)) for i, s in zip(at, states, strict=True)]
    on = [i for i, a in arc_seen if a]
    assert on and min(on) >= n // 3 - 3 and max(on) <= 2 * n // 3 + 3  # arc follows the samples' flags
    assert not driver.state().digital_output(0)
    # continue with the rest of the trajectory as a second slice
    h2 = driver.execute(traj, traj_path=p, start_index=n - 21)
    assert h2.wait_until_done(5.0).outcome is ExecutionOutcome.COMPLETED
    np.testing.assert_allclose(driver.state().q, traj.q[-1], atol=1e-9)


def test_stop_decelerates_along_path(driver: URDriver, tmp_path: Path) -> None:
    traj = _weld_like(Q_HOME, speed=0.4)
    p = _stamped(traj, tmp_path)
    h = driver.execute(traj, traj_path=p)
    while h.progress.index < traj.n_samples // 2 and not h.done:
        time.sleep(0.005)
    h.stop()
    res = h.wait_until_done(10.0)
    assert res.outcome is ExecutionOutcome.STOPPED
    assert traj.n_samples // 2 <= res.reached_index < traj.n_samples - 1
    s = driver.state()
    assert np.max(np.abs(s.qd)) < 1e-9
    i = res.reached_index
    a = res.position - i
    np.testing.assert_allclose(s.q, (1 - a) * traj.q[i] + a * traj.q[i + 1], atol=1e-6)  # on the path
    assert not s.digital_output(0)


def test_refuses_unvalidated_and_out_of_limit(driver: URDriver, tmp_path: Path) -> None:
    traj = _weld_like(Q_HOME)
    with pytest.raises(StampError):
        driver.execute(traj)
    with pytest.raises(StampError, match="simulation"):
        driver.execute(traj, force_unvalidated=True)
    p = _stamped(traj, tmp_path)
    other = dataclasses.replace(traj, q=traj.q + 1e-3)
    with pytest.raises(StampError):
        driver.execute(other, traj_path=p)
    fast = joint_move("ur5e", Q_HOME, Q_HOME + 0.5, 0.002, speed_fraction=1.0)
    k = 2.0 / float(np.max(np.abs(fast.qd) / np.radians(180.0)))  # time scale to twice the speed limit
    fast = dataclasses.replace(fast, q=fast.q.copy(), t=fast.t / k, dt=fast.dt / k)
    pf = _stamped(fast, tmp_path, "fast.npz")
    with pytest.raises(DriverError, match="above its limit"):
        driver.execute(fast, traj_path=pf)
    away = joint_move("ur5e", Q_HOME + 0.3, Q_HOME, 0.002)
    pa = _stamped(away, tmp_path, "away.npz")
    with pytest.raises(DriverError, match="not at trajectory sample"):
        driver.execute(away, traj_path=pa)


def test_digital_and_analog_io(controller: VirtualControllerHandle, driver: URDriver) -> None:
    driver.set_digital_out(2, True)
    assert driver.get_digital_out(2)
    driver.set_digital_out(2, False)
    assert not driver.get_digital_out(2)
    driver.set_analog_out(0, 1.5)
    assert driver.state().analog_out[0] == pytest.approx(1.5)
    assert _dash(controller, "weldcell set_digital_in 5 1") == "ok"
    driver.wait_for_digital_in(5, True, timeout=1.0)
    assert driver.get_digital_in(5)
    _dash(controller, "weldcell set_digital_in 5 0")


def test_protective_stop_faults_with_reason_and_arc_off(
    controller: VirtualControllerHandle, driver: URDriver, tmp_path: Path
) -> None:
    traj = _weld_like(Q_HOME, speed=0.3)
    p = _stamped(traj, tmp_path)
    h = driver.execute(traj, traj_path=p)
    deadline = time.monotonic() + 10.0
    while not driver.state().digital_output(0):  # wait until the arc is on
        time.sleep(0.005)
        assert not h.done, h.result
        assert time.monotonic() < deadline, f"arc not on after 10 s (at sample {h.progress.index})"
    assert _dash(controller, "weldcell protective_stop wire stuck to the workpiece") == "ok"
    with pytest.raises(DriverFaultError, match="wire stuck") as err:
        h.wait_until_done(10.0)
    assert err.value.error_code == "PROTECTIVE_STOP"
    assert not driver.state().digital_output(0)
    res = h.result
    assert res is not None and res.outcome is ExecutionOutcome.FAULTED
    # recover: unlock, then the driver re-uploads its program and continues from the reached sample
    time.sleep(0.25)
    assert _dash(controller, "unlock protective stop") == "Protective stop releasing"
    q_now = driver.state().q
    back = joint_move("ur5e", q_now, Q_HOME, 0.002, speed_fraction=0.8)
    pb = _stamped(back, tmp_path, "back.npz")
    assert driver.execute(back, traj_path=pb).wait_until_done(5.0).outcome is ExecutionOutcome.COMPLETED


def test_impossible_setpoint_is_a_protective_stop(
    controller: VirtualControllerHandle, driver: URDriver
) -> None:
    with socket.create_connection((HOST, controller.ports.primary)) as s:
        s.sendall(
            b"def jump():\n"
            b"  servoj([1.0, -1.5708, 1.5708, -1.5708, -1.5708, 0.0], 0, 0, 0.002, 0.1, 300)\nend\n"
        )
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and _state(controller)["safety_mode"] != "PROTECTIVE_STOP":
        time.sleep(0.02)
    st = _state(controller)
    assert st["safety_mode"] == "PROTECTIVE_STOP"
    assert "speed limit" in str(st["last_fault"])
    time.sleep(0.25)
    assert _dash(controller, "unlock protective stop") == "Protective stop releasing"


class _StallProxy:
    """TCP proxy that can stall (hold all bytes, both directions) or drop its connections."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.socket()
        self.listener.bind((HOST, 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.stalled = threading.Event()
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                a, _ = self.listener.accept()
            except OSError:
                return
            b = socket.create_connection(self.upstream)
            for s in (a, b):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.socks += [a, b]
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()
            threading.Thread(target=self._pipe, args=(b, a), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.stalled.is_set():
                    time.sleep(0.001)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_RDWR)

    def drop(self) -> None:
        for s in self.socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
        self.socks = []

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept thread (close alone does not)
        self.listener.close()
        self.drop()


def test_network_stall_is_absorbed_then_drop_and_reconnect(
    controller: VirtualControllerHandle, tmp_path: Path
) -> None:
    proxy = _StallProxy((HOST, controller.ports.rtde))
    d = URDriver(HOST, _config(controller, proxy.port))
    try:
        d.connect(5.0)
        _go_home(d)
        traj = _weld_like(Q_HOME, speed=0.5)
        p = _stamped(traj, tmp_path)
        h = d.execute(traj, traj_path=p)
        while h.progress.index < traj.n_samples // 3 and not h.done:
            time.sleep(0.002)
        proxy.stalled.set()
        time.sleep(0.05)  # 50 ms: no bytes either way
        proxy.stalled.clear()
        res = h.wait_until_done(5.0)
        assert res.outcome is ExecutionOutcome.COMPLETED
        assert res.underruns == 0  # every controller cycle had its set-point
        # drop the link: the driver notices, then reconnects and moves again
        proxy.drop()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and not d.connection_error:
            time.sleep(0.01)
        with pytest.raises(DriverConnectionError):
            d.state()
        assert not d.connected
        d.connect(5.0)  # connect() after a drop cleans up and connects again (reconnect() does the same)
        assert d.connected
        back = joint_move("ur5e", d.state().q, Q_HOME, 0.002, speed_fraction=0.8)
        pb = _stamped(back, tmp_path, "back.npz")
        assert d.execute(back, traj_path=pb).wait_until_done(5.0).outcome is ExecutionOutcome.COMPLETED
    finally:
        d.close()
        proxy.close()


_CHILD = """
import sys, time, numpy as np
from pathlib import Path
from weldcell.drivers.ur.driver import URDriver, URDriverConfig
from weldcell.trajectory import load_trajectory
host, path = sys.argv[1], sys.argv[5]
rtde, dash, script = (int(a) for a in sys.argv[2:5])
d = URDriver(host, URDriverConfig(rtde_port=rtde, dashboard_port=dash, script_port=script))
d.connect(10.0)
traj = load_trajectory(path)
h = d.execute(traj, traj_path=path)
while not d.state().digital_output(0):
    time.sleep(0.002)
print("streaming", flush=True)
time.sleep(30)
"""


class _RtdeRecorder:
    """Records the controller's own RTDE packages (one per controller cycle) in a thread.

    Each row: controller ``timestamp`` [s], the PC's alive counter (input int register
    ``sp.IN_ALIVE``), the digital output bits, the ``runtime_state``. Timing judged on these rows is
    the controller's, not the test's wall clock (which a loaded host stretches).
    """

    FIELDS = ("timestamp", f"input_int_register_{sp.IN_ALIVE}", "actual_digital_output_bits", "runtime_state")

    def __init__(self, port: int) -> None:
        self.rows: list[tuple[float, int, int, int]] = []
        self.client = RTDEClient(HOST, port)
        self.client.connect()
        self.client.negotiate_protocol()
        self.client.setup_outputs(list(self.FIELDS), 500.0)
        self.client.start()
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtde recorder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._quit.is_set():
            try:
                out = self.client.receive(1.0)
            except DriverError:
                return
            self.rows.append(tuple(int(out[f]) if i else float(out[f]) for i, f in enumerate(self.FIELDS)))  # type: ignore[arg-type]

    def close(self) -> np.ndarray:
        """Stop recording; the rows as an array, shape (n, 4)."""
        self._quit.set()
        self._thread.join(5.0)
        self.client.close()
        return np.array(self.rows, dtype=np.float64).reshape(-1, 4)


def _controller_time(ts: np.ndarray, a: int, b: int, cycle: float = 0.002) -> float:
    """Controller time [s] the controller ran from package ``a`` to package ``b`` (one cycle per
    package; a timestamp jump, cycles the controller skipped on a loaded host, counts as one cycle)."""
    return float(np.minimum(np.diff(ts[a : b + 1]), cycle).sum())


def test_pc_killed_mid_stream_robot_stops_and_arc_drops(
    controller: VirtualControllerHandle, driver: URDriver, tmp_path: Path
) -> None:
    traj = _weld_like(Q_HOME, speed=0.15)
    p = _stamped(traj, tmp_path)
    driver.close()  # the child process takes over the controller
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    ports = controller.ports
    rec = _RtdeRecorder(ports.rtde)
    child = subprocess.Popen(
        [
            sys.executable,
            str(script),
            HOST,
            str(ports.rtde),
            str(ports.dashboard),
            str(ports.secondary),
            str(p),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    rows = np.zeros((0, 4))
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.strip() == "streaming", child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10.0)
        st = wait_until(
            lambda: (s := _state(controller))["runtime_state"] == "STOPPED" and s,
            what="the watchdog stopping the program",
        )
        q1 = _state(controller)["q"]
        time.sleep(0.05)
        assert _state(controller)["q"] == q1  # the arm stands still
        assert not (int(st["digital_out"]) & 1)  # type: ignore[call-overload]  # arc output dropped
        assert any("watchdog" in m for m in st["log"])  # type: ignore[union-attr]
    finally:
        rows = rec.close()
        if child.poll() is None:
            child.kill()
            child.wait(5.0)
    # judged on the controller's packages: from the PC's last sign of life (the last change of its
    # alive counter) the in-program watchdog (5 Hz: 0.2 s) drops the arc and decelerates (stop_time
    # 0.15 s), then halts. A package that still shows the arc on / the program playing is a lower
    # bound of the delay, whatever packages a loaded host skipped.
    ts, alive, do, runtime = rows.T
    changes = np.flatnonzero(np.diff(alive) != 0)
    assert changes.size, "the PC's alive counter never changed while recorded"
    i_last = int(changes[-1]) + 1
    assert do[i_last] % 2 == 1, "the arc was not on at the PC's last sign of life"
    arc_on_after = np.flatnonzero(do[i_last:] % 2 == 1)
    playing_after = np.flatnonzero(runtime[i_last:] == 2)
    assert playing_after.size < len(ts) - i_last, "the program never stopped while recorded"
    arc_on_for = _controller_time(ts, i_last, i_last + int(arc_on_after[-1]))
    playing_for = _controller_time(ts, i_last, i_last + int(playing_after[-1]))
    print(
        f"\nPC killed: arc on {arc_on_for * 1e3:.0f} ms, program {playing_for * 1e3:.0f} ms (controller time)"
    )
    assert arc_on_for <= 0.2 + 0.004, f"arc still on {arc_on_for:.3f} s after the PC's last input"
    assert playing_for <= 0.2 + 0.15 + 0.01, f"program still running {playing_for:.3f} s after"
    driver.connect(5.0)
    _go_home(driver)


def test_cb3_streams_at_125hz_resampled(tmp_path: Path) -> None:
    h = start_virtual_controller(
        "127.0.0.32", CoreConfig(arm="ur5", version=(3, 15, 7, 0)), Ports(0, 0, 0, 0, 0)
    )
    try:
        d = URDriver("127.0.0.32", dataclasses.replace(_config(h), robot="ur5e"))
        d.connect(5.0)
        try:
            assert d.dt == pytest.approx(0.008)
            traj = _weld_like(Q_HOME, speed=0.5)
            p = _stamped(traj, tmp_path)
            res = d.execute(traj, traj_path=p).wait_until_done(5.0)
            assert res.outcome is ExecutionOutcome.COMPLETED and res.underruns == 0
            np.testing.assert_allclose(d.state().q, traj.q[-1], atol=1e-9)
        finally:
            d.close()
    finally:
        h.stop()


def test_text_message_round_trip_to_controller(controller: VirtualControllerHandle) -> None:
    with RTDEClient(HOST, controller.ports.rtde) as c:
        c.negotiate_protocol()
        c.setup_outputs(["timestamp"], 50.0)
        c.start()
        with socket.create_connection((HOST, controller.ports.secondary)) as s:
            s.sendall(b'sec hello():\n  textmsg("hello from URScript")\nend\n')
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and not any("hello from URScript" in m for m, _, _ in c.messages):
            c.receive(1.0)
        assert any(m == "hello from URScript" and lvl == rp.MESSAGE_INFO for m, _, lvl in c.messages)


def test_emergency_stop_then_power_on_through_the_driver(
    controller: VirtualControllerHandle, driver: URDriver, tmp_path: Path
) -> None:
    traj = _weld_like(Q_HOME, speed=0.3)
    p = _stamped(traj, tmp_path)
    h = driver.execute(traj, traj_path=p)
    while h.progress.index < 50 and not h.done:
        time.sleep(0.005)
    assert _dash(controller, "weldcell estop") == "ok"
    with pytest.raises(DriverFaultError, match="Emergency stop") as err:
        h.wait_until_done(10.0)
    assert err.value.error_code == "ROBOT_EMERGENCY_STOP"
    s = driver.state()
    assert s.mode is RobotMode.POWER_OFF and s.safety is SafetyStatus.EMERGENCY_STOP
    assert not s.digital_output(0)
    assert _dash(controller, "weldcell estop release") == "ok"
    driver.close()
    with URDriver(HOST, dataclasses.replace(_config(controller), power_on=True)) as d2:
        assert d2.state().mode is RobotMode.RUNNING
        _go_home(d2)


def test_reconnect_right_after_close_streams_to_the_new_program(
    controller: VirtualControllerHandle, driver: URDriver
) -> None:
    """The previous servo program keeps running until the new upload replaces it; it must not be
    taken for the new one (the new driver's slice would never be acknowledged)."""
    cfg = _config(controller)
    driver.close()
    for k in range(3):  # connect within milliseconds of the previous close, move at once
        d = URDriver(HOST, cfg)
        d.connect(5.0)
        try:
            target = Q_HOME + (0.03 if k % 2 == 0 else 0.0)
            res = d.move_to(target, speed_fraction=1.0, force_unvalidated=True).wait_until_done(5.0)
            assert res.outcome is ExecutionOutcome.COMPLETED
            np.testing.assert_allclose(d.state().q, target, atol=1e-9)
        finally:
            d.close()
    d = URDriver(HOST, cfg)
    d.connect(5.0)
    try:
        _go_home(d)
    finally:
        d.close()


def test_a_program_that_never_answers_is_a_timeout_not_a_hang(
    controller: VirtualControllerHandle, driver: URDriver
) -> None:
    """Another program replaces the servo program and never acknowledges the slice's session."""
    driver.close()
    cfg = dataclasses.replace(_config(controller), upload_timeout=1.0)
    d = URDriver(HOST, cfg)
    d.connect(5.0)
    try:
        with socket.create_connection((HOST, controller.ports.secondary)) as s:
            s.sendall(b'def idle():\n  textmsg("idle program up")\n  while True:\n    sync()\n  end\nend\n')
        # the idle program has replaced the servo program (a loaded host may take longer than a
        # fixed pause: the servo program would then acknowledge, and the move simply complete)
        wait_until(
            lambda: any("idle program up" in m for m in _state(controller)["log"]),  # type: ignore[union-attr]
            what="the idle program running",
        )
        target = Q_HOME + 0.02
        h = d.move_to(target, speed_fraction=1.0, force_unvalidated=True)
        t0 = time.monotonic()
        with pytest.raises(DriverTimeoutError, match="did not acknowledge"):
            h.wait_until_done(30.0)
        assert time.monotonic() - t0 < 15.0  # the driver's 1 s upload timeout, not this 30 s wait
        assert h.result is not None and h.result.error_code == "timeout"
        np.testing.assert_allclose(d.state().q, Q_HOME, atol=1e-9)  # nothing moved
    finally:
        d.close()


def test_controller_runs_in_its_own_real_time_process(controller: VirtualControllerHandle) -> None:
    """The cycle never shares a GIL with a driver, and (where permitted) neither the cycle nor a
    server thread of the controller process can be preempted by ordinary load."""
    assert controller.pid != os.getpid() and controller.is_alive()
    notes: list[str] = []
    # may a process of ours use SCHED_FIFO at the cycle's priority (root, CAP_SYS_NICE, rtprio)?
    probe = threading.Thread(target=lambda: notes.extend(configure_thread(CYCLE_PRIORITY)))
    probe.start()
    probe.join()
    fifo = any(n.startswith("SCHED_FIFO priority") for n in notes)
    prio = {}
    for task in Path(f"/proc/{controller.pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a connection thread that has just ended
            tid = int(task.name)
            prio[tid] = (os.sched_getscheduler(tid), os.sched_getparam(tid).sched_priority)
    at_cycle = [t for t, p in prio.items() if p == (os.SCHED_FIFO, CYCLE_PRIORITY)]
    at_server = [t for t, p in prio.items() if p == (os.SCHED_FIFO, SERVER_PRIORITY)]
    if fifo:
        assert len(at_cycle) == 1, prio  # the cycle thread
        # main thread, 5 accept loops (RTDE, dashboard, 3 script ports), connection threads
        assert len(at_server) >= 6, prio
    else:  # not permitted: the controller runs ordinarily (and still serves, below)
        assert not at_cycle
    timing = _state(controller)["cycle_timing"]
    assert isinstance(timing, dict) and timing["cycles"] > 0


def test_lookahead_grows_with_the_measured_lateness(
    controller: VirtualControllerHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The look-ahead is sized from the control loop's worst lateness (2 x worst + 4 cycles, floor
    the configured one, at most ring - 8), and the robot's lowest ring fill shows the margin kept."""
    cfg = dataclasses.replace(_config(controller), lookahead=0.04, ring=160)
    with URDriver(HOST, cfg) as d:
        assert isinstance(d, URDriver) and d.rate is not None  # mypy
        _go_home(d)
        traj = _weld_like(Q_HOME, speed=0.3)
        assert traj.n_samples > 200
        p = _stamped(traj, tmp_path)
        res = d.execute(traj, traj_path=p).wait_until_done(20.0)
        assert res.outcome is ExecutionOutcome.COMPLETED and res.underruns == 0
        fill = _state(controller)["out_int"][sp.OUT_MIN_FILL]  # type: ignore[index]
        assert fill <= round(d.lookahead / 0.002) + 1  # the robot never holds more than sent ahead
        d.rate.peak = max(d.rate.peak, 0.1)  # as if a 100 ms stall had been measured
        deadline = time.monotonic() + 10.0
        while d.lookahead < 0.2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert d.lookahead == pytest.approx(2 * d.rate.peak + 4 * 0.002, abs=0.0021)
        back = joint_move("ur5e", traj.q[-1], Q_HOME, 0.002, speed_fraction=0.3)
        res = d.execute(back, traj_path=_stamped(back, tmp_path, "back.npz")).wait_until_done(20.0)
        assert res.outcome is ExecutionOutcome.COMPLETED and res.underruns == 0
        fill = _state(controller)["out_int"][sp.OUT_MIN_FILL]  # type: ignore[index]
        assert fill >= 60, f"the robot kept only {fill} samples ahead with a {d.lookahead} s look-ahead"
        caplog.set_level(logging.WARNING, logger="weldcell.drivers.ur.driver")
        d.rate.peak = 0.3  # more than the ring can hold: capped at ring - 8 samples, and said so
        deadline = time.monotonic() + 3.0
        while not any("raise URDriverConfig.ring" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "no warning that the ring is too small"
            time.sleep(0.02)
        assert d.lookahead == pytest.approx((160 - 8) * 0.002)
