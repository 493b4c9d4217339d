"""Universal Robots driver: streams trajectory slices over RTDE to the weldcell servo program.

Threads (H9: no disk or network I/O on the control loop beyond the RTDE socket itself):

* **reader** - blocks on the RTDE socket, decodes output packages and publishes the latest one
  (an atomic reference swap); it also drains the control loop's log queue.
* **control** - a :class:`~weldcell.drivers.realtime.LoopTimer` loop at the controller rate
  (500 Hz e-Series, 125 Hz CB3). Each cycle it reads the latest feedback, advances the register
  window of the streaming protocol (:mod:`weldcell.drivers.ur.streaming.servo_program`) in a preallocated,
  prepacked RTDE input package (``struct.pack_into``) and hands it to the kernel with a send that
  never blocks. The set-points of a slice are converted to wire format before the slice starts;
  the loop formats no strings and logs nothing (overruns and dropped sends are counted and
  reported by the reader thread). While a slice streams the loop spins the last ``spin`` seconds
  before each deadline and the cyclic GC is paused (:mod:`weldcell.drivers.realtime`).

The servo program runs on the controller between slices (one upload per connection); a new
stream session resets it. Arc on/off follows the samples' ``arc_on`` flags on the configured
digital output, switched by the robot program at exactly the sample where it changes.

Program mode (:meth:`URDriver.execute_program`) sends the whole trajectory as one exported URScript
program instead and follows it through the RTDE state (the reader thread updates its handle).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import queue
import socket
import struct
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from weldcell.drivers.base import (
    ExecutionHandle,
    ExecutionOutcome,
    ExecutionResult,
    RobotDriver,
    RobotMode,
    RobotState,
    SafetyStatus,
)
from weldcell.drivers.realtime import (
    PROCESS_REALTIME,
    LoopTimer,
    RealtimeConfig,
    configure_thread,
    lookahead_from_lateness,
)
from weldcell.drivers.ur import models
from weldcell.drivers.ur.client import rtde_protocol as rp
from weldcell.drivers.ur.client.dashboard import DASHBOARD_PORT, DashboardClient
from weldcell.drivers.ur.client.rtde_client import RTDE_PORT, RTDEClient
from weldcell.drivers.ur.program.export import UrExportOptions, arc_set, urscript_from_trajectory
from weldcell.drivers.ur.streaming import servo_program as sp
from weldcell.errors import (
    DriverConnectionError,
    DriverError,
    DriverFaultError,
    DriverTimeoutError,
    ProtocolError,
)
from weldcell.trajectory import JointTrajectory

if TYPE_CHECKING:
    from weldcell.drivers.url import RobotUrl

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]

_MODE = {
    3: RobotMode.POWER_OFF,
    4: RobotMode.IDLE,
    5: RobotMode.IDLE,
    7: RobotMode.RUNNING,
    2: RobotMode.BOOTING,
    0: RobotMode.DISCONNECTED,
    -1: RobotMode.DISCONNECTED,
}
_SAFETY = {
    1: SafetyStatus.NORMAL,
    2: SafetyStatus.REDUCED,
    3: SafetyStatus.PROTECTIVE_STOP,
    4: SafetyStatus.FAULT,
    5: SafetyStatus.SAFEGUARD_STOP,
    6: SafetyStatus.EMERGENCY_STOP,
    7: SafetyStatus.EMERGENCY_STOP,
    8: SafetyStatus.FAULT,
    9: SafetyStatus.FAULT,
}
_SAFETY_NAMES = {
    1: "NORMAL",
    2: "REDUCED",
    3: "PROTECTIVE_STOP",
    4: "RECOVERY",
    5: "SAFEGUARD_STOP",
    6: "SYSTEM_EMERGENCY_STOP",
    7: "ROBOT_EMERGENCY_STOP",
    8: "VIOLATION",
    9: "FAULT",
}

OUTPUTS = [
    "timestamp",
    "actual_q",
    "actual_qd",
    "target_q",
    "robot_mode",
    "safety_mode",
    "runtime_state",
    "actual_digital_input_bits",
    "actual_digital_output_bits",
    "standard_analog_input0",
    "standard_analog_input1",
    "standard_analog_output0",
    "standard_analog_output1",
    "target_speed_fraction",
    *[f"output_int_register_{i}" for i in range(sp.OUT_RECEIVED, sp.OUT_SESSION + 1)],
    f"output_int_register_{sp.OUT_INSTANCE}",
    f"output_int_register_{sp.OUT_MIN_FILL}",
    f"output_int_register_{sp.OUT_BLOCK}",
    f"output_bit_register_{sp.OUT_ARC_REQUEST_BIT}",
    f"output_double_register_{sp.OUT_POSITION}",
]
STREAM_INPUTS = [
    *[f"input_int_register_{i}" for i in range(sp.IN_NEWEST, sp.IN_FLAGS + sp.SLOTS)],
    f"input_int_register_{sp.IN_ALIVE}",
    *[f"input_double_register_{i}" for i in range(sp.FIRST_DOUBLE, sp.FIRST_DOUBLE + 6 * sp.SLOTS)],
]
# output field names read by the control loop (formatted once, here, not per cycle)
_K_RECEIVED = f"output_int_register_{sp.OUT_RECEIVED}"
_K_EXECUTED = f"output_int_register_{sp.OUT_EXECUTED}"
_K_STATUS = f"output_int_register_{sp.OUT_STATUS}"
_K_UNDERRUNS = f"output_int_register_{sp.OUT_UNDERRUNS}"
_K_SESSION = f"output_int_register_{sp.OUT_SESSION}"
_K_POSITION = f"output_double_register_{sp.OUT_POSITION}"
# enum values as plain ints: an IntEnum attribute lookup costs more than the comparison
_DONE, _STOPPED, _OVERRUN = (
    int(sp.StreamStatus.DONE),
    int(sp.StreamStatus.STOPPED),
    int(sp.StreamStatus.OVERRUN),
)
_FILL, _RUN, _STOP = int(sp.StreamCommand.FILL), int(sp.StreamCommand.RUN), int(sp.StreamCommand.STOP)
_SLOTS = sp.SLOTS
_I32 = struct.Struct(">i")
_I32X4 = struct.Struct(">4i")
_SAMPLE_BYTES = 6 * 8  # one set-point: 6 big-endian doubles
_FLANGE = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # UR pose of the flange as TCP
ANALOG_OUT_MAX_V = 10.0  # UR standard analog outputs in voltage mode: 0-10 V
_RING_TOO_SMALL = (
    "control loop %.1f ms late: the look-ahead needs more than the servo program's ring holds "
    "(%d samples); raise URDriverConfig.ring"
)
#: Program mode: the speed slider held at 100 % while a job program runs, and "arc established" from
#: the PC for programs that read it from an RTDE register (fieldbus power source)
PROGRAM_INPUTS = [
    "speed_slider_mask",
    "speed_slider_fraction",
    f"input_bit_register_{sp.IN_ARC_ESTABLISHED_BIT}",
]
_K_BLOCK = f"output_int_register_{sp.OUT_BLOCK}"
_K_ARC_REQUEST = f"output_bit_register_{sp.OUT_ARC_REQUEST_BIT}"
IO_INPUTS = [
    "standard_digital_output_mask",
    "standard_digital_output",
    "standard_analog_output_mask",
    "standard_analog_output_type",
    "standard_analog_output_0",
    "standard_analog_output_1",
]


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


def _fresh_session() -> int:
    """A random stream session id for a new connection (int32, room for 10^8 slices above it)."""
    return 1000 + int.from_bytes(os.urandom(4), "big") % 2_000_000_000


class _TxWindow:
    """The streaming recipe's RTDE input package, prepacked once and patched in place.

    Layout (after the 3-byte header and the recipe id): int registers newest, command, last,
    session, flags x SLOTS, alive counter, then 6 x SLOTS double registers, all big-endian. Only
    the control thread writes it.

    Args:
        recipe: The input recipe of :data:`STREAM_INPUTS` as accepted by the controller.

    Raises:
        ProtocolError: the controller reported other types than INT32/DOUBLE for the registers.
    """

    def __init__(self, recipe: rp.Recipe) -> None:
        expected = ("INT32",) * (5 + sp.SLOTS) + ("DOUBLE",) * (6 * sp.SLOTS)
        if recipe.types != expected or not recipe.with_id:
            raise ProtocolError(f"unexpected RTDE types for the streaming registers: {recipe.types}")
        size = rp.HEADER_SIZE + recipe.size
        self.buf = bytearray(size)
        rp.HEADER.pack_into(self.buf, 0, size, rp.DATA_PACKAGE)
        self.buf[rp.HEADER_SIZE] = recipe.recipe_id
        self._ints = rp.HEADER_SIZE + 1
        self._flags = self._ints + 4 * 4
        self._alive_at = self._ints + 4 * (4 + sp.SLOTS)
        self._alive = 0
        self._doubles = self._ints + 4 * (5 + sp.SLOTS)

    def tick(self) -> None:
        """Advance the alive counter (once per package sent; the servo program's PC watchdog)."""
        self._alive = (self._alive + 1) & 0x7FFFFFFF
        _I32.pack_into(self.buf, self._alive_at, self._alive)

    def set_control(self, newest: int, command: int, last: int, session: int) -> None:
        """Write the four control registers (newest index, command, last index, session)."""
        _I32X4.pack_into(self.buf, self._ints, newest, command, last, session)

    def set_newest(self, newest: int) -> None:
        """Write the newest-index register."""
        _I32.pack_into(self.buf, self._ints, newest)

    def set_command(self, command: int) -> None:
        """Write the command register."""
        _I32.pack_into(self.buf, self._ints + 4, command)

    def put_sample(self, slot: int, flag: int, sample: bytes) -> None:
        """Write one window slot: its flags register and its 6 prepacked joint doubles."""
        _I32.pack_into(self.buf, self._flags + 4 * slot, flag)
        off = self._doubles + _SAMPLE_BYTES * slot
        self.buf[off : off + _SAMPLE_BYTES] = sample

    def values(self) -> tuple[Any, ...]:
        """The register values currently in the package (recipe order), for tests and logs."""
        return struct.unpack_from(">" + "i" * (5 + sp.SLOTS) + "d" * (6 * sp.SLOTS), self.buf, self._ints)


class _Stream:
    """Precomputed set-points of one slice and its register-window state (control thread only)."""

    def __init__(self, handle: ExecutionHandle, cycle: float, session: int, lookahead: int) -> None:
        traj = handle.traj
        s0, s1 = handle.start_index, handle.end_index
        points = traj.resample(cycle, s0, s1)  # the slice at the controller cycle
        self.samples = np.ascontiguousarray(points.q, dtype=np.float64)
        self.flags = points.arc_on.astype(np.int32)
        self.scale = 1.0 if abs(traj.dt - cycle) < 1e-12 else cycle / traj.dt
        # wire format, prepared before the slice starts: one 48-byte big-endian row per set-point
        wire = np.ascontiguousarray(self.samples, dtype=">f8").tobytes()
        self.rows = [wire[k : k + _SAMPLE_BYTES] for k in range(0, len(wire), _SAMPLE_BYTES)]
        self.flag_list: list[int] = self.flags.tolist()
        self.handle = handle
        self.session = session
        self.n = self.samples.shape[0]
        self.lookahead = lookahead
        self.newest = -1
        self.command = int(sp.StreamCommand.FILL)
        self.taken_at = 0.0  # monotonic time the control thread put the session on the wire [s]
        self.last_received = -2  # the controller's received counter at the last change
        self.received_at = 0.0  # monotonic time it last changed [s]


class _ProgramRun:
    """One whole-trajectory URScript program on the controller and its progress (program mode).

    Progress is the index of the trajectory sample nearest (joint space) to ``actual_q``, searched
    in a window of ``window`` samples from the last index found, so it never goes back.
    """

    def __init__(
        self, handle: ExecutionHandle, script: str, stop_script: str, window: int, opt: UrExportOptions
    ) -> None:
        self.handle = handle
        self.script = script
        self.stop_script = stop_script
        self.arc_do = opt.arc_do
        self.dry = not opt.arc_enabled or opt.arc_request_register is not None  # no arc on a robot output
        self.arc_bit = 1 << opt.arc_do
        # the program's weld block register (driver's OUTPUTS carry output int 33), else the arc output
        self.block_key = _K_BLOCK if opt.progress_register == sp.OUT_BLOCK else None
        self.q = np.ascontiguousarray(handle.traj.q, dtype=np.float64)
        self.window = window
        self.index = handle.start_index
        # first sample of the final rest (samples equal to the last one): reaching it is the end
        moving = np.nonzero(np.any(self.q != self.q[-1], axis=1))[0]
        self.final_from = int(moving[-1]) + 1 if moving.size else 0
        self.end_slack = max(1, round(0.1 / handle.traj.dt))  # samples [0.1 s of motion]
        self.started = False  # the controller reported the program running


class URDriver(RobotDriver):
    """Driver for a UR controller (real or virtual) over RTDE, Dashboard and the script port.

    Args:
        host: Controller address.
        config: Driver settings.
    """

    url_form: ClassVar[str] = "ur://HOST[:RTDE_PORT]"

    # --- from a robot URL (hooks of the driver registry, weldcell.drivers.registry) -------------
    @classmethod
    def check_url(cls, url: RobotUrl) -> None:
        """Check ``ur://HOST[:RTDE_PORT]`` (nothing connects).

        Raises:
            DriverError: the host is missing.
        """
        if not url.host:
            raise DriverError(f"robot address {url.url!r}: the host is missing (ur://HOST[:RTDE_PORT])")

    @classmethod
    def from_url(cls, url: RobotUrl, /, **options: Any) -> URDriver:
        """``ur://HOST[:RTDE_PORT]`` -> an unconnected driver.

        Options are :class:`URDriverConfig` fields (``robot="ur10e"``, ...), or ``config=URDriverConfig(...)``
        as a whole. A port in the URL sets ``rtde_port``.

        Raises:
            DriverError: a missing host, a port that disagrees with ``config``, both ``config`` and
                single settings, or a setting :class:`URDriverConfig` rejects.
        """
        cls.check_url(url)
        config = options.pop("config", None)
        if config is not None and options:
            raise DriverError(f"robot address {url.url!r}: give either config= or single settings, not both")
        if config is None:
            if url.port is not None:
                options.setdefault("rtde_port", url.port)
            config = URDriverConfig(**options)
        elif url.port is not None and url.port != config.rtde_port:
            raise DriverError(
                f"robot address {url.url!r}: port {url.port} disagrees with config.rtde_port "
                f"{config.rtde_port}"
            )
        return cls(url.host, config)

    @classmethod
    def cell_options(cls, url: RobotUrl, robot: str, settings: Mapping[str, Any], /) -> dict[str, Any]:
        """The cell streams (no robot arc output: the arc stays with the cell's power source); the
        settings ``power_on``, ``dashboard_port`` and ``script_port`` apply (None: the default)."""
        opts: dict[str, Any] = {
            "robot": robot,
            "arc_output": None,
            "power_on": bool(settings.get("power_on")),
        }
        for name in ("dashboard_port", "script_port"):
            if settings.get(name) is not None:
                opts[name] = settings[name]
        return opts

    @classmethod
    def check_cell_settings(cls, url: RobotUrl, settings: Mapping[str, Any], /) -> None:
        """Check the ports and the arc output of ``settings`` before a job is planned (nothing connects).

        Raises:
            URDriverConfigError: a port outside 1 … 65535 or an I/O number outside 0 … 7.
        """
        arc_output = settings.get("arc_output")
        URDriverConfig(
            rtde_port=url.port or RTDE_PORT,
            dashboard_port=settings.get("dashboard_port", DASHBOARD_PORT),
            script_port=settings.get("script_port") or 30002,
            arc_output=arc_output if arc_output is not None else 0,
        )

    @classmethod
    def probe(cls, url: RobotUrl, timeout: float = 3.0) -> None:
        """Open and close a TCP connection to the controller's RTDE port, so that a wrong address fails
        fast (before a slow planning).

        Raises:
            DriverConnectionError: nothing answers within ``timeout`` [s].
        """
        port = url.port or RTDE_PORT
        try:
            with socket.create_connection((url.host, port), timeout=timeout):
                pass
        except OSError as err:
            raise DriverConnectionError(
                f"robot {url.host}:{port} does not answer ({err.strerror or err}); check the address and "
                "that the controller is on"
            ) from err

    def __init__(self, host: str, config: URDriverConfig | None = None) -> None:
        super().__init__()
        self.host = host
        self.config = config or URDriverConfig()
        self.robot = self.config.robot
        self.dt = 0.002
        self.rtde: RTDEClient | None = None
        self.dashboard: DashboardClient | None = None
        self._latest: dict[str, Any] | None = None
        self._latest_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._quit = threading.Event()
        self._log_queue: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self._stream: _Stream | None = None
        self._pending: _Stream | None = None
        self._program: _ProgramRun | None = None
        self._program_options: UrExportOptions | None = None  # set while execute_program() runs
        self._session = 0
        self._tx: _TxWindow | None = None
        self._reset_request: int | None = None  # session to idle the window with (control thread applies)
        self._io_values: list[Any] = [0, 0, 0, 0, 0.0, 0.0]
        self._io_request: bytes | None = None  # prepacked IO package, sent by the control thread
        self._io_lock = threading.Lock()
        self._arc_off_request = False
        self._program_values: list[Any] = [0, 1.0, False]  # PROGRAM_INPUTS
        self._program_request: bytes | None = None  # prepacked program-mode package (control thread sends)
        self.rate: LoopTimer | None = None
        #: look-ahead in use [s]: ``URDriverConfig.lookahead``, grown from the measured lateness
        self.lookahead = self.config.lookahead
        #: control-loop cycles whose package the kernel did not take (send buffer full); counted, not logged
        self.dropped_sends = 0
        self.connection_error: str = ""
        self._fk: Any = None
        #: TCP pose the running servo program set (UR pose in the flange frame), None: the installation's
        self._program_tcp: tuple[float, ...] | None = None

    def __repr__(self) -> str:
        return f"URDriver({self.host!r})"

    # --- connection -----------------------------------------------------------------------
    def _connect(self, timeout: float | None) -> None:
        cfg = self.config
        t = 10.0 if timeout is None else timeout
        deadline = time.monotonic() + t
        from weldcell.kinematics import load_robot

        self._fk = load_robot(cfg.robot).fk
        rtde = RTDEClient(self.host, cfg.rtde_port, timeout=min(2.0, t))
        rtde.connect()
        try:
            rtde.negotiate_protocol((2, 1))
            version = rtde.get_controller_version()
            self.dt = 0.002 if version[0] >= 5 else 0.008
            rtde.setup_outputs(OUTPUTS, 1.0 / self.dt)
            self._stream_recipe = rtde.setup_inputs(STREAM_INPUTS)
            self._io_recipe = rtde.setup_inputs(IO_INPUTS)
            self._program_recipe = rtde.setup_inputs(PROGRAM_INPUTS)
            tx = _TxWindow(self._stream_recipe)
            rtde.start()
        except Exception:
            rtde.close()
            raise
        self.rtde = rtde
        if cfg.dashboard_port is not None:
            dash = DashboardClient(self.host, cfg.dashboard_port, timeout=2.0)
            try:
                dash.connect()
                self.dashboard = dash
            except DriverError as err:
                log.warning("dashboard of %s not reachable (%s); continuing without it", self.host, err)
        self._quit.clear()
        self._latest = None
        self._latest_event.clear()
        self._stream = self._pending = None
        self._program = None
        # a fresh, random session range per connection: a time-based one repeated when a driver
        # connected within the same tick as the previous one closed, and the previous servo program
        # (still running) then acknowledged the new driver's session and instance id
        self._session = _fresh_session()
        self._tx = tx
        tx.set_control(-1, int(sp.StreamCommand.FILL), -1, self._session)
        self._reset_request = None
        self.dropped_sends = 0
        self.rate = None
        self.connection_error = ""
        self._threads = [
            threading.Thread(target=self._reader, name=f"ur-reader-{self.host}", daemon=True),
            threading.Thread(target=self._control, name=f"ur-control-{self.host}", daemon=True),
        ]
        for th in self._threads:
            th.start()
        try:
            fb = self._wait_latest(max(0.1, deadline - time.monotonic()))
            held = {fb[_K_SESSION], fb[f"output_int_register_{sp.OUT_INSTANCE}"]}
            while self._session in held or self._session - 1 in held:  # ids the controller shows
                self._session = _fresh_session()
                self._reset_request = self._session  # applied to the window by the control thread
            if cfg.power_on and self.dashboard is not None:
                self._power_on(deadline)
            # the flange as TCP until a slice brings its own (most motions before a job are joint moves)
            self._upload_program(max(0.1, min(cfg.upload_timeout, deadline - time.monotonic())), _FLANGE)
        except Exception:
            self._close()
            raise

    def _power_on(self, deadline: float) -> None:
        assert self.dashboard is not None  # mypy
        if self._latest is not None and self._latest["robot_mode"] == 7:
            return
        self.dashboard.power_on()
        while time.monotonic() < deadline:
            if self._latest is not None and self._latest["robot_mode"] in (5, 7):
                break
            time.sleep(0.01)
        self.dashboard.brake_release()
        while time.monotonic() < deadline:
            if self._latest is not None and self._latest["robot_mode"] == 7:
                return
            time.sleep(0.01)
        raise DriverTimeoutError(f"{self.host}: robot did not reach RUNNING after power on and brake release")

    def _upload_program(self, timeout: float, tcp_pose: tuple[float, ...] | None = None) -> None:
        """Upload the servo program and wait until it runs and acknowledges our session.

        ``tcp_pose``: the TCP the program sets (``set_tcp``, UR pose in the flange frame [m, rad]) so
        that the controller's TCP speed limit watches the torch tip; None keeps the installation's.
        """
        cfg = self.config
        text = sp.servo_program(
            cycle=self.dt,
            ring=cfg.ring,
            arc_output=cfg.arc_output,
            stop_time=cfg.stop_time,
            watchdog_hz=cfg.watchdog_hz,
            instance=self._session,
            tcp_pose=tcp_pose,
        )
        self._program_tcp = None
        fb = self._latest
        if fb is not None and fb["robot_mode"] != 7:
            raise DriverFaultError(
                f"{self.host}: robot is not ready to move "
                f"(robot mode {_MODE.get(fb['robot_mode'], fb['robot_mode'])}); "
                "power it on and release the brakes",
                error_code="robot_mode",
            )
        self._send_script(text, "the servo program")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fb = self._latest
            if (
                fb is not None
                and fb["runtime_state"] == 2
                # the program just uploaded, not the previous one (it answers the same handshake
                # until the new one replaces it; set-points sent to it would be lost)
                and fb[f"output_int_register_{sp.OUT_INSTANCE}"] == self._session
                and fb[f"output_int_register_{sp.OUT_SESSION}"] == self._session
                and fb[f"output_int_register_{sp.OUT_STATUS}"] == sp.StreamStatus.FILLING
            ):
                self._program_tcp = tcp_pose
                return
            time.sleep(0.005)
        recent = [m for m, _, _ in self.controller_messages()[-3:]]
        raise DriverTimeoutError(
            f"{self.host}: the servo program did not start within {timeout} s; "
            f"last controller messages: {recent or 'none'}; last state: "
            f"runtime_state={fb and fb['runtime_state']}, "
            f"status={fb and fb[f'output_int_register_{sp.OUT_STATUS}']}, "
            f"session={fb and fb[f'output_int_register_{sp.OUT_SESSION}']} (ours {self._session})"
        )

    def _send_script(self, text: str, what: str) -> None:
        """Send URScript ``text`` to the script port (a ``def`` program replaces the running one)."""
        port = self.config.script_port
        try:
            with socket.create_connection((self.host, port), timeout=2.0) as s:
                s.sendall(text.encode())
        except OSError as err:
            raise DriverConnectionError(f"cannot upload {what} to {self.host}:{port}: {err}") from err

    def _close(self) -> None:
        run = self._program
        if run is not None and not run.handle.done and not self._quit.is_set():
            with contextlib.suppress(DriverError):
                self._stop_program(run)
            run.handle._done.wait(self.config.stop_time + 0.5)
        if run is not None and not run.handle.done:
            p = run.handle.progress
            run.handle._finish(
                ExecutionResult(
                    ExecutionOutcome.FAULTED, p.index, p.position, "driver closed during execution"
                )
            )
        st = self._stream
        if st is not None and not st.handle.done and not self._quit.is_set():
            # decelerate along the path before letting go (otherwise the watchdog stops the arm)
            st.handle.stop_requested = True
            st.handle._done.wait(self.config.stop_time + 0.3)
        if st is not None and not st.handle.done:
            st.handle._finish(
                ExecutionResult(
                    ExecutionOutcome.FAULTED,
                    st.handle.progress.index,
                    st.handle.progress.position,
                    "driver closed during execution",
                )
            )
        self._quit.set()
        for th in self._threads:
            if th is not threading.current_thread():
                th.join(2.0)
        self._threads = []
        if self.rtde is not None:
            self.rtde.close()
            self.rtde = None
        if self.dashboard is not None:
            self.dashboard.close()
            self.dashboard = None

    @property
    def connected(self) -> bool:
        """True between ``connect()`` and ``close()`` while the RTDE link is up."""
        return self._conn.connected and not self.connection_error

    def reconnect(self, timeout: float | None = 10.0) -> None:
        """Close (quietly) and connect again, e.g. after the link dropped."""
        with contextlib.suppress(DriverError):
            self.close()
        self.connect(timeout)

    # --- threads --------------------------------------------------------------------------
    def _reader(self) -> None:
        rtde = self.rtde
        assert rtde is not None  # mypy
        rt = self.config.realtime
        notes = configure_thread(rt.reader_fifo_priority)
        if notes:
            log.info("%s: RTDE reader thread: %s", self.host, "; ".join(notes))
        reported = reported_active = reported_drops = 0
        next_report = time.monotonic() + 1.0
        while not self._quit.is_set():
            try:
                out = rtde.receive_latest(timeout=1.0)
            except (DriverTimeoutError, DriverConnectionError) as err:
                if self._quit.is_set():
                    return
                self.connection_error = str(err)
                log.error("%s: RTDE link lost: %s", self.host, err)
                self._quit.set()
                self._fail_stream(f"connection to the controller lost ({err})", "connection")
                return
            self._latest = out
            self._latest_event.set()
            run = self._program
            if run is not None and not run.handle.done:
                self._advance_program(run, out)
            while True:
                try:
                    level, msg = self._log_queue.get_nowait()
                except queue.Empty:
                    break
                log.log(level, "%s: %s", self.host, msg)
            rate = self.rate
            if rate is None or (rate.overruns == reported and self.dropped_sends == reported_drops):
                continue
            now = time.monotonic()
            if now < next_report:
                continue
            # the control loop only counts; the summary is formatted here, at most once a second
            n_all, n_active = rate.overruns - reported, rate.active_overruns - reported_active
            n_drop = self.dropped_sends - reported_drops
            reported, reported_active, reported_drops = (
                rate.overruns,
                rate.active_overruns,
                self.dropped_sends,
            )
            worst = rate.take_worst()
            if n_active:
                log.log(
                    logging.WARNING if worst > 0.01 else logging.DEBUG,
                    "%s: control loop: %d cycle(s) of a streaming slice more than %.1f ms late "
                    "in the last %.1f s (worst %.2f ms)",
                    self.host,
                    n_active,
                    rate.warn * 1e3,
                    now - next_report + 1.0,
                    worst * 1e3,
                )
            if n_all > n_active:  # idle cycles carry no set-points: only for debugging
                log.debug("%s: control loop: %d idle cycle(s) late", self.host, n_all - n_active)
            if n_drop:
                log.warning(
                    "%s: control loop: %d RTDE input package(s) not sent (socket send buffer full)",
                    self.host,
                    n_drop,
                )
            next_report = now + 1.0

    def _fail_stream(self, reason: str, code: str | int | None) -> None:
        for h in (
            self._stream.handle if self._stream is not None else None,
            self._program.handle if self._program is not None else None,
        ):
            if h is not None and not h.done:
                p = h.progress
                h._finish(ExecutionResult(ExecutionOutcome.FAULTED, p.index, p.position, reason, code))

    def _control(self) -> None:
        rtde, tx = self.rtde, self._tx
        assert rtde is not None and tx is not None  # mypy
        cfg = self.config
        rt = cfg.realtime
        notes = configure_thread(rt.fifo_priority, rt.cpu, rt.timer_slack)
        if notes:
            self._log_queue.put((logging.INFO, "control thread: " + "; ".join(notes)))
        self.rate = timer = LoopTimer(1.0 / self.dt)
        base = max(1, round(cfg.lookahead / self.dt))
        most = cfg.ring - 8
        lookahead = min(base, most)
        self.lookahead = lookahead * self.dt
        sized_for = 0.0  # the worst lateness [s] the look-ahead was last sized from
        capped = False
        streaming = False  # interpreter-wide real-time settings held (PROCESS_REALTIME)
        quit_ = self._quit
        try:
            while not quit_.is_set():
                timer.sleep()
                fb = self._latest
                if self._reset_request is not None:
                    session, self._reset_request = self._reset_request, None
                    tx.set_control(-1, int(sp.StreamCommand.FILL), -1, session)
                if self._pending is not None:
                    self._session += 1
                    new = self._pending
                    new.session = self._session
                    new.lookahead = lookahead
                    new.taken_at = time.monotonic()
                    self._stream, self._pending = new, None
                    tx.set_control(-1, new.command, new.n - 1, new.session)
                    if not streaming:
                        PROCESS_REALTIME.acquire(rt)
                        streaming = timer.active = True
                        timer.spin = cfg.spin
                st = self._stream
                if st is not None and fb is not None and not st.handle.done:
                    self._advance(st, fb, tx)
                try:
                    tx.tick()
                    if not rtde.send_nowait(tx.buf):
                        self.dropped_sends += 1
                    timer.mark_sent()
                    if timer.peak != sized_for:  # a new worst lateness: size the look-ahead again
                        sized_for = timer.peak
                        lookahead, cut = lookahead_from_lateness(base, sized_for, self.dt, most)
                        self.lookahead = lookahead * self.dt
                        if st is not None:
                            st.lookahead = lookahead
                        if cut and not capped:
                            capped = True
                            self._log_queue.put((logging.WARNING, _RING_TOO_SMALL % (sized_for * 1e3, most)))
                    req = self._io_request
                    if req is not None and rtde.send_nowait(req):
                        with self._io_lock:
                            if self._io_request is req:
                                self._io_request = None
                    req = self._program_request
                    if req is not None and rtde.send_nowait(req):
                        with self._io_lock:
                            if self._program_request is req:
                                self._program_request = None
                except DriverConnectionError as err:
                    self._log_queue.put((logging.ERROR, f"RTDE send failed: {err}"))
                    return
                if streaming and (st is None or st.handle.done) and self._pending is None:
                    PROCESS_REALTIME.release()
                    streaming = timer.active = False
                    timer.spin = 0.0
        finally:
            if streaming:
                PROCESS_REALTIME.release()

    def _advance(self, st: _Stream, fb: dict[str, Any], tx: _TxWindow) -> None:
        h = st.handle
        safety = fb["safety_mode"]
        # faults: safety stop or the program is gone
        if (safety != 1 and safety != 2) or fb["runtime_state"] != 2:
            code = _SAFETY_NAMES.get(safety, safety) if safety not in (1, 2) else "program_stopped"
            reason = self._error_messages() or (
                f"safety mode {code}"
                if code != "program_stopped"
                else "the servo program stopped on the controller"
            )
            self._fail_stream(reason, code)
            self._request_arc_off()
            return
        if fb[_K_SESSION] != st.session:
            # the servo program must acknowledge a new slice's session before any set-point goes
            # out; it never doing so must not leave the caller waiting without end
            waited = time.monotonic() - st.taken_at
            if waited > self.config.upload_timeout:
                self._fail_stream(
                    f"the servo program did not acknowledge stream session {st.session} within "
                    f"{self.config.upload_timeout} s (controller: session {fb[_K_SESSION]}, "
                    f"status {fb[_K_STATUS]}, runtime state {fb['runtime_state']})",
                    "timeout",
                )
                self._request_arc_off()
            return
        status = fb[_K_STATUS]
        abs_pos = h.start_index + fb[_K_POSITION] * st.scale
        h._update(abs_pos)
        if status == _DONE:
            h._finish(
                ExecutionResult(
                    ExecutionOutcome.COMPLETED,
                    h.end_index - 1,
                    float(h.end_index - 1),
                    "",
                    None,
                    int(fb[_K_UNDERRUNS]),
                )
            )
            return
        if status == _STOPPED:
            idx = int(np.floor(abs_pos + 1e-9))
            h._finish(
                ExecutionResult(
                    ExecutionOutcome.STOPPED, idx, abs_pos, "stop requested", None, int(fb[_K_UNDERRUNS])
                )
            )
            return
        if status == _OVERRUN:
            self._fail_stream(
                "set-points lost: the stream overran the controller's register window", "overrun"
            )
            return
        received = fb[_K_RECEIVED]
        now = time.monotonic()
        if received != st.last_received:
            st.last_received, st.received_at = received, now
        elif st.newest > received and now - st.received_at > self.config.upload_timeout:
            # set-points wait in the window but the program takes none: it is not running its loop
            self._fail_stream(
                f"the servo program took no set-point for {self.config.upload_timeout} s "
                f"(sent up to {st.newest}, received {received}, status {status})",
                "timeout",
            )
            self._request_arc_off()
            return
        newest = received + _SLOTS
        ahead = fb[_K_EXECUTED] + st.lookahead
        if ahead < newest:
            newest = ahead
        if st.n - 1 < newest:
            newest = st.n - 1
        first = st.newest + 1
        if newest >= first:
            rows, flags = st.rows, st.flag_list
            if newest - _SLOTS + 1 > first:
                first = newest - _SLOTS + 1
            for k in range(first, newest + 1):
                tx.put_sample(k % _SLOTS, flags[k], rows[k])
            st.newest = newest
            tx.set_newest(newest)
        if h.stop_requested:
            command = _STOP
        elif st.command == _FILL and received >= min(st.lookahead, st.n - 1):
            command = _RUN
        else:
            command = st.command
        if command != st.command:
            st.command = command
            tx.set_command(command)

    def _request_arc_off(self, run: _ProgramRun | None = None) -> None:
        # a job program switches the arc on its own output (UrExportOptions.arc_do), a dry run on none
        n = self.config.arc_output if run is None else (None if run.dry else run.arc_do)
        if n is not None:
            with self._io_lock:
                v = self._io_values
                self._io_request = self._io_package([1 << n, 0, 0, v[3], v[4], v[5]])

    def _io_package(self, values: list[Any]) -> bytes:
        """Prepacked RTDE input package of the IO recipe (sent by the control thread)."""
        return rp.pack_package(rp.DATA_PACKAGE, self._io_recipe.pack(values))

    def _error_messages(self) -> str:
        if self.rtde is None:
            return ""
        errors = [(m, src) for m, src, lvl in list(self.rtde.messages) if lvl <= 1]
        causes = [m for m, src in errors if src != "Controller"]  # "program stopped" is a consequence
        if causes:
            return causes[-1]
        return errors[-1][0] if errors else ""

    def _wait_latest(self, timeout: float | None) -> dict[str, Any]:
        if not self._latest_event.wait(timeout):
            raise DriverTimeoutError(f"no RTDE state from {self.host} within {timeout} s")
        fb = self._latest
        assert fb is not None  # mypy
        return fb

    # --- driver hooks ---------------------------------------------------------------------
    def _state(self, timeout: float | None) -> RobotState:
        if self.connection_error:
            raise DriverConnectionError(f"{self.host}: {self.connection_error}")
        fb = self._wait_latest(timeout)
        q = np.array(fb["actual_q"])
        return RobotState(
            t=float(fb["timestamp"]),
            q=q,
            qd=np.array(fb["actual_qd"]),
            T_base_flange=self._fk(q),
            mode=_MODE.get(fb["robot_mode"], RobotMode.OTHER),
            safety=_SAFETY.get(fb["safety_mode"], SafetyStatus.FAULT),
            program_running=fb["runtime_state"] == 2,
            digital_in=int(fb["actual_digital_input_bits"]),
            digital_out=int(fb["actual_digital_output_bits"]),
            analog_in=np.array([fb["standard_analog_input0"], fb["standard_analog_input1"]]),
            analog_out=np.array([fb["standard_analog_output0"], fb["standard_analog_output1"]]),
            speed_fraction=float(fb["target_speed_fraction"]),
        )

    def _execute(self, handle: ExecutionHandle) -> None:
        fb = self._wait_latest(1.0)
        if fb["safety_mode"] not in (1, 2):
            raise DriverFaultError(
                f"{self.host}: robot is in {_SAFETY_NAMES.get(fb['safety_mode'])}: "
                f"{self._error_messages() or 'clear the stop first'}",
                error_code=_SAFETY_NAMES.get(fb["safety_mode"]),
            )
        if self._program_options is not None:
            self._start_program(handle, self._program_options)
            return
        st = self._stream
        # the servo program must run with the slice's TCP (set_tcp), so that the controller's TCP
        # speed limit watches the torch tip; a slice with another tool uploads it again
        tcp = tuple(round(float(x), 9) for x in models.pose_from_matrix(np.asarray(handle.traj.T_flange_tcp)))
        ready = (
            fb["runtime_state"] == 2
            and (st is None or fb[f"output_int_register_{sp.OUT_SESSION}"] == st.session)
            and fb[f"output_int_register_{sp.OUT_STATUS}"]
            in (sp.StreamStatus.FILLING, sp.StreamStatus.STOPPED, sp.StreamStatus.DONE)
            and self._program_tcp == tcp
        )
        if not ready:  # the program stopped (fault, watchdog, dashboard stop) or has another TCP: upload it
            self._stream = None
            self._session += 1
            self._reset_request = self._session  # applied to the window by the control thread
            time.sleep(3 * self.dt)
            self._upload_program(self.config.upload_timeout, tcp)
        self._pending = _Stream(handle, self.dt, 0, 0)

    def _stop(self, handle: ExecutionHandle) -> None:
        handle.stop_requested = True
        run = self._program
        if run is not None and run.handle is handle and not handle.done:
            self._stop_program(run)

    # --- program mode ---------------------------------------------------------------------
    def program_options(
        self,
        *,
        arc_timeout: float,
        arc_output: int | None = None,
        arc_input: int = 0,
        arc_registers: tuple[int, int] | None = None,
    ) -> UrExportOptions:
        """The options of the job program :meth:`execute_program` runs, from the cell's arc wiring.

        Args:
            arc_timeout: Longest wait of the program for arc established (and arc end) [s].
            arc_output: The power source is wired to the robot: the arc on this standard digital output
                and arc established on ``arc_input``.
            arc_input: Standard digital input "arc established" (with ``arc_output``).
            arc_registers: The cell switches the arc on its power source: the RTDE output and input bit
                registers (arc request, arc established) the program hands the arc over through; its
                PC watchdog is this driver's (``watchdog_hz``).

        Without ``arc_output`` and ``arc_registers`` the program runs with the arc disabled.
        """
        if arc_registers is not None:
            return UrExportOptions(
                arc_timeout=arc_timeout,
                arc_request_register=arc_registers[0],
                arc_established_register=arc_registers[1],
                pc_watchdog_hz=float(self.config.watchdog_hz) if self.config.watchdog_hz else None,
            )
        if arc_output is not None:
            return UrExportOptions(arc_do=arc_output, arc_di=arc_input, arc_timeout=arc_timeout)
        return UrExportOptions(arc_enabled=False)

    def execute_program(
        self,
        traj: JointTrajectory,
        *,
        traj_path: str | Path | None = None,
        force_unvalidated: bool = False,
        options: UrExportOptions | None = None,
    ) -> ExecutionHandle:
        """Run the whole trajectory as one URScript program on the controller; returns at once.

        The program is the one ``weldcell export --format urscript`` writes
        (:func:`~weldcell.drivers.ur.program.export.urscript_from_trajectory`): ``movej`` transits, a servoj
        table per weld with the arc output switched, and the arc-established wait, on the robot. The
        driver replaces its streaming servo program with it (the servo program is uploaded again
        by the next :meth:`execute`) and follows it through RTDE: progress is the trajectory sample
        nearest to ``actual_q``; the program ending at the last sample completes the handle, a
        safety stop or a program that ends elsewhere (halt, runtime error) faults it. ``stop()``
        replaces the program with ``stopj`` (arc output off).

        Args:
            traj: The trajectory; the robot must be at its first sample.
            traj_path: The trajectory file whose validation stamp certifies ``traj``.
            force_unvalidated: As in :meth:`execute` (refused on a real controller).
            options: Export options; default: arc output/input from the driver config.

        Returns:
            The handle of the whole trajectory ``[0, n_samples)``.

        Raises:
            StampError: no matching validation stamp.
            ExportError: the trajectory cannot be expressed as a program (limits, arc events).
            DriverError: as :meth:`execute`; DriverTimeoutError when the program does not start.
        """
        cfg = self.config
        opt = options or UrExportOptions(
            arc_do=cfg.arc_output if cfg.arc_output is not None else 0,
            arc_di=cfg.arc_established_input if cfg.arc_established_input is not None else 0,
        )
        if opt.progress_register is None:  # the driver follows the weld blocks in output int 33
            opt = dataclasses.replace(opt, progress_register=sp.OUT_BLOCK)
        self._program_options = opt
        try:  # the base class checks stamp, limits, start pose, then calls _execute -> _start_program
            return self.execute(traj, traj_path=traj_path, force_unvalidated=force_unvalidated)
        finally:
            self._program_options = None

    def _start_program(self, handle: ExecutionHandle, opt: UrExportOptions) -> None:
        try:
            # over the script port the controller runs a lone "def … end"; no trailing call
            script = urscript_from_trajectory(handle.traj, dataclasses.replace(opt, call_at_end=False))
            stop_script = (
                f"def weldcell_stop():\n  {arc_set(opt, False)}\n  stopj({opt.stop_acceleration:g})\nend\n"
            )
            run = _ProgramRun(handle, script, stop_script, max(50, round(0.5 / handle.traj.dt)), opt)
            timeout = self.config.upload_timeout
            # the servo program is given up: the next execute() finds it gone and uploads it again
            self._stream = None
            self._session += 1
            self._reset_request = self._session
            if self._wait_latest(1.0)["runtime_state"] == 2:
                self._send_script(stop_script, "the stop program")  # replaces the idle servo program
                self._wait_runtime(lambda rs: rs != 2, timeout, "the servo program did not stop")
            self._program = run
            # the speed slider scales every motion of the program (and so the weld's travel speed):
            # held at 100 % through RTDE for the whole run (speed_slider_mask = 1)
            self._write_program_inputs(slider_mask=1, slider_fraction=1.0, arc_established=False)
            self._send_script(script, "the weld program")
            self._wait_runtime(
                lambda rs: run.started or run.handle.done, timeout, "the weld program did not start"
            )
        except Exception as err:
            if not handle.done:
                handle._finish(ExecutionResult(ExecutionOutcome.FAULTED, handle.start_index, 0.0, str(err)))
            raise

    def _wait_runtime(self, cond: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fb = self._latest
            if fb is not None and cond(fb["runtime_state"]):
                return
            time.sleep(0.002)
        recent = [m for m, _, _ in self.controller_messages()[-3:]]
        raise DriverTimeoutError(
            f"{self.host}: {what} within {timeout} s; last controller messages: {recent or 'none'}"
        )

    def _stop_program(self, run: _ProgramRun) -> None:
        """Replace the running weld program by ``stopj`` with the arc output off (non-blocking)."""
        run.handle.stop_requested = True
        try:
            self._send_script(run.stop_script, "the stop program")
        except DriverConnectionError:
            if self.dashboard is None:
                raise
            self.dashboard.stop()  # abrupt, but the program does stop

    def _stop_quietly(self, run: _ProgramRun) -> None:
        try:
            self._stop_program(run)
        except DriverError as err:
            log.error("%s: stopping the weld program failed: %s", self.host, err)

    def _write_program_inputs(
        self,
        *,
        slider_mask: int | None = None,
        slider_fraction: float | None = None,
        arc_established: bool | None = None,
    ) -> None:
        """Queue the program-mode RTDE inputs (speed slider override, arc-established bit)."""
        with self._io_lock:
            v = self._program_values
            if slider_mask is not None:
                v[0] = slider_mask
            if slider_fraction is not None:
                v[1] = slider_fraction
            if arc_established is not None:
                v[2] = arc_established
            self._program_request = rp.pack_package(rp.DATA_PACKAGE, self._program_recipe.pack(list(v)))

    def set_arc_established(self, on: bool) -> None:
        """Write "arc established" to the job program (RTDE input bit register 64), for a program
        exported with ``arc_established_register`` (a fieldbus power source the PC talks to)."""
        self._write_program_inputs(arc_established=on)

    def program_block(self) -> int:
        """The running job program's weld block register (output int 33): k + 1 in weld block k,
        0 outside the welds, -1 once done (see ``UrExportOptions.progress_register``)."""
        return int(self._wait_latest(1.0)[_K_BLOCK])

    def program_arc_request(self) -> bool:
        """The job program's arc request in RTDE output bit register 64 (fieldbus power source)."""
        return bool(self._wait_latest(1.0)[_K_ARC_REQUEST])

    def _advance_program(self, run: _ProgramRun, fb: dict[str, Any]) -> None:
        """Update a program run from one RTDE output package (reader thread)."""
        h = run.handle
        safety = fb["safety_mode"]
        if safety != 1 and safety != 2:
            code = _SAFETY_NAMES.get(safety, safety)
            self._fail_stream(self._error_messages() or f"safety mode {code}", code)
            self._request_arc_off(run)
            return
        running = fb["runtime_state"] == 2
        if not run.started:
            run.started = running
            return
        in_weld = (
            fb[run.block_key] > 0
            if run.block_key is not None
            else bool(fb["actual_digital_output_bits"] & run.arc_bit)
        )
        if running and in_weld and fb["target_speed_fraction"] < 1.0 - 1e-6:
            # the slider scales the travel speed but not the power source's wire feed: a weld that
            # goes on slower is a different weld (undercut, excess fill); stop it, arc off
            h._finish(
                ExecutionResult(
                    ExecutionOutcome.FAULTED,
                    run.index,
                    float(run.index),
                    f"speed slider at {fb['target_speed_fraction'] * 100:.0f} % while the arc is on (program "
                    "mode holds it at 100 %: the travel speed would no longer match the weld procedure); "
                    "program stopped, arc off",
                    "speed_slider",
                )
            )
            self._request_arc_off(run)
            threading.Thread(
                target=self._stop_quietly, args=(run,), name="ur-program-stop", daemon=True
            ).start()
            return
        # nearest sample to actual_q in a forward window (vectorised; monotone by construction)
        lo = run.index
        hi = min(lo + run.window, h.end_index)
        d = np.square(run.q[lo:hi] - np.asarray(fb["actual_q"], dtype=np.float64)).sum(axis=1)
        k = lo + int(np.argmin(d))
        if k > run.index:
            run.index = k
            h._update(float(k))
        if running:
            return
        last = h.end_index - 1
        err = float(np.max(np.abs(run.q[last] - np.asarray(fb["actual_q"], dtype=np.float64))))
        if h.stop_requested:
            result = ExecutionResult(ExecutionOutcome.STOPPED, run.index, float(run.index), "stop requested")
        elif err < 1e-4 and run.index >= run.final_from - run.end_slack:
            # at the last pose, and progress reached the final move: the last motion command's target
            # is written with 6 decimals, so a sample just before the final rest can be the nearest
            result = ExecutionResult(ExecutionOutcome.COMPLETED, last, float(last))
        else:
            reason = self._error_messages() or "the weld program ended before the last sample"
            result = ExecutionResult(
                ExecutionOutcome.FAULTED, run.index, float(run.index), reason, "program_stopped"
            )
            self._request_arc_off(run)
        h._finish(result)

    def _set_digital_out(self, n: int, value: bool) -> None:
        with self._io_lock:
            self._io_values[0] = 1 << n
            self._io_values[1] = (1 << n) if value else 0
            self._io_request = self._io_package(
                [self._io_values[0], self._io_values[1], 0, *self._io_values[3:]]
            )

    def _set_analog_out(self, n: int, value: float) -> None:
        # value in V (voltage domain, 0-10 V); RTDE takes a ratio of the range plus the domain bit
        # (standard_analog_output_type bit n = 1: voltage), and reports the output back in V
        if not (math.isfinite(value) and 0.0 <= value <= ANALOG_OUT_MAX_V):
            raise DriverError(f"analog output {n} = {value} V: expected 0 ... {ANALOG_OUT_MAX_V:g} V")
        with self._io_lock:
            self._io_values[2] = 1 << n
            self._io_values[3] |= 1 << n
            self._io_values[4 + n] = value / ANALOG_OUT_MAX_V
            self._io_request = self._io_package([0, 0, *self._io_values[2:]])

    # --- UR extras ------------------------------------------------------------------------
    def set_arc(self, on: bool, timeout: float | None = 1.0) -> None:
        """Switch the configured arc output."""
        if self.config.arc_output is None:
            raise DriverError("no arc output configured (URDriverConfig.arc_output)")
        self.set_digital_out(self.config.arc_output, on, timeout)

    def arc_established(self, timeout: float | None = 1.0) -> bool:
        """State of the configured "arc established" input."""
        if self.config.arc_established_input is None:
            raise DriverError("no arc-established input configured (URDriverConfig.arc_established_input)")
        return self.get_digital_in(self.config.arc_established_input, timeout)

    def controller_messages(self) -> list[tuple[str, str, int]]:
        """Text messages received from the controller: (message, source, level 0-3)."""
        return list(self.rtde.messages) if self.rtde is not None else []
