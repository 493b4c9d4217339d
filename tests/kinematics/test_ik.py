"""Inverse kinematics: every branch back through FK, branch structure, singularities, limits, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.errors import InputShapeError, ModelError
from weldcell.kinematics import N_BRANCHES, Robot, load_robot
from weldcell.kinematics.analytic import opw_ik_kernel, opw_params
from weldcell.kinematics.specs import OPW_SPECS, UR_SPECS
from weldcell.spatial import rotation_angle_between

TWO_PI = 2 * math.pi
ANALYTIC = ("ur3e", "ur5e", "ur10e", "ur16e", "kr6_r900")
ROBOTS = {name: load_robot(name) for name in (*ANALYTIC, "srs7")}


def wrapped(a: np.ndarray) -> np.ndarray:
    return (a + math.pi) % TWO_PI - math.pi


def branch_labels(b: int) -> tuple[int, int, int]:
    return (1 - 2 * ((b >> 2) & 1), 1 - 2 * ((b >> 1) & 1), 1 - 2 * (b & 1))


def check_solutions(robot: Robot, T: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Assert every non-NaN branch reproduces T to 1e-9 m / 1e-9 rad inside the limits; return the mask."""
    valid = ~np.isnan(Q).any(axis=-1)
    assert np.array_equal(valid, ~np.isnan(Q).all(axis=-1)), "a branch is partly NaN"
    Qv = Q[valid]
    Tv = np.broadcast_to(T[..., None, :, :], (*Q.shape[:-1], 4, 4))[valid]
    Tb = robot.fk(Qv)
    pos = np.linalg.norm(Tb[:, :3, 3] - Tv[:, :3, 3], axis=-1)
    rot = rotation_angle_between(Tb[:, :3, :3], Tv[:, :3, :3])
    assert pos.max(initial=0) <= 1e-9, pos.max()
    assert rot.max(initial=0) <= 1e-9, rot.max()
    assert np.all(Qv >= robot.q_lower) and np.all(Qv <= robot.q_upper)
    # 2π policy: no 2π-equivalent inside the limits is closer to 0
    for shift in (TWO_PI, -TWO_PI):
        alt = Qv + shift
        inside = (alt >= robot.q_lower) & (alt <= robot.q_upper)
        assert not np.any(inside & (np.abs(alt) < np.abs(Qv) - 1e-12))
    return valid


@pytest.mark.parametrize("name", ANALYTIC)
def test_round_trip_random_configurations(name: str) -> None:
    robot = ROBOTS[name]
    rng = np.random.default_rng(10)
    q = rng.uniform(robot.q_lower, robot.q_upper, size=(3000, 6))
    T = robot.fk(q)
    Q = robot.ik(T)
    assert Q.shape == (3000, N_BRANCHES, 6)
    valid = check_solutions(robot, T, Q)
    assert valid.any(axis=1).all()
    # the configuration we started from is among the branches (up to 2π), with its own labels
    d = np.abs(wrapped(Q - q[:, None, :])).max(axis=-1)
    best = np.nanargmin(np.where(valid, d, np.inf), axis=1)
    assert np.all(d[np.arange(len(q)), best] < 1e-7)
    labels = robot.configuration_labels(q)
    expected = np.array([branch_labels(int(b)) for b in best])
    generic = robot.singularity_distance(q) > 1e-3
    np.testing.assert_array_equal(labels[generic], expected[generic])


@pytest.mark.parametrize("name", ("ur3e", "ur5e", "ur10e", "ur16e"))
def test_ur_generic_poses_have_eight_distinct_branches(name: str) -> None:
    robot = ROBOTS[name]
    rng = np.random.default_rng(11)
    q = rng.uniform(-2.5, 2.5, size=(2000, 6))
    q[:, 2] = rng.uniform(0.3, 2.5, size=2000) * rng.choice([-1, 1], size=2000)
    Q = robot.ik(robot.fk(q))
    full = ~np.isnan(Q).any(axis=-1).any(axis=-1)
    assert full.mean() > 0.3
    Qf = Q[full]
    diff = np.abs(wrapped(Qf[:, :, None, :] - Qf[:, None, :, :])).max(axis=-1)
    diff[:, np.arange(8), np.arange(8)] = np.inf
    assert diff.min() > 1e-6
    labels = robot.configuration_labels(Qf)
    for b in range(8):
        assert np.all(labels[:, b] == branch_labels(b))


