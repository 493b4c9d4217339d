"""Cell section of a program: robot, torch and TCP, home configuration, bodies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from weldcell.errors import BodyShapeError
from weldcell.kinematics.models import load_torch, robot_names, torch_names, urdf_path
from weldcell.kinematics.positioner import PositionerModel, load_positioner, positioner_names
from weldcell.kinematics.safety import default_limits
from weldcell.kinematics.urdf import load_chain
from weldcell.program.checks import Checker, check_stickout, pose, vec
from weldcell.program.errors_map import did_you_mean
from weldcell.program.model import Body, Cell, ExternalDevice
from weldcell.program.schema import BodySpec, ProgramSpec
from weldcell.program.shapes import SHAPES


def build_cell(spec: ProgramSpec, chk: Checker, path: Path, frames: UserFrames | None = None) -> Cell:
    """The cell in SI: names checked against weldcell.kinematics, TCP from the torch model.

    ``frames``: the calibrated user frames a body's ``frame`` field may name (None: no cell
    configuration was given, so a program naming a frame fails).
    """
    c = spec.cell
    robots = robot_names()
    if c.robot not in robots:
        chk.fail(
            ("cell", "robot"),
            f"unknown robot '{c.robot}'{did_you_mean(c.robot, robots)} (known robots: {', '.join(robots)})",
        )
    torches = torch_names()
    if c.torch.model not in torches:
        chk.fail(
            ("cell", "torch", "model"),
            f"unknown torch '{c.torch.model}'{did_you_mean(c.torch.model, torches)} "
            f"(known torches: {', '.join(torches)})",
        )
    chain = load_chain(urdf_path(c.robot), tip="flange")  # the robot's joints, without its compiled kernels
    n, q_lo, q_hi = len(chain.joint_names), np.asarray(chain.lower), np.asarray(chain.upper)
    home = np.radians(vec(c.home_deg))
    if len(home) != n:
        chk.fail(("cell", "home_deg"), f"expected {n} joint values for {c.robot} [deg], got {len(home)}")
    big = float(np.max(np.abs(c.home_deg))) if c.home_deg else 0.0
    if 0.5 < big <= 2.0 * math.pi and not all(float(v).is_integer() for v in c.home_deg):
        chk.fail(
            ("cell", "home_deg"),
            f"the values look like radians (largest {big:g}); home_deg expects degrees, e.g. -90",
        )
    bad = np.flatnonzero((home < q_lo - 1e-9) | (home > q_hi + 1e-9))
    if bad.size:
        j = int(bad[0])
        chk.fail(
            ("cell", "home_deg", j),
            f"{c.home_deg[j]:g}° is outside joint {j + 1}'s limits "
            f"{math.degrees(q_lo[j]):g}°…{math.degrees(q_hi[j]):g}°",
        )
    torch = load_torch(c.torch.model)
    if c.torch.stickout_mm is not None:
        check_stickout(("cell", "torch", "stickout_mm"), c.torch.stickout_mm, chk)
        stickout = c.torch.stickout_mm * 1e-3
    else:
        stickout = float(torch.nominal_stickout)
    external = _build_external(spec, chk)
    T_world_flange_home = None
    if external is not None and external.role == "positioner":
        model = load_positioner(external.model)
        T_world_flange_home = external.T_world_base @ model.T_base_flange(external.home)
    bodies: list[Body] = []
    names: set[str] = set()
    for i, bs in enumerate(c.bodies):
        chk.name(("cell", "bodies", i, "name"), bs.name, "body name")
        if bs.name in names:
            chk.fail(("cell", "bodies", i, "name"), f"body name '{bs.name}' is used twice")
        names.add(bs.name)
        if bs.mounted_on is not None and T_world_flange_home is None:
            chk.fail(
                ("cell", "bodies", i, "mounted_on"),
                f"body '{bs.name}' is mounted on a positioner but the cell has none "
                "(expected a cell.positioner block)",
            )
        T_world_frame = _user_frame(i, bs, chk, frames)
        bodies.append(_build_body(i, bs, chk, path, T_world_flange_home, T_world_frame))
    for key, value in (("approach_mm", c.approach_mm), ("retract_mm", c.retract_mm)):
        chk.in_range(("cell", key), value, 0.0, 500.0, "mm")
    chk.in_range(("cell", "clearance_mm"), c.clearance_mm, 0.0, 200.0, "mm")
    ctrl = default_limits(c.robot)
    speed_fields: tuple[tuple[str, float | None, float, str], ...] = (
        ("max_tcp_speed_mm_s", c.max_tcp_speed_mm_s, ctrl.tcp_speed, "TCP"),
        ("max_elbow_speed_mm_s", c.max_elbow_speed_mm_s, ctrl.elbow_speed, "elbow"),
    )
    for key, speed, limit, what in speed_fields:
        if speed is not None and speed * 1e-3 > limit + 1e-12:
            chk.fail(
                ("cell", key),
                f"{speed:g} mm/s is above the controller's {what} speed limit {limit * 1e3:g} mm/s "
                f"({ctrl.source}); the arm would protective-stop: expected at most {limit * 1e3:g} mm/s",
            )
    return Cell(
        robot=c.robot,
        T_world_base=pose(c.base),
        torch=c.torch.model,
        stickout=stickout,
        T_flange_tcp=np.asarray(torch.T_flange_tcp(stickout), dtype=np.float64),
        bodies=tuple(bodies),
        home_q=home,
        approach_distance=c.approach_mm * 1e-3,
        retract_distance=c.retract_mm * 1e-3,
        clearance=c.clearance_mm * 1e-3,
        max_tcp_speed=None if c.max_tcp_speed_mm_s is None else c.max_tcp_speed_mm_s * 1e-3,
        max_elbow_speed=None if c.max_elbow_speed_mm_s is None else c.max_elbow_speed_mm_s * 1e-3,
        external=external,
        user_frames=tuple(sorted({b.frame for b in c.bodies if b.frame is not None})),
    )


def _build_external(spec: ProgramSpec, chk: Checker) -> ExternalDevice | None:
    """The cell's positioner or track: model name, role, home within the limits (deg / mm in the file)."""
    c = spec.cell
    if c.positioner is not None and c.track is not None:
        chk.fail(("cell", "track"), "a cell has either a positioner or a track, not both")
    block = c.positioner if c.positioner is not None else c.track
    if block is None:
        return None
    key = "positioner" if c.positioner is not None else "track"
    names = [n for n in positioner_names() if load_positioner(n).role == key]
    if block.model not in names:
        chk.fail(
            ("cell", key, "model"),
            f"unknown {key} '{block.model}'{did_you_mean(block.model, names)} (known: {', '.join(names)})",
        )
    model = load_positioner(block.model)
    home_key = "home_deg" if key == "positioner" else "home_mm"
    given = getattr(block, home_key)
    home = np.zeros(model.n_axes) if given is None else external_positions(model, given)
    if len(home) != model.n_axes:
        chk.fail(
            ("cell", key, home_key),
            f"expected {model.n_axes} value(s) for {model.name} "
            f"({', '.join(model.axis_names)}), got {len(home)}",
        )
    check_external_limits(("cell", key, home_key), model, home, chk)
    return ExternalDevice(block.model, key, pose(block.base), home)


