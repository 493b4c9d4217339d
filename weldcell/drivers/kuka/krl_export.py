"""KRL export of a validated trajectory: a ``.src``/``.dat`` pair for a KUKA KRC4/KRC5 (KSS 8.x).

Layout of the program (one ``DEF``; the positions live in the ``.dat``):

* Frames: ``$TOOL = WC_TOOL`` (the TCP in KUKA's flange frame, whose X axis points out of the flange)
  and ``$BASE = WC_BASE`` (weldcell's cell ``world`` frame seen from the robot root, so every E6POS
  is in cell coordinates). The controller's ``$ROBROOT`` must be the robot root (no offset).
* Transits (arc off): ``PTP`` through E6AXIS points picked from the validated joint path so that
  joint-linear interpolation stays within ``transit_tolerance`` of it, approximated with ``C_PTP``
  (``$APO.CPTP``) in between, exact stop at the arc start.
* Welds (arc on): ``LIN`` and ``CIRC`` through E6POS points fitted to the validated TCP path (position
  within ``path_tolerance``, orientation within ``orientation_tolerance``), approximated with
  ``C_DIS`` (``$APO.CDIS``) between them, exact stops at the arc start and end, ``$VEL.CP`` at the
  weld's mean TCP speed [m/s], set again before a motion whose planned speed differs by > 5 %
  (weaving with edge dwells); stands inside a weld become an exact stop and ``WAIT SEC``.
  Arc on: ``TRIGGER WHEN DISTANCE=0 DELAY=0 DO $OUT[n]=TRUE`` on the first
  weld motion (it switches where that motion starts, the arc start); with a start dwell in the
  trajectory the output is set at the exact stop instead, followed by ``WAIT SEC``. Arc off:
  ``TRIGGER WHEN DISTANCE=1 DELAY=0 DO $OUT[n]=FALSE`` on the last weld motion, or after
  ``WAIT SEC`` of the crater fill. ``WAIT FOR $IN[k]`` (arc established) when an input is given.
* External axes (a positioner or a track, :mod:`weldcell.drivers.external_export`): ``E1`` … ``Ek``
  of every E6AXIS and E6POS [deg or mm]. A **coordinated weld** (the positioner moves with the arc
  on) runs in a base coupled to the positioner through KUKA's external kinematics: before it
  ``$BASE=EK(MACHINE_DEF[m].ROOT,MACHINE_DEF[m].MECH_TYPE,WC_PART)`` (KSS 8: the EK function
  combines the root point of the external kinematic system ``MACHINE_DEF[m]`` (mechanism
  ``#EASYS``, calibrated on the controller) with the offset frame ``WC_PART`` of the base in its
  flange, so ``$BASE`` follows the flange while E1 … Ek move; KUKA's "external kinematics" /
  "offset of the base on the kinematic system", as used in ``$config.dat`` ``MACHINE_DEF`` and
  described e.g. by robotauto.co.uk, "KUKA robot configuration with external axes, part 2", 2025,
  and the KUKA forum's ``EK`` / ``EX_BASE`` threads). ``WC_PART`` is the identity, so the E6POS of
  the weld are the TCP relative to the positioner's flange (weldcell's model of it), and the
  controller keeps the TCP on that path relative to the part whatever the axes do; ``$VEL.CP`` is
  the travel speed relative to the part. After the weld ``$BASE=WC_BASE`` again.
* Every E6POS carries Status and Turn of the planned axis configuration, so the controller takes
  the validated IK branch (KUKA's definitions: Status bit 0 = wrist root point behind the A1 axis
  (overhead area), bit 1 = A3 at or beyond the stretched-arm angle φ, bit 2 = A5 ≤ 0; Turn bit i =
  axis A(i+1) negative).

Axis angles: weldcell's KUKA models use KUKA's axis angles (A1 … A6, the pendant's values).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from weldcell.drivers.external_export import (
    coordinated_header,
    coordinated_welds,
    external_axes_warnings,
    external_user_values,
    joint_path_with_external,
    positioner_flange_poses,
    refuse_external,
    split_coordinated,
    split_pieces,
    tcp_in_positioner_flange,
)
from weldcell.errors import ExportError
from weldcell.trajectory import JointTrajectory, load_trajectory, true_runs

NDArrayF = npt.NDArray[np.float64]

#: KUKA's flange frame (X out of the flange) from weldcell's flange frame (Z out): a +90° turn about Y.
T_KFLANGE_FLANGE = np.array(
    [[0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
)


class KrlExportError(ExportError):
    """A trajectory that cannot be written as KRL (not a KUKA arm, bad options, unwritable files)."""


@dataclass(frozen=True)
class KrlExportOptions:
    """Settings of the KRL export.

    Attributes:
        name: Program name (KRL identifier, ≤ 24 characters); "" = from the trajectory file name.
        arc_output: ``$OUT`` number that switches the arc on.
        arc_established_input: ``$IN`` number "arc established" to wait for (None: no wait).
        arc_timeout: Not used by KRL ``WAIT FOR`` (it waits indefinitely); kept for the report [s].
        transit_tolerance: Largest joint deviation [rad] of the PTP points' joint-linear path from
            the validated transit.
        path_tolerance: Largest TCP deviation [m] of the LIN/CIRC path from the validated weld path.
        orientation_tolerance: Largest torch orientation deviation [rad] along LIN/CIRC.
        cdis_mm: ``$APO.CDIS`` [mm] between weld motions (≤ path tolerance, so blending stays inside it).
        cptp_percent: ``$APO.CPTP`` [%] between transit points.
        dwell_speed: TCP speed [m/s] below which the robot counts as standing (dwells).
        min_dwell: Shortest stand [s] inside a weld written as an exact stop + ``WAIT SEC`` (weave
            edge dwells); shorter ones are part of the path.
        ek_machine: Index of the positioner's external kinematic system in ``MACHINE_DEF[]`` (the
            robot is 1) for coordinated welds (``$BASE=EK(...)``).
    """

    name: str = ""
    arc_output: int = 1
    arc_established_input: int | None = None
    arc_timeout: float = 2.0
    transit_tolerance: float = 1e-3
    path_tolerance: float = 1e-4
    orientation_tolerance: float = math.radians(0.5)
    cdis_mm: float = 0.1
    cptp_percent: int = 10
    dwell_speed: float = 5e-4
    min_dwell: float = 0.04
    ek_machine: int = 2

    def __post_init__(self) -> None:
        """Reject settings that cannot work.

        Raises:
            KrlExportError: bad name, I/O numbers or tolerances.
        """
        if self.name and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,23}", self.name):
            raise KrlExportError(
                f"KRL program name {self.name!r}: expected a KRL identifier of ≤ 24 characters"
            )
        if not 1 <= self.arc_output <= 4096:
            raise KrlExportError(f"arc output $OUT[{self.arc_output}]: expected 1 … 4096")
        if self.arc_established_input is not None and not 1 <= self.arc_established_input <= 4096:
            raise KrlExportError(
                f"arc established input $IN[{self.arc_established_input}]: expected 1 … 4096"
            )
        for name in (
            "transit_tolerance",
            "path_tolerance",
            "orientation_tolerance",
            "cdis_mm",
            "dwell_speed",
        ):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise KrlExportError(f"KRL export {name} {v!r}: expected a number > 0")
        if not 2 <= self.ek_machine <= 8:
            raise KrlExportError(
                f"KRL export ek_machine {self.ek_machine}: expected the MACHINE_DEF index 2 … 8 of "
                "the positioner (1 is the robot)"
            )
        if not 0 <= self.cptp_percent <= 100:
            raise KrlExportError(f"KRL export cptp_percent {self.cptp_percent}: expected 0 … 100")


@dataclass
class KrlExportSummary:
    """What the export wrote.

    Attributes:
        src, dat: Paths written.
        ptp, lin, circ: Number of motion statements of each kind.
        welds: Number of arc-on blocks.
        max_path_error: Largest TCP deviation [m] of the exported weld path from the plan.
        seams: Seam of each weld.
        targets: E6POS / E6AXIS name -> trajectory sample it was taken from.
        coordinated: Seams welded in the base coupled to the positioner (``$BASE=EK(...)``).
    """

    src: Path
    dat: Path
    ptp: int = 0
    lin: int = 0
    circ: int = 0
    welds: int = 0
    max_path_error: float = 0.0
    seams: list[str] = field(default_factory=list)
    targets: dict[str, int] = field(default_factory=dict)
    coordinated: list[str] = field(default_factory=list)


# --- KUKA conventions ---------------------------------------------------------------------------


def abc_from_matrix(R: NDArrayF) -> tuple[float, float, float]:
    """KUKA A, B, C [deg] of a rotation matrix: R = Rz(A) · Ry(B) · Rx(C)."""
    b = math.asin(max(-1.0, min(1.0, -float(R[2, 0]))))
    if abs(math.cos(b)) > 1e-9:
        a = math.atan2(float(R[1, 0]), float(R[0, 0]))
        c = math.atan2(float(R[2, 1]), float(R[2, 2]))
    else:  # gimbal lock: put everything into A
        a = math.atan2(-float(R[0, 1]), float(R[1, 1]))
        c = 0.0
    return math.degrees(a), math.degrees(b), math.degrees(c)


def matrix_from_abc(a_deg: float, b_deg: float, c_deg: float) -> NDArrayF:
    """Rotation matrix Rz(A) · Ry(B) · Rx(C) of KUKA angles [deg]."""
    a, b, c = (math.radians(v) for v in (a_deg, b_deg, c_deg))
    ca, sa, cb, sb, cc, sc = math.cos(a), math.sin(a), math.cos(b), math.sin(b), math.cos(c), math.sin(c)
    return np.array(
        [
            [ca * cb, ca * sb * sc - sa * cc, ca * sb * cc + sa * sc],
            [sa * cb, sa * sb * sc + ca * cc, sa * sb * cc - ca * sc],
            [-sb, cb * sc, cb * cc],
        ]
    )


def frame_literal(T: NDArrayF) -> str:
    """A KRL FRAME literal of a pose (position [m] → mm)."""
    a, b, c = (v + 0.0 for v in abc_from_matrix(T[:3, :3]))
    x, y, z = (float(v) * 1000.0 + 0.0 for v in T[:3, 3])
    return f"{{X {x:.4f},Y {y:.4f},Z {z:.4f},A {a:.5f},B {b:.5f},C {c:.5f}}}"


def stretched_a3(robot: object) -> float:
    """φ [rad]: the A3 angle at which A2, A3 and the wrist root point are in line (stretched arm)."""
    grid = np.radians(np.linspace(-30.0, 30.0, 6001))
    q = np.zeros((grid.size, 6))
    q[:, 1] = -math.pi / 2
    q[:, 2] = grid
    P = robot.link_poses(q)  # type: ignore[attr-defined]
    a2, a3, wrp = P[:, 2, :3, 3], P[:, 3, :3, 3], P[:, 5, :3, 3]
    u, v = a3 - a2, wrp - a3
    cross = u[:, 0] * v[:, 2] - u[:, 2] * v[:, 0]  # in the x-z plane (A1 = 0)
    aligned = np.einsum("ij,ij->i", u, v) > 0
    i = int(np.argmin(np.where(aligned, np.abs(cross), np.inf)))
    return float(grid[i])


def status_turn(robot: object, q: NDArrayF, phi: float) -> tuple[NDArrayF, NDArrayF]:
    """KUKA Status and Turn of axis positions ``q`` [rad], shape (n, 6) → two int arrays (n,)."""
    q = np.atleast_2d(q)
    P = robot.link_poses(q)  # type: ignore[attr-defined]
    T1 = P[:, 1]  # A1 coordinate system
    wrp = P[:, 5, :3, 3]
    x_a1 = np.einsum("ij,ij->i", wrp - T1[:, :3, 3], T1[:, :3, 0])
    bit0 = (x_a1 < 0).astype(int)  # overhead area
    bit1 = (q[:, 2] >= phi).astype(int)
    a5 = np.degrees(q[:, 4])
    bit2 = (~(((a5 > 0) & (a5 < 180)) | (a5 < -180))).astype(int)
    status = bit0 | bit1 << 1 | bit2 << 2
    turn = np.zeros(q.shape[0], dtype=int)
    for i in range(6):
        turn |= (q[:, i] < 0).astype(int) << i
    return status, turn


# --- path fitting ------------------------------------------------------------------------------


def _rot_angle(Ra: NDArrayF, Rb: NDArrayF) -> NDArrayF:
    tr = np.einsum("...ij,...ij->...", Ra, Rb)
    out: NDArrayF = np.arccos(np.clip((tr - 1.0) / 2.0, -1.0, 1.0))
    return out


def _slerp_err(R: NDArrayF, u: NDArrayF) -> float:
    """Largest angle between R[k] and the interpolation from R[0] to R[-1] at fraction u[k]."""
    from scipy.spatial.transform import Rotation, Slerp

    ends = Rotation.from_matrix(np.stack([R[0], R[-1]]))
    interp = Slerp([0.0, 1.0], ends)(np.clip(u, 0.0, 1.0)).as_matrix()
    return float(np.max(_rot_angle(interp, R), initial=0.0))


def _lin_ok(p: NDArrayF, R: NDArrayF, tol: float, otol: float) -> bool:
    d = p[-1] - p[0]
    L = float(np.linalg.norm(d))
    if L < 1e-9:
        return bool(np.max(np.linalg.norm(p - p[0], axis=1)) <= tol)
    e = d / L
    rel = p - p[0]
    s = rel @ e
    if np.any(s < -tol) or np.any(s > L + tol) or np.any(np.diff(s) < -tol):
        return False
    dev = np.linalg.norm(rel - s[:, None] * e, axis=1)
    if float(np.max(dev)) > tol:
        return False
    return _slerp_err(R, s / L) <= otol


def _circle(p0: NDArrayF, p1: NDArrayF, p2: NDArrayF) -> tuple[NDArrayF, float, NDArrayF] | None:
    a, b = p1 - p0, p2 - p0
    n = np.cross(a, b)
    nn = float(n @ n)
    if nn < 1e-18:
        return None
    c = p0 + (np.cross(n, a) * (b @ b) + np.cross(b, n) * (a @ a)) / (2.0 * nn)
    return c, float(np.linalg.norm(p0 - c)), n / math.sqrt(nn)


def _circ_ok(p: NDArrayF, R: NDArrayF, tol: float, otol: float) -> bool:
    if p.shape[0] < 5:
        return False
    circ = _circle(p[0], p[p.shape[0] // 2], p[-1])
    if circ is None:
        return False
    c, r, n = circ
    if r > 5.0:
        return False
    rel = p - c
    out_of_plane = rel @ n
    in_plane = rel - out_of_plane[:, None] * n
    dev = np.hypot(np.linalg.norm(in_plane, axis=1) - r, out_of_plane)
    if float(np.max(dev)) > tol:
        return False
    e1 = in_plane[0] / np.linalg.norm(in_plane[0])
    e2 = np.cross(n, e1)
    ang = np.unwrap(np.arctan2(in_plane @ e2, in_plane @ e1))
    if np.any(np.diff(ang) < -1e-9) or ang[-1] <= 0 or ang[-1] > math.radians(350):
        return False
    return _slerp_err(R, ang / ang[-1]) <= otol


#: Longest first piece [samples] tried for a circle whose shortest piece fails (covers a 0.5 s ramp at
#: 4 ms, the raised-cosine start of a weld).
_CIRC_PROBE = 128


def fit_path(T: NDArrayF, tol: float, otol: float) -> list[tuple[str, int, int]]:
    """Split a dense TCP path (poses (n, 4, 4)) into ``("LIN", i, j)`` and ``("CIRC", i, j)`` pieces.

    Each piece reproduces samples i … j within ``tol`` [m] and ``otol`` [rad]; pieces are chosen
    greedily as long as possible (exponential then binary search on the end sample).
    """
    p, R = T[:, :3, 3], T[:, :3, :3]
    n = int(p.shape[0])
    pieces: list[tuple[str, int, int]] = []

    def longest(i: int, ok: object, first: int, probe: bool = False) -> int:
        """Largest j ≥ i + first with ok(i … j), or -1; exponential then binary search.

        ``probe``: when the shortest piece fails, try 2, 4, 8 … times as long (up to
        :data:`_CIRC_PROBE` samples) before giving up: a circle that starts with a speed ramp has
        first samples too close together to define it.
        """
        check = ok
        j = min(i + first, n - 1)
        if j - i < first and j - i < 1:
            return -1
        step = first
        while not check(p[i : j + 1], R[i : j + 1], tol, otol):  # type: ignore[operator]
            if not probe or j == n - 1 or step >= _CIRC_PROBE:
                return -1
            step *= 2
            j = min(i + step, n - 1)
        good = j
        while good < n - 1:
            step *= 2
            j = min(i + step, n - 1)
            if check(p[i : j + 1], R[i : j + 1], tol, otol):  # type: ignore[operator]
                good = j
                continue
            lo, hi = good, j
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if check(p[i : mid + 1], R[i : mid + 1], tol, otol):  # type: ignore[operator]
                    lo = mid
                else:
                    hi = mid
            return lo
        return good

    i = 0
    while i < n - 1:
        j_lin = max(longest(i, _lin_ok, 1), i + 1)
        j_circ = longest(i, _circ_ok, 8, probe=True) if n - 1 - i >= 8 else -1
        if j_circ > i and j_circ - i > 1.5 * (j_lin - i):
            pieces.append(("CIRC", i, j_circ))
            i = j_circ
        else:
            pieces.append(("LIN", i, j_lin))
            i = j_lin
    return pieces


def simplify_joint_path(q: NDArrayF, tol: float) -> list[int]:
    """Indices of the samples of a joint path kept so that joint-linear interpolation between them
    stays within ``tol`` [rad] of every sample (greedy, longest first)."""
    n = q.shape[0]
    keep = [0]
    i = 0
    while i < n - 1:
        lo, hi = i + 1, n - 1

        def ok(j: int, i: int = i) -> bool:
            u = (np.arange(i, j + 1) - i) / (j - i)
            line = q[i] + u[:, None] * (q[j] - q[i])
            return bool(np.max(np.abs(line - q[i : j + 1])) <= tol)

        if ok(hi):
            j = hi
        else:
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if ok(mid):
                    lo = mid
                else:
                    hi = mid
            j = lo
        keep.append(j)
        i = j
    return keep


# --- export ------------------------------------------------------------------------------------


def _ext_fields(e: NDArrayF | None) -> str:
    """``E1 … E6`` of a KRL struct: the external axes [deg or mm], 0 where the cell has none."""
    vals = np.zeros(6) if e is None else np.concatenate([e, np.zeros(6 - e.size)])
    return ",".join(f"E{i + 1} {vals[i] + 0.0:.5f}" for i in range(6))


def _axis_literal(q: NDArrayF, e: NDArrayF | None = None) -> str:
    a = np.degrees(q) + 0.0
    return "{" + ",".join(f"A{i + 1} {a[i]:.5f}" for i in range(6)) + "," + _ext_fields(e) + "}"


def _pos_literal(T: NDArrayF, s: int, t: int, e: NDArrayF | None = None) -> str:
    a, b, c = abc_from_matrix(T[:3, :3])
    x, y, z = (float(v) * 1000.0 for v in T[:3, 3])
    return f"{{X {x:.4f},Y {y:.4f},Z {z:.4f},A {a:.5f},B {b:.5f},C {c:.5f},S {s},T {t},{_ext_fields(e)}}}"


def program_name(traj_path: Path, options: KrlExportOptions) -> str:
    """The KRL program name: ``options.name`` or the trajectory file's stem made a KRL identifier."""
    if options.name:
        return options.name.upper()
    stem = re.sub(r"[^A-Za-z0-9_]", "_", traj_path.stem).upper() or "WELD"
    if not stem[0].isalpha():
        stem = "W" + stem
    return stem[:24]


