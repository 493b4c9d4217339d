"""Fixtures shared by several test folders."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    """Fail the test if it leaves threads running (they get 3 s to finish after the test)."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in leaked:
        t.join(3.0)
    names = [t.name for t in leaked if t.is_alive()]
    assert not names, f"threads left running: {names}"


@pytest.fixture(autouse=True)
def _no_stamp_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests stamp unkeyed unless they pass a key; a developer's $WELDCELL_STAMP_KEY is ignored."""
    monkeypatch.delenv("WELDCELL_STAMP_KEY", raising=False)
