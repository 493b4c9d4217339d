"""External axes (positioner, track) in native robot programs: shared by the KRL, RAPID and TP exports.

The controllers take external-axis positions in degrees (rotary) and millimetres (linear), next to
the robot's target in the same motion instruction (KRL ``E1``…``E6`` of E6POS/E6AXIS, RAPID
``extjoint`` ``eax_a``…``eax_f``, FANUC group 2).

**Coordinated welds** (a positioner that moves while the arc is on, :func:`coordinated_welds`) are
written in the controller's coordinated motion: the TCP targets are poses relative to the
positioner's flange (:func:`positioner_flange_poses`, :func:`tcp_in_positioner_flange`; KRL: a
``$BASE`` coupled to the external kinematics with ``EK``, RAPID: a ``wobjdata`` moved by the
positioner's mechanical unit, FANUC: the ``COORD`` motion option with the positioner group as
leader), so the controller keeps the TCP on the path relative to the part however it interpolates the
axes. The controller interpolates the external axes linearly in the path parameter between two
targets; :func:`split_coordinated` cuts a weld motion where that would leave the planned axis
positions by more than :data:`COORD_TOL_DEG` / :data:`COORD_TOL_MM` (the weld position, not the
path on the part, depends on it).

**Other welds with moving axes** (a robot track) keep their targets in the cell's fixed frame:
:func:`split_pieces` cuts every weld piece in which an external axis moves more than ``step`` (deg or
mm): the TCP's deviation relative to the moving part then stays within ``r·(1 − cos(step/2))`` (0.03
mm at 200 mm from a rotary axis for the default 2°).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

from weldcell.errors import ExportError
from weldcell.trajectory import JointTrajectory

NDArrayF = npt.NDArray[np.float64]

#: Default largest move of an external axis within one weld motion [deg for rotary, mm for linear].
DEFAULT_STEP_DEG = 2.0
DEFAULT_STEP_MM = 5.0

#: Largest deviation of the controller's axis-linear interpolation from the planned external axes
#: along a coordinated weld motion [deg for rotary, mm for linear].
COORD_TOL_DEG = 0.25
COORD_TOL_MM = 0.5

#: An external axis that moves less than this over a weld is standing [rad or m].
_STANDING = 1e-7


def external_user_values(traj: JointTrajectory, max_axes: int, vendor: str) -> NDArrayF | None:
    """The external axes of ``traj`` in controller units, shape (N, k): deg (revolute), mm (prismatic).

    None for a robot alone.

    Raises:
        ExportError: more external axes than the controller's program format holds.
    """
    ext = traj.external
    if ext is None:
        return None
    if ext.n_axes > max_axes:
        raise ExportError(
            f"{vendor}: the trajectory has {ext.n_axes} external axes ({', '.join(ext.names)}); "
            f"the program format holds at most {max_axes}"
        )
    scale = np.array([180.0 / math.pi if k == "revolute" else 1000.0 for k in ext.kinds])
    return np.asarray(ext.q * scale, dtype=np.float64)


def split_pieces(
    pieces: list[tuple[str, int, int]], values: NDArrayF | None, kinds: tuple[str, ...], offset: int = 0
) -> list[tuple[str, int, int]]:
    """Cut path pieces ``(kind, i, j)`` (sample indices relative to ``offset``) so that no external
    axis moves more than :data:`DEFAULT_STEP_DEG` / :data:`DEFAULT_STEP_MM` within one piece.

    Args:
        pieces: LIN/CIRC pieces from the path fit.
        values: External axes in controller units (N, k), absolute sample index; None: no cut.
        kinds: Axis kinds.
        offset: Absolute index of relative index 0.
    """
    if values is None:
        return pieces
    step = np.array([DEFAULT_STEP_DEG if k == "revolute" else DEFAULT_STEP_MM for k in kinds])
    out: list[tuple[str, int, int]] = []
    for kind, i, j in pieces:
        seg = values[offset + i : offset + j + 1]
        travel = float(np.max((seg.max(axis=0) - seg.min(axis=0)) / step))
        n = max(1, math.ceil(travel - 1e-9))
        n = min(n, max(1, (j - i) // 2))  # a CIRC piece needs a sample between its ends
        cuts = np.linspace(i, j, n + 1).round().astype(int)
        out.extend((kind, int(a), int(b)) for a, b in itertools.pairwise(cuts) if b > a)
    return out


def joint_path_with_external(traj: JointTrajectory, a: int, b: int) -> NDArrayF:
    """Joint samples ``a … b`` with the external axes appended (rad / m), for transit simplification."""
    q = traj.q[a : b + 1]
    if traj.external is None:
        return q
    return np.asarray(np.hstack([q, traj.external.q[a : b + 1]]), dtype=np.float64)


def refuse_external(traj: JointTrajectory, what: str) -> None:
    """Refuse a trajectory with external axes for a format that cannot coordinate them.

    Raises:
        ExportError: naming the device and what to use instead.
    """
    ext = traj.external
    if ext is not None:
        raise ExportError(
            f"{what}: the trajectory moves {ext.role} {ext.device!r} (axes {', '.join(ext.names)}) with "
            "the robot; coordinated motion needs the streaming driver (weldcell cell run --positioner "
            "modbus-positioner://HOST:PORT), this program format cannot carry external axes"
        )


def positioner_flange_poses(traj: JointTrajectory) -> NDArrayF | None:
    """``T_world_pflange``: the positioner's flange in the world at every sample [m], shape (N, 4, 4).

    Independent forward kinematics of the device (its URDF, :func:`weldcell.kinematics.load_positioner`)
    at the trajectory's external axes. None without a positioner (a robot alone or on a track).

    Raises:
        ExportError: the device is not a positioner weldcell has a model of.
    """
    from weldcell.errors import UnknownModelError
    from weldcell.kinematics.positioner import load_positioner

    ext = traj.external
    if ext is None or ext.role != "positioner":
        return None
    try:
        model = load_positioner(ext.device)
    except UnknownModelError as err:
        raise ExportError(f"trajectory positioner {ext.device!r}: {err}") from err
    if model.axis_names != ext.names:
        raise ExportError(
            f"trajectory positioner {ext.device!r}: axes {list(ext.names)}, the model has "
            f"{list(model.axis_names)}"
        )
    return np.asarray(ext.T_world_base @ model.T_base_flange(ext.q), dtype=np.float64)


def tcp_in_positioner_flange(traj: JointTrajectory, T_world_pflange: NDArrayF) -> NDArrayF:
    """``T_pflange_tcp``: the planned TCP relative to the positioner's flange [m], shape (N, 4, 4)."""
    return np.asarray(np.linalg.inv(T_world_pflange) @ traj.T_world_tcp, dtype=np.float64)


