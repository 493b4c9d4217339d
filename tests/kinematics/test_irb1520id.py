"""ABB IRB 1520ID: generated model against ABB's published data, all-branch OPW IK round trip."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.kinematics import N_BRANCHES, load_robot
from weldcell.kinematics.specs import OPW_SPECS


def test_published_data() -> None:
    r = load_robot("irb1520id")
    assert r.kind == "opw" and r.n_joints == 6
    np.testing.assert_allclose(np.degrees(r.q_lower), [-170, -90, -100, -155, -135, -200])
    np.testing.assert_allclose(np.degrees(r.q_upper), [170, 150, 80, 155, 135, 200])
    np.testing.assert_allclose(np.degrees(r.qd_max), [130, 140, 140, 320, 380, 460])
    o = OPW_SPECS["irb1520id"]
    # "/1.5": reach to the wrist centre with the arm stretched forward ≈ 1.5 m
    reach = o.a1 + math.hypot(o.c2 + o.c3, o.a2)
    assert 1.45 < reach < 1.5


def test_calibration_position_matches_abb() -> None:
    """At ABB's zero the flange is at x = 160 + 723 + 200 mm, z = 453 + 590 + 200 mm, tool0 z
    along base +x and x along base -z (ABB's tool0 orientation [0.7071, 0, 0.7071, 0])."""
    r = load_robot("irb1520id")
    T = r.fk(np.zeros(6))
    np.testing.assert_allclose(T[:3, 3], [1.083, 0.0, 1.243], atol=1e-12)
    np.testing.assert_allclose(T[:3, :3], [[0, 0, 1], [0, 1, 0], [-1, 0, 0]], atol=1e-12)


def test_abb_joint_directions() -> None:
    """ABB axis signs: +A2 leans the arm forward, +A3 lowers the upper arm, +A5 tilts the wrist down."""
    r = load_robot("irb1520id")
    p0 = r.fk(np.zeros(6))[:3, 3]
    assert r.fk(np.radians([0, 10, 0, 0, 0, 0]))[0, 3] > p0[0]
    assert r.fk(np.radians([0, 0, 10, 0, 0, 0]))[2, 3] < p0[2]
    assert r.fk(np.radians([0, 0, 0, 0, 90, 0]))[2, 2] < -0.999
    assert r.fk(np.radians([30, 0, 0, 0, 0, 0]))[1, 3] > 0.0  # +A1 counter-clockwise seen from above


def test_all_branch_ik_round_trip() -> None:
    r = load_robot("irb1520id")
    rng = np.random.default_rng(15)
    q = rng.uniform(r.q_lower, r.q_upper, size=(2000, 6))
    T = r.fk(q)
    Q = r.ik(T)
    assert Q.shape == (2000, N_BRANCHES, 6)
    valid = ~np.isnan(Q).any(axis=-1)
    assert valid.any(axis=1).all()
    Tv = np.broadcast_to(T[:, None], (*Q.shape[:-1], 4, 4))[valid]
    assert np.abs(r.fk(Q[valid]) - Tv).max() < 1e-9
    assert np.all(Q[valid] >= r.q_lower - 1e-12) and np.all(Q[valid] <= r.q_upper + 1e-12)
    # the sampled configuration itself is among the branches (up to 2π on the ±200° axes A6)
    diff = Q - q[:, None, :]
    diff = diff - 2 * np.pi * np.round(diff / (2 * np.pi))
    d = np.abs(np.where(np.isnan(Q), np.inf, diff)).max(axis=-1).min(axis=1)
    assert d.max() < 1e-7


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6))
def test_ik_returns_the_generating_configuration(u: list[float]) -> None:
    r = load_robot("irb1520id")
    q = r.q_lower + np.asarray(u) * (r.q_upper - r.q_lower)
    Q = r.ik(r.fk(q)[None])[0]
    ok = ~np.isnan(Q).any(axis=-1)
    assert ok.any()
    assert np.abs(r.fk(Q[ok]) - r.fk(q)).max() < 1e-9
