"""Child processes of a virtual cell: the virtual positioner (:func:`virtual_positioner_process`) and
the virtual Modbus power source in its own process
(:func:`virtual_power_source_process`, :func:`virtual_power_source_child`; with touch sensing its
contact sensor sees the part, :mod:`weldcell.cell.touchscene`), started with SIGINT ignored
(:func:`children_ignore_sigint`) so that Ctrl-C reaches the cell, which stops robot and arc before the
parent stops the children."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from weldcell.cell.positioner_cell import device_axes
from weldcell.drivers.controller_process import controller_process, wait_until_ready
from weldcell.drivers.positioner.servo import ServoConfig
from weldcell.drivers.positioner.virtual import (
    DEVICE_PRIORITY,
    VirtualPositioner,
    VirtualPositionerConfig,
    counters_from_dict,
)
from weldcell.drivers.realtime import configure_thread
from weldcell.errors import DriverConnectionError, WeldcellError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from weldcell.cell.touchscene import TouchScene
    from weldcell.drivers.positioner.base import AxisSpec
    from weldcell.trajectory import ExternalAxes


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _psu_main(
    host: str, port: int, stop: Any, ready: Any, touch: TouchScene | None = None, feeds: Any = None
) -> None:
    """Child process: the virtual power source until ``stop`` is set or the parent dies; with
    ``touch``, its contact sensor sees the (displaced) part and the robot's actual joints (the joint
    feed given in ``touch``, or later as ``(joint_feed, robot_url)`` on the ``feeds`` queue, each
    answered on ``ready`` with ``("attached", "")`` or ``("error", message)``)."""

    import gc

    from weldcell.drivers.powersource.virtual import PSU_PRIORITY, start_virtual_power_source

    parent = os.getppid()

    # real-time threads where permitted: the heartbeat's round trips must not wait for a CPU, and
    # this thread (waking every 50 ms) must not hold the GIL preempted while the server waits for it
    _realtime_main_thread(PSU_PRIORITY, "virtual power source")
    try:
        handle = start_virtual_power_source(host, port, fifo_priority=PSU_PRIORITY)
    except WeldcellError as err:
        ready.put(("error", str(err)))
        return
    gc.freeze()  # start-up objects live as long as the process: no full collection walks them
    runtime = None
    try:
        if touch is not None:
            from weldcell.cell.touchscene import TouchSceneRuntime, install_touch_scene

            runtime = (
                install_touch_scene(handle.model, touch) if touch.robot_url else TouchSceneRuntime(touch)
            )
    except WeldcellError as err:
        handle.stop()
        ready.put(("error", f"touch sensing: {err}"))
        return
    ready.put(("ok", handle.address[1]))
    try:
        while not stop.wait(0.05) and handle.running and os.getppid() == parent:
            if feeds is None or runtime is None or feeds.empty():
                continue
            joint_feed, robot_url = feeds.get()
            try:
                runtime.attach(handle.model, joint_feed, robot_url)
            except WeldcellError as err:
                ready.put(("error", f"touch sensing: {err}"))
            else:
                ready.put(("attached", ""))
    finally:
        handle.stop()
        if runtime is not None:
            runtime.close()


def _realtime_main_thread(priority: int, what: str) -> None:
    """Put a child's main thread under ``SCHED_FIFO`` ``priority`` (where permitted; a debug line
    says what was applied): it polls for the stop request and would otherwise hold the process's
    GIL preempted by ordinary processes while the device's real-time server thread waits for it."""
    for note in configure_thread(priority):
        log.debug("%s main thread: %s", what, note)


def _realtime_positioner(config: VirtualPositionerConfig) -> VirtualPositioner:
    """Build the virtual positioner in its child process with the main thread real-time too."""
    if config.fifo_priority is not None:
        _realtime_main_thread(config.fifo_priority, "virtual positioner")
    return VirtualPositioner(config)


