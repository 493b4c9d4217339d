"""Helpers of the KUKA tests (the test program); the shared ones are in ``streaming_helpers``."""

from __future__ import annotations

from pathlib import Path

from streaming_helpers import Validated, run_cli

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "kr10_tjoint.yaml"

__all__ = ["HERE", "PROGRAM", "Validated", "run_cli"]
