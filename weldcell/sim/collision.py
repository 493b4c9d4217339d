"""Clearance queries with pybullet's own collision detection, and the planner's ``CollisionChecker``.

The robot and torch carry the planner's capsules as their collision shapes
(:mod:`weldcell.sim.capsule_urdf`) and cell bodies have no collision margin, so pybullet measures
the same geometry as the planner's checker (to well under 0.1 mm); both apply the same rules with
the same numbers, as written.

Rules (:class:`ClearanceRules`), per pair of things that can meet:

* robot link or torch part (mount, body, neck, gas nozzle) vs any cell body: ``clearance`` (the
  program's ``clearance_mm``, as written). **The nozzle rule**: the gas nozzle keeps the program's
  clearance from the workpiece like every other part; at 15 mm stick-out a 45° fillet leaves it
  about 3.8 mm, so programs use 2-3 mm;
* contact tip vs workpieces: ``nozzle_clearance`` (1 mm; it sits in the nozzle mouth), vs other
  bodies: ``clearance``;
* the wire stick-out vs workpieces: not checked (the wire tip is *meant* to reach the joint), vs
  everything else: contact only (margin 0);
* robot links vs robot links that are not adjacent, and torch vs robot links other than its mount
  and the link before it: ``self_clearance``;
* a robot link rigidly attached to the base vs the table it stands on is not measured: the scene
  lists these contacts explicitly (:attr:`Scene.mount_contacts`, found when it is built: touching,
  contact normal along the base z axis); the validation report names them in its notes.

A query returns every pair closer than its margin plus ``lookahead`` [m] as :class:`Proximity`
values; pairs farther away are not reported (pybullet's broad phase drops them cheaply).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.errors import InputShapeError
from weldcell.sim.scene import Scene, TorchPart
from weldcell.trajectory.margins import NOZZLE_CLEARANCE, SELF_CLEARANCE

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ClearanceRules:
    """Minimum distances [m] between the robot/torch and the cell or itself (see module docstring)."""

    clearance: float = 0.01
    nozzle_clearance: float = NOZZLE_CLEARANCE
    self_clearance: float = SELF_CLEARANCE

    def __post_init__(self) -> None:
        for name in ("clearance", "nozzle_clearance", "self_clearance"):
            if not getattr(self, name) >= 0:
                raise InputShapeError(f"ClearanceRules.{name} must be >= 0 m, got {getattr(self, name)}")

    @property
    def max_margin(self) -> float:
        """Largest margin of any rule [m]."""
        return max(self.clearance, self.nozzle_clearance, self.self_clearance)


@dataclass(frozen=True, slots=True)
class Proximity:
    """Two things closer than ``margin`` + the query's lookahead.

    Attributes:
        a: Moving part, "robot/<link>" or "torch/<link>".
        b: The other part, "cell/<body>", "robot/<link>" or "torch/<link>".
        distance: Signed distance [m] (negative = penetration).
        margin: Required clearance for this pair [m].
        rule: Which rule applied: "robot-cell", "<torch part>-<body role>" (e.g. "nozzle-workpiece"),
            "torch-robot" or "self".
    """

    a: str
    b: str
    distance: float
    margin: float
    rule: str

    @property
    def slack(self) -> float:
        """``distance - margin`` [m]; negative = violation."""
        return self.distance - self.margin


def _torch_margin(part: TorchPart, role: str, rules: ClearanceRules) -> float | None:
    if part is TorchPart.WIRE:
        return None if role == "workpiece" else 0.0
    if part is TorchPart.TIP and role == "workpiece":
        return rules.nozzle_clearance
    return rules.clearance


@dataclass(frozen=True, slots=True)
class QueryUnit:
    """One ``getClosestPoints`` call of a full clearance query.

    Attributes:
        kind: "robot-cell", "torch-cell", "torch-robot" or "self".
        link_a, link_b: Robot link pair (kind "self"); torch link in ``link_a`` (kind "torch-cell");
            robot link in ``link_b`` (kind "torch-robot", all torch links against it).
        lever_arms: Per movable joint of the scene (scene order): bound [m] on how far a unit turn
            of that joint moves the measured parts relative to each other (0 = no effect).
    """

    kind: str
    link_a: int
    link_b: int
    lever_arms: tuple[float, ...]


def query_units(scene: Scene) -> tuple[QueryUnit, ...]:
    """The calls that together make up :func:`proximities`, with the joints each depends on.

    Lever arms per unit: robot vs cell, the largest lever arm of any robot link with a collision
    shape (the torch is a separate body with its own units); torch link vs cell, that of the flange
    (which includes the torch); torch vs one robot link and robot link vs robot link, only the
    joints between the two links (a rigid pair does not move relative to itself).
    """
    collidable = scene.collision_links or frozenset(scene.link_names)
    robot_only = tuple(
        float(x) for x in np.max(np.stack([scene.link_lever_arms[k] for k in sorted(collidable)]), axis=0)
    )
    with_torch = tuple(float(x) for x in scene.link_lever_arms[scene.flange_link])
    units = []
    if scene.cell_ids:
        units.append(QueryUnit("robot-cell", -1, -1, robot_only))
        for k in sorted(scene.torch_extent):  # one unit per torch link: the nozzle is queried most
            units.append(QueryUnit("torch-cell", k, -1, with_torch))
    if scene.torch_id is not None:
        for k in sorted(collidable - scene.torch_skip_links):  # the torch is rigid with the flange
            units.append(QueryUnit("torch-robot", -1, k, _relative_lever_arms(scene, k, scene.flange_link)))
    for a, b in scene.self_pairs:
        units.append(QueryUnit("self", a, b, _relative_lever_arms(scene, a, b)))
    return tuple(units)


def _relative_lever_arms(scene: Scene, a: int, b: int) -> tuple[float, ...]:
    """Lever arms of the joints that move robot links ``a`` and ``b`` relative to each other."""
    anc_a, anc_b = scene.ancestor_joints(a), scene.ancestor_joints(b)
    la, lb = scene.link_lever_arms[a], scene.link_lever_arms[b]
    return tuple(
        float(lb[c]) if j in anc_b - anc_a else float(la[c]) if j in anc_a - anc_b else 0.0
        for c, j in enumerate(scene.joint_indices)
    )


def query(scene: Scene, unit: QueryUnit, rules: ClearanceRules, lookahead: float) -> list[Proximity]:
    """Run one unit at the scene's current configuration: pairs within margin + ``lookahead`` [m].

    One result per pair of links/bodies (the closest of their shapes), in a deterministic order.
    """
    cid = scene.client
    best: dict[tuple[int, int], tuple[float, float, str]] = {}  # (link a, link b) -> distance, margin, rule
    robot, torch = scene.robot_id, scene.torch_id
    if unit.kind == "robot-cell":
        cap = rules.clearance + lookahead
        mount = scene.mount_contacts
        for i, pieces in enumerate(scene.cell_piece_ids):
            for r in (
                r for body in pieces for r in pb.getClosestPoints(robot, body, cap, physicsClientId=cid)
            ):
                key = (r[3], i)
                if key in best and best[key][0] <= r[8]:
                    continue
                if key in mount:  # the robot stands on this table
                    continue
                best[key] = (r[8], rules.clearance, "robot-cell")
    elif unit.kind == "torch-cell":
        cap = rules.max_margin + lookahead
        part = scene.torch_parts[unit.link_a]
        for i, pieces in enumerate(scene.cell_piece_ids):
            role = scene.cell.bodies[i].role
            margin = _torch_margin(part, role, rules)
            if margin is None:
                continue
            found = (
                r
                for body in pieces
                for r in pb.getClosestPoints(torch, body, cap, linkIndexA=unit.link_a, physicsClientId=cid)
            )
            for r in found:
                key = (r[3], i)
                if key in best and best[key][0] <= r[8]:
                    continue
                if r[8] < margin + lookahead:
                    best[key] = (r[8], margin, f"{part.value}-{role}")
    elif unit.kind == "torch-robot":
        cap = rules.self_clearance + lookahead
        for r in pb.getClosestPoints(torch, robot, cap, linkIndexB=unit.link_b, physicsClientId=cid):
            key = (r[3], r[4])
            if key not in best or r[8] < best[key][0]:
                best[key] = (r[8], rules.self_clearance, "torch-robot")
    else:
        a, b = unit.link_a, unit.link_b
        cap = rules.self_clearance + lookahead
        res = pb.getClosestPoints(robot, robot, cap, linkIndexA=a, linkIndexB=b, physicsClientId=cid)
        if res:
            best[(a, b)] = (min(r[8] for r in res), rules.self_clearance, "self")
    return [_proximity(scene, unit.kind, key, *val) for key, val in sorted(best.items())]


def _proximity(
    scene: Scene, kind: str, key: tuple[int, int], distance: float, margin: float, rule: str
) -> Proximity:
    a, b = key
    ln = scene.link_names
    if kind == "robot-cell":
        return Proximity(f"robot/{ln[a]}", f"cell/{scene.cell.bodies[b].name}", distance, margin, rule)
    if kind == "torch-cell":
        return Proximity(
            f"torch/{scene.torch_link_names[a]}", f"cell/{scene.cell.bodies[b].name}", distance, margin, rule
        )
    if kind == "torch-robot":
        return Proximity(f"torch/{scene.torch_link_names[a]}", f"robot/{ln[b]}", distance, margin, rule)
    return Proximity(f"robot/{ln[a]}", f"robot/{ln[b]}", distance, margin, rule)


def proximities(scene: Scene, rules: ClearanceRules, lookahead: float) -> list[Proximity]:
    """Pairs within margin + ``lookahead`` [m] at the scene's current configuration.

    Call :meth:`Scene.set_configuration` first. Results come in a deterministic order.
    """
    out: list[Proximity] = []
    for unit in query_units(scene):
        out += query(scene, unit, rules, lookahead)
    return out


def worst_per_pair(items: list[Proximity]) -> dict[tuple[str, str], Proximity]:
    """The closest result for each (a, b) pair (a link pair may report several contact points)."""
    best: dict[tuple[str, str], Proximity] = {}
    for p in items:
        key = (p.a, p.b)
        if key not in best or p.slack < best[key].slack:
            best[key] = p
    return best


class PybulletCollisionChecker:
    """The planner's ``CollisionChecker`` protocol answered by pybullet on a built :class:`Scene`.

    Joint vectors are in ``joint_names`` order (default: the robot URDF's movable joints).

    Args:
        scene: A scene from :func:`weldcell.sim.build_scene` (its world must stay open).
        rules: Clearances; by default the cell's clearance and the default nozzle/self clearances.
        joint_names: Order of the columns of ``q``.
        clearance_range: Largest distance [m] that :meth:`clearance` resolves; farther is reported
            as this value.
    """

    def __init__(
        self,
        scene: Scene,
        rules: ClearanceRules | None = None,
        joint_names: tuple[str, ...] | None = None,
        clearance_range: float = 0.5,
    ) -> None:
        self.scene = scene
        self.rules = rules if rules is not None else ClearanceRules(clearance=scene.cell.clearance)
        self._idx = scene.joint_order(joint_names) if joint_names is not None else scene.joint_indices
        self.clearance_range = clearance_range

    def _q(self, q: npt.ArrayLike) -> NDArrayF:
        arr = np.atleast_2d(np.asarray(q, dtype=np.float64))
        if arr.ndim != 2 or arr.shape[1] != len(self._idx):
            raise InputShapeError(f"q: expected shape (M, {len(self._idx)}), got {np.shape(q)}")
        return arr

    def check(self, q: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True where the configuration keeps every clearance, q (M, n) [rad] -> (M,) bool."""
        qs = self._q(q)
        out = np.empty(len(qs), dtype=bool)
        for i, qi in enumerate(qs):
            self.scene.set_configuration(qi, self._idx)
            out[i] = all(p.slack >= 0 for p in proximities(self.scene, self.rules, 0.0))
        return out

    def clearance(self, q: npt.ArrayLike) -> NDArrayF:
        """Smallest distance [m] between robot/torch and the cell or itself, q (M, n) -> (M,).

        Pairs that the rules skip (wire vs workpiece, mount links) are not counted; distances beyond
        ``clearance_range`` are reported as ``clearance_range``; negative = penetration depth.
        """
        qs = self._q(q)
        out = np.full(len(qs), self.clearance_range)
        look = self.clearance_range
        for i, qi in enumerate(qs):
            self.scene.set_configuration(qi, self._idx)
            d = [p.distance for p in proximities(self.scene, self.rules, look)]
            if d:
                out[i] = min(min(d), self.clearance_range)
        return out

    def colliding_bodies(self, q: npt.ArrayLike) -> list[tuple[str, str]]:
        """Pairs closer than their clearance at one configuration q (n,).

        Example: ``[("torch/torch_neck", "cell/clamp")]``.
        """
        qi = self._q(q)
        if len(qi) != 1:
            raise InputShapeError(f"colliding_bodies takes one configuration, got {len(qi)}")
        self.scene.set_configuration(qi[0], self._idx)
        pairs = worst_per_pair(proximities(self.scene, self.rules, 0.0))
        return sorted(k for k, p in pairs.items() if p.slack < 0)
