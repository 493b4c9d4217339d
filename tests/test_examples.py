"""The numbered examples are part of the documentation: each must run headless and exit 0.

``05_virtual_cell.py`` runs a whole faulted job (about a minute) and is covered step by step by
``tests/cell``; the others run here as a user would run them, from the repository root.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ["01_fk_ik.py", "02_seam_to_path.py", "03_time_parametrize.py"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs(name: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip(), f"{name} printed nothing"


def test_sim_dry_run_example_writes_stamp_and_picture(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "04_sim_dry_run.py"), "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "cell.png").stat().st_size > 1000
    assert list(tmp_path.glob("*.stamp.json")), "no validation stamp written"
