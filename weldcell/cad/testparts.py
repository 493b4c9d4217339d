"""Generated assemblies with known seams, shared by the tests and ``benchmarks/seam_detection.py``.

Each generator returns an :class:`Assembly`: meshes per part [m] and the seams a welder would see
(every concave corner between two parts with an open side, every butt gap between two flush plate
faces), worked out from the construction, not by the detector. T-joints (upright and leaning webs),
lap joints, butt joints (with and without gap), open boxes, pipes standing on flanges, flanges on
horizontal pipes and brackets with a gusset; :func:`perturbed` adds vertex noise, duplicate
vertices and faces, a stray sliver and a gap or overlap between parts; :func:`moved` applies a
rigid transform.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

NDArrayF = npt.NDArray[np.float64]
NDArrayI = npt.NDArray[np.int64]
MM = 1e-3
_X, _Y, _Z = np.eye(3)


@dataclass(frozen=True, slots=True)
class KnownSeam:
    """A seam of a generated assembly, sampled every ≤ 0.5 mm.

    Attributes:
        joint: ``"fillet"``, ``"lap"``, ``"butt"`` or ``"corner"``.
        points: Points on the root [m], shape (k, 3).
        torch: Unit direction from the root to the torch at the bisecting work angle, (k, 3).
    """

    joint: str
    points: NDArrayF
    torch: NDArrayF


@dataclass(frozen=True, slots=True)
class Assembly:
    """Parts (name, vertices [m] (n, 3), faces (m, 3)) and their known seams."""

    name: str
    parts: tuple[tuple[str, NDArrayF, NDArrayI], ...]
    seams: tuple[KnownSeam, ...]


def _torch(n1: NDArrayF, n2: NDArrayF | None) -> NDArrayF:
    if n2 is None:
        return n1
    u = n2 - (n2 @ n1) * n1
    u /= np.linalg.norm(u)
    alpha = 0.5 * (np.pi - np.arccos(np.clip(n1 @ n2, -1.0, 1.0)))
    return np.cos(alpha) * u + np.sin(alpha) * n1


def line_seam(
    joint: str, a: npt.ArrayLike, b: npt.ArrayLike, n1: npt.ArrayLike, n2: npt.ArrayLike | None
) -> KnownSeam:
    """A straight known seam from ``a`` to ``b`` [m] with constant normals."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n = max(2, int(np.ceil(np.linalg.norm(b - a) / (0.5 * MM))) + 1)
    s = np.linspace(0.0, 1.0, n)[:, None]
    w = _torch(np.asarray(n1, float), None if n2 is None else np.asarray(n2, float))
    return KnownSeam(joint, a + s * (b - a), np.repeat(w[None], n, axis=0))


def circle_seam(
    joint: str,
    centre: NDArrayF,
    axis: NDArrayF,
    radius: float,
    n1_ra: tuple[float, float],
    n2_ra: tuple[float, float],
) -> KnownSeam:
    """A full circle; the normals are given as (radial, axial) components."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    e1 = np.cross(axis, _X if abs(axis[0]) < 0.9 else _Y)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    n = int(np.ceil(2 * np.pi * radius / (0.5 * MM)))
    th = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    er = np.cos(th)[:, None] * e1 + np.sin(th)[:, None] * e2
    pts = np.asarray(centre, float) + radius * er
    w = np.stack([_torch(n1_ra[0] * r + n1_ra[1] * axis, n2_ra[0] * r + n2_ra[1] * axis) for r in er])
    return KnownSeam(joint, pts, w)


def prism(poly: NDArrayF, h0: float, h1: float, R: NDArrayF, origin: NDArrayF) -> tuple[NDArrayF, NDArrayI]:
    """A convex polygon (k, 2), counter-clockwise in the (R[:,0], R[:,1]) plane, extruded along R[:,2]."""
    poly = np.asarray(poly, float)
    k = len(poly)
    base = poly[:, :1] * R[:, 0] + poly[:, 1:] * R[:, 1]
    V = np.concatenate([base + h0 * R[:, 2], base + h1 * R[:, 2]]) + origin
    i = np.arange(k)
    j = (i + 1) % k
    side = np.concatenate([np.stack([i, j, j + k], 1), np.stack([i, j + k, i + k], 1)])
    fan = np.stack([np.zeros(k - 2, int), np.arange(1, k - 1), np.arange(2, k)], 1)
    F = np.concatenate([side, fan[:, [0, 2, 1]], fan + k])
    return V, F.astype(np.int64)


def box(lo: npt.ArrayLike, hi: npt.ArrayLike) -> tuple[NDArrayF, NDArrayI]:
    """An axis-aligned box between corners ``lo`` and ``hi`` [m]."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    poly = [[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]]
    return prism(np.array(poly), lo[2], hi[2], np.eye(3), np.zeros(3))


