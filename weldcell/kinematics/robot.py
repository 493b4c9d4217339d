"""The :class:`Robot` model: vectorised FK, all-branch analytic IK, Jacobian, labels, singularity.

A ``Robot`` is immutable after construction and every method is a pure function of its
arguments. Arrays broadcast over leading dimensions: ``q`` is (..., n) [rad], poses are
(..., 4, 4) ``T_base_flange`` [m]. See docs/conventions.md for frames and definitions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError, ModelError
from weldcell.kinematics import analytic
from weldcell.kinematics._sigma import chain_sigma_min, chain_sigma_min_path, sigma_lipschitz, sigma_min_batch
from weldcell.kinematics.chain import (
    Capsule,
    UrdfChain,
    chain_fk_checked,
    chain_jacobian_checked,
    chain_link_poses_checked,
    first_nonfinite_row,
)
from weldcell.kinematics.numerical import IkResult as IkResult
from weldcell.kinematics.numerical import solve_numerical
from weldcell.kinematics.urdf import LinkChain

if TYPE_CHECKING:
    from weldcell.kinematics.specs import CrxSpec, GofaSpec, OPWSpec, URSpec

NDArrayF = npt.NDArray[np.float64]

N_BRANCHES = 8
_RIGID_ATOL = 1e-6  # tolerance of the rigid-transform check on IK input
_TWO_PI = 2.0 * math.pi


def kernel_input(a: NDArrayF) -> NDArrayF:
    """``a`` as a C-contiguous, writable float64 array (numba compiles one signature for these only)."""
    if a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.array(a, dtype=np.float64, order="C")


def check_joint_array(q: npt.ArrayLike, n: int, name: str = "q", *, finite: bool = True) -> NDArrayF:
    """``q`` as float64 (..., n) after checking its shape and, if ``finite``, its values (InputShapeError)."""
    try:
        arr = np.asarray(q, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputShapeError(
            f"{name}: expected joint positions [rad] of shape (..., {n}), got {q!r}"
        ) from err
    if arr.ndim < 1 or arr.shape[-1] != n:
        raise InputShapeError(
            f"{name}: expected joint positions [rad] of shape (..., {n}), got shape {arr.shape}"
        )
    if finite and not np.isfinite(arr).all():
        raise InputShapeError(f"{name}: joint positions contain NaN or infinite values")
    return arr


def check_pose_array(T: npt.ArrayLike, name: str = "T_base_flange", atol: float = 1e-6) -> NDArrayF:
    """``T`` as contiguous float64 (N, 4, 4) plus its leading shape, checked to be rigid transforms.

    Raises:
        InputShapeError: wrong shape, NaN/inf, rotation not orthonormal (tolerance ``atol``), a
            reflection, or a last row other than (0, 0, 0, 1).
    """
    try:
        arr = np.asarray(T, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputShapeError(
            f"{name}: expected homogeneous transforms of shape (..., 4, 4), got {T!r}"
        ) from err
    if arr.ndim < 2 or arr.shape[-2:] != (4, 4):
        raise InputShapeError(
            f"{name}: expected homogeneous transforms of shape (..., 4, 4), got shape {arr.shape}"
        )
    flat = kernel_input(arr.reshape(-1, 4, 4))
    bad = analytic.check_rigid_kernel(flat, atol)
    if bad >= 0:
        idx = np.unravel_index(bad, arr.shape[:-2]) if arr.ndim > 2 else ()
        Tb = flat[bad]
        if not np.all(np.isfinite(Tb)):
            why = "contains NaN or infinite values"
        elif np.abs(Tb[3] - [0, 0, 0, 1]).max() > atol:
            why = "last row must be [0, 0, 0, 1]"
        elif np.linalg.det(Tb[:3, :3]) < 0:
            why = "rotation part is a reflection (determinant -1)"
        else:
            dev = np.abs(Tb[:3, :3].T @ Tb[:3, :3] - np.eye(3)).max()
            why = f"rotation part is not orthonormal (max |RᵀR - I| = {dev:.1e} > {atol:.0e})"
        where = f" at index {tuple(int(i) for i in idx)}" if idx else ""
        raise InputShapeError(f"{name}{where}: not a rigid transform: {why}")
    return flat


def singularity_distance_from_jacobian(J: npt.ArrayLike, reach: float) -> NDArrayF:
    """The singularity measure of weldcell, from a flange Jacobian: the one formula for all judges.

    ``σ_min(diag(1/L, 1/L, 1/L, 1, 1, 1) · J)`` with ``L = reach`` [m]: dimensionless, ≥ 0, exactly 0
    at a singular configuration. The planner (through :meth:`Robot.singularity_distance`) and the
    simulator's validator (on pybullet's own Jacobian) both use it, with the floor
    ``weldcell.trajectory.margins.MIN_SINGULARITY``. Rotating the frame the Jacobian is expressed in
    (base or world) does not change it.

    Args:
        J: Flange Jacobians, linear rows [m/rad] first then angular rows [rad/rad], shape (..., 6, n).
        reach: Length scale L [m] (``Robot.reach``).

    Returns:
        Shape (...,); zeros for arms with fewer than 6 joints (they never span all flange motions).
    """
    Ja = np.asarray(J, dtype=np.float64)
    if Ja.ndim < 2 or Ja.shape[-2] != 6:
        raise InputShapeError(f"J: expected Jacobians of shape (..., 6, n), got {Ja.shape}")
    if not (reach > 0 and np.isfinite(reach)):
        raise InputShapeError(f"reach must be a length > 0 m, got {reach}")
    if Ja.shape[-1] < 6:
        return np.zeros(Ja.shape[:-2])
    flat = np.ascontiguousarray(Ja.reshape(-1, 6, Ja.shape[-1]))
    if not np.all(np.isfinite(flat)):
        raise InputShapeError("J: contains NaN or infinite values")
    out: NDArrayF = sigma_min_batch(flat, _row_scale(reach), np.inf).reshape(Ja.shape[:-2])
    return out


def _row_scale(reach: float) -> NDArrayF:
    return np.array([1.0 / reach] * 3 + [1.0] * 3)


class Robot:
    """A serial arm loaded from ``urdf/`` (use :func:`weldcell.kinematics.load_robot`).

    Attributes:
        name: Model name, e.g. ``"ur5e"``.
        kind: ``"ur"`` (closed-form UR IK), ``"opw"`` (closed-form OPW IK), ``"crx"`` (FANUC CRX:
            all 16 branches by a 1-D search with closed-form sub-problems, :mod:`weldcell.kinematics.crx`),
            ``"gofa"`` (ABB GoFa, the same method, :mod:`weldcell.kinematics.gofa`) or ``"numerical"``.
        urdf_path: The URDF file the chain was read from.
        n_joints: Number of actuated joints n.
        joint_names: Actuated joint names, length n.
        q_lower, q_upper: Joint position limits [rad], shape (n,).
        qd_max: Joint speed limits [rad/s], shape (n,).
        qdd_max: Joint acceleration limits for planning [rad/s²], shape (n,).
        link_names: The links of the chain from ``base`` to ``flange`` (for :meth:`link_poses`).
        collision_capsules: Conservative capsules of the URDF collision primitives, in link frames.
        link_chain: The same chain per link (parent, origin, axis, joint index), the form the
            planner's collision kernels take: their one kinematic model.
        reach: Sum of the link lengths [m], the length scale of :meth:`singularity_distance`.
    """

    def __init__(
        self,
        name: str,
        kind: str,
        urdf_path: Path,
        chain: UrdfChain,
        qdd_max: NDArrayF,
        ur: URSpec | None = None,
        opw: OPWSpec | None = None,
        crx: CrxSpec | None = None,
        gofa: GofaSpec | None = None,
    ) -> None:
        """Build a robot from its parsed chain (internal: use ``load_robot``)."""
        self.name = name
        self.kind = kind
        self.urdf_path = urdf_path
        self._chain = chain
        self._ur = ur
        self._opw = opw
        self._crx = crx
        self._gofa = gofa
        self.n_joints = len(chain.joint_names)
        self.joint_names = chain.joint_names
        self.q_lower = self._ro(chain.lower)
        self.q_upper = self._ro(chain.upper)
        self.qd_max = self._ro(chain.velocity)
        self.qdd_max = self._ro(qdd_max)
        self.link_names = chain.link_names
        self.collision_capsules: tuple[Capsule, ...] = chain.capsules
        self.link_chain: LinkChain = chain.link_chain()
        self.reach = float(np.linalg.norm(chain.origins[:, :3, 3], axis=-1).sum())
        # per joint, how fast singularity_distance can change [1/rad] (its along_path fast path)
        self._sigma_lip = sigma_lipschitz(
            chain.origins, chain.axes, chain.qidx, _row_scale(self.reach), self.n_joints
        )
        self._rtb_ets: Any = None
        self._ik_kernel: Any = None
        self._ik_params = np.zeros(0)
        if ur is not None:
            self._ik_kernel = analytic.ur_ik_kernel
            self._ik_params = analytic.ur_params(
                (ur.d1, ur.a2, ur.a3, ur.d4, ur.d5, ur.d6), chain.lower, chain.upper
            )
        if opw is not None:
            self._opw_offsets = np.array(opw.offsets, dtype=np.float64)
            self._opw_signs = np.array(opw.signs, dtype=np.float64)
            self._ik_kernel = analytic.opw_ik_kernel
            self._ik_params = analytic.opw_params(
                (opw.a1, opw.a2, opw.b, opw.c1, opw.c2, opw.c3, opw.c4),
                self._opw_offsets, self._opw_signs, chain.lower, chain.upper,
            )  # fmt: skip

    @property
    def n_branches(self) -> int:
        """Rows per pose of :meth:`ik`: 8 (UR, OPW) or 16 (CRX, GoFa); 0 without a closed-form solver."""
        if self._crx is not None or self._gofa is not None:
            from weldcell.kinematics.crx import N_CRX_BRANCHES

            return N_CRX_BRANCHES
        return N_BRANCHES if self._ik_kernel is not None else 0

    @staticmethod
    def _ro(a: NDArrayF) -> NDArrayF:
        out = np.array(a, dtype=np.float64)
        out.flags.writeable = False
        return out

    def __repr__(self) -> str:
        """Short description."""
        return f"Robot({self.name!r}, kind={self.kind!r}, n_joints={self.n_joints})"

    # ------------------------------------------------------------------------------------ forward

    def fk(self, q: npt.ArrayLike) -> NDArrayF:
        """Flange poses for joint positions.

        Args:
            q: Joint positions [rad], shape (..., n).

        Returns:
            ``T_base_flange``, shape (..., 4, 4) [m].
        """
        arr = check_joint_array(q, self.n_joints, finite=False)  # finiteness: checked in the kernel
        flat = kernel_input(arr.reshape(-1, self.n_joints))
        c = self._chain
        out, bad = chain_fk_checked(flat, c.origins, c.axes, c.qidx)
        if bad >= 0:
            check_joint_array(q, self.n_joints)  # raises: NaN or inf
        return out.reshape(*arr.shape[:-1], 4, 4)

    def link_poses(self, q: npt.ArrayLike) -> NDArrayF:
        """Poses of every link in :attr:`link_names`.

        Args:
            q: Joint positions [rad], shape (..., n).

        Returns:
            ``T_base_link``, shape (..., L, 4, 4) with L = len(link_names).
        """
        arr = check_joint_array(q, self.n_joints, finite=False)  # finiteness: checked in the kernel
        flat = kernel_input(arr.reshape(-1, self.n_joints))
        c = self._chain
        out, bad = chain_link_poses_checked(flat, c.origins, c.axes, c.qidx)
        if bad >= 0:
            check_joint_array(q, self.n_joints)  # raises: NaN or inf
        return out.reshape(*arr.shape[:-1], len(self.link_names), 4, 4)

    def jacobian(self, q: npt.ArrayLike) -> NDArrayF:
        """Geometric Jacobian of the flange origin in the base frame.

        Args:
            q: Joint positions [rad], shape (..., n).

        Returns:
            ``J`` with rows ``[v; ω]`` (linear velocity [m/s] of the flange origin, angular
            velocity [rad/s]), both in the base frame, shape (..., 6, n).
        """
        arr = check_joint_array(q, self.n_joints, finite=False)  # finiteness: checked in the kernel
        flat = kernel_input(arr.reshape(-1, self.n_joints))
        c = self._chain
        out, bad = chain_jacobian_checked(flat, c.origins, c.axes, c.qidx)
        if bad >= 0:
            check_joint_array(q, self.n_joints)  # raises: NaN or inf
        return out.reshape(*arr.shape[:-1], 6, self.n_joints)

    # ------------------------------------------------------------------------------------ inverse

    def ik(self, T_base_flange: npt.ArrayLike, *, check: bool = True) -> NDArrayF:
        """All closed-form IK branches for each pose.

        Branch ``b = 4·i_shoulder + 2·i_elbow + i_wrist`` (``i = 0`` for label +1, 1 for -1; see
        :meth:`configuration_labels`). Each joint is the 2π-equivalent nearest 0 inside the
        limits; a branch that does not exist or cannot be placed inside the limits is a NaN row.
        At a wrist singularity one free joint is fixed at 0 (UR joint 6, OPW native θ4).

        Args:
            T_base_flange: Flange poses [m], shape (..., 4, 4).
            check: Validate that the inputs are finite rigid transforms (leave True unless the
                poses come from trusted code in a hot loop).

        A CRX (``kind == "crx"``) has up to 16 solutions per pose: rows ordered by (J1 branch, elbow,
        root of the 1-D search), valid rows first (:func:`weldcell.kinematics.crx.crx_ik`); its
        :meth:`configuration_labels` are (J1 branch, elbow, sign of sin q5).

        Returns:
            q, shape (..., :attr:`n_branches`, n) [rad] (8 rows; 16 for a CRX).

        Raises:
            InputShapeError: bad input. ModelError: the robot has no closed-form solver
            (``kind == "numerical"``; use :meth:`ik_numerical`).
        """
        if self._crx is not None:
            return self._crx_ik(T_base_flange, check)
        if self._gofa is not None:
            return self._gofa_ik(T_base_flange, check)
        if self._ik_kernel is None:
            raise ModelError(f"robot {self.name!r} has no closed-form IK; use ik_numerical()")
        arr = T_base_flange if type(T_base_flange) is np.ndarray else np.asarray(T_base_flange)
        if arr.dtype != np.float64 or arr.ndim < 2 or arr.shape[-2:] != (4, 4):
            check_pose_array(T_base_flange)  # raises with the expected shape
            arr = np.asarray(arr, dtype=np.float64)
        lead = arr.shape[:-2]
        flat = kernel_input(arr.reshape(-1, 4, 4))
        out, bad = self._ik_kernel(flat, self._ik_params, _RIGID_ATOL if check else -1.0)
        if bad >= 0:
            check_pose_array(T_base_flange)  # raises with a message naming the bad pose
            raise InputShapeError(f"T_base_flange: pose {bad} is not a rigid transform")
        result: NDArrayF = out.reshape(*lead, N_BRANCHES, self.n_joints)
        return result

    def _crx_ik(self, T_base_flange: npt.ArrayLike, check: bool) -> NDArrayF:
        """All CRX branches (see :meth:`ik`), each joint the 2π-equivalent nearest 0 in the limits."""
        from weldcell.kinematics.crx import CrxDH, crx_ik

        spec = self._crx
        assert spec is not None  # mypy
        arr = check_pose_array(T_base_flange) if check else np.asarray(T_base_flange, dtype=np.float64)
        lead = np.shape(T_base_flange)[:-2]
        T0 = np.eye(4)
        T0[2, 3] = -spec.base_height  # weldcell base -> DH frame 0 (the J2 axis height)
        dh = CrxDH(spec.a, spec.d, spec.alpha, spec.offset)
        q, _labels = crx_ik(T0 @ arr.reshape(-1, 4, 4), dh)
        return self._within_limits(q, lead)

    def _gofa_ik(self, T_base_flange: npt.ArrayLike, check: bool) -> NDArrayF:
        """All GoFa branches (see :meth:`ik`), each joint the 2π-equivalent nearest 0 in the limits."""
        from weldcell.kinematics.gofa import ModifiedDH, gofa_ik

        spec = self._gofa
        assert spec is not None  # mypy
        arr = check_pose_array(T_base_flange) if check else np.asarray(T_base_flange, dtype=np.float64)
        lead = np.shape(T_base_flange)[:-2]
        q, _labels = gofa_ik(arr.reshape(-1, 4, 4), ModifiedDH(spec.alpha, spec.a, spec.d, spec.offset))
        return self._within_limits(q, lead)

    def _within_limits(self, q: NDArrayF, lead: tuple[int, ...]) -> NDArrayF:
        """IK rows (P, B, n) in (-π, π] shifted by 2π into the joint limits where that helps; rows
        outside the limits become NaN. Shape (*lead, B, n)."""
        for shift in (-_TWO_PI, _TWO_PI):  # values in (-π, π]; limits narrower than that shift them
            alt = q + shift
            out_lim = (q < self.q_lower) | (q > self.q_upper)
            q = np.where(out_lim & (alt >= self.q_lower) & (alt <= self.q_upper), alt, q)
        bad = np.any((q < self.q_lower - 1e-12) | (q > self.q_upper + 1e-12), axis=-1)
        q[bad] = np.nan
        result: NDArrayF = q.reshape(*lead, q.shape[-2], self.n_joints)
        return result

    def ik_numerical(
        self,
        T_base_flange: npt.ArrayLike,
        q_seed: npt.ArrayLike,
        tol_m: float = 1e-7,
        tol_rad: float = 1e-6,
        max_iterations: int = 200,
    ) -> IkResult:
        """Numerical IK for one pose from a seed (roboticstoolbox C++ ``ik_LM`` plus a Newton polish).

        ``found`` is True only when the flange position error is ≤ ``tol_m`` [m], the orientation
        error ≤ ``tol_rad`` [rad] (both measured here with this model's FK) and q is inside the
        joint limits.

        Args:
            T_base_flange: Target flange pose, shape (4, 4).
            q_seed: Start configuration [rad], shape (n,).
            tol_m: Position tolerance [m].
            tol_rad: Orientation tolerance [rad].
            max_iterations: Iteration limit of the LM search.
        """
        T = check_pose_array(T_base_flange)
        if T.shape[0] != 1 or np.shape(T_base_flange) != (4, 4):
            raise InputShapeError(
                f"T_base_flange: expected one pose of shape (4, 4), got {np.shape(T_base_flange)}"
            )
        if np.shape(q_seed) != (self.n_joints,):
            raise InputShapeError(
                f"q_seed: expected joint positions [rad] of shape ({self.n_joints},), got {np.shape(q_seed)}"
            )
        seed = check_joint_array(q_seed, self.n_joints, "q_seed")
        if not (tol_m > 0 and tol_rad > 0):
            raise InputShapeError(f"tol_m, tol_rad: expected positive tolerances, got {tol_m}, {tol_rad}")
        return solve_numerical(self, self._ets(), T[0], seed, tol_m, tol_rad, max_iterations)

    def _ets(self) -> Any:
        """The roboticstoolbox ETS of this URDF (built on first use; it never changes results)."""
        if self._rtb_ets is None:
            import warnings

            import roboticstoolbox as rtb

            with warnings.catch_warnings():  # Robot.URDF is deprecated in 1.5 but is the documented loader
                warnings.simplefilter("ignore", DeprecationWarning)
                model = rtb.Robot.URDF(str(self.urdf_path))
            self._rtb_ets = model.ets(end=self.link_names[-1])
        return self._rtb_ets

    # ----------------------------------------------------------------------------------- queries

    def nearest_equivalent(self, q: npt.ArrayLike, q_ref: npt.ArrayLike) -> NDArrayF:
        """Per joint, the 2π-equivalent of ``q`` inside the limits that is closest to ``q_ref``.

        Use it to keep continuity along a path: the joint values ``ik`` returns are the
        equivalents nearest 0, which may be 2π away from the previous way point.

        Args:
            q: Joint positions [rad], shape (..., n) (NaN rows pass through as NaN).
            q_ref: Reference joint positions [rad], broadcastable to q.

        Returns:
            Shape of the broadcast (..., n); NaN where no equivalent lies inside the limits.
        """
        qa = np.asarray(q, dtype=np.float64)
        ref = check_joint_array(q_ref, self.n_joints, "q_ref")
        if qa.ndim < 1 or qa.shape[-1] != self.n_joints:
            raise InputShapeError(
                f"q: expected joint positions [rad] of shape (..., {self.n_joints}), got {qa.shape}"
            )
        lo = np.ceil((self.q_lower - 1e-12 - qa) / _TWO_PI)
        hi = np.floor((self.q_upper + 1e-12 - qa) / _TWO_PI)
        m = np.clip(np.round((ref - qa) / _TWO_PI), lo, hi)
        out = qa + _TWO_PI * m
        out = np.where(lo <= hi, np.clip(out, self.q_lower, self.q_upper), np.nan)
        result: NDArrayF = out
        return result

    def within_limits(self, q: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True where every joint of q (..., n) [rad] is inside [q_lower, q_upper] -> (...,)."""
        arr = np.asarray(q, dtype=np.float64)
        ok: npt.NDArray[np.bool_] = np.all((arr >= self.q_lower) & (arr <= self.q_upper), axis=-1)
        return ok

    def configuration_labels(self, q: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Configuration labels (shoulder, elbow, wrist), each +1 or -1, shape (..., 3) int8.

        They match the IK branch index: branch ``b`` has labels
        ``(1 - 2·(b >> 2 & 1), 1 - 2·(b >> 1 & 1), 1 - 2·(b & 1))``. Definitions per kind are in
        docs/conventions.md; for the 7-axis ``numerical`` arms they are the signs of joints 2, 4, 6
        (the LBR status bits).
        """
        arr = check_joint_array(q, self.n_joints)
        flat = arr.reshape(-1, self.n_joints)
        if self._ur is not None:
            lab = analytic.ur_labels(flat, self._ur.a2, self._ur.a3, self._ur.d5)
        elif self._opw is not None:
            o = self._opw
            lab = analytic.opw_labels(flat, o.a1, o.a2, o.c2, o.c3, self._opw_offsets, self._opw_signs)
        elif self._crx is not None:
            lab = self._crx_labels(flat)
        elif self._gofa is not None:
            lab = self._gofa_labels(flat)
        elif self.n_joints >= 6:
            lab = np.where(np.sin(flat[:, [1, 3, 5]]) >= 0, 1, -1).astype(np.int8)
        else:
            raise ModelError(f"robot {self.name!r}: configuration labels need at least 6 joints")
        return lab.reshape(*arr.shape[:-1], 3)

    def _crx_labels(self, q: NDArrayF) -> npt.NDArray[np.int8]:
        """CRX labels of q (P, 6): J1 branch (+1: the J4-J5 point lies in front of J1, the azimuth
        branch 0 of :func:`~weldcell.kinematics.crx.crx_ik`), elbow (+1: θ3 - π/2 in [0, π], elbow
        branch 0), wrist (sign of sin q5)."""
        from weldcell.kinematics.crx import CrxDH, crx_fk

        spec = self._crx
        assert spec is not None  # mypy
        dh = CrxDH(spec.a, spec.d, spec.alpha, spec.offset)
        T = crx_fk(q, dh)
        z4 = crx_fk(q, dh, frame=4)[:, :3, 2]  # the J5 axis
        # the J4-J5 point O4 = O5 - d5 z4, with O5 = p + d6 z6 (the J5-J6 point)
        o4 = T[:, :3, 3] + dh.d[5] * T[:, :3, 2] - dh.d[4] * z4
        x1 = np.stack([np.cos(q[:, 0]), np.sin(q[:, 0])], axis=-1)
        shoulder = np.where(np.einsum("pk,pk->p", o4[:, :2], x1) >= 0.0, 1, -1)
        beta = np.arctan2(np.sin(q[:, 2] - math.pi / 2), np.cos(q[:, 2] - math.pi / 2))
        elbow = np.where(beta >= 0.0, 1, -1)
        wrist = np.where(np.sin(q[:, 4]) >= 0.0, 1, -1)
        return np.stack([shoulder, elbow, wrist], axis=-1).astype(np.int8)

    def _gofa_labels(self, q: NDArrayF) -> npt.NDArray[np.int8]:
        """GoFa labels of q (P, 6), matching the arm branches of
        :func:`~weldcell.kinematics.gofa.gofa_ik`: J1 branch (+1: the J4-J5 point in front of J1),
        elbow (+1: θ3 + atan2(d4, a3) in [0, π], elbow branch 0), wrist (sign of sin q5)."""
        from weldcell.kinematics.gofa import _mdh

        spec = self._gofa
        assert spec is not None  # mypy
        T = np.broadcast_to(np.eye(4), (len(q), 4, 4)).copy()
        for i in range(4):  # DH frame 4's origin is the J4-J5 intersection (a4 = d5 = 0)
            T = T @ _mdh(q[:, i] + spec.offset[i], spec.alpha[i], spec.a[i], spec.d[i])
        o5 = T[:, :3, 3]
        x1 = np.stack([np.cos(q[:, 0]), np.sin(q[:, 0])], axis=-1)
        shoulder = np.where(np.einsum("pk,pk->p", o5[:, :2], x1) >= 0.0, 1, -1)
        e = q[:, 2] + spec.offset[2] + math.atan2(spec.d[3], spec.a[3])
        elbow = np.where(np.sin(e) >= 0.0, 1, -1)
        wrist = np.where(np.sin(q[:, 4]) >= 0.0, 1, -1)
        return np.stack([shoulder, elbow, wrist], axis=-1).astype(np.int8)

    def singularity_distance(
        self, q: npt.ArrayLike, *, exact_below: float = np.inf, along_path: bool = False
    ) -> NDArrayF:
        """Distance to the nearest singularity: smallest singular value of the scaled Jacobian.

        ``σ_min(diag(1/L, 1/L, 1/L, 1, 1, 1) · J(q))`` with ``L = reach`` [m]: dimensionless,
        ≥ 0 and exactly 0 at a singular configuration (wrist, elbow or shoulder). For a UR it
        falls roughly linearly with |sin θ5|, |sin θ3| and the shoulder distance near each. The
        same measure as :func:`singularity_distance_from_jacobian` (one compiled routine).

        Args:
            q: Joint positions [rad], shape (..., n).
            exact_below: Values are exact below this and saturated at it (``min(σ, exact_below)``);
                a finite value lets most configurations skip the SVD (a determinant bound shows
                they are above it). Default: exact everywhere.
            along_path: ``q`` (M, n) is a densely sampled joint path (e.g. weld samples): with a
                finite ``exact_below``, a sample that the last evaluated one proves ≥ ``exact_below``
                by a Lipschitz bound of the measure (``_sigma.sigma_lipschitz``) is not evaluated.
                Same values, much cheaper when the steps are small.

        Returns:
            Shape (...,).
        """
        arr = check_joint_array(q, self.n_joints, finite=False)  # finiteness: checked in the kernel
        if self.n_joints < 6:
            return np.zeros(arr.shape[:-1])
        flat = kernel_input(arr.reshape(-1, self.n_joints))
        if first_nonfinite_row(flat) >= 0:
            check_joint_array(q, self.n_joints)  # raises: NaN or inf
        c = self._chain
        scale = _row_scale(self.reach)
        if along_path and flat.ndim == 2 and np.isfinite(exact_below):
            out = chain_sigma_min_path(
                flat, c.origins, c.axes, c.qidx, scale, float(exact_below), self._sigma_lip
            )
        else:
            out = chain_sigma_min(flat, c.origins, c.axes, c.qidx, scale, float(exact_below))
        return np.asarray(out, dtype=np.float64).reshape(arr.shape[:-1])
