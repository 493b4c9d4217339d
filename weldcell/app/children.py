"""Child processes of a virtual cell: the virtual Modbus power source in its own process
(:func:`virtual_power_source_process`), started with SIGINT ignored (:func:`children_ignore_sigint`)
so that Ctrl-C reaches the cell, which stops robot and arc before the parent stops the children."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

from weldcell.errors import DriverConnectionError, WeldcellError


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _psu_main(host: str, port: int, stop: Any, ready: Any) -> None:
    """Child process: the virtual power source until ``stop`` is set or the parent dies."""

    from weldcell.drivers.powersource.virtual import start_virtual_power_source

    parent = os.getppid()

    try:
        handle = start_virtual_power_source(host, port)
    except WeldcellError as err:
        ready.put(("error", str(err)))
        return
    ready.put(("ok", handle.address[1]))
    try:
        while not stop.wait(0.1) and handle.running and os.getppid() == parent:
            pass
    finally:
        handle.stop()


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


@contextlib.contextmanager
def virtual_power_source_process(host: str, timeout: float = 20.0) -> Iterator[str]:
    """Run the virtual Modbus power source in a child process; yields its ``modbus://`` URL."""
    ctx = mp.get_context("spawn")
    stop, ready = ctx.Event(), ctx.Queue()
    port = _free_port(host)
    proc = ctx.Process(target=_psu_main, args=(host, port, stop, ready), name="virtual-psu", daemon=True)
    with children_ignore_sigint():
        proc.start()
    try:
        try:
            status, info = ready.get(timeout=timeout)
        except Exception as err:
            raise DriverConnectionError(f"virtual power source did not start within {timeout} s") from err
        if status != "ok":
            raise DriverConnectionError(f"virtual power source failed to start: {info}")
        yield f"modbus://{host}:{info}"
    finally:
        stop.set()
        proc.join(5.0)
        if proc.is_alive():
            proc.kill()
            proc.join(2.0)
