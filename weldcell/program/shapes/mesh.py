"""Mesh shape: a triangle mesh file (STL, OBJ, PLY, ...) scaled to metres, and its convex pieces.

Planner and simulator model a mesh body by the same convex pieces (:meth:`Mesh.convex_pieces`), so
their distances agree exactly (the planner's kernel is closed form against the pieces' faces,
pybullet loads each piece as a convex hull with collision margin 0).

The rule for the pieces: **each connected shell of the mesh is one convex piece, its convex hull.**
A part that is not convex is therefore modelled as several closed convex shells in one file (export
the CAD bodies of an L bracket as two boxes, an OBJ with several objects, ...): that is exact. A shell
that is not convex is replaced by its hull, which adds volume (conservative: nothing that touches the
shell is missed); :meth:`Mesh.hull_warnings` names the shell and the added volume, and
``weldcell check`` shows them. A shell that is not closed has no volume to compare: it is warned
about too. A flat shell (no thickness) cannot be modelled and is an error.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from weldcell.errors import BodyShapeError
from weldcell.program._spec_base import StrictSpec
from weldcell.program.shapes.base import NDArrayF, Shape, positive

ADDED_VOLUME_WARN = 1e-9  # [m^3] (1 mm^3): a hull adding less than this is the shell itself
ADDED_VOLUME_REL = 1e-4  # ... or less than this fraction of the shell's volume (tessellation noise)
MIN_THICKNESS = 1e-6  # [m] a shell thinner than this in some direction is flat
# above this many hull vertices pybullet's GJK distance loses accuracy (measured: 0.09 mm at 2 562)
FINE_HULL_VERTICES = 1000


class MeshSpec(StrictSpec):
    """A triangle mesh file (STL/OBJ), path relative to the program file."""

    file: str
    scale: float = Field(default=0.001, gt=0.0, description="Mesh units to m (0.001: file in mm).")


@dataclass(frozen=True, slots=True)
class ConvexPiece:
    """One convex piece of a mesh body, in the body frame [m].

    Attributes:
        vertices: Hull vertices [m], shape (V, 3).
        triangles: Hull triangles as vertex indices, outward winding, shape (F, 3).
        normals: Outward unit normal per triangle, shape (F, 3).
        offsets: Plane offset per triangle [m]: points x with ``normals @ x <= offsets`` are inside.
        shell: Index of the mesh shell the piece is the hull of.
        closed: Whether that shell is closed (watertight).
        added_volume: Hull volume minus shell volume [m^3] (NaN when the shell is not closed).
    """

    vertices: NDArrayF
    triangles: npt.NDArray[np.int64]
    normals: NDArrayF
    offsets: NDArrayF
    shell: int
    closed: bool
    added_volume: float


#: Largest extent of a mesh body [m]: beyond it the scale is wrong (a file in millimetres read
#: with ``scale: 1`` makes a 300 mm part 300 m long), not the part.
MAX_MESH_SPAN = 20.0


@dataclass(frozen=True, slots=True)
class Mesh(Shape):
    """A triangle mesh file, vertices in the body frame in file units times ``scale``.

    Attributes:
        file: Mesh file (absolute).
        scale: Factor from file units to m (0.001 for a file in millimetres).
    """

    kind: ClassVar[str] = "mesh"
    Spec: ClassVar[type[MeshSpec]] = MeshSpec
    file: Path
    scale: float = 1.0

    def __post_init__(self) -> None:
        p = Path(self.file)
        if not p.is_file():
            raise BodyShapeError(f"mesh file not found: {p}", field=("file",))
        object.__setattr__(self, "file", p.resolve())
        object.__setattr__(self, "scale", positive(self.scale, "scale", "(mesh units to m)"))

    @classmethod
    def from_spec(cls, spec: Any, base_dir: Path) -> Mesh:
        path = (base_dir / spec.file).resolve()
        if not path.is_file():
            raise BodyShapeError(f"mesh file '{spec.file}' not found (looked in {base_dir})", field=("file",))
        shape = cls(path, float(spec.scale))
        shape.convex_pieces()  # an unreadable file or a flat shell is an error of the program, at its line
        return shape

    @classmethod
    def from_fields(
        cls,
        *,
        size: npt.ArrayLike | None,
        radius: float,
        length: float,
        mesh_path: Path | str | None,
        mesh_scale: float,
    ) -> Mesh:
        if mesh_path is None:
            raise BodyShapeError("a mesh needs a file, got none", field=("file",))
        return cls(Path(mesh_path), mesh_scale)

    def to_spec(self, base_dir: Path) -> dict[str, Any]:
        try:
            file = str(self.file.relative_to(base_dir.resolve()))
        except ValueError:
            file = str(self.file)
        return {"file": file, "scale": self.scale}

    def convex_pieces(self) -> tuple[ConvexPiece, ...]:
        """The convex pieces (one per shell, see the module docstring), in the body frame [m].

        Raises:
            BodyShapeError: unreadable file, no triangles, or a flat shell.
        """
        st = self.file.stat()
        return _pieces(str(self.file), st.st_mtime_ns, st.st_size, self.scale)

    def hull_warnings(self, body: str) -> list[str]:
        """Sentences about shells that the pieces do not model exactly (``body`` names the body)."""
        return [message for _, message in self.hull_notes(body)]

    def hull_notes(self, body: str) -> list[tuple[ConvexPiece, str]]:
        """(piece, sentence) for each piece that is a hull of a non-convex or open shell, or is so
        finely tessellated that pybullet's distances to it lose accuracy (``FINE_HULL_VERTICES``)."""
        out = []
        for piece in self.convex_pieces():
            where = f"body '{body}': mesh {self.file.name} shell {piece.shell + 1}"
            if not piece.closed:
                out.append(
                    (
                        piece,
                        f"{where} is not closed; the planner and the simulator use its convex hull "
                        "(export closed solids for an exact model)",
                    )
                )
            elif piece.added_volume > 0.0:
                out.append(
                    (
                        piece,
                        f"{where} is not convex; its convex hull adds {piece.added_volume * 1e9:.0f} mm³ "
                        "(the planner and the simulator keep away from the hull; split the part into "
                        "convex closed shells in one file for an exact model)",
                    )
                )
            if len(piece.vertices) > FINE_HULL_VERTICES:
                out.append(
                    (
                        piece,
                        f"{where} has {len(piece.vertices)} hull vertices; pybullet's distances to so "
                        "fine a hull may differ from the planner's by more than 0.1 mm (export it with "
                        f"at most {FINE_HULL_VERTICES} vertices)",
                    )
                )
        return out

    def trimesh(self) -> Any:
        """The mesh in metres as a ``trimesh.Trimesh`` (body frame)."""
        return _load(str(self.file), self.file.stat().st_mtime_ns, self.scale)

    def signed_distance(self, p_body: NDArrayF) -> NDArrayF:
        import trimesh

        mesh = self.trimesh()
        d = trimesh.proximity.signed_distance(mesh, np.asarray(p_body, dtype=np.float64))
        return -np.asarray(d, dtype=np.float64)  # trimesh: > 0 inside

    def bounding_radius(self) -> float:
        return float(max(np.linalg.norm(p.vertices, axis=1).max() for p in self.convex_pieces()))

    def describe(self) -> dict[str, Any]:
        return {"mesh": hashlib.sha256(self.file.read_bytes()).hexdigest(), "mesh_scale": self.scale}

    @property
    def mesh_path(self) -> Path | None:
        return self.file

    @property
    def mesh_scale(self) -> float:
        return self.scale


