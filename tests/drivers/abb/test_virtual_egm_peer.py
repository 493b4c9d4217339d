"""Our virtual ABB controller driven by abb-robot-client's ``EGM`` sensor (an independent EGM client)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest
from streaming_helpers import free_udp_port

from weldcell.drivers.abb.virtual_egm import VirtualEgm, VirtualEgmConfig
from weldcell.errors import WeldcellError
from weldcell.kinematics import load_robot

egm_mod = pytest.importorskip("abb_robot_client.egm", reason="abb-robot-client==0.4.0 (test extra)")

START = (10.0, 5.0, -5.0, 20.0, 45.0, -30.0)


@pytest.fixture
def session() -> Iterator[tuple[object, VirtualEgm]]:
    port = free_udp_port()
    sensor = egm_mod.EGM(port=port)
    # CommTimeout long enough for a starved test process on a shared machine
    ctrl = VirtualEgm(VirtualEgmConfig(sensor_port=port, q_start_deg=START, din=6, comm_timeout=30.0))
    ctrl.start()
    try:
        yield sensor, ctrl
    finally:
        ctrl.stop()
        sensor.socket.close()


def latest(sensor: object, timeout: float = 10.0) -> object:
    """The newest robot state (drains what queued up)."""
    ok, state = sensor.receive_from_robot(timeout)  # type: ignore[attr-defined]
    assert ok, "no EgmRobot from the virtual controller"
    while True:
        ok2, s2 = sensor.receive_from_robot(0)  # type: ignore[attr-defined]
        if not ok2:
            return state
        state = s2


def test_feedback_fields(session: tuple[object, VirtualEgm]) -> None:
    sensor, _ = session
    s = latest(sensor)
    np.testing.assert_allclose(s.joint_angles, START, atol=1e-12)  # type: ignore[attr-defined]
    np.testing.assert_allclose(s.joint_angles_planned, START, atol=1e-12)  # type: ignore[attr-defined]
    assert s.rapid_running and s.motors_on  # type: ignore[attr-defined]
    T = load_robot("irb1520id").fk(np.radians(START))
    pos, quat_wxyz = s.cartesian  # type: ignore[attr-defined]
    np.testing.assert_allclose(pos, T[:3, 3] * 1000.0, atol=1e-9)
    from weldcell.spatial.se3 import se3_from_xyz_quat_wxyz

    np.testing.assert_allclose(se3_from_xyz_quat_wxyz(pos / 1000.0, quat_wxyz), T, atol=1e-9)
    np.testing.assert_allclose(s.rapid_from_robot, [0.0, 6.0])  # type: ignore[attr-defined]
    m = s.robot_message  # type: ignore[attr-defined]
    assert m.header.mtype == m.header.MSGTYPE_DATA and m.header.seqno > 0
    assert m.mciState.state == m.mciState.MCI_RUNNING and m.feedBack.time.sec > 0


def test_follows_sensor_targets_and_outputs(session: tuple[object, VirtualEgm]) -> None:
    sensor, ctrl = session
    target = np.array(START) + np.array([5.0, -3.0, 2.0, -10.0, 5.0, 15.0])
    ramp = np.linspace(START, target, 60)
    deadline = time.monotonic() + 20.0
    i = 0
    seq0 = latest(sensor).robot_message.header.seqno  # type: ignore[attr-defined]
    while time.monotonic() < deadline:
        s = latest(sensor)
        sensor.send_to_robot(ramp[min(i, len(ramp) - 1)], rapid_to_robot=np.array([5.0]))  # type: ignore[attr-defined]
        i += 1
        if i > len(ramp) and np.allclose(s.joint_angles, target, atol=1e-9):  # type: ignore[attr-defined]
            break
    assert np.allclose(s.joint_angles, target, atol=1e-9), s.joint_angles  # type: ignore[attr-defined]
    np.testing.assert_allclose(s.joint_angles_planned, target)  # type: ignore[attr-defined]
    assert s.robot_message.header.seqno > seq0  # type: ignore[attr-defined]
    assert s.robot_message.mciConvergenceMet  # type: ignore[attr-defined]
    st = ctrl.status()
    assert st.running and st.dout == 5 and st.invalid == 0 and st.clamped == 0
    np.testing.assert_allclose(s.rapid_from_robot, [5.0, 6.0])  # type: ignore[attr-defined]


def test_fast_target_is_clamped_to_the_axis_speed(session: tuple[object, VirtualEgm]) -> None:
    sensor, ctrl = session
    target = np.array(START) + np.array([30.0, 0, 0, 0, 0, 0])  # 30° at once: far above 170 °/s
    seen: list[tuple[int, float]] = []
    for _ in range(25):
        s = latest(sensor)
        seen.append((s.robot_message.header.seqno, s.joint_angles[0]))  # type: ignore[attr-defined]
        sensor.send_to_robot(target)  # type: ignore[attr-defined]
    seq = np.array([a for a, _ in seen], dtype=float)
    q1 = np.array([b for _, b in seen])
    assert q1[-1] > START[0] and q1[-1] < target[0]  # moving, not jumped
    # per robot sample, axis 1 moves at most 170 °/s × 1.05 (speed margin) × 4 ms
    per_sample = np.diff(q1) / np.diff(seq)
    assert per_sample.max() <= 170 * 1.05 * 0.004 + 1e-9, per_sample.max()
    assert ctrl.status().clamped >= 1


def test_comm_timeout_ends_the_session() -> None:
    port = free_udp_port()
    sensor = egm_mod.EGM(port=port)
    ctrl = VirtualEgm(VirtualEgmConfig(sensor_port=port, q_start_deg=START, comm_timeout=1.0))
    ctrl.start()
    try:
        for _ in range(5):  # a few exchanges, then the sensor falls silent
            latest(sensor)
            sensor.send_to_robot(np.array(START))
        # no replies for \CommTimeout (1 s): the session ends; keep reading so no message is dropped
        deadline = time.monotonic() + 30.0
        s = None
        while time.monotonic() < deadline and not (
            ctrl.done.is_set() and s is not None and not s.rapid_running
        ):
            ok, got = sensor.receive_from_robot(0.05)
            s = got if ok else s
        st = ctrl.status()
        assert not st.running and "CommTimeout" in st.stop_reason and st.accepted >= 1
        assert s is not None and not s.rapid_running  # the last message reports RAPID and the MCI stopped
        m = s.robot_message
        assert m.mciState.state == m.mciState.MCI_STOPPED
        ok, _ = sensor.receive_from_robot(0.2)
        assert not ok  # then the controller falls silent
    finally:
        ctrl.stop()
        sensor.socket.close()


def test_start_timeout_gives_the_sensor_time_for_its_first_reply() -> None:
    port = free_udp_port()
    sensor = egm_mod.EGM(port=port)
    cfg = VirtualEgmConfig(sensor_port=port, q_start_deg=START, comm_timeout=0.2, start_timeout=3.0)
    ctrl = VirtualEgm(cfg)
    ctrl.start()
    try:
        time.sleep(0.6)  # longer than CommTimeout, shorter than the start time-out
        latest(sensor)
        sensor.send_to_robot(np.array(START))  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10.0
        while ctrl.status().accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ctrl.status().accepted >= 1
        # the first reply came: from now on CommTimeout (0.2 s) applies, and the sensor is silent
        assert ctrl.done.wait(10.0)
        st = ctrl.status()
        assert "CommTimeout" in st.stop_reason and "valid sensor message" in st.stop_reason, st.stop_reason
    finally:
        ctrl.stop()
        sensor.socket.close()


def test_reference_out_of_bounds_ends_the_session(session: tuple[object, VirtualEgm]) -> None:
    sensor, ctrl = session
    latest(sensor)
    bad = np.array(START)
    bad[2] = 95.0  # axis 3 range is -100° … +80°
    sensor.send_to_robot(bad)  # type: ignore[attr-defined]
    assert ctrl.done.wait(30.0)
    st = ctrl.status()
    assert not st.running and "axis 3" in st.stop_reason and "out of bounds" in st.stop_reason
    np.testing.assert_allclose(st.q_deg, START, atol=1e-12)  # the robot did not move toward it
    m = latest(sensor, 1.0).robot_message  # type: ignore[attr-defined]
    assert m.mciState.state == m.mciState.MCI_ERROR


def test_bad_settings() -> None:
    with pytest.raises(WeldcellError, match=r"multiple of 0\.004"):
        VirtualEgmConfig(cycle=0.005)
    with pytest.raises(WeldcellError, match="outside the axis range"):
        VirtualEgm(VirtualEgmConfig(q_start_deg=(0, 0, 95, 0, 0, 0)))
    with pytest.raises(WeldcellError, match="has 6 axes"):
        VirtualEgm(VirtualEgmConfig(q_start_deg=(0, 0, 0)))


def test_cli_controller_ends_on_comm_timeout() -> None:
    """``weldcell controller abb-egm``: a sensor that never answers ends the session, exit 1."""
    port = free_udp_port()
    sensor = egm_mod.EGM(port=port)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "weldcell", "controller", "abb-egm", "--sensor", f"127.0.0.1:{port}",
             "--comm-timeout-s", "0.3", "--start-timeout-s", "0.3", "--start-deg", "0,10,-10,0,60,0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
        )  # fmt: skip
        out, err = proc.communicate(timeout=120)
        ok, s = sensor.receive_from_robot(0)
        assert ok and s.rapid_running and np.allclose(s.joint_angles, [0, 10, -10, 0, 60, 0])
    finally:
        sensor.socket.close()
    assert proc.returncode == 1, err[-1500:]
    summary = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert summary["running"] is False and "CommTimeout" in summary["stop_reason"]
    assert summary["cycles"] >= 1 and summary["accepted"] == 0
    assert "EGM session ended" in out + err


def test_cli_rejects_bad_sensor_address() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "weldcell", "controller", "abb-egm", "--sensor", "127.0.0.1:notaport"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "--sensor" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_arc_loopback_and_output_log() -> None:
    """The output word the sensor sets is reported back and logged; the loopback input follows bit 2."""
    port = free_udp_port()
    sensor = egm_mod.EGM(port=port)
    cfg = VirtualEgmConfig(
        sensor_port=port, q_start_deg=START, din=1, comm_timeout=30.0, arc_loopback=(2, 3, 0.1)
    )
    ctrl = VirtualEgm(cfg)
    ctrl.start()
    try:
        t_on = 0.0
        words: list[tuple[float, float, float]] = []  # (time [s], dout reported, din reported)
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline:
            s = latest(sensor)
            now = time.monotonic()
            dout, din = s.rapid_from_robot  # type: ignore[attr-defined]
            words.append((now, dout, din))
            on = bool(t_on) and now - t_on < 0.5
            if not t_on:
                t_on = now
                on = True
            sensor.send_to_robot(np.array(START), rapid_to_robot=np.array([4.0 if on else 0.0]))  # type: ignore[attr-defined]
            if now - t_on > 0.5 and dout == 0.0 and din == 1.0:
                break
        st = ctrl.status()
        # reported back: the output word went 4 then 0; the input bit 3 (8) came after it, and went again
        seen_dout = [d for _, d, _ in words]
        assert 4.0 in seen_dout and seen_dout[-1] == 0.0
        first_out = next(t for t, d, _ in words if d == 4.0)
        first_in = next(t for t, _, i in words if i == 9.0)
        assert first_in - first_out >= 0.1 - 0.02  # the loopback delay (one sample of jitter)
        assert words[-1][2] == 1.0  # the configured input word stays
        assert [w for _, w in st.output_log] == [4, 0]
        (t1, _), (t2, _) = st.output_log
        assert 0.3 < (t2 - t1) / 1000.0 < 1.0  # on for the 0.5 s the sensor kept it on
    finally:
        ctrl.stop()
        sensor.socket.close()
    with pytest.raises(WeldcellError, match="arc_loopback"):
        VirtualEgmConfig(arc_loopback=(0, 40, 0.1))
