"""Seam curves parametrised by arc length: line, arc, circle, blended polyline, spline.

The loader uses these to validate geometry (lengths, tangents, corner radii) and the tool-path
module samples them. Everything is vectorised over the samples ``s`` (shape (N,)) and returned in
the part frame [m]. Along the curve, surface normals given at the start are carried by
*rotation-minimising transport*: the rotation that maps the start tangent to the current tangent
with no twist about the tangent (exact for circles and blended polylines: a rotation about the
circle / corner axis; for splines it is integrated on a fine table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import InvalidValueError
from weldcell.program.model import SeamGeometry
from weldcell.spatial import rotation_from_axis_angle

NDArrayF = npt.NDArray[np.float64]

_MIN_ANGLE = 1e-9


def _unit(v: NDArrayF) -> NDArrayF:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(v / np.where(n > 0.0, n, 1.0), dtype=np.float64)


def minimal_rotation(a: NDArrayF, b: NDArrayF) -> NDArrayF:
    """Rotations (..., 3, 3) taking unit vectors ``a`` (..., 3) onto ``b`` (..., 3) without twist.

    ``R = I + K + K² / (1 + a·b)`` with ``K = [a × b]ₓ``; undefined for ``b = -a`` (not used there).
    """
    v = np.cross(a, b)
    c = np.einsum("...i,...i->...", a, b)
    zero = np.zeros_like(c)
    K = np.stack(
        [
            np.stack([zero, -v[..., 2], v[..., 1]], -1),
            np.stack([v[..., 2], zero, -v[..., 0]], -1),
            np.stack([-v[..., 1], v[..., 0], zero], -1),
        ],
        -2,
    )
    result: NDArrayF = np.eye(3) + K + (K @ K) / (1.0 + c)[..., None, None]
    return result


def circle_through(p0: NDArrayF, p1: NDArrayF, p2: NDArrayF) -> tuple[NDArrayF, NDArrayF, float, float]:
    """Circle through three points traversed p0 → p1 → p2.

    Returns:
        centre (3,) [m], unit axis (3,) (travel is right-handed about it), radius [m],
        sweep from p0 to p2 [rad] in (0, 2π).
    """
    a = p1 - p0
    b = p2 - p0
    axb = np.cross(a, b)
    denom = 2.0 * float(axb @ axb)
    center = p0 + (np.cross(axb, a) * float(b @ b) + np.cross(b, axb) * float(a @ a)) / denom
    axis = axb / np.linalg.norm(axb)
    r0 = p0 - center
    r2 = p2 - center
    sweep = float(np.arctan2(np.cross(r0, r2) @ axis, r0 @ r2)) % (2.0 * np.pi)
    return center, axis, float(np.linalg.norm(r0)), sweep


@dataclass(frozen=True, slots=True, eq=False)
class _Pieces:
    """Lines and arcs of a blended polyline (or one line / one arc)."""

    s0: NDArrayF  # (P,) start arc length of each piece
    is_arc: npt.NDArray[np.bool_]  # (P,)
    origin: NDArrayF  # (P, 3) line start, or arc centre
    e1: NDArrayF  # (P, 3) arc: unit centre→start; line: unused
    e2: NDArrayF  # (P, 3) start tangent
    radius: NDArrayF  # (P,)
    axis: NDArrayF  # (P, 3) arc axis (e1 × e2); line: unused
    R_start: NDArrayF  # (P, 3, 3) transport rotation accumulated up to the piece start
    length: float  # total arc length [m]


class SeamCurve:
    """A seam curve in the part frame, parametrised by arc length ``s`` in [0, ``length``] [m]."""

    def __init__(self, geometry: SeamGeometry) -> None:
        """Build the curve from its description (assumed validated by the loader)."""
        self.kind = geometry.kind
        self.length = 0.0
        self._spline: Any = None
        pts = np.asarray(geometry.points, dtype=np.float64)
        if geometry.kind == "line":
            self._pieces = _polyline_pieces(pts, 0.0)
        elif geometry.kind == "polyline":
            self._pieces = _polyline_pieces(pts, geometry.blend_radius)
        elif geometry.kind == "arc":
            c, ax, _, sweep = circle_through(pts[0], pts[1], pts[2])
            self._pieces = _arc_piece(c, ax, pts[0], sweep)
        elif geometry.kind == "circle":
            ax = _unit(np.asarray(geometry.axis))
            self._pieces = _arc_piece(np.asarray(geometry.center), ax, pts[0], geometry.sweep)
        elif geometry.kind == "spline":
            self._build_spline(pts)
        else:
            raise InvalidValueError(f"unknown seam geometry kind {geometry.kind!r}")
        if self._spline is None:
            self.length = self._pieces.length

    def _build_spline(self, pts: NDArrayF) -> None:
        from scipy.interpolate import CubicSpline  # slow import, only needed for splines

        chord = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        u = np.concatenate([[0.0], np.cumsum(chord)])
        spline = CubicSpline(u, pts, bc_type="natural", axis=0)
        d1 = spline.derivative()
        # arc length table: 5-point Gauss-Legendre on a fine grid of the chord parameter
        n_grid = max(2048, 256 * (len(pts) - 1))
        ug = np.linspace(0.0, u[-1], n_grid + 1)
        xg, wg = np.polynomial.legendre.leggauss(5)
        h = np.diff(ug)
        mids = 0.5 * (ug[:-1] + ug[1:])
        uq = mids[:, None] + 0.5 * h[:, None] * xg[None, :]
        speed = np.linalg.norm(d1(uq.ravel()), axis=1).reshape(uq.shape)
        seg = 0.5 * h * (speed * wg[None, :]).sum(axis=1)
        sg = np.concatenate([[0.0], np.cumsum(seg)])
        self._spline = spline
        self._spline_d1 = d1
        self._u_of_s = CubicSpline(sg, ug)
        self.length = float(sg[-1])
        # transport table: prefix products of the minimal rotations between table tangents
        tg = _unit(d1(ug))
        steps = minimal_rotation(tg[:-1], tg[1:])
        P = np.concatenate([np.eye(3)[None], steps], axis=0)
        k = 1
        while k < len(P):
            P[k:] = P[k:] @ P[:-k]
            k *= 2
        self._table_s = sg
        self._table_t = tg
        self._table_R = P

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, s: npt.ArrayLike) -> tuple[NDArrayF, NDArrayF]:
        """Points and unit tangents at arc lengths ``s`` (N,) [m]: ((N, 3) [m], (N, 3))."""
        s_arr = np.clip(np.asarray(s, dtype=np.float64), 0.0, self.length)
        if self._spline is not None:
            u = self._u_of_s(s_arr)
            return self._spline(u), _unit(self._spline_d1(u))
        p = self._pieces
        i = np.clip(np.searchsorted(p.s0, s_arr, side="right") - 1, 0, len(p.s0) - 1)
        ds = s_arr - p.s0[i]
        arc = p.is_arc[i]
        r = np.where(arc, p.radius[i], 1.0)
        phi = ds / r
        c, sn = np.cos(phi)[:, None], np.sin(phi)[:, None]
        e1, e2, o = p.e1[i], p.e2[i], p.origin[i]
        p_arc = o + p.radius[i][:, None] * (c * e1 + sn * e2)
        t_arc = -sn * e1 + c * e2
        p_line = o + ds[:, None] * e2
        pts = np.where(arc[:, None], p_arc, p_line)
        tan = np.where(arc[:, None], t_arc, e2)
        return pts, tan

    def transport(self, s: npt.ArrayLike) -> NDArrayF:
        """Rotations (N, 3, 3) carrying start-of-seam vectors (normals) to arc lengths ``s`` (N,)."""
        s_arr = np.clip(np.asarray(s, dtype=np.float64), 0.0, self.length)
        if self._spline is not None:
            j = np.clip(np.searchsorted(self._table_s, s_arr, side="right") - 1, 0, len(self._table_s) - 1)
            _, t = self.evaluate(s_arr)
            result: NDArrayF = minimal_rotation(self._table_t[j], t) @ self._table_R[j]
            return result
        p = self._pieces
        i = np.clip(np.searchsorted(p.s0, s_arr, side="right") - 1, 0, len(p.s0) - 1)
        phi = np.where(p.is_arc[i], (s_arr - p.s0[i]) / p.radius[i], 0.0)
        R_local = rotation_from_axis_angle(p.axis[i], phi)
        result = R_local @ p.R_start[i]
        return result

    def junctions(self) -> NDArrayF:
        """Arc lengths [m] where one line or arc piece meets the next (curvature jumps), shape (K,).

        Empty for a single line, arc or circle and for splines (C2 everywhere).
        """
        if self._spline is not None:
            return np.zeros(0)
        return np.asarray(self._pieces.s0[1:], dtype=np.float64).copy()

    def start_tangent(self) -> NDArrayF:
        """Unit tangent at s = 0, shape (3,)."""
        tangent: NDArrayF = self.evaluate(np.zeros(1))[1][0]
        return tangent


def _arc_piece(center: NDArrayF, axis: NDArrayF, start: NDArrayF, sweep: float) -> _Pieces:
    r_vec = start - center
    r_vec = r_vec - (r_vec @ axis) * axis
    r = float(np.linalg.norm(r_vec))
    e1 = r_vec / r
    e2 = np.cross(axis, e1)
    pieces = _Pieces(
        s0=np.zeros(1),
        is_arc=np.array([True]),
        origin=center[None].copy(),
        e1=e1[None],
        e2=e2[None],
        radius=np.array([r]),
        axis=axis[None].copy(),
        R_start=np.eye(3)[None].copy(),
        length=r * sweep,
    )
    return pieces


def _polyline_pieces(pts: NDArrayF, blend_radius: float) -> _Pieces:
    """Lines between the points with circular blends of ``blend_radius`` [m] at the corners."""
    d = np.diff(pts, axis=0)
    seg_len = np.linalg.norm(d, axis=1)
    u = d / seg_len[:, None]
    n_seg = len(u)
    # corner k sits at pts[k + 1], between segment k and k + 1
    cos_turn = np.clip(np.einsum("ij,ij->i", u[:-1], u[1:]), -1.0, 1.0)
    turn = np.arccos(cos_turn)
    blended = (turn > _MIN_ANGLE) & (blend_radius > 0.0)
    tan_len = np.where(blended, blend_radius * np.tan(turn / 2.0), 0.0)
    cut_start = np.concatenate([[0.0], tan_len])  # trimmed from the start of each segment
    cut_end = np.concatenate([tan_len, [0.0]])
    s0: list[float] = []
    is_arc: list[bool] = []
    origin: list[NDArrayF] = []
    e1: list[NDArrayF] = []
    e2: list[NDArrayF] = []
    radius: list[float] = []
    axis: list[NDArrayF] = []
    R_start: list[NDArrayF] = []
    s = 0.0
    R_acc = np.eye(3)
    for k in range(n_seg):  # loop over corners (a handful), not over samples
        line_len = seg_len[k] - cut_start[k] - cut_end[k]
        s0.append(s)
        is_arc.append(False)
        origin.append(pts[k] + cut_start[k] * u[k])
        e1.append(np.zeros(3))
        e2.append(u[k])
        radius.append(1.0)
        axis.append(np.array([0.0, 0.0, 1.0]))
        R_start.append(R_acc.copy())
        s += line_len
        if k == n_seg - 1:
            break
        if blended[k]:
            n_in = u[k + 1] - cos_turn[k] * u[k]
            n_in /= np.linalg.norm(n_in)
            a_start = pts[k + 1] - tan_len[k] * u[k]
            center = a_start + blend_radius * n_in
            ax = np.cross(-n_in, u[k])
            s0.append(s)
            is_arc.append(True)
            origin.append(center)
            e1.append(-n_in)
            e2.append(u[k])
            radius.append(blend_radius)
            axis.append(ax)
            R_start.append(R_acc.copy())
            s += blend_radius * turn[k]
        R_acc = minimal_rotation(u[k], u[k + 1]) @ R_acc
    pieces = _Pieces(
        s0=np.array(s0),
        is_arc=np.array(is_arc),
        origin=np.array(origin),
        e1=np.array(e1),
        e2=np.array(e2),
        radius=np.array(radius),
        axis=np.array(axis),
        R_start=np.array(R_start),
        length=float(s),
    )
    return pieces
