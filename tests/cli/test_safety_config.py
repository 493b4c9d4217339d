"""`weldcell controller ur --safety-config`: bad files give one line naming file and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., tuple[int, str]]  # the `weldcell` fixture (tests/cli/conftest.py)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tool_speed_mm_s: -3\n", "field 'tool_speed_mm_s': expected a positive number"),
        ("tool_sped_mm_s: 3\n", "unknown field 'tool_sped_mm_s'"),
        ("power_w: .nan\n", "field 'power_w': expected a positive number"),
        ("joint_speed_deg_s: [100, 100]\n", "expected 6 numbers, got 2"),
        ("joint_speed_deg_s: 100\n", "expected a list of positive numbers"),
        ("- 1\n- 2\n", "expected a mapping of safety limits"),
        ("a: [\n", "not a YAML file"),
    ],
)
def test_bad_safety_config(weldcell: Run, tmp_path: Path, text: str, expected: str) -> None:
    f = tmp_path / "safety.yaml"
    f.write_text(text)
    code, out = weldcell("controller", "ur", "--host", "127.0.0.63", "--safety-config", f)
    assert code == 2
    assert str(f) in out and expected in out
    assert "Traceback" not in out
