"""Weave offsets in the seam frame as exact functions of weld time.

For weld time ``τ`` [s] (``τ = (s - s_start) / v``), phase ``φ = f τ`` (cycles) and ``ω = 2π f``:

============== ===================================================================================
pattern        offset (x along travel, y across, lift away from the root along -z of the seam frame)
============== ===================================================================================
sine           y = A sin(ωτ)
zigzag         y = A tri(φ), tri = triangle wave: 0 at φ = 0, +1 at ¼, 0 at ½, -1 at ¾
triangle       y = A tri(φ), lift = H (1 - |tri(φ)|): a triangle over the root in the cross-section
trapezoid      constant-speed traverses with an edge dwell D at ±A: from the centre up to +A,
               dwell D, across to -A, dwell D, back to the centre; traverse time (1/f - 2D)/2
circular       y = A sin(ωτ), x = L cos(ωτ)
figure_eight   y = A sin(ωτ), x = L sin(2ωτ)
============== ===================================================================================
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from weldcell.errors import InvalidValueError
from weldcell.program.model import Weave

NDArrayF = npt.NDArray[np.float64]


def triangle_wave(phase: NDArrayF) -> NDArrayF:
    """Unit triangle wave of ``phase`` [cycles]: 0 at 0, +1 at 1/4, 0 at 1/2, -1 at 3/4."""
    p = np.mod(phase + 0.25, 1.0)  # 0 at the -1 trough
    result: NDArrayF = 4.0 * np.abs(p - 0.5) - 1.0
    return -result


def _trapezoid(tau: NDArrayF, f: float, dwell: float) -> NDArrayF:
    period = 1.0 / f
    tr = (period - 2.0 * dwell) / 2.0  # full traverse -A → +A
    t = np.mod(tau, period)
    # breakpoints: 0 → tr/2 rise to +1, dwell, fall over tr, dwell, rise tr/2 back to 0
    b1 = tr / 2.0
    b2 = b1 + dwell
    b3 = b2 + tr
    b4 = b3 + dwell
    y = np.select(
        [t < b1, t < b2, t < b3, t < b4],
        [
            t / b1 if b1 > 0 else np.zeros_like(t),
            np.ones_like(t),
            1.0 - 2.0 * (t - b2) / tr,
            -np.ones_like(t),
        ],
        default=-1.0 + (t - b4) / b1 if b1 > 0 else np.zeros_like(t),
    )
    return np.asarray(y, dtype=np.float64)


def weave_offsets(weave: Weave, tau: npt.ArrayLike) -> NDArrayF:
    """Weave offsets (N, 3) [m] in the seam frame at weld times ``tau`` (N,) [s].

    Columns: x (along travel), y (across the joint), lift (away from the root, i.e. along -z_S).
    """
    t = np.asarray(tau, dtype=np.float64)
    a, f = weave.amplitude, weave.frequency
    w = 2.0 * np.pi * f
    out = np.zeros((t.size, 3))
    if weave.pattern == "sine":
        out[:, 1] = a * np.sin(w * t)
    elif weave.pattern == "zigzag":
        out[:, 1] = a * triangle_wave(f * t)
    elif weave.pattern == "triangle":
        tri = triangle_wave(f * t)
        out[:, 1] = a * tri
        out[:, 2] = weave.height * (1.0 - np.abs(tri))
    elif weave.pattern == "trapezoid":
        out[:, 1] = a * _trapezoid(t, f, weave.dwell)
    elif weave.pattern == "circular":
        out[:, 1] = a * np.sin(w * t)
        out[:, 0] = weave.longitudinal * np.cos(w * t)
    elif weave.pattern == "figure_eight":
        out[:, 1] = a * np.sin(w * t)
        out[:, 0] = weave.longitudinal * np.sin(2.0 * w * t)
    else:
        raise InvalidValueError(f"unknown weave pattern {weave.pattern!r}")
    return out


def weave_corner_times(weave: Weave, duration: float) -> NDArrayF:
    """Weld times [s] in ``[0, duration]`` where a piecewise-linear weave has a corner.

    Zigzag: the tips (phase ¼, ¾). Triangle: the tips and the centre crossings, where the lift
    peaks (phase 0, ¼, ½, ¾). Trapezoid: both ends of each edge dwell. Smooth patterns: none.
    Sampling at these times makes straight-line interpolation between samples exact.
    """
    period = 1.0 / weave.frequency
    if weave.pattern == "zigzag":
        phases = np.array([0.25, 0.75]) * period
    elif weave.pattern == "triangle":
        phases = np.array([0.0, 0.25, 0.5, 0.75]) * period
    elif weave.pattern == "trapezoid":
        tr = (period - 2.0 * weave.dwell) / 2.0
        b1 = tr / 2.0
        phases = np.array([b1, b1 + weave.dwell, b1 + weave.dwell + tr, b1 + 2.0 * weave.dwell + tr])
    else:
        return np.zeros(0)
    cycles = np.arange(math.floor(duration / period) + 1) * period
    t = (cycles[:, None] + phases[None, :]).ravel()
    return np.sort(t[(t >= 0.0) & (t <= duration)])
