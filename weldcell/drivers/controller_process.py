"""A virtual controller in its own process: the one runner the vendor packages share.

A virtual controller in the cell's process would share the GIL with the driver it talks to and with
the cell's supervision loop; in a child process its clock (UR 2 ms, RSI 4/12 ms, EGM 4 ms, Stream
Motion 8 ms) is independent of them, as a real controller's is. :func:`controller_process` spawns the
child, which builds the controller (its socket bound) and either starts it at once (``autostart``:
a FANUC controller whose ``IBGN start`` program already waits for a client) or waits for
:meth:`ControllerProcess.go` (the operator starting the KRL or RAPID program once the sensor
listens). :meth:`ControllerProcess.stop` ends it and returns the final status the controller reports;
:meth:`ControllerProcess.close` reaps the child. A child whose parent dies stops by itself.

The controller class is given to the child as ``build(config)`` (spawned: both must pickle, i.e. be
module-level names). It needs ``address`` (host, port), ``start()`` and, for the final status,
either ``stop() -> status`` or the ``finish`` function named here; a ``done`` event, when it has
one, ends the child early (RSI break-off, EGM session end).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing as mp
import os
import queue
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from weldcell.errors import DriverConnectionError, WeldcellError

S = TypeVar("S")


def _controller_main(
    build: Callable[[Any], Any],
    finish: Callable[[Any], Any] | None,
    autostart: bool,
    config: Any,
    go: Any,
    stop: Any,
    out: Any,
    log_level: int,
) -> None:
    """Child process: build the controller, start it (now or on ``go``), run until ``stop``, its
    ``done`` event or the parent's death; send back the final status."""
    logging.basicConfig(level=log_level)
    parent = os.getppid()
    try:
        ctrl = build(config)
    except WeldcellError as err:
        out.put(("error", str(err)))
        return
    if autostart:
        ctrl.start()
    out.put(("ready", ctrl.address))
    done = getattr(ctrl, "done", None)
    try:
        if not autostart:
            while not go.wait(0.05):
                if stop.is_set() or os.getppid() != parent:
                    return
            ctrl.start()
        while not stop.wait(0.05) and os.getppid() == parent:
            if done is not None and done.is_set():
                break  # the controller ended the session itself (break-off, timeout)
    finally:
        status = finish(ctrl) if finish is not None else ctrl.stop()
        out.put(("status", dataclasses.asdict(status)))


class ControllerProcess(Generic[S]):
    """Handle of a virtual controller child process (see :func:`controller_process`)."""

    def __init__(
        self,
        proc: Any,
        go: Any,
        stop: Any,
        out: Any,
        address: tuple[str, int],
        status: Callable[[dict[str, Any]], S],
    ) -> None:
        self._proc = proc
        self._go = go
        self._stop = stop
        self._out = out
        self._status = status
        self._final: S | None = None
        #: The controller's address (host, port): where its telegrams come from, or where it listens.
        self.address = address

    def go(self) -> None:
        """Start the controller's session (the operator starts the robot program)."""
        self._go.set()

    @property
    def alive(self) -> bool:
        """True while the child process runs."""
        return bool(self._proc.is_alive())

    def kill(self) -> None:
        """Kill the child at once (a controller that goes silent without a word)."""
        self._proc.kill()
        self._proc.join(2.0)

    def stop(self, timeout: float = 5.0) -> S | None:
        """Stop the controller; returns its final status (None when the child died without it).

        Returns as soon as the status arrives; :meth:`close` (or leaving the context) reaps the child.
        """
        if self._final is not None:
            return self._final
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                kind, data = self._out.get(timeout=timeout if self._proc.is_alive() else 0.2)
                if kind == "status":
                    self._final = self._status(data)
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
def controller_process(
    build: Callable[[Any], Any],
    config: Any,
    *,
    status: Callable[[dict[str, Any]], S],
    what: str,
    name: str,
    autostart: bool = False,
    finish: Callable[[Any], Any] | None = None,
    start_timeout: float = 120.0,
    log_level: int = logging.WARNING,
) -> Iterator[ControllerProcess[S]]:
    """Run ``build(config)`` in a spawned child process; yields its handle once it is ready.

    Args:
        build: The controller class (or a module-level factory) taking ``config``.
        config: Its settings (picklable).
        status: Rebuilds the final status from its ``dataclasses.asdict`` form (parent side).
        what: The controller in messages ("the virtual KRC").
        name: The child process's name.
        autostart: Start the controller at once (else on :meth:`ControllerProcess.go`).
        finish: Module-level function returning the final status and releasing the controller
            (default: ``ctrl.stop()``).
        start_timeout: Longest wait for the child to be ready [s] (generous: a spawned child
            imports the kinematics stack, which takes tens of seconds on a loaded machine; a
            child that dies is reported at once).
        log_level: Logging level in the child.

    Raises:
        DriverConnectionError: the child did not start, or rejected the configuration.
    """
    ctx = mp.get_context("spawn")
    go, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(
        target=_controller_main,
        args=(build, finish, autostart, config, go, stop, out, log_level),
        name=name,
        daemon=True,
    )
    proc.start()
    handle: ControllerProcess[S] | None = None
    try:
        kind, info = wait_until_ready(proc, out, start_timeout, what)
        if kind != "ready":
            raise DriverConnectionError(f"{what} did not start: {info}")
        handle = ControllerProcess(proc, go, stop, out, (str(info[0]), int(info[1])), status)
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


def wait_until_ready(proc: Any, out: Any, timeout: float, what: str) -> tuple[str, Any]:
    """The first message ``(kind, info)`` a starting child puts on ``out``.

    Args:
        proc: The child (``multiprocessing.Process``): its death ends the wait at once.
        out: Its queue.
        timeout: Longest wait [s].
        what: The child in messages.

    Raises:
        DriverConnectionError: the child exited before it was ready, or sent nothing in ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return tuple(out.get(timeout=max(0.0, min(0.25, deadline - time.monotonic()))))
        except queue.Empty:
            pass
        if not proc.is_alive():
            try:  # it may have sent its message just before it exited
                return tuple(out.get(timeout=0.25))
            except queue.Empty:
                raise DriverConnectionError(
                    f"{what} exited (code {proc.exitcode}) before it was ready; see its output above"
                ) from None
        if time.monotonic() >= deadline:
            raise DriverConnectionError(f"{what} did not start within {timeout:g} s")


def free_udp_port(host: str) -> int:
    """A UDP port on ``host`` that was free a moment ago (for a virtual controller's sensor address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
