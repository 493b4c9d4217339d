"""The positioner path choice: weld-position angles (properties), fixed vs coordinated in free mode,
a given fixed position, and an honest refusal when no position keeps the tolerance."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.kinematics.positioner import load_positioner
from weldcell.planning.positioner_path import (
    PositionerPath,
    RobotPlacement,
    SeamGeometryPart,
    choose_positioner_path,
    weld_position_angles,
    weld_position_deviation,
)
from weldcell.program.model import SeamPositioning


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@settings(max_examples=50, deadline=None)
@given(
    yaw=st.floats(-math.pi, math.pi),
    tilt=st.floats(0.0, math.pi),
    az=st.floats(-math.pi, math.pi),
)
def test_weld_position_angles_ignore_turns_about_vertical(yaw: float, tilt: float, az: float) -> None:
    b = np.array([math.sin(tilt) * math.cos(az), math.sin(tilt) * math.sin(az), math.cos(tilt)])
    t = np.cross(b, [0.0, 0.0, 1.0]) if tilt > 1e-3 else np.array([1.0, 0.0, 0.0])
    t = t / np.linalg.norm(t)
    R = _rz(yaw)
    tilt_w, slope_w = weld_position_angles(R[None], b[None], t[None])
    assert tilt_w[0] == np.float64(tilt) or abs(tilt_w[0] - tilt) < 1e-6
    assert abs(slope_w[0]) < 1e-6  # t ⊥ up: a horizontal weld axis
    dev = weld_position_deviation(tilt_w, slope_w, "2F")
    assert abs(dev[0] - abs(tilt - math.pi / 4)) < 1e-6


def _flange_fillet(sweep: float, n: int = 60) -> SeamGeometryPart:
    """A pipe-to-flange fillet (pipe radius 40 mm) around ``sweep`` [rad], part z up."""
    phi = np.linspace(0.0, sweep, n)
    radial = np.stack([np.cos(phi), np.sin(phi), np.zeros(n)], axis=1)
    tangent = np.stack([-np.sin(phi), np.cos(phi), np.zeros(n)], axis=1)
    b = (radial + np.array([0.0, 0.0, 1.0])) / math.sqrt(2.0)
    z = -b  # torch into the joint
    return SeamGeometryPart(s=0.04 * phi, p=0.04 * radial, t=tangent, b=b, z=z)


PLACE = RobotPlacement(np.array([[1, 0, 0, 0], [0, 1, 0, -0.6], [0, 0, 1, 0.5], [0, 0, 0, 1.0]]), 1.3)


def test_free_mode_turns_for_an_all_round_seam_and_stays_fixed_for_a_short_one() -> None:
    model = load_positioner("tilt_rotate_2ax")
    free = SeamPositioning("free", None, "1F", math.radians(4.0))
    full = choose_positioner_path(model, np.eye(4), np.eye(4), _flange_fillet(2 * math.pi, 24), free, PLACE,
                                  np.zeros(2), 0.006)  # fmt: skip
    assert isinstance(full, PositionerPath) and full.mode == "coordinated"
    assert full.max_deviation <= math.radians(4.0)
    assert abs(full.q[-1, 1] - full.q[0, 1]) > math.radians(350.0)  # the table turns all round
    assert np.ptp(full.q[:, 0]) < math.radians(3.0)  # the tilt holds (≈ 45°)
    assert abs(abs(full.q[0, 0]) - math.pi / 4) < math.radians(4.0)
    short = choose_positioner_path(model, np.eye(4), np.eye(4), _flange_fillet(math.radians(4.0), 8), free,
                                   PLACE, np.zeros(2), 0.006)  # fmt: skip
    assert isinstance(short, PositionerPath) and short.mode == "fixed"
    assert short.max_deviation <= math.radians(4.0)


def test_fixed_given_position_and_refusal() -> None:
    model = load_positioner("turntable_1ax")
    given_q = SeamPositioning("fixed", np.array([0.3]), "2F", math.radians(3.0))
    fixed = choose_positioner_path(model, np.eye(4), np.eye(4), _flange_fillet(math.pi), given_q, PLACE,
                                   np.zeros(1), 0.006)  # fmt: skip
    assert isinstance(fixed, PositionerPath) and fixed.mode == "fixed"
    np.testing.assert_allclose(fixed.at(np.array([0.0, 0.05])), [[0.3], [0.3]])
    assert fixed.max_deviation < 1e-9  # a vertical table axis keeps a pipe-to-plate fillet in 2F
    flat = SeamPositioning("coordinated", None, "1F", math.radians(5.0))
    why = choose_positioner_path(model, np.eye(4), np.eye(4), _flange_fillet(math.pi), flat, PLACE,
                                 np.zeros(1), 0.006)  # fmt: skip
    assert isinstance(why, str) and "1F" in why and "turntable_1ax" in why
