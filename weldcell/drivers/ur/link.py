"""What both execution modes of the UR driver share: the driver state, the servo program upload, the
script port, the fault path and the controller's messages (:class:`URLink`, the base of
:class:`~weldcell.drivers.ur.driver.URDriver`)."""

from __future__ import annotations

import logging
import math
import queue
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from weldcell.drivers.base import (
    ExecutionOutcome,
    ExecutionResult,
    RobotDriver,
)
from weldcell.drivers.realtime import (
    LoopTimer,
)
from weldcell.drivers.ur.client import rtde_protocol as rp
from weldcell.drivers.ur.client.dashboard import DashboardClient
from weldcell.drivers.ur.client.rtde_client import RTDEClient
from weldcell.drivers.ur.program.export import UrExportOptions
from weldcell.drivers.ur.streaming import servo_program as sp
from weldcell.errors import (
    DriverConnectionError,
    DriverFaultError,
    DriverTimeoutError,
)

if TYPE_CHECKING:
    pass

from weldcell.drivers.ur.client.states import ROBOT_MODES
from weldcell.drivers.ur.config import URDriverConfig
from weldcell.drivers.ur.program.progress import ProgramRun
from weldcell.drivers.ur.streaming.window import Stream, TxWindow

log = logging.getLogger(__name__)


#: How fast the controller clock offset estimate may grow [s/s] (200 ppm: quartz drifts less).
_CLOCK_LEAK = 2e-4


class URLink(RobotDriver):
    """State and helpers of a UR connection shared by streaming and program mode (not used alone).

    Args:
        host: Controller address.
        config: Driver settings.
    """

    # RTDE input recipes of the connection (set by URDriver._connect)
    _stream_recipe: rp.Recipe
    _io_recipe: rp.Recipe
    _program_recipe: rp.Recipe

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
        self._stream: Stream | None = None
        self._pending: Stream | None = None
        self._program: ProgramRun | None = None
        self._program_options: UrExportOptions | None = None  # set while execute_program() runs
        self._session = 0
        self._tx: TxWindow | None = None
        self._reset_request: int | None = None  # session to idle the window with (control thread applies)
        self._io_values: list[Any] = [0, 0, 0, 0, 0.0, 0.0, 0, 0]  # IO_INPUTS
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

        # controller clock -> our monotonic clock: the least (arrival - timestamp) seen, leaking
        # upwards at _CLOCK_LEAK so a controller clock that drifts slower is followed
        self._clock_offset = math.inf
        self._clock_seen = 0.0

    def _track_clock(self, arrival: float, timestamp: float) -> None:
        """Refine the controller-to-host clock offset from one package (RTDE reader thread).

        A package arrives after the controller stamped it, never before: the smallest difference
        (arrival - ``timestamp``) is the offset plus the shortest transport delay. Delays (a loaded
        host, a late reader thread) only make the difference larger, so they do not disturb it.
        """
        offset = arrival - timestamp
        held = self._clock_offset + _CLOCK_LEAK * max(arrival - self._clock_seen, 0.0)
        self._clock_offset = min(offset, held)
        self._clock_seen = arrival

    def controller_time(self, timestamp: float) -> float | None:
        """The controller's RTDE ``timestamp`` [s] on this host's ``time.monotonic()`` clock (None
        before the first package)."""
        off = self._clock_offset
        return None if math.isinf(off) else timestamp + off

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
                f"(robot mode {ROBOT_MODES.get(fb['robot_mode'], fb['robot_mode'])}); "
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

    def _fail_stream(self, reason: str, code: str | int | None) -> None:
        for h in (
            self._stream.handle if self._stream is not None else None,
            self._program.handle if self._program is not None else None,
        ):
            if h is not None and not h.done:
                p = h.progress
                h._finish(ExecutionResult(ExecutionOutcome.FAULTED, p.index, p.position, reason, code))

    def _request_arc_off(self, run: ProgramRun | None = None) -> None:
        # a job program switches the arc on its own output (UrExportOptions.arc_do), a dry run on none
        n = self.config.arc_output if run is None else (None if run.dry else run.arc_do)
        if n is not None:
            with self._io_lock:
                v = self._io_values
                self._io_request = self._io_package([1 << n, 0, 0, v[3], v[4], v[5], 0, 0])

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

    def controller_messages(self) -> list[tuple[str, str, int]]:
        """Text messages received from the controller: (message, source, level 0-3)."""
        return list(self.rtde.messages) if self.rtde is not None else []
