"""Contact samples: short pieces of part edges that form the root of a weld joint.

Every sharp convex edge of a part A is cut into pieces of at most ``sample_step`` and each piece
is tested against every other part B (vectorised over all pieces):

* **two-surface joint** (fillet or lap): one face of A's edge lies on a face of B (its normal
  opposite, within ``gap_tol``), the other face of A (the free face) meets B's face at an open
  angle between ``min_interior`` and ``max_interior``, B's face continues ``probe`` past the root
  on the open side, and the air in the corner is free of every part. The root is A's edge moved
  along the free face onto B's face plane (closing a gap or an overlap).
  A's contact face must lie on B's face behind the root as well (an edge lying on an edge is a
  corner joint, :mod:`weldcell.cad.corners`).
* **butt joint**: A's edge has a top face and an end face; B has an end face opposite A's, at most
  ``butt_gap_max`` away, and a top face in the plane of A's; the root is the middle of the gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.cad.mesh import TriMesh, on_faces, winding_number
from weldcell.cad.seam import DetectOptions

NDArrayF = npt.NDArray[np.float64]
NDArrayB = npt.NDArray[np.bool_]

TWO_SURFACE = "two"
BUTT = "butt"


@dataclass(frozen=True, slots=True)
class Part:
    """One part of the assembly.

    Attributes:
        name: Part name (unique in the assembly).
        mesh: Its cleaned mesh, in the assembly frame [m].
        edges: Sharp convex edges (vertex pairs), shape (k, 2).
        edge_faces: The two faces of each edge, shape (k, 2).
        normals: Face normals fitted over whole flat faces (less noisy; see
            :func:`weldcell.cad.mesh.fitted_normals`), shape (m, 3).
    """

    name: str
    mesh: TriMesh
    edges: npt.NDArray[np.int64]
    edge_faces: npt.NDArray[np.int64]
    normals: NDArrayF

    def bounds(self) -> NDArrayF:
        """Axis-aligned bounds [m], shape (2, 3): min, max."""
        return np.stack([self.mesh.V.min(axis=0), self.mesh.V.max(axis=0)])


@dataclass(frozen=True, slots=True)
class Contacts:
    """Root pieces of one kind between one ordered pair of parts (struct of arrays, k pieces).

    Attributes:
        kind: ``"two"`` (fillet/lap) or ``"butt"``.
        part_1: Index of the reference part (the face the root lies on; for butt the second part).
        part_2: Index of the part whose edge was sampled.
        a: Piece start on the root [m], (k, 3).
        b: Piece end on the root [m], (k, 3).
        a_vertex: The start is a mesh vertex of the edge (not an interior sample), (k,).
        b_vertex: The same for the end, (k,).
        edge_point: Middle of the piece on the sampled part's edge [m], (k, 3).
        n1: Outward normal of surface 1 (butt: the top face), (k, 3).
        n2: Outward normal of the free face, (k, 3); NaN for butt.
    """

    kind: str
    part_1: int
    part_2: int
    a: NDArrayF
    b: NDArrayF
    a_vertex: NDArrayB
    b_vertex: NDArrayB
    edge_point: NDArrayF
    n1: NDArrayF
    n2: NDArrayF


def _unit(x: NDArrayF) -> NDArrayF:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-300)


def _dot(x: NDArrayF, y: NDArrayF) -> NDArrayF:
    return np.einsum("ij,ij->i", x, y)


def _pieces(
    part: Part, sel: npt.NDArray[np.int64], step: float
) -> tuple[npt.NDArray[np.int64], NDArrayF, NDArrayF, NDArrayB, NDArrayB]:
    """Cut the selected edges into pieces of at most ``step`` [m]: (edge index, start, end, start
    is a mesh vertex, end is a mesh vertex)."""
    V = part.mesh.V
    e = part.edges[sel]
    p0, p1 = V[e[:, 0]], V[e[:, 1]]
    L = np.linalg.norm(p1 - p0, axis=1)
    n = np.maximum(1, np.ceil(L / step).astype(np.int64))
    idx = np.repeat(np.arange(len(e)), n)
    k = np.arange(len(idx)) - np.repeat(np.cumsum(n) - n, n)
    f0 = (k / n[idx])[:, None]
    f1 = ((k + 1) / n[idx])[:, None]
    d = p1[idx] - p0[idx]
    return sel[idx], p0[idx] + f0 * d, p0[idx] + f1 * d, k == 0, k == n[idx] - 1


def _near(part: Part, box: NDArrayF, pad: float) -> npt.NDArray[np.int64]:
    V = part.mesh.V
    lo = np.minimum(V[part.edges[:, 0]], V[part.edges[:, 1]])
    hi = np.maximum(V[part.edges[:, 0]], V[part.edges[:, 1]])
    ok = np.all(hi >= box[0] - pad, axis=1) & np.all(lo <= box[1] + pad, axis=1)
    return np.flatnonzero(ok).astype(np.int64)


def _free_air(parts: list[Part], p: NDArrayF) -> NDArrayB:
    free = np.ones(len(p), dtype=bool)
    for q in parts:
        if len(p) == 0:
            break
        box = q.bounds()
        near = np.all((p >= box[0] - 1e-6) & (p <= box[1] + 1e-6), axis=1)
        if np.any(near):
            idx = np.flatnonzero(near)
            free[idx] &= winding_number(q.mesh, p[idx]) < 0.5
    return free


def pair_contacts(parts: list[Part], i_a: int, i_b: int, opt: DetectOptions) -> list[Contacts]:
    """Root pieces where part ``i_a``'s edges meet part ``i_b`` (see the module docstring)."""
    A, B = parts[i_a], parts[i_b]
    sel = _near(A, B.bounds(), opt.gap_tol + opt.butt_gap_max + opt.probe)
    if len(sel) == 0:
        return []
    edge, a, b, av, bv = _pieces(A, sel, opt.sample_step)
    mid = 0.5 * (a + b)
    t = _unit(b - a)
    out: list[Contacts] = []
    for c in (0, 1):
        f_c = A.edge_faces[edge, c]
        f_f = A.edge_faces[edge, 1 - c]
        got = _two_surface(parts, B, a, b, mid, t, A.normals[f_c], A.normals[f_f], opt)
        if got is not None:
            keep, ra, rb, n1, n2 = got
            out.append(Contacts(TWO_SURFACE, i_b, i_a, ra, rb, av[keep], bv[keep], mid[keep], n1, n2))
        if i_a < i_b:
            got = _butt(parts, B, a, b, mid, t, A.normals[f_c], A.normals[f_f], opt)
            if got is not None:
                keep, ra, rb, n1, n2 = got
                out.append(Contacts(BUTT, i_b, i_a, ra, rb, av[keep], bv[keep], mid[keep], n1, n2))
    return out


