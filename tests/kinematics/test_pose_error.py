"""The IK pose error is an exact rotation vector at every angle, including next to π."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.kinematics.numerical import pose_error
from weldcell.spatial import rotation_from_axis_angle


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)).filter(lambda v: np.linalg.norm(v) > 0.1),
    st.one_of(st.floats(np.pi - 1e-3, np.pi - 1e-9), st.floats(0.0, np.pi - 1e-3)),
)
def test_pose_error_rotation_part_exact(axis: tuple[float, float, float], angle: float) -> None:
    k = np.asarray(axis) / np.linalg.norm(axis)
    T = np.eye(4)
    T[:3, :3] = rotation_from_axis_angle(k, angle)
    T[:3, 3] = [0.1, -0.2, 0.3]
    e = pose_error(T, np.eye(4))
    np.testing.assert_allclose(e[:3], [0.1, -0.2, 0.3])
    assert np.linalg.norm(e[3:] - k * angle) <= 1e-12
