"""The loaded weld program: immutable values in SI units (m, rad, s, m/s, A, V).

:func:`weldcell.program.load_program` builds these from the YAML file; the rest of weldcell only
sees these types. Arrays are float64 copies marked read-only. Equality is by identity (the classes
hold arrays); compare programs field by field or through :func:`weldcell.program.save_program`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import BodyShapeError, InputShapeError, ModelError, UnknownNameError
from weldcell.program.shapes import Box, Shape, shape_from_fields
from weldcell.spatial import check_transforms

NDArrayF = npt.NDArray[np.float64]

JOINT_TYPES = ("fillet", "lap", "butt", "corner", "groove")
TWO_SURFACE_JOINTS = ("fillet", "lap", "corner")
PROCESSES = ("mig", "mag", "tig", "laser")
GEOMETRY_KINDS = ("line", "arc", "circle", "polyline", "spline")
POSITIONER_MODES = ("fixed", "coordinated", "free")

#: Weld positions (ISO 6947 / AWS A3.0 names): the angle between the weld-pool normal (fillet:
#: bisector of the two surfaces' outward normals; butt/groove: the face normal) and straight up
#: (against gravity), and the slope of the travel direction from the horizontal [deg].
#: 3F/3G are vertical-up welds (slope +90°).
WELD_POSITIONS: dict[str, tuple[float, float]] = {
    "1F": (0.0, 0.0),
    "1G": (0.0, 0.0),
    "2F": (45.0, 0.0),
    "2G": (90.0, 0.0),
    "3F": (45.0, 90.0),
    "3G": (90.0, 90.0),
    "4F": (135.0, 0.0),
    "4G": (180.0, 0.0),
}


def _ro(a: npt.ArrayLike, shape: tuple[int, ...] | None = None) -> NDArrayF:
    arr = np.array(a, dtype=np.float64, copy=True)
    if shape is not None and arr.shape != shape:
        raise InputShapeError(f"expected shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputShapeError("array contains NaN or infinite values")
    arr.flags.writeable = False
    return arr


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


ROLES = ("workpiece", "fixture", "table", "obstacle")


@dataclass(frozen=True, slots=True, eq=False)
class Body:
    """A rigid, static body of the cell: the one body model of weldcell (program, planner, simulator).

    Build it from a shape value with :meth:`Body.of`, or from the flat fields below (the shape's
    fields; the others stay at their zero defaults). Either way ``geometry`` holds the shape
    (``weldcell.program.shapes``) and the flat fields are its values.

    Attributes:
        name: Unique body name.
        role: ``"workpiece"``, ``"fixture"``, ``"table"`` or ``"obstacle"``.
        shape: Shape name, a key of ``weldcell.program.shapes.SHAPES`` (``"box"``, ``"mesh"``, ...).
        size: Box full extents along body x, y, z [m], shape (3,) (zeros for other shapes).
        radius: Cylinder / sphere radius [m] (0 for box and mesh).
        length: Cylinder length along body z [m] (0 otherwise).
        mesh_path: Mesh file (absolute) for ``shape == "mesh"``, else None.
        T_world_body: Body frame in the world, shape (4, 4). Primitives are centred on it. For a body
            mounted on a positioner: its pose with the positioner at its home position.
        mesh_scale: Factor from mesh file units to m (1 for other shapes).
        mounted_on: ``"positioner"`` when the body rides on the positioner flange, else None.
        T_flange_body: For a mounted body, its frame in the positioner flange frame (4, 4), else None.
        geometry: The shape value (derived).

    Raises:
        ModelError: an unknown role (:class:`BodyShapeError`: an unknown shape or a missing/invalid
            field of the shape; the message names the body and the field).
        InputShapeError: ``T_world_body`` is not a rigid transform.
    """

    name: str
    role: str
    shape: str
    size: NDArrayF | None = None
    radius: float = 0.0
    length: float = 0.0
    mesh_path: Path | None = None
    T_world_body: NDArrayF = field(default_factory=lambda: np.eye(4))
    mesh_scale: float = 1.0
    mounted_on: str | None = None
    T_flange_body: NDArrayF | None = None
    geometry: Shape = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ModelError(f"body {self.name!r}: role {self.role!r} is not one of {list(ROLES)}")
        try:
            geometry = shape_from_fields(
                self.shape,
                size=self.size,
                radius=self.radius,
                length=self.length,
                mesh_path=self.mesh_path,
                mesh_scale=self.mesh_scale,
            )
        except BodyShapeError as err:
            raise BodyShapeError(f"body {self.name!r}: {err.message}", field=err.field) from None
        _set(self, "geometry", geometry)
        _set(self, "size", _ro(geometry.size, (3,)))
        _set(self, "radius", geometry.radius)
        _set(self, "length", geometry.length)
        _set(self, "mesh_path", geometry.mesh_path)
        _set(self, "mesh_scale", geometry.mesh_scale)
        T = check_transforms(self.T_world_body, f"body {self.name!r}: T_world_body")
        if T.shape != (4, 4):
            raise InputShapeError(f"body {self.name!r}: T_world_body: expected shape (4, 4), got {T.shape}")
        _set(self, "T_world_body", _ro(T, (4, 4)))
        if (self.mounted_on is None) != (self.T_flange_body is None):
            raise ModelError(f"body {self.name!r}: mounted_on and T_flange_body go together")
        if self.T_flange_body is not None:
            _set(self, "T_flange_body", _ro(self.T_flange_body, (4, 4)))

    @classmethod
    def of(cls, name: str, role: str, geometry: Shape, T_world_body: npt.ArrayLike) -> Body:
        """A body of shape value ``geometry`` (body frame) placed at ``T_world_body`` (4, 4)."""
        return cls(
            name,
            role,
            geometry.kind,
            size=geometry.size,
            radius=geometry.radius,
            length=geometry.length,
            mesh_path=geometry.mesh_path,
            T_world_body=np.asarray(T_world_body, dtype=np.float64),
            mesh_scale=geometry.mesh_scale,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly description in SI, mesh files by content hash (used for hashing and reports)."""
        return {
            "name": self.name,
            "role": self.role,
            "shape": self.shape,
            "T_world_body": np.round(self.T_world_body, 9).tolist(),
            "size": np.round(self.size, 9).tolist() if isinstance(self.geometry, Box) else None,  # type: ignore[arg-type]
            "radius": round(self.radius, 9),
            "length": round(self.length, 9),
            "mesh": self.geometry.describe().get("mesh"),
            "mesh_scale": self.mesh_scale,
            **(
                {}
                if self.T_flange_body is None
                else {
                    "mounted_on": self.mounted_on,
                    "T_flange_body": np.round(self.T_flange_body, 9).tolist(),
                }
            ),
        }