def test_opw_geometry_gives_eight_distinct_branches_without_limits() -> None:
    o = OPW_SPECS["kr6_r900"]
    robot = ROBOTS["kr6_r900"]
    q = np.radians([[20, -70, 80, 30, 40, 50], [-60, -100, 30, -45, -30, 100], [120, -20, 120, 10, 90, -20]])
    T = robot.fk(q)
    wide = np.full(6, 3 * math.pi)
    P = opw_params(
        (o.a1, o.a2, o.b, o.c1, o.c2, o.c3, o.c4),
        np.array(o.offsets),
        np.array(o.signs, dtype=float),
        -wide,
        wide,
    )
    Q, bad = opw_ik_kernel(np.ascontiguousarray(T), P, 1e-6)
    assert bad == -1
    assert not np.isnan(Q).any()
    Tb = robot.fk(Q)
    assert np.abs(Tb - T[:, None]).max() < 1e-12
    diff = np.abs(wrapped(Q[:, :, None, :] - Q[:, None, :, :])).max(axis=-1)
    diff[:, np.arange(8), np.arange(8)] = np.inf
    assert diff.min() > 1e-6
    labels = robot.configuration_labels(Q)
    for b in range(8):
        assert np.all(labels[:, b] == branch_labels(b))


def _joint(lo: float, hi: float, specials: tuple[float, ...]) -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(lo, hi, allow_nan=False), st.sampled_from([s for s in specials if lo <= s <= hi])
    )


SMALL = (0.0, 1e-15, -1e-15, 1e-12, -1e-12, 1e-9, -1e-9, 1e-6, -1e-6)
NEAR_PI = (math.pi, -math.pi, math.pi - 1e-9, -math.pi + 1e-9, math.pi - 1e-6)


@st.composite
def ur_configurations(draw: st.DrawFn) -> tuple[str, np.ndarray]:
    name = draw(st.sampled_from(("ur3e", "ur5e", "ur10e", "ur16e")))
    r = ROBOTS[name]
    q = np.array(
        [
            draw(_joint(-TWO_PI, TWO_PI, (0.0, math.pi))),
            draw(_joint(-TWO_PI, TWO_PI, (0.0, -math.pi / 2, math.pi))),
            draw(_joint(-math.pi, math.pi, SMALL + NEAR_PI)),  # elbow stretched / folded
            draw(_joint(-TWO_PI, TWO_PI, (0.0, math.pi / 2))),
            draw(_joint(-TWO_PI, TWO_PI, SMALL + NEAR_PI)),  # wrist singular
            draw(_joint(-TWO_PI, TWO_PI, (0.0, math.pi))),
        ]
    )
    if draw(st.booleans()):
        # shoulder singularity: wrist-2 point in the plane of axis 1 (a2 c2 + a3 c23 + d5 s234 = 0)
        s = UR_SPECS[name]
        x = s.a2 * math.cos(q[1]) + s.a3 * math.cos(q[1] + q[2])
        if abs(x) < s.d5:
            t234 = math.asin(-x / s.d5) + draw(st.sampled_from((0.0, 1e-9, 1e-6)))
            q[3] = t234 - q[1] - q[2]
    return name, np.clip(q, r.q_lower, r.q_upper)


@settings(max_examples=300, deadline=None)
@given(ur_configurations())
def test_ur_ik_property_including_singular_poses(case: tuple[str, np.ndarray]) -> None:
    name, q = case
    robot = ROBOTS[name]
    T = robot.fk(q)
    Q = robot.ik(T)
    valid = check_solutions(robot, T, Q)
    assert valid.any(), f"no IK solution for a reachable pose q={q.tolist()}"
    if robot.singularity_distance(q) > 1e-4:
        assert np.abs(wrapped(Q[valid] - q)).max(axis=-1).min() < 1e-7


