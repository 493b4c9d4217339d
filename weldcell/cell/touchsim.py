"""Geometry truth of the simulated cell for touch sensing: where the part *really* is, and where the
wire tip *really* is.

The virtual power source decides "contact" from this module, never from the planner's belief:

* :class:`SimulatedPart` holds the workpiece bodies of a program moved by a :class:`PartOffset`
  (the part placed off nominal: given to the simulator, not to the planner) and computes the signed
  distance of a world point to them (each shape's own signed distance, ``weldcell.program.shapes``:
  boxes, cylinders, spheres, meshes);
* :class:`WireTipSensor` reads the robot's *actual* joint positions from the virtual robot
  controller (a callable, e.g. ``lambda: robot.state().q`` of a ``VirtualRobot``), runs forward
  kinematics with the robot's *real* TCP (which may differ from the TCP the cell believes, to
  simulate a TCP error) and returns the wire tip's signed distance to the part: the callable the
  virtual power source's ``set_contact_sensor`` takes.

Units: m, rad. ``T_a_b`` is the pose of b in a.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.errors import InvalidValueError
from weldcell.spatial import rotation_from_rotvec

if TYPE_CHECKING:
    from weldcell.program.model import Body
    from weldcell.program.shapes import Shape

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PartOffset:
    """Displacement of the real part from its nominal pose, in the world frame.

    The real pose of every workpiece body is ``D @ T_world_body`` with
    ``D = Trans(about + translation) · Rot(rotvec) · Trans(-about)``: a rotation about the world
    point ``about`` followed by a translation.

    Attributes:
        translation: [m], shape (3,).
        rotvec: Rotation vector [rad], shape (3,) (e.g. ``[0, 0, deg2rad(2)]``: 2° about world z).
        about: Centre of the rotation [m], shape (3,) (None: the reference part's origin).
    """

    translation: NDArrayF = field(default_factory=lambda: np.zeros(3))
    rotvec: NDArrayF = field(default_factory=lambda: np.zeros(3))
    about: NDArrayF | None = None

    def transform(self, about: npt.ArrayLike | None = None) -> NDArrayF:
        """``D`` (4, 4) [m]; ``about`` is used when the offset has no centre of its own."""
        c = np.asarray(self.about if self.about is not None else (np.zeros(3) if about is None else about))
        D = np.eye(4)
        D[:3, :3] = rotation_from_rotvec(np.asarray(self.rotvec, dtype=np.float64))
        D[:3, 3] = c + np.asarray(self.translation, dtype=np.float64) - D[:3, :3] @ c
        return D


@dataclass(frozen=True, slots=True)
class RealBody:
    """One workpiece body at its real pose: its shape (``weldcell.program.shapes``, with the shape's
    own signed distance) and ``T_world_body`` (4, 4)."""

    name: str
    shape: Shape
    T_world_body: NDArrayF

    def signed_distance(self, p_world: NDArrayF) -> NDArrayF:
        """Signed distance [m] of world points (M, 3) to this body (negative inside)."""
        T_body_world = np.linalg.inv(self.T_world_body)
        p = p_world @ T_body_world[:3, :3].T + T_body_world[:3, 3]
        return np.asarray(self.shape.signed_distance(p), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class SimulatedPart:
    """The workpiece bodies of a cell at their real poses.

    Attributes:
        bodies: The bodies at their real poses.
        D: Applied displacement ``T_world_real = D @ T_world_nominal`` (4, 4).
    """

    bodies: tuple[RealBody, ...]
    D: NDArrayF

    @classmethod
    def from_cell(
        cls, cell_bodies: Sequence[Body], offset: PartOffset | None = None, *, reference: str | None = None
    ) -> SimulatedPart:
        """The workpiece bodies of a program's cell (``program.cell.bodies``), displaced by ``offset``.

        Args:
            cell_bodies: The cell's bodies; those with role ``workpiece`` are the part (any shape).
            offset: Displacement of the real part (None: the part is at its nominal pose).
            reference: Body whose origin is the rotation centre (default: the first workpiece body).

        Raises:
            InvalidValueError: no workpiece body.
        """
        work = [b for b in cell_bodies if b.role == "workpiece"]
        if not work:
            raise InvalidValueError("touch sensing simulation: the cell has no body with role 'workpiece'")
        ref = next((b for b in work if b.name == reference), work[0])
        D = (offset or PartOffset()).transform(np.asarray(ref.T_world_body)[:3, 3])
        return cls(tuple(RealBody(b.name, b.geometry, D @ np.asarray(b.T_world_body)) for b in work), D)

    def signed_distance(self, p_world: npt.ArrayLike) -> NDArrayF:
        """Signed distance [m] of world points (M, 3) (or one point (3,)) to the part; < 0 inside."""
        p = np.atleast_2d(np.asarray(p_world, dtype=np.float64))
        d = np.min(np.stack([b.signed_distance(p) for b in self.bodies]), axis=0)
        return np.asarray(d if np.ndim(p_world) > 1 else d[:1], dtype=np.float64)


class WireTipSensor:
    """Signed distance [m] of the real wire tip to the real part, from the robot's actual joints.

    Args:
        fk: Forward kinematics ``q -> T_base_flange`` (4, 4) of the robot model.
        joints: Returns the robot's actual joint positions [rad] (n,) from the (virtual) controller.
        T_world_base: Robot base in the world (4, 4).
        T_flange_tcp_real: The torch's *real* TCP in the flange frame (4, 4) (with a TCP error when
            simulating one).
        part: The part at its real pose.
    """

    def __init__(
        self,
        fk: Callable[[NDArrayF], NDArrayF],
        joints: Callable[[], NDArrayF],
        T_world_base: npt.ArrayLike,
        T_flange_tcp_real: npt.ArrayLike,
        part: SimulatedPart,
    ) -> None:
        self._fk = fk
        self._joints = joints
        self._T_world_base = np.asarray(T_world_base, dtype=np.float64)
        self._T_flange_tcp = np.asarray(T_flange_tcp_real, dtype=np.float64)
        self.part = part

    def tip_position(self) -> NDArrayF:
        """Real wire tip in the world [m], (3,)."""
        T = self._T_world_base @ self._fk(np.asarray(self._joints(), dtype=np.float64)) @ self._T_flange_tcp
        return np.asarray(T[:3, 3])

    def __call__(self) -> float:
        """Signed distance [m] of the wire tip to the part."""
        return float(self.part.signed_distance(self.tip_position())[0])


__all__ = ["PartOffset", "RealBody", "SimulatedPart", "WireTipSensor"]
