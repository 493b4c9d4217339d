"""Property tests for the SE(3) helpers: round trips, inverses, validation messages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.errors import InputShapeError
from weldcell.spatial import (
    check_transforms,
    invert_transforms,
    rotation_angle_between,
    rotation_from_axis_angle,
    se3_from_xyz_quat_wxyz,
    se3_from_xyz_rpy,
    xyz_rpy_from_se3,
)
from weldcell.spatial.units import deg_to_rad, m_min_to_m_s, mm_s_to_m_s, mm_to_m, rad_to_deg

finite = st.floats(-10.0, 10.0, allow_nan=False)
angle = st.floats(-np.pi, np.pi, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.tuples(finite, finite, finite), st.tuples(angle, st.floats(-1.5, 1.5), angle))
def test_xyz_rpy_round_trip(xyz: tuple[float, float, float], rpy: tuple[float, float, float]) -> None:
    T = se3_from_xyz_rpy(xyz, rpy)
    check_transforms(T)
    xyz2, rpy2 = xyz_rpy_from_se3(T)
    np.testing.assert_allclose(se3_from_xyz_rpy(xyz2, rpy2), T, atol=1e-12)
    np.testing.assert_allclose(xyz2, xyz, atol=1e-12)


def test_rpy_matches_urdf_fixed_axis_order() -> None:
    # URDF rpy: rotate about fixed X by roll, then fixed Y by pitch, then fixed Z by yaw.
    r, p, y = 0.3, -0.2, 1.1
    Rx = rotation_from_axis_angle([1, 0, 0], r)
    Ry = rotation_from_axis_angle([0, 1, 0], p)
    Rz = rotation_from_axis_angle([0, 0, 1], y)
    np.testing.assert_allclose(se3_from_xyz_rpy([0, 0, 0], [r, p, y])[:3, :3], Rz @ Ry @ Rx, atol=1e-14)


def test_gimbal_lock_round_trip() -> None:
    T = se3_from_xyz_rpy([0, 0, 0], [0.4, np.pi / 2, -0.3])
    xyz, rpy = xyz_rpy_from_se3(T)
    np.testing.assert_allclose(se3_from_xyz_rpy(xyz, rpy), T, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(finite, min_size=3, max_size=3), st.lists(st.floats(-1, 1), min_size=4, max_size=4))
def test_inverse_composes_to_identity(xyz: list[float], quat: list[float]) -> None:
    if np.linalg.norm(quat) < 1e-3:
        quat = [1.0, 0.0, 0.0, 0.0]
    T = se3_from_xyz_quat_wxyz(xyz, quat)
    np.testing.assert_allclose(invert_transforms(T) @ T, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(T @ invert_transforms(T), np.eye(4), atol=1e-12)


def test_quaternion_order_is_wxyz() -> None:
    # 90° about z: w = cos(45°), z = sin(45°)
    T = se3_from_xyz_quat_wxyz([0, 0, 0], [np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)])
    np.testing.assert_allclose(T[:3, :3] @ [1, 0, 0], [0, 1, 0], atol=1e-15)


def test_rotation_angle_between_is_accurate_for_tiny_angles() -> None:
    for a in (1e-12, 1e-8, 1e-4, 0.5, 3.0):
        R = rotation_from_axis_angle([0.3, -0.2, 0.9], a)
        assert rotation_angle_between(np.eye(3), R) == pytest.approx(a, rel=1e-9, abs=1e-15)


def test_batched_shapes() -> None:
    T = se3_from_xyz_rpy(np.zeros((5, 7, 3)), np.ones((5, 7, 3)) * 0.1)
    assert T.shape == (5, 7, 4, 4)
    assert invert_transforms(T).shape == (5, 7, 4, 4)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (np.eye(3), "expected shape (..., 4, 4)"),
        (np.full((4, 4), np.nan), "NaN"),
        (np.diag([2.0, 1.0, 1.0, 1.0]), "not orthonormal"),
        (np.diag([-1.0, 1.0, 1.0, 1.0]), "reflection"),
        (np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]], float), "last row"),
    ],
)
def test_check_transforms_messages(bad: np.ndarray, fragment: str) -> None:
    with pytest.raises(
        InputShapeError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")
    ):
        check_transforms(bad, "T_world_tcp")


def test_units() -> None:
    assert mm_to_m(12.5) == pytest.approx(0.0125)
    assert mm_s_to_m_s(8.0) == pytest.approx(0.008)
    assert m_min_to_m_s(6.0) == pytest.approx(0.1)
    assert rad_to_deg(deg_to_rad(37.0)) == pytest.approx(37.0)
