"""Base pieces of the program file schema (shared by :mod:`weldcell.program.schema` and the shapes).

Strict pydantic models (unknown keys are errors, no string-to-number coercion) and the bounded
number types, units in the field names.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

LIMIT = 1e6  # [mm] / [s] / [deg]: anything bigger is a typo, and keeps the arithmetic finite
Coord = Annotated[float, Field(ge=-LIMIT, le=LIMIT)]
Vec3 = Annotated[list[Coord], Field(min_length=3, max_length=3, description="[x, y, z]")]
PositiveMm = Annotated[float, Field(gt=0.0, le=LIMIT)]
NonNegative = Annotated[float, Field(ge=0.0, le=LIMIT)]


class StrictSpec(BaseModel):
    """Base: unknown keys are errors, no silent string-to-number coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
