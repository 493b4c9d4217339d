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

This module holds the connection, the reader thread, state and I/O and the choice of mode; the control
loop is :mod:`weldcell.drivers.ur.stream_mode`, program execution :mod:`weldcell.drivers.ur.program_mode`,
and what both share :mod:`weldcell.drivers.ur.link`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import socket
import threading
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from weldcell.drivers.base import (
    ExecutionHandle,
    ExecutionOutcome,
    ExecutionResult,
    IoCounts,
    RobotMode,
    RobotState,
    SafetyStatus,
)
from weldcell.drivers.realtime import (
    configure_thread,
)
from weldcell.drivers.ur.client.dashboard import DASHBOARD_PORT, DashboardClient
from weldcell.drivers.ur.client.rtde_client import RTDE_PORT, RTDEClient
from weldcell.drivers.ur.streaming import servo_program as sp
from weldcell.errors import (
    DriverConnectionError,
    DriverError,
    DriverFaultError,
    DriverTimeoutError,
)

if TYPE_CHECKING:
    from weldcell.drivers.url import RobotUrl

from weldcell.drivers.ur.client.states import ROBOT_MODES, SAFETY_MODE_NAMES, SAFETY_STATUS
from weldcell.drivers.ur.config import URDriverConfig as URDriverConfig
from weldcell.drivers.ur.config import URDriverConfigError as URDriverConfigError
from weldcell.drivers.ur.program.progress import PROGRAM_INPUTS
from weldcell.drivers.ur.program_mode import ProgramMode
from weldcell.drivers.ur.stream_mode import StreamingMode
from weldcell.drivers.ur.streaming.window import K_SESSION, STREAM_INPUTS, TxWindow, fresh_session

log = logging.getLogger(__name__)

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
_FLANGE = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # UR pose of the flange as TCP
ANALOG_OUT_MAX_V = 10.0  # UR standard analog outputs in voltage mode: 0-10 V
IO_INPUTS = [
    "standard_digital_output_mask",
    "standard_digital_output",
    "standard_analog_output_mask",
    "standard_analog_output_type",
    "standard_analog_output_0",
    "standard_analog_output_1",
    "configurable_digital_output_mask",
    "configurable_digital_output",
]


class URDriver(StreamingMode, ProgramMode):
    """Driver for a UR controller (real or virtual) over RTDE, Dashboard and the script port.

    Args:
        host: Controller address.
        config: Driver settings.
    """

    url_form: ClassVar[str] = "ur://HOST[:RTDE_PORT]"
    #: The controller's I/O as RTDE addresses it (UR RTDE guide: ``standard_digital_output`` 0-7 and
    #: ``configurable_digital_output`` 8-15; ``actual_digital_input_bits`` 0-7 standard, 8-15
    #: configurable; ``standard_analog_output_0/1``, ``standard_analog_input0/1``). Tool I/O is not used.
    IO: ClassVar[IoCounts] = IoCounts(digital_out=16, digital_in=16, analog_out=2, analog_in=2)
    driver_options: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "power_on": "power on and release the brakes through the dashboard at connect (bool)",
            "dashboard_port": f"dashboard server port (default {DASHBOARD_PORT})",
            "script_port": "port the servo program is sent to (default 30002)",
        }
    )

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

    def __repr__(self) -> str:
        return f"URDriver({self.host!r})"

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
            tx = TxWindow(self._stream_recipe)
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
        self._session = fresh_session()
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
            held = {fb[K_SESSION], fb[f"output_int_register_{sp.OUT_INSTANCE}"]}
            while self._session in held or self._session - 1 in held:  # ids the controller shows
                self._session = fresh_session()
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
            self._track_clock(time.monotonic(), float(out["timestamp"]))
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
            mode=ROBOT_MODES.get(fb["robot_mode"], RobotMode.OTHER),
            safety=SAFETY_STATUS.get(fb["safety_mode"], SafetyStatus.FAULT),
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
                f"{self.host}: robot is in {SAFETY_MODE_NAMES.get(fb['safety_mode'])}: "
                f"{self._error_messages() or 'clear the stop first'}",
                error_code=SAFETY_MODE_NAMES.get(fb["safety_mode"]),
            )
        if self._program_options is not None:
            self._start_program(handle, self._program_options)
            return
        self._start_stream(handle, fb)

    def _stop(self, handle: ExecutionHandle) -> None:
        handle.stop_requested = True
        run = self._program
        if run is not None and run.handle is handle and not handle.done:
            self._stop_program(run)

    def _set_digital_out(self, n: int, value: bool) -> None:
        # standard outputs 0-7 and configurable outputs 8-15 (one mask + value pair each, IO_INPUTS)
        pair = 0 if n < 8 else 6
        bit = 1 << (n - 8 if pair else n)
        with self._io_lock:
            values = [0, 0, 0, *self._io_values[3:6], 0, 0]
            values[pair], values[pair + 1] = bit, bit if value else 0
            self._io_values[pair], self._io_values[pair + 1] = values[pair], values[pair + 1]
            self._io_request = self._io_package(values)

    def _set_analog_out(self, n: int, value: float) -> None:
        # value in V (voltage domain, 0-10 V); RTDE takes a ratio of the range plus the domain bit
        # (standard_analog_output_type bit n = 1: voltage), and reports the output back in V
        if not (math.isfinite(value) and 0.0 <= value <= ANALOG_OUT_MAX_V):
            raise DriverError(f"analog output {n} = {value} V: expected 0 ... {ANALOG_OUT_MAX_V:g} V")
        with self._io_lock:
            self._io_values[2] = 1 << n
            self._io_values[3] |= 1 << n
            self._io_values[4 + n] = value / ANALOG_OUT_MAX_V
            self._io_request = self._io_package([0, 0, *self._io_values[2:6], 0, 0])

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
