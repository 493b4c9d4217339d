"""Plausibility of a valid program: what parses but cannot be right.

The loader rejects malformed programs; these checks find programs that load but would weld the wrong
thing or nothing at all (``weldcell check`` shows them as warnings; ``--strict`` makes them errors):

* **off the part**: a seam whose curve lies on no workpiece surface (distance from the seam samples
  to the nearest surface of a workpiece body: boxes, cylinders and spheres exactly, meshes with
  trimesh), e.g. a seam typed 10 mm off the joint, in mid-air;
* **torch inside the material**: the torch axis behind the tool point runs into a workpiece or
  fixture (the programmed normals point into the material, so the torch approaches from inside);
* **out of reach**: torch poses that put the flange farther from the robot's shoulder than the arm's
  largest reach (from its kinematic model), whatever the rotation about the torch axis.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.program.geometry import SeamCurve
from weldcell.program.model import Body, Program
from weldcell.program.shapes import Mesh
from weldcell.toolpath.path import seam_samples
from weldcell.toolpath.segments import WeldSegment, stitch_ranges, toolpaths_for_program

NDArrayF = npt.NDArray[np.float64]

SURFACE_TOLERANCE = 3e-3  # [m] a seam farther than this from every workpiece surface is off the part
TORCH_BACK_DISTANCE = 3e-3  # [m] the torch axis point behind the TCP that must be outside the material
INSIDE_TOLERANCE = 2e-4  # [m] penetration below this counts as touching
SEAM_SAMPLE_STEP = 2e-3  # [m]


@dataclass(frozen=True, slots=True)
class ProgramWarning:
    """Something in a valid program that cannot be right.

    Attributes:
        seam_id: The seam concerned ("" for a warning about a cell body).
        kind: ``"not_selected"`` (a seam written with ``selected: false``, left out),
            ``"off_surface"``, ``"torch_inside_material"``, ``"out_of_reach"``, ``"mesh_hull"`` (a
            mesh shell that the planner and the simulator model by its convex hull; ``value`` is the
            volume the hull adds [m^3], NaN for a shell that is not closed) or ``"stitch_tail"`` (the
            stitch pattern leaves more of the seam's end unwelded than the gap between stitches:
            the next stitch does not fit; ``value`` is the unwelded tail [m], ``limit`` the gap).
        message: The full sentence for the user (names the seam, the value and the limit).
        value: The measured value [m] (distance to a surface, depth, or flange distance).
        limit: The limit it was compared with [m].
        s: Arc length along the seam where the value was measured [m].
    """

    seam_id: str
    kind: str
    message: str
    value: float
    limit: float
    s: float


def body_signed_distance(body: Body, p_world: NDArrayF) -> NDArrayF:
    """Signed distance [m] of world points (N, 3) to a body's surface: > 0 outside, < 0 inside."""
    T = np.asarray(body.T_world_body, dtype=np.float64)
    p = (np.asarray(p_world, dtype=np.float64) - T[:3, 3]) @ T[:3, :3]
    return body.geometry.signed_distance(p)


REACH_CACHE_VERSION = 1  # bump when _compute_arm_reach changes


@functools.lru_cache(maxsize=16)
def arm_reach(robot_name: str) -> tuple[NDArrayF, float]:
    """Shoulder point (3,) [m] in the base frame and the largest flange distance [m] from it.

    The shoulder point is on the first joint's axis (base z) at the height of the second joint;
    the distance is maximised over the joint ranges (seeded samples refined by a local optimiser),
    so it is the arm's real reach from its kinematic model, not a sum of link lengths.

    The result is kept in the user cache (:func:`weldcell.resources.cache_dir`), keyed by the sha256
    of the robot's URDF, so that ``weldcell check`` does not load the compiled kinematics and scipy's
    optimiser on every run; a missing, unreadable or stale entry is recomputed.
    """
    import hashlib
    import json
    import os

    from weldcell.kinematics.models import urdf_path
    from weldcell.resources import cache_dir

    digest = hashlib.sha256(urdf_path(robot_name).read_bytes()).hexdigest()
    entry = cache_dir() / f"reach-v{REACH_CACHE_VERSION}-{robot_name}-{digest[:16]}.json"
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
        c = np.array([float(v) for v in data["shoulder_m"]], dtype=np.float64)
        reach = float(data["reach_m"])
        fresh = data["urdf_sha256"] == digest
        if fresh and c.shape == (3,) and np.isfinite(c).all() and math.isfinite(reach):
            return c, reach
    except (OSError, ValueError, KeyError, TypeError):
        pass
    c, reach = _compute_arm_reach(robot_name)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(f".{os.getpid()}.tmp")
        text = json.dumps({"shoulder_m": c.tolist(), "reach_m": reach, "urdf_sha256": digest})
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(entry)
    except OSError:
        pass  # a read-only or missing home: the reach is recomputed next time
    return c, reach


