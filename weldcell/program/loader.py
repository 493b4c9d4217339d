"""Load a weld program: YAML with line marks → schema check → cross-field checks → SI dataclasses.

Every problem raises exactly one :class:`~weldcell.errors.ProgramError` (or its subclass
:class:`~weldcell.errors.ProgramFormatError` for YAML syntax and schema errors) naming the file,
the line, the field path and what was expected.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import NoReturn

import numpy as np
import yaml
from pydantic import ValidationError as PydanticValidationError

from weldcell.errors import ProgramError, ProgramFormatError
from weldcell.program import models_adapter
from weldcell.program.errors_map import (
    Loc,
    did_you_mean,
    find_duplicate_key,
    format_path,
    node_line,
    schema_error,
)
from weldcell.program.geometry import SeamCurve
from weldcell.program.model import (
    TWO_SURFACE_JOINTS,
    Body,
    Cell,
    Procedure,
    Program,
    Seam,
    SeamGeometry,
    Stitch,
    Weave,
    WeldPass,
)
from weldcell.program.schema import (
    BodySpec,
    GeometrySpec,
    PoseSpec,
    ProcedureSpec,
    ProgramSpec,
    SeamSpec,
    WeaveSpec,
)
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


class _Checker:
    """Raises errors that carry the file and the line of a field path."""

    def __init__(self, file: str, root: yaml.Node | None) -> None:
        self.file = file
        self.root = root

    def fail(self, loc: Loc, message: str) -> NoReturn:
        raise ProgramError(message, file=self.file, line=node_line(self.root, loc), field=format_path(loc))

    def in_range(self, loc: Loc, value: float, lo: float, hi: float, unit: str, hint: str = "") -> None:
        if not lo <= value <= hi:
            extra = f"; {hint}" if hint else ""
            self.fail(loc, f"{value:g} {unit} is outside the plausible range {lo:g}–{hi:g} {unit}{extra}")


def _vec(v: list[float]) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def _pose(p: PoseSpec) -> np.ndarray:
    return se3_from_xyz_rpy(_vec(p.xyz_mm) * 1e-3, np.radians(_vec(p.rpy_deg)))


def _parse(text: str, file: str) -> tuple[yaml.Node | None, object]:
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster; same marks
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" (column {mark.column + 1})" if mark else ""
        what = err.problem or err.context or "invalid YAML"
        raise ProgramFormatError(
            f"YAML syntax error{where}: {what}", file=file, line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as err:
        raise ProgramFormatError(f"YAML error: {err}", file=file) from None
    finally:
        loader.dispose()
    return node, data


def load_program(path: str | Path) -> Program:
    """Load, validate and convert a weld program file.

    Args:
        path: Program file (YAML, ``format: weldcell.program/1``).

    Returns:
        The program in SI units.

    Raises:
        ProgramFormatError: YAML syntax errors and schema violations (types, unknown keys, missing).
        ProgramError: Cross-field problems (references, geometry, implausible values, units).
    """
    p = Path(path)
    file = str(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ProgramError("file not found", file=file) from None
    except OSError as err:
        raise ProgramError(f"cannot read the file: {err.strerror}", file=file) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ProgramFormatError(f"not UTF-8 text (byte {err.start})", file=file) from None
    node, data = _parse(text, file)
    if data is None:
        raise ProgramFormatError("the file is empty; expected a weld program mapping", file=file)
    if not isinstance(data, dict):
        raise ProgramFormatError(
            "expected a mapping with format, name, cell, procedures and seams at the top level",
            file=file,
            line=1,
        )
    dup = find_duplicate_key(node)
    if dup is not None:
        loc, line = dup
        raise ProgramFormatError(
            f"key '{loc[-1]}' appears twice; each key may be given once",
            file=file,
            line=line,
            field=format_path(loc),
        )
    try:
        spec = ProgramSpec.model_validate(data)
    except PydanticValidationError as exc:
        raise schema_error(exc, node, file, ProgramSpec) from None
    chk = _Checker(file, node)
    return _build(spec, chk, p, hashlib.sha256(raw).hexdigest())


def _build(spec: ProgramSpec, chk: _Checker, path: Path, digest: str) -> Program:
    cell = _build_cell(spec, chk, path)
    procedures = {name: _build_procedure(name, ps, chk) for name, ps in spec.procedures.items()}
    bodies = {b.name: b for b in cell.bodies}
    seams: list[Seam] = []
    ids: set[str] = set()
    for i, ss in enumerate(spec.seams):
        if ss.id in ids:
            chk.fail(("seams", i, "id"), f"seam id '{ss.id}' is used twice; seam ids must be unique")
        ids.add(ss.id)
        seams.append(_build_seam(i, ss, spec, procedures, bodies, chk))
    sequence = _check_sequence(spec, chk)
    precedence = _check_precedence(spec, chk)
    return Program(
        path=path,
        hash=digest,
        version=spec.format,
        name=spec.name,
        description=spec.description,
        cell=cell,
        procedures=procedures,
        seams=tuple(seams),
        sequence=sequence,
        precedence=precedence,
    )


# -- cell ---------------------------------------------------------------------------------------
def _build_cell(spec: ProgramSpec, chk: _Checker, path: Path) -> Cell:
    c = spec.cell
    robots = models_adapter.robot_names()
    if c.robot not in robots:
        chk.fail(
            ("cell", "robot"),
            f"unknown robot '{c.robot}'{did_you_mean(c.robot, robots)} (known robots: {', '.join(robots)})",
        )
    torches = models_adapter.torch_names()
    if c.torch.model not in torches:
        chk.fail(
            ("cell", "torch", "model"),
            f"unknown torch '{c.torch.model}'{did_you_mean(c.torch.model, torches)} "
            f"(known torches: {', '.join(torches)})",
        )
    n, q_lo, q_hi = models_adapter.robot_joint_limits(c.robot)
    home = np.radians(_vec(c.home_deg))
    if len(home) != n:
        chk.fail(("cell", "home_deg"), f"expected {n} joint values for {c.robot} [deg], got {len(home)}")
    big = float(np.max(np.abs(c.home_deg))) if c.home_deg else 0.0
    if 0.5 < big <= 2.0 * math.pi and not all(float(v).is_integer() for v in c.home_deg):
        chk.fail(
            ("cell", "home_deg"),
            f"the values look like radians (largest {big:g}); home_deg expects degrees, e.g. -90",
        )
    if q_lo is not None and q_hi is not None:
        bad = np.flatnonzero((home < q_lo - 1e-9) | (home > q_hi + 1e-9))
        if bad.size:
            j = int(bad[0])
            chk.fail(
                ("cell", "home_deg", j),
                f"{c.home_deg[j]:g}° is outside joint {j + 1}'s limits "
                f"{math.degrees(q_lo[j]):g}°…{math.degrees(q_hi[j]):g}°",
            )
    if c.torch.stickout_mm is not None:
        _check_stickout(("cell", "torch", "stickout_mm"), c.torch.stickout_mm, chk)
        stickout = c.torch.stickout_mm * 1e-3
    else:
        stickout = models_adapter.torch_nominal_stickout(c.torch.model)
    bodies: list[Body] = []
    names: set[str] = set()
    for i, bs in enumerate(c.bodies):
        if bs.name in names:
            chk.fail(("cell", "bodies", i, "name"), f"body name '{bs.name}' is used twice")
        names.add(bs.name)
        bodies.append(_build_body(i, bs, chk, path))
    for key, value in (("approach_mm", c.approach_mm), ("retract_mm", c.retract_mm)):
        chk.in_range(("cell", key), value, 0.0, 500.0, "mm")
    chk.in_range(("cell", "clearance_mm"), c.clearance_mm, 0.0, 200.0, "mm")
    return Cell(
        robot=c.robot,
        T_world_base=_pose(c.base),
        torch=c.torch.model,
        stickout=stickout,
        T_flange_tcp=models_adapter.torch_T_flange_tcp(c.torch.model, stickout),
        bodies=tuple(bodies),
        home_q=home,
        approach_distance=c.approach_mm * 1e-3,
        retract_distance=c.retract_mm * 1e-3,
        clearance=c.clearance_mm * 1e-3,
    )


def _check_stickout(loc: Loc, value: float, chk: _Checker) -> None:
    if value < 1.0:
        chk.fail(loc, f"{value:g} mm looks like metres ({value * 1e3:g} mm?); stickout_mm is in millimetres")
    chk.in_range(loc, value, *STICKOUT_MM, "mm")


def _build_body(i: int, bs: BodySpec, chk: _Checker, path: Path) -> Body:
    loc = ("cell", "bodies", i)
    given = [k for k in ("box", "cylinder", "sphere", "mesh") if getattr(bs, k) is not None]
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        chk.fail(loc, f"body '{bs.name}' needs exactly one shape of box, cylinder, sphere, mesh (got {got})")
    shape = given[0]
    size = np.zeros(3)
    radius = length = 0.0
    mesh_path: Path | None = None
    scale = 1.0
    if bs.box is not None:
        size = _vec(bs.box.size_mm) * 1e-3
        if np.any(size <= 0.0):
            chk.fail((*loc, "box", "size_mm"), f"box sizes must be > 0 mm, got {bs.box.size_mm}")
    elif bs.cylinder is not None:
        radius, length = bs.cylinder.radius_mm * 1e-3, bs.cylinder.length_mm * 1e-3
    elif bs.sphere is not None:
        radius = bs.sphere.radius_mm * 1e-3
    elif bs.mesh is not None:
        mesh_path = (path.parent / bs.mesh.file).resolve()
        scale = bs.mesh.scale
        if not mesh_path.is_file():
            chk.fail(
                (*loc, "mesh", "file"), f"mesh file '{bs.mesh.file}' not found (looked in {path.parent})"
            )
    return Body(
        name=bs.name,
        role=bs.role,
        shape=shape,
        size=size,
        radius=radius,
        length=length,
        mesh_path=mesh_path,
        T_world_body=_pose(bs.pose),
        mesh_scale=scale,
    )


# -- procedures ---------------------------------------------------------------------------------
def _check_work_angle(loc: Loc, value: float, chk: _Checker) -> None:
    if 0.0 < abs(value) < 3.2 and WORK_ANGLE_DEG[0] <= math.degrees(abs(value)) <= WORK_ANGLE_DEG[1]:
        chk.fail(loc, f"{value:g} looks like radians (= {math.degrees(value):.1f}°); the field is in degrees")
    chk.in_range(loc, value, *WORK_ANGLE_DEG, "°", "45 bisects a 90° fillet, 90 is square to the face")


def _check_travel_angle(loc: Loc, value: float, chk: _Checker) -> None:
    chk.in_range(
        loc, value, -TRAVEL_ANGLE_MAX_DEG, TRAVEL_ANGLE_MAX_DEG, "°", "push is positive, drag negative"
    )


def _build_procedure(name: str, ps: ProcedureSpec, chk: _Checker) -> Procedure:
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
    _check_work_angle((*loc, "work_angle_deg"), ps.work_angle_deg, chk)
    _check_travel_angle((*loc, "travel_angle_deg"), ps.travel_angle_deg, chk)
    if ps.stickout_mm is not None:
        _check_stickout((*loc, "stickout_mm"), ps.stickout_mm, chk)
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
    a, f = ws.amplitude_mm, ws.frequency_hz
    longi = a if ws.longitudinal_mm is None else ws.longitudinal_mm
    w = 2.0 * math.pi * f
    if ws.pattern == "sine":
        return w * a
    if ws.pattern == "zigzag":
        return 4.0 * f * a
    if ws.pattern == "triangle":
        return 4.0 * f * math.hypot(a, ws.height_mm)
    if ws.pattern == "trapezoid":
        traverse = (1.0 / f - 2.0 * ws.dwell_s) / 2.0
        return 2.0 * a / traverse if traverse > 0 else math.inf
    if ws.pattern == "circular":
        return w * max(a, longi)
    return w * math.hypot(a, 2.0 * longi)  # figure_eight (upper bound)


def _build_weave(loc: Loc, ws: WeaveSpec, v_mm_s: float, chk: _Checker) -> Weave:
    a, f = ws.amplitude_mm, ws.frequency_hz
    if a < 0.05:
        chk.fail(
            (*loc, "amplitude_mm"), f"{a:g} mm looks like metres ({a * 1e3:g} mm?); amplitude_mm is in mm"
        )
    chk.in_range((*loc, "amplitude_mm"), a, *WEAVE_AMPLITUDE_MM, "mm")
    chk.in_range((*loc, "frequency_hz"), f, 0.0, WEAVE_FREQUENCY_HZ, "Hz")
    if ws.dwell_s > 0.0 and ws.pattern != "trapezoid":
        chk.fail((*loc, "dwell_s"), f"edge dwell only applies to the trapezoid pattern, not '{ws.pattern}'")
    if ws.height_mm > 0.0 and ws.pattern != "triangle":
        chk.fail((*loc, "height_mm"), f"height only applies to the triangle pattern, not '{ws.pattern}'")
    if ws.longitudinal_mm is not None and ws.pattern not in ("circular", "figure_eight"):
        chk.fail((*loc, "longitudinal_mm"), "longitudinal_mm only applies to circular and figure_eight")
    if ws.pattern == "triangle" and ws.height_mm <= 0.0:
        chk.fail((*loc, "height_mm"), "a triangle weave needs height_mm > 0 (use zigzag for a flat weave)")
    if ws.pattern == "trapezoid" and 2.0 * ws.dwell_s >= 1.0 / f:
        chk.fail(
            (*loc, "dwell_s"),
            f"two edge dwells of {ws.dwell_s:g} s do not fit in one {f:g} Hz cycle ({1.0 / f:.3g} s); "
            f"expected dwell_s < {0.5 / f:.3g} s",
        )
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
    longi = a if ws.longitudinal_mm is None else ws.longitudinal_mm
    return Weave(
        pattern=ws.pattern,
        amplitude=a * 1e-3,
        frequency=f,
        dwell=ws.dwell_s,
        height=ws.height_mm * 1e-3,
        longitudinal=longi * 1e-3 if ws.pattern in ("circular", "figure_eight") else 0.0,
    )


# -- seams --------------------------------------------------------------------------------------
def _build_geometry(loc: Loc, g: GeometrySpec, chk: _Checker) -> SeamGeometry:
    given = [k for k in ("line", "arc", "circle", "polyline", "spline") if getattr(g, k) is not None]
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        chk.fail(loc, f"expected exactly one of line, arc, circle, polyline, spline (got {got})")
    kind = given[0]
    gap = MIN_POINT_GAP_MM
    if g.line is not None:
        a, b = _vec(g.line.start_mm), _vec(g.line.end_mm)
        length = float(np.linalg.norm(b - a))
        if length < MIN_SEAM_MM:
            units = " (the coordinates look like metres; they are in mm)" if np.abs([a, b]).max() < 2 else ""
            chk.fail(
                (*loc, "line", "end_mm"),
                f"zero-length seam: start and end are {length:.3g} mm apart, "
                f"expected ≥ {MIN_SEAM_MM:g} mm{units}",
            )
        return SeamGeometry(kind, np.stack([a, b]) * 1e-3)
    if g.arc is not None:
        pts = np.stack([_vec(g.arc.start_mm), _vec(g.arc.mid_mm), _vec(g.arc.end_mm)])
        names = ("start_mm", "mid_mm", "end_mm")
        for i in range(3):
            for j in range(i + 1, 3):
                if np.linalg.norm(pts[i] - pts[j]) < gap:
                    chk.fail(
                        (*loc, "arc", names[j]),
                        f"arc points {names[i]} and {names[j]} coincide; "
                        "expected three distinct points on the arc",
                    )
        cr = np.linalg.norm(np.cross(pts[1] - pts[0], pts[2] - pts[0]))
        if cr < 1e-6 * np.linalg.norm(pts[2] - pts[0]) * np.linalg.norm(pts[1] - pts[0]) + 1e-12:
            chk.fail((*loc, "arc", "mid_mm"), "the three arc points are on a straight line; use a line seam")
        return SeamGeometry(kind, pts * 1e-3)
    if g.circle is not None:
        c = g.circle
        center, axis, start = _vec(c.center_mm), _vec(c.axis), _vec(c.start_mm)
        if np.linalg.norm(axis) < 1e-9:
            chk.fail((*loc, "circle", "axis"), "the circle axis is a zero vector; expected a direction")
        axis = axis / np.linalg.norm(axis)
        r_vec = start - center
        radius = float(np.linalg.norm(r_vec))
        if radius < MIN_SEAM_MM:
            chk.fail(
                (*loc, "circle", "start_mm"),
                f"the start point is {radius:.3g} mm from the centre; expected a radius ≥ {MIN_SEAM_MM:g} mm",
            )
        off = abs(float(r_vec @ axis))
        if off > 1e-3 * max(radius, 1.0):
            chk.fail(
                (*loc, "circle", "start_mm"),
                f"the start point is {off:.3g} mm out of the circle plane "
                "(centre, axis); expected start - centre perpendicular to the axis",
            )
        return SeamGeometry(
            kind, start[None] * 1e-3, center=center * 1e-3, axis=axis, sweep=math.radians(c.sweep_deg)
        )
    pl = g.polyline if g.polyline is not None else g.spline
    assert pl is not None  # mypy
    pts = np.asarray(pl.points_mm, dtype=np.float64)
    d = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    if np.any(d < gap):
        i = int(np.flatnonzero(d < gap)[0])
        chk.fail(
            (*loc, kind, "points_mm", i + 1),
            f"point {i + 1} coincides with point {i} "
            f"({d[i]:.3g} mm apart); expected distinct consecutive points",
        )
    blend = 0.0
    if g.polyline is not None:
        blend = g.polyline.blend_radius_mm
        u = np.diff(pts, axis=0) / d[:, None]
        turn = np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", u[:-1], u[1:]), -1.0, 1.0)))
        for k, th in enumerate(turn):
            ploc = (*loc, "polyline", "points_mm", k + 1)
            if th > 170.0:
                chk.fail(ploc, f"the seam turns back on itself at point {k + 1} ({th:.0f}°); expected < 170°")
            if th > 0.5 and blend <= 0.0:
                chk.fail(
                    (*loc, "polyline", "blend_radius_mm"),
                    f"point {k + 1} is a {th:.0f}° corner; the "
                    "torch cannot turn on the spot: expected blend_radius_mm > 0",
                )
        tan_len = blend * np.tan(np.radians(turn) / 2.0)
        need = np.concatenate([[0.0], tan_len]) + np.concatenate([tan_len, [0.0]])
        over = np.flatnonzero(need > d + 1e-9)
        if over.size:
            k = int(over[0])
            chk.fail(
                (*loc, "polyline", "blend_radius_mm"),
                f"a {blend:g} mm blend radius does not fit on "
                f"the {d[k]:.3g} mm segment between points {k} and {k + 1}; expected a smaller radius",
            )
    elif np.linalg.norm(pts[-1] - pts[0]) < gap and len(pts) < 4:
        chk.fail((*loc, "spline", "points_mm"), "a closed spline needs at least 4 points")
    return SeamGeometry(kind, pts * 1e-3, blend_radius=blend * 1e-3)


def _build_seam(
    i: int,
    ss: SeamSpec,
    spec: ProgramSpec,
    procedures: dict[str, Procedure],
    bodies: dict[str, Body],
    chk: _Checker,
) -> Seam:
    loc: tuple[str | int, ...] = ("seams", i)
    defined = ", ".join(procedures) or "none"
    if ss.procedure not in procedures:
        chk.fail(
            (*loc, "procedure"),
            f"procedure '{ss.procedure}' is not defined"
            f"{did_you_mean(ss.procedure, list(procedures))} (defined procedures: {defined})",
        )
    T_world_part = np.eye(4)
    if ss.workpiece is not None:
        if ss.workpiece not in bodies:
            chk.fail(
                (*loc, "workpiece"),
                f"no body named '{ss.workpiece}'"
                f"{did_you_mean(ss.workpiece, list(bodies))} (bodies: {', '.join(bodies) or 'none'})",
            )
        T_world_part = bodies[ss.workpiece].T_world_body
    geometry = _build_geometry((*loc, "geometry"), ss.geometry, chk)
    curve = SeamCurve(geometry)
    if curve.length < MIN_SEAM_MM * 1e-3:
        chk.fail((*loc, "geometry"), f"zero-length seam ({curve.length * 1e3:.3g} mm)")
    t0 = curve.start_tangent()
    n1, n2 = _check_normals(loc, ss, t0, chk)
    passes: list[WeldPass] = []
    for k, ps in enumerate(ss.passes):
        ploc = (*loc, "passes", k)
        for key in ("lateral_mm", "height_mm"):
            chk.in_range((*ploc, key), getattr(ps, key), -PASS_OFFSET_MM, PASS_OFFSET_MM, "mm")
        if ps.work_angle_deg is not None:
            _check_work_angle((*ploc, "work_angle_deg"), ps.work_angle_deg, chk)
        if ps.travel_angle_deg is not None:
            _check_travel_angle((*ploc, "travel_angle_deg"), ps.travel_angle_deg, chk)
        if ps.procedure is not None and ps.procedure not in procedures:
            chk.fail(
                (*ploc, "procedure"),
                f"procedure '{ps.procedure}' is not defined"
                f"{did_you_mean(ps.procedure, list(procedures))} (defined procedures: {defined})",
            )
        passes.append(
            WeldPass(
                lateral=ps.lateral_mm * 1e-3,
                height=ps.height_mm * 1e-3,
                work_angle=None if ps.work_angle_deg is None else math.radians(ps.work_angle_deg),
                travel_angle=None if ps.travel_angle_deg is None else math.radians(ps.travel_angle_deg),
                procedure=ps.procedure,
            )
        )
    stitch = None
    if ss.stitch is not None:
        st = ss.stitch
        if st.length_mm > st.pitch_mm:
            chk.fail(
                (*loc, "stitch", "length_mm"),
                f"stitch length {st.length_mm:g} mm is longer than its "
                f"pitch {st.pitch_mm:g} mm; expected length ≤ pitch (equal means continuous)",
            )
        if st.length_mm < MIN_STITCH_MM:
            chk.fail(
                (*loc, "stitch", "length_mm"),
                f"a {st.length_mm:g} mm stitch is too short to weld; expected ≥ {MIN_STITCH_MM:g} mm",
            )
        if st.start_offset_mm + st.length_mm > curve.length * 1e3 + 1e-6:
            chk.fail(
                (*loc, "stitch", "length_mm"),
                f"the first stitch ({st.start_offset_mm:g} + "
                f"{st.length_mm:g} mm) does not fit on the {curve.length * 1e3:.1f} mm seam",
            )
        stitch = Stitch(st.length_mm * 1e-3, st.pitch_mm * 1e-3, st.start_offset_mm * 1e-3)
    return Seam(
        id=ss.id,
        joint=ss.joint,
        geometry=geometry,
        T_world_part=T_world_part,
        workpiece=ss.workpiece,
        normal_1=n1,
        normal_2=n2,
        procedure=ss.procedure,
        direction=ss.direction,
        reversible=ss.reversible,
        passes=tuple(passes),
        stitch=stitch,
    )


def _check_normals(
    loc: Loc, ss: SeamSpec, t0: np.ndarray, chk: _Checker
) -> tuple[np.ndarray, np.ndarray | None]:
    two = ss.joint in TWO_SURFACE_JOINTS
    if two:
        if ss.normals is None:
            chk.fail(
                loc,
                f"a {ss.joint} seam needs 'normals': the outward normals of its two surfaces "
                "[[surface 1], [surface 2]]",
            )
        if ss.face_normal is not None:
            chk.fail(
                (*loc, "face_normal"),
                f"a {ss.joint} seam is defined by 'normals' (two surfaces); "
                "face_normal is for butt and groove joints",
            )
        vecs = [(_vec(v), (*loc, "normals", k)) for k, v in enumerate(ss.normals)]
    else:
        if ss.normals is not None:
            chk.fail(
                (*loc, "normals"),
                f"a {ss.joint} joint has one reference face: give face_normal, "
                "not normals (parallel surface normals do not define a torch frame)",
            )
        if ss.face_normal is None:
            chk.fail(loc, f"a {ss.joint} seam needs 'face_normal': the normal of the reference face")
        vecs = [(_vec(ss.face_normal), (*loc, "face_normal"))]
    out: list[np.ndarray] = []
    for v, vloc in vecs:
        n = float(np.linalg.norm(v))
        if n < 1e-9:
            chk.fail(vloc, "zero vector; expected a surface normal direction")
        u = v / n
        off = math.degrees(math.asin(min(1.0, abs(float(u @ t0)))))
        if ss.geometry.spline is not None:  # the start tangent of a spline is not obvious: project
            if off > SPLINE_NORMAL_MAX_DEG:
                chk.fail(
                    vloc,
                    f"the normal is only {90.0 - off:.1f}° from the spline's start tangent; expected a "
                    f"surface normal roughly at right angles to the seam (≥ {90 - SPLINE_NORMAL_MAX_DEG:g}°)",
                )
        elif off > NORMAL_PERP_TOL_DEG:
            chk.fail(
                vloc,
                f"the normal is {90.0 - off:.1f}° from the travel direction at the seam start; a "
                f"surface normal must be at right angles to the seam (within {NORMAL_PERP_TOL_DEG:g}°)",
            )
        u = u - (u @ t0) * t0
        out.append(u / np.linalg.norm(u))
    if two:
        ang = math.degrees(math.acos(float(np.clip(out[0] @ out[1], -1.0, 1.0))))
        if ang < NORMAL_PARALLEL_DEG or ang > 180.0 - NORMAL_PARALLEL_DEG:
            chk.fail(
                (*loc, "normals", 1),
                f"the two surface normals are parallel ({ang:.1f}° apart): they do "
                f"not define a {ss.joint} joint; expected surfaces meeting at an angle "
                "(for a butt joint use face_normal)",
            )
        return out[0], out[1]
    return out[0], None


def _check_sequence(spec: ProgramSpec, chk: _Checker) -> tuple[str, ...] | None:
    if spec.sequence is None:
        return None
    ids = [s.id for s in spec.seams]
    seen: set[str] = set()
    for k, sid in enumerate(spec.sequence):
        if sid not in ids:
            chk.fail(("sequence", k), f"no seam '{sid}'{did_you_mean(sid, ids)} (seams: {', '.join(ids)})")
        if sid in seen:
            chk.fail(("sequence", k), f"seam '{sid}' is listed twice")
        seen.add(sid)
    missing = [i for i in ids if i not in seen]
    if missing:
        chk.fail(
            ("sequence",),
            f"seams missing from the sequence: {', '.join(missing)}; list every seam "
            "once, or omit sequence to let the planner choose",
        )
    return tuple(spec.sequence)


def _check_precedence(spec: ProgramSpec, chk: _Checker) -> tuple[tuple[str, str], ...]:
    ids = [s.id for s in spec.seams]
    pairs: list[tuple[str, str]] = []
    for k, pair in enumerate(spec.precedence):
        for j, sid in enumerate(pair):
            if sid not in ids:
                chk.fail(
                    ("precedence", k, j), f"no seam '{sid}'{did_you_mean(sid, ids)} (seams: {', '.join(ids)})"
                )
        if pair[0] == pair[1]:
            chk.fail(("precedence", k), f"seam '{pair[0]}' cannot precede itself")
        pairs.append((pair[0], pair[1]))
    # cycle check (Kahn)
    succ: dict[str, list[str]] = {i: [] for i in ids}
    indeg = dict.fromkeys(ids, 0)
    for a, b in pairs:
        succ[a].append(b)
        indeg[b] += 1
    ready = [i for i in ids if indeg[i] == 0]
    done = 0
    while ready:
        node = ready.pop()
        done += 1
        for nxt in succ[node]:
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                ready.append(nxt)
    if done != len(ids):
        stuck = [i for i in ids if indeg[i] > 0]
        chk.fail(("precedence",), f"the precedence pairs form a cycle (involving {', '.join(stuck)})")
    if spec.sequence is not None:
        pos = {sid: k for k, sid in enumerate(spec.sequence)}
        for k, (a, b) in enumerate(pairs):
            if pos[a] > pos[b]:
                chk.fail(("precedence", k), f"the sequence welds '{b}' before '{a}', against this precedence")
    return tuple(pairs)
