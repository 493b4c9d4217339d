"""The geometry truth a virtual power source in its own process needs for touch sensing.

``weldcell demo --part-offset-mm`` places the part off nominal in the *virtual cell only*: the
planner keeps the program's nominal pose. The virtual power source (a child process, like a real
one) decides "wire touches part" from

* the cell's workpiece bodies (from the program file) moved by the :class:`PartOffset`
  (:class:`weldcell.cell.touchsim.SimulatedPart`), and
* the wire tip position: the robot controller's *actual* joint positions, read over the
  controller's own protocol by a second client (the vendor's joint feed, e.g. an RTDE
  subscription of ``actual_q`` for UR), through the robot model's forward kinematics and the
  torch's real TCP (:class:`weldcell.cell.touchsim.WireTipSensor`).

:class:`TouchScene` is the picklable description handed to the child; :func:`install_touch_scene`
builds the sensor there and returns what must be closed. Units: m, rad.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weldcell.cell.touchsim import PartOffset, SimulatedPart, WireTipSensor
from weldcell.errors import InvalidValueError, WeldcellError

if TYPE_CHECKING:
    from weldcell.drivers.powersource.virtual_model import VirtualPowerSourceModel


@dataclass(frozen=True)
class TouchScene:
    """What the virtual power source needs to detect wire-to-part contact.

    Attributes:
        program: The weld program file: its cell's workpiece bodies, robot model, base and TCP.
        translation: Part displacement [m], shape (3,), world frame.
        rotvec: Part rotation vector [rad], shape (3,), world frame, about the reference body's origin.
        joint_feed: ``"module:function"`` opening the robot controller's actual-joint feed
            (:attr:`weldcell.drivers.vendor.VirtualCell.joint_feed`).
        robot_url: The controller's address handed to the feed.
        T_flange_tcp_real: The torch's real TCP (4, 4) (None: the program's TCP).
    """

    program: Path
    translation: tuple[float, float, float]
    rotvec: tuple[float, float, float]
    joint_feed: str
    robot_url: str
    T_flange_tcp_real: tuple[tuple[float, ...], ...] | None = None

    @property
    def offset(self) -> PartOffset:
        """The displacement as a :class:`PartOffset`."""
        t = np.asarray(self.translation, dtype=np.float64)
        return PartOffset(t, np.asarray(self.rotvec, dtype=np.float64))


def part_offset_from_user(offset_mm: str | None, rotate_deg: float) -> tuple[npt.NDArray[np.float64], float]:
    """``"X,Y,Z"`` [mm] and a rotation about world z [deg] as (translation [m] (3,), angle [rad]).

    Raises:
        InvalidValueError: not three finite numbers, or a rotation that is not finite or beyond ±45°.
    """
    t = np.zeros(3)
    if offset_mm is not None:
        try:
            vals = [float(v) for v in offset_mm.split(",")]
        except ValueError:
            vals = []
        if len(vals) != 3 or not np.all(np.isfinite(vals)):
            raise InvalidValueError(f"--part-offset-mm {offset_mm!r}: expected three numbers X,Y,Z in mm")
        t = np.asarray(vals) * 1e-3
    if not np.isfinite(rotate_deg) or abs(rotate_deg) > 45.0:
        raise InvalidValueError(f"--part-rotate-deg {rotate_deg}: expected a rotation within ±45°")
    return t, float(np.deg2rad(rotate_deg))


def install_touch_scene(model: VirtualPowerSourceModel, scene: TouchScene) -> Any:
    """Give ``model`` its contact sensor for ``scene``; returns the joint feed (close it at the end).

    Raises:
        WeldcellError: the program cannot be loaded, has no workpiece, or the feed does not connect.
    """
    from weldcell.drivers.registry import resolve_target
    from weldcell.kinematics import load_robot
    from weldcell.program import load_program

    program = load_program(scene.program)
    part = SimulatedPart.from_cell(program.cell.bodies, scene.offset)
    kin = load_robot(program.cell.robot)
    real = scene.T_flange_tcp_real
    tcp = program.cell.T_flange_tcp if real is None else np.asarray(real, dtype=np.float64)
    feed = resolve_target(scene.joint_feed, "the robot's joint feed")(scene.robot_url)
    sensor = WireTipSensor(kin.fk, feed, program.cell.T_world_base, tcp, part)
    try:
        sensor()  # loads the compiled kinematics now (~0.5 s): never in the middle of a search
    except WeldcellError:
        feed.close()
        raise
    model.set_contact_sensor(sensor)
    return feed


__all__ = ["TouchScene", "install_touch_scene", "part_offset_from_user"]
