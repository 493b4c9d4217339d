"""TCP and frame calibration of a cell: captured points, the solvers, and the cell configuration.

Points are captured as **robot joint positions** (the one thing a cell reports exactly), in a points
file (``format: weldcell.points/1``, ``q_deg`` per point), written by the operator from the pendant
or by :func:`capture_tcp_points_virtual` on the virtual cell. The solvers
(:mod:`weldcell.spatial.registration`) turn them into

* the torch TCP (n-point method: the wire tip at one fixed point from >= 4 orientations), stored in
  the cell configuration as ``calibration.tcp_xyz_mm`` (flange frame); with two more points (``role:
  x`` and ``role: z``: the reference point on the tool's +x, then on its +z axis) also the TCP
  orientation (:func:`weldcell.spatial.registration.tcp_orientation_from_points`), stored as
  ``calibration.tcp_rpy_deg``; without them the orientation stays the torch model's (touching a
  point does not observe it);
* a user/part frame from 3 points (origin, a point on +x, a point in the xy plane) or from a touch
  result in the weld log, stored as ``calibration.frames.<name>`` (``xyz_mm``, ``rpy_deg``, world).

Virtual capture: the virtual cell is given a torch whose *real* TCP differs from the nominal one
(``tcp_error``); for each orientation the operator's jog is simulated by solving where the *real*
wire tip touches the reference point (a 1 mm ball), moving the :class:`~weldcell.drivers.virtual.VirtualRobot`
there, confirming contact with the virtual power source's touch sense, and recording the robot's
actual joints. The solver never sees the real TCP.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import CalibrationError
from weldcell.spatial import rotation_from_rotvec, se3_from_xyz_rpy, xyz_rpy_from_se3
from weldcell.spatial.registration import (
    TcpCalibration,
    TcpOrientation,
    frame_from_three_points,
    tcp_from_flange_poses,
    tcp_orientation_from_points,
)

NDArrayF = npt.NDArray[np.float64]
POINTS_FORMAT = "weldcell.points/1"
#: Residual above which the TCP calibration warns [m].
TCP_WARN_RESIDUAL = 0.0005
#: Orthogonality residual of the measured tool x and z directions above which it warns [rad].
TCP_WARN_ORIENTATION = float(np.deg2rad(0.3))
#: Roles of a captured point: on the reference point; the point on the tool's +x / +z axis.
POINT_ROLES = ("point", "x", "z")


@dataclass(frozen=True, slots=True)
class CapturedPoints:
    """Joint positions captured for a calibration.

    Attributes:
        robot: Robot model name.
        q: Joint positions [rad], shape (n_points, n_joints).
        path: File they came from (None: in memory).
    """

    robot: str
    q: NDArrayF
    path: Path | None = None
    roles: tuple[str, ...] = ()

    def role(self, i: int) -> str:
        """Role of point ``i``: ``"point"`` (tip on the reference point), ``"x"`` or ``"z"``."""
        return self.roles[i] if self.roles else "point"

    def indices(self, role: str) -> list[int]:
        """Indices of the points with ``role``."""
        return [i for i in range(self.q.shape[0]) if self.role(i) == role]


def save_points(path: Path, points: CapturedPoints, comment: str = "") -> None:
    """Write a points file (``q_deg`` per point)."""
    import yaml

    data = {
        "format": POINTS_FORMAT,
        "robot": points.robot,
        "points": [
            {"q_deg": [round(float(v), 6) for v in np.rad2deg(q)]}
            | ({} if points.role(i) == "point" else {"role": points.role(i)})
            for i, q in enumerate(points.q)
        ],
    }
    text = (f"# {comment}\n" if comment else "") + yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")


def load_points(path: Path) -> CapturedPoints:
    """Read a points file.

    Raises:
        CalibrationError: unreadable file or a missing/invalid field (the file and field are named).
    """
    import yaml

    from weldcell.program.yamlio import safe_load_yaml

    try:
        data = safe_load_yaml(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise CalibrationError(f"{path}: cannot read the points file ({err})") from None
    if not isinstance(data, dict) or data.get("format") != POINTS_FORMAT:
        raise CalibrationError(f"{path}: format: expected '{POINTS_FORMAT}'")
    robot = data.get("robot")
    pts = data.get("points")
    if not isinstance(robot, str):
        raise CalibrationError(f"{path}: robot: expected a robot model name such as 'ur5e'")
    if not isinstance(pts, list) or not pts:
        raise CalibrationError(f"{path}: points: expected a list of {{q_deg: [...]}}")
    rows = []
    roles = []
    for i, p in enumerate(pts):
        q = p.get("q_deg") if isinstance(p, dict) else None
        if not (isinstance(q, list) and q and all(isinstance(v, int | float) for v in q)):
            raise CalibrationError(f"{path}: points[{i}].q_deg: expected a list of joint angles in degrees")
        role = p.get("role", "point")
        if role not in POINT_ROLES:
            raise CalibrationError(
                f"{path}: points[{i}].role: {role!r}; expected one of {', '.join(POINT_ROLES)}"
            )
        extra = sorted(set(p) - {"q_deg", "role"})
        if extra:
            raise CalibrationError(f"{path}: points[{i}]: unknown field(s) {extra}; expected q_deg, role")
        rows.append(q)
        roles.append(role)
    for role in ("x", "z"):
        if roles.count(role) > 1:
            raise CalibrationError(
                f"{path}: points: {roles.count(role)} points with role {role!r}; expected one"
            )
    if ("x" in roles) != ("z" in roles):
        raise CalibrationError(
            f"{path}: points: the TCP orientation needs both a role 'x' and a role 'z' point, the file has "
            f"only {'x' if 'x' in roles else 'z'}"
        )
    if len({len(r) for r in rows}) != 1:
        raise CalibrationError(f"{path}: points: every q_deg needs the same number of joints")
    q = np.deg2rad(np.array(rows, dtype=np.float64))
    if not np.all(np.isfinite(q)):
        raise CalibrationError(f"{path}: points: joint angles must be finite")
    return CapturedPoints(robot, q, Path(path), tuple(roles))


def _flange_poses(points: CapturedPoints) -> NDArrayF:
    from weldcell.kinematics import load_robot

    kin = load_robot(points.robot)
    if points.q.shape[1] != kin.n_joints:
        raise CalibrationError(f"points have {points.q.shape[1]} joints, {points.robot} has {kin.n_joints}")
    return np.asarray(kin.fk(points.q))


def calibrate_tcp(points: CapturedPoints) -> TcpCalibration:
    """n-point TCP calibration from captured joint positions (flange poses by the robot's FK); the
    points with role ``"point"`` (the x and z points are for :func:`calibrate_tcp_orientation`)."""
    return tcp_from_flange_poses(_flange_poses(points)[points.indices("point")])


def calibrate_tcp_orientation(points: CapturedPoints, position: TcpCalibration) -> TcpOrientation | None:
    """The TCP orientation from the points with role ``"x"`` and ``"z"`` and the n-point result
    ``position``; None when the file has no such points.

    Raises:
        CalibrationError: see :func:`weldcell.spatial.registration.tcp_orientation_from_points`.
    """
    ix, iz = points.indices("x"), points.indices("z")
    if not ix or not iz:
        return None
    T = _flange_poses(points)
    return tcp_orientation_from_points(T[ix[0]], T[iz[0]], position.p_flange_tcp, position.p_base_point)


def frame_from_points(
    points: CapturedPoints, T_world_base: npt.ArrayLike, T_flange_tcp: npt.ArrayLike
) -> NDArrayF:
    """``T_world_frame`` (4, 4) from 3 captured points: origin, on +x, in the xy plane."""
    from weldcell.kinematics import load_robot

    if points.q.shape[0] != 3:
        raise CalibrationError(
            f"a frame needs exactly 3 points (origin, +x, xy plane), the file has {points.q.shape[0]}"
        )
    kin = load_robot(points.robot)
    tips = np.asarray(T_world_base) @ np.asarray(kin.fk(points.q)) @ np.asarray(T_flange_tcp)
    return frame_from_three_points(tips[0, :3, 3], tips[1, :3, 3], tips[2, :3, 3])


def tcp_with_error(
    T_flange_tcp: npt.ArrayLike, error_xyz: npt.ArrayLike, error_rotvec: npt.ArrayLike
) -> NDArrayF:
    """A real TCP that differs from ``T_flange_tcp`` by ``error_xyz`` [m] (flange frame) and a
    rotation ``error_rotvec`` [rad] about the flange origin (a bent neck), (4, 4)."""
    E = np.eye(4)
    E[:3, :3] = rotation_from_rotvec(np.asarray(error_rotvec, dtype=np.float64))
    E[:3, 3] = np.asarray(error_xyz, dtype=np.float64)
    return np.asarray(E @ np.asarray(T_flange_tcp))


def capture_tcp_points_virtual(
    robot_name: str,
    T_flange_tcp_real: npt.ArrayLike,
    p_base_point: npt.ArrayLike,
    *,
    n: int = 6,
    tilt: float = np.deg2rad(35.0),
    q_seed: npt.ArrayLike | None = None,
    jog_error: float = 5e-5,
    seed: int = 0,
    orientation: bool = False,
    lever: float = 0.1,
    align_error: float = 5e-5,
) -> CapturedPoints:
    """Capture n-point TCP poses on the virtual cell (see the module docstring).

    Args:
        robot_name: Robot model.
        T_flange_tcp_real: The torch's real TCP (with its error) (4, 4); only the simulator knows it.
        p_base_point: The fixed reference point in the base frame [m] (3,).
        n: Number of orientations (>= 4).
        tilt: Tilt of the torch axis from vertical for orientations 2 … n [rad].
        q_seed: Joint positions to stay near (default: a usual welding configuration).
        jog_error: Standard deviation [m] of where the operator's jog leaves the tip around the
            point (per axis; within the 0.5 mm reference ball, so the touch sense confirms contact).
        seed: Seed of the jog error.
        orientation: Also capture the x and z points of the TCP orientation: in the first
            orientation, the real tip moved ``lever`` along the real tool's -x (then -z) from the
            point, so that the point lies on the tool's +x (+z) axis, as the operator aligns it.
        lever: Tip-to-point distance of the x and z points [m].
        align_error: Standard deviation [m] of the operator's alignment across the axis (per axis).

    Raises:
        CalibrationError: an orientation is out of reach, or the touch sense does not confirm contact.
    """
    from weldcell.cell.touchsim import RealBody, SimulatedPart, WireTipSensor
    from weldcell.drivers.powersource.virtual_model import VirtualPowerSourceModel
    from weldcell.drivers.virtual import VirtualRobot
    from weldcell.kinematics import load_robot
    from weldcell.program.shapes import Sphere

    if n < 4:
        raise CalibrationError(f"the n-point TCP method needs at least 4 orientations, got {n}")
    kin = load_robot(robot_name)
    T_real = np.asarray(T_flange_tcp_real, dtype=np.float64)
    p = np.asarray(p_base_point, dtype=np.float64)
    if q_seed is None:  # a usual welding configuration of a 6-axis arm: elbow up, wrist down
        q_seed = np.deg2rad([0, -100, 100, -90, -90, 0]) if kin.n_joints == 6 else np.zeros(kin.n_joints)
    q_near = np.asarray(q_seed, dtype=np.float64)
    # the reference point: a 1 mm ball the wire touches
    T_base_ball = np.eye(4)
    T_base_ball[:3, 3] = p
    ball = SimulatedPart((RealBody("ref_point", Sphere(0.0005), T_base_ball),), np.eye(4))
    azimuths = np.linspace(0.0, 2 * np.pi, n - 1, endpoint=False)
    rotvecs = [np.array([np.pi, 0.0, 0.0])] + [
        np.array([np.pi, 0.0, 0.0]) + tilt * np.array([np.cos(a), np.sin(a), 0.0]) for a in azimuths
    ]
    rng = np.random.default_rng(seed)
    robot = VirtualRobot(robot_name, q_near, time_scale=20.0)
    model = VirtualPowerSourceModel()
    q_out = []
    robot.connect()
    try:
        sensor = WireTipSensor(kin.fk, lambda: robot.state().q, np.eye(4), T_real, ball)
        model.set_contact_sensor(sensor)
        model.write_coils(model.image.touch_sensing, [True])
        for i, rv in enumerate(rotvecs):
            T_tcp = np.eye(4)
            T_tcp[:3, :3] = rotation_from_rotvec(rv)
            # the jog ends with the wire tip on the point, within the operator's jog error
            T_tcp[:3, 3] = p + np.clip(rng.normal(0.0, jog_error, 3), -2e-4, 2e-4)
            sols = np.asarray(kin.ik(T_tcp @ np.linalg.inv(T_real)))
            d = np.linalg.norm(sols - q_near, axis=1)
            d = np.where(np.isnan(d), np.inf, d)
            if not np.isfinite(d.min()):
                raise CalibrationError(f"orientation {i + 1} at the reference point is out of reach")
            robot.move_to(sols[int(np.argmin(d))], speed_fraction=1.0).wait_until_done(timeout=60.0)
            if not model.touch_contact():
                raise CalibrationError(f"orientation {i + 1}: the touch sense reports no contact")
            q_out.append(np.asarray(robot.state().q, dtype=np.float64))
        roles = ["point"] * len(q_out)
        for role, axis in (("x", 0), ("z", 2)) if orientation else ():
            T_tcp = np.eye(4)
            T_tcp[:3, :3] = rotation_from_rotvec(rotvecs[0])
            T_tcp[:3, 3] = p - lever * T_tcp[:3, axis] + np.clip(rng.normal(0.0, align_error, 3), -2e-4, 2e-4)
            sols = np.asarray(kin.ik(T_tcp @ np.linalg.inv(T_real)))
            d = np.linalg.norm(sols - q_out[0], axis=1)
            d = np.where(np.isnan(d), np.inf, d)
            if not np.isfinite(d.min()):
                raise CalibrationError(
                    f"the {role} point ({lever * 1e3:.0f} mm from the reference) is out of reach"
                )
            robot.move_to(sols[int(np.argmin(d))], speed_fraction=1.0).wait_until_done(timeout=60.0)
            if model.touch_contact():
                raise CalibrationError(f"the {role} point: the wire still touches the reference point")
            q_out.append(np.asarray(robot.state().q, dtype=np.float64))
            roles.append(role)
    finally:
        robot.close()
    return CapturedPoints(robot_name, np.array(q_out), roles=tuple(roles))


def update_cell_config(
    path: Path,
    *,
    tcp_xyz: NDArrayF | None = None,
    frame: tuple[str, NDArrayF] | None = None,
    tcp_rotation: NDArrayF | None = None,
) -> None:
    """Write a calibrated TCP or a named frame into the ``calibration`` section of a cell
    configuration file (created when missing; other sections are kept, YAML comments are not).

    Raises:
        CellConfigError: the existing file is not a valid cell configuration.
    """
    import yaml

    from weldcell.cell.cellconfig import CellConfigError, cell_setup_from_mapping
    from weldcell.program.yamlio import safe_load_yaml

    data: dict[str, Any] = {"format": "weldcell.cell/1"}
    if path.exists():
        try:
            loaded = safe_load_yaml(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            why = " ".join(str(err).split())
            raise CellConfigError(
                f"{path}: cannot read the cell configuration to update it ({why})"
            ) from None
        cell_setup_from_mapping(loaded, str(path))  # refuse to rewrite a broken file
        data = dict(loaded or {"format": "weldcell.cell/1"})
    cal = dict(data.get("calibration") or {})
    if tcp_xyz is not None:
        cal["tcp_xyz_mm"] = [round(float(v) * 1e3, 4) for v in tcp_xyz]
        cal.pop("tcp_rpy_deg", None)  # a new position without orientation: the torch model's again
    if tcp_rotation is not None:
        T = np.eye(4)
        T[:3, :3] = tcp_rotation
        cal["tcp_rpy_deg"] = [round(float(np.rad2deg(v)), 5) for v in xyz_rpy_from_se3(T)[1]]
    if frame is not None:
        name, T = frame
        xyz, rpy = xyz_rpy_from_se3(T)
        frames = dict(cal.get("frames") or {})
        frames[name] = {
            "xyz_mm": [round(float(v) * 1e3, 4) for v in xyz],
            "rpy_deg": [round(float(np.rad2deg(v)), 5) for v in rpy],
        }
        cal["frames"] = frames
    data["calibration"] = cal
    cell_setup_from_mapping(data, str(path))
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def frame_pose(xyz_mm: list[float], rpy_deg: list[float]) -> NDArrayF:
    """``T_world_frame`` (4, 4) of a stored frame."""
    return se3_from_xyz_rpy(np.asarray(xyz_mm) * 1e-3, np.deg2rad(np.asarray(rpy_deg)))


__all__ = [
    "POINT_ROLES",
    "TCP_WARN_ORIENTATION",
    "TCP_WARN_RESIDUAL",
    "CapturedPoints",
    "calibrate_tcp",
    "calibrate_tcp_orientation",
    "capture_tcp_points_virtual",
    "frame_from_points",
    "frame_pose",
    "load_points",
    "save_points",
    "tcp_with_error",
    "update_cell_config",
]
