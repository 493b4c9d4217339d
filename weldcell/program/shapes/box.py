"""Box shape: full extents along the body x, y, z axes, centred on the body frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from weldcell.errors import BodyShapeError
from weldcell.program._spec_base import StrictSpec, Vec3
from weldcell.program.shapes.base import NDArrayF, Shape


class BoxSpec(StrictSpec):
    """A box centred on the body frame."""

    size_mm: Vec3 = Field(description="Full extents along the body x, y, z axes [mm].")


@dataclass(frozen=True, slots=True)
class Box(Shape):
    """A box centred on the body frame.

    Attributes:
        extents: Full extents along body x, y, z [m], shape (3,).
    """

    kind: ClassVar[str] = "box"
    Spec: ClassVar[type[BoxSpec]] = BoxSpec
    extents: tuple[float, float, float]

    def __post_init__(self) -> None:
        e = tuple(float(x) for x in np.asarray(self.extents, dtype=np.float64).ravel())
        if len(e) != 3 or not all(np.isfinite(x) and x > 0.0 for x in e):
            raise BodyShapeError(f"a box needs 3 extents > 0 m, got {self.extents!r}", field=("size_mm",))
        object.__setattr__(self, "extents", e)

    @classmethod
    def from_spec(cls, spec: Any, base_dir: Path) -> Box:
        size = np.asarray(spec.size_mm, dtype=np.float64) * 1e-3
        if np.any(size <= 0.0):
            raise BodyShapeError(f"box sizes must be > 0 mm, got {spec.size_mm}", field=("size_mm",))
        return cls((float(size[0]), float(size[1]), float(size[2])))

    @classmethod
    def from_fields(
        cls,
        *,
        size: npt.ArrayLike | None,
        radius: float,
        length: float,
        mesh_path: Path | str | None,
        mesh_scale: float,
    ) -> Box:
        if size is None or np.shape(size) != (3,):
            raise BodyShapeError(f"a box needs size = 3 extents [m], got {size!r}", field=("size",))
        s = np.asarray(size, dtype=np.float64)
        return cls((float(s[0]), float(s[1]), float(s[2])))

    def to_spec(self, base_dir: Path) -> dict[str, Any]:
        return {"size_mm": [round(x * 1e3, 9) for x in self.extents]}

    def signed_distance(self, p_body: NDArrayF) -> NDArrayF:
        q = np.abs(np.asarray(p_body, dtype=np.float64)) - 0.5 * np.asarray(self.extents)
        outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
        return np.asarray(outside + np.minimum(q.max(axis=1), 0.0), dtype=np.float64)

    def bounding_radius(self) -> float:
        return float(0.5 * np.linalg.norm(self.extents))

    def describe(self) -> dict[str, Any]:
        return {"size": [round(x, 9) for x in self.extents]}

    @property
    def size(self) -> NDArrayF:
        return np.array(self.extents, dtype=np.float64)
