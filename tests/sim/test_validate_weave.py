"""Validation of weave welds: exact nominal corners, rounded joint path, speeds compared off the corners."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from weldcell.sim.validate import _nominal_corners

ROOT = Path(__file__).resolve().parents[2]
DT = 0.002


def _zigzag(n: int, v: float = 3e-3, f: float = 2.0, a: float = 1.5e-3) -> np.ndarray:
    t = np.arange(n) * DT
    ph = np.mod(f * t, 1.0)
    tri = np.where(ph < 0.25, 4 * ph, np.where(ph < 0.75, 2 - 4 * ph, 4 * ph - 4))
    return np.stack([v * t, a * tri, np.zeros(n)], axis=1)


def test_corners_of_a_zigzag_are_found_and_only_there() -> None:
    p = _zigzag(2000)  # tips every 0.25 s = 125 samples, the first at sample 62.5 (between two)
    mask = _nominal_corners(p, DT, 0.02e-3)  # the arm cut the corners by 0.02 mm
    assert mask[60:66].all() and mask[185:192].all()  # around the tips at 0.125 s and 0.375 s
    half = 6 * 0.02e-3 / (2 * 4 * 2.0 * 1.5e-3) / DT + 2  # 6δ/Δv in samples, Δv = 2 · 4fA
    rising = np.flatnonzero(np.diff(mask.astype(int)) == 1)
    assert abs(np.diff(rising).mean() - 125) < 1  # one window per tip
    assert mask[:125].sum() <= 4 * half + 4 and not mask[100:150].any()  # a tip between samples: 2 corners


def test_smooth_paths_have_no_corners() -> None:
    t = np.arange(3000) * DT
    sine = np.stack([3e-3 * t, 2e-3 * np.sin(2 * np.pi * 3.0 * t), np.zeros_like(t)], axis=1)
    T_r = 0.1
    ramp = np.where(t < T_r, 0.5 * 3e-3 * (t - T_r / np.pi * np.sin(np.pi * t / T_r)), 0.0)
    ramp = np.where(t >= T_r, 0.5 * 3e-3 * T_r + 3e-3 * (t - T_r), ramp)
    at_rest = np.concatenate([np.zeros(100), ramp])
    start = np.stack([at_rest, np.zeros_like(at_rest), np.zeros_like(at_rest)], axis=1)
    assert not _nominal_corners(sine, DT, 0.05e-3).any()
    assert not _nominal_corners(start, DT, 0.05e-3).any()


@pytest.mark.parametrize("name", ["butt_weave"])
def test_weave_program_validates_with_its_corners_measured(name: str) -> None:
    from weldcell.planning import PlanStatus, plan_program
    from weldcell.program import load_program
    from weldcell.sim.validate import validate_trajectory

    program = load_program(ROOT / "programs" / f"{name}.yaml")
    result = plan_program(program)
    assert result.status is PlanStatus.OK, result.reason
    report = validate_trajectory(result.trajectory, program)
    assert report.passed, [str(v) for v in report.violations][:5]
    dev = report.metrics["max_tcp_deviation_weld_m"]
    assert 1e-6 < dev < 0.04e-3 + 1e-9  # the corner rounding is visible, and within its budget