@st.composite
def opw_configurations(draw: st.DrawFn) -> np.ndarray:
    r = ROBOTS["kr6_r900"]
    o = OPW_SPECS["kr6_r900"]
    lo, hi = r.q_lower, r.q_upper
    phi = math.atan2(o.a2, o.c3)
    q = np.array([draw(_joint(lo[i], hi[i], SMALL)) for i in range(6)])
    mode = draw(st.sampled_from(("free", "stretched", "shoulder")))
    if mode == "stretched":  # native ψ3 = θ3 + φ = 0
        q[2] = draw(st.sampled_from((0.0, 1e-9, -1e-6))) - phi
    elif mode == "shoulder":  # wrist centre on axis 1: a1 + c2 sin θ2 + k sin(θ2 + ψ3) = 0
        th2 = q[1] + math.pi / 2
        k = math.hypot(o.a2, o.c3)
        v = -(o.a1 + o.c2 * math.sin(th2)) / k
        if abs(v) <= 1:
            q[2] = math.asin(v) - th2 - phi + draw(st.sampled_from((0.0, 1e-9)))
    return np.clip(q, lo, hi)


@settings(max_examples=200, deadline=None)
@given(opw_configurations())
def test_opw_ik_property_including_singular_poses(q: np.ndarray) -> None:
    robot = ROBOTS["kr6_r900"]
    T = robot.fk(q)
    Q = robot.ik(T)
    valid = check_solutions(robot, T, Q)
    assert valid.any(), f"no IK solution for a reachable pose q={q.tolist()}"
    if robot.singularity_distance(q) > 1e-4:
        assert np.abs(wrapped(Q[valid] - q)).max(axis=-1).min() < 1e-7


def test_singular_wrist_returns_solutions_with_documented_free_joint() -> None:
    ur = ROBOTS["ur5e"]
    # θ5 = 0: joint 6 is set to 0 whenever the arm can reach the wrist that way
    q = np.array([0.4, -1.3, 1.4, -0.2, 0.0, 0.0])
    T = ur.fk(q)
    Q = ur.ik(T)
    valid = check_solutions(ur, T, Q)
    assert valid.sum() >= 2
    singular = valid & (np.abs(np.sin(np.nan_to_num(Q[:, 4]))) < 1e-9)
    assert singular.sum() >= 2
    np.testing.assert_allclose(Q[singular][:, 5], 0.0, atol=1e-12)
    assert np.abs(wrapped(Q[singular] - q)).max(axis=-1).min() < 1e-9
    # ... and otherwise the θ6 nearest 0 with which it can (here the original 0.8 is not needed)
    q2 = np.array([0.4, -1.3, 1.4, -0.2, 0.0, 0.8])
    Q2 = ur.ik(ur.fk(q2))
    assert check_solutions(ur, ur.fk(q2), Q2).sum() >= 2
    kr = ROBOTS["kr6_r900"]
    qk = np.radians([10, -80, 100, 30, 0, 40])
    Qk = kr.ik(kr.fk(qk))
    vk = check_solutions(kr, kr.fk(qk), Qk)
    vk &= np.abs(np.sin(np.nan_to_num(Qk[:, 4]))) < 1e-9
    assert vk.sum() >= 1
    np.testing.assert_allclose(Qk[vk][:, 3], 0.0, atol=1e-12)  # native θ4 = -q4 fixed at 0


def test_opw_stretched_arm_with_wrist_at_its_limit() -> None:
    # found by hypothesis: A3 stretched (elbow singular, θ2/θ3 good to ~1e-9 rad) and A5 at +120°
    # came out 5e-10 rad beyond the limit and the reachable pose had no solution
    kr = ROBOTS["kr6_r900"]
    q = np.array([0.0, 0.0, 0.08314123288844125, 0.0, 2.0943951023931953, 0.0])
    T = kr.fk(q)
    Q = kr.ik(T)
    valid = check_solutions(kr, T, Q)
    assert valid.any()
    assert np.abs(wrapped(Q[valid] - q)).max(axis=-1).min() < 1e-8


