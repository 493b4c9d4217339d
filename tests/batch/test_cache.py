"""The content key: what changes it (program bytes, model files, options) and what does not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from batch_catalogue import write_catalogue

from weldcell.batch import ResultCache, cache_key, model_files, planner_version
from weldcell.kinematics import urdf_path
from weldcell.program import load_program

OPTIONS = {"dt_ms": 2.0, "seed": 0}


def test_key_follows_program_bytes_options_and_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (path,) = write_catalogue(1, tmp_path / "cat")
    prog = load_program(path)
    key = cache_key(prog, OPTIONS)
    assert len(key) == 64
    assert cache_key(prog, dict(OPTIONS)) == key  # same content, same key
    moved = tmp_path / "elsewhere.yaml"
    shutil.copy(path, moved)
    assert cache_key(load_program(moved), OPTIONS) == key  # content, not the file's name
    assert cache_key(prog, {**OPTIONS, "seed": 1}) != key
    path.write_text(path.read_text().replace("travel_angle_deg: 5", "travel_angle_deg: 6"))
    assert cache_key(load_program(path), OPTIONS) != key

    # the robot's URDF is part of the key: a changed model must not serve an old plan
    files = model_files(prog)
    assert urdf_path(prog.cell.robot) in files and urdf_path(prog.cell.torch) in files
    fake = tmp_path / "urdf"
    fake.mkdir()
    for f in files:
        shutil.copy(f, fake / f.name)
    import weldcell.kinematics.models as models

    monkeypatch.setattr(models, "URDF_DIR", fake)
    prog2 = load_program(moved)
    same = cache_key(prog2, OPTIONS)
    assert same == key
    robot_urdf = fake / f"{prog.cell.robot}.urdf"
    robot_urdf.write_text(robot_urdf.read_text() + "\n<!-- edited -->\n")
    assert cache_key(prog2, OPTIONS) != key


def test_planner_version_names_the_release() -> None:
    from weldcell import __version__

    v = planner_version()
    assert v.startswith(__version__ + "+") and len(v.split("+")[1]) == 12


def test_cache_entry_is_complete_or_absent(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "plan.json").write_text("{}")
    cache = ResultCache(tmp_path / "cache")
    key = "ab" * 32
    assert cache.get(key) is None
    entry = cache.put(key, src, ["plan.json"], {"files": ["plan.json"], "status": "ok"})
    got = cache.get(key)
    assert got is not None and got[0] == entry and got[1]["status"] == "ok"
    (entry / "plan.json").unlink()  # pruned by hand: not trusted
    assert cache.get(key) is None
    (entry / "result.json").write_text(json.dumps({"files": "not a list"}))
    assert cache.get(key) is None