_Found = tuple[npt.NDArray[np.int64], NDArrayF, NDArrayF, NDArrayF, NDArrayF] | None


def _two_surface(
    parts: list[Part],
    B: Part,
    a: NDArrayF,
    b: NDArrayF,
    mid: NDArrayF,
    t: NDArrayF,
    n_contact: NDArrayF,
    n_free: NDArrayF,
    opt: DetectOptions,
) -> _Found:
    n1 = -n_contact
    cos_n = float(np.cos(opt.normal_angle))
    n2 = _unit(n_free - _dot(n_free, t)[:, None] * t)
    interior = np.pi - np.arccos(np.clip(_dot(n1, n2), -1.0, 1.0))
    keep = np.flatnonzero((interior >= opt.min_interior) & (interior <= opt.max_interior))
    if len(keep) == 0:
        return None
    found, d, face = on_faces(
        B.mesh, mid[keep], n1[keep], plane_tol=opt.gap_tol, margin=opt.gap_tol, cos_min=cos_n
    )
    keep, d, face = keep[found], d[found], face[found]
    if len(keep) == 0:
        return None
    # A's contact face lies on B's face behind the root too (edge on edge is a corner joint,
    # :mod:`weldcell.cad.corners`, not a fillet)
    dc = _unit(np.cross(t[keep], n_contact[keep]))
    dc *= np.where(_dot(dc, n_free[keep]) > 0, -1.0, 1.0)[:, None]
    behind, _, _ = on_faces(
        B.mesh,
        mid[keep] + 0.5 * opt.probe * dc,
        n1[keep],
        plane_tol=opt.gap_tol,
        margin=0.1 * opt.probe,
        cos_min=cos_n,
    )
    keep, d, face = keep[behind], d[behind], face[behind]
    if len(keep) == 0:
        return None
    # surface 1 is B's face: its (fitted) normal, made perpendicular to the edge here
    n2k, tk = n2[keep], t[keep]
    n1k = B.normals[face]
    n1k = _unit(n1k - _dot(n1k, tk)[:, None] * tk)
    df = np.cross(tk, n2k)  # in the free face, across the edge
    df *= np.where(_dot(df, n1k) > 0, -1.0, 1.0)[:, None]  # towards B
    shift = (d / np.maximum(-_dot(df, n1k), 1e-3))[:, None] * df
    root = mid[keep] + shift
    u = _unit(n2k - _dot(n2k, n1k)[:, None] * n1k)  # in B's face, away from A: the open side
    on, _, _ = on_faces(
        B.mesh,
        root + opt.probe * u,
        n1k,
        plane_tol=opt.gap_tol + 0.25 * opt.probe,
        margin=0.1 * opt.probe,
        cos_min=cos_n,
    )
    ok = on.copy()
    ok[on] = _free_air(parts, (root + opt.probe * _unit(u - df))[on])
    keep = keep[ok]
    # the normals handed on are the faces' own (fitted over whole flat regions), not the ones made
    # perpendicular to this piece: a short edge of a noisy mesh points worse than a fitted face
    return keep, a[keep] + shift[ok], b[keep] + shift[ok], B.normals[face[ok]], n_free[keep]


