"""Exception tree of weldcell.

Every error weldcell raises on purpose derives from :class:`WeldcellError`, so a caller (and the
CLI) can catch one type and print a message a welder understands instead of a traceback::

    WeldcellError
    ├── ModelError                    robot / torch / cell model problems
    │   ├── UnknownModelError (+KeyError)  a robot or torch name that is not in urdf/
    │   ├── UnknownFrameError
    │   ├── UnknownJointError
    │   └── BodyShapeError            a cell body's shape fields (names the field and what was expected)
    ├── UnknownNameError (+KeyError)  a seam, body or other named item that does not exist
    ├── InputShapeError (+ValueError) arrays of the wrong shape, NaN, non-rigid transforms
    ├── InvalidValueError (+ValueError) an option or field outside what it accepts
    ├── ProgramError                  a weld program that cannot be used (file, line, field, expected)
    │   └── ProgramFormatError        YAML syntax / schema violations
    ├── ToolpathError                 geometry that cannot be turned into torch poses
    ├── AssemblyError                 cad: a CAD/mesh assembly that cannot be read or used (names the file)
    ├── PlanningError
    │   ├── UnreachableError          a pose with no IK solution inside the joint limits
    │   ├── TrajectoryFormatError     a trajectory file that cannot be read
    │   ├── TransitError              planning.transit: no collision-free joint move
    │   ├── SpeedLimitError           planning.speed_limits: a move that cannot keep the speed limits
    │   └── StartMoveError            cell.joinmove: no validated move to the job's start
    ├── ValidationError               a simulation check that failed / a missing or stale stamp
    │   └── StampError
    ├── SimulatorError                the simulator itself failed
    │   └── SimConnectionError        sim.world: pybullet could not connect (no display for GUI)
    ├── ExportError                   a trajectory that cannot be exported as a controller program
    │   ├── KrlExportError            drivers.kuka.krl_export
    │   ├── TpExportError             drivers.fanuc.tp_export
    │   └── RapidExportError          drivers.abb.rapid_export
    ├── DriverError
    │   ├── DriverConnectionError (+ConnectionError)
    │   ├── DriverTimeoutError (+TimeoutError)
    │   ├── DriverFaultError          protective stop, e-stop, power-source fault (error_code)
    │   │   ├── ArcStartError         cell.arc: no arc after the ignition retries
    │   │   └── WireStickError        cell.arc: the wire stuck in the pool
    │   ├── ProtocolError             malformed or unexpected bytes on the wire
    │   ├── URScriptError             drivers.ur.virtual.urscript: a script the virtual controller rejects
    │   ├── URDriverConfigError (+ValueError)        drivers.ur.config
    │   ├── VirtualControllerConfigError (+ValueError)  drivers.ur.virtual.core
    │   ├── RsiConfigError (+ValueError)             drivers.kuka.config
    │   ├── FanucConfigError (+ValueError)           drivers.fanuc.config
    │   └── EgmConfigError (+ValueError)             drivers.abb.config
    ├── PowerSourceValueError (+ValueError)  drivers.powersource.base: a set-point out of range
    ├── CellConfigError               cell.cellconfig: a cell configuration file that cannot be used
    ├── WeldLogError                  cell.logrecords: a weld log that cannot be read or written
    ├── CellStateError                a command that is not allowed in the cell's current state
    ├── CalibrationError (+ValueError) TCP / frame / part registration that the data cannot determine
    └── TouchSenseError               a touch search without contact, or contact where none may be

Classes defined next to the code that raises them are listed in :data:`DEFINED_ELSEWHERE` (module,
class and parent); ``tests/test_errors.py`` checks that every exception class in weldcell is here
or listed there. Control-flow signals that never leave their module (the virtual controller's
script interpreter and safety core, the cell runner's job signals) are not errors a caller handles;
they are listed in :data:`INTERNAL_SIGNALS`.

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


class UnknownNameError(WeldcellError, KeyError):
    """A seam, body or other named item that does not exist (the message lists the available names)."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that
        return str(self.args[0]) if self.args else ""


