"""weldcell.sim."""
