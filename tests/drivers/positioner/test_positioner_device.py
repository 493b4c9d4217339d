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
