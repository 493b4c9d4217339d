"""Collision checking for planning: the ``CollisionChecker`` protocol and a fast capsule checker.

:class:`CapsuleCollisionChecker` models the robot links and the torch as capsules (from
``Robot.collision_capsules`` and ``Torch.collision_capsules``) and the cell's bodies by one function
per shape (:mod:`weldcell.planning.body_models`): spheres, boxes and finite cylinders exactly, meshes
as their convex pieces (one convex hull per shell of the mesh, scale applied; the simulator loads the
same pieces), with closed-form capsule-to-polytope distances
(:mod:`weldcell.planning._convex_kernels`). Distances are lower bounds of the true capsule-to-body
distances, so the checker never calls a configuration free that is closer than the required
distance. Batches of configurations are checked in compiled calls (numba, cached on disk).

Rules (the simulator's, :mod:`weldcell.sim.collision`, with the same numbers as written; pybullet
measures the same capsules, :mod:`weldcell.sim.capsule_urdf`):
    * robot link capsules vs every body keep ``margin`` [m] (default the cell's clearance; except the
      base link, which does not move and may stand on a table or riser);
    * torch capsules (mount, body, neck, gas nozzle) keep ``cell.clearance`` [m] from every body: the
      nozzle rule, the program's ``clearance_mm`` applies to the nozzle as written;
    * the ``"contact_tip"`` keeps ``nozzle_clearance`` from workpieces (``cell.clearance`` from other
      bodies); the capsule named ``"wire"`` (the stick-out) may touch workpiece bodies (it does at the
      seam) and must not penetrate any other body (margin 0);
    * self collision: capsule pairs on different rigid bodies that are not joined by a single joint,
      keep ``self_margin`` [m]; pairs that touch at the zero configuration or in almost every random
      configuration (by construction of the capsules, not a real collision) are excluded, as a
      MoveIt setup assistant would.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError
from weldcell.planning import _collision_kernels as kernels
from weldcell.planning import _convex_kernels as convex
from weldcell.planning.body_models import ConvexBody, bodies_in_base
from weldcell.spatial import invert_transforms
from weldcell.trajectory.margins import NOZZLE_CLEARANCE, SELF_CLEARANCE

if TYPE_CHECKING:
    from weldcell.kinematics import Robot
    from weldcell.kinematics.tool import Torch
    from weldcell.kinematics.urdf import LinkChain
    from weldcell.program.model import Cell

log = logging.getLogger(__name__)
_MAY_TOUCH_WORKPIECE = ("wire",)
_NOZZLE_TIP = ("contact_tip",)
NDArrayF = npt.NDArray[np.float64]
# provable self-pair pruning (see CapsuleCollisionChecker._never_within)
_PRUNE_MAX_JOINTS = 3
_PRUNE_SAFETY = 0.001  # [m] extra distance a pruned pair keeps beyond the self margin
_PRUNE_MIN_WIDTH = 2e-3  # [rad] narrowest joint interval of the branch and bound
_PRUNE_MAX_EVALS = 200_000
# memo of pure results keyed by the full geometry (a cache, not state: same key, same answer)
_PRUNE_CACHE: dict[tuple[object, ...], bool] = {}


@runtime_checkable
class CollisionChecker(Protocol):
    """What the planner needs from a collision checker (also implemented by the pybullet simulator)."""

    def check(self, q: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Free flags for configurations q (M, n) [rad] -> (M,) bool (True = free with margin)."""
        ...

    def clearance(self, q: npt.ArrayLike) -> NDArrayF:
        """Smallest robot/torch distance to obstacles [m] per configuration, q (M, n) -> (M,)."""
        ...

    def colliding_bodies(self, q: npt.ArrayLike) -> list[tuple[str, str]]:
        """Pairs (robot or torch part, body or link) closer than required at one configuration q (n,)."""
        ...


