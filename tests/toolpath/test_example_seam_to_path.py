"""examples/02_seam_to_path.py runs headless and reports the programmed angles."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("seam_to_path", ROOT / "examples" / "02_seam_to_path.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(ROOT / "programs" / "butt_weave.yaml"), "--plot", str(tmp_path / "w.png")])
    out = capsys.readouterr().out
    assert "work  90.0°, travel  +5.0°, weave zigzag 2 Hz" in out
    assert (tmp_path / "w.png").stat().st_size > 1000