@contextlib.contextmanager
def children_ignore_sigint() -> Iterator[None]:
    """Start child processes with SIGINT ignored: Ctrl-C reaches the whole process group, but the
    children must stay up until the cell has stopped the robot and the arc; the parent stops them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class VirtualPowerSourceProcess:
    """The virtual power source's child process (:func:`virtual_power_source_process`).

    Attributes:
        host: Its loopback address.
        timeout: Longest wait for it to start or to attach a joint feed [s].
    """

    host: str
    timeout: float
    _proc: Any
    _ready: Any
    _feeds: Any
    _stop: Any
    _url: str = ""

    @property
    def url(self) -> str:
        """``modbus://HOST:PORT`` once it listens (waits for the start).

        Raises:
            DriverConnectionError: it did not start within ``timeout``, or failed to.
        """
        if not self._url:
            status, info = self._reply("start")
            if status != "ok":
                raise DriverConnectionError(f"virtual power source failed to start: {info}")
            self._url = f"modbus://{self.host}:{info}"
        return self._url

    def attach(self, joint_feed: str, robot_url: str) -> None:
        """Give its touch sensing the robot's joint feed (the scene was handed at the start).

        Raises:
            DriverConnectionError: the feed did not connect (the message says why).
        """
        _ = self.url
        self._feeds.put((joint_feed, robot_url))
        status, info = self._reply("attach the robot's joint feed")
        if status != "attached":
            raise DriverConnectionError(f"virtual power source: {info}")

    def _reply(self, what: str) -> tuple[str, Any]:
        # a spawned child's imports take tens of seconds on a loaded machine; one that dies is
        # reported at once (wait_until_ready)
        status, info = wait_until_ready(
            self._proc, self._ready, self.timeout, f"virtual power source ({what})"
        )
        return str(status), info

    def stop(self) -> None:
        """Stop the child (and its joint feed)."""
        self._stop.set()
        self._proc.join(5.0)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(2.0)


@contextlib.contextmanager
def virtual_power_source_child(
    host: str, timeout: float = 120.0, touch: TouchScene | None = None
) -> Iterator[VirtualPowerSourceProcess]:
    """Start the virtual Modbus power source in a child process without waiting for it (so that it
    loads while other devices start); its :attr:`~VirtualPowerSourceProcess.url` waits.

    ``touch``: the part for touch sensing (:mod:`weldcell.cell.touchscene`); its joint feed either in
    the scene or attached later (:meth:`VirtualPowerSourceProcess.attach`). None: the wire touches
    nothing.
    """
    ctx = mp.get_context("spawn")
    stop, ready, feeds = ctx.Event(), ctx.Queue(), ctx.Queue()
    port = _free_port(host)
    proc = ctx.Process(
        target=_psu_main, args=(host, port, stop, ready, touch, feeds), name="virtual-psu", daemon=True
    )
    with children_ignore_sigint():
        proc.start()
    child = VirtualPowerSourceProcess(host, timeout, proc, ready, feeds, stop)
    try:
        yield child
    finally:
        child.stop()


@contextlib.contextmanager
def virtual_power_source_process(
    host: str, timeout: float = 120.0, touch: TouchScene | None = None
) -> Iterator[str]:
    """Run the virtual Modbus power source in a child process; yields its ``modbus://`` URL.

    ``touch``: the part and the robot's joint feed for touch sensing
    (:mod:`weldcell.cell.touchscene`); None: the wire touches nothing.
    """
    with virtual_power_source_child(host, timeout, touch) as child:
        yield child.url


@contextlib.contextmanager
def virtual_positioner_process(
    external: ExternalAxes,
    host: str = "127.0.0.1",
    *,
    axes: tuple[AxisSpec, ...] | None = None,
    watchdog: float = 0.5,
    response_delay: float = 0.0,
) -> Iterator[tuple[str, Any]]:
    """Run the virtual positioner for ``external`` in a child process; yields (URL, process handle).

    Args:
        external: The trajectory's external axes (the device stands at their first sample).
        host: Address to listen on.
        axes: The device's axes (default: from the device's URDF, :func:`device_axes`).
        watchdog: The device's default watchdog time [s].
        response_delay: Extra drive delay [s] (a sluggish drive, for fault tests).
    """
    specs = axes if axes is not None else device_axes(external)
    cfg = VirtualPositionerConfig(
        ServoConfig(specs, watchdog=watchdog, response_delay=response_delay),
        host=host,
        q0=tuple(float(v) for v in external.q[0]),
        fifo_priority=DEVICE_PRIORITY,
        freeze_gc=True,
    )
    with controller_process(
        _realtime_positioner,
        cfg,
        status=counters_from_dict,
        what="the virtual positioner",
        name="virtual-positioner",
        autostart=True,
    ) as proc:
        h, p = proc.address
        yield f"modbus-positioner://{h}:{p}", proc