def _compute_arm_reach(robot_name: str) -> tuple[NDArrayF, float]:
    """:func:`arm_reach` from the kinematic model (compiled FK and Jacobian, L-BFGS-B)."""
    from scipy.optimize import minimize

    from weldcell.kinematics import load_robot

    robot = load_robot(robot_name)
    lo, hi = np.asarray(robot.q_lower, dtype=np.float64), np.asarray(robot.q_upper, dtype=np.float64)
    q0 = np.clip(np.zeros(len(lo)), lo, hi)
    c = np.array([0.0, 0.0, float(robot.link_poses(q0)[2, 2, 3])])
    rng = np.random.default_rng(0)
    qs = rng.uniform(lo, hi, (2000, len(lo)))
    d = np.linalg.norm(np.asarray(robot.fk(qs))[:, :3, 3] - c, axis=1)
    best = float(d.max())

    def neg(q: NDArrayF) -> tuple[float, NDArrayF]:  # -|p - c| and its gradient (Jacobian rows v)
        v = np.asarray(robot.fk(q))[:3, 3] - c
        dist = float(np.linalg.norm(v))
        return -dist, -(v / dist) @ np.asarray(robot.jacobian(q))[:3]

    for k in np.argsort(d)[-3:]:
        res = minimize(neg, qs[k], jac=True, method="L-BFGS-B", bounds=list(zip(lo, hi, strict=True)))
        best = max(best, -float(res.fun))
    return c, best


def program_warnings(
    program: Program, segments: tuple[WeldSegment, ...] | None = None
) -> tuple[ProgramWarning, ...]:
    """Everything in ``program`` that loads but cannot be right, seam by seam (see module docstring)."""
    segs = toolpaths_for_program(program) if segments is None else segments
    out: list[ProgramWarning] = [
        ProgramWarning(
            sid,
            "not_selected",
            f"seam {sid}: not selected ('selected: false'), skipped: it is not planned or welded",
            0.0,
            0.0,
            0.0,
        )
        for sid in program.unselected
    ]
    out += _off_surface(program)
    out += _torch_inside(program, segs)
    out += _out_of_reach(program, segs)
    out += _mesh_hulls(program)
    out += _stitch_tails(program)
    return tuple(out)


def _stitch_tails(program: Program) -> list[ProgramWarning]:
    """Stitched seams whose last stitch ends further from the seam end than the gap between stitches.

    Only whole stitches are welded (``toolpath.segments``), so a pattern that does not fit the seam
    drops the last one without a word; this says how much of the seam stays unwelded and why.
    """
    out = []
    for seam in program.seams:
        st = seam.stitch
        if st is None:
            continue
        length = SeamCurve(seam.geometry).length
        ranges = stitch_ranges(seam, length)
        tail = length - ranges[-1][1]
        gap = max(st.pitch - st.length, st.start_offset)
        if tail > gap + 1e-3:  # 1 mm: below that it is rounding, not a missing stitch
            nxt = ranges[-1][0] + st.pitch
            nxt_mm = f"{nxt * 1e3:.1f}–{(nxt + st.length) * 1e3:.1f} mm"
            out.append(
                ProgramWarning(
                    seam.id,
                    "stitch_tail",
                    f"seam '{seam.id}': the stitches end at {ranges[-1][1] * 1e3:.1f} mm, leaving the last "
                    f"{tail * 1e3:.1f} mm of the {length * 1e3:.1f} mm seam unwelded (more than the "
                    f"{gap * 1e3:.1f} mm gap): the next stitch ({nxt_mm}) "
                    "does not fit; change stitch.start_offset_mm, pitch_mm or length_mm",
                    tail,
                    gap,
                    ranges[-1][1],
                )
            )
    return out


def _mesh_hulls(program: Program) -> list[ProgramWarning]:
    """Mesh shells modelled by their convex hull (not convex, or not closed), one warning each."""
    out = []
    for body in program.cell.bodies:
        if not isinstance(body.geometry, Mesh):
            continue
        for piece, message in body.geometry.hull_notes(body.name):
            out.append(ProgramWarning("", "mesh_hull", message, float(piece.added_volume), 0.0, 0.0))
    return out


