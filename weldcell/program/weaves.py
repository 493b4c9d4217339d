"""Weave patterns as a registry: one small class per pattern.

Each pattern says which optional parameters it takes, how fast it moves the torch across the seam,
where its corners are, and its offsets in the seam frame as exact functions of weld time. The schema
(`weldcell.program.schema`), the checks (`build_procedure`), saving (`save`), the tool path
(`weldcell.toolpath.weave`), the planner (corner handling) and ``weldcell check`` iterate over
:data:`WEAVE_PATTERNS` instead of spelling the pattern names. A new pattern is one class here plus
one line in :data:`WEAVE_PATTERNS`.

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

All values here are SI (m, s, Hz); the program file's ``*_mm`` fields are converted by the builder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from weldcell.program.model import Weave

NDArrayF = npt.NDArray[np.float64]

#: Optional weave parameters, by their program-file field name: (SI attribute of ``Weave``, unit scale
#: from the file's unit to SI).
WEAVE_PARAMETERS: dict[str, tuple[str, float]] = {
    "dwell_s": ("dwell", 1.0),
    "height_mm": ("height", 1e-3),
    "longitudinal_mm": ("longitudinal", 1e-3),
}


def triangle_wave(phase: NDArrayF) -> NDArrayF:
    """Unit triangle wave of ``phase`` [cycles]: 0 at 0, +1 at 1/4, 0 at 1/2, -1 at 3/4."""
    p = np.mod(phase + 0.25, 1.0)  # 0 at the -1 trough
    result: NDArrayF = 4.0 * np.abs(p - 0.5) - 1.0
    return -result


@dataclass(frozen=True)
class WeavePattern:
    """One weave pattern. Subclasses set the class variables and override the offsets.

    Attributes:
        name: The name in the program file (``pattern:``).
        parameters: Optional file fields this pattern takes (keys of :data:`WEAVE_PARAMETERS`).
        has_corners: Piecewise linear (steps in torch velocity at the corners).
        description: One line for the docs and the JSON schema.
    """

    name: ClassVar[str]
    parameters: ClassVar[tuple[str, ...]] = ()
    has_corners: ClassVar[bool] = False
    description: ClassVar[str] = ""

    def offsets(self, weave: Weave, tau: NDArrayF) -> NDArrayF:
        """Offsets (N, 3) [m] in the seam frame (x along travel, y across, lift) at weld times ``tau``."""
        raise NotImplementedError(self.name)

    def peak_speed(self, weave: Weave) -> float:
        """Peak speed [m/s] of the weave motion relative to the moving seam point."""
        raise NotImplementedError(self.name)

    def corner_phases(self, weave: Weave) -> NDArrayF:
        """Times [s] within one cycle ``[0, 1/f)`` where the pattern has a corner (none: empty)."""
        return np.zeros(0)

    def check(self, weave: Weave) -> list[tuple[str, str]]:
        """Pattern-specific problems as (file field, message); empty when the weave is valid."""
        return []


@dataclass(frozen=True)
class Sine(WeavePattern):
    name: ClassVar[str] = "sine"
    description: ClassVar[str] = "y = A sin(ωτ)"

    def offsets(self, weave: Weave, tau: NDArrayF) -> NDArrayF:
        out = np.zeros((tau.size, 3))
        out[:, 1] = weave.amplitude * np.sin(2.0 * np.pi * weave.frequency * tau)
        return out

    def peak_speed(self, weave: Weave) -> float:
        return 2.0 * math.pi * weave.frequency * weave.amplitude


@dataclass(frozen=True)
class Zigzag(WeavePattern):
    name: ClassVar[str] = "zigzag"
    has_corners: ClassVar[bool] = True
    description: ClassVar[str] = "y = A tri(fτ), straight traverses with sharp tips"

    def offsets(self, weave: Weave, tau: NDArrayF) -> NDArrayF:
        out = np.zeros((tau.size, 3))
        out[:, 1] = weave.amplitude * triangle_wave(weave.frequency * tau)
        return out

    def peak_speed(self, weave: Weave) -> float:
        return 4.0 * weave.frequency * weave.amplitude

    def corner_phases(self, weave: Weave) -> NDArrayF:
        return np.array([0.25, 0.75]) / weave.frequency


@dataclass(frozen=True)
class Triangle(WeavePattern):
    name: ClassVar[str] = "triangle"
    parameters: ClassVar[tuple[str, ...]] = ("height_mm",)
    has_corners: ClassVar[bool] = True
    description: ClassVar[str] = "zigzag across plus a lift H at the centre: a triangle over the root"

    def offsets(self, weave: Weave, tau: NDArrayF) -> NDArrayF:
        out = np.zeros((tau.size, 3))
        tri = triangle_wave(weave.frequency * tau)
        out[:, 1] = weave.amplitude * tri
        out[:, 2] = weave.height * (1.0 - np.abs(tri))
        return out

    def peak_speed(self, weave: Weave) -> float:
        return 4.0 * weave.frequency * math.hypot(weave.amplitude, weave.height)

    def corner_phases(self, weave: Weave) -> NDArrayF:
        return np.array([0.0, 0.25, 0.5, 0.75]) / weave.frequency

    def check(self, weave: Weave) -> list[tuple[str, str]]:
        if weave.height <= 0.0:
            return [("height_mm", "a triangle weave needs height_mm > 0 (use zigzag for a flat weave)")]
        return []


@dataclass(frozen=True)
class Trapezoid(WeavePattern):
    name: ClassVar[str] = "trapezoid"
    parameters: ClassVar[tuple[str, ...]] = ("dwell_s",)
    has_corners: ClassVar[bool] = True
    description: ClassVar[str] = "constant-speed traverses with an edge dwell D at ±A"

    @staticmethod
    def _breaks(weave: Weave) -> tuple[float, float, float, float, float]:
        """(traverse time -A→+A, then the four breakpoints of one cycle) [s]."""
        tr = (1.0 / weave.frequency - 2.0 * weave.dwell) / 2.0
        b1 = tr / 2.0
        b2 = b1 + weave.dwell
        b3 = b2 + tr
        return tr, b1, b2, b3, b3 + weave.dwell

    def offsets(self, weave: Weave, tau: NDArrayF) -> NDArrayF:
        tr, b1, b2, b3, b4 = self._breaks(weave)
        t = np.mod(tau, 1.0 / weave.frequency)
        # 0 → b1 rise to +1, dwell, fall over tr, dwell, rise back to 0
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
        out = np.zeros((tau.size, 3))
        out[:, 1] = weave.amplitude * np.asarray(y, dtype=np.float64)
        return out

    def peak_speed(self, weave: Weave) -> float:
        tr = self._breaks(weave)[0]
        return 2.0 * weave.amplitude / tr if tr > 0 else math.inf

    def corner_phases(self, weave: Weave) -> NDArrayF:
        return np.array(self._breaks(weave)[1:])

    def check(self, weave: Weave) -> list[tuple[str, str]]:
        f = weave.frequency
        if 2.0 * weave.dwell >= 1.0 / f:
            return [
                (
                    "dwell_s",
                    f"two edge dwells of {weave.dwell:g} s do not fit in one {f:g} Hz cycle "
                    f"({1.0 / f:.3g} s); expected dwell_s < {0.5 / f:.3g} s",
                )
            ]
        return []


@dataclass(frozen=True)
class Circular(WeavePattern):
    name: ClassVar[str] = "circular"
    parameters: ClassVar[tuple[str, ...]] = ("longitudinal_mm",)
    description: ClassVar[str] = "y = A sin(ωτ), x = L cos(ωτ) (L defaults to A)"

    def offsets(self, weave: Weave, tau: NDArrayF) -> NDArrayF:
        w = 2.0 * np.pi * weave.frequency
        out = np.zeros((tau.size, 3))
        out[:, 1] = weave.amplitude * np.sin(w * tau)
        out[:, 0] = weave.longitudinal * np.cos(w * tau)
        return out

    def peak_speed(self, weave: Weave) -> float:
        return 2.0 * math.pi * weave.frequency * max(weave.amplitude, weave.longitudinal)


@dataclass(frozen=True)
class FigureEight(WeavePattern):
    name: ClassVar[str] = "figure_eight"
    parameters: ClassVar[tuple[str, ...]] = ("longitudinal_mm",)
    description: ClassVar[str] = "y = A sin(ωτ), x = L sin(2ωτ) (L defaults to A)"

    def offsets(self, weave: Weave, tau: NDArrayF) -> NDArrayF:
        w = 2.0 * np.pi * weave.frequency
        out = np.zeros((tau.size, 3))
        out[:, 1] = weave.amplitude * np.sin(w * tau)
        out[:, 0] = weave.longitudinal * np.sin(2.0 * w * tau)
        return out

    def peak_speed(self, weave: Weave) -> float:  # upper bound: both components at their peaks
        return 2.0 * math.pi * weave.frequency * math.hypot(weave.amplitude, 2.0 * weave.longitudinal)


#: The registry: pattern name -> pattern (the order is the order of the docs and the schema).
WEAVE_PATTERNS: dict[str, WeavePattern] = {
    p.name: p for p in (Zigzag(), Sine(), Triangle(), Trapezoid(), Circular(), FigureEight())
}


def weave_pattern(name: str) -> WeavePattern:
    """The pattern called ``name``.

    Raises:
        KeyError: no such pattern (the message lists the known ones).
    """
    try:
        return WEAVE_PATTERNS[name]
    except KeyError:
        raise KeyError(
            f"unknown weave pattern {name!r}; expected one of {', '.join(WEAVE_PATTERNS)}"
        ) from None
