"""Helpers of the FANUC tests (the ARC Mate example program); the shared ones are in ``streaming_helpers``."""

from __future__ import annotations

from pathlib import Path

from streaming_helpers import Validated, run_cli, run_cli_inprocess

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PROGRAM = ROOT / "programs" / "fanuc_arcmate_tjoint.yaml"

__all__ = ["HERE", "PROGRAM", "ROOT", "Validated", "run_cli", "run_cli_inprocess"]
