"""Shared fixtures of the ABB tests: the IRB 1520ID test program, planned and validated once."""

from __future__ import annotations

import pytest
from abb_helpers import PROGRAM, Validated, run_cli


@pytest.fixture(scope="session")
def irb1520_validated(tmp_path_factory: pytest.TempPathFactory) -> Validated:
    """Plan (``weldcell plan``) and validate (``weldcell validate``) the IRB 1520ID test program."""
    out = tmp_path_factory.mktemp("irb1520id")
    plan = run_cli("plan", str(PROGRAM), "-o", str(out))
    assert plan.returncode == 0, plan.stdout[-2000:] + plan.stderr[-2000:]
    traj = out / "trajectory.npz"
    val = run_cli("validate", str(traj), "-p", str(PROGRAM), "-o", str(out / "validation"), "--no-images")
    assert val.returncode == 0, val.stdout[-2000:] + val.stderr[-2000:]
    return Validated(PROGRAM, traj, plan.stdout, val.stdout)
