"""The cell configuration file (``--cell-config cell.yaml``): interlocks, power source and arc settings.

What a welding cell has wired and set up, as opposed to what a part needs (the weld program): which
controller inputs carry the safety signals, how the power source is addressed (job numbers or
parameters, its communication timeout), the arc handshake, and the recovery moves. Units are in the
field names and converted to SI here. Every field is optional; a missing field keeps the default of
:class:`~weldcell.cell.jobtypes.CellConfig`. See ``docs/cell.md`` for the format and an example.

Errors name the file, the field and what was expected (:class:`CellConfigError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weldcell.cell.arc import ArcProcedure
from weldcell.cell.jobtypes import CellConfig
from weldcell.cell.moves import MoveLimits
from weldcell.cell.state import InterlockConfig
from weldcell.errors import WeldcellError

FORMAT = "weldcell.cell/1"

InputNumber = int | None


class CellConfigError(WeldcellError):
    """A cell configuration that cannot be used; the message names file, field and what was expected."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class _Interlocks(_Strict):
    door_closed_input: InputNumber = Field(default=None, ge=0, le=63)
    estop_ok_input: InputNumber = Field(default=None, ge=0, le=63)
    light_curtain_ok_input: InputNumber = Field(default=None, ge=0, le=63)


class _PowerSource(_Strict):
    use_jobs: Literal["auto", "jobs", "parameters"] = "auto"
    comm_timeout_s: float | None = Field(default=0.15, gt=0.0, le=10.0)


class _Arc(_Strict):
    ignition_timeout_s: float = Field(default=1.5, gt=0.0, le=30.0)
    ignition_retries: int = Field(default=2, ge=0, le=10)
    ready_timeout_s: float = Field(default=3.0, gt=0.0, le=60.0)
    arc_off_timeout_s: float = Field(default=3.0, gt=0.0, le=60.0)
    restart_overlap_mm: float = Field(default=5.0, ge=0.0, le=100.0)


class _Moves(_Strict):
    joint_speed_fraction: float = Field(default=0.3, gt=0.0, le=1.0)
    tool_speed_mm_s: float = Field(default=50.0, gt=0.0, le=250.0)
    retract_mm: float = Field(default=20.0, ge=0.0, le=200.0)
    approach_mm: float = Field(default=20.0, gt=0.0, le=200.0)


Mm3 = Annotated[list[float], Field(min_length=3, max_length=3)]


class _Frame(_Strict):
    xyz_mm: Mm3
    rpy_deg: Mm3


class _Calibration(_Strict):
    tcp_xyz_mm: Mm3 | None = None
    tcp_rpy_deg: Mm3 | None = None
    frames: dict[str, _Frame] = Field(default_factory=dict)


class _CellFile(_Strict):
    format: Literal["weldcell.cell/1"] = "weldcell.cell/1"
    interlocks: _Interlocks | None = None
    power_source: _PowerSource = Field(default_factory=_PowerSource)
    arc: _Arc = Field(default_factory=_Arc)
    moves: _Moves = Field(default_factory=_Moves)
    calibration: _Calibration = Field(default_factory=_Calibration)


@dataclass(frozen=True, slots=True)
class CellSetup:
    """A loaded cell configuration.

    Attributes:
        config: The cell controller settings (SI units).
        use_jobs: ``True`` (select stored jobs), ``False`` (send parameters) or ``None`` (parameters
            when the procedure has them, else its job); see ``params_from_program``.
        path: The file it came from (None: defaults).
        tcp_xyz: Calibrated TCP position in the flange frame [m] (3,) (``weldcell calibrate tcp``),
            None: the torch model's.
        frames: Calibrated user/part frames by name, ``T_world_frame`` (4, 4) (``weldcell calibrate frame``).
        tcp_rotation: Calibrated TCP orientation in the flange frame (3, 3) (``weldcell calibrate tcp``
            with x and z points, ``calibration.tcp_rpy_deg``); None: the torch model's.
    """

    config: CellConfig
    use_jobs: bool | None
    path: Path | None = None
    tcp_xyz: npt.NDArray[np.float64] | None = None
    frames: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    tcp_rotation: npt.NDArray[np.float64] | None = None


