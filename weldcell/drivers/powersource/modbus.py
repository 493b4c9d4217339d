"""Welding power source over Modbus TCP (pymodbus client) with a configurable process image.

Threading model: one I/O worker thread per :class:`ModbusPowerSource` owns the pymodbus client and
runs a fixed-rate cycle (``poll_period``, 20 ms by default): write the command registers when they
changed, write the coil image (which carries the robot heartbeat, toggled every
``heartbeat_period``), read the input registers (status word + actual values + error number in
one request, so flags and values never come from two different moments), decode them and publish an
immutable :class:`PowerSourceStatus` snapshot under a condition variable. The public methods never
touch the socket: commands change the desired output image and wait (with a timeout) until a cycle
that started after the change has completed; :meth:`ModbusPowerSource.status` only returns the
latest snapshot. A control loop may therefore call ``status()`` without ever blocking on the network.

A failed cycle never ends the worker: every reply is checked (function code, exception response,
register count and range), and anything that goes wrong inside pymodbus or the decoder becomes a
:class:`~weldcell.errors.ProtocolError` (socket errors a :class:`~weldcell.errors.DriverConnectionError`);
the worker drops the connection and reconnects after ``reconnect_delay``, doubling up to
``max_reconnect_delay`` while failures go on. If no cycle succeeds for ``comm_timeout`` seconds,
``status()`` raises :class:`~weldcell.errors.DriverConnectionError` naming the last error.
Because the heartbeat stops with the worker, the power source ends a weld on its own when this process dies.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from pymodbus.client import ModbusTcpClient

from weldcell.drivers.powersource.base import (
    ErrorCode,
    PowerSource,
    PowerSourceStatus,
    PowerSourceValueError,
    WeldParams,
    WireDirection,
    wire_direction,
)
from weldcell.drivers.powersource.image import (
    ProcessImage,
    RobotOutputs,
    decode_status_registers,
    encode_coils,
    encode_commands,
)
from weldcell.drivers.realtime import configure_thread
from weldcell.errors import (
    DriverConnectionError,
    DriverError,
    DriverFaultError,
    DriverTimeoutError,
    ProtocolError,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModbusOptions:
    """Options of :class:`ModbusPowerSource`.

    Attributes:
        image: Process image (addresses and scalings).
        device_id: Modbus unit id.
        poll_period: I/O cycle period [s].
        heartbeat_period: Time between toggles of the robot heartbeat coil [s].
        comm_timeout: Age [s] after which the status counts as lost.
        request_timeout: Timeout of one Modbus request [s].
        reconnect_delay: First pause after a failed cycle before reconnecting [s]; it doubles with
            every further failure up to ``max_reconnect_delay`` and resets after a good cycle.
        max_reconnect_delay: Longest pause between reconnection attempts [s].
        robot_ready_on_connect: Raise the robot-ready coil while connected.
        fifo_priority: ``SCHED_FIFO`` priority (1-99) of the I/O worker, which carries the robot
            heartbeat the power source supervises (``set_comm_timeout``, 0.15 s in the cell): on a
            loaded machine an ordinary thread can wait that long for a CPU and the power source
            ends a healthy weld. Below the streaming drivers' control threads (10) and RTDE reader
            (5). Without permission (root or CAP_SYS_NICE) the worker runs ordinarily (a debug log
            line says why). None keeps ordinary scheduling.
    """

    image: ProcessImage = field(default_factory=ProcessImage)
    device_id: int = 1
    poll_period: float = 0.02
    heartbeat_period: float = 0.02  # every I/O cycle: room for a short power-source comm timeout
    comm_timeout: float = 0.5
    request_timeout: float = 0.25
    reconnect_delay: float = 0.2
    max_reconnect_delay: float = 2.0
    robot_ready_on_connect: bool = True
    fifo_priority: int | None = 4

    def __post_init__(self) -> None:
        if self.fifo_priority is not None and not (
            isinstance(self.fifo_priority, int) and 1 <= self.fifo_priority <= 99
        ):
            raise PowerSourceValueError(
                f"ModbusOptions.fifo_priority must be 1-99 or None, got {self.fifo_priority!r}"
            )
        names = (
            "poll_period",
            "heartbeat_period",
            "comm_timeout",
            "request_timeout",
            "reconnect_delay",
            "max_reconnect_delay",
        )
        for name in names:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise PowerSourceValueError(f"ModbusOptions.{name} must be a number > 0 s, got {value!r}")
        if self.max_reconnect_delay < self.reconnect_delay:
            raise PowerSourceValueError(
                f"ModbusOptions.max_reconnect_delay ({self.max_reconnect_delay} s) must be >= "
                f"reconnect_delay ({self.reconnect_delay} s)"
            )


@dataclass(slots=True)
class _CycleState:
    """What the I/O worker carries from one cycle to the next."""

    last_words: list[int] | None = None  # command registers last written (None: write again)
    last_ct: int | None = None  # communication-timeout word last written (None: write again)
    heartbeat: bool = False
    next_toggle: float = 0.0  # monotonic time [s] of the next heartbeat toggle


def parse_modbus_url(url: str, default_port: int = 502) -> tuple[str, int]:
    """``modbus://host:port`` (or ``host:port``) → (host, port)."""
    text = url if "://" in url else f"modbus://{url}"
    parsed = urlparse(text)
    if parsed.scheme != "modbus" or not parsed.hostname:
        raise PowerSourceValueError(f"power source address {url!r} is not of the form modbus://HOST:PORT")
    try:
        port = parsed.port
    except ValueError as err:
        raise PowerSourceValueError(
            f"power source address {url!r}: expected a port number 1 … 65535 after the host ({err})"
        ) from None
    if port is None:
        port = default_port
    elif port == 0:
        raise PowerSourceValueError(f"power source address {url!r}: expected a port number 1 … 65535")
    return parsed.hostname, port


