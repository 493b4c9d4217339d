"""FANUC TP export of a validated trajectory: one ASCII ``.LS`` program for ArcTool (R-30iB Plus).

Layout (``/PROG``, ``/ATTR``, ``/APPL``, ``/MN``, ``/POS``, ``/END``):

* Frames: ``UFRAME_NUM`` = weldcell's cell ``world`` frame seen from FANUC's robot world frame (the
  J1 axis at the J2 height, :mod:`weldcell.drivers.fanuc.joints`), so every position is in cell
  coordinates; ``UTOOL_NUM`` = the torch TCP in the faceplate frame (weldcell's ``flange``). Their
  values are written as comment lines at the top and returned in the summary: teach them on the
  pendant (SETUP > Frames) before running the program.
* Transits (arc off): ``J`` moves through points picked from the validated joint path so that
  joint interpolation stays within ``transit_tolerance``; ``CNT100`` between them, ``FINE`` at the
  first point and at each arc start. The speed is the transit's peak joint speed as a percentage.
* Welds: ``Arc Start[n]`` at the start point (``FINE``), then ``L`` and ``C`` moves fitted to the
  validated TCP path (within ``path_tolerance`` and ``orientation_tolerance``), ``CNT`` between them
  and ``FINE`` at the end, then ``Arc End[n]``. ``n`` is the weld schedule: the procedure's job
  number, else its 1-based position in the program's procedures. A start dwell in the trajectory
  becomes ``WAIT``; the crater fill is the Arc End schedule's (its time is noted in a comment).
  Weld speeds are in cm/min (whole numbers, as the pendant takes them).
* Weave: a seam whose procedure weaves with a sine pattern is written as ``Weave Sine[n]`` …
  ``Weave End`` around moves that follow the seam's centre line through the trajectory's points at
  the weave's zero crossings (the controller adds the weave, from weave schedule ``n``); other
  patterns stay the planned, woven path as plain moves.
* External axes (a positioner or a track, :mod:`weldcell.drivers.external_export`): a ``GP2`` block
  (joint representation ``J1`` … ``Jk``, deg or mm) in every ``/POS`` entry and
  ``DEFAULT_GROUP = 1,1,*,*,*``. A **coordinated weld** (the positioner moves with the arc on) has
  the ``COORD`` motion option on its ``L``/``C`` lines: FANUC's Coordinated Motion option moves the
  follower's TCP (group 1) at the programmed speed and on the path relative to the leader group's
  moving frame (the positioner, group 2, configured as the leader of the coordinated pair); the
  positions stay as the pendant records them, group 1 in the user frame with the leader at its
  ``GP2`` values (FANUC ArcTool "Coordinated Motion" setup and operations manual, section
  "Coordinated motion": CD_pairs of a leader and a follower group, "path execution by the
  follower in a moving frame of the leader"; public copy at Lincoln Electric's documentation site).
  The weld's L/C pieces are fitted to the TCP path relative to the positioner's flange and the
  speed is the travel speed relative to the part.
* Every position carries FANUC's configuration string ``'F/N U/D T/B, t1, t4, t6'`` of the planned
  branch and the sample it was taken from in its comment (``P[k:"S<index>"]``):

  - ``T`` (front) / ``B``: wrist centre in front of / behind the J1 axis (weldcell's shoulder label);
  - ``U`` / ``D``: elbow above / below the line from J2 to the wrist centre (elbow label);
  - ``N`` / ``F``: controller J5 ≤ 0 / > 0 (wrist label; FANUC's axis directions);
  - turn numbers of J1, J4, J6: ``floor((angle + 180°) / 360°)``.

  Sources and checks (issue 15): FANUC's manuals are not public and none could be found in the
  documentation / web corpora searched ("FANUC configuration string N U T", "flip up front turn
  numbers"); integrators' descriptions agree on the three letters (flip/no-flip of the wrist, elbow
  up/down, front/back of J1) and the J1/J4/J6 turn numbers (Jay Strybis, "The Perils of Six-Axis
  Robots", onerobotics.com, 2013; third-party knowledge-base pages disagree on the signs and are not
  used). The sign conventions above are weldcell's reading of that rule in FANUC's joint convention
  (the wrist pointing down at J5 = -90° reads N, the zero pose U T, as on ARC Mate positions); the
  CRX uses the same geometric rule (:func:`_crx_labels_fanuc`), not its IK solver's branch labels,
  and tests check that the CRX and the ARC Mate read alike at the same FANUC joints. **Limits:** on
  the CRX (16 IK branches, 8 flag combinations, no J3 turn number with J3 spanning ±270°) a string
  with its turns can fit several joint solutions (tests/drivers/fanuc/test_crx_config.py measures
  it): linear moves follow the path from the planned joints, but a joint move (``J P[k]``) to such
  a position may take another solution.
* Joint representation (issue 15): every ``J`` target whose configuration string and turn numbers do
  not select exactly the planned joints is written with the planned joints in FANUC's convention
  (:func:`~weldcell.drivers.fanuc.joints.controller_deg_from_q`) instead of X … R:
  ``GP1: UF : u, UT : t,`` then ``J1= … deg,`` … ``J6= … deg``, the layout FANUC controllers write
  for joint positions: the R-30iB backups in github.com/JuniorNatalin/VASC
  (``KJLTVX/Backups/15.07.2024/LTVL/kjltvl411550r01/english/up222.ls``: joint groups as
  ``GPn:`` / ``UF : 0, UT : 2,`` / ``J1=     0.000  mm``), and public controller-written ``.LS`` files
  (found by exact-string search of the code corpus) with group 1 in joints as ``J1=`` … ``J3=`` on
  one line and ``J4=`` … ``J6=`` on the next, tab-separated, ``%10.3f deg``.
  The check (:func:`cartesian_solutions`) resolves the position the way the
  controller does: every IK branch of the faceplate pose, with every 2π-equivalent of every joint
  inside the limits (J3 spans ±270° on the CRX; J2, J3, J5 have no turn number), that has the same
  letters and turn numbers. ``L`` and ``C`` targets stay Cartesian: they start on the planned
  branch and follow the path continuously. The summary counts both kinds (``joint_repr``,
  ``ambiguous``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.drivers.external_export import (
    coordinated_welds,
    external_axes_warnings,
    external_user_values,
    joint_path_with_external,
    positioner_flange_poses,
    split_coordinated,
    split_pieces,
    tcp_in_positioner_flange,
)
from weldcell.drivers.fanuc.joints import T_base_world, controller_deg_from_q, joint_map, xyzwpr_from_pose
from weldcell.drivers.kuka.krl_export import fit_path, simplify_joint_path
from weldcell.errors import DriverError, ExportError
from weldcell.trajectory import JointTrajectory, load_trajectory
from weldcell.trajectory.io import find_program

NDArrayF = npt.NDArray[np.float64]


class TpExportError(ExportError):
    """A trajectory that cannot be written as a TP program (not a FANUC arm, bad options, I/O)."""


@dataclass(frozen=True)
class TpExportOptions:
    """Settings of the TP export.

    Attributes:
        name: Program name (letters, digits, ``_``; ≤ 36 characters, starts with a letter); "" = from
            the trajectory file name.
        uframe, utool: User frame and tool frame numbers (1-9 / 1-10).
        transit_tolerance: Largest joint deviation [rad] of the J points' joint path from the transit.
        path_tolerance: Largest TCP deviation [m] of the L/C path from the validated weld path.
        orientation_tolerance: Largest torch orientation deviation [rad] along L/C.
        weld_cnt: CNT value between weld moves (0-100).
        dwell_speed: TCP speed [m/s] below which the torch counts as standing (start dwell, crater).
    """

    name: str = ""
    uframe: int = 1
    utool: int = 1
    transit_tolerance: float = 1e-3
    path_tolerance: float = 1e-4
    orientation_tolerance: float = math.radians(0.5)
    weld_cnt: int = 50
    dwell_speed: float = 5e-4

    def __post_init__(self) -> None:
        """Reject settings that cannot work.

        Raises:
            TpExportError: the field, its value and what is expected.
        """
        if self.name and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,35}", self.name):
            raise TpExportError(
                f"TP program name {self.name!r}: expected a letter then ≤ 35 letters/digits/_"
            )
        if not 1 <= self.uframe <= 9:
            raise TpExportError(f"TP export uframe {self.uframe}: expected 1 … 9")
        if not 1 <= self.utool <= 10:
            raise TpExportError(f"TP export utool {self.utool}: expected 1 … 10")
        if not 0 <= self.weld_cnt <= 100:
            raise TpExportError(f"TP export weld_cnt {self.weld_cnt}: expected 0 … 100")
        for name in ("transit_tolerance", "path_tolerance", "orientation_tolerance", "dwell_speed"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise TpExportError(f"TP export {name} {v!r}: expected a number > 0")


@dataclass
class TpExportSummary:
    """What the export wrote.

    Attributes:
        path: The ``.LS`` file.
        name: Program name.
        joint, linear, circular: Motion lines of each kind.
        welds: Arc Start … Arc End blocks.
        weaves: Welds written with ``Weave Sine``.
        uframe_xyzwpr, utool_xyzwpr: The frames to teach, X Y Z [mm] W P R [deg].
        seams: Seam ids in the order welded.
        joint_repr: ``J`` targets written in joint representation (their configuration string and
            turn numbers would not select exactly the planned joints).
        ambiguous: Of those, targets whose string and turns fit several joint solutions (the rest
            fit none exactly: the planned joints are not among the solutions the controller finds).
        cartesian_j: ``J`` targets written as X … R (the string selects exactly the planned joints).
        coordinated: Seams welded with ``COORD`` (the positioner, group 2, as leader).
        targets: ``P[k]`` number -> trajectory sample it was taken from.
    """

    path: Path
    name: str
    joint: int = 0
    linear: int = 0
    circular: int = 0
    welds: int = 0
    weaves: int = 0
    uframe_xyzwpr: list[float] = field(default_factory=list)
    utool_xyzwpr: list[float] = field(default_factory=list)
    seams: list[str] = field(default_factory=list)
    joint_repr: int = 0
    ambiguous: int = 0
    cartesian_j: int = 0
    coordinated: list[str] = field(default_factory=list)
    targets: dict[int, int] = field(default_factory=dict)


def _crx_labels_fanuc(robot: Any, q: NDArrayF) -> npt.NDArray[np.int64]:
    """(T/B, U/D, N/F) of CRX joints ``q`` (N, 6) as +1 (T, U, N) / -1 by the geometric rule of the
    module docstring (the CRX's solver branch labels are not FANUC's: at FANUC's zero pose they
    read elbow "down" and at J5 = -90° wrist "flip", where FANUC's rule gives U and N)."""
    from weldcell.kinematics.crx import CrxDH, crx_fk

    spec = robot._crx
    dh = CrxDH(spec.a, spec.d, spec.alpha, spec.offset)
    T1 = crx_fk(q, dh, frame=1)
    E = crx_fk(q, dh, frame=3)[:, :3, 3]  # the elbow (J3 axis)
    W = crx_fk(q, dh, frame=4)[:, :3, 3]  # the wrist centre: the J4-J5 intersection
    x1 = T1[:, :3, 0]  # horizontal, in the arm's vertical plane (frame 1 origin = J2 axis point)
    e_r, w_r = np.einsum("nk,nk->n", E, x1), np.einsum("nk,nk->n", W, x1)
    front = np.einsum("nk,nk->n", W[:, :2], np.stack([np.cos(q[:, 0]), np.sin(q[:, 0])], axis=-1))
    t = np.where(front >= 0.0, 1, -1)
    # elbow above the line from J2 to the wrist centre, "above" = +z in the arm's vertical plane
    cross = w_r * E[:, 2] - W[:, 2] * e_r
    u = np.where(cross * np.where(w_r >= 0.0, 1.0, -1.0) >= 0.0, 1, -1)
    j5 = controller_deg_from_q(q, joint_map(robot.name))[:, 4]
    n = np.where(np.sin(np.radians(j5)) <= 0.0, 1, -1)
    return np.stack([t, u, n], axis=-1)


def configuration(robot: Any, q: NDArrayF) -> tuple[list[str], NDArrayF]:
    """FANUC configuration strings ``'N U T'`` and turn numbers (J1, J4, J6) of joints ``q`` (N, 6)."""
    qq = np.atleast_2d(np.asarray(q, dtype=np.float64))
    if getattr(robot, "kind", "") == "crx":
        lab = _crx_labels_fanuc(robot, qq)
    else:
        lab = robot.configuration_labels(qq)
    flags = [
        f"{'N' if w > 0 else 'F'} {'U' if e > 0 else 'D'} {'T' if s > 0 else 'B'}" for s, e, w in lab.tolist()
    ]
    deg = controller_deg_from_q(qq, joint_map(robot.name))
    turns = np.floor((deg[:, [0, 3, 5]] + 180.0) / 360.0).astype(int)
    return flags, turns


#: Turn-numbered joints (J1, J4, J6; 0-based) of the configuration string.
_TURN_JOINTS = (0, 3, 5)


def cartesian_solutions(
    robot: Any, T_base_flange: npt.ArrayLike, flags: list[str], turns: npt.ArrayLike
) -> list[NDArrayF]:
    """The joint solutions a FANUC controller may take for Cartesian positions with a configuration.

    Every IK branch of each faceplate pose, with every 2π-equivalent of every joint inside the model's
    limits (FANUC's configuration has turn numbers for J1, J4, J6 only, so J2, J3 and J5 equivalents
    inside the limits all fit), whose configuration string equals ``flags[i]`` and whose turn numbers
    equal ``turns[i]``. One row that is the planned joints: the position selects them exactly.

    Args:
        robot: A FANUC model (:func:`weldcell.kinematics.load_robot`).
        T_base_flange: Faceplate poses in weldcell's base frame [m], shape (N, 4, 4).
        flags: Configuration strings (``'N U T'``), N of them.
        turns: Turn numbers of J1, J4, J6, shape (N, 3).

    Returns:
        Per pose, the matching joint solutions [rad], shape (k, 6) (k = 0 when none matches);
        solutions closer than 1e-7 rad (one solution found by two IK branches) count once.
    """
    T = np.asarray(T_base_flange, dtype=np.float64).reshape(-1, 4, 4)
    tn = np.asarray(turns, dtype=np.int64).reshape(-1, 3)
    Q = np.asarray(robot.ik(T), dtype=np.float64)[..., :6]  # (N, B, 6)
    n, b = Q.shape[:2]
    valid = np.asarray(~np.isnan(Q).any(axis=-1), dtype=bool)
    same_flags = np.zeros((n, b), dtype=bool)
    if valid.any():
        got, _ = configuration(robot, Q[valid])
        want = np.repeat(np.asarray(flags, dtype=object)[:, None], b, axis=1)[valid]
        same_flags[valid] = np.asarray(got, dtype=object) == want
    shifts = 2.0 * math.pi * np.array([-1.0, 0.0, 1.0])
    cand = np.where(valid[..., None], Q, 0.0)[..., None] + shifts  # (N, B, 6, 3)
    lo = np.asarray(robot.q_lower, dtype=np.float64)[:6, None]
    hi = np.asarray(robot.q_upper, dtype=np.float64)[:6, None]
    ok = (cand >= lo - 1e-9) & (cand <= hi + 1e-9)
    signs = joint_map(robot.name).signs
    for col, j in enumerate(_TURN_JOINTS):  # controller J1, J4, J6 = sign · model joint (no coupling)
        deg = signs[j] * np.degrees(cand[..., j, :])
        ok[..., j, :] &= np.floor((deg + 180.0) / 360.0).astype(np.int64) == tn[:, None, None, col]
    ok &= (valid & same_flags)[..., None, None]
    out: list[NDArrayF] = []
    for i in range(n):
        rows: list[NDArrayF] = []
        for k in np.flatnonzero(ok[i].any(axis=-1).all(axis=-1)):
            options = [cand[i, k, j, ok[i, k, j]] for j in range(6)]
            grid = np.stack(np.meshgrid(*options, indexing="ij"), axis=-1).reshape(-1, 6)
            rows.extend(g for g in grid if not any(np.abs(g - r).max() < 1e-7 for r in rows))
        out.append(np.asarray(rows, dtype=np.float64).reshape(-1, 6))
    return out


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), (np.flatnonzero(d == -1) - 1).tolist(), strict=True))


