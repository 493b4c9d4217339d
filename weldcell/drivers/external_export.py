"""External axes (positioner, track) in native robot programs: shared by the KRL, RAPID and TP exports.

The controllers take external-axis positions in degrees (rotary) and millimetres (linear), next to
the robot's target in the same motion instruction (KRL ``E1``…``E6`` of E6POS/E6AXIS, RAPID
``extjoint`` ``eax_a``…``eax_f``, FANUC group 2). Between two targets the controller moves the
external axes linearly while the TCP follows its LIN/CIRC in the program's (fixed) base frame, so
:func:`split_pieces` cuts every weld piece in which an external axis moves more than
``step`` (deg or mm): the TCP's deviation relative to the moving part then stays within
``r·(1 − cos(step/2))`` (0.03 mm at 200 mm from a rotary axis for the default 2°).
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


#: How each controller's coordinated motion would couple the targets to the positioner (not exported).
_COORDINATED = {
    "krl": "a BASE coupled to the external kinematics (ROBROOT/base of the positioner)",
    "rapid": "a wobjdata with ufprog FALSE and ufmec the positioner's mechanical unit",
    "fanuc-tp": "the Coordinated Motion option (leader group 2)",
}


def external_axes_warnings(trajectory: Path, fmt: str) -> list[str]:
    """The lines ``weldcell export`` prints about external axes (none for a robot alone).

    The exports carry the external axes' positions in every motion instruction with the TCP
    targets in the cell's fixed frame; they do not use the controller's coordinated motion, so
    each weld motion is cut where an axis would move more than :data:`DEFAULT_STEP_DEG` /
    :data:`DEFAULT_STEP_MM` (docs/drivers.md, "External axes in exported programs").

    Args:
        trajectory: The exported trajectory file.
        fmt: The export format (``krl``, ``rapid`` or ``fanuc-tp``).
    """
    from weldcell.trajectory.io import load_trajectory

    ext = load_trajectory(trajectory).external
    if ext is None:
        return []
    how = _COORDINATED.get(fmt, "the controller's coordinated motion")
    return [
        f"[yellow]warning:[/] {ext.role} {ext.device!r} ({', '.join(ext.names)}) exported as axis "
        "positions in each motion, the TCP targets in the cell's fixed frame: the controller moves the "
        f"axes linearly between targets, so weld motions are cut every {DEFAULT_STEP_DEG:g}° / "
        f"{DEFAULT_STEP_MM:g} mm of axis travel (path relative to the part within r·(1 − cos "
        f"{DEFAULT_STEP_DEG / 2:g}°)). Not exported: {how}; exact coordinated motion needs the "
        "streaming driver (weldcell cell run --positioner …)"
    ]
