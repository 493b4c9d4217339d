"""Seam frames and torch orientation from work and travel angles (vectorised over samples).

Conventions (also in ``docs/program-format.md``), all per sample along the seam:

* ``t``: unit travel direction. ``n1``: outward normal of surface 1 (the reference surface),
  ``n2``: outward normal of surface 2; both made perpendicular to ``t``. A butt / groove joint has
  only the reference face normal ``n1``.
* ``t_geo``: the direction the curve is written in (``t``, or ``-t`` for ``direction: reverse``).
* ``u1``: direction *in* surface 1, perpendicular to the seam, pointing away from the root into the
  open side of the joint: ``u1 = unit(n2 - (n2·n1) n1)``; for a one-face joint ``u1 = n1 × t_geo``.
* Joint frame J: ``x = t_geo``, ``z = -b`` with the bisector ``b = unit(n1 + n2)`` (one-face joint:
  ``b = n1``), ``y = z × x``. Pass offsets are written in J: ``lateral`` along y, ``height`` along -z,
  so reversing the weld direction welds the same beads.
* Work angle α: angle, in the plane across the joint, between surface 1 and the torch axis. The
  direction from the joint back to the torch is ``w = cos α u1 + sin α n1`` (α = 45° bisects a 90°
  fillet, α = 90° is square to the face).
* Seam frame S (for a given α): ``x = t``, ``z = -w`` (the torch approach without travel angle),
  ``y = z × x``. Weave offsets are written in S.
* Travel angle β (push > 0, drag < 0): the torch axis is tilted in the x-z plane of S so that the
  approach direction leans forward for push: ``z_tcp = cos β z_S + sin β x_S``. As a rotation:
  ``R_world_tcp = R_world_S · Ry(β) · Rz(γ)`` with γ the rotation about the torch axis.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

NDArrayF = npt.NDArray[np.float64]


def _unit(v: NDArrayF) -> NDArrayF:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(v / n, dtype=np.float64)


def _perp(v: NDArrayF, t: NDArrayF) -> NDArrayF:
    return _unit(v - np.einsum("...i,...i->...", v, t)[..., None] * t)


def joint_directions(
    t: NDArrayF, n1: NDArrayF, n2: NDArrayF | None, t_ref: NDArrayF | None = None
) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
    """Surface-1 normal, in-surface direction ``u1`` and bisector ``b``, each (N, 3), all ⊥ ``t``.

    Args:
        t: Unit travel directions (N, 3).
        n1: Outward normals of the reference surface (N, 3).
        n2: Outward normals of surface 2 (N, 3), or None for a one-face (butt / groove) joint.
        t_ref: Direction the seam curve is written in (N, 3), default ``t``. A one-face joint takes
            ``u1 = n1 × t_ref``, so welding the seam in reverse keeps the torch tilt on the same side.
    """
    n1p = _perp(n1, t)
    if n2 is None:
        return n1p, _unit(np.cross(n1p, t if t_ref is None else t_ref)), n1p
    n2p = _perp(n2, t)
    u1 = _unit(n2p - np.einsum("...i,...i->...", n2p, n1p)[..., None] * n1p)
    return n1p, u1, _unit(n1p + n2p)


def joint_frame(t: NDArrayF, b: NDArrayF) -> NDArrayF:
    """Rotation matrices (N, 3, 3) of the joint frame J: columns x = t, y = z × x, z = -b.

    Pass offsets use the joint frame built with the direction the curve is *written* in, so that
    ``direction: reverse`` welds the same beads backwards.
    """
    z = -b
    return np.stack([t, np.cross(z, t), z], axis=-1)


def seam_frame(t: NDArrayF, n1p: NDArrayF, u1: NDArrayF, work_angle: float) -> NDArrayF:
    """Rotation matrices (N, 3, 3) of the seam frame S for work angle ``work_angle`` [rad]."""
    w = np.cos(work_angle) * u1 + np.sin(work_angle) * n1p
    z = -w
    return np.stack([t, np.cross(z, t), z], axis=-1)


def torch_rotation(R_world_seam: NDArrayF, travel_angle: float, rotation: float = 0.0) -> NDArrayF:
    """``R_world_tcp = R_world_seam · Ry(travel_angle) · Rz(rotation)``, shape (N, 3, 3).

    Args:
        R_world_seam: Seam frames (N, 3, 3).
        travel_angle: Travel angle β [rad], push positive.
        rotation: Rotation γ about the torch (TCP z) axis [rad].
    """
    cb, sb = np.cos(travel_angle), np.sin(travel_angle)
    cg, sg = np.cos(rotation), np.sin(rotation)
    Ry = np.array([[cb, 0.0, sb], [0.0, 1.0, 0.0], [-sb, 0.0, cb]])
    Rz = np.array([[cg, -sg, 0.0], [sg, cg, 0.0], [0.0, 0.0, 1.0]])
    result: NDArrayF = R_world_seam @ (Ry @ Rz)
    return result


def torch_angles(
    z_tcp: NDArrayF, t: NDArrayF, n1: NDArrayF, n2: NDArrayF | None, t_ref: NDArrayF | None = None
) -> tuple[NDArrayF, NDArrayF]:
    """Work and travel angles [rad] measured back from torch axes (inverse of the construction).

    Args:
        z_tcp: Torch approach directions (TCP z axes) (N, 3).
        t: Travel directions (N, 3).
        n1: Reference surface normals (N, 3).
        n2: Surface-2 normals (N, 3) or None.
        t_ref: Direction the curve is written in (one-face joints), default ``t``.

    Returns:
        (work_angle (N,), travel_angle (N,)) [rad].
    """
    n1p, u1, _ = joint_directions(t, n1, n2, t_ref)
    zt = np.einsum("...i,...i->...", z_tcp, t)
    travel = np.arcsin(np.clip(zt, -1.0, 1.0))
    w = -_unit(z_tcp - zt[..., None] * t)
    work = np.arctan2(np.einsum("...i,...i->...", w, n1p), np.einsum("...i,...i->...", w, u1))
    return work, travel
