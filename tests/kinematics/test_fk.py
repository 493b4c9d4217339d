"""Forward kinematics and Jacobians against independent models written here from the published data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weldcell.errors import InputShapeError, UnknownModelError
from weldcell.kinematics import load_robot, robot_names

# UR "DH Parameters for calculations of kinematics and dynamics" (universal-robots.com):
# d1, a2, a3, d4, d5, d6 [m]
UR_DH = {
    "ur3e": (0.15185, -0.24355, -0.2132, 0.13105, 0.08535, 0.0921),
    "ur5e": (0.1625, -0.425, -0.3922, 0.1333, 0.0997, 0.0996),
    "ur10e": (0.1807, -0.6127, -0.57155, 0.17415, 0.11985, 0.11655),
    "ur16e": (0.1807, -0.4784, -0.36, 0.17415, 0.11985, 0.11655),
}
UR_ALPHA = (math.pi / 2, 0.0, 0.0, math.pi / 2, -math.pi / 2, 0.0)

# KUKA KR 6 R900 sixx, OPW parameters [m] (Brandstötter et al. 2014 notation)
KR6 = {"a1": 0.025, "a2": -0.035, "b": 0.0, "c1": 0.400, "c2": 0.455, "c3": 0.420, "c4": 0.080}
KR6_SIGNS = np.array([-1, 1, 1, -1, 1, -1], dtype=float)
KR6_OFFSETS = np.array([0.0, math.pi / 2, 0, 0, 0, 0])


def dh_chain(q: np.ndarray, dh: tuple[float, ...]) -> np.ndarray:
    """Standard DH product Rz(θ) Tz(d) Tx(a) Rx(α), one configuration at a time (plain loops)."""
    d1, a2, a3, d4, d5, d6 = dh
    a = (0.0, a2, a3, 0.0, 0.0, 0.0)
    d = (d1, 0.0, 0.0, d4, d5, d6)
    T = np.eye(4)
    for i in range(6):
        ct, st = math.cos(q[i]), math.sin(q[i])
        ca, sa = math.cos(UR_ALPHA[i]), math.sin(UR_ALPHA[i])
        A = np.array(
            [
                [ct, -st * ca, st * sa, a[i] * ct],
                [st, ct * ca, -ct * sa, a[i] * st],
                [0.0, sa, ca, d[i]],
                [0.0, 0.0, 0.0, 1.0],
            ]
        )
        T = T @ A
    return T


def _rz(t: float) -> np.ndarray:
    c, s = math.cos(t), math.sin(t)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _ry(t: float) -> np.ndarray:
    c, s = math.cos(t), math.sin(t)
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def opw_fk(q: np.ndarray) -> np.ndarray:
    """OPW forward kinematics (native angles θ = sign·q + offset) written from the paper's geometry."""
    th = KR6_SIGNS * q + KR6_OFFSETS
    p = KR6
    C = _rz(th[0]) @ (
        np.array([p["a1"], p["b"], p["c1"]])
        + _ry(th[1]) @ np.array([0, 0, p["c2"]])
        + _ry(th[1] + th[2]) @ np.array([p["a2"], 0, p["c3"]])
    )
    R = _rz(th[0]) @ _ry(th[1] + th[2]) @ _rz(th[3]) @ _ry(th[4]) @ _rz(th[5])
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = C + p["c4"] * R[:, 2]
    return T


@pytest.mark.parametrize("name", list(UR_DH))
def test_ur_fk_matches_published_dh_table(name: str) -> None:
    robot = load_robot(name)
    rng = np.random.default_rng(1)
    q = rng.uniform(robot.q_lower, robot.q_upper, size=(200, 6))
    T = robot.fk(q)
    ref = np.array([dh_chain(qq, UR_DH[name]) for qq in q])
    assert np.abs(T - ref).max() < 1e-12


