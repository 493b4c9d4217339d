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

:class:`TouchScene` is the picklable description handed to the child; :class:`TouchSceneRuntime`
loads it there while the robot controller starts, and attaches the joint feed once the controller
runs (:func:`install_touch_scene` does both at once). Units: m, rad.
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
            (:attr:`weldcell.drivers.vendor.VirtualCell.joint_feed`); "" when attached later
            (:meth:`TouchSceneRuntime.attach`, the controller starts after the power source).
        robot_url: The controller's address handed to the feed ("" when attached later).
        T_flange_tcp_real: The torch's real TCP (4, 4) (None: the program's TCP).
    """

    program: Path
    translation: tuple[float, float, float]
    rotvec: tuple[float, float, float]
    joint_feed: str = ""
    robot_url: str = ""
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


class TouchSceneRuntime:
    """The scene loaded in the power source's process: part, robot model and TCP, kinematics warmed
    up; :meth:`attach` connects the joint feed and installs the contact sensor.

    Raises:
        WeldcellError: the program cannot be loaded or has no workpiece.
    """

    def __init__(self, scene: TouchScene) -> None:
        from weldcell.kinematics import load_robot
        from weldcell.program import load_program

        program = load_program(scene.program)
        self.part = SimulatedPart.from_cell(program.cell.bodies, scene.offset)
        self.kin = load_robot(program.cell.robot)
        real = scene.T_flange_tcp_real
        self.T_flange_tcp = program.cell.T_flange_tcp if real is None else np.asarray(real, dtype=np.float64)
        self.T_world_base = program.cell.T_world_base
        self.kin.fk(np.asarray(program.cell.home_q))  # loads the compiled kinematics now (~0.5 s)
        self.feed: Any = None

    def attach(self, model: VirtualPowerSourceModel, joint_feed: str, robot_url: str) -> Any:
        """Open the joint feed (``"module:function"`` called with ``robot_url``) and give ``model`` its
        contact sensor; returns the feed (close it at the end).

        Raises:
            WeldcellError: the feed does not connect or gives no joints.
        """
        from weldcell.drivers.registry import resolve_target

        feed = resolve_target(joint_feed, "the robot's joint feed")(robot_url)
        sensor = WireTipSensor(self.kin.fk, feed, self.T_world_base, self.T_flange_tcp, self.part)
        try:
            sensor()  # the first evaluation happens now, never in the middle of a search
        except WeldcellError:
            feed.close()
            raise
        model.set_contact_sensor(sensor)
        self.feed = feed
        return feed

    def close(self) -> None:
        """Close the joint feed (idempotent)."""
        feed, self.feed = self.feed, None
        if feed is not None:
            feed.close()


def install_touch_scene(model: VirtualPowerSourceModel, scene: TouchScene) -> TouchSceneRuntime:
    """Give ``model`` its contact sensor for ``scene`` (with its joint feed); close the returned
    runtime at the end.

    Raises:
        WeldcellError: the program cannot be loaded, has no workpiece, the scene names no joint
            feed, or the feed does not connect.
    """
    if not scene.joint_feed or not scene.robot_url:
        raise InvalidValueError("touch scene: no joint feed of the robot to see the wire tip with")
    runtime = TouchSceneRuntime(scene)
    runtime.attach(model, scene.joint_feed, scene.robot_url)
    return runtime


__all__ = ["TouchScene", "TouchSceneRuntime", "install_touch_scene", "part_offset_from_user"]