@dataclass(frozen=True, slots=True)
class CollisionQuery:
    """Result of :meth:`CapsuleCollisionChecker.query` for M configurations.

    Attributes:
        free: True where every pair keeps its required distance, shape (M,).
        slack: Smallest (distance - required distance) over pairs [m], shape (M,); < 0 means collision.
            Saturated at ``exact_below``.
        distance: Smallest distance over pairs [m], shape (M,), saturated at ``exact_below``.
        worst_pair: Index of the pair with the smallest slack, shape (M,) (see ``pair_names``), -1 when
            no pair is nearer than ``exact_below``.
    """

    free: npt.NDArray[np.bool_]
    slack: NDArrayF
    distance: NDArrayF
    worst_pair: npt.NDArray[np.int64]


def part_label(name: str) -> str:
    """A capsule or body name for a welder: ``"torch:nozzle"`` -> ``"torch nozzle"``,
    ``"robot:forearm_link_1"`` -> ``"robot forearm_link"``; cell body names stay as they are."""
    owner, sep, part = name.partition(":")
    if not sep:
        return name
    if owner == "robot":
        head, _, tail = part.rpartition("_")
        part = head if head and tail.isdigit() else part
    return f"{owner} {part}"


class CapsuleCollisionChecker:
    """Batched capsule-vs-primitive collision checker (implements :class:`CollisionChecker`).

    Args:
        robot: A ``weldcell.kinematics.Robot`` (uses ``urdf_path``, ``fk``, ``joint_names``,
            ``collision_capsules``).
        torch: A ``weldcell.kinematics.Torch`` (its ``collision_capsules`` are in the flange frame), or
            None for a bare arm.
        cell: The program's ``Cell`` (``T_world_base``, ``bodies``, ``clearance``).
        margin: Safety distance [m] every capsule keeps from every body (default: ``cell.clearance``).
        self_margin: Distance [m] non-adjacent capsules keep from each other (plus ``pad``).
        nozzle_clearance: Distance [m] the contact tip keeps from workpieces. The default is shared
            with the simulator (``weldcell.trajectory.margins``), so that a planned program passes
            validation.
        exact_below: Distances below this [m] are computed exactly; :meth:`clearance` saturates at it.
        pad: Extra distance [m] added to every requirement (bodies and self pairs); 0 by default: the
            simulator loads these very capsules into pybullet and measures the same distances, so
            the clearances apply as written.
        rng: Random generator for the self-collision pair analysis (deterministic default).
    """

    def __init__(
        self,
        robot: Robot,
        torch: Torch,
        cell: Cell,
        margin: float | None = None,
        *,
        self_margin: float = SELF_CLEARANCE,
        nozzle_clearance: float = NOZZLE_CLEARANCE,
        exact_below: float = 0.05,
        pad: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        clearance = float(getattr(cell, "clearance", 0.0) or 0.0)
        margin = clearance if margin is None else margin
        if not (margin >= 0 and np.isfinite(margin)):
            raise InputShapeError(f"margin must be a distance >= 0 m, got {margin}")
        rng = rng if rng is not None else np.random.default_rng(0)
        self.robot = robot
        self.margin = float(margin)
        self.exact_below = float(exact_below)
        self.n_joints = len(robot.joint_names)
        self.chain: LinkChain = robot.link_chain
        caps = [("robot", c) for c in robot.collision_capsules]
        if torch is not None:
            caps += [("torch", c) for c in torch.collision_capsules]
        self.capsule_names: tuple[str, ...] = tuple(
            f"{owner}:{getattr(c, 'name', '') or c.link}" for owner, c in caps
        )
        cap_link = np.array([self.chain.index(c.link) for _, c in caps], dtype=np.int64)
        cap_a = np.array([np.asarray(c.p0, dtype=np.float64) for _, c in caps]).reshape(-1, 3)
        cap_b = np.array([np.asarray(c.p1, dtype=np.float64) for _, c in caps]).reshape(-1, 3)
        cap_r = np.array([float(c.radius) for _, c in caps], dtype=np.float64)
        self._caps = (cap_link, cap_a, cap_b, cap_r)
        self._env_args = (caps, clearance, pad, nozzle_clearance)
        self._build_env(cell)
        self._self = self._self_pairs(caps, self_margin, pad, rng)

    # --- construction helpers ----------------------------------------------------------------------
    def with_cell(self, cell: Cell) -> CapsuleCollisionChecker:
        """The same checker (robot, torch, margins, self-collision pairs) for another cell's bodies.

        Cheaper than a new checker (the self-collision pair analysis is kept): used for a part that
        the positioner moves between poses. ``cell.T_world_base`` may differ (a robot on a track).
        """
        other = copy.copy(self)
        other.__dict__.pop("_one", None)  # the cached single-configuration arguments hold the bodies
        other._build_env(cell)
        return other

    def _build_env(self, cell: Cell) -> None:
        """Bodies of ``cell`` in the robot base frame, and which capsule keeps what distance from them."""
        caps, clearance, pad, nozzle_clearance = self._env_args
        cap_link = self._caps[0]
        bodies, pieces = bodies_in_base(cell)
        self.body_names: tuple[str, ...] = tuple(b.name for b in bodies)
        self.piece_names: tuple[str, ...] = tuple(b.name for b in pieces)
        self.piece_notes: tuple[str, ...] = tuple(b.note for b in pieces)
        root_group = self.chain.rigid_groups()[0]
        groups = self.chain.rigid_groups()[cap_link]

        def requirement(ci: int, owner: str, cname: str, role: str) -> float | None:
            """Distance capsule ci keeps from a body of ``role`` [m] (None: the pair is not checked)."""
            if owner == "robot" and groups[ci] == root_group:
                return None  # the base does not move: the program's layout, not the planner, owns it
            if owner != "torch":
                return self.margin + pad
            if cname in _MAY_TOUCH_WORKPIECE:
                return None if role == "workpiece" else pad  # the wire touches the joint; else contact only
            if role == "workpiece" and cname in _NOZZLE_TIP:
                return nozzle_clearance + pad
            return clearance + pad

        env_cap: list[int] = []
        env_body: list[int] = []
        env_req: list[float] = []
        mesh_cap: list[int] = []
        mesh_piece: list[int] = []
        mesh_req: list[float] = []
        for ci, (owner, c) in enumerate(caps):
            cname = getattr(c, "name", "") or ""
            for bi, body in enumerate(bodies):
                req = requirement(ci, owner, cname, body.role)
                if req is not None:
                    env_cap.append(ci)
                    env_body.append(bi)
                    env_req.append(req)
            for pi, piece in enumerate(pieces):
                req = requirement(ci, owner, cname, piece.role)
                if req is not None:
                    mesh_cap.append(ci)
                    mesh_piece.append(pi)
                    mesh_req.append(req)
        self._env = (
            np.array(env_cap, dtype=np.int64),
            np.array(env_body, dtype=np.int64),
            np.array(env_req, dtype=np.float64),
        )
        self._mesh_env = (
            np.array(mesh_cap, dtype=np.int64),
            np.array(mesh_piece, dtype=np.int64),
            np.array(mesh_req, dtype=np.float64),
        )
        self._pieces = _pack_pieces(pieces)
        body_data = np.zeros((len(bodies), 15))
        body_sphere = np.zeros((len(bodies), 4))
        for i, b in enumerate(bodies):
            body_data[i, :12] = invert_transforms(b.T_base_body)[:3].ravel()
            body_data[i, 12:] = b.h
            body_sphere[i, :3] = b.T_base_body[:3, 3]
            body_sphere[i, 3] = {
                kernels.SPHERE: b.h[0],
                kernels.BOX: float(np.linalg.norm(b.h)),
                kernels.CYLINDER: float(np.hypot(b.h[0], b.h[1])),
            }[b.kind]
        self._bodies = (np.array([b.kind for b in bodies], dtype=np.int64), body_data, body_sphere)

    def _chain_args(self) -> tuple[Any, ...]:
        c = self.chain
        return (c.parent, c.origin, c.axis, c.qidx)

    def _self_pairs(
        self, caps: list[tuple[str, Any]], self_margin: float, pad: float, rng: np.random.Generator
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], NDArrayF]:
        group = self.chain.rigid_groups()
        cap_link = self._caps[0]
        cap_group = group[cap_link]
        parent_group = {
            int(group[k]): int(group[self.chain.parent[k]])
            for k in range(len(group))
            if self.chain.parent[k] >= 0 and group[k] != group[self.chain.parent[k]]
        }
        cand_a, cand_b = [], []
        for i in range(len(caps)):
            for j in range(i + 1, len(caps)):
                gi, gj = int(cap_group[i]), int(cap_group[j])
                if gi == gj:
                    continue
                both_robot = caps[i][0] == "robot" and caps[j][0] == "robot"
                if both_robot and (parent_group.get(gi) == gj or parent_group.get(gj) == gi):
                    continue
                cand_a.append(i)
                cand_b.append(j)
        a = np.array(cand_a, dtype=np.int64)
        b = np.array(cand_b, dtype=np.int64)
        if a.size == 0:
            return a, b, np.zeros(0)
        lo = np.maximum(np.asarray(self.robot.q_lower, dtype=np.float64), -np.pi)
        hi = np.minimum(np.asarray(self.robot.q_upper, dtype=np.float64), np.pi)
        Q = np.vstack([np.zeros((1, self.n_joints)), rng.uniform(lo, hi, size=(400, self.n_joints))])
        empty_i = np.zeros(0, dtype=np.int64)
        D = np.array(
            [
                kernels.pair_distances(  # type: ignore[call-arg]
                    q, *self._chain_args(), *self._caps, *self._bodies[:2], empty_i, empty_i, a, b
                )
                for q in Q
            ]
        )
        touching = self_margin > D
        keep = ~(touching[0] | (touching[1:].mean(axis=0) > 0.95))
        for i, j in zip(a[~keep], b[~keep], strict=True):
            log.debug("self collision pair excluded: %s / %s", self.capsule_names[i], self.capsule_names[j])
        a, b = a[keep], b[keep]
        # the pad covers pybullet's hull margin where the simulator checks the pair too; it does not
        # check the torch against the link that carries its mount's parent (adjacent rigid bodies)
        adjacent = np.array(
            [
                parent_group.get(int(cap_group[i])) == int(cap_group[j])
                or parent_group.get(int(cap_group[j])) == int(cap_group[i])
                for i, j in zip(a, b, strict=True)
            ],
            dtype=bool,
        ).reshape(-1)
        req = np.where(adjacent, float(self_margin), float(self_margin + pad))
        far = np.array(
            [
                self._never_within(int(i), int(j), float(r) + _PRUNE_SAFETY)
                for i, j, r in zip(a, b, req, strict=True)
            ],
            dtype=bool,
        ).reshape(-1)
        for i, j in zip(a[far], b[far], strict=True):
            log.debug("self pair never within reach: %s / %s", self.capsule_names[i], self.capsule_names[j])
        return a[~far], b[~far], req[~far]

    def _never_within(self, ca: int, cb: int, required: float) -> bool:
        """True when capsules ca and cb provably stay farther than ``required`` [m] at every joint value.

        Only pairs whose relative pose depends on at most ``_PRUNE_MAX_JOINTS`` joints are analysed
        (branch and bound over those joints within their limits, see
        :func:`~weldcell.planning._collision_kernels.pair_never_within`); the result is memoised per
        robot and torch geometry.
        """
        c = self.chain
        cap_link, cap_a, cap_b, cap_r = self._caps

        def up(link: int) -> list[int]:
            out = [link]
            while c.parent[out[-1]] >= 0:
                out.append(int(c.parent[out[-1]]))
            return out

        la, lb = int(cap_link[ca]), int(cap_link[cb])
        up_a, up_b = up(la), up(lb)
        common = next(k for k in up_a if k in up_b)
        joints: list[int] = []
        reach: list[float] = []
        for path, cap in ((up_a[: up_a.index(common)], ca), (up_b[: up_b.index(common)], cb)):
            # path runs from the capsule's link up to (not including) the common ancestor
            far_end = max(float(np.linalg.norm(cap_a[cap])), float(np.linalg.norm(cap_b[cap])))
            for pos, k in enumerate(path):
                if c.qidx[k] < 0:
                    continue
                below = path[:pos]  # links between joint k's frame and the capsule's link
                joints.append(int(c.qidx[k]))
                reach.append(far_end + sum(float(np.linalg.norm(c.origin[m][:3, 3])) for m in below))
        if not joints or len(joints) > _PRUNE_MAX_JOINTS:
            return False
        lo = np.asarray(self.robot.q_lower, dtype=np.float64)[joints]
        hi = np.asarray(self.robot.q_upper, dtype=np.float64)[joints]
        wrap = hi - lo >= 2.0 * np.pi  # the relative pose is 2π-periodic in every joint
        lo = np.where(wrap, -np.pi, lo)
        hi = np.where(wrap, np.pi, hi)
        key = (
            c.origin.tobytes(),
            c.axis.tobytes(),
            c.parent.tobytes(),
            c.qidx.tobytes(),
            cap_a[[ca, cb]].tobytes(),
            cap_b[[ca, cb]].tobytes(),
            cap_r[[ca, cb]].tobytes(),
            int(la),
            int(lb),
            lo.tobytes(),
            hi.tobytes(),
            float(required),
        )
        hit = _PRUNE_CACHE.get(key)
        if hit is None:
            hit = bool(
                kernels.pair_never_within(
                    c.parent,
                    c.origin,
                    c.axis,
                    c.qidx,
                    cap_link,
                    cap_a,
                    cap_b,
                    cap_r,
                    ca,
                    cb,
                    np.array(joints, dtype=np.int64),
                    lo,
                    hi,
                    np.array(reach),
                    float(required),
                    _PRUNE_MIN_WIDTH,
                    _PRUNE_MAX_EVALS,
                )
            )
            _PRUNE_CACHE[key] = hit
        return hit

    def motion_coefficients(self) -> NDArrayF:
        """Per joint j, a bound R_j [m/rad] on how fast any capsule axis point moves when joint j turns.

        Moving from q to q' displaces every robot and torch capsule point by at most
        ``sum_j R_j |q'_j - q_j|`` [m] (R_j bounds the distance of the points carried by joint j from its
        axis: translation lengths along the chain plus the capsule end point's distance from its link
        frame). Two capsules' distance, and a capsule's distance to a body, then change by at most
        twice, resp. once, that amount: used to check motions between checked configurations.
        """
        cached = getattr(self, "_motion_coef", None)
        if cached is not None:
            return np.asarray(cached)
        c = self.chain
        cap_link, cap_a, cap_b, _ = self._caps
        coef = np.zeros(self.n_joints)
        for cap in range(len(cap_link)):
            far_end = max(float(np.linalg.norm(cap_a[cap])), float(np.linalg.norm(cap_b[cap])))
            link = int(cap_link[cap])
            below = 0.0  # translation lengths from the capsule's link up to the current joint frame
            while link >= 0:
                j = int(c.qidx[link])
                if j >= 0:
                    coef[j] = max(coef[j], far_end + below)
                below += float(np.linalg.norm(c.origin[link][:3, 3]))
                link = int(c.parent[link])
        self._motion_coef = coef
        return coef

    def max_requirement(self) -> float:
        """The largest required distance [m] of any pair (0 without pairs).

        A slack from :meth:`query` is exact only below its saturation value; a pair culled there is
        farther than that value but may need up to this much, so ``min(slack, value - this)``
        bounds the true slack from below (:mod:`weldcell.planning.dense_check`, ``motion_free``).
        """
        req = np.concatenate([self._env[2], self._self[2], self._mesh_env[2]])
        return float(req.max()) if req.size else 0.0

    # --- queries ---------------------------------------------------------------------------------
    def is_free(self, q: npt.ArrayLike) -> bool:
        """Fast single-configuration check, q (n,) [rad] (for sampling planners calling per state)."""
        one = getattr(self, "_one", None)
        if one is None:
            buf = np.zeros((1, self.n_joints))
            out = (np.empty(1), np.empty(1), np.empty(1, dtype=np.int64))
            args = (
                *self._chain_args(),
                *self._caps,
                *self._bodies,
                *self._env,
                *self._self,
                0.0,
                True,
                *out,
            )
            one = (buf, args, out[0])
            self._one = one
        buf, args, slack = one
        buf[0, :] = q
        if not np.isfinite(buf).all():
            return False
        kernels.collision_batch(buf, *args)
        if slack[0] >= 0.0 and self.n_mesh_pairs:
            return bool(self._mesh_query(buf, 0.0, True)[0][0] >= 0.0)
        return bool(slack[0] >= 0.0)

    @property
    def n_mesh_pairs(self) -> int:
        """Number of (capsule, convex piece of a mesh body) pairs checked."""
        return len(self._mesh_env[0])

    def _mesh_query(
        self, Q: NDArrayF, cap: float, early_exit: bool
    ) -> tuple[NDArrayF, NDArrayF, npt.NDArray[np.int64]]:
        """Slack, distance and pair (index into the mesh pairs) of the capsule-vs-convex-piece pairs."""
        M = Q.shape[0]
        out = (np.empty(M), np.empty(M), np.empty(M, dtype=np.int64))
        convex.convex_batch(  # type: ignore[call-arg]
            Q, *self._chain_args(), *self._caps, *self._pieces, *self._mesh_env, cap, early_exit, *out
        )
        return out

    def _as_batch(self, q: npt.ArrayLike) -> NDArrayF:
        Q = np.ascontiguousarray(np.atleast_2d(np.asarray(q, dtype=np.float64)))
        if Q.ndim != 2 or Q.shape[1] != self.n_joints:
            raise InputShapeError(f"q: expected shape (M, {self.n_joints}), got {np.shape(q)}")
        return Q

    def query(
        self, q: npt.ArrayLike, *, early_exit: bool = False, exact_below: float | None = None
    ) -> CollisionQuery:
        """Slack, distance and worst pair for configurations q (M, n) [rad].

        Args:
            q: Configurations [rad], shape (M, n).
            early_exit: Stop the scan of a configuration at its first violated pair: ``free`` is exact,
                ``slack``/``worst_pair`` then describe that pair, not necessarily the worst one.
            exact_below: Distances and slacks are exact below this value [m] and saturated at it
                (default ``self.exact_below``); smaller values are faster.
        """
        Q = self._as_batch(q)
        M = Q.shape[0]
        slack = np.empty(M)
        dist = np.empty(M)
        pair = np.empty(M, dtype=np.int64)
        env_cap, env_body, env_req = self._env
        self_a, self_b, self_req = self._self
        cap = 0.0 if early_exit else float(self.exact_below if exact_below is None else exact_below)
        kernels.collision_batch(  # type: ignore[call-arg]
            Q,
            *self._chain_args(),
            *self._caps,
            *self._bodies,
            env_cap,
            env_body,
            env_req,
            self_a,
            self_b,
            self_req,
            cap,
            early_exit,
            slack,
            dist,
            pair,
        )
        if self.n_mesh_pairs:
            m_slack, m_dist, m_pair = self._mesh_query(Q, cap, early_exit)
            worse = m_slack < slack
            pair = np.where(worse & (m_pair >= 0), m_pair + len(env_cap) + len(self_a), pair)
            slack = np.minimum(slack, m_slack)
            dist = np.minimum(dist, m_dist)
        # NaN rows (e.g. IK branches without a solution) come back with slack -inf: never free
        return CollisionQuery(slack >= 0.0, slack, dist, pair)

    def check(self, q: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Free flags (M,) for configurations q (M, n) [rad]; True = every required distance kept."""
        return self.query(q, early_exit=True).free

    def clearance(self, q: npt.ArrayLike) -> NDArrayF:
        """Smallest distance [m] of robot/torch capsules to bodies and other links, shape (M,).

        Exact below ``exact_below`` (5 cm by default) and saturated at it.
        """
        return self.query(q).distance

    def pair_names(self, index: int) -> tuple[str, str]:
        """(robot or torch part, body or part) of pair ``index`` as reported in ``worst_pair``.

        Pairs are numbered: capsule-body pairs of primitive bodies, self pairs, then capsule-piece
        pairs of mesh bodies (named by their body).
        """
        env_cap, env_body, _ = self._env
        n_self = len(self._self[0])
        if index < len(env_cap):
            return self.capsule_names[env_cap[index]], self.body_names[env_body[index]]
        k = index - len(env_cap)
        if k < n_self:
            return self.capsule_names[self._self[0][k]], self.capsule_names[self._self[1][k]]
        m = k - n_self
        return self.capsule_names[self._mesh_env[0][m]], self.piece_names[self._mesh_env[1][m]]

    def pair_requirement(self, index: int) -> float:
        """Required distance [m] of pair ``index`` (as reported in ``worst_pair``)."""
        env_req = self._env[2]
        if index < len(env_req):
            return float(env_req[index])
        k = index - len(env_req)
        if k < len(self._self[2]):
            return float(self._self[2][k])
        return float(self._mesh_env[2][k - len(self._self[2])])

    def describe(self, q: npt.ArrayLike) -> str:
        """The tightest pair at one configuration q (n,) [rad] in words, with distance and requirement.

        Example: ``"torch nozzle 2.6 mm from plate_web, needs 3.0 mm"``.
        """
        Q = self._as_batch(q)
        if Q.shape[0] != 1:
            raise InputShapeError(f"describe takes one configuration, got {Q.shape[0]}")
        res = self.query(Q, exact_below=1.0)
        k = int(res.worst_pair[0])
        if k < 0:
            return "nothing within 1 m"
        a, b = self.pair_names(k)
        req = self.pair_requirement(k)
        d = float(res.slack[0]) + req
        m = k - len(self._env[0]) - len(self._self[0])
        note = self.piece_notes[self._mesh_env[1][m]] if m >= 0 else ""
        b_label = f"{part_label(b)} ({note})" if note else part_label(b)
        if d < 0:
            return f"{part_label(a)} penetrates {b_label} by {-d * 1e3:.1f} mm, needs {req * 1e3:.1f} mm"
        return f"{part_label(a)} {d * 1e3:.1f} mm from {b_label}, needs {req * 1e3:.1f} mm"

    def colliding_bodies(self, q: npt.ArrayLike) -> list[tuple[str, str]]:
        """Every pair closer than its required distance at one configuration q (n,) [rad]."""
        Q = self._as_batch(q)
        if Q.shape[0] != 1:
            raise InputShapeError(f"colliding_bodies takes one configuration, got {Q.shape[0]}")
        env_cap, env_body, env_req = self._env
        self_a, self_b, self_req = self._self
        d = kernels.pair_distances(  # type: ignore[call-arg]
            Q[0], *self._chain_args(), *self._caps, *self._bodies[:2], env_cap, env_body, self_a, self_b
        )
        req = np.concatenate([env_req, self_req])
        if self.n_mesh_pairs:
            m_cap, m_piece, m_req = self._mesh_env
            d_mesh = convex.convex_pair_distances(  # type: ignore[call-arg]
                Q[0], *self._chain_args(), *self._caps, *self._pieces[:3], m_cap, m_piece
            )
            d = np.concatenate([d, d_mesh])
            req = np.concatenate([req, m_req])
        out: list[tuple[str, str]] = []
        for i in np.flatnonzero(d < req):
            names = self.pair_names(int(i))
            if names not in out:  # a mesh body of several pieces is one body
                out.append(names)
        return out

    @property
    def n_pairs(self) -> tuple[int, int]:
        """Number of (capsule, body or mesh piece) pairs and of self-collision capsule pairs checked."""
        return len(self._env[0]) + self.n_mesh_pairs, len(self._self[0])


def _pack_pieces(pieces: list[ConvexBody]) -> tuple[NDArrayF, NDArrayF, npt.NDArray[np.int64], NDArrayF]:
    """Kernel arrays of convex pieces: planes (F, 4), triangles (F, 9), face starts (P + 1,), spheres (P, 4).

    The pieces' faces are stacked; piece p owns faces ``start[p]:start[p + 1]``.
    """
    counts = [len(p.planes) for p in pieces]
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    if not pieces:
        return np.zeros((0, 4)), np.zeros((0, 9)), start, np.zeros((0, 4))
    planes = np.ascontiguousarray(np.vstack([p.planes for p in pieces]), dtype=np.float64)
    tris = np.ascontiguousarray(np.vstack([p.tris for p in pieces]), dtype=np.float64)
    spheres = np.ascontiguousarray(np.vstack([p.sphere for p in pieces]), dtype=np.float64)
    return planes, tris, start, spheres
