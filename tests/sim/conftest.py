"""Fixtures for the simulator tests: the demo program, its cell, a good weld trajectory, leak check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pybullet as pb
import pytest
from sim_helpers import weld_trajectory

from weldcell.program import load_program
from weldcell.sim import CellModel
from weldcell.trajectory import JointTrajectory

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "programs" / "demo_tjoint.yaml"


@pytest.fixture(autouse=True)
def _no_leaked_pybullet_clients() -> Iterator[None]:
    """Every pybullet client a test opens must be disconnected when it ends."""
    yield
    leaked = [k for k in range(64) if pb.isConnected(physicsClientId=k)]
    for k in leaked:
        pb.disconnect(physicsClientId=k)
    assert not leaked, f"pybullet clients left connected: {leaked}"


@pytest.fixture(scope="session")
def program():  # type: ignore[no-untyped-def]
    return load_program(DEMO)


@pytest.fixture(scope="session")
def cell(program) -> CellModel:  # type: ignore[no-untyped-def]
    return CellModel.from_program(program)


@pytest.fixture(scope="session")
def good_traj(program) -> JointTrajectory:  # type: ignore[no-untyped-def]
    return weld_trajectory(program, seam=0)
