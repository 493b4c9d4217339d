"""Welding power source wired to the robot controller's digital and analog I/O.

The classic cobot wiring: robot digital outputs switch arc on, gas, wire inching, error reset and
job bits; digital inputs bring back "arc established" (current detect), ready, wire stick and
error; analog outputs carry wire feed / voltage / current command values. :class:`IoPowerSource`
works with any object that has ``set_digital_out(i, v)``, ``get_digital_in(i)`` and
``set_analog_out(i, v)`` (:class:`RobotIo`; weldcell's ``RobotDriver`` has them).

Because a discrete interface has no error numbers and no arc-stable signal, this class derives them
in software from the samples it reads: "arc stable" = arc established held for
``IoTiming.arc_stable_time``; no ignition within ``ignition_timeout`` latches
:attr:`ErrorCode.NO_IGNITION`; arc established dropping during a weld latches
:attr:`ErrorCode.ARC_BREAK`; the wire-stick / error inputs map to :attr:`ErrorCode.WIRE_STICK` /
:attr:`ErrorCode.EXTERNAL`. :meth:`IoPowerSource.reset_error` clears latched errors. Actual
current, voltage and wire feed are not measured (NaN). The sampling happens in ``status()``, so
call it (or the waits) regularly during a weld; each call does a few I/O reads on the robot
driver, so do not call it from a hard real-time loop.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from weldcell.drivers.powersource.base import (
    MAX_WIRE_FEED,
    ErrorCode,
    PowerSource,
    PowerSourceStatus,
    PowerSourceValueError,
    WeldParams,
    WireDirection,
    wire_direction,
)
from weldcell.errors import DriverConnectionError, DriverError, DriverFaultError


@runtime_checkable
class RobotIo(Protocol):
    """The I/O part of a robot driver that :class:`IoPowerSource` needs."""

    def set_digital_out(self, index: int, value: bool) -> None:
        """Set digital output ``index``."""

    def get_digital_in(self, index: int) -> bool:
        """Read digital input ``index``."""

    def set_analog_out(self, index: int, value: float) -> None:
        """Set analog output ``index`` (unit per the controller: fraction of range or volts)."""


@dataclass(frozen=True, slots=True)
class AnalogChannel:
    """An analog command output: ``out = value / full_scale * output_max``.

    Attributes:
        index: Analog output number.
        full_scale: SI value at full output (e.g. 25 m/min = 0.4167 m/s for 10 V).
        output_max: Output value at full scale: 1.0 for a fraction of the range (UR
            ``set_standard_analog_out``), 10.0 for volts.
    """

    index: int
    full_scale: float
    output_max: float = 1.0

    def __post_init__(self) -> None:
        if not (self.full_scale > 0 and self.output_max > 0):
            raise PowerSourceValueError(f"analog channel {self.index}: full scale and output max must be > 0")

    def output(self, value: float) -> float:
        """SI value → output value, clamped to 0 … output_max."""
        return min(max(value / self.full_scale, 0.0), 1.0) * self.output_max


@dataclass(frozen=True, slots=True)
class IoMap:
    """Which robot I/O carries which power-source signal (``None`` = not wired)."""

    arc_on: int = 0
    gas: int | None = 1
    wire_forward: int | None = 2
    wire_backward: int | None = 3
    error_reset: int | None = 4
    job_bits: tuple[int, ...] = ()
    arc_established: int = 0
    arc_established_active_low: bool = False
    ready: int | None = 1
    wire_stick: int | None = 2
    error: int | None = 3
    wire_feed: AnalogChannel | None = field(default_factory=lambda: AnalogChannel(0, MAX_WIRE_FEED))
    voltage: AnalogChannel | None = field(default_factory=lambda: AnalogChannel(1, 50.0))
    current: AnalogChannel | None = None


@dataclass(frozen=True, slots=True)
class IoTiming:
    """Timing of the software arc supervision [s]."""

    arc_stable_time: float = 0.05
    ignition_timeout: float = 1.0
    reset_pulse: float = 0.1
    poll: float = 0.002


class IoPowerSource(PowerSource):
    """Power source on the robot's digital/analog I/O.

    Args:
        io: Object with ``set_digital_out``, ``get_digital_in``, ``set_analog_out``.
        io_map: Signal wiring.
        timing: Supervision timing.
        clock: Monotonic clock [s].
    """

    def __init__(
        self,
        io: RobotIo,
        io_map: IoMap | None = None,
        timing: IoTiming | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        self.io = io
        self.io_map = io_map or IoMap()
        self.timing = timing or IoTiming()
        self._clock: Callable[[], float] = clock or time.monotonic
        self._lock = threading.RLock()
        self._weld_on = False
        self._t_start = 0.0
        self._flow_since: float | None = None
        self._was_stable = False
        self._latched = ErrorCode.NONE
        self._outputs: dict[int, bool] = {}

    # --- lifecycle ---------------------------------------------------------------------------
    def _connect_internal(self, timeout: float | None) -> None:
        try:
            self.io.get_digital_in(self.io_map.arc_established)
        except DriverError:
            raise
        except Exception as err:
            raise DriverConnectionError(f"robot I/O for the power source does not answer: {err}") from err
        self._set(self.io_map.arc_on, False)

    def _close_internal(self) -> None:
        m = self.io_map
        for index in (m.arc_on, m.gas, m.wire_forward, m.wire_backward, m.error_reset):
            if index is not None:
                self._set(index, False)
        self._weld_on = False

    # --- commands ----------------------------------------------------------------------------
    def select_job(self, job: int, timeout: float | None = 1.0) -> None:
        """Put ``job`` on the job bits (binary, LSB on the first bit)."""
        bits = self.io_map.job_bits
        if job < 0 or (job > 0 and job >= (1 << len(bits))):
            raise PowerSourceValueError(
                f"job {job} cannot be selected: the I/O map has {len(bits)} job bit(s) "
                f"(jobs 0 … {(1 << len(bits)) - 1})"
            )
        for i, index in enumerate(bits):
            self._set(index, bool((job >> i) & 1))

    def set_parameters(self, params: WeldParams, timeout: float | None = 1.0) -> None:
        """Write the analog command values and the job bits."""
        m = self.io_map
        for channel, value in (
            (m.wire_feed, params.wire_feed),
            (m.voltage, params.voltage),
            (m.current, params.current),
        ):
            if channel is not None:
                self.io.set_analog_out(channel.index, channel.output(value))
        self.select_job(params.job, timeout)

    def start_weld(self, timeout: float | None = 1.0) -> None:
        """Switch the arc-on output on. Raises :class:`DriverFaultError` on a pending error."""
        st = self.status()
        if st.error_code:
            raise DriverFaultError(
                f"power source cannot start: error {st.error_code} ({ErrorCode.describe(st.error_code)})",
                error_code=st.error_code,
            )
        if not st.ready:
            raise DriverFaultError(
                "power source is not ready (ready input low)", error_code=int(ErrorCode.NOT_READY)
            )
        if self._outputs.get(self.io_map.arc_on, False):  # make a fresh rising edge
            self._set(self.io_map.arc_on, False)
        with self._lock:
            self._weld_on = True
            self._t_start = self._clock()
            self._flow_since = None
            self._was_stable = False
        self._set(self.io_map.arc_on, True)

    def stop_weld(self, timeout: float | None = 1.0) -> None:
        """Switch the arc-on output off."""
        self._set(self.io_map.arc_on, False)
        with self._lock:
            self._weld_on = False

    def gas_test(self, on: bool, timeout: float | None = 1.0) -> None:
        """Gas valve output on/off."""
        if self.io_map.gas is None:
            raise PowerSourceValueError("gas test is not wired in this I/O map")
        self._set(self.io_map.gas, bool(on))

    def wire_inch(self, direction: WireDirection | str, on: bool, timeout: float | None = 1.0) -> None:
        """Wire inching outputs."""
        d = wire_direction(direction)
        fwd, back = self.io_map.wire_forward, self.io_map.wire_backward
        if fwd is None or back is None:
            raise PowerSourceValueError("wire inching is not wired in this I/O map")
        self._set(back if d is WireDirection.FORWARD else fwd, False)
        self._set(fwd if d is WireDirection.FORWARD else back, bool(on))

    def reset_error(self, timeout: float | None = 1.0) -> None:
        """Pulse the error-reset output for ``IoTiming.reset_pulse`` and clear latched errors."""
        pulse = self.timing.reset_pulse if timeout is None else min(self.timing.reset_pulse, timeout)
        if self.io_map.error_reset is not None:
            self._set(self.io_map.error_reset, True)
            time.sleep(pulse)
            self._set(self.io_map.error_reset, False)
        with self._lock:
            self._latched = ErrorCode.NONE
            self._was_stable = False

    def status(self) -> PowerSourceStatus:
        """Read the inputs, update the arc supervision and return a snapshot."""
        if not self._connected:
            raise DriverConnectionError("power source (robot I/O) is not connected")
        m = self.io_map
        flow = bool(self.io.get_digital_in(m.arc_established)) != m.arc_established_active_low
        ready_in = True if m.ready is None else bool(self.io.get_digital_in(m.ready))
        stick = False if m.wire_stick is None else bool(self.io.get_digital_in(m.wire_stick))
        err_in = False if m.error is None else bool(self.io.get_digital_in(m.error))
        now = self._clock()
        with self._lock:
            if flow and self._flow_since is None:
                self._flow_since = now
            elif not flow:
                self._flow_since = None
            stable = self._flow_since is not None and now - self._flow_since >= self.timing.arc_stable_time
            if self._weld_on:
                if stable:
                    self._was_stable = True
                elif self._was_stable and not flow:
                    self._latch(ErrorCode.ARC_BREAK)
                elif not self._was_stable and not flow and now - self._t_start > self.timing.ignition_timeout:
                    self._latch(ErrorCode.NO_IGNITION)
            if stick:
                self._latch(ErrorCode.WIRE_STICK)
            elif err_in:
                self._latch(ErrorCode.EXTERNAL)
            code = self._latched
            return PowerSourceStatus(
                ready=ready_in and code == ErrorCode.NONE,
                process_active=self._weld_on or flow,
                current_flow=flow,
                arc_stable=stable,
                motion_release=stable and self._weld_on and code == ErrorCode.NONE,
                wire_stick=stick,
                warning=False,
                error_code=int(code),
                current=math.nan,
                voltage=math.nan,
                wire_feed=math.nan,
                heartbeat=False,
                timestamp=now,
            )

    def _wait_status_change(self, timeout: float) -> None:
        time.sleep(min(timeout, self.timing.poll))

    # --- helpers -----------------------------------------------------------------------------
    def _latch(self, code: ErrorCode) -> None:
        if self._latched == ErrorCode.NONE:
            self._latched = code

    def _set(self, index: int, value: bool) -> None:
        self.io.set_digital_out(index, value)
        self._outputs[index] = value
