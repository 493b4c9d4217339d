"""Numerical IK for any URDF arm: roboticstoolbox's C++ Levenberg-Marquardt plus a Newton polish.

The residuals are measured with weldcell's own FK, in metres and radians, and ``found`` is
reported only when both are within the caller's tolerances and q is inside the joint limits.
roboticstoolbox is imported on first use only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from weldcell.spatial.se3 import rotation_angle_between, rotvec_from_rotation

NDArrayF = npt.NDArray[np.float64]


class IkModel(Protocol):
    """What the numerical IK needs of a robot model (``weldcell.kinematics.Robot`` has it).

    Attributes:
        n_joints: Number of joints n.
        q_lower: Lower joint limits [rad], shape (n,).
        q_upper: Upper joint limits [rad], shape (n,).
    """

    n_joints: int
    q_lower: NDArrayF
    q_upper: NDArrayF

    def fk(self, q: npt.ArrayLike) -> NDArrayF:
        """Flange pose in the base frame ``T_base_flange``, shape (4, 4) for q of shape (n,)."""
        ...

    def jacobian(self, q: npt.ArrayLike) -> NDArrayF:
        """Flange Jacobian in the base frame, shape (6, n)."""
        ...


@dataclass(frozen=True)
class IkResult:
    """Outcome of a numerical IK query (an expected failure is ``found=False``, not an exception).

    Attributes:
        found: True only if both residuals are within the requested tolerances and q is inside
            the joint limits.
        q: Joint positions [rad], shape (n,), or None when not found.
        residual_m: Flange position error [m] of the best iterate.
        residual_rad: Flange orientation error [rad] (geodesic angle) of the best iterate.
        iterations: Solver iterations used (roboticstoolbox LM plus the final Newton polish).
    """

    found: bool
    q: NDArrayF | None
    residual_m: float
    residual_rad: float
    iterations: int


POLISH_ITERATIONS = 8
# roboticstoolbox's tol bounds E = ½ eᵀe; its default 1e-6 accepts ~1 mm errors. Below ~1e-16 its LM
# cannot terminate and diverges, so the LM runs to at most 1e-12..1e-16 and a Newton polish on
# weldcell's own model finishes the job.
LM_TOL_MAX = 1e-12
LM_TOL_MIN = 1e-16


def pose_error(T_target: NDArrayF, T: NDArrayF) -> NDArrayF:
    """6-vector ``[p_target - p; ω]`` with ω the rotation vector of ``R_target Rᵀ`` (base frame)."""
    dp = T_target[:3, 3] - T[:3, 3]
    Re = T_target[:3, :3] @ T[:3, :3].T
    v = 0.5 * np.array([Re[2, 1] - Re[1, 2], Re[0, 2] - Re[2, 0], Re[1, 0] - Re[0, 1]])
    s = float(np.linalg.norm(v))
    c = 0.5 * (np.trace(Re) - 1.0)
    if c < -0.9:  # beyond ~154°: the skew part loses the axis near π; use the exact formulation
        return np.concatenate([dp, rotvec_from_rotation(Re)])
    ang = float(np.arctan2(s, c))
    w = v * (ang / s) if s > 1e-15 else v
    return np.concatenate([dp, w])


def solve_numerical(
    robot: IkModel,
    ets: Any,
    T_target: NDArrayF,
    q_seed: NDArrayF,
    tol_m: float,
    tol_rad: float,
    max_iterations: int,
) -> IkResult:
    """See :meth:`weldcell.kinematics.robot.Robot.ik_numerical`.

    Args:
        robot: The model whose FK and Jacobian measure and polish the result.
        ets: roboticstoolbox ETS of the same chain (its ``ik_LM`` does the search).
        T_target: Target flange pose in the base frame, shape (4, 4).
        q_seed: Start configuration [rad], shape (n,).
        tol_m: Position tolerance [m].
        tol_rad: Orientation tolerance [rad].
        max_iterations: Iteration limit of the LM search.
    """
    tol_lm = max(LM_TOL_MIN, min(LM_TOL_MAX, 0.5 * min(tol_m, tol_rad) ** 2 * 1e-2))
    seed = np.clip(q_seed, robot.q_lower, robot.q_upper)
    sol = ets.ik_LM(
        np.ascontiguousarray(T_target),
        q0=seed,
        ilimit=max_iterations,
        slimit=1,
        tol=tol_lm,
        joint_limits=True,
    )
    q = np.asarray(sol.q, dtype=np.float64).reshape(robot.n_joints)
    if not np.all(np.isfinite(q)) or np.linalg.norm(pose_error(T_target, robot.fk(q))) > np.linalg.norm(
        pose_error(T_target, robot.fk(seed))
    ):
        q = seed.copy()
    iterations = int(sol.iterations)
    # Newton polish on weldcell's own model (damped least squares, clamped to the limits)
    for _ in range(POLISH_ITERATIONS):
        e = pose_error(T_target, robot.fk(q))
        if np.linalg.norm(e[:3]) < 0.01 * tol_m and np.linalg.norm(e[3:]) < 0.01 * tol_rad:
            break
        J = robot.jacobian(q)
        lam = 1e-12
        dq = J.T @ np.linalg.solve(J @ J.T + lam * np.eye(6), e)
        q = np.clip(q + dq, robot.q_lower, robot.q_upper)
        iterations += 1
    T = robot.fk(q)
    res_m = float(np.linalg.norm(T_target[:3, 3] - T[:3, 3]))
    res_rad = float(rotation_angle_between(T_target[:3, :3], T[:3, :3]))
    inside = bool(np.all(q >= robot.q_lower) and np.all(q <= robot.q_upper))
    found = res_m <= tol_m and res_rad <= tol_rad and inside
    q.flags.writeable = False
    return IkResult(
        found=found, q=q if found else None, residual_m=res_m, residual_rad=res_rad, iterations=iterations
    )
