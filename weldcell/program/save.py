"""Write a :class:`~weldcell.program.model.Program` back to the YAML format (units in field names).

``load_program(save_program(p, path))`` reproduces ``p`` to floating-point rounding (values are
written with 9 decimals in mm / deg). Normals are written normalised as the loader stores them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from weldcell.program.model import Body, Cell, Procedure, Program, Seam
from weldcell.program.schema import FORMAT_ID
from weldcell.program.weaves import WEAVE_PARAMETERS, weave_pattern
from weldcell.spatial import xyz_rpy_from_se3


def _r(x: float) -> float:
    v = round(float(x), 9)
    return 0.0 if v == 0.0 else v


def _mm(v: Any) -> list[float]:
    return [_r(x * 1e3) for x in np.asarray(v, dtype=np.float64).ravel()]


def _deg(x: float) -> float:
    return _r(math.degrees(x))


def _pose(T: np.ndarray) -> dict[str, list[float]]:
    xyz, rpy = xyz_rpy_from_se3(np.asarray(T))
    return {"xyz_mm": _mm(xyz), "rpy_deg": [_deg(a) for a in rpy]}


def _body(b: Body, base_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"name": b.name, "role": b.role, "pose": _pose(b.T_world_body)}
    if b.mounted_on is not None and b.T_flange_body is not None:
        out["pose"] = _pose(b.T_flange_body)  # in the positioner flange frame
        out["mounted_on"] = b.mounted_on
    out[b.geometry.kind] = b.geometry.to_spec(base_dir)
    return out


def _external(c: Cell) -> dict[str, Any]:
    ext = c.external
    if ext is None:
        return {}
    if ext.role == "track":
        home: dict[str, Any] = {"home_mm": [_r(v * 1e3) for v in ext.home]}
    else:
        home = {"home_deg": [_deg(v) for v in ext.home]}
    return {ext.role: {"model": ext.model, "base": _pose(ext.T_world_base), **home}}


def _positioning(s: Seam, c: Cell) -> dict[str, Any]:
    p, ext = s.positioning, c.external
    if p is None or ext is None:
        return {}
    if p.mode == "fixed" and p.weld_position is None and p.q is not None and np.allclose(p.q, ext.home):
        return {}  # what a seam without a positioner block means
    out: dict[str, Any] = {"mode": p.mode}
    if p.q is not None:
        if ext.role == "track":
            out["position_mm"] = [_r(v * 1e3) for v in p.q]
        else:
            out["angles_deg"] = [_deg(v) for v in p.q]
    if p.weld_position is not None:
        out["weld_position"] = p.weld_position
    out["tolerance_deg"] = _deg(p.tolerance)
    return {"positioner": out}


def _procedure(p: Procedure) -> dict[str, Any]:
    out: dict[str, Any] = {"process": p.process, "travel_speed_mm_s": _r(p.travel_speed * 1e3)}
    if p.wire_feed is not None:
        out["wire_feed_m_min"] = _r(p.wire_feed * 60.0)
    for key, val in (("voltage_v", p.voltage), ("current_a", p.current), ("laser_power_w", p.laser_power)):
        if val is not None:
            out[key] = _r(val)
    if p.job is not None:
        out["job"] = p.job
    out["gas"] = {"preflow_s": _r(p.gas_preflow), "postflow_s": _r(p.gas_postflow)}
    start: dict[str, Any] = {"dwell_s": _r(p.arc_start_dwell), "ramp_mm": _r(p.ramp_length * 1e3)}
    if p.arc_start_current is not None:
        start["current_a"] = _r(p.arc_start_current)
    out["arc_start"] = start
    crater: dict[str, Any] = {"time_s": _r(p.crater_fill_time)}
    if p.crater_fill_current is not None:
        crater["current_a"] = _r(p.crater_fill_current)
    if p.crater_fill_voltage is not None:
        crater["voltage_v"] = _r(p.crater_fill_voltage)
    out["crater_fill"] = crater
    out["work_angle_deg"] = _deg(p.work_angle)
    out["travel_angle_deg"] = _deg(p.travel_angle)
    if p.stickout is not None:
        out["stickout_mm"] = _r(p.stickout * 1e3)
    if p.weave is not None:
        w = p.weave
        weave: dict[str, Any] = {
            "pattern": w.pattern,
            "amplitude_mm": _r(w.amplitude * 1e3),
            "frequency_hz": _r(w.frequency),
        }
        for field_name in weave_pattern(w.pattern).parameters:
            attr, scale = WEAVE_PARAMETERS[field_name]
            weave[field_name] = _r(getattr(w, attr) / scale)
        out["weave"] = weave
    out["tolerance"] = {
        "work_angle_deg": _deg(p.work_angle_tolerance),
        "travel_angle_deg": _deg(p.travel_angle_tolerance),
    }
    if p.free_rotation:
        out["torch_rotation"] = {"mode": "free"}
    else:
        out["torch_rotation"] = {
            "mode": "fixed",
            "angle_deg": _deg(p.rotation_angle),
            "tolerance_deg": _deg(p.rotation_tolerance),
        }
    return out


def _seam(s: Seam, cell: Cell | None = None) -> dict[str, Any]:
    g = s.geometry
    pts = np.asarray(g.points)
    geom: dict[str, Any]
    if g.kind == "line":
        geom = {"line": {"start_mm": _mm(pts[0]), "end_mm": _mm(pts[1])}}
    elif g.kind == "arc":
        geom = {"arc": {"start_mm": _mm(pts[0]), "mid_mm": _mm(pts[1]), "end_mm": _mm(pts[2])}}
    elif g.kind == "circle":
        geom = {
            "circle": {
                "center_mm": _mm(g.center),
                "axis": [_r(x) for x in g.axis],
                "start_mm": _mm(pts[0]),
                "sweep_deg": _deg(g.sweep),
            }
        }
    elif g.kind == "polyline":
        geom = {"polyline": {"points_mm": [_mm(p) for p in pts], "blend_radius_mm": _r(g.blend_radius * 1e3)}}
    else:
        geom = {"spline": {"points_mm": [_mm(p) for p in pts]}}
    out: dict[str, Any] = {"id": s.id, "joint": s.joint}
    if s.workpiece is not None:
        out["workpiece"] = s.workpiece
    out["geometry"] = geom
    if s.normal_2 is not None:
        out["normals"] = [[_r(x) for x in s.normal_1], [_r(x) for x in s.normal_2]]
    else:
        out["face_normal"] = [_r(x) for x in s.normal_1]
    out["procedure"] = s.procedure
    out["direction"] = s.direction
    out["reversible"] = s.reversible
    passes = []
    for p in s.passes:
        d: dict[str, Any] = {"lateral_mm": _r(p.lateral * 1e3), "height_mm": _r(p.height * 1e3)}
        if p.work_angle is not None:
            d["work_angle_deg"] = _deg(p.work_angle)
        if p.travel_angle is not None:
            d["travel_angle_deg"] = _deg(p.travel_angle)
        if p.procedure is not None:
            d["procedure"] = p.procedure
        passes.append(d)
    out["passes"] = passes
    if s.stitch is not None:
        out["stitch"] = {
            "length_mm": _r(s.stitch.length * 1e3),
            "pitch_mm": _r(s.stitch.pitch * 1e3),
            "start_offset_mm": _r(s.stitch.start_offset * 1e3),
        }
    if cell is not None:
        out.update(_positioning(s, cell))
    return out


def program_to_dict(program: Program, base_dir: Path | None = None) -> dict[str, Any]:
    """The program as the plain data of its YAML file (mm, deg, mm/s, m/min).

    Args:
        program: The program.
        base_dir: Directory mesh paths are written relative to (default: the program's directory).
    """
    base = base_dir if base_dir is not None else program.path.parent
    c = program.cell
    data: dict[str, Any] = {"format": FORMAT_ID, "name": program.name}
    if program.description:
        data["description"] = program.description
    data["cell"] = {
        "robot": c.robot,
        "base": _pose(c.T_world_base),
        "torch": {"model": c.torch, "stickout_mm": _r(c.stickout * 1e3)},
        "home_deg": [_deg(q) for q in c.home_q],
        "approach_mm": _r(c.approach_distance * 1e3),
        "retract_mm": _r(c.retract_distance * 1e3),
        "clearance_mm": _r(c.clearance * 1e3),
        "bodies": [_body(b, base) for b in c.bodies],
        **_external(c),
    }
    if c.max_tcp_speed is not None:
        data["cell"]["max_tcp_speed_mm_s"] = _r(c.max_tcp_speed * 1e3)
    if c.max_elbow_speed is not None:
        data["cell"]["max_elbow_speed_mm_s"] = _r(c.max_elbow_speed * 1e3)
    data["procedures"] = {name: _procedure(p) for name, p in program.procedures.items()}
    data["seams"] = [_seam(s, c) for s in program.seams]
    if program.sequence is not None:
        data["sequence"] = list(program.sequence)
    if program.precedence:
        data["precedence"] = [list(p) for p in program.precedence]
    if program.touch:
        data["touch"] = [
            {
                "part": t.part,
                "max_offset_mm": _r(t.max_offset * 1e3),
                "searches": [
                    {
                        "start_mm": [_r(v * 1e3) for v in s.p_part_start],
                        "direction": [_r(v) for v in s.direction],
                        "distance_mm": _r(s.distance * 1e3),
                        "speed_mm_s": _r(s.speed * 1e3),
                        "retract_mm": _r(s.retract * 1e3),
                        "tool_axis": [_r(v) for v in s.tool_axis],
                    }
                    for s in t.searches
                ],
            }
            for t in program.touch
        ]
    return data


def save_program(program: Program, path: str | Path) -> Path:
    """Write ``program`` as a YAML program file at ``path`` and return the path."""
    out = Path(path)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(
        program_to_dict(program, out.parent),
        Dumper=dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
    )
    out.write_text(text, encoding="utf-8")
    return out
