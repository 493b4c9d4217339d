"""weldcell.kinematics."""
