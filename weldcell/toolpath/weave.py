"""Weave offsets in the seam frame as exact functions of weld time.

The shapes themselves live in the weave registry (:mod:`weldcell.program.weaves`, one class per
pattern, table of formulas there); this module evaluates them along a seam.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from weldcell.program.model import Weave
from weldcell.program.weaves import triangle_wave, weave_pattern

NDArrayF = npt.NDArray[np.float64]

__all__ = ["triangle_wave", "weave_corner_times", "weave_offsets"]


def weave_offsets(weave: Weave, tau: npt.ArrayLike) -> NDArrayF:
    """Weave offsets (N, 3) [m] in the seam frame at weld times ``tau`` (N,) [s].

    Columns: x (along travel), y (across the joint), lift (away from the root, i.e. along -z_S).

    Raises:
        KeyError: the weave's pattern is not in the registry.
    """
    t = np.asarray(tau, dtype=np.float64).reshape(-1)
    return weave_pattern(weave.pattern).offsets(weave, t)


def weave_corner_times(weave: Weave, duration: float) -> NDArrayF:
    """Weld times [s] in ``[0, duration]`` where a piecewise-linear weave has a corner.

    Zigzag: the tips (phase ¼, ¾). Triangle: the tips and the centre crossings, where the lift
    peaks (phase 0, ¼, ½, ¾). Trapezoid: both ends of each edge dwell. Smooth patterns: none.
    Sampling at these times makes straight-line interpolation between samples exact.
    """
    phases = weave_pattern(weave.pattern).corner_phases(weave)
    if phases.size == 0:
        return np.zeros(0)
    period = 1.0 / weave.frequency
    cycles = np.arange(math.floor(duration / period) + 1) * period
    t = (cycles[:, None] + phases[None, :]).ravel()
    return np.sort(t[(t >= 0.0) & (t <= duration)])