def coordinated_welds(traj: JointTrajectory, welds: list[tuple[int, int]]) -> list[bool]:
    """Per weld ``(first, last)`` sample: does a positioner axis move while the arc is on?

    Those welds are exported in the controller's coordinated motion (module docstring). A track's
    welds are never "coordinated" here: its targets stay in the fixed frame.
    """
    ext = traj.external
    if ext is None or ext.role != "positioner":
        return [False] * len(welds)
    out = []
    for a, b in welds:
        seg = ext.q[a : b + 1]
        out.append(bool(np.max(seg.max(axis=0) - seg.min(axis=0)) > _STANDING))
    return out


def split_coordinated(
    pieces: list[tuple[str, int, int]],
    values: NDArrayF,
    kinds: tuple[str, ...],
    p_rel: NDArrayF,
    offset: int = 0,
) -> list[tuple[str, int, int]]:
    """Cut coordinated weld pieces ``(kind, i, j)`` so that the axes, interpolated linearly in the
    path length relative to the part, stay within :data:`COORD_TOL_DEG` / :data:`COORD_TOL_MM` of
    the planned samples.

    Args:
        pieces: LIN/CIRC pieces from the path fit (sample indices relative to ``offset``).
        values: External axes in controller units (N, k), absolute sample index.
        kinds: Axis kinds.
        p_rel: TCP positions relative to the part [m], (N, 3), absolute sample index.
        offset: Absolute index of relative index 0.
    """
    tol = np.array([COORD_TOL_DEG if k == "revolute" else COORD_TOL_MM for k in kinds])
    out: list[tuple[str, int, int]] = []
    todo = list(reversed(pieces))
    while todo:
        kind, i, j = todo.pop()
        seg = values[offset + i : offset + j + 1]
        s = np.concatenate(
            [[0.0], np.cumsum(np.linalg.norm(np.diff(p_rel[offset + i : offset + j + 1], axis=0), axis=1))]
        )
        u = s / s[-1] if s[-1] > 0 else np.linspace(0.0, 1.0, s.size)
        line = seg[0] + u[:, None] * (seg[-1] - seg[0])
        worst = float(np.max(np.abs(line - seg) / tol))
        if worst <= 1.0 or j - i < 4:
            out.append((kind, i, j))
            continue
        mid = (i + j) // 2
        todo.extend([(kind, mid, j), (kind, i, mid)])
    return out


