"""Actual welding parameters from a signal trace: arc energy, heat input, travel speed, statistics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.cell.logrecords import SignalTrace
from weldcell.cell.logstats import THERMAL_EFFICIENCY_MIG_MAG, seam_statistics, stat_of


def _trace(t: np.ndarray, s: np.ndarray, current: np.ndarray, voltage: np.ndarray) -> SignalTrace:
    return SignalTrace(t, s, current, voltage, np.full(t.shape, 0.125))


@settings(max_examples=40, deadline=None)
@given(
    current=st.floats(50.0, 400.0),
    voltage=st.floats(12.0, 40.0),
    speed=st.floats(0.001, 0.05),
    dwell=st.integers(0, 20),
    n=st.integers(5, 200),
    k=st.floats(0.3, 1.0),
)
def test_constant_weld_gives_the_textbook_heat_input(
    current: float, voltage: float, speed: float, dwell: int, n: int, k: float
) -> None:
    """E = U I / v; Q = k E; a dwell at rest adds energy to the total but no per-interval value."""
    dt = 0.02
    t = np.arange(dwell + n) * dt
    s = np.concatenate([np.zeros(dwell), speed * dt * np.arange(n)])  # at rest, then moving
    tr = _trace(t, s, np.full(t.shape, current), np.full(t.shape, voltage))
    got = seam_statistics(tr, k)
    moving = k * voltage * current / speed  # [J/m]
    assert got.heat_input.mean == pytest.approx(moving, rel=1e-6)
    assert got.heat_input.std == pytest.approx(0.0, abs=1e-6 * moving)
    assert got.heat_input.n == n - 1
    assert got.length == pytest.approx(speed * dt * (n - 1), rel=1e-9)
    total_time = (dwell + n - 1) * dt
    assert got.arc_energy_total == pytest.approx(voltage * current * total_time / got.length, rel=1e-6)
    assert got.heat_input_total == pytest.approx(k * got.arc_energy_total, rel=1e-12)
    assert got.current.mean == pytest.approx(current) and got.voltage.max == pytest.approx(voltage)
    assert got.travel_speed.max == pytest.approx(speed, rel=1e-6)


def test_missing_values_and_empty_traces() -> None:
    assert stat_of([np.nan, np.inf]).n == 0 and stat_of([]).mean is None
    empty = seam_statistics(_trace(*(np.zeros(0) for _ in range(4))))
    assert empty.samples == 0 and empty.arc_energy_total is None and empty.heat_input.n == 0
    t = np.arange(5) * 0.1
    no_pos = seam_statistics(_trace(t, np.full(5, np.nan), np.full(5, 200.0), np.full(5, 20.0)))
    assert no_pos.length == 0.0 and no_pos.travel_speed.n == 0 and no_pos.heat_input_total is None
    assert no_pos.current.mean == 200.0 and no_pos.thermal_efficiency == THERMAL_EFFICIENCY_MIG_MAG
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        seam_statistics(no_pos_trace := _trace(t, t, t, t), 1.5)
    assert len(no_pos_trace) == 5


def test_backwards_welds_count_their_length() -> None:
    t = np.arange(50) * 0.02
    s = 0.2 - 0.005 * t  # welded from 200 mm towards 0 at 5 mm/s
    got = seam_statistics(_trace(t, s, np.full(50, 180.0), np.full(50, 22.0)))
    assert got.travel_speed.mean == pytest.approx(0.005)
    assert got.heat_input.mean == pytest.approx(0.8 * 180 * 22 / 0.005)