def _off_surface(program: Program) -> list[ProgramWarning]:
    parts = [b for b in program.cell.bodies if b.role == "workpiece"]
    if not parts:
        return []
    out = []
    for seam in program.seams:
        curve = SeamCurve(seam.geometry)
        n = max(2, math.ceil(curve.length / SEAM_SAMPLE_STEP) + 1)
        s = np.linspace(0.0, curve.length, n)
        p, *_ = seam_samples(seam, curve, s)
        d = np.min(np.abs(np.stack([body_signed_distance(b, p) for b in parts])), axis=0)
        nearest = np.argmin(np.abs(np.stack([body_signed_distance(b, p) for b in parts])), axis=0)
        i = int(np.argmax(d))
        if d[i] > SURFACE_TOLERANCE:
            off = d > SURFACE_TOLERANCE
            out.append(
                ProgramWarning(
                    seam.id,
                    "off_surface",
                    f"seam '{seam.id}' lies on no workpiece surface: {d[i] * 1e3:.1f} mm from the nearest "
                    f"(body '{parts[int(nearest[i])].name}') at s = {s[i] * 1e3:.0f} mm, "
                    f"{100.0 * off.mean():.0f}% of the seam more than {SURFACE_TOLERANCE * 1e3:g} mm "
                    "away; check the seam coordinates and its workpiece frame",
                    float(d[i]),
                    SURFACE_TOLERANCE,
                    float(s[i]),
                )
            )
    return out


def _torch_inside(program: Program, segs: tuple[WeldSegment, ...]) -> list[ProgramWarning]:
    solids = [b for b in program.cell.bodies if b.role in ("workpiece", "fixture")]
    if not solids:
        return []
    out = []
    seen: set[str] = set()
    for seg in segs:
        if seg.seam_id in seen:
            continue
        T = np.asarray(seg.T_world_tcp)
        p_back = T[:, :3, 3] - TORCH_BACK_DISTANCE * T[:, :3, 2]
        sd = np.stack([body_signed_distance(b, p_back) for b in solids])
        k, i = np.unravel_index(int(np.argmin(sd)), sd.shape)
        if sd[k, i] < -INSIDE_TOLERANCE:
            seen.add(seg.seam_id)
            out.append(
                ProgramWarning(
                    seg.seam_id,
                    "torch_inside_material",
                    f"seam '{seg.seam_id}': the torch approaches from inside body '{solids[k].name}' "
                    f"(the torch axis {TORCH_BACK_DISTANCE * 1e3:g} mm behind the wire tip is "
                    f"{-sd[k, i] * 1e3:.1f} mm deep in it at s = {(seg.s[i] - seg.s[0]) * 1e3:.0f} mm); "
                    "the surface normals must point out of the material, into the open side of the joint",
                    float(-sd[k, i]),
                    INSIDE_TOLERANCE,
                    float(seg.s[i]),
                )
            )
    return out


def _out_of_reach(program: Program, segs: tuple[WeldSegment, ...]) -> list[ProgramWarning]:
    """Seams whose torch poses put the flange beyond the arm's reach, for every torch rotation.

    The flange sits at a fixed place in the TCP frame; turning the torch about its axis moves it on a
    circle (centre on the torch axis, radius = the flange's distance from the axis), and the angle
    tolerances tilt it a little more. When even the nearest point of that circle is farther from the
    shoulder than the arm reaches, no configuration welds the seam.
    """
    from weldcell.errors import WeldcellError

    cell = program.cell
    try:
        c_base, reach = arm_reach(cell.robot)
    except WeldcellError:
        return []
    T_ft = np.asarray(cell.T_flange_tcp, dtype=np.float64)
    p_tf = -T_ft[:3, :3].T @ T_ft[:3, 3]  # flange origin in the TCP frame
    axial, lateral = float(p_tf[2]), float(np.hypot(p_tf[0], p_tf[1]))
    T_wb = np.asarray(cell.T_world_base)
    c = T_wb[:3, :3] @ c_base + T_wb[:3, 3]
    out = []
    seen: set[str] = set()
    for seg in segs:
        if seg.seam_id in seen:
            continue
        T = np.asarray(seg.T_world_tcp)
        tilt = seg.work_angle_tolerance + seg.travel_angle_tolerance
        slack = 2.0 * float(np.linalg.norm(p_tf)) * math.sin(min(tilt, math.pi) / 2.0)
        centre = T[:, :3, 3] + axial * T[:, :3, 2]
        d = np.linalg.norm(centre - c, axis=1) - lateral - slack  # nearest possible flange distance
        i = int(np.argmax(d))
        if d[i] > reach:
            seen.add(seg.seam_id)
            tcp = float(np.linalg.norm(T[i, :3, 3] - c))
            out.append(
                ProgramWarning(
                    seg.seam_id,
                    "out_of_reach",
                    f"seam '{seg.seam_id}' is out of the robot's reach: at "
                    f"s = {(seg.s[i] - seg.s[0]) * 1e3:.0f} mm the torch tip is {tcp * 1e3:.0f} mm from "
                    f"the {cell.robot} shoulder and the flange at least {d[i] * 1e3:.0f} mm, the arm "
                    f"reaches {reach * 1e3:.0f} mm; move the part or the robot base",
                    float(d[i]),
                    reach,
                    float(seg.s[i]),
                )
            )
    return out
