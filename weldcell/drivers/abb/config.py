"""Settings of the ABB EGM driver and of the virtual ABB controller (one place for both).

EGM facts used here (ABB "Externally Guided Motion" option; controller-protocols.md §4):
``\\SampleRate`` is a multiple of 4 ms (4 ms = 250 Hz, the motion control cycle); the sensor's
address is a UDPUC transmission-protocol entry (default port 6510) and the robot sends first;
``EGMSetupUC … \\CommTimeout`` [s] ends the EGM session when no sensor message came for that long
(default about 1 s, examples use 5-10 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from weldcell.drivers.streaming import StreamingConfig
from weldcell.errors import DriverError

if TYPE_CHECKING:
    from weldcell.drivers.registry import RobotUrl

#: Default UDP port of the EGM sensor (the UdpUc device's remote port).
DEFAULT_PORT = 6510
#: EGM motion control cycle [s]; ``\SampleRate`` is a whole multiple of it.
BASE_CYCLE = 0.004


class EgmConfigError(DriverError, ValueError):
    """An EGM setting that cannot work (address, port, sample rate, I/O bit, time)."""


def check_sample_rate(cycle: float, what: str) -> None:
    """Raise :class:`EgmConfigError` unless ``cycle`` [s] is a positive multiple of 4 ms (≤ 1 s)."""
    n = cycle / BASE_CYCLE
    if not (math.isfinite(cycle) and 0.0 < cycle <= 1.0 and abs(n - round(n)) < 1e-6 and round(n) >= 1):
        raise EgmConfigError(
            f"{what} {cycle!r} s: expected a multiple of 0.004 s (EGM \\SampleRate is 4, 8, 12 … ms)"
        )


@dataclass(frozen=True)
class EgmConfig(StreamingConfig):
    """Settings of :class:`~weldcell.drivers.abb.driver.EgmDriver` (the sensor side of EGM).

    Attributes:
        robot: weldcell robot model name (``"irb1520id"``).
        host: Address the driver binds: the remote address of the controller's UDPUC device.
        port: UDP port the driver binds: the UDPUC device's remote port (6510 by default).
        cycle: ``\\SampleRate`` of the EGM session [s] (0.004 = 250 Hz; multiples of 4 ms).
        arc_output: Bit of the digital-output word sent in ``RAPIDtoRobot`` that follows the
            samples' arc flags (the RAPID side copies it to the arc DO); None: not driven.
        silence: No robot message for this long [s] while connected means the EGM session ended on
            the controller (CommTimeout, convergence, RAPID stopped); a running execution faults.
        stop_time: Deceleration time of stop() [s], along the path.
        speed_ref: Also send the trajectory's joint speeds as ``speedRef`` feed-forward [deg/s].
        realtime: Scheduling of the I/O thread while connected.
    """

    robot: str = "irb1520id"
    port: int = DEFAULT_PORT
    cycle: float = BASE_CYCLE
    speed_ref: bool = True

    label: ClassVar[str] = "EGM"
    error: ClassVar[type[DriverError]] = EgmConfigError
    host_example: ClassVar[str | None] = "192.168.125.10"
    positive_word: ClassVar[str] = "a number of seconds"
    url_query_keys: ClassVar[tuple[str, ...]] = ("robot", "sample_rate_ms")

    def _check_fields(self) -> None:
        """Reject a sample rate EGM cannot run."""
        check_sample_rate(self.cycle, "EGM cycle")

    @classmethod
    def _fields_from_query(cls, url: RobotUrl, query: dict[str, str], fields: dict[str, Any]) -> None:
        """``sample_rate_ms`` of an ``abb-egm://`` URL."""
        rate_ms = cls._query_number(url, query, "sample_rate_ms", " (4, 8, 12 …)")
        if rate_ms is not None:
            fields["cycle"] = rate_ms / 1000.0

    @property
    def cycle_ms(self) -> int:
        """The sample rate in whole milliseconds."""
        return round(self.cycle * 1000)
