"""FANUC joint conventions: weldcell's model joints <-> the controller's joints, checked against an
independent forward kinematics written in FANUC's own joint convention.

The independent FK is the ROS-Industrial URDF of the arm (``fanuc_crx10ia_support/urdf/
crx10ial_macro.xacro``: joint origins and axes) fed with the controller's joints through the J2/J3
interaction the same package's driver launch file sets (``J23_factor = 1``: URDF j3 = J3 + J2), and
FANUC's faceplate orientation (z out of the faceplate, x up at all joints zero). None of weldcell's
kinematics is used on that side.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.drivers.fanuc.joints import (
    JOINT_MAPS,
    T_base_world,
    controller_deg_from_q,
    joint_map,
    q_from_controller_deg,
)
from weldcell.errors import DriverError
from weldcell.kinematics import load_robot

# ROS-Industrial crx10ial_macro.xacro: (origin xyz [m], axis) of joint_1 .. joint_6
_CRX10IAL_URDF = (
    ((0.0, 0.0, 0.245), (0.0, 0.0, 1.0)),
    ((0.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    ((0.0, 0.0, 0.710), (0.0, -1.0, 0.0)),
    ((0.0, 0.0, 0.0), (-1.0, 0.0, 0.0)),
    ((0.540, -0.150, 0.0), (0.0, -1.0, 0.0)),
    ((0.160, 0.0, 0.0), (-1.0, 0.0, 0.0)),
)


def _rot(axis: tuple[float, float, float], a: float) -> np.ndarray:
    k = np.asarray(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(a) * K + (1 - math.cos(a)) * K @ K


def crx_fk_fanuc_convention(j_deg: np.ndarray) -> np.ndarray:
    """Faceplate pose in the mounting-face frame [m] of controller joints ``j_deg`` [deg], (4, 4)."""
    j = np.radians(np.asarray(j_deg, dtype=float))
    urdf = j.copy()
    urdf[2] = j[2] + j[1]  # J23_factor = 1: the URDF's relative j3 from the controller's J3
    T = np.eye(4)
    for (xyz, axis), a in zip(_CRX10IAL_URDF, urdf, strict=True):
        S = np.eye(4)
        S[:3, 3] = xyz
        S[:3, :3] = _rot(axis, a)
        T = T @ S
    face = np.eye(4)  # FANUC faceplate: z along the last link (URDF x), x up (URDF z), y = -URDF y
    face[:3, :3] = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])
    return T @ face


_CRX = load_robot("crx10ial")


def test_crx_zero_pose_is_fanucs() -> None:
    """At controller joints zero the faceplate is where FANUC's geometry puts it: 700 mm forward,
    150 mm to the side (the wrist offset), 245 + 710 mm up, pointing forward."""
    q = q_from_controller_deg(np.zeros(6), joint_map("crx10ial"))
    np.testing.assert_allclose(q, 0.0, atol=1e-12)
    T = _CRX.fk(q)
    np.testing.assert_allclose(T[:3, 3], [0.700, -0.150, 0.955], atol=1e-9)
    np.testing.assert_allclose(T, crx_fk_fanuc_convention(np.zeros(6)), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-170.0, 170.0), min_size=6, max_size=6))
def test_crx_map_matches_urdf_fk_in_fanuc_convention(j: list[float]) -> None:
    """For any controller joints: weldcell's model at the mapped joints = the ROS-Industrial URDF."""
    robot = _CRX
    jd = np.asarray(j)
    q = q_from_controller_deg(jd, joint_map("crx10ial"))
    np.testing.assert_allclose(robot.fk(q), crx_fk_fanuc_convention(jd), atol=1e-9)
    np.testing.assert_allclose(controller_deg_from_q(q, joint_map("crx10ial")), jd, atol=1e-9)


def test_crx_interaction_signs() -> None:
    """J2+ leans the upper arm forward, J3+ lifts the forearm, and J2 alone keeps the forearm level
    (the J2/J3 interaction): checked on the model through the map."""
    m = joint_map("crx10ial")
    base = _CRX.fk(q_from_controller_deg(np.zeros(6), m))
    lean = _CRX.fk(q_from_controller_deg([0, 20, 0, 0, 0, 0], m))
    lift = _CRX.fk(q_from_controller_deg([0, 0, 20, 0, 0, 0], m))
    assert lean[0, 3] > base[0, 3]  # forward
    np.testing.assert_allclose(lean[:3, :3], base[:3, :3], atol=1e-12)  # forearm still level
    assert lift[2, 3] > base[2, 3]  # up


def test_world_frame_and_unknown_model() -> None:
    np.testing.assert_allclose(T_base_world("crx10ial")[:3, 3], [0, 0, 0.245])
    np.testing.assert_allclose(T_base_world("arcmate100id")[:3, 3], [0, 0, 0.450])
    with pytest.raises(DriverError, match="known: arcmate100id, crx10ial"):
        joint_map("ur5e")


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(JOINT_MAPS)), st.lists(st.floats(-3.0, 3.0), min_size=6, max_size=6))
def test_round_trip_every_model(name: str, q: list[float]) -> None:
    m = joint_map(name)
    back = q_from_controller_deg(controller_deg_from_q(np.asarray(q), m), m)
    np.testing.assert_allclose(back, q, atol=1e-12)


def test_arcmate_is_the_classic_interaction() -> None:
    """ARC Mate: J3 = q3 - q2, everything else equal (the legacy ``True`` mapping)."""
    q = np.radians([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    np.testing.assert_allclose(
        controller_deg_from_q(q, joint_map("arcmate100id")), [10, 20, 10, 40, 50, 60], atol=1e-12
    )
    np.testing.assert_allclose(controller_deg_from_q(q, True), [10, 20, 10, 40, 50, 60], atol=1e-12)
