"""Scene building: load a :class:`CellModel` into a :class:`PybulletWorld`.

The robot URDF goes at ``T_world_base``; the torch URDF is a separate body whose root frame is kept
on the robot flange (:meth:`Scene.set_configuration` moves it); both carry the planner's capsules as
their collision shapes (:mod:`weldcell.sim.capsule_urdf`), so pybullet measures the planner's
geometry. Every cell body is a static body of its own with collision margin 0 (exact distances).
The scene also precomputes what the collision checks need: which robot link pairs may touch
(adjacent links may, and pairs that touch by construction are dropped as in the planner), the torch
parts (body, nozzle, contact tip, wire) and, per joint, a lever arm bounding how far any point of the
robot or torch can move when that joint turns.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.errors import ModelError, UnknownJointError
from weldcell.kinematics import load_torch
from weldcell.program.model import Body
from weldcell.sim import _bullet as bl
from weldcell.sim.body_shapes import pybullet_pieces
from weldcell.sim.capsule_urdf import robot_capsule_urdf, torch_capsule_urdf
from weldcell.sim.cell_model import CellModel
from weldcell.sim.world import PybulletWorld
from weldcell.trajectory.margins import SELF_CLEARANCE

log = logging.getLogger(__name__)
NDArrayF = npt.NDArray[np.float64]

ROLE_COLOURS: dict[str, tuple[float, float, float, float]] = {
    "table": (0.55, 0.55, 0.58, 1.0),
    "fixture": (0.20, 0.35, 0.75, 1.0),
    "workpiece": (0.80, 0.80, 0.82, 1.0),
    "obstacle": (0.90, 0.50, 0.10, 1.0),
}
FLANGE_LINK_NAMES = ("tool0", "flange")
MOUNT_TOLERANCE = 0.001  # [m] a base link this close to (or into) a table below it stands on that table
MOUNT_NORMAL_COS = float(np.cos(np.deg2rad(10.0)))  # the contact must push along the base's z axis


class TorchPart(Enum):
    """Parts of the torch that get different clearance rules (see ``weldcell.sim.collision``)."""

    BODY = "body"  # mount, body: the cell clearance everywhere
    NOZZLE = "nozzle"  # neck and gas nozzle: the cell clearance everywhere (the nozzle rule)
    TIP = "contact_tip"  # contact tip: the nozzle clearance to workpieces, the cell clearance else
    WIRE = "wire"  # the wire stick-out: may touch the workpiece (it welds there)


def torch_part(link_name: str) -> TorchPart:
    """Classify a torch link by name.

    ``*wire*``/``*tcp*``/``*stickout*`` -> WIRE; ``*contact*`` -> TIP; ``*nozzle*``, ``*neck*`` ->
    NOZZLE; anything else (mount, body) -> BODY.
    """
    n = link_name.lower()
    if "wire" in n or "tcp" in n or "stickout" in n:
        return TorchPart.WIRE
    if "contact" in n:
        return TorchPart.TIP
    if "nozzle" in n or "neck" in n:
        return TorchPart.NOZZLE
    return TorchPart.BODY


@dataclass(frozen=True, slots=True)
class Scene:
    """A cell loaded in a pybullet world. Ids are only valid while ``world`` is connected.

    Attributes:
        world: The owning world.
        cell: The cell description.
        robot_id: pybullet body id of the robot.
        joint_indices: pybullet joint indices of the movable joints, in ``joint_names`` order.
        joint_names: Movable joint names (URDF order).
        q_lower, q_upper: Position limits from the URDF [rad], shape (n,).
        qd_max: Velocity limits from the URDF [rad/s], shape (n,).
        effort_max: Effort limits from the URDF [N m], shape (n,).
        link_names: Robot link name per link index (-1 = base link).
        flange_link: Link index of the flange (tool0).
        torch_id: Torch body id (None without torch).
        torch_link_names: Torch link name per link index (-1 = root).
        torch_parts: Torch part per link index.
        cell_ids: pybullet body id of each cell body, in ``cell.bodies`` order (each a static body with
            collision margin 0, so its distances are exact); for a body of several pieces (a mesh
            with several convex pieces) the id of its first piece.
        cell_piece_ids: pybullet body ids of every piece of each cell body, in ``cell.bodies`` order
            (distance queries go over these).
        static_links: Robot links rigidly attached to the base (never move).
        self_pairs: Robot link pairs checked for self-collision (not adjacent, not both static).
        torch_skip_links: Robot links the torch may touch (its mount and the adjacent link).
        lever_arms: Per movable joint, an upper bound [m] (rad for prismatic: 1) on the distance of any
            robot or torch point from that joint's origin, shape (n,).
        link_lever_arms: The same bound per robot link (flange link includes the torch): link ->
            (n,) [m], 0 for joints that do not move that link.
        parent_links: Parent link index per robot link (-1 = base).
        torch_radius: Upper bound on the distance of any torch point from the flange origin [m].
        torch_extent: Per torch link with a collision shape: bounds [m] on the distance of its points
            from the flange origin and from the TCP point of ``cell.T_flange_tcp``.
        collision_links: Robot links (index, -1 = base) that have a collision shape.
        mount_contacts: Allowed contacts (robot link, cell body index): a link rigidly attached to the
            robot base that stands on a ``table`` body (within ``MOUNT_TOLERANCE`` of it, contact
            normal within 10° of the base z axis), found when the scene is built. Neither moves, so
            the pair is not measured; every other pair, including another table touching the base
            from the side, is.
    """

    world: PybulletWorld
    cell: CellModel
    robot_id: int
    joint_indices: tuple[int, ...]
    joint_names: tuple[str, ...]
    q_lower: NDArrayF
    q_upper: NDArrayF
    qd_max: NDArrayF
    effort_max: NDArrayF
    link_names: dict[int, str]
    flange_link: int
    torch_id: int | None
    torch_link_names: dict[int, str]
    torch_parts: dict[int, TorchPart]
    cell_ids: tuple[int, ...]
    static_links: frozenset[int]
    self_pairs: tuple[tuple[int, int], ...]
    torch_skip_links: frozenset[int]
    lever_arms: NDArrayF
    link_lever_arms: dict[int, NDArrayF]
    parent_links: dict[int, int]
    torch_radius: float
    torch_extent: dict[int, tuple[float, float]]
    collision_links: frozenset[int] = frozenset()
    mount_contacts: frozenset[tuple[int, int]] = frozenset()
    cell_piece_ids: tuple[tuple[int, ...], ...] = ()

    @property
    def self_pair_set(self) -> frozenset[tuple[int, int]]:
        """``self_pairs`` as a set (a < b)."""
        return frozenset(self.self_pairs)

    def ancestor_joints(self, link: int) -> frozenset[int]:
        """Movable joints (by index) between the base and ``link``, including ``link``'s own."""
        movable = set(self.joint_indices)
        out = set()
        k = link
        while k != -1:
            if k in movable:
                out.add(k)
            k = self.parent_links[k]
        return frozenset(out)

    @property
    def client(self) -> int:
        """pybullet client id."""
        return self.world.client_id

    @property
    def n_joints(self) -> int:
        """Number of movable joints."""
        return len(self.joint_indices)

    def cell_body(self, link: int) -> Body:
        """Cell body number ``link`` (index into ``cell.bodies`` and ``cell_ids``)."""
        return self.cell.bodies[link]

    def joint_order(self, names: tuple[str, ...]) -> tuple[int, ...]:
        """pybullet joint indices for joint ``names`` (e.g. a trajectory's joint names).

        Raises:
            UnknownJointError: a name that the robot URDF does not have.
        """
        lookup = dict(zip(self.joint_names, self.joint_indices, strict=True))
        missing = [n for n in names if n not in lookup]
        if missing:
            raise UnknownJointError(
                f"joints {missing} are not in the robot model {self.cell.robot!r}; "
                f"its joints: {list(self.joint_names)}"
            )
        return tuple(lookup[n] for n in names)

    def set_configuration(self, q: NDArrayF, joint_indices: tuple[int, ...] | None = None) -> None:
        """Put the robot at joint positions ``q`` [rad] (n,) and carry the torch along (no dynamics)."""
        idx = self.joint_indices if joint_indices is None else joint_indices
        cid = self.client
        pb.resetJointStatesMultiDof(self.robot_id, idx, [[float(x)] for x in q], physicsClientId=cid)
        if self.torch_id is not None:
            st = pb.getLinkState(
                self.robot_id, self.flange_link, computeForwardKinematics=1, physicsClientId=cid
            )
            pb.resetBasePositionAndOrientation(self.torch_id, st[4], st[5], physicsClientId=cid)

    def T_world_flange(self) -> NDArrayF:
        """Current flange pose in the world (4, 4), from pybullet's forward kinematics."""
        st = bl.link_state(self.client, self.robot_id, self.flange_link)
        return bl.se3_from_pos_quat_xyzw(st.link_frame_pos, st.link_frame_orn_xyzw)