@dataclass(frozen=True, slots=True, eq=False)
class ExternalDevice:
    """A positioner (the part rides on it) or a linear track (the robot rides on it) in the cell.

    Attributes:
        model: Model name (``weldcell.kinematics.positioner.load_positioner``).
        role: ``"positioner"`` or ``"track"``.
        T_world_base: The device's base in the world, shape (4, 4). For a track, the robot base
            (``Cell.T_world_base``) is its pose with the track at ``home``; the robot stands on the
            carriage with ``T_flange_robot = inv(T_world_flange(home)) @ Cell.T_world_base``.
        home: Home axis positions [rad or m], shape (k,).
    """

    model: str
    role: str
    T_world_base: NDArrayF
    home: NDArrayF

    def __post_init__(self) -> None:
        _set(self, "T_world_base", _ro(self.T_world_base, (4, 4)))
        _set(self, "home", _ro(self.home))


@dataclass(frozen=True, slots=True, eq=False)
class Cell:
    """Robot, torch and bodies.

    Attributes:
        robot: Robot model name (``weldcell.kinematics.load_robot``).
        T_world_base: Robot base in the world, shape (4, 4).
        torch: Torch model name (``weldcell.kinematics.load_torch``).
        stickout: Contact-tip-to-work distance [m].
        T_flange_tcp: TCP (wire tip) in the flange frame at that stick-out, shape (4, 4).
        bodies: The cell's bodies.
        home_q: Home configuration [rad], shape (n_joints,).
        approach_distance: Approach point distance behind the first pose, along -z of the TCP [m].
        retract_distance: Depart point distance behind the last pose [m].
        clearance: Minimum clearance between robot/torch and bodies [m].
        max_tcp_speed: Largest planned TCP speed [m/s] (None: the robot's default planning limit,
            ``weldcell.planning.speed_limits.speed_limits_for_cell``).
        max_elbow_speed: Largest planned elbow speed [m/s] (None: the default planning limit).
        external: Positioner or track, or None.
        user_frames: Names of the calibrated user frames (cell configuration) bodies are placed in;
            their poses in ``bodies`` are already resolved to the world.
    """

    robot: str
    T_world_base: NDArrayF
    torch: str
    stickout: float
    T_flange_tcp: NDArrayF
    bodies: tuple[Body, ...]
    home_q: NDArrayF
    approach_distance: float
    retract_distance: float
    clearance: float
    max_tcp_speed: float | None = None
    max_elbow_speed: float | None = None
    external: ExternalDevice | None = None
    user_frames: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "T_world_base", _ro(self.T_world_base, (4, 4)))
        _set(self, "T_flange_tcp", _ro(self.T_flange_tcp, (4, 4)))
        _set(self, "home_q", _ro(self.home_q))

    def body(self, name: str) -> Body:
        """The body called ``name`` (UnknownNameError, a KeyError, listing the names if there is none)."""
        for b in self.bodies:
            if b.name == name:
                return b
        raise UnknownNameError(f"no body {name!r}; bodies: {', '.join(b.name for b in self.bodies)}")


