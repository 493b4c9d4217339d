"""Settings of the KUKA RSI driver and of the files installed on the controller (one source for both)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from weldcell.drivers.streaming import StreamingConfig
from weldcell.errors import DriverError

if TYPE_CHECKING:
    from weldcell.drivers.registry import RobotUrl

#: RSI interpolation cycles [s]: 4 ms (``RSI_ON(#ABSOLUTE/#RELATIVE, #IPO_FAST)``) and 12 ms (``#IPO``).
CYCLES = (0.004, 0.012)


class RsiConfigError(DriverError, ValueError):
    """An RSI setting that cannot work (address, port, cycle, I/O number)."""


@dataclass(frozen=True)
class RsiConfig(StreamingConfig):
    """Settings of :class:`~weldcell.drivers.kuka.driver.RsiDriver` (the sensor side of RSI).

    Attributes:
        robot: weldcell robot model name (``"kr10_r1420"``, ``"kr6_r900"``).
        host: Address the driver binds: the sensor's ``IP_NUMBER`` in the Ethernet configuration.
        port: UDP port the driver binds: the sensor's ``PORT`` in the Ethernet configuration.
        cycle: RSI cycle [s]: 0.004 (IPO_FAST) or 0.012 (IPO).
        mode: ``"absolute"``: AKorr is the axis offset from where RSI started; ``"relative"``: the
            increment of this cycle (must match the AXISCORR object's setting on the robot).
        sentype: ``SENTYPE``: the ``Type`` of every ``<Sen>`` reply.
        arc_output: Bit of ``DiO`` (mapped to ``$OUT[arc_output + first_output]``) switched on the
            samples' arc flags; None: not driven.
        arc_established_input: Bit of ``DiL`` that reports "arc established" (for the cell).
        first_output: KRL ``$OUT`` number of DiO bit 0 (the MAP2DIGOUT index).
        first_input: KRL ``$IN`` number of DiL bit 0.
        timeout_packets: The ETHERNET object's ``Timeout``: late packets tolerated before RSI breaks off.
        late_limit: Late packets (``Delay`` increments) tolerated during one execution before the
            driver faults it; None: only report them.
        silence: No telegram for this long [s] while connected means RSI stopped on the robot.
        stop_time: Deceleration time of stop() [s], along the path.
        max_correction_deg: Largest axis correction [deg] from the start pose (the AXISCORR limits).
        stop_element: The ``<Stop>`` RECEIVE element (BOOL, HOLDON=0) wired to a STOP object
            (ExitMoveCorr) in the exported context: the driver ends the RSI session by sending
            Stop=1, RSI_MOVECORR() returns and the KRL program runs RSI_OFF and ends. False: neither
            the files nor the replies carry it (the session then ends with RSITimeout on close).
        end_timeout: Longest wait [s] in :meth:`~weldcell.drivers.kuka.driver.RsiDriver.end_session`
            (and on close) for the robot to stop sending telegrams after Stop=1.
        realtime: Scheduling of the I/O thread and interpreter settings (GC, switch interval) held
            while connected; the GC is only frozen by default (a connection can last hours).
    """

    robot: str = "kr10_r1420"
    port: int = 59152
    cycle: float = 0.004
    mode: Literal["absolute", "relative"] = "absolute"
    sentype: str = "ImFree"
    arc_established_input: int | None = 0
    first_output: int = 1
    first_input: int = 1
    timeout_packets: int = 100
    late_limit: int | None = None
    max_correction_deg: float = 360.0
    stop_element: bool = True
    end_timeout: float = 1.0

    label: ClassVar[str] = "RSI"
    error: ClassVar[type[DriverError]] = RsiConfigError
    host_example: ClassVar[str | None] = "192.168.1.10"
    positive_fields: ClassVar[tuple[str, ...]] = ("silence", "stop_time", "max_correction_deg", "end_timeout")
    url_query_keys: ClassVar[tuple[str, ...]] = ("robot", "cycle_ms", "mode", "sentype", "stop")

    def _check_fields(self) -> None:
        """Reject RSI settings that cannot work (cycle, mode, sentype, I/O numbers, stop element)."""
        if not any(math.isclose(self.cycle, c) for c in CYCLES):
            raise RsiConfigError(f"RSI cycle {self.cycle!r} s: expected 0.004 (IPO_FAST) or 0.012 (IPO)")
        if self.mode not in ("absolute", "relative"):
            raise RsiConfigError(f"RSI mode {self.mode!r}: expected 'absolute' or 'relative'")
        if not self.sentype or not self.sentype.isidentifier():
            raise RsiConfigError(f"RSI sentype {self.sentype!r}: expected a name like ImFree")
        self._check_signal("arc_established_input", self.arc_established_input, 32)
        for name in ("first_output", "first_input"):
            v = getattr(self, name)
            if not (isinstance(v, int) and 1 <= v <= 4096):
                raise RsiConfigError(f"RSI {name} {v!r}: expected a KRL I/O number 1 … 4096")
        if not (isinstance(self.timeout_packets, int) and self.timeout_packets >= 0):
            raise RsiConfigError(f"RSI timeout_packets {self.timeout_packets!r}: expected an integer ≥ 0")
        if not isinstance(self.stop_element, bool):
            raise RsiConfigError(f"RSI stop_element {self.stop_element!r}: expected True or False")

    @classmethod
    def _fields_from_query(cls, url: RobotUrl, query: dict[str, str], fields: dict[str, Any]) -> None:
        """``mode``, ``sentype``, ``stop=0|1`` and ``cycle_ms=4|12`` of a ``kuka-rsi://`` URL."""
        for key in ("mode", "sentype"):
            if key in query:
                fields[key] = query.pop(key)
        if "stop" in query:
            raw = query.pop("stop")
            if raw not in ("0", "1"):
                raise RsiConfigError(
                    f"robot address {url.url!r}: stop={raw!r}, expected 1 (end the session with <Stop>, the "
                    "default) or 0 (no Stop element in the RSI configuration)"
                )
            fields["stop_element"] = raw == "1"
        cycle_ms = cls._query_number(url, query, "cycle_ms", " (4 or 12)")
        if cycle_ms is not None:
            fields["cycle"] = cycle_ms / 1000.0

    @property
    def cycle_ms(self) -> int:
        """The cycle in whole milliseconds (the IPOC step)."""
        return round(self.cycle * 1000)

    @property
    def end_quiet(self) -> float:
        """No telegram for this long [s] after Stop=1 means the robot ended RSI (5 cycles, ≥ 50 ms)."""
        return max(5 * self.cycle, 0.05)
