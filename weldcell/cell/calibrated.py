"""Use the cell's calibration in the programs it runs: user frames and the calibrated TCP.

The cell configuration (``--cell-config``, :mod:`weldcell.cell.cellconfig`) stores what
``weldcell calibrate`` measured: ``calibration.frames`` (user/part frames, ``T_world_frame``) and
``calibration.tcp_xyz_mm`` (the torch's TCP position in the flange frame) with, when calibrated,
``calibration.tcp_rpy_deg`` (its orientation). :func:`load_program_for_cell`
loads a program with both applied, so that planning, validation and execution all use the same
calibrated cell (``docs/touch-and-calibration.md``, "Using the calibration").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from weldcell.errors import ValidationError
from weldcell.program import Program, UserFrames, load_program

if TYPE_CHECKING:  # annotations only: ``weldcell check`` loads programs without the cell layer (issue #14)
    from weldcell.cell.cellconfig import CellSetup
    from weldcell.trajectory import JointTrajectory

#: A planned trajectory whose TCP is further than this from the cell's calibrated TCP [m] is refused.
TCP_MATCH_DISTANCE = 1e-4

#: A planned trajectory whose TCP orientation is further than this from the calibrated one [rad] is
#: refused.
TCP_MATCH_ANGLE = float(np.deg2rad(0.01))

#: A calibrated TCP further than this from the torch model's TCP [m] is reported as a warning: a
#: bent neck, a wrong torch model in the program or a wrong stick-out.
TCP_WARN_DISTANCE = 0.002


@dataclass(frozen=True, slots=True)
class CalibrationUse:
    """What of the cell's calibration a program uses.

    Attributes:
        frames: Names of the calibrated user frames the program's bodies are placed in.
        tcp_xyz: The calibrated TCP applied [m] (3,), in the flange frame; None: the torch model's.
        tcp_model_xyz: The torch model's TCP position at the program's stick-out [m] (3,).
        tcp_difference: Distance between the two [m] (0 when no calibrated TCP).
        warn_distance: Threshold of :attr:`warning` [m].
    """

    frames: tuple[str, ...]
    tcp_xyz: np.ndarray | None
    tcp_model_xyz: np.ndarray
    tcp_difference: float
    warn_distance: float = TCP_WARN_DISTANCE

    @property
    def warning(self) -> bool:
        """The calibrated TCP differs from the torch model by more than :attr:`warn_distance`."""
        return self.tcp_difference > self.warn_distance

    def lines(self) -> list[str]:
        """Human-readable lines for the command output (mm)."""
        out = [f"calibrated user frame(s) used: {', '.join(self.frames)}"] if self.frames else []
        m = self.tcp_model_xyz * 1e3
        if self.tcp_xyz is None:
            out.append(f"TCP: the torch model's [{m[0]:.2f}, {m[1]:.2f}, {m[2]:.2f}] mm (no calibrated TCP)")
            return out
        c = self.tcp_xyz * 1e3
        out.append(
            f"TCP: calibrated [{c[0]:.2f}, {c[1]:.2f}, {c[2]:.2f}] mm applied for planning, validation "
            f"and execution (torch model [{m[0]:.2f}, {m[1]:.2f}, {m[2]:.2f}] mm, "
            f"difference {self.tcp_difference * 1e3:.2f} mm)"
        )
        if self.warning:
            out.append(
                f"WARNING: the calibrated TCP is {self.tcp_difference * 1e3:.2f} mm from the torch model's "
                f"(more than {self.warn_distance * 1e3:g} mm): check the torch model, stick-out and neck"
            )
        return out


def user_frames(setup: CellSetup | None) -> UserFrames | None:
    """The calibrated frames of a loaded cell configuration, None without one."""
    if setup is None or setup.path is None:
        return None
    return UserFrames(dict(setup.frames), str(setup.path))


def with_tcp(program: Program, tcp_xyz: np.ndarray, tcp_rotation: np.ndarray | None = None) -> Program:
    """The program with its torch's TCP position replaced by ``tcp_xyz`` [m] (3,), flange frame, and
    its orientation by ``tcp_rotation`` (3, 3) when calibrated (None: the torch model's is kept)."""
    T = np.array(program.cell.T_flange_tcp, dtype=np.float64)
    T[:3, 3] = np.asarray(tcp_xyz, dtype=np.float64).reshape(3)
    if tcp_rotation is not None:
        T[:3, :3] = np.asarray(tcp_rotation, dtype=np.float64).reshape(3, 3)
    return replace(program, cell=replace(program.cell, T_flange_tcp=T))


def load_program_for_cell(
    path: str | Path, setup: CellSetup | None, *, warn_distance: float = TCP_WARN_DISTANCE
) -> tuple[Program, CalibrationUse]:
    """Load a program in the calibrated cell: user frames resolved, calibrated TCP applied.

    Args:
        path: The program file.
        setup: The loaded cell configuration (None or one without a file: no calibration).
        warn_distance: Calibrated-vs-model TCP distance above which :attr:`CalibrationUse.warning` [m].

    Raises:
        ProgramError: the program does not load, or names a frame the configuration does not store
            (the message names the program file, the field and the configuration file).
    """
    program = load_program(path, user_frames(setup))
    names = program.cell.user_frames
    model = np.array(program.cell.T_flange_tcp[:3, 3], dtype=np.float64)
    tcp = None if setup is None else setup.tcp_xyz
    if tcp is None:
        return program, CalibrationUse(names, None, model, 0.0, warn_distance)
    tcp = np.asarray(tcp, dtype=np.float64).reshape(3)
    use = CalibrationUse(names, tcp, model, float(np.linalg.norm(tcp - model)), warn_distance)
    return with_tcp(program, tcp, None if setup is None else setup.tcp_rotation), use


def check_trajectory_tcp(traj: JointTrajectory, setup: CellSetup | None, source: str) -> None:
    """Refuse a planned trajectory whose TCP is not the cell's calibrated TCP.

    A trajectory was planned and validated with the TCP it records (``traj.T_flange_tcp``); run on a
    torch whose calibrated TCP differs, the wire tip would miss the seam by the difference.

    Raises:
        ValidationError: the trajectory's TCP is more than :data:`TCP_MATCH_DISTANCE` from
            ``setup.tcp_xyz`` (the message says to re-plan the program with ``--cell-config``).
    """
    if setup is None or setup.tcp_xyz is None:
        return
    planned = np.asarray(traj.T_flange_tcp, dtype=np.float64)[:3, 3]
    calibrated = np.asarray(setup.tcp_xyz, dtype=np.float64).reshape(3)
    diff = float(np.linalg.norm(planned - calibrated))
    rotation = setup.tcp_rotation
    if rotation is not None:
        R = np.asarray(traj.T_flange_tcp, dtype=np.float64)[:3, :3].T @ np.asarray(rotation)
        angle = float(np.arccos(np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)))
        if angle > TCP_MATCH_ANGLE:
            raise ValidationError(
                f"{source}: planned with a TCP orientation {np.rad2deg(angle):.3f}° from the calibrated one "
                f"in {setup.path}: re-plan the program with --cell-config "
                "(weldcell plan/validate ... --cell-config) or run the program .yaml"
            )
    if diff > TCP_MATCH_DISTANCE:
        p, c = planned * 1e3, calibrated * 1e3
        raise ValidationError(
            f"{source}: planned with TCP [{p[0]:.2f}, {p[1]:.2f}, {p[2]:.2f}] mm, but {setup.path} has the "
            f"calibrated TCP [{c[0]:.2f}, {c[1]:.2f}, {c[2]:.2f}] mm ({diff * 1e3:.2f} mm apart): re-plan "
            "the program with --cell-config (weldcell plan/validate ... --cell-config) "
            "or run the program .yaml"
        )
