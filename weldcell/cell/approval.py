"""Approval of every motion the cell sends to a robot: nothing moves unless it passed simulation.

The cell does not send the planned trajectory in one piece: it runs it slice by slice (approach,
weld, retract) so that it can hold the robot for the arc handshake, and after a fault it plans
short recovery moves (retract, re-approach, seam restart). Each of these is a new
:class:`JointTrajectory` with its own content hash, so each needs its own validation stamp.

:class:`SimApprover` validates each motion with ``weldcell.sim`` in one pybullet scene of the cell
(built once, reused; validation runs far faster than real time), saves the motion and writes its
stamp (``weldcell.trajectory.stamp``) in a folder, and returns the file the driver checks.
:class:`SimulationOnly` approves nothing and tells the driver to skip the stamp check: only for
virtual robots (tests).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from weldcell.errors import StampError, ValidationError
from weldcell.trajectory import JointTrajectory, save_trajectory
from weldcell.trajectory.stamp import FROM_ENVIRONMENT, KeySource, StampKey, resolve_stamp_key, verify_stamp

if TYPE_CHECKING:
    from weldcell.program.model import Program
    from weldcell.sim.cell_model import CellModel
    from weldcell.sim.validate import ValidationOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Approval:
    """What the driver needs to accept a motion.

    Attributes:
        path: The saved trajectory file whose stamp certifies the motion (None when not stamped).
        force_unvalidated: True only in simulation-only mode.
    """

    path: Path | None
    force_unvalidated: bool = False


class MotionApprover(Protocol):
    """Checks a motion before it goes to the robot."""

    def approve_main(self, traj: JointTrajectory, path: Path | None) -> Approval:
        """Approval of the planned trajectory (its stamp next to ``path`` is checked by the driver)."""
        ...

    def approve(self, traj: JointTrajectory, label: str) -> Approval:
        """Validate ``traj`` and return its approval; raise ``ValidationError`` when it fails."""
        ...

    def close(self) -> None:
        """Release resources (pybullet client)."""
        ...


class SimulationOnly:
    """Approves every motion without validation (virtual robots only: the driver must allow it)."""

    def approve_main(self, traj: JointTrajectory, path: Path | None) -> Approval:
        """Return an approval that asks the driver to skip the stamp check."""
        return Approval(None, force_unvalidated=True)

    def approve(self, traj: JointTrajectory, label: str) -> Approval:
        """Return an approval that asks the driver to skip the stamp check."""
        return Approval(None, force_unvalidated=True)

    def close(self) -> None:
        """Nothing to release."""


class StampOnly:
    """Approves the planned trajectory by its validation stamp and refuses every motion the cell
    would plan itself: for a job whose weld program (its cell, the simulator's scene) is not at hand
    and that runs from where it was planned to start (program mode on a stamped trajectory).

    Args:
        reason: Why no motion can be validated (said when one is asked for).
        stamp_key: The cell's stamp key (as :class:`SimApprover`).
    """

    def __init__(self, reason: str, *, stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT) -> None:
        self.reason = reason
        self.stamp_key = resolve_stamp_key(stamp_key)

    def approve_main(self, traj: JointTrajectory, path: Path | None) -> Approval:
        """Check the trajectory's stamp next to ``path``.

        Raises:
            StampError: no path given, or its stamp is missing or stale.
        """
        if path is None:
            raise StampError("the job's trajectory file is needed to check its validation stamp")
        verify_stamp(path, traj, key=self.stamp_key)
        return Approval(Path(path))

    def approve(self, traj: JointTrajectory, label: str) -> Approval:
        """Refuse: nothing to validate the cell's own ``label`` move against.

        Raises:
            ValidationError: always, naming the move and the reason.
        """
        raise ValidationError(f"the cell cannot validate its {label} move: {self.reason}")

    def close(self) -> None:
        """Nothing to release."""


class SimApprover:
    """Validates each motion in a pybullet scene of the program's cell and stamps it.

    Args:
        program: The weld program (its cell is the scene), or None when ``cell`` is given.
        folder: Where motions and stamps are written (``<folder>/NNN_<label>.npz`` + stamp).
        options: ``weldcell.sim.ValidationOptions`` (None: defaults).
        cell: An explicit ``weldcell.sim.cell_model.CellModel`` instead of the program's cell.
        stamp_key: The cell's stamp key: the main trajectory's stamp must be signed with it and the
            motions are stamped with it (None: unkeyed; default ``$WELDCELL_STAMP_KEY``).
    """

    def __init__(
        self,
        program: Program,
        folder: str | Path,
        options: ValidationOptions | None = None,
        *,
        cell: CellModel | None = None,
        stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT,
    ) -> None:
        from weldcell.sim.cell_model import CellModel
        from weldcell.sim.scene import build_scene
        from weldcell.sim.validate import ValidationOptions
        from weldcell.sim.world import Mode, PybulletWorld

        self.stamp_key = resolve_stamp_key(stamp_key)  # a missing key file fails here, before pybullet
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._options = options or ValidationOptions()
        self._world = PybulletWorld(Mode.DIRECT)
        self._world.__enter__()
        try:
            self._scene = build_scene(
                self._world, cell if cell is not None else CellModel.from_program(program)
            )
        except BaseException:
            self._world.__exit__(None, None, None)
            raise
        self._count = 0
        self._lock = threading.Lock()

    def approve_main(self, traj: JointTrajectory, path: Path | None) -> Approval:
        """The planned trajectory was validated before the job (its stamp sits next to ``path``).

        Raises:
            StampError: no path given, or its stamp is missing or stale.
        """
        if path is None:
            raise StampError("the job's trajectory file is needed to check its validation stamp")
        verify_stamp(path, traj, key=self.stamp_key)
        return Approval(Path(path))

    def approve(self, traj: JointTrajectory, label: str) -> Approval:
        """Validate, save and stamp ``traj``.

        Raises:
            ValidationError: the motion violates a limit or a clearance; the message names it.
        """
        from weldcell.sim.stamping import write_validation_stamp
        from weldcell.sim.validate import validate_in_scene

        with self._lock:
            self._count += 1
            report = validate_in_scene(self._scene, traj, self._options)
            if not report.passed:
                first = report.violations[0].message() if report.violations else "unknown"
                raise ValidationError(
                    f"the cell's {label} move failed validation ({len(report.violations)} violation(s); "
                    f"first: {first}); move the robot by hand and resume"
                )
            path = save_trajectory(traj, self.folder / f"{self._count:03d}_{label}.npz")
            write_validation_stamp(report, path, key=self.stamp_key)
            return Approval(path)

    def close(self) -> None:
        """Disconnect the pybullet client (idempotent)."""
        world, self._world = getattr(self, "_world", None), None  # type: ignore[assignment]
        if world is not None:
            world.__exit__(None, None, None)