@dataclass(frozen=True, slots=True)
class Weave:
    """Weave motion in the seam frame (shapes in docs/program-format.md).

    Attributes:
        pattern: A name in the weave registry (``weldcell.program.weaves.WEAVE_PATTERNS``).
        amplitude: Half width across the joint (seam y) [m].
        frequency: Cycles per second [Hz]; exact in time at the travel speed.
        dwell: Edge dwell per side (trapezoid) [s].
        height: Lift away from the root at the centre (triangle) [m].
        longitudinal: Half length along travel (circular, figure-eight) [m].
    """

    pattern: str
    amplitude: float
    frequency: float
    dwell: float = 0.0
    height: float = 0.0
    longitudinal: float = 0.0


@dataclass(frozen=True, slots=True)
class Procedure:
    """A weld procedure in SI units.

    Attributes:
        name: Procedure name (key in the program).
        process: ``"mig"``, ``"mag"``, ``"tig"`` or ``"laser"``.
        travel_speed: Travel speed along the seam [m/s].
        wire_feed: Wire feed speed [m/s] or None.
        voltage: Arc voltage [V] or None.
        current: Weld current [A] or None.
        job: Power-source job number or None.
        laser_power: Laser power [W] or None.
        gas_preflow: Gas pre-flow [s].
        gas_postflow: Gas post-flow [s].
        arc_start_dwell: Dwell at the start point after arc ignition [s].
        arc_start_current: Hot-start current [A] or None.
        ramp_length: Length over which start values ramp to weld values [m].
        crater_fill_time: Crater-fill time at the end point [s].
        crater_fill_current: Crater-fill current [A] or None.
        crater_fill_voltage: Crater-fill voltage [V] or None.
        work_angle: Torch to reference surface across the joint [rad] (docs/program-format.md).
        travel_angle: Along the seam, push > 0, drag < 0 [rad].
        stickout: Stick-out [m] or None (use the cell's).
        weave: Weave or None.
        work_angle_tolerance: Admissible deviation of the work angle [rad].
        travel_angle_tolerance: Admissible deviation of the travel angle [rad].
        free_rotation: Rotation about the torch axis is free (the planner chooses it).
        rotation_angle: Fixed rotation about the TCP z axis [rad] (when not free).
        rotation_tolerance: Admissible half-width about ``rotation_angle`` [rad] (when not free).
    """

    name: str
    process: str
    travel_speed: float
    work_angle: float
    travel_angle: float = 0.0
    wire_feed: float | None = None
    voltage: float | None = None
    current: float | None = None
    job: int | None = None
    laser_power: float | None = None
    gas_preflow: float = 0.3
    gas_postflow: float = 1.0
    arc_start_dwell: float = 0.2
    arc_start_current: float | None = None
    ramp_length: float = 0.0
    crater_fill_time: float = 0.0
    crater_fill_current: float | None = None
    crater_fill_voltage: float | None = None
    stickout: float | None = None
    weave: Weave | None = None
    work_angle_tolerance: float = 0.0
    travel_angle_tolerance: float = 0.0
    free_rotation: bool = True
    rotation_angle: float = 0.0
    rotation_tolerance: float = 0.0


