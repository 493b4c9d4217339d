"""KUKA KR 10 R1420: generated model against its published data, all-branch OPW IK round trip."""

from __future__ import annotations

import math

import numpy as np

from weldcell.kinematics import N_BRANCHES, load_robot
from weldcell.kinematics.specs import OPW_SPECS


def test_published_data() -> None:
    r = load_robot("kr10_r1420")
    assert r.kind == "opw" and r.n_joints == 6
    np.testing.assert_allclose(np.degrees(r.q_lower), [-170, -185, -137, -185, -120, -350])
    np.testing.assert_allclose(np.degrees(r.q_upper), [170, 65, 163, 185, 120, 350])
    np.testing.assert_allclose(np.degrees(r.qd_max), [220, 210, 270, 381, 311, 492])
    o = OPW_SPECS["kr10_r1420"]
    assert math.isclose(o.a1 + o.c2 + o.c3, 1.420)  # the "R1420" reach to the wrist point


def test_home_pose_matches_kuka_geometry() -> None:
    """At A2 = -90° (KUKA's upright zero) the arm is stretched forward: flange at
    x = a1 + c3 + c4, z = c1 + c2 - a2 (wrist axis above the elbow by |a2|)."""
    r = load_robot("kr10_r1420")
    T = r.fk(np.radians([0, -90, 90, 0, 0, 0]))
    # A3 = +90° from the upright pose points the forearm forward
    o = OPW_SPECS["kr10_r1420"]
    np.testing.assert_allclose(T[:3, 3], [o.a1 + o.c3 + o.c4, 0.0, o.c1 + o.c2 - o.a2], atol=1e-9)


def test_all_branch_ik_round_trip() -> None:
    r = load_robot("kr10_r1420")
    rng = np.random.default_rng(3)
    q = rng.uniform(r.q_lower, r.q_upper, size=(2000, 6))
    T = r.fk(q)
    Q = r.ik(T)
    assert Q.shape == (2000, N_BRANCHES, 6)
    valid = ~np.isnan(Q).any(axis=-1)
    assert valid.any(axis=1).all()
    Tv = np.broadcast_to(T[:, None], (*Q.shape[:-1], 4, 4))[valid]
    Tb = r.fk(Q[valid])
    assert np.abs(Tb - Tv).max() < 1e-9
    assert np.all(Q[valid] >= r.q_lower - 1e-12) and np.all(Q[valid] <= r.q_upper + 1e-12)
    assert valid.sum(axis=1).mean() > 2  # several branches per pose inside the limits
