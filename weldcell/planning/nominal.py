"""Preference for the programmed torch angles: the cost of using a tolerance.

A procedure may let the planner deviate from the programmed work and travel angles (``tolerance``)
and turn the torch about its axis within ``±tolerance_deg`` of a fixed rotation. Those margins are
there to get round an obstacle or a joint limit, not to be used for a marginally shorter joint
path: every node of the seam search pays :func:`deviation_cost`, quadratic in the deviation
relative to its tolerance, and much larger than the joint-motion and margin costs the search
otherwise trades (joint steps of ~0.01 rad cost ~1e-4 per way point, margin penalties at most
``LadderOptions.penalty``). So a feasible programmed orientation is always chosen, and where it is
not feasible the deviation grows only as far and as long as needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from weldcell.toolpath.segments import WeldSegment

NDArrayF = npt.NDArray[np.float64]

DEVIATION_WEIGHT = 0.2
"""Cost per way point of a deviation equal to the full tolerance (see module docstring)."""


def deviation_cost(
    samples: NDArrayF, seg: WeldSegment, *, limited_rotation: bool, weight: float = DEVIATION_WEIGHT
) -> NDArrayF:
    """Cost per node of each orientation sample (γ, δw, δt) [rad], shape (K,).

    Args:
        samples: Orientation samples, shape (K, 3): rotation γ about the torch axis relative to the
            programmed one, work- and travel-angle deviations.
        seg: The weld segment (``work_angle_tolerance``, ``travel_angle_tolerance``,
            ``rotation_range`` [rad]).
        limited_rotation: The rotation is fixed with a tolerance (γ = 0 is programmed); with a free
            rotation γ costs nothing.
        weight: Cost of a deviation equal to the full tolerance.
    """
    a = np.asarray(samples, dtype=np.float64).reshape(-1, 3)
    cost = np.zeros(a.shape[0])
    tols = (
        float(getattr(seg, "rotation_range", 0.0)) if limited_rotation else 0.0,
        float(getattr(seg, "work_angle_tolerance", 0.0)),
        float(getattr(seg, "travel_angle_tolerance", 0.0)),
    )
    for c, tol in enumerate(tols):
        if tol > 1e-12:
            cost += (a[:, c] / tol) ** 2
    out: NDArrayF = weight * cost
    return out