@dataclass(frozen=True, slots=True, eq=False)
class SeamGeometry:
    """Seam curve in the part frame.

    Attributes:
        kind: ``"line"``, ``"arc"``, ``"circle"``, ``"polyline"`` or ``"spline"``.
        points: Defining points [m], shape (k, 3): line (start, end); arc (start, mid, end);
            circle (start,); polyline / spline: the points in travel order.
        center: Circle centre [m], shape (3,) (zeros otherwise).
        axis: Circle axis (unit; travel is right-handed about it), shape (3,) (zeros otherwise).
        sweep: Circle swept angle [rad] (0 otherwise).
        blend_radius: Polyline corner rounding radius [m] (0 otherwise).
    """

    kind: str
    points: NDArrayF
    center: NDArrayF = field(default_factory=lambda: np.zeros(3))
    axis: NDArrayF = field(default_factory=lambda: np.zeros(3))
    sweep: float = 0.0
    blend_radius: float = 0.0

    def __post_init__(self) -> None:
        _set(self, "points", _ro(self.points))
        _set(self, "center", _ro(self.center, (3,)))
        _set(self, "axis", _ro(self.axis, (3,)))


@dataclass(frozen=True, slots=True)
class WeldPass:
    """One bead of a seam.

    Attributes:
        lateral: Offset along the joint frame y axis [m].
        height: Offset away from the root, along -z of the joint frame [m].
        work_angle: Work angle override [rad] or None (procedure value).
        travel_angle: Travel angle override [rad] or None.
        procedure: Procedure override (name) or None.
    """

    lateral: float = 0.0
    height: float = 0.0
    work_angle: float | None = None
    travel_angle: float | None = None
    procedure: str | None = None


@dataclass(frozen=True, slots=True)
class Stitch:
    """Stitch pattern: welds of ``length`` every ``pitch``, first one at ``start_offset`` [m]."""

    length: float
    pitch: float
    start_offset: float = 0.0


@dataclass(frozen=True, slots=True, eq=False)
class SeamPositioning:
    """How the cell's positioner (or track) moves for one seam.

    Attributes:
        mode: ``"fixed"`` (indexed before the weld to ``q`` or a chosen position, still while
            welding), ``"coordinated"`` (moves during the weld) or ``"free"`` (the planner chooses
            fixed or coordinated).
        q: For ``fixed``: the given axis positions [rad or m], shape (k,), or None (chosen).
        weld_position: Target weld position, a key of ``WELD_POSITIONS`` (None for a track).
        tolerance: Admissible deviation from the target (normal tilt and travel slope) [rad].
    """

    mode: str
    q: NDArrayF | None
    weld_position: str | None
    tolerance: float

    def __post_init__(self) -> None:
        if self.mode not in POSITIONER_MODES:
            raise ModelError(f"positioner mode {self.mode!r} is not one of {list(POSITIONER_MODES)}")
        if self.weld_position is not None and self.weld_position not in WELD_POSITIONS:
            raise ModelError(f"weld position {self.weld_position!r} is not one of {list(WELD_POSITIONS)}")
        if self.q is not None:
            _set(self, "q", _ro(self.q))


@dataclass(frozen=True, slots=True, eq=False)
class Seam:
    """A weld seam.

    Attributes:
        id: Unique seam id.
        joint: One of ``JOINT_TYPES``.
        geometry: Curve in the part frame.
        T_world_part: Part frame in the world, shape (4, 4).
        workpiece: Body the geometry is attached to, or None (world).
        normal_1: Outward normal of surface 1 (reference surface) at the start, part frame, (3,).
        normal_2: Outward normal of surface 2 at the start, part frame, (3,), or None for a joint
            defined by one reference face (butt / groove).
        procedure: Procedure name.
        direction: ``"forward"`` (as written) or ``"reverse"``.
        reversible: The planner may weld the seam in the opposite direction.
        passes: Beads in weld order.
        stitch: Stitch pattern or None (continuous).
        positioning: How the positioner / track moves for this seam (None: no external axes).
    """

    id: str
    joint: str
    geometry: SeamGeometry
    T_world_part: NDArrayF
    workpiece: str | None
    normal_1: NDArrayF
    normal_2: NDArrayF | None
    procedure: str
    direction: str = "forward"
    reversible: bool = True
    passes: tuple[WeldPass, ...] = (WeldPass(),)
    stitch: Stitch | None = None
    positioning: SeamPositioning | None = None

    def __post_init__(self) -> None:
        _set(self, "T_world_part", _ro(self.T_world_part, (4, 4)))
        _set(self, "normal_1", _ro(self.normal_1, (3,)))
        if self.normal_2 is not None:
            _set(self, "normal_2", _ro(self.normal_2, (3,)))


