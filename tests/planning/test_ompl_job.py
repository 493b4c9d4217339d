"""A job whose transit needs the ompl search: the batched motion validator plans as ompl's own does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from weldcell.planning import plan_program
from weldcell.planning import transit as transit_module
from weldcell.program import load_program

PROGRAM = Path(__file__).parent / "programs" / "wall_between_tjoints.yaml"


def test_wall_job_goes_around_with_ompl_and_equals_ompls_default(monkeypatch: pytest.MonkeyPatch) -> None:
    searches: list[int] = []
    search = transit_module._ompl_path

    def counted(*args: Any, **kwargs: Any) -> Any:
        searches.append(1)
        return search(*args, **kwargs)

    monkeypatch.setattr(transit_module, "_ompl_path", counted)
    program = load_program(PROGRAM)
    batched = plan_program(program)
    assert batched.ok, batched.reason
    assert searches, "the transit between the two sides of the wall should need the ompl search"

    def ompl_default(_ob: object, si: Any, *_: object) -> Any:
        return si.getMotionValidator()

    monkeypatch.setattr(transit_module, "_batched_motion_validator", ompl_default)
    default = plan_program(program)
    assert default.ok, default.reason
    assert batched.cycle_time == default.cycle_time
    assert batched.trajectory is not None and default.trajectory is not None
    np.testing.assert_array_equal(batched.trajectory.q, default.trajectory.q)
