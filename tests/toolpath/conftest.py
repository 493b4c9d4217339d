"""Fixtures for the tool-path tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from toolpath_programs import make_program

from weldcell.program import Program


@pytest.fixture
def program_factory(tmp_path: Path) -> Callable[..., Program]:
    """``program_factory(seam_dict, procedure_overrides)`` → loaded :class:`Program`."""

    def factory(seam: dict[str, Any], procedure: dict[str, Any] | None = None, **kw: Any) -> Program:
        return make_program(tmp_path, seam, procedure, **kw)

    return factory
