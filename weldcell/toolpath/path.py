"""Analytic torch poses of one weld segment, at any seam arc length.

A :class:`SegmentPath` holds what defines a segment's poses (seam curve, surface normals, pass
offsets, work / travel angle, rotation about the torch axis, weave, travel speed) and evaluates
``T_world_tcp`` exactly at any arc lengths ``s`` [m]. Planners use it to build the nominal pose of
every controller sample from the definition instead of interpolating between tool-path samples (a
spline through samples rounds weave corners and rings at line/arc junctions).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from weldcell.program.geometry import SeamCurve
from weldcell.program.model import Seam, Weave
from weldcell.spatial import se3_from_rotation_translation
from weldcell.toolpath.frames import joint_directions, joint_frame, seam_frame, torch_rotation
from weldcell.toolpath.weave import weave_corner_times, weave_offsets

NDArrayF = npt.NDArray[np.float64]

_FLIP_XY = np.diag([-1.0, -1.0, 1.0])  # Rz(π): the seam frame of the opposite travel direction


def seam_samples(
    seam: Seam, curve: SeamCurve, s: NDArrayF
) -> tuple[NDArrayF, NDArrayF, NDArrayF, NDArrayF | None]:
    """World points, tangents and surface normals at welded-direction arc lengths ``s`` (N,) [m].

    Returns:
        p (N, 3) [m], t (N, 3), n1 (N, 3), n2 (N, 3) or None, in the world frame, with ``t`` the
        welded travel direction (reversed for ``direction: reverse``).
    """
    reverse = seam.direction == "reverse"
    s_geo = curve.length - s if reverse else s
    p, t = curve.evaluate(s_geo)
    R = curve.transport(s_geo)
    n1 = R @ seam.normal_1
    n2 = None if seam.normal_2 is None else R @ seam.normal_2
    if reverse:
        t = -t
    R_wp = seam.T_world_part[:3, :3]
    p_w = p @ R_wp.T + seam.T_world_part[:3, 3]
    return p_w, t @ R_wp.T, n1 @ R_wp.T, None if n2 is None else n2 @ R_wp.T


@dataclass(frozen=True, slots=True, eq=False)
class SegmentPath:
    """The definition of one weld segment's torch poses, evaluated exactly at any arc length.

    Arc lengths ``s`` [m] are those of :attr:`WeldSegment.s`: measured along the seam in its
    programmed welding direction, ``s ∈ [s_start, s_end]``. With ``reversed`` the segment is welded
    backwards (from ``s_end`` to ``s_start``); ``s`` then counts the welded distance from
    ``s_start`` as well (the point welded at ``s`` is the seam's point at ``s_start + s_end - s``),
    the seam frame turns by π about its z axis and the weave restarts at the new start.

    Attributes:
        seam: The seam.
        curve: Its curve.
        lateral, height: Pass offsets in the joint frame [m].
        work_angle, travel_angle: Programmed angles [rad].
        rotation: Rotation about the torch axis [rad] (0 when the planner chooses it).
        weave: Weave or None.
        travel_speed: Travel speed [m/s]; the weave runs on weld time ``(s - s_start) / v``.
        s_start, s_end: Segment ends on the seam [m].
        reversed: Welded against the seam's programmed direction.
    """

    seam: Seam
    curve: SeamCurve
    lateral: float
    height: float
    work_angle: float
    travel_angle: float
    rotation: float
    weave: Weave | None
    travel_speed: float
    s_start: float
    s_end: float
    reversed: bool = False

    def seam_frames(self, s: npt.ArrayLike) -> tuple[NDArrayF, NDArrayF]:
        """Seam frames S (N, 3, 3) and pass points (N, 3) [m] (no weave) at arc lengths ``s`` (N,)."""
        s_arr = np.atleast_1d(np.asarray(s, dtype=np.float64))
        s_fwd = self.s_start + self.s_end - s_arr if self.reversed else s_arr
        p, t, n1, n2 = seam_samples(self.seam, self.curve, s_fwd)
        t_geo = -t if self.seam.direction == "reverse" else t  # the direction the curve is written in
        n1p, u1, b = joint_directions(t, n1, n2, t_geo)
        R_J = joint_frame(t_geo, b)
        p_pass = p + self.lateral * R_J[:, :, 1] + self.height * b
        R_S = seam_frame(t, n1p, u1, self.work_angle)
        if self.reversed:
            R_S = R_S @ _FLIP_XY
        return R_S, p_pass

    def poses(self, s: npt.ArrayLike) -> NDArrayF:
        """Torch poses ``T_world_tcp`` (N, 4, 4) at arc lengths ``s`` (N,) [m], weave included."""
        s_arr = np.atleast_1d(np.asarray(s, dtype=np.float64))
        R_S, p = self.seam_frames(s_arr)
        if self.weave is not None:
            off = weave_offsets(self.weave, (s_arr - self.s_start) / self.travel_speed)
            p = p + off[:, :1] * R_S[:, :, 0] + off[:, 1:2] * R_S[:, :, 1] - off[:, 2:] * R_S[:, :, 2]
        return se3_from_rotation_translation(torch_rotation(R_S, self.travel_angle, self.rotation), p)

    def corners(self) -> NDArrayF:
        """Arc lengths [m] inside the segment where the path has a kink or a curvature jump.

        Weave corners (zigzag / triangle tips, trapezoid dwell ends) and the junctions of the
        curve's lines and arcs, sorted, without the ends.
        """
        out: list[NDArrayF] = []
        if self.weave is not None:
            tau = weave_corner_times(self.weave, (self.s_end - self.s_start) / self.travel_speed)
            out.append(self.s_start + tau * self.travel_speed)
        junctions = self.curve.junctions()
        if self.seam.direction == "reverse":
            junctions = self.curve.length - junctions
        if self.reversed:
            junctions = self.s_start + self.s_end - junctions
        out.append(junctions)
        s = np.sort(np.concatenate(out))
        return s[(s > self.s_start) & (s < self.s_end)]

    def sample_grid(self, max_step: float) -> NDArrayF:
        """Arc lengths (N,) [m] from ``s_start`` to ``s_end`` that include every :meth:`corners`.

        Between consecutive corners the samples are evenly spaced with a step ≤ ``max_step`` [m],
        so straight-line interpolation between samples follows piecewise-linear weaves exactly.
        A corner closer than 1 % of the step to another is merged with it.
        """
        knots = np.concatenate([[self.s_start], self.corners(), [self.s_end]])
        keep = np.concatenate([[True], np.diff(knots) > 0.01 * max_step])
        keep[-1] = True
        knots = knots[keep]
        if len(knots) > 2 and knots[-1] - knots[-2] <= 0.01 * max_step:
            knots = np.delete(knots, -2)
        n = np.maximum(1, np.ceil(np.diff(knots) / max_step - 1e-9).astype(np.int64))
        start = np.repeat(knots[:-1], n)
        step = np.repeat(np.diff(knots) / n, n)
        k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        return np.concatenate([start + k * step, knots[-1:]])

    def reversed_path(self) -> SegmentPath:
        """The same segment welded in the opposite direction."""
        return replace(self, reversed=not self.reversed)


def max_sample_step(max_step: float, travel_speed: float, weave: Weave | None, per_cycle: int) -> float:
    """Sample step [m]: at most ``max_step`` and at least ``per_cycle`` samples per weave cycle."""
    if weave is None:
        return max_step
    return min(max_step, travel_speed / (per_cycle * weave.frequency))


__all__ = ["SegmentPath", "max_sample_step", "seam_samples"]
