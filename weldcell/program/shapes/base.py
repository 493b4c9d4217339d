"""The :class:`Shape` base class: what every cell-body shape provides.

A shape is a small frozen value in SI units, in the body frame (primitives are centred on it). Each
shape class carries its YAML block schema (``Spec``, units in the field names), converts that block
to SI (``from_spec``) and back (``to_spec``), builds itself from the flat legacy fields of a body
(``from_fields``), measures signed distances and describes itself for content hashes. The planner
and the simulator add their own per-shape function, keyed by :attr:`Shape.kind`
(``weldcell.planning.body_models`` and ``weldcell.sim.body_shapes``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from weldcell.errors import BodyShapeError

NDArrayF = npt.NDArray[np.float64]


def positive(value: float, field: str, unit: str = "m") -> float:
    """``value`` as a float when finite and > 0, else :class:`BodyShapeError` naming ``field``."""
    v = float(value)
    if not (math.isfinite(v) and v > 0.0):
        raise BodyShapeError(f"{field} must be a finite value > 0 {unit}, got {value!r}", field=(field,))
    return v


class Shape(ABC):
    """A cell-body shape (subclasses are frozen dataclasses registered in ``SHAPES``).

    Class attributes:
        kind: Name of the shape and of its YAML block (``"box"``).
        Spec: Pydantic model of the YAML block (fields in mm).
    """

    __slots__ = ()
    kind: ClassVar[str]
    Spec: ClassVar[type[BaseModel]]

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: Any, base_dir: Path) -> Shape:
        """The shape of a YAML block (an instance of ``Spec``); files are relative to ``base_dir``.

        Raises:
            BodyShapeError: a value the block cannot have (``field`` names it).
        """

    @classmethod
    @abstractmethod
    def from_fields(
        cls,
        *,
        size: npt.ArrayLike | None,
        radius: float,
        length: float,
        mesh_path: Path | str | None,
        mesh_scale: float,
    ) -> Shape:
        """The shape from a body's flat fields (SI: size [m] (3,), radius [m], length [m]).

        Raises:
            BodyShapeError: a missing or invalid field (``field`` names it).
        """

    @abstractmethod
    def to_spec(self, base_dir: Path) -> dict[str, Any]:
        """The YAML block as written in a program (mm), files relative to ``base_dir`` when inside it."""

    @abstractmethod
    def signed_distance(self, p_body: NDArrayF) -> NDArrayF:
        """Signed distance [m] of body-frame points (N, 3) to the surface: > 0 outside, < 0 inside."""

    @abstractmethod
    def bounding_radius(self) -> float:
        """Radius [m] of a sphere about the body origin that contains the shape."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-friendly description in SI (files by content hash), for content hashes and reports."""

    # flat fields of the body model (zeros where the shape has no such field)
    @property
    def size(self) -> NDArrayF:
        """Full box extents [m] (3,) (zeros for other shapes)."""
        return np.zeros(3)

    @property
    def radius(self) -> float:
        """Radius [m] (cylinder, sphere; 0 otherwise)."""
        return 0.0

    @property
    def length(self) -> float:
        """Length along body z [m] (cylinder; 0 otherwise)."""
        return 0.0

    @property
    def mesh_path(self) -> Path | None:
        """Mesh file (mesh; None otherwise)."""
        return None

    @property
    def mesh_scale(self) -> float:
        """Factor from mesh file units to m (mesh; 1 otherwise)."""
        return 1.0