def _pos_block(
    k: int,
    idx: int,
    uf: int,
    ut: int,
    cfg: str,
    turns: NDArrayF,
    p: NDArrayF,
    gp2: tuple[NDArrayF, tuple[str, ...]] | None = None,
) -> str:
    """One ``/POS`` entry: group 1 (the arm, Cartesian) and, with ``gp2`` = (values [deg or mm],
    axis kinds), group 2 (the positioner or track, joint representation J1 … Jk)."""
    text = (
        f'P[{k}:"S{idx}"]{{\n'
        "   GP1:\n"
        f"\tUF : {uf}, UT : {ut},\t\tCONFIG : '{cfg}, {turns[0]}, {turns[1]}, {turns[2]}',\n"
        f"\tX = {p[0]:9.3f}  mm,\tY = {p[1]:9.3f}  mm,\tZ = {p[2]:9.3f}  mm,\n"
        f"\tW = {p[3]:9.3f} deg,\tP = {p[4]:9.3f} deg,\tR = {p[5]:9.3f} deg\n"
    )
    if gp2 is not None:
        vals, kinds = gp2
        axes = ",\t".join(
            f"J{i + 1} = {float(v) + 0.0:9.3f} {'deg' if kind == 'revolute' else ' mm'}"
            for i, (v, kind) in enumerate(zip(vals, kinds, strict=True))
        )
        text += f"   GP2:\n\tUF : {uf}, UT : {ut},\n\t{axes}\n"
    return text + "};"


