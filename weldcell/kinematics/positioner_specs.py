"""Data of the shipped positioner and track models (the single source their URDFs are generated from).

The four models are generic, sized like common arc-welding cell equipment (a 250 kg turntable, a
300 kg tilt-rotate positioner, a 500 kg headstock with tailstock, a 3 m floor track). Their numbers
are typical catalogue values for that class of equipment (e.g. the ranges of 1- and 2-axis servo
positioners: rotation ±2 turns at 90-180 °/s, tilt ±135° at 60-90 °/s; floor tracks ~1 m/s), not
the data of one vendor's product.

Frames: every model has a ``base`` link on the floor (z up) and a ``flange`` link: the face the part
or fixture is clamped to (turntable, tilt-rotate and headstock: z normal to the face, away from the
device; track: the carriage top the robot stands on, z up). Axis positions are in [rad] (revolute)
or [m] (prismatic); at q = 0 every flange frame is parallel to the base frame except the
headstock, whose face plate looks along base +x (flange z = base +x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PositionerAxisSpec:
    """One positioner axis.

    Attributes:
        name: Joint name in the URDF.
        kind: ``"revolute"`` [rad] or ``"prismatic"`` [m].
        xyz: Joint origin in the parent link frame [m].
        rpy: Joint origin rotation (URDF roll-pitch-yaw) [rad].
        axis: Axis direction in the joint frame (unit vector).
        lower, upper: Position limits [rad or m].
        qd_max: Speed limit [rad/s or m/s].
        qdd_max: Acceleration limit [rad/s² or m/s²] (planning value, not in the URDF).
    """

    name: str
    kind: str
    xyz: tuple[float, float, float]
    rpy: tuple[float, float, float]
    axis: tuple[float, float, float]
    lower: float
    upper: float
    qd_max: float
    qdd_max: float


@dataclass(frozen=True)
class PositionerSpec:
    """A positioner or track.

    Attributes:
        name: Model name (file ``urdf/<name>.urdf``).
        role: ``"positioner"`` (the part rides on the flange) or ``"track"`` (the robot does).
        axes: The axes from base to flange.
        T_last_flange_xyz / T_last_flange_rpy: Flange frame in the last axis link [m], [rad].
        payload_kg: Rated payload on the flange [kg].
        description: One line for the URDF header.
    """

    name: str
    role: str
    axes: tuple[PositionerAxisSpec, ...]
    flange_xyz: tuple[float, float, float]
    flange_rpy: tuple[float, float, float]
    payload_kg: float
    description: str


_D = math.pi / 180.0

TURNTABLE_1AX = PositionerSpec(
    name="turntable_1ax",
    role="positioner",
    axes=(
        PositionerAxisSpec(
            "table",
            "revolute",
            (0.0, 0.0, 0.70),
            (0.0, 0.0, 0.0),
            (0.0, 0.0, 1.0),
            -720 * _D,
            720 * _D,
            120 * _D,
            360 * _D,
        ),
    ),
    flange_xyz=(0.0, 0.0, 0.05),
    flange_rpy=(0.0, 0.0, 0.0),
    payload_kg=250.0,
    description="1-axis turntable, vertical axis, table top 0.75 m, Ø0.6 m, 250 kg",
)

TILT_ROTATE_2AX = PositionerSpec(
    name="tilt_rotate_2ax",
    role="positioner",
    axes=(
        PositionerAxisSpec(
            "tilt",
            "revolute",
            (0.0, 0.0, 0.85),
            (0.0, 0.0, 0.0),
            (1.0, 0.0, 0.0),
            -135 * _D,
            135 * _D,
            90 * _D,
            270 * _D,
        ),
        PositionerAxisSpec(
            "rotate",
            "revolute",
            (0.0, 0.0, -0.10),
            (0.0, 0.0, 0.0),
            (0.0, 0.0, 1.0),
            -720 * _D,
            720 * _D,
            150 * _D,
            450 * _D,
        ),
    ),
    flange_xyz=(0.0, 0.0, 0.10),
    flange_rpy=(0.0, 0.0, 0.0),
    payload_kg=300.0,
    description="2-axis tilt-rotate positioner: tilt about x at 0.85 m, rotary table 0.6 m, 300 kg",
)

HEADSTOCK_1AX = PositionerSpec(
    name="headstock_1ax",
    role="positioner",
    axes=(
        PositionerAxisSpec(
            "spindle",
            "revolute",
            (0.20, 0.0, 0.90),
            (0.0, math.pi / 2, 0.0),
            (0.0, 0.0, 1.0),
            -720 * _D,
            720 * _D,
            120 * _D,
            360 * _D,
        ),
    ),
    flange_xyz=(0.0, 0.0, 0.04),
    flange_rpy=(0.0, 0.0, 0.0),
    payload_kg=500.0,
    description="headstock/tailstock positioner, spindle along +x at 0.9 m, tailstock 1.6 m away, 500 kg",
)

TRACK_1AX = PositionerSpec(
    name="track_1ax",
    role="track",
    axes=(
        PositionerAxisSpec(
            "carriage",
            "prismatic",
            (0.0, 0.0, 0.15),
            (0.0, 0.0, 0.0),
            (1.0, 0.0, 0.0),
            0.0,
            3.0,
            1.0,
            1.0,
        ),
    ),
    flange_xyz=(0.0, 0.0, 0.05),
    flange_rpy=(0.0, 0.0, 0.0),
    payload_kg=200.0,
    description="linear floor track along +x, 3 m stroke, carriage top 0.2 m, 200 kg robot payload",
)

POSITIONER_SPECS: dict[str, PositionerSpec] = {
    s.name: s for s in (TURNTABLE_1AX, TILT_ROTATE_2AX, HEADSTOCK_1AX, TRACK_1AX)
}
