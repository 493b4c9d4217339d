"""Shipped data: found in a checkout, and carried inside a built wheel (every file, every subpackage)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from weldcell.resources import DATA_FOLDERS, data_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(DATA_FOLDERS))
def test_data_dir_finds_each_folder(name: str) -> None:
    folder = data_dir(name)
    assert folder.is_dir() and any(folder.iterdir())


def test_unknown_data_folder() -> None:
    with pytest.raises(KeyError):
        data_dir("nothing")


def test_wheel_carries_data_and_every_subpackage(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("weldcell-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name, rel in DATA_FOLDERS.items():
        for f in (ROOT / rel).iterdir():
            if f.is_file():
                assert f"weldcell/_data/{name}/{f.name}" in names, f"{rel}/{f.name} is not in the wheel"
    for init in (ROOT / "weldcell").rglob("__init__.py"):
        rel = init.relative_to(ROOT).as_posix()
        assert rel in names, f"subpackage {init.parent.name} is not in the wheel"
    assert "weldcell/py.typed" in names and "weldcell/__main__.py" in names
