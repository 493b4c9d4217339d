"""Join root pieces into chains and fit lines, arcs, circles and polylines to them.

Pieces whose ends coincide (within a link tolerance) are joined; a chain ends where three or more
pieces meet, where it stops, or at a corner sharper than ``corner_angle``. A closed chain whose
mesh vertices lie on a circle is a circle; an open chain is cut greedily into the longest lines
and arcs that fit the mesh vertices within ``fit_tol`` (interior samples of an edge lie on the
chord, not on the curve, so only vertices and chain ends are fitted), and consecutive lines become
one polyline.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from weldcell.cad.contacts import Contacts
from weldcell.cad.seam import DetectOptions

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Chain:
    """An ordered chain of root pieces.

    Attributes:
        points: Node positions [m], shape (m + 1, 3) (closed: last == first node repeated).
        key: Node is a mesh vertex or a chain end (fit it), shape (m + 1,).
        n1: Surface-1 normal of each piece, shape (m, 3).
        n2: Surface-2 normal of each piece (NaN for butt), shape (m, 3).
        edge_point: Piece middle on the sampled part's edge [m], shape (m, 3).
        closed: The chain is a loop.
    """

    points: NDArrayF
    key: npt.NDArray[np.bool_]
    n1: NDArrayF
    n2: NDArrayF
    edge_point: NDArrayF
    closed: bool


@dataclass(frozen=True, slots=True)
class Piece:
    """A fitted curve over chain nodes ``i0..i1``: ``kind`` line, arc, circle or polyline."""

    kind: str
    i0: int
    i1: int
    points: NDArrayF
    center: NDArrayF
    axis: NDArrayF
    sweep: float


def chains_from_contacts(c: Contacts, opt: DetectOptions) -> list[Chain]:
    """Join the pieces of ``c`` into chains, cut at sharp corners and branch points."""
    k = len(c.a)
    if k == 0:
        return []
    ends = np.concatenate([c.a, c.b])
    link = max(0.2 * opt.sample_step, 2 * opt.merge_tol, 0.05e-3)
    pairs = cKDTree(ends).query_pairs(link, output_type="ndarray")
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(2 * k, 2 * k))
    _, lab = connected_components(g, directed=False)
    cnt = np.bincount(lab).astype(np.float64)
    node_p = np.stack([np.bincount(lab, weights=ends[:, j]) for j in range(3)], axis=1) / cnt[:, None]
    node_key = np.bincount(lab, weights=np.concatenate([c.a_vertex, c.b_vertex])) > 0
    na, nb = lab[:k], lab[k:]
    good = na != nb
    # drop repeated pieces (both faces of one edge, or overlapping samples)
    pk = np.sort(np.stack([na, nb], axis=1), axis=1)
    _, first = np.unique(pk, axis=0, return_index=True)
    uniq = np.zeros(k, dtype=bool)
    uniq[first] = True
    sel = np.flatnonzero(good & uniq)
    adj: dict[int, list[int]] = {}
    for e_sel in sel.tolist():
        adj.setdefault(int(na[e_sel]), []).append(e_sel)
        adj.setdefault(int(nb[e_sel]), []).append(e_sel)
    used: set[int] = set()
    chains: list[Chain] = []

    def walk(start: int, e0: int) -> tuple[list[int], list[int]]:
        nodes, pcs = [start], []
        node, e = start, e0
        while True:
            used.add(e)
            pcs.append(e)
            node = int(nb[e]) if int(na[e]) == node else int(na[e])
            nodes.append(node)
            nxt = [x for x in adj[node] if x not in used]
            if len(adj[node]) != 2 or not nxt:
                return nodes, pcs
            e = nxt[0]

    starts = [n for n, es in adj.items() if len(es) != 2]
    for n in starts:
        for e in adj[n]:
            if e not in used:
                nodes, pcs = walk(n, e)
                chains += _cut(nodes, pcs, c, node_p, node_key, opt, closed=False)
    for e_rest in sel.tolist():
        if e_rest not in used:
            nodes, pcs = walk(int(na[e_rest]), e_rest)
            chains += _cut(nodes, pcs, c, node_p, node_key, opt, closed=nodes[0] == nodes[-1])
    return chains


def _cut(
    nodes: list[int],
    pcs: list[int],
    c: Contacts,
    node_p: NDArrayF,
    node_key: npt.NDArray[np.bool_],
    opt: DetectOptions,
    *,
    closed: bool,
) -> list[Chain]:
    """Make chains of one walk, cut at corners sharper than ``opt.corner_angle``."""
    P = node_p[nodes]
    key = node_key[nodes].copy()
    pc = np.asarray(pcs)
    d = np.diff(P, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    turn = np.arccos(np.clip(np.einsum("ij,ij->i", d[:-1], d[1:]), -1.0, 1.0))
    corners: list[int] = (np.flatnonzero(turn > opt.corner_angle) + 1).tolist()
    if closed:
        wrap = float(np.arccos(np.clip(np.dot(d[-1], d[0]), -1.0, 1.0)))
        if corners or wrap > opt.corner_angle:
            # open the loop at a corner so that no chain runs through one
            s = corners[0] if wrap <= opt.corner_angle else 0
            order = np.r_[np.arange(s, len(pc)), np.arange(0, s)]
            pc = pc[order]
            P = np.concatenate([P[s:-1], P[: s + 1]])
            key = np.concatenate([key[s:-1], key[: s + 1]])
            d = np.diff(P, axis=0)
            d /= np.linalg.norm(d, axis=1, keepdims=True)
            turn = np.arccos(np.clip(np.einsum("ij,ij->i", d[:-1], d[1:]), -1.0, 1.0))
            corners = (np.flatnonzero(turn > opt.corner_angle) + 1).tolist()
            closed = False
    cuts = [0, *corners, len(pc)]
    out = []
    for i0, i1 in itertools.pairwise(cuts):
        kk = key[i0 : i1 + 1].copy()
        kk[0] = kk[-1] = True
        out.append(
            Chain(
                points=P[i0 : i1 + 1],
                key=kk,
                n1=c.n1[pc[i0:i1]],
                n2=c.n2[pc[i0:i1]],
                edge_point=c.edge_point[pc[i0:i1]],
                closed=closed,
            )
        )
    return out


def fit_circle(P: NDArrayF) -> tuple[NDArrayF, NDArrayF, float, float]:
    """Least-squares circle through points (k ≥ 3, shape (k, 3)).

    Returns:
        (centre [m] (3,), unit axis (3,) oriented so that the points run right-handed, radius [m],
        largest distance of a point from the circle [m]).
    """
    c0 = P.mean(axis=0)
    Q = P - c0
    _, _, vt = np.linalg.svd(Q, full_matrices=False)
    e1, e2, ax = vt[0], vt[1], vt[2]
    x, y = Q @ e1, Q @ e2
    M = np.stack([2 * x, 2 * y, np.ones_like(x)], axis=1)
    sol, *_ = np.linalg.lstsq(M, x * x + y * y, rcond=None)
    cx, cy, cc = sol
    r = float(np.sqrt(max(cc + cx * cx + cy * cy, 0.0)))
    centre = c0 + cx * e1 + cy * e2
    R = P - centre
    radial = np.linalg.norm(R - np.outer(R @ ax, ax), axis=1)
    err = float(np.max(np.hypot(radial - r, R @ ax)))
    turn = np.sum(np.cross(R[:-1], R[1:]) @ ax)
    if turn < 0:
        ax = -ax
    return centre, ax, r, err


def _line_err(P: NDArrayF) -> float:
    a, b = P[0], P[-1]
    d = b - a
    L = float(np.linalg.norm(d))
    if L < 1e-9:
        return np.inf
    t = d / L
    R = P - a
    return float(np.max(np.linalg.norm(R - np.outer(R @ t, t), axis=1)))


def _arc(P: NDArrayF, tol: float, chord_tol: float) -> tuple[NDArrayF, NDArrayF, float] | None:
    """An arc through the key points P (start..end) within ``tol``, with monotonic angle, sweep
    < 2π and chords that stay within ``chord_tol`` of it (a tessellation), else None."""
    if len(P) < 4:
        return None
    centre, ax, r, err = fit_circle(P)
    if err > tol or r > 5.0:
        return None
    chord = np.linalg.norm(np.diff(P, axis=0), axis=1)
    sagitta = r - np.sqrt(np.maximum(r * r - 0.25 * chord * chord, 0.0))
    if np.max(sagitta) > chord_tol:
        return None
    R = P - centre
    ang = np.arctan2(np.cross(R[0], R) @ ax, R @ R[0])
    steps = np.diff(np.unwrap(ang))
    if np.any(steps <= 0):
        return None
    sweep = float(np.sum(steps))
    if sweep >= 2 * np.pi - 1e-3:
        return None
    return centre, ax, sweep


def fit_chain(ch: Chain, opt: DetectOptions) -> list[Piece]:
    """Fit curves to a chain (see the module docstring). Node indices refer to ``ch.points``."""
    kidx = np.flatnonzero(ch.key)
    P = ch.points
    if ch.closed and len(kidx) >= 6:
        centre, ax, r, err = fit_circle(P[kidx[:-1]])
        if err <= opt.fit_tol:
            R0 = P[0] - centre
            R0 -= (R0 @ ax) * ax
            start = centre + r * R0 / np.linalg.norm(R0)
            return [Piece("circle", 0, len(P) - 1, start[None], centre, ax, 2 * np.pi)]
    pieces: list[Piece] = []
    i = 0
    while i < len(kidx) - 1:
        best: Piece | None = None
        for j in range(i + 1, len(kidx)):
            seg = P[kidx[i] : kidx[j] + 1]
            keys = P[kidx[i : j + 1]]
            if _line_err(seg) <= opt.fit_tol:
                best = Piece("line", int(kidx[i]), int(kidx[j]), keys[[0, -1]], np.zeros(3), np.zeros(3), 0.0)
                continue
            arc = _arc(keys, opt.fit_tol, opt.chord_tol)
            if arc is not None:
                centre, ax, sweep = arc
                best = _arc_piece(keys, int(kidx[i]), int(kidx[j]), centre, ax, sweep)
                continue
            if best is not None and j - i >= 3:  # an arc needs four key points: look that far
                break
        if best is None:  # two key points always make a line; this cannot stay None
            break
        pieces.append(best)
        i = int(np.searchsorted(kidx, best.i1))
    return _polylines(pieces)


def _arc_piece(keys: NDArrayF, i0: int, i1: int, centre: NDArrayF, ax: NDArrayF, sweep: float) -> Piece:
    R0 = keys[0] - centre
    R0 -= (R0 @ ax) * ax
    r = float(np.mean(np.linalg.norm(keys - centre - np.outer((keys - centre) @ ax, ax), axis=1)))
    e1 = R0 / np.linalg.norm(R0)
    e2 = np.cross(ax, e1)
    pts = np.stack([centre + r * (np.cos(a) * e1 + np.sin(a) * e2) for a in (0.0, sweep / 2, sweep)])
    return Piece("arc", i0, i1, pts, centre, ax, sweep)


def _polylines(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for p in pieces:
        last = out[-1] if out else None
        if p.kind == "line" and last is not None and last.kind in ("line", "polyline") and last.i1 == p.i0:
            pts = np.concatenate([last.points, p.points[1:]])
            out[-1] = Piece("polyline", last.i0, p.i1, pts, np.zeros(3), np.zeros(3), 0.0)
        else:
            out.append(p)
    return out
