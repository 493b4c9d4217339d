"""The shape vocabulary of cell bodies: one registry, one small class (module) per shape.

``SHAPES`` maps a shape name (also its YAML block, ``box: {size_mm: ...}``) to its class. The
program schema, loader and saver iterate over it; the planner (``weldcell.planning.body_models``)
and the simulator (``weldcell.sim.body_shapes``) key their per-shape function by the same names, and
a test checks that each registered shape has both. Adding a shape: its module here (schema block,
SI value, save form, signed distance), one line in ``SHAPES``, one planner and one simulator function.
"""

from __future__ import annotations

from pathlib import Path

import numpy.typing as npt

from weldcell.errors import BodyShapeError
from weldcell.program.shapes.base import Shape
from weldcell.program.shapes.box import Box
from weldcell.program.shapes.cylinder import Cylinder
from weldcell.program.shapes.mesh import ConvexPiece, Mesh
from weldcell.program.shapes.sphere import Sphere

SHAPES: dict[str, type[Shape]] = {cls.kind: cls for cls in (Box, Cylinder, Sphere, Mesh)}


def shape_class(kind: str) -> type[Shape]:
    """The class of shape ``kind`` (:class:`BodyShapeError` listing the known shapes otherwise)."""
    try:
        return SHAPES[kind]
    except (KeyError, TypeError):
        raise BodyShapeError(
            f"unknown shape {kind!r}; expected one of {', '.join(SHAPES)}", field=("shape",)
        ) from None


def shape_from_fields(
    kind: str,
    *,
    size: npt.ArrayLike | None = None,
    radius: float = 0.0,
    length: float = 0.0,
    mesh_path: Path | str | None = None,
    mesh_scale: float = 1.0,
) -> Shape:
    """A shape from a body's flat fields in SI (size [m] (3,), radius [m], length [m], mesh file, scale).

    Raises:
        BodyShapeError: unknown ``kind`` or a missing/invalid field of that shape.
    """
    return shape_class(kind).from_fields(
        size=size, radius=radius, length=length, mesh_path=mesh_path, mesh_scale=mesh_scale
    )


__all__ = [
    "SHAPES",
    "Box",
    "ConvexPiece",
    "Cylinder",
    "Mesh",
    "Shape",
    "Sphere",
    "shape_class",
    "shape_from_fields",
]
