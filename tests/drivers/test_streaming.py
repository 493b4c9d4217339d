"""The streaming-driver base (weldcell.drivers.streaming): path position, stop ramp, shared settings.

The vendor drivers (KUKA RSI, FANUC Stream Motion, ABB EGM) are tested against their controllers in
tests/drivers/<vendor>/; these tests pin the shared pieces in-process.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.drivers.abb.config import EgmConfig, EgmConfigError
from weldcell.drivers.abb.driver import EgmDriver
from weldcell.drivers.base import ExecutionHandle
from weldcell.drivers.fanuc.config import FanucConfig, FanucConfigError
from weldcell.drivers.fanuc.driver import FanucDriver
from weldcell.drivers.kuka.config import RsiConfig, RsiConfigError
from weldcell.drivers.kuka.driver import RsiDriver
from weldcell.drivers.registry import parse_robot_url
from weldcell.drivers.streaming import PathRun
from weldcell.errors import DriverError
from weldcell.trajectory import joint_move

_MOVE = joint_move("kr10_r1420", np.zeros(6), np.full(6, 0.2), 0.004, speed_fraction=0.05)
assert _MOVE.n_samples > 400  # long enough for every case below


def _run(cycle: float, start: int = 0, end: int | None = None) -> PathRun:
    end = _MOVE.n_samples if end is None else end
    handle = ExecutionHandle(_MOVE, start, end)
    return PathRun(handle, np.degrees(_MOVE.q[start:end]), cycle)


@settings(max_examples=25, deadline=None)
@given(cycle=st.sampled_from([0.004, 0.008, 0.012]), start=st.integers(0, 40), n=st.integers(2, 60))
def test_path_position_advances_one_cycle_per_packet(cycle: float, start: int, n: int) -> None:
    run = _run(cycle, start, start + n)
    step = cycle / _MOVE.dt
    positions = []
    for _ in range(math.ceil((n - 1) / step) + 2):
        run.advance(0.1)
        positions.append(run.pos)
    # the first cycle commands sample 0 (where the robot is), then step samples per cycle, up to the end
    expected = np.minimum(np.arange(len(positions)) * step, n - 1)
    np.testing.assert_allclose(positions, expected, atol=1e-12)
    assert run.at_end and run.at_rest and not run.stopped


@settings(max_examples=25, deadline=None)
@given(pos=st.floats(0.0, 100.0))
def test_setpoint_is_linear_between_samples(pos: float) -> None:
    run = _run(0.004)
    run.pos = min(pos, float(run.last))
    q, arc = run.setpoint()
    i = min(math.floor(run.pos), run.last)
    for j in range(6):
        assert q[j] == pytest.approx(
            np.interp(run.pos, np.arange(run.last + 1), run.setpoints[:, j]), abs=1e-12
        )
    assert arc == bool(_MOVE.arc_on[i])


@settings(max_examples=25, deadline=None)
@given(cycle=st.sampled_from([0.004, 0.008, 0.012]), stop_time=st.floats(0.02, 0.3), at=st.integers(1, 20))
def test_stop_ramps_the_path_speed_to_zero(cycle: float, stop_time: float, at: int) -> None:
    """After stop() the path speed falls linearly to zero over stop_time, the position never goes back,
    and the path covered while stopping is the ramp's area (half the distance at full speed)."""
    run = _run(cycle)
    dec = cycle / stop_time
    for _ in range(at):
        run.advance(dec)
    p0, run.stopping = run.pos, True
    rates, last_pos = [run.rate], run.pos
    while not run.stopped:
        run.advance(dec)
        assert run.pos >= last_pos and run.rate <= rates[-1]
        last_pos = run.pos
        rates.append(run.rate)
    cycles = len(rates) - 1
    assert abs(cycles - 1.0 / dec) <= 1.0 + 1e-9  # one more when the float rate lands just above 0
    full = run.step * stop_time / cycle  # samples at full speed over stop_time
    assert run.pos - p0 == pytest.approx(0.5 * full, abs=run.step)
    assert run.at_rest and not run.at_end


