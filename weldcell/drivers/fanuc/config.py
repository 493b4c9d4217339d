"""Settings of the FANUC Stream Motion driver (one dataclass, checked on construction)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from weldcell.drivers.fanuc.packets import DEFAULT_PORT, GpioCommandType, GpioEntry, IoType
from weldcell.drivers.realtime import RealtimeConfig
from weldcell.errors import DriverError


class FanucConfigError(DriverError, ValueError):
    """A Stream Motion setting that cannot work (address, port, I/O number, time)."""


@dataclass(frozen=True)
class FanucConfig:
    """Settings of :class:`~weldcell.drivers.fanuc.driver.FanucDriver`.

    Attributes:
        robot: weldcell robot model (``"arcmate100id"``).
        host: The robot controller's address.
        port: The controller's Stream Motion UDP port (60015).
        local_host: Address this computer sends from ("" = any).
        local_port: UDP port this computer sends from (0 = any free port).
        io: Map digital I/O through the GPIO configuration packet (type 203): the command's I/O
            bytes then drive ``DO[do_first …]`` and the status reports ``DO`` and ``DI[di_first …]``.
            False: the I/O bytes stay zero (no arc signal; a dry run).
        do_first, do_count: First DO number (1-based, as on the pendant) and how many are mapped
            (weldcell's digital output n = ``DO[do_first + n]``).
        di_first, di_count: Same for the digital inputs.
        arc_output: Mapped output switched on the samples' ``arc_on`` flags; None: not driven.
        arc_established_input: Mapped input that reports "arc established" (for the cell).
        version: Highest protocol version to use (3 or 4); the controller's capability may lower it.
        handshake_timeout: Wait for each handshake reply [s].
        silence: No status packet for this long [s] while connected faults the execution.
        missed_status_limit: A gap of more than this many cycles in the status time stamps (a status
            packet the controller did not send) faults the execution.
        stop_time: Deceleration time [s] of ``stop()`` and of driver-side faults, along the path.
        settle_tolerance: An execution ends (completed or stopped) when every measured joint is
            within this [rad] of the last set-point.
        settle_timeout: Longest wait [s] for that after the last set-point; then the execution faults.
        realtime: Scheduling of the I/O thread.
    """

    robot: str = "arcmate100id"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    local_host: str = ""
    local_port: int = 0
    io: bool = True
    do_first: int = 101
    do_count: int = 8
    di_first: int = 101
    di_count: int = 8
    arc_output: int | None = 0
    arc_established_input: int | None = 0
    version: int = 3
    handshake_timeout: float = 1.0
    silence: float = 0.1
    missed_status_limit: float = 1.5
    stop_time: float = 0.15
    settle_tolerance: float = 5e-5
    settle_timeout: float = 2.0
    realtime: RealtimeConfig = field(default_factory=lambda: RealtimeConfig(gc="freeze"))

    def __post_init__(self) -> None:
        """Reject settings that cannot work.

        Raises:
            FanucConfigError: the field, its value and what is expected.
        """
        if not self.host:
            raise FanucConfigError("FANUC host is empty: expected the controller's address")
        for name in ("port", "local_port"):
            v = getattr(self, name)
            lo = 1 if name == "port" else 0
            if not (isinstance(v, int) and lo <= v <= 65535):
                raise FanucConfigError(f"FANUC {name} {v!r}: expected a UDP port {lo} … 65535")
        for name in ("do_first", "di_first"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise FanucConfigError(f"FANUC {name} {v!r}: expected an I/O number ≥ 1 (1-based)")
        for name in ("do_count", "di_count"):
            v = getattr(self, name)
            if not (isinstance(v, int) and 1 <= v <= 64):
                raise FanucConfigError(f"FANUC {name} {v!r}: expected 1 … 64 signals")
        for name, count in (("arc_output", self.do_count), ("arc_established_input", self.di_count)):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, int) and 0 <= v < count):
                raise FanucConfigError(f"FANUC {name} {v!r}: expected a mapped signal 0 … {count - 1}")
        if not self.io and (self.arc_output is not None or self.arc_established_input is not None):
            raise FanucConfigError(
                "FANUC io=False maps no I/O: set arc_output=None and arc_established_input=None too "
                "(a dry run without the arc)"
            )
        if self.version not in (3, 4):
            raise FanucConfigError(f"FANUC version {self.version!r}: expected 3 or 4")
        for name in (
            "handshake_timeout",
            "silence",
            "missed_status_limit",
            "stop_time",
            "settle_tolerance",
            "settle_timeout",
        ):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise FanucConfigError(f"FANUC {name} {v!r}: expected a number > 0")
        if self.missed_status_limit < 1.0:
            raise FanucConfigError(
                f"FANUC missed_status_limit {self.missed_status_limit!r}: expected ≥ 1 cycle"
            )

    @property
    def command_entries(self) -> tuple[GpioEntry, ...]:
        """GPIO entries laid out in the command's I/O bytes (the driven outputs)."""
        if not self.io:
            return ()
        return (GpioEntry(GpioCommandType.IO_COMMAND, IoType.DO, self.do_first, self.do_count),)

    @property
    def status_entries(self) -> tuple[GpioEntry, ...]:
        """GPIO entries laid out in the status's I/O bytes: the outputs' read-back, then the inputs."""
        if not self.io:
            return ()
        return (
            GpioEntry(GpioCommandType.IO_STATE, IoType.DO, self.do_first, self.do_count),
            GpioEntry(GpioCommandType.IO_STATE, IoType.DI, self.di_first, self.di_count),
        )
