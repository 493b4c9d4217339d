"""Unit converters used at the edges (program files, drivers). Inside weldcell everything is SI."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatLike = float | npt.NDArray[np.float64]


def mm_to_m(x_mm: FloatLike) -> FloatLike:
    """Millimetres to metres."""
    return x_mm * 1e-3


def m_to_mm(x_m: FloatLike) -> FloatLike:
    """Metres to millimetres."""
    return x_m * 1e3


def mm_s_to_m_s(v_mm_s: FloatLike) -> FloatLike:
    """Speed in mm/s to m/s."""
    return v_mm_s * 1e-3


def m_min_to_m_s(v_m_min: FloatLike) -> FloatLike:
    """Speed in m/min (wire feed) to m/s."""
    return v_m_min / 60.0


def deg_to_rad(a_deg: FloatLike) -> FloatLike:
    """Degrees to radians."""
    return a_deg * (math.pi / 180.0)


def rad_to_deg(a_rad: FloatLike) -> FloatLike:
    """Radians to degrees."""
    return a_rad * (180.0 / math.pi)
