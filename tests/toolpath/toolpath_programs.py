"""Helpers for the tool-path tests: write small single-seam programs from Python dicts."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from weldcell.program import Program, load_program

BASE: dict[str, Any] = {
    "format": "weldcell.program/1",
    "name": "test",
    "cell": {
        "robot": "ur5e",
        "torch": {"model": "torch_mig_22", "stickout_mm": 15},
        "home_deg": [0, -90, 90, -90, -90, 0],
        "approach_mm": 40,
        "retract_mm": 60,
        "bodies": [
            {
                "name": "part",
                "role": "workpiece",
                "box": {"size_mm": [200, 200, 10]},
                "pose": {"xyz_mm": [500, 0, 5], "rpy_deg": [0, 0, 30]},
            }
        ],
    },
    "procedures": {
        "p": {
            "process": "mag",
            "travel_speed_mm_s": 8,
            "wire_feed_m_min": 8,
            "work_angle_deg": 45,
            "travel_angle_deg": 10,
        }
    },
    "seams": [],
}


def make_program(
    tmp: Path,
    seam: dict[str, Any],
    procedure: dict[str, Any] | None = None,
    extra_procedures: dict[str, Any] | None = None,
) -> Program:
    """Write a one-seam program (``seam`` merged onto a fillet on ``part``) and load it."""
    data = copy.deepcopy(BASE)
    if procedure:
        data["procedures"]["p"].update(procedure)
    if extra_procedures:
        data["procedures"].update(extra_procedures)
    s = {
        "id": "s",
        "joint": "fillet",
        "workpiece": "part",
        "procedure": "p",
        "normals": [[0, 0, 1], [0, 1, 0]],
    }
    s.update(seam)
    s = {k: v for k, v in s.items() if v is not None}  # a None value removes a default key
    data["seams"] = [s]
    path = tmp / "prog.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_program(path)
