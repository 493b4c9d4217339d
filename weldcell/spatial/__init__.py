"""Rigid-transform helpers on 4x4 numpy arrays and unit converters (numpy only).

Convention: ``T_a_b`` is the pose of frame b expressed in frame a; ``p_a = T_a_b @ p_b``.
"""

from weldcell.spatial.se3 import (
    check_transforms,
    invert_transforms,
    quat_wxyz_from_rotation,
    rotation_angle_between,
    rotation_from_axis_angle,
    rotation_from_rotvec,
    rotvec_from_rotation,
    se3_from_rotation_translation,
    se3_from_xyz_quat_wxyz,
    se3_from_xyz_rpy,
    xyz_rpy_from_se3,
)
from weldcell.spatial.units import deg_to_rad, m_min_to_m_s, m_to_mm, mm_s_to_m_s, mm_to_m, rad_to_deg

__all__ = [
    "check_transforms",
    "deg_to_rad",
    "invert_transforms",
    "m_min_to_m_s",
    "m_to_mm",
    "mm_s_to_m_s",
    "mm_to_m",
    "quat_wxyz_from_rotation",
    "rad_to_deg",
    "rotation_angle_between",
    "rotation_from_axis_angle",
    "rotation_from_rotvec",
    "rotvec_from_rotation",
    "se3_from_rotation_translation",
    "se3_from_xyz_quat_wxyz",
    "se3_from_xyz_rpy",
    "xyz_rpy_from_se3",
]
