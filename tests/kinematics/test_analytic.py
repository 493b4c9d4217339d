"""The compiled helpers behind the analytic IK: the libm-free atan2 and the 2π / joint-limit policy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.kinematics.analytic import _LIMIT_TOL, _fit, fast_atan2

TWO_PI = 2 * math.pi


def test_fast_atan2_matches_libm_to_a_few_ulp() -> None:
    rng = np.random.default_rng(30)
    worst = 0.0
    for scale in (1e-300, 1e-12, 1e-3, 1.0, 1e3, 1e300):
        y = rng.normal(size=5000) * scale
        x = rng.normal(size=5000)
        for a, b in zip(y, x, strict=True):
            worst = max(worst, abs(fast_atan2(a, b) - math.atan2(a, b)))
    assert worst <= 4.5e-16
    t = np.linspace(0.0, 1.0, 20001)[1:]
    rel = max(abs(fast_atan2(v, 1.0) - math.atan(v)) / math.atan(v) for v in t)
    assert rel < 5e-16


@pytest.mark.parametrize(
    ("y", "x", "expected"),
    [(0.0, 1.0, 0.0), (1.0, 0.0, math.pi / 2), (0.0, -1.0, math.pi), (-1.0, 0.0, -math.pi / 2),
     (1.0, 1.0, math.pi / 4), (-1.0, -1.0, -3 * math.pi / 4), (0.0, 0.0, 0.0), (1e-300, -1.0, math.pi)],
)  # fmt: skip
def test_fast_atan2_special_values(y: float, x: float, expected: float) -> None:
    assert fast_atan2(y, x) == pytest.approx(expected, abs=1e-16)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-20.0, 20.0, allow_nan=False),
    st.floats(-7.0, 0.0, allow_nan=False),
    st.floats(0.0, 7.0, allow_nan=False),
)
def test_fit_returns_the_equivalent_nearest_zero_inside_the_limits(x: float, lo: float, hi: float) -> None:
    v = _fit(x, lo, hi)
    tol = _LIMIT_TOL  # a candidate this far outside a limit (rounding of the IK) is clamped onto it
    candidates = [x + TWO_PI * m for m in range(-6, 7)]
    inside = [c for c in candidates if lo - tol <= c <= hi + tol]
    if not inside:
        assert math.isnan(v)
        return
    assert lo <= v <= hi
    assert abs(math.remainder(v - x, TWO_PI)) <= tol + 1e-12
    assert abs(v) <= min(abs(c) for c in inside) + tol
