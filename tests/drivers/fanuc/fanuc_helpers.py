"""Helpers of the FANUC tests (the ARC Mate example program, running the CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PROGRAM = ROOT / "programs" / "fanuc_arcmate_tjoint.yaml"


@dataclass(frozen=True)
class Validated:
    program: Path
    traj: Path
    plan_out: str
    validate_out: str


def run_cli_inprocess(*args: str) -> tuple[int, str]:
    """``weldcell ARGS`` in this process (typer's runner), unkeyed stamps: (exit code, output)."""
    from typer.testing import CliRunner

    from weldcell.cli import app

    saved = os.environ.pop("WELDCELL_STAMP_KEY", None)
    try:
        r = CliRunner().invoke(app, list(args))
    finally:
        if saved is not None:
            os.environ["WELDCELL_STAMP_KEY"] = saved
    return r.exit_code, r.output


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