def build_scene(world: PybulletWorld, cell: CellModel | Any) -> Scene:
    """Load ``cell`` into ``world``: robot, torch on the flange and the static cell bodies.

    Args:
        world: A connected world (DIRECT or GUI).
        cell: Robot/torch URDF files, placements and bodies, or a weld program (its cell section).

    Returns:
        The :class:`Scene` with the body ids and the precomputed collision bookkeeping.

    Raises:
        ModelError: missing URDF/mesh files or a robot without a flange link.
    """
    if not isinstance(cell, CellModel):
        cell = CellModel.from_program(cell)
    cid = world.client_id
    with tempfile.TemporaryDirectory(prefix="weldcell_capsules_") as tmp:
        # the planner's capsules as the collision geometry (module weldcell.sim.capsule_urdf)
        robot_urdf = robot_capsule_urdf(cell.robot_urdf, Path(tmp) / "robot.urdf")
        torch_urdf = (
            None if cell.torch_urdf is None else _torch_collision_urdf(cell, Path(tmp) / "torch.urdf")
        )
        robot_id = world.load_urdf(robot_urdf, cell.T_world_base)
        joints = bl.joint_infos(cid, robot_id)
        link_names = {-1: bl.base_name(cid, robot_id)} | {j.joint_index: j.link_name for j in joints}
        movable = [j for j in joints if j.type is not bl.JointType.FIXED]
        flange = _find_flange(joints, link_names)

        torch_id: int | None = None
        torch_link_names: dict[int, str] = {}
        if torch_urdf is not None:
            st = bl.link_state(cid, robot_id, flange)
            T_world_flange = bl.se3_from_pos_quat_xyzw(st.link_frame_pos, st.link_frame_orn_xyzw)
            torch_id = world.load_urdf(torch_urdf, T_world_flange)
    if torch_id is not None:
        tj = bl.joint_infos(cid, torch_id)
        torch_link_names = {-1: bl.base_name(cid, torch_id)} | {j.joint_index: j.link_name for j in tj}
        # the torch is moved kinematically; keep it out of the dynamics
        for link in torch_link_names:
            pb.setCollisionFilterGroupMask(torch_id, link, 0, 0, physicsClientId=cid)
    torch_parts = {k: torch_part(v) for k, v in torch_link_names.items()}

    cell_piece_ids = _build_cell_bodies(world, cell.bodies)
    cell_ids = tuple(ids[0] for ids in cell_piece_ids)

    parent = {j.joint_index: j.parent_index for j in joints}
    is_fixed = {j.joint_index: j.type is bl.JointType.FIXED for j in joints}
    group = _rigid_groups(parent, is_fixed)
    static = frozenset(k for k, g in group.items() if g == group[-1])
    collidable = [k for k in link_names if bl.has_collision_shape(cid, robot_id, k)]
    adjacent = {frozenset((group[k], group[parent[k]])) for k in parent if not is_fixed[k]}
    pairs = []
    for ia, a in enumerate(collidable):
        for b in collidable[ia + 1 :]:
            ga, gb = group[a], group[b]
            if ga == gb or frozenset((ga, gb)) in adjacent or (a in static and b in static):
                continue
            pairs.append((min(a, b), max(a, b)))
    pairs = _drop_always_touching(cid, robot_id, movable, pairs)
    fg = group[flange]  # a group id is its top-most link, attached by a movable joint (or -1)
    mount_groups = {fg} if fg == -1 else {fg, group[parent[fg]]}
    torch_skip = frozenset(k for k in link_names if group[k] in mount_groups)

    T_world_flange = bl.se3_from_pos_quat_xyzw(*bl.link_state(cid, robot_id, flange)[4:6])
    p_tcp = (T_world_flange @ cell.T_flange_tcp)[:3, 3]
    torch_extent = {
        k: (
            _max_corner_distance(cid, torch_id, k, T_world_flange[:3, 3]),
            _max_corner_distance(cid, torch_id, k, p_tcp),
        )
        for k in torch_link_names
        if torch_id is not None and bl.has_collision_shape(cid, torch_id, k)
    }
    torch_radius = max((e[0] for e in torch_extent.values()), default=0.0)
    lever_to = _lever_arms(cid, robot_id, joints, movable, link_names, flange, torch_radius)
    lever = _ro(np.max(np.stack(list(lever_to.values())), axis=0))
    return Scene(
        world=world,
        cell=cell,
        robot_id=robot_id,
        joint_indices=tuple(j.joint_index for j in movable),
        joint_names=tuple(j.name for j in movable),
        q_lower=_ro([j.lower_limit for j in movable]),
        q_upper=_ro([j.upper_limit for j in movable]),
        qd_max=_ro([j.max_velocity for j in movable]),
        effort_max=_ro([j.max_force for j in movable]),
        link_names=link_names,
        flange_link=flange,
        torch_id=torch_id,
        torch_link_names=torch_link_names,
        torch_parts=torch_parts,
        cell_ids=cell_ids,
        static_links=static,
        self_pairs=tuple(sorted(pairs)),
        torch_skip_links=torch_skip,
        lever_arms=lever,
        link_lever_arms=lever_to,
        parent_links=parent,
        torch_radius=torch_radius,
        torch_extent=torch_extent,
        collision_links=frozenset(collidable),
        mount_contacts=_mount_contacts(cid, robot_id, cell_piece_ids, cell, static & frozenset(collidable)),
        cell_piece_ids=cell_piece_ids,
    )


