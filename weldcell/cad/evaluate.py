"""Score detected seams against known ones (tests and ``benchmarks/seam_detection.py``).

Both sides are sampled every 0.5 mm. A detected seam is a true positive when at least ``cover``
of its samples lie within ``match_tol`` of known seams of the same joint type running the same
way (tangents within 5°, so that at a corner the crossing seam does not count) and welded from the
same side (torch directions within 45°: the two grooves of an open corner share their root); a known
seam is found when at least ``cover`` of its samples lie within ``match_tol`` of detected seams of its
type. On the true positives: the position error is each sample's distance across the matched
known seam (perpendicular to it, so that a seam that stops short is not counted here), and the
work-angle error is the angle between the detected and the known torch directions (the torch
direction from the root at the bisecting work angle, which also captures the normals).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from weldcell.cad.seam import SeamCandidate
from weldcell.cad.testparts import KnownSeam

NDArrayF = npt.NDArray[np.float64]
#: Largest angle between a detected and a known torch direction for them to be the same seam [rad].
SAME_SIDE = float(np.deg2rad(45.0))


@dataclass(frozen=True, slots=True)
class Score:
    """Counts and errors of one comparison.

    Attributes:
        true_pos: Detected seams that match a known seam.
        detected: Detected seams.
        found: Known seams that were detected.
        known: Known seams.
        position_err: Position errors [m] of every matched sample, shape (k,).
        angle_err: Torch-direction errors [rad] of every matched sample, shape (k,).
    """

    true_pos: int
    detected: int
    found: int
    known: int
    position_err: NDArrayF
    angle_err: NDArrayF


def score(
    detected: Sequence[SeamCandidate], known: Sequence[KnownSeam], match_tol: float = 2e-3, cover: float = 0.9
) -> Score:
    """Compare detected against known seams (see the module docstring)."""
    step = 0.5e-3
    det = []
    for s in detected:
        p, w = s.sample_torch(step)
        det.append((s.joint, p, w, s.sample(step)[1]))
    kn = []
    for k in known:
        tan = np.gradient(k.points, axis=0)
        tan /= np.linalg.norm(tan, axis=1, keepdims=True)
        kn.append((k.joint, k.points, k.torch, tan))
    tp = 0
    pos: list[NDArrayF] = []
    ang: list[NDArrayF] = []
    for joint, p, w, t in det:
        same = [x for x in kn if x[0] == joint]
        if not same:
            continue
        G = np.concatenate([x[1] for x in same])
        GW = np.concatenate([x[2] for x in same])
        GT = np.concatenate([x[3] for x in same])
        # nearest known sample running the same way (at a corner the other seam's samples are
        # as close, but cross it)
        d, j = cKDTree(G).query(p, k=min(16, len(G)), distance_upper_bound=match_tol)
        d, j = np.atleast_2d(d), np.atleast_2d(j)
        valid = np.isfinite(d)
        jj = np.where(valid, j, 0)
        aligned = np.abs(np.einsum("kmj,kj->km", GT[jj], t)) >= np.cos(np.deg2rad(5.0))
        # and welded from the same side (the two grooves of an open corner share their root)
        aligned &= np.einsum("kmj,kj->km", GW[jj], w) >= np.cos(SAME_SIDE)
        d = np.where(valid & aligned, d, np.inf)
        best = np.argmin(d, axis=1)
        ok = np.isfinite(d[np.arange(len(p)), best])
        if np.mean(ok) < cover:
            continue
        tp += 1
        g = jj[np.arange(len(p)), best][ok]
        r = p[ok] - G[g]
        along = np.einsum("ij,ij->i", r, GT[g])
        pos.append(np.linalg.norm(r - along[:, None] * GT[g], axis=1))
        ang.append(np.arccos(np.clip(np.einsum("ij,ij->i", w[ok], GW[g]), -1.0, 1.0)))
    found = 0
    for joint, g, gw, _ in kn:
        same_d = [x for x in det if x[0] == joint]
        if not same_d:
            continue
        D = np.concatenate([x[1] for x in same_d])
        DW = np.concatenate([x[2] for x in same_d])
        d, j = cKDTree(D).query(g, k=min(16, len(D)), distance_upper_bound=match_tol)
        d, j = np.atleast_2d(d), np.atleast_2d(j)
        valid = np.isfinite(d)
        side = np.einsum("kmj,kj->km", DW[np.where(valid, j, 0)], gw) >= np.cos(SAME_SIDE)
        found += int(np.mean(np.any(valid & side, axis=1)) >= cover)
    return Score(
        true_pos=tp,
        detected=len(det),
        found=found,
        known=len(kn),
        position_err=np.concatenate(pos) if pos else np.zeros(0),
        angle_err=np.concatenate(ang) if ang else np.zeros(0),
    )
