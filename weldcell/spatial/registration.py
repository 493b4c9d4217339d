"""Least-squares solvers for calibration and part registration (numpy only).

- :func:`tcp_from_flange_poses`: the n-point TCP method. The torch tip touches one fixed point from
  ``n >= 4`` flange orientations; with ``T_base_flange_i = (R_i, p_i)`` the unknown tip offset
  ``p_flange_tcp`` and fixed point ``p_base_point`` satisfy ``R_i p_flange_tcp + p_i = p_base_point``,
  a linear system ``[R_i, -I] [p_flange_tcp; p_base_point] = -p_i`` solved in one least-squares step.
- :func:`frame_from_three_points`: a user/part frame from its origin, a point on +x and a point in
  the xy plane (+y side).
- :func:`register_points_to_planes`: the rigid correction of a part from touched points against the
  part's nominal surfaces (point-to-plane Gauss-Newton on SE(3)); degrees of freedom the touches do
  not determine (for example a 1-D search) stay at zero and are reported as unobserved.

Units: m and rad. Poses follow ``T_a_b`` (pose of b in a; ``p_a = T_a_b @ p_b``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.errors import CalibrationError
from weldcell.spatial.se3 import rotation_from_rotvec

NDArrayF = npt.NDArray[np.float64]

#: Singular values below this fraction of the largest count as an undetermined direction.
RANK_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class TcpCalibration:
    """Result of the n-point TCP method.

    Attributes:
        p_flange_tcp: Tool tip in the flange frame [m], shape (3,).
        p_base_point: The fixed reference point in the robot base frame [m], shape (3,).
        residuals: Per pose distance [m] between its computed tip and ``p_base_point``, shape (n,).
        rms: RMS of ``residuals`` [m].
        max_residual: Largest residual [m].
        condition: Condition number of the system (large = orientations too similar).
    """

    p_flange_tcp: NDArrayF
    p_base_point: NDArrayF
    residuals: NDArrayF
    rms: float
    max_residual: float
    condition: float


def _as_poses(T: npt.ArrayLike, name: str) -> NDArrayF:
    arr = np.asarray(T, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (4, 4):
        raise CalibrationError(f"{name}: expected poses of shape (n, 4, 4), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise CalibrationError(f"{name}: poses contain NaN or infinite values")
    return arr


def tcp_from_flange_poses(
    T_base_flange: npt.ArrayLike, *, min_angle: float = np.deg2rad(15.0)
) -> TcpCalibration:
    """Solve the n-point TCP method by linear least squares.

    Args:
        T_base_flange: Flange poses in the base frame, shape (n, 4, 4), n >= 4, with the tool tip at
            the same fixed point in every pose.
        min_angle: Smallest spread [rad] the orientations must have (largest rotation angle from the
            first pose); below it the tip offset along the common axis is not determined.

    Returns:
        The tip offset, the fixed point and the residuals.

    Raises:
        CalibrationError: fewer than 4 poses, orientations too similar, or a rank-deficient system.
    """
    T = _as_poses(T_base_flange, "T_base_flange")
    n = T.shape[0]
    if n < 4:
        raise CalibrationError(f"the n-point TCP method needs at least 4 flange poses, got {n}")
    R = T[:, :3, :3]
    p = T[:, :3, 3]
    rel = np.einsum("ji,njk->nik", R[0], R)  # R_0^T R_i
    angles = np.arccos(np.clip((np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0))
    spread = float(np.max(angles))
    if spread < min_angle:
        raise CalibrationError(
            f"the {n} torch orientations differ by at most {np.rad2deg(spread):.1f}°; "
            f"touch the point from orientations at least {np.rad2deg(min_angle):.0f}° apart"
        )
    A = np.zeros((3 * n, 6))
    A[:, :3] = R.reshape(3 * n, 3)
    A[:, 3:] = -np.tile(np.eye(3), (n, 1))
    b = -p.reshape(3 * n)
    sv = np.linalg.svd(A, compute_uv=False)
    condition = float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf")
    if sv[-1] < RANK_TOLERANCE * sv[0]:
        raise CalibrationError(
            "the TCP poses do not determine the tip: all orientations share one rotation axis; "
            "tilt the torch about two different axes"
        )
    x, *_ = np.linalg.lstsq(A, b, rcond=None)
    p_flange_tcp, p_base_point = x[:3], x[3:]
    tips = np.einsum("nij,j->ni", R, p_flange_tcp) + p
    residuals = np.linalg.norm(tips - p_base_point, axis=1)
    return TcpCalibration(
        p_flange_tcp=p_flange_tcp,
        p_base_point=p_base_point,
        residuals=residuals,
        rms=float(np.sqrt(np.mean(residuals**2))),
        max_residual=float(np.max(residuals)),
        condition=condition,
    )


@dataclass(frozen=True, slots=True)
class TcpOrientation:
    """Result of the orientation extension of the n-point TCP method (tool +x and +z points).

    Attributes:
        R_flange_tcp: The tool frame's orientation in the flange frame, shape (3, 3): z exactly the
            measured +z direction, x the measured +x direction made orthogonal to it.
        x_flange: Measured +x direction in the flange frame (unit), shape (3,).
        z_flange: Measured +z direction in the flange frame (unit), shape (3,).
        orthogonality_error: How far the measured x and z directions are from perpendicular [rad]
            (the residual: 0 for perfect points; the jog error over the lever shows here).
        lever_x: Distance of the tip from the reference point at the x point [m].
        lever_z: Distance of the tip from the reference point at the z point [m].
    """

    R_flange_tcp: NDArrayF
    x_flange: NDArrayF
    z_flange: NDArrayF
    orthogonality_error: float
    lever_x: float
    lever_z: float


def tcp_orientation_from_points(
    T_base_flange_x: npt.ArrayLike,
    T_base_flange_z: npt.ArrayLike,
    p_flange_tcp: npt.ArrayLike,
    p_base_point: npt.ArrayLike,
    *,
    min_lever: float = 0.02,
) -> TcpOrientation:
    r"""TCP orientation from two more poses after the n-point position (the "TCP and Z, X" method).

    In the x pose the robot holds the torch so that the reference point lies on the tool's wanted
    +x axis (the tip moved from the point along -x); in the z pose so that it lies on the +z axis
    (the tip moved back along the torch axis). With the tip ``t`` known (n-point method), the
    direction from the tip to the point, expressed in the flange frame, is the axis:
    :math:`x_f = R_x^\top (p - (R_x t + o_x)) / \lVert\cdot\rVert`, likewise :math:`z_f`. The
    orientation of the torch in those poses does not matter.

    Args:
        T_base_flange_x: Flange pose of the x point (4, 4), base frame.
        T_base_flange_z: Flange pose of the z point (4, 4), base frame.
        p_flange_tcp: Tool tip in the flange frame [m] (3,) (from :func:`tcp_from_flange_poses`).
        p_base_point: The reference point in the base frame [m] (3,).
        min_lever: Smallest tip-to-point distance [m] (a short lever makes the direction uncertain).

    Raises:
        CalibrationError: a tip closer than ``min_lever`` to the point, or x and z (nearly) parallel.
    """
    T = _as_poses(np.stack([np.asarray(T_base_flange_x), np.asarray(T_base_flange_z)]), "x/z poses")
    t = np.asarray(p_flange_tcp, dtype=np.float64).reshape(3)
    p = np.asarray(p_base_point, dtype=np.float64).reshape(3)
    tips = np.einsum("nij,j->ni", T[:, :3, :3], t) + T[:, :3, 3]
    d_base = p - tips  # (2, 3): tip -> point
    levers = np.linalg.norm(d_base, axis=1)
    for name, lever in zip(("x", "z"), levers, strict=True):
        if lever < min_lever:
            raise CalibrationError(
                f"the {name} point's tip is {lever * 1e3:.1f} mm from the reference point; move it at "
                f"least {min_lever * 1e3:.0f} mm along the tool's -{name} direction (the longer, the "
                "more precise)"
            )
    d_flange = np.einsum("nji,nj->ni", T[:, :3, :3], d_base) / levers[:, None]
    x_f, z_f = d_flange
    cos = float(x_f @ z_f)
    if abs(cos) > np.cos(np.deg2rad(30.0)):
        raise CalibrationError(
            f"the measured tool x and z directions are {np.rad2deg(np.arccos(np.clip(cos, -1, 1))):.1f}° "
            "apart: expected about 90°; check which point is x and which is z"
        )
    x = x_f - cos * z_f
    x /= np.linalg.norm(x)
    R = np.column_stack([x, np.cross(z_f, x), z_f])
    error = float(abs(np.arcsin(np.clip(cos, -1.0, 1.0))))
    return TcpOrientation(R, x_f, z_f, error, float(levers[0]), float(levers[1]))


def frame_from_three_points(
    p_origin: npt.ArrayLike, p_on_x: npt.ArrayLike, p_in_xy: npt.ArrayLike, *, min_distance: float = 0.005
) -> NDArrayF:
    """A frame from three points: its origin, a point on its +x axis and a point in its xy plane.

    Args:
        p_origin: Origin of the frame [m], shape (3,), in some frame ``ref``.
        p_on_x: A point on the frame's +x axis [m], shape (3,).
        p_in_xy: A point in the frame's xy plane on the +y side [m], shape (3,).
        min_distance: Smallest allowed distance [m] of ``p_in_xy`` from the x axis and of ``p_on_x``
            from the origin.

    Returns:
        ``T_ref_frame``, shape (4, 4).

    Raises:
        CalibrationError: points too close together or collinear.
    """
    o, px, pxy = (np.asarray(v, dtype=np.float64).reshape(3) for v in (p_origin, p_on_x, p_in_xy))
    if not all(np.all(np.isfinite(v)) for v in (o, px, pxy)):
        raise CalibrationError("frame points contain NaN or infinite values")
    ex = px - o
    if np.linalg.norm(ex) < min_distance:
        raise CalibrationError(
            f"the x-direction point is {np.linalg.norm(ex) * 1e3:.2f} mm from the origin; "
            f"expected at least {min_distance * 1e3:.0f} mm"
        )
    ex /= np.linalg.norm(ex)
    v = pxy - o
    ey = v - ex * float(ex @ v)
    if np.linalg.norm(ey) < min_distance:
        raise CalibrationError(
            f"the xy-plane point is {np.linalg.norm(ey) * 1e3:.2f} mm from the x axis; "
            f"expected at least {min_distance * 1e3:.0f} mm (the three points are nearly collinear)"
        )
    ey /= np.linalg.norm(ey)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = ex, ey, np.cross(ex, ey), o
    return T


@dataclass(frozen=True, slots=True)
class Registration:
    """Result of :func:`register_points_to_planes`.

    Attributes:
        T_world_part: Measured part pose in the world, shape (4, 4).
        T_nominal_measured: Correction in the nominal part frame
            (``T_world_part = T_world_part_nominal @ T_nominal_measured``), shape (4, 4).
        residuals: Signed point-to-plane distances after the fit [m], shape (n,).
        rms: RMS of ``residuals`` [m].
        rank: Number of determined degrees of freedom (0 … 6).
        unobserved: Unit directions of the undetermined twist ``(rotation [rad], translation [m])``
            about the touch centroid, shape (6 - rank, 6); zero correction along them.
        iterations: Gauss-Newton iterations used.
    """

    T_world_part: NDArrayF
    T_nominal_measured: NDArrayF
    residuals: NDArrayF
    rms: float
    rank: int
    unobserved: NDArrayF
    iterations: int


def register_points_to_planes(
    p_world: npt.ArrayLike,
    n_part: npt.ArrayLike,
    d_part: npt.ArrayLike,
    T_world_part_nominal: npt.ArrayLike,
    *,
    max_iterations: int = 20,
    tolerance: float = 1e-10,
) -> Registration:
    """Rigid part correction from touched points on known part surfaces (point-to-plane least squares).

    Touch ``i`` measured the world point ``p_world[i]`` on the part surface whose nominal plane in the
    part frame is ``{x : n_part[i] · x = d_part[i]}``. The solver finds the correction
    ``T_nominal_measured`` minimising
    ``sum_i (n_i · (T_nominal_measured^-1 T_part_world_nominal p_i) - d_i)^2``.
    Rotations are taken about the centroid of the touches and scaled by their spread, so a single
    touch gives a pure translation along its normal; directions the touches do not determine keep a
    zero correction (minimum-norm solution) and are listed in ``unobserved``.

    Args:
        p_world: Touched points [m], shape (n, 3), in the world frame.
        n_part: Unit outward normals of the touched planes in the nominal part frame, shape (n, 3).
        d_part: Plane offsets [m], shape (n,): ``n_part[i] · x = d_part[i]`` on the plane.
        T_world_part_nominal: Nominal part pose, shape (4, 4).
        max_iterations: Gauss-Newton iteration limit.
        tolerance: Stop when the update is smaller than this [m / rad].

    Raises:
        CalibrationError: shapes that do not match, non-finite values or zero normals.
    """
    p = np.asarray(p_world, dtype=np.float64)
    nn = np.asarray(n_part, dtype=np.float64)
    d = np.asarray(d_part, dtype=np.float64).reshape(-1)
    T_nom = np.asarray(T_world_part_nominal, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or nn.shape != p.shape or d.shape != (p.shape[0],):
        raise CalibrationError(
            f"registration: expected points (n, 3), normals (n, 3), offsets (n,); "
            f"got {p.shape}, {nn.shape}, {d.shape}"
        )
    if p.shape[0] == 0:
        raise CalibrationError("registration: no touched points")
    if T_nom.shape != (4, 4) or not all(np.all(np.isfinite(a)) for a in (p, nn, d, T_nom)):
        raise CalibrationError("registration: non-finite values or a nominal pose that is not (4, 4)")
    norms = np.linalg.norm(nn, axis=1)
    if np.any(norms < 1e-9):
        raise CalibrationError("registration: a plane normal is zero")
    nn = nn / norms[:, None]
    T_part_world = np.linalg.inv(T_nom)
    q0 = p @ T_part_world[:3, :3].T + T_part_world[:3, 3]  # points in the nominal part frame
    c = q0.mean(axis=0)
    scale = max(float(np.sqrt(np.mean(np.sum((q0 - c) ** 2, axis=1)))), 1e-3)  # [m] per rad
    # unknown: map x -> R (x - c) + c + t (the inverse correction, part frame). Gauss-Newton from
    # R = I, t = 0, and again from starts turned ±3° about each axis: with few touches on a thin part
    # the point-to-plane cost has local minima a few degrees away (seen: 1 in 300 random 8-touch
    # patterns on a 40 mm thick box ended 2-5° off with a 10 µm residual); the lowest cost wins.
    best: tuple[float, NDArrayF, NDArrayF, int, NDArrayF, int] | None = None
    starts = [np.zeros(3)] + [sgn * 0.05 * e for e in np.eye(3) for sgn in (1.0, -1.0)]
    for w0 in starts:
        R, t, rank, vt, it = _gauss_newton(
            q0, nn, d, c, scale, rotation_from_rotvec(w0), max_iterations, tolerance
        )
        cost = float(np.sum((np.sum(nn * ((q0 - c) @ R.T + c + t), axis=1) - d) ** 2))
        if best is None or cost < best[0] - 1e-18:
            best = (cost, R, t, rank, vt, it)
        if cost < 1e-20:
            break
    assert best is not None
    _, R, t, rank, vt, it = best
    # inverse correction as a homogeneous transform in the part frame: x -> R x + (c + t - R c)
    T_inv = np.eye(4)
    T_inv[:3, :3] = R
    T_inv[:3, 3] = c + t - R @ c
    T_corr = np.asarray(np.linalg.inv(T_inv), dtype=np.float64)
    q = q0 @ R.T + T_inv[:3, 3]
    residuals = np.sum(nn * q, axis=1) - d
    null = vt[rank:].copy()
    return Registration(
        T_world_part=T_nom @ T_corr,
        T_nominal_measured=T_corr,
        residuals=residuals,
        rms=float(np.sqrt(np.mean(residuals**2))),
        rank=rank,
        unobserved=null,
        iterations=it,
    )


def _gauss_newton(
    q0: NDArrayF,
    nn: NDArrayF,
    d: NDArrayF,
    c: NDArrayF,
    scale: float,
    R: NDArrayF,
    max_iterations: int,
    tolerance: float,
) -> tuple[NDArrayF, NDArrayF, int, NDArrayF, int]:
    """Point-to-plane Gauss-Newton from rotation ``R`` (about ``c``) and zero translation: the fitted
    ``(R, t, rank, vt, iterations)`` (``vt``: right singular vectors of the last Jacobian)."""
    t = np.zeros(3)
    rank = 0
    vt = np.zeros((0, 6))
    it = 0
    for step in range(1, max_iterations + 1):
        it = step
        q = (q0 - c) @ R.T
        r = np.sum(nn * (q + c + t), axis=1) - d
        J = np.hstack([np.cross(q, nn) * scale, nn])  # columns: scaled rotation, translation
        u, s, vt = np.linalg.svd(J, full_matrices=True)
        rank = int(np.sum(s > RANK_TOLERANCE * max(float(s[0]), 1e-12))) if s.size else 0
        inv_s = np.zeros(6)
        inv_s[:rank] = 1.0 / s[:rank]
        delta = -(vt.T[:, : s.size] * inv_s[: s.size]) @ (u.T[: s.size] @ r)
        w = delta[:3] * scale
        dt = delta[3:]
        dR = rotation_from_rotvec(w)
        R = dR @ R
        t = dR @ t + dt  # the rotation acts about c: R(x-c)+c+t -> dR(R(x-c)+t)+c+dt
        if float(np.max(np.abs(np.concatenate([w, dt])))) < tolerance:
            break
    return R, t, rank, vt, it


__all__ = [
    "Registration",
    "TcpCalibration",
    "TcpOrientation",
    "frame_from_three_points",
    "register_points_to_planes",
    "tcp_from_flange_poses",
    "tcp_orientation_from_points",
]
