"""Collaborative presets of the FANUC CRX and ABB GoFa in the one source of safety limits."""

from __future__ import annotations

import math

import pytest

from weldcell.errors import UnknownModelError
from weldcell.kinematics.safety import cobot_default, default_limits, planning_limits


@pytest.mark.parametrize("name", ["crx10ial", "crb15000_5_95"])
def test_cobot_presets(name: str) -> None:
    lim = default_limits(name)
    assert lim == cobot_default(name)
    assert lim.tcp_speed == lim.elbow_speed == 1.0
    plan = planning_limits(lim)
    assert math.isclose(plan.tcp_speed, 2.0 / 3.0) and math.isclose(plan.elbow_speed, 2.0 / 3.0)
    # an industrial arm keeps the cell-PLC default, a UR its PolyScope preset
    assert default_limits("irb1520id").tcp_speed == 2.0
    assert default_limits("ur5e").tcp_speed == 1.5


def test_unknown_cobot() -> None:
    with pytest.raises(UnknownModelError, match="crb15000_5_95, crx10ial"):
        cobot_default("ur5e")
