"""Reusable scenes: static cell bodies from the YAML files in the top-level ``sim/`` folder.

A scene file (schema ``weldcell.scene/1``, see ``sim/README.md``) lists bodies in program units
(mm, deg); :func:`load_scene` converts them to :class:`CellBody` values in SI units, and
:meth:`CellModel.with_bodies` adds them to a program's cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from weldcell.errors import ModelError
from weldcell.sim.cell_model import CellBody

if TYPE_CHECKING:
    from weldcell.program.model import Body
from weldcell.spatial import deg_to_rad, mm_to_m, se3_from_xyz_rpy

SCENE_SCHEMA = "weldcell.scene/1"
SHAPE_KEYS = ("box", "cylinder", "sphere", "mesh")


def load_scene(path: str | Path) -> tuple[CellBody, ...]:
    """Bodies of a scene file.

    Raises:
        ModelError: missing, unreadable or binary file, a folder, YAML syntax error, wrong schema, or
            a body that is not fully described (the message names the file, the body and the field).
    """
    p = Path(path)
    expected = f"expected a scene file (YAML, 'format: {SCENE_SCHEMA}', see sim/README.md)"
    if p.is_dir():
        raise ModelError(f"{p}: is a folder; {expected}")
    if not p.exists():
        raise ModelError(f"{p}: scene file not found")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ModelError(f"{p}: not a text file (byte {err.start} is not UTF-8); {expected}") from err
    except OSError as err:
        raise ModelError(f"{p}: cannot read the scene ({err.strerror or err})") from err
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ModelError(f"{p}{where}: YAML syntax error ({problem}); {expected}") from err
    if not isinstance(doc, dict) or doc.get("format") != SCENE_SCHEMA:
        raise ModelError(f"{p}: not a scene file (expected 'format: {SCENE_SCHEMA}')")
    bodies = doc.get("bodies")
    if not isinstance(bodies, list) or not bodies:
        raise ModelError(f"{p}: 'bodies' must be a non-empty list")
    return tuple(_body(p, i, b) for i, b in enumerate(bodies))


def _body(path: Path, i: int, b: Body) -> CellBody:
    where = f"{path}: bodies[{i}]"
    if not isinstance(b, dict) or "name" not in b or "role" not in b:
        raise ModelError(f"{where}: each body needs 'name' and 'role'")
    shapes = [k for k in SHAPE_KEYS if k in b]
    if len(shapes) != 1:
        raise ModelError(f"{where} ({b['name']}): give exactly one of {list(SHAPE_KEYS)}")
    pose = b.get("pose", {}) or {}
    try:
        xyz = np.asarray(mm_to_m(np.asarray(pose.get("xyz_mm", [0, 0, 0]), dtype=np.float64)))
        rpy = np.asarray(deg_to_rad(np.asarray(pose.get("rpy_deg", [0, 0, 0]), dtype=np.float64)))
        T = se3_from_xyz_rpy(xyz, rpy)
        shape = shapes[0]
        spec = b[shape]
        if shape == "box":
            size = np.asarray(spec["size_mm"], dtype=np.float64) / 1e3
            return CellBody(b["name"], b["role"], "box", T, size=size)
        if shape == "cylinder":
            return CellBody(
                b["name"], b["role"], "cylinder", T, radius=float(spec["radius_mm"]) / 1e3,
                length=float(spec["length_mm"]) / 1e3,
            )  # fmt: skip
        if shape == "sphere":
            return CellBody(b["name"], b["role"], "sphere", T, radius=float(spec["radius_mm"]) / 1e3)
        return CellBody(
            b["name"], b["role"], "mesh", T, mesh_path=(path.parent / spec["file"]).resolve(),
            mesh_scale=float(spec.get("scale", 0.001)),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(f"{where} ({b.get('name')}): missing or invalid field ({err})") from err