class InputShapeError(WeldcellError, ValueError):
    """An array argument has the wrong shape, contains NaN/inf, or is not a rigid transform."""


class InvalidValueError(WeldcellError, ValueError):
    """An option, setting or file field outside what it accepts.

    The message names where (file, field or option), the offending value and what was expected.
    """


class AssemblyError(WeldcellError):
    """A CAD or mesh assembly that cannot be read or used (``weldcell.cad``); names the file."""


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


class SimulatorError(WeldcellError):
    """The simulator itself failed (not a check of the trajectory: that is :class:`ValidationError`)."""


class ExportError(WeldcellError):
    """A trajectory that cannot be exported as a controller program (the message says why)."""


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


class CalibrationError(WeldcellError, ValueError):
    """Calibration or registration data that cannot determine the result (too few or degenerate points)."""


class TouchSenseError(WeldcellError):
    """A touch search found no contact within its distance, or the wire touched before the search."""


#: Exception classes defined beside the code that raises them: (module, class, parent class here).
DEFINED_ELSEWHERE: tuple[tuple[str, str, str], ...] = (
    ("weldcell.planning.transit", "TransitError", "PlanningError"),
    ("weldcell.planning.speed_limits", "SpeedLimitError", "PlanningError"),
    ("weldcell.cell.joinmove", "StartMoveError", "PlanningError"),
    ("weldcell.sim.world", "SimConnectionError", "SimulatorError"),
    ("weldcell.drivers.kuka.krl_export", "KrlExportError", "ExportError"),
    ("weldcell.cell.arc", "ArcStartError", "DriverFaultError"),
    ("weldcell.cell.arc", "WireStickError", "DriverFaultError"),
    ("weldcell.drivers.ur.virtual.urscript.values", "URScriptError", "DriverError"),
    ("weldcell.drivers.ur.config", "URDriverConfigError", "DriverError"),
    ("weldcell.drivers.ur.virtual.core", "VirtualControllerConfigError", "DriverError"),
    ("weldcell.drivers.kuka.config", "RsiConfigError", "DriverError"),
    ("weldcell.drivers.fanuc.config", "FanucConfigError", "DriverError"),
    ("weldcell.drivers.fanuc.tp_export", "TpExportError", "ExportError"),
    ("weldcell.drivers.abb.config", "EgmConfigError", "DriverError"),
    ("weldcell.drivers.abb.rapid_export", "RapidExportError", "ExportError"),
    ("weldcell.drivers.powersource.base", "PowerSourceValueError", "WeldcellError"),
    ("weldcell.cell.cellconfig", "CellConfigError", "WeldcellError"),
    ("weldcell.cell.logrecords", "WeldLogError", "WeldcellError"),
)

#: Control-flow signals (module, class): raised and caught inside one component, never by callers.
INTERNAL_SIGNALS: tuple[tuple[str, str], ...] = (
    ("weldcell.drivers.ur.virtual.urscript.interpreter", "_Break"),
    ("weldcell.drivers.ur.virtual.urscript.interpreter", "_Continue"),
    ("weldcell.drivers.ur.virtual.urscript.interpreter", "_Return"),
    ("weldcell.drivers.ur.virtual.urscript.interpreter", "Halt"),
    ("weldcell.drivers.ur.virtual.builtins", "ProtectiveStopError"),
    ("weldcell.drivers.ur.virtual.motion", "MotionError"),
    ("weldcell.drivers.ur.virtual.safety", "SafetyViolation"),
    ("weldcell.cell.jobtypes", "JobInterruptedError"),
    ("weldcell.cell.jobtypes", "ArcLostError"),
    ("weldcell.cell.jobtypes", "MotionStoppedError"),
    ("weldcell.cell.programjob", "_ArcLostError"),
    # yaml.YAMLError subclasses: every YAML reader turns them into its own error naming the file
    ("weldcell.program.yamlio", "YamlLimitError"),
    ("weldcell.program.yamlio", "YamlValueError"),
)
