"""The validator judges TCP and elbow speed against the controller's safety limits."""

from __future__ import annotations

import numpy as np
from sim_helpers import weld_trajectory

from weldcell.kinematics.safety import SafetyLimits, default_limits
from weldcell.sim import validate_trajectory
from weldcell.sim.report import ViolationKind
from weldcell.sim.validate import ValidationOptions


def _kinds(report) -> set[ViolationKind]:  # type: ignore[no-untyped-def]
    return {v.kind for v in report.violations}


def test_a_normal_trajectory_is_within_the_speed_limits(program, good_traj) -> None:  # type: ignore[no-untyped-def]
    report = validate_trajectory(good_traj, program)
    assert ViolationKind.TCP_SPEED not in _kinds(report)
    assert ViolationKind.ELBOW_SPEED not in _kinds(report)
    assert 0.0 < report.metrics["max_elbow_speed_m_s"] < 1.5
    assert report.metrics["tcp_speed_limit_m_s"] == default_limits("ur5e").tcp_speed


def test_a_too_fast_move_fails_on_tcp_speed(program) -> None:  # type: ignore[no-untyped-def]
    fast = weld_trajectory(program, seam=0, move_time=0.25)  # home to seam in 0.25 s
    report = validate_trajectory(fast, program)
    assert not report.passed
    speed = [v for v in report.violations if v.kind is ViolationKind.TCP_SPEED]
    assert speed and all(v.limit == 1.5 and v.value > 1.5 for v in speed)
    assert speed[0].seam_id is None and "transit" in speed[0].context  # not the weld


def test_configured_controller_limits_are_used(program, good_traj) -> None:  # type: ignore[no-untyped-def]
    report = validate_trajectory(good_traj, program)
    peak_elbow = report.metrics["max_elbow_speed_m_s"]
    strict = SafetyLimits(tcp_speed=10.0, elbow_speed=0.5 * peak_elbow, source="test cell")
    report = validate_trajectory(good_traj, program, options=ValidationOptions(safety=strict))
    elbow = [v for v in report.violations if v.kind is ViolationKind.ELBOW_SPEED]
    assert elbow and np.isclose(max(v.value for v in elbow), peak_elbow, rtol=1e-6)
    assert ViolationKind.TCP_SPEED not in _kinds(report)


def test_speed_violations_read_as_sentences(program) -> None:  # type: ignore[no-untyped-def]
    fast = weld_trajectory(program, seam=0, move_time=0.25)
    report = validate_trajectory(fast, program)
    v = next(v for v in report.violations if v.kind is ViolationKind.TCP_SPEED)
    text = v.message()
    assert "protective stop" in text and "mm/s" in text