def tube(
    r_in: float, r_out: float, h0: float, h1: float, n: int, R: NDArrayF, origin: NDArrayF
) -> tuple[NDArrayF, NDArrayI]:
    """A tube (r_in > 0) or solid cylinder (r_in = 0) along R[:,2], tessellated with n segments."""
    th = 2 * np.pi * np.arange(n) / n
    circ = np.stack([np.cos(th), np.sin(th)], 1)
    if r_in <= 0:
        return prism(r_out * circ, h0, h1, R, origin)
    ring = np.concatenate([r_out * circ, r_in * circ])  # outer 0..n-1, inner n..2n-1
    base = ring[:, :1] * R[:, 0] + ring[:, 1:] * R[:, 1]
    V = np.concatenate([base + h0 * R[:, 2], base + h1 * R[:, 2]]) + origin
    m = 2 * n
    i = np.arange(n)
    j = (i + 1) % n
    o0, o1, n0, n1_ = i, j, i + n, j + n
    quads = [
        (o0, o1, o1 + m, o0 + m),  # outer wall
        (n1_, n0, n0 + m, n1_ + m),  # inner wall
        (o0 + m, o1 + m, n1_ + m, n0 + m),  # top
        (n0, n1_, o1, o0),  # bottom
    ]
    F = np.concatenate(
        [np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)]) for a, b, c, d in quads]
    )
    return V, F.astype(np.int64)


def tjoint(rng: np.random.Generator, lean_deg: float = 90.0, gap: float = 0.0) -> Assembly:
    """A web on a base plate; the web leans to ``lean_deg`` from the plate (90: upright) and stands
    ``gap`` [m] above it (< 0: sunk into it, an overlap)."""
    L, W, t1 = rng.uniform(120, 300) * MM, rng.uniform(100, 200) * MM, rng.uniform(5, 15) * MM
    tw, h = rng.uniform(6, 12) * MM, rng.uniform(40, 100) * MM
    y0 = rng.uniform(-0.2, 0.2) * W
    flush = bool(rng.integers(2))
    x0, x1 = (
        (-L / 2, L / 2) if flush else (-L / 2 + rng.uniform(10, 30) * MM, L / 2 - rng.uniform(10, 30) * MM)
    )
    beta = np.deg2rad(lean_deg)
    c = 1 / np.tan(beta)
    poly = np.array([[y0 - tw / 2, 0], [y0 + tw / 2, 0], [y0 + tw / 2 + h * c, h], [y0 - tw / 2 + h * c, h]])
    base = box([-L / 2, -W / 2, -t1], [L / 2, W / 2, 0])
    web = prism(poly, x0, x1, np.stack([_Y, _Z, _X], 1), gap * _Z)
    right = np.array([0, np.sin(beta), -np.cos(beta)])
    left = -right
    yr, yl = y0 + tw / 2 - gap * c, y0 - tw / 2 - gap * c  # the web faces meet the plate's plane here
    seams = [
        line_seam("fillet", [x0, yr, 0], [x1, yr, 0], _Z, right),
        line_seam("fillet", [x0, yl, 0], [x1, yl, 0], _Z, left),
    ]
    if not flush:
        seams += [
            line_seam("fillet", [x0, yl, 0], [x0, yr, 0], _Z, -_X),
            line_seam("fillet", [x1, yl, 0], [x1, yr, 0], _Z, _X),
        ]
    return Assembly(f"tjoint_{lean_deg:.0f}", (("base", *base), ("web", *web)), tuple(seams))


def lap(rng: np.random.Generator) -> Assembly:
    """Two plates overlapping: a lap seam on top and one underneath."""
    L1, L2, W = rng.uniform(80, 200) * MM, rng.uniform(80, 200) * MM, rng.uniform(60, 200) * MM
    t1, t2, ov = rng.uniform(3, 8) * MM, rng.uniform(3, 8) * MM, rng.uniform(30, 60) * MM
    lower = box([0, 0, -t1], [L1, W, 0])
    upper = box([L1 - ov, 0, 0], [L1 - ov + L2, W, t2])
    seams = (
        line_seam("lap", [L1 - ov, 0, 0], [L1 - ov, W, 0], _Z, -_X),
        line_seam("lap", [L1, 0, 0], [L1, W, 0], -_Z, _X),
    )
    return Assembly("lap", (("lower", *lower), ("upper", *upper)), seams)


