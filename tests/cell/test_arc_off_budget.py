"""The cell's check that the power source ends the arc before the robot stops when the PC dies."""

from __future__ import annotations

import dataclasses

import pytest

from weldcell.cell.arcbudget import arc_off_budget, check_arc_off_budget
from weldcell.cell.cellconfig import CellConfigError
from weldcell.cell.jobtypes import CellConfig
from weldcell.drivers.ur.driver import URDriver, URDriverConfig


def test_default_ur_lookahead_outlasts_the_watchdog_so_the_watchdog_stops_the_robot() -> None:
    cfg = URDriverConfig()
    # a ring-fill dip of up to (lookahead - watchdog) still leaves the watchdog as the first stop
    assert cfg.lookahead - 1.0 / cfg.watchdog_hz >= 0.1 - 1e-9
    assert cfg.lookahead / 0.002 <= cfg.ring - 8  # the ring holds the look-ahead
    assert arc_off_budget(URDriver("127.0.0.1", cfg)) == pytest.approx(1.0 / cfg.watchdog_hz)
    timeout = CellConfig().power_source_comm_timeout
    assert timeout is not None and timeout < 1.0 / cfg.watchdog_hz


def test_a_short_lookahead_shrinks_the_budget_and_the_check_refuses_a_long_timeout() -> None:
    short = URDriver("127.0.0.1", dataclasses.replace(URDriverConfig(), lookahead=0.1))
    assert arc_off_budget(short) == pytest.approx(0.1)
    with pytest.raises(CellConfigError, match=r"comm_timeout_s = 0\.15 s"):
        check_arc_off_budget(short, CellConfig())
    check_arc_off_budget(short, dataclasses.replace(CellConfig(), power_source_comm_timeout=0.08))
