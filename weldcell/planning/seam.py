"""Redundancy resolution along one seam: IK branches x free-rotation samples, ladder-graph search.

For every waypoint of a tool path the torch may be turned about its own axis (TCP z) by one of K
sample angles; every such pose has up to 8 closed-form IK solutions. These K x 8 nodes form one rung
of a ladder. An edge joins two nodes of neighbouring rungs when the arm keeps its configuration
(shoulder / elbow / wrist labels) and no joint moves more than ``max_joint_step``; its cost is the
weighted squared joint motion. Nodes carry penalties for closeness to joint limits, singularities and
obstacles. A dynamic programme (numba) finds the cheapest path; a seam without a path is reported
with the arc-length interval and the cause.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.planning._ladder_kernels import ladder_dp
from weldcell.planning.collision import CollisionChecker
from weldcell.spatial import invert_transforms

log = logging.getLogger(__name__)
NDArrayF = npt.NDArray[np.float64]
TWO_PI = 2.0 * np.pi


@dataclass(frozen=True, slots=True)
class LadderOptions:
    """Settings of the seam search.

    Attributes:
        rotation_samples: Samples of the free rotation about the torch axis over a full turn.
        limited_rotation_samples: Samples over ``±rotation_range`` when the rotation is limited.
        max_joint_step: Largest change of any joint between neighbouring waypoints [rad].
        limit_margin: Joint-limit distance below which a node is penalised [rad].
        singularity_margin: ``robot.singularity_distance`` below which a node is penalised.
        singularity_min: ``robot.singularity_distance`` below which a node is not used.
        clearance_margin: Obstacle distance below which a node is penalised [m].
        penalty: Weight of the margin penalties relative to joint motion [rad²].
        joint_weights: Weight per joint of the squared motion (None = 1 for all).
    """

    rotation_samples: int = 36
    limited_rotation_samples: int = 9
    max_joint_step: float = 0.35
    limit_margin: float = 0.2
    singularity_margin: float = 0.05
    singularity_min: float = 0.005
    clearance_margin: float = 0.02
    penalty: float = 0.02
    joint_weights: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class SeamPath:
    """A joint path along the waypoints of a seam.

    Attributes:
        s: Waypoint arc lengths [m], shape (N,).
        q: Joint positions [rad], shape (N, n), continuous (no 2π jumps).
        theta: Rotation about the TCP z axis added to the tool path [rad], shape (N,).
        labels: Configuration labels (shoulder, elbow, wrist) of the whole path, shape (3,).
        cost: Total ladder cost.
        min_clearance: Smallest obstacle distance along the waypoints [m].
        min_singularity: Smallest ``singularity_distance`` along the waypoints.
    """

    s: NDArrayF
    q: NDArrayF
    theta: NDArrayF
    labels: npt.NDArray[np.int8]
    cost: float
    min_clearance: float
    min_singularity: float


@dataclass(frozen=True, slots=True)
class SeamFailure:
    """Why a seam has no joint path.

    Attributes:
        cause: ``"out_of_reach"``, ``"joint_limit"``, ``"singularity"``, ``"collision"`` or ``"discontinuity"``.
        s_from: Start of the failing arc-length interval [m].
        s_to: End of the failing interval [m].
        detail: Colliding body, limiting joint, ... (may be empty).
        message: One sentence for the welder.
    """

    cause: str
    s_from: float
    s_to: float
    detail: str
    message: str


def rotation_angles(free_rotation: bool, rotation_range: float, options: LadderOptions) -> NDArrayF:
    """Sample angles [rad] of the rotation about the TCP z axis, 0 first when it is admissible."""
    if free_rotation or rotation_range >= np.pi - 1e-9:
        k = max(1, options.rotation_samples)
        return np.arange(k) * (TWO_PI / k)
    if rotation_range <= 1e-9:
        return np.zeros(1)
    k = max(1, options.limited_rotation_samples)
    return np.linspace(-rotation_range, rotation_range, k + (k + 1) % 2)


def rotz(theta: npt.ArrayLike) -> NDArrayF:
    """Rotations about z, shape (..., 4, 4)."""
    th = np.asarray(theta, dtype=np.float64)
    c, s = np.cos(th), np.sin(th)
    out = np.zeros((*th.shape, 4, 4))
    out[..., 0, 0] = c
    out[..., 0, 1] = -s
    out[..., 1, 0] = s
    out[..., 1, 1] = c
    out[..., 2, 2] = 1.0
    out[..., 3, 3] = 1.0
    return out


def wrap_mask(robot: Any) -> npt.NDArray[np.bool_]:
    """Joints whose range spans at least a full turn (their differences are taken modulo 2π)."""
    return np.asarray(robot.q_upper, dtype=np.float64) - np.asarray(robot.q_lower, dtype=np.float64) >= TWO_PI - 1e-9


def nearest_equivalent(robot: Any, q: NDArrayF, q_ref: NDArrayF) -> NDArrayF:
    """``q`` shifted by multiples of 2π per joint to be nearest ``q_ref`` inside the limits.

    Uses ``robot.nearest_equivalent`` when the kinematics provides it.
    """
    fn = getattr(robot, "nearest_equivalent", None)
    if fn is not None:
        return np.asarray(fn(q, q_ref), dtype=np.float64)
    lo = np.asarray(robot.q_lower, dtype=np.float64)
    hi = np.asarray(robot.q_upper, dtype=np.float64)
    k = np.round((q_ref - q) / TWO_PI)
    cand = q + k * TWO_PI
    cand = np.where(cand > hi + 1e-9, cand - TWO_PI, cand)
    cand = np.where(cand < lo - 1e-9, cand + TWO_PI, cand)
    out: NDArrayF = np.where((cand >= lo - 1e-9) & (cand <= hi + 1e-9), cand, q)
    return out


def _limit_distance(q: NDArrayF, lo: NDArrayF, hi: NDArrayF, wrap: npt.NDArray[np.bool_]) -> NDArrayF:
    """Distance to the nearest joint limit [rad] per joint, modulo 2π for wrapping joints (…, n)."""
    d = np.minimum(q - lo, hi - q)
    # a wrapping joint can be shifted by 2π, so only the best equivalent counts
    shifted = np.maximum(np.minimum(q + TWO_PI - lo, hi - q - TWO_PI), np.minimum(q - TWO_PI - lo, hi - q + TWO_PI))
    out: NDArrayF = np.where(wrap, np.maximum(d, shifted), d)
    return out


def _label_code(labels: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
    lab = labels.astype(np.int64)
    out: npt.NDArray[np.int64] = (lab[..., 0] + 1) * 9 + (lab[..., 1] + 1) * 3 + (lab[..., 2] + 1)
    return out


def plan_seam(
    robot: Any,
    checker: CollisionChecker,
    T_base_tcp: NDArrayF,
    s: NDArrayF,
    T_flange_tcp: NDArrayF,
    angles: NDArrayF,
    options: LadderOptions,
    *,
    seam_id: str = "",
    q_ref: NDArrayF | None = None,
) -> SeamPath | SeamFailure:
    """Search the joint path along one seam.

    Args:
        robot: ``weldcell.kinematics.Robot``.
        checker: Collision checker (a :class:`~weldcell.planning.collision.CapsuleCollisionChecker`
            also names the colliding body in failures).
        T_base_tcp: Tool-path poses in the robot base frame, shape (N, 4, 4).
        s: Arc length of each pose [m], shape (N,).
        T_flange_tcp: TCP in the flange frame, shape (4, 4).
        angles: Rotation samples about the TCP z axis [rad], shape (K,).
        options: Search settings.
        seam_id: Used in failure messages.
        q_ref: Preferred configuration (e.g. home) [rad]; the start node nearest to it is favoured.

    Returns:
        The :class:`SeamPath`, or a :class:`SeamFailure` naming the interval and the cause.
    """
    N = T_base_tcp.shape[0]
    K = angles.shape[0]
    n = len(robot.joint_names)
    lo = np.asarray(robot.q_lower, dtype=np.float64)
    hi = np.asarray(robot.q_upper, dtype=np.float64)
    wrap = wrap_mask(robot)
    T_tcp_flange = invert_transforms(np.asarray(T_flange_tcp, dtype=np.float64))
    T_flange = T_base_tcp[:, None] @ rotz(angles)[None] @ T_tcp_flange  # (N, K, 4, 4)
    Q = np.asarray(robot.ik(T_flange), dtype=np.float64)  # (N, K, B, n)
    B = Q.shape[2]
    V = K * B
    Q = Q.reshape(N, V, n)
    reach = np.all(np.isfinite(Q), axis=-1)
    Qz = np.where(reach[..., None], Q, 0.0)
    lim_d = _limit_distance(Qz, lo, hi, wrap)
    in_limits = reach & np.all(lim_d >= 0.0, axis=-1)
    sing = np.asarray(robot.singularity_distance(Qz), dtype=np.float64)
    not_singular = in_limits & (sing >= options.singularity_min)
    clear = np.full((N, V), -np.inf)
    free = np.zeros((N, V), dtype=bool)
    worst = np.full((N, V), -1, dtype=np.int64)
    idx = np.flatnonzero(not_singular.ravel())
    query = getattr(checker, "query", None)
    if idx.size:
        Qc = Qz.reshape(-1, n)[idx]
        if query is not None:
            res = query(Qc)
            free.ravel()[idx] = res.free
            clear.ravel()[idx] = res.distance
            worst.ravel()[idx] = res.worst_pair
        else:
            free.ravel()[idx] = checker.check(Qc)
            clear.ravel()[idx] = checker.clearance(Qc)
    valid = not_singular & free
    labels = _label_code(np.asarray(robot.configuration_labels(Qz), dtype=np.int8))
    # node penalties
    pen_lim = np.clip(1.0 - np.min(lim_d, axis=-1) / options.limit_margin, 0.0, None) ** 2
    pen_sing = np.clip(1.0 - sing / options.singularity_margin, 0.0, None) ** 2
    pen_clear = np.clip(1.0 - np.where(np.isfinite(clear), clear, 0.0) / options.clearance_margin, 0.0, None) ** 2
    node_cost = options.penalty * (pen_lim + pen_sing + pen_clear)
    weights = np.ones(n) if options.joint_weights is None else np.asarray(options.joint_weights, dtype=np.float64)
    start_cost = np.zeros(V)
    if q_ref is not None:
        d0 = Qz[0] - q_ref
        d0 = np.where(wrap, (d0 + np.pi) % TWO_PI - np.pi, d0)
        start_cost = 1e-3 * np.sum(d0**2, axis=-1)
    cost, back = ladder_dp(
        np.ascontiguousarray(Qz), valid, labels, node_cost, wrap.astype(np.int64),
        np.full(n, options.max_joint_step), weights, start_cost,
    )  # fmt: skip
    end = int(np.argmin(cost[-1]))
    if not np.isfinite(cost[-1, end]):
        return _diagnose(robot, checker, seam_id, s, reach, in_limits, not_singular, valid, cost, worst, lim_d)
    path = np.empty(N, dtype=np.int64)
    path[-1] = end
    for i in range(N - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    rows = np.arange(N)
    q_nodes = Qz[rows, path]
    q_path = np.empty_like(q_nodes)
    ref = q_nodes[0] if q_ref is None else q_ref
    q_path[0] = nearest_equivalent(robot, q_nodes[0], ref)
    for i in range(1, N):
        q_path[i] = nearest_equivalent(robot, q_nodes[i], q_path[i - 1])
    bad = (q_path < lo - 1e-9) | (q_path > hi + 1e-9)
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        return _failure(
            "joint_limit", seam_id, s, int(i), int(i), robot.joint_names[j],
            f"joint {robot.joint_names[j]} would have to turn past its limit (cumulative wrist/base rotation)",
        )  # fmt: skip
    theta = np.unwrap(angles[path // B])
    return SeamPath(
        s=np.asarray(s, dtype=np.float64).copy(),
        q=q_path,
        theta=theta,
        labels=np.asarray(robot.configuration_labels(q_path[0]), dtype=np.int8),
        cost=float(cost[-1, end]),
        min_clearance=float(np.min(clear[rows, path])),
        min_singularity=float(np.min(sing[rows, path])),
    )


def _failure(cause: str, seam_id: str, s: NDArrayF, i0: int, i1: int, detail: str, what: str) -> SeamFailure:
    a, b = float(s[i0] - s[0]), float(s[i1] - s[0])
    msg = f"seam {seam_id!r}, s = {a * 1e3:.1f}-{b * 1e3:.1f} mm: {what}"
    return SeamFailure(cause, a, b, detail, msg)


def _intervals(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    i = 0
    while i < mask.size:
        if mask[i]:
            j = i
            while j + 1 < mask.size and mask[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


def _diagnose(
    robot: Any,
    checker: CollisionChecker,
    seam_id: str,
    s: NDArrayF,
    reach: npt.NDArray[np.bool_],
    in_limits: npt.NDArray[np.bool_],
    not_singular: npt.NDArray[np.bool_],
    valid: npt.NDArray[np.bool_],
    cost: NDArrayF,
    worst: npt.NDArray[np.int64],
    lim_d: NDArrayF,
) -> SeamFailure:
    """Turn the per-waypoint validity masks into the first failing interval and its cause."""
    stages = (
        ("out_of_reach", reach.any(axis=1), "the torch pose is out of the robot's reach"),
        ("joint_limit", in_limits.any(axis=1), "every IK solution exceeds a joint limit"),
        ("singularity", not_singular.any(axis=1), "every IK solution is at or too near a singularity"),
        ("collision", valid.any(axis=1), "every IK solution collides"),
    )
    for cause, ok, what in stages:
        bad = ~ok
        if not bad.any():
            continue
        i0, i1 = _intervals(bad)[0]
        detail = ""
        if cause == "joint_limit":
            sel = reach[i0 : i1 + 1]
            viol = (lim_d[i0 : i1 + 1] < 0) & sel[..., None]
            j = int(np.argmax(viol.sum(axis=(0, 1))))
            detail = robot.joint_names[j]
            what = f"every IK solution exceeds the limit of joint {detail}"
        elif cause == "collision":
            pair_names = getattr(checker, "pair_names", None)
            w = worst[i0 : i1 + 1][not_singular[i0 : i1 + 1]]
            w = w[w >= 0]
            if pair_names is not None and w.size:
                part, body = pair_names(int(Counter(w.tolist()).most_common(1)[0][0]))
                detail = body
                what = f"every IK solution collides: {part} with {body}"
        return _failure(cause, seam_id, s, i0, i1, detail, what)
    # every waypoint has nodes, but no continuous path: find where the reachable set dies
    alive = np.isfinite(cost).any(axis=1)
    i = int(np.argmin(alive)) if not alive.all() else len(s) - 1
    return _failure(
        "discontinuity", seam_id, s, max(i - 1, 0), i, "",
        "no continuous joint path: the arm would have to flip its configuration or jump a joint here",
    )  # fmt: skip