def butt(rng: np.random.Generator, gap: float) -> Assembly:
    """Two flush plates end to end with a gap [m]: a butt seam on each face."""
    La, Lb, W, t = (
        rng.uniform(60, 150) * MM,
        rng.uniform(60, 150) * MM,
        rng.uniform(80, 200) * MM,
        rng.uniform(4, 12) * MM,
    )
    a = box([-La, 0, -t], [-gap / 2, W, 0])
    b = box([gap / 2, 0, -t], [Lb, W, 0])
    seams = (
        line_seam("butt", [0, 0, 0], [0, W, 0], _Z, None),
        line_seam("butt", [0, 0, -t], [0, W, -t], -_Z, None),
    )
    return Assembly(f"butt_gap{gap / MM:.1f}", (("plate_a", *a), ("plate_b", *b)), seams)


def corner(rng: np.random.Generator, lean_deg: float = 90.0) -> Assembly:
    """Two plates meeting edge to edge (an open corner joint), the wall at ``lean_deg`` from the flat
    plate (90: upright): the outside V groove (the flat plate's end face and the wall's underside)
    and the inside corner."""
    L1, H, W = rng.uniform(60, 200) * MM, rng.uniform(50, 150) * MM, rng.uniform(60, 200) * MM
    t1, t2 = rng.uniform(4, 12) * MM, rng.uniform(4, 12) * MM
    b = np.deg2rad(lean_deg)
    d = np.array([np.cos(b), np.sin(b)])  # up the wall's inner face, in the (x, z) plane
    n_out = np.array([-np.sin(b), np.cos(b)])  # the wall's outer side
    poly = np.array([[0.0, 0.0], H * d, H * d + t2 * n_out, t2 * n_out])  # counter-clockwise
    flat = box([0, 0, -t1], [L1, W, 0])
    wall = prism(poly, -W, 0.0, np.stack([_X, _Z, -_Y], 1), np.zeros(3))
    under = np.array([-d[0], 0.0, -d[1]])
    inner = np.array([-n_out[0], 0.0, -n_out[1]])
    seams = (
        line_seam("corner", [0, 0, 0], [0, W, 0], -_X, under),  # outside
        line_seam("corner", [0, 0, 0], [0, W, 0], _Z, inner),  # inside
    )
    return Assembly(f"corner_{lean_deg:.0f}", (("flat", *flat), ("wall", *wall)), seams)


def open_box(rng: np.random.Generator) -> Assembly:
    """Four walls on a bottom plate (long walls full length, short walls between them)."""
    Lx, Ly, H = rng.uniform(150, 300) * MM, rng.uniform(100, 200) * MM, rng.uniform(50, 120) * MM
    tw, t, m = rng.uniform(6, 10) * MM, rng.uniform(6, 12) * MM, rng.uniform(8, 20) * MM
    ax, ay = Lx / 2, Ly / 2
    parts = [("bottom", *box([-ax - m, -ay - m, -t], [ax + m, ay + m, 0]))]
    parts.append(("wall_py", *box([-ax, ay - tw, 0], [ax, ay, H])))
    parts.append(("wall_ny", *box([-ax, -ay, 0], [ax, -ay + tw, H])))
    parts.append(("wall_px", *box([ax - tw, -ay + tw, 0], [ax, ay - tw, H])))
    parts.append(("wall_nx", *box([-ax, -ay + tw, 0], [-ax + tw, ay - tw, H])))
    ix, iy = ax - tw, ay - tw
    S: list[KnownSeam] = []
    for s in (1.0, -1.0):
        S.append(line_seam("fillet", [-ix, s * iy, 0], [ix, s * iy, 0], _Z, -s * _Y))  # inside, long
        S.append(line_seam("fillet", [s * ix, -iy, 0], [s * ix, iy, 0], _Z, -s * _X))  # inside, short
        S.append(line_seam("fillet", [-ax, s * ay, 0], [ax, s * ay, 0], _Z, s * _Y))  # outside, long
        S.append(line_seam("fillet", [s * ax, -iy, 0], [s * ax, iy, 0], _Z, s * _X))  # outside, short
        for r in (1.0, -1.0):
            S.append(line_seam("fillet", [s * ax, r * iy, 0], [s * ax, r * ay, 0], _Z, s * _X))  # wall end
            S.append(line_seam("fillet", [s * ix, r * iy, 0], [s * ix, r * iy, H], -r * _Y, -s * _X))
    return Assembly("box", tuple(parts), tuple(S))


