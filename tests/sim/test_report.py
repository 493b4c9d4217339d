"""Report values: JSON summary and the HTML page with plots and images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from weldcell.sim import CellModel, PybulletWorld, Violation, ViolationKind, build_scene, validate_in_scene
from weldcell.sim.html_report import write_html_report
from weldcell.sim.render import snapshot_images
from weldcell.sim.validate import ValidationOptions
from weldcell.trajectory import JointTrajectory


def test_json_and_html(tmp_path: Path, good_traj: JointTrajectory, cell: CellModel) -> None:
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        report = validate_in_scene(scene, good_traj, ValidationOptions())
        images = snapshot_images(scene, good_traj, report, 160, 120)
    doc = json.loads(report.to_json())
    assert doc["passed"] is True and doc["n_violations"] == 0
    assert doc["trajectory_hash"] == good_traj.content_hash()
    assert doc["seams"][0]["seam_id"] == "fillet_left"
    assert set(images) >= {"start"} and len(images) == 2
    for img in images.values():
        assert img.shape == (120, 160, 3) and img.std() > 10  # not a blank frame
    page = write_html_report(report, tmp_path / "r.html", images)
    text = page.read_text()
    assert "PASSED" in text and text.count("data:image/png;base64") >= 6


def test_violation_message_is_readable() -> None:
    v = Violation(
        ViolationKind.COLLISION,
        1.5,
        1.75,
        None,
        "transit before seam s1",
        ("torch/torch_neck", "cell/clamp"),
        -0.004,
        0.002,
    )
    msg = v.message()
    assert "collision between torch/torch_neck and cell/clamp" in msg
    assert "t = 1.500 s–1.750 s" in msg and "-4 mm" in msg and "limit 2 mm" in msg
    assert v.as_dict()["value"] == -0.004
    assert np.isfinite(v.as_dict()["limit"])
