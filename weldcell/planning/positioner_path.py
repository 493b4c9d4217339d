"""Positioner (or track) positions along a seam: weld position, reach, and the smooth axis path q(s).

The part rides on the positioner flange, so a seam point ``p_part`` is at
``T_world_part(q) p_part`` with ``T_world_part(q) = T_world_base @ T_base_flange(q) @ T_flange_part``.
The **weld position** of a sample is judged from two angles (``docs/program-format.md``):

* the *normal tilt*: angle between the weld-pool normal (fillet: bisector of the two surface
  normals; butt / groove: the face normal) and straight up (world +z, against gravity), and
* the *travel slope*: angle of the travel direction above the horizontal.

The target of each weld position is ``weldcell.program.model.WELD_POSITIONS`` (1F/1G: 0° / 0°, 2F:
45° / 0°, ...); a sample is within tolerance when both deviations are.

:func:`choose_positioner_path` searches axis positions on a grid for every coarse seam sample and
links them by dynamic programming (cost: weld-position deviation, torch on the robot's side, distance
to the robot, axis motion), then smooths the chosen path into a cubic spline q(s). A track has no
weld-position term (it moves the robot, not the part). ``fixed`` takes one position for the whole
seam; ``free`` takes the best fixed position when it keeps the whole seam in tolerance, else the
coordinated path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.interpolate import CubicSpline, make_lsq_spline

from weldcell.kinematics.positioner import PositionerModel
from weldcell.program.model import WELD_POSITIONS, SeamPositioning
from weldcell.spatial import invert_transforms

NDArrayF = npt.NDArray[np.float64]

UP = np.array([0.0, 0.0, 1.0])  # world +z: against gravity
MAX_GRID_WORK = 1_000_000  # seam samples x grid candidates of one positioner search


def weld_position_angles(
    R_world_part: NDArrayF, b_part: NDArrayF, t_part: NDArrayF
) -> tuple[NDArrayF, NDArrayF]:
    """Normal tilt and travel slope [rad] of samples.

    Args:
        R_world_part: Part orientation per sample, shape (..., 3, 3).
        b_part: Weld-pool normals in the part frame, shape (..., 3) (unit).
        t_part: Travel directions in the part frame, shape (..., 3) (unit).

    Returns:
        (tilt, slope): angle of the normal from world +z in [0, π], slope of the travel direction
        from the horizontal in [-π/2, π/2], each of shape (...).
    """
    b_w = np.einsum("...ij,...j->...i", R_world_part, b_part)
    t_w = np.einsum("...ij,...j->...i", R_world_part, t_part)
    tilt = np.arccos(np.clip(b_w[..., 2], -1.0, 1.0))
    slope = np.arcsin(np.clip(t_w[..., 2], -1.0, 1.0))
    return tilt, slope


def weld_position_deviation(tilt: NDArrayF, slope: NDArrayF, weld_position: str) -> NDArrayF:
    """Largest of |tilt - target tilt| and |slope - target slope| [rad] (3F/3G: |slope| for up or down)."""
    tilt_t, slope_t = (math.radians(v) for v in WELD_POSITIONS[weld_position])
    d_slope = np.abs(np.abs(slope) - slope_t) if slope_t > 0 else np.abs(slope)
    return np.maximum(np.abs(tilt - tilt_t), d_slope)


@dataclass(frozen=True, slots=True)
class SeamGeometryPart:
    """Coarse samples of a seam in the part frame (inputs of the positioner choice).

    Attributes:
        s: Arc lengths [m], shape (N,).
        p: Seam points [m], shape (N, 3).
        t: Travel directions, shape (N, 3).
        b: Weld-pool normals, shape (N, 3).
        z: Torch approach directions (TCP z), shape (N, 3).
    """

    s: NDArrayF
    p: NDArrayF
    t: NDArrayF
    b: NDArrayF
    z: NDArrayF


@dataclass(frozen=True, slots=True)
class PositionerPath:
    """The chosen axis path of one seam.

    Attributes:
        mode: ``"fixed"`` or ``"coordinated"`` (``free`` resolved).
        s: Knot arc lengths [m], shape (N,).
        q: Axis positions at the knots [rad or m], shape (N, k).
        max_deviation: Largest weld-position deviation at the knots [rad] (0 for a track or without
            a target).
    """

    mode: str
    s: NDArrayF
    q: NDArrayF
    max_deviation: float

    def at(self, s: npt.ArrayLike) -> NDArrayF:
        """Axis positions at arc lengths ``s`` (M,) [m], shape (M, k) (constant outside the knots)."""
        sa = np.clip(np.asarray(s, dtype=np.float64), self.s[0], self.s[-1])
        if self.mode == "fixed" or len(self.s) < 2:
            return np.repeat(self.q[:1], len(sa), axis=0)
        return np.asarray(CubicSpline(self.s, self.q, axis=0)(sa), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class RobotPlacement:
    """Where the robot is, for the reach terms of the positioner choice.

    Attributes:
        T_world_base: Robot base in the world at the track's home (or fixed), shape (4, 4).
        reach: Robot reach [m].
        T_flange_robot: For a track: the robot base in the carriage flange frame (4, 4), else None.
    """

    T_world_base: NDArrayF
    reach: float
    T_flange_robot: NDArrayF | None = None


def _grid(model: PositionerModel) -> tuple[list[NDArrayF], list[bool]]:
    """Per axis: candidate positions and whether the axis is periodic on the grid."""
    k = model.n_axes
    axes, periodic = [], []
    for j in range(k):
        lo, hi = float(model.lower[j]), float(model.upper[j])
        if model.kinds[j] == "prismatic":
            axes.append(np.linspace(lo, hi, max(2, round((hi - lo) / 0.01) + 1)))
            periodic.append(False)
        elif hi - lo >= 2 * math.pi - 1e-9:
            step = math.radians(1.0 if k == 1 else 3.0)
            axes.append(np.arange(-math.pi, math.pi - 1e-9, step))
            periodic.append(True)
        else:
            n = round((hi - lo) / math.radians(2.5)) + 1
            axes.append(np.linspace(lo, hi, n))
            periodic.append(False)
    return axes, periodic


def _node_costs(
    model: PositionerModel,
    T_world_pbase: NDArrayF,
    T_flange_part: NDArrayF,
    geo: SeamGeometryPart,
    positioning: SeamPositioning,
    robot: RobotPlacement,
    Q: NDArrayF,
) -> tuple[NDArrayF, NDArrayF]:
    """Cost (N, G) of every candidate Q (G, k) at every sample, and the deviation (N, G) [rad]."""
    T_wf = T_world_pbase @ model.T_base_flange(Q)  # (G, 4, 4)
    if model.role == "track":
        assert robot.T_flange_robot is not None  # mypy
        base_pos = (T_wf @ robot.T_flange_robot)[:, :3, 3]  # (G, 3)
        R_wp = np.broadcast_to(
            T_flange_part[:3, :3], (len(Q), 3, 3)
        )  # part fixed: T_flange_part = T_world_part
        p_w = np.einsum("ij,nj->ni", T_flange_part[:3, :3], geo.p)[:, None, :] + T_flange_part[:3, 3]
        z_w = np.broadcast_to(np.einsum("ij,nj->ni", R_wp[0], geo.z)[:, None, :], (len(geo.s), len(Q), 3))
    else:
        T_wp = T_wf @ T_flange_part
        R_wp = T_wp[:, :3, :3]
        base_pos = np.broadcast_to(robot.T_world_base[:3, 3], (len(Q), 3))
        p_w = np.einsum("gij,nj->ngi", R_wp, geo.p) + T_wp[None, :, :3, 3]
        z_w = np.einsum("gij,nj->ngi", R_wp, geo.z)
    dev = np.zeros((len(geo.s), len(Q)))
    cost = np.zeros_like(dev)
    if positioning.weld_position is not None:
        tilt, slope = weld_position_angles(R_wp[None], geo.b[:, None, :], geo.t[:, None, :])
        dev = weld_position_deviation(tilt, slope, positioning.weld_position)
        tol = positioning.tolerance
        cost += 2.0 * (dev / tol) ** 2 + 1e3 * np.maximum(dev - tol, 0.0) / tol
    to_base = base_pos[None] - p_w  # (N, G, 3)
    d = np.linalg.norm(to_base, axis=-1)
    cost += 20.0 * ((d / robot.reach - 0.55) ** 2) + 1e3 * np.maximum(d / robot.reach - 0.85, 0.0)
    # the torch points away from the robot (its flange between the seam and the robot base)
    h = to_base.copy()
    h[..., 2] = 0.0
    hn = h / np.maximum(np.linalg.norm(h, axis=-1, keepdims=True), 1e-9)
    cost += 2.0 * np.maximum(np.einsum("ngi,ngi->ng", z_w, hn), 0.0)
    # the torch comes from above rather than from below
    cost += 2.0 * np.maximum(z_w[..., 2], 0.0)
    return cost, dev


def choose_positioner_path(
    model: PositionerModel,
    T_world_pbase: NDArrayF,
    T_flange_part: NDArrayF,
    geo: SeamGeometryPart,
    positioning: SeamPositioning,
    robot: RobotPlacement,
    q_ref: NDArrayF,
    travel_speed: float,
) -> PositionerPath | str:
    """Axis positions along one seam, or a sentence saying why none keeps the weld position.

    Args:
        model: The positioner or track.
        T_world_pbase: Its base in the world (4, 4).
        T_flange_part: Part frame in the flange frame (positioner), or in the world (track) (4, 4).
        geo: Coarse seam samples in the part frame.
        positioning: The seam's mode, given position, weld position and tolerance.
        robot: Robot placement and reach.
        q_ref: Current axis positions [rad or m] (k,): revolute results are shifted by whole turns
            to start nearest to it.
        travel_speed: Travel speed relative to the part [m/s] (bounds the axis motion per sample).
    """
    axes, periodic = _grid(model)
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    shape = mesh.shape[:-1]
    Q = mesh.reshape(-1, model.n_axes)
    n_keep = int(min(len(geo.s), max(30, MAX_GRID_WORK // len(Q))))
    if n_keep < len(geo.s):  # fewer seam samples for a large grid (the smoothing spline fills in)
        pick = np.unique(np.round(np.linspace(0, len(geo.s) - 1, n_keep)).astype(np.int64))
        geo = SeamGeometryPart(geo.s[pick], geo.p[pick], geo.t[pick], geo.b[pick], geo.z[pick])
    if positioning.mode == "fixed" and positioning.q is not None:
        q = np.asarray(positioning.q, dtype=np.float64)[None]
        _, dev = _node_costs(model, T_world_pbase, T_flange_part, geo, positioning, robot, q)
        return PositionerPath("fixed", geo.s[[0, -1]], np.repeat(q, 2, axis=0), float(dev.max()))
    cost, dev = _node_costs(model, T_world_pbase, T_flange_part, geo, positioning, robot, Q)
    tol = positioning.tolerance
    g_fixed = int(np.argmin(cost.sum(axis=0) + 1e6 * (dev.max(axis=0) > tol)))
    fixed_ok = positioning.weld_position is None or float(dev[:, g_fixed].max()) <= tol
    if positioning.mode == "fixed" or (positioning.mode == "free" and fixed_ok):
        q = _nearest_turn(model, Q[g_fixed][None], q_ref)
        return PositionerPath("fixed", geo.s[[0, -1]], np.repeat(q, 2, axis=0), float(dev[:, g_fixed].max()))
    idx = _dynamic_programme(cost.reshape(len(geo.s), *shape), periodic, axes, model, geo.s, travel_speed)
    q_grid = Q[idx]
    dev_path = dev[np.arange(len(idx)), idx]
    q_path = _unwrap(model, q_grid, periodic)
    q_path = _nearest_turn(model, q_path, q_ref)
    q_smooth = _smooth(geo.s, q_path)
    if np.any(model.check_limits(q_smooth) > 0):
        j = int(np.argmax(np.max(np.maximum(q_smooth - model.upper, model.lower - q_smooth), axis=0)))
        return (
            f"the {model.name} axis '{model.axis_names[j]}' would leave its limits "
            f"({math.degrees(model.lower[j]):g}…{math.degrees(model.upper[j]):g}) to follow the seam"
        )
    _, dev_s = _node_costs(model, T_world_pbase, T_flange_part, geo, positioning, robot, q_smooth)
    achieved = np.diagonal(dev_s) if positioning.weld_position is not None else np.zeros(1)
    worst = float(achieved.max())
    if positioning.weld_position is not None and worst > tol:
        i = int(np.argmax(achieved))
        return (
            f"no {model.name} motion keeps the seam in {positioning.weld_position} within "
            f"{math.degrees(tol):g}°: {math.degrees(worst):.1f}° off at s = {geo.s[i] * 1e3:.1f} mm "
            f"(grid optimum {math.degrees(float(dev_path.max())):.1f}°)"
        )
    return PositionerPath("coordinated", geo.s, q_smooth, worst)


def _dynamic_programme(
    cost: NDArrayF,
    periodic: list[bool],
    axes: list[NDArrayF],
    model: PositionerModel,
    s: NDArrayF,
    travel_speed: float,
) -> npt.NDArray[np.int64]:
    """Cheapest grid path (flat indices, (N,)) with steps of at most a few cells per axis per sample."""
    n = cost.shape[0]
    grid_shape = cost.shape[1:]
    steps = [float(a[1] - a[0]) if len(a) > 1 else 1.0 for a in axes]
    ds = float(np.max(np.diff(s))) if n > 1 else 0.0
    reach = []
    for j in range(len(axes)):
        per_sample = model.qd_max[j] * 0.5 * ds / travel_speed  # half the axis speed, at the travel speed
        reach.append(int(min(max(1, math.ceil(per_sample / steps[j])), 6 if len(axes) > 1 else 12)))
    shifts = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), axis=-1).reshape(
        -1, len(axes)
    )
    move_cost = np.array(
        [sum(abs(int(d)) * steps[j] / max(steps) * 0.05 for j, d in enumerate(sh)) for sh in shifts]
    )
    acc = cost[0].copy()
    back = np.zeros((n, *grid_shape), dtype=np.int64)
    for i in range(1, n):  # sequential by nature; each step is vectorised over the grid and the shifts
        best = np.full(grid_shape, np.inf)
        arg = np.zeros(grid_shape, dtype=np.int64)
        for m, sh in enumerate(shifts):
            cand = _shift(acc, sh, periodic) + move_cost[m]
            better = cand < best
            best = np.where(better, cand, best)
            arg = np.where(better, m, arg)
        acc = best + cost[i]
        back[i] = arg
    flat = np.zeros(n, dtype=np.int64)
    cell = np.array(np.unravel_index(int(np.argmin(acc)), grid_shape))
    for i in range(n - 1, -1, -1):
        flat[i] = np.ravel_multi_index(tuple(cell), grid_shape)
        if i > 0:
            cell = cell - shifts[back[i][tuple(cell)]]
            for j, per in enumerate(periodic):
                cell[j] = cell[j] % grid_shape[j] if per else cell[j]
    return flat


def _shift(a: NDArrayF, sh: npt.NDArray[np.int64], periodic: list[bool]) -> NDArrayF:
    """``out[x] = a[x - sh]`` (periodic axes wrap, others are padded with inf)."""
    out = a
    for j, d in enumerate(sh):
        d = int(d)
        if d == 0:
            continue
        out = np.roll(out, d, axis=j)
        if not periodic[j]:
            idx = [slice(None)] * out.ndim
            idx[j] = slice(0, d) if d > 0 else slice(d, None)
            out = out.copy()
            out[tuple(idx)] = np.inf
    return out


def _unwrap(model: PositionerModel, q: NDArrayF, periodic: list[bool]) -> NDArrayF:
    out = q.copy()
    for j, per in enumerate(periodic):
        if per:
            out[:, j] = np.unwrap(q[:, j])
    return out


def _nearest_turn(model: PositionerModel, q: NDArrayF, q_ref: NDArrayF) -> NDArrayF:
    """Shift revolute axes of ranges ≥ 2π by whole turns: start nearest ``q_ref`` inside the limits."""
    out = q.copy()
    for j in range(model.n_axes):
        if model.kinds[j] != "revolute" or model.upper[j] - model.lower[j] < 2 * math.pi - 1e-9:
            continue
        best, best_d = 0.0, math.inf
        for turns in range(-4, 5):
            shifted = q[:, j] + 2 * math.pi * turns
            if shifted.min() < model.lower[j] - 1e-9 or shifted.max() > model.upper[j] + 1e-9:
                continue
            d = abs(float(shifted[0] - q_ref[j]))
            if d < best_d:
                best, best_d = 2 * math.pi * turns, d
        out[:, j] = q[:, j] + best
    return out


def _smooth(s: NDArrayF, q: NDArrayF) -> NDArrayF:
    """The grid path smoothed at the knots: a least-squares cubic spline per axis with interior knots
    every ``max(10 mm, length / 40)`` averages the grid steps (half a grid cell) into a smooth slope."""
    L = float(s[-1] - s[0])
    n_int = int(min(len(s) // 4, max(0, math.floor(L / max(0.01, L / 40.0)) - 1)))
    if len(s) < 8 or n_int < 1:
        return q
    inner = np.linspace(s[0], s[-1], n_int + 2)[1:-1]
    t = np.r_[[s[0]] * 4, inner, [s[-1]] * 4]
    out = np.empty_like(q)
    for j in range(q.shape[1]):
        out[:, j] = make_lsq_spline(s, q[:, j], t, k=3)(s) if np.ptp(q[:, j]) > 1e-12 else q[:, j]
    return out


def part_pose(
    model: PositionerModel, T_world_pbase: NDArrayF, T_flange_part: NDArrayF, q: NDArrayF
) -> NDArrayF:
    """``T_world_part`` (N, 4, 4) of a part on the positioner flange at axis positions ``q`` (N, k)."""
    return T_world_pbase @ model.T_base_flange(q) @ T_flange_part


def robot_base_pose(
    model: PositionerModel, T_world_tbase: NDArrayF, T_flange_robot: NDArrayF, q: NDArrayF
) -> NDArrayF:
    """``T_world_base`` (N, 4, 4) of a robot on a track carriage at positions ``q`` (N, 1)."""
    return T_world_tbase @ model.T_base_flange(q) @ T_flange_robot


def flange_robot(
    model: PositionerModel, T_world_tbase: NDArrayF, T_world_base_home: NDArrayF, home: NDArrayF
) -> NDArrayF:
    """Robot base in the track carriage frame, from the robot base at the track's home position (4, 4)."""
    T_world_flange = T_world_tbase @ model.T_base_flange(home)
    return invert_transforms(T_world_flange) @ T_world_base_home
