"""Detection of numba's on-disk kernel cache (the first-run compile notice) and ``weldcell warmup``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from weldcell.planning.warmup import KERNEL_SOURCES, kernel_cache_missing

PY = f"py{sys.version_info.major}{sys.version_info.minor}"


def _source(tmp_path: Path, name: str = "_kern.py", mtime: float = 1_000_000.0) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / name
    src.write_text("from numba import njit\n\n@njit(cache=True)\ndef f(x):\n    return x\n")
    os.utime(src, (mtime, mtime))
    return src


def _index(folder: Path, stem: str, mtime: float, py: str = PY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    index = folder / f"{stem}.f-3.{py}.nbi"
    index.write_bytes(b"")
    os.utime(index, (mtime, mtime))
    return index


def test_no_cache_is_missing(tmp_path: Path) -> None:
    src = _source(tmp_path)
    assert kernel_cache_missing((src,)) == [src]


def test_a_fresh_index_counts_as_compiled(tmp_path: Path) -> None:
    src = _source(tmp_path)
    _index(tmp_path / "__pycache__", "_kern", 1_000_010.0)
    assert kernel_cache_missing((src,)) == []


def test_an_index_older_than_the_source_is_stale(tmp_path: Path) -> None:
    src = _source(tmp_path)
    _index(tmp_path / "__pycache__", "_kern", 999_000.0)
    assert kernel_cache_missing((src,)) == [src]


def test_another_python_or_module_does_not_count(tmp_path: Path) -> None:
    src = _source(tmp_path)
    _index(tmp_path / "__pycache__", "_kern", 1_000_010.0, py="py27")
    _index(tmp_path / "__pycache__", "_other", 1_000_010.0)
    assert kernel_cache_missing((src,)) == [src]


def test_numba_cache_dir_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _source(tmp_path / "pkg")
    cache = tmp_path / "numba-cache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    assert kernel_cache_missing((src,)) == [src]
    _index(cache / "pkg_0123abcd", "_kern", 1_000_010.0)
    assert kernel_cache_missing((src,)) == []


def test_each_file_is_judged_on_its_own(tmp_path: Path) -> None:
    a, b = _source(tmp_path, "_a.py"), _source(tmp_path, "_b.py")
    _index(tmp_path / "__pycache__", "_a", 1_000_010.0)
    assert kernel_cache_missing((a, b)) == [b]


def test_a_source_that_is_not_there_needs_no_compile(tmp_path: Path) -> None:
    assert kernel_cache_missing((tmp_path / "gone.py",)) == []


def test_the_kernel_sources_are_the_cached_njit_files() -> None:
    package = Path(__file__).resolve().parents[2] / "weldcell"
    with_cache = {
        p.resolve()
        for p in package.rglob("*.py")
        if "njit(cache=True" in p.read_text(encoding="utf-8") and "warmup" not in p.name
    }
    assert {p.resolve() for p in KERNEL_SOURCES} == with_cache


def test_a_rewritten_but_unchanged_source_keeps_numbas_content_stamped_cache(tmp_path: Path) -> None:
    """numba ≥ 0.61 stamps its cache with the source's SHA-256: a checkout that rewrites a file with
    the same text (newer mtime) keeps the cache valid, a changed text does not (real numba cache)."""
    import subprocess

    import numba

    if tuple(int(x) for x in numba.__version__.split(".")[:2]) < (0, 61):
        pytest.skip("numba < 0.61 stamps its cache with the source's mtime")
    src = tmp_path / "_kern_real.py"
    text = "from numba import njit\n\n@njit(cache=True)\ndef f(x):\n    return x + 1\n"
    src.write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    run = [sys.executable, "-c", "import _kern_real; assert _kern_real.f(1) == 2"]
    subprocess.run(run, cwd=tmp_path, env=env, check=True, timeout=120)
    assert kernel_cache_missing((src,)) == []
    later = src.stat().st_mtime + 100.0
    src.write_text(text)  # same text, rewritten
    os.utime(src, (later, later))
    assert kernel_cache_missing((src,)) == []
    src.write_text(text.replace("x + 1", "x + 2"))
    os.utime(src, (later + 1, later + 1))
    assert kernel_cache_missing((src,)) == [src]