@functools.lru_cache(maxsize=32)
def _load(path: str, mtime_ns: int, scale: float) -> Any:
    import trimesh

    try:
        mesh = trimesh.load(path, force="mesh")
    except Exception as err:  # trimesh raises many types for unreadable files
        raise BodyShapeError(f"cannot read mesh file {path}: {err}", field=("file",)) from err
    faces = getattr(mesh, "faces", None)
    if faces is None or len(faces) == 0:
        raise BodyShapeError(f"mesh file {path} has no triangles", field=("file",))
    vertices = np.asarray(getattr(mesh, "vertices", ()), dtype=np.float64)
    if not np.isfinite(vertices).all():
        raise BodyShapeError(
            f"mesh file {path} has vertices with NaN or infinite coordinates; expected finite numbers",
            field=("file",),
        )
    mesh.apply_scale(scale)
    span = float(np.ptp(vertices, axis=0).max()) * scale
    if span > MAX_MESH_SPAN:
        raise BodyShapeError(
            f"mesh file {path} is {span:.4g} m across at scale {scale:g}; a welding cell part is at most "
            f"{MAX_MESH_SPAN:g} m (a file in millimetres needs scale 0.001, the default)",
            field=("scale",),
        )
    return mesh


@functools.lru_cache(maxsize=32)
def _pieces(path: str, mtime_ns: int, size: int, scale: float) -> tuple[ConvexPiece, ...]:
    import trimesh

    mesh = _load(path, mtime_ns, scale)
    shells = mesh.split(only_watertight=False)
    out = []
    for k, shell in enumerate(shells):
        pts = np.asarray(shell.vertices, dtype=np.float64)
        span = float(np.ptp(pts, axis=0).max()) if len(pts) else 0.0
        flat = BodyShapeError(
            f"mesh file {path}: shell {k + 1} is flat (no thickness); model solids, not surfaces",
            field=("file",),
        )
        if len(pts) < 4 or span < MIN_THICKNESS:
            raise flat
        try:
            hull = trimesh.convex.convex_hull(pts)
        except Exception as err:  # qhull: flat or degenerate input
            raise flat from err
        if not hull.volume > MIN_THICKNESS * span * span:
            raise flat
        verts = np.ascontiguousarray(hull.vertices, dtype=np.float64)
        tris = np.asarray(hull.faces, dtype=np.int64)
        normals = np.asarray(hull.face_normals, dtype=np.float64)
        proper = np.isfinite(normals).all(axis=1) & (np.linalg.norm(normals, axis=1) > 0.5)
        tris = np.ascontiguousarray(tris[proper])  # sliver faces have no plane; their edges are in others
        normals = np.ascontiguousarray(normals[proper])
        offsets = np.einsum("ij,ij->i", normals, verts[tris[:, 0]])
        closed = bool(shell.is_watertight)
        added = float(hull.volume - abs(shell.volume)) if closed else float("nan")
        if closed and added <= max(ADDED_VOLUME_WARN, ADDED_VOLUME_REL * abs(shell.volume)):
            added = 0.0  # the shell is convex (to tessellation noise)
        for a in (verts, tris, normals, offsets):
            a.flags.writeable = False
        out.append(ConvexPiece(verts, tris, normals, offsets, k, closed, added))
    return tuple(out)
