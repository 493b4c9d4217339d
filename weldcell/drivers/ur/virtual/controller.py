"""Virtual UR controller: RTDE, Dashboard and URScript servers around a simulated arm, in its own process.

Start it with :func:`start_virtual_controller` (tests, demo) or ``weldcell controller ur`` (CLI). It
binds 127.0.0.1 by default; any loopback alias 127.0.0.N works, which lets several controllers use
the fixed ports ur_rtde needs (RTDE 30004, Dashboard 29999) at the same time. Ports can be changed
(0 = ephemeral) when only weldcell's own clients talk to it.

Servers:

* RTDE (30004): protocol v1 and v2, the full field table of the advertised version (unknown fields
  are ``NOT_FOUND``, inputs owned by another connection ``IN_USE``), input recipe ids from 1 per
  connection, input packages applied even before START, output packages at the requested
  frequency (decimated from 500 Hz e-Series / 125 Hz CB3), controller messages as TEXT_MESSAGE
  packages to started v2 clients.
* Dashboard (29999): the e-Series command set with the controller's exact reply strings, plus
  test commands prefixed ``weldcell`` (fault injection, see :data:`TEST_COMMANDS`).
* Script ports (30001 primary, 30002 secondary, 30003 real-time): URScript text; ``def`` programs
  replace the running program, ``sec`` programs run at once without motion, single lines run as
  one-line programs. Errors go out as RTDE text messages. (The ports accept scripts only; they do
  not stream primary/real-time state packages.)

The controller's state lives in :class:`~weldcell.drivers.ur.virtual.core.ControllerCore`.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing as mp
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from weldcell.drivers.bind import check_bind_address
from weldcell.drivers.realtime import PROCESS_REALTIME, RealtimeConfig, configure_thread
from weldcell.drivers.ur.virtual.core import (
    ControllerCore,
    CoreConfig,
)
from weldcell.drivers.ur.virtual.dashboard_server import DashboardServer
from weldcell.drivers.ur.virtual.net import (
    CYCLE_PRIORITY,
    MAX_LAG_CYCLES,
    SERVER_PRIORITY,
    RateLimitedLog,
    server_thread_setup,
)
from weldcell.drivers.ur.virtual.rtde_server import RTDEServer
from weldcell.drivers.ur.virtual.script_server import ScriptServer
from weldcell.drivers.ur.virtual.urscript.syntax import warm_parser
from weldcell.errors import DriverConnectionError, DriverTimeoutError
from weldcell.kinematics.safety import SafetyLimits

log = logging.getLogger(__name__)

#: Process settings while a controller runs: only the GIL switch interval (see VirtualController.start).
_SWITCH_ONLY = RealtimeConfig(
    fifo_priority=None, reader_fifo_priority=None, gc="on", switch_interval=0.0005, timer_slack=None
)


class CycleTiming:
    """Lateness of the controller's cycles: how long after its due time each cycle started.

    The cycle thread records one value per cycle (preallocated ring, no allocation); any thread
    may read :meth:`summary` (a torn read of the ring only mixes two neighbouring samples).

    Args:
        cycle: Controller cycle [s].
        history: Number of cycles kept for the percentiles (65,536: 131 s at 500 Hz).
    """

    def __init__(self, cycle: float, history: int = 1 << 16) -> None:
        self.cycle = cycle
        self._late = np.zeros(history)
        self.n = 0
        #: cycles that started more than one cycle after their due time
        self.late_cycles = 0
        #: largest lateness since start [s]
        self.max_late = 0.0
        self._reset = False

    def reset(self) -> None:
        """Restart the statistics (applied by the cycle thread at its next cycle)."""
        self._reset = True

    def record(self, late: float) -> None:
        """Record the lateness [s] of the cycle starting now."""
        if self._reset:  # the recording thread is the only writer
            self._reset = False
            self.n = self.late_cycles = 0
            self.max_late = 0.0
        self._late[self.n % self._late.shape[0]] = late
        self.n += 1
        if late > self.cycle:
            self.late_cycles += 1
        if late > self.max_late:
            self.max_late = late

    def summary(self) -> dict[str, float | int]:
        """Cycle count, late cycles and lateness percentiles [s] of the last ``history`` cycles."""
        n = min(self.n, self._late.shape[0])
        window = self._late[:n] if n else np.zeros(1)
        p50, p99, p999 = (float(v) for v in np.percentile(window, [50.0, 99.0, 99.9]))
        return {
            "cycles": self.n,
            "late_cycles": self.late_cycles,
            "lateness_p50_s": p50,
            "lateness_p99_s": p99,
            "lateness_p99_9_s": p999,
            "lateness_max_s": self.max_late,
        }


@dataclass(frozen=True)
class Ports:
    """TCP ports of the virtual controller (0 = pick a free port)."""

    rtde: int = 30004
    dashboard: int = 29999
    primary: int = 30001
    secondary: int = 30002
    realtime: int = 30003


# --- the controller ------------------------------------------------------------------------------


class VirtualController:
    """All servers plus the cycle thread, in the current process (see :func:`start_virtual_controller`).

    Args:
        host: Address to bind (127.0.0.1 or another 127.0.0.N).
        config: Controller configuration.
        ports: TCP ports (0 = ephemeral).
        program_dir: The controller's program folder: dashboard ``load`` reads only files inside it
            (default: the current working directory).
        allow_remote: Allow a non-loopback ``host`` (anyone who reaches it can run programs).
        cycle_priority: ``SCHED_FIFO`` priority of the cycle thread (None: ordinary scheduling;
            without permission it silently stays ordinary).
        server_priority: ``SCHED_FIFO`` priority of the server threads (accept loops and one
            thread per connection), below ``cycle_priority``; None (default in-process) keeps them
            ordinary. :func:`start_virtual_controller` runs the controller in its own process with
            :data:`CYCLE_PRIORITY` and :data:`SERVER_PRIORITY`, so that no thread holding the
            process's GIL is preempted by ordinary load while the cycle waits for it.

    Raises:
        DriverConnectionError: a non-loopback ``host`` without ``allow_remote``, a missing program
            folder, or a port that cannot be bound.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        config: CoreConfig | None = None,
        ports: Ports | None = None,
        program_dir: Path | None = None,
        allow_remote: bool = False,
        cycle_priority: int | None = 5,
        server_priority: int | None = None,
    ) -> None:
        check_bind_address(host, allow_remote, "virtual UR controller", option="host")
        self.cycle_priority = cycle_priority
        self.server_priority = server_priority
        if program_dir is not None and not Path(program_dir).is_dir():
            raise DriverConnectionError(
                f"virtual UR controller program folder {program_dir}: not found or not a folder"
            )
        self.host = host
        self.config = config or CoreConfig()
        ports = ports or Ports()
        self._stop = threading.Event()
        self.core = ControllerCore(self.config, message_sink=self._on_message)
        warm_parser()  # the URScript parser's tables, before the first program arrives
        self.rtde: RTDEServer | None = None
        servers: list[Any] = []
        try:
            self.rtde = RTDEServer(self.core, host, ports.rtde, server_priority)
            servers.append(self.rtde)
            self.dashboard = DashboardServer(
                self.core, host, ports.dashboard, program_dir, self._stop.set, server_priority
            )
            servers.append(self.dashboard)
            self.scripts = []
            for name, port in (
                ("primary", ports.primary),
                ("secondary", ports.secondary),
                ("realtime", ports.realtime),
            ):
                s = ScriptServer(self.core, host, port, name, server_priority)
                servers.append(s)
                self.scripts.append(s)
        except Exception:
            for s in servers:
                s.close()
            raise
        self.ports = Ports(self.rtde.port, self.dashboard.port, *(s.port for s in self.scripts))
        rtde = self.rtde
        #: lateness of every cycle (``weldcell state``: ``cycle_timing``)
        self.timing = CycleTiming(self.core.cycle)
        timing = self.timing
        self.dashboard.extra_state = lambda: {
            "rtde_clients": rtde.n_clients,
            "cycle_timing": timing.summary(),
        }
        self.dashboard.reset_timing = timing.reset
        self._thread = threading.Thread(target=self._loop, name="controller-cycle", daemon=True)
        self._realtime = False

    def _on_message(self, text: str, source: str, level: int) -> None:
        if self.rtde is not None:
            self.rtde.queue_message(text, source, level)

    def start(self) -> None:
        """Start the cycle thread.

        While the controller runs, the interpreter's thread switch interval is 0.5 ms (CPython's
        default 5 ms would let a busy thread of this process, e.g. one compiling an uploaded program,
        hold the GIL for 5 ms while the 2 ms cycle waits for it).
        """
        PROCESS_REALTIME.acquire(_SWITCH_ONLY)
        self._realtime = True
        self._thread.start()

    def _loop(self) -> None:
        """The controller cycle: step the core, hand the RTDE packages to the clients' queues.

        Each cycle's lateness (start after its due time) goes to :attr:`timing`. Nothing here
        blocks on a client. When the thread falls more than :data:`MAX_LAG_CYCLES`
        behind (overloaded machine), the missed cycles are skipped the way a real controller skips
        RTDE packages: the clock (``timestamp``) jumps to real time, ``missed_cycles`` counts them
        (Dashboard ``weldcell state``) and a log line reports them (at most once per second).
        """
        core = self.core
        cycle = core.cycle
        rtde = self.rtde
        assert rtde is not None  # mypy
        if self.cycle_priority is not None:
            # like the real controller's real-time task: ahead of ordinary processes where permitted
            for note in configure_thread(self.cycle_priority, timer_slack=1e-6):
                log.debug("virtual UR controller cycle thread: %s", note)
        next_t = time.monotonic()
        skipped_log = RateLimitedLog()
        error_log = RateLimitedLog()
        timing = self.timing
        while not self._stop.is_set():
            due_at = next_t
            next_t += cycle
            try:
                with core.lock:
                    timing.record(time.monotonic() - due_at)  # when the cycle really runs
                    core.step()
                    due = rtde.collect(core.cycles)
                rtde.deliver(due)
            except Exception:  # the cycle must go on whatever one step did (the error is logged)
                error_log(logging.ERROR, "virtual UR controller cycle failed:\n%s", _format_exc())
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                time.sleep(5e-5)  # behind: still yield the CPU and the GIL once per cycle
            if delay < -MAX_LAG_CYCLES * cycle:
                lost = int(-delay / cycle)
                next_t += lost * cycle
                with core.lock:
                    core.time += lost * cycle
                    core.missed_cycles += lost
                    total = core.missed_cycles
                skipped_log(
                    logging.WARNING,
                    "virtual UR controller %.1f ms behind: skipped %d cycles (%d in total); "
                    "timestamp kept on real time",
                    -delay * 1e3,
                    lost,
                    total,
                )

    def wait(self, timeout: float | None = None) -> bool:
        """Block until shut down (dashboard ``shutdown`` or :meth:`close`); True if it stopped."""
        return self._stop.wait(timeout)

    def close(self) -> None:
        """Stop the cycle thread and close every server socket."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        if self._realtime:
            self._realtime = False
            PROCESS_REALTIME.release()
        if self.rtde is not None:
            self.rtde.close()
        self.dashboard.close()
        for s in self.scripts:
            s.close()

    def __enter__(self) -> VirtualController:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _format_exc() -> str:
    import traceback

    return traceback.format_exc(limit=8)


def _child_main(
    host: str,
    config: dict[str, Any],
    ports: dict[str, int],
    program_dir: str | None,
    ready: Any,
    stop: Any,
    log_level: int,
    allow_remote: bool = False,
) -> None:
    logging.basicConfig(level=log_level)
    # this process is the controller: let the cycle thread get the GIL back quickly from busy
    # connection threads (CPython's default switch interval is 5 ms, 2.5 controller cycles)
    sys.setswitchinterval(0.0005)
    try:
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
        if isinstance(kwargs.get("safety"), dict):
            limits = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs["safety"].items()}
            kwargs["safety"] = SafetyLimits(**limits)  # type: ignore[arg-type]
        cfg = CoreConfig(**kwargs)
        vc = VirtualController(
            host,
            cfg,
            Ports(**ports),
            Path(program_dir) if program_dir else None,
            allow_remote=allow_remote,
            cycle_priority=CYCLE_PRIORITY,
            server_priority=SERVER_PRIORITY,
        )
    except Exception as err:
        ready.put(("error", f"{err}"))
        return
    # the main thread wakes up every 0.1 s: it must not hold the GIL preempted either
    server_thread_setup(SERVER_PRIORITY)
    # everything built so far (numpy, the kinematics, the URScript parser tables) lives as long as
    # the process: out of the collector's sight, a full collection no longer walks it while the
    # cycle waits for the GIL (the collector still runs over what is made from now on)
    gc.freeze()
    vc.start()
    ready.put(("ok", asdict(vc.ports)))
    try:
        while not stop.wait(0.1) and not vc.wait(0.0):
            pass
    finally:
        vc.close()


@dataclass
class VirtualControllerHandle:
    """A virtual controller running in a child process. ``stop()`` ends it; ``kill()`` kills it."""

    host: str
    ports: Ports
    process: Any
    _stop: Any = field(repr=False)

    @property
    def pid(self) -> int:
        """Process id of the controller."""
        return int(self.process.pid)

    def is_alive(self) -> bool:
        """True while the controller process runs."""
        return bool(self.process.is_alive())

    def stop(self, timeout: float = 5.0) -> None:
        """Shut the controller down (idempotent); kills it if it does not exit within ``timeout`` [s]."""
        if self.process.is_alive():
            self._stop.set()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)

    def kill(self) -> None:
        """Kill the controller process at once (simulates a controller crash / power loss)."""
        self.process.kill()
        self.process.join(2.0)

    def __enter__(self) -> VirtualControllerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_virtual_controller(
    host: str = "127.0.0.1",
    config: CoreConfig | None = None,
    ports: Ports | None = None,
    program_dir: Path | str | None = None,
    timeout: float = 20.0,
    log_level: int = logging.WARNING,
    allow_remote: bool = False,
) -> VirtualControllerHandle:
    """Start a virtual UR controller in its own process and wait until it listens.

    The process holds nothing but the controller: its cycle thread never shares a GIL with a
    driver, and it runs under ``SCHED_FIFO`` :data:`CYCLE_PRIORITY` with the server threads at
    :data:`SERVER_PRIORITY` (where the OS permits; ordinary scheduling otherwise). Its cycle timing
    is in the Dashboard's ``weldcell state`` (``cycle_timing``, ``missed_cycles``).

    Args:
        host: Loopback address to bind, e.g. ``"127.0.0.1"`` or ``"127.0.0.5"``.
        config: Controller configuration (arm, advertised version, ...).
        ports: TCP ports; 0 picks free ports (see ``handle.ports`` for the chosen ones).
        program_dir: Directory for dashboard ``load``.
        timeout: Start-up timeout [s].
        log_level: Logging level inside the controller process.
        allow_remote: Allow a non-loopback ``host``.

    Raises:
        DriverConnectionError: the ports are taken or the address cannot be bound.
        DriverTimeoutError: the process did not report ready within ``timeout``.
    """
    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    stop = ctx.Event()
    cfg = asdict(config or CoreConfig())
    proc = ctx.Process(
        target=_child_main,
        args=(
            host,
            cfg,
            asdict(ports or Ports()),
            str(program_dir) if program_dir else None,
            ready,
            stop,
            log_level,
            allow_remote,
        ),
        name=f"virtual-ur-{host}",
        daemon=True,
    )
    proc.start()
    try:
        status, info = ready.get(timeout=timeout)
    except Exception as err:
        proc.kill()
        proc.join(1.0)
        raise DriverTimeoutError(f"virtual UR controller on {host} did not start within {timeout} s") from err
    if status != "ok":
        proc.join(2.0)
        raise DriverConnectionError(f"virtual UR controller on {host} failed to start: {info}")
    return VirtualControllerHandle(host, Ports(**info), proc, stop)
