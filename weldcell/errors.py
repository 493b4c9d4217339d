"""Exception tree of weldcell.

Every error weldcell raises on purpose derives from :class:`WeldcellError`, so a caller (and the
CLI) can catch one type and print a message a welder understands instead of a traceback::

    WeldcellError
    ├── ModelError                    robot / torch / cell model problems
    │   ├── UnknownModelError         a robot or torch name that is not in urdf/
    │   ├── UnknownFrameError
    │   ├── UnknownJointError
    │   └── BodyShapeError            a cell body's shape fields (names the field and what was expected)
    ├── InputShapeError (+ValueError) arrays of the wrong shape, NaN, non-rigid transforms
    ├── ProgramError                  a weld program that cannot be used (file, line, field, expected)
    │   └── ProgramFormatError        YAML syntax / schema violations
    ├── ToolpathError                 geometry that cannot be turned into torch poses
    ├── PlanningError
    │   ├── UnreachableError          a pose with no IK solution inside the joint limits
    │   └── TrajectoryFormatError     a trajectory file that cannot be read
    ├── ValidationError               a simulation check that failed / a missing or stale stamp
    │   └── StampError
    ├── DriverError
    │   ├── DriverConnectionError
    │   ├── DriverTimeoutError (+TimeoutError)
    │   ├── DriverFaultError          protective stop, e-stop, power-source fault (error_code)
    │   └── ProtocolError             malformed or unexpected bytes on the wire
    └── CellStateError                a command that is not allowed in the cell's current state

Expected outcomes (an IK query without a solution, a plan that fails) are returned as values
(``IkResult.found``, ``PlanResult.status``); exceptions are for bad input and broken invariants.
"""

from __future__ import annotations


class WeldcellError(Exception):
    """Root of every error weldcell raises on purpose."""


class ModelError(WeldcellError):
    """A robot, torch or cell model is missing or inconsistent."""


class UnknownModelError(ModelError, KeyError):
    """A robot or torch name that is not among the shipped models."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that
        return str(self.args[0]) if self.args else ""


class UnknownFrameError(ModelError):
    """A frame name that the model does not have."""


class UnknownJointError(ModelError):
    """A joint name that the model does not have."""


class BodyShapeError(ModelError):
    """A cell body's shape cannot be used; ``field`` is the path of the offending field in its block.

    Example: ``BodyShapeError("radius_mm must be > 0, got -2", field=("radius_mm",))``.
    """

    def __init__(self, message: str, *, field: tuple[str, ...] = ()) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


class InputShapeError(WeldcellError, ValueError):
    """An array argument has the wrong shape, contains NaN/inf, or is not a rigid transform."""


class ProgramError(WeldcellError):
    """A weld program cannot be used. The message names file, line, field and what was expected."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        where = ""
        if file is not None:
            where = file
            if line is not None:
                where += f":{line}"
            where += ": "
        if field:
            where += f"{field}: "
        super().__init__(where + message)


class ProgramFormatError(ProgramError):
    """YAML syntax errors and schema violations in a weld program."""


class ToolpathError(WeldcellError):
    """Seam geometry or procedure that cannot be turned into torch poses."""


class PlanningError(WeldcellError):
    """The planner was used wrongly or hit an internal inconsistency."""


class UnreachableError(PlanningError):
    """A pose or seam that the robot cannot reach inside its joint limits."""


class TrajectoryFormatError(PlanningError):
    """A trajectory file that is missing, corrupt or of an unsupported schema version."""


class ValidationError(WeldcellError):
    """A simulation check failed, or a trajectory was not validated."""


class StampError(ValidationError):
    """A trajectory has no validation stamp, or the stamp does not match it."""


class DriverError(WeldcellError):
    """Problems talking to a robot controller or a power source."""


class DriverConnectionError(DriverError, ConnectionError):
    """Could not connect, or the connection dropped."""


class DriverTimeoutError(DriverError, TimeoutError):
    """A blocking driver call did not complete within its timeout."""


class DriverFaultError(DriverError):
    """The controller or power source reported a fault (protective stop, e-stop, arc fault)."""

    def __init__(self, message: str, *, error_code: int | str | None = None) -> None:
        self.error_code = error_code
        super().__init__(message)


class ProtocolError(DriverError):
    """Malformed or unexpected bytes on the wire."""


class CellStateError(WeldcellError):
    """A cell command that is not allowed in the cell's current state."""
