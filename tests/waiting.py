"""One way for tests to wait for something: :func:`wait_until` (a deadline, not a sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

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
