"""The positioner device: register encodings (hypothesis), the simulated servo axes (limits, speed,
acceleration, following error, watchdog), the Modbus TCP client against the virtual device on
127.0.0.1, axis specifications from the command line and from URDF, and the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from weldcell.drivers.positioner import AxisSpec, PositionerFault, check_axes_match
from weldcell.drivers.positioner import registers as reg
from weldcell.drivers.positioner.modbus import ModbusPositioner, parse_positioner_url
from weldcell.drivers.positioner.servo import ServoAxes, ServoConfig
from weldcell.drivers.positioner.virtual import (
    VirtualPositioner,
    VirtualPositionerConfig,
    axes_from_text,
    axes_from_urdf,
)
from weldcell.drivers.registry import connect_positioner, positioner_for_url
from weldcell.errors import DriverConnectionError, DriverError, InvalidValueError, ModelError, ProtocolError
from weldcell.trajectory import ExternalAxes

AXES = (
    AxisSpec("tilt", "revolute", -2.0, 2.0, 1.0, 4.0),
    AxisSpec("track", "prismatic", 0.0, 3.0, 0.5, 2.0),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-2147.0, 2147.0, allow_nan=False), min_size=1, max_size=6))
def test_i32_words_round_trip(values: list[float]) -> None:
    back = reg.i32_from_words(reg.words_from_i32(values))
    np.testing.assert_allclose(back, values, atol=0.5e-6 + 1e-12)
    assert all(0 <= w <= 0xFFFF for w in reg.words_from_i32(values))


@settings(max_examples=100, deadline=None)
@given(
    st.floats(0.0, 4294.0, allow_nan=False),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=16),
)
def test_time_and_name_round_trip(t: float, name: str) -> None:
    assert reg.time_from_words(reg.words_from_time(t)) == pytest.approx(t, abs=0.5e-6)
    assert reg.name_from_words(reg.words_from_name(name)) == name


def test_axis_table_round_trip_and_bad_values() -> None:
    assert reg.specs_from_info(reg.info_words(AXES)) == tuple(
        AxisSpec(a.name, a.kind, a.lower, a.upper, a.max_speed, a.max_accel) for a in AXES
    )
    with pytest.raises(ProtocolError, match="32-bit"):
        reg.words_from_i32([3000.0])
    with pytest.raises(ProtocolError, match="u32"):
        reg.words_from_time(-1.0)
    words = reg.info_words(AXES)
    words[1] = 7
    with pytest.raises(ProtocolError, match="version 7"):
        reg.specs_from_info(words)


def _command(q: np.ndarray, t: float, counter: int, control: int = reg.CTRL_ENABLE) -> list[int]:
    return [control, counter, *reg.words_from_time(t), 0, 0, *reg.words_from_i32(q)]


def test_servo_follows_a_ramp_and_trips_on_every_violation() -> None:
    cfg = ServoConfig(AXES, watchdog=0.05)
    m = ServoAxes(cfg, [0.0, 1.0], now=0.0)
    m.write_registers(reg.CONTROL, [reg.CTRL_ENABLE], 0.0)
    assert m.enabled
    # a smooth ramp within speed and acceleration: followed, no fault, small following error
    for k in range(1, 401):
        t = k * 0.002
        s = 0.5 * (1 - math.cos(math.pi * t / 0.8))
        m.write_registers(reg.CONTROL, _command(np.array([0.45 * s, 1.0 + 0.2 * s]), t, k), t)
    m.step(0.84)  # within the 50 ms watchdog
    assert m.fault is PositionerFault.NONE and m.enabled
    np.testing.assert_allclose(m.q, [0.45, 1.2], atol=5e-4)  # extrapolates the last set-point speed
    assert m.max_following_error[0] < 0.01
    words = m.read_registers(reg.STATUS, reg.STATUS_END - reg.STATUS, 0.84)
    assert words[reg.COUNTER_ECHO - reg.STATUS] == 400
    # position limit
    m.write_registers(reg.CONTROL, _command(np.array([2.5, 1.2]), 0.802, 401), 0.845)
    assert (m.fault, m.fault_axis, m.enabled) == (PositionerFault.POSITION_LIMIT, 0, False)
    # reset (rising edge) and enable again; then over-speed on the track (1 m in 10 ms)
    m.write_registers(reg.CONTROL, [reg.CTRL_RESET], 0.91)
    m.write_registers(reg.CONTROL, [reg.CTRL_ENABLE], 0.91)
    assert m.enabled and m.fault is PositionerFault.NONE
    m.write_registers(reg.CONTROL, _command(m.q, 1.0, 1), 0.91)
    m.write_registers(reg.CONTROL, _command(m.q + np.array([0.0, 1.0]), 1.01, 2), 0.92)
    assert (m.fault, m.fault_axis) == (PositionerFault.OVERSPEED, 1)
    # watchdog: enabled, then silence
    m.write_registers(reg.CONTROL, [reg.CTRL_RESET], 1.0)
    m.write_registers(reg.CONTROL, [reg.CTRL_ENABLE], 1.0)
    m.step(1.04)
    assert m.enabled
    m.step(1.06)
    assert m.fault is PositionerFault.WATCHDOG and not m.enabled
    # stale: the time stamp goes back
    m.write_registers(reg.CONTROL, [reg.CTRL_RESET], 1.1)
    m.write_registers(reg.CONTROL, [reg.CTRL_ENABLE], 1.1)
    m.write_registers(reg.CONTROL, _command(m.q, 2.0, 1), 1.1)
    m.write_registers(reg.CONTROL, _command(m.q + 0.001, 1.9, 2), 1.102)
    assert m.fault is PositionerFault.STALE_SETPOINT


def test_servo_acceleration_limit_shows_as_following_error() -> None:
    """Set-points within the speed limit but accelerating far beyond the drive: it lags and trips."""
    slow = (AxisSpec("rotate", "revolute", -10.0, 10.0, 2.0, 0.5),)
    m = ServoAxes(ServoConfig(slow, following_error_rad=0.02), [0.0], now=0.0)
    m.write_registers(reg.CONTROL, [reg.CTRL_ENABLE], 0.0)
    for k in range(1, 200):
        t = k * 0.002
        m.write_registers(reg.CONTROL, _command(np.array([1.9 * t]), t, k), t)
        if m.fault is not PositionerFault.NONE:
            break
    assert m.fault is PositionerFault.FOLLOWING_ERROR
    assert np.all(np.abs(np.diff([m.qd[0]])) <= 0.5 * 0.002 + 1e-12)


@pytest.fixture
def device() -> VirtualPositioner:
    dev = VirtualPositioner(VirtualPositionerConfig(ServoConfig(AXES, watchdog=0.5), q0=(0.1, 0.5)))
    yield dev
    dev.stop()


def test_modbus_client_against_the_virtual_device(device: VirtualPositioner) -> None:
    host, port = device.address
    with connect_positioner(f"modbus-positioner://{host}:{port}", watchdog=0.5) as pos:
        assert [a.name for a in pos.axes] == ["tilt", "track"]
        assert [a.kind for a in pos.axes] == ["revolute", "prismatic"]
        st0 = pos.status()
        assert not st0.enabled
        np.testing.assert_allclose(st0.q, [0.1, 0.5], atol=1e-6)
        st1 = pos.enable()
        assert st1.enabled and st1.fault is PositionerFault.NONE
        for k in range(1, 30):
            st = pos.send_setpoint(np.array([0.1 + 0.001 * k, 0.5]), 0.002 * k, k)
        assert st.counter == 29 and st.t_setpoint == pytest.approx(0.058, abs=1e-6)
        st = pos.send_setpoint(np.array([5.0, 0.5]), 0.06, 30)  # outside the tilt's travel
        assert st.fault is PositionerFault.POSITION_LIMIT and st.fault_axis == 0 and not st.enabled
        assert "position limit" in st.describe_fault(pos.axes) and "'tilt'" in st.describe_fault(pos.axes)
        assert pos.enable().enabled  # reset + enable
        assert not pos.disable().enabled
    assert device.counters().setpoints == 29


def test_axes_must_match_the_trajectory(device: VirtualPositioner) -> None:
    host, port = device.address
    n = 5
    ext = ExternalAxes(
        "turntable_1ax", "positioner", ("rotate",), ("revolute",),
        np.zeros((n, 1)), np.zeros((n, 1)), np.zeros((n, 1)), np.eye(4),
    )  # fmt: skip
    with pytest.raises(DriverError, match=r"do not match .*rotate"):
        check_axes_match(ext, AXES, f"{host}:{port}")
    q = np.column_stack([np.linspace(0, 2.5, n), np.full(n, 0.5)])
    far = ExternalAxes(
        "x", "positioner", ("tilt", "track"), ("revolute", "prismatic"), q, q * 0, q * 0, np.eye(4)
    )
    with pytest.raises(DriverError, match=r"'tilt' travels .* outside"):
        check_axes_match(far, AXES, "dev")


def test_addresses_and_connection_errors() -> None:
    assert parse_positioner_url("modbus-positioner://10.0.0.5") == ("10.0.0.5", 502)
    with pytest.raises(DriverError, match="scheme"):
        positioner_for_url("modbus://10.0.0.5:502")
    with pytest.raises(DriverError, match="HOST"):
        parse_positioner_url("modbus-positioner://")
    with pytest.raises(DriverConnectionError, match="no Modbus TCP server"):
        ModbusPositioner("127.0.0.1", 1).connect(timeout=1.0)


def test_axis_specs_from_text_and_urdf(tmp_path: Path) -> None:
    a = axes_from_text(["rotate:revolute:-360:360:90:360", "slide:prismatic:0:2000:250:1000"])
    assert a[0].upper == pytest.approx(2 * math.pi) and a[0].max_speed == pytest.approx(math.pi / 2)
    assert a[1].upper == pytest.approx(2.0) and a[1].max_accel == pytest.approx(1.0)
    for bad, what in (
        ("r:revolute:1:2", "NAME:KIND"),
        ("r:spin:0:1:1:1", "kind"),
        ("r:revolute:5:1:1:1", "lower"),
    ):
        with pytest.raises(InvalidValueError, match=what):
            axes_from_text([bad])
    urdf = tmp_path / "hs.urdf"
    urdf.write_text(
        '<robot name="hs"><link name="a"/><link name="b"/><link name="c"/>'
        '<joint name="spin" type="continuous"><parent link="a"/><child link="b"/>'
        '<limit velocity="3.0" effort="1"/></joint>'
        '<joint name="lift" type="prismatic"><parent link="b"/><child link="c"/>'
        '<limit lower="0" upper="0.4" velocity="0.1" effort="1"/></joint></robot>'
    )
    spin, lift = axes_from_urdf(urdf, 5.0, 1.0)
    assert (spin.kind, spin.max_speed, spin.max_accel) == ("revolute", 3.0, 5.0)
    assert (lift.kind, lift.upper, lift.max_accel) == ("prismatic", 0.4, 1.0)
    urdf.write_text(
        '<robot name="x"><joint name="j" type="revolute"><limit lower="0" upper="1"/></joint></robot>'
    )
    with pytest.raises(ModelError, match="velocity"):
        axes_from_urdf(urdf, 1.0, 1.0)


def test_cli_runs_the_virtual_positioner() -> None:
    from weldcell.cli import app

    r = CliRunner().invoke(
        app,
        [
            "controller",
            "positioner",
            "--port",
            "0",
            "--axis",
            "rotate:revolute:-360:360:90:360",
            "--duration",
            "0.2",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "modbus-positioner://127.0.0.1:" in r.output and '"setpoints": 0' in r.output
    r = CliRunner().invoke(app, ["controller", "positioner", "--port", "0"])
    assert r.exit_code != 0 and "--axis" in str(r.exception or r.output)


def _batch(q: np.ndarray, t: np.ndarray, counter: int, t_base: float) -> list[int]:
    """A timed batch (register block ``BATCH``) as the client writes it."""
    words = [reg.CTRL_ENABLE, counter, *reg.words_from_u64_time(t_base), 0, len(t)]
    for qj, tj in zip(q, t, strict=True):
        words += reg.words_from_time(float(tj)) + reg.words_from_i32(qj)
    return words


def _status(m: ServoAxes, now: float) -> tuple[float, float, int]:
    """(trajectory time executed, device time, status word) from the status registers."""
    w = m.read_registers(reg.STATUS, reg.STATUS_END - reg.STATUS, now)
    t_exec = reg.time_from_words(w[reg.T_EXEC_US - reg.STATUS : reg.T_EXEC_US - reg.STATUS + 2])
    t_dev = reg.u64_time_from_words(w[reg.DEVICE_TIME_US - reg.STATUS : reg.DEVICE_TIME_US - reg.STATUS + 4])
    return t_exec, t_dev, w[0]


def test_timed_stream_runs_on_the_device_clock_whenever_the_batches_arrive() -> None:
    """Timed mode: set-points buffered ahead, executed at ``t_base + t`` on the drive's own clock.
    Batches sent early, late (a 60 ms stall, still before they are due) or in one go give the same
    motion; the status pairs the executed trajectory time with the device clock."""
    t_traj = np.arange(0, 301) * 0.004  # 1.2 s, every 4 ms
    s = 0.5 * (1 - np.cos(np.pi * t_traj / 1.2))
    q = np.column_stack([0.6 * s, 1.0 + 0.3 * s])
    t_base = 100.0  # the motion's trajectory time 0 is at device time 100 s
    n = reg.batch_capacity(2)
    assert n == 18

    def run(send_at: np.ndarray) -> tuple[ServoAxes, list[tuple[float, float]]]:
        m = ServoAxes(ServoConfig(AXES, watchdog=0.2), [0.0, 1.0], now=99.9)
        m.write_registers(reg.CONTROL, [reg.CTRL_ENABLE], 99.9)
        samples: list[tuple[float, float]] = []
        sent = 0
        for now in np.arange(99.9, 101.35, 0.002):
            while sent < len(t_traj) and send_at[sent] <= now:
                j = min(sent + n, len(t_traj))
                j = sent + max(1, int(np.sum(send_at[sent:j] <= now)))
                m.write_registers(reg.BATCH, _batch(q[sent:j], t_traj[sent:j], j, t_base), now)
                sent = j
            if sent:  # keep-alive: the newest again (not buffered twice)
                m.write_registers(
                    reg.BATCH, _batch(q[sent - 1 : sent], t_traj[sent - 1 : sent], sent, t_base), now
                )
            t_exec, t_dev, word = _status(m, now)
            assert word & reg.ST_TIMED and word & reg.ST_RUNNING
            samples.append((t_dev, t_exec))
            assert m.fault is PositionerFault.NONE, (now, m.fault)
        return m, samples

    ahead = t_base + t_traj - 0.25  # 250 ms look-ahead
    stalled = np.where((t_traj > 0.4) & (t_traj < 0.6), t_base + 0.39, ahead)  # nothing sent for 60 ms
    stalled = np.maximum.accumulate(
        np.where((ahead > t_base + 0.33) & (ahead < t_base + 0.39), t_base + 0.39, stalled)
    )
    at_once = np.full_like(t_traj, 99.9)  # everything up front (buffer 512)
    finals = []
    for send_at in (ahead, stalled, at_once):
        m, samples = run(send_at)
        t_dev = np.array([a for a, _ in samples])
        t_exec = np.array([b for _, b in samples])
        running = t_dev >= t_base
        np.testing.assert_allclose(
            t_exec[running], np.minimum(t_dev[running] - t_base, t_traj[-1]), atol=2e-6
        )
        assert m.max_following_error.max() < 2e-3
        finals.append(m.q.copy())
    np.testing.assert_allclose(finals[0], q[-1], atol=1e-4)
    np.testing.assert_allclose(finals[1], finals[0], atol=1e-9)
    np.testing.assert_allclose(finals[2], finals[0], atol=1e-9)


def test_timed_stream_holds_before_its_time_base_and_when_left() -> None:
    m = ServoAxes(ServoConfig(AXES, watchdog=0.5), [0.2, 1.0], now=0.0)
    m.write_registers(reg.CONTROL, [reg.CTRL_ENABLE], 0.0)
    t = np.array([0.0, 0.1, 0.2])
    q = np.array([[0.2, 1.0], [0.21, 1.0], [0.22, 1.0]])  # 0.1 rad/s, then stop (within 4 rad/s²)
    m.write_registers(reg.BATCH, _batch(q, t, 1, 0.0), 0.0)  # no time base yet: hold the first
    m.step(0.3)
    t_exec, _, word = _status(m, 0.3)
    assert word & reg.ST_TIMED and not word & reg.ST_RUNNING and t_exec == 0.0
    np.testing.assert_allclose(m.q, [0.2, 1.0], atol=1e-9)
    m.write_registers(reg.BATCH, _batch(q[2:], t[2:], 2, 0.3), 0.3)  # time base: now
    t_exec, t_dev, word = _status(m, 0.4)
    assert word & reg.ST_RUNNING and t_exec == pytest.approx(t_dev - 0.3, abs=2e-6)
    assert 0.2 < m.q[0] < 0.215  # on its way
    for now in (0.6, 0.9, 1.2):  # keep-alives (the newest again): the drive settles on it, held
        m.write_registers(reg.BATCH, _batch(q[2:], t[2:], 3, 0.3), now)
    m.step(1.3)
    np.testing.assert_allclose(m.q[0], 0.22, atol=1e-4)
    # a direct set-point leaves timed mode: the drive holds, no fault
    m.write_registers(reg.CONTROL, _command(np.array([0.22, 1.0]), 0.0, 3), 1.3)
    m.step(1.4)
    _, _, word = _status(m, 1.4)
    assert not word & reg.ST_TIMED and m.fault is PositionerFault.NONE
    np.testing.assert_allclose(m.q[0], 0.22, atol=1e-4)
    # timed set-points are checked as direct ones: over-speed between two stamps
    m.write_registers(
        reg.BATCH, _batch(np.array([[0.22, 1.0], [0.9, 1.0]]), np.array([1.0, 1.01]), 4, 0.0), 1.4
    )
    assert m.fault is PositionerFault.OVERSPEED and m.fault_axis == 0
    with pytest.raises(InvalidValueError, match="timed batch"):
        m.write_registers(reg.BATCH, [reg.CTRL_ENABLE, 1, 0, 0, 0, 0, 0, 0], 1.5)  # zero set-points


def test_modbus_client_streams_timed_batches(device: VirtualPositioner) -> None:
    import time

    host, port = device.address
    with connect_positioner(f"modbus-positioner://{host}:{port}", watchdog=0.5) as pos:
        pos.enable()
        assert pos.batch_size == 18
        t = np.arange(18) * 0.004
        smooth = 0.5 * (1 - np.cos(np.pi * t / t[-1]))  # from rest to rest
        q = np.column_stack([0.1 + 0.003 * smooth, np.full(18, 0.5)])
        base = time.monotonic() + 0.02
        st = pos.send_timed(q, t, 1, base)
        assert st.timed and st.running and st.enabled
        time.sleep(0.2)
        st = pos.send_timed(q[-1:], t[-1:], 2, base)  # keep-alive
        assert st.t_exec == pytest.approx(t[-1], abs=1e-6)  # past the newest: reports what it holds
        assert abs(st.device_time - time.monotonic()) < 0.05  # the virtual device's clock is ours
        np.testing.assert_allclose(st.q, q[-1], atol=2e-4)  # past the newest set-point: held
        with pytest.raises(ProtocolError, match="timed batch"):
            pos.send_timed(np.zeros((19, 2)), np.arange(19) * 0.004, 3, base)
        st = pos.send_setpoint(st.q, 10.0, 4)  # direct again: leaves timed mode
        assert not st.timed and st.enabled


def test_own_stall_is_not_counted_by_the_watchdog_and_set_point_arrival_is_measured() -> None:
    """A device whose own thread was not run for longer than its watchdog (the set-points waited in
    the socket) does not trip when the set-point is then processed; a silent stream still trips.
    Timed set-points are measured against their due instant: early (lead) or late."""
    q = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    t = np.array([0.0, 0.1, 0.2])
    for own_stall, tripped in ((None, True), (0.02, False)):
        m = ServoAxes(ServoConfig(AXES, watchdog=0.1), [0.0, 1.0], now=0.0, own_stall=own_stall)
        m.write_registers(reg.CONTROL, [reg.CTRL_ENABLE], 0.0)
        m.write_registers(reg.BATCH, _batch(q[:1], t[:1], 1, 0.05), 0.0)
        m.step(0.001)
        # the device's thread stalls 150 ms; then it handles the set-point that waited meanwhile
        m.write_registers(reg.BATCH, _batch(q[1:2], t[1:2], 2, 0.05), 0.151)
        assert (m.fault is PositionerFault.WATCHDOG) is tripped, own_stall
        assert m.max_step_gap == pytest.approx(0.15, abs=1e-9)
        assert m.stalls == (0 if own_stall is None else 1)
    # healthy after its stall: set-point 1 was due at 0.05 + 0.1 = 0.15 s, it arrived 1 ms late
    assert m.late_setpoints == 1 and m.late_max == pytest.approx(0.001, abs=1e-6)
    assert m.lead_min == pytest.approx(-0.001, abs=1e-6)
    m.write_registers(reg.BATCH, _batch(q[2:], t[2:], 3, 0.05), 0.16)  # due at 0.25 s: 90 ms early
    assert m.late_setpoints == 1 and m.lead_min == pytest.approx(-0.001, abs=1e-6)
    # a stream that then goes silent (the device running every tick) still trips its watchdog
    for now in np.arange(0.161, 0.4, 0.001):
        m.step(float(now))
    assert m.fault is PositionerFault.WATCHDOG
    c = m.counters()
    assert (c.stalls, c.late_setpoints) == (1, 1) and c.lead_min == pytest.approx(-0.001, abs=1e-6)


TABLE = (AxisSpec("table", "revolute", -12.5, 12.5, 2.0944, 6.2832),)  # a turntable: 120 °/s, 360 °/s²


def _index_move(distance: float, v: float, a: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """A trapezoidal index move of ``distance`` [rad] at speed ``v`` [rad/s] and acceleration ``a``
    [rad/s²], sampled every ``dt`` [s]: (trajectory times, positions (n, 1))."""
    t_acc = v / a
    t_end = distance / v + t_acc
    t = np.arange(0.0, t_end + dt / 2, dt)
    cruise = 0.5 * a * t_acc**2 + v * (t - t_acc)
    q = np.where(
        t < t_acc,
        0.5 * a * t**2,
        np.where(t < t_end - t_acc, cruise, distance - 0.5 * a * (t_end - t) ** 2),
    )
    return t, q[:, None]


def _stream_with_robot_stall(
    stall_at: float, stall: float
) -> tuple[ServoAxes, list[tuple[float, float, float]]]:
    """The cell's timed stream of a fast index move (2 rad/s) whose robot stops reporting for ``stall``
    [s] at path time ``stall_at`` [s] (its controller skipped cycles) and then runs on from there: the
    time base jumps ``stall`` later at once, as ``PositionerSync`` sends it (newest report's stamp minus
    its path time). Host cycles every 5 ms, 250 ms look-ahead; the device ticks every 1 ms.
    Returns the device and (device time, trajectory time executed, time base sent) per cycle."""
    t_traj, q = _index_move(3.0, 2.0, 4.0, 0.004)
    base0 = 100.0
    m = ServoAxes(ServoConfig(TABLE, watchdog=0.2), [0.0], now=base0 - 0.1)
    m.write_registers(reg.CONTROL, [reg.CTRL_ENABLE], base0 - 0.1)
    n = reg.batch_capacity(1)
    sent, counter, base = 0, 0, base0
    trace: list[tuple[float, float, float]] = []
    for now in np.arange(base0 - 0.05, base0 + t_traj[-1] + stall + 0.5, 0.005):
        # the robot's newest report (every 2 ms; none while its controller skipped cycles)
        t_rep = math.floor((now - base0) / 0.002) * 0.002
        path = t_rep if t_rep < stall_at else (stall_at if t_rep < stall_at + stall else t_rep - stall)
        if t_rep > 0.0 and not stall_at <= t_rep < stall_at + stall:
            base = base0 + t_rep - path
        horizon = max(path, 0.0) + 0.25
        while sent < len(t_traj) and t_traj[sent] <= horizon:
            j = min(sent + n, len(t_traj), int(np.searchsorted(t_traj, horizon, side="right")))
            counter += 1
            m.write_registers(reg.BATCH, _batch(q[sent:j], t_traj[sent:j], counter, base), now)
            sent = j
        counter += 1  # keep-alive with the newest time base
        m.write_registers(reg.BATCH, _batch(q[sent - 1 : sent], t_traj[sent - 1 : sent], counter, base), now)
        t_exec, t_dev, _ = _status(m, now)
        trace.append((t_dev, t_exec, base))
        if m.fault is not PositionerFault.NONE:
            break
    return m, trace


def test_time_base_jump_on_a_fast_index_move_is_ramped_by_the_drive() -> None:
    """Issue 18 trace: the robot's path falls 80 ms behind at once while the table indexes at 2 rad/s.
    A drive that stops its trajectory clock at once (the jump applied as is) leaves its target standing
    while the axis cannot brake in time: following error > 0.05 rad, fault. The drive ramps its clock
    instead (second derivative of the time base within its axes' acceleration): no fault, the axis
    never over its acceleration, and the executed trajectory time is back on the time base (≤ 1 ms)
    once the robot runs steadily."""
    m, trace = _stream_with_robot_stall(stall_at=0.8, stall=0.08)
    assert m.fault is PositionerFault.NONE, (m.fault, m.max_following_error)
    assert m.max_following_error[0] < 0.5 * m.config.following_error_rad
    np.testing.assert_allclose(m.q, [3.0], atol=1e-4)
    t_dev, t_exec, base = (np.array(x) for x in zip(*trace, strict=True))
    assert np.all(np.diff(t_exec) >= 0)  # never backwards
    late = t_dev > 100.0 + 0.8 + 0.08 + 1.0  # a second after the robot runs steadily again
    moving = late & (t_exec < 3.0 / 2.0 + 0.5 - 1e-3)
    assert moving.sum() > 20
    assert np.max(np.abs(t_exec[moving] - (t_dev[moving] - base[moving]))) <= 1e-3
    # a longer stall at full speed too, within the 250 ms look-ahead (past it the buffer runs dry)
    m, _ = _stream_with_robot_stall(stall_at=0.6, stall=0.15)
    assert m.fault is PositionerFault.NONE, (m.fault, m.max_following_error)
    np.testing.assert_allclose(m.q, [3.0], atol=1e-4)


def test_an_earlier_time_base_is_caught_up_a_little_fast_within_the_axis_speed() -> None:
    """A time base 30 ms earlier while the table cruises at 2 rad/s (max 2.0944): the clock runs at
    most 1.1 times real time and never drives the axis above its maximum speed, then lands."""
    t_traj, q = _index_move(3.0, 2.0, 4.0, 0.004)
    m = ServoAxes(ServoConfig(TABLE, watchdog=0.2), [0.0], now=99.9)
    m.write_registers(reg.CONTROL, [reg.CTRL_ENABLE], 99.9)
    n = reg.batch_capacity(1)
    for c, j in enumerate(range(0, len(t_traj), n)):
        m.write_registers(reg.BATCH, _batch(q[j : j + n], t_traj[j : j + n], c + 1, 100.0), 99.9)
    base, rows = 100.0, []
    for now in np.arange(99.95, 102.6, 0.005):
        if now >= 100.7:
            base = 99.97
        m.write_registers(reg.BATCH, _batch(q[-1:], t_traj[-1:], 1000, base), now)
        t_exec, t_dev, _ = _status(m, now)
        rows.append((t_dev, t_exec, base))
        assert m.fault is PositionerFault.NONE, (now, m.fault)
    t_dev, t_exec, bases = (np.array(x) for x in zip(*rows, strict=True))
    rate = np.diff(t_exec) / np.diff(t_dev)
    assert rate.max() <= 1.1 + 1e-3
    assert np.abs(m.qd).max() <= TABLE[0].max_speed and m.max_following_error[0] < 0.01
    assert rate.max() > 1.01  # it did catch up faster than real time
    landed = (t_dev > 101.6) & (t_exec < t_traj[-1] - 1e-3)
    assert landed.sum() > 10
    assert np.max(np.abs(t_exec[landed] - (t_dev[landed] - bases[landed]))) <= 1e-3
