"""Actual welding parameters of a seam attempt, from its logged process signals (traceable records).

For each seam attempt: mean, minimum, maximum and standard deviation of welding current [A], arc
voltage [V], wire feed speed [m/s], travel speed [m/s] and heat input [J/m], and the seam's overall
arc energy and heat input.

Definitions (ISO/TR 17671-1 / EN 1011-1): arc energy ``E = U·I / v`` per unit length, heat input
``Q = k·E`` with the thermal efficiency ``k`` of the process (0.8 for MIG/MAG, processes 131/135,
the processes weldcell's power sources run). Travel speed is the seam arc length covered between
two samples over their time step. Per-interval values use the interval's mean current and voltage;
the per-interval heat input is taken only where the torch travels (speed above a quarter of the
seam's mean speed: the arc-start dwell and the crater fill, at rest, have no finite heat input per
length); the overall values are the arc energy of the whole attempt over the length welded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.cell.logrecords import SignalTrace

#: Thermal efficiency of MIG/MAG welding (ISO/TR 17671-1: processes 131, 135, 136, 138: 0.8).
THERMAL_EFFICIENCY_MIG_MAG = 0.8
#: Intervals slower than this fraction of the seam's mean travel speed count as "at rest".
_MOVING_FRACTION = 0.25


@dataclass(frozen=True, slots=True)
class Stat:
    """Statistics of one quantity over a seam attempt (None when it has no finite sample).

    Attributes:
        mean: Mean, in the quantity's unit.
        min: Minimum.
        max: Maximum.
        std: Population standard deviation.
        n: Number of finite samples (or intervals) used.
    """

    mean: float | None
    min: float | None
    max: float | None
    std: float | None
    n: int


@dataclass(frozen=True, slots=True)
class SeamStatistics:
    """Actual parameters of one seam attempt.

    Attributes:
        samples: Number of process-signal samples.
        duration: Time from the first to the last sample [s].
        length: Seam arc length covered [m].
        current: Welding current [A].
        voltage: Arc voltage [V].
        wire_feed: Wire feed speed [m/s].
        travel_speed: Travel speed [m/s] per sample interval.
        heat_input: Heat input per interval where the torch travels [J/m].
        arc_energy_total: Arc energy of the attempt over its length [J/m] (None: no length welded).
        heat_input_total: ``thermal_efficiency`` times ``arc_energy_total`` [J/m].
        thermal_efficiency: The ``k`` used (dimensionless).
    """

    samples: int
    duration: float
    length: float
    current: Stat
    voltage: Stat
    wire_feed: Stat
    travel_speed: Stat
    heat_input: Stat
    arc_energy_total: float | None
    heat_input_total: float | None
    thermal_efficiency: float


def stat_of(x: npt.ArrayLike) -> Stat:
    """:class:`Stat` of the finite values of ``x`` (NaN, inf ignored)."""
    a = np.asarray(x, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return Stat(None, None, None, None, 0)
    return Stat(float(a.mean()), float(a.min()), float(a.max()), float(a.std()), int(a.size))


def seam_statistics(
    tr: SignalTrace, thermal_efficiency: float = THERMAL_EFFICIENCY_MIG_MAG
) -> SeamStatistics:
    """The actual parameters of a seam attempt from its signal trace (see the module docstring).

    Args:
        tr: The attempt's process signals (``WeldLog.signals``), in the order written.
        thermal_efficiency: Thermal efficiency ``k`` of the process, in (0, 1].

    Raises:
        ValueError: ``thermal_efficiency`` outside (0, 1].
    """
    if not 0.0 < thermal_efficiency <= 1.0:
        raise ValueError(f"thermal efficiency {thermal_efficiency}: expected a value in (0, 1]")
    n = len(tr)
    t, s, cur, volt = tr.t, tr.seam_s, tr.current, tr.voltage
    dt = np.diff(t)
    ds = np.abs(np.diff(s))
    ok = np.isfinite(dt) & np.isfinite(ds) & (dt > 0)
    speed = np.where(ok, ds / np.where(dt > 0, dt, 1.0), np.nan)
    power = cur * volt  # [W]
    p_mid = 0.5 * (power[1:] + power[:-1]) if n > 1 else np.zeros(0)
    energy = np.where(ok & np.isfinite(p_mid), p_mid * np.where(ok, dt, 0.0), 0.0)  # [J] per interval
    length = float(ds[ok].sum()) if n > 1 else 0.0
    covered_time = float(dt[ok].sum()) if n > 1 else 0.0
    mean_speed = length / covered_time if covered_time > 0 else 0.0
    moving = ok & (speed > _MOVING_FRACTION * mean_speed) & (mean_speed > 0) & np.isfinite(p_mid)
    hi = np.where(moving, thermal_efficiency * p_mid / np.where(moving, speed, 1.0), np.nan)
    arc_energy = float(energy.sum()) / length if length > 0 else None
    return SeamStatistics(
        samples=n,
        duration=float(t[-1] - t[0]) if n > 1 else 0.0,
        length=length,
        current=stat_of(cur),
        voltage=stat_of(volt),
        wire_feed=stat_of(tr.wire_feed),
        travel_speed=stat_of(speed),
        heat_input=stat_of(hi),
        arc_energy_total=arc_energy,
        heat_input_total=None if arc_energy is None else thermal_efficiency * arc_energy,
        thermal_efficiency=thermal_efficiency,
    )
