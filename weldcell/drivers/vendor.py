"""What a robot vendor package registers: its drivers, virtual controller command, export formats, demo.

A vendor package ``weldcell/drivers/<vendor>/`` describes itself in one :class:`Vendor` value (in its
``plugin.py``) and is listed by one line in :data:`weldcell.drivers.registry.BUILTIN_VENDORS` (or,
for a third-party package, by an entry point in the group ``weldcell.vendors``). The command line and
the application layer look everything up there; nothing outside the vendor package names it.

Every reference to code is a ``"module:attribute"`` string, imported only when it is used (a
vendor's protocol code and dependencies cost nothing for a cell that does not use it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.trajectory import JointTrajectory


@dataclass(frozen=True)
class ControllerCommand:
    """The vendor's virtual controller as a command: ``weldcell controller <name>``.

    Attributes:
        name: The sub-command name (``"kuka-rsi"``).
        command: ``"module:function"`` of a typer command function (its parameters are the options).
    """

    name: str
    command: str


@dataclass(frozen=True)
class ProgramFormat:
    """An offline program format: ``weldcell export --format <name>``.

    Attributes:
        name: The format name (``"krl"``).
        writer: ``"module:function"`` of ``writer(fmt: str, request: ExportRequest) -> Iterable[str]``:
            writes the program and returns the lines to show the user.
        default_name: Where ``export`` writes without ``-o``, beside the trajectory: a file name
            pattern with ``{job}`` (the job name) or ``{JOB}`` (upper case), or a folder name.
        help: One line for ``weldcell export --help``.
    """

    name: str
    writer: str
    default_name: str
    help: str = ""

    def default_path(self, trajectory: Path, job: str) -> Path:
        """The default output path for ``trajectory`` of job ``job``."""
        return trajectory.parent / self.default_name.format(job=job, JOB=job.upper())


@dataclass(frozen=True)
class ExportRequest:
    """The options of ``weldcell export``, handed to a format's writer (each uses what applies).

    Attributes:
        trajectory: Validated trajectory file (.npz).
        output: Program file or folder to write.
        program: Weld program the trajectory was planned from (None: the one named in plan.json).
        weld_parameters: Send the procedures' weld parameters from the program.
        use_jobs: Select the procedures' job numbers instead of set-points.
        arc_do: Digital output that switches the arc on.
        arc_di: Digital input "arc established".
        arc_timeout: Wait for arc established [s].
        transit_tolerance: Largest joint deviation of transit way points [rad].
        max_lines: Program size limit in lines.
        split: Above ``max_lines``, write several programs.
        force_unvalidated: Export without a validation stamp (not for production).
        stamp_key: The cell's stamp key file (None: ``$WELDCELL_STAMP_KEY``, else unkeyed stamps).
        sensor_url: The streaming driver's address and settings (formats that configure one).
    """

    trajectory: Path
    output: Path
    program: Path | None = None
    weld_parameters: bool = True
    use_jobs: bool = False
    arc_do: int = 0
    arc_di: int = 0
    arc_timeout: float = 2.0
    transit_tolerance: float = 1e-3
    max_lines: int = 5000
    split: bool = False
    force_unvalidated: bool = False
    stamp_key: Path | None = None
    sensor_url: str = ""


@dataclass(frozen=True)
class ControllerReport:
    """What a virtual controller saw during a demo job, for the weld log and the progress.

    Attributes:
        event: Weld-log event name (``"virtual_krc"``); "" when there is nothing to log.
        message: One line for the operator.
        data: The counters.
        fault: The controller ended abnormally (no counters).
    """

    event: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    fault: bool = False


@dataclass
class VirtualCell:
    """A vendor's virtual controller started for ``weldcell demo`` (in its own process).

    Attributes:
        url: Robot URL the cell connects its driver to.
        description: The controller, for the progress line (with ``{url}`` filled in by the caller).
        connect_timeout: Longest wait for the driver's connection [s].
        connect_options: Connection settings handed to ``connect_cell_robot`` and from there to the
            driver's ``cell_options`` (UR: ``power_on``, ``dashboard_port``, ``script_port``).
        report: Called after the job with the connected driver: ends the session in the vendor's
            order (driver or controller first), stops the controller and returns what it saw; None
            when the controller has nothing to report.
        shutdown: Called on the way out with the driver (or None when it never connected): closes
            driver and controller in the vendor's order.
        joint_feed: ``"module:function"`` of ``open(url) -> feed`` reading the controller's *actual*
            joint positions over its own protocol (a second client beside the driver, e.g. an RTDE
            subscription); ``feed()`` returns the newest [rad] (n,) without blocking, ``feed.close()``
            ends it. The virtual power source's touch sensing uses it (run in its own process, so
            the target must be importable there); "" when the vendor's virtual cell has none.
    """

    url: str
    description: str
    connect_timeout: float = 15.0
    connect_options: dict[str, Any] = field(default_factory=dict)
    report: Callable[[RobotDriver], ControllerReport] | None = None
    shutdown: Callable[[RobotDriver | None], None] | None = None
    joint_feed: str = ""


#: ``start(stack, host, traj, settings) -> VirtualCell``: starts the virtual controller standing at
#: the trajectory's first sample; ``stack`` owns the process; ``settings`` are demo options such as
#: ``{"rsi_cycle": 0.012}`` (a vendor ignores what it does not use).
VirtualCellStarter = Callable[
    [contextlib.ExitStack[Any], str, "JointTrajectory", Mapping[str, Any]], VirtualCell
]


@dataclass(frozen=True)
class DemoCell:
    """The vendor's virtual cell for ``weldcell demo --robot <vendor>``.

    Attributes:
        program: The demo program's file name in ``programs/`` (the same T-joint, placed for the arm).
        start: ``"module:function"`` of a :data:`VirtualCellStarter`.
        label: The controller for the progress line (``"KUKA (RSI)"``).
        models: More ``weldcell demo --robot`` choices named after an arm of this make: model name ->
            its demo program's file name in ``programs/`` (``{"crx10ial": "fanuc_crx_tjoint.yaml"}``).
    """

    program: str
    start: str
    label: str
    models: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Vendor:
    """Everything a vendor package registers.

    Attributes:
        name: Short name, also the ``weldcell demo --robot`` choice (``"kuka"``).
        title: Display name (``"KUKA"``).
        drivers: URL scheme -> ``"module:attribute"`` of a driver class (with ``from_url``) or factory.
        models: ``"module:function"`` returning the weldcell robot models of this make (a set).
        controller: The virtual controller command, if any.
        exports: Offline program formats.
        demo: The virtual cell of ``weldcell demo``, if any.
        manufacturer: The maker's full name (OPC UA ``Manufacturer``; "" means the title).
    """

    name: str
    title: str
    drivers: Mapping[str, str] = field(default_factory=dict)
    models: str = ""
    controller: ControllerCommand | None = None
    exports: tuple[ProgramFormat, ...] = ()
    demo: DemoCell | None = None
    manufacturer: str = ""

    def manufacturer_name(self) -> str:
        """The maker's full name: :attr:`manufacturer`, else :attr:`title`."""
        return self.manufacturer or self.title
