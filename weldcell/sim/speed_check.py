"""Cartesian speed check of a trajectory against the controller's safety limits (TCP and elbow).

The controller (e.g. a UR in its default safety preset: tool and elbow speed 1.5 m/s,
:mod:`weldcell.kinematics.safety`) protective-stops the arm when the tool or the elbow moves faster
than its limit. The planner aims for a fraction of those limits; this check judges the trajectory
against the controller limits themselves, from pybullet's own forward kinematics: TCP positions
from the replay, elbow positions (origin of the link moved by the third joint, UR's elbow) from
``getLinkState``, speeds by central differences over the samples.
"""

from __future__ import annotations

from itertools import compress
from typing import Any

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.kinematics.safety import SafetyLimits, default_limits

NDArrayF = npt.NDArray[np.float64]


def controller_limits(robot: str, limits: SafetyLimits | None = None) -> SafetyLimits:
    """The controller safety limits to judge against: ``limits`` or the robot's default ones."""
    return limits if limits is not None else default_limits(robot)


def elbow_positions(scene: Any, q: NDArrayF, idx: tuple[int, ...]) -> NDArrayF:
    """World positions [m] (N, 3) of the elbow link frame for joint samples q (N, n) (pybullet FK).

    ``idx`` are the pybullet joint indices of the columns of q.
    """
    cid, robot = scene.client, scene.robot_id
    elbow = sorted(scene.joint_indices)[min(2, len(scene.joint_indices) - 1)]
    N = q.shape[0]
    moved = np.ones(N, dtype=bool)
    moved[1:] = np.any(q[1:] != q[:-1], axis=1)
    rows = q.tolist()
    one = [slice(j, j + 1) for j in range(len(idx))]
    out: list[float] = []
    for row in compress(rows, moved.tolist()):
        pb.resetJointStatesMultiDof(robot, idx, list(map(row.__getitem__, one)), physicsClientId=cid)
        out += pb.getLinkState(robot, elbow, 0, 0, cid)[4]
    src = np.cumsum(moved) - 1
    elbows: NDArrayF = np.asarray(out, dtype=np.float64).reshape(-1, 3)[src]
    return elbows


def speeds(p: NDArrayF, dt: float) -> NDArrayF:
    """Speed [m/s] (N,) of the point path p (N, 3) sampled every ``dt`` [s] (central differences)."""
    if p.shape[0] < 2:
        return np.zeros(p.shape[0])
    out: NDArrayF = np.linalg.norm(np.gradient(p, dt, axis=0), axis=1)
    return out
