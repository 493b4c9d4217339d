"""Triangle-mesh helpers for seam detection: pure numpy functions on vertex and face arrays.

Vertices are ``V`` (n, 3) [m] in the assembly frame, faces ``F`` (m, 3) vertex indices with
counter-clockwise winding seen from outside (outward normals). Every query is vectorised over the
query points and the triangles, in chunks of bounded size, so no Python loop runs per triangle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

NDArrayF = npt.NDArray[np.float64]
NDArrayI = npt.NDArray[np.int64]

_CHUNK = 400_000  # point x triangle pairs per chunk (a few tens of MB of temporaries)


@dataclass(frozen=True, slots=True)
class TriMesh:
    """A cleaned triangle mesh with the per-face data the queries need.

    Attributes:
        V: Vertices [m], shape (n, 3).
        F: Faces (vertex indices), shape (m, 3).
        N: Unit outward face normals, shape (m, 3).
        A: First corner of every face [m], shape (m, 3).
        E: Inward unit normals of the three face edges, in the face plane, shape (m, 3, 3).
        lo: Lower corner of every face's bounding box [m], shape (m, 3).
        hi: Upper corner of every face's bounding box [m], shape (m, 3).
    """

    V: NDArrayF
    F: NDArrayI
    N: NDArrayF
    A: NDArrayF
    E: NDArrayF
    lo: NDArrayF
    hi: NDArrayF


def weld_vertices(V: NDArrayF, F: NDArrayI, tol: float) -> tuple[NDArrayF, NDArrayI]:
    """Merge vertices closer than ``tol`` [m] and drop degenerate and repeated faces.

    Args:
        V: Vertices [m], shape (n, 3).
        F: Faces, shape (m, 3).
        tol: Merge distance [m].

    Returns:
        (V, F) with each cluster of close vertices replaced by its mean, faces re-indexed.
    """
    V = np.asarray(V, dtype=np.float64)
    F = np.asarray(F, dtype=np.int64)
    pairs = cKDTree(V).query_pairs(tol, output_type="ndarray")
    n = len(V)
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(g, directed=False)
    counts = np.bincount(label).astype(np.float64)
    Vm = np.stack([np.bincount(label, weights=V[:, k]) for k in range(3)], axis=1) / counts[:, None]
    Fm = label[F]
    ok = (Fm[:, 0] != Fm[:, 1]) & (Fm[:, 1] != Fm[:, 2]) & (Fm[:, 0] != Fm[:, 2])
    Fm = Fm[ok]
    area2 = np.linalg.norm(np.cross(Vm[Fm[:, 1]] - Vm[Fm[:, 0]], Vm[Fm[:, 2]] - Vm[Fm[:, 0]]), axis=1)
    Fm = Fm[area2 > 1e-14]
    _, first = np.unique(np.sort(Fm, axis=1), axis=0, return_index=True)
    Fm = Fm[np.sort(first)]
    used = np.unique(Fm)
    remap = np.full(len(Vm), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return Vm[used], remap[Fm]


def trimesh_from_arrays(V: NDArrayF, F: NDArrayI) -> TriMesh:
    """Build a :class:`TriMesh` (normals and edge data) from cleaned arrays."""
    a, b, c = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    n = np.cross(b - a, c - a)
    N = n / np.linalg.norm(n, axis=1, keepdims=True)
    E = np.empty((len(F), 3, 3))
    for k, (p, q) in enumerate(((a, b), (b, c), (c, a))):
        e = np.cross(N, q - p)
        E[:, k] = e / np.linalg.norm(e, axis=1, keepdims=True)
    tri = V[F]
    return TriMesh(V=V, F=F, N=N, A=a, E=E, lo=tri.min(axis=1), hi=tri.max(axis=1))


def sharp_convex_edges(mesh: TriMesh, min_turn: float) -> tuple[NDArrayI, NDArrayI]:
    """Edges shared by exactly two faces that turn outward (convex) by more than ``min_turn``.

    Args:
        mesh: The mesh.
        min_turn: Smallest angle between the two face normals [rad].

    Returns:
        (edges, faces): vertex index pairs, shape (k, 2), and the two faces of each, shape (k, 2).
        Edges of one face (open borders) and of three or more (non-manifold bits) are left out.
    """
    F = mesh.F
    e = np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]])
    fid = np.tile(np.arange(len(F)), 3)
    key = np.sort(e, axis=1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    two = cnt[inv] == 2
    order = np.argsort(inv[two], kind="stable")
    idx = np.flatnonzero(two)[order].reshape(-1, 2)
    f0, f1 = fid[idx[:, 0]], fid[idx[:, 1]]
    edges = e[idx[:, 0]]
    cos = np.einsum("ij,ij->i", mesh.N[f0], mesh.N[f1])
    # the vertex of f1 that is not on the edge lies behind f0's plane on a convex edge
    opp = _opposite(F[f1], edges)
    behind = np.einsum("ij,ij->i", mesh.V[opp] - mesh.V[edges[:, 0]], mesh.N[f0]) < 0
    keep = (cos < np.cos(min_turn)) & behind
    return edges[keep], np.stack([f0[keep], f1[keep]], axis=1)


def smoothed_normals(mesh: TriMesh, max_angle: float) -> NDArrayF:
    """Face normals averaged (area-weighted) with the neighbours sharing an edge whose normal is
    within ``max_angle`` [rad]: a flat face split into triangles gets one less noisy normal; on a
    tessellated curve the neighbours are symmetric about the face, so its normal stays. (m, 3)."""
    F = mesh.F
    e = np.sort(np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]]), axis=1)
    fid = np.tile(np.arange(len(F)), 3)
    _, inv, cnt = np.unique(e, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    two = np.flatnonzero(cnt[inv] == 2)
    pair = two[np.argsort(inv[two], kind="stable")].reshape(-1, 2)
    f0, f1 = fid[pair[:, 0]], fid[pair[:, 1]]
    a, b, c = mesh.V[F[:, 0]], mesh.V[F[:, 1]], mesh.V[F[:, 2]]
    w = mesh.N * (0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1))[:, None]
    near = np.einsum("ij,ij->i", mesh.N[f0], mesh.N[f1]) >= np.cos(max_angle)
    acc = w.copy()
    np.add.at(acc, f0[near], w[f1[near]])
    np.add.at(acc, f1[near], w[f0[near]])
    return acc / np.linalg.norm(acc, axis=1, keepdims=True)


def _not_on_edge(tri: NDArrayI, edges: NDArrayI) -> npt.NDArray[np.bool_]:
    return (tri != edges[:, [0]]) & (tri != edges[:, [1]])


def _opposite(tri: NDArrayI, edges: NDArrayI) -> NDArrayI:
    mask = _not_on_edge(tri, edges)
    return tri[np.arange(len(tri)), np.argmax(mask, axis=1)]


def on_faces(
    mesh: TriMesh,
    p: NDArrayF,
    n: NDArrayF,
    *,
    plane_tol: float,
    margin: float,
    cos_min: float,
) -> tuple[npt.NDArray[np.bool_], NDArrayF, NDArrayI]:
    """Whether each point lies on a face of ``mesh`` whose normal is close to the given one.

    A point is on a face when its distance to the face plane is at most ``plane_tol``, its
    projection lies inside the triangle or within ``margin`` of it, and the face normal makes an
    angle with ``n`` whose cosine is at least ``cos_min``.

    Args:
        mesh: The mesh.
        p: Points [m], shape (k, 3).
        n: Wanted outward normals (unit), shape (k, 3).
        plane_tol: Largest distance to the face plane [m].
        margin: Largest distance outside the triangle's edges [m].
        cos_min: Smallest cosine between the face normal and ``n``.

    Returns:
        (found, d, face): shape (k,) each; ``d`` is the signed distance [m] of the point from the
        nearest such face plane (> 0 on the outside), NaN where none was found; ``face`` is that
        face's index (-1 where none).
    """
    k = len(p)
    found = np.zeros(k, dtype=bool)
    dist = np.full(k, np.nan)
    face = np.full(k, -1, dtype=np.int64)
    if k == 0 or len(mesh.F) == 0:
        return found, dist, face
    # points in spatial order, so that each chunk is compact and meets few faces
    cell = max(plane_tol + margin, 1e-3) * 8
    order = np.lexsort(np.floor(p / cell).T[::-1])
    reach = plane_tol + margin
    for i in range(0, k, 256):
        idx = order[i : i + 256]
        pp, nn = p[idx], n[idx]
        lo, hi = pp.min(axis=0) - reach, pp.max(axis=0) + reach
        t = np.flatnonzero(np.all((mesh.hi >= lo) & (mesh.lo <= hi), axis=1))
        for j in range(0, len(idx), max(1, _CHUNK // max(len(t), 1))):
            sub = slice(j, j + max(1, _CHUNK // max(len(t), 1)))
            hit, d, f = _on_faces_chunk(mesh, t, pp[sub], nn[sub], plane_tol, margin, cos_min)
            found[idx[sub]] = hit
            dist[idx[sub]] = d
            face[idx[sub]] = f
    return found, dist, face


def _on_faces_chunk(
    mesh: TriMesh,
    t: NDArrayI,
    pp: NDArrayF,
    nn: NDArrayF,
    plane_tol: float,
    margin: float,
    cos_min: float,
) -> tuple[npt.NDArray[np.bool_], NDArrayF, NDArrayI]:
    if len(t) == 0:
        return np.zeros(len(pp), dtype=bool), np.full(len(pp), np.nan), np.full(len(pp), -1, dtype=np.int64)
    N, A, E = mesh.N[t], mesh.A[t], mesh.E[t]
    ok = nn @ N.T >= cos_min  # (c, T)
    d = np.einsum("ctj,tj->ct", pp[:, None, :] - A[None], N)
    ok &= np.abs(d) <= plane_tol
    q = pp[:, None, :] - d[..., None] * N[None]
    for e in range(3):
        corner = mesh.V[mesh.F[t, e]]
        ok &= np.einsum("ctj,tj->ct", q - corner[None], E[:, e]) >= -margin
    dd = np.where(ok, np.abs(d), np.inf)
    j = np.argmin(dd, axis=1)
    rows = np.arange(len(pp))
    hit = np.isfinite(dd[rows, j])
    return hit, np.where(hit, d[rows, j], np.nan), np.where(hit, t[j], -1)


def winding_number(mesh: TriMesh, p: NDArrayF) -> NDArrayF:
    """Generalised winding number of each point [-]: about 1 inside a closed mesh, 0 outside.

    Sum of the solid angles of the triangles seen from the point over 4π (Van Oosterom and
    Strackee's formula); robust to small holes and duplicated faces.

    Args:
        mesh: The mesh.
        p: Points [m], shape (k, 3).

    Returns:
        Winding numbers, shape (k,).
    """
    k = len(p)
    out = np.zeros(k)
    T = len(mesh.F)
    if k == 0 or T == 0:
        return out
    a0, b0, c0 = mesh.V[mesh.F[:, 0]], mesh.V[mesh.F[:, 1]], mesh.V[mesh.F[:, 2]]
    step = max(1, _CHUNK // T)
    for i in range(0, k, step):
        pp = p[i : i + step, None, :]
        a, b, c = a0[None] - pp, b0[None] - pp, c0[None] - pp
        la, lb, lc = (np.linalg.norm(x, axis=2) for x in (a, b, c))
        num = np.einsum("ctj,ctj->ct", a, np.cross(b, c))
        den = (
            la * lb * lc
            + np.einsum("ctj,ctj->ct", a, b) * lc
            + np.einsum("ctj,ctj->ct", b, c) * la
            + np.einsum("ctj,ctj->ct", c, a) * lb
        )
        out[i : i + step] = np.sum(2.0 * np.arctan2(num, den), axis=1) / (4.0 * np.pi)
    return out


def ray_exit(mesh: TriMesh, origin: NDArrayF, direction: NDArrayF) -> NDArrayF:
    """Distance [m] along each ray to its first crossing of the mesh surface (inf if none).

    Args:
        mesh: The mesh.
        origin: Ray origins [m], shape (k, 3).
        direction: Unit ray directions, shape (k, 3).

    Returns:
        Distances, shape (k,).
    """
    k = len(origin)
    out = np.full(k, np.inf)
    T = len(mesh.F)
    if k == 0 or T == 0:
        return out
    a = mesh.A
    e1 = mesh.V[mesh.F[:, 1]] - a
    e2 = mesh.V[mesh.F[:, 2]] - a
    step = max(1, _CHUNK // T)
    for i in range(0, k, step):
        o, d = origin[i : i + step, None, :], direction[i : i + step, None, :]
        h = np.cross(d, e2[None])
        det = np.einsum("ctj,tj->ct", h, e1)
        good = np.abs(det) > 1e-18
        inv = np.where(good, 1.0 / np.where(good, det, 1.0), 0.0)
        s = o - a[None]
        u = inv * np.einsum("ctj,ctj->ct", s, h)
        qv = np.cross(s, e1[None])
        v = inv * np.einsum("ctj,ctj->ct", d, qv)
        t = inv * np.einsum("ctj,tj->ct", qv, e2)
        # inclusive with a little slack: a ray through a shared edge or vertex hits one of the faces
        hit = good & (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9) & (t > 1e-9)
        out[i : i + step] = np.min(np.where(hit, t, np.inf), axis=1)
    return out


def _edge_face_pairs(F: NDArrayI) -> tuple[NDArrayI, NDArrayI]:
    """The two faces of every edge shared by exactly two faces: (f0, f1), shape (k,) each."""
    e = np.sort(np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]]), axis=1)
    fid = np.tile(np.arange(len(F)), 3)
    _, inv, cnt = np.unique(e, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    two = np.flatnonzero(cnt[inv] == 2)
    pair = two[np.argsort(inv[two], kind="stable")].reshape(-1, 2)
    return fid[pair[:, 0]], fid[pair[:, 1]]


def fitted_normals(mesh: TriMesh, max_angle: float, plane_tol: float) -> NDArrayF:
    """Face normals from least-squares planes fitted over whole flat regions of the mesh. (m, 3).

    Faces joined through edges whose normals differ by at most ``max_angle`` [rad] (or at most
    1.5 ``max_angle`` with every corner of each within 2 ``plane_tol`` of the other's plane and no
    other neighbour that close: the two triangles of a small noisy face) form a region.
    Each region gets the normal of its area-weighted least-squares plane (the exact second moment
    of its triangles) when every vertex of it lies within ``plane_tol`` [m] of that plane; a
    curved region (a finely tessellated pipe) keeps the neighbour-averaged normals of
    :func:`smoothed_normals`. Then the flat regions that are parallel to an opposite region of the
    part (a plate's two faces, a wall's two end faces) within what the vertex noise explains get
    one common normal, fitted over both: the noise is the pooled residual [m] of all flat regions,
    a region's normal uncertainty that noise over the vertices' spread across its narrow
    direction, and a pair is made when the angle between the two normals is at most three times
    their combined uncertainty. A noise-free mesh (zero residual) is never paired, so faces with
    a small draft keep their own normals.

    Args:
        mesh: The mesh.
        max_angle: Largest turn between two faces of one region [rad].
        plane_tol: Largest distance of a region's vertex from its plane [m] for it to be flat.

    Returns:
        Unit outward normals, shape (m, 3).
    """
    F, V = mesh.F, mesh.V
    m = len(F)
    f0, f1 = _edge_face_pairs(F)
    cos = np.einsum("ij,ij->i", mesh.N[f0], mesh.N[f1])
    # a small noisy face's two triangles may turn by more than ``max_angle``: they are one face
    # too when each one's far corner lies within 2 ``plane_tol`` of the other's plane (the
    # region's plane fit below still has to hold every vertex within ``plane_tol``)
    fold = np.maximum(
        np.max(np.abs(np.einsum("fkj,fj->fk", V[F[f1]] - mesh.A[f0][:, None], mesh.N[f0])), axis=1),
        np.max(np.abs(np.einsum("fkj,fj->fk", V[F[f0]] - mesh.A[f1][:, None], mesh.N[f1])), axis=1),
    )
    soft = cos >= np.cos(1.5 * max_angle)
    n_soft = np.bincount(np.concatenate([f0[soft], f1[soft]]), minlength=m)
    # ... and when neither has another such neighbour: on a tessellated curve every facet turns
    # by a few degrees to both sides, and is not flattened this way
    lone = (n_soft[f0] == 1) & (n_soft[f1] == 1)
    near = (cos >= np.cos(max_angle)) | (soft & lone & (fold <= 2.0 * plane_tol))
    g = coo_matrix((np.ones(int(near.sum())), (f0[near], f1[near])), shape=(m, m))
    n_reg, lab = connected_components(g, directed=False)
    # area-weighted moments of each triangle: ∫x dA = A s / 3, ∫x xᵀ dA = A / 12 (Σ v vᵀ + s sᵀ)
    tri = V[F]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    s = tri.sum(axis=1)
    M2 = (area / 12.0)[:, None, None] * (np.einsum("fki,fkj->fij", tri, tri) + np.einsum("fi,fj->fij", s, s))
    A_r = np.bincount(lab, weights=area, minlength=n_reg)
    S_r = np.stack([np.bincount(lab, weights=area * s[:, k] / 3.0, minlength=n_reg) for k in range(3)], 1)
    M_r = np.zeros((n_reg, 3, 3))
    np.add.at(M_r, lab, M2)
    mu = S_r / A_r[:, None]
    C = M_r - A_r[:, None, None] * np.einsum("ri,rj->rij", mu, mu)  # centred scatter [m^4]
    _, vec = np.linalg.eigh(C)
    n_r = vec[:, :, 0]
    w_r = np.zeros((n_reg, 3))
    np.add.at(w_r, lab, mesh.N * area[:, None])
    n_r *= np.where(np.einsum("ij,ij->i", n_r, w_r) < 0, -1.0, 1.0)[:, None]
    # the region's vertices (each once) and their distances from its plane
    rv = np.unique(np.stack([np.repeat(lab, 3), F.ravel()], axis=1), axis=0)
    r, v = rv[:, 0], rv[:, 1]
    dist = np.einsum("ij,ij->i", V[v] - mu[r], n_r[r])
    far = np.zeros(n_reg)
    np.maximum.at(far, r, np.abs(dist))
    flat = far <= plane_tol
    # pooled vertex noise of the flat regions with more than three vertices
    nv = np.bincount(r, minlength=n_reg)
    ss = np.bincount(r, weights=dist * dist, minlength=n_reg)
    dof_ok = flat & (nv > 3)
    dof = float(np.sum(nv[dof_ok] - 3))
    sigma2 = float(np.sum(ss[dof_ok]) / dof) if dof > 0 else 0.0
    n_out = n_r.copy()
    if sigma2 > 0:
        n_out = _paired_normals(n_r, C, flat, r, V[v] - mu[r], vec[:, :, 1], sigma2, max_angle)
    out = smoothed_normals(mesh, max_angle)
    sel = flat[lab]
    out[sel] = n_out[lab[sel]]
    return out


def _paired_normals(
    n_r: NDArrayF,
    C: npt.NDArray[np.float64],
    flat: npt.NDArray[np.bool_],
    r: NDArrayI,
    dv: NDArrayF,
    narrow: NDArrayF,
    sigma2: float,
    cap: float,
) -> NDArrayF:
    """Common normals of flat regions parallel (and opposite) within the noise; see
    :func:`fitted_normals`. ``dv`` are the regions' vertices relative to their centroids [m],
    ``narrow`` each region's in-plane direction of least spread; ``cap`` the largest angle
    between paired normals [rad]."""
    n_reg = len(n_r)
    spread = np.bincount(r, weights=np.einsum("ij,ij->i", dv, narrow[r]) ** 2, minlength=n_reg)
    var = np.where(spread > 0, sigma2 / np.maximum(spread, 1e-300), np.inf)  # tilt variance [rad²]
    idx = np.flatnonzero(flat & np.isfinite(var))
    if len(idx) < 2:
        return n_r
    tree = cKDTree(n_r[idx])
    pairs = tree.query_ball_point(-n_r[idx], r=2.0 * np.sin(cap / 2), return_sorted=False)
    ii = np.repeat(np.arange(len(idx)), [len(p) for p in pairs])
    jj = np.fromiter((j for p in pairs for j in p), dtype=np.int64, count=len(ii))
    a, b = idx[ii], idx[jj]
    ang = np.arccos(np.clip(-np.einsum("ij,ij->i", n_r[a], n_r[b]), -1.0, 1.0))
    ok = (a != b) & (ang <= np.minimum(3.0 * np.sqrt(var[a] + var[b]), cap))
    if not np.any(ok):
        return n_r
    # each region pairs only with its mutually nearest opposite region, so that the facets of a
    # tessellated tube (outer facet i opposite inner facet i) do not chain into one group
    a, b, ang = a[ok], b[ok], ang[ok]
    order = np.lexsort((ang, a))
    a, b = a[order], b[order]
    first = np.r_[True, a[1:] != a[:-1]]
    best = np.full(n_reg, -1, dtype=np.int64)
    best[a[first]] = b[first]
    src = np.flatnonzero(best >= 0)
    mutual = src[(best[best[src]] == src) & (src < best[src])]
    if len(mutual) == 0:
        return n_r
    grp = np.arange(n_reg)
    grp[best[mutual]] = mutual
    Cg = np.zeros((n_reg, 3, 3))
    np.add.at(Cg, grp, C)  # the scatter is the same for n and -n: opposite faces add up
    _, vec = np.linalg.eigh(Cg)
    n = vec[grp, :, 0]
    return n * np.where(np.einsum("ij,ij->i", n, n_r) < 0, -1.0, 1.0)[:, None]
