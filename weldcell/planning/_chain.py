"""A serial/tree kinematic chain read from a robot's URDF, in the form the numba kernels use.

The URDF is read by the kinematics layer (:func:`weldcell.kinematics.urdf.read_urdf_tree`, the one URDF
reader); this module only orders the tree and matches it to ``Robot.fk``.

The chain is expressed in the robot ``base`` frame (the controller Base frame that ``Robot.fk`` uses):
the offset between the URDF root link and ``base`` and the link that is the ``flange`` are found by
matching the chain against ``robot.fk`` at random configurations, so the chain never disagrees with
the kinematics module about frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.errors import ModelError
from weldcell.kinematics.urdf import read_urdf_tree
from weldcell.spatial import invert_transforms

if TYPE_CHECKING:
    from weldcell.kinematics import Robot

log = logging.getLogger(__name__)
NDArrayF = npt.NDArray[np.float64]
NDArrayI = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class KinematicChain:
    """Links in topological order: ``pose[k] = pose[parent[k]] @ origin[k] @ Rot(axis[k], q[qidx[k]])``.

    Attributes:
        link_names: URDF link names, length L.
        parent: Parent link index per link, -1 for the root, shape (L,).
        origin: Fixed transform parent -> link at q = 0, shape (L, 4, 4); for the root ``T_base_root``.
        axis: Unit joint axis in the link frame, shape (L, 3).
        qidx: Index of the joint variable driving the link, -1 for fixed links, shape (L,).
        flange_link: Index of the link whose frame is the flange (tool0).
    """

    link_names: tuple[str, ...]
    parent: NDArrayI
    origin: NDArrayF
    axis: NDArrayF
    qidx: NDArrayI
    flange_link: int

    def index(self, link: str) -> int:
        """Index of ``link``; ``"flange"`` maps to the flange link."""
        if link == "flange" and "flange" not in self.link_names:
            return self.flange_link
        try:
            return self.link_names.index(link)
        except ValueError:
            raise ModelError(
                f"link {link!r} is not in the robot URDF; links: {list(self.link_names)}"
            ) from None

    def rigid_groups(self) -> NDArrayI:
        """Per link, the index of the rigid body it belongs to (links joined by fixed joints share one)."""
        group = np.arange(len(self.link_names))
        for k in range(len(self.link_names)):
            if self.qidx[k] < 0 and self.parent[k] >= 0:
                group[k] = group[self.parent[k]]
        return group


def chain_from_robot(robot: Robot, rng: np.random.Generator | None = None) -> KinematicChain:
    """Build the chain of ``robot`` (a ``weldcell.kinematics.Robot``) from its URDF.

    Raises:
        ModelError: the URDF has prismatic joints, joints not known to the robot, or no link that
            matches ``robot.fk``.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    root, joints = read_urdf_tree(Path(robot.urdf_path))
    by_child = {c: (j.name, j.kind, j.parent, j.T_parent_child, j.axis) for c, j in joints.items()}
    joint_names = list(robot.joint_names)
    # topological order by walking up from every link
    order: list[str] = []

    def visit(link: str) -> None:
        if link in order:
            return
        if link in by_child:
            visit(by_child[link][2])
        order.append(link)

    visit(root)
    for child in by_child:
        visit(child)
    L = len(order)
    parent = np.full(L, -1, dtype=np.int64)
    origin = np.tile(np.eye(4), (L, 1, 1))
    axis = np.tile(np.array([0.0, 0.0, 1.0]), (L, 1))
    qidx = np.full(L, -1, dtype=np.int64)
    for k, link in enumerate(order):
        if link not in by_child:
            continue
        jname, jtype, plink, T, ax = by_child[link]
        parent[k] = order.index(plink)
        origin[k] = T
        axis[k] = ax
        if jtype in ("revolute", "continuous"):
            if jname not in joint_names:
                raise ModelError(f"URDF joint {jname!r} is not a joint of robot {robot.name}: {joint_names}")
            qidx[k] = joint_names.index(jname)
        elif jtype != "fixed":
            raise ModelError(f"URDF joint {jname!r} has type {jtype!r}; only revolute chains are supported")
    chain0 = KinematicChain(tuple(order), parent, origin, axis, qidx, 0)
    # find the flange link and T_base_root by matching robot.fk
    lo = np.maximum(np.asarray(robot.q_lower, dtype=np.float64), -np.pi)
    hi = np.minimum(np.asarray(robot.q_upper, dtype=np.float64), np.pi)
    Q = rng.uniform(lo, hi, size=(3, len(joint_names)))
    T_base_flange = np.asarray(robot.fk(Q), dtype=np.float64)
    P = chain_link_poses(chain0, Q)
    preferred = [n for n in ("flange", "tool0") if n in order]
    candidates = [order.index(n) for n in preferred] + [k for k in range(L - 1, -1, -1)]
    for k in candidates:
        D = T_base_flange @ invert_transforms(P[:, k])
        if np.allclose(D[0], D[1], atol=1e-6) and np.allclose(D[0], D[2], atol=1e-6):
            origin = origin.copy()
            origin[0] = D[0] @ origin[0]
            log.debug("robot %s: flange link %s", robot.name, order[k])
            return KinematicChain(tuple(order), parent, origin, axis, qidx, k)
    raise ModelError(f"robot {robot.name}: no URDF link matches the flange pose of Robot.fk")


def chain_link_poses(chain: KinematicChain, Q: npt.ArrayLike) -> NDArrayF:
    """Link poses (M, L, 4, 4) in the base frame (numpy reference implementation)."""
    from weldcell.spatial import rotation_from_axis_angle

    Qa = np.atleast_2d(np.asarray(Q, dtype=np.float64))
    M = Qa.shape[0]
    L = len(chain.link_names)
    out = np.zeros((M, L, 4, 4))
    for k in range(L):
        local = np.broadcast_to(chain.origin[k], (M, 4, 4)).copy()
        if chain.qidx[k] >= 0:
            R = rotation_from_axis_angle(chain.axis[k], Qa[:, chain.qidx[k]])
            local[:, :3, :3] = local[:, :3, :3] @ R
        out[:, k] = local if chain.parent[k] < 0 else out[:, chain.parent[k]] @ local
    return out
