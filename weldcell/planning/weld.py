"""Weld segments as timed joint samples: orientation samples, reversal, and the constant-speed weld.

The seam search (:mod:`weldcell.planning.seam`) chooses, per way point, a rotation about the torch
axis and (where the procedure allows) small work/travel angle deviations. Here those choices are
interpolated to every controller sample of the weld, the nominal torch pose is evaluated from the
segment's analytic definition (weave corners and seam frames exact, never a spline through the
tool-path samples), and the joints come from closed-form IK on the branch of the seam path;
velocities and accelerations are checked against the joint limits so that a seam the arm cannot
weld at the programmed speed is reported (with the limiting joint) instead of being slowed down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation, RotationSpline

from weldcell.planning._ladder_kernels import nearest_branch
from weldcell.planning.dense_check import dense_free
from weldcell.planning.seam import (
    SeamFailure,
    nearest_equivalent,
    orientation_offsets,
    rot_axis,
    rotz,
    wrap_mask,
)
from weldcell.planning.timing import seam_progress
from weldcell.program.weaves import weave_pattern
from weldcell.spatial import invert_transforms, se3_from_rotation_translation
from weldcell.trajectory.margins import MIN_SINGULARITY
from weldcell.trajectory.ops import differentiate

if TYPE_CHECKING:
    from weldcell.kinematics import Robot
    from weldcell.planning.collision import CollisionChecker
    from weldcell.toolpath.segments import WeldSegment

NDArrayF = npt.NDArray[np.float64]


def orientation_samples(seg: WeldSegment, rotations: NDArrayF, tolerance_samples: int) -> NDArrayF:
    """All (γ, δw, δt) combinations [rad], shape (K, 3); nominal angles first."""

    def devs(tol: float) -> NDArrayF:
        if tol <= 1e-9 or tolerance_samples <= 1:
            return np.zeros(1)
        k = tolerance_samples + (tolerance_samples + 1) % 2
        d = np.linspace(-tol, tol, k)
        return d[np.argsort(np.abs(d), kind="stable")]

    dw = devs(float(getattr(seg, "work_angle_tolerance", 0.0)))
    dt = devs(float(getattr(seg, "travel_angle_tolerance", 0.0)))
    grid = np.array([(g, a, b) for a in dw for b in dt for g in rotations], dtype=np.float64)
    return grid


def reversed_segment(seg: WeldSegment, approach_distance: float, retract_distance: float) -> Any:
    """The same weld in the opposite direction (for seam ordering), rebuilt from the seam frames.

    The seam frame turns by π about its z axis (travel reverses, the approach direction stays), the
    travel angle keeps its sign relative to the new travel direction (push stays push), and the
    weave restarts at the new start. Returns None when the segment carries no seam frames.
    """
    from weldcell.toolpath import weave_offsets

    path = getattr(seg, "path", None)
    if path is not None:  # exact: the reversed definition, sampled with its own weave corners
        path_r = path.reversed_path()
        s = np.asarray(seg.s, dtype=np.float64)
        step = float(np.max(np.diff(s))) if len(s) > 1 else 1e-3
        s_rev = path_r.sample_grid(step)
        T = path_r.poses(s_rev)
        R_S, p_S = path_r.seam_frames(s_rev)
        T_S = se3_from_rotation_translation(R_S, p_S)
    else:
        T_seam = getattr(seg, "T_world_seam", None)
        if T_seam is None:
            return None
        s = np.asarray(seg.s, dtype=np.float64)
        s_rev = s[0] + (s[-1] - s[::-1])
        T_S = np.asarray(T_seam)[::-1] @ rotz(np.pi)
        R_S = T_S[:, :3, :3]
        p = T_S[:, :3, 3].copy()
        if seg.weave is not None:
            off = weave_offsets(seg.weave, (s_rev - s_rev[0]) / seg.travel_speed)
            p = p + off[:, :1] * R_S[:, :, 0] + off[:, 1:2] * R_S[:, :, 1] - off[:, 2:] * R_S[:, :, 2]
        g0 = gamma0(seg)
        R_tcp = R_S @ (rot_axis(1, seg.travel_angle) @ rotz(g0))[:3, :3]
        T = se3_from_rotation_translation(R_tcp, p)
        path_r = None
    T_app = T[0].copy()
    T_app[:3, 3] -= approach_distance * T_app[:3, 2]
    T_dep = T[-1].copy()
    T_dep[:3, 3] -= retract_distance * T_dep[:3, 2]
    changes: dict[str, Any] = {
        "s": s_rev,
        "T_world_tcp": T,
        "T_world_approach": T_app,
        "T_world_depart": T_dep,
        "T_world_seam": T_S,
    }
    if path_r is not None:
        changes["path"] = path_r
    return replace(seg, **changes)


def gamma0(seg: WeldSegment) -> float:
    """Rotation γ0 [rad] of the tool path about the TCP z axis relative to its seam frame (0 if unknown)."""
    T_seam = getattr(seg, "T_world_seam", None)
    if T_seam is None:
        return 0.0
    R_rel = np.asarray(T_seam)[0, :3, :3].T @ np.asarray(seg.T_world_tcp)[0, :3, :3]
    R_g0 = rot_axis(1, seg.travel_angle)[:3, :3].T @ R_rel
    return math.atan2(R_g0[1, 0], R_g0[0, 0])


def smooth_angles(s_way: NDArrayF, angles_way: NDArrayF, s: NDArrayF, smoothing: float) -> NDArrayF:
    """Orientation samples (W, 3) at way points smoothed and interpolated C2 to arc lengths s (M,).

    The seam search picks angles from a grid (e.g. 10° steps), so the raw sequence is a staircase;
    a Gaussian filter of width ``smoothing`` [m] along the seam and a cubic spline make the torch
    turn smoothly (continuous joint accelerations). The result is verified sample by sample.
    """
    a = np.asarray(angles_way, dtype=np.float64)
    if smoothing > 0 and len(s_way) > 2:
        d = (s_way[:, None] - s_way[None, :]) / smoothing
        w = np.exp(-0.5 * d * d)
        a = (w @ a) / w.sum(axis=1, keepdims=True)
    if len(s_way) < 2:
        return np.repeat(a[:1], len(s), axis=0)
    out: NDArrayF = CubicSpline(s_way, a, axis=0)(np.clip(s, s_way[0], s_way[-1]))
    return out


@dataclass(frozen=True, slots=True)
class WeldSamples:
    """The timed weld motion of one segment (without the dwells), sampled every dt.

    Attributes:
        s: Seam arc length per sample [m], shape (M,).
        q: Joints [rad], shape (M, n) (:attr:`qd` and :attr:`qdd` are its derivatives).
        angles: Orientation samples (γ, δw, δt) per sample [rad], shape (M, 3).
        seg: The segment welded (its tool path and torch angles give :attr:`T_world_tcp`).
        dt: Sample period [s].
    """

    s: NDArrayF
    q: NDArrayF
    angles: NDArrayF
    seg: WeldSegment
    dt: float

    @property
    def qd(self) -> NDArrayF:
        """Joint velocities [rad/s], shape (M, n): ``differentiate(q, dt)``, computed on each access.

        Not stored (nor :attr:`qdd`): the planner keeps every joint path it completes until the
        job-wide choice, and the derivatives were 96 of the 176 bytes per weld sample held
        (memory, issue #14); the weld's velocities and accelerations are always those of its
        sampled positions (the end rule of :func:`~weldcell.trajectory.ops.differentiate`).
        """
        return differentiate(self.q, self.dt)[0]

    @property
    def qdd(self) -> NDArrayF:
        """Joint accelerations [rad/s²], shape (M, n), as :attr:`qd`."""
        return differentiate(self.q, self.dt)[1]

    def derivatives(self) -> tuple[NDArrayF, NDArrayF]:
        """(:attr:`qd`, :attr:`qdd`) from one differentiation (for a caller that needs both)."""
        qd, qdd = differentiate(self.q, self.dt)
        return qd, qdd

    @property
    def T_world_tcp(self) -> NDArrayF:
        """Nominal torch poses (with the chosen orientation samples) [m], shape (M, 4, 4).

        Computed on each access, exactly as the samples were planned (tool-path poses at ``s`` times
        the orientation offsets of ``angles``): not stored, because the planner keeps every joint
        path it completes until the job-wide choice, and the poses were 128 of the 280 bytes per
        weld sample held (memory, issue #14).
        """
        return self.T_world_tcp_at(slice(None))

    def T_world_tcp_at(self, rows: slice | npt.NDArray[np.intp]) -> NDArrayF:
        """:attr:`T_world_tcp` of the samples ``rows`` only (the same values: each pose depends on
        its own sample), shape (len(rows), 4, 4) [m]; e.g. the arc-start and crater-fill poses."""
        seg = self.seg
        s_tp = np.asarray(seg.s, dtype=np.float64)
        T_tp = np.asarray(seg.T_world_tcp, dtype=np.float64)
        out: NDArrayF = _path_poses(seg, s_tp, T_tp, self.s[rows]) @ orientation_offsets(
            self.angles[rows], seg.travel_angle, gamma0(seg)
        )
        return out


def weld_samples(
    robot: Robot,
    checker: CollisionChecker,
    seg: WeldSegment,
    s_way: NDArrayF,
    q_way: NDArrayF,
    angles_way: NDArrayF,
    T_world_base: NDArrayF,
    T_flange_tcp: NDArrayF,
    dt: float,
    min_ramp_time: float,
    smoothing: float = 0.01,
    poses: PathPoseCache | None = None,
) -> WeldSamples | SeamFailure:
    """Sample the weld at ``dt``; a :class:`SeamFailure` when a joint limit or collision forbids it.

    Args:
        robot: ``weldcell.kinematics.Robot``.
        checker: Collision checker.
        seg: The ``WeldSegment``.
        s_way, q_way, angles_way: The seam path at its way points: arc length (W,) [m], joints (W, n)
            [rad], orientation samples (W, 3) [rad].
        T_world_base, T_flange_tcp: Cell frames (4, 4).
        dt: Sample period [s].
        min_ramp_time: Shortest speed ramp [s]; doubled (up to 16x) while only the ramps exceed a
            joint's acceleration or speed limit.
        smoothing: Length scale [m] over which the chosen orientation samples are smoothed.
        poses: Keeps the segment's nominal tool-path poses for the next joint path of the same
            segment (they depend on the segment and the sample arc lengths only); None: computed.
    """
    # The speed ramps at arc start and end may be lengthened (in time) when the joints cannot
    # accelerate that fast; the programmed travel speed itself is never lowered.
    out: WeldSamples | SeamFailure | None = None
    for k in range(5):
        out, ramp_only = _weld_try(
            robot, checker, seg, s_way, q_way, angles_way, T_world_base, T_flange_tcp, dt,
            min_ramp_time * 2.0**k, smoothing, poses,
        )  # fmt: skip
        if not ramp_only:
            break
    assert out is not None  # mypy
    return out


def _weld_try(
    robot: Robot,
    checker: CollisionChecker,
    seg: WeldSegment,
    s_way: NDArrayF,
    q_way: NDArrayF,
    angles_way: NDArrayF,
    T_world_base: NDArrayF,
    T_flange_tcp: NDArrayF,
    dt: float,
    ramp_time: float,
    smoothing: float,
    poses: PathPoseCache | None = None,
) -> tuple[WeldSamples | SeamFailure, bool]:
    """One attempt of :func:`weld_samples`; the flag says a limit was exceeded only in the ramps."""
    s_tp = np.asarray(seg.s, dtype=np.float64)
    T_tp = np.asarray(seg.T_world_tcp, dtype=np.float64)
    length = float(s_tp[-1] - s_tp[0])
    s = s_tp[0] + seam_progress(length, seg.travel_speed, seg.ramp_length, dt, ramp_time)
    L_r = min(max(seg.ramp_length, 0.5 * seg.travel_speed * ramp_time), 0.5 * length)
    in_ramp = (s - s_tp[0] < L_r + 1e-9) | (s_tp[-1] - s < L_r + 1e-9)
    ang = smooth_angles(s_way, angles_way, s, smoothing)
    T_path = _path_poses(seg, s_tp, T_tp, s) if poses is None else poses.get(seg, s_tp, T_tp, s)
    T_nom = T_path @ orientation_offsets(ang, seg.travel_angle, gamma0(seg))
    T_base_flange = invert_transforms(T_world_base) @ T_nom @ invert_transforms(T_flange_tcp)
    del T_nom  # not kept: WeldSamples.T_world_tcp recomputes it when the weld joins the timeline
    Q = np.asarray(robot.ik(T_base_flange), dtype=np.float64)  # (M, B, n)
    n = Q.shape[-1]
    q_ref = np.stack([np.interp(s, s_way, q_way[:, j]) for j in range(n)], axis=1)
    wrap = wrap_mask(robot)
    best, dist = nearest_branch(np.ascontiguousarray(Q), np.ascontiguousarray(q_ref), wrap.astype(np.int64))
    rows = np.arange(len(s))
    if not np.all(np.isfinite(dist)):
        i = int(np.argmin(np.isfinite(dist)))
        return _fail(
            "out_of_reach", seg, s, i, i, "", "the torch pose between way points is out of reach"
        ), False
    q = nearest_equivalent(robot, Q[rows, best], q_ref)
    step = np.abs(np.diff(q, axis=0))
    if not np.all(np.isfinite(q)) or np.any(step > 0.1):
        i = int(np.argmax(np.max(np.where(np.isfinite(step), step, np.inf), axis=1)))
        return _fail("discontinuity", seg, s, i, i + 1, "", "the joint path jumps between way points"), False
    del Q  # every IK branch of every sample (M x 8 x n): the largest array here (memory, issue #14)
    q, qd, qdd = _round_corners(robot, seg, q, T_base_flange @ T_flange_tcp, T_flange_tcp, dt)
    del T_base_flange
    for what, val, lim, unit in (
        ("speed", qd, robot.qd_max, "rad/s"),
        ("acceleration", qdd, robot.qdd_max, "rad/s²"),
    ):
        ratio = np.abs(val) / np.asarray(lim, dtype=np.float64)
        if np.any(ratio > 1.0):
            j = int(np.argmax(np.max(ratio, axis=0)))
            bad = np.flatnonzero(ratio[:, j] > 1.0)
            peak = float(np.max(np.abs(val[:, j])))
            ramp_only = bool(np.all(in_ramp[np.any(ratio > 1.0, axis=1)]))
            return _fail(
                "weld_speed",
                seg,
                s,
                int(bad[0]),
                int(bad[-1]),
                robot.joint_names[j],
                f"at {seg.travel_speed * 1e3:.1f} mm/s joint {robot.joint_names[j]} needs {what} "
                f"{peak:.2f} {unit} (limit {float(lim[j]):.2f}); " + _remedy(seg, what),
            ), ramp_only
    # exact below the floor, saturated above it (a bound skips the SVD for most samples)
    sing = np.asarray(
        robot.singularity_distance(q, exact_below=MIN_SINGULARITY, along_path=True), dtype=np.float64
    )
    if np.any(sing < MIN_SINGULARITY):
        bad = np.flatnonzero(sing < MIN_SINGULARITY)
        what = (
            f"the arm passes within {float(sing.min()):.4f} of a singularity between way points "
            f"(needs {MIN_SINGULARITY})"
        )
        return _fail("singularity", seg, s, int(bad[0]), int(bad[-1]), "", what), False
    # most samples proven free from their neighbours' slack; the exact query only to explain a collision
    free = dense_free(checker, q)
    if not np.all(free):
        res = checker.query(q) if hasattr(checker, "query") else None
        bad = np.flatnonzero(~free)
        body = ""
        pair_names = getattr(checker, "pair_names", None)
        if res is not None and pair_names is not None and res.worst_pair[bad[0]] >= 0:
            _part, body = pair_names(int(res.worst_pair[bad[0]]))
        what = f"collision between way points ({body})"
        if hasattr(checker, "describe"):
            at = float(s[bad[0]] - seg.s[0]) * 1e3
            what = f"between way points, at s = {at:.1f} mm: {checker.describe(q[bad[0]])}"
        return _fail("collision", seg, s, int(bad[0]), int(bad[-1]), body, what), False
    del qd, qdd  # checked above; recomputed from q when the weld joins the timeline
    return WeldSamples(s=s, q=q, angles=ang, seg=seg, dt=dt), False


CORNER_TOLERANCE = 4e-5  # [m] how far the joint path may cut a corner (the nominal stays exact)
CORNER_ANGLE_TOLERANCE = float(np.deg2rad(0.04))  # [rad] the same for the torch orientation
_CORNER_WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)  # smoothing half-widths tried [samples]


def _has_corners(seg: WeldSegment) -> bool:
    path = getattr(seg, "path", None)
    if path is not None:
        return bool(len(path.corners()))
    weave = getattr(seg, "weave", None)
    return weave is not None and weave_pattern(weave.pattern).has_corners


def _round_corners(
    robot: Robot, seg: WeldSegment, q: NDArrayF, T_base_tcp: NDArrayF, T_flange_tcp: NDArrayF, dt: float
) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
    """Joints, velocities, accelerations of the weld, with path corners rounded where needed.

    Weave corners (zigzag, triangle, trapezoid) are steps in velocity, and a line meeting a blend
    arc is a step in the torch's turning rate: no arm makes them at a finite acceleration. The
    nominal poses keep the exact corners (so the validator sees what the arm really does); only the
    joint path is smoothed, with a triangular kernel as narrow as the joint acceleration limits
    allow and never so wide that the TCP leaves the exact path by more than ``CORNER_TOLERANCE``
    or the torch axis turns away from it by more than ``CORNER_ANGLE_TOLERANCE`` (a kernel
    of half-width h cuts a corner with a velocity step Δv by Δv·h/6). A path without corners is
    returned unchanged.

    Args:
        robot: The robot model (``fk``, ``qdd_max``).
        seg: The weld segment.
        q: Joint positions at every sample (M, n) [rad].
        T_base_tcp: The exact torch poses (M, 4, 4) in the base frame.
        T_flange_tcp: The TCP in the flange frame (4, 4).
        dt: Sample period [s].
    """
    qd, qdd = differentiate(q, dt)
    qdd_max = np.asarray(robot.qdd_max, dtype=np.float64)
    if len(q) < 5 or np.all(np.abs(qdd) <= qdd_max) or not _has_corners(seg):
        return q, qd, qdd
    best = (q, qd, qdd)
    for h in _CORNER_WIDTHS:
        if 2 * h + 1 > len(q):
            break
        kernel = np.concatenate([np.arange(1, h + 2), np.arange(h, 0, -1)]).astype(np.float64)
        kernel /= kernel.sum()
        padded = np.concatenate([np.repeat(q[:1], h, axis=0), q, np.repeat(q[-1:], h, axis=0)])
        q_s = np.stack([np.convolve(padded[:, j], kernel, mode="valid") for j in range(q.shape[1])], axis=1)
        T = np.asarray(robot.fk(q_s), dtype=np.float64) @ T_flange_tcp
        dp = np.linalg.norm(T[:, :3, 3] - T_base_tcp[:, :3, 3], axis=1)
        cos_axis = np.einsum("ni,ni->n", T[:, :3, 2], T_base_tcp[:, :3, 2])
        dr = np.arccos(np.clip(cos_axis, -1.0, 1.0))
        if dp.max() > CORNER_TOLERANCE or dr.max() > CORNER_ANGLE_TOLERANCE:
            break
        qd_s, qdd_s = differentiate(q_s, dt)
        best = (q_s, qd_s, qdd_s)
        if np.all(np.abs(qdd_s) <= qdd_max):
            break
    return best


def _remedy(seg: WeldSegment, what: str) -> str:
    """What the user can change when the weld needs more joint speed or acceleration than allowed."""
    weave = getattr(seg, "weave", None)
    if what == "acceleration" and weave is not None and weave_pattern(weave.pattern).has_corners:
        return (
            f"the corners of the {weave.pattern} weave (±{weave.amplitude * 1e3:g} mm at "
            f"{weave.frequency:g} Hz) cannot be followed within {CORNER_TOLERANCE * 1e3:g} mm: lower "
            "the weave frequency or amplitude, or use a sine weave"
        )
    if what == "acceleration" and _has_corners(seg):
        return (
            "where a line meets an arc the torch starts turning at once and cannot follow within "
            f"{np.rad2deg(CORNER_ANGLE_TOLERANCE):g}°: use a larger blend radius or lower the travel speed"
        )
    rotation_free = bool(getattr(seg, "free_rotation", False)) or (
        float(getattr(seg, "rotation_range", 0.0)) >= np.pi - 1e-9
    )
    if rotation_free:  # never suggest what is already in effect
        return "lower the travel speed"
    return "lower the travel speed or allow torch rotation"


def _path_poses(seg: WeldSegment, s_tp: NDArrayF, T_tp: NDArrayF, s: NDArrayF) -> NDArrayF:
    """Tool-path poses (M, 4, 4) at arc lengths ``s`` (M,) [m].

    From the segment's analytic definition when it has one (exact weave corners, exact seam frames
    through line/arc junctions); otherwise interpolated between its samples (cubic spline for the
    position, rotation spline for the orientation).
    """
    if getattr(seg, "path", None) is not None:
        result: NDArrayF = seg.poses_at(s)
        return result
    pos = CubicSpline(s_tp, T_tp[:, :3, 3], axis=0)(s)
    rot = RotationSpline(s_tp, Rotation.from_matrix(T_tp[:, :3, :3]))(s).as_matrix()
    return se3_from_rotation_translation(rot, pos)


class PathPoseCache:
    """Nominal tool-path poses of weld segments at their sample arc lengths, while a job is planned.

    The planner completes several joint paths of the same segment (its arm configurations, for the
    job-wide choice); every completion samples the same arc lengths, and the tool-path poses
    there depend only on the segment and those arc lengths. One entry per segment (the latest arc
    lengths asked for); :meth:`clear` releases them.
    """

    def __init__(self) -> None:
        """An empty cache."""
        self._store: dict[int, tuple[WeldSegment, NDArrayF, NDArrayF]] = {}

    def get(self, seg: WeldSegment, s_tp: NDArrayF, T_tp: NDArrayF, s: NDArrayF) -> NDArrayF:
        """``_path_poses(seg, s_tp, T_tp, s)``: (M, 4, 4) world poses at arc lengths ``s`` (M,) [m]."""
        hit = self._store.get(id(seg))
        if hit is not None and hit[0] is seg and hit[1].shape == s.shape and np.array_equal(hit[1], s):
            return hit[2]
        T = _path_poses(seg, s_tp, T_tp, s)
        T.flags.writeable = False
        self._store[id(seg)] = (seg, s.copy(), T)
        return T

    def clear(self) -> None:
        """Forget every segment's poses."""
        self._store.clear()


def _fail(cause: str, seg: WeldSegment, s: NDArrayF, i0: int, i1: int, detail: str, what: str) -> SeamFailure:
    a, b = float(s[i0] - seg.s[0]), float(s[i1] - seg.s[0])
    return SeamFailure(
        cause, a, b, detail, f"seam {seg.seam_id!r}, s = {a * 1e3:.1f}-{b * 1e3:.1f} mm: {what}"
    )
