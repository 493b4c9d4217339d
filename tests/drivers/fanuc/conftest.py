"""Shared fixtures of the FANUC tests: the ARC Mate example program, planned and validated once."""

from __future__ import annotations

import pytest
from fanuc_helpers import PROGRAM, Validated, run_cli_inprocess


@pytest.fixture(scope="session")
def arcmate_validated(tmp_path_factory: pytest.TempPathFactory) -> Validated:
    """Plan (``weldcell plan``) and validate (``weldcell validate``) the ARC Mate example program."""
    out = tmp_path_factory.mktemp("arcmate")
    code, plan = run_cli_inprocess("plan", str(PROGRAM), "-o", str(out))
    assert code == 0, plan[-3000:]
    traj = out / "trajectory.npz"
    code, val = run_cli_inprocess(
        "validate", str(traj), "-p", str(PROGRAM), "-o", str(out / "validation"), "--no-images"
    )
    assert code == 0, val[-3000:]
    return Validated(PROGRAM, traj, plan, val)
