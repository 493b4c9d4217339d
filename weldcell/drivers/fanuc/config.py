"""Settings of the FANUC Stream Motion driver (one dataclass, checked on construction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from weldcell.drivers.fanuc.packets import DEFAULT_PORT, GpioCommandType, GpioEntry, IoType
from weldcell.drivers.streaming import StreamingConfig
from weldcell.errors import DriverError

if TYPE_CHECKING:
    from weldcell.drivers.registry import RobotUrl


class FanucConfigError(DriverError, ValueError):
    """A Stream Motion setting that cannot work (address, port, I/O number, time)."""


@dataclass(frozen=True)
class FanucConfig(StreamingConfig):
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
    port: int = DEFAULT_PORT
    local_host: str = ""
    local_port: int = 0
    io: bool = True
    do_first: int = 101
    do_count: int = 8
    di_first: int = 101
    di_count: int = 8
    arc_established_input: int | None = 0
    version: int = 3
    handshake_timeout: float = 1.0
    silence: float = 0.1
    missed_status_limit: float = 1.5
    settle_tolerance: float = 5e-5
    settle_timeout: float = 2.0

    label: ClassVar[str] = "FANUC"
    error: ClassVar[type[DriverError]] = FanucConfigError
    host_example: ClassVar[str | None] = None  # the controller's address: any host name
    signal_word: ClassVar[str] = "a mapped signal"
    positive_fields: ClassVar[tuple[str, ...]] = (
        "handshake_timeout",
        "silence",
        "missed_status_limit",
        "stop_time",
        "settle_tolerance",
        "settle_timeout",
    )
    url_host_form: ClassVar[str | None] = "fanuc://HOST[:PORT]"
    url_query_keys: ClassVar[tuple[str, ...]] = (
        "robot",
        "io",
        "local_port",
        "version",
        "do_first",
        "di_first",
        "silence_ms",
    )

    def _check_fields(self) -> None:
        """Reject Stream Motion settings that cannot work (local port, I/O map, version)."""
        self._check_port("local_port", lo=0)
        for name in ("do_first", "di_first"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise FanucConfigError(f"FANUC {name} {v!r}: expected an I/O number ≥ 1 (1-based)")
        for name in ("do_count", "di_count"):
            v = getattr(self, name)
            if not (isinstance(v, int) and 1 <= v <= 64):
                raise FanucConfigError(f"FANUC {name} {v!r}: expected 1 … 64 signals")
        self._check_signal("arc_established_input", self.arc_established_input, self.di_count)
        if not self.io and (self.arc_output is not None or self.arc_established_input is not None):
            raise FanucConfigError(
                "FANUC io=False maps no I/O: set arc_output=None and arc_established_input=None too "
                "(a dry run without the arc)"
            )
        if self.version not in (3, 4):
            raise FanucConfigError(f"FANUC version {self.version!r}: expected 3 or 4")

    def __post_init__(self) -> None:
        """Reject settings that cannot work.

        Raises:
            FanucConfigError: the field, its value and what is expected.
        """
        super().__post_init__()
        if self.missed_status_limit < 1.0:
            raise FanucConfigError(
                f"FANUC missed_status_limit {self.missed_status_limit!r}: expected ≥ 1 cycle"
            )

    @property
    def output_count(self) -> int:
        """Mapped digital outputs (``DO[do_first …]``; none with ``io=False``)."""
        return self.do_count if self.io else 0

    @property
    def input_count(self) -> int:
        """Mapped digital inputs (``DI[di_first …]``; none with ``io=False``)."""
        return self.di_count if self.io else 0

    @classmethod
    def _fields_from_query(cls, url: RobotUrl, query: dict[str, str], fields: dict[str, Any]) -> None:
        """``io=0|1``, ``local_port``, ``version``, ``do_first``, ``di_first``, ``silence_ms``."""
        if "io" in query:
            raw = query.pop("io")
            if raw not in ("0", "1", "true", "false"):
                raise FanucConfigError(f"robot address {url.url!r}: io={raw!r}, expected 0 or 1")
            fields["io"] = raw in ("1", "true")
            if not fields["io"]:
                fields.update(arc_output=None, arc_established_input=None)
        for key in ("local_port", "version", "do_first", "di_first", "silence_ms"):
            if key in query:
                raw = query.pop(key)
                try:
                    value = int(raw)
                except ValueError as err:
                    raise FanucConfigError(
                        f"robot address {url.url!r}: {key}={raw!r} is not a number"
                    ) from err
                if key == "silence_ms":
                    fields["silence"] = value / 1000.0
                else:
                    fields[key] = value

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