def _butt(
    parts: list[Part],
    B: Part,
    a: NDArrayF,
    b: NDArrayF,
    mid: NDArrayF,
    t: NDArrayF,
    n_top: NDArrayF,
    n_end: NDArrayF,
    opt: DetectOptions,
) -> _Found:
    cos_n = float(np.cos(opt.normal_angle))
    n_e = _unit(n_end - _dot(n_end, t)[:, None] * t)
    square = np.abs(_dot(n_top, n_e)) < np.cos(np.deg2rad(60.0))
    keep = np.flatnonzero(square)
    if len(keep) == 0:
        return None
    inset = 0.2 * opt.probe
    found, g, _ = on_faces(
        B.mesh,
        mid[keep] - inset * n_top[keep],
        -n_e[keep],
        plane_tol=opt.butt_gap_max,
        margin=opt.gap_tol,
        cos_min=cos_n,
    )
    found &= (g >= -opt.gap_tol) & (g <= opt.butt_gap_max)
    keep, g = keep[found], g[found]
    if len(keep) == 0:
        return None
    ne, nt = n_e[keep], n_top[keep]
    beyond = mid[keep] + (np.maximum(g, 0.0) + opt.probe)[:, None] * ne
    flush, _, _ = on_faces(B.mesh, beyond, nt, plane_tol=opt.gap_tol, margin=0.1 * opt.probe, cos_min=cos_n)
    shift = (0.5 * g)[:, None] * ne
    ok = flush.copy()
    ok[flush] = _free_air(parts, (mid[keep] + shift + opt.probe * nt)[flush])
    keep = keep[ok]
    nan = np.full((len(keep), 3), np.nan)
    return keep, a[keep] + shift[ok], b[keep] + shift[ok], nt[ok], nan
