"""Shared fixture of the CLI tests: run ``weldcell`` in-process through its real entry point."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from weldcell.cli import main

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def weldcell(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Run ``weldcell ARGS`` in-process: (exit code, stdout + stderr with whitespace collapsed)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    sigterm = signal.getsignal(signal.SIGTERM)

    def run(*args: str | Path) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["weldcell", *map(str, args)])
        monkeypatch.setenv("COLUMNS", "200")
        with pytest.raises(SystemExit) as exc:
            main()
        out = capsys.readouterr()
        text = " ".join((out.out + out.err).split())
        code = exc.value.code
        return (code if isinstance(code, int) else 1), text

    yield run
    for h in root.handlers[:]:
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)
    signal.signal(signal.SIGTERM, sigterm)
