"""Find candidate weld seams on a mesh assembly: :func:`detect_seams`.

Pipeline (all in the assembly frame, SI units): clean each part's mesh (merge duplicate vertices,
drop degenerate faces), find its sharp convex edges, sample them against every other part for
fillet/lap and butt contacts (:mod:`weldcell.cad.contacts`) and parts meeting edge to edge for
corner joints (:mod:`weldcell.cad.corners`), join the samples into chains and fit
curves (:mod:`weldcell.cad.chains`), then average the surface normals over each curve (so that
mesh noise and tessellation average out), classify lap against fillet and number the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from weldcell.cad.chains import Chain, Piece, chains_from_contacts, fit_chain
from weldcell.cad.contacts import BUTT, Part, pair_contacts
from weldcell.cad.corners import CORNER, corner_contacts
from weldcell.cad.mesh import (
    fitted_normals,
    ray_exit,
    sharp_convex_edges,
    trimesh_from_arrays,
    weld_vertices,
    winding_number,
)
from weldcell.cad.seam import DetectOptions, SeamCandidate
from weldcell.errors import InvalidValueError

NDArrayF = npt.NDArray[np.float64]


def make_part(name: str, V: NDArrayF, F: npt.NDArray[np.int64], opt: DetectOptions) -> Part:
    """Clean a part's mesh and find its sharp convex edges.

    Args:
        name: Part name.
        V: Vertices [m], shape (n, 3), assembly frame.
        F: Faces (outward winding), shape (m, 3).
        opt: Detection options (``merge_tol``, ``sharp_angle``).
    """
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2 or V.shape[1] != 3 or not np.all(np.isfinite(V)):
        raise InvalidValueError(f"part {name!r}: vertices must be finite, shape (n, 3); got {V.shape}")
    Vc, Fc = weld_vertices(V, np.asarray(F, dtype=np.int64), opt.merge_tol)
    if len(Fc) == 0:
        raise InvalidValueError(f"part {name!r}: no faces with area left after cleaning the mesh")
    mesh = trimesh_from_arrays(Vc, Fc)
    edges, faces = sharp_convex_edges(mesh, opt.sharp_angle)
    normals = fitted_normals(mesh, np.deg2rad(2.0), opt.fit_tol)
    return Part(name=name, mesh=mesh, edges=edges, edge_faces=faces, normals=normals)


def detect_seams(parts: Sequence[Part], opt: DetectOptions | None = None) -> tuple[SeamCandidate, ...]:
    """All candidate seams between the parts, longest first, with ids ``c1, c2, ...``.

    Args:
        parts: The parts (from :func:`make_part`), at least two.
        opt: Tolerances; defaults to :class:`DetectOptions()`.

    Returns:
        The candidates in the assembly frame.
    """
    opt = opt or DetectOptions()
    plist = list(parts)
    if len(plist) < 2:
        raise InvalidValueError(
            f"seam detection needs an assembly of at least two parts, got {len(plist)}; "
            "give one body per part (glTF nodes, a folder of files, or separate shells in one STL)"
        )
    found: list[SeamCandidate] = []
    for i_a in range(len(plist)):
        for i_b in range(len(plist)):
            if i_a == i_b or not _boxes_touch(plist[i_a], plist[i_b], opt):
                continue
            for c in [*pair_contacts(plist, i_a, i_b, opt), *corner_contacts(plist, i_a, i_b, opt)]:
                for ch in chains_from_contacts(c, opt):
                    for pc in fit_chain(ch, opt):
                        cand = _candidate(plist, c.kind, c.part_1, c.part_2, ch, pc, opt)
                        if cand is not None:
                            found.append(cand)
    found.sort(key=lambda s: (-round(s.length * 1e4), tuple(np.round(s.points[0] * 1e4))))
    return tuple(_renamed(s, f"c{k + 1}") for k, s in enumerate(found))


def _boxes_touch(a: Part, b: Part, opt: DetectOptions) -> bool:
    ba, bb = a.bounds(), b.bounds()
    pad = opt.gap_tol + opt.butt_gap_max
    return bool(np.all(ba[1] + pad >= bb[0]) and np.all(bb[1] + pad >= ba[0]))


def _renamed(s: SeamCandidate, new_id: str) -> SeamCandidate:
    return SeamCandidate(
        id=new_id,
        joint=s.joint,
        curve=s.curve,
        points=s.points,
        normal_1=s.normal_1,
        normal_2=s.normal_2,
        part_1=s.part_1,
        part_2=s.part_2,
        interior=s.interior,
        work_angle=s.work_angle,
        length=s.length,
        center=s.center,
        axis=s.axis,
        sweep=s.sweep,
    )


def _unit(x: NDArrayF) -> NDArrayF:
    return x / np.linalg.norm(x)


def _piece_length(pc: Piece) -> float:
    if pc.kind in ("arc", "circle"):
        r = float(np.linalg.norm(pc.points[0] - pc.center))
        return r * pc.sweep
    return float(np.sum(np.linalg.norm(np.diff(pc.points, axis=0), axis=1)))


def _start_normals(ch: Chain, pc: Piece) -> tuple[NDArrayF, NDArrayF | None, NDArrayF]:
    """Normals at the piece start averaged over its samples; also its start tangent."""
    n1 = ch.n1[pc.i0 : pc.i1]
    n2 = ch.n2[pc.i0 : pc.i1]
    P = ch.points[pc.i0 : pc.i1 + 1]
    w = np.linalg.norm(np.diff(P, axis=0), axis=1)
    two = bool(np.all(np.isfinite(n2)))
    if pc.kind in ("arc", "circle"):
        ax = pc.axis
        m = 0.5 * (P[:-1] + P[1:]) - pc.center
        er = m - np.outer(m @ ax, ax)
        er /= np.linalg.norm(er, axis=1, keepdims=True)
        r0 = pc.points[0] - pc.center
        r0 = _unit(r0 - (r0 @ ax) * ax)
        t0 = np.cross(ax, r0)

        def carried(n: NDArrayF) -> NDArrayF:
            cr = np.average(np.einsum("ij,ij->i", n, er), weights=w)
            ca = np.average(n @ ax, weights=w)
            return _unit(cr * r0 + ca * ax)

        return carried(n1), carried(n2) if two else None, t0
    t0 = _unit(pc.points[1] - pc.points[0])
    # a polyline's first segment: the samples up to its first corner
    if pc.kind == "polyline":
        d = np.linalg.norm(np.cross(P - pc.points[0], t0), axis=1)
        # nodes 0..j-1 lie on the first segment (node j-1 is the corner), so pieces 0..j-2 do
        k = max(1, int(np.argmax(d > 1e-4)) - 1) if np.any(d > 1e-4) else len(w)
        n1, n2, w = n1[:k], n2[:k], w[:k]

    def avg(n: NDArrayF) -> NDArrayF:
        return _unit(np.average(n, axis=0, weights=w))

    if not two:
        v = avg(n1)
        return _unit(v - (v @ t0) * t0), None, t0
    # two faces: their normals, fitted over the whole flat faces, fix the seam direction n1 × n2
    # better than the few noisy mesh vertices of a short seam do, so they are not made
    # perpendicular to the chord ``t0`` (that would tilt them by the chord's error)
    return avg(n1), avg(n2), t0


def _candidate(
    parts: list[Part], kind: str, i1: int, i2: int, ch: Chain, pc: Piece, opt: DetectOptions
) -> SeamCandidate | None:
    length = _piece_length(pc)
    if length < opt.min_length:
        return None
    n1, n2, _ = _start_normals(ch, pc)
    # the joint's shape is judged in the middle of the piece, with the local tangent and normals
    k = (pc.i0 + pc.i1) // 2
    mid = ch.edge_point[k]
    t_mid = _unit(ch.points[k + 1] - ch.points[k])
    n1_mid, n2_mid = ch.n1[k], ch.n2[k]
    if kind == BUTT:
        if not _is_butt(parts[i2], parts[i1], mid, t_mid, n1_mid, length, opt):
            return None
        joint, interior, work = "butt", float(np.pi), float(np.pi / 2)
    else:
        assert n2 is not None  # mypy
        interior = float(np.pi - np.arccos(np.clip(n1 @ n2, -1.0, 1.0)))
        if not opt.min_interior <= interior <= opt.max_interior:
            return None
        work = interior / 2
        if kind == CORNER:
            joint = "corner"
        else:
            joint = "lap" if _is_lap(parts[i2], mid, t_mid, n1_mid, n2_mid, opt) else "fillet"
    return SeamCandidate(
        id="c0",
        joint=joint,
        curve=pc.kind,
        points=pc.points,
        normal_1=n1,
        normal_2=n2,
        part_1=parts[i1].name,
        part_2=parts[i2].name,
        interior=interior,
        work_angle=work,
        length=length,
        center=pc.center,
        axis=pc.axis,
        sweep=pc.sweep,
    )


def _is_lap(
    part: Part, p_edge: NDArrayF, t: NDArrayF, n1: NDArrayF, n2: NDArrayF, opt: DetectOptions
) -> bool:
    """A lap joint: the sampled part is a plate lying flat on the other part's face.

    Its extent along the face normal ``n1`` (its thickness) is at most half its extent along the
    seam (``t``) and across it in the face (``u``), and at the seam it is at most half as high
    (along ``n1``) as it is wide (along ``-u``); an upright web, wall or pipe is taller than thick.
    """
    u = _unit(n2 - (n2 @ n1) * n1)
    ext = np.ptp(part.mesh.V @ np.stack([n1, t, u], axis=1), axis=0)
    if ext[0] > 0.5 * min(ext[1], ext[2]):
        return False
    inside = p_edge + max(0.2 * opt.probe, 0.6e-3) * _unit(n1 - n2)  # 0.4 mm or more off both faces
    h0, w0 = ray_exit(part.mesh, np.stack([inside, inside]), np.stack([n1, -u]))
    if not (np.isfinite(h0) and np.isfinite(w0)):
        return False
    # again from half way across, so that a ray along a noisy face does not graze it
    starts = np.stack([p_edge - 0.5 * min(w0, 0.01) * u, p_edge + 0.5 * min(h0, 0.01) * n1])
    starts += 0.2 * opt.probe * np.stack([n1, -u])
    h, w = ray_exit(part.mesh, starts, np.stack([n1, -u]))
    return bool(np.isfinite(h) and np.isfinite(w) and h <= 0.5 * w)


def _is_butt(
    a: Part, b: Part, p_edge: NDArrayF, t: NDArrayF, n1: NDArrayF, length: float, opt: DetectOptions
) -> bool:
    """A butt joint between plates of similar thickness, along their faces.

    ``a`` is the part whose edge was sampled (``p_edge`` on it), ``b`` the other, ``n1`` the
    common face normal. Both plates' depths below the face must be within a factor 3 of each
    other (flush outside corners of boxes are not butt joints) and the seam at least as long as
    the depth (the plates' through-thickness edges are not seams).
    """
    eps = 0.2 * opt.probe
    x = _unit(np.cross(t, n1))
    cands = np.stack([p_edge - eps * n1 + eps * x, p_edge - eps * n1 - eps * x])
    wa = winding_number(a.mesh, cands)
    if np.max(wa) < 0.5:
        return False
    s = 1.0 if wa[0] >= wa[1] else -1.0
    # start the depth rays half way across each plate, so that they do not graze a noisy face
    start = p_edge - eps * n1
    ta = ray_exit(a.mesh, cands[0 if s > 0 else 1][None], (s * x)[None])[0]
    b0 = start - s * eps * x  # just across the root: inside b when the plates touch or overlap
    if winding_number(b.mesh, b0[None])[0] < 0.5:
        gap = ray_exit(b.mesh, start[None], (-s * x)[None])[0]
        if not np.isfinite(gap) or gap > opt.butt_gap_max + eps:
            return False
        b0 = start - s * (gap + eps) * x
    tb = ray_exit(b.mesh, b0[None], (-s * x)[None])[0]
    if not (np.isfinite(ta) and np.isfinite(tb)):
        return False
    in_a = start + s * (eps + 0.5 * min(ta, 0.05)) * x
    in_b = b0 - s * 0.5 * min(tb, 0.05) * x
    da = ray_exit(a.mesh, in_a[None], -n1[None])[0]
    db = ray_exit(b.mesh, in_b[None], -n1[None])[0]
    if not (np.isfinite(da) and np.isfinite(db)):
        return False
    return bool(length >= da and da <= 3 * db and db <= 3 * da)
