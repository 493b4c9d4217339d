"""Read mesh assemblies (one body per part) with trimesh, and write parts back as STL.

Accepted: STL, OBJ, PLY, OFF, glTF/GLB (each mesh node is a part, with its node transform), or a
folder of such files (each file is a part). A file with a single mesh (STL, PLY, an OBJ without
objects) is split into its connected shells, each a part; two faces belong to one shell when they
share an edge that no other face has, so touching parts (coincident corners, flush faces) stay
apart. STEP and IGES are not read: no package on the registry reads them reliably without a CAD
kernel, and the error says what to export instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from weldcell.cad.contacts import Part
from weldcell.cad.detect import make_part
from weldcell.cad.mesh import weld_vertices
from weldcell.cad.seam import DetectOptions
from weldcell.errors import AssemblyError

NDArrayF = npt.NDArray[np.float64]
NDArrayI = npt.NDArray[np.int64]

MESH_SUFFIXES = (".stl", ".obj", ".ply", ".off", ".glb", ".gltf")
_CAD_SUFFIXES = (".step", ".stp", ".iges", ".igs", ".sldprt", ".sldasm", ".ipt", ".iam", ".x_t", ".sat")


def load_assembly(path: str | Path, scale: float = 1e-3, opt: DetectOptions | None = None) -> list[Part]:
    """Read an assembly and return its parts, cleaned, in metres.

    Args:
        path: A mesh file or a folder of mesh files.
        scale: File units to metres (0.001: the file is in millimetres).
        opt: Detection options (vertex merge distance, edge sharpness).

    Raises:
        AssemblyError: Missing or unreadable file, unsupported format, no faces, fewer than two
            parts. The message names the file.
    """
    opt = opt or DetectOptions()
    p = Path(path)
    if not (np.isfinite(scale) and scale > 0):
        raise AssemblyError(f"{p}: the unit scale must be > 0, got {scale}")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in MESH_SUFFIXES)
        if not files:
            raise AssemblyError(f"{p}: the folder has no mesh files ({', '.join(MESH_SUFFIXES)})")
        raw: list[tuple[str, NDArrayF, NDArrayI]] = []
        for f in files:
            bodies = _read(f)
            raw += bodies if len(bodies) > 1 else [(f.stem, bodies[0][1], bodies[0][2])]
    else:
        raw = _read(p)
    parts = []
    names: set[str] = set()
    for name, V, F in raw:
        clean = _unique(_safe(name), names)
        try:
            parts.append(make_part(clean, V * scale, F, opt))
        except ValueError as err:
            raise AssemblyError(f"{p}: {err}") from None
    if len(parts) < 2:
        raise AssemblyError(
            f"{p}: found {len(parts)} part(s); seam detection needs at least two. Export one body per "
            "part (glTF/GLB nodes, separate shells in one STL, or a folder with one file per part)"
        )
    return parts


def _safe(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.")
    return s or "part"


def _unique(name: str, used: set[str]) -> str:
    out, k = name, 2
    while out in used:
        out, k = f"{name}_{k}", k + 1
    used.add(out)
    return out


def _read(f: Path) -> list[tuple[str, NDArrayF, NDArrayI]]:
    import trimesh

    suffix = f.suffix.lower()
    if suffix in _CAD_SUFFIXES:
        raise AssemblyError(
            f"{f}: {suffix[1:].upper()} is not supported (no CAD kernel is installed to read it "
            "reliably); export the assembly from your CAD system as STL, OBJ, PLY or glTF/GLB with "
            "one body per part, in millimetres"
        )
    if suffix not in MESH_SUFFIXES:
        raise AssemblyError(
            f"{f}: unknown file type {suffix or '(none)'}; expected one of {', '.join(MESH_SUFFIXES)}"
        )
    if not f.is_file():
        raise AssemblyError(f"{f}: file not found")
    try:
        loaded = trimesh.load(str(f), process=False)
    except Exception as err:  # trimesh raises many types for broken files
        raise AssemblyError(f"{f}: cannot read the mesh: {type(err).__name__}: {err}") from None
    if isinstance(loaded, trimesh.Scene):
        out = []
        for node in loaded.graph.nodes_geometry:
            T, geom_name = loaded.graph[node]
            g = loaded.geometry.get(geom_name)
            if not isinstance(g, trimesh.Trimesh) or len(g.faces) == 0:
                continue
            V = np.asarray(g.vertices, dtype=np.float64) @ np.asarray(T)[:3, :3].T + np.asarray(T)[:3, 3]
            out.append((str(node), V, np.asarray(g.faces, dtype=np.int64)))
        if not out:
            raise AssemblyError(f"{f}: no triangle meshes in the file")
        if len(out) == 1:
            return _shells(f.stem, out[0][1], out[0][2], f)
        return out
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise AssemblyError(f"{f}: no triangles in the file (a point cloud or an empty mesh)")
    return _shells(f.stem, np.asarray(loaded.vertices, np.float64), np.asarray(loaded.faces, np.int64), f)


def _shells(stem: str, V: NDArrayF, F: NDArrayI, f: Path) -> list[tuple[str, NDArrayF, NDArrayI]]:
    """Split one mesh into shells connected through edges shared by exactly two faces."""
    if not np.all(np.isfinite(V)):
        raise AssemblyError(f"{f}: the mesh has NaN or infinite vertex coordinates")
    if F.size and (F.min() < 0 or F.max() >= len(V)):
        raise AssemblyError(f"{f}: faces refer to vertices that do not exist")
    span = float(np.max(np.ptp(V, axis=0))) if len(V) else 0.0
    Vw, Fw = weld_vertices(V, F, max(span * 1e-9, 1e-12))
    e = np.sort(np.concatenate([Fw[:, [0, 1]], Fw[:, [1, 2]], Fw[:, [2, 0]]]), axis=1)
    fid = np.tile(np.arange(len(Fw)), 3)
    _, inv, cnt = np.unique(e, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    two = np.flatnonzero(cnt[inv] == 2)
    order = two[np.argsort(inv[two], kind="stable")].reshape(-1, 2)
    a, b = fid[order[:, 0]], fid[order[:, 1]]
    n = len(Fw)
    g = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    k, lab = connected_components(g, directed=False)
    if k == 1:
        return [(stem, Vw, Fw)]
    out: list[tuple[str, NDArrayF, NDArrayI]] = []
    for i in range(k):
        Fi = Fw[lab == i]
        if len(Fi) < 4:  # slivers and stray triangles are not parts
            continue
        out.append((f"{stem}_{len(out) + 1}", Vw, Fi))
    return out


def save_part_stl(part: Part, path: Path, scale: float = 1e3) -> None:
    """Write a part's cleaned mesh as binary STL (``scale`` from metres to file units, default mm)."""
    import trimesh

    mesh = trimesh.Trimesh(part.mesh.V * scale, part.mesh.F, process=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mesh.export(str(path), file_type="stl")
    except OSError as err:
        raise AssemblyError(f"{path}: cannot write the part mesh: {err.strerror}") from None