class ModbusPowerSource(PowerSource):
    """Power source over Modbus TCP.

    Args:
        host: Power source address.
        port: TCP port (502 on real devices).
        options: Process image, rates and timeouts.
    """

    def __init__(self, host: str, port: int = 502, options: ModbusOptions | None = None) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self.options = options or ModbusOptions()
        self._cond = threading.Condition()
        self._outputs = RobotOutputs()
        self._params = WeldParams()
        self._comm_timeout_word: int | None = None  # desired comm-timeout register value
        self._seq = 0  # bumped by every command
        self._done_seq = -1  # seq seen at the start of the last completed cycle
        self._status: PowerSourceStatus | None = None
        self._last_ok = 0.0
        self._last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cycles = 0  # completed I/O cycles (diagnostics)
        self.failures = 0  # failed I/O cycles: connection, Modbus exception or malformed reply (diagnostics)
        #: longest time between two good I/O cycles [s]: the robot heartbeat the power source saw is
        #: toggled at most this far apart (diagnostics, in the demo's job record)
        self.cycle_gap_max = 0.0

    @classmethod
    def from_url(cls, url: str, options: ModbusOptions | None = None) -> ModbusPowerSource:
        """Create from ``modbus://HOST:PORT``."""
        host, port = parse_modbus_url(url)
        return cls(host, port, options)

    # --- lifecycle ---------------------------------------------------------------------------
    def _connect_internal(self, timeout: float | None) -> None:
        self._stop.clear()
        with self._cond:
            self._outputs = RobotOutputs(robot_ready=self.options.robot_ready_on_connect)
            self._status = None
        self._thread = threading.Thread(
            target=self._worker, name=f"psu-modbus-{self.host}:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._status is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            ok = self._status is not None
        if not ok:
            self._stop_worker()
            raise DriverConnectionError(
                f"power source at {self.host}:{self.port} did not answer within {timeout} s "
                f"({self._last_error or 'no reply'})"
            )

    def _close_internal(self) -> None:
        try:
            self._command(lambda o: RobotOutputs(heartbeat_robot=o.heartbeat_robot), None, timeout=0.5)
        except (DriverTimeoutError, DriverConnectionError) as err:
            log.warning(
                "power source %s:%d: could not switch outputs off on close (%s)", self.host, self.port, err
            )
        finally:
            self._stop_worker()

    def _stop_worker(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    # --- commands ----------------------------------------------------------------------------
    def select_job(self, job: int, timeout: float | None = 1.0) -> None:
        """Select stored job ``job`` (0 = parameter mode with the command values)."""
        params = replace(WeldParams(), job=job)  # validates the number before anything is sent
        self._command(None, lambda p: replace(p, job=params.job), timeout)

    def set_parameters(self, params: WeldParams, timeout: float | None = 1.0) -> None:
        """Send job number and command values (written in one request)."""
        encode_commands(self.options.image, params)  # raises before anything is sent
        self._command(None, params, timeout)

    def start_weld(self, timeout: float | None = 1.0) -> None:
        """Raise welding start. Raises :class:`DriverFaultError` if the power source refuses."""
        st = self.status()
        if st.error_code:
            raise DriverFaultError(
                f"power source {self.host}:{self.port} cannot start: error {st.error_code} "
                f"({ErrorCode.describe(st.error_code)}); reset the error first",
                error_code=st.error_code,
            )
        with self._cond:
            already_high = self._outputs.welding_start
        if already_high:  # the power source starts on a rising edge: drop the signal for one cycle first
            self._command(lambda o: replace(o, welding_start=False), None, timeout)
        self._command(lambda o: replace(o, welding_start=True, robot_ready=True), None, timeout)
        st = self.status()
        if st.error_code:
            raise DriverFaultError(
                f"power source {self.host}:{self.port} refused weld start: error {st.error_code} "
                f"({ErrorCode.describe(st.error_code)})",
                error_code=st.error_code,
            )

    def set_comm_timeout(self, seconds: float, timeout: float | None = 1.0) -> None:
        """Write the power source's communication-timeout register (``ProcessImage.comm_timeout``).

        Raises:
            DriverError: the process image has no such register.
            PowerSourceValueError: ``seconds`` does not fit the register.
        """
        sig = self.options.image.comm_timeout
        if sig is None:
            super().set_comm_timeout(seconds, timeout)
            return
        word = sig.encode(seconds)
        if seconds > 0 and seconds <= 2 * self.options.heartbeat_period:
            raise PowerSourceValueError(
                f"communication timeout {seconds} s must exceed twice the heartbeat period "
                f"({self.options.heartbeat_period} s), or the weld would stop while the link is healthy"
            )
        with self._cond:
            self._comm_timeout_word = word
        self._command(None, None, timeout)

    def stop_weld(self, timeout: float | None = 1.0) -> None:
        """Drop welding start (crater fill and gas post-flow follow on the power source)."""
        self._command(lambda o: replace(o, welding_start=False), None, timeout)

    def gas_test(self, on: bool, timeout: float | None = 1.0) -> None:
        """Gas test on/off."""
        self._command(lambda o: replace(o, gas_test=bool(on)), None, timeout)

    def wire_inch(self, direction: WireDirection | str, on: bool, timeout: float | None = 1.0) -> None:
        """Wire inching forward/backward on/off (the other direction is switched off)."""
        d = wire_direction(direction)
        fwd = bool(on) and d is WireDirection.FORWARD
        back = bool(on) and d is WireDirection.BACKWARD
        self._command(lambda o: replace(o, wire_forward=fwd, wire_backward=back), None, timeout)

    def reset_error(self, timeout: float | None = 1.0) -> None:
        """Pulse error reset: high for one I/O cycle, then low."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._command(lambda o: replace(o, error_reset=True), None, timeout)
        remaining = (
            None if deadline is None else max(deadline - time.monotonic(), self.options.poll_period * 3)
        )
        self._command(lambda o: replace(o, error_reset=False), None, remaining)

    def set_touch_sensing(self, on: bool, timeout: float | None = 1.0) -> None:
        """Touch sensing (sensing voltage on the wire) on/off; contact in ``status().touch_contact``.

        Raises:
            DriverFaultError: switching it on while a weld runs.
        """
        if on:
            with self._cond:
                welding = self._outputs.welding_start
            if welding:
                raise DriverFaultError(
                    f"power source {self.host}:{self.port}: "
                    "touch sensing while the weld-start signal is high",
                    error_code=int(ErrorCode.INVALID_COMMAND),
                )
        self._command(lambda o: replace(o, touch_sensing=bool(on)), None, timeout)

    def status(self) -> PowerSourceStatus:
        """Latest status snapshot (never blocks on the network).

        Raises:
            DriverConnectionError: not connected, or no successful I/O cycle for ``comm_timeout``.
        """
        with self._cond:
            st, last_ok, err = self._status, self._last_ok, self._last_error
        if not self._connected and self._thread is None:
            raise DriverConnectionError(f"power source {self.host}:{self.port} is not connected")
        thread = self._thread
        if thread is not None and not thread.is_alive() and not self._stop.is_set():
            raise DriverConnectionError(
                f"power source {self.host}:{self.port}: the I/O worker stopped (last error: {err or 'none'})"
            )
        age = time.monotonic() - last_ok
        if st is None or age > self.options.comm_timeout:
            raise DriverConnectionError(
                f"no answer from power source {self.host}:{self.port} for {age:.2f} s "
                f"(limit {self.options.comm_timeout} s; last error: {err or 'none'})"
            )
        return st

    def _wait_status_change(self, timeout: float) -> None:
        with self._cond:
            cycles = self.cycles
            self._cond.wait_for(lambda: self.cycles != cycles, timeout)

    def _command(
        self,
        outputs: Callable[[RobotOutputs], RobotOutputs] | None,
        params: WeldParams | Callable[[WeldParams], WeldParams] | None,
        timeout: float | None,
    ) -> None:
        """Change the desired image and wait until a full I/O cycle has written it."""
        if self._thread is None:
            raise DriverConnectionError(f"power source {self.host}:{self.port} is not connected")
        with self._cond:
            if outputs is not None:
                self._outputs = outputs(self._outputs)
            if callable(params):
                self._params = params(self._params)
            elif params is not None:
                self._params = params
            self._seq += 1
            seq = self._seq
            ok = self._cond.wait_for(lambda: self._done_seq >= seq or self._stop.is_set(), timeout)
            if not ok or self._done_seq < seq:
                if self._stop.is_set() or time.monotonic() - self._last_ok > self.options.comm_timeout:
                    raise DriverConnectionError(
                        f"power source {self.host}:{self.port} does not answer "
                        f"(last error: {self._last_error or 'none'})"
                    )
                raise DriverTimeoutError(
                    f"power source {self.host}:{self.port}: command not acknowledged within {timeout} s "
                    f"(last error: {self._last_error or 'none'})"
                )

    # --- I/O worker --------------------------------------------------------------------------
    def _worker(self) -> None:
        opt = self.options
        for note in configure_thread(opt.fifo_priority):  # the heartbeat must not wait for a CPU
            log.debug("power source %s:%d I/O worker: %s", self.host, self.port, note)
        client = ModbusTcpClient(self.host, port=self.port, timeout=opt.request_timeout, retries=0)
        backoff = opt.reconnect_delay
        io = _CycleState()
        next_cycle = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    st, seq = self._cycle(client, io)
                except Exception as err:
                    # a malformed reply may surface as any exception inside pymodbus or the decoder;
                    # whatever it is, it is a fault of this link, never the end of the worker
                    fault = _link_fault(err)
                    self._fail(f"{type(fault).__name__}: {fault}")
                    client.close()
                    io.last_words = io.last_ct = None
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2.0, opt.max_reconnect_delay)
                    next_cycle = time.monotonic()
                    continue
                backoff = opt.reconnect_delay
                with self._cond:
                    self._status = st
                    self._done_seq = seq
                    now = time.monotonic()
                    if self._last_ok > 0.0:  # the heartbeat's real period: the gap between good cycles
                        self.cycle_gap_max = max(self.cycle_gap_max, now - self._last_ok)
                    self._last_ok = now
                    self._last_error = ""
                    self.cycles += 1
                    self._cond.notify_all()
                next_cycle += opt.poll_period
                delay = next_cycle - time.monotonic()
                if delay < -opt.poll_period:  # overrun: do not try to catch up
                    log.debug("power source I/O cycle overran by %.1f ms", -delay * 1e3)
                    next_cycle = time.monotonic()
                    delay = 0.0
                self._stop.wait(max(delay, 0.0))
        finally:
            client.close()
            with self._cond:
                self._cond.notify_all()

    def _cycle(self, client: ModbusTcpClient, io: _CycleState) -> tuple[PowerSourceStatus, int]:
        """One I/O cycle: (re)connect, write commands and coils, read and decode the status.

        Returns:
            The decoded status and the command sequence number the cycle wrote.

        Raises:
            DriverConnectionError: the power source cannot be reached.
            ProtocolError: a Modbus exception response or a malformed reply.
            pymodbus.exceptions.ModbusException, OSError: link failures inside pymodbus (the caller treats any
                exception as a failed cycle).
        """
        opt = self.options
        img = opt.image
        if not client.connected and not client.connect():
            raise DriverConnectionError(f"cannot connect to {self.host}:{self.port}")
        now = time.monotonic()
        if now >= io.next_toggle:
            io.heartbeat = not io.heartbeat
            io.next_toggle = now + opt.heartbeat_period
        with self._cond:
            outputs = replace(self._outputs, heartbeat_robot=io.heartbeat)
            params, seq = self._params, self._seq
            ct_word = self._comm_timeout_word
        if ct_word is not None and ct_word != io.last_ct and img.comm_timeout is not None:
            self._check(
                client.write_register(img.comm_timeout.address, ct_word, device_id=opt.device_id), 0x06
            )
            io.last_ct = ct_word
        hr_start, words = encode_commands(img, params)
        if words != io.last_words:
            self._check(client.write_registers(hr_start, words, device_id=opt.device_id), 0x10)
            io.last_words = words
        c_start, bits = encode_coils(img, outputs)
        self._check(client.write_coils(c_start, bits, device_id=opt.device_id), 0x0F)
        ir_start, ir_count = img.input_span()
        ir = self._check(client.read_input_registers(ir_start, count=ir_count, device_id=opt.device_id), 0x04)
        registers = getattr(ir, "registers", None)
        if not isinstance(registers, list):
            raise ProtocolError(f"reply to the read of the input registers has no register list: {ir!r}")
        return decode_status_registers(img, registers, timestamp=time.monotonic()), seq

    def _fail(self, message: str) -> None:
        with self._cond:
            if message != self._last_error:
                log.warning("power source %s:%d: %s", self.host, self.port, message)
            self._last_error = message
            self.failures += 1
            self._cond.notify_all()

    @staticmethod
    def _check(response: Any, function_code: int) -> Any:
        """The reply itself, after checking it answers ``function_code`` without an exception.

        Raises:
            ProtocolError: no reply, an exception response, or a reply to another function.
        """
        if response is None:
            raise ProtocolError("power source sent no reply")
        is_error = getattr(response, "isError", None)
        if is_error is not None and is_error():
            raise ProtocolError(f"power source answered with a Modbus exception: {response}")
        got = getattr(response, "function_code", None)
        if got != function_code:
            raise ProtocolError(
                f"power source answered function code {got!r} to a request with function code "
                f"{function_code} ({type(response).__name__})"
            )
        return response


def _link_fault(err: Exception) -> DriverError:
    """Translate any failure of an I/O cycle into weldcell's driver errors.

    Socket errors are a lost link (:class:`DriverConnectionError`); everything else that escapes
    pymodbus or the decoder (Modbus exceptions, a malformed reply surfacing as ``IndexError`` or
    ``struct.error`` …) is a :class:`ProtocolError`.
    """
    if isinstance(err, DriverError):
        return err
    if isinstance(err, OSError):
        return DriverConnectionError(f"{type(err).__name__}: {err}")
    return ProtocolError(f"{type(err).__name__}: {err}")
