"""Values shared by the cell controller's modules: settings, events, the job cursor, and the control-flow
exceptions the supervision loop uses to leave a motion (never seen outside ``weldcell.cell``)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from weldcell.cell.arc import ArcProcedure
from weldcell.cell.moves import MoveLimits
from weldcell.cell.state import Command, InterlockConfig


@dataclass(frozen=True, slots=True)
class CellConfig:
    """Cell settings.

    Attributes:
        arc: Arc handshake and restart settings.
        interlocks: Safety inputs on the robot controller, or None when the cell has none wired.
        moves: Limits of the recovery moves the cell plans itself.
        retract_distance: Back-off along the torch axis after a stop on a seam [m].
        approach_distance: Approach length onto a restart point [m].
        poll_period: Period of the cell's supervision loop [s].
        signal_flush_period: Time between committed batches of process signals [s].
        motion_margin: Extra time allowed for a slice beyond its duration [s].
        power_source_comm_timeout: The power source's own robot-communication timeout, set by the
            cell before every job and resume [s]: when the PC dies the power source ends the weld
            after this long without a heartbeat. Must be shorter than the robot's stop budget (its
            watchdog time) so that the arc is off no later than the robot stops. None: the cell
            leaves the power source's setting alone.
    """

    arc: ArcProcedure = field(default_factory=ArcProcedure)
    interlocks: InterlockConfig | None = None
    moves: MoveLimits = field(default_factory=MoveLimits)
    retract_distance: float = 0.02
    approach_distance: float = 0.02
    poll_period: float = 0.01
    signal_flush_period: float = 0.25
    motion_margin: float = 5.0
    power_source_comm_timeout: float | None = 0.15


class ProgramArc(enum.Enum):
    """Who switches the arc when the job runs as one controller program (program mode)."""

    DRY_RUN = "dry_run"  # arc disabled: the program never raises an arc request
    ROBOT_IO = "robot_io"  # power source wired to the robot: arc on a digital output, established on an input
    FIELDBUS = "fieldbus"  # the program requests the arc through RTDE; the cell switches the power source


@dataclass(frozen=True, slots=True)
class ProgramMode:
    """Run the whole job as one controller program instead of streaming it (UR program mode).

    Attributes:
        arc: Who switches the arc (:class:`ProgramArc`).
        arc_output: Robot digital output of the arc (``ROBOT_IO``).
        arc_input: Robot digital input "arc established" (``ROBOT_IO``).
    """

    arc: ProgramArc = ProgramArc.DRY_RUN
    arc_output: int = 0
    arc_input: int = 0

    def __post_init__(self) -> None:
        for name in ("arc_output", "arc_input"):
            v = getattr(self, name)
            if not 0 <= v <= 7:
                raise ValueError(f"ProgramMode.{name} {v}: expected a standard digital I/O number 0 … 7")


@dataclass(frozen=True, slots=True)
class CellEvent:
    """Something the cell reports: ``kind`` (``state``, ``seam_start``, ``seam_end``, ``fault``, ...)."""

    kind: str
    message: str
    seam_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


class JobInterruptedError(Exception):
    """Leaves the worker: the job stops in ``command``'s state (PAUSE, FAULT or ESTOP)."""

    def __init__(self, command: Command, message: str) -> None:
        super().__init__(message)
        self.command = command
        self.message = message


class ArcLostError(Exception):
    def __init__(self, s: float, reason: str) -> None:
        super().__init__(reason)
        self.s = s
        self.reason = reason


class MotionStoppedError(Exception):
    """A supervised slice was stopped (request, interlock or driver fault)."""

    def __init__(self, command: Command, reason: str = "", source: str = "request") -> None:
        super().__init__(reason or command.value)
        self.command = command
        self.reason = reason
        self.source = source  # "request" (operator / interlock), "robot" or "power"


@dataclass
class Cursor:
    """Where the job continues.

    Attributes:
        step: Index into the job's steps.
        restart_s: For a seam step: restart at this seam arc length [m] (None: from its start).
        retracted: The torch is already backed off the seam (no retract before a re-approach).
    """

    step: int = 0
    restart_s: float | None = None
    retracted: bool = True
