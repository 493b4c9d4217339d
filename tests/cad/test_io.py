"""Reading assemblies: file formats round trip, shells split into parts, clear errors naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from weldcell.cad import detect_seams
from weldcell.cad.io import load_assembly, save_part_stl
from weldcell.cad.testparts import GENERATORS
from weldcell.errors import AssemblyError

from .conftest import write_stl


@pytest.fixture(scope="module")
def box_asm():  # type: ignore[no-untyped-def]
    return GENERATORS["box"](np.random.default_rng(4))


def _signature(parts):  # type: ignore[no-untyped-def]
    return sorted((s.joint, s.curve, round(s.length * 1e6)) for s in detect_seams(parts))


def test_formats_round_trip(box_asm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # multi-body STL: the five touching boxes (shared corners and edges) stay five parts
    stl = load_assembly(write_stl(box_asm, tmp_path / "box.stl"))
    assert len(stl) == 5
    ref = _signature(stl)
    assert len(ref) == 16
    # glTF binary: one node per part, with the node transforms applied
    scene = trimesh.Scene()
    for name, V, F in box_asm.parts:
        c = V.mean(axis=0)
        T = np.eye(4)
        T[:3, 3] = c * 1e3
        scene.add_geometry(
            trimesh.Trimesh((V - c) * 1e3, F, process=False), node_name=name, geom_name=name, transform=T
        )
    scene.export(str(tmp_path / "box.glb"))
    glb = load_assembly(tmp_path / "box.glb")
    assert sorted(p.name for p in glb) == sorted(n for n, _, _ in box_asm.parts)
    assert _signature(glb) == ref
    # a folder with one OBJ / PLY per part, in metres
    folder = tmp_path / "parts"
    folder.mkdir()
    for k, (name, V, F) in enumerate(box_asm.parts):
        trimesh.Trimesh(V, F, process=False).export(str(folder / f"{name}.{('obj', 'ply')[k % 2]}"))
    parts = load_assembly(folder, scale=1.0)
    assert sorted(p.name for p in parts) == sorted(n for n, _, _ in box_asm.parts)
    assert _signature(parts) == ref
    # the parts written for a program read back the same
    out = tmp_path / "out"
    for p in parts:
        save_part_stl(p, out / f"{p.name}.stl")
    assert _signature(load_assembly(out)) == ref


def test_bad_files_name_the_file(box_asm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    step = tmp_path / "a.step"
    step.write_text("ISO-10303-21;")
    with pytest.raises(AssemblyError, match=r"a\.step: STEP is not supported.*export .* STL"):
        load_assembly(step)
    with pytest.raises(AssemblyError, match=r"missing\.stl: file not found"):
        load_assembly(tmp_path / "missing.stl")
    junk = tmp_path / "junk.ply"
    junk.write_bytes(b"\x00\x01garbage")
    with pytest.raises(AssemblyError, match=r"junk\.ply"):
        load_assembly(junk)
    one = tmp_path / "one.stl"
    _name, V, F = box_asm.parts[0]
    trimesh.Trimesh(V * 1e3, F).export(str(one))
    with pytest.raises(
        AssemblyError, match=r"one\.stl: found 1 part\(s\); seam detection needs at least two"
    ):
        load_assembly(one)
    with pytest.raises(AssemblyError, match=r"unknown file type \.txt"):
        load_assembly(tmp_path / "x.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssemblyError, match="no mesh files"):
        load_assembly(tmp_path / "empty")