def coordinated_header(traj: JointTrajectory, fmt: str) -> list[str]:
    """What the exported program needs of the controller for its coordinated welds (comment lines,
    without the comment character): the positioner's base in the robot's base frame and its flange
    as the coupled frame."""
    ext = traj.external
    if ext is None or ext.role != "positioner":
        return []
    T_rbase_pbase = np.linalg.inv(traj.T_world_base) @ ext.T_world_base
    x, y, z = (float(v) * 1000.0 + 0.0 for v in T_rbase_pbase[:3, 3])
    how = _COORDINATED[fmt]
    return [
        f"coordinated welds: TCP targets relative to the flange of {ext.device} ({how})",
        f"calibrate the positioner base at X {x:.1f} Y {y:.1f} Z {z:.1f} mm in the robot base frame",
        "and its flange frame as in weldcell's model (urdf/" + ext.device + ".urdf)",
    ]


#: How each controller's coordinated motion couples the targets to the positioner.
_COORDINATED = {
    "krl": "$BASE=EK(...) of the external kinematics",
    "rapid": "wobjdata ufprog FALSE, ufmec the mechanical unit",
    "fanuc-tp": "COORD motion option, leader group 2",
}


def external_axes_warnings(trajectory: Path, fmt: str) -> list[str]:
    """The lines ``weldcell export`` prints about external axes (none for a robot alone).

    Coordinated welds: what the controller needs (coupled frame, calibration); welds with a moving
    track: the cut every :data:`DEFAULT_STEP_DEG` / :data:`DEFAULT_STEP_MM` (docs/drivers.md,
    "External axes in exported programs").

    Args:
        trajectory: The exported trajectory file.
        fmt: The export format (``krl``, ``rapid`` or ``fanuc-tp``).
    """
    from weldcell.trajectory.io import load_trajectory

    traj = load_trajectory(trajectory)
    ext = traj.external
    if ext is None:
        return []
    welds = [(w.first, w.last) for w in traj.arc_segments()]
    coord = coordinated_welds(traj, welds)
    lines = [
        f"{ext.role} {ext.device!r} ({', '.join(ext.names)}) exported as external axes in every motion "
        "(deg / mm)"
    ]
    if any(coord):
        lines.append(
            f"{sum(coord)} coordinated weld(s) in the controller's coordinated motion "
            f"({_COORDINATED.get(fmt, fmt)}): [yellow]the positioner must be configured and calibrated "
            "on the controller as its coordinated unit[/]"
        )
        lines += coordinated_header(traj, fmt)[1:]
    moving = [
        k
        for k, (a, b) in enumerate(welds)
        if not coord[k] and float(np.ptp(ext.q[a : b + 1], axis=0).max()) > _STANDING
    ]
    if moving:
        lines.append(
            f"[yellow]warning:[/] {len(moving)} weld(s) move the {ext.role} with targets in the cell's "
            f"fixed frame: the controller moves the axes linearly between targets, so those weld "
            f"motions are cut every {DEFAULT_STEP_DEG:g}° / {DEFAULT_STEP_MM:g} mm of axis travel "
            f"(path relative to the part within r·(1 − cos {DEFAULT_STEP_DEG / 2:g}°))"
        )
    return lines