def pipe_on_flange(rng: np.random.Generator) -> Assembly:
    """A pipe standing on a round flange (with a bore): fillets outside and inside the pipe."""
    r_out = rng.uniform(25, 80) * MM
    r_in = r_out - rng.uniform(4, 8) * MM
    Rf, tf, Lp = r_out + rng.uniform(30, 60) * MM, rng.uniform(10, 25) * MM, rng.uniform(60, 150) * MM
    n_p, n_f = int(rng.integers(32, 72)), int(rng.integers(24, 64))
    flange = tube(r_in - rng.uniform(5, 10) * MM, Rf, -tf, 0.0, n_f, np.eye(3), np.zeros(3))
    pipe = tube(r_in, r_out, 0.0, Lp, n_p, np.eye(3), np.zeros(3))
    seams = (
        circle_seam("fillet", np.zeros(3), _Z, r_out, (0, 1), (1, 0)),
        circle_seam("fillet", np.zeros(3), _Z, r_in, (0, 1), (-1, 0)),
    )
    return Assembly("pipe_on_flange", (("flange", *flange), ("pipe", *pipe)), seams)


def flange_on_pipe(rng: np.random.Generator) -> Assembly:
    """A ring flange slipped onto a horizontal pipe: a fillet on each side of the flange."""
    r_out = rng.uniform(25, 70) * MM
    r_in = r_out - rng.uniform(4, 8) * MM
    Rf, tf, Lp = r_out + rng.uniform(30, 60) * MM, rng.uniform(12, 25) * MM, rng.uniform(150, 300) * MM
    x0 = rng.uniform(-0.2, 0.2) * Lp
    n_p = int(rng.integers(40, 72))
    R = np.stack([_Y, _Z, _X], 1)  # tube axis along x
    pipe = tube(r_in, r_out, -Lp / 2, Lp / 2, n_p, R, np.zeros(3))
    flange = tube(r_out, Rf, x0, x0 + tf, 2 * n_p, R, np.zeros(3))
    seams = (
        circle_seam("fillet", x0 * _X, _X, r_out, (1, 0), (0, -1)),
        circle_seam("fillet", (x0 + tf) * _X, _X, r_out, (1, 0), (0, 1)),
    )
    return Assembly("flange_on_pipe", (("pipe", *pipe), ("flange", *flange)), seams)


def bracket(rng: np.random.Generator) -> Assembly:
    """An upright plate on a base plate, stiffened by a triangular gusset in front of it."""
    L, W, t = rng.uniform(200, 300) * MM, rng.uniform(150, 250) * MM, rng.uniform(8, 15) * MM
    xu, tu, H = rng.uniform(0, 40) * MM, rng.uniform(8, 15) * MM, rng.uniform(100, 160) * MM
    Wu = W - rng.uniform(30, 60) * MM
    a = rng.uniform(50, 80) * MM
    b = a * rng.uniform(0.75, 1.3)
    tg, yg = rng.uniform(8, 12) * MM, rng.uniform(-0.2, 0.2) * Wu
    base = box([-L / 2, -W / 2, -t], [L / 2, W / 2, 0])
    upright = box([xu, -Wu / 2, 0], [xu + tu, Wu / 2, H])
    g = prism(
        np.array([[xu - a, 0], [xu, 0], [xu, b]]),
        -(yg + tg / 2),
        -(yg - tg / 2),
        np.stack([_X, _Z, -_Y], 1),
        np.zeros(3),
    )
    hyp = np.array([-b, 0, a]) / np.hypot(a, b)
    y1, y2 = yg - tg / 2, yg + tg / 2
    S = [
        line_seam("fillet", [xu + tu, -Wu / 2, 0], [xu + tu, Wu / 2, 0], _Z, _X),
        line_seam("fillet", [xu, -Wu / 2, 0], [xu + tu, -Wu / 2, 0], _Z, -_Y),
        line_seam("fillet", [xu, Wu / 2, 0], [xu + tu, Wu / 2, 0], _Z, _Y),
        line_seam("fillet", [xu, -Wu / 2, 0], [xu, y1, 0], _Z, -_X),
        line_seam("fillet", [xu, y2, 0], [xu, Wu / 2, 0], _Z, -_X),
        line_seam("fillet", [xu - a, y1, 0], [xu, y1, 0], _Z, -_Y),
        line_seam("fillet", [xu - a, y2, 0], [xu, y2, 0], _Z, _Y),
        line_seam("fillet", [xu - a, y1, 0], [xu - a, y2, 0], _Z, hyp),
        line_seam("fillet", [xu, y1, 0], [xu, y1, b], -_X, -_Y),
        line_seam("fillet", [xu, y2, 0], [xu, y2, b], -_X, _Y),
        line_seam("fillet", [xu, y1, b], [xu, y2, b], -_X, hyp),
    ]
    return Assembly("bracket", (("base", *base), ("upright", *upright), ("gusset", *g)), tuple(S))


