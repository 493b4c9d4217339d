"""weldcell: a toolkit for robotic arc welding.

Plan weld programs offline (:mod:`weldcell.program`, :mod:`weldcell.toolpath`,
:mod:`weldcell.planning`), check them in pybullet (:mod:`weldcell.sim`) and drive a physical cell
(:mod:`weldcell.drivers`, :mod:`weldcell.cell`). SI units inside (m, rad, s); poses are 4x4 numpy
arrays named ``T_<frame>_<frame>``.
"""

from weldcell.errors import WeldcellError

__version__ = "0.1.0"
__all__ = ["WeldcellError", "__version__"]
