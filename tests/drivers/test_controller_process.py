"""Start-up of a virtual controller's child process: generous for a slow start, immediate for a dead child."""

from __future__ import annotations

import multiprocessing as mp
import time

import pytest

from weldcell.drivers.controller_process import wait_until_ready
from weldcell.errors import DriverConnectionError


def _dies(out: object) -> None:
    raise SystemExit(3)


def _slow_then_ready(out: object) -> None:
    time.sleep(0.5)
    out.put(("ready", ("127.0.0.1", 1)))  # type: ignore[attr-defined]


def test_a_child_that_dies_is_reported_at_once_not_after_the_timeout() -> None:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    proc = ctx.Process(target=_dies, args=(out,))
    proc.start()
    t0 = time.monotonic()
    with pytest.raises(DriverConnectionError, match=r"the test child exited \(code 3\) before it was ready"):
        wait_until_ready(proc, out, 60.0, "the test child")
    assert time.monotonic() - t0 < 10.0
    proc.join()


def test_a_slow_child_is_waited_for_and_a_silent_one_times_out() -> None:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    proc = ctx.Process(target=_slow_then_ready, args=(out,))
    proc.start()
    assert wait_until_ready(proc, out, 60.0, "the test child") == ("ready", ("127.0.0.1", 1))
    proc.join()
    silent = ctx.Process(target=time.sleep, args=(5.0,))
    silent.start()
    try:
        with pytest.raises(DriverConnectionError, match=r"the silent child did not start within 0.3 s"):
            wait_until_ready(silent, ctx.Queue(), 0.3, "the silent child")
    finally:
        silent.kill()
        silent.join()
