"""weldcell.cell."""
