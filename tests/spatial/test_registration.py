"""Property tests of the calibration and registration solvers (weldcell.spatial.registration)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.errors import CalibrationError
from weldcell.spatial import rotation_angle_between, rotation_from_rotvec, se3_from_xyz_rpy
from weldcell.spatial.registration import (
    frame_from_three_points,
    register_points_to_planes,
    tcp_from_flange_poses,
    tcp_orientation_from_points,
)

seeds = st.integers(0, 2**32 - 1)


def _random_rotation(rng: np.random.Generator, max_angle: float) -> np.ndarray:
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    return rotation_from_rotvec(axis * rng.uniform(0, max_angle))


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(4, 10))
def test_tcp_recovers_known_tip_exactly(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    p_tcp = rng.uniform([-0.05, -0.05, 0.1], [0.05, 0.05, 0.4])
    point = rng.uniform(-0.5, 0.5, 3)
    T = np.tile(np.eye(4), (n, 1, 1))
    for i in range(n):
        R = _random_rotation(rng, np.deg2rad(60)) if i else np.eye(3)
        T[i, :3, :3] = R
        T[i, :3, 3] = point - R @ p_tcp
    # make sure two rotation axes are present
    T[1, :3, :3] = rotation_from_rotvec([0.6, 0, 0])
    T[1, :3, 3] = point - T[1, :3, :3] @ p_tcp
    T[2, :3, :3] = rotation_from_rotvec([0, 0.6, 0])
    T[2, :3, 3] = point - T[2, :3, :3] @ p_tcp
    cal = tcp_from_flange_poses(T)
    np.testing.assert_allclose(cal.p_flange_tcp, p_tcp, atol=1e-9)
    np.testing.assert_allclose(cal.p_base_point, point, atol=1e-9)
    assert cal.rms < 1e-9


@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_tcp_with_noise_reports_residual(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p_tcp = np.array([0.0, 0.002, 0.35])
    point = np.array([0.5, 0.1, 0.05])
    T = np.tile(np.eye(4), (6, 1, 1))
    for i, rv in enumerate([(0, 0, 0), (0.5, 0, 0), (-0.5, 0, 0), (0, 0.5, 0), (0, -0.5, 0), (0.3, 0.3, 1)]):
        R = rotation_from_rotvec(rv)
        T[i, :3, :3] = R
        T[i, :3, 3] = point - R @ p_tcp + rng.normal(0, 0.0002, 3)
    cal = tcp_from_flange_poses(T)
    assert np.linalg.norm(cal.p_flange_tcp - p_tcp) < 0.003
    assert 0 < cal.rms < 0.001


def test_tcp_refuses_degenerate_input() -> None:
    T = np.tile(np.eye(4), (4, 1, 1))
    with pytest.raises(CalibrationError, match="at least 4"):
        tcp_from_flange_poses(T[:3])
    with pytest.raises(CalibrationError, match="orientations"):
        tcp_from_flange_poses(T)
    # all about one axis: the offset along it is undetermined
    for i in range(4):
        T[i, :3, :3] = rotation_from_rotvec([0, 0, 0.5 * i])
    with pytest.raises(CalibrationError, match="rotation axis"):
        tcp_from_flange_poses(T)


@settings(max_examples=40, deadline=None)
@given(seed=seeds)
def test_frame_from_three_points_round_trip(seed: int) -> None:
    rng = np.random.default_rng(seed)
    T = se3_from_xyz_rpy(rng.uniform(-1, 1, 3), rng.uniform(-np.pi, np.pi, 3))
    lx, ly, sx = rng.uniform(0.02, 0.5), rng.uniform(0.02, 0.5), rng.uniform(-0.3, 0.3)
    pts = [T @ np.array(v) for v in ([0, 0, 0, 1.0], [lx, 0, 0, 1.0], [sx, ly, 0, 1.0])]
    np.testing.assert_allclose(frame_from_three_points(*(v[:3] for v in pts)), T, atol=1e-9)


def test_frame_refuses_collinear_points() -> None:
    with pytest.raises(CalibrationError, match="collinear"):
        frame_from_three_points([0, 0, 0], [0.1, 0, 0], [0.2, 0.0001, 0])
    with pytest.raises(CalibrationError, match="origin"):
        frame_from_three_points([0, 0, 0], [0.001, 0, 0], [0.2, 0.1, 0])


BOX_HALF = np.array([0.1, 0.08, 0.02])


def _box_touches(rng: np.random.Generator, faces: list[int], per_face: int) -> tuple[np.ndarray, ...]:
    """Points on the given faces (0..5: ±x, ±y, ±z) of a box in its own frame, with normals/offsets.

    The touches of one face are spread over it as a touch pattern spreads them (alternate halves of
    the face along both of its axes): two touches a few mm apart leave a rotation so weakly determined
    that a 2 µm residual hides a 3° error, which is the pattern's fault, not the solver's."""
    pts, ns, ds = [], [], []
    for f in faces:
        axis, sign = f // 2, 1.0 if f % 2 == 0 else -1.0
        for k in range(per_face):
            x = rng.uniform(0.3, 0.8, 3) * BOX_HALF * (1.0 if k % 2 == 0 else -1.0)
            x[axis] = sign * BOX_HALF[axis]
            n = np.zeros(3)
            n[axis] = sign
            pts.append(x)
            ns.append(n)
            ds.append(BOX_HALF[axis])
    return np.array(pts), np.array(ns), np.array(ds)


@settings(max_examples=40, deadline=None)
@given(seed=seeds)
def test_registration_recovers_full_offset(seed: int) -> None:
    rng = np.random.default_rng(seed)
    T_nom = se3_from_xyz_rpy(rng.uniform(-0.5, 0.5, 3), rng.uniform(-np.pi, np.pi, 3))
    T_corr = se3_from_xyz_rpy(rng.uniform(-0.005, 0.005, 3), rng.uniform(-0.06, 0.06, 3))
    x, n, d = _box_touches(rng, [0, 2, 3, 4], 2)
    T_real = T_nom @ T_corr
    p_world = x @ T_real[:3, :3].T + T_real[:3, 3]
    reg = register_points_to_planes(p_world, n, d, T_nom)
    assert reg.rank == 6
    np.testing.assert_allclose(reg.T_world_part, T_real, atol=1e-8)
    assert reg.rms < 1e-9


@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_registration_of_one_face_is_translation_along_its_normal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    T_nom = se3_from_xyz_rpy(rng.uniform(-0.5, 0.5, 3), rng.uniform(-np.pi, np.pi, 3))
    shift = rng.uniform(-0.005, 0.005, 3)
    T_real = T_nom @ se3_from_xyz_rpy(shift, [0, 0, 0])
    x, n, d = _box_touches(rng, [4], 1)  # one touch on the top face (1-D search)
    p_world = x @ T_real[:3, :3].T + T_real[:3, 3]
    reg = register_points_to_planes(p_world, n, d, T_nom)
    assert reg.rank == 1
    np.testing.assert_allclose(reg.T_nominal_measured[:3, 3], [0, 0, shift[2]], atol=1e-9)
    np.testing.assert_allclose(reg.T_nominal_measured[:3, :3], np.eye(3), atol=1e-9)
    assert reg.unobserved.shape == (5, 6)


def test_registration_within_noise() -> None:
    rng = np.random.default_rng(3)
    T_nom = se3_from_xyz_rpy([0.5, 0, 0.02], [0, 0, 0.3])
    T_real = T_nom @ se3_from_xyz_rpy([0.003, -0.002, 0.001], [0.0, 0.0, np.deg2rad(2)])
    x, n, d = _box_touches(rng, [0, 1, 2, 4], 8)
    p_world = x @ T_real[:3, :3].T + T_real[:3, 3] + rng.normal(0, 5e-5, (len(x), 3))
    reg = register_points_to_planes(p_world, n, d, T_nom)
    corners = np.array(np.meshgrid(*[[-h, h] for h in BOX_HALF])).reshape(3, -1).T
    err = (corners @ reg.T_world_part[:3, :3].T + reg.T_world_part[:3, 3]) - (
        corners @ T_real[:3, :3].T + T_real[:3, 3]
    )
    assert float(np.max(np.linalg.norm(err, axis=1))) < 4e-4  # 50 µm noise per touch
    assert float(rotation_angle_between(reg.T_world_part[:3, :3], T_real[:3, :3])) < np.deg2rad(0.15)


def test_registration_refuses_bad_shapes() -> None:
    with pytest.raises(CalibrationError, match="expected points"):
        register_points_to_planes(np.zeros((2, 3)), np.zeros((3, 3)), np.zeros(2), np.eye(4))
    with pytest.raises(CalibrationError, match="normal is zero"):
        register_points_to_planes(np.zeros((1, 3)), np.zeros((1, 3)), np.zeros(1), np.eye(4))


def _pose_with_point_on_axis(
    R_base_flange: np.ndarray,
    R_flange_tcp: np.ndarray,
    p_tcp: np.ndarray,
    point: np.ndarray,
    axis: int,
    lever: float,
) -> np.ndarray:
    """Flange pose (4, 4) in which ``point`` lies ``lever`` along the tool's ``axis`` from the tip."""
    T = np.eye(4)
    T[:3, :3] = R_base_flange
    tip = point - lever * (R_base_flange @ R_flange_tcp)[:, axis]
    T[:3, 3] = tip - R_base_flange @ p_tcp
    return T


