"""weldcell.drivers."""
