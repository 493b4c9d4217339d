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


# --- rotation vectors (exact near π, where torch-down poses sit) --------------------------------

unit_axis = st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)).filter(
    lambda v: float(np.linalg.norm(v)) > 0.1
)


@settings(max_examples=300, deadline=None)
@given(unit_axis, st.floats(np.pi - 1e-3, np.pi))
def test_rotvec_round_trip_exact_near_pi(axis: tuple[float, float, float], angle: float) -> None:
    from weldcell.spatial import rotation_from_rotvec, rotvec_from_rotation

    k = np.asarray(axis) / np.linalg.norm(axis)
    r = k * angle
    R = rotation_from_rotvec(r)
    check_transforms(np.block([[R, np.zeros((3, 1))], [np.zeros((1, 3)), np.ones((1, 1))]]), atol=1e-14)
    np.testing.assert_allclose(R, rotation_from_axis_angle(k, angle), atol=1e-14)
    r2 = rotvec_from_rotation(R)
    err = np.linalg.norm(r2 - r)
    if np.pi - angle < 1e-9:  # at π the axis sign is arbitrary (r and -r are the same rotation)
        err = min(err, float(np.linalg.norm(r2 + r)))
    assert err <= 1e-12, f"round-trip error {err:.2e} rad at π - {np.pi - angle:.2e}"
    assert abs(np.linalg.norm(r2) - angle) <= 1e-12
    np.testing.assert_allclose(rotation_from_rotvec(r2), R, atol=1e-12)


@settings(max_examples=300, deadline=None)
@given(unit_axis, st.floats(0.0, np.pi))
def test_rotvec_round_trip_whole_range(axis: tuple[float, float, float], angle: float) -> None:
    from weldcell.spatial import rotation_from_rotvec, rotvec_from_rotation

    k = np.asarray(axis) / np.linalg.norm(axis)
    r = k * angle
    r2 = rotvec_from_rotation(rotation_from_rotvec(r))
    err = np.linalg.norm(r2 - r)
    if np.pi - angle < 1e-9:
        err = min(err, float(np.linalg.norm(r2 + r)))
    assert err <= 1e-12


def test_rotvec_at_pi_minus_2e6_is_exact() -> None:
    # the pose the issue measured: 1e-4 rad error at π - 2e-6 with the arccos/skew formula
    from weldcell.spatial import rotvec_from_rotation

    angle = np.pi - 2e-6
    k = np.array([1.0, 2.0, -0.5]) / np.linalg.norm([1.0, 2.0, -0.5])
    R = rotation_from_axis_angle(k, angle)
    np.testing.assert_allclose(rotvec_from_rotation(R), k * angle, atol=1e-13)


def test_rotvec_vectorised_and_small_angles() -> None:
    from weldcell.spatial import rotation_from_rotvec, rotvec_from_rotation

    rng = np.random.default_rng(3)
    k = rng.normal(size=(200, 3))
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    r = k * 3.0 * rng.uniform(0, 1, size=(200, 1)) ** 8  # angles in [0, 3) rad, many tiny ones
    np.testing.assert_allclose(rotvec_from_rotation(rotation_from_rotvec(r)), r, rtol=1e-14, atol=1e-15)
    assert np.array_equal(rotvec_from_rotation(np.eye(3)), np.zeros(3))


def test_ur_pose_conversions_use_the_exact_formula() -> None:
    from weldcell.drivers.ur import models

    angle = np.pi - 2e-6
    k = np.array([0.3, -0.9, 0.1]) / np.linalg.norm([0.3, -0.9, 0.1])
    p = np.concatenate([[0.4, -0.1, 0.3], k * angle])
    np.testing.assert_allclose(models.pose_from_matrix(models.matrix_from_pose(p)), p, atol=1e-13)
