"""How tests wait: :func:`wait_until` (a deadline, not a sleep) and :func:`run_child` (a child process
with a deadline below the per-test timeout)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(cond: Callable[[], T], timeout: float = 10.0, interval: float = 0.01, what: str = "") -> T:
    """Poll ``cond()`` until it returns something truthy; return that value.

    The timeout is a generous upper bound (tests must not depend on how fast a loaded machine is):
    a passing test returns as soon as the condition holds.

    Raises:
        AssertionError: ``cond`` stayed falsy for ``timeout`` seconds (the message names ``what``).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what or getattr(cond, '__name__', cond)}"
            )
        time.sleep(interval)


#: Longest wait [s] for a child process a test runs (a ``weldcell`` command, a peer). It stays below
#: the suite's per-test timeout (pytest-timeout, ``timeout = 300`` in pyproject.toml) so that a hung
#: child is killed and its output reported by the test, instead of pytest-timeout ending the test
#: and leaving the child running (still holding its ports and CPU) with its output lost.
CHILD_TIMEOUT = 240.0


def run_child(
    cmd: list[str], timeout: float = CHILD_TIMEOUT, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)`` with a deadline.

    Raises:
        AssertionError: the child ran longer than ``timeout`` [s]; it was killed, and the message
            names the command and ends with the tails of its stdout and stderr.
    """
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    except subprocess.TimeoutExpired as err:
        out = _text(err.stdout)[-3000:]
        errs = _text(err.stderr)[-3000:]
        raise AssertionError(
            f"{' '.join(map(str, cmd))[:300]} ran longer than {timeout:g} s (killed)\n"
            f"--- stdout\n{out}\n--- stderr\n{errs}"
        ) from None


def _text(b: str | bytes | None) -> str:
    if b is None:
        return ""
    return b.decode(errors="replace") if isinstance(b, bytes) else b