@settings(max_examples=40, deadline=None)
@given(seed=seeds)
def test_tcp_orientation_recovered_exactly_from_any_x_and_z_poses(seed: int) -> None:
    rng = np.random.default_rng(seed)
    R_ft = _random_rotation(rng, np.pi)
    p_tcp = rng.uniform([-0.05, -0.05, 0.1], [0.05, 0.05, 0.4])
    point = rng.uniform(-0.5, 0.5, 3)
    Tx = _pose_with_point_on_axis(_random_rotation(rng, np.pi), R_ft, p_tcp, point, 0, rng.uniform(0.03, 0.2))
    Tz = _pose_with_point_on_axis(_random_rotation(rng, np.pi), R_ft, p_tcp, point, 2, rng.uniform(0.03, 0.2))
    res = tcp_orientation_from_points(Tx, Tz, p_tcp, point)
    np.testing.assert_allclose(res.R_flange_tcp, R_ft, atol=1e-9)
    assert res.orthogonality_error < 1e-9
    np.testing.assert_allclose(res.R_flange_tcp.T @ res.R_flange_tcp, np.eye(3), atol=1e-12)
    assert np.linalg.det(res.R_flange_tcp) == pytest.approx(1.0)


def test_tcp_orientation_residual_and_refusals() -> None:
    R_ft = rotation_from_rotvec([0.0, np.deg2rad(20.0), 0.0])
    p_tcp, point, R = (
        np.array([0.0, 0.0, 0.35]),
        np.array([0.5, 0.1, 0.2]),
        rotation_from_rotvec([np.pi, 0, 0]),
    )
    Tx = _pose_with_point_on_axis(R, R_ft, p_tcp, point, 0, 0.1)
    Tz = _pose_with_point_on_axis(R, R_ft, p_tcp, point, 2, 0.1)
    # 0.5 mm misalignment of the x point along z over a 100 mm lever: ~0.29° off perpendicular
    Tx_bad = Tx.copy()
    Tx_bad[:3, 3] += (R @ R_ft)[:, 2] * 0.0005
    res = tcp_orientation_from_points(Tx_bad, Tz, p_tcp, point)
    assert np.rad2deg(res.orthogonality_error) == pytest.approx(np.rad2deg(np.arctan(0.005)), rel=1e-3)
    assert rotation_angle_between(res.R_flange_tcp, R_ft) < 1e-9  # z is kept exact, x made orthogonal
    with pytest.raises(CalibrationError, match=r"x point's tip is 5\.0 mm"):
        tcp_orientation_from_points(
            _pose_with_point_on_axis(R, R_ft, p_tcp, point, 0, 0.005), Tz, p_tcp, point
        )
    with pytest.raises(CalibrationError, match="which point is x and which is z"):
        tcp_orientation_from_points(Tz, Tz, p_tcp, point)
