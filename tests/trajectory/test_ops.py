"""Array operations of the trajectory layer: runs, resampling, differentiation, quintic moves."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from weldcell.errors import InputShapeError
from weldcell.trajectory.ops import (
    QUINTIC_PEAK_ACCELERATION,
    QUINTIC_PEAK_SPEED,
    cycle_times,
    differentiate,
    interpolate_uniform,
    quintic_rest_to_rest,
    rest_to_rest_duration,
    true_runs,
)


def _runs_by_loop(mask: list[bool]) -> list[tuple[int, int]]:
    out, start = [], None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        if not m and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, len(mask) - 1))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=0, max_size=60))
def test_true_runs_match_a_plain_scan(mask: list[bool]) -> None:
    assert true_runs(np.array(mask, dtype=bool)) == _runs_by_loop(mask)


def test_true_runs_refuses_2d() -> None:
    with pytest.raises(InputShapeError, match=r"shape \(N,\)"):
        true_runs(np.zeros((3, 2), dtype=bool))


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 300),
    dt=st.sampled_from([0.001, 0.002, 0.004, 0.008]),
    cycle=st.sampled_from([0.002, 0.004, 0.012, 0.003, 0.0005]),
)
def test_cycle_times_cover_the_slice_and_end_on_it(n: int, dt: float, cycle: float) -> None:
    duration = (n - 1) * dt
    tt = cycle_times(duration, cycle)
    assert tt[0] == 0.0
    assert abs(tt[-1] - duration) < 1e-9
    steps = np.diff(tt)
    assert np.all(steps > 0)
    assert np.all(steps <= cycle + 1e-12)
    np.testing.assert_allclose(steps[:-1], cycle, atol=1e-9)  # only the last step may be short


@settings(max_examples=100, deadline=None)
@given(
    q=arrays(np.float64, st.tuples(st.integers(2, 40), st.integers(1, 7)), elements=st.floats(-3, 3)),
    cycle=st.sampled_from([0.002, 0.004, 0.012, 0.0007]),
)
def test_interpolation_hits_samples_and_stays_between_neighbours(q: np.ndarray, cycle: float) -> None:
    dt = 0.002
    tt = cycle_times((q.shape[0] - 1) * dt, cycle)
    out = interpolate_uniform(q, dt, tt)
    assert out.shape == (tt.shape[0], q.shape[1])
    lo = np.clip(np.floor(tt / dt + 1e-9).astype(int), 0, q.shape[0] - 1)
    hi = np.minimum(lo + 1, q.shape[0] - 1)
    assert np.all(out >= np.minimum(q[lo], q[hi]) - 1e-9)
    assert np.all(out <= np.maximum(q[lo], q[hi]) + 1e-9)
    np.testing.assert_allclose(out[-1], q[-1], atol=1e-12)
    on_sample = np.isclose(tt / dt, np.round(tt / dt), atol=1e-9)
    np.testing.assert_allclose(out[on_sample], q[np.round(tt[on_sample] / dt).astype(int)], atol=1e-9)


def test_differentiate_is_exact_on_a_parabola_and_zero_at_the_ends() -> None:
    dt = 0.004
    t = np.arange(50) * dt
    q = np.stack([0.5 * 3.0 * t**2, -2.0 * t**2 + t], axis=1)
    qd, qdd = differentiate(q, dt)
    np.testing.assert_allclose(qd[1:-1, 0], 3.0 * t[1:-1], atol=1e-9)
    np.testing.assert_allclose(qd[1:-1, 1], -4.0 * t[1:-1] + 1.0, atol=1e-9)
    np.testing.assert_allclose(qdd[1:-1], np.tile([3.0, -4.0], (48, 1)), atol=1e-6)
    assert not qd[[0, -1]].any() and not qdd[[0, -1]].any()
    z, zz = differentiate(q[:2], dt)
    assert z.shape == (2, 2) and not z.any() and not zz.any()
    with pytest.raises(InputShapeError, match="dt"):
        differentiate(q, 0.0)


@settings(max_examples=60, deadline=None)
@given(
    dq=arrays(np.float64, 6, elements=st.floats(-3.0, 3.0)),
    scale=st.floats(0.05, 1.0),
    dt=st.sampled_from([0.002, 0.004, 0.012]),
)
def test_quintic_move_is_rest_to_rest_within_limits(dq: np.ndarray, scale: float, dt: float) -> None:
    qd_max = scale * np.array([2.0, 2.0, 3.0, 3.0, 3.0, 3.0])
    qdd_max = scale * np.full(6, 5.0)
    q0 = np.linspace(-1, 1, 6)
    T = rest_to_rest_duration(dq, qd_max, qdd_max, min_time=0.05)
    q, qd, qdd = quintic_rest_to_rest(q0, q0 + dq, dt, T)
    assert (q.shape[0] - 1) * dt >= T - 1e-12
    np.testing.assert_allclose(q[0], q0, atol=1e-12)
    np.testing.assert_allclose(q[-1], q0 + dq, atol=1e-12)
    assert np.abs(qd[[0, -1]]).max() < 1e-9 and np.abs(qdd[[0, -1]]).max() < 1e-9
    assert np.all(np.abs(qd) <= qd_max * (1 + 1e-9))
    assert np.all(np.abs(qdd) <= qdd_max * (1 + 1e-4))
    # the analytic derivatives are those of the positions
    fd, _ = differentiate(q, dt)
    if q.shape[0] > 20:
        np.testing.assert_allclose(fd[1:-1], qd[1:-1], atol=2e-2 * max(float(np.abs(qd).max()), 1e-9))


def test_rest_to_rest_duration_uses_the_quintic_peaks() -> None:
    dq = np.array([1.0, -0.5])
    assert rest_to_rest_duration(dq, np.array([1.0, 1.0])) == pytest.approx(QUINTIC_PEAK_SPEED)
    T = rest_to_rest_duration(dq, np.array([100.0, 100.0]), np.array([1.0, 1.0]))
    assert pytest.approx(np.sqrt(QUINTIC_PEAK_ACCELERATION)) == T
    assert rest_to_rest_duration(np.zeros(2), np.ones(2), min_time=0.3) == 0.3


def test_quintic_move_minimum_intervals() -> None:
    q, _, _ = quintic_rest_to_rest(np.zeros(2), np.zeros(2), 0.002, 0.0, min_intervals=2)
    assert q.shape == (3, 2)
    with pytest.raises(InputShapeError, match="dt"):
        quintic_rest_to_rest(np.zeros(2), np.ones(2), -0.002, 1.0)
