"""A positioner's servo axes over Modbus TCP (pymodbus client), register map in :mod:`.registers`.

``modbus-positioner://HOST[:PORT]`` (default port 502). :meth:`ModbusPositioner.send_setpoint` is one
FC 23 exchange: it writes control word, counter, time stamp and set-points and reads the status
block back, so a cycle costs one round trip. Calls are serialised by a lock (the cell's streaming
thread and its supervision may both ask). pymodbus errors and exception responses become
:class:`~weldcell.errors.DriverError` subclasses naming the device.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from weldcell.drivers.positioner import registers as reg
from weldcell.drivers.positioner.base import AxisSpec, PositionerFault, PositionerStatus
from weldcell.errors import DriverConnectionError, DriverError, DriverTimeoutError, ProtocolError

NDArrayF = npt.NDArray[np.float64]

#: URL scheme of this driver.
SCHEME = "modbus-positioner"


def parse_positioner_url(url: str) -> tuple[str, int]:
    """``modbus-positioner://HOST[:PORT]`` -> (host, port).

    Raises:
        DriverError: another scheme, no host, a bad port.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != SCHEME or not parts.hostname:
        raise DriverError(f"positioner address {url!r}: expected {SCHEME}://HOST[:PORT]")
    try:
        port = parts.port or 502
    except ValueError as err:
        raise DriverError(f"positioner address {url!r}: the port is not a number in 1 … 65535") from err
    return parts.hostname, port


