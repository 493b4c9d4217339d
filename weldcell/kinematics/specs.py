"""Kinematic data of the shipped robot and torch models (the single source the URDFs are generated from).

Sources:

* UR e-series DH tables: Universal Robots, "DH Parameters for calculations of kinematics and
  dynamics" (universal-robots.com, articles/ur/application-installation/
  dh-parameters-for-calculations-of-kinematics-and-dynamics). Standard DH,
  ``T_{i-1,i} = Rz(θ_i) Tz(d_i) Tx(a_i) Rx(α_i)``, α = (π/2, 0, 0, π/2, -π/2, 0).
* UR joint limits: e-series data sheets (working range ±360° on every joint) and
  ``ur_description/config/<model>/joint_limits.yaml`` (elbow restricted to ±180°, speeds
  UR3e 180/180/180/360/360/360 °/s, UR5e 180 °/s, UR10e/UR16e 120/120/180/180/180/180 °/s).
* KUKA KR 6 R900 sixx (KR AGILUS): link lengths 400/25/455/35/420/80 mm and axis ranges
  (A1 ±170°, A2 -190°/+45°, A3 -120°/+156°, A4 ±185°, A5 ±120°, A6 ±350°) and speeds
  (360/300/360/381/388/615 °/s) from the KUKA KR AGILUS sixx specification; OPW parameters as
  defined by M. Brandstötter, A. Angerer, M. Hofbaur, "An analytical solution of the inverse
  kinematics problem of industrial serial manipulators with an ortho-parallel basis and a
  spherical wrist", Austrian Robotics Workshop 2014. Axis signs (-1, 1, 1, -1, 1, -1) and the
  -90° zero of A2 as in ROS-Industrial's ``kuka_kr6_support``.
* KUKA KR 10 R1420 (KR CYBERTECH nano; the arc-welding variant is the KR 10 R1420 HW with a
  hollow wrist for the torch cable): A1 height 450 mm, A1-A2 offset 150 mm, upper arm 610 mm,
  A3-A4 offset 20 mm, forearm 660 mm, wrist-flange 80 mm (150 + 610 + 660 = 1420 mm reach to the
  wrist point); axis ranges A1 ±170°, A2 -185°/+65°, A3 -137°/+163°, A4 ±185°, A5 ±120°,
  A6 ±350°; speeds 220/210/270/381/311/492 °/s. From the KUKA KR CYBERTECH nano data sheet as
  transcribed in ROS-Industrial ``kuka_experimental/kuka_kr10_support`` (``kr10r1420_macro.xacro``,
  ``config/opw_parameters_kr10r1420.yaml``); same axis signs and A2 zero as the KR 6.
* FANUC ARC Mate 100iD (the arc-welding variant of the M-10iD/12, hollow wrist for the torch
  cable; ``arcmate100id``): J1 axis to J2 axis 75 mm horizontally, J2 axis 450 mm above the mounting
  face, upper arm (J2-J3) 640 mm, J3-J4 offset 195 mm, forearm (J3 to wrist centre) 700 mm, wrist
  centre to faceplate 75 mm (75 + 640 + sqrt(700² + 195²) = 1441 mm, the data sheet's reach);
  motion ranges J1 ±170°, J2 -90°/+160°, J3 -180°/+264° (J3 as a joint relative to J2), J4 ±190°,
  J5 ±180°, J6 ±450°; speeds 260/240/260/430/450/720 °/s. From FANUC's M-10iD/12 and ARC Mate
  100iD data sheets as transcribed in ROS-Industrial ``fanuc_m10id_support``
  (``urdf/m10id12_macro.xacro``, ``config/opw_parameters_m10id12.yaml``). The joint directions
  are FANUC's (J2+ leans forward, J3+ lifts the forearm, faceplate x up at zero) and q3 is the
  relative J3; the controller's J3 (J2/J3 interaction) is ``q3 - q2``
  (:mod:`weldcell.drivers.fanuc.joints`).
* ABB IRB 1520ID-4/1.5 (arc-welding arm, hollow "Integrated Dress" upper arm and wrist): axis-1
  height 453 mm, axis 1-2 offset 160 mm, lower arm 590 mm, axis 3-4 (elbow) offset 200 mm, upper
  arm 723 mm, wrist centre to mounting flange 200 mm (160 + 590 + 723 ≈ 1.5 m reach to the wrist);
  axis ranges A1 ±170°, A2 -90°/+150°, A3 -100°/+80°, A4 ±155°, A5 ±135°, A6 ±200°; speeds
  130/140/140/320/380/460 °/s. From ABB's product specification IRB 1520ID (3HEA802921-001,
  "Dimensions", "Working range", "Axis max speed"). The axis speeds were checked against a second
  source, the IRB1520ID_4_150 URDF of work-r-labs/robots (``library/ABB/IRB1520ID_4_150_v1``: joint
  velocities 2.2689, 2.4435, 2.4435, 5.5851, 6.6323, 8.0285 rad/s = 130, 140, 140, 320, 380, 460 °/s,
  ranges as above); an earlier 170 °/s for axes 1-3 here was wrong and is corrected.
  ABB joint directions are all positive
  about the URDF axes z, y, y, x, y, x (ROS-Industrial ``abb_*_support`` convention) and ABB's
  zero has the lower arm upright and the upper arm horizontal, so the OPW offsets are
  (0, 0, π/2, 0, 0, 0) with all signs +1; at q = 0 the flange z axis points along base +x and
  flange x along base -z (ABB's tool0 at the calibration position, quaternion [0.7071, 0, 0.7071, 0]).
* FANUC CRX-10iA/L (``crx10ial``, a collaborative arm with an offset, non-spherical wrist): the DH
  table of :mod:`weldcell.kinematics.crx` (upper arm 710 mm, forearm 540 mm, wrist offset 150 mm,
  faceplate 160 mm; FANUC's dimensions as used by Wandelbots' robot viewer, ``FANUC_CRX10iAL``);
  speeds 120/120/180/180/180/180 °/s and motion ranges J1 ±180°, J2 ±180°, J4 ±190°, J5 ±180°,
  J6 ±225° as FANUC publishes them for the CRX-10iA/L. The speeds are FANUC's joints' (J3 = the
  forearm angle, coupled to J2): the model's ``qd_max`` is the per-joint box that keeps them
  (:func:`weldcell.kinematics.safety.joint_speed_box`: 120/72/108/180/180/180 °/s). **J6 range
  (issue 15):** ROS-Industrial's ``fanuc_crx10ia_support/urdf/crx10ial_macro.xacro`` has J6 ±190°
  (its package cites the CRX-10iA/L Mechanical Unit Operator's Manual B-84194EN/01 for all limits,
  ros-industrial/fanuc_experimental PR 67), but the same ±190° as its J4, while CNR-STIIMA's
  ROS 2 driver for the real arm (paolofrance/ros2_fanuc_interface,
  ``crx_description/urdf/crx10ia_l/crx10ia_l.urdf.xacro``) has J6 ±225° (J4 ±190°, J3 ±270°);
  FANUC's own data sheet was not found in the corpora searched. ±225° is kept (a 450° J6 range);
  a cell whose controller has a smaller J6 range sets it in its safety file.
  **Not from a FANUC sheet**: the height of the
  J2 axis above the mounting face (245 mm, read off the outline drawing, not a tabulated value), J3
  restricted to ±270° about the DH zero (the sheet gives 570° in FANUC's J2/J3 convention, which
  this model does not reproduce), the acceleration limits (planning defaults) and the link
  geometry (cylinders sized to the arm). q = 0 is the DH zero of :mod:`weldcell.kinematics.crx`
  (upper arm vertical, forearm horizontal).
* ABB GoFa CRB 15000-5/0.95 (``crb15000_5_95``, collaborative arm with an offset wrist): the
  modified DH table of :mod:`weldcell.kinematics.gofa` (axis-2 height 265 mm, lower arm 444 mm, axis
  3-4 offset 110 mm, upper arm 470 mm, wrist offset 80 mm, axis 5 to flange 101 mm); joint directions,
  ranges and speeds from ROS-Industrial ``abb/abb_crb15000_support/urdf/crb15000_5_95_macro.xacro``
  (same dimensions; axes z, y, y, x, y, x all positive as ABB's; ranges A1 ±180°, A2 ±180°,
  A3 -225°/+85°, A4-A6 ±180°; speeds 125/125/140/200/200/200 °/s). The DH model equals that URDF
  (FK test in tests/kinematics/test_gofa_model.py), so q is ABB's joint angle. The link geometry is
  cylinders sized to the arm, not ABB's meshes; accelerations are planning defaults.
* ``srs7`` is not a vendor model: a generic 7-axis S-R-S arm with the proportions of a
  7 kg-class LBR (shoulder 0.34 m, upper arm 0.40 m, forearm 0.40 m, flange 0.126 m) used to
  exercise the numerical IK.

* ``torch_fanuc_45``: a through-arm MIG torch for the FANUC hollow wrist (ARC Mate 100iD): an
  insulated mounting disc on the J6 faceplate, a short straight body through the wrist and a 45°
  neck, the usual geometry of through-arm torches sold for the ARC Mate series (e.g. 45° necks of
  Tregaskiss TOUGH GUN TA3 / Binzel ABIROB A); sizes are representative, not one vendor's drawing.

Acceleration limits (``qdd_max``) are not published by the vendors in a form a planner can use;
the values here are conservative planning defaults, stated as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from weldcell.kinematics.safety import CONTROLLER_JOINT_MAPS, CONTROLLER_JOINT_SPEEDS, joint_speed_box

_D = math.pi / 180.0


@dataclass(frozen=True, slots=True)
class URSpec:
    """A UR e-series arm: standard DH table plus limits and link sizes for the generated model.

    Attributes:
        name: Model name, e.g. ``"ur5e"``.
        d1, a2, a3, d4, d5, d6: DH lengths [m] (a2, a3 negative as published).
        q_lower, q_upper: Joint position limits [rad].
        qd_max: Joint speed limits [rad/s].
        qdd_max: Planning acceleration limits [rad/s²] (defaults, not vendor figures).
        shoulder_offset: Distance [m] along the shoulder axis from DH frame 1 to the upper-arm tube.
        elbow_offset: Distance [m] from the upper-arm tube back to the forearm tube.
        r_base, r_shoulder, r_elbow, r_wrist: Housing radii [m] of the link cylinders.
        r_upper, r_fore: Tube radii [m] of the upper arm and forearm.
    """

    name: str
    d1: float
    a2: float
    a3: float
    d4: float
    d5: float
    d6: float
    q_lower: tuple[float, ...]
    q_upper: tuple[float, ...]
    qd_max: tuple[float, ...]
    qdd_max: tuple[float, ...]
    shoulder_offset: float
    elbow_offset: float
    r_base: float
    r_shoulder: float
    r_upper: float
    r_elbow: float
    r_fore: float
    r_wrist: float


@dataclass(frozen=True, slots=True)
class OPWSpec:
    """A six-axis arm with an ortho-parallel basis and a spherical wrist (OPW parameters).

    Native OPW geometry (all native angles θ zero: arm upright, flange z up)::

        C (wrist centre) = Rz(θ1) [ (a1, b, c1) + Ry(θ2) (0, 0, c2) + Ry(θ2+θ3) (a2, 0, c3) ]
        R_base_flange    = Rz(θ1) Ry(θ2+θ3) Rz(θ4) Ry(θ5) Rz(θ6)
        p_base_flange    = C + c4 · R_base_flange e_z

    The controller joint values q relate to the native angles by ``θ_i = sign_i · q_i + offset_i``.

    Attributes:
        name: Model name.
        a1, a2, b, c1, c2, c3, c4: OPW lengths [m].
        offsets: Native angle at q = 0 [rad], shape (6,).
        signs: Axis direction corrections (+1 or -1), shape (6,).
        q_lower, q_upper, qd_max, qdd_max: Limits [rad], [rad/s], [rad/s²].
    """

    name: str
    a1: float
    a2: float
    b: float
    c1: float
    c2: float
    c3: float
    c4: float
    offsets: tuple[float, ...]
    signs: tuple[int, ...]
    q_lower: tuple[float, ...]
    q_upper: tuple[float, ...]
    qd_max: tuple[float, ...]
    qdd_max: tuple[float, ...]
    color: str = "kuka_orange"


@dataclass(frozen=True, slots=True)
class CrxSpec:
    """A FANUC CRX arm: standard DH table (``T_{i-1,i} = Rz(q_i + offset_i) Tz(d_i) Tx(a_i) Rx(α_i)``,
    :mod:`weldcell.kinematics.crx`) above a base whose DH frame 0 is ``base_height`` over the mounting face.

    Attributes:
        name: Model name.
        a, d: DH lengths [m], shape (6,).
        alpha, offset: DH twists and joint zero offsets [rad], shape (6,).
        base_height: Height of DH frame 0 (the J2 axis) above the mounting face (weldcell ``base``) [m].
        q_lower, q_upper, qd_max, qdd_max: Limits [rad], [rad/s], [rad/s²].
    """

    name: str
    a: tuple[float, ...]
    d: tuple[float, ...]
    alpha: tuple[float, ...]
    offset: tuple[float, ...]
    base_height: float
    q_lower: tuple[float, ...]
    q_upper: tuple[float, ...]
    qd_max: tuple[float, ...]
    qdd_max: tuple[float, ...]
    color: str = "white"


@dataclass(frozen=True, slots=True)
class GofaSpec:
    """An ABB GoFa (CRB 15000) arm: modified DH table (Craig, ``T_{i-1,i} = Rx(α_{i-1}) Tx(a_{i-1})
    Rz(q_i + offset_i) Tz(d_i)``, :mod:`weldcell.kinematics.gofa`); DH frame 0 is weldcell's ``base``
    (the mounting face), DH frame 6 the flange (ABB's ``tool0``).

    Attributes:
        name: Model name.
        alpha, a: α_{i-1} [rad] and a_{i-1} [m], shape (6,).
        d, offset: d_i [m] and joint zero offsets [rad], shape (6,).
        q_lower, q_upper, qd_max, qdd_max: Limits [rad], [rad/s], [rad/s²].
    """

    name: str
    alpha: tuple[float, ...]
    a: tuple[float, ...]
    d: tuple[float, ...]
    offset: tuple[float, ...]
    q_lower: tuple[float, ...]
    q_upper: tuple[float, ...]
    qd_max: tuple[float, ...]
    qdd_max: tuple[float, ...]
    color: str = "white"


@dataclass(frozen=True, slots=True)
class SerialSpec:
    """A generic serial arm of revolute joints, described joint by joint (numerical IK only).

    Attributes:
        name: Model name.
        origins_xyz: Joint origin offsets [m] from the previous joint frame, shape (n + 1, 3)
            (the last row places the flange).
        axes: Joint axes in the joint frames, shape (n, 3).
        q_lower, q_upper, qd_max, qdd_max: Limits [rad], [rad/s], [rad/s²].
        radius: Link radius [m] for the cylinder geometry.
    """

    name: str
    origins_xyz: tuple[tuple[float, float, float], ...]
    axes: tuple[tuple[float, float, float], ...]
    q_lower: tuple[float, ...]
    q_upper: tuple[float, ...]
    qd_max: tuple[float, ...]
    qdd_max: tuple[float, ...]
    radius: float


@dataclass(frozen=True, slots=True)
class TorchSpec:
    """A straight-body MIG/MAG torch with one bend (swan neck).

    The body runs along the flange z axis to the bend point ``(0, 0, body_length)``; the neck then
    points along ``Ry(neck_angle) e_z``. Along that direction come the neck tube, the nozzle
    (``nozzle_length``, its last ``nozzle_tip_length`` narrower) and the contact tip, which ends
    ``tip_recess`` inside the nozzle mouth. The TCP is the wire end, ``stickout`` beyond the tip.

    Attributes:
        name: Model name.
        neck_angle: Bend of the neck [rad].
        body_length: Flange face to bend point [m].
        neck_length: Bend point to nozzle mouth [m].
        nozzle_length, nozzle_tip_length: [m].
        r_mount, mount_length, r_body, r_neck, r_nozzle, r_nozzle_tip, r_tip, r_wire: [m].
        tip_recess: Contact tip end behind the nozzle mouth [m] (0 = flush).
        nominal_stickout: Contact tip to wire end [m].
    """

    name: str
    neck_angle: float
    body_length: float
    neck_length: float
    nozzle_length: float
    nozzle_tip_length: float
    r_mount: float
    mount_length: float
    r_body: float
    r_neck: float
    r_nozzle: float
    r_nozzle_tip: float
    r_tip: float
    r_wire: float
    tip_recess: float
    nominal_stickout: float


_UR_LOWER = (-2 * math.pi, -2 * math.pi, -math.pi, -2 * math.pi, -2 * math.pi, -2 * math.pi)
_UR_UPPER = (2 * math.pi, 2 * math.pi, math.pi, 2 * math.pi, 2 * math.pi, 2 * math.pi)

UR_SPECS: dict[str, URSpec] = {
    "ur3e": URSpec(
        "ur3e", 0.15185, -0.24355, -0.2132, 0.13105, 0.08535, 0.0921,
        _UR_LOWER, _UR_UPPER,
        (math.pi, math.pi, math.pi, 2 * math.pi, 2 * math.pi, 2 * math.pi),
        (6.0, 6.0, 6.0, 8.0, 8.0, 8.0),
        0.120, 0.093, 0.064, 0.046, 0.040, 0.040, 0.033, 0.032,
    ),
    "ur5e": URSpec(
        "ur5e", 0.1625, -0.425, -0.3922, 0.1333, 0.0997, 0.0996,
        _UR_LOWER, _UR_UPPER,
        (math.pi,) * 6,
        (4.0, 4.0, 4.0, 6.0, 6.0, 6.0),
        0.138, 0.131, 0.076, 0.060, 0.054, 0.048, 0.042, 0.040,
    ),
    "ur10e": URSpec(
        "ur10e", 0.1807, -0.6127, -0.57155, 0.17415, 0.11985, 0.11655,
        _UR_LOWER, _UR_UPPER,
        (120 * _D, 120 * _D, math.pi, math.pi, math.pi, math.pi),
        (3.0, 3.0, 3.0, 5.0, 5.0, 5.0),
        0.176, 0.137, 0.095, 0.075, 0.066, 0.060, 0.052, 0.047,
    ),
    "ur16e": URSpec(
        "ur16e", 0.1807, -0.4784, -0.36, 0.17415, 0.11985, 0.11655,
        _UR_LOWER, _UR_UPPER,
        (120 * _D, 120 * _D, math.pi, math.pi, math.pi, math.pi),
        (3.0, 3.0, 3.0, 5.0, 5.0, 5.0),
        0.176, 0.137, 0.095, 0.075, 0.070, 0.060, 0.056, 0.047,
    ),
}  # fmt: skip

OPW_SPECS: dict[str, OPWSpec] = {
    "kr6_r900": OPWSpec(
        "kr6_r900", a1=0.025, a2=-0.035, b=0.0, c1=0.400, c2=0.455, c3=0.420, c4=0.080,
        offsets=(0.0, math.pi / 2, 0.0, 0.0, 0.0, 0.0),
        signs=(-1, 1, 1, -1, 1, -1),
        q_lower=(-170 * _D, -190 * _D, -120 * _D, -185 * _D, -120 * _D, -350 * _D),
        q_upper=(170 * _D, 45 * _D, 156 * _D, 185 * _D, 120 * _D, 350 * _D),
        qd_max=(360 * _D, 300 * _D, 360 * _D, 381 * _D, 388 * _D, 615 * _D),
        qdd_max=(10.0, 10.0, 10.0, 15.0, 15.0, 20.0),
    ),
    "kr10_r1420": OPWSpec(
        "kr10_r1420", a1=0.150, a2=-0.020, b=0.0, c1=0.450, c2=0.610, c3=0.660, c4=0.080,
        offsets=(0.0, math.pi / 2, 0.0, 0.0, 0.0, 0.0),
        signs=(-1, 1, 1, -1, 1, -1),
        q_lower=(-170 * _D, -185 * _D, -137 * _D, -185 * _D, -120 * _D, -350 * _D),
        q_upper=(170 * _D, 65 * _D, 163 * _D, 185 * _D, 120 * _D, 350 * _D),
        qd_max=(220 * _D, 210 * _D, 270 * _D, 381 * _D, 311 * _D, 492 * _D),
        qdd_max=(8.0, 8.0, 8.0, 12.0, 12.0, 16.0),
    ),
    "arcmate100id": OPWSpec(
        "arcmate100id", a1=0.075, a2=-0.195, b=0.0, c1=0.450, c2=0.640, c3=0.700, c4=0.075,
        offsets=(0.0, 0.0, math.pi / 2, 0.0, 0.0, math.pi),
        signs=(1, 1, -1, -1, -1, -1),
        q_lower=(-170 * _D, -90 * _D, -180 * _D, -190 * _D, -180 * _D, -450 * _D),
        q_upper=(170 * _D, 160 * _D, 264 * _D, 190 * _D, 180 * _D, 450 * _D),
        # the data sheet's 260, 240, 260, 430, 450, 720 °/s are FANUC's J1..J6 (J3 coupled to J2):
        # the per-joint box that keeps FANUC's J3 within its speed (kinematics.safety)
        qd_max=joint_speed_box(
            CONTROLLER_JOINT_MAPS["arcmate100id"], CONTROLLER_JOINT_SPEEDS["arcmate100id"]
        ),
        qdd_max=(8.0, 8.0, 8.0, 12.0, 12.0, 16.0),
        color="fanuc_yellow",
    ),
    "irb1520id": OPWSpec(
        "irb1520id", a1=0.160, a2=-0.200, b=0.0, c1=0.453, c2=0.590, c3=0.723, c4=0.200,
        offsets=(0.0, 0.0, math.pi / 2, 0.0, 0.0, 0.0),
        signs=(1, 1, 1, 1, 1, 1),
        q_lower=(-170 * _D, -90 * _D, -100 * _D, -155 * _D, -135 * _D, -200 * _D),
        q_upper=(170 * _D, 150 * _D, 80 * _D, 155 * _D, 135 * _D, 200 * _D),
        qd_max=(130 * _D, 140 * _D, 140 * _D, 320 * _D, 380 * _D, 460 * _D),
        qdd_max=(8.0, 8.0, 8.0, 12.0, 12.0, 16.0),
        color="white",
    ),
}  # fmt: skip

CRX_SPECS: dict[str, CrxSpec] = {
    "crx10ial": CrxSpec(
        "crx10ial",
        a=(0.0, 0.710, 0.0, 0.0, 0.0, 0.0),
        d=(0.0, 0.0, 0.0, -0.540, 0.150, -0.160),
        alpha=(math.pi / 2, 0.0, -math.pi / 2, math.pi / 2, -math.pi / 2, math.pi),
        offset=(0.0, math.pi / 2, 0.0, 0.0, 0.0, 0.0),
        base_height=0.245,
        q_lower=(-180 * _D, -180 * _D, -270 * _D, -190 * _D, -180 * _D, -225 * _D),
        q_upper=(180 * _D, 180 * _D, 270 * _D, 190 * _D, 180 * _D, 225 * _D),
        # the data sheet's 120, 120, 180, 180, 180, 180 °/s are FANUC's J1..J6 (J3 = q3 + q2): the
        # per-joint box that keeps FANUC's J3 within its speed (kinematics.safety): 72 / 108 °/s on q2 / q3
        qd_max=joint_speed_box(CONTROLLER_JOINT_MAPS["crx10ial"], CONTROLLER_JOINT_SPEEDS["crx10ial"]),
        qdd_max=(6.0, 6.0, 8.0, 12.0, 12.0, 16.0),
    ),
}  # fmt: skip

GOFA_SPECS: dict[str, GofaSpec] = {
    "crb15000_5_95": GofaSpec(
        "crb15000_5_95",
        alpha=(0.0, -math.pi / 2, 0.0, -math.pi / 2, math.pi / 2, -math.pi / 2),
        a=(0.0, 0.0, 0.444, 0.110, 0.0, 0.080),
        d=(0.265, 0.0, 0.0, 0.470, 0.0, 0.101),
        offset=(0.0, -math.pi / 2, 0.0, 0.0, 0.0, math.pi),
        q_lower=(-180 * _D, -180 * _D, -225 * _D, -180 * _D, -180 * _D, -180 * _D),
        q_upper=(180 * _D, 180 * _D, 85 * _D, 180 * _D, 180 * _D, 180 * _D),
        qd_max=(125 * _D, 125 * _D, 140 * _D, 200 * _D, 200 * _D, 200 * _D),
        qdd_max=(6.0, 6.0, 8.0, 12.0, 12.0, 16.0),
    ),
}  # fmt: skip

SERIAL_SPECS: dict[str, SerialSpec] = {
    "srs7": SerialSpec(
        "srs7",
        origins_xyz=(
            (0.0, 0.0, 0.15), (0.0, 0.0, 0.19), (0.0, 0.0, 0.21), (0.0, 0.0, 0.19),
            (0.0, 0.0, 0.21), (0.0, 0.0, 0.19), (0.0, 0.0, 0.081), (0.0, 0.0, 0.045),
        ),
        axes=((0, 0, 1), (0, 1, 0), (0, 0, 1), (0, -1, 0), (0, 0, 1), (0, 1, 0), (0, 0, 1)),
        q_lower=(-170 * _D, -120 * _D, -170 * _D, -120 * _D, -170 * _D, -120 * _D, -175 * _D),
        q_upper=(170 * _D, 120 * _D, 170 * _D, 120 * _D, 170 * _D, 120 * _D, 175 * _D),
        qd_max=(98 * _D, 98 * _D, 100 * _D, 130 * _D, 140 * _D, 180 * _D, 180 * _D),
        qdd_max=(5.0,) * 7,
        radius=0.06,
    ),
}  # fmt: skip

TORCH_SPECS: dict[str, TorchSpec] = {
    "torch_mig_22": TorchSpec(
        "torch_mig_22", neck_angle=22 * _D, body_length=0.25, neck_length=0.12,
        nozzle_length=0.06, nozzle_tip_length=0.015,
        r_mount=0.035, mount_length=0.05, r_body=0.02, r_neck=0.011,
        r_nozzle=0.0125, r_nozzle_tip=0.0095, r_tip=0.004, r_wire=0.0006,
        tip_recess=0.0, nominal_stickout=0.015,
    ),
    "torch_fanuc_45": TorchSpec(
        "torch_fanuc_45", neck_angle=45 * _D, body_length=0.19, neck_length=0.135,
        nozzle_length=0.065, nozzle_tip_length=0.018,
        r_mount=0.04, mount_length=0.06, r_body=0.022, r_neck=0.012,
        r_nozzle=0.0115, r_nozzle_tip=0.0085, r_tip=0.004, r_wire=0.0006,
        tip_recess=0.0, nominal_stickout=0.015,
    ),
}  # fmt: skip
