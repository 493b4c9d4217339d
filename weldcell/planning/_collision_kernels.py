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
# LLVM fast-math flags that keep IEEE semantics for NaN and infinity (the kernels compare against
# -inf/inf sentinels): reassociation and contraction only move results by a few ulp (1e-16 m).
_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, fastmath=_FAST)
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


@njit(cache=True, fastmath=_FAST)
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


# sin/cos: Cody-Waite reduction by pi/2 (fdlibm's two-part constant), Taylor polynomials on |r| <= pi/4;
# error < 1e-16 for |x| < 100 rad, and, unlike libm calls, vectorisable across configurations
_TWO_OVER_PI = 0.6366197723675814
_PIO2_HI = 1.57079632673412561417e00
_PIO2_LO = 6.07710050650619224932e-11
_BLOCK = 16  # configurations processed together (structure-of-arrays lanes)


@njit(cache=True, fastmath=_FAST, inline="always")
def _sincos(x):  # pragma: no cover - compiled
    """(sin x, cos x) for |x| < 100 rad, to within 1e-16."""
    k = math.floor(x * _TWO_OVER_PI + 0.5)
    r = (x - k * _PIO2_HI) - k * _PIO2_LO
    r2 = r * r
    s = r + r * r2 * (
        -1.0 / 6.0
        + r2
        * (
            1.0 / 120.0
            + r2
            * (
                -1.0 / 5040.0
                + r2
                * (
                    1.0 / 362880.0
                    + r2 * (-1.0 / 39916800.0 + r2 * (1.0 / 6227020800.0 - r2 / 1307674368000.0))
                )
            )
        )
    )
    c = 1.0 + r2 * (
        -0.5
        + r2
        * (
            1.0 / 24.0
            + r2
            * (
                -1.0 / 720.0
                + r2
                * (
                    1.0 / 40320.0
                    + r2
                    * (
                        -1.0 / 3628800.0
                        + r2 * (1.0 / 479001600.0 + r2 * (-1.0 / 87178291200.0 + r2 / 20922789888000.0))
                    )
                )
            )
        )
    )
    q = int(k) & 3
    sw = q & 1
    sin_x = c if sw else s
    cos_x = s if sw else c
    if q & 2:
        sin_x = -sin_x
    if (q + 1) & 2:
        cos_x = -cos_x
    return sin_x, cos_x


@njit(cache=True, fastmath=_FAST)
def _fk_block(Qb, nb, parent, origin, axis, qidx, X):  # pragma: no cover - compiled
    """Link poses of nb configurations, lanes last: X[k, 4 * row + col, i] (3 x 4 row-major per link).

    ``Qb`` is (n, BLOCK): joint j of configuration i at ``Qb[j, i]``.
    """
    L = parent.shape[0]
    for k in range(L):
        p = parent[k]
        o00 = origin[k, 0, 0]
        o01 = origin[k, 0, 1]
        o02 = origin[k, 0, 2]
        o03 = origin[k, 0, 3]
        o10 = origin[k, 1, 0]
        o11 = origin[k, 1, 1]
        o12 = origin[k, 1, 2]
        o13 = origin[k, 1, 3]
        o20 = origin[k, 2, 0]
        o21 = origin[k, 2, 1]
        o22 = origin[k, 2, 2]
        o23 = origin[k, 2, 3]
        if p < 0:
            for i in range(nb):
                X[k, 0, i] = o00
                X[k, 1, i] = o01
                X[k, 2, i] = o02
                X[k, 3, i] = o03
                X[k, 4, i] = o10
                X[k, 5, i] = o11
                X[k, 6, i] = o12
                X[k, 7, i] = o13
                X[k, 8, i] = o20
                X[k, 9, i] = o21
                X[k, 10, i] = o22
                X[k, 11, i] = o23
        else:
            for r in range(3):
                for i in range(nb):
                    a0 = X[p, 4 * r, i]
                    a1 = X[p, 4 * r + 1, i]
                    a2 = X[p, 4 * r + 2, i]
                    X[k, 4 * r, i] = a0 * o00 + a1 * o10 + a2 * o20
                    X[k, 4 * r + 1, i] = a0 * o01 + a1 * o11 + a2 * o21
                    X[k, 4 * r + 2, i] = a0 * o02 + a1 * o12 + a2 * o22
                    X[k, 4 * r + 3, i] = a0 * o03 + a1 * o13 + a2 * o23 + X[p, 4 * r + 3, i]
        j = qidx[k]
        if j < 0:
            continue
        x = axis[k, 0]
        y = axis[k, 1]
        z = axis[k, 2]
        if x == 0.0 and y == 0.0 and z == 1.0:
            for i in range(nb):
                s, c = _sincos(Qb[j, i])
                for r in range(3):
                    m0 = X[k, 4 * r, i]
                    m1 = X[k, 4 * r + 1, i]
                    X[k, 4 * r, i] = c * m0 + s * m1
                    X[k, 4 * r + 1, i] = c * m1 - s * m0
        else:
            for i in range(nb):
                s, c = _sincos(Qb[j, i])
                v = 1.0 - c
                r00 = c + x * x * v
                r01 = x * y * v - z * s
                r02 = x * z * v + y * s
                r10 = y * x * v + z * s
                r11 = c + y * y * v
                r12 = y * z * v - x * s
                r20 = z * x * v - y * s
                r21 = z * y * v + x * s
                r22 = c + z * z * v
                for r in range(3):
                    m0 = X[k, 4 * r, i]
                    m1 = X[k, 4 * r + 1, i]
                    m2 = X[k, 4 * r + 2, i]
                    X[k, 4 * r, i] = m0 * r00 + m1 * r10 + m2 * r20
                    X[k, 4 * r + 1, i] = m0 * r01 + m1 * r11 + m2 * r21
                    X[k, 4 * r + 2, i] = m0 * r02 + m1 * r12 + m2 * r22