class ModbusPositioner:
    """A :class:`~weldcell.drivers.positioner.base.PositionerPort` over Modbus TCP.

    Args:
        host: Device address.
        port: TCP port.
        device_id: Modbus unit id.
        watchdog: Watchdog time [s] written to the device on :meth:`enable` (0: the device's default).
    """

    def __init__(self, host: str, port: int = 502, *, device_id: int = 1, watchdog: float = 0.1) -> None:
        self.host, self.port, self.device_id, self.watchdog = host, port, device_id, watchdog
        self._client: ModbusTcpClient | None = None
        self._axes: tuple[AxisSpec, ...] = ()
        self._lock = threading.Lock()
        self._control = 0

    @classmethod
    def from_url(cls, url: str, **options: Any) -> ModbusPositioner:
        """Build (unconnected) from ``modbus-positioner://HOST[:PORT]``."""
        host, port = parse_positioner_url(url)
        return cls(host, port, **options)

    @property
    def name(self) -> str:
        """The device's address, for messages."""
        return f"{SCHEME}://{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        """True while the link is open."""
        return self._client is not None and bool(self._client.connected)

    @property
    def axes(self) -> tuple[AxisSpec, ...]:
        """The device's axes (read on :meth:`connect`)."""
        return self._axes

    def connect(self, timeout: float | None = 5.0) -> None:
        """Open the link and read the identification block.

        Raises:
            DriverConnectionError: nobody answers at the address.
            ProtocolError: the device does not speak this register map.
        """
        client = ModbusTcpClient(self.host, port=self.port, timeout=timeout or 5.0, retries=0)
        if not client.connect():
            client.close()
            raise DriverConnectionError(f"positioner {self.name}: no Modbus TCP server answers")
        self._client = client
        try:
            words = self._call(
                "read the axis table",
                client.read_holding_registers,
                reg.N_AXES,
                count=reg.INFO_END - reg.N_AXES,
            )
            self._axes = reg.specs_from_info(words)
        except DriverError:
            self.close()
            raise

    def close(self) -> None:
        """Close the link (idempotent)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> ModbusPositioner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> list[int]:
        if self._client is None:
            raise DriverConnectionError(f"positioner {self.name}: not connected")
        with self._lock:
            try:
                rr = fn(*args, device_id=self.device_id, **kwargs)
            except ModbusException as err:
                text = str(err)
                if "timeout" in text.lower() or "no response" in text.lower():
                    raise DriverTimeoutError(f"positioner {self.name}: {what}: no answer ({text})") from err
                raise DriverConnectionError(f"positioner {self.name}: {what}: {text}") from err
        if rr.isError():
            raise ProtocolError(f"positioner {self.name}: {what}: the device answered {rr}")
        return list(getattr(rr, "registers", []) or [])

    def _status(self, words: list[int]) -> PositionerStatus:
        k = len(self._axes)
        base = reg.STATUS
        st = words[reg.STATUS - base]
        try:
            fault = PositionerFault(words[reg.FAULT_CODE - base])
        except ValueError as err:
            raise ProtocolError(
                f"positioner {self.name}: unknown fault code {words[reg.FAULT_CODE - base]}"
            ) from err
        return PositionerStatus(
            enabled=bool(st & reg.ST_ENABLED),
            fault=fault,
            fault_axis=words[reg.FAULT_AXIS - base] - 1,
            counter=words[reg.COUNTER_ECHO - base],
            t_setpoint=reg.time_from_words(words[reg.T_APPLIED_US - base : reg.T_APPLIED_US - base + 2]),
            q=reg.i32_from_words(words[reg.ACTUAL - base : reg.ACTUAL - base + 2 * k]),
            qd=reg.i32_from_words(words[reg.VELOCITY - base : reg.VELOCITY - base + 2 * k]),
            t_exec=reg.time_from_words(words[reg.T_EXEC_US - base : reg.T_EXEC_US - base + 2]),
            device_time=reg.u64_time_from_words(
                words[reg.DEVICE_TIME_US - base : reg.DEVICE_TIME_US - base + 4]
            ),
            timed=bool(st & reg.ST_TIMED),
            running=bool(st & reg.ST_RUNNING),
        )

    def status(self, timeout: float | None = 1.0) -> PositionerStatus:
        """Read the status block."""
        client = self._client
        if client is None:
            raise DriverConnectionError(f"positioner {self.name}: not connected")
        return self._status(
            self._call(
                "read the status",
                client.read_holding_registers,
                reg.STATUS,
                count=reg.STATUS_END - reg.STATUS,
            )
        )

    def _write_control(self, word: int, what: str) -> PositionerStatus:
        client = self._client
        if client is None:
            raise DriverConnectionError(f"positioner {self.name}: not connected")
        wd_ms = round(self.watchdog * 1000)
        self._call(what, client.write_registers, reg.CONTROL, [word, 0, 0, 0, wd_ms])
        self._control = word
        return self.status()

    def enable(self, timeout: float | None = 1.0) -> PositionerStatus:
        """Reset a fault (rising edge of the reset bit) and enable servo control.

        Raises:
            DriverError: the device stays faulted or disabled.
        """
        self._write_control(0, "clear the control word")
        self._write_control(reg.CTRL_RESET, "reset faults")
        st = self._write_control(reg.CTRL_ENABLE, "enable")
        if not st.enabled:
            raise DriverError(
                f"positioner {self.name}: not enabled after the enable command "
                f"({st.describe_fault(self._axes)})"
            )
        return st

    def disable(self, timeout: float | None = 1.0) -> PositionerStatus:
        """Disable servo control (brakes on)."""
        return self._write_control(0, "disable")

    def send_setpoint(
        self, q: NDArrayF, t_traj: float, counter: int, timeout: float | None = 0.05
    ) -> PositionerStatus:
        """One cycle: write a direct set-point (FC 23) and read the status back.

        Args:
            q: Set-point positions [rad or m], shape (k,).
            t_traj: Time stamp [s] of the set-point (increasing while enabled).
            counter: Cycle counter (wraps at 65536).
            timeout: Unused by the pymodbus client beyond its connect-time setting [s].
        """
        client = self._client
        if client is None:
            raise DriverConnectionError(f"positioner {self.name}: not connected")
        values = [
            self._control,
            counter & 0xFFFF,
            *reg.words_from_time(t_traj),
            round(self.watchdog * 1000),
            0,
        ]
        values += reg.words_from_i32(q)
        return self._exchange(values, reg.CONTROL, "send the set-point")

    @property
    def batch_size(self) -> int:
        """Most timed set-points one :meth:`send_timed` carries (one Modbus write)."""
        return reg.batch_capacity(max(len(self._axes), 1))

    def send_timed(
        self,
        q: NDArrayF,
        t_traj: NDArrayF,
        counter: int,
        t_base: float,
        timeout: float | None = 0.05,
    ) -> PositionerStatus:
        """One cycle: write a batch of timed set-points (FC 23 to the batch block) and read the status.

        Args:
            q: Set-point positions [rad or m], shape (n, k), 1 ≤ n ≤ :attr:`batch_size`.
            t_traj: Their trajectory times [s], shape (n,).
            counter: Cycle counter (wraps at 65536).
            t_base: Instant of trajectory time 0 on ``time.monotonic()`` [s] (0: not known yet).
            timeout: Unused by the pymodbus client beyond its connect-time setting [s].

        Raises:
            ProtocolError: more set-points than one write carries.
        """
        q2 = np.atleast_2d(np.asarray(q, dtype=np.float64))
        t = np.atleast_1d(np.asarray(t_traj, dtype=np.float64))
        n = q2.shape[0]
        if not 1 <= n <= self.batch_size or t.shape != (n,):
            raise ProtocolError(
                f"positioner {self.name}: a timed batch carries 1 … {self.batch_size} set-points "
                f"with one time each, got {n} and {t.shape[0]}"
            )
        values = [self._control, counter & 0xFFFF, *reg.words_from_u64_time(t_base)]
        values += [round(self.watchdog * 1000), n]
        for j in range(n):
            values += reg.words_from_time(float(t[j])) + reg.words_from_i32(q2[j])
        return self._exchange(values, reg.BATCH, "send timed set-points")

    def _exchange(self, values: list[int], address: int, what: str) -> PositionerStatus:
        client = self._client
        if client is None:
            raise DriverConnectionError(f"positioner {self.name}: not connected")
        words = self._call(
            what,
            client.readwrite_registers,
            read_address=reg.STATUS,
            read_count=reg.STATUS_END - reg.STATUS,
            write_address=address,
            values=values,
        )
        return self._status(words)
