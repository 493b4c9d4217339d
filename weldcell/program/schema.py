"""Pydantic schema of the weld program file (YAML, ``format: weldcell.program/1``).

These models describe the file exactly as written: millimetres, degrees, mm/s, m/min, with the unit
in every field name. They validate types, required fields, unknown keys and simple ranges; the
loader (:mod:`weldcell.program.loader`) adds cross-field checks (references, geometry, weave limits,
unit plausibility) and converts to the SI dataclasses of :mod:`weldcell.program.model`.
See ``docs/program-format.md`` for the prose description.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, create_model

from weldcell.program._spec_base import NonNegative, PositiveMm, StrictSpec, Vec3
from weldcell.program.shapes import SHAPES
from weldcell.program.weaves import WEAVE_PATTERNS

if TYPE_CHECKING:
    WeavePatternName = str
else:  # the names of the weave registry, as a Literal: the schema lists them and "did you mean" works
    WeavePatternName = Literal[tuple(WEAVE_PATTERNS)]

FORMAT_ID = "weldcell.program/1"
_Strict = StrictSpec  # base of every block (unknown keys are errors); shape blocks live in program/shapes


class PoseSpec(_Strict):
    """A pose: translation [mm] and URDF roll-pitch-yaw [deg] (``Rz(yaw) Ry(pitch) Rx(roll)``)."""

    xyz_mm: Vec3 = Field(default_factory=lambda: [0.0, 0.0, 0.0], description="Position [mm].")
    rpy_deg: Vec3 = Field(
        default_factory=lambda: [0.0, 0.0, 0.0], description="Roll, pitch, yaw [deg], fixed axes X-Y-Z."
    )


class TorchSpec(_Strict):
    """The welding torch mounted on the flange."""

    model: str = Field(description="Torch model name from urdf/ (e.g. torch_mig_22).")
    stickout_mm: PositiveMm | None = Field(
        default=None, description="Contact-tip-to-work distance [mm]; default: the torch's nominal value."
    )


class _BodyBase(_Strict):
    """A rigid body of the cell: name, role, pose and exactly one shape block."""

    name: str
    role: Literal["workpiece", "fixture", "table", "obstacle"]
    pose: PoseSpec = Field(
        default_factory=PoseSpec,
        description="Body frame in the world, or in the positioner flange frame when mounted_on is set.",
    )
    mounted_on: Literal["positioner"] | None = Field(
        default=None, description="'positioner': the body rides on the positioner flange (pose in its frame)."
    )
    frame: str | None = Field(
        default=None,
        description="Calibrated user frame (the cell configuration's calibration.frames) the pose is "
        "given in; default: the world. Needs --cell-config.",
    )


# one optional block per registered shape (weldcell.program.shapes.SHAPES): a new shape is one module
_shape_fields: dict[str, Any] = {
    kind: (
        cls.Spec | None,
        Field(default=None, description=cls.__doc__.splitlines()[0] if cls.__doc__ else ""),
    )
    for kind, cls in SHAPES.items()
}
BodySpec = create_model(
    "BodySpec",
    __base__=_BodyBase,
    __doc__="A rigid body of the cell: exactly one of " + " / ".join(SHAPES) + ".",
    **_shape_fields,
)


class PositionerCellSpec(_Strict):
    """A positioner in the cell: model, placement, home position."""

    model: str = Field(description="Positioner model (turntable_1ax, tilt_rotate_2ax, headstock_1ax).")
    base: PoseSpec = Field(default_factory=PoseSpec, description="Positioner base frame in the world.")
    home_deg: list[float] | None = Field(default=None, description="Home axis positions [deg]; default 0.")


class TrackCellSpec(_Strict):
    """A linear track under the robot: model, placement, home position."""

    model: str = Field(description="Track model (track_1ax).")
    base: PoseSpec = Field(default_factory=PoseSpec, description="Track base frame in the world.")
    home_mm: list[float] | None = Field(default=None, description="Home carriage position [mm]; default 0.")


class CellSpec(_Strict):
    """Robot, torch, bodies and the motion distances around each weld."""

    robot: str = Field(description="Robot model name (ur3e, ur5e, ur10e, ur16e, kr6_r900, ...).")
    base: PoseSpec = Field(default_factory=PoseSpec, description="Robot base frame in the world.")
    torch: TorchSpec
    home_deg: list[float] = Field(description="Home joint configuration [deg], one value per joint.")
    approach_mm: NonNegative = Field(default=50.0, description="Approach point distance behind the start.")
    retract_mm: NonNegative = Field(default=50.0, description="Depart point distance behind the end.")
    clearance_mm: NonNegative = Field(default=10.0, description="Minimum clearance robot/torch to bodies.")
    max_tcp_speed_mm_s: PositiveMm | None = Field(
        default=None,
        description="Largest planned TCP speed [mm/s]; default 2/3 of the controller's safety limit.",
    )
    max_elbow_speed_mm_s: PositiveMm | None = Field(
        default=None,
        description="Largest planned elbow speed [mm/s]; default 2/3 of the controller's safety limit.",
    )
    bodies: list[BodySpec] = Field(default_factory=list)
    positioner: PositionerCellSpec | None = Field(default=None, description="Workpiece positioner.")
    track: TrackCellSpec | None = Field(default=None, description="Linear track carrying the robot.")


class GasSpec(_Strict):
    """Shielding gas timing."""

    preflow_s: NonNegative = 0.3
    postflow_s: NonNegative = 1.0


class ArcStartSpec(_Strict):
    """Arc start: dwell at the start point, optional hot-start current and ramp to weld values."""

    dwell_s: NonNegative = 0.2
    current_a: Annotated[float, Field(gt=0.0)] | None = None
    ramp_mm: NonNegative = 0.0


class CraterFillSpec(_Strict):
    """Crater fill at the end point: the torch stays while the current is reduced."""

    time_s: NonNegative = 0.0
    current_a: Annotated[float, Field(gt=0.0)] | None = None
    voltage_v: Annotated[float, Field(gt=0.0)] | None = None


class WeaveSpec(_Strict):
    """Torch weave in the seam frame (see docs/program-format.md for the exact shapes)."""

    pattern: WeavePatternName = Field(description="Weave pattern (the registry in weldcell.program.weaves).")
    amplitude_mm: Annotated[float, Field(gt=0.0)] = Field(description="Half width across the joint.")
    frequency_hz: Annotated[float, Field(gt=0.0)] = Field(description="Full weave cycles per second.")
    dwell_s: NonNegative = Field(default=0.0, description="Edge dwell per side (trapezoid only).")
    height_mm: NonNegative = Field(default=0.0, description="Lift at the centre (triangle only).")
    longitudinal_mm: NonNegative | None = Field(
        default=None, description="Half length along travel (circular, figure_eight); default amplitude."
    )


class ToleranceSpec(_Strict):
    """How far the planner may deviate from the programmed torch angles."""

    work_angle_deg: NonNegative = 0.0
    travel_angle_deg: NonNegative = 0.0


class TorchRotationSpec(_Strict):
    """Rotation of the torch about its own axis: free (planner chooses) or fixed with a tolerance."""

    mode: Literal["free", "fixed"] = "free"
    angle_deg: float = Field(default=0.0, description="Fixed angle about the TCP z axis (fixed mode).")
    tolerance_deg: NonNegative = Field(default=0.0, description="Admissible half-width (fixed mode).")


class ProcedureSpec(_Strict):
    """A named weld procedure (WPS-like)."""

    process: Literal["mig", "mag", "tig", "laser"]
    travel_speed_mm_s: float = Field(description="Travel speed along the seam [mm/s].")
    wire_feed_m_min: NonNegative | None = Field(default=None, description="Wire feed speed [m/min].")
    voltage_v: Annotated[float, Field(gt=0.0)] | None = None
    current_a: Annotated[float, Field(gt=0.0)] | None = None
    job: Annotated[int, Field(ge=0)] | None = Field(default=None, description="Power-source job number.")
    laser_power_w: Annotated[float, Field(gt=0.0)] | None = None
    gas: GasSpec = Field(default_factory=GasSpec)
    arc_start: ArcStartSpec = Field(default_factory=ArcStartSpec)
    crater_fill: CraterFillSpec = Field(default_factory=CraterFillSpec)
    work_angle_deg: float = Field(description="Torch to reference surface, across the joint [deg].")
    travel_angle_deg: float = Field(default=0.0, description="Along the seam: + push, - drag [deg].")
    stickout_mm: PositiveMm | None = Field(default=None, description="Override of the cell's stick-out.")
    weave: WeaveSpec | None = None
    tolerance: ToleranceSpec = Field(default_factory=ToleranceSpec)
    torch_rotation: TorchRotationSpec = Field(default_factory=TorchRotationSpec)


class LineSpec(_Strict):
    """A straight seam from start to end."""

    start_mm: Vec3
    end_mm: Vec3


class ArcSpec(_Strict):
    """A circular arc through three points (start, a point in between, end)."""

    start_mm: Vec3
    mid_mm: Vec3
    end_mm: Vec3


class CircleSpec(_Strict):
    """A circle (pipe seam): centre, axis (right-hand travel sense), start point, sweep."""

    center_mm: Vec3
    axis: Vec3
    start_mm: Vec3
    sweep_deg: Annotated[float, Field(gt=0.0, le=720.0)] = Field(
        default=360.0, description="Swept angle; > 360 overlaps the start."
    )


class PolylineSpec(_Strict):
    """Straight segments through points, corners rounded with a blend radius."""

    points_mm: Annotated[list[Vec3], Field(min_length=2)]
    blend_radius_mm: NonNegative = Field(default=3.0, description="Corner rounding radius [mm].")


class SplineSpec(_Strict):
    """A smooth cubic spline through points (chord-length parametrised, natural ends)."""

    points_mm: Annotated[list[Vec3], Field(min_length=3)]


class GeometrySpec(_Strict):
    """Seam curve in the workpiece frame: exactly one of line / arc / circle / polyline / spline."""

    line: LineSpec | None = None
    arc: ArcSpec | None = None
    circle: CircleSpec | None = None
    polyline: PolylineSpec | None = None
    spline: SplineSpec | None = None


class PassSpec(_Strict):
    """One bead of a multi-pass weld: offset across the joint and optional angle/procedure changes."""

    lateral_mm: float = Field(default=0.0, description="Offset along the joint frame y axis [mm].")
    height_mm: float = Field(default=0.0, description="Offset away from the root (joint frame -z) [mm].")
    work_angle_deg: float | None = None
    travel_angle_deg: float | None = None
    procedure: str | None = None


class StitchSpec(_Strict):
    """Intermittent (stitch) welding: welds of ``length_mm`` every ``pitch_mm``."""

    length_mm: PositiveMm
    pitch_mm: PositiveMm
    start_offset_mm: NonNegative = 0.0


class SeamPositionerSpec(_Strict):
    """How the positioner (or track) moves for a seam."""

    mode: Literal["fixed", "coordinated", "free"] = Field(
        description="fixed: indexed before the weld; coordinated: moves while welding; free: planner chooses."
    )
    angles_deg: list[float] | None = Field(
        default=None, description="fixed: positioner axis positions [deg]; default: chosen by the planner."
    )
    position_mm: list[float] | None = Field(
        default=None,
        description="fixed, track cells: carriage position [mm]; default: chosen by the planner.",
    )
    weld_position: Literal["1F", "1G", "2F", "2G", "3F", "3G", "4F", "4G"] | None = Field(
        default=None,
        description="Target weld position; default 1F (fillet, lap, corner) or 1G (butt, groove).",
    )
    tolerance_deg: float = Field(
        default=5.0, gt=0.0, le=45.0, description="Admissible deviation from the weld position [deg]."
    )


def _mode_shorthand(value: Any) -> Any:
    """``positioner: coordinated`` is short for ``positioner: {mode: coordinated}``."""
    return {"mode": value} if isinstance(value, str) else value


class SeamSpec(_Strict):
    """One weld seam."""

    id: str
    joint: Literal["fillet", "lap", "butt", "corner", "groove"]
    workpiece: str | None = Field(
        default=None, description="Body whose frame the geometry is written in; default: the world."
    )
    geometry: GeometrySpec
    normals: Annotated[list[Vec3], Field(min_length=2, max_length=2)] | None = Field(
        default=None, description="Outward normals of surface 1 (reference) and surface 2 at the start."
    )
    face_normal: Vec3 | None = Field(default=None, description="Reference face normal (butt/groove).")
    procedure: str
    direction: Literal["forward", "reverse"] = "forward"
    reversible: bool = True
    passes: Annotated[list[PassSpec], Field(min_length=1)] = Field(default_factory=lambda: [PassSpec()])
    stitch: StitchSpec | None = None
    selected: bool = Field(
        default=True,
        description="false: a candidate (e.g. from `weldcell seams detect`) that is not welded; "
        "the loader leaves it out and every command names it as skipped.",
    )
    positioner: Annotated[SeamPositionerSpec, BeforeValidator(_mode_shorthand)] | None = Field(
        default=None,
        description="Positioner / track use for this seam: a mode, or a block with mode and weld position.",
    )


class TouchSearchSpec(_Strict):
    """One guarded touch search: the wire tip moves from ``start_mm`` along ``direction`` until it
    touches the part, at most ``distance_mm``."""

    start_mm: Vec3 = Field(description="Search start of the wire tip in the part frame [mm].")
    direction: Vec3 = Field(description="Search direction in the part frame (normalised on load).")
    distance_mm: PositiveMm = Field(description="Longest search travel [mm].")
    speed_mm_s: Annotated[float, Field(gt=0.0, le=50.0)] = Field(
        default=5.0, description="Search speed [mm/s] (at most 50)."
    )
    retract_mm: NonNegative = Field(default=5.0, description="Back-off after contact [mm].")
    tool_axis: Vec3 | None = Field(
        default=None, description="Torch axis (tcp z) in the part frame; default: the search direction."
    )


class TouchPatternSpec(_Strict):
    """Touch searches that locate one workpiece before its seams are welded."""

    part: str = Field(description="Workpiece body whose frame the searches are written in.")
    searches: Annotated[list[TouchSearchSpec], Field(min_length=1)]
    max_offset_mm: PositiveMm = Field(
        default=10.0, description="Largest believable part offset at any touch point [mm]."
    )


class ProgramSpec(_Strict):
    """A weldcell weld program."""

    format: Literal["weldcell.program/1"] = Field(description="File format and version.")
    name: str
    description: str = ""
    cell: CellSpec
    procedures: dict[str, ProcedureSpec]
    seams: list[SeamSpec]
    sequence: list[str] | None = Field(
        default=None, description="Weld order; omit to let the planner choose."
    )
    precedence: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = Field(
        default_factory=list, description="Pairs [before, after] of seam ids."
    )
    touch: list[TouchPatternSpec] = Field(
        default_factory=list, description="Touch patterns run before welding (part registration)."
    )