def test_configs_share_the_checks_with_each_vendors_words() -> None:
    ip = r"expected an IP address \(e\.g\. "
    cases = [
        (lambda: RsiConfig(host="robot1"), RsiConfigError, "RSI host 'robot1': " + ip + r"192\.168\.1\.10"),
        (lambda: RsiConfig(port=0), RsiConfigError, r"RSI port 0: expected a UDP port 1 … 65535"),
        (lambda: RsiConfig(arc_output=32), RsiConfigError, r"RSI arc_output 32: expected a bit number 0 … 3"),
        (lambda: RsiConfig(end_timeout=0.0), RsiConfigError, r"RSI end_timeout 0\.0: expected a number > 0"),
        (lambda: EgmConfig(host="x"), EgmConfigError, r"EGM host 'x': " + ip + r"192\.168\.125\.10\)"),
        (lambda: EgmConfig(stop_time=math.nan), EgmConfigError, r"EGM stop_time nan: expected a number of s"),
        (lambda: EgmConfig(cycle=0.005), EgmConfigError, r"multiple of 0\.004"),
        (lambda: FanucConfig(host=""), FanucConfigError, r"FANUC host is empty"),
        (lambda: FanucConfig(local_port=70000), FanucConfigError, r"FANUC local_port 70000: expected a UDP"),
        (lambda: FanucConfig(do_count=4, arc_output=4), FanucConfigError, r"expected a mapped signal 0 … 3"),
        (lambda: FanucConfig(silence="1"), FanucConfigError, r"FANUC silence '1': expected a number > 0"),
    ]  # fmt: skip
    for make, error, message in cases:
        with pytest.raises(error, match=message):
            make()
    assert FanucConfig(host="robot-cell-3").host == "robot-cell-3"  # a client: any host name


def test_configs_from_robot_urls() -> None:
    rsi = RsiConfig.from_robot_url(parse_robot_url("kuka-rsi://10.0.0.2:49152?cycle_ms=12&mode=relative"))
    assert (rsi.host, rsi.port, rsi.cycle, rsi.mode) == ("10.0.0.2", 49152, 0.012, "relative")
    base = EgmConfig(robot="irb1520id", silence=2.0)
    egm = EgmConfig.from_robot_url(parse_robot_url("abb-egm://10.0.0.3?sample_rate_ms=8"), config=base)
    assert (egm.host, egm.port, egm.cycle, egm.silence) == ("10.0.0.3", 6510, 0.008, 2.0)
    fanuc = FanucConfig.from_robot_url(parse_robot_url("fanuc://10.0.0.4?io=0&silence_ms=250"), stop_time=0.2)
    assert (fanuc.io, fanuc.arc_output, fanuc.silence, fanuc.stop_time) == (False, None, 0.25, 0.2)
    with pytest.raises(RsiConfigError, match=r"unknown query parameter.*speed; known: robot, cycle_ms, mode"):
        RsiConfig.from_robot_url(parse_robot_url("kuka-rsi://10.0.0.2:1?speed=3"))
    with pytest.raises(EgmConfigError, match=r"sample_rate_ms='fast' is not a number \(4, 8, 12 …\)"):
        EgmConfig.from_robot_url(parse_robot_url("abb-egm://10.0.0.3?sample_rate_ms=fast"))
    with pytest.raises(FanucConfigError, match=r"the host is missing \(fanuc://HOST\[:PORT\]\)"):
        FanucConfig.from_robot_url(parse_robot_url("fanuc://"))


def test_drivers_check_their_urls_and_say_what_they_wait_for() -> None:
    with pytest.raises(DriverError, match="address to listen on"):
        RsiDriver.check_url(parse_robot_url("kuka-rsi://:59152"))
    with pytest.raises(DriverError, match="UDPUC"):
        EgmDriver.check_url(parse_robot_url("abb-egm://:6510"))
    FanucDriver.check_url(parse_robot_url("fanuc://10.0.0.4:60015"))
    assert RsiDriver.waiting_for(parse_robot_url("kuka-rsi://10.0.0.2")) == (
        "the robot's RSI telegrams on 10.0.0.2:59152: start the RSI program on the controller "
        "(weldcell export --format kuka-rsi)"
    )
    assert "10.0.0.3:6510" in (EgmDriver.waiting_for(parse_robot_url("abb-egm://10.0.0.3")) or "")
    assert FanucDriver.waiting_for(parse_robot_url("fanuc://10.0.0.4")) is None
    assert (RsiDriver.default_connect_timeout, EgmDriver.default_connect_timeout) == (60.0, 60.0)
    assert FanucDriver.default_connect_timeout == 15.0
