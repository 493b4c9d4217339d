"""Welding torch model: TCP at the wire end and named collision capsules in the flange frame."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError
from weldcell.kinematics.specs import TorchSpec
from weldcell.kinematics.urdf import Capsule

NDArrayF = npt.NDArray[np.float64]

MAX_STICKOUT = 0.05  # [m] sanity bound on the wire stick-out


class Torch:
    """A MIG/MAG torch mounted on the flange (use :func:`weldcell.kinematics.load_torch`).

    Geometry (docs/conventions.md, "torch"): the body runs along flange z to the bend point, the
    neck leaves it at ``neck_angle`` towards flange +x; the TCP is the wire end, ``stickout``
    beyond the contact tip along the neck axis, with tcp z = that axis (the approach direction,
    pointing from the torch into the joint), tcp y = flange y.

    Attributes:
        name: Model name.
        urdf_path: URDF file (root link ``flange``; a fixed ``tcp`` link at the nominal stick-out).
        neck_angle: Bend angle [rad].
        nominal_stickout: Default contact-tip-to-wire-end distance [m].
        collision_capsules: Capsules in the flange frame (``link == "flange"``), named ``mount``,
            ``body``, ``neck``, ``nozzle``, ``contact_tip`` and ``wire`` (the wire at the nominal
            stick-out). Keep clearance with ``nozzle``/``neck``/``body``/``mount``; the planner
            may let ``wire`` (and ``contact_tip``) touch the joint.
    """

    def __init__(self, spec: TorchSpec, urdf_path: Path) -> None:
        """Build the torch from its spec (internal: use ``load_torch``)."""
        self._spec = spec
        self.name = spec.name
        self.urdf_path = urdf_path
        self.neck_angle = spec.neck_angle
        self.nominal_stickout = spec.nominal_stickout
        ca, sa = math.cos(spec.neck_angle), math.sin(spec.neck_angle)
        T = np.eye(4)
        T[:3, :3] = [[ca, 0.0, sa], [0.0, 1.0, 0.0], [-sa, 0.0, ca]]
        T[:3, 3] = [0.0, 0.0, spec.body_length]
        T.flags.writeable = False
        self.T_flange_neck: NDArrayF = T
        self.collision_capsules: tuple[Capsule, ...] = self._capsules()

    def __repr__(self) -> str:
        """Short description."""
        return f"Torch({self.name!r}, neck_angle={math.degrees(self.neck_angle):.1f}°)"

    def _on_axis(self, s: float) -> NDArrayF:
        """Point at distance ``s`` [m] along the neck axis from the bend point, flange frame."""
        p: NDArrayF = self.T_flange_neck[:3, 3] + s * self.T_flange_neck[:3, 2]
        return p

    def _capsules(self) -> tuple[Capsule, ...]:
        s = self._spec
        L = s.neck_length
        nz0 = L - s.nozzle_length
        # the nozzle capsule (radius r_nozzle) also encloses the narrower mouth: stop the segment
        # h short of the mouth with r_nozzle² = r_nozzle_tip² + h², so the mouth disc is inside
        h = min(math.sqrt(max(s.r_nozzle**2 - s.r_nozzle_tip**2, 0.0)), s.nozzle_tip_length)
        tip_end = L - s.tip_recess
        z = np.zeros(3)
        return (
            Capsule("flange", z, np.array([0.0, 0.0, s.mount_length]), s.r_mount, "mount"),
            Capsule("flange", np.array([0.0, 0.0, s.mount_length]), self._on_axis(0.0), s.r_body, "body"),
            Capsule("flange", self._on_axis(0.0), self._on_axis(nz0), s.r_neck, "neck"),
            Capsule("flange", self._on_axis(nz0), self._on_axis(L - h), s.r_nozzle, "nozzle"),
            Capsule("flange", self._on_axis(tip_end - 0.02), self._on_axis(tip_end), s.r_tip, "contact_tip"),
            Capsule(
                "flange",
                self._on_axis(tip_end),
                self._on_axis(tip_end + s.nominal_stickout),
                s.r_wire,
                "wire",
            ),
        )

    def T_flange_tcp(self, stickout: float | None = None) -> NDArrayF:
        """Pose of the TCP (wire end) in the flange frame.

        Args:
            stickout: Contact tip to wire end [m]; None for :attr:`nominal_stickout`.

        Returns:
            ``T_flange_tcp``, shape (4, 4).

        Raises:
            InputShapeError: stick-out not finite or outside [0, 0.05] m.
        """
        so = self.nominal_stickout if stickout is None else float(stickout)
        if not (math.isfinite(so) and 0.0 <= so <= MAX_STICKOUT):
            raise InputShapeError(
                f"stickout: expected a wire stick-out in [0, {MAX_STICKOUT}] m, got {stickout!r}"
            )
        T = np.array(self.T_flange_neck)
        T[:3, 3] = self._on_axis(self._spec.neck_length - self._spec.tip_recess + so)
        return T
