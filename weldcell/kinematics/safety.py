"""Robot safety configurations: the limits a controller enforces and the planner must stay inside.

One source for the planner (transit TCP / elbow speed), the simulator's validation and the virtual
controllers' safety checks, so that nothing a validated plan does is stopped by the controller.

Two levels:

* :class:`SafetyLimits` — what the controller enforces (exceeding one is a protective stop).
* :func:`planning_limits` — what the planner aims for: the controller limits times a margin
  (``PLANNING_FRACTION``), so that tracking error and rounding never reach a controller limit.

UR e-series values (``UR_DEFAULT``) are PolyScope 5's "Default" safety preset (Universal Robots,
e-Series user manual, "Safety configuration", factory presets *Most restricted / Default / Least
restricted*: power 80/300/1000 W, momentum 5/25/100 kg·m/s, stopping time 100/400/10000 ms,
stopping distance 100/500/10000 mm, tool speed 250/1500/5000 mm/s, tool force 100/150/250 N,
elbow speed and force as tool). Joint speed limits default to the arm's data-sheet joint speeds plus
UR's 11 °/s tolerance band (the default joint speed limit shown on the pendant is 191 °/s on 180 °/s
joints and 131 °/s on 120 °/s joints); joint position limits to ±363° (±360° plus tolerance).

Collaborative arms of other makes (``COBOT_PRESETS``): the FANUC CRX-10iA/L and the ABB GoFa
CRB 15000 have no single factory "default" preset like PolyScope's (FANUC DCS and ABB SafeMove are
configured per application). weldcell's preset for both: TCP and elbow speed 1.0 m/s, the maximum
TCP speed FANUC's CRX-10iA/L data sheet gives (1000 mm/s; the GoFa's data-sheet maximum, 2.2 m/s, is
the arm's capability, not a collaborative setting, and 1.0 m/s is used for it too: not an ABB
figure), joint speeds from the model (data sheets), stopping time 0.4 s, distance 0.5 m. Momentum,
power and force are not checked (infinite). A cell with other DCS / SafeMove values states them
in its safety file (:func:`limits_from_mapping`).

Industrial arms (KUKA, …) have no collaborative limits; their entries carry the T1 / Cartesian
limits a cell's safety PLC usually enforces (configurable per cell).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from weldcell.errors import InvalidValueError, UnknownModelError

_D = math.pi / 180.0

PLANNING_FRACTION = 2.0 / 3.0
"""Planned motion stays at or below this fraction of every controller speed limit."""


@dataclass(frozen=True, slots=True)
class SafetyLimits:
    """A robot controller's safety configuration, SI units.

    Attributes:
        tcp_speed: Largest TCP (torch tip) speed [m/s].
        elbow_speed: Largest elbow speed [m/s].
        joint_speed: Largest speed per joint [rad/s] (empty: the model's own ``qd_max``).
        joint_position_margin: Tolerance [rad] beyond the model's joint range before a stop.
        stopping_time: Largest time to stop [s].
        stopping_distance: Largest TCP distance to stop [m].
        momentum: Largest robot momentum [kg·m/s].
        power: Largest mechanical power [W].
        tcp_force: Largest TCP force [N].
        source: Where the numbers come from (shown in reports and violations).
    """

    tcp_speed: float
    elbow_speed: float
    joint_speed: tuple[float, ...] = ()
    joint_position_margin: float = 3 * _D
    stopping_time: float = 0.4
    stopping_distance: float = 0.5
    momentum: float = 25.0
    power: float = 300.0
    tcp_force: float = 150.0
    source: str = ""

    def scaled(self, fraction: float) -> SafetyLimits:
        """The speed-like limits times ``fraction`` (0 < fraction ≤ 1)."""
        if not 0.0 < fraction <= 1.0:
            raise InvalidValueError(f"fraction must be in (0, 1], got {fraction}")
        return replace(
            self,
            tcp_speed=self.tcp_speed * fraction,
            elbow_speed=self.elbow_speed * fraction,
            joint_speed=tuple(v * fraction for v in self.joint_speed),
            momentum=self.momentum * fraction,
            power=self.power * fraction,
            source=f"{self.source} × {fraction:.3g} (planning margin)",
        )


UR_DEFAULT_TOOL_SPEED = 1.5
UR_DEFAULT_ELBOW_SPEED = 1.5

_UR_JOINT_SPEED = {
    # data-sheet joint speeds [°/s] + 11 °/s tolerance band (PolyScope default joint speed limits)
    "ur3e": (191.0, 191.0, 191.0, 371.0, 371.0, 371.0),
    "ur5e": (191.0,) * 6,
    "ur10e": (131.0, 131.0, 191.0, 191.0, 191.0, 191.0),
    "ur16e": (131.0, 131.0, 191.0, 191.0, 191.0, 191.0),
}

UR_DEFAULT_SOURCE = "UR e-Series default safety preset (PolyScope 5)"

INDUSTRIAL_SOURCE = "cell safety PLC default for industrial arms (configurable per cell)"


def ur_default(model: str) -> SafetyLimits:
    """PolyScope 5's default safety configuration for a UR e-series ``model`` (``"ur5e"`` …)."""
    speeds = _UR_JOINT_SPEED.get(model.lower())
    if speeds is None:
        raise UnknownModelError(f"no UR default safety configuration for {model!r}")
    return SafetyLimits(
        tcp_speed=UR_DEFAULT_TOOL_SPEED,
        elbow_speed=UR_DEFAULT_ELBOW_SPEED,
        joint_speed=tuple(v * _D for v in speeds),
        joint_position_margin=3 * _D,
        stopping_time=0.4,
        stopping_distance=0.5,
        momentum=25.0,
        power=300.0,
        tcp_force=150.0,
        source=UR_DEFAULT_SOURCE,
    )


COBOT_SOURCE = "weldcell collaborative preset (1.0 m/s TCP and elbow; see weldcell.kinematics.safety)"

#: Collaborative arms other than UR: TCP / elbow speed [m/s] of weldcell's preset (module docstring).
COBOT_PRESETS: dict[str, float] = {
    "crx10ial": 1.0,
    "crb15000_5_95": 1.0,
}


def cobot_default(model: str) -> SafetyLimits:
    """weldcell's collaborative preset for a FANUC CRX or ABB GoFa ``model`` (module docstring)."""
    speed = COBOT_PRESETS.get(model.lower())
    if speed is None:
        raise UnknownModelError(
            f"no collaborative safety preset for {model!r}; known: {', '.join(sorted(COBOT_PRESETS))}"
        )
    return SafetyLimits(
        tcp_speed=speed,
        elbow_speed=speed,
        joint_speed=(),
        joint_position_margin=0.0,
        stopping_time=0.4,
        stopping_distance=0.5,
        momentum=math.inf,
        power=math.inf,
        tcp_force=math.inf,
        source=COBOT_SOURCE,
    )


def default_limits(robot_name: str) -> SafetyLimits:
    """The controller safety limits a robot model has out of the box.

    UR e-series arms: :func:`ur_default`. FANUC CRX and ABB GoFa: :func:`cobot_default`. Other
    arms: 2.0 m/s TCP and elbow speed (a typical
    automatic-mode Cartesian limit set in a cell's safety controller), joint speeds from the model.
    """
    name = robot_name.lower()
    if name in _UR_JOINT_SPEED:
        return ur_default(name)
    if name in COBOT_PRESETS:
        return cobot_default(name)
    return SafetyLimits(
        tcp_speed=2.0,
        elbow_speed=2.0,
        joint_speed=(),
        joint_position_margin=0.0,
        stopping_time=0.5,
        stopping_distance=1.0,
        momentum=math.inf,
        power=math.inf,
        tcp_force=math.inf,
        source=INDUSTRIAL_SOURCE,
    )


#: Arms whose controller states its joint limits in its own joint convention, a linear map of the
#: model's joints: ``controller = A @ q`` (first six joints, rows = controller joints J1..J6). FANUC's
#: J3 is the forearm's angle to the horizontal (the "J2/J3 interaction"), not the relative joint of
#: the model: ARC Mate ``J3 = q3 - q2``; CRX ``J2 = -q2``, ``J3 = q3 + q2``
#: (:mod:`weldcell.drivers.fanuc.joints` has the sources; a test checks the two agree).
CONTROLLER_JOINT_MAPS: dict[str, tuple[tuple[float, ...], ...]] = {
    "arcmate100id": (
        (1, 0, 0, 0, 0, 0), (0, 1, 0, 0, 0, 0), (0, -1, 1, 0, 0, 0),
        (0, 0, 0, 1, 0, 0), (0, 0, 0, 0, 1, 0), (0, 0, 0, 0, 0, 1),
    ),
    "crx10ial": (
        (1, 0, 0, 0, 0, 0), (0, -1, 0, 0, 0, 0), (0, 1, 1, 0, 0, 0),
        (0, 0, 0, 1, 0, 0), (0, 0, 0, 0, 1, 0), (0, 0, 0, 0, 0, 1),
    ),
}  # fmt: skip

#: Data-sheet joint speeds [rad/s] of those arms, in the controller's convention (they apply to the
#: controller's J1..J6: FANUC's J3 speed is the speed of FANUC's J3). CRX-10iA/L: 120, 120, 180, 180,
#: 180, 180 °/s; ARC Mate 100iD: 260, 240, 260, 430, 450, 720 °/s (FANUC data sheets, as in
#: :mod:`weldcell.kinematics.specs`).
CONTROLLER_JOINT_SPEEDS: dict[str, tuple[float, ...]] = {
    "arcmate100id": tuple(v * _D for v in (260.0, 240.0, 260.0, 430.0, 450.0, 720.0)),
    "crx10ial": tuple(v * _D for v in (120.0, 120.0, 180.0, 180.0, 180.0, 180.0)),
}


def controller_joint_speeds(
    robot_name: str,
) -> tuple[tuple[tuple[float, ...], ...], tuple[float, ...]] | None:
    """``(A, speeds)`` of an arm whose controller limits joint speeds in its own convention, else None.

    ``A`` (6 x 6, rows = controller joints) maps model joint velocities to the controller's; the
    controller stops when ``|A @ qd|`` exceeds ``speeds`` [rad/s] on any joint.
    """
    name = robot_name.lower()
    if name not in CONTROLLER_JOINT_MAPS:
        return None
    return CONTROLLER_JOINT_MAPS[name], CONTROLLER_JOINT_SPEEDS[name]


def joint_speed_box(A: tuple[tuple[float, ...], ...], speeds: tuple[float, ...]) -> tuple[float, ...]:
    """Per-joint model speed limits [rad/s] whose box implies the controller's limits.

    The planner, the validator and the time parametrisation bound each model joint speed
    separately (``|qd_j| ≤ b_j``); a controller that limits ``|A @ qd|`` is then never exceeded when
    ``Σ_j |A_ij| b_j ≤ speeds_i`` for every controller joint i. ``b`` starts at the controller speed of
    the joint's own row and, for each row that couples several joints (FANUC's J3), the joints in it
    are scaled down together in proportion until the row fits (CRX: 120 + 180 °/s on q2, q3 against
    J3's 180 °/s gives 72 and 108 °/s).
    """
    M = [[float(x) for x in row] for row in A]
    n = len(M)
    b = [0.0] * n
    for j in range(n):
        own = [i for i in range(n) if M[i][j] != 0.0 and sum(1 for x in M[i] if x != 0.0) == 1]
        b[j] = speeds[own[0]] if own else min(speeds[i] for i in range(n) if M[i][j] != 0.0)
    for _ in range(n):  # each pass fixes every violated row; rows share joints only in chains
        worst = 1.0
        for i in range(n):
            total = sum(abs(M[i][j]) * b[j] for j in range(n))
            if total > speeds[i] * (1.0 + 1e-12):
                f = speeds[i] / total
                worst = min(worst, f)
                for j in range(n):
                    if M[i][j] != 0.0:
                        b[j] *= f
        if worst == 1.0:
            break
    return tuple(b)


def planning_limits(limits: SafetyLimits, fraction: float = PLANNING_FRACTION) -> SafetyLimits:
    """The limits the planner aims for: ``limits`` scaled by ``fraction`` (default 2/3)."""
    return limits.scaled(fraction)


_FILE_FIELDS: dict[str, tuple[str, float]] = {
    # file field → (SafetyLimits attribute, factor to SI)
    "tool_speed_mm_s": ("tcp_speed", 1e-3),
    "elbow_speed_mm_s": ("elbow_speed", 1e-3),
    "stopping_time_ms": ("stopping_time", 1e-3),
    "stopping_distance_mm": ("stopping_distance", 1e-3),
    "momentum_kg_m_s": ("momentum", 1.0),
    "power_w": ("power", 1.0),
    "tool_force_n": ("tcp_force", 1.0),
    "joint_position_tolerance_deg": ("joint_position_margin", _D),
}


def limits_from_mapping(data: object, base: SafetyLimits, where: str) -> SafetyLimits:
    """A safety configuration from a user file's mapping (units in the field names).

    Fields (all optional; missing ones keep ``base``): ``tool_speed_mm_s``, ``elbow_speed_mm_s``,
    ``stopping_time_ms``, ``stopping_distance_mm``, ``momentum_kg_m_s``, ``power_w``,
    ``tool_force_n``, ``joint_position_tolerance_deg`` and ``joint_speed_deg_s`` (one number per joint).

    Args:
        data: The parsed mapping (e.g. from YAML).
        base: The configuration the fields override (usually :func:`default_limits`).
        where: The file (and section) named in error messages.

    Raises:
        InvalidValueError: an unknown field or a value that is not a positive finite number, naming
            ``where``, the field and what was expected.
    """
    if not isinstance(data, dict):
        raise InvalidValueError(f"{where}: expected a mapping of safety limits, got {type(data).__name__}")
    changes: dict[str, object] = {}
    for key, value in data.items():
        if key == "joint_speed_deg_s":
            if not isinstance(value, list) or not value or not all(_positive(v) for v in value):
                raise InvalidValueError(
                    f"{where}: field 'joint_speed_deg_s': expected a list of positive numbers "
                    f"(°/s, one per joint), got {value!r}"
                )
            changes["joint_speed"] = tuple(float(v) * _D for v in value)
            continue
        if key not in _FILE_FIELDS:
            known = ", ".join(sorted([*_FILE_FIELDS, "joint_speed_deg_s"]))
            raise InvalidValueError(f"{where}: unknown field {key!r}; expected one of {known}")
        if not _positive(value):
            raise InvalidValueError(f"{where}: field {key!r}: expected a positive number, got {value!r}")
        attr, factor = _FILE_FIELDS[key]
        changes[attr] = float(value) * factor
    if not changes:
        return base
    return replace(base, source=f"{where}", **changes)  # type: ignore[arg-type]


def _positive(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v)) and float(v) > 0