def _joint_pos_block(
    k: int,
    idx: int,
    uf: int,
    ut: int,
    deg: NDArrayF,
    gp2: tuple[NDArrayF, tuple[str, ...]] | None = None,
) -> str:
    """One ``/POS`` entry in joint representation: group 1 at controller joints ``deg`` [deg] (FANUC's
    convention), ``gp2`` as in :func:`_pos_block`. Layout as FANUC controllers write it (module
    docstring): ``J1=`` … ``J3=`` on one line, ``J4=`` … ``J6=`` on the next."""
    j = [f"J{i + 1}={float(v) + 0.0:10.3f} deg" for i, v in enumerate(deg[:6])]
    text = (
        f'P[{k}:"S{idx}"]{{\n'
        "   GP1:\n"
        f"\tUF : {uf}, UT : {ut},\t\n"
        f"\t{j[0]},\t{j[1]},\t{j[2]},\n"
        f"\t{j[3]},\t{j[4]},\t{j[5]}\n"
    )
    if gp2 is not None:
        vals, kinds = gp2
        axes = ",\t".join(
            f"J{i + 1} = {float(v) + 0.0:9.3f} {'deg' if kind == 'revolute' else ' mm'}"
            for i, (v, kind) in enumerate(zip(vals, kinds, strict=True))
        )
        text += f"   GP2:\n\tUF : {uf}, UT : {ut},\n\t{axes}\n"
    return text + "};"


