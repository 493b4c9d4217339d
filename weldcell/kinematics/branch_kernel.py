"""The Python side of the compiled one-dimensional-search IK kernels (CRX, GoFa).

Both kernels take a C-contiguous stack of flange poses (P, 4, 4) and fill preallocated joint rows
(P, B, 6) [rad] and branch labels (P, B, 3); this module checks and flattens the input, allocates
the outputs (NaN / -1 for branches without a solution) and restores the caller's leading shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError

NDArrayF = npt.NDArray[np.float64]


def call_branch_kernel(
    T_base_flange: npt.ArrayLike,
    n_branches: int,
    kernel: Callable[..., Any],
    *params: Any,
) -> tuple[NDArrayF, npt.NDArray[np.int8]]:
    """Run ``kernel(T, *params, q, labels)`` on flange poses ``T_base_flange`` (..., 4, 4) [m].

    Returns:
        q: Joints [rad], shape (..., n_branches, 6), NaN rows where the kernel found no solution.
        labels: Branch labels, shape (..., n_branches, 3), -1 where the kernel found no solution.

    Raises:
        InputShapeError: ``T_base_flange`` is not of shape (..., 4, 4).
    """
    Tin = np.asarray(T_base_flange, dtype=np.float64)
    if Tin.ndim < 2 or Tin.shape[-2:] != (4, 4):
        raise InputShapeError(f"T_base_flange: expected shape (..., 4, 4), got {Tin.shape}")
    lead = Tin.shape[:-2]
    T = np.ascontiguousarray(Tin.reshape(-1, 4, 4))
    P = T.shape[0]
    q = np.full((P, n_branches, 6), np.nan)
    labels = np.full((P, n_branches, 3), -1, dtype=np.int8)
    kernel(T, *params, q, labels)
    return q.reshape(*lead, n_branches, 6), labels.reshape(*lead, n_branches, 3)
