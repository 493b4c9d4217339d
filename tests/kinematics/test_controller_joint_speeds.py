"""Controller-convention joint speed limits (kinematics.safety) and the per-joint box the planner uses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.drivers.fanuc.joints import joint_map
from weldcell.kinematics import load_robot
from weldcell.kinematics.safety import (
    CONTROLLER_JOINT_MAPS,
    CONTROLLER_JOINT_SPEEDS,
    controller_joint_speeds,
    joint_speed_box,
)


@pytest.mark.parametrize("name", sorted(CONTROLLER_JOINT_MAPS))
def test_maps_agree_with_the_driver_and_the_model_uses_the_box(name: str) -> None:
    np.testing.assert_array_equal(
        np.asarray(CONTROLLER_JOINT_MAPS[name], dtype=float), joint_map(name).matrix()
    )
    box = joint_speed_box(CONTROLLER_JOINT_MAPS[name], CONTROLLER_JOINT_SPEEDS[name])
    np.testing.assert_allclose(load_robot(name).qd_max, box, rtol=1e-6)  # the URDF is generated from it
    assert controller_joint_speeds(name) is not None
    assert controller_joint_speeds("ur5e") is None


def test_crx_box_figures() -> None:
    box = np.degrees(joint_speed_box(CONTROLLER_JOINT_MAPS["crx10ial"], CONTROLLER_JOINT_SPEEDS["crx10ial"]))
    np.testing.assert_allclose(box, [120, 72, 108, 180, 180, 180])


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(sorted(CONTROLLER_JOINT_MAPS)),
    u=st.lists(st.floats(-1.0, 1.0), min_size=6, max_size=6),
)
def test_any_speed_in_the_box_is_within_the_controller_limits(name: str, u: list[float]) -> None:
    A = np.asarray(CONTROLLER_JOINT_MAPS[name], dtype=float)
    box = np.asarray(joint_speed_box(CONTROLLER_JOINT_MAPS[name], CONTROLLER_JOINT_SPEEDS[name]))
    qd = np.asarray(u) * box
    assert np.all(np.abs(A @ qd) <= np.asarray(CONTROLLER_JOINT_SPEEDS[name]) * (1 + 1e-12))


@settings(max_examples=100, deadline=None)
@given(
    v=st.lists(st.floats(0.5, 10.0), min_size=4, max_size=4),
    c=st.sampled_from([-1.0, 1.0]),
)
def test_box_of_a_generic_coupling_is_tight_and_safe(v: list[float], c: float) -> None:
    A = ((1, 0, 0, 0), (0, 1, 0, 0), (0, c, 1, 0), (0, 0, 0, 1))
    b = np.asarray(joint_speed_box(A, tuple(v)))
    Am = np.asarray(A, dtype=float)
    assert np.all(np.abs(Am) @ b <= np.asarray(v) * (1 + 1e-12))
    assert np.any(np.isclose(np.abs(Am) @ b, v))  # some row is at its limit: not needlessly slow
    assert b[0] == v[0] and b[3] == v[3]  # uncoupled joints keep their speed
