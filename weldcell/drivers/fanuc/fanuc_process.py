"""The virtual FANUC controller in its own process (``weldcell demo --robot fanuc``, whole-cell tests).

A controller in the cell's process would share the GIL with the Stream Motion driver and the cell's
supervision loop; in a child process its 8 ms status clock is independent of them, as a real
controller's is. :func:`virtual_fanuc_process` starts the child, which binds the UDP port and starts
the status cycle (the controller waits for a client's start packet, as a controller running
``IBGN start`` does). :meth:`FanucProcess.stop` ends it and returns the final
:class:`~weldcell.drivers.fanuc.virtual_controller.VirtualFanucStatus`; a child whose parent dies
stops by itself.
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

from weldcell.drivers.fanuc.virtual_controller import VirtualFanuc, VirtualFanucConfig, VirtualFanucStatus
from weldcell.errors import DriverConnectionError, WeldcellError


def _fanuc_main(config: VirtualFanucConfig, stop: Any, out: Any, log_level: int) -> None:
    """Child process: run the controller until ``stop`` is set or the parent dies."""
    logging.basicConfig(level=log_level)
    parent = os.getppid()
    try:
        ctrl = VirtualFanuc(config)
    except WeldcellError as err:
        out.put(("error", str(err)))
        return
    ctrl.start()
    out.put(("ready", ctrl.address))
    try:
        while not stop.wait(0.05) and os.getppid() == parent:
            pass
    finally:
        status = ctrl.status()
        ctrl.close()
        out.put(("status", dataclasses.asdict(status)))


class FanucProcess:
    """Handle of a virtual FANUC controller child process (see :func:`virtual_fanuc_process`)."""

    def __init__(self, proc: Any, stop: Any, out: Any, address: tuple[str, int]) -> None:
        self._proc = proc
        self._stop = stop
        self._out = out
        self._final: VirtualFanucStatus | None = None
        #: The controller's Stream Motion address (host, UDP port).
        self.address = address

    @property
    def alive(self) -> bool:
        """True while the child process runs."""
        return bool(self._proc.is_alive())

    def stop(self, timeout: float = 5.0) -> VirtualFanucStatus | None:
        """Stop the controller; returns its final status (None when the child died without it)."""
        if self._final is not None:
            return self._final
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                kind, data = self._out.get(timeout=timeout if self._proc.is_alive() else 0.2)
                if kind == "status":
                    data["output_log"] = [tuple(x) for x in data["output_log"]]
                    self._final = VirtualFanucStatus(**data)
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
def virtual_fanuc_process(
    config: VirtualFanucConfig, *, start_timeout: float = 30.0, log_level: int = logging.WARNING
) -> Iterator[FanucProcess]:
    """Run a :class:`VirtualFanuc` in a child process (spawned); yields its handle once it listens.

    Args:
        config: Controller settings (address, cycle, start joints, arc loopback, ...); port 0 binds
            a free port, reported in :attr:`FanucProcess.address`.
        start_timeout: Longest wait for the child to be ready [s].
        log_level: Logging level in the child.

    Raises:
        DriverConnectionError: the child did not start, or rejected the configuration.
    """
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(
        target=_fanuc_main, args=(config, stop, out, log_level), name="virtual-fanuc", daemon=True
    )
    proc.start()
    handle: FanucProcess | None = None
    try:
        try:
            kind, info = out.get(timeout=start_timeout)
        except queue.Empty as err:
            raise DriverConnectionError(
                f"the virtual FANUC controller did not start within {start_timeout} s"
            ) from err
        if kind != "ready":
            raise DriverConnectionError(f"the virtual FANUC controller did not start: {info}")
        handle = FanucProcess(proc, stop, out, (str(info[0]), int(info[1])))
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
