"""Outside corner joints: two parts meeting edge to edge (a sharp convex edge of each on one line).

Where plate A's edge lies on plate B's edge (within ``gap_tol``), every pairing of one of A's two
faces with one of B's two faces at that line is a candidate V groove. It is a corner seam when

* the two faces open at an angle between ``min_interior`` and ``max_interior`` (a flush pair, 180°,
  is no joint; two faces against each other are the contact, not a groove);
* both faces are really there and exposed next to the line: a point just under each face is inside
  its part, a point just above it is in free air (a face covered by the other part is a contact);
* the air in the groove, ``probe`` from the root along the bisector, is free of every part.

Both grooves of an open corner (the outside V and the inside one) are found; the root is A's edge
line. Vectorised over all edge pieces with a k-d tree on B's edge samples.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from weldcell.cad.contacts import Contacts, Part, _free_air, _near, _pieces
from weldcell.cad.mesh import winding_number
from weldcell.cad.seam import DetectOptions

NDArrayF = npt.NDArray[np.float64]

CORNER = "corner"


def _unit(x: NDArrayF) -> NDArrayF:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-300)


def _dot(x: NDArrayF, y: NDArrayF) -> NDArrayF:
    return np.einsum("ij,ij->i", x, y)


def _in_face(t: NDArrayF, n: NDArrayF, n_other: NDArrayF) -> NDArrayF:
    """Direction in the face (normal ``n``) across the edge ``t``, away from the edge (the side the
    other face of the edge, normal ``n_other``, does not point to)."""
    d = _unit(np.cross(t, n))
    return d * np.where(_dot(d, n_other) > 0, -1.0, 1.0)[:, None]


def _inside(part: Part, p: NDArrayF) -> npt.NDArray[np.bool_]:
    if len(p) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(winding_number(part.mesh, p) >= 0.5)


def corner_contacts(parts: list[Part], i_a: int, i_b: int, opt: DetectOptions) -> list[Contacts]:
    """Corner grooves where part ``i_a``'s sharp edges lie on part ``i_b``'s (see the module docstring);
    only for ``i_a < i_b`` (the pair is symmetric)."""
    if i_a >= i_b:
        return []
    A, B = parts[i_a], parts[i_b]
    pad = opt.gap_tol + opt.probe
    sel_a = _near(A, B.bounds(), pad)
    sel_b = _near(B, A.bounds(), pad)
    if len(sel_a) == 0 or len(sel_b) == 0:
        return []
    edge, a, b, av, bv = _pieces(A, sel_a, opt.sample_step)
    mid = 0.5 * (a + b)
    t = _unit(b - a)
    # B's edges, sampled densely enough that a piece's middle is near a sample of an edge it lies on
    e_b, qa, qb, _, _ = _pieces(B, sel_b, 0.5 * opt.sample_step)
    tree = cKDTree(0.5 * (qa + qb))
    dist, j = tree.query(mid, distance_upper_bound=opt.gap_tol + 0.3 * opt.sample_step)
    hit = np.flatnonzero(np.isfinite(dist))
    if len(hit) == 0:
        return []
    j = j[hit]
    tb = _unit(qb[j] - qa[j])
    # on the line of B's edge (not only near its sample) and parallel to it
    off = mid[hit] - qa[j]
    across = np.linalg.norm(off - _dot(off, tb)[:, None] * tb, axis=1)
    keep = np.flatnonzero((np.abs(_dot(t[hit], tb)) > np.cos(np.deg2rad(5.0))) & (across <= opt.gap_tol))
    if len(keep) == 0:
        return []
    hit, j = hit[keep], j[keep]
    m, tk = mid[hit], t[hit]
    fa = A.edge_faces[edge[hit]]
    fb = B.edge_faces[e_b[j]]
    eps = max(0.2 * opt.probe, 2 * opt.gap_tol)
    out: list[Contacts] = []
    for ca in (0, 1):
        nA, nA_o = A.normals[fa[:, ca]], A.normals[fa[:, 1 - ca]]
        dA = _in_face(tk, nA, nA_o)
        for cb in (0, 1):
            nB, nB_o = B.normals[fb[:, cb]], B.normals[fb[:, 1 - cb]]
            dB = _in_face(tk, nB, nB_o)
            interior = np.pi - np.arccos(np.clip(_dot(nA, nB), -1.0, 1.0))
            ok = (interior >= opt.min_interior) & (interior <= opt.max_interior)
            idx = np.flatnonzero(ok)
            if len(idx) == 0:
                continue
            # each face is there (solid under it) and exposed (air over it) next to the line
            pa = m[idx] + eps * dA[idx]
            pb = m[idx] + eps * dB[idx]
            good = _inside(A, pa - eps * nA[idx]) & _inside(B, pb - eps * nB[idx])
            good &= _free_air(parts, pa + eps * nA[idx]) & _free_air(parts, pb + eps * nB[idx])
            idx = idx[good]
            if len(idx) == 0:
                continue
            bis = _unit(nA[idx] + nB[idx])
            idx = idx[_free_air(parts, m[idx] + opt.probe * bis)]
            if len(idx) == 0:
                continue
            h = hit[idx]
            out.append(Contacts(CORNER, i_b, i_a, a[h], b[h], av[h], bv[h], m[idx], nB[idx], nA[idx]))
    return out


__all__ = ["CORNER", "corner_contacts"]
