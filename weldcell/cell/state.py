"""The cell state machine and the safety interlocks read from controller inputs.

States (:class:`CellState`) and transitions (:data:`TRANSITIONS`)::

    IDLE    --load-->     READY      READY   --start-->   RUNNING    READY  --unload--> IDLE
    RUNNING --pause-->    PAUSED     RUNNING --complete-> READY      RUNNING --fault--> FAULT
    PAUSED  --resume-->   RUNNING    PAUSED  --abort-->   READY      FAULT  --abort-->  READY
    FAULT   --reset-->    PAUSED (job interrupted) or READY (nothing to resume)
    any     --estop-->    ESTOP      ESTOP   --reset-->   PAUSED or READY (e-stop released first)
    IDLE/READY --recover--> PAUSED   (adopt a job a crashed process left unfinished)

A command that is not allowed in the current state raises :class:`~weldcell.errors.CellStateError`
naming the state and the states in which it is allowed. The machine is a small mutable object
guarded by a lock; it is the only place the cell's state lives.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from weldcell.errors import CellStateError, InvalidValueError


class CellState(enum.Enum):
    """Operating state of the weld cell."""

    IDLE = "idle"  # no job loaded
    READY = "ready"  # job loaded, cell may start
    RUNNING = "running"  # a job is executing
    PAUSED = "paused"  # job interrupted (operator pause or reset fault), resumable
    FAULT = "fault"  # a fault stopped the job; needs reset
    ESTOP = "estop"  # emergency stop; needs the e-stop released and a reset


class Command(enum.Enum):
    """Commands (and internal events) that change the cell state."""

    LOAD = "load"
    UNLOAD = "unload"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    COMPLETE = "complete"
    FAULT = "fault"
    RESET = "reset"
    ABORT = "abort"
    ESTOP = "estop"
    RECOVER = "recover"  # adopt a job a previous (crashed) process left unfinished


S = CellState
#: Allowed transitions: (state, command) -> next state. RESET's target depends on the job (see
#: :meth:`CellStateMachine.apply`), the table gives the default.
TRANSITIONS: Mapping[tuple[CellState, Command], CellState] = {
    (S.IDLE, Command.LOAD): S.READY,
    (S.READY, Command.LOAD): S.READY,
    (S.READY, Command.UNLOAD): S.IDLE,
    (S.READY, Command.START): S.RUNNING,
    (S.RUNNING, Command.PAUSE): S.PAUSED,
    (S.RUNNING, Command.COMPLETE): S.READY,
    (S.RUNNING, Command.FAULT): S.FAULT,
    (S.PAUSED, Command.RESUME): S.RUNNING,
    (S.PAUSED, Command.ABORT): S.READY,
    (S.PAUSED, Command.FAULT): S.FAULT,
    (S.FAULT, Command.RESET): S.PAUSED,
    (S.FAULT, Command.ABORT): S.READY,
    (S.FAULT, Command.FAULT): S.FAULT,
    (S.ESTOP, Command.RESET): S.PAUSED,
    (S.IDLE, Command.RECOVER): S.PAUSED,
    (S.READY, Command.RECOVER): S.PAUSED,
    **{(st, Command.ESTOP): S.ESTOP for st in CellState},
}


def allowed_states(command: Command) -> tuple[CellState, ...]:
    """States in which ``command`` is allowed."""
    return tuple(st for st in CellState if (st, command) in TRANSITIONS)


class CellStateMachine:
    """The cell's state with its allowed transitions. Thread safe.

    Args:
        on_change: Called as ``on_change(old, new, command)`` after every transition (from the
            thread that caused it; keep it short).
    """

    def __init__(self, on_change: Callable[[CellState, CellState, Command], None] | None = None) -> None:
        self._state = CellState.IDLE
        self._lock = threading.RLock()
        self._on_change = on_change

    @property
    def state(self) -> CellState:
        """The current state."""
        return self._state

    def check(self, command: Command) -> None:
        """Raise :class:`CellStateError` when ``command`` is not allowed now."""
        with self._lock:
            if (self._state, command) not in TRANSITIONS:
                allowed = ", ".join(s.name for s in allowed_states(command))
                raise CellStateError(
                    f"cannot {command.value} while the cell is {self._state.name}; "
                    f"'{command.value}' is allowed in: {allowed}"
                )

    def apply(self, command: Command, *, job_interrupted: bool = True) -> CellState:
        """Perform a transition and return the new state.

        Args:
            command: The command or event.
            job_interrupted: For RESET: True when a job was interrupted and can be resumed
                (→ PAUSED), False when there is nothing to resume (→ READY).

        Raises:
            CellStateError: the command is not allowed in the current state.
        """
        with self._lock:
            self.check(command)
            old = self._state
            new = TRANSITIONS[(old, command)]
            if command is Command.RESET and not job_interrupted:
                new = CellState.READY
            self._state = new
        if self._on_change is not None:
            self._on_change(old, new, command)
        return new


@dataclass(frozen=True, slots=True)
class InterlockConfig:
    """Which controller digital inputs carry the safety signals, and their polarity.

    Each input is a controller standard digital input number, or None when the cell has no such
    device. ``*_active_low`` True means the signal is healthy when the input is high (the usual
    fail-safe wiring: a broken wire reads as "door open" / "e-stop pressed").

    Attributes:
        door_closed_input: Input that is high while the cell door is closed.
        estop_ok_input: Input that is high while no e-stop is pressed (safety-relay feedback).
        light_curtain_ok_input: Input that is high while the light curtain is clear.
    """

    door_closed_input: int | None = 0
    estop_ok_input: int | None = 1
    light_curtain_ok_input: int | None = 2

    def __post_init__(self) -> None:
        for name in ("door_closed_input", "estop_ok_input", "light_curtain_ok_input"):
            v = getattr(self, name)
            if v is not None and not (0 <= v < 64):
                raise InvalidValueError(
                    f"InterlockConfig.{name} must be an input number 0..63 or None, got {v}"
                )


@dataclass(frozen=True, slots=True)
class InterlockStatus:
    """Evaluated interlocks. ``ok`` is True when welding may run."""

    door_closed: bool
    estop_ok: bool
    light_curtain_ok: bool

    @property
    def ok(self) -> bool:
        """All interlocks healthy."""
        return self.door_closed and self.estop_ok and self.light_curtain_ok

    def problems(self) -> list[str]:
        """Human-readable list of what is not healthy."""
        out = []
        if not self.estop_ok:
            out.append("e-stop pressed")
        if not self.door_closed:
            out.append("cell door open")
        if not self.light_curtain_ok:
            out.append("light curtain interrupted")
        return out


def evaluate_interlocks(
    config: InterlockConfig, inputs: Sequence[bool] | Mapping[int, bool]
) -> InterlockStatus:
    """Evaluate the interlocks from the controller's digital inputs.

    Args:
        config: Input numbers.
        inputs: Digital input levels, indexed by input number (a sequence or a mapping). A
            configured input that is missing reads as low (unhealthy).
    """

    def level(n: int | None) -> bool:
        if n is None:
            return True
        if isinstance(inputs, Mapping):
            return bool(inputs.get(n, False))
        return bool(inputs[n]) if n < len(inputs) else False

    return InterlockStatus(
        door_closed=level(config.door_closed_input),
        estop_ok=level(config.estop_ok_input),
        light_curtain_ok=level(config.light_curtain_ok_input),
    )