def _schedules(traj: JointTrajectory, program: Any) -> dict[int, tuple[int, Any]]:
    """Seam index -> (weld schedule number, weave or None)."""
    out: dict[int, tuple[int, Any]] = {}
    if program is None:
        return {i: (i + 1, None) for i in range(len(traj.seam_ids))}
    names = list(program.procedures)
    by_id = {s.id: s for s in program.seams}
    for i, sid in enumerate(traj.seam_ids):
        seam = by_id.get(sid.split("#")[0]) or by_id.get(sid)
        if seam is None:
            out[i] = (i + 1, None)
            continue
        proc = program.procedures[seam.procedure]
        n = proc.job if proc.job else names.index(seam.procedure) + 1
        out[i] = (int(n), getattr(proc, "weave", None))
    return out


def build_tp(
    traj: JointTrajectory, name: str, options: TpExportOptions, program: Any = None
) -> tuple[str, TpExportSummary]:
    """The ``.LS`` text of ``traj`` (see module docstring) and a summary (path unset).

    Raises:
        TpExportError: not a FANUC model weldcell knows.
    """
    from weldcell.kinematics import load_robot

    try:
        T_bw = T_base_world(traj.robot)
    except DriverError as err:
        raise TpExportError(
            f"trajectory robot {traj.robot!r}: TP export needs a FANUC model ({err})"
        ) from err
    robot = load_robot(traj.robot)
    o = options
    flags, turns = configuration(robot, traj.q)
    ext = external_user_values(traj, 6, "TP export")  # group 2 [deg or mm]
    kinds = () if traj.external is None else traj.external.kinds
    T_fworld_cell = np.linalg.inv(T_bw) @ np.linalg.inv(traj.T_world_base)
    summary = TpExportSummary(path=Path(), name=name)
    summary.uframe_xyzwpr = [round(float(v), 3) + 0.0 for v in xyzwpr_from_pose(T_fworld_cell)]
    summary.utool_xyzwpr = [round(float(v), 3) + 0.0 for v in xyzwpr_from_pose(traj.T_flange_tcp)]
    mn: list[str] = []
    pos: list[str] = []

    def point(idx: int, joints: bool = False) -> str:
        """A new ``P[k]`` at sample idx: Cartesian with its configuration, or ``joints``: in joint
        representation (the planned joints in FANUC's convention)."""
        k = len(pos) + 1
        gp2 = None if ext is None else (np.round(ext[idx], 3), kinds)
        if joints:
            deg = np.round(controller_deg_from_q(traj.q[idx, :6], joint_map(traj.robot)), 3)
            pos.append(_joint_pos_block(k, idx, o.uframe, o.utool, deg, gp2))
        else:
            p = np.round(xyzwpr_from_pose(traj.T_world_tcp[idx]), 3) + 0.0  # no "-0.000"
            pos.append(_pos_block(k, idx, o.uframe, o.utool, flags[idx], turns[idx], p, gp2))
        summary.targets[k] = idx
        return f"P[{k}]"

    uf, ut = summary.uframe_xyzwpr, summary.utool_xyzwpr
    mn.append(f"!UF{o.uframe} XYZ {uf[0]:.1f},{uf[1]:.1f},{uf[2]:.1f}")
    mn.append(f"!UF{o.uframe} WPR {uf[3]:.2f},{uf[4]:.2f},{uf[5]:.2f}")
    mn.append(f"!UT{o.utool} XYZ {ut[0]:.1f},{ut[1]:.1f},{ut[2]:.1f}")
    mn.append(f"!UT{o.utool} WPR {ut[3]:.2f},{ut[4]:.2f},{ut[5]:.2f}")
    T_world_pflange = positioner_flange_poses(traj)
    T_rel = None if T_world_pflange is None else tcp_in_positioner_flange(traj, T_world_pflange)
    welds = _runs(np.asarray(traj.arc_on, dtype=bool))
    coord = coordinated_welds(traj, welds)
    if any(coord):
        mn.append("!COORD: leader GP2, follower GP1")
    mn.append(f"UFRAME_NUM={o.uframe}")
    mn.append(f"UTOOL_NUM={o.utool}")
    qd = np.abs(np.diff(traj.q, axis=0)) / traj.dt
    transit = ~np.asarray(traj.arc_on[1:], dtype=bool)
    peak = np.max(qd[transit] / np.asarray(robot.qd_max), initial=0.0) if transit.any() else 0.1
    pct = int(np.clip(math.ceil(100.0 * peak), 1, 100))
    summary.welds = len(welds)
    sched = _schedules(traj, program)
    n = traj.n_samples
    bounds = [(0, welds[0][0] if welds else n - 1)]
    for k, (_, b) in enumerate(welds):
        bounds.append((b, welds[k + 1][0] if k + 1 < len(welds) else n - 1))
    keeps = [
        simplify_joint_path(joint_path_with_external(traj, a, b), o.transit_tolerance) for a, b in bounds
    ]
    # J targets: Cartesian only where the configuration string and turns select exactly the plan
    j_idx = sorted({a + int(j) for (a, _), keep in zip(bounds, keeps, strict=True) for j in keep})
    sols = cartesian_solutions(robot, robot.fk(traj.q[j_idx, :6]), [flags[i] for i in j_idx], turns[j_idx])
    exact = {
        i: len(s) == 1 and float(np.abs(s[0] - traj.q[i, :6]).max()) < 1e-6
        for i, s in zip(j_idx, sols, strict=True)
    }
    several = {i: len(s) > 1 for i, s in zip(j_idx, sols, strict=True)}
    for k, ((a, _), keep) in enumerate(zip(bounds, keeps, strict=True)):
        for m, j in enumerate(keep[0 if k == 0 else 1 :], start=0 if k == 0 else 1):
            term = "FINE" if (j == 0 or m == len(keep) - 1) else "CNT100"
            by_joints = not exact[a + int(j)]
            mn.append(f"J {point(a + j, joints=by_joints)} {pct}% {term}")
            summary.joint += 1
            summary.joint_repr += by_joints
            summary.ambiguous += by_joints and several[a + int(j)]
            summary.cartesian_j += not by_joints
        if k >= len(welds):
            break
        w0, w1 = welds[k]
        seam = int(traj.seam_index[w0])
        seam_id = traj.seam_ids[seam] if 0 <= seam < len(traj.seam_ids) else str(seam)
        summary.seams.append(seam_id)
        number, weave = sched.get(seam, (k + 1, None))
        T_path = T_rel if coord[k] and T_rel is not None else traj.T_world_tcp  # path the controller keeps
        opt = " COORD" if coord[k] else ""
        if coord[k]:
            summary.coordinated.append(seam_id)
        p = T_path[w0 : w1 + 1, :3, 3]
        speed = np.linalg.norm(np.diff(p, axis=0), axis=1) / traj.dt
        moving = np.flatnonzero(speed > o.dwell_speed)
        m0, m1 = (w0, w1) if moving.size == 0 else (w0 + int(moving[0]), w0 + int(moving[-1]) + 1)
        length = float(np.sum(speed[m0 - w0 : m1 - w0])) * traj.dt
        vel = length / max((m1 - m0) * traj.dt, traj.dt)
        cm_min = max(1, round(vel * 6000.0))
        at = len(mn)  # the seam comment goes here, with the length along the seam
        mn.append(f"Arc Start[{number}]")
        if (m0 - w0) * traj.dt > 0:
            mn.append(f"WAIT {(m0 - w0) * traj.dt:.2f}(sec)")
        sine = weave is not None and weave.pattern == "sine"
        if sine:
            mn.append(f"Weave Sine[{number}]")
            summary.weaves += 1
            # the controller weaves: follow the centre line, through the samples at the zero crossings
            per = max(1, round(1.0 / (weave.frequency * traj.dt) / 2))
            idx = [*range(m0, m1, per), m1]
            centre = T_path[idx, :3, 3]
            length = float(np.sum(np.linalg.norm(np.diff(centre, axis=0), axis=1)))
            cm_min = max(1, round(length / max((m1 - m0) * traj.dt, traj.dt) * 6000.0))
            pieces = fit_path(T_path[idx], o.path_tolerance + weave.amplitude, 4 * o.orientation_tolerance)
            pieces = [(kind, idx[i] - m0, idx[j] - m0) for kind, i, j in pieces]
        else:
            pieces = fit_path(T_path[m0 : m1 + 1], o.path_tolerance, o.orientation_tolerance)
        if coord[k] and ext is not None:
            pieces = split_coordinated(pieces, ext, kinds, T_path[:, :3, 3], m0)
        else:
            pieces = split_pieces(pieces, ext, kinds, m0)
        mn.insert(at, f"!{seam_id[:20]} {length * 1000:.0f}mm")
        for pi, (kind, i, j) in enumerate(pieces):
            term = "FINE" if pi == len(pieces) - 1 else f"CNT{o.weld_cnt}"
            if kind == "LIN":
                mn.append(f"L {point(m0 + j)} {cm_min}cm/min {term}{opt}")
                summary.linear += 1
            else:
                aux = point(m0 + (i + j) // 2)
                mn.append(f"C {aux}\n    :  {point(m0 + j)} {cm_min}cm/min {term}{opt}")
                summary.circular += 1
        if sine:
            mn.append("Weave End")
        if (w1 - m1) * traj.dt > 0:
            mn.append(f"!crater {(w1 - m1) * traj.dt:.2f}s in Arc End")
        mn.append(f"Arc End[{number}]")
    body = []
    for i, line in enumerate(mn, start=1):
        sep = "" if line[:2] in ("J ", "L ", "C ") else "  "
        body.append(f"{i:4d}:{sep}{line} ;")
    attr = [
        "OWNER\t\t= MNEDITOR;",
        'COMMENT\t\t= "weldcell";',
        "PROG_SIZE\t= 0;",
        "CREATE\t\t= DATE 26-01-01  TIME 00:00:00;",
        "MODIFIED\t= DATE 26-01-01  TIME 00:00:00;",
        "FILE_NAME\t= ;",
        "VERSION\t\t= 0;",
        f"LINE_COUNT\t= {len(mn)};",
        "MEMORY_SIZE\t= 0;",
        "PROTECT\t\t= READ_WRITE;",
        "TCD:  STACK_SIZE\t= 0,",
        "      TASK_PRIORITY\t= 50,",
        "      TIME_SLICE\t= 0,",
        "      BUSY_LAMP_OFF\t= 0,",
        "      ABORT_REQUEST\t= 0,",
        "      PAUSE_REQUEST\t= 0;",
        "DEFAULT_GROUP\t= 1,*,*,*,*;" if ext is None else "DEFAULT_GROUP\t= 1,1,*,*,*;",
        "CONTROL_CODE\t= 00000000 00000000;",
    ]
    text = "\n".join(
        [
            f"/PROG  {name}",
            "/ATTR",
            *attr,
            "/APPL",
            "  ARC Welding Equipment : 1,*,*,*,*;",
            "/MN",
            *body,
            "/POS",
            *pos,
            "/END",
            "",
        ]
    )
    return text, summary


def program_name(traj_path: Path, options: TpExportOptions) -> str:
    """``options.name`` or the trajectory file's stem made a TP program name (upper case)."""
    if options.name:
        return options.name.upper()
    stem = re.sub(r"[^A-Za-z0-9_]", "_", traj_path.stem).upper() or "WELD"
    if not stem[0].isalpha():
        stem = "W" + stem
    return stem[:36]


def export_tp(
    traj_path: str | Path,
    out_path: str | Path,
    options: TpExportOptions | None = None,
    *,
    program: Any = None,
    force_unvalidated: bool = False,
    stamp_key: object = None,
) -> TpExportSummary:
    """Load a trajectory, check its stamp and write the ``.LS`` program to ``out_path``.

    Args:
        traj_path: The validated trajectory (``.npz``).
        out_path: The ``.LS`` file to write.
        options: Export settings.
        program: The weld program it was planned from (weld and weave schedules); None: found
            through ``plan.json`` beside the trajectory, else schedules numbered by seam.

    Raises:
        StampError: no matching stamp and ``force_unvalidated`` is False.
        TpExportError: not a FANUC trajectory, or the file cannot be written.
    """
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, verify_stamp

    opts = options or TpExportOptions()
    src = Path(traj_path)
    if src.suffix.lower() in (".yaml", ".yml"):
        raise TpExportError(
            f"{src}: this is a weld program; export expects a planned trajectory (.npz): run "
            "'weldcell plan' and 'weldcell validate' first"
        )
    traj = load_trajectory(src)
    if not force_unvalidated:
        verify_stamp(src, traj, key=FROM_ENVIRONMENT if stamp_key is None else stamp_key)  # type: ignore[arg-type]
    if program is None:
        program = find_program(src, traj)
    out = Path(out_path)
    name = program_name(out if out.suffix.lower() == ".ls" else src, opts)
    text, summary = build_tp(traj, name, opts, program)
    if out.is_dir():
        out = out / f"{name}.LS"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text.replace("\n", "\r\n"), encoding="ascii", newline="")
    except (OSError, UnicodeEncodeError) as err:
        raise TpExportError(f"{out}: cannot write the TP program ({err})") from err
    summary.path = out
    return summary


