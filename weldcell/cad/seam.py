"""Seam candidates found on an assembly, and their options.

A :class:`SeamCandidate` is one weldable curve (line, arc, circle or polyline) in the assembly
frame [m], with the outward normals of its two surfaces (one face normal for a butt joint) at its
start and the work angle that bisects the joint.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from weldcell.errors import InvalidValueError

NDArrayF = npt.NDArray[np.float64]

JOINTS = ("fillet", "lap", "butt", "corner")
CURVES = ("line", "arc", "circle", "polyline")


@dataclass(frozen=True, slots=True)
class DetectOptions:
    """Tolerances of seam detection (SI units).

    Attributes:
        gap_tol: Largest gap or overlap [m] between two parts that still counts as contact.
        butt_gap_max: Widest gap [m] between two plate edges that is a butt seam.
        min_interior: Smallest angle [rad] of the concave corner (the air side) of a fillet.
        max_interior: Largest such angle [rad].
        sharp_angle: Smallest turn [rad] between the two faces of a mesh edge for it to be a part
            edge (edges of a tessellated curve turn less).
        sample_step: Spacing [m] at which the part edges are tested for contact.
        probe: Distance [m] from the root at which the faces and the free air are probed.
        min_length: Shortest seam reported [m].
        fit_tol: Largest distance [m] of the mesh points from a fitted line, arc or circle.
        chord_tol: Largest distance [m] of a facet edge from the arc or circle it tessellates
            (the sagitta); coarser polygons are polylines, not arcs.
        corner_angle: Largest turn [rad] at a corner inside a polyline seam; a sharper corner
            ends the seam.
        normal_angle: Largest angle [rad] between a contact face's normal and the opposite
            part's face normal.
        merge_tol: Vertices closer than this [m] are merged on load.
    """

    gap_tol: float = 0.5e-3
    butt_gap_max: float = 3.0e-3
    min_interior: float = float(np.deg2rad(45.0))
    max_interior: float = float(np.deg2rad(150.0))
    sharp_angle: float = float(np.deg2rad(25.0))
    sample_step: float = 1.0e-3
    probe: float = 1.5e-3
    min_length: float = 5.0e-3
    fit_tol: float = 0.25e-3
    chord_tol: float = 1.0e-3
    corner_angle: float = float(np.deg2rad(45.0))
    normal_angle: float = float(np.deg2rad(15.0))
    merge_tol: float = 1.0e-5

    def __post_init__(self) -> None:
        for name in ("gap_tol", "butt_gap_max", "sample_step", "probe", "fit_tol", "merge_tol"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise InvalidValueError(f"DetectOptions.{name} must be > 0, got {v}")
        if not (np.isfinite(self.min_length) and self.min_length >= 0):
            raise InvalidValueError(f"DetectOptions.min_length must be >= 0, got {self.min_length}")
        if not 0 < self.min_interior < self.max_interior < np.pi:
            raise InvalidValueError(
                "DetectOptions: need 0 < min_interior < max_interior < 180°, got "
                f"{np.rad2deg(self.min_interior):.1f}° and {np.rad2deg(self.max_interior):.1f}°"
            )
        if self.probe <= self.gap_tol:
            raise InvalidValueError(
                f"DetectOptions.probe ({self.probe * 1e3:.2f} mm) must exceed gap_tol "
                f"({self.gap_tol * 1e3:.2f} mm)"
            )


@dataclass(frozen=True, slots=True)
class SeamCandidate:
    """One candidate seam, in the assembly frame.

    Attributes:
        id: Candidate id (``c1``, ``c2``, ...).
        joint: ``"fillet"``, ``"lap"``, ``"butt"`` or ``"corner"`` (two parts edge to edge).
        curve: ``"line"``, ``"arc"``, ``"circle"`` or ``"polyline"``.
        points: line: start, end; arc: start, mid, end; circle: start; polyline: corners.
            [m], shape (k, 3).
        center: Circle centre [m], shape (3,) (zeros for other curves).
        axis: Circle axis (travel is right-handed about it), shape (3,) (zeros otherwise).
        sweep: Circle sweep [rad] (0 otherwise).
        normal_1: Outward normal of surface 1 (the part the seam lies on) at the start, shape (3,).
        normal_2: Outward normal of surface 2 at the start, shape (3,), or None for a butt joint.
        part_1: Name of the part of surface 1 (the reference surface).
        part_2: Name of the other part.
        interior: Angle of the joint's open (air) side [rad]; π for a butt joint.
        work_angle: Torch angle from surface 1 that bisects the joint [rad].
        length: Curve length [m].
    """

    id: str
    joint: str
    curve: str
    points: NDArrayF
    normal_1: NDArrayF
    normal_2: NDArrayF | None
    part_1: str
    part_2: str
    interior: float
    work_angle: float
    length: float
    center: NDArrayF = field(default_factory=lambda: np.zeros(3))
    axis: NDArrayF = field(default_factory=lambda: np.zeros(3))
    sweep: float = 0.0

    def __post_init__(self) -> None:
        if self.joint not in JOINTS or self.curve not in CURVES:
            raise InvalidValueError(f"seam candidate {self.id}: joint {self.joint!r} / curve {self.curve!r}")
        for name in ("points", "normal_1", "normal_2", "center", "axis"):
            v = getattr(self, name)
            if v is not None:
                a = np.array(v, dtype=np.float64)
                a.flags.writeable = False
                object.__setattr__(self, name, a)

    def sample(self, step: float) -> tuple[NDArrayF, NDArrayF]:
        """Points along the curve and their unit tangents, about ``step`` [m] apart.

        Polyline corners are sampled sharp (no blend). Returns (points (k, 3), tangents (k, 3)).
        """
        p, t, _ = self._sample(step)
        return p, t

    def sample_torch(self, step: float) -> tuple[NDArrayF, NDArrayF]:
        """Points along the curve (k, 3) [m] and the unit direction from the root to the torch at
        the work angle (k, 3), about ``step`` apart.

        The start normals are carried along the curve: rotated about the axis of a circle or an
        arc, turned about the corner axis at each polyline corner, constant along a line.
        """
        p, _t, R = self._sample(step)
        n1 = np.einsum("kij,j->ki", R, self.normal_1)
        if self.normal_2 is None:
            return p, n1
        n2 = np.einsum("kij,j->ki", R, self.normal_2)
        u = n2 - np.einsum("ij,ij->i", n2, n1)[:, None] * n1
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        return p, np.cos(self.work_angle) * u + np.sin(self.work_angle) * n1

    def _sample(self, step: float) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
        """Points, tangents and the rotations (k, 3, 3) carrying the start frame along."""
        if self.curve in ("circle", "arc"):
            c, ax = self._circle()
            r0 = self.points[0] - c
            rad = float(np.linalg.norm(r0))
            sweep = self.sweep if self.curve == "circle" else self._arc_sweep(c, ax)
            n = max(2, int(np.ceil(abs(sweep) * rad / step)) + 1)
            th = np.linspace(0.0, sweep, n)
            e1 = r0 / rad
            e2 = np.cross(ax, e1)
            p = c + rad * (np.cos(th)[:, None] * e1 + np.sin(th)[:, None] * e2)
            t = -np.sin(th)[:, None] * e1 + np.cos(th)[:, None] * e2
            return p, t, np.stack([_rot(ax, a) for a in th])
        pts = self.points
        out_p, out_t, out_r = [], [], []
        R = np.eye(3)
        t_prev: NDArrayF | None = None
        for a, b in itertools.pairwise(pts):
            L = float(np.linalg.norm(b - a))
            tt = (b - a) / L
            if t_prev is not None:
                k = np.cross(t_prev, tt)
                sn = float(np.linalg.norm(k))
                if sn > 1e-12:
                    R = _rot(k / sn, float(np.arctan2(sn, t_prev @ tt))) @ R
            t_prev = tt
            n = max(2, int(np.ceil(L / step)) + 1)
            s = np.linspace(0.0, 1.0, n)[:, None]
            out_p.append(a + s * (b - a))
            out_t.append(np.repeat(tt[None], n, axis=0))
            out_r.append(np.repeat(R[None], n, axis=0))
        return np.concatenate(out_p), np.concatenate(out_t), np.concatenate(out_r)

    def _circle(self) -> tuple[NDArrayF, NDArrayF]:
        if self.curve == "circle":
            return self.center, self.axis
        a, m, b = self.points
        return _circle_through(a, m, b)

    def _arc_sweep(self, c: NDArrayF, ax: NDArrayF) -> float:
        a, _, b = self.points - c  # the axis makes a -> mid -> end right-handed: sweep in (0, 2π)
        return float(np.arctan2(np.dot(np.cross(a, b), ax), np.dot(a, b)) % (2 * np.pi))


def _circle_through(a: NDArrayF, m: NDArrayF, b: NDArrayF) -> tuple[NDArrayF, NDArrayF]:
    """Centre and axis (travel a → m → b right-handed) of the circle through three points."""
    u, v = m - a, b - a
    w = np.cross(u, v)
    ww = float(np.dot(w, w))
    c = a + (np.dot(u, u) * np.cross(v, w) + np.dot(v, v) * np.cross(w, u)) / (2.0 * ww)
    ax = w / np.sqrt(ww)
    return c, ax


def _rot(axis: NDArrayF, angle: float) -> NDArrayF:
    """Rotation matrix (3, 3) about a unit axis by ``angle`` [rad] (Rodrigues)."""
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * (K @ K)
