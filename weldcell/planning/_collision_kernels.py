"""Numba kernels of the capsule collision checker (compiled once, cached on disk).

Everything here works in the robot base frame, in metres, on plain arrays so that numba can compile
it without Python objects. The public wrapper is :class:`weldcell.planning.collision.CapsuleCollisionChecker`.

Geometry:
    * The robot and torch are capsules (segment a-b with radius r) attached to kinematic-chain links.
    * Obstacles are spheres, boxes or finite cylinders, described by their signed-distance function
      in the body frame. A capsule's distance to a convex body is ``min_t sdf(a + t (b - a)) - r``;
      ``sdf`` is convex and 1-Lipschitz, so a golden-section search brackets the minimiser and the
      result is lowered by ``|b - a| * bracket`` to stay a lower bound (conservative).
    * Capsule-capsule distances (self collision) use the closed-form segment-segment distance.

Body kinds: 0 sphere (h = [R, 0, 0]), 1 box (h = half extents), 2 cylinder along body z
(h = [R, half length, 0]).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SPHERE = 0
BOX = 1
CYLINDER = 2

_GOLD = 0.6180339887498949
_TOL = 1e-7  # [m] bracket width (times segment length) at which the search stops


@njit(cache=True, fastmath=True)
def _fk_links(q, parent, origin, axis, qidx, out):  # pragma: no cover - compiled
    """Link poses (L, 3, 4) in the base frame for one configuration q (n,)."""
    L = parent.shape[0]
    for k in range(L):
        # local = origin[k] @ Rot(axis[k], q)
        o = origin[k]
        j = qidx[k]
        if j >= 0:
            th = q[j]
            c = math.cos(th)
            s = math.sin(th)
            v = 1.0 - c
            x = axis[k, 0]
            y = axis[k, 1]
            z = axis[k, 2]
            r00 = c + x * x * v
            r01 = x * y * v - z * s
            r02 = x * z * v + y * s
            r10 = y * x * v + z * s
            r11 = c + y * y * v
            r12 = y * z * v - x * s
            r20 = z * x * v - y * s
            r21 = z * y * v + x * s
            r22 = c + z * z * v
            l00 = o[0, 0] * r00 + o[0, 1] * r10 + o[0, 2] * r20
            l01 = o[0, 0] * r01 + o[0, 1] * r11 + o[0, 2] * r21
            l02 = o[0, 0] * r02 + o[0, 1] * r12 + o[0, 2] * r22
            l10 = o[1, 0] * r00 + o[1, 1] * r10 + o[1, 2] * r20
            l11 = o[1, 0] * r01 + o[1, 1] * r11 + o[1, 2] * r21
            l12 = o[1, 0] * r02 + o[1, 1] * r12 + o[1, 2] * r22
            l20 = o[2, 0] * r00 + o[2, 1] * r10 + o[2, 2] * r20
            l21 = o[2, 0] * r01 + o[2, 1] * r11 + o[2, 2] * r21
            l22 = o[2, 0] * r02 + o[2, 1] * r12 + o[2, 2] * r22
        else:
            l00 = o[0, 0]
            l01 = o[0, 1]
            l02 = o[0, 2]
            l10 = o[1, 0]
            l11 = o[1, 1]
            l12 = o[1, 2]
            l20 = o[2, 0]
            l21 = o[2, 1]
            l22 = o[2, 2]
        t0 = o[0, 3]
        t1 = o[1, 3]
        t2 = o[2, 3]
        p = parent[k]
        if p < 0:
            out[k, 0, 0] = l00
            out[k, 0, 1] = l01
            out[k, 0, 2] = l02
            out[k, 1, 0] = l10
            out[k, 1, 1] = l11
            out[k, 1, 2] = l12
            out[k, 2, 0] = l20
            out[k, 2, 1] = l21
            out[k, 2, 2] = l22
            out[k, 0, 3] = t0
            out[k, 1, 3] = t1
            out[k, 2, 3] = t2
        else:
            P = out[p]
            for i in range(3):
                a0 = P[i, 0]
                a1 = P[i, 1]
                a2 = P[i, 2]
                out[k, i, 0] = a0 * l00 + a1 * l10 + a2 * l20
                out[k, i, 1] = a0 * l01 + a1 * l11 + a2 * l21
                out[k, i, 2] = a0 * l02 + a1 * l12 + a2 * l22
                out[k, i, 3] = a0 * t0 + a1 * t1 + a2 * t2 + P[i, 3]


@njit(cache=True, inline="always")
def _sdf(kind, bd, b, x, y, z):  # pragma: no cover - compiled
    """Signed distance [m] of base-frame point (x, y, z) to body b (negative inside).

    ``bd[b]`` holds the first three rows of ``T_body_base`` (12 values) then the half sizes (3).
    """
    px = bd[b, 0] * x + bd[b, 1] * y + bd[b, 2] * z + bd[b, 3]
    py = bd[b, 4] * x + bd[b, 5] * y + bd[b, 6] * z + bd[b, 7]
    pz = bd[b, 8] * x + bd[b, 9] * y + bd[b, 10] * z + bd[b, 11]
    h0 = bd[b, 12]
    h1 = bd[b, 13]
    if kind == SPHERE:
        return math.sqrt(px * px + py * py + pz * pz) - h0
    if kind == BOX:
        qx = abs(px) - h0
        qy = abs(py) - h1
        qz = abs(pz) - bd[b, 14]
        ox = max(qx, 0.0)
        oy = max(qy, 0.0)
        oz = max(qz, 0.0)
        return math.sqrt(ox * ox + oy * oy + oz * oz) + min(max(qx, max(qy, qz)), 0.0)
    # cylinder along z
    rr = math.sqrt(px * px + py * py) - h0
    zz = abs(pz) - h1
    orr = max(rr, 0.0)
    ozz = max(zz, 0.0)
    return math.sqrt(orr * orr + ozz * ozz) + min(max(rr, zz), 0.0)


@njit(cache=True)
def _segment_body_distance(
    ax, ay, az, bx, by, bz, kind, bd, bi, stop_below=-np.inf, stop_above=np.inf
):  # pragma: no cover
    """Lower bound [m] on the distance between segment a-b and a body (signed; < 0 when inside).

    The search stops early once the answer is decided: when a point of the segment is nearer than
    ``stop_below`` (the value returned is then that point's distance, an upper bound, < stop_below),
    or when the lower bound exceeds ``stop_above`` (the lower bound is returned, > stop_above).
    """
    dx = bx - ax
    dy = by - ay
    dz = bz - az
    seg = math.sqrt(dx * dx + dy * dy + dz * dz)
    if seg < 1e-12:
        return _sdf(kind, bd, bi, ax, ay, az)
    lo = 0.0
    hi = 1.0
    x1 = hi - _GOLD * (hi - lo)
    x2 = lo + _GOLD * (hi - lo)
    f1 = _sdf(kind, bd, bi, ax + x1 * dx, ay + x1 * dy, az + x1 * dz)
    f2 = _sdf(kind, bd, bi, ax + x2 * dx, ay + x2 * dy, az + x2 * dz)
    f0 = _sdf(kind, bd, bi, ax, ay, az)
    fb = _sdf(kind, bd, bi, bx, by, bz)
    best = min(min(f0, fb), min(f1, f2))
    while (hi - lo) * seg > _TOL:
        if best < stop_below or best - (hi - lo) * seg > stop_above:
            break
        if f1 < f2:
            hi = x2
            x2 = x1
            f2 = f1
            x1 = hi - _GOLD * (hi - lo)
            f1 = _sdf(kind, bd, bi, ax + x1 * dx, ay + x1 * dy, az + x1 * dz)
            best = min(best, f1)
        else:
            lo = x1
            x1 = x2
            f1 = f2
            x2 = lo + _GOLD * (hi - lo)
            f2 = _sdf(kind, bd, bi, ax + x2 * dx, ay + x2 * dy, az + x2 * dz)
            best = min(best, f2)
    # the minimiser lies in [lo, hi]; sdf is 1-Lipschitz in space -> conservative lower bound
    return best - (hi - lo) * seg


@njit(cache=True, inline="always")
def _seg_seg(p10, p11, p12, q10, q11, q12, p20, p21, p22, q20, q21, q22):  # pragma: no cover - compiled
    """Closest distance [m] between segments p1-q1 and p2-q2 given by their coordinates."""
    d1x = q10 - p10
    d1y = q11 - p11
    d1z = q12 - p12
    d2x = q20 - p20
    d2y = q21 - p21
    d2z = q22 - p22
    rx = p10 - p20
    ry = p11 - p21
    rz = p12 - p22
    a = d1x * d1x + d1y * d1y + d1z * d1z
    e = d2x * d2x + d2y * d2y + d2z * d2z
    f = d2x * rx + d2y * ry + d2z * rz
    eps = 1e-18
    if a <= eps and e <= eps:
        s = 0.0
        t = 0.0
    elif a <= eps:
        s = 0.0
        t = min(max(f / e, 0.0), 1.0)
    else:
        c = d1x * rx + d1y * ry + d1z * rz
        if e <= eps:
            t = 0.0
            s = min(max(-c / a, 0.0), 1.0)
        else:
            b = d1x * d2x + d1y * d2y + d1z * d2z
            denom = a * e - b * b
            if denom > eps:
                s = min(max((b * f - c * e) / denom, 0.0), 1.0)
            else:
                s = 0.0
            t = (b * s + f) / e
            if t < 0.0:
                t = 0.0
                s = min(max(-c / a, 0.0), 1.0)
            elif t > 1.0:
                t = 1.0
                s = min(max((b - c) / a, 0.0), 1.0)
    cx = p10 + d1x * s - (p20 + d2x * t)
    cy = p11 + d1y * s - (p21 + d2y * t)
    cz = p12 + d1z * s - (p22 + d2z * t)
    return math.sqrt(cx * cx + cy * cy + cz * cz)


@njit(cache=True)
def _segment_segment_distance(p1, q1, p2, q2):  # pragma: no cover - compiled
    """Closest distance [m] between segments p1-q1 and p2-q2 (each (3,))."""
    return _seg_seg(p1[0], p1[1], p1[2], q1[0], q1[1], q1[2], p2[0], p2[1], p2[2], q2[0], q2[1], q2[2])


@njit(cache=True, inline="always")
def _capsule_pair_axis_distance(A, B, ca, cb):  # pragma: no cover - compiled
    """Distance [m] between the axes of capsules ca and cb (end points in A, B (C, 3))."""
    return _seg_seg(
        A[ca, 0], A[ca, 1], A[ca, 2], B[ca, 0], B[ca, 1], B[ca, 2],
        A[cb, 0], A[cb, 1], A[cb, 2], B[cb, 0], B[cb, 1], B[cb, 2],
    )  # fmt: skip


@njit(cache=True)
def collision_batch(
    Q,
    parent,
    origin,
    axis,
    qidx,
    cap_link,
    cap_a,
    cap_b,
    cap_r,
    body_kind,
    body_data,
    body_sphere,
    env_cap,
    env_body,
    env_req,
    self_a,
    self_b,
    self_req,
    self_gp,
    gp_a,
    gp_b,
    grp_link,
    grp_c,
    grp_r,
    exact_below,
    early_exit,
    out_slack,
    out_dist,
    out_pair,
):  # pragma: no cover - compiled
    """Check M configurations Q (M, n).

    Writes per configuration: ``out_slack`` = min over pairs of (distance - required) [m] (< 0 means
    in collision), ``out_dist`` = min distance over pairs [m], both saturated at ``exact_below``
    (pairs farther apart are culled), ``out_pair`` = index of the pair with the smallest slack (env
    pairs first, then self pairs; -1 when no pair is nearer than ``exact_below``). With
    ``early_exit`` the scan of a configuration stops at the first violated pair (slack < 0).

    Self pairs are culled per pair of rigid groups first: ``self_gp`` gives each self pair's group
    pair (``gp_a``, ``gp_b``); group g's bounding sphere has centre ``grp_c[g]`` in the frame of link
    ``grp_link[g]`` and radius ``grp_r[g]``.
    """
    M = Q.shape[0]
    G = grp_link.shape[0]
    GP = gp_a.shape[0]
    gc = np.empty((G, 3))
    gp_ok = np.empty(GP, dtype=np.bool_)
    req_max = 0.0
    for k in range(self_req.shape[0]):
        req_max = max(req_max, self_req[k])
    L = parent.shape[0]
    C = cap_link.shape[0]
    P = env_cap.shape[0]
    S = self_a.shape[0]
    poses = np.empty((L, 3, 4))
    A = np.empty((C, 3))
    B = np.empty((C, 3))
    mid = np.empty((C, 3))
    half = np.empty(C)  # half lengths: rigid, so computed once
    for c in range(C):
        dx = cap_b[c, 0] - cap_a[c, 0]
        dy = cap_b[c, 1] - cap_a[c, 1]
        dz = cap_b[c, 2] - cap_a[c, 2]
        half[c] = 0.5 * math.sqrt(dx * dx + dy * dy + dz * dz)
    for m in range(M):
        _fk_links(Q[m], parent, origin, axis, qidx, poses)
        for c in range(C):
            T = poses[cap_link[c]]
            for i in range(3):
                A[c, i] = T[i, 0] * cap_a[c, 0] + T[i, 1] * cap_a[c, 1] + T[i, 2] * cap_a[c, 2] + T[i, 3]
                B[c, i] = T[i, 0] * cap_b[c, 0] + T[i, 1] * cap_b[c, 1] + T[i, 2] * cap_b[c, 2] + T[i, 3]
                mid[c, i] = 0.5 * (A[c, i] + B[c, i])
        # values are saturated at ``cap``: pairs farther than that are culled without exact distances
        cap = max(exact_below, 0.0)
        best_slack = cap
        best_dist = cap
        best_pair = -1
        hit = False
        for k in range(P):
            c = env_cap[k]
            b = env_body[k]
            req = env_req[k]
            thr = max(req, cap)
            # bounding-sphere cull (no square root)
            sx = mid[c, 0] - body_sphere[b, 0]
            sy = mid[c, 1] - body_sphere[b, 1]
            sz = mid[c, 2] - body_sphere[b, 2]
            reach = body_sphere[b, 3] + half[c] + cap_r[c] + thr
            if sx * sx + sy * sy + sz * sz > reach * reach:
                continue
            lb = _sdf(body_kind[b], body_data, b, mid[c, 0], mid[c, 1], mid[c, 2]) - half[c] - cap_r[c]
            if lb <= thr and half[c] > 0.0:
                # Lipschitz bound from both end points: min f >= (f(a) + f(b) - |b - a|) / 2
                fa = _sdf(body_kind[b], body_data, b, A[c, 0], A[c, 1], A[c, 2])
                fb = _sdf(body_kind[b], body_data, b, B[c, 0], B[c, 1], B[c, 2])
                lb = max(lb, 0.5 * (fa + fb) - half[c] - cap_r[c])
            if lb > thr:
                continue
            r = cap_r[c]
            stop_below = req + r if early_exit else -np.inf
            d = (
                _segment_body_distance(
                    A[c, 0],
                    A[c, 1],
                    A[c, 2],
                    B[c, 0],
                    B[c, 1],
                    B[c, 2],
                    body_kind[b],
                    body_data,
                    b,
                    stop_below,
                    thr + r,
                )
                - r
            )
            if d > thr:
                continue
            best_dist = min(best_dist, d)
            if d - req < best_slack:
                best_slack = d - req
                best_pair = k
            if best_slack < 0.0 and early_exit:
                hit = True
                break
        if not hit and S > 0:
            for g in range(G):
                T = poses[grp_link[g]]
                for i in range(3):
                    gc[g, i] = T[i, 0] * grp_c[g, 0] + T[i, 1] * grp_c[g, 1] + T[i, 2] * grp_c[g, 2] + T[i, 3]
            gthr = max(req_max, cap)
            for k in range(GP):
                ga = gp_a[k]
                gb = gp_b[k]
                dx = gc[ga, 0] - gc[gb, 0]
                dy = gc[ga, 1] - gc[gb, 1]
                dz = gc[ga, 2] - gc[gb, 2]
                reach = grp_r[ga] + grp_r[gb] + gthr
                gp_ok[k] = dx * dx + dy * dy + dz * dz <= reach * reach
            for k in range(S):
                if not gp_ok[self_gp[k]]:
                    continue
                ca = self_a[k]
                cb = self_b[k]
                req = self_req[k]
                thr = max(req, cap)
                dx = mid[ca, 0] - mid[cb, 0]
                dy = mid[ca, 1] - mid[cb, 1]
                dz = mid[ca, 2] - mid[cb, 2]
                reach = half[ca] + half[cb] + cap_r[ca] + cap_r[cb] + thr
                if dx * dx + dy * dy + dz * dz > reach * reach:
                    continue
                d = _capsule_pair_axis_distance(A, B, ca, cb) - cap_r[ca] - cap_r[cb]
                best_dist = min(best_dist, d)
                if d - req < best_slack:
                    best_slack = d - req
                    best_pair = P + k
                if best_slack < 0.0 and early_exit:
                    break
        out_slack[m] = best_slack
        out_dist[m] = best_dist
        out_pair[m] = best_pair


@njit(cache=True)
def link_poses_batch(Q, parent, origin, axis, qidx):  # pragma: no cover - compiled
    """Link poses (M, L, 3, 4) in the base frame for configurations Q (M, n)."""
    M = Q.shape[0]
    L = parent.shape[0]
    out = np.empty((M, L, 3, 4))
    for m in range(M):
        _fk_links(Q[m], parent, origin, axis, qidx, out[m])
    return out


@njit(cache=True)
def pair_distances(
    q,
    parent,
    origin,
    axis,
    qidx,
    cap_link,
    cap_a,
    cap_b,
    cap_r,
    body_kind,
    body_data,
    env_cap,
    env_body,
    self_a,
    self_b,
):  # pragma: no cover - compiled
    """Distances [m] of every env pair then every self pair for one configuration q (n,)."""
    L = parent.shape[0]
    C = cap_link.shape[0]
    P = env_cap.shape[0]
    S = self_a.shape[0]
    poses = np.empty((L, 3, 4))
    _fk_links(q, parent, origin, axis, qidx, poses)
    A = np.empty((C, 3))
    B = np.empty((C, 3))
    for c in range(C):
        T = poses[cap_link[c]]
        for i in range(3):
            A[c, i] = T[i, 0] * cap_a[c, 0] + T[i, 1] * cap_a[c, 1] + T[i, 2] * cap_a[c, 2] + T[i, 3]
            B[c, i] = T[i, 0] * cap_b[c, 0] + T[i, 1] * cap_b[c, 1] + T[i, 2] * cap_b[c, 2] + T[i, 3]
    out = np.empty(P + S)
    for k in range(P):
        c = env_cap[k]
        b = env_body[k]
        out[k] = (
            _segment_body_distance(
                A[c, 0], A[c, 1], A[c, 2], B[c, 0], B[c, 1], B[c, 2], body_kind[b], body_data, b
            )
            - cap_r[c]
        )
    for k in range(S):
        ca = self_a[k]
        cb = self_b[k]
        out[P + k] = _capsule_pair_axis_distance(A, B, ca, cb) - cap_r[ca] - cap_r[cb]
    return out
