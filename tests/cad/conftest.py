"""Fixtures of the seam-detection tests: generated assemblies and the in-process CLI runner."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from weldcell.cad.testparts import Assembly

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def weldcell(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Run ``weldcell ARGS`` in-process: (exit code, stdout + stderr with whitespace collapsed)."""
    from weldcell.cli import main

    def run(*args: str | Path) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["weldcell", *map(str, args)])
        monkeypatch.setenv("COLUMNS", "200")
        with pytest.raises(SystemExit) as exc:
            main()
        out = capsys.readouterr()
        code = exc.value.code
        return (code if isinstance(code, int) else 1), " ".join((out.out + out.err).split())

    yield run


def write_stl(asm: Assembly, path: Path, scale: float = 1e3) -> Path:
    """All parts of ``asm`` in one STL (millimetres by default)."""
    import trimesh

    V: list[npt.NDArray[np.float64]] = []
    F: list[npt.NDArray[np.int64]] = []
    off = 0
    for _, v, f in asm.parts:
        V.append(v * scale)
        F.append(f + off)
        off += len(v)
    trimesh.Trimesh(np.concatenate(V), np.concatenate(F), process=False).export(str(path))
    return path
