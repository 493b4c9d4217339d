"""Procedures of a program: process parameters, torch angles and weave, with unit plausibility checks."""

from __future__ import annotations

import math

from weldcell.program.checks import (
    CURRENT_A,
    TRAVEL_SPEED_MM_S,
    VOLTAGE_V,
    WEAVE_AMPLITUDE_MM,
    WEAVE_FREQUENCY_HZ,
    WEAVE_MIN_PITCH_MM,
    WEAVE_SPEED_MAX_MM_S,
    WIRE_FEED_M_MIN,
    Checker,
    check_stickout,
    check_travel_angle,
    check_work_angle,
)
from weldcell.program.errors_map import Loc
from weldcell.program.model import Procedure, Weave
from weldcell.program.schema import ProcedureSpec, WeaveSpec
from weldcell.program.weaves import WEAVE_PARAMETERS, WEAVE_PATTERNS, weave_pattern


def build_procedure(name: str, ps: ProcedureSpec, chk: Checker) -> Procedure:
    """One procedure in SI, after plausibility and unit checks of every value."""
    loc: tuple[str | int, ...] = ("procedures", name)
    v = ps.travel_speed_mm_s
    lo, hi = TRAVEL_SPEED_MM_S
    if not lo <= v <= hi:
        hint = ""
        if lo <= v * 1e3 <= hi:
            hint = f"; {v:g} looks like m/s: write travel_speed_mm_s: {v * 1e3:g}"
        elif lo <= v / 60.0 <= hi:
            hint = f"; {v:g} looks like mm/min: write travel_speed_mm_s: {v / 60.0:.3g}"
        chk.fail(
            (*loc, "travel_speed_mm_s"), f"{v:g} mm/s is outside the plausible range {lo:g}–{hi:g} mm/s{hint}"
        )
    if ps.wire_feed_m_min is not None:
        w = ps.wire_feed_m_min
        hint = f"{w:g} looks like mm/s (= {w * 0.06:.3g} m/min)" if 30.0 <= w <= 420.0 else ""
        chk.in_range((*loc, "wire_feed_m_min"), w, *WIRE_FEED_M_MIN, "m/min", hint)
    if ps.voltage_v is not None:
        chk.in_range((*loc, "voltage_v"), ps.voltage_v, *VOLTAGE_V, "V")
    for key, val in (("current_a", ps.current_a),):
        if val is not None:
            chk.in_range((*loc, key), val, *CURRENT_A, "A")
    if (
        ps.process in ("mig", "mag")
        and ps.wire_feed_m_min is None
        and ps.current_a is None
        and ps.job is None
    ):
        chk.fail(loc, f"a {ps.process.upper()} procedure needs wire_feed_m_min, current_a or job")
    if ps.process == "tig" and ps.current_a is None and ps.job is None:
        chk.fail(loc, "a TIG procedure needs current_a or job")
    if ps.process == "laser" and ps.laser_power_w is None and ps.job is None:
        chk.fail(loc, "a laser procedure needs laser_power_w or job")
    check_work_angle((*loc, "work_angle_deg"), ps.work_angle_deg, chk)
    check_travel_angle((*loc, "travel_angle_deg"), ps.travel_angle_deg, chk)
    if ps.stickout_mm is not None:
        check_stickout((*loc, "stickout_mm"), ps.stickout_mm, chk)
    for key in ("work_angle_deg", "travel_angle_deg"):
        chk.in_range((*loc, "tolerance", key), getattr(ps.tolerance, key), 0.0, 45.0, "°")
    rot = ps.torch_rotation
    if rot.mode == "fixed":
        chk.in_range((*loc, "torch_rotation", "tolerance_deg"), rot.tolerance_deg, 0.0, 180.0, "°")
    weave = _build_weave((*loc, "weave"), ps.weave, v, chk) if ps.weave is not None else None
    return Procedure(
        name=name,
        process=ps.process,
        travel_speed=v * 1e-3,
        work_angle=math.radians(ps.work_angle_deg),
        travel_angle=math.radians(ps.travel_angle_deg),
        wire_feed=None if ps.wire_feed_m_min is None else ps.wire_feed_m_min / 60.0,
        voltage=ps.voltage_v,
        current=ps.current_a,
        job=ps.job,
        laser_power=ps.laser_power_w,
        gas_preflow=ps.gas.preflow_s,
        gas_postflow=ps.gas.postflow_s,
        arc_start_dwell=ps.arc_start.dwell_s,
        arc_start_current=ps.arc_start.current_a,
        ramp_length=ps.arc_start.ramp_mm * 1e-3,
        crater_fill_time=ps.crater_fill.time_s,
        crater_fill_current=ps.crater_fill.current_a,
        crater_fill_voltage=ps.crater_fill.voltage_v,
        stickout=None if ps.stickout_mm is None else ps.stickout_mm * 1e-3,
        weave=weave,
        work_angle_tolerance=math.radians(ps.tolerance.work_angle_deg),
        travel_angle_tolerance=math.radians(ps.tolerance.travel_angle_deg),
        free_rotation=rot.mode == "free",
        rotation_angle=math.radians(rot.angle_deg) if rot.mode == "fixed" else 0.0,
        rotation_tolerance=math.radians(rot.tolerance_deg) if rot.mode == "fixed" else math.pi,
    )


