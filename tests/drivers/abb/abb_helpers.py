"""Helpers of the ABB tests (the IRB 1520ID test program, running the CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "irb1520id_tjoint.yaml"


@dataclass(frozen=True)
class Validated:
    program: Path
    traj: Path
    plan_out: str
    validate_out: str


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``weldcell ARGS`` in a subprocess, as a user runs it (unkeyed stamps)."""
    env = dict(os.environ)
    env.pop("WELDCELL_STAMP_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "weldcell", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
