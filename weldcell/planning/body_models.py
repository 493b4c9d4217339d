"""The planner's model of the cell bodies: one function per shape of ``weldcell.program.shapes``.

Each function turns a body (its shape, in the robot base frame) into kernel inputs:

* box, cylinder, sphere: one exact primitive of ``weldcell.planning._collision_kernels`` (signed
  distance function in the body frame);
* mesh: its convex pieces (``Mesh.convex_pieces``, the very pieces the simulator loads into
  pybullet, scale applied), as face planes and triangles in the base frame for the closed-form
  kernel of ``weldcell.planning._convex_kernels``.

Bodies are ``weldcell.program.model.Body`` values, or any object with the flat body fields
(``name``, ``role``, ``shape``, ``size``, ``radius``, ``length``, ``mesh_path``, ``mesh_scale``,
``T_world_body``), whose shape is built through the same registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import BodyShapeError, ModelError
from weldcell.planning import _collision_kernels as kernels
from weldcell.program.shapes import SHAPES, Box, Cylinder, Mesh, Shape, Sphere, shape_from_fields
from weldcell.spatial import invert_transforms

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PrimitiveBody:
    """A body as one primitive of the capsule kernels (kind ``SPHERE``/``BOX``/``CYLINDER``)."""

    name: str
    role: str
    kind: int
    T_base_body: NDArrayF
    h: NDArrayF


@dataclass(frozen=True, slots=True)
class ConvexBody:
    """One convex piece of a body in the robot base frame.

    Attributes:
        name: Name of the body the piece belongs to.
        role: Its role.
        planes: Outward face planes ``[nx, ny, nz, offset]`` [m], shape (F, 4).
        tris: Face corners [m], shape (F, 9).
        sphere: Bounding sphere centre and radius [m], shape (4,).
        note: What the piece stands for when it is not the shell itself, for messages
            (``"convex hull of its non-convex shell 2"``), else "".
    """

    name: str
    role: str
    planes: NDArrayF
    tris: NDArrayF
    sphere: NDArrayF
    note: str = ""


Model = list[PrimitiveBody | ConvexBody]


def _box(name: str, role: str, shape: Shape, T_base_body: NDArrayF) -> Model:
    assert isinstance(shape, Box)  # mypy
    return [PrimitiveBody(name, role, kernels.BOX, T_base_body, 0.5 * np.asarray(shape.extents))]


def _sphere(name: str, role: str, shape: Shape, T_base_body: NDArrayF) -> Model:
    assert isinstance(shape, Sphere)  # mypy
    return [PrimitiveBody(name, role, kernels.SPHERE, T_base_body, np.array([shape.sphere_radius, 0.0, 0.0]))]


def _cylinder(name: str, role: str, shape: Shape, T_base_body: NDArrayF) -> Model:
    assert isinstance(shape, Cylinder)  # mypy
    h = np.array([shape.cyl_radius, 0.5 * shape.cyl_length, 0.0])
    return [PrimitiveBody(name, role, kernels.CYLINDER, T_base_body, h)]


def _mesh(name: str, role: str, shape: Shape, T_base_body: NDArrayF) -> Model:
    assert isinstance(shape, Mesh)  # mypy
    R, t = T_base_body[:3, :3], T_base_body[:3, 3]
    out: Model = []
    for piece in shape.convex_pieces():
        v = piece.vertices @ R.T + t
        n = piece.normals @ R.T
        planes = np.column_stack([n, piece.offsets + n @ t])
        tris = v[piece.triangles].reshape(-1, 9)
        centre = 0.5 * (v.min(axis=0) + v.max(axis=0))
        radius = float(np.linalg.norm(v - centre, axis=1).max())
        note = ""
        if not piece.closed:
            note = f"convex hull of its open shell {piece.shell + 1}"
        elif piece.added_volume > 0.0:
            note = f"convex hull of its non-convex shell {piece.shell + 1}"
        out.append(ConvexBody(name, role, planes, tris, np.array([*centre, radius]), note))
    return out


#: Per-shape planner models, keyed like ``weldcell.program.shapes.SHAPES``.
PLANNER_SHAPES: dict[str, Callable[[str, str, Shape, NDArrayF], Model]] = {
    Box.kind: _box,
    Cylinder.kind: _cylinder,
    Sphere.kind: _sphere,
    Mesh.kind: _mesh,
}


def body_shape(body: Any) -> Shape:
    """The shape value of a body (``Body.geometry``, or built from the flat fields of a duck-typed body).

    Raises:
        ModelError: an unknown shape or missing/invalid fields (the message names the body).
    """
    geometry = getattr(body, "geometry", None)
    if isinstance(geometry, Shape):
        return geometry
    try:
        return shape_from_fields(
            body.shape,
            size=getattr(body, "size", None),
            radius=float(getattr(body, "radius", 0.0) or 0.0),
            length=float(getattr(body, "length", 0.0) or 0.0),
            mesh_path=getattr(body, "mesh_path", None),
            mesh_scale=float(getattr(body, "mesh_scale", 1.0) or 1.0),
        )
    except BodyShapeError as err:
        raise BodyShapeError(f"body {body.name!r}: {err.message}", field=err.field) from None


def bodies_in_base(cell: Any) -> tuple[list[PrimitiveBody], list[ConvexBody]]:
    """The cell's bodies in the robot base frame: kernel primitives and convex pieces.

    Raises:
        ModelError: a body whose shape the planner has no model of, or with invalid fields.
    """
    T_base_world = invert_transforms(np.asarray(cell.T_world_base, dtype=np.float64))
    prims: list[PrimitiveBody] = []
    pieces: list[ConvexBody] = []
    for body in cell.bodies:
        shape = body_shape(body)
        build = PLANNER_SHAPES.get(shape.kind)
        if build is None:
            raise ModelError(
                f"body {body.name!r}: the planner has no model of shape {shape.kind!r} "
                f"(shapes it models: {', '.join(k for k in SHAPES if k in PLANNER_SHAPES)})"
            )
        T_base_body = T_base_world @ np.asarray(body.T_world_body, dtype=np.float64)
        for item in build(body.name, body.role, shape, T_base_body):
            if isinstance(item, PrimitiveBody):
                prims.append(item)
            else:
                pieces.append(item)
    return prims, pieces