def test_opw_wrist_centre_on_axis_1_keeps_the_wrist_straight() -> None:
    # found by hypothesis: with θ1 fixed at 0 the wrist would need |A5| = 132° > 120°
    kr = ROBOTS["kr6_r900"]
    q = np.array([2.5, -2.75, 2.4807513606939944, 0.0, 0.0, 0.0])
    T = kr.fk(q)
    C = T[:3, 3] - 0.080 * T[:3, 2]
    assert np.hypot(C[0], C[1]) < 1e-12  # wrist centre on axis 1
    Q = kr.ik(T)
    valid = check_solutions(kr, T, Q)
    assert valid.any()
    assert np.abs(wrapped(Q[valid] - q)).max(axis=-1).min() < 1e-9


def test_unreachable_poses_are_nan_rows() -> None:
    T = np.eye(4)
    T[:3, 3] = [3.0, 0.0, 0.0]
    for name in ANALYTIC:
        assert np.isnan(ROBOTS[name].ik(T)).all()
    T[:3, 3] = [0.0, 0.0, 0.0]  # inside the UR's d4 cylinder around axis 1
    assert np.isnan(ROBOTS["ur5e"].ik(T)).all()


def test_ik_shapes_and_vectorisation() -> None:
    robot = ROBOTS["ur5e"]
    rng = np.random.default_rng(12)
    q = rng.uniform(-2, 2, size=(4, 5, 6))
    T = robot.fk(q)
    Q = robot.ik(T)
    assert Q.shape == (4, 5, 8, 6)
    np.testing.assert_array_equal(Q[2, 3], robot.ik(T[2, 3]))
    np.testing.assert_array_equal(robot.ik(T, check=False), Q)
    assert robot.ik(np.zeros((0, 4, 4))).shape == (0, 8, 6)


def test_nearest_equivalent_keeps_continuity_inside_limits() -> None:
    ur = ROBOTS["ur5e"]
    q = np.array([3.0, -1.0, 0.5, 0.1, -3.0, 3.1])
    ref = np.array([-3.2, -1.0, 0.5, 0.1, 3.3, 6.0])
    out = ur.nearest_equivalent(q, ref)
    np.testing.assert_allclose(out, [3.0 - TWO_PI, -1.0, 0.5, 0.1, -3.0 + TWO_PI, 3.1], atol=1e-12)
    assert np.all(np.abs(wrapped(out - q)) < 1e-12)
    # elbow limited to ±π: no other equivalent is admissible
    np.testing.assert_allclose(ur.nearest_equivalent([0, 0, 3.0, 0, 0, 0], [0, 0, -3.0, 0, 0, 0])[2], 3.0)
    kr = ROBOTS["kr6_r900"]
    # A2 range [-190°, 45°]: 170° is only admissible as -190°
    out = kr.nearest_equivalent(np.radians([0, 170, 0, 0, 0, 0]), np.zeros(6))
    np.testing.assert_allclose(np.degrees(out[1]), -190.0)
    assert np.isnan(kr.nearest_equivalent(np.radians([0, 100, 0, 0, 0, 0]), np.zeros(6))[1])
    Q = ur.ik(ur.fk(q))
    assert ur.nearest_equivalent(Q, ref).shape == (8, 6)


def test_bad_pose_input_raises_clear_errors() -> None:
    robot = ROBOTS["ur5e"]
    with pytest.raises(InputShapeError, match=r"\(\.\.\., 4, 4\)"):
        robot.ik(np.eye(3))
    T = np.eye(4)
    T[0, 0] = np.nan
    with pytest.raises(InputShapeError, match="NaN"):
        robot.ik(T)
    S = np.eye(4)
    S[:3, :3] *= 1.1
    with pytest.raises(InputShapeError, match="orthonormal"):
        robot.ik(S)
    M = np.eye(4)
    M[2, 2] = -1
    with pytest.raises(InputShapeError, match="reflection"):
        robot.ik(M)
    L = np.eye(4)
    L[3, 0] = 0.5
    batch = np.stack([np.eye(4), L])
    with pytest.raises(InputShapeError, match=r"index \(1,\).*last row"):
        robot.ik(batch)
    with pytest.raises(ModelError, match="ik_numerical"):
        ROBOTS["srs7"].ik(np.eye(4))


