"""Scene files: bodies through the program's body schema and shape registry (one parser)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from weldcell.errors import ModelError
from weldcell.sim.scenes import load_scene


def test_scenes_use_the_same_body_parser(tmp_path: Path) -> None:
    trimesh.creation.box((100.0, 100.0, 100.0)).export(tmp_path / "cube.stl")
    scene = tmp_path / "scene.yaml"
    scene.write_text(
        "format: weldcell.scene/1\nbodies:\n"
        "  - {name: cube, role: fixture, mesh: {file: cube.stl}, pose: {xyz_mm: [100, 0, 0]}}\n"
        "  - {name: rod, role: obstacle, cylinder: {radius_mm: 5, length_mm: 200}}\n"
    )
    cube, rod = load_scene(scene)
    assert cube.mesh_scale == 0.001 and cube.geometry.bounding_radius() == pytest.approx(0.05 * np.sqrt(3))
    assert rod.radius == pytest.approx(0.005) and rod.length == pytest.approx(0.2)
    scene.write_text(
        "format: weldcell.scene/1\nbodies:\n"
        "  - {name: rod, role: obstacle, cylinder: {radius_mm: -5, length_mm: 2}}\n"
    )
    with pytest.raises(ModelError, match=r"bodies\[0\] \(rod\): cylinder\.radius_mm"):
        load_scene(scene)
