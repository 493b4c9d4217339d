"""Seams of a program: geometry (degenerate cases), surface normals, passes and stitches."""

from __future__ import annotations

import math

import numpy as np

from weldcell.program.checks import (
    MIN_POINT_GAP_MM,
    MIN_SEAM_MM,
    MIN_STITCH_MM,
    NORMAL_PARALLEL_DEG,
    NORMAL_PERP_TOL_DEG,
    PASS_OFFSET_MM,
    SPLINE_NORMAL_MAX_DEG,
    Checker,
    check_travel_angle,
    check_work_angle,
    vec,
)
from weldcell.program.errors_map import Loc, did_you_mean
from weldcell.program.geometry import SeamCurve
from weldcell.program.model import (
    TWO_SURFACE_JOINTS,
    Body,
    Cell,
    Procedure,
    Seam,
    SeamGeometry,
    SeamPositioning,
    Stitch,
    WeldPass,
)
from weldcell.program.schema import GeometrySpec, ProgramSpec, SeamSpec


def _build_geometry(loc: Loc, g: GeometrySpec, chk: Checker) -> SeamGeometry:
    given = [k for k in ("line", "arc", "circle", "polyline", "spline") if getattr(g, k) is not None]
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        chk.fail(loc, f"expected exactly one of line, arc, circle, polyline, spline (got {got})")
    kind = given[0]
    gap = MIN_POINT_GAP_MM
    if g.line is not None:
        a, b = vec(g.line.start_mm), vec(g.line.end_mm)
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
        pts = np.stack([vec(g.arc.start_mm), vec(g.arc.mid_mm), vec(g.arc.end_mm)])
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
        center, axis, start = vec(c.center_mm), vec(c.axis), vec(c.start_mm)
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


def build_seam(
    i: int,
    ss: SeamSpec,
    spec: ProgramSpec,
    procedures: dict[str, Procedure],
    bodies: dict[str, Body],
    chk: Checker,
    cell: Cell | None = None,
) -> Seam:
    """One seam: references, geometry, normals, passes and stitches checked; geometry in SI."""
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
            check_work_angle((*ploc, "work_angle_deg"), ps.work_angle_deg, chk)
        if ps.travel_angle_deg is not None:
            check_travel_angle((*ploc, "travel_angle_deg"), ps.travel_angle_deg, chk)
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
        positioning=_build_positioning(loc, ss, bodies, chk, cell),
    )


def _build_positioning(
    loc: Loc, ss: SeamSpec, bodies: dict[str, Body], chk: Checker, cell: Cell | None
) -> SeamPositioning | None:
    """The seam's use of the cell's positioner or track (None for a cell without one)."""
    from weldcell.kinematics.positioner import load_positioner
    from weldcell.program.build_cell import check_external_limits, external_positions

    ext = None if cell is None else cell.external
    block = ss.positioner
    if ext is None:
        if block is not None:
            chk.fail(
                (*loc, "positioner"),
                "the cell has no positioner or track (expected cell.positioner or cell.track)",
            )
        return None
    default_position = "1G" if ss.joint in ("butt", "groove") else "1F"
    mounted = ss.workpiece is not None and bodies[ss.workpiece].mounted_on is not None
    if ext.role == "positioner" and not mounted:
        if block is not None:
            chk.fail(
                (*loc, "workpiece"),
                f"the seam uses the positioner but its workpiece ({ss.workpiece or 'the world'}) is not "
                "mounted on it; expected a workpiece body with mounted_on: positioner",
            )
        return None  # a seam on a static part: the positioner stays where it is
    if block is None:  # no positioner block: the device stays at home, no weld position is asked for
        return SeamPositioning("fixed", ext.home, None, math.radians(5.0))
    model = load_positioner(ext.model)
    bloc = (*loc, "positioner")
    wrong, right = (
        ("position_mm", "angles_deg") if ext.role == "positioner" else ("angles_deg", "position_mm")
    )
    if getattr(block, wrong) is not None:
        chk.fail(
            (*bloc, wrong),
            f"{wrong} is for a {'track' if ext.role == 'positioner' else 'positioner'}; "
            f"this cell has a {ext.role} ({ext.model}): use {right}",
        )
    given = getattr(block, right)
    q = None
    if given is not None:
        if block.mode != "fixed":
            chk.fail(
                (*bloc, right), f"{right} is only for mode fixed (the planner moves the axes in {block.mode})"
            )
        q = external_positions(model, given)
        if len(q) != model.n_axes:
            chk.fail((*bloc, right), f"expected {model.n_axes} value(s) for {model.name}, got {len(q)}")
        check_external_limits((*bloc, right), model, q, chk)
    if ext.role == "track" and block.weld_position is not None:
        chk.fail(
            (*bloc, "weld_position"),
            "a track carries the robot and cannot turn the part; remove weld_position",
        )
    wp = None if ext.role == "track" else (block.weld_position or default_position)
    return SeamPositioning(block.mode, q, wp, math.radians(block.tolerance_deg))


def _check_normals(
    loc: Loc, ss: SeamSpec, t0: np.ndarray, chk: Checker
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
        vecs = [(vec(v), (*loc, "normals", k)) for k, v in enumerate(ss.normals)]
    else:
        if ss.normals is not None:
            chk.fail(
                (*loc, "normals"),
                f"a {ss.joint} joint has one reference face: give face_normal, "
                "not normals (parallel surface normals do not define a torch frame)",
            )
        if ss.face_normal is None:
            chk.fail(loc, f"a {ss.joint} seam needs 'face_normal': the normal of the reference face")
        vecs = [(vec(ss.face_normal), (*loc, "face_normal"))]
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
