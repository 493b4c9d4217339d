"""pybullet geometry of the cell-body shapes, one function per shape of ``weldcell.program.shapes``.

Each function returns the pieces of one body: ``(collision shape, visual shape, T_body_piece)``. Each
piece becomes a static pybullet body of its own with collision margin 0 (bullet rounds convex shapes
by their margin, 1 mm by default, and the margin of a multibody link cannot be changed), so its
distances are exact and the same as the planner's (``weldcell.planning.body_models``):

* box, cylinder, sphere: pybullet's own primitives;
* mesh: one convex hull per convex piece (``Mesh.convex_pieces``: the planner's very pieces), and
  the mesh file itself, scaled, as the visual of the first piece. pybullet's concave triangle mesh
  is not used: it has no inside (a capsule inside the part is not a contact) and its triangles keep
  a margin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.errors import ModelError
from weldcell.program.shapes import SHAPES, Box, Cylinder, Mesh, Shape, Sphere

NDArrayF = npt.NDArray[np.float64]
Piece = tuple[int, int, NDArrayF]  # collision shape id, visual shape id (-1: none), T_body_piece (4, 4)
Rgba = Sequence[float]


def _box(shape: Shape, cid: int, rgba: Rgba) -> list[Piece]:
    assert isinstance(shape, Box)  # mypy
    half = [0.5 * x for x in shape.extents]
    col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=cid)
    vis = pb.createVisualShape(pb.GEOM_BOX, halfExtents=half, rgbaColor=list(rgba), physicsClientId=cid)
    return [(col, vis, np.eye(4))]


def _cylinder(shape: Shape, cid: int, rgba: Rgba) -> list[Piece]:
    assert isinstance(shape, Cylinder)  # mypy
    r, h = shape.cyl_radius, shape.cyl_length
    col = pb.createCollisionShape(pb.GEOM_CYLINDER, radius=r, height=h, physicsClientId=cid)
    vis = pb.createVisualShape(
        pb.GEOM_CYLINDER, radius=r, length=h, rgbaColor=list(rgba), physicsClientId=cid
    )
    return [(col, vis, np.eye(4))]


def _sphere(shape: Shape, cid: int, rgba: Rgba) -> list[Piece]:
    assert isinstance(shape, Sphere)  # mypy
    r = shape.sphere_radius
    col = pb.createCollisionShape(pb.GEOM_SPHERE, radius=r, physicsClientId=cid)
    vis = pb.createVisualShape(pb.GEOM_SPHERE, radius=r, rgbaColor=list(rgba), physicsClientId=cid)
    return [(col, vis, np.eye(4))]


def _mesh(shape: Shape, cid: int, rgba: Rgba) -> list[Piece]:
    assert isinstance(shape, Mesh)  # mypy
    out: list[Piece] = []
    for k, piece in enumerate(shape.convex_pieces()):
        col = pb.createCollisionShape(pb.GEOM_MESH, vertices=piece.vertices.tolist(), physicsClientId=cid)
        vis = -1
        if k == 0:
            vis = pb.createVisualShape(
                pb.GEOM_MESH,
                fileName=str(shape.file),
                meshScale=[shape.scale] * 3,
                rgbaColor=list(rgba),
                physicsClientId=cid,
            )
        out.append((col, vis, np.eye(4)))
    return out


#: Per-shape builders, keyed like ``weldcell.program.shapes.SHAPES``.
PYBULLET_SHAPES: dict[str, Callable[[Shape, int, Rgba], list[Piece]]] = {
    Box.kind: _box,
    Cylinder.kind: _cylinder,
    Sphere.kind: _sphere,
    Mesh.kind: _mesh,
}


def pybullet_pieces(name: str, shape: Shape, cid: int, rgba: Rgba) -> list[Piece]:
    """The pybullet shapes of body ``name`` of shape ``shape`` in client ``cid``.

    Raises:
        ModelError: a shape without a pybullet builder, or one pybullet refuses.
    """
    build = PYBULLET_SHAPES.get(shape.kind)
    if build is None:
        raise ModelError(
            f"cell body {name!r}: the simulator has no model of shape {shape.kind!r} "
            f"(shapes it models: {', '.join(k for k in SHAPES if k in PYBULLET_SHAPES)})"
        )
    pieces = build(shape, cid, rgba)
    if not pieces or any(col < 0 for col, _, _ in pieces):
        raise ModelError(f"cell body {name!r}: pybullet could not create its {shape.kind} shape")
    return pieces
