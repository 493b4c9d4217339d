"""Positioners and robot tracks: models from ``urdf/`` with vectorised forward kinematics (numpy only).

``load_positioner(name)`` reads the URDF of a shipped positioner (``turntable_1ax``,
``tilt_rotate_2ax``, ``headstock_1ax``) or track (``track_1ax``) and returns a frozen
:class:`PositionerModel`: axis names and kinds, position / speed / acceleration limits and
``T_base_flange(q)`` for many configurations at once. The URDF is the source of the kinematics
(joint origins, axes, limits, speeds); acceleration limits and the payload come from
:mod:`weldcell.kinematics.positioner_specs` (URDF has no field for them).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError, ModelError, UnknownModelError
from weldcell.kinematics.positioner_specs import POSITIONER_SPECS
from weldcell.resources import data_dir
from weldcell.spatial.se3 import se3_from_xyz_rpy

NDArrayF = npt.NDArray[np.float64]


def positioner_names() -> tuple[str, ...]:
    """Names accepted by :func:`load_positioner` (positioners and tracks)."""
    return tuple(POSITIONER_SPECS)


def _ro(a: npt.ArrayLike) -> NDArrayF:
    arr = np.array(a, dtype=np.float64, copy=True)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, slots=True, eq=False)
class PositionerModel:
    """A positioner or track: a serial chain of k revolute / prismatic axes from ``base`` to ``flange``.

    Attributes:
        name: Model name.
        role: ``"positioner"`` (the part is mounted on the flange) or ``"track"`` (the robot is).
        urdf: Path of the URDF.
        axis_names: Joint names, length k.
        kinds: ``"revolute"`` [rad] or ``"prismatic"`` [m] per axis.
        T_parent_joint: Joint origins in their parent link, shape (k, 4, 4).
        axes: Axis unit vectors in the joint frames, shape (k, 3).
        T_last_flange: Flange in the last axis link, shape (4, 4).
        lower, upper: Position limits [rad or m], shape (k,).
        qd_max: Speed limits [rad/s or m/s], shape (k,).
        qdd_max: Acceleration limits [rad/s² or m/s²], shape (k,).
        payload_kg: Rated payload [kg].
    """

    name: str
    role: str
    urdf: Path
    axis_names: tuple[str, ...]
    kinds: tuple[str, ...]
    T_parent_joint: NDArrayF
    axes: NDArrayF
    T_last_flange: NDArrayF
    lower: NDArrayF
    upper: NDArrayF
    qd_max: NDArrayF
    qdd_max: NDArrayF
    payload_kg: float

    @property
    def n_axes(self) -> int:
        """Number of axes k."""
        return len(self.axis_names)

    def T_base_flange(self, q: npt.ArrayLike) -> NDArrayF:
        """Flange poses in the device base frame.

        Args:
            q: Axis positions [rad or m], shape (k,) or (N, k).

        Returns:
            ``T_base_flange``, shape (4, 4) or (N, 4, 4).

        Raises:
            InputShapeError: wrong shape or non-finite values.
        """
        qa = np.asarray(q, dtype=np.float64)
        single = qa.ndim == 1
        Q = np.atleast_2d(qa)
        k = self.n_axes
        if Q.ndim != 2 or Q.shape[1] != k:
            raise InputShapeError(f"{self.name}: q must have shape (N, {k}) or ({k},), got {qa.shape}")
        if not np.all(np.isfinite(Q)):
            raise InputShapeError(f"{self.name}: q contains NaN or infinite values")
        n = Q.shape[0]
        T = np.broadcast_to(np.eye(4), (n, 4, 4)).copy()
        for j in range(k):  # over the k ≤ 2 axes, vectorised over the N configurations
            T = T @ self.T_parent_joint[j]
            T = T @ _joint_motion(self.kinds[j], self.axes[j], Q[:, j])
        T = T @ self.T_last_flange
        return T[0] if single else T

    def check_limits(self, q: npt.ArrayLike, tol: float = 1e-9) -> NDArrayF:
        """Per configuration, how far ``q`` (N, k) lies outside the limits [rad or m] (0 inside), (N,)."""
        Q = np.atleast_2d(np.asarray(q, dtype=np.float64))
        over = np.maximum(Q - self.upper, 0.0) + np.maximum(self.lower - Q, 0.0)
        result: NDArrayF = np.where(over > tol, over, 0.0).max(axis=1)
        return result


def _joint_motion(kind: str, axis: NDArrayF, q: NDArrayF) -> NDArrayF:
    """Motion of one joint at positions ``q`` (N,): rotation about / shift along ``axis``, (N, 4, 4)."""
    n = q.shape[0]
    M = np.broadcast_to(np.eye(4), (n, 4, 4)).copy()
    if kind == "prismatic":
        M[:, :3, 3] = q[:, None] * axis
        return M
    x, y, z = axis
    K = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    s, c = np.sin(q)[:, None, None], np.cos(q)[:, None, None]
    M[:, :3, :3] = np.eye(3) + s * K + (1.0 - c) * (K @ K)
    return M


def _floats(text: str | None, n: int, what: str) -> NDArrayF:
    if text is None:
        return np.zeros(n)
    vals = np.array([float(v) for v in text.split()], dtype=np.float64)
    if vals.shape != (n,):
        raise ModelError(f"{what}: expected {n} numbers, got {text!r}")
    return vals


def load_positioner(name: str) -> PositionerModel:
    """Load a shipped positioner or track by name (:func:`positioner_names`).

    Raises:
        UnknownModelError: unknown name; the message lists the known names.
        ModelError: the URDF is not a serial chain from ``base`` to ``flange``.
    """
    if name not in POSITIONER_SPECS:
        raise UnknownModelError(
            f"unknown positioner {name!r}; known positioners and tracks: {', '.join(positioner_names())}"
        )
    spec = POSITIONER_SPECS[name]
    path = data_dir("urdf") / f"{name}.urdf"
    root = ET.parse(path).getroot()
    by_child = {j.find("child").get("link"): j for j in root.iter("joint")}  # type: ignore[union-attr]
    chain: list[ET.Element] = []
    link = "flange"
    while link != "base":
        joint = by_child.get(link)
        if joint is None:
            raise ModelError(f"{path}: no joint leads to link {link!r} (expected a chain base -> flange)")
        chain.append(joint)
        parent = joint.find("parent")
        link = "" if parent is None else str(parent.get("link", ""))
    chain.reverse()
    moving = [j for j in chain if j.get("type") in ("revolute", "prismatic")]
    if not moving or chain[-1].get("type") != "fixed" or [j for j in chain[:-1] if j not in moving]:
        raise ModelError(f"{path}: expected moving joints followed by one fixed flange joint")

    def origin(j: ET.Element) -> NDArrayF:
        o = j.find("origin")
        where = f"{path} joint {j.get('name')!r} origin"
        if o is None:
            return np.eye(4)
        return se3_from_xyz_rpy(_floats(o.get("xyz"), 3, where), _floats(o.get("rpy"), 3, where))

    def limit(j: ET.Element, attr: str) -> float:
        lim = j.find("limit")
        if lim is None or lim.get(attr) is None:
            raise ModelError(f"{path} joint {j.get('name')!r}: <limit {attr}=...> missing")
        return float(lim.get(attr))  # type: ignore[arg-type]

    axes = []
    for j in moving:
        a = _floats(j.find("axis").get("xyz") if j.find("axis") is not None else "1 0 0", 3, "axis")  # type: ignore[union-attr]
        axes.append(a / np.linalg.norm(a))
    names = tuple(str(j.get("name")) for j in moving)
    if names != tuple(a.name for a in spec.axes):
        raise ModelError(f"{path}: axes {names} do not match the spec {[a.name for a in spec.axes]}")
    return PositionerModel(
        name=name,
        role=spec.role,
        urdf=path,
        axis_names=names,
        kinds=tuple(str(j.get("type")) for j in moving),
        T_parent_joint=_ro(np.stack([origin(j) for j in moving])),
        axes=_ro(np.stack(axes)),
        T_last_flange=_ro(origin(chain[-1])),
        lower=_ro([limit(j, "lower") for j in moving]),
        upper=_ro([limit(j, "upper") for j in moving]),
        qd_max=_ro([limit(j, "velocity") for j in moving]),
        qdd_max=_ro([a.qdd_max for a in spec.axes]),
        payload_kg=spec.payload_kg,
    )