def build_krl(
    traj: JointTrajectory, name: str, options: KrlExportOptions
) -> tuple[str, str, KrlExportSummary]:
    """The ``.src`` and ``.dat`` texts of ``traj`` (see module docstring) and a summary (paths unset).

    Raises:
        KrlExportError: not a six-axis KUKA (OPW) model.
    """
    from weldcell.kinematics import load_robot

    robot = load_robot(traj.robot)
    if robot.kind != "opw" or not traj.robot.startswith("kr"):
        raise KrlExportError(
            f"trajectory robot {traj.robot!r} is not a KUKA arm: KRL export needs a KUKA model "
            "(kr6_r900, kr10_r1420)"
        )
    phi = stretched_a3(robot)
    S, Tn = status_turn(robot, traj.q, phi)
    ext = external_user_values(traj, 6, "KRL export")  # E1 … E6 [deg or mm]
    T_tool = T_KFLANGE_FLANGE @ traj.T_flange_tcp
    T_base = np.asarray(
        np.linalg.inv(traj.T_world_base), dtype=np.float64
    )  # the cell's world frame seen from the robot root
    summary = KrlExportSummary(src=Path(), dat=Path())
    src: list[str] = []
    dat: list[str] = []
    ind = ""  # KUKA (and krllint) do not indent the body of DEF / DEFDAT

    def out(line: str) -> None:
        src.append(ind + line if line else "")

    out(f"; weldcell KRL export: robot {traj.robot}, {traj.n_samples} samples of {traj.dt * 1000:.1f} ms")
    out("; $ROBROOT must be the robot root; WC_BASE = weldcell's cell world frame, WC_TOOL = the torch TCP")
    if traj.external is not None:
        x = traj.external
        out(
            f"; external axes E1..E{x.n_axes} = {x.role} {x.device} ({', '.join(x.names)}), deg or mm; "
            f"$EX_AX_NUM must be {x.n_axes}"
        )
        out("; the E axes move synchronously with the arm (not ASYNC) and linearly between the points")
        for line in coordinated_header(traj, "krl"):
            out("; " + line)
        if x.role == "positioner":
            out(f"; EK: MACHINE_DEF[{options.ek_machine}] = {x.device}, MECH_TYPE #EASYS, E1..E{x.n_axes}")
    out("BAS(#INITMOV,0)")
    out("$TOOL=WC_TOOL")
    out("$BASE=WC_BASE")
    out("$IPO_MODE=#BASE")
    out("$ORI_TYPE=#VAR")
    out("$CIRC_TYPE=#BASE")
    out(f"$APO.CPTP={options.cptp_percent}")
    out(f"$APO.CDIS={options.cdis_mm:.3f}")
    dat.append(f"{ind}DECL FRAME WC_TOOL={frame_literal(T_tool)}")
    dat.append(f"{ind}DECL FRAME WC_BASE={frame_literal(T_base)}")
    T_world_pflange = positioner_flange_poses(traj)
    T_rel = None if T_world_pflange is None else tcp_in_positioner_flange(traj, T_world_pflange)
    if T_rel is not None:  # the coupled base in the positioner's flange: the flange itself
        dat.append(f"{ind}DECL FRAME WC_PART={frame_literal(np.eye(4))}")
    # PTP speed: the transits' peak axis speed as a percentage of each axis maximum
    qd = np.abs(np.diff(traj.q, axis=0)) / traj.dt
    transit = ~traj.arc_on[1:]
    pct = (
        np.ceil(100.0 * np.max(qd[transit], axis=0, initial=0.0) / np.asarray(robot.qd_max))
        if transit.any()
        else 10
    )
    pct = np.clip(pct, 1, 100).astype(int)
    for i in range(6):
        out(f"$VEL_AXIS[{i + 1}]={int(pct[i])}")
    welds = [(w.first, w.last) for w in traj.arc_segments()]
    coord = coordinated_welds(traj, welds)
    summary.welds = len(welds)
    n = traj.n_samples
    bounds = [(0, welds[0][0] if welds else n - 1)]
    for k, (_, b) in enumerate(welds):
        nxt = welds[k + 1][0] if k + 1 < len(welds) else n - 1
        bounds.append((b, nxt))
    counters = {"P": 0, "W": 0}
    T_path = traj.T_world_tcp  # the weld's TCP path in the active $BASE

    def axis_point(idx: int, approx: bool) -> None:
        counters["P"] += 1
        nm = f"XP{counters['P']}"
        dat.append(f"{ind}DECL E6AXIS {nm}={_axis_literal(traj.q[idx], None if ext is None else ext[idx])}")
        out(f"PTP {nm}" + (" C_PTP" if approx else ""))
        summary.targets[nm] = idx
        summary.ptp += 1

    def pos_point(idx: int) -> str:
        counters["W"] += 1
        nm = f"XW{counters['W']}"
        e = None if ext is None else ext[idx]
        dat.append(f"{ind}DECL E6POS {nm}={_pos_literal(T_path[idx], int(S[idx]), int(Tn[idx]), e)}")
        summary.targets[nm] = idx
        return nm

    arc = f"$OUT[{options.arc_output}]"
    max_err = 0.0
    for k, (a, b) in enumerate(bounds):
        # transit a … b (arc off); the first one starts at sample 0
        keep = simplify_joint_path(joint_path_with_external(traj, a, b), options.transit_tolerance)
        start_at = 0 if k == 0 else 1  # a weld's last sample is already the position
        for m, j in enumerate(keep[start_at:], start=start_at):
            last = m == len(keep) - 1
            axis_point(a + j, approx=not last and j != 0)  # exact at the first point (BCO) and the last
        if k >= len(welds):
            break
        w0, w1 = welds[k]
        seam = int(traj.seam_index[w0])
        seam_name = traj.seam_ids[seam] if 0 <= seam < len(traj.seam_ids) else str(seam)
        summary.seams.append(seam_name)
        T_path = traj.T_world_tcp if not coord[k] or T_rel is None else T_rel
        if coord[k]:
            summary.coordinated.append(seam_name)
            out(f"; seam {seam_name}: coordinated, base coupled to the positioner's flange")
            out(
                f"$BASE=EK(MACHINE_DEF[{options.ek_machine}].ROOT,"
                f"MACHINE_DEF[{options.ek_machine}].MECH_TYPE,WC_PART)"
            )
        p = T_path[w0 : w1 + 1, :3, 3]
        speed = np.linalg.norm(np.diff(p, axis=0), axis=1) / traj.dt
        moving = np.flatnonzero(speed > options.dwell_speed)
        if moving.size == 0:
            m0, m1 = w0, w1
        else:
            m0, m1 = w0 + int(moving[0]), w0 + int(moving[-1]) + 1
        dwell = (m0 - w0) * traj.dt
        crater = (w1 - m1) * traj.dt
        seg = np.linalg.norm(np.diff(T_path[m0 : m1 + 1, :3, 3], axis=0), axis=1)
        # interior dwells (weave edge dwells): exact stop + WAIT SEC, the arc stays on
        min_samples = max(1, round(options.min_dwell / traj.dt))
        stops = [
            (m0 + a, m0 + b)
            for a, b in true_runs(seg / traj.dt <= options.dwell_speed)
            if b - a + 1 >= min_samples
        ]
        spans: list[tuple[int, int, float]] = []  # (first, last sample, dwell after [s])
        first = m0
        for a, b in stops:
            spans.append((first, a, (b - a + 1) * traj.dt))
            first = b + 1
        spans.append((first, m1, 0.0))
        length = float(np.sum(seg))
        moving_time = max((m1 - m0 - sum(b - a + 1 for a, b in stops)) * traj.dt, traj.dt)
        vel = length / moving_time
        out(f"; seam {seam_name}: arc on, {length * 1000:.1f} mm at {vel * 1000:.2f} mm/s")
        out(f"$VEL.CP={vel:.5f}")
        v_now = vel
        if dwell > 0:
            out(f"{arc}=TRUE")
            if options.arc_established_input is not None:
                out(f"WAIT FOR $IN[{options.arc_established_input}]")
            out(f"WAIT SEC {dwell:.3f}")
        else:
            out(f"TRIGGER WHEN DISTANCE=0 DELAY=0 DO {arc}=TRUE")
        for si, (f0, f1, pause) in enumerate(spans):
            last_span = si == len(spans) - 1
            if f1 <= f0:
                if pause > 0:
                    out(f"WAIT SEC {pause:.3f}")
                continue
            kinds = () if traj.external is None else traj.external.kinds
            fitted = fit_path(T_path[f0 : f1 + 1], options.path_tolerance, options.orientation_tolerance)
            if coord[k] and ext is not None:
                pieces = split_coordinated(fitted, ext, kinds, T_path[:, :3, 3], f0)
            else:
                pieces = split_pieces(fitted, ext, kinds, f0)
            for pi, (kind, i, j) in enumerate(pieces):
                last = pi == len(pieces) - 1
                if last and last_span and crater <= 0:
                    out(f"TRIGGER WHEN DISTANCE=1 DELAY=0 DO {arc}=FALSE")
                v_piece = float(np.sum(seg[f0 - m0 + i : f0 - m0 + j])) / max((j - i) * traj.dt, traj.dt)
                if abs(v_piece - v_now) > 0.05 * v_now:  # speed changes along the weld (weave dwells)
                    v_now = v_piece
                    out(f"$VEL.CP={v_now:.5f}")
                end = pos_point(f0 + j)
                approx = "" if last else " C_DIS"  # exact stop before a dwell and at the arc end
                if kind == "LIN":
                    out(f"LIN {end}{approx}")
                    summary.lin += 1
                else:
                    aux = pos_point(f0 + (i + j) // 2)
                    out(f"CIRC {aux},{end}{approx}")
                    summary.circ += 1
            if pause > 0:
                out(f"WAIT SEC {pause:.3f}")
            max_err = max(max_err, options.path_tolerance)
        if crater > 0:
            out(f"WAIT SEC {crater:.3f}")
            out(f"{arc}=FALSE")
        if coord[k]:
            out("$BASE=WC_BASE")
        T_path = traj.T_world_tcp
    summary.max_path_error = max_err
    header = ["&ACCESS RVP", "&REL 1"]
    src_text = "\n".join([*header, f"DEF {name}( )", *src, "END", ""])
    dat_text = "\n".join([*header, f"DEFDAT {name} PUBLIC", *dat, "ENDDAT", ""])
    return src_text, dat_text, summary


def export_krl(
    traj_path: str | Path,
    out_dir: str | Path,
    options: KrlExportOptions | None = None,
    *,
    force_unvalidated: bool = False,
    stamp_key: object = None,
) -> KrlExportSummary:
    """Load a trajectory, check its stamp and write ``<name>.src`` and ``<name>.dat`` into ``out_dir``.

    Raises:
        StampError: no matching stamp and ``force_unvalidated`` is False.
        KrlExportError: not a KUKA trajectory, or the files cannot be written.
        TrajectoryFormatError: the trajectory file cannot be read.
    """
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, verify_stamp

    opts = options or KrlExportOptions()
    src_path = Path(traj_path)
    if src_path.suffix.lower() in (".yaml", ".yml"):
        raise KrlExportError(
            f"{src_path}: this is a weld program; export expects a planned trajectory (.npz): run "
            "'weldcell plan' and 'weldcell validate' first"
        )
    traj = load_trajectory(src_path)
    if not force_unvalidated:
        verify_stamp(src_path, traj, key=FROM_ENVIRONMENT if stamp_key is None else stamp_key)  # type: ignore[arg-type]
    name = program_name(src_path, opts)
    src_text, dat_text, summary = build_krl(traj, name, opts)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise KrlExportError(f"--output {out}: is a file; KRL export writes a folder (NAME.src and NAME.dat)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        summary.src = out / f"{name.lower()}.src"
        summary.dat = out / f"{name.lower()}.dat"
        summary.src.write_text(src_text.replace("\n", "\r\n"), encoding="ascii", newline="")
        summary.dat.write_text(dat_text.replace("\n", "\r\n"), encoding="ascii", newline="")
    except OSError as err:
        raise KrlExportError(f"{out}: cannot write the KRL files ({err.strerror or err})") from err
    return summary


def export_rsi_files(
    traj_path: str | Path,
    out_dir: str | Path,
    config: object,
    *,
    name: str = "WC_RSI",
    force_unvalidated: bool = False,
    stamp_key: object = None,
) -> list[Path]:
    """Write the robot-side RSI files for streaming ``traj_path`` with the RSI driver into ``out_dir``.

    Files: ``<name>.src``/``.dat`` (KRL: PTP to the trajectory's first sample, RSI_CREATE, RSI_ON,
    RSI_MOVECORR), ``<name>.rsi.xml`` (signal flow) and ``<name>_eth.xml`` (Ethernet configuration).

    Raises:
        StampError: no matching stamp and ``force_unvalidated`` is False.
        KrlExportError: not a KUKA trajectory, or the files cannot be written.
    """
    from weldcell.drivers.kuka.config import RsiConfig
    from weldcell.drivers.kuka.rsi_files import ethernet_config_xml, krl_rsi_program, rsi_context_xml
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, verify_stamp

    assert isinstance(config, RsiConfig)
    src_path = Path(traj_path)
    traj = load_trajectory(src_path)
    refuse_external(traj, f"{src_path}: RSI files (the RSI driver streams the arm's axes only)")
    if not force_unvalidated:
        verify_stamp(src_path, traj, key=FROM_ENVIRONMENT if stamp_key is None else stamp_key)  # type: ignore[arg-type]
    if not traj.robot.startswith("kr"):
        raise KrlExportError(
            f"trajectory robot {traj.robot!r} is not a KUKA arm: the RSI files need a KUKA model"
        )
    if traj.robot != config.robot:
        from dataclasses import replace

        config = replace(config, robot=traj.robot)
    low = name.lower()
    eth = f"{low}_eth.xml"
    src, dat = krl_rsi_program(name, f"{low}.rsi", config, np.degrees(traj.q[0]).tolist())
    files = {
        f"{low}.src": src,
        f"{low}.dat": dat,
        f"{low}.rsi.xml": rsi_context_xml(config, eth),
        eth: ethernet_config_xml(config),
    }
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise KrlExportError(f"--output {out}: is a file; the RSI export writes a folder")
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for fname, text in files.items():
            p = out / fname
            p.write_text(text.replace("\n", "\r\n"), encoding="ascii", newline="")
            written.append(p)
    except OSError as err:
        raise KrlExportError(f"{out}: cannot write the RSI files ({err.strerror or err})") from err
    return written


def export_for_cli(
    fmt: str,
    trajectory: Path,
    output: Path,
    *,
    arc_do: int,
    arc_di: int,
    sensor_url: str,
    force_unvalidated: bool,
    stamp_key: object,
) -> list[str]:
    """``weldcell export --format krl|kuka-rsi``: write the files, return the lines to print.

    weldcell numbers digital I/O from 0, KRL from 1: ``--arc-do N`` is ``$OUT[N+1]`` and
    ``--arc-di N`` is ``$IN[N+1]`` (the RSI driver's DiO bit N maps to the same ``$OUT[N+1]``).
    """
    if fmt == "krl":
        opts = KrlExportOptions(arc_output=arc_do + 1, arc_established_input=arc_di + 1)
        s = export_krl(trajectory, output, opts, force_unvalidated=force_unvalidated, stamp_key=stamp_key)
        return [
            f"wrote [bold]{s.src}[/] and [bold]{s.dat}[/] (krl): {s.ptp} PTP, {s.lin} LIN, {s.circ} CIRC, "
            f"{s.welds} welds, seams: {', '.join(s.seams) or 'none'}",
            *external_axes_warnings(trajectory, "krl"),
        ]
    if fmt == "kuka-rsi":
        from weldcell.drivers.kuka.driver import RsiDriver
        from weldcell.drivers.registry import parse_robot_url

        url = parse_robot_url(sensor_url)
        if url.scheme != "kuka-rsi":
            raise KrlExportError(
                f"--sensor-url {sensor_url!r}: expected kuka-rsi://HOST:PORT[?cycle_ms=4&mode=absolute]"
            )
        drv = RsiDriver.from_url(url, arc_output=arc_do, arc_established_input=arc_di)
        files = export_rsi_files(
            trajectory, output, drv.config, force_unvalidated=force_unvalidated, stamp_key=stamp_key
        )
        c = drv.config
        return [
            f"wrote {', '.join(f'[bold]{p.name}[/]' for p in files)} into {output} (kuka-rsi): sensor "
            f"{c.host}:{c.port}, {c.cycle_ms} ms, {c.mode}; copy the XML files to "
            "C:\\KRC\\ROBOTER\\Config\\User\\Common\\SensorInterface and the KRL files to KRC:\\R1\\Program"
        ]
    raise KrlExportError(f"--format {fmt!r}: expected urscript, krl or kuka-rsi")
