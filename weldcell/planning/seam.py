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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weldcell.planning._ladder_kernels import ladder_dp_multi, limit_distance
from weldcell.planning.collision import CollisionChecker
from weldcell.spatial import invert_transforms
from weldcell.trajectory.margins import MIN_SINGULARITY, SINGULARITY_MARGIN

if TYPE_CHECKING:
    from weldcell.kinematics import Robot

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
        max_rotation_step: Largest change of the rotation about the torch axis between neighbouring
            waypoints [rad] (scaled up with the stride of the sparse search).
        limit_margin: Joint-limit distance below which a node is penalised [rad].
        singularity_margin: ``robot.singularity_distance`` below which a node is penalised.
        singularity_min: ``robot.singularity_distance`` below which a node is not used.
        clearance_margin: Obstacle distance below which a node is penalised [m].
        penalty: Weight of the margin penalties relative to joint motion [rad²].
        joint_weights: Weight per joint of the squared motion (None = 1 for all).
        coarse_stride: Search first on every ``coarse_stride``-th waypoint and fill in (and verify)
            the rest; the full ladder is searched only when that fails (1 = always the full ladder).
    """

    rotation_samples: int = 36
    limited_rotation_samples: int = 9
    max_joint_step: float = 0.35
    max_rotation_step: float = 0.35
    limit_margin: float = 0.2
    singularity_margin: float = SINGULARITY_MARGIN
    singularity_min: float = MIN_SINGULARITY
    clearance_margin: float = 0.02
    penalty: float = 0.02
    joint_weights: tuple[float, ...] | None = None
    coarse_stride: int = 8


@dataclass(frozen=True, slots=True)
class SeamPath:
    """A joint path along the waypoints of a seam.

    Attributes:
        s: Waypoint arc lengths [m], shape (N,).
        q: Joint positions [rad], shape (N, n), continuous (no 2π jumps).
        angles: Chosen orientation sample per way point [rad], shape (N, 3): rotation γ about the TCP
            z axis (unwrapped), work- and travel-angle deviations (see :func:`orientation_offsets`).
        labels: Configuration labels (shoulder, elbow, wrist) of the whole path, shape (3,).
        cost: Total ladder cost.
        min_clearance: Smallest obstacle distance along the waypoints [m].
        min_singularity: Smallest ``singularity_distance`` along the waypoints.
        alternatives: The cheapest path of every other arm configuration (labels) that has one,
            when asked for (``plan_seam(..., alternatives=True)``), for the job-wide choice.
    """

    s: NDArrayF
    q: NDArrayF
    angles: NDArrayF
    labels: npt.NDArray[np.int8]
    cost: float
    min_clearance: float
    min_singularity: float
    alternatives: tuple[SeamPath, ...] = ()


@dataclass(frozen=True, slots=True)
class SeamFailure:
    """Why a seam has no joint path.

    Attributes:
        cause: ``"out_of_reach"``, ``"joint_limit"``, ``"singularity"``, ``"collision"`` or
            ``"discontinuity"``.
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
        return np.asarray(np.arange(k) * (TWO_PI / k), dtype=np.float64)
    if rotation_range <= 1e-9:
        return np.zeros(1)
    k = max(1, options.limited_rotation_samples)
    return np.asarray(np.linspace(-rotation_range, rotation_range, k + (k + 1) % 2), dtype=np.float64)


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


def rot_axis(axis: int, angle: npt.ArrayLike) -> NDArrayF:
    """Rotations about the x (0), y (1) or z (2) axis, shape (..., 4, 4)."""
    a = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((*a.shape, 4, 4))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[..., axis, axis] = 1.0
    out[..., i, i] = c
    out[..., i, j] = -s
    out[..., j, i] = s
    out[..., j, j] = c
    out[..., 3, 3] = 1.0
    return out


def orientation_offsets(angles: NDArrayF, travel_angle: float = 0.0, gamma0: float = 0.0) -> NDArrayF:
    """Transforms (…, 4, 4) right-multiplied to tool-path poses for orientation samples.

    Args:
        angles: (…, 3): rotation γ about the TCP z axis, work-angle deviation δw (about the seam x
            axis), travel-angle deviation δt (about the seam y axis) [rad].
        travel_angle: The segment's programmed travel angle β [rad].
        gamma0: The tool path's own rotation about TCP z relative to the seam frame [rad].

    The tool path is ``R_seam · Ry(β) · Rz(γ0)``; the sample is
    ``R_seam · Rx(δw) · Ry(β + δt) · Rz(γ0 + γ)``, so the offset is
    ``Rz(-γ0) · Ry(-β) · Rx(δw) · Ry(β + δt) · Rz(γ0 + γ)``.
    """
    a = np.asarray(angles, dtype=np.float64)
    g, dw, dt = a[..., 0], a[..., 1], a[..., 2]
    if not (np.any(dw) or np.any(dt)):
        return rotz(g)
    b = travel_angle
    out: NDArrayF = rotz(-gamma0) @ rot_axis(1, -b) @ rot_axis(0, dw) @ rot_axis(1, b + dt) @ rotz(gamma0 + g)
    return out


def wrap_mask(robot: Robot) -> npt.NDArray[np.bool_]:
    """Joints whose range spans at least a full turn (their differences are taken modulo 2π)."""
    return (
        np.asarray(robot.q_upper, dtype=np.float64) - np.asarray(robot.q_lower, dtype=np.float64)
        >= TWO_PI - 1e-9
    )


