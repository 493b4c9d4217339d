"""weldcell.toolpath."""
