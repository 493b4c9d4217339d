"""Cylinder shape: radius and length along the body z axis, centred on the body frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from weldcell.program._spec_base import PositiveMm, StrictSpec
from weldcell.program.shapes.base import NDArrayF, Shape, positive


class CylinderSpec(StrictSpec):
    """A cylinder centred on the body frame, axis = body z."""

    radius_mm: PositiveMm
    length_mm: PositiveMm


@dataclass(frozen=True, slots=True)
class Cylinder(Shape):
    """A finite cylinder centred on the body frame, axis = body z.

    Attributes:
        cyl_radius: Radius [m].
        cyl_length: Length along body z [m].
    """

    kind: ClassVar[str] = "cylinder"
    Spec: ClassVar[type[CylinderSpec]] = CylinderSpec
    cyl_radius: float
    cyl_length: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "cyl_radius", positive(self.cyl_radius, "radius"))
        object.__setattr__(self, "cyl_length", positive(self.cyl_length, "length"))

    @classmethod
    def from_spec(cls, spec: Any, base_dir: Path) -> Cylinder:
        return cls(spec.radius_mm * 1e-3, spec.length_mm * 1e-3)

    @classmethod
    def from_fields(
        cls,
        *,
        size: npt.ArrayLike | None,
        radius: float,
        length: float,
        mesh_path: Path | str | None,
        mesh_scale: float,
    ) -> Cylinder:
        return cls(radius, length)

    def to_spec(self, base_dir: Path) -> dict[str, Any]:
        return {"radius_mm": round(self.cyl_radius * 1e3, 9), "length_mm": round(self.cyl_length * 1e3, 9)}

    def signed_distance(self, p_body: NDArrayF) -> NDArrayF:
        p = np.asarray(p_body, dtype=np.float64)
        q = np.stack(
            [np.hypot(p[:, 0], p[:, 1]) - self.cyl_radius, np.abs(p[:, 2]) - 0.5 * self.cyl_length], axis=1
        )
        outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
        return np.asarray(outside + np.minimum(q.max(axis=1), 0.0), dtype=np.float64)

    def bounding_radius(self) -> float:
        return float(np.hypot(self.cyl_radius, 0.5 * self.cyl_length))

    def describe(self) -> dict[str, Any]:
        return {"radius": round(self.cyl_radius, 9), "length": round(self.cyl_length, 9)}

    @property
    def radius(self) -> float:
        return self.cyl_radius

    @property
    def length(self) -> float:
        return self.cyl_length