def strip_prism(left: NDArrayF, right: NDArrayF, h: float) -> tuple[NDArrayF, NDArrayI]:
    """A wall of height ``h`` [m] standing on z = 0 between two polylines (k, 2) (left of travel,
    right of travel), closed at both ends."""
    k = len(left)
    ring = np.concatenate([right, left[::-1]])  # counter-clockwise seen from +z
    m = 2 * k
    V = np.concatenate([np.c_[ring, np.zeros(m)], np.c_[ring, np.full(m, h)]])
    i = np.arange(m)
    j = (i + 1) % m
    side = np.concatenate([np.stack([i, j, j + m], 1), np.stack([i, j + m, i + m], 1)])
    r, l_ = np.arange(k - 1), m - 1 - np.arange(k - 1)  # right i, left i (same station)
    cap = np.concatenate([np.stack([r, r + 1, l_ - 1], 1), np.stack([r, l_ - 1, l_], 1)])
    F = np.concatenate([side, cap[:, [0, 2, 1]], cap + m])
    return V, F.astype(np.int64)


def _offsets(c: NDArrayF, d: float) -> tuple[NDArrayF, NDArrayF]:
    """Mitred offsets of a centre polyline (k, 2) by ±d [m]: (left, right)."""
    t = np.diff(c, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    nrm = np.c_[-t[:, 1], t[:, 0]]  # left normals of the segments
    vn = np.concatenate([nrm[:1], nrm[:-1] + nrm[1:], nrm[-1:]])
    vn /= np.linalg.norm(vn, axis=1, keepdims=True)
    scale = np.ones(len(c))
    scale[1:-1] = 1.0 / np.einsum("ij,ij->i", vn[1:-1], nrm[:-1])
    return c + d * scale[:, None] * vn, c - d * scale[:, None] * vn


def bent_web(rng: np.random.Generator) -> Assembly:
    """A web bent at two corners (15-40°) standing on a plate: polyline fillets on both sides."""
    seg = rng.uniform(40, 80, 3) * MM
    a1, a2 = np.deg2rad(rng.uniform(15, 40)) * rng.choice([-1, 1], 2)
    ang = np.cumsum([0.0, a1, a2])
    c = np.concatenate([[[0.0, 0.0]], np.cumsum(seg[:, None] * np.c_[np.cos(ang), np.sin(ang)], axis=0)])
    c -= c.mean(axis=0)
    tw, h = rng.uniform(6, 12) * MM, rng.uniform(40, 80) * MM
    left, right = _offsets(c, tw / 2)
    lo, hi = np.minimum(left.min(0), right.min(0)) - 25 * MM, np.maximum(left.max(0), right.max(0)) + 25 * MM
    base = box([lo[0], lo[1], -10 * MM], [hi[0], hi[1], 0])
    web = strip_prism(left, right, h)
    S = []
    for side, sign in ((left, 1.0), (right, -1.0)):
        for p, q in itertools.pairwise(side):
            t = (q - p) / np.linalg.norm(q - p)
            n2 = sign * np.array([-t[1], t[0], 0.0])
            S.append(line_seam("fillet", np.r_[p, 0], np.r_[q, 0], _Z, n2))
    for k, away in ((0, c[0] - c[1]), (-1, c[-1] - c[-2])):  # the web's end faces
        n2 = np.r_[away / np.linalg.norm(away), 0.0]
        S.append(line_seam("fillet", np.r_[right[k], 0], np.r_[left[k], 0], _Z, n2))
    return Assembly("bent_web", (("base", *base), ("web", *web)), tuple(S))


def curved_web(rng: np.random.Generator) -> Assembly:
    """A web curved along a circular arc (40-150°, tessellated) on a plate: arc fillets."""
    R, sweep = rng.uniform(60, 150) * MM, np.deg2rad(rng.uniform(40, 150))
    n = int(np.ceil(sweep / np.deg2rad(rng.uniform(3, 8))))
    th = np.linspace(0.0, sweep, n + 1)
    c = R * np.c_[np.cos(th), np.sin(th)]
    tw, h = rng.uniform(6, 12) * MM, rng.uniform(40, 80) * MM
    left, right = _offsets(c, tw / 2)  # left of travel (counter-clockwise) is the inside
    lo, hi = np.minimum(left.min(0), right.min(0)) - 25 * MM, np.maximum(left.max(0), right.max(0)) + 25 * MM
    base = box([lo[0], lo[1], -10 * MM], [hi[0], hi[1], 0])
    web = strip_prism(left, right, h)
    half = sweep / n / 2
    S = []
    for r, sgn in ((R + tw / 2 / np.cos(half), 1.0), (R - tw / 2 / np.cos(half), -1.0)):
        m = int(np.ceil(r * sweep / (0.5 * MM)))
        a = np.linspace(0.0, sweep, m + 1)
        er = np.c_[np.cos(a), np.sin(a), np.zeros_like(a)]
        w = np.stack([_torch(_Z, sgn * e) for e in er])
        S.append(KnownSeam("fillet", r * er, w))
    for k in (0, -1):
        t = (c[1] - c[0]) if k == 0 else (c[-1] - c[-2])
        t = np.r_[t / np.linalg.norm(t), 0] * (-1 if k == 0 else 1)
        S.append(line_seam("fillet", np.r_[right[k], 0], np.r_[left[k], 0], _Z, t))
    return Assembly("curved_web", (("base", *base), ("web", *web)), tuple(S))


GENERATORS: dict[str, Callable[[np.random.Generator], Assembly]] = {
    "tjoint": tjoint,
    "tjoint_lean70": lambda rng: tjoint(rng, 70.0),
    "tjoint_lean115": lambda rng: tjoint(rng, 115.0),
    "lap": lap,
    "butt_closed": lambda rng: butt(rng, 0.0),
    "butt_gap": lambda rng: butt(rng, rng.uniform(0.5, 2.0) * MM),
    "box": open_box,
    "corner": corner,
    "corner_lean110": lambda rng: corner(rng, 110.0),
    "corner_lean70": lambda rng: corner(rng, 70.0),
    "pipe_on_flange": pipe_on_flange,
    "flange_on_pipe": flange_on_pipe,
    "bracket": bracket,
    "bent_web": bent_web,
    "curved_web": curved_web,
    "tjoint_gap": lambda rng: tjoint(rng, 90.0, rng.uniform(0.1, 0.4) * MM),
    "tjoint_overlap": lambda rng: tjoint(rng, 80.0, -rng.uniform(0.1, 0.4) * MM),
}


def random_rigid(rng: np.random.Generator, max_shift: float = 1.0) -> NDArrayF:
    """A random rigid transform (4, 4): uniform rotation, translation up to ``max_shift`` [m]."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    R = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = rng.uniform(-max_shift, max_shift, 3)
    return T


def moved(asm: Assembly, T: NDArrayF) -> Assembly:
    """The assembly under the rigid transform ``T`` (4, 4)."""
    R, p = T[:3, :3], T[:3, 3]
    parts = tuple((n, V @ R.T + p, F) for n, V, F in asm.parts)
    seams = tuple(KnownSeam(s.joint, s.points @ R.T + p, s.torch @ R.T) for s in asm.seams)
    return Assembly(asm.name, parts, seams)


def perturbed(asm: Assembly, rng: np.random.Generator, noise: float = 0.05 * MM) -> Assembly:
    """Real-mesh defects: vertex jitter (σ = ``noise`` [m], clipped at 3σ), every vertex duplicated
    (a triangle soup), one face repeated and a stray sliver triangle inside each part."""
    parts = []
    for name, V, F in asm.parts:
        Vn = V + np.clip(rng.normal(scale=noise, size=V.shape), -3 * noise, 3 * noise)
        soup = Vn[F].reshape(-1, 3)
        Fs = np.arange(len(soup)).reshape(-1, 3)
        Fs = np.concatenate([Fs, Fs[:1]])
        c = soup.mean(axis=0)
        sliver = c + np.array([[0, 0, 0], [1e-4, 0, 0], [0, 2e-6, 0]])
        parts.append(
            (name, np.concatenate([soup, sliver]), np.concatenate([Fs, len(soup) + np.arange(3)[None]]))
        )
    return Assembly(asm.name + "_noisy", tuple(parts), asm.seams)
