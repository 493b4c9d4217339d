"""Reusable scenes: static cell bodies from the YAML files in the top-level ``sim/`` folder.

A scene file (schema ``weldcell.scene/1``, see ``sim/README.md``) lists bodies in program units
(mm, deg); :func:`load_scene` converts them, with the program's body schema and shape registry, to
:class:`~weldcell.program.model.Body` values in SI units, and
:meth:`CellModel.with_bodies` adds them to a program's cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import yaml

from weldcell.errors import BodyShapeError, ModelError
from weldcell.program.checks import pose
from weldcell.program.model import Body
from weldcell.program.schema import BodySpec
from weldcell.program.shapes import SHAPES

SCENE_SCHEMA = "weldcell.scene/1"
SHAPE_KEYS = tuple(SHAPES)


def load_scene(path: str | Path) -> tuple[Body, ...]:
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
    from weldcell.program.yamlio import safe_load_yaml

    try:
        doc = safe_load_yaml(text)
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


def _body(path: Path, i: int, b: Any) -> Body:
    """One scene body, through the program's body schema and shape registry (one parser)."""
    where = f"{path}: bodies[{i}]"
    if not isinstance(b, dict) or "name" not in b or "role" not in b:
        raise ModelError(f"{where}: each body needs 'name' and 'role'")
    name = b.get("name")
    shapes = [k for k in SHAPES if k in b]
    if len(shapes) != 1:
        raise ModelError(f"{where} ({name}): give exactly one of {list(SHAPES)}")
    try:
        spec = BodySpec.model_validate(b)
    except pydantic.ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(x) for x in first["loc"])
        raise ModelError(f"{where} ({name}): {field}: {first['msg']}") from None
    kind = shapes[0]
    try:
        geometry = SHAPES[kind].from_spec(getattr(spec, kind), path.parent)
    except BodyShapeError as err:
        field = ".".join((kind, *err.field))
        raise ModelError(f"{where} ({name}): {field}: {err.message}") from None
    return Body.of(spec.name, spec.role, geometry, pose(spec.pose))