@njit(cache=True, fastmath=_FAST)
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
    ``early_exit`` the scan of a configuration stops at the first violated pair (slack < 0). A row
    with a non-finite joint value gets slack and distance -inf and pair -1 (never free).

    Layout: configurations are processed in blocks of ``_BLOCK`` with the configuration index last
    (structure of arrays), so forward kinematics, capsule end points and the bounding-sphere cull of
    every pair run as vector loops across the block. Pairs that pass the cull get the exact distance
    per configuration. The cull is conservative: a capsule lies within (half length + radius) of its
    mid point, signed distances are 1-Lipschitz, and a capsule pair farther apart than the sum of
    both reaches cannot be nearer than the requirement.
    """
    M = Q.shape[0]
    n = Q.shape[1]
    L = parent.shape[0]
    C = cap_link.shape[0]
    P = env_cap.shape[0]
    S = self_a.shape[0]
    BS = _BLOCK
    X = np.empty((L, 12, BS))
    Qb = np.empty((n, BS))
    A = np.empty((C, 3, BS))
    B = np.empty((C, 3, BS))
    Mi = np.empty((C, 3, BS))
    near = np.empty((P + S, BS), dtype=np.bool_)
    finite = np.empty(BS, dtype=np.bool_)
    half = np.empty(C)
    ext = np.empty(C)  # half length + radius: rigid, so computed once
    for c in range(C):
        dx = cap_b[c, 0] - cap_a[c, 0]
        dy = cap_b[c, 1] - cap_a[c, 1]
        dz = cap_b[c, 2] - cap_a[c, 2]
        half[c] = 0.5 * math.sqrt(dx * dx + dy * dy + dz * dz)
        ext[c] = half[c] + cap_r[c]
    # values are saturated at ``cap``: pairs farther than that are culled without exact distances
    cap = max(exact_below, 0.0)
    reach2 = np.empty(P + S)
    for k in range(P):
        rr = body_sphere[env_body[k], 3] + ext[env_cap[k]] + max(env_req[k], cap)
        reach2[k] = rr * rr
    for k in range(S):
        rr = ext[self_a[k]] + ext[self_b[k]] + max(self_req[k], cap)
        reach2[P + k] = rr * rr
    for m0 in range(0, M, BS):
        nb = min(BS, M - m0)
        for i in range(nb):
            z = 0.0
            for j in range(n):
                v = Q[m0 + i, j]
                Qb[j, i] = v
                z += v * 0.0  # NaN when any value is NaN or infinite (no nnan flag: not folded)
            finite[i] = z == 0.0
        _fk_block(Qb, nb, parent, origin, axis, qidx, X)
        for c in range(C):
            lk = cap_link[c]
            a0 = cap_a[c, 0]
            a1 = cap_a[c, 1]
            a2 = cap_a[c, 2]
            b0 = cap_b[c, 0]
            b1 = cap_b[c, 1]
            b2 = cap_b[c, 2]
            for r in range(3):
                for i in range(nb):
                    t0 = X[lk, 4 * r, i]
                    t1 = X[lk, 4 * r + 1, i]
                    t2 = X[lk, 4 * r + 2, i]
                    t3 = X[lk, 4 * r + 3, i]
                    va = t0 * a0 + t1 * a1 + t2 * a2 + t3
                    vb = t0 * b0 + t1 * b1 + t2 * b2 + t3
                    A[c, r, i] = va
                    B[c, r, i] = vb
                    Mi[c, r, i] = 0.5 * (va + vb)
        # broad phase for every pair across the block
        for k in range(P):
            c = env_cap[k]
            b = env_body[k]
            kind = body_kind[b]
            if kind == SPHERE:
                s0 = body_sphere[b, 0]
                s1 = body_sphere[b, 1]
                s2 = body_sphere[b, 2]
                r2 = reach2[k]
                for i in range(nb):
                    sx = Mi[c, 0, i] - s0
                    sy = Mi[c, 1, i] - s1
                    sz = Mi[c, 2, i] - s2
                    near[k, i] = sx * sx + sy * sy + sz * sz <= r2
                continue
            # boxes and cylinders: a branch-free lower bound of the signed distance at the mid point,
            # max over the body axes of (|coordinate| - half size) (radial distance for a cylinder)
            lim = ext[c] + max(env_req[k], cap)
            d00 = body_data[b, 0]
            d01 = body_data[b, 1]
            d02 = body_data[b, 2]
            d03 = body_data[b, 3]
            d10 = body_data[b, 4]
            d11 = body_data[b, 5]
            d12 = body_data[b, 6]
            d13 = body_data[b, 7]
            d20 = body_data[b, 8]
            d21 = body_data[b, 9]
            d22 = body_data[b, 10]
            d23 = body_data[b, 11]
            h0 = body_data[b, 12]
            h1 = body_data[b, 13]
            h2 = body_data[b, 14]
            if kind == BOX:
                for i in range(nb):
                    x = Mi[c, 0, i]
                    y = Mi[c, 1, i]
                    z = Mi[c, 2, i]
                    px = abs(d00 * x + d01 * y + d02 * z + d03) - h0
                    py = abs(d10 * x + d11 * y + d12 * z + d13) - h1
                    pz = abs(d20 * x + d21 * y + d22 * z + d23) - h2
                    near[k, i] = max(px, max(py, pz)) <= lim
            else:
                for i in range(nb):
                    x = Mi[c, 0, i]
                    y = Mi[c, 1, i]
                    z = Mi[c, 2, i]
                    px = d00 * x + d01 * y + d02 * z + d03
                    py = d10 * x + d11 * y + d12 * z + d13
                    pz = abs(d20 * x + d21 * y + d22 * z + d23) - h1
                    near[k, i] = max(math.sqrt(px * px + py * py) - h0, pz) <= lim
        for k in range(S):
            ca = self_a[k]
            cb = self_b[k]
            r2 = reach2[P + k]
            for i in range(nb):
                dx = Mi[ca, 0, i] - Mi[cb, 0, i]
                dy = Mi[ca, 1, i] - Mi[cb, 1, i]
                dz = Mi[ca, 2, i] - Mi[cb, 2, i]
                near[P + k, i] = dx * dx + dy * dy + dz * dz <= r2
        # narrow phase per configuration
        for i in range(nb):
            if not finite[i]:  # NaN rows (e.g. IK branches without a solution) are never free
                out_slack[m0 + i] = -np.inf
                out_dist[m0 + i] = -np.inf
                out_pair[m0 + i] = -1
                continue
            best_slack = cap
            best_dist = cap
            best_pair = -1
            for k in range(P + S):
                if not near[k, i]:
                    continue
                if k < P:
                    c = env_cap[k]
                    b = env_body[k]
                    req = env_req[k]
                    thr = max(req, cap)
                    kind = body_kind[b]
                    lb = _sdf(kind, body_data, b, Mi[c, 0, i], Mi[c, 1, i], Mi[c, 2, i]) - ext[c]
                    if lb <= thr and half[c] > 0.0:
                        # Lipschitz bound from both end points: min f >= (f(a) + f(b) - |b - a|) / 2
                        fa = _sdf(kind, body_data, b, A[c, 0, i], A[c, 1, i], A[c, 2, i])
                        fb = _sdf(kind, body_data, b, B[c, 0, i], B[c, 1, i], B[c, 2, i])
                        lb = max(lb, 0.5 * (fa + fb) - ext[c])
                    if lb > thr:
                        continue
                    r = cap_r[c]
                    stop_below = req + r if early_exit else -np.inf
                    d = (
                        _segment_body_distance(
                            A[c, 0, i],
                            A[c, 1, i],
                            A[c, 2, i],
                            B[c, 0, i],
                            B[c, 1, i],
                            B[c, 2, i],
                            kind,
                            body_data,
                            b,
                            stop_below,
                            thr + r,
                        )
                        - r
                    )
                    if d > thr:
                        continue
                else:
                    ca = self_a[k - P]
                    cb = self_b[k - P]
                    req = self_req[k - P]
                    d = (
                        _seg_seg(
                            A[ca, 0, i],
                            A[ca, 1, i],
                            A[ca, 2, i],
                            B[ca, 0, i],
                            B[ca, 1, i],
                            B[ca, 2, i],
                            A[cb, 0, i],
                            A[cb, 1, i],
                            A[cb, 2, i],
                            B[cb, 0, i],
                            B[cb, 1, i],
                            B[cb, 2, i],
                        )
                        - cap_r[ca]
                        - cap_r[cb]
                    )
                best_dist = min(best_dist, d)
                if d - req < best_slack:
                    best_slack = d - req
                    best_pair = k
                if best_slack < 0.0 and early_exit:
                    break
            out_slack[m0 + i] = best_slack
            out_dist[m0 + i] = best_dist
            out_pair[m0 + i] = best_pair


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


@njit(cache=True)
def pair_never_within(
    parent,
    origin,
    axis,
    qidx,
    cap_link,
    cap_a,
    cap_b,
    cap_r,
    ca,
    cb,
    joints,
    lo,
    hi,
    reach,
    required,
    min_width,
    max_evals,
):  # pragma: no cover - compiled
    """Prove that capsules ca and cb stay farther apart than ``required`` [m] over a joint box.

    Branch and bound over the joints ``joints`` (the only ones that move cb relative to ca), each in
    ``[lo, hi]`` [rad]; the other joints are held at 0 (they move both capsules rigidly together). A
    box's lower bound is the distance at its centre less ``sum_j reach[j] * half width_j``, where
    ``reach[j]`` bounds the distance of cb's points from joint j's axis, so rotating joint j by Δ
    moves cb by at most ``reach[j] * |Δ|`` (segment distance is 1-Lipschitz in the end points).

    Returns:
        True when every box is proven farther than ``required``; False when a configuration within
        the requirement is found, the boxes become narrower than ``min_width`` [rad] without a
        proof, or ``max_evals`` distance evaluations are used.
    """
    nj = joints.shape[0]
    n = 0
    for k in range(qidx.shape[0]):
        n = max(n, qidx[k] + 1)
    q = np.zeros(n)
    poses = np.empty((parent.shape[0], 3, 4))
    cap = 4096
    stack_lo = np.empty((cap, nj))
    stack_hi = np.empty((cap, nj))
    top = 0
    for j in range(nj):
        stack_lo[0, j] = lo[j]
        stack_hi[0, j] = hi[j]
    top = 1
    evals = 0
    A = np.empty((2, 3))
    B = np.empty((2, 3))
    while top > 0:
        top -= 1
        slack_b = 0.0
        widest = 0
        widest_v = -1.0
        narrow = True
        for j in range(nj):
            hw = 0.5 * (stack_hi[top, j] - stack_lo[top, j])
            q[joints[j]] = stack_lo[top, j] + hw
            v = reach[j] * hw
            slack_b += v
            if v > widest_v:
                widest_v = v
                widest = j
            if 2.0 * hw > min_width:
                narrow = False
        _fk_links(q, parent, origin, axis, qidx, poses)
        evals += 1
        for t in range(2):
            c = ca if t == 0 else cb
            T = poses[cap_link[c]]
            for i in range(3):
                A[t, i] = T[i, 0] * cap_a[c, 0] + T[i, 1] * cap_a[c, 1] + T[i, 2] * cap_a[c, 2] + T[i, 3]
                B[t, i] = T[i, 0] * cap_b[c, 0] + T[i, 1] * cap_b[c, 1] + T[i, 2] * cap_b[c, 2] + T[i, 3]
        d = _seg_seg(
            A[0, 0], A[0, 1], A[0, 2], B[0, 0], B[0, 1], B[0, 2],
            A[1, 0], A[1, 1], A[1, 2], B[1, 0], B[1, 1], B[1, 2],
        ) - cap_r[ca] - cap_r[cb]  # fmt: skip
        if d - slack_b > required:
            continue
        if d <= required or narrow or evals >= max_evals or top + 2 > cap:
            return False
        mid = 0.5 * (stack_lo[top, widest] + stack_hi[top, widest])
        for j in range(nj):
            stack_lo[top + 1, j] = stack_lo[top, j]
            stack_hi[top + 1, j] = stack_hi[top, j]
        stack_hi[top, widest] = mid
        stack_lo[top + 1, widest] = mid
        top += 2
    return True