def _message(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        got = e.get("input")
        text = e["msg"]
        if e["type"] == "extra_forbidden":
            text = "unknown field"
        parts.append(f"{loc}: {text} (got {got!r})")
    return "; ".join(parts)


def cell_setup_from_mapping(data: object, source: str = "cell configuration") -> CellSetup:
    """Validate a parsed cell configuration (a mapping) and convert it to SI.

    Raises:
        CellConfigError: a field is unknown, of the wrong type or out of range (all are named).
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CellConfigError(
            f"{source}: expected a mapping of sections (interlocks, power_source, arc, moves)"
        )
    try:
        f = _CellFile.model_validate(data)
    except ValidationError as err:
        raise CellConfigError(f"{source}: {_message(err)}") from None
    base = CellConfig()
    interlocks = (
        None
        if f.interlocks is None
        else InterlockConfig(
            door_closed_input=f.interlocks.door_closed_input,
            estop_ok_input=f.interlocks.estop_ok_input,
            light_curtain_ok_input=f.interlocks.light_curtain_ok_input,
        )
    )
    arc = ArcProcedure(
        ignition_timeout=f.arc.ignition_timeout_s,
        ignition_retries=f.arc.ignition_retries,
        ready_timeout=f.arc.ready_timeout_s,
        arc_off_timeout=f.arc.arc_off_timeout_s,
        restart_overlap=f.arc.restart_overlap_mm * 1e-3,
    )
    moves = MoveLimits(
        joint_speed_scale=f.moves.joint_speed_fraction, tcp_speed=f.moves.tool_speed_mm_s * 1e-3
    )
    config = replace(
        base,
        arc=arc,
        interlocks=interlocks,
        moves=moves,
        retract_distance=f.moves.retract_mm * 1e-3,
        approach_distance=f.moves.approach_mm * 1e-3,
        power_source_comm_timeout=f.power_source.comm_timeout_s,
    )
    use_jobs = {"auto": None, "jobs": True, "parameters": False}[f.power_source.use_jobs]
    from weldcell.spatial import se3_from_xyz_rpy

    tcp = None if f.calibration.tcp_xyz_mm is None else np.asarray(f.calibration.tcp_xyz_mm) * 1e-3
    rpy = f.calibration.tcp_rpy_deg
    if rpy is not None and tcp is None:
        raise CellConfigError(
            f"{source}: calibration.tcp_rpy_deg: a TCP orientation needs its position, "
            "calibration.tcp_xyz_mm (both are written by weldcell calibrate tcp)"
        )
    if rpy is not None and not np.all(np.isfinite(rpy)):
        raise CellConfigError(f"{source}: calibration.tcp_rpy_deg: expected three finite angles in degrees")
    rotation = None if rpy is None else se3_from_xyz_rpy(np.zeros(3), np.deg2rad(np.asarray(rpy)))[:3, :3]
    frames = {
        name: se3_from_xyz_rpy(np.asarray(fr.xyz_mm) * 1e-3, np.deg2rad(np.asarray(fr.rpy_deg)))
        for name, fr in f.calibration.frames.items()
    }
    return CellSetup(config, use_jobs, tcp_xyz=tcp, frames=frames, tcp_rotation=rotation)


def load_cell_config(path: str | Path) -> CellSetup:
    """Read and validate a cell configuration YAML file.

    Raises:
        CellConfigError: unreadable file, YAML syntax error, or an invalid field (named with the file).
    """
    import yaml

    from weldcell.program.yamlio import safe_load_yaml

    p = Path(path)
    if not p.is_file():
        raise CellConfigError(f"{p}: cell configuration file not found")
    try:
        text = p.read_text(encoding="utf-8")
        data = safe_load_yaml(text)
    except UnicodeDecodeError as err:
        raise CellConfigError(f"{p}: not a YAML text file (byte {err.start} is not UTF-8)") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise CellConfigError(f"{p}{where}: YAML syntax error: {problem}") from None
    except OSError as err:
        raise CellConfigError(f"{p}: cannot read ({err.strerror or err})") from None
    return replace(cell_setup_from_mapping(data, str(p)), path=p)
