"""Settings of the UR driver (:class:`URDriverConfig`), checked before anything connects."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from weldcell.drivers.realtime import (
    RealtimeConfig,
)
from weldcell.drivers.ur.client.dashboard import DASHBOARD_PORT
from weldcell.drivers.ur.client.rtde_client import RTDE_PORT
from weldcell.errors import (
    DriverError,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class URDriverConfigError(DriverError, ValueError):
    """A :class:`URDriverConfig` setting that cannot work (port, I/O number, time)."""


@dataclass(frozen=True)
class URDriverConfig:
    """Settings of :class:`URDriver`.

    Attributes:
        robot: weldcell robot model name of the arm (``"ur5e"``, ``"ur10e"``, ...).
        rtde_port: RTDE port.
        dashboard_port: Dashboard port (None: do not use the dashboard).
        script_port: Port the servo program is uploaded to (30002 secondary, 30001 primary).
        arc_output: Standard digital output switched on the samples' arc flags (None: not driven).
        arc_established_input: Digital input that reports "arc established" (for the cell).
        lookahead: Set-points kept ahead of the robot at least [s] (longer than
            ``1 / watchdog_hz``, so the robot's stop after a PC death is the watchdog's, not an
            empty ring's). The driver grows it to twice the worst lateness its control loop has
            measured plus 4 cycles
            (:func:`~weldcell.drivers.realtime.lookahead_from_lateness`), up to ``ring - 8``
            samples; :attr:`URDriver.lookahead` is the look-ahead in use.
        ring: On-robot buffer [samples] (the look-ahead never exceeds ``ring - 8``).
        stop_time: Deceleration time of stop() [s], along the path.
        watchdog_hz: RTDE watchdog minimum input rate [Hz] (program stops below it).
        spin: Busy-wait margin of the control loop [s] while a slice streams (hybrid sleep: sleep
            until ``spin`` before each deadline, then poll the clock; lower jitter, more CPU).
        power_on: Power on and release the brakes through the dashboard at connect.
        upload_timeout: Time allowed for the servo program to start [s].
        realtime: Scheduling, GC and interpreter settings of the control loop.
    """

    robot: str = "ur5e"
    rtde_port: int = RTDE_PORT
    dashboard_port: int | None = DASHBOARD_PORT
    script_port: int = 30002
    arc_output: int | None = 0
    arc_established_input: int | None = 0
    # 0.3 s: longer than the PC watchdog (0.2 s) by a margin for the ring-fill dips a loaded PC
    # makes, so that when the PC dies the watchdog, not an empty ring, stops the robot; the power
    # source's communication timeout (0.15 s) then always ends the arc first (docs/cell.md)
    lookahead: float = 0.3
    ring: int = 192
    stop_time: float = 0.15
    watchdog_hz: float = 5.0
    spin: float = 0.0004
    power_on: bool = False
    upload_timeout: float = 3.0
    realtime: RealtimeConfig = field(default_factory=RealtimeConfig)

    def __post_init__(self) -> None:
        """Reject settings that cannot work before anything connects (field, value, expectation).

        Raises:
            URDriverConfigError: a port outside 1 … 65535, an I/O number outside 0 … 7, or a
                non-positive time.
        """
        for name in ("rtde_port", "dashboard_port", "script_port"):
            port = getattr(self, name)
            if port is not None and not (isinstance(port, int) and 1 <= port <= 65535):
                raise URDriverConfigError(f"UR driver {name} {port!r}: expected a TCP port 1 … 65535")
        for name in ("arc_output", "arc_established_input"):
            num = getattr(self, name)
            if num is not None and not (isinstance(num, int) and 0 <= num <= 7):
                raise URDriverConfigError(
                    f"UR driver {name} {num!r}: expected a standard digital I/O number 0 … 7"
                )
        for name in ("lookahead", "stop_time", "watchdog_hz", "upload_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise URDriverConfigError(f"UR driver {name} {value!r}: expected a number > 0")
