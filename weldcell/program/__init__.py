"""weldcell.program."""