def test_ur5e_zero_pose_matches_controller_base_frame() -> None:
    # at q = 0 the UR flange is at (a2 + a3, -(d4 + d6), d1 - d5) in the controller Base frame
    T = load_robot("ur5e").fk(np.zeros(6))
    np.testing.assert_allclose(T[:3, 3], [-0.8172, -0.2329, 0.0628], atol=1e-12)
    np.testing.assert_allclose(T[:3, :3], [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12)  # Rx(π/2)


def test_kr6_fk_matches_opw_formula() -> None:
    robot = load_robot("kr6_r900")
    rng = np.random.default_rng(2)
    q = rng.uniform(robot.q_lower, robot.q_upper, size=(200, 6))
    ref = np.array([opw_fk(qq) for qq in q])
    assert np.abs(robot.fk(q) - ref).max() < 1e-12
    # KUKA home (A2 = -90°, A3 = +90°): upper arm up, forearm forward, flange z pointing forward
    T = robot.fk(np.radians([0, -90, 90, 0, 0, 0]))
    np.testing.assert_allclose(T[:3, 3], [0.025 + 0.420 + 0.080, 0.0, 0.400 + 0.455 + 0.035], atol=1e-12)
    np.testing.assert_allclose(T[:3, 2], [1.0, 0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("name", robot_names())
def test_fk_broadcasts_and_link_poses_end_at_flange(name: str) -> None:
    robot = load_robot(name)
    rng = np.random.default_rng(3)
    q = rng.uniform(robot.q_lower, robot.q_upper, size=(2, 3, robot.n_joints))
    T = robot.fk(q)
    assert T.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(T[1, 2], robot.fk(q[1, 2]), atol=0)
    L = robot.link_poses(q)
    assert L.shape == (2, 3, len(robot.link_names), 4, 4)
    np.testing.assert_allclose(L[..., -1, :, :], T, atol=1e-15)
    np.testing.assert_allclose(L[..., 0, :, :], np.broadcast_to(np.eye(4), (2, 3, 4, 4)), atol=0)
    assert robot.link_names[0] == "base" and robot.link_names[-1] == "flange"


def _twist_fd(robot_fk, q: np.ndarray, h: float = 1e-6) -> np.ndarray:  # type: ignore[no-untyped-def]
    n = q.shape[0]
    J = np.zeros((6, n))
    T0 = robot_fk(q)
    for i in range(n):
        dq = np.zeros(n)
        dq[i] = h
        Tp, Tm = robot_fk(q + dq), robot_fk(q - dq)
        J[:3, i] = (Tp[:3, 3] - Tm[:3, 3]) / (2 * h)
        dR = (Tp[:3, :3] - Tm[:3, :3]) / (2 * h) @ T0[:3, :3].T  # = [ω]×
        J[3:, i] = [dR[2, 1], dR[0, 2], dR[1, 0]]
    return J


@pytest.mark.parametrize("name", robot_names())
def test_jacobian_matches_finite_differences(name: str) -> None:
    robot = load_robot(name)
    rng = np.random.default_rng(4)
    q = rng.uniform(robot.q_lower, robot.q_upper, size=(10, robot.n_joints))
    J = robot.jacobian(q)
    assert J.shape == (10, 6, robot.n_joints)
    for k in range(10):
        np.testing.assert_allclose(J[k], _twist_fd(robot.fk, q[k]), atol=1e-8)


def test_singularity_distance_is_zero_at_singularities_and_positive_elsewhere() -> None:
    ur = load_robot("ur5e")
    q = np.array([0.3, -1.2, 1.0, 0.4, 0.7, -0.5])
    assert ur.singularity_distance(q) > 0.05
    for j, v in ((4, 0.0), (2, 0.0)):  # wrist (θ5 = 0), elbow stretched (θ3 = 0)
        qs = q.copy()
        qs[j] = v
        assert ur.singularity_distance(qs) < 1e-12
        qs[j] = 1e-3
        assert 0 < ur.singularity_distance(qs) < 1e-2
    kr = load_robot("kr6_r900")
    assert kr.singularity_distance(np.radians([0, -90, 90, 0, 0, 0])) < 1e-12  # A5 = 0
    assert kr.singularity_distance(np.radians([10, -80, 100, 20, 40, 0])) > 0.01
    assert kr.singularity_distance(np.zeros((4, 6))).shape == (4,)


def test_bad_joint_input_names_expected_shape() -> None:
    robot = load_robot("ur5e")
    with pytest.raises(InputShapeError, match=r"\(\.\.\., 6\)"):
        robot.fk(np.zeros(5))
    with pytest.raises(InputShapeError, match="NaN"):
        robot.fk([0, 0, np.nan, 0, 0, 0])
    with pytest.raises(InputShapeError, match=r"\(\.\.\., 6\)"):
        robot.jacobian(np.zeros((3, 7)))
    with pytest.raises(InputShapeError):
        robot.link_poses("abc")


def test_unknown_robot_lists_known_names() -> None:
    with pytest.raises(UnknownModelError) as err:
        load_robot("ur7e")
    msg = str(err.value)
    assert "ur7e" in msg
    for name in robot_names():
        assert name in msg


def test_robot_attributes() -> None:
    robot = load_robot("ur10e")
    assert robot.kind == "ur" and robot.n_joints == 6 and robot.urdf_path.is_file()
    assert robot.joint_names[0] == "shoulder_pan_joint"
    np.testing.assert_allclose(robot.qd_max, np.radians([120, 120, 180, 180, 180, 180]))
    np.testing.assert_allclose(
        robot.q_upper, [2 * math.pi, 2 * math.pi, math.pi, 2 * math.pi, 2 * math.pi, 2 * math.pi]
    )
    assert robot.qdd_max.shape == (6,) and np.all(robot.qdd_max > 0)
    with pytest.raises(ValueError):
        robot.q_lower[0] = 0.0  # read-only
    assert load_robot("kr6_r900").kind == "opw"
    assert load_robot("srs7").kind == "numerical" and load_robot("srs7").n_joints == 7
