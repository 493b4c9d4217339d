"""RAPID export of a validated trajectory: one ``.mod`` module for an ABB IRC5 / OmniCore with Arc.

Layout of the module (RobotWare 6 Arc data types; all values in ABB's units, mm and degrees):

* ``PERS tooldata tWeldcell``: the TCP (wire end) in ABB's ``tool0`` frame. For the shipped ABB
  models ``tool0`` is weldcell's ``flange`` frame (z out of the flange, x down at the calibration
  position), so the tool frame is the trajectory's ``T_flange_tcp``.
* ``PERS wobjdata wCell``: the user frame is weldcell's cell ``world`` frame seen from the robot base
  (the controller's world frame must be the robot base), so every robtarget is in cell coordinates.
* Per procedure of the weld program: ``seamdata`` (purge, pre-flow, ignition delay = the arc-start
  dwell, crater fill time, post-flow), ``welddata`` (weld speed [mm/s] and the main arc: job
  (``sched``), voltage [V], wire feed [m/min], current [A]) and ``weavedata`` (shape 0: the planned
  path already contains the weave, so the controller must not weave a second time; the program's
  weave width and length are noted in a comment).
* Transits (arc off): ``MoveJ`` through robtargets picked from the validated joint path so that
  joint-linear interpolation stays within ``transit_tolerance`` of it, zone ``z10`` in between and
  ``fine`` at the arc start.
* Welds (arc on): ``ArcLStart`` at the arc start (``fine``), then ``ArcL`` / ``ArcC`` through
  robtargets fitted to the validated TCP path (within ``path_tolerance``), zone ``zWeld`` (its path
  zone is the path tolerance), and ``ArcLEnd`` / ``ArcCEnd`` with ``fine`` at the arc end. The
  standstills at the arc start and the crater fill are not motions: the seamdata times them.
* External axes (a positioner or a track, :mod:`weldcell.drivers.external_export`): ``eax_a`` … of
  every robtarget's and jointtarget's ``extjoint`` [deg or mm], 9E+09 for the unused ones. A
  **coordinated weld** (the positioner moves with the arc on) runs on the work object
  ``wStn := [FALSE,FALSE,"<unit>",…]``: ``ufprog`` FALSE and ``ufmec`` the positioner's mechanical
  unit (option ``mech_unit``, default ``STN1``) make it a coordinated work object whose user frame
  moves with the unit and is defined by the unit's calibration in the system parameters (ABB,
  MultiMove application manual 3HAC021272-001, "Coordinated work objects"; RAPID reference,
  ``wobjdata``: "when coordinated external axes are used (ufprog is FALSE), the user coordinate
  system is defined in the system parameters"). Its object frame is the identity, so the weld's
  robtargets are the TCP relative to the positioner's flange (weldcell's model of it), and
  ``ArcL``/``ArcC`` with ``\\WObj:=wStn`` move the TCP at the weld speed relative to the part.
  Transits stay on ``wCell``; ``ActUnit`` of the unit starts the program.
* Every robtarget carries the confdata of the planned joints (``cf1, cf4, cf6`` = quadrant of axes
  1, 4, 6; ``cfx`` = wrist centre behind axis 1 (4) + wrist centre behind the lower arm (2) +
  axis 5 negative (1), ABB's table for six-axis industrial arms). The GoFa's offset wrist uses the
  same definition with the J4-J5 intersection as the wrist centre: ABB's own cfx rule for the
  CRB 15000 / OmniCore could not be found in any public ABB document searched for it (issue 17:
  "CRB 15000 confdata cfx", "OmniCore confdata cfx" in the documentation and web corpora; only the
  RobotStudio API's ``GetAllConfigurationsAsync`` cfx filter, "only applicable for a bending
  backwards robot", turned up), and on ~2 % of GoFa poses it fits two of the 16 IK branches. So the
  export never lets the controller choose: a **joint move** whose robtarget's confdata would not
  select exactly the planned branch is written as ``MoveAbsJ`` to a ``jointtarget`` of the planned
  joints (also where the transit reaches a weld start), and **linear moves** (``ArcL``/``ArcC``)
  start on the planned branch and are followed continuously by the controller, with ``ConfL \\On``
  checking the confdata at each target (which the planned branch satisfies) and ``ConfJ \\On``
  making ``MoveJ`` go to the confdata's configuration. :func:`joints_from_robtarget` is the
  controller's side of that: the IK solution a robtarget and its confdata select (nearest the
  joints a linear move starts from).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.drivers.external_export import (
    coordinated_header,
    coordinated_welds,
    external_axes_warnings,
    external_user_values,
    joint_path_with_external,
    positioner_flange_poses,
    split_coordinated,
    split_pieces,
    tcp_in_positioner_flange,
)
from weldcell.drivers.kuka.krl_export import fit_path, simplify_joint_path
from weldcell.errors import ExportError
from weldcell.spatial.se3 import quat_wxyz_from_rotation, se3_from_xyz_quat_wxyz
from weldcell.trajectory import JointTrajectory, load_trajectory
from weldcell.trajectory.io import find_program

NDArrayF = npt.NDArray[np.float64]
NDArrayI = npt.NDArray[np.int64]

#: Unused external axes in a robtarget (ABB's 9E+09).
EAX_UNUSED = "[9E+09,9E+09,9E+09,9E+09,9E+09,9E+09]"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


class RapidExportError(ExportError):
    """A trajectory that cannot be written as RAPID (not an ABB arm, no weld program, bad options)."""


@dataclass(frozen=True)
class RapidExportOptions:
    """Settings of the RAPID export.

    Attributes:
        name: Module name (RAPID identifier, ≤ 32 characters); "" = from the trajectory file name.
        transit_tolerance: Largest joint deviation [rad] of the MoveJ points' joint-linear path from
            the validated transit.
        path_tolerance: Largest TCP deviation [m] of the ArcL/ArcC path from the validated weld path.
        orientation_tolerance: Largest torch orientation deviation [rad] along ArcL/ArcC.
        dwell_speed: TCP speed [m/s] below which the robot counts as standing (arc start, crater).
        tool_mass: Torch mass [kg] in tooldata's load.
        mech_unit: The positioner's mechanical unit name on the controller (``ufmec`` of the
            coordinated work object, ``ActUnit``).
    """

    name: str = ""
    transit_tolerance: float = 1e-3
    path_tolerance: float = 1e-4
    orientation_tolerance: float = math.radians(0.5)
    dwell_speed: float = 5e-4
    tool_mass: float = 1.5
    mech_unit: str = "STN1"

    def __post_init__(self) -> None:
        """Reject settings that cannot work.

        Raises:
            RapidExportError: a bad name or tolerance.
        """
        if self.name and not _NAME.fullmatch(self.name):
            raise RapidExportError(
                f"RAPID module name {self.name!r}: expected an identifier of ≤ 32 characters"
            )
        if not _NAME.fullmatch(self.mech_unit) or len(self.mech_unit) > 16:
            raise RapidExportError(
                f"RAPID export mech_unit {self.mech_unit!r}: expected the mechanical unit's name "
                "(letters, digits, _; ≤ 16 characters), e.g. STN1"
            )
        for key in (
            "transit_tolerance",
            "path_tolerance",
            "orientation_tolerance",
            "dwell_speed",
            "tool_mass",
        ):
            v = getattr(self, key)
            if not (math.isfinite(v) and v > 0):
                raise RapidExportError(f"RAPID export {key} {v!r}: expected a number > 0")


@dataclass
class RapidExportSummary:
    """What the export wrote.

    Attributes:
        path: The module file.
        movej, arcl, arcc: Number of motion instructions of each kind (ArcL includes start and end).
        welds: Number of arc-on blocks.
        seams: Seam of each weld.
        targets: Robtarget name -> trajectory sample it was taken from.
        jointtargets: Jointtarget name -> trajectory sample (``MoveAbsJ`` where a robtarget's
            confdata would not select the planned IK branch).
        moveabsj: Number of ``MoveAbsJ`` instructions.
        ambiguous: Robtargets whose confdata fits more than one IK branch, all reached by linear
            moves (ArcL/ArcC) from the planned branch: the controller follows the path continuously
            from the current joints, so they resolve to the planned branch (marked by a comment).
        coordinated: Seams welded on the coordinated work object.
    """

    path: Path
    movej: int = 0
    arcl: int = 0
    arcc: int = 0
    welds: int = 0
    seams: list[str] = field(default_factory=list)
    targets: dict[str, int] = field(default_factory=dict)
    jointtargets: dict[str, int] = field(default_factory=dict)
    moveabsj: int = 0
    ambiguous: list[str] = field(default_factory=list)
    coordinated: list[str] = field(default_factory=list)


# --- ABB conventions ----------------------------------------------------------------------------


def _quadrant(q: NDArrayF) -> NDArrayI:
    """ABB quadrant number of joint angles [rad]: floor(q / 90°)."""
    return np.floor(np.degrees(q) / 90.0 + 1e-9).astype(np.int64)


def confdata(robot: Any, q: npt.ArrayLike) -> NDArrayI:
    """ABB confdata ``[cf1, cf4, cf6, cfx]`` of joint positions ``q`` [rad], shape (n, 6) -> (n, 4).

    ``cfx`` bit 2: wrist centre behind axis 1; bit 1: wrist centre behind the lower arm (the line
    from axis 2 to axis 3, seen in the arm plane; "in front" at the calibration position); bit 0:
    axis 5 negative.
    """
    qq = np.atleast_2d(np.asarray(q, dtype=np.float64))
    P = robot.link_poses(qq)
    T1 = P[:, 1]
    x1, z1 = T1[:, :3, 0], T1[:, :3, 2]
    a2, a3, wc = P[:, 2, :3, 3], P[:, 3, :3, 3], P[:, 5, :3, 3]
    behind_axis1 = np.einsum("ij,ij->i", wc - T1[:, :3, 3], x1) < 0.0
    u, v = a3 - a2, wc - a2
    ux, uz = np.einsum("ij,ij->i", u, x1), np.einsum("ij,ij->i", u, z1)
    vx, vz = np.einsum("ij,ij->i", v, x1), np.einsum("ij,ij->i", v, z1)
    behind_arm = uz * vx - ux * vz < 0.0
    a5_neg = qq[:, 4] < 0.0
    cfx = 4 * behind_axis1.astype(np.int64) + 2 * behind_arm.astype(np.int64) + a5_neg.astype(np.int64)
    quad = _quadrant(qq[:, [0, 3, 5]])
    return np.column_stack([quad, cfx])


def robtarget_solutions(
    robot: Any, T_base_flange: NDArrayF, conf: npt.ArrayLike, tol: float = 1e-5
) -> NDArrayF:
    """Every joint solution [rad], shape (k, 6), of a flange pose whose confdata equals ``conf``.

    Among all IK branches and the 2π-equivalents of axes 1, 4 and 6 inside the limits; an axis within
    ``tol`` [rad] of its quadrant counts as inside (a robtarget's rounding can put an axis that was
    planned exactly on a quadrant boundary a hair outside it). More than one row: the confdata does
    not decide the branch (possible on the GoFa's 16 branches).
    """
    c = np.asarray(conf, dtype=np.int64)
    Q = robot.ik(np.asarray(T_base_flange, dtype=np.float64)[None])[0]
    lo, hi = np.asarray(robot.q_lower), np.asarray(robot.q_upper)
    quarter = math.pi / 2
    out: list[NDArrayF] = []
    for q in Q[~np.isnan(Q).any(axis=1)]:
        cand = q.copy()
        ok = True
        for j, cf in ((0, c[0]), (3, c[1]), (5, c[2])):
            # the 2π-equivalent of axis j in quadrant cf (the controller's choice), if inside the limits
            mid = quarter * (float(cf) + 0.5)
            v = cand[j] + 2 * math.pi * math.floor((mid - cand[j]) / (2 * math.pi) + 0.5)
            inside = quarter * cf - tol <= v <= quarter * (cf + 1) + tol
            if not (inside and lo[j] - 1e-9 <= v <= hi[j] + 1e-9):
                ok = False
                break
            cand[j] = v
        if ok and confdata(robot, cand)[0][3] == c[3] and not any(np.abs(cand - o).max() < 1e-9 for o in out):
            out.append(np.asarray(cand, dtype=np.float64))
    return np.asarray(out, dtype=np.float64).reshape(-1, 6)


def joints_from_robtarget(
    robot: Any,
    T_base_flange: NDArrayF,
    conf: npt.ArrayLike,
    tol: float = 1e-5,
    q_from: npt.ArrayLike | None = None,
) -> NDArrayF | None:
    """The joint positions [rad] an ABB controller takes for a flange pose and its confdata.

    Joint moves (``MoveJ``, ``ConfJ \\On``) go to the solution the confdata selects: the first of
    :func:`robtarget_solutions` (the exporter never lets a joint move reach a robtarget whose
    confdata fits several). Linear moves (``MoveL``/``ArcL``/``ArcC``) follow the path continuously
    from the joints they start at (``q_from``): among the solutions the confdata allows, the one
    nearest ``q_from`` (``ConfL \\On`` only checks the confdata at the target). None when no solution
    matches.
    """
    sols = robtarget_solutions(robot, T_base_flange, conf, tol)
    if not len(sols):
        return None
    if q_from is None or len(sols) == 1:
        return np.asarray(sols[0], dtype=np.float64)
    d = np.abs(sols - np.asarray(q_from, dtype=np.float64)).max(axis=1)
    return np.asarray(sols[int(np.argmin(d))], dtype=np.float64)


def jointtarget_literal(q: NDArrayF, e: NDArrayF | None = None) -> str:
    """A jointtarget literal: robot axes [deg] (``q`` [rad]; the model's joints are ABB's axes) and
    external axes (``e`` [deg or mm], None: unused)."""
    return f"[[{','.join(_num(float(v), 5) for v in np.degrees(q))}],{extjoint_literal(e)}]"


def _num(v: float, digits: int) -> str:
    s = f"{v + 0.0:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def pose_literal(T: NDArrayF) -> str:
    """``[[x,y,z],[q1,q2,q3,q4]]`` of a pose (position [m] -> mm, quaternion w, x, y, z)."""
    q = quat_wxyz_from_rotation(T[:3, :3])
    q = -q if q[0] < 0 else q
    p = T[:3, 3] * 1000.0
    return f"[[{','.join(_num(float(v), 4) for v in p)}],[{','.join(_num(float(v), 9) for v in q)}]]"


def extjoint_literal(e: NDArrayF | None) -> str:
    """``[eax_a, …, eax_f]``: external axes [deg or mm], 9E+09 where the cell has none."""
    if e is None:
        return EAX_UNUSED
    vals = [_num(float(v), 4) for v in e] + ["9E+09"] * (6 - len(e))
    return f"[{','.join(vals)}]"


def robtarget_literal(T: NDArrayF, conf: NDArrayI, e: NDArrayF | None = None) -> str:
    """A robtarget literal: pose in the work object [mm], quaternion, confdata, external axes
    (``e`` [deg or mm], None: unused)."""
    return f"[{pose_literal(T)[1:-1]},[{','.join(str(int(v)) for v in conf)}],{extjoint_literal(e)}]"


_ROBTARGET = re.compile(
    r"CONST\s+robtarget\s+(\w+)\s*:=\s*\[\[([^\]]*)\],\[([^\]]*)\],\[([^\]]*)\],\[[^\]]*\]\];"
)
_FRAME = re.compile(r"PERS\s+(tooldata|wobjdata)\s+(\w+)\s*:=\s*\[(.*)\];")


def read_robtargets(text: str) -> dict[str, tuple[NDArrayF, NDArrayI]]:
    """Robtargets of a module written by :func:`build_rapid`.

    Returns:
        Robtarget name -> (pose in the work object [m], confdata).
    """
    out: dict[str, tuple[NDArrayF, NDArrayI]] = {}
    for m in _ROBTARGET.finditer(text):
        p = np.array([float(v) for v in m.group(2).split(",")]) / 1000.0
        q = np.array([float(v) for v in m.group(3).split(",")])
        c = np.array([int(v) for v in m.group(4).split(",")], dtype=np.int64)
        out[m.group(1)] = (se3_from_xyz_quat_wxyz(p, q / np.linalg.norm(q)), c)
    return out


_EXTJOINT = re.compile(r"CONST\s+(?:robtarget|jointtarget)\s+(\w+)\s*:=\s*\[.*,\[([^\]]*)\]\];")


def read_extjoints(text: str) -> dict[str, NDArrayF]:
    """External axes of the robtargets and jointtargets of a module: name -> ``extjoint`` values
    [deg or mm] of the used axes (the leading ones that are not 9E+09), shape (k,)."""
    out: dict[str, NDArrayF] = {}
    for m in _EXTJOINT.finditer(text):
        vals = [float(v) for v in m.group(2).split(",")]
        out[m.group(1)] = np.array([v for v in vals if v < 8.9e9], dtype=np.float64)
    return out


_JOINTTARGET = re.compile(r"CONST\s+jointtarget\s+(\w+)\s*:=\s*\[\[([^\]]*)\],\[[^\]]*\]\];")


def read_jointtargets(text: str) -> dict[str, NDArrayF]:
    """Jointtargets of a module written by :func:`build_rapid`: name -> robot axes [rad], shape (6,)."""
    return {
        m.group(1): np.radians(np.array([float(v) for v in m.group(2).split(",")]))
        for m in _JOINTTARGET.finditer(text)
    }


def read_frames(text: str) -> tuple[NDArrayF, NDArrayF]:
    """``(T_tool0_tcp, T_base_wobj)`` [m] of the tooldata and wobjdata a module declares."""
    frames: dict[str, NDArrayF] = {}
    for m in _FRAME.finditer(text):
        nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:E[+-]?\d+)?", m.group(3))]
        # tooldata [robhold,[[x,y,z],[q]],...]; wobjdata [robhold,ufprog,"ufmec",[[x,y,z],[q]],[oframe]]
        vals = nums[:7]
        frames[m.group(1)] = se3_from_xyz_quat_wxyz(np.array(vals[:3]) / 1000.0, np.array(vals[3:7]))
    return frames["tooldata"], frames["wobjdata"]


# --- export ---------------------------------------------------------------------------------------


def module_name(traj_path: Path, options: RapidExportOptions) -> str:
    """The module name: ``options.name`` or the trajectory file's stem made a RAPID identifier."""
    if options.name:
        return options.name
    stem = re.sub(r"[^A-Za-z0-9_]", "_", traj_path.stem) or "Weld"
    if not stem[0].isalpha():
        stem = "W" + stem
    return stem[:32]


def _ident(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return (s if s[:1].isalpha() else "p" + s)[:24]


def _process_data(proc: Any, weld_speed_mm_s: float) -> tuple[str, str, str, str]:
    """seamdata, welddata and weavedata literals of a procedure, and a weave comment."""

    def arc(voltage: float | None, wire: float | None, current: float | None) -> str:
        sched = int(proc.job or 0)
        vals = [sched, 0, voltage or 0.0, wire or 0.0, 0, current or 0.0, 0, 0, 0]
        return "[" + ",".join(_num(float(v), 3) for v in vals) + "]"

    main = arc(proc.voltage, proc.wire_feed * 60.0 if proc.wire_feed else None, proc.current)
    ign = arc(
        proc.voltage,
        proc.wire_feed * 60.0 if proc.wire_feed else None,
        proc.arc_start_current or proc.current,
    )
    fill = arc(proc.crater_fill_voltage or proc.voltage, None, proc.crater_fill_current)
    zero = "[0,0,0,0,0,0,0,0,0]"

    def n(v: float) -> str:
        return _num(float(v), 3)

    # seamdata: purge, preflow, ign_arc, ign_move_delay, scrape_start, heat_speed, heat_time,
    # heat_distance, heat_arc, cool_time, fill_time, fill_arc, bback_time, rback_time, bback_arc, postflow
    seam = (
        f"[0,{n(proc.gas_preflow)},{ign},{n(proc.arc_start_dwell)},0,0,0,0,{zero},0,"
        f"{n(proc.crater_fill_time)},{fill if proc.crater_fill_time > 0 else zero},0,0,{zero},"
        f"{n(proc.gas_postflow)}]"
    )
    weld = f"[{n(weld_speed_mm_s)},0,{main},{zero}]"
    weave = "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]"
    note = ""
    if proc.weave is not None:
        w = proc.weave
        length = proc.travel_speed / w.frequency * 1000.0
        note = (
            f"the planned path weaves ({w.pattern}, width {2 * w.amplitude * 1000:.1f} mm, "
            f"length {length:.1f} mm): weave_shape 0 so the controller does not weave again"
        )
    return seam, weld, weave, note


#: Largest sweep of one ArcC [rad] (ABB's circular moves allow up to 240°; a margin is kept).
MAX_CIRC_SWEEP = math.radians(120.0)


def _limit_circles(pieces: list[tuple[str, int, int]], p: NDArrayF) -> list[tuple[str, int, int]]:
    """Split circular pieces whose sweep about their centre exceeds :data:`MAX_CIRC_SWEEP`."""
    out: list[tuple[str, int, int]] = []
    for kind, i, j in pieces:
        if kind != "CIRC":
            out.append((kind, i, j))
            continue
        seg = p[i : j + 1]
        a, m, b = seg[0], seg[(j - i) // 2], seg[-1]
        # circle centre of the three points (in their plane)
        u, w = m - a, b - a
        n = np.cross(u, w)
        nn = float(n @ n)
        if nn < 1e-24:
            out.append(("LIN", i, j))
            continue
        c = a + np.cross(float(u @ u) * w - float(w @ w) * u, n) / (2.0 * nn)
        r = seg - c
        cosang = np.einsum("ij,ij->i", r[:-1], r[1:]) / (
            np.linalg.norm(r[:-1], axis=1) * np.linalg.norm(r[1:], axis=1)
        )
        sweep = float(np.sum(np.arccos(np.clip(cosang, -1.0, 1.0))))
        k = max(1, math.ceil(sweep / MAX_CIRC_SWEEP))
        cuts = np.linspace(i, j, k + 1).round().astype(int)
        out.extend(("CIRC", int(s0), int(s1)) for s0, s1 in itertools.pairwise(cuts))
    return out


def build_rapid(
    traj: JointTrajectory, program: Any, name: str, options: RapidExportOptions
) -> tuple[str, RapidExportSummary]:
    """The module text of ``traj`` (see module docstring) and a summary (path unset).

    Args:
        traj: The validated trajectory of an ABB arm.
        program: The weld program it was planned from (procedures for the weld data).
        name: Module name.
        options: Export settings.

    Raises:
        RapidExportError: not an ABB arm, or a seam the program does not know.
    """
    from weldcell.kinematics import load_robot

    robot = load_robot(traj.robot)
    if robot.kind not in ("opw", "gofa") or not traj.robot.startswith(("irb", "crb")):
        raise RapidExportError(
            f"trajectory robot {traj.robot!r} is not an ABB arm: RAPID export needs an ABB model "
            "(irb1520id, crb15000_5_95)"
        )
    conf = confdata(robot, traj.q)
    ext = external_user_values(traj, 6, "RAPID export")  # eax_a … [deg or mm]
    T_base_world = np.asarray(np.linalg.inv(traj.T_world_base), dtype=np.float64)
    summary = RapidExportSummary(path=Path())
    decl: list[str] = []
    body: list[str] = []
    tool, wobj = "tWeldcell", "wCell"
    mass = options.tool_mass
    cog = traj.T_flange_tcp[:3, 3] * 500.0  # half way to the TCP [mm]
    decl.append(
        f"PERS tooldata {tool} := [TRUE,{pose_literal(traj.T_flange_tcp)},"
        f"[{_num(mass, 3)},[{','.join(_num(float(v), 1) for v in cog)}],[1,0,0,0],0,0,0]];"
    )
    decl.append(f'PERS wobjdata {wobj} := [FALSE,TRUE,"",{pose_literal(T_base_world)},[[0,0,0],[1,0,0,0]]];')
    T_world_pflange = positioner_flange_poses(traj)
    T_rel = None if T_world_pflange is None else tcp_in_positioner_flange(traj, T_world_pflange)
    welds = [(w.first, w.last) for w in traj.arc_segments()]
    coord = coordinated_welds(traj, welds)
    wstn = "wStn"
    if any(coord):  # user frame: the unit's calibration (system parameters); object frame: identity
        decl.append(
            f'PERS wobjdata {wstn} := [FALSE,FALSE,"{options.mech_unit}",[[0,0,0],[1,0,0,0]],'
            "[[0,0,0],[1,0,0,0]]];"
        )
    pz = options.path_tolerance * 1000.0
    decl.append(
        f"CONST zonedata zWeld := [FALSE,{_num(pz, 3)},{_num(1.5 * pz, 3)},{_num(1.5 * pz, 3)},"
        f"{_num(0.15 * pz, 4)},{_num(1.5 * pz, 3)},{_num(0.15 * pz, 4)}];"
    )
    # transit speed: the planned peak TCP speed of the transits
    p = traj.T_world_tcp[:, :3, 3]
    v = np.linalg.norm(np.diff(p, axis=0), axis=1) / traj.dt
    transit = ~np.asarray(traj.arc_on[1:], dtype=bool)
    v_tr = float(np.max(v[transit], initial=0.1)) * 1000.0
    decl.append(f"CONST speeddata vTransit := [{_num(max(v_tr, 10.0), 1)},500,5000,1000];")
    summary.welds = len(welds)
    n = traj.n_samples
    bounds = [(0, welds[0][0] if welds else n - 1)]
    for k, (_, b) in enumerate(welds):
        bounds.append((b, welds[k + 1][0] if k + 1 < len(welds) else n - 1))
    targets: list[str] = []
    count = {"t": 0, "j": 0}
    procs_done: set[str] = set()

    jtargets: list[str] = []

    def solutions(idx: int) -> NDArrayF:
        """The IK solutions the robtarget of sample idx would allow (confdata of the plan)."""
        return robtarget_solutions(robot, robot.fk(traj.q[idx]), conf[idx])

    def target(idx: int, T: NDArrayF | None = None) -> str:
        """A robtarget of sample idx for a linear move (reached continuously from the plan); ``T``:
        the TCP poses in the work object the move uses (default: the cell world, ``wCell``)."""
        count["t"] += 1
        nm = f"p{count['t']}"
        if robot.kind == "gofa" and len(solutions(idx)) > 1:  # 16 branches: confdata can fit several
            summary.ambiguous.append(nm)
            targets.append(
                f"! {nm}: its confdata fits several IK branches; reached by a linear move from the "
                "planned one, which the path follows"
            )
        e = None if ext is None else ext[idx]
        T_wobj_tcp = traj.T_world_tcp if T is None else T
        targets.append(f"CONST robtarget {nm} := {robtarget_literal(T_wobj_tcp[idx], conf[idx], e)};")
        summary.targets[nm] = idx
        return nm

    def joint_move(idx: int, zone: str) -> str:
        """The instruction of a joint move to sample idx: MoveJ to a robtarget whose confdata selects
        exactly the planned branch, else MoveAbsJ to the planned joints."""
        sols = solutions(idx) if robot.kind == "gofa" else None
        if sols is None or (len(sols) == 1 and float(np.abs(sols[0] - traj.q[idx]).max()) < 1e-6):
            summary.movej += 1
            return f"MoveJ {target(idx)}, vTransit, {zone}{sfx}"
        count["j"] += 1
        nm = f"j{count['j']}"
        e = None if ext is None else ext[idx]
        jtargets.append(f"CONST jointtarget {nm} := {jointtarget_literal(traj.q[idx], e)};")
        summary.jointtargets[nm] = idx
        summary.moveabsj += 1
        return f"MoveAbsJ {nm}, vTransit, {zone}{sfx}"

    sfx = f", {tool} \\WObj:={wobj};"
    if any(coord):
        body.append(f"ActUnit {options.mech_unit};")
    body.append("ConfJ \\On;")
    body.append("ConfL \\On;")
    for k, (a, b) in enumerate(bounds):
        keep = simplify_joint_path(joint_path_with_external(traj, a, b), options.transit_tolerance)
        start_at = 0 if k == 0 else 1  # a weld's last sample is already the position
        for m, j in enumerate(keep[start_at:], start=start_at):
            zone = "fine" if (m == len(keep) - 1 or j == 0) else "z10"
            body.append(joint_move(a + j, zone))
        if k >= len(welds):
            break
        w0, w1 = welds[k]
        seam_i = int(traj.seam_index[w0])
        seam_id = traj.seam_ids[seam_i] if 0 <= seam_i < len(traj.seam_ids) else ""
        try:
            proc = program.procedures[program.seam(seam_id).procedure]
        except KeyError as err:
            raise RapidExportError(
                f"weld {k + 1} of the trajectory is seam {seam_id!r}, which the weld program "
                f"{getattr(program, 'name', '')!r} does not have; pass the program it was planned from"
            ) from err
        summary.seams.append(seam_id)
        T_path = T_rel if coord[k] and T_rel is not None else traj.T_world_tcp
        wsfx = f", {tool} \\WObj:={wstn};" if coord[k] else sfx
        if coord[k]:
            summary.coordinated.append(seam_id)
        pw = T_path[:, :3, 3]
        seg = np.linalg.norm(np.diff(pw[w0 : w1 + 1], axis=0), axis=1)
        moving = np.flatnonzero(seg / traj.dt > options.dwell_speed)
        m0, m1 = (w0, w1) if moving.size == 0 else (w0 + int(moving[0]), w0 + int(moving[-1]) + 1)
        length = float(np.sum(seg))
        moving_time = max(float(np.count_nonzero(seg / traj.dt > options.dwell_speed)) * traj.dt, traj.dt)
        speed = length / moving_time * 1000.0
        pid = _ident(f"{seam_id}")
        sm, wd, wv = f"sm_{pid}", f"wd_{pid}", f"wv_{pid}"
        if pid not in procs_done:
            procs_done.add(pid)
            seam_l, weld_l, weave_l, note = _process_data(proc, speed)
            decl.append(f"! seam {seam_id}: procedure {proc.name} ({proc.process})")
            decl.append(f"PERS seamdata {sm} := {seam_l};")
            decl.append(f"PERS welddata {wd} := {weld_l};")
            if note:
                decl.append(f"! {note}")
            decl.append(f"PERS weavedata {wv} := {weave_l};")
        arcargs = f"vTransit, {sm}, {wd} \\Weave:={wv}"
        body.append(f"! seam {seam_id}: {length * 1000:.1f} mm at {speed:.2f} mm/s")
        if coord[k]:
            body.append(f"! coordinated: {wstn} moves with {options.mech_unit}, speed relative to the part")
        body.append(f"ArcLStart {target(m0, T_path)}, {arcargs}, fine{wsfx}")
        summary.arcl += 1
        kinds = () if traj.external is None else traj.external.kinds
        fitted = _limit_circles(
            fit_path(T_path[m0 : m1 + 1], options.path_tolerance, options.orientation_tolerance),
            pw[m0 : m1 + 1],
        )
        if coord[k] and ext is not None:
            pieces = split_coordinated(fitted, ext, kinds, pw, m0)
        else:
            pieces = split_pieces(fitted, ext, kinds, m0)
        for pi, (kind, i, j) in enumerate(pieces):
            last = pi == len(pieces) - 1
            zone = "fine" if last else "zWeld"
            if kind == "LIN":
                instr = "ArcLEnd" if last else "ArcL"
                body.append(f"{instr} {target(m0 + j, T_path)}, {arcargs}, {zone}{wsfx}")
                summary.arcl += 1
            else:
                instr = "ArcCEnd" if last else "ArcC"
                aux = target(m0 + (i + j) // 2, T_path)
                body.append(f"{instr} {aux}, {target(m0 + j, T_path)}, {arcargs}, {zone}{wsfx}")
                summary.arcc += 1
    ind = "  "
    lines = [
        f"MODULE {name}",
        f"{ind}! weldcell RAPID export: robot {traj.robot}, "
        f"{traj.n_samples} samples of {traj.dt * 1000:.1f} ms",
        f"{ind}! the controller's world frame must be the robot base; {wobj} is weldcell's cell world frame",
    ]
    if traj.program_hash:
        lines.append(f"{ind}! weld program sha256 {traj.program_hash}")
    if traj.external is not None:
        x = traj.external
        lines.append(
            f"{ind}! extjoint eax_a..eax_{'abcdef'[x.n_axes - 1]} = {x.role} {x.device} "
            f"({', '.join(x.names)}), deg or mm; its mechanical unit must be active in this task"
        )
        lines += [f"{ind}! {line}" for line in coordinated_header(traj, "rapid")]
    lines += [ind + d for d in decl]
    lines += [ind + t for t in targets]
    lines += [ind + t for t in jtargets]
    lines += ["", f"{ind}PROC main()"]
    lines += [2 * ind + b for b in body]
    lines += [f"{ind}ENDPROC", "ENDMODULE", ""]
    return "\n".join(lines), summary


def export_rapid(
    traj_path: str | Path,
    out_path: str | Path,
    options: RapidExportOptions | None = None,
    *,
    program: Any = None,
    force_unvalidated: bool = False,
    stamp_key: object = None,
) -> RapidExportSummary:
    """Load a trajectory, check its stamp and write the RAPID module ``out_path`` (``.mod``).

    Args:
        traj_path: The planned trajectory (``.npz``).
        out_path: The module file to write.
        options: Export settings.
        program: The weld program (default: the one named in ``plan.json`` beside the trajectory).
        force_unvalidated: Skip the stamp check (not for production).
        stamp_key: The cell's stamp key (default: ``$WELDCELL_STAMP_KEY``).

    Raises:
        StampError: no matching stamp and ``force_unvalidated`` is False.
        RapidExportError: not an ABB trajectory, no weld program, or the file cannot be written.
    """
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, verify_stamp

    opts = options or RapidExportOptions()
    src = Path(traj_path)
    if src.suffix.lower() in (".yaml", ".yml"):
        raise RapidExportError(
            f"{src}: this is a weld program; export expects a planned trajectory (.npz): run "
            "'weldcell plan' and 'weldcell validate' first"
        )
    traj = load_trajectory(src)
    if not force_unvalidated:
        verify_stamp(src, traj, key=FROM_ENVIRONMENT if stamp_key is None else stamp_key)  # type: ignore[arg-type]
    prog = program if program is not None else find_program(src, traj)
    if prog is None:
        raise RapidExportError(
            f"{src}: the weld program it was planned from is not found (no plan.json beside it naming an "
            "existing file): pass --program PROGRAM.yaml; the seam and weld data come from its procedures"
        )
    if traj.program_hash and getattr(prog, "hash", traj.program_hash) != traj.program_hash:
        raise RapidExportError(
            f"--program: the weld program has changed since {src} was planned (hash mismatch); plan it again"
        )
    out = Path(out_path)
    if out.is_dir():
        raise RapidExportError(f"--output {out}: is a folder; RAPID export writes one module file (NAME.mod)")
    name = module_name(out if not opts.name else src, opts)
    text, summary = build_rapid(traj, prog, name, opts)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text.replace("\n", "\r\n"), encoding="ascii", newline="")
    except OSError as err:
        raise RapidExportError(f"{out}: cannot write the RAPID module ({err.strerror or err})") from err
    summary.path = out
    return summary


def export_for_cli(
    trajectory: Path, output: Path, *, program: Path | None, force_unvalidated: bool, stamp_key: object
) -> list[str]:
    """``weldcell export --format rapid``: write the module, return the lines to print."""
    prog = None
    if program is not None:
        from weldcell.program import load_program

        prog = load_program(program)
    s = export_rapid(
        trajectory, output, program=prog, force_unvalidated=force_unvalidated, stamp_key=stamp_key
    )
    lines = [
        f"wrote [bold]{s.path}[/] (rapid): {s.movej} MoveJ, {s.moveabsj} MoveAbsJ, {s.arcl} ArcL, "
        f"{s.arcc} ArcC, {s.welds} welds, seams: {', '.join(s.seams) or 'none'}"
    ]
    if force_unvalidated:
        lines.append("[yellow]warning:[/] exported without checking the validation stamp")
    if s.moveabsj:
        lines.append(
            f"{s.moveabsj} joint move(s) as MoveAbsJ: the robtarget's confdata would not select the "
            "planned IK branch"
        )
    lines += external_axes_warnings(trajectory, "rapid")
    if s.ambiguous:
        lines.append(
            f"{len(s.ambiguous)} ArcL/ArcC robtarget(s) whose confdata fits several IK branches, reached "
            "by linear moves from the planned branch (the controller follows the path)"
        )
    return lines
