"""Touch patterns of a program: checked and converted to SI, with the nominal surface each search
expects to touch (a ray cast from the search start against the cell's nominal workpiece boxes)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from weldcell.program.checks import Checker, vec
from weldcell.program.model import Body, Cell, TouchPattern, TouchSearch
from weldcell.program.schema import ProgramSpec, TouchSearchSpec

NDArrayF = npt.NDArray[np.float64]


def ray_cast_box(
    p: NDArrayF, u: NDArrayF, half: NDArrayF, T_frame_box: NDArrayF
) -> tuple[float, NDArrayF] | None:
    """First entry of the ray ``p + t u`` (t >= 0) into a box; (t [m], outward face normal) in the
    ray's frame, or None when the ray misses it or starts inside it."""
    T_box_frame = np.linalg.inv(T_frame_box)
    pb = T_box_frame[:3, :3] @ p + T_box_frame[:3, 3]
    ub = T_box_frame[:3, :3] @ u
    if np.all(np.abs(pb) < half):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-half - pb) / ub
        t2 = (half - pb) / ub
    t_near = np.where(np.abs(ub) < 1e-12, np.where(np.abs(pb) <= half, -np.inf, np.inf), np.minimum(t1, t2))
    t_far = np.where(np.abs(ub) < 1e-12, np.where(np.abs(pb) <= half, np.inf, -np.inf), np.maximum(t1, t2))
    t_in, t_out = float(np.max(t_near)), float(np.min(t_far))
    if t_in > t_out or t_out < 0 or t_in < 0:
        return None
    axis = int(np.argmax(t_near))
    n_box = np.zeros(3)
    n_box[axis] = -np.sign(ub[axis])
    return t_in, T_frame_box[:3, :3] @ n_box


def _search(
    loc: tuple[str | int, ...], ss: TouchSearchSpec, part: Body, work: list[Body], chk: Checker
) -> TouchSearch:
    direction = vec(ss.direction)
    if np.linalg.norm(direction) < 1e-9:
        chk.fail(
            (*loc, "direction"), "the search direction is a zero vector; expected a direction like [0, 0, -1]"
        )
    direction = direction / np.linalg.norm(direction)
    axis = direction if ss.tool_axis is None else vec(ss.tool_axis)
    if np.linalg.norm(axis) < 1e-9:
        chk.fail((*loc, "tool_axis"), "the torch axis is a zero vector")
    axis = axis / np.linalg.norm(axis)
    p0 = vec(ss.start_mm) * 1e-3
    T_part_world = np.linalg.inv(part.T_world_body)
    best: tuple[float, NDArrayF] | None = None
    for b in work:
        T_part_box = T_part_world @ b.T_world_body
        half = np.asarray(b.size) / 2.0
        T_box_part = np.linalg.inv(T_part_box)
        if np.all(np.abs(T_box_part[:3, :3] @ p0 + T_box_part[:3, 3]) < half):
            chk.fail(
                (*loc, "start_mm"), f"the search starts inside workpiece {b.name!r}; start outside the part"
            )
        hit = ray_cast_box(p0, direction, half, T_part_box)
        if hit is not None and (best is None or hit[0] < best[0]):
            best = hit
    distance = ss.distance_mm * 1e-3
    if best is None:
        chk.fail(
            (*loc, "direction"),
            f"the search from {ss.start_mm} mm along {ss.direction} never meets the nominal part "
            f"(box workpieces); aim it at a face of {part.name!r}",
        )
    t_hit, n_part = best
    if t_hit > distance:
        chk.fail(
            (*loc, "distance_mm"),
            f"the nominal surface is {t_hit * 1e3:.1f} mm from the search start but the search is only "
            f"{ss.distance_mm:g} mm long; expected at least the nominal distance plus the part tolerance",
        )
    if float(direction @ n_part) > -0.5:
        chk.fail(
            (*loc, "direction"),
            f"the search meets the surface at {np.rad2deg(np.arccos(-float(direction @ n_part))):.0f}° "
            "from its normal; search at most 60° off the surface normal",
        )
    hit_point = p0 + t_hit * direction
    return TouchSearch(
        p_part_start=p0,
        direction=direction,
        distance=distance,
        speed=ss.speed_mm_s * 1e-3,
        retract=ss.retract_mm * 1e-3,
        tool_axis=axis,
        n_part=n_part,
        d_part=float(n_part @ hit_point),
        expected=t_hit,
    )


def build_touch(spec: ProgramSpec, cell: Cell, chk: Checker) -> tuple[TouchPattern, ...]:
    """Checked touch patterns (SI) of a program spec."""
    work = [b for b in cell.bodies if b.role == "workpiece" and b.shape == "box"]
    names = {b.name: b for b in cell.bodies}
    out = []
    for i, ps in enumerate(spec.touch):
        part = names.get(ps.part)
        if part is None or part.role != "workpiece":
            known = sorted(b.name for b in cell.bodies if b.role == "workpiece")
            chk.fail(("touch", i, "part"), f"'{ps.part}' is not a workpiece body; workpieces: {known}")
        searches = tuple(
            _search(("touch", i, "searches", j), ss, part, work, chk) for j, ss in enumerate(ps.searches)
        )
        out.append(TouchPattern(ps.part, searches, ps.max_offset_mm * 1e-3))
    return tuple(out)
