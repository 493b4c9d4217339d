"""The shared part of the UDP streaming drivers (KUKA RSI, FANUC Stream Motion, ABB EGM).

A streaming controller sends one packet per interpolation cycle and the driver answers each with the
set-point of that cycle. The vendor drivers differ in their wire format, handshake and fault signals;
what they share lives here:

* :class:`StreamingConfig`: the settings every streaming driver has (robot model, address, arc
  output, silence watchdog, stop ramp, real-time settings), validated in ``__post_init__`` with the
  vendor's error class and label, and built from a robot URL by :meth:`StreamingConfig.from_robot_url`
  (host, port, ``robot=`` and the vendor's own query parameters; an unknown parameter is an error).
* :class:`PathRun`: one execution's path position: the slice's set-points (already in the
  controller's units), advanced ``cycle / traj.dt`` samples per controller cycle and interpolated
  linearly between samples, with the stop ramp (the path speed falls to zero over ``stop_time``
  along the path) and the count of cycles the controller did not get a fresh set-point (underruns).
* :class:`StreamingDriver`: a :class:`~weldcell.drivers.base.RobotDriver` owning the UDP socket,
  the I/O thread (real-time scheduling held while connected), the latest controller packet and the
  silence watchdog, the arc-output bit, finishing an execution (never leaving the arc on after a stop
  or fault) and the stop request. Drivers that answer each packet at the address it came from (RSI,
  EGM) use its :meth:`StreamingDriver._answer_loop`.

Subclasses implement the :class:`~weldcell.drivers.base.RobotDriver` hooks that differ (connect,
state, execute) and :meth:`StreamingDriver._on_silence`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import socket
import threading
import time
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from weldcell.drivers.base import (
    ExecutionHandle,
    ExecutionOutcome,
    ExecutionResult,
    IoCounts,
    RobotDriver,
)
from weldcell.drivers.realtime import PROCESS_REALTIME, RealtimeConfig, configure_thread
from weldcell.errors import DriverConnectionError, DriverError, ProtocolError

if TYPE_CHECKING:
    from typing_extensions import Self

    from weldcell.drivers.registry import RobotUrl

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True)
class StreamingConfig:
    """Settings every streaming driver has; a vendor's config subclasses it (own defaults, own fields).

    Attributes:
        robot: weldcell robot model name.
        host: For a sensor-side driver (RSI, EGM) the address it binds; for a client (Stream Motion)
            the controller's address.
        port: The UDP port (bound, or the controller's).
        arc_output: Digital output switched on the samples' arc flags; None: not driven.
        silence: No controller packet for this long [s] while connected faults the running execution.
        stop_time: Deceleration time [s] of ``stop()``, along the path.
        realtime: Scheduling of the I/O thread while connected; the GC is only frozen by default (a
            connection can last hours).
    """

    robot: str = ""
    host: str = "127.0.0.1"
    port: int = 1
    arc_output: int | None = 0
    silence: float = 0.5
    stop_time: float = 0.15
    realtime: RealtimeConfig = field(default_factory=lambda: RealtimeConfig(gc="freeze"))

    #: Prefix of error messages ("RSI", "EGM", "FANUC").
    label: ClassVar[str] = "streaming"
    #: The vendor's configuration error (a ``DriverError`` and ``ValueError``).
    error: ClassVar[type[DriverError]] = DriverError
    #: An example address when ``host`` must be an IP address; None: any non-empty host name.
    host_example: ClassVar[str | None] = "192.168.1.10"
    #: What an output number is called in messages ("a bit number", "a mapped signal").
    signal_word: ClassVar[str] = "a bit number"
    #: Fields that must be finite numbers > 0, and what the message expects.
    positive_fields: ClassVar[tuple[str, ...]] = ("silence", "stop_time")
    positive_word: ClassVar[str] = "a number"
    #: The robot URL form when the URL must name a host (``fanuc://HOST[:PORT]``); None: optional.
    url_host_form: ClassVar[str | None] = None
    #: The URL query parameters the vendor knows (for the "unknown parameter" message).
    url_query_keys: ClassVar[tuple[str, ...]] = ("robot",)

    def __post_init__(self) -> None:
        """Reject settings that cannot work (field, value, expectation).

        Raises:
            DriverError: the vendor's ``error`` class, naming the field and what is expected.
        """
        self._check_address()
        self._check_fields()
        self._check_signal("arc_output", self.arc_output, self.output_count)
        self._check_positive(self.positive_fields)

    # --- checks subclasses reuse ----------------------------------------------------------------
    def _check_address(self) -> None:
        if self.host_example is None:
            if not self.host:
                raise self.error(f"{self.label} host is empty: expected the controller's address")
        else:
            try:
                ipaddress.ip_address(self.host)
            except ValueError as err:
                raise self.error(
                    f"{self.label} host {self.host!r}: expected an IP address (e.g. {self.host_example})"
                ) from err
        self._check_port("port", lo=1)

    def _check_port(self, name: str, lo: int) -> None:
        v = getattr(self, name)
        if not (isinstance(v, int) and lo <= v <= 65535):
            raise self.error(f"{self.label} {name} {v!r}: expected a UDP port {lo} … 65535")

    def _check_fields(self) -> None:
        """The vendor's own fields, checked before the arc output and the times (default: none)."""

    def _check_signal(self, name: str, v: object, count: int) -> None:
        if v is not None and not (isinstance(v, int) and 0 <= v < count):
            raise self.error(f"{self.label} {name} {v!r}: expected {self.signal_word} 0 … {count - 1}")

    def _check_positive(self, names: tuple[str, ...]) -> None:
        for name in names:
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise self.error(f"{self.label} {name} {v!r}: expected {self.positive_word} > 0")

    @property
    def output_count(self) -> int:
        """Digital outputs the driver can set (bit numbers 0 … count-1): the 32-bit output word of
        the vendor's packet unless the vendor's I/O map says otherwise."""
        return 32

    @property
    def input_count(self) -> int:
        """Digital inputs the driver reads (bit numbers 0 … count-1): the 32-bit input word of the
        vendor's packet unless the vendor's I/O map says otherwise."""
        return 32

    # --- from a robot URL -----------------------------------------------------------------------
    @classmethod
    def from_robot_url(cls, url: RobotUrl, /, **options: Any) -> Self:
        """The configuration of a parsed robot URL (nothing connects or loads).

        The URL's host and port, its ``robot=`` and the vendor's query parameters
        (:meth:`_fields_from_query`) set fields; ``options`` (fields) override them, and
        ``config=`` gives a base configuration the result is a copy of.

        Raises:
            DriverError: the vendor's ``error``: a missing host where one is needed, an unknown or
                malformed query parameter, or a setting the configuration rejects.
        """
        config: Self | None = options.pop("config", None)
        fields: dict[str, Any] = {}
        if not url.host and cls.url_host_form is not None:
            raise cls.error(f"robot address {url.url!r}: the host is missing ({cls.url_host_form})")
        if url.host:
            fields["host"] = url.host
        if url.port is not None:
            fields["port"] = url.port
        q = dict(url.query)
        if "robot" in q:
            fields["robot"] = q.pop("robot")
        cls._fields_from_query(url, q, fields)
        if q:
            raise cls.error(
                f"robot address {url.url!r}: unknown query parameter(s) {', '.join(sorted(q))}; "
                f"known: {', '.join(cls.url_query_keys)}"
            )
        fields.update(options)
        return replace(config, **fields) if config is not None else cls(**fields)

    @classmethod
    def _fields_from_query(cls, url: RobotUrl, query: dict[str, str], fields: dict[str, Any]) -> None:
        """Move the vendor's query parameters from ``query`` into ``fields`` (default: none)."""

    @classmethod
    def _query_number(cls, url: RobotUrl, query: dict[str, str], key: str, expected: str) -> float | None:
        """Pop ``key`` from ``query`` as a number (None if absent); the message names ``expected``."""
        if key not in query:
            return None
        raw = query.pop(key)
        try:
            return float(raw)
        except ValueError as err:
            raise cls.error(f"robot address {url.url!r}: {key}={raw!r} is not a number{expected}") from err


class PathRun:
    """One streaming execution's position along its slice (advanced by the driver's I/O thread).

    Args:
        handle: The execution handle.
        setpoints: The slice's set-points in the controller's units (e.g. [deg]), shape (n, n_joints).
        cycle: The controller cycle [s].

    Attributes:
        pos: Path position [samples] from ``handle.start_index``.
        rate: Path speed as a fraction of the planned one (1 until a stop ramps it down).
        stopping: A stop was requested: :meth:`advance` ramps ``rate`` to 0.
        started: The first cycle has been commanded (it commands sample 0, where the robot is).
        underruns: Controller cycles without a fresh set-point (late or lost packets).
    """

    def __init__(self, handle: ExecutionHandle, setpoints: NDArrayF, cycle: float) -> None:
        self.handle = handle
        traj = handle.traj
        self.setpoints = setpoints
        self.arc = np.asarray(traj.arc_on[handle.start_index : handle.end_index], dtype=bool)
        self.step = cycle / traj.dt  # trajectory samples per controller cycle
        self.pos = 0.0
        self.rate = 1.0
        self.stopping = False
        self.started = False
        self.underruns = 0
        self.last = int(setpoints.shape[0]) - 1

    def advance(self, dec: float) -> None:
        """Move the path position by one controller cycle.

        Args:
            dec: Rate decrease per cycle while stopping (``cycle / stop_time``).
        """
        if self.stopping:
            new_rate = max(0.0, self.rate - dec)
            self.pos += 0.5 * (self.rate + new_rate) * self.step
            self.rate = new_rate
        elif not self.started:
            self.started = True  # the first cycle commands sample 0, where the robot is
        else:
            self.pos += self.step
        self.pos = min(self.pos, float(self.last))

    def weights(self) -> tuple[int, float]:
        """The sample ``i`` before the path position and the fraction ``a`` towards sample ``i + 1``."""
        i = math.floor(self.pos)
        if i >= self.last:
            return self.last, 0.0
        return i, self.pos - i

    def setpoint(self) -> tuple[NDArrayF, bool]:
        """The set-point at the path position (linear between samples) and the arc flag there."""
        i, a = self.weights()
        if i >= self.last:
            return self.setpoints[self.last], bool(self.arc[self.last])
        return (1.0 - a) * self.setpoints[i] + a * self.setpoints[i + 1], bool(self.arc[i])

    def report(self) -> None:
        """Publish the path position on the handle (``progress``)."""
        self.handle._update(self.handle.start_index + self.pos)

    @property
    def at_end(self) -> bool:
        """The path position is on the slice's last sample."""
        return self.pos >= self.last - 1e-9

    @property
    def stopped(self) -> bool:
        """A stop ramp has brought the path speed to zero."""
        return self.stopping and self.rate <= 0.0

    @property
    def at_rest(self) -> bool:
        """At the end of the slice, or stopped."""
        return self.at_end or self.stopped


ConfigT = TypeVar("ConfigT", bound=StreamingConfig)
PacketT = TypeVar("PacketT")


class StreamingDriver(RobotDriver, Generic[ConfigT]):
    """Base of the UDP streaming drivers (see module docstring).

    Args:
        config: The vendor's settings.
    """

    #: Protocol name in messages and logs ("RSI", "EGM", "Stream Motion").
    protocol: ClassVar[str] = "streaming"
    #: What the controller's packets are called ("telegram", "message").
    packet_word: ClassVar[str] = "packet"
    #: Who sends them ("robot", "controller").
    peer_word: ClassVar[str] = "controller"
    #: Name of the I/O thread.
    thread_name: ClassVar[str] = "stream-io"
    #: Names of the diagnostics counters in :attr:`stats` (``"malformed"`` among them).
    stat_names: ClassVar[tuple[str, ...]] = ("malformed",)

    #: The vendor's configuration class (parsed from the robot URL).
    config_type: ClassVar[type[StreamingConfig]] = StreamingConfig
    #: Why a URL without a host cannot work (sensor-side drivers: the address to bind); None: the
    #: configuration decides.
    url_host_missing: ClassVar[str | None] = None
    #: Default connection time-out [s] of the cell (a controller may start sending only when the
    #: operator starts its program).
    default_connect_timeout: ClassVar[float] = 15.0
    #: What the cell waits for while connecting, with ``{host}`` and ``{port}`` (None: nothing to say).
    connect_hint: ClassVar[str | None] = None

    @classmethod
    def waiting_for(cls, url: RobotUrl) -> str | None:
        """What the cell waits for while connecting to ``url`` (for the operator), or None."""
        if cls.connect_hint is None:
            return None
        port = url.port if url.port is not None else cls.config_type.__dataclass_fields__["port"].default
        return cls.connect_hint.format(host=url.host, port=port)

    @classmethod
    def config_from_url(cls, url: RobotUrl, /, **options: Any) -> StreamingConfig:
        """The configuration of a parsed robot URL (nothing connects or loads).

        Raises:
            DriverError: the vendor's configuration error (field, value, expectation).
        """
        return cls.config_type.from_robot_url(url, **options)

    @classmethod
    def check_url(cls, url: RobotUrl) -> None:
        """Check a robot URL for this driver without connecting (host, query, settings).

        Raises:
            DriverError: what is wrong, naming the URL.
        """
        if not url.host and cls.url_host_missing is not None:
            raise DriverError(f"robot address {url.url!r}: {cls.url_host_missing}")
        cls.config_from_url(url)

    def __init__(self, config: ConfigT) -> None:
        super().__init__()
        from weldcell.kinematics import load_robot

        self.config = config
        self.robot = config.robot
        self._model = load_robot(self.robot)
        self._n = self._model.n_joints
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._quit = threading.Event()
        self._lock = threading.Lock()
        self._new = threading.Condition(self._lock)
        self._latest: Any = None  # the latest decoded controller packet
        self._latest_at = 0.0
        self._dout = 0
        self._peer: tuple[str, int] | None = None
        self._rt_held = False
        self._run: PathRun | None = None
        self._fault = ""  # why the session is considered ended ("" while it runs)
        #: Diagnostics counters (packets answered, lost, malformed, ...), named by ``stat_names``.
        self.stats: dict[str, int] = dict.fromkeys(self.stat_names, 0)

    # --- lifecycle helpers ----------------------------------------------------------------------
    def _bind_udp(self, host: str, port: int, what: str, hint: str = "") -> socket.socket:
        """A UDP socket bound to ``host:port``.

        Raises:
            DriverConnectionError: the address cannot be bound (``what`` and ``hint`` in the message).
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError as err:
            sock.close()
            raise DriverConnectionError(
                f"cannot bind {what} {host or '*'}:{port} ({err.strerror or err}){hint}"
            ) from err
        return sock

    def _start_io_thread(self) -> None:
        """Hold the real-time settings and start the I/O thread (:meth:`_loop`)."""
        PROCESS_REALTIME.acquire(self.config.realtime)
        self._rt_held = True
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def _configure_io_thread(self) -> None:
        """Apply the real-time scheduling to the calling (I/O) thread."""
        rt = self.config.realtime
        for note in configure_thread(rt.fifo_priority, rt.cpu, rt.timer_slack):
            log.debug("%s I/O thread: %s", self.protocol, note)

    def _wait_first(self, deadline: float | None, poll: float) -> bool:
        """Wait (``self._new`` held) until a controller packet arrived or ``deadline``; True if one did."""
        while self._latest is None:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._new.wait(poll if remaining is None else min(poll, remaining))
        return True

    def _shutdown(self) -> None:
        """Stop the I/O thread, close the socket, release the real-time settings."""
        self._quit.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self._thread = None
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        if self._rt_held:
            PROCESS_REALTIME.release()
            self._rt_held = False

    @abstractmethod
    def _loop(self) -> None:
        """The I/O thread."""

    # --- answering at the source address (RSI, EGM) ---------------------------------------------
    def _answer_loop(
        self, decode: Callable[[bytes], PacketT], cycle: Callable[[PacketT, tuple[str, int]], bytes]
    ) -> None:
        """I/O thread of a sensor-side driver: answer each packet at once, to the address it came from.

        Args:
            decode: One datagram -> the packet; raises ``ProtocolError`` for a malformed one (counted
                in ``stats["malformed"]`` and ignored).
            cycle: Processes one packet and returns the reply (b"": none).
        """
        sock = self._sock
        assert sock is not None  # mypy
        self._configure_io_thread()
        while not self._quit.is_set():
            try:
                data, addr = sock.recvfrom(65535)
            except TimeoutError:
                self._check_silence()
                continue
            except OSError as err:
                if not self._quit.is_set():
                    log.error("%s socket error: %s", self.protocol, err)
                    self._fault_all(f"{self.protocol} socket error: {err}")
                return
            try:
                msg = decode(data)
            except ProtocolError as err:
                self.stats["malformed"] += 1
                log.warning(
                    "malformed %s %s from %s:%d ignored: %s",
                    self.protocol, self.packet_word, addr[0], addr[1], err,
                )  # fmt: skip
                continue
            reply = cycle(msg, addr)
            if not reply:
                continue
            try:
                sock.sendto(reply, addr)  # to the source address (its port), never a configured one
            except OSError as err:
                log.error("cannot answer the %s at %s:%d: %s", self.peer_word, addr[0], addr[1], err)

    # --- watchdog -------------------------------------------------------------------------------
    def _check_silence(self) -> None:
        """Fault the execution when the controller has been silent longer than ``config.silence``."""
        with self._lock:
            if self._latest is None:
                return
            silent = time.monotonic() - self._latest_at
            if silent <= self.config.silence:
                return
            self._on_silence(silent)

    @abstractmethod
    def _on_silence(self, silent: float) -> None:
        """The controller has sent nothing for ``silent`` [s] (> ``config.silence``; lock held)."""

    # --- executions -----------------------------------------------------------------------------
    def _fault_all(self, reason: str, code: str | None = None) -> None:
        """Fault the running execution (socket error)."""
        with self._lock:
            self._fault = reason
            run = self._run
            if run is not None and not run.handle.done:
                self._finish(run, ExecutionOutcome.FAULTED, reason, code)

    def _set_arc(self, arc: bool) -> None:
        """Drive the arc output bit (lock held; nothing when no arc output is mapped)."""
        a = self.config.arc_output
        if a is not None:
            bit = 1 << a
            self._dout = (self._dout | bit) if arc else (self._dout & ~bit)

    def _finish(self, run: PathRun, outcome: ExecutionOutcome, reason: str, code: str | None = None) -> None:
        """End ``run`` with ``outcome`` (lock held); the arc output goes off unless it completed."""
        h = run.handle
        if h.done:
            return
        pos = h.start_index + run.pos
        if self.config.arc_output is not None and outcome is not ExecutionOutcome.COMPLETED:
            self._dout &= ~(1 << self.config.arc_output)  # never leave the arc burning on a stop or fault
        reached = math.floor(pos + 1e-9)
        h._finish(ExecutionResult(outcome, reached, pos, reason, code, underruns=run.underruns))
        if outcome is ExecutionOutcome.FAULTED:
            log.error("%s execution faulted: %s", self.protocol, reason)

    def _stop(self, handle: ExecutionHandle) -> None:
        with self._lock:
            run = self._run
            if run is not None and run.handle is handle and not handle.done:
                run.stopping = True

    @property
    def io_counts(self) -> IoCounts:
        """The digital outputs and inputs of the vendor's I/O map (the configuration's
        ``output_count`` / ``input_count``); the streaming links carry no analog I/O."""
        return IoCounts(digital_out=self.config.output_count, digital_in=self.config.input_count)

    def _set_digital_out(self, n: int, value: bool) -> None:
        with self._lock:
            self._dout = (self._dout | (1 << n)) if value else (self._dout & ~(1 << n))

    # --- diagnostics ----------------------------------------------------------------------------
    @property
    def peer(self) -> tuple[str, int] | None:
        """Address the controller's packets come from (the replies go there)."""
        with self._lock:
            return self._peer