def weave_peak_speed_mm_s(ws: WeaveSpec) -> float:
    """Peak speed of the weave motion relative to the moving seam point [mm/s]."""
    return weave_pattern(ws.pattern).peak_speed(_si_weave(ws)) * 1e3


def _si_weave(ws: WeaveSpec) -> Weave:
    """The weave of a file spec in SI units (longitudinal defaults to the amplitude where it applies)."""
    pattern = weave_pattern(ws.pattern)
    values: dict[str, float] = {}
    for field_name in pattern.parameters:
        attr, scale = WEAVE_PARAMETERS[field_name]
        given = getattr(ws, field_name)
        if given is None and field_name == "longitudinal_mm":
            given = ws.amplitude_mm
        values[attr] = float(given) * scale
    return Weave(pattern=ws.pattern, amplitude=ws.amplitude_mm * 1e-3, frequency=ws.frequency_hz, **values)


def _build_weave(loc: Loc, ws: WeaveSpec, v_mm_s: float, chk: Checker) -> Weave:
    a, f = ws.amplitude_mm, ws.frequency_hz
    if a < 0.05:
        chk.fail(
            (*loc, "amplitude_mm"), f"{a:g} mm looks like metres ({a * 1e3:g} mm?); amplitude_mm is in mm"
        )
    chk.in_range((*loc, "amplitude_mm"), a, *WEAVE_AMPLITUDE_MM, "mm")
    chk.in_range((*loc, "frequency_hz"), f, 0.0, WEAVE_FREQUENCY_HZ, "Hz")
    pattern = weave_pattern(ws.pattern)
    for field_name in WEAVE_PARAMETERS:  # a parameter the pattern does not take is a mistake, not ignored
        if (
            field_name in pattern.parameters
            or getattr(ws, field_name) == WeaveSpec.model_fields[field_name].default
        ):
            continue
        takes = [n for n, p in WEAVE_PATTERNS.items() if field_name in p.parameters]
        chk.fail(
            (*loc, field_name), f"{field_name} only applies to {' and '.join(takes)}, not '{ws.pattern}'"
        )
    weave = _si_weave(ws)
    for field_name, message in pattern.check(weave):
        chk.fail((*loc, field_name), message)
    pitch = v_mm_s / f
    if pitch < WEAVE_MIN_PITCH_MM:
        chk.fail(
            (*loc, "frequency_hz"),
            f"at {v_mm_s:g} mm/s a {f:g} Hz weave advances only {pitch:.3g} mm per cycle; the path needs "
            f"≥ {WEAVE_MIN_PITCH_MM:g} mm per cycle (frequency ≤ {v_mm_s / WEAVE_MIN_PITCH_MM:.3g} Hz)",
        )
    peak = weave_peak_speed_mm_s(ws)
    if peak > WEAVE_SPEED_MAX_MM_S:
        chk.fail(
            (*loc, "frequency_hz"),
            f"a {f:g} Hz {ws.pattern} weave of ±{a:g} mm needs a torch speed of {peak:.0f} mm/s across the "
            f"seam; the path can hold at most {WEAVE_SPEED_MAX_MM_S:g} mm/s: lower the frequency to "
            f"≤ {f * WEAVE_SPEED_MAX_MM_S / peak:.2g} Hz or the amplitude",
        )
    return weave
