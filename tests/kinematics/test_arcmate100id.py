"""FANUC ARC Mate 100iD (M-10iD/12): generated model against FANUC's published geometry, all-branch OPW IK."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.kinematics import N_BRANCHES, load_robot
from weldcell.kinematics.safety import CONTROLLER_JOINT_SPEEDS
from weldcell.kinematics.specs import OPW_SPECS

ROBOT = "arcmate100id"


def _rot(axis: tuple[float, float, float], angle: float) -> np.ndarray:
    a = np.asarray(axis, dtype=float)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    T = np.eye(4)
    T[:3, :3] = np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * (K @ K)
    return T


def _tr(x: float, y: float, z: float) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return T


def reference_fk(q: np.ndarray) -> np.ndarray:
    """Faceplate pose from FANUC's drawing, written joint by joint (independent of the OPW spec).

    Joint origins and axes as FANUC draws the M-10iD/12 at its zero (upper arm vertical, forearm
    horizontal, J3-J4 offset 195 mm above the forearm axis); the faceplate frame has z along the
    forearm and x up at zero.
    """
    chain = [
        ((0, 0, 0.450), (0, 0, 1)),
        ((0.075, 0, 0), (0, 1, 0)),
        ((0, 0, 0.640), (0, -1, 0)),
        ((0, 0, 0.195), (-1, 0, 0)),
        ((0.700, 0, 0), (0, -1, 0)),
        ((0.075, 0, 0), (-1, 0, 0)),
    ]
    T = np.eye(4)
    for (xyz, axis), qi in zip(chain, q, strict=True):
        T = T @ _tr(*xyz) @ _rot(axis, float(qi))
    R_faceplate = np.array([[0, 0, 1], [0, -1, 0], [1, 0, 0]], dtype=float)  # z forward, x up
    F = np.eye(4)
    F[:3, :3] = R_faceplate
    return T @ F


def test_published_data() -> None:
    r = load_robot(ROBOT)
    assert r.kind == "opw" and r.n_joints == 6
    np.testing.assert_allclose(np.degrees(r.q_lower), [-170, -90, -180, -190, -180, -450])
    np.testing.assert_allclose(np.degrees(r.q_upper), [170, 160, 264, 190, 180, 450])
    # the data sheet's speeds are FANUC's J1..J6 (J3 coupled to J2); the model's per-joint box
    # keeps FANUC's J3 within its 260 deg/s (kinematics.safety.joint_speed_box)
    np.testing.assert_allclose(np.degrees(CONTROLLER_JOINT_SPEEDS[ROBOT]), [260, 240, 260, 430, 450, 720])
    np.testing.assert_allclose(np.degrees(r.qd_max), [260, 124.8, 135.2, 430, 450, 720])
    o = OPW_SPECS[ROBOT]
    # the data sheet's 1441 mm reach: J1 axis to the wrist centre, arm stretched forward
    assert abs(o.a1 + o.c2 + math.hypot(o.c3, o.a2) - 1.441) < 1e-3


def test_zero_pose() -> None:
    """At zero the faceplate is 75 + 700 + 75 mm forward and 450 + 640 + 195 mm up, z forward, x up."""
    T = load_robot(ROBOT).fk(np.zeros(6))
    np.testing.assert_allclose(T[:3, 3], [0.850, 0.0, 1.285], atol=1e-12)
    np.testing.assert_allclose(T[:3, 2], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(T[:3, 0], [0, 0, 1], atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-3.0, 3.0), min_size=6, max_size=6))
def test_fk_matches_reference(q: list[float]) -> None:
    r = load_robot(ROBOT)
    qa = np.asarray(q)
    np.testing.assert_allclose(r.fk(qa), reference_fk(qa), atol=1e-12)


def test_all_branch_ik_round_trip() -> None:
    r = load_robot(ROBOT)
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
    # the original configuration is among the branches (up to 2π on joints with > 360° range)
    labels = r.configuration_labels(q)
    lab_b = r.configuration_labels(np.where(valid[..., None], Q, 0.0))
    same = (lab_b == labels[:, None, :]).all(axis=-1) & valid
    assert same.any(axis=1).mean() > 0.99