@dataclass(frozen=True, slots=True, eq=False)
class TouchSearch:
    """One guarded touch search, in the part frame (SI).

    Attributes:
        p_part_start: Wire-tip start [m], shape (3,).
        direction: Unit search direction, shape (3,).
        distance: Longest search travel [m].
        speed: Search speed [m/s].
        retract: Back-off after contact [m].
        tool_axis: Unit torch axis (tcp z), shape (3,).
        n_part: Outward unit normal of the nominal surface the search expects to touch, shape (3,).
        d_part: Offset [m] of that plane (``n_part · x = d_part``).
        expected: Expected travel to contact on the nominal part [m].
    """

    p_part_start: NDArrayF
    direction: NDArrayF
    distance: float
    speed: float
    retract: float
    tool_axis: NDArrayF
    n_part: NDArrayF
    d_part: float
    expected: float

    def __post_init__(self) -> None:
        for name in ("p_part_start", "direction", "tool_axis", "n_part"):
            _set(self, name, _ro(getattr(self, name), (3,)))


@dataclass(frozen=True, slots=True, eq=False)
class TouchPattern:
    """Touch searches locating one workpiece (``part``, a body name) before welding.

    Attributes:
        part: Workpiece body name; the searches are in its frame.
        searches: The searches in order.
        max_offset: Largest believable offset at a touch point [m].
    """

    part: str
    searches: tuple[TouchSearch, ...]
    max_offset: float = 0.01


@dataclass(frozen=True, slots=True, eq=False)
class Program:
    """A loaded weld program.

    Attributes:
        path: The file it was loaded from.
        hash: SHA-256 (hex) of the file bytes.
        version: Format identifier, ``"weldcell.program/1"``.
        name: Program name.
        description: Free text.
        cell: Robot, torch and bodies.
        procedures: Procedures by name.
        seams: Seams in file order.
        sequence: Weld order (seam ids), or None: the planner chooses.
        precedence: Pairs (before, after) of seam ids the order must respect.
        unselected: Ids of the seams written with ``selected: false`` (candidates the user did not
            select); they are not in ``seams``, ``sequence`` or ``precedence`` and are never welded.
        touch: Touch patterns to run before welding (part registration),
            see ``docs/touch-and-calibration.md``.
    """

    path: Path
    hash: str
    version: str
    name: str
    description: str
    cell: Cell
    procedures: dict[str, Procedure]
    seams: tuple[Seam, ...]
    sequence: tuple[str, ...] | None
    precedence: tuple[tuple[str, str], ...] = ()
    unselected: tuple[str, ...] = ()
    touch: tuple[TouchPattern, ...] = ()

    def seam(self, seam_id: str) -> Seam:
        """The seam with id ``seam_id`` (UnknownNameError, a KeyError, listing the ids if there is none)."""
        for s in self.seams:
            if s.id == seam_id:
                return s
        raise UnknownNameError(f"no seam {seam_id!r}; seams: {', '.join(s.id for s in self.seams)}")

    def ordered_seams(self) -> tuple[Seam, ...]:
        """Seams in ``sequence`` order when given, else in file order."""
        if self.sequence is None:
            return self.seams
        return tuple(self.seam(i) for i in self.sequence)

    def pass_procedure(self, seam: Seam, pass_index: int) -> Procedure:
        """The procedure of one pass (the pass override, else the seam's)."""
        name = seam.passes[pass_index].procedure or seam.procedure
        return self.procedures[name]
