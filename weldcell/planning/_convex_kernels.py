"""Numba kernels: exact capsule distances to convex polytopes (the convex pieces of mesh bodies).

A convex piece is given in the robot base frame by its triangulated hull: per triangle the outward
plane ``[nx, ny, nz, offset]`` (inside: ``n . x <= offset``) and the three corners. The signed
distance of a segment a-b to the piece is computed in closed form:

* The segment is clipped against every face plane (Cyrus-Beck). If a part of it is inside, the
  result is ``min_t max_f (n_f . x(t) - o_f)`` <= 0 over that part (the signed distance of the
  deepest segment point, the same measure as the primitives' kernel), by golden-section search on
  this convex piecewise-linear function.
* Otherwise the distance is the smallest segment-triangle distance over the triangles whose plane
  has an end point of the segment in front (the nearest hull point lies on such a triangle), each
  the minimum of the end-point-to-triangle and the segment-to-edge distances (closed form).

The capsule distance is that minus the capsule radius. Forward kinematics reuses the capsule
checker's ``_fk_links``; the public wrapper is ``weldcell.planning.collision.CapsuleCollisionChecker``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from weldcell.planning._collision_kernels import _fk_links, _seg_seg

_GOLD = 0.6180339887498949
_TOL = 1e-9  # [m] bracket width (times segment length) of the penetration search


@njit(cache=True, inline="always")
def _point_triangle(px, py, pz, T, f):  # pragma: no cover - compiled
    """Distance [m] of point p to triangle f of T (F, 9) (closest-point regions, Ericson 5.1.5)."""
    ax, ay, az = T[f, 0], T[f, 1], T[f, 2]
    bx, by, bz = T[f, 3], T[f, 4], T[f, 5]
    cx, cy, cz = T[f, 6], T[f, 7], T[f, 8]
    abx, aby, abz = bx - ax, by - ay, bz - az
    acx, acy, acz = cx - ax, cy - ay, cz - az
    apx, apy, apz = px - ax, py - ay, pz - az
    d1 = abx * apx + aby * apy + abz * apz
    d2 = acx * apx + acy * apy + acz * apz
    if d1 <= 0.0 and d2 <= 0.0:
        qx, qy, qz = ax, ay, az
    else:
        bpx, bpy, bpz = px - bx, py - by, pz - bz
        d3 = abx * bpx + aby * bpy + abz * bpz
        d4 = acx * bpx + acy * bpy + acz * bpz
        if d3 >= 0.0 and d4 <= d3:
            qx, qy, qz = bx, by, bz
        else:
            vc = d1 * d4 - d3 * d2
            if vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
                v = d1 / (d1 - d3)
                qx, qy, qz = ax + v * abx, ay + v * aby, az + v * abz
            else:
                cpx, cpy, cpz = px - cx, py - cy, pz - cz
                d5 = abx * cpx + aby * cpy + abz * cpz
                d6 = acx * cpx + acy * cpy + acz * cpz
                if d6 >= 0.0 and d5 <= d6:
                    qx, qy, qz = cx, cy, cz
                else:
                    vb = d5 * d2 - d1 * d6
                    if vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
                        w = d2 / (d2 - d6)
                        qx, qy, qz = ax + w * acx, ay + w * acy, az + w * acz
                    else:
                        va = d3 * d6 - d5 * d4
                        if va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
                            w = (d4 - d3) / ((d4 - d3) + (d5 - d6))
                            qx, qy, qz = bx + w * (cx - bx), by + w * (cy - by), bz + w * (cz - bz)
                        else:
                            den = 1.0 / (va + vb + vc)
                            v = vb * den
                            w = vc * den
                            qx = ax + abx * v + acx * w
                            qy = ay + aby * v + acy * w
                            qz = az + abz * v + acz * w
    dx, dy, dz = px - qx, py - qy, pz - qz
    return math.sqrt(dx * dx + dy * dy + dz * dz)


@njit(cache=True, inline="always")
def _plane_max(planes, f0, f1, x, y, z):  # pragma: no cover - compiled
    """max over faces f0..f1-1 of (n . p - o) [m]: the signed distance of an inside point p."""
    g = -np.inf
    for f in range(f0, f1):
        g = max(g, planes[f, 0] * x + planes[f, 1] * y + planes[f, 2] * z - planes[f, 3])
    return g


@njit(cache=True)
def segment_convex_distance(ax, ay, az, bx, by, bz, planes, tris, f0, f1):  # pragma: no cover
    """Signed distance [m] of segment a-b to the convex piece with faces f0..f1-1 (< 0: inside).

    Args:
        ax, ay, az, bx, by, bz: End points [m] (base frame).
        planes: Face planes ``[nx, ny, nz, offset]`` [m], shape (F, 4).
        tris: Face corners ``[ax, ay, az, bx, ..., cz]`` [m], shape (F, 9).
        f0, f1: Face range of the piece.
    """
    dx, dy, dz = bx - ax, by - ay, bz - az
    t0 = 0.0
    t1 = 1.0
    inside = True
    for f in range(f0, f1):
        nx, ny, nz, o = planes[f, 0], planes[f, 1], planes[f, 2], planes[f, 3]
        num = o - (nx * ax + ny * ay + nz * az)
        den = nx * dx + ny * dy + nz * dz
        if den == 0.0:
            if num < 0.0:
                inside = False
                break
        elif den > 0.0:
            t1 = min(t1, num / den)
        else:
            t0 = max(t0, num / den)
        if t0 > t1:
            inside = False
            break
    if inside:
        # deepest point of the inside part: golden section on the convex piecewise-linear max-plane
        seg = math.sqrt(dx * dx + dy * dy + dz * dz)
        lo, hi = t0, t1
        x1 = hi - _GOLD * (hi - lo)
        x2 = lo + _GOLD * (hi - lo)
        g1 = _plane_max(planes, f0, f1, ax + x1 * dx, ay + x1 * dy, az + x1 * dz)
        g2 = _plane_max(planes, f0, f1, ax + x2 * dx, ay + x2 * dy, az + x2 * dz)
        best = min(
            min(g1, g2),
            min(
                _plane_max(planes, f0, f1, ax + t0 * dx, ay + t0 * dy, az + t0 * dz),
                _plane_max(planes, f0, f1, ax + t1 * dx, ay + t1 * dy, az + t1 * dz),
            ),
        )
        while (hi - lo) * seg > _TOL:
            if g1 < g2:
                hi = x2
                x2 = x1
                g2 = g1
                x1 = hi - _GOLD * (hi - lo)
                g1 = _plane_max(planes, f0, f1, ax + x1 * dx, ay + x1 * dy, az + x1 * dz)
                best = min(best, g1)
            else:
                lo = x1
                x1 = x2
                g1 = g2
                x2 = lo + _GOLD * (hi - lo)
                g2 = _plane_max(planes, f0, f1, ax + x2 * dx, ay + x2 * dy, az + x2 * dz)
                best = min(best, g2)
        return min(best, 0.0)
    best = np.inf
    for f in range(f0, f1):
        nx, ny, nz, o = planes[f, 0], planes[f, 1], planes[f, 2], planes[f, 3]
        sa = nx * ax + ny * ay + nz * az - o
        sb = nx * bx + ny * by + nz * bz - o
        if sa <= 0.0 and sb <= 0.0:
            continue  # the nearest hull point is on a face with the segment in front
        if sa > 0.0 and sb > 0.0 and min(sa, sb) >= best:
            continue  # farther than the best even from the face's plane
        d = min(_point_triangle(ax, ay, az, tris, f), _point_triangle(bx, by, bz, tris, f))
        for e in range(3):
            e1 = (e + 1) % 3
            d = min(
                d,
                _seg_seg(
                    ax, ay, az, bx, by, bz,
                    tris[f, 3 * e], tris[f, 3 * e + 1], tris[f, 3 * e + 2],
                    tris[f, 3 * e1], tris[f, 3 * e1 + 1], tris[f, 3 * e1 + 2],
                ),
            )  # fmt: skip
        best = min(best, d)
    return best


@njit(cache=True, inline="always")
def _capsule_ends(poses, cap_link, cap_a, cap_b, A, B):  # pragma: no cover - compiled
    for c in range(cap_link.shape[0]):
        T = poses[cap_link[c]]
        for i in range(3):
            A[c, i] = T[i, 0] * cap_a[c, 0] + T[i, 1] * cap_a[c, 1] + T[i, 2] * cap_a[c, 2] + T[i, 3]
            B[c, i] = T[i, 0] * cap_b[c, 0] + T[i, 1] * cap_b[c, 1] + T[i, 2] * cap_b[c, 2] + T[i, 3]


@njit(cache=True)
def convex_batch(
    Q,
    parent,
    origin,
    axis,
    qidx,
    cap_link,
    cap_a,
    cap_b,
    cap_r,
    planes,
    tris,
    face_start,
    piece_sphere,
    pair_cap,
    pair_piece,
    pair_req,
    exact_below,
    early_exit,
    out_slack,
    out_dist,
    out_pair,
):  # pragma: no cover - compiled
    """Capsule-vs-convex-piece pairs for M configurations Q (M, n), as ``collision_batch`` does.

    Writes per configuration the smallest (distance - required) ``out_slack`` [m], the smallest
    distance ``out_dist`` [m] (both saturated at ``exact_below``; pairs farther are culled by
    bounding spheres) and the pair ``out_pair`` with the smallest slack (-1: none nearer than
    ``exact_below``). ``early_exit`` stops a configuration at its first violated pair. Rows with a
    non-finite joint value get -inf and pair -1.
    """
    M = Q.shape[0]
    n = Q.shape[1]
    C = cap_link.shape[0]
    P = pair_cap.shape[0]
    poses = np.empty((parent.shape[0], 3, 4))
    A = np.empty((C, 3))
    B = np.empty((C, 3))
    ext = np.empty(C)
    for c in range(C):
        dx = cap_b[c, 0] - cap_a[c, 0]
        dy = cap_b[c, 1] - cap_a[c, 1]
        dz = cap_b[c, 2] - cap_a[c, 2]
        ext[c] = 0.5 * math.sqrt(dx * dx + dy * dy + dz * dz) + cap_r[c]
    cap = max(exact_below, 0.0)
    for m in range(M):
        finite = True
        for j in range(n):
            if not math.isfinite(Q[m, j]):
                finite = False
        if not finite:
            out_slack[m] = -np.inf
            out_dist[m] = -np.inf
            out_pair[m] = -1
            continue
        _fk_links(Q[m], parent, origin, axis, qidx, poses)
        _capsule_ends(poses, cap_link, cap_a, cap_b, A, B)
        best_slack = cap
        best_dist = cap
        best_pair = -1
        for k in range(P):
            c = pair_cap[k]
            p = pair_piece[k]
            req = pair_req[k]
            thr = max(req, cap)
            mx = 0.5 * (A[c, 0] + B[c, 0]) - piece_sphere[p, 0]
            my = 0.5 * (A[c, 1] + B[c, 1]) - piece_sphere[p, 1]
            mz = 0.5 * (A[c, 2] + B[c, 2]) - piece_sphere[p, 2]
            if math.sqrt(mx * mx + my * my + mz * mz) - piece_sphere[p, 3] - ext[c] > thr:
                continue
            d = (
                segment_convex_distance(
                    A[c, 0], A[c, 1], A[c, 2], B[c, 0], B[c, 1], B[c, 2],
                    planes, tris, face_start[p], face_start[p + 1],
                )
                - cap_r[c]
            )  # fmt: skip
            if d > thr:
                continue
            best_dist = min(best_dist, d)
            if d - req < best_slack:
                best_slack = d - req
                best_pair = k
            if best_slack < 0.0 and early_exit:
                break
        out_slack[m] = best_slack
        out_dist[m] = best_dist
        out_pair[m] = best_pair


@njit(cache=True)
def convex_pair_distances(
    q,
    parent,
    origin,
    axis,
    qidx,
    cap_link,
    cap_a,
    cap_b,
    cap_r,
    planes,
    tris,
    face_start,
    pair_cap,
    pair_piece,
):  # pragma: no cover - compiled
    """Distance [m] of every capsule-vs-convex-piece pair for one configuration q (n,)."""
    C = cap_link.shape[0]
    poses = np.empty((parent.shape[0], 3, 4))
    A = np.empty((C, 3))
    B = np.empty((C, 3))
    _fk_links(q, parent, origin, axis, qidx, poses)
    _capsule_ends(poses, cap_link, cap_a, cap_b, A, B)
    out = np.empty(pair_cap.shape[0])
    for k in range(pair_cap.shape[0]):
        c = pair_cap[k]
        p = pair_piece[k]
        out[k] = (
            segment_convex_distance(
                A[c, 0], A[c, 1], A[c, 2], B[c, 0], B[c, 1], B[c, 2],
                planes, tris, face_start[p], face_start[p + 1],
            )
            - cap_r[c]
        )  # fmt: skip
    return out
