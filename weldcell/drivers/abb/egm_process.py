"""The virtual ABB controller in its own process (``weldcell demo --robot abb``, tests of whole cell runs).

A controller in the cell's process would share the GIL with the EGM driver it talks to and with the
cell's supervision loop; in a child process its 4 ms sample clock is independent of them, as a real
controller's is. :func:`virtual_egm_process` starts the child, which builds the :class:`VirtualEgm`
(its socket bound, nothing sent yet) and waits: :meth:`EgmProcess.go` starts the EGM session, the way
an operator starts the RAPID program (``EGMRunJoint``) once the sensor listens. :meth:`EgmProcess.stop`
ends it and returns the final :class:`VirtualEgmStatus`; :meth:`EgmProcess.close` reaps the child. A
child whose parent dies stops by itself.
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

from weldcell.drivers.abb.virtual_egm import VirtualEgm, VirtualEgmConfig, VirtualEgmStatus
from weldcell.errors import DriverConnectionError, WeldcellError


def _egm_main(config: VirtualEgmConfig, go: Any, stop: Any, out: Any, log_level: int) -> None:
    """Child process: build the controller, wait for ``go``, run until ``stop``, session end, parent exit."""
    logging.basicConfig(level=log_level)
    parent = os.getppid()
    try:
        ctrl = VirtualEgm(config)
    except WeldcellError as err:
        out.put(("error", str(err)))
        return
    out.put(("ready", ctrl.address))
    try:
        while not go.wait(0.05):
            if stop.is_set() or os.getppid() != parent:
                return
        ctrl.start()
        while not stop.wait(0.05) and os.getppid() == parent:
            if ctrl.done.is_set():
                break  # the EGM session ended (CommTimeout, reference out of bounds)
    finally:
        status = ctrl.stop()
        out.put(("status", dataclasses.asdict(status)))


class EgmProcess:
    """Handle of a virtual ABB controller child process (see :func:`virtual_egm_process`)."""

    def __init__(self, proc: Any, go: Any, stop: Any, out: Any, address: tuple[str, int]) -> None:
        self._proc = proc
        self._go = go
        self._stop = stop
        self._out = out
        self._final: VirtualEgmStatus | None = None
        #: The controller's source address (host, ephemeral port) its EgmRobot messages come from.
        self.address = address

    def go(self) -> None:
        """Start the EGM session: the first ``EgmRobot`` leaves within a sample."""
        self._go.set()

    @property
    def alive(self) -> bool:
        """True while the child process runs."""
        return bool(self._proc.is_alive())

    def kill(self) -> None:
        """Kill the child at once (a controller that goes silent without a word)."""
        self._proc.kill()
        self._proc.join(2.0)

    def stop(self, timeout: float = 5.0) -> VirtualEgmStatus | None:
        """Stop sending; returns the final counters (None when the child died without them)."""
        if self._final is not None:
            return self._final
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                kind, data = self._out.get(timeout=timeout if self._proc.is_alive() else 0.2)
                if kind == "status":
                    data["output_log"] = [tuple(x) for x in data["output_log"]]
                    self._final = VirtualEgmStatus(**data)
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
def virtual_egm_process(
    config: VirtualEgmConfig, *, start_timeout: float = 30.0, log_level: int = logging.WARNING
) -> Iterator[EgmProcess]:
    """Run a :class:`VirtualEgm` in a child process (spawned); yields its handle, waiting for ``go()``.

    Args:
        config: Controller settings (sensor address, sample rate, start pose, arc loopback, ...).
        start_timeout: Longest wait for the child to be ready [s].
        log_level: Logging level in the child (why the session ended is also in the final status).

    Raises:
        DriverConnectionError: the child did not start, or rejected the configuration.
    """
    ctx = mp.get_context("spawn")
    go, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(
        target=_egm_main, args=(config, go, stop, out, log_level), name="virtual-abb", daemon=True
    )
    proc.start()
    handle: EgmProcess | None = None
    try:
        try:
            kind, info = out.get(timeout=start_timeout)
        except queue.Empty as err:
            raise DriverConnectionError(
                f"the virtual ABB controller did not start within {start_timeout} s"
            ) from err
        if kind != "ready":
            raise DriverConnectionError(f"the virtual ABB controller did not start: {info}")
        handle = EgmProcess(proc, go, stop, out, (str(info[0]), int(info[1])))
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
