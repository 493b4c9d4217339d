"""Tool paths: seam + procedure → torch poses ``T_world_tcp`` parametrised by seam arc length.

Seam frame convention (see :mod:`weldcell.toolpath.frames` and ``docs/program-format.md``): x along
travel, z the torch approach direction (from the torch into the joint), y = z × x; work angle in the
plane across the joint, measured from the reference surface; travel angle in the plane along it,
push positive, drag negative.
"""

from __future__ import annotations

from weldcell.program.geometry import SeamCurve
from weldcell.toolpath.frames import (
    joint_directions,
    joint_frame,
    seam_frame,
    torch_angles,
    torch_rotation,
)
from weldcell.toolpath.path import SegmentPath, seam_samples
from weldcell.toolpath.plausibility import ProgramWarning, program_warnings
from weldcell.toolpath.segments import (
    WeldSegment,
    sample_step,
    toolpaths_for_program,
    toolpaths_for_seam,
)
from weldcell.toolpath.weave import triangle_wave, weave_corner_times, weave_offsets

__all__ = [
    "ProgramWarning",
    "SeamCurve",
    "SegmentPath",
    "WeldSegment",
    "joint_directions",
    "joint_frame",
    "program_warnings",
    "sample_step",
    "seam_frame",
    "seam_samples",
    "toolpaths_for_program",
    "toolpaths_for_seam",
    "torch_angles",
    "torch_rotation",
    "triangle_wave",
    "weave_corner_times",
    "weave_offsets",
]
