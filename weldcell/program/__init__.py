"""Weld programs: the YAML format, its JSON Schema, loading (to SI) and saving.

>>> program = load_program("programs/demo_tjoint.yaml")   # doctest: +SKIP
>>> program.seams[0].id, program.procedures[program.seams[0].procedure].travel_speed  # doctest: +SKIP

The file format is documented in ``docs/program-format.md``; :func:`program_json_schema` returns
the JSON Schema editors can validate against.
"""

from __future__ import annotations

from typing import Any

from weldcell.program.build_cell import UserFrames
from weldcell.program.geometry import SeamCurve
from weldcell.program.loader import load_program
from weldcell.program.model import (
    Body,
    Cell,
    Procedure,
    Program,
    Seam,
    SeamGeometry,
    Stitch,
    Weave,
    WeldPass,
)
from weldcell.program.save import program_to_dict, save_program
from weldcell.program.schema import FORMAT_ID, ProgramSpec


def program_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the program file, with descriptions and units."""
    schema = ProgramSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://weldcell.dev/schema/weldcell.program-1.json"
    schema["title"] = "weldcell weld program (format weldcell.program/1)"
    return schema


__all__ = [
    "FORMAT_ID",
    "Body",
    "Cell",
    "Procedure",
    "Program",
    "Seam",
    "SeamCurve",
    "SeamGeometry",
    "Stitch",
    "UserFrames",
    "Weave",
    "WeldPass",
    "load_program",
    "program_json_schema",
    "program_to_dict",
    "save_program",
]