def export_for_cli(
    trajectory: Path, output: Path, program: Path | None, force_unvalidated: bool, stamp_key: Path | None
) -> list[str]:
    """``weldcell export --format fanuc-tp``: write the program, return the lines to print."""
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT

    prog = None
    if program is not None:
        from weldcell.program import load_program

        prog = load_program(program)
    s = export_tp(
        trajectory,
        output,
        program=prog,
        force_unvalidated=force_unvalidated,
        stamp_key=FROM_ENVIRONMENT if stamp_key is None else stamp_key,
    )
    uf, ut = s.uframe_xyzwpr, s.utool_xyzwpr
    return [
        f"wrote [bold]{s.path}[/] (fanuc-tp): {s.joint} J, {s.linear} L, {s.circular} C, {s.welds} welds"
        f" ({s.weaves} with Weave Sine), seams: {', '.join(s.seams) or 'none'}",
        f"J targets: {s.cartesian_j} Cartesian (configuration selects the planned joints), "
        f"{s.joint_repr} in joint representation ({s.ambiguous} whose configuration fits several "
        "joint solutions)",
        f"teach UFRAME[1] = X {uf[0]} Y {uf[1]} Z {uf[2]} mm, W {uf[3]} P {uf[4]} R {uf[5]} deg "
        "(cell world in the robot's world frame)",
        f"teach UTOOL[1] = X {ut[0]} Y {ut[1]} Z {ut[2]} mm, W {ut[3]} P {ut[4]} R {ut[5]} deg (torch TCP)",
        *external_axes_warnings(trajectory, "fanuc-tp"),
    ]
