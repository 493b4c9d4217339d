"""IoPowerSource against a small I/O-wired welder model with real timing (ignition delay, arc loss)."""

from __future__ import annotations

import math
import time

import pytest

from weldcell.drivers.powersource import ErrorCode, IoMap, IoPowerSource, IoTiming, RobotIo, WeldParams
from weldcell.drivers.powersource.io import AnalogChannel
from weldcell.errors import DriverConnectionError, DriverFaultError

ARC_DO, GAS_DO, FWD_DO, BACK_DO, RESET_DO = 0, 1, 2, 3, 4
ARC_DI, READY_DI, STICK_DI, ERROR_DI = 0, 1, 2, 3


class IoWelder:
    """A power source on discrete I/O: arc established ``ignition_delay`` s after arc on."""

    def __init__(self, ignition_delay: float = 0.04, active_low: bool = False) -> None:
        self.ignition_delay = ignition_delay
        self.active_low = active_low
        self.do: dict[int, bool] = {}
        self.ao: dict[int, float] = {}
        self.do_log: list[tuple[float, int, bool]] = []
        self.t_on: float | None = None
        self.ignites = True
        self.arc_lost = False
        self.stick_at_end = False
        self.stuck = False
        self.error_input = False
        self.dead = False

    def set_digital_out(self, index: int, value: bool) -> None:
        now = time.monotonic()
        self.do_log.append((now, index, value))
        if index == ARC_DO:
            if value and not self.do.get(ARC_DO, False):
                self.t_on, self.arc_lost = now, False
            elif not value and self.do.get(ARC_DO, False):
                if self.stick_at_end and self._established(now):
                    self.stuck = True
                self.t_on = None
        if index == RESET_DO and value:
            self.stuck = self.error_input = False
        self.do[index] = value

    def _established(self, now: float) -> bool:
        return (
            self.t_on is not None
            and self.ignites
            and not self.arc_lost
            and now - self.t_on >= self.ignition_delay
        )

    def get_digital_in(self, index: int) -> bool:
        if self.dead:
            raise OSError("I/O bus down")
        now = time.monotonic()
        if index == ARC_DI:
            return self._established(now) != self.active_low
        return {READY_DI: True, STICK_DI: self.stuck, ERROR_DI: self.error_input}.get(index, False)

    def set_analog_out(self, index: int, value: float) -> None:
        self.ao[index] = value


def _ps(w: IoWelder, **map_kw: object) -> IoPowerSource:
    io_map = IoMap(**map_kw)  # type: ignore[arg-type]
    return IoPowerSource(w, io_map, IoTiming(arc_stable_time=0.03, ignition_timeout=0.2, reset_pulse=0.02))


def test_protocol_is_structural() -> None:
    assert isinstance(IoWelder(), RobotIo)


def test_weld_cycle_with_real_timing() -> None:
    w = IoWelder(ignition_delay=0.04)
    with _ps(w) as ps:
        ps.set_parameters(WeldParams(wire_feed=10.0 / 60, voltage=25.0))
        assert w.ao[0] == pytest.approx(0.4)  # 10 of 25 m/min, UR fraction-of-range convention
        assert w.ao[1] == pytest.approx(0.5)  # 25 of 50 V
        st = ps.status()
        assert st.ready and not st.process_active and math.isnan(st.current)
        t0 = time.monotonic()
        ps.start_weld()
        st = ps.status()
        assert st.process_active and not st.current_flow and not st.motion_release
        assert ps.wait_arc_stable(1.0)
        dt = time.monotonic() - t0
        assert 0.04 + 0.03 <= dt < 0.5, dt  # ignition delay + arc-stable debounce
        st = ps.status()
        assert st.current_flow and st.arc_stable and st.motion_release and st.error_code == 0
        ps.stop_weld()
        st = ps.status()
        assert not st.process_active and not st.current_flow and st.error_code == 0
    assert w.do[ARC_DO] is False and w.do[GAS_DO] is False  # close switched everything off


def test_no_ignition_latches_error_and_reset_clears() -> None:
    w = IoWelder()
    w.ignites = False
    with _ps(w) as ps:
        ps.start_weld()
        t0 = time.monotonic()
        assert ps.wait_arc_stable(30.0) is False
        assert 0.15 < time.monotonic() - t0 < 10.0  # after the 0.2 s ignition timeout, not the 30 s wait
        assert ps.status().error_code == ErrorCode.NO_IGNITION
        ps.stop_weld()
        with pytest.raises(DriverFaultError) as info:
            ps.start_weld()
        assert info.value.error_code == ErrorCode.NO_IGNITION
        ps.reset_error()
        pulses = [(t, v) for t, i, v in w.do_log if i == RESET_DO]
        assert [v for _, v in pulses] == [True, False] and pulses[1][0] - pulses[0][0] >= 0.02
        w.ignites = True
        ps.start_weld()
        assert ps.wait_arc_stable(1.0)


def test_arc_loss_during_weld() -> None:
    w = IoWelder()
    with _ps(w) as ps:
        ps.start_weld()
        assert ps.wait_arc_stable(1.0)
        w.arc_lost = True
        st = ps.status()
        assert not st.arc_stable and not st.motion_release and st.error_code == ErrorCode.ARC_BREAK
        ps.reset_error()  # restart without stop_weld: the arc output must make a fresh rising edge
        n = len(w.do_log)
        ps.start_weld()
        assert [(i, v) for _, i, v in w.do_log[n:]] == [(ARC_DO, False), (ARC_DO, True)]
        assert ps.wait_arc_stable(1.0)


def test_wire_stick_and_error_inputs() -> None:
    w = IoWelder()
    w.stick_at_end = True
    with _ps(w) as ps:
        ps.start_weld()
        assert ps.wait_arc_stable(1.0)
        ps.stop_weld()
        st = ps.status()
        assert st.wire_stick and st.error_code == ErrorCode.WIRE_STICK and not st.ready
        ps.reset_error()
        assert ps.status().error_code == 0
        w.error_input = True
        assert ps.status().error_code == ErrorCode.EXTERNAL


def test_active_low_arc_detect_and_job_bits() -> None:
    w = IoWelder(active_low=True)
    with _ps(
        w, arc_established_active_low=True, job_bits=(5, 6, 7), current=AnalogChannel(2, 400.0, 10.0)
    ) as ps:
        assert not ps.status().current_flow  # input high = no arc
        ps.set_parameters(WeldParams(current=200.0, job=5))
        assert (w.do[5], w.do[6], w.do[7]) == (True, False, True)
        assert w.ao[2] == pytest.approx(5.0)  # volts
        with pytest.raises(ValueError, match="job bit"):
            ps.select_job(8)
        ps.start_weld()
        assert ps.wait_arc_stable(1.0)


def test_gas_inching_and_dead_io() -> None:
    w = IoWelder()
    with _ps(w) as ps:
        ps.gas_test(True)
        ps.wire_inch("forward", True)
        assert w.do[GAS_DO] and w.do[FWD_DO] and not w.do[BACK_DO]
        ps.wire_inch("backward", True)
        assert w.do[BACK_DO] and not w.do[FWD_DO]
    w.dead = True
    with pytest.raises(DriverConnectionError, match="does not answer"):
        _ps(w).connect()