def external_positions(model: PositionerModel, values: list[float]) -> np.ndarray:
    """File values (deg for revolute axes, mm for prismatic ones) as SI axis positions [rad or m]."""
    v = vec(values)
    if len(v) != model.n_axes:
        return v
    scale = np.array([math.pi / 180.0 if k == "revolute" else 1e-3 for k in model.kinds])
    out: np.ndarray = v * scale
    return out


def check_external_limits(
    loc: tuple[str | int, ...], model: PositionerModel, q: np.ndarray, chk: Checker
) -> None:
    """Fail naming the first axis of ``q`` [rad or m] outside the model's limits."""
    bad = np.flatnonzero((q < model.lower - 1e-9) | (q > model.upper + 1e-9))
    if bad.size:
        j = int(bad[0])
        f = 180.0 / math.pi if model.kinds[j] == "revolute" else 1e3
        unit = "°" if model.kinds[j] == "revolute" else " mm"
        chk.fail(
            (*loc, j),
            f"{q[j] * f:g}{unit} is outside {model.name} axis '{model.axis_names[j]}' limits "
            f"{model.lower[j] * f:g}{unit}…{model.upper[j] * f:g}{unit}",
        )


@dataclass(frozen=True, slots=True)
class UserFrames:
    """Calibrated user/part frames a program's bodies may be placed in (``frame: NAME``).

    Attributes:
        frames: ``T_world_frame`` (4, 4) [m] by name (the cell configuration's ``calibration.frames``).
        source: Where they come from (the cell configuration file), named in errors.
    """

    frames: Mapping[str, np.ndarray]
    source: str


def _user_frame(i: int, bs: BodySpec, chk: Checker, frames: UserFrames | None) -> np.ndarray | None:
    """``T_world_frame`` of the calibrated frame body ``i`` names, None when it names none."""
    name = bs.frame
    if name is None:
        return None
    loc = ("cell", "bodies", i, "frame")
    if bs.mounted_on is not None:
        chk.fail(
            loc,
            f"body '{bs.name}' rides on the positioner; its pose cannot also be in user frame '{name}'",
        )
    if frames is None:
        chk.fail(
            loc,
            f"body '{bs.name}' is placed in the calibrated frame '{name}': give the cell configuration "
            f"that stores it (--cell-config cell.yaml with calibration.frames.{name})",
        )
    if name not in frames.frames:
        known = ", ".join(sorted(frames.frames)) or "none"
        chk.fail(
            loc,
            f"frame '{name}'{did_you_mean(name, list(frames.frames))} is not in {frames.source} "
            f"(calibration.frames there: {known}); calibrate it with 'weldcell calibrate frame {name}'",
        )
    return np.asarray(frames.frames[name], dtype=np.float64)


def _build_body(
    i: int,
    bs: BodySpec,
    chk: Checker,
    path: Path,
    T_world_flange_home: np.ndarray | None = None,
    T_world_frame: np.ndarray | None = None,
) -> Body:
    """One body: its single shape block converted by the shape registry (errors name the field).

    ``T_world_frame``: the calibrated user frame the pose is given in (None: the world)."""
    loc = ("cell", "bodies", i)
    given = [k for k in SHAPES if getattr(bs, k) is not None]
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        chk.fail(loc, f"body '{bs.name}' needs exactly one shape of {', '.join(SHAPES)} (got {got})")
    kind = given[0]
    try:
        geometry = SHAPES[kind].from_spec(getattr(bs, kind), path.parent)
    except BodyShapeError as err:
        chk.fail((*loc, kind, *err.field), err.message)
    T_world_body = pose(bs.pose) if T_world_frame is None else T_world_frame @ pose(bs.pose)
    body = Body.of(bs.name, bs.role, geometry, T_world_body)
    if bs.mounted_on is None or T_world_flange_home is None:
        return body
    T_flange_body = pose(bs.pose)
    return Body(
        body.name,
        body.role,
        body.shape,
        size=body.size,
        radius=body.radius,
        length=body.length,
        mesh_path=body.mesh_path,
        T_world_body=T_world_flange_home @ T_flange_body,
        mesh_scale=body.mesh_scale,
        mounted_on=bs.mounted_on,
        T_flange_body=T_flange_body,
    )