def test_numerical_ik_on_seven_axis_arm_reports_found_only_within_tolerance() -> None:
    robot = ROBOTS["srs7"]
    rng = np.random.default_rng(13)
    q = rng.uniform(robot.q_lower * 0.8, robot.q_upper * 0.8, size=(15, 7))
    for qq in q:
        T = robot.fk(qq)
        res = robot.ik_numerical(
            T, np.clip(qq + rng.normal(0, 0.15, 7), robot.q_lower, robot.q_upper), tol_m=1e-10
        )
        assert res.found, (res.residual_m, res.residual_rad)
        assert res.q is not None and res.residual_m <= 1e-10 and res.residual_rad <= 1e-6
        Tb = robot.fk(res.q)
        assert np.linalg.norm(Tb[:3, 3] - T[:3, 3]) <= 1e-10
        assert rotation_angle_between(Tb[:3, :3], T[:3, :3]) <= 1e-6
        assert robot.within_limits(res.q)
    far = np.eye(4)
    far[:3, 3] = [2.0, 0.0, 0.5]
    res = robot.ik_numerical(far, np.zeros(7))
    assert not res.found and res.q is None and res.residual_m > 0.5


def test_numerical_ik_agrees_with_analytic_on_ur() -> None:
    robot = ROBOTS["ur10e"]
    q = np.array([0.5, -1.1, 1.3, -0.7, 1.1, 0.3])
    T = robot.fk(q)
    res = robot.ik_numerical(T, q + 0.05, tol_m=1e-9, tol_rad=1e-9)
    assert res.found and res.q is not None
    assert np.abs(wrapped(res.q - q)).max() < 1e-7
    with pytest.raises(InputShapeError, match=r"\(4, 4\)"):
        robot.ik_numerical(np.stack([T, T]), q)
    with pytest.raises(InputShapeError, match=r"\(6,\)"):
        robot.ik_numerical(T, np.zeros(7))


def _opw_fk_general(
    th: np.ndarray, a1: float, a2: float, b: float, c1: float, c2: float, c3: float, c4: float
):  # type: ignore[no-untyped-def]
    def rz(t: float) -> np.ndarray:
        return np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1.0]])

    def ry(t: float) -> np.ndarray:
        return np.array([[math.cos(t), 0, math.sin(t)], [0, 1.0, 0], [-math.sin(t), 0, math.cos(t)]])

    C = rz(th[0]) @ (np.array([a1, b, c1]) + ry(th[1]) @ [0, 0, c2] + ry(th[1] + th[2]) @ [a2, 0, c3])
    R = rz(th[0]) @ ry(th[1] + th[2]) @ rz(th[3]) @ ry(th[4]) @ rz(th[5])
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = C + c4 * R[:, 2]
    return T


def test_opw_kernel_handles_a_lateral_offset_b() -> None:
    # a synthetic OPW arm with every parameter non-zero (the KR 6 has b = 0)
    lengths = (0.1, -0.05, 0.08, 0.5, 0.6, 0.55, 0.1)
    wide = np.full(6, 3 * math.pi)
    P = opw_params(lengths, np.zeros(6), np.ones(6), -wide, wide)
    rng = np.random.default_rng(14)
    th = rng.uniform(-math.pi, math.pi, size=(300, 6))
    T = np.array([_opw_fk_general(t, *lengths) for t in th])
    Q, bad = opw_ik_kernel(np.ascontiguousarray(T), P, 1e-6)
    assert bad == -1
    valid = ~np.isnan(Q).any(axis=-1)
    assert valid.all(axis=1).mean() > 0.5
    for k in range(len(th)):
        for qb in Q[k][valid[k]]:
            np.testing.assert_allclose(_opw_fk_general(qb, *lengths), T[k], atol=1e-12)
        assert np.abs(wrapped(Q[k][valid[k]] - th[k])).max(axis=-1).min() < 1e-7
