"""weldcell.planning."""
