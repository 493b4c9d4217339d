"""A plan that cannot weld a seam exits non-zero, names the seam and writes no trajectory.

``tests/program/unseen/ur10e_seam_in_fixture.yaml``: a clamp (fixture) sits across one of two
fillets. The program is valid, so ``check`` passes; ``plan`` must refuse the job and say which seam,
where and why, through the real entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

PROGRAM = Path(__file__).resolve().parents[1] / "program" / "unseen" / "ur10e_seam_in_fixture.yaml"

Run = Callable[..., tuple[int, str]]  # the `weldcell` fixture (tests/cli/conftest.py)


def test_seam_under_a_clamp_fails_the_plan_naming_it(weldcell: Run, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = weldcell("plan", PROGRAM, "-o", out)
    assert code != 0 and "Traceback" not in text, text
    assert "cannot plan: seam 'clamped_seam'" in text, text
    assert "penetrates clamp" in text, text
    assert "cannot plan: seam 'free_seam'" not in text
    assert not (out / "trajectory.npz").exists()
