"""Geometry of the URScript export: fit lines and arcs to weld paths, decimate servo tables, blend transits.

Everything here is pure numpy on a planned :class:`~weldcell.trajectory.JointTrajectory`;
:mod:`weldcell.drivers.ur.program.export` turns the results into program text. Each result carries the
verification the export relies on, computed with the virtual controller's motion model
(:mod:`weldcell.drivers.ur.virtual.motion`: trapezoidal profiles, blends by superposition):

- weld pieces (``movel``/``movec``): the fitted pieces stay within the fit tolerance of every weld
  sample (position; orientation within its own tolerance), and the blended, timed TCP path of the
  emitted moves stays within the weld tolerance of the plan (nearest-point distance, both ways);
- servo tables: set-points at a subset of the samples, linear interpolation in joint space between
  them reproduces every planned TCP position within the servo tolerance;
- transits (``movej``): a joint-space polyline within ``transit_tolerance`` of the plan, blend radii
  halved at the corners where the blended path leaves ``transit_corridor`` or a joint would exceed
  its speed limit, and 0 at the arc start.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from weldcell.drivers.ur import models
from weldcell.drivers.ur.virtual.motion import CirclePath, MotionError, Profile, circle_through, fk_batch

NDArrayF = npt.NDArray[np.float64]


# --- small geometry helpers ---------------------------------------------------------------------
def rotvecs_between(R0: NDArrayF, R: NDArrayF) -> NDArrayF:
    """Rotation vectors [rad] (M, 3) of ``R[k] @ R0.T`` for rotations R (M, 3, 3) (base frame)."""
    D = R @ R0.T
    cos = np.clip((np.trace(D, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    ang = np.arccos(cos)
    w = np.stack([D[:, 2, 1] - D[:, 1, 2], D[:, 0, 2] - D[:, 2, 0], D[:, 1, 0] - D[:, 0, 1]], axis=1)
    s = np.sin(ang)
    scale = np.where(s > 1e-9, ang / np.maximum(2.0 * s, 1e-300), 0.5)
    return np.asarray(w * scale[:, None], dtype=np.float64)


def _angle_error(R_fit: NDArrayF, R: NDArrayF) -> NDArrayF:
    """Angle [rad] (M,) between rotations R_fit (M, 3, 3) and R (M, 3, 3)."""
    D = np.einsum("mij,mkj->mik", R_fit, R)
    cos = np.clip((np.trace(D, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    return np.asarray(np.arccos(cos), dtype=np.float64)


def _rot_batch(rv: NDArrayF) -> NDArrayF:
    """Rotation matrices (M, 3, 3) of rotation vectors (M, 3)."""
    ang = np.linalg.norm(rv, axis=1)
    k = rv / np.maximum(ang, 1e-300)[:, None]
    K = np.zeros((len(rv), 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    K[:, 1, 0], K[:, 2, 0], K[:, 2, 1] = k[:, 2], -k[:, 1], k[:, 0]
    s, c = np.sin(ang)[:, None, None], (1 - np.cos(ang))[:, None, None]
    return np.asarray(np.eye(3) + s * K + c * (K @ K), dtype=np.float64)


# --- weld pieces ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Piece:
    """One fitted weld move from weld sample ``i0`` to ``i1`` (indices into the block's weld samples).

    Attributes:
        kind: ``"line"`` (movel) or ``"arc"`` (movec).
        i0: First sample.
        i1: Last sample (the move's target).
        via: Via sample of an arc (-1 for a line).
        mode: movec orientation mode (0 interpolated, 1 fixed to the tangent).
        length: Path length [m].
    """

    kind: str
    i0: int
    i1: int
    via: int
    mode: int
    length: float


def _fit_line(P: NDArrayF, R: NDArrayF, i: int, j: int, tol: float, rtol: float) -> bool:
    p0, d = P[i], P[j] - P[i]
    L2 = float(d @ d)
    x = P[i : j + 1] - p0
    if L2 < 1e-16:  # the samples barely move (start of a speed ramp): one point
        return float(np.max(np.linalg.norm(x, axis=1))) <= tol and bool(
            np.max(_angle_error(np.broadcast_to(R[i], (j - i + 1, 3, 3)), R[i : j + 1])) <= rtol
        )
    u = np.clip(x @ d / L2, 0.0, 1.0)
    if float(np.max(np.linalg.norm(x - u[:, None] * d, axis=1))) > tol:
        return False
    rv = models.rotvec_from_matrix(R[j] @ R[i].T)
    R_fit = _rot_batch(u[:, None] * rv) @ R[i]
    return float(np.max(_angle_error(R_fit, R[i : j + 1]))) <= rtol


def _fit_arc(P: NDArrayF, R: NDArrayF, i: int, j: int, tol: float, rtol: float) -> int:
    """Orientation mode (0/1) of an arc i → j through the middle sample within tolerance, or -1."""
    m = (i + j) // 2
    if m in (i, j):
        return -1
    try:
        c, r, n, sweep = circle_through(P[i], P[m], P[j])
    except MotionError:
        return -1
    if r > 10.0 or sweep > 2 * math.pi - 1e-3:
        return -1
    x = P[i : j + 1] - c
    h = x @ n
    radial = np.linalg.norm(x - h[:, None] * n, axis=1) - r
    if float(np.max(np.hypot(radial, h))) > tol:
        return -1
    e1 = (P[i] - c) / r
    e2 = np.cross(n, e1)
    phi = np.arctan2(x @ e2, x @ e1) % (2 * math.pi)
    phi[0] = 0.0
    if np.any(np.diff(phi) < -1e-9) or phi[-1] > sweep + 1e-9:
        return -1
    u = phi / sweep
    rv = models.rotvec_from_matrix(R[j] @ R[i].T)
    if float(np.max(_angle_error(_rot_batch(u[:, None] * rv) @ R[i], R[i : j + 1]))) <= rtol:
        return 0
    if float(np.max(_angle_error(_rot_batch(phi[:, None] * n) @ R[i], R[i : j + 1]))) <= rtol:
        return 1
    return -1


def _longest(ok: Callable[[int, int], bool], i: int, last: int, start: int = 2) -> int:
    """Largest j in [i + start, last] with ok(i, j) (exponential then binary search; ok assumed monotone)."""
    lo = min(i + start, last)
    if lo <= i or not ok(i, lo):
        return -1
    step = 2 * (lo - i)
    while lo < last:
        hi = min(i + step, last)
        if not ok(i, hi):
            break
        lo, step = hi, step * 2
    else:
        return lo
    hi = min(i + step, last)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(i, mid):
            lo = mid
        else:
            hi = mid
    return lo


def fit_pieces(P: NDArrayF, R: NDArrayF, tol: float, rtol: float) -> list[Piece]:
    """Lines and arcs through weld samples within ``tol`` [m] and ``rtol`` [rad], greedy longest first.

    Args:
        P: TCP positions in the base frame [m], shape (M, 3), the moving part of one weld.
        R: TCP orientations, shape (M, 3, 3).
        tol: Largest distance of a sample from its piece [m].
        rtol: Largest orientation difference from the piece's interpolated orientation [rad].
    """
    last = len(P) - 1
    out: list[Piece] = []
    i = 0
    while i < last:
        j_line = _longest(lambda a, b: _fit_line(P, R, a, b, tol, rtol), i, last)
        # an arc through densely spaced samples is numerically a line: try arcs from where lines end
        j_arc = _longest(lambda a, b: _fit_arc(P, R, a, b, tol, rtol) >= 0, i, last, max(2, j_line - i))
        if j_arc > j_line + 2:
            mode = _fit_arc(P, R, i, j_arc, tol, rtol)
            seg = np.diff(P[i : j_arc + 1], axis=0)
            out.append(
                Piece("arc", i, j_arc, (i + j_arc) // 2, mode, float(np.linalg.norm(seg, axis=1).sum()))
            )
            i = j_arc
        else:
            j = max(j_line, i + 1)
            out.append(Piece("line", i, j, -1, 0, float(np.linalg.norm(P[j] - P[i]))))
            i = j
    return out


def rebalance(
    pieces: list[Piece], P: NDArrayF, R: NDArrayF, tol: float, rtol: float, min_length: float
) -> list[Piece]:
    """Even out a piece shorter than ``min_length`` [m] with its neighbour (two lines of equal sample count).

    The greedy fit leaves a short remainder at the end (and short pieces between long ones); two
    lines over the same samples, cut in the middle, usually fit as well.
    """
    out = list(pieces)
    for k in range(len(out)):
        if out[k].length >= min_length or len(out) < 2:
            continue
        j = k - 1 if k > 0 else k + 1
        a, b = (out[j], out[k]) if j < k else (out[k], out[j])
        i0, i1 = a.i0, b.i1
        mid = (i0 + i1) // 2
        if (
            mid - i0 >= 1
            and i1 - mid >= 1
            and _fit_line(P, R, i0, mid, tol, rtol)
            and _fit_line(P, R, mid, i1, tol, rtol)
        ):
            first = Piece("line", i0, mid, -1, 0, float(np.linalg.norm(P[mid] - P[i0])))
            second = Piece("line", mid, i1, -1, 0, float(np.linalg.norm(P[i1] - P[mid])))
            lo = min(j, k)
            out[lo], out[lo + 1] = first, second
    return out


def split_piece(p: Piece, P: NDArrayF, max_length: float) -> list[Piece]:
    """Cut a piece into parts of equal length (at samples), none longer than ``max_length`` [m]."""
    n = max(1, math.ceil(p.length / max_length - 1e-9))
    n = max(1, min(n, (p.i1 - p.i0) // 2 if p.kind == "arc" else p.i1 - p.i0))
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(P[p.i0 : p.i1 + 1], axis=0), axis=1))])
    idx = p.i0 + np.searchsorted(cum, np.linspace(0.0, cum[-1], n + 1))
    idx[0], idx[-1] = p.i0, p.i1
    idx = np.unique(idx)
    out = []
    for a, b in zip(idx[:-1].tolist(), idx[1:].tolist(), strict=True):
        if p.kind == "arc":
            length = float(np.linalg.norm(np.diff(P[a : b + 1], axis=0), axis=1).sum())
            out.append(Piece("arc", a, b, (a + b) // 2, p.mode, length))
        else:
            out.append(Piece("line", a, b, -1, 0, float(np.linalg.norm(P[b] - P[a]))))
    return out


def tangent_angle(pa: Piece, pb: Piece, P: NDArrayF) -> float:
    """Angle [rad] between the end direction of ``pa`` and the start direction of ``pb``."""

    def direction(p: Piece, at_end: bool) -> NDArrayF:
        if p.kind == "line":
            d = P[p.i1] - P[p.i0]
        else:
            c, _, n, _ = circle_through(P[p.i0], P[p.via], P[p.i1])
            d = np.cross(n, (P[p.i1] if at_end else P[p.i0]) - c)
        return np.asarray(d / max(float(np.linalg.norm(d)), 1e-300), dtype=np.float64)

    cos = float(np.clip(direction(pa, True) @ direction(pb, False), -1.0, 1.0))
    return math.acos(cos)


@dataclass(frozen=True, slots=True)
class ChainMove:
    """One move of a chain, in the space the blends superpose in (joint or TCP position).

    Attributes:
        start: Start value (dim,).
        end: End value (dim,).
        length: Path length (rad for movej, m for movel/movec).
        v: Cruise speed.
        a: Acceleration.
        r_path: Blend-out length along the path (0 = stop at ``end``).
        via: Via position of a movec (3,) or None for a straight move.
    """

    start: NDArrayF
    end: NDArrayF
    length: float
    v: float
    a: float
    r_path: float
    via: NDArrayF | None = None

    def at(self, d: NDArrayF) -> NDArrayF:
        """Values (n, dim) after travelling ``d`` (n,) along the move."""
        if self.via is None:
            u = d / self.length if self.length > 0 else np.ones_like(d)
            return np.asarray(self.start + u[:, None] * (self.end - self.start), dtype=np.float64)
        T0, T1 = np.eye(4), np.eye(4)
        T0[:3, 3], T1[:3, 3] = self.start, self.end
        path = CirclePath(T0, self.via, T1)
        return np.asarray([path.pose_at(float(x))[:3, 3] for x in d], dtype=np.float64)


def chain(moves: list[ChainMove], dt: float) -> tuple[NDArrayF, NDArrayF, float, list[Profile]]:
    """Samples every ``dt`` of a chain of blended moves as the virtual controller runs them.

    Each move starts when the previous one starts its blend (its ramp-down, ``r_path`` before its
    end) and ramps up over the same time; the value is the first start plus every move's
    displacement so far (:mod:`weldcell.drivers.ur.virtual.motion`).

    Returns:
        (values (K, dim), start time of each move [s] (n,), duration [s], profiles).
    """
    n = len(moves)
    profiles: list[Profile] = []
    t_start = np.zeros(n)
    blend_in: float | None = None
    for k, m in enumerate(moves):
        prof = Profile.make(m.length, m.v, m.a, 0.0, blend_in, m.r_path)
        profiles.append(prof)
        if k + 1 < n:
            t_start[k + 1] = t_start[k] + (prof.decel_start if m.r_path > 0 else prof.duration)
        blend_in = prof.t_out if m.r_path > 0 else None
    total = float(max(t_start[k] + profiles[k].duration for k in range(n))) if n else 0.0
    t = np.arange(0.0, total + dt, dt)
    out = np.repeat(moves[0].start[None], len(t), axis=0) if n else np.zeros((0, 0))
    for k, m in enumerate(moves):
        tau = t - t_start[k]
        done = tau >= profiles[k].duration
        out[done] += m.end - m.start
        act = (tau > 0) & ~done
        if act.any():
            out[act] += m.at(profiles[k].s(tau[act])) - m.start
    return out, t_start, total, profiles


def densify(x: NDArrayF, max_step: float) -> NDArrayF:
    """Points (K, d) on the polyline through ``x`` (M, d), consecutive ones at most ``max_step`` apart."""
    if len(x) < 2:
        return x
    step = np.linalg.norm(np.diff(x, axis=0), axis=1)
    n = np.maximum(1, np.ceil(step / max_step).astype(int))
    seg = np.repeat(np.arange(len(step)), n)
    u = (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
    pts = x[seg] + u[:, None] * (x[seg + 1] - x[seg])
    return np.asarray(np.concatenate([pts, x[-1:]]), dtype=np.float64)


def nearest_distance(a: NDArrayF, b: NDArrayF) -> NDArrayF:
    """Distance [m] (len(a),) from each point of ``a`` (N, 3) to the nearest point of ``b`` (M, 3)."""
    d, _ = cKDTree(b).query(a)
    return np.asarray(d, dtype=np.float64)


# --- servo tables ---------------------------------------------------------------------------------
def decimate_servo(
    arm: models.URArm, q: NDArrayF, P: NDArrayF, T_flange_tcp: NDArrayF, tol: float, max_step: int
) -> tuple[list[int], float]:
    """Sample indices whose linear joint interpolation (in time) keeps the TCP within ``tol`` of ``P``.

    Args:
        arm: Controller-side arm model.
        q: Planned joint positions [rad], shape (M, 6), one per sample period.
        P: Planned TCP positions in the base frame [m], shape (M, 3).
        T_flange_tcp: TCP in the flange frame (4, 4).
        tol: Largest TCP position error [m].
        max_step: Largest number of sample periods between set-points.

    Returns:
        (sorted indices including 0 and M - 1, the largest TCP error [m] of the interpolation).
    """
    m = len(q)
    keep = np.zeros(m, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, m - 1)]
    worst = 0.0
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        u = (np.arange(a + 1, b) - a) / (b - a)
        qi = q[a] + u[:, None] * (q[b] - q[a])
        T = fk_batch(arm, qi)
        p = T[:, :3, :3] @ T_flange_tcp[:3, 3] + T[:, :3, 3]
        err = np.linalg.norm(p - P[a + 1 : b], axis=1)
        k = int(np.argmax(err))
        if err[k] > tol or b - a > max_step:
            mid = a + 1 + k if err[k] > tol else (a + b) // 2
            keep[mid] = True
            stack.extend(((a, mid), (mid, b)))
        else:
            worst = max(worst, float(err[k]))
    return np.flatnonzero(keep).tolist(), worst