def nearest_equivalent(robot: Robot, q: NDArrayF, q_ref: NDArrayF) -> NDArrayF:
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
    # a wrapping joint can be shifted by 2π, so only the best equivalent counts (compiled: this runs
    # on every IK node of the seam search)
    qa = np.asarray(q, dtype=np.float64)
    flat = np.ascontiguousarray(qa.reshape(-1, qa.shape[-1]))
    out: NDArrayF = limit_distance(
        flat,
        np.asarray(lo, dtype=np.float64),
        np.asarray(hi, dtype=np.float64),
        np.asarray(wrap, dtype=np.int64),
    ).reshape(qa.shape)
    return out


def _label_code(labels: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
    lab = labels.astype(np.int64)
    out: npt.NDArray[np.int64] = (lab[..., 0] + 1) * 9 + (lab[..., 1] + 1) * 3 + (lab[..., 2] + 1)
    return out


def plan_seam(
    robot: Robot,
    checker: CollisionChecker,
    T_base_tcp: NDArrayF,
    s: NDArrayF,
    T_flange_tcp: NDArrayF,
    angles: NDArrayF,
    options: LadderOptions,
    *,
    seam_id: str = "",
    q_ref: NDArrayF | None = None,
    travel_angle: float = 0.0,
    gamma0: float = 0.0,
    sample_cost: NDArrayF | None = None,
    alternatives: bool = False,
) -> SeamPath | SeamFailure:
    """Search the joint path along one seam.

    Args:
        robot: ``weldcell.kinematics.Robot``.
        checker: Collision checker (a :class:`~weldcell.planning.collision.CapsuleCollisionChecker`
            also names the colliding body in failures).
        T_base_tcp: Tool-path poses in the robot base frame, shape (N, 4, 4).
        s: Arc length of each pose [m], shape (N,).
        T_flange_tcp: TCP in the flange frame, shape (4, 4).
        angles: Orientation samples [rad], shape (K,) (rotations about the TCP z axis) or (K, 3)
            (γ, δw, δt as in :func:`orientation_offsets`).
        options: Search settings.
        seam_id: Used in failure messages.
        q_ref: Preferred configuration (e.g. home) [rad]; the start node nearest to it is favoured.
        travel_angle: Programmed travel angle β of the tool path [rad] (for angle deviations).
        gamma0: The tool path's rotation about TCP z relative to the seam frame [rad].
        sample_cost: Cost per node of each orientation sample, shape (K,) (the preference for the
            programmed angles, :func:`weldcell.planning.nominal.deviation_cost`); None = a small
            cost on the work/travel angle deviations only.
        alternatives: Also return the cheapest path of every other arm configuration
            (``SeamPath.alternatives``; one search gives them all, as a path never changes its
            configuration).

    Returns:
        The :class:`SeamPath`, or a :class:`SeamFailure` naming the interval and the cause.
    """
    s = np.asarray(s, dtype=np.float64)
    a = np.asarray(angles, dtype=np.float64)
    samples = a if a.ndim == 2 else np.stack([a, np.zeros_like(a), np.zeros_like(a)], axis=1)
    offsets = orientation_offsets(samples, travel_angle, gamma0)
    N = T_base_tcp.shape[0]
    T_tcp_flange = invert_transforms(np.asarray(T_flange_tcp, dtype=np.float64))
    stride = max(1, int(options.coarse_stride))
    known: tuple[npt.NDArray[np.int64], _Nodes] | None = None  # the sparse ladder's nodes
    if stride > 1 and 2 * stride < N:
        # sparse ladder on every stride-th waypoint, then fill in and verify the waypoints between
        idx = np.unique(np.r_[np.arange(0, N, stride), N - 1])
        known = (idx, _ladder_nodes(robot, checker, T_base_tcp[idx], offsets, T_tcp_flange, options))
        coarse = _solve_ladder(
            robot,
            checker,
            T_base_tcp[idx],
            s[idx],
            T_tcp_flange,
            samples,
            offsets,
            options,
            seam_id,
            q_ref,
            options.max_joint_step * stride,
            sample_cost,
            alternatives,
            known[1],
        )
        held = [known]  # taken over (and released) by _ladder_nodes for the full ladder
        if isinstance(coarse, _LadderSolution):
            repair = _Repair(
                robot,
                checker,
                T_base_tcp,
                T_tcp_flange,
                idx,
                known[1],
                samples,
                offsets,
                options,
                sample_cost,
            )
            # The best path is filled in, and repaired between two sparse way points where the
            # sparse ladder stepped over an obstacle; when that fails the full ladder is searched
            # (it finds the alternatives too). The alternatives for the job-wide choice are
            # repaired only on the intervals already searched for the best path (the same obstacle,
            # at no new node cost); one the fill-in cannot use otherwise is left out.
            best = _densify(
                robot,
                checker,
                T_base_tcp,
                s,
                T_tcp_flange,
                idx,
                coarse,
                options,
                travel_angle,
                gamma0,
                q_ref,
                repair,
            )
            if best is not None:
                repair.known_only = True
                dense = [
                    _densify(
                        robot,
                        checker,
                        T_base_tcp,
                        s,
                        T_tcp_flange,
                        idx,
                        c,
                        options,
                        travel_angle,
                        gamma0,
                        q_ref,
                        repair,
                    )
                    for c in coarse.alternatives
                ]
                return replace(best, alternatives=tuple(d for d in dense if d is not None))
            held.extend(repair.searched())  # the full ladder's nodes computed so far
            del repair
    full_nodes = None
    if known is not None:  # the full ladder: only the way points not searched yet are new
        known = None
        full_nodes = _ladder_nodes(robot, checker, T_base_tcp, offsets, T_tcp_flange, options, held)
    full = _solve_ladder(
        robot,
        checker,
        T_base_tcp,
        s,
        T_tcp_flange,
        samples,
        offsets,
        options,
        seam_id,
        q_ref,
        options.max_joint_step,
        sample_cost,
        alternatives,
        full_nodes,
    )
    del full_nodes
    if isinstance(full, SeamFailure):
        return full
    done = [
        _finish(robot, seam_id, s, f.q, f.angles, f.cost, f.clear, options, q_ref)
        for f in (full, *full.alternatives)
    ]
    if isinstance(done[0], SeamPath):
        return replace(done[0], alternatives=tuple(d for d in done[1:] if isinstance(d, SeamPath)))
    return done[0]


@dataclass(frozen=True, slots=True)
class _LadderSolution:
    q: NDArrayF  # (N, n) as returned by IK (not yet unwrapped)
    angles: NDArrayF  # (N, 3) orientation samples, γ unwrapped
    branch: int
    cost: float
    clear: NDArrayF
    path: npt.NDArray[np.int64]  # (N,) ladder node (orientation sample x B + branch) per way point
    alternatives: tuple[_LadderSolution, ...] = ()


@dataclass(frozen=True, slots=True)
class _Nodes:
    """The ladder's nodes at N way points: V = K orientation samples x B IK branches each.

    Q (N, V, n) [rad] (rows without a solution zeroed), reach (N, V) a solution exists, lim_min
    (N, V) smallest joint-limit distance [rad], free (N, V) collision-free (within the limits),
    sing (N, V) singularity measure of the free nodes (saturated, 0 elsewhere), clear (N, V)
    clearance [m] of the free nodes (saturated, -inf elsewhere), labels (N, V) configuration code.
    Every value depends on its own node only, so rows computed apart are the same values.
    """

    Q: NDArrayF
    reach: npt.NDArray[np.bool_]
    lim_min: NDArrayF
    free: npt.NDArray[np.bool_]
    sing: NDArrayF
    clear: NDArrayF
    labels: npt.NDArray[np.int64]
    B: int

    def rows(self, idx: npt.NDArray[np.int64]) -> _Nodes:
        """The nodes of way points ``idx``."""
        return _Nodes(
            self.Q[idx],
            self.reach[idx],
            self.lim_min[idx],
            self.free[idx],
            self.sing[idx],
            self.clear[idx],
            self.labels[idx],
            self.B,
        )


_NODE_FIELDS = ("Q", "reach", "lim_min", "free", "sing", "clear", "labels")
# way points per block of _ladder_nodes: 2 MB of joints at 2,592 nodes per way point, where a
# 300 mm seam's IK and pose intermediates all at once were ~40 MB (memory, issue #14)
_NODE_BLOCK = 16


def _ladder_nodes(
    robot: Robot,
    checker: CollisionChecker,
    T_base_tcp: NDArrayF,
    offsets: NDArrayF,
    T_tcp_flange: NDArrayF,
    options: LadderOptions,
    known: list[tuple[npt.NDArray[np.int64], _Nodes]] | None = None,
) -> _Nodes:
    """IK, limits, collision, singularity and clearance of every node at the poses T_base_tcp (N, 4, 4).

    Computed in blocks of ``_NODE_BLOCK`` way points written into the result: every value depends
    on its own node only, so the blocks give the same values, bit for bit, as one call of
    :func:`_ladder_block`, with a fraction of its intermediates alive (memory, issue #14).

    Args:
        known: A list of ``(rows, nodes)``: the nodes of way points ``rows`` already computed (the
            sparse ladder's, and those of the intervals a repair searched; rows may overlap, the
            values are the same); the list is emptied and its nodes released once copied, and only
            the other way points are computed.
    """
    N = T_base_tcp.shape[0]
    out: dict[str, npt.NDArray[Any]] = {}
    B = 0

    def put(rows: npt.NDArray[np.int64], nodes: _Nodes) -> None:
        nonlocal B
        if not out:
            for f in _NODE_FIELDS:
                x = getattr(nodes, f)
                out[f] = np.empty((N, *x.shape[1:]), dtype=x.dtype)
            B = nodes.B
        for f in _NODE_FIELDS:
            out[f][rows] = getattr(nodes, f)

    todo = np.arange(N)
    while known:
        rows, nodes = known.pop()
        put(rows, nodes)
        del nodes
        todo = np.setdiff1d(todo, rows)
    for a in range(0, len(todo), _NODE_BLOCK):
        rows = todo[a : a + _NODE_BLOCK]
        put(rows, _ladder_block(robot, checker, T_base_tcp[rows], offsets, T_tcp_flange, options))
    if not out:  # no way points
        return _ladder_block(robot, checker, T_base_tcp, offsets, T_tcp_flange, options)
    return _Nodes(
        out["Q"], out["reach"], out["lim_min"], out["free"], out["sing"], out["clear"], out["labels"], B
    )


def _ladder_block(
    robot: Robot,
    checker: CollisionChecker,
    T_base_tcp: NDArrayF,
    offsets: NDArrayF,
    T_tcp_flange: NDArrayF,
    options: LadderOptions,
) -> _Nodes:
    """The nodes (:class:`_Nodes`) at the poses T_base_tcp (N, 4, 4), all at once."""
    N = T_base_tcp.shape[0]
    K = offsets.shape[0]
    n = len(robot.joint_names)
    lo = np.asarray(robot.q_lower, dtype=np.float64)
    hi = np.asarray(robot.q_upper, dtype=np.float64)
    wrap = wrap_mask(robot)
    T_flange = T_base_tcp[:, None] @ offsets[None] @ T_tcp_flange  # (N, K, 4, 4)
    Q = np.asarray(robot.ik(T_flange), dtype=np.float64)  # (N, K, B, n)
    del T_flange
    B = Q.shape[2]
    V = K * B
    # (N, V, n) arrays are the memory peak of planning (~20 MB each for a 300 mm seam): NaN rows are
    # zeroed in place and only the smallest joint-limit distance per node is kept
    Qz = (Q if Q.flags.writeable else Q.copy()).reshape(N, V, n)
    reach = np.all(np.isfinite(Qz), axis=-1)
    Qz[~reach] = 0.0
    lim_min = np.min(_limit_distance(Qz, lo, hi, wrap), axis=-1)  # (N, V) [rad]
    in_limits = reach & (lim_min >= 0.0)
    # collision first (fast early-exit check), then singularity and clearance on the free nodes only
    free = np.zeros((N, V), dtype=bool)
    sel = np.flatnonzero(in_limits.ravel())
    if sel.size:
        free.ravel()[sel] = checker.check(Qz.reshape(-1, n)[sel])
    sing, clear = _sing_clear(robot, checker, Qz.reshape(-1, n), free.ravel(), options)
    labels = _label_code(np.asarray(robot.configuration_labels(Qz), dtype=np.int8))
    return _Nodes(Qz, reach, lim_min, free, sing.reshape(N, V), clear.reshape(N, V), labels, B)


def _solve_ladder(
    robot: Robot,
    checker: CollisionChecker,
    T_base_tcp: NDArrayF,
    s: NDArrayF,
    T_tcp_flange: NDArrayF,
    samples: NDArrayF,
    offsets: NDArrayF,
    options: LadderOptions,
    seam_id: str,
    q_ref: NDArrayF | None,
    max_step: float,
    sample_cost: NDArrayF | None = None,
    per_label: bool = False,
    nodes: _Nodes | None = None,
) -> _LadderSolution | SeamFailure:
    N = T_base_tcp.shape[0]
    n = len(robot.joint_names)
    lo = np.asarray(robot.q_lower, dtype=np.float64)
    hi = np.asarray(robot.q_upper, dtype=np.float64)
    wrap = wrap_mask(robot)
    if nodes is None:
        nodes = _ladder_nodes(robot, checker, T_base_tcp, offsets, T_tcp_flange, options)
    Qz, reach, lim_min, free, sing, clear, labels = (
        nodes.Q,
        nodes.reach,
        nodes.lim_min,
        nodes.free,
        nodes.sing,
        nodes.clear,
        nodes.labels,
    )
    B = nodes.B
    V = Qz.shape[1]
    in_limits = reach & (lim_min >= 0.0)
    valid = free & (sing >= options.singularity_min)
    node_cost = _node_cost(lim_min, sing, clear, options)
    node_cost = node_cost + np.repeat(_sample_cost(samples, options, sample_cost), B)[None, :]
    weights = _joint_weights(options, n)
    start_cost = np.zeros(V)
    if q_ref is not None:
        d0 = Qz[0] - q_ref
        d0 = np.where(wrap, (d0 + np.pi) % TWO_PI - np.pi, d0)
        start_cost = 1e-3 * np.sum(d0**2, axis=-1)
    nbr = _neighbours(samples, max_step * options.max_rotation_step / options.max_joint_step)
    # with alternatives and a free torch rotation, also the search per quarter turn of the rotation
    # at the start (see below): one pass of the programme computes all five
    family = _rotation_family(samples, B) if per_label else np.zeros(V, dtype=np.int64)
    starts = [start_cost] + [
        start_cost + np.where(family == f, 0.0, np.inf) for f in range(4 if family.max() > 0 else 0)
    ]
    cost, lasts, backs = ladder_dp_multi(
        np.ascontiguousarray(Qz),
        valid,
        labels,
        node_cost,
        wrap.astype(np.int64),
        np.full(n, max_step),
        weights,
        np.stack(starts),
        nbr,
        B,
    )
    back = backs[0]
    end = int(np.argmin(lasts[0]))
    if not np.isfinite(cost[-1, end]):
        return _diagnose(
            robot,
            checker,
            seam_id,
            s,
            Qz,
            reach,
            in_limits,
            free,
            valid,
            cost,
            _limit_distance(Qz, lo, hi, wrap),
            sing,
            options,
        )
    rows = np.arange(N)

    def extract(last: int, cost_last: NDArrayF, back: npt.NDArray[np.int32]) -> tuple[_LadderSolution, int]:
        path = _backtrack(back, last)
        sol = _LadderSolution(
            q=Qz[rows, path],
            angles=_unwrap_gamma(samples[path // B]),
            branch=int(path[0] % B),
            cost=float(cost_last[last]),
            clear=clear[rows, path],
            path=path,
        )
        return sol, int(path[0])

    best, first = extract(end, lasts[0], back)
    if not per_label:
        return best
    # Alternatives for the job-wide choice: the cheapest path per arm configuration (edges keep
    # the configuration, so the cheapest end node of a label ends that label's best path) and,
    # with a free torch rotation, per quarter turn of the rotation at the start (a search with
    # the start restricted to that quarter).
    found: dict[tuple[int, int], _LadderSolution] = {(int(labels[0, first]), int(family[first])): best}

    def collect(c: NDArrayF, b: npt.NDArray[np.int32]) -> None:
        ok = np.isfinite(c)
        for code in np.unique(labels[-1][ok]):
            sel = np.flatnonzero(ok & (labels[-1] == code))
            sol, start = extract(int(sel[np.argmin(c[sel])]), c, b)
            key = (int(code), int(family[start]))
            if key not in found or sol.cost < found[key].cost:
                found[key] = sol

    for c_f, b_f in zip(lasts, backs, strict=True):
        collect(c_f, b_f)
    others = sorted((v for v in found.values() if v is not best), key=lambda x: x.cost)
    return replace(best, alternatives=tuple(others))


def _joint_weights(options: LadderOptions, n: int) -> NDArrayF:
    """Weight of each joint's squared step in the ladder's edge cost, shape (n,)."""
    if options.joint_weights is None:
        return np.ones(n)
    return np.asarray(options.joint_weights, dtype=np.float64)


def _backtrack(back: npt.NDArray[np.int32], last: int) -> npt.NDArray[np.int64]:
    """The node path (N,) ending at node ``last`` from the programme's predecessors ``back`` (N, V)."""
    N = back.shape[0]
    path = np.empty(N, dtype=np.int64)
    path[-1] = last
    for i in range(N - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def _sample_cost(samples: NDArrayF, options: LadderOptions, sample_cost: NDArrayF | None) -> NDArrayF:
    """Cost per node of each orientation sample (K,): ``sample_cost``, or when None a small cost of
    the work/travel angle deviations (prefer the programmed angles)."""
    if sample_cost is None:
        out: NDArrayF = options.penalty * (samples[:, 1] ** 2 + samples[:, 2] ** 2) / 0.01
        return out
    return np.asarray(sample_cost, dtype=np.float64)


def _rotation_family(samples: NDArrayF, B: int) -> npt.NDArray[np.int64]:
    """Per ladder node (K·B,), the quarter turn (0-3) of its torch rotation γ when the rotation is
    free (samples cover the full turn), else 0 everywhere."""
    g = np.unique(np.round(samples[:, 0], 12))
    K = samples.shape[0]
    if len(g) < 8 or g.max() - g.min() < TWO_PI * (1.0 - 1.5 / len(g)):
        return np.zeros(K * B, dtype=np.int64)
    q = np.round(np.mod(samples[:, 0], TWO_PI) / (np.pi / 2)).astype(np.int64) % 4
    return np.repeat(q, B)


def _neighbours(samples: NDArrayF, max_rotation: float) -> npt.NDArray[np.int64]:
    """Per orientation sample, the samples an edge may come from: the rotation about the torch axis
    changes by at most ``max_rotation`` [rad], each angle deviation by at most one grid step."""
    K = samples.shape[0]
    dg = samples[:, None, 0] - samples[None, :, 0]
    dg = np.abs((dg + np.pi) % TWO_PI - np.pi)
    ok = dg <= max_rotation + 1e-9
    for c in (1, 2):
        vals = np.unique(samples[:, c])
        step = float(np.min(np.diff(vals))) if len(vals) > 1 else 0.0
        ok &= np.abs(samples[:, None, c] - samples[None, :, c]) <= step * 1.01 + 1e-12
    deg = int(ok.sum(axis=1).max())
    out = np.full((K, deg), -1, dtype=np.int64)
    for k in range(K):
        idx = np.flatnonzero(ok[k])
        out[k, : len(idx)] = idx
    return out


def _unwrap_gamma(angles: NDArrayF) -> NDArrayF:
    out = angles.copy()
    out[:, 0] = np.unwrap(angles[:, 0])
    return out


def _sing_clear(
    robot: Robot, checker: CollisionChecker, Q: NDArrayF, free: npt.NDArray[np.bool_], options: LadderOptions
) -> tuple[NDArrayF, NDArrayF]:
    """Singularity distance and obstacle clearance [m] of the free configurations (0 / -inf elsewhere)."""
    sing = np.zeros(Q.shape[0])
    clear = np.full(Q.shape[0], -np.inf)
    sel = np.flatnonzero(free)
    if sel.size:
        Qf = Q[sel]
        # exact where it decides (node use, penalty); the path's minimum is recomputed in _finish
        sing[sel] = _singularity(robot, Qf, max(options.singularity_margin, options.singularity_min))
        query = getattr(checker, "query", None)
        if query is not None:
            clear[sel] = query(Qf, exact_below=options.clearance_margin).distance
        else:
            clear[sel] = np.minimum(checker.clearance(Qf), options.clearance_margin)
    return sing, clear


def _singularity(robot: Any, Q: NDArrayF, exact_below: float = np.inf) -> NDArrayF:
    """``robot.singularity_distance(Q)`` (M,), exact below ``exact_below`` and saturated at it."""
    return np.asarray(robot.singularity_distance(Q, exact_below=exact_below), dtype=np.float64)


def _node_cost(lim_min: NDArrayF, sing: NDArrayF, clear: NDArrayF, options: LadderOptions) -> NDArrayF:
    """Margin penalties per node from the smallest joint-limit distance [rad], the singularity
    measure and the clearance [m] (all the same shape)."""
    pen_lim = np.clip(1.0 - lim_min / options.limit_margin, 0.0, None) ** 2
    pen_sing = np.clip(1.0 - sing / options.singularity_margin, 0.0, None) ** 2
    pen_clear = (
        np.clip(1.0 - np.where(np.isfinite(clear), clear, 0.0) / options.clearance_margin, 0.0, None) ** 2
    )
    out: NDArrayF = options.penalty * (pen_lim + pen_sing + pen_clear)
    return out


def _densify(
    robot: Robot,
    checker: CollisionChecker,
    T_base_tcp: NDArrayF,
    s: NDArrayF,
    T_tcp_flange: NDArrayF,
    idx: npt.NDArray[np.int64],
    coarse: _LadderSolution,
    options: LadderOptions,
    travel_angle: float,
    gamma0: float,
    q_ref: NDArrayF | None,
    repair: _Repair | None = None,
) -> SeamPath | None:
    """Fill the waypoints between the sparse-ladder nodes; None when any of them is not usable.

    The fill-in interpolates the orientation between the sparse nodes on the sparse path's IK
    branch. Where that is not usable (an obstacle or a singularity the sparse ladder stepped over),
    ``repair`` searches the full ladder between the two sparse nodes around it only, pinned to the
    sparse path's nodes at both ends, instead of the caller searching the whole seam again.
    """
    N = T_base_tcp.shape[0]
    ang = np.stack([np.interp(np.arange(N), idx, coarse.angles[:, k]) for k in range(3)], axis=1)
    T = T_base_tcp @ orientation_offsets(ang, travel_angle, gamma0) @ T_tcp_flange
    Q = np.asarray(robot.ik(T), dtype=np.float64)[:, coarse.branch]
    checked = _check_dense(robot, checker, Q, options)
    if isinstance(checked, _Unusable):
        if repair is None:
            return None
        fixed = repair.fix(coarse, Q, ang, checked)
        if fixed is None:
            return None
        Q, ang = fixed
        checked = _check_dense(robot, checker, Q, options)
        if isinstance(checked, _Unusable):
            return None
    lim_d, sing, clear, motion = checked
    cost = motion + float(np.sum(_node_cost(np.min(lim_d, axis=-1), sing, clear, options)))
    path = _finish(robot, "", s, Q, ang, cost, clear, options, q_ref)
    return path if isinstance(path, SeamPath) else None


@dataclass(frozen=True, slots=True)
class _Unusable:
    """Where a filled-in joint path is not usable: way points (N,) and steps to the next (N - 1,)."""

    rows: npt.NDArray[np.bool_]
    steps: npt.NDArray[np.bool_]


def _check_dense(
    robot: Robot, checker: CollisionChecker, Q: NDArrayF, options: LadderOptions
) -> tuple[NDArrayF, NDArrayF, NDArrayF, float] | _Unusable:
    """Check a joint path Q (N, n) [rad] at every way point: a solution, inside the limits, free,
    clear of singularities, no joint step over ``options.max_joint_step``.

    Returns (joint-limit distances (N, n) [rad], singularity measure (N,), clearance (N,) [m], sum
    of the squared joint steps [rad²]) when every way point and step is usable, else where they are
    not.
    """
    N = Q.shape[0]
    wrap = wrap_mask(robot)
    bad = ~np.all(np.isfinite(Q), axis=-1)
    Qz = np.where(bad[:, None], 0.0, Q)
    lim_d = _limit_distance(Qz, np.asarray(robot.q_lower), np.asarray(robot.q_upper), wrap)
    bad |= np.any(lim_d < 0, axis=-1)
    free = np.zeros(N, dtype=bool)
    ok = np.flatnonzero(~bad)
    if ok.size:
        free[ok] = checker.check(Qz[ok])
    bad |= ~free
    sing, clear = _sing_clear(robot, checker, Qz, free, options)
    bad |= free & (sing < options.singularity_min)
    d = np.diff(Qz, axis=0)
    d = np.where(wrap, (d + np.pi) % TWO_PI - np.pi, d)
    big = np.any(np.abs(d) > options.max_joint_step, axis=-1)
    if np.any(bad) or np.any(big):
        return _Unusable(bad, big)
    return lim_d, sing, clear, float(np.sum(d**2))


class _Repair:
    """The full ladder between two neighbouring sparse-ladder way points, for :func:`_densify`.

    The nodes of an interval are computed once and shared by every path that needs that interval
    repaired (the best path and the alternatives of the job-wide choice); the sparse ladder's own
    nodes at the interval's ends are reused.
    """

    def __init__(
        self,
        robot: Robot,
        checker: CollisionChecker,
        T_base_tcp: NDArrayF,
        T_tcp_flange: NDArrayF,
        idx: npt.NDArray[np.int64],
        sparse: _Nodes,
        samples: NDArrayF,
        offsets: NDArrayF,
        options: LadderOptions,
        sample_cost: NDArrayF | None,
    ) -> None:
        self.robot = robot
        self.checker = checker
        self.T_base_tcp = T_base_tcp
        self.T_tcp_flange = T_tcp_flange
        self.idx = idx
        self.sparse = sparse
        self.samples = samples
        self.offsets = offsets
        self.options = options
        self._nbr = _neighbours(samples, options.max_rotation_step)
        self._dev = _sample_cost(samples, options, sample_cost)
        self._nodes: dict[int, _Nodes] = {}
        self.known_only = False  # True: repair only on intervals whose nodes are computed already

    def searched(self) -> list[tuple[npt.NDArray[np.int64], _Nodes]]:
        """The nodes computed for repairs, as (way points, nodes) of the whole seam; released here."""
        out = [(np.arange(self.idx[k], self.idx[k + 1] + 1), nodes) for k, nodes in self._nodes.items()]
        self._nodes = {}
        return out

    def _interval(self, k: int) -> _Nodes:
        if k not in self._nodes:
            a, b = int(self.idx[k]), int(self.idx[k + 1])
            ends = [(np.array([0, b - a]), self.sparse.rows(np.array([k, k + 1])))]
            self._nodes[k] = _ladder_nodes(
                self.robot,
                self.checker,
                self.T_base_tcp[a : b + 1],
                self.offsets,
                self.T_tcp_flange,
                self.options,
                ends,
            )
        return self._nodes[k]

    def fix(
        self, coarse: _LadderSolution, Q: NDArrayF, ang: NDArrayF, bad: _Unusable
    ) -> tuple[NDArrayF, NDArrayF] | None:
        """Q (N, n) and ang (N, 3) with the way points between the sparse nodes around the ``bad`` way
        points and steps replaced by the cheapest full-ladder path between those nodes; None when
        there is none (or a sparse node itself is not usable: the fill-in cannot change it)."""
        idx = self.idx
        if np.any(bad.rows[idx]):
            return None
        intervals = np.unique(
            np.r_[
                np.searchsorted(idx, np.flatnonzero(bad.rows)) - 1,
                np.searchsorted(idx, np.flatnonzero(bad.steps), side="right") - 1,
            ]
        )
        if self.known_only and not all(k in self._nodes for k in intervals.tolist()):
            return None
        Q = Q.copy()
        ang = ang.copy()
        opts = self.options
        robot = self.robot
        wrap = wrap_mask(robot)
        n = Q.shape[1]
        for k in intervals.tolist():
            nodes = self._interval(k)
            a, b = int(idx[k]), int(idx[k + 1])
            u0, u1 = int(coarse.path[k]), int(coarse.path[k + 1])
            V = nodes.Q.shape[1]
            start = np.full((1, V), np.inf)
            start[0, u0] = 0.0
            valid = nodes.free & (nodes.sing >= opts.singularity_min)
            node_cost = _node_cost(nodes.lim_min, nodes.sing, nodes.clear, opts) + np.repeat(
                self._dev, nodes.B
            )
            weights = _joint_weights(opts, n)
            _cost, last, backs = ladder_dp_multi(
                np.ascontiguousarray(nodes.Q),
                valid,
                nodes.labels,
                node_cost,
                wrap.astype(np.int64),
                np.full(n, opts.max_joint_step),
                weights,
                start,
                self._nbr,
                nodes.B,
            )
            if not np.isfinite(last[0, u1]):
                return None
            path = _backtrack(backs[0], u1)
            if path[0] != u0:
                return None
            Q[a + 1 : b] = nodes.Q[np.arange(1, b - a), path[1:-1]]
            seg = self.samples[path // nodes.B].copy()
            gamma = np.unwrap(np.r_[ang[a, 0], seg[1:, 0]])
            seg[1:, 0] = gamma[1:]
            ang[a + 1 : b] = seg[1:-1]
        return Q, ang


def _finish(
    robot: Robot,
    seam_id: str,
    s: NDArrayF,
    q_nodes: NDArrayF,
    angles: NDArrayF,
    cost: float,
    clear: NDArrayF,
    options: LadderOptions,
    q_ref: NDArrayF | None = None,
) -> SeamPath | SeamFailure:
    """Unwrap the joint path for 2π continuity and check it stays inside the limits."""
    lo = np.asarray(robot.q_lower, dtype=np.float64)
    hi = np.asarray(robot.q_upper, dtype=np.float64)
    wrap = wrap_mask(robot)
    # continuous path: start at the equivalent nearest the reference, then accumulate wrapped steps
    start = nearest_equivalent(robot, q_nodes[0], q_nodes[0] if q_ref is None else q_ref)
    start = np.where(np.isfinite(start), start, q_nodes[0])
    d = np.diff(q_nodes, axis=0)
    d = np.where(wrap, (d + np.pi) % TWO_PI - np.pi, d)
    q_path = start + np.concatenate([np.zeros((1, q_nodes.shape[1])), np.cumsum(d, axis=0)])
    # a wrapping joint may still fit when the whole path is shifted by a full turn
    for j in np.flatnonzero(wrap):
        for shift in (0.0, TWO_PI, -TWO_PI, 2 * TWO_PI, -2 * TWO_PI):
            if q_path[:, j].min() + shift >= lo[j] - 1e-9 and q_path[:, j].max() + shift <= hi[j] + 1e-9:
                q_path[:, j] += shift
                break
    bad = (q_path < lo - 1e-9) | (q_path > hi + 1e-9)
    if np.any(bad):
        jb = int(np.argwhere(bad)[0][1])
        # where it runs out: with the whole-turn shift that keeps the joint in range the longest
        shifts = (0.0, TWO_PI, -TWO_PI, 2 * TWO_PI, -2 * TWO_PI) if wrap[jb] else (0.0,)
        best_i, best_path = -1, q_path[:, jb]
        for shift in shifts:
            qj = q_path[:, jb] + shift
            out = np.flatnonzero((qj < lo[jb] - 1e-9) | (qj > hi[jb] + 1e-9))
            if out.size and out[0] > best_i:
                best_i, best_path = int(out[0]), qj
        i_out = max(best_i, 0)
        span = np.degrees(best_path.max() - best_path.min())
        return _failure(
            "joint_limit",
            seam_id,
            s,
            i_out,
            min(i_out + 1, len(s) - 1),
            robot.joint_names[jb],
            f"joint {robot.joint_names[jb]} runs out of range here: the seam needs it to turn "
            f"{span:.0f}° continuously (from {np.degrees(best_path[0]):.0f}° to "
            f"{np.degrees(best_path[-1]):.0f}°), its range is {np.degrees(lo[jb]):.0f}° to "
            f"{np.degrees(hi[jb]):.0f}°",
        )
    return SeamPath(
        s=s.copy(),
        q=q_path,
        angles=angles,
        labels=np.asarray(robot.configuration_labels(q_path[0]), dtype=np.int8),
        cost=cost,
        min_clearance=float(np.min(clear)),
        min_singularity=float(np.min(_singularity(robot, q_nodes))),
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
    robot: Robot,
    checker: CollisionChecker,
    seam_id: str,
    s: NDArrayF,
    Qz: NDArrayF,
    reach: npt.NDArray[np.bool_],
    in_limits: npt.NDArray[np.bool_],
    free: npt.NDArray[np.bool_],
    valid: npt.NDArray[np.bool_],
    cost: NDArrayF,
    lim_d: NDArrayF,
    sing: NDArrayF | None = None,
    options: LadderOptions | None = None,
) -> SeamFailure:
    """Turn the per-waypoint validity masks into the first failing interval and its cause."""
    stages = (
        ("out_of_reach", reach.any(axis=1), "the torch pose is out of the robot's reach"),
        ("joint_limit", in_limits.any(axis=1), "every IK solution exceeds a joint limit"),
        ("collision", free.any(axis=1), "every IK solution collides"),
        ("singularity", valid.any(axis=1), "every IK solution is at or too near a singularity"),
    )
    for cause, ok, what in stages:
        bad = np.asarray(~ok, dtype=bool)
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
        elif cause == "singularity" and sing is not None and options is not None:
            ok_nodes = free[i0 : i1 + 1]
            best = float(np.max(np.where(ok_nodes, sing[i0 : i1 + 1], -np.inf))) if ok_nodes.any() else 0.0
            what = (
                f"every collision-free IK solution is too near a singularity: the best reaches "
                f"{best:.4f}, needs {options.singularity_min} (weldcell.trajectory.margins.MIN_SINGULARITY)"
            )
        elif cause == "collision" and hasattr(checker, "describe") and in_limits[i0 : i1 + 1].any():
            # the tightest way point of the interval, and there the best IK solution / orientation
            lim = in_limits[i0 : i1 + 1]
            Qs = Qz[i0 : i1 + 1]
            res = checker.query(Qs[lim], exact_below=0.05)  # type: ignore[attr-defined]
            slack = np.full(lim.shape, -np.inf)
            slack[lim] = res.slack
            w_i = int(np.argmin(slack.max(axis=1)))
            v_i = int(np.argmax(slack[w_i]))
            flat = int(np.count_nonzero(lim.ravel()[: w_i * lim.shape[1] + v_i]))  # its row in res
            pair = int(res.worst_pair[flat])
            detail = checker.pair_names(pair)[1] if pair >= 0 else ""  # type: ignore[attr-defined]
            at = float(s[i0 + w_i] - s[0]) * 1e3
            what = (
                "no IK solution and torch orientation keeps the clearance; the best one, at "
                f"s = {at:.1f} mm: {checker.describe(Qs[w_i, v_i])}"
            )
        elif cause == "collision":
            Qc = Qz[i0 : i1 + 1][in_limits[i0 : i1 + 1]]
            query = getattr(checker, "query", None)
            names: list[tuple[str, str]] = []
            if query is not None and Qc.size:
                w = np.asarray(query(Qc).worst_pair)
                w = w[w >= 0]
                names = [checker.pair_names(int(k)) for k in w]  # type: ignore[attr-defined]
            elif Qc.size:
                names = [p for q in Qc[:: max(1, len(Qc) // 50)] for p in checker.colliding_bodies(q)]
            if names:
                part, body = Counter(names).most_common(1)[0][0]
                detail = body
                what = f"every IK solution collides: {part} with {body}"
        return _failure(cause, seam_id, s, i0, i1, detail, what)
    # every waypoint has nodes, but no continuous path: find where the reachable set dies
    alive = np.isfinite(cost).any(axis=1)
    i = int(np.argmin(alive)) if not alive.all() else len(s) - 1
    return _failure(
        "discontinuity",
        seam_id,
        s,
        max(i - 1, 0),
        i,
        "",
        "no continuous joint path: the arm would have to flip its configuration or jump a joint here",
    )