SELF_PAIR_SAMPLES = 400  # random configurations of the self-pair analysis (the planner's number)
SELF_PAIR_TOUCH_FRACTION = 0.95  # a pair touching in more of them touches by construction


def _drop_always_touching(
    cid: int, robot_id: int, movable: list[bl.JointInfo], pairs: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Self pairs without those that touch by construction of the capsules, as the planner does.

    A link pair closer than ``SELF_CLEARANCE`` at the zero configuration or in more than 95 % of
    400 random configurations (seed 0, joint limits clipped to ±π) is not a real collision but two
    link envelopes that overlap where the links are joined (``CapsuleCollisionChecker`` excludes
    the same pairs, a MoveIt setup assistant would too). Measured with pybullet.
    """
    if not pairs:
        return pairs
    idx = [j.joint_index for j in movable]
    lo = np.maximum([j.lower_limit for j in movable], -np.pi)
    hi = np.minimum([j.upper_limit for j in movable], np.pi)
    rng = np.random.default_rng(0)
    Q = np.vstack([np.zeros((1, len(idx))), rng.uniform(lo, hi, size=(SELF_PAIR_SAMPLES, len(idx)))])
    touch = np.zeros((len(Q), len(pairs)), dtype=bool)
    for i, q in enumerate(Q):
        pb.resetJointStatesMultiDof(robot_id, idx, [[float(x)] for x in q], physicsClientId=cid)
        for k, (a, b) in enumerate(pairs):
            res = pb.getClosestPoints(
                robot_id, robot_id, SELF_CLEARANCE, linkIndexA=a, linkIndexB=b, physicsClientId=cid
            )
            touch[i, k] = any(r[8] < SELF_CLEARANCE for r in res)
    pb.resetJointStatesMultiDof(robot_id, idx, [[0.0] for _ in idx], physicsClientId=cid)
    keep = ~(touch[0] | (touch[1:].mean(axis=0) > SELF_PAIR_TOUCH_FRACTION))
    for (a, b), k in zip(pairs, keep, strict=True):
        if not k:
            log.debug("self pair excluded (touches by construction): links %d / %d", a, b)
    return [p for p, k in zip(pairs, keep, strict=True) if k]


def _torch_collision_urdf(cell: CellModel, out: Path) -> Path:
    """The torch URDF with the planner's torch capsules (``Torch.collision_capsules``) as collisions.

    A torch that ``weldcell.kinematics`` does not know by name gets the capsules of its own URDF
    collision primitives (as the robot does).
    """
    assert cell.torch_urdf is not None  # mypy
    if cell.torch:
        try:
            torch = load_torch(cell.torch)
        except ModelError:
            torch = None
        if torch is not None:
            return torch_capsule_urdf(cell.torch_urdf, torch.collision_capsules, out)
    return robot_capsule_urdf(cell.torch_urdf, out)


def _mount_contacts(
    cid: int,
    robot_id: int,
    cell_piece_ids: tuple[tuple[int, ...], ...],
    cell: CellModel,
    links: frozenset[int],
) -> frozenset[tuple[int, int]]:
    """(robot link, cell body) pairs where a base-fixed link stands on a table (see ``Scene``)."""
    z_base = np.asarray(cell.T_world_base, dtype=np.float64)[:3, 2]
    verdict: dict[tuple[int, int], bool] = {}
    for k in sorted(links):
        for i, pieces in enumerate(cell_piece_ids):
            if cell.bodies[i].role != "table":
                continue
            found = [
                r
                for body in pieces
                for r in pb.getClosestPoints(
                    robot_id, body, MOUNT_TOLERANCE, linkIndexA=k, physicsClientId=cid
                )
            ]
            for r in found:
                key = (k, i)
                if r[8] > MOUNT_TOLERANCE:
                    continue
                # contactNormalOnB points from the table (B) towards the robot (A): up along base z
                below = float(np.dot(r[7], z_base)) >= MOUNT_NORMAL_COS
                verdict[key] = verdict.get(key, True) and below
    return frozenset(k for k, ok in verdict.items() if ok)


def _ro(a: object) -> NDArrayF:
    arr = np.array(a, dtype=np.float64)
    arr.flags.writeable = False
    return arr


def _find_flange(joints: tuple[bl.JointInfo, ...], link_names: dict[int, str]) -> int:
    by_name = {v: k for k, v in link_names.items()}
    for name in FLANGE_LINK_NAMES:
        if name in by_name:
            return by_name[name]
    if not joints:
        raise ModelError("the robot URDF has no joints")
    log.warning(
        "robot URDF has no 'tool0'/'flange' link; using the last link %r", link_names[joints[-1].joint_index]
    )
    return joints[-1].joint_index


def _rigid_groups(parent: dict[int, int], is_fixed: dict[int, bool]) -> dict[int, int]:
    """Group id per link: links joined by fixed joints share the group of their top-most link."""
    group: dict[int, int] = {-1: -1}

    def find(k: int) -> int:
        if k not in group:
            group[k] = find(parent[k]) if is_fixed[k] else k
        return group[k]

    for k in parent:
        find(k)
    return group


def _build_cell_bodies(world: PybulletWorld, bodies: tuple[Body, ...]) -> tuple[tuple[int, ...], ...]:
    """The static pybullet bodies of each cell body (in order), each with collision margin 0.

    bullet rounds convex shapes by their collision margin (1 mm by default), so boxes measured up to
    0.7 mm too far at edges and corners; the margin of a multibody *link* cannot be changed (it sits
    in a compound shape), the margin of a body's base can: margin 0 gives exact box, cylinder, sphere
    and convex-hull distances, the same as the planner's. A body with several pieces (a mesh with
    several convex pieces, ``weldcell.sim.body_shapes``) gets one pybullet body per piece.
    """
    cid = world.client_id
    out = []
    for b in bodies:
        ids = []
        for col, vis, T_body_piece in pybullet_pieces(b.name, b.geometry, cid, ROLE_COLOURS[b.role]):
            pos, orn = bl.pos_quat_xyzw_from_se3(np.asarray(b.T_world_body) @ T_body_piece)
            body = int(
                pb.createMultiBody(
                    baseMass=0.0,
                    baseCollisionShapeIndex=col,
                    baseVisualShapeIndex=vis,
                    basePosition=pos,
                    baseOrientation=orn,
                    physicsClientId=cid,
                )
            )
            pb.changeDynamics(body, -1, collisionMargin=0.0, physicsClientId=cid)
            ids.append(body)
        out.append(tuple(ids))
    return tuple(out)


def _max_corner_distance(cid: int, body: int, link: int, origin: NDArrayF) -> float:
    if not bl.has_collision_shape(cid, body, link):
        return 0.0
    lo, hi = bl.aabb(cid, body, link)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    return float(np.linalg.norm(corners - origin, axis=1).max())


def _lever_arms(
    cid: int,
    robot: int,
    joints: tuple[bl.JointInfo, ...],
    movable: list[bl.JointInfo],
    link_names: dict[int, str],
    flange: int,
    torch_radius: float,
) -> dict[int, NDArrayF]:
    """Per robot link k: for each movable joint j, a bound on the distance from j's origin to k's points.

    Uses the triangle inequality along the kinematic chain (link-frame offsets are configuration
    independent) plus each link's extent (its AABB corners seen from the link frame), so the bound
    holds in every configuration. The torch counts as part of the flange link. Joints that do not
    carry link k get 0; prismatic joints get 1 (a displacement of |Δq| metres).
    """
    origin = {}
    for k in link_names:
        if k == -1:
            pos, _ = pb.getBasePositionAndOrientation(robot, physicsClientId=cid)
        else:
            pos = bl.link_state(cid, robot, k).link_frame_pos
        origin[k] = np.asarray(pos, dtype=np.float64)
    radius = {k: _max_corner_distance(cid, robot, k, origin[k]) for k in link_names}
    radius[flange] = max(radius[flange], torch_radius)
    parent = {j.joint_index: j.parent_index for j in joints}
    kinds = {j.joint_index: j.type for j in joints}
    column = {j.joint_index: c for c, j in enumerate(movable)}
    out: dict[int, NDArrayF] = {}
    for k in link_names:
        row = np.zeros(len(movable))
        acc = 0.0
        node = k
        while node != -1:
            if node in column:
                prismatic = kinds[node] is bl.JointType.PRISMATIC
                row[column[node]] = 1.0 if prismatic else acc + radius[k]
            acc += float(np.linalg.norm(origin[node] - origin[parent[node]]))
            node = parent[node]
        out[k] = _ro(row)
    return out
