"""Fixtures for the power-source tests: a virtual power source on loopback and a leak check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle, start_virtual_power_source
from weldcell.drivers.powersource.virtual_model import VirtualConfig, VirtualTiming

# Short but realistic timings keep the socket tests fast.
FAST_TIMING = VirtualTiming(
    pre_flow=0.05,
    ignition_delay=0.05,
    ignition_jitter=0.01,
    ignition_timeout=0.25,
    arc_settle=0.03,
    crater_fill=0.08,
    post_flow=0.10,
    comm_timeout=0.4,
)


@pytest.fixture(autouse=True)
def _no_leaked_threads(no_leaked_threads: None) -> None:
    """Every test in this folder checks for leaked threads (tests/conftest.py)."""


@pytest.fixture
def psu() -> Iterator[VirtualPowerSourceHandle]:
    """A virtual power source on 127.0.0.1 with an ephemeral port and fast timing."""
    handle = start_virtual_power_source("127.0.0.1", 0, VirtualConfig(timing=FAST_TIMING), seed=7)
    try:
        yield handle
    finally:
        handle.stop()
    assert not handle.running
