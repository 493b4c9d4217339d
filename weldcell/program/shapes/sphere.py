"""Sphere shape: radius, centred on the body frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from weldcell.program._spec_base import PositiveMm, StrictSpec
from weldcell.program.shapes.base import NDArrayF, Shape, positive


class SphereSpec(StrictSpec):
    """A sphere centred on the body frame."""

    radius_mm: PositiveMm


@dataclass(frozen=True, slots=True)
class Sphere(Shape):
    """A sphere centred on the body frame.

    Attributes:
        sphere_radius: Radius [m].
    """

    kind: ClassVar[str] = "sphere"
    Spec: ClassVar[type[SphereSpec]] = SphereSpec
    sphere_radius: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "sphere_radius", positive(self.sphere_radius, "radius"))

    @classmethod
    def from_spec(cls, spec: Any, base_dir: Path) -> Sphere:
        return cls(spec.radius_mm * 1e-3)

    @classmethod
    def from_fields(
        cls,
        *,
        size: npt.ArrayLike | None,
        radius: float,
        length: float,
        mesh_path: Path | str | None,
        mesh_scale: float,
    ) -> Sphere:
        return cls(radius)

    def to_spec(self, base_dir: Path) -> dict[str, Any]:
        return {"radius_mm": round(self.sphere_radius * 1e3, 9)}

    def signed_distance(self, p_body: NDArrayF) -> NDArrayF:
        p = np.asarray(p_body, dtype=np.float64)
        return np.asarray(np.linalg.norm(p, axis=1) - self.sphere_radius, dtype=np.float64)

    def bounding_radius(self) -> float:
        return self.sphere_radius

    def describe(self) -> dict[str, Any]:
        return {"radius": round(self.sphere_radius, 9)}

    @property
    def radius(self) -> float:
        return self.sphere_radius
