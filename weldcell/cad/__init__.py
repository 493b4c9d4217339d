"""Seams from CAD: find candidate weld seams on mesh assemblies and write them as a program.

Layering: beside :mod:`weldcell.toolpath`; uses :mod:`weldcell.program` and :mod:`weldcell.spatial`,
never the planner, the simulator, the drivers or the cell. Geometry is pure numpy on arrays;
trimesh is used only to read and write files.
"""

from weldcell.cad.detect import detect_seams, make_part
from weldcell.cad.seam import DetectOptions, SeamCandidate

__all__ = ["DetectOptions", "SeamCandidate", "detect_seams", "make_part"]
