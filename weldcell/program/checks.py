"""Shared pieces of the program checks: plausibility limits and the error-raising checker.

The limits are deliberately wide: values outside them are typos or unit mistakes, not choices.
"""

from __future__ import annotations

import math
from typing import NoReturn

import numpy as np
import yaml

from weldcell.errors import ProgramError
from weldcell.program.errors_map import Loc, format_path, node_line
from weldcell.program.schema import PoseSpec
from weldcell.spatial import se3_from_xyz_rpy

# Plausibility limits (outside them a value is a typo or a unit mistake).
TRAVEL_SPEED_MM_S = (0.5, 50.0)
WIRE_FEED_M_MIN = (0.5, 25.0)
VOLTAGE_V = (5.0, 50.0)
CURRENT_A = (5.0, 600.0)
STICKOUT_MM = (3.0, 40.0)
WORK_ANGLE_DEG = (10.0, 170.0)
TRAVEL_ANGLE_MAX_DEG = 45.0
WEAVE_AMPLITUDE_MM = (0.2, 15.0)
WEAVE_FREQUENCY_HZ = 10.0
WEAVE_SPEED_MAX_MM_S = 150.0  # peak torch speed of the weave motion relative to the seam
WEAVE_MIN_PITCH_MM = 0.1  # seam advance per weave cycle; below it the path cannot be sampled
PASS_OFFSET_MM = 30.0
MIN_SEAM_MM = 1.0
MIN_STITCH_MM = 3.0
MIN_POINT_GAP_MM = 0.1
NORMAL_PERP_TOL_DEG = 2.0
NORMAL_PARALLEL_DEG = 5.0
SPLINE_NORMAL_MAX_DEG = 60.0  # spline normals are projected ⊥ to the start tangent


class Checker:
    """Raises errors that carry the file and the line of a field path."""

    def __init__(self, file: str, root: yaml.Node | None) -> None:
        self.file = file
        self.root = root

    def fail(self, loc: Loc, message: str) -> NoReturn:
        raise ProgramError(message, file=self.file, line=node_line(self.root, loc), field=format_path(loc))

    def name(self, loc: Loc, value: str, what: str) -> None:
        """Fail unless ``value`` is a usable name: not empty, no surrounding blanks or control characters.

        Names appear in messages, logs, weld records and controller programs, one per line.
        """
        if not value.strip():
            self.fail(loc, f"{what} is empty; expected a name such as 'fillet_1'")
        if value != value.strip() or not value.isprintable():
            self.fail(
                loc,
                f"{what} {value!r} has leading/trailing blanks or control characters (line breaks, "
                "tabs); expected a name on one line such as 'fillet_1'",
            )

    def in_range(self, loc: Loc, value: float, lo: float, hi: float, unit: str, hint: str = "") -> None:
        if not lo <= value <= hi:
            extra = f"; {hint}" if hint else ""
            self.fail(loc, f"{value:g} {unit} is outside the plausible range {lo:g}–{hi:g} {unit}{extra}")


def vec(v: list[float]) -> np.ndarray:
    """A list of numbers as a float64 array."""
    return np.asarray(v, dtype=np.float64)


def pose(p: PoseSpec) -> np.ndarray:
    """A pose spec (mm, deg) as a (4, 4) transform [m]."""
    return se3_from_xyz_rpy(vec(p.xyz_mm) * 1e-3, np.radians(vec(p.rpy_deg)))


def check_stickout(loc: Loc, value: float, chk: Checker) -> None:
    """Stick-out [mm]: plausible range, metres typed for mm."""
    if value < 1.0:
        chk.fail(loc, f"{value:g} mm looks like metres ({value * 1e3:g} mm?); stickout_mm is in millimetres")
    chk.in_range(loc, value, *STICKOUT_MM, "mm")


def check_work_angle(loc: Loc, value: float, chk: Checker) -> None:
    """Work angle [deg]: plausible range, radians typed for degrees."""
    if 0.0 < abs(value) < 3.2 and WORK_ANGLE_DEG[0] <= math.degrees(abs(value)) <= WORK_ANGLE_DEG[1]:
        chk.fail(loc, f"{value:g} looks like radians (= {math.degrees(value):.1f}°); the field is in degrees")
    chk.in_range(loc, value, *WORK_ANGLE_DEG, "°", "45 bisects a 90° fillet, 90 is square to the face")


def check_travel_angle(loc: Loc, value: float, chk: Checker) -> None:
    """Travel angle [deg]: within ±45° (push positive)."""
    chk.in_range(
        loc, value, -TRAVEL_ANGLE_MAX_DEG, TRAVEL_ANGLE_MAX_DEG, "°", "push is positive, drag negative"
    )
