"""The virtual KRC in its own process (``weldcell demo --robot kuka``, tests of whole cell runs).

A KRC in the cell's process would share the GIL with the RSI driver it talks to and with the cell's
supervision loop; in a child process its 4 ms clock is independent of them, as a real controller's
is. :func:`virtual_krc_process` starts the child, which builds the :class:`VirtualKrc` (its socket
bound, no telegram sent yet) and waits: :meth:`KrcProcess.go` starts RSI, the way an operator
starts the KRL program once the sensor listens. :meth:`KrcProcess.stop` ends it and returns the
final :class:`KrcStatus`, :meth:`KrcProcess.close` reaps the child; a child whose parent dies stops
by itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing as mp
import os
import queue
from collections.abc import Iterator
from typing import Any

from weldcell.drivers.kuka.virtual_krc import KrcConfig, KrcStatus, VirtualKrc
from weldcell.errors import DriverConnectionError, WeldcellError


def _krc_main(config: KrcConfig, go: Any, stop: Any, out: Any, log_level: int) -> None:
    """Child process: build the KRC, wait for ``go``, run until ``stop``, break-off or parent death."""
    logging.basicConfig(level=log_level)
    parent = os.getppid()
    try:
        krc = VirtualKrc(config)
    except WeldcellError as err:
        out.put(("error", str(err)))
        return
    out.put(("ready", krc.address))
    try:
        while not go.wait(0.05):
            if stop.is_set() or os.getppid() != parent:
                return
        krc.start()
        while not stop.wait(0.05) and os.getppid() == parent:
            if krc.done.is_set():
                break  # RSI broke off (timeout, limit switch): the controller stops sending
    finally:
        status = krc.stop()
        out.put(("status", dataclasses.asdict(status)))


class KrcProcess:
    """Handle of a virtual KRC child process (see :func:`virtual_krc_process`)."""

    def __init__(self, proc: Any, go: Any, stop: Any, out: Any, address: tuple[str, int]) -> None:
        self._proc = proc
        self._go = go
        self._stop = stop
        self._out = out
        self._final: KrcStatus | None = None
        #: The controller's source address (host, ephemeral port) its telegrams come from.
        self.address = address

    def go(self) -> None:
        """Start RSI: the first ``<Rob>`` telegram leaves within a cycle."""
        self._go.set()

    @property
    def alive(self) -> bool:
        """True while the child process runs."""
        return bool(self._proc.is_alive())

    def kill(self) -> None:
        """Kill the child at once (a controller that goes silent without a word)."""
        self._proc.kill()
        self._proc.join(2.0)

    def stop(self, timeout: float = 5.0) -> KrcStatus | None:
        """Stop sending telegrams; returns the final counters (None when the child died without them).

        Returns as soon as the counters arrive; :meth:`close` (or leaving the context) reaps the child.
        """
        if self._final is not None:
            return self._final
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                kind, data = self._out.get(timeout=timeout if self._proc.is_alive() else 0.2)
                if kind == "status":
                    self._final = KrcStatus(**data)
                    break
        return self._final

    def close(self, timeout: float = 5.0) -> None:
        """Stop (if running) and wait for the child to exit; kill it if it does not."""
        self.stop(timeout)
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(2.0)


@contextlib.contextmanager
def virtual_krc_process(
    config: KrcConfig, *, start_timeout: float = 30.0, log_level: int = logging.WARNING
) -> Iterator[KrcProcess]:
    """Run a :class:`VirtualKrc` in a child process (spawned); yields its handle, waiting for ``go()``.

    Args:
        config: Controller settings (sensor address, cycle, start pose, arc loopback, ...).
        start_timeout: Longest wait for the child to be ready [s].
        log_level: Logging level in the child (its break-off message is also in the final status).

    Raises:
        DriverConnectionError: the child did not start, or rejected the configuration.
    """
    ctx = mp.get_context("spawn")
    go, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(
        target=_krc_main, args=(config, go, stop, out, log_level), name="virtual-krc", daemon=True
    )
    proc.start()
    handle: KrcProcess | None = None
    try:
        try:
            kind, info = out.get(timeout=start_timeout)
        except queue.Empty as err:
            raise DriverConnectionError(f"the virtual KRC did not start within {start_timeout} s") from err
        if kind != "ready":
            raise DriverConnectionError(f"the virtual KRC did not start: {info}")
        handle = KrcProcess(proc, go, stop, out, (str(info[0]), int(info[1])))
        yield handle
    finally:
        if handle is not None:
            handle.close()
        else:
            stop.set()
            proc.join(5.0)
            if proc.is_alive():
                proc.kill()
                proc.join(2.0)
