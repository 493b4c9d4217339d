"""``weldcell plan-batch``: parallel plan + validate, the content cache, failures, the HTML index."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from batch_catalogue import write_catalogue

Run = Callable[..., tuple[int, str]]


def _outcomes(out: Path) -> dict[str, tuple[str, bool]]:
    doc = json.loads((out / "batch.json").read_text())
    assert doc["schema"] == "weldcell.plan-batch/1"
    return {p["name"]: (p["status"], p["cached"]) for p in doc["programs"]}


def test_batch_replans_only_what_changed(weldcell: Run, tmp_path: Path) -> None:
    cat = tmp_path / "cat"
    progs = write_catalogue(2, cat)  # ur3e, ur5e T-joints
    (cat / "zz_bad_robot.yaml").write_text(progs[0].read_text().replace("robot: ur3e", "robot: ur99"))
    out = tmp_path / "out"
    stale = out / "zz_bad_robot" / "trajectory.npz"  # from an earlier version that planned
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    (out / "zz_bad_robot" / "trajectory.npz.stamp.json").write_text("{}")

    # in this process (--workers 0): the pool and Ray run the same work in tests/batch/test_runner.py
    code, text = weldcell("plan-batch", cat, "-o", out, "--workers", "0")
    assert code == 1, text  # one program is bad: the batch goes on, exits non-zero, says which and why
    assert "zz_bad_robot: error" in text and "ur99" in text and "2 of 3 passed" in text
    assert not any((out / "zz_bad_robot").iterdir())  # a failure leaves no older plan behind
    first = _outcomes(out)
    assert first == {
        "part_000": ("ok", False),
        "part_001": ("ok", False),
        "zz_bad_robot": ("error", False),
    }
    index = (out / "index.html").read_text()
    for name in ("part_000", "part_001"):
        assert f'href="{name}/validation.html"' in index
        for f in ("plan.json", "trajectory.npz", "validation.html", "trajectory.npz.stamp.json"):
            assert (out / name / f).is_file()
    stamp_before = (out / "part_001" / "trajectory.npz.stamp.json").read_bytes()

    # change one program: only that one is planned again (the others come from the cache)
    p1 = progs[1]
    p1.write_text(p1.read_text().replace("travel_angle_deg: 5", "travel_angle_deg: 7"))
    (cat / "zz_bad_robot.yaml").unlink()
    code, text = weldcell("plan-batch", cat, "-o", out, "--workers", "0")
    assert code == 0, text
    assert "1 to plan, 1 unchanged (cached)" in text
    assert _outcomes(out) == {
        "part_000": ("ok", True),
        "part_001": ("ok", False),
    }
    assert (out / "part_001" / "trajectory.npz.stamp.json").read_bytes() != stamp_before
    plan = json.loads((out / "part_001" / "plan.json").read_text())
    assert plan["complete"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere/*.yaml"], "matches no weld program"),
        (["missing_folder"], "not found"),
        (["{cat}", "--workers", "-1"], "--workers -1"),
        (["{cat}", "--dt-ms", "0"], "--dt-ms 0"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    weldcell: Run, tmp_path: Path, args: list[str], message: str
) -> None:
    cat = tmp_path / "cat"
    write_catalogue(1, cat)
    argv = [a.replace("{cat}", str(cat)) for a in args]
    code, text = weldcell("plan-batch", *argv, "-o", tmp_path / "out")
    assert code == 2 and message in text and "Traceback" not in text


def test_output_names_are_unique_when_file_names_clash(tmp_path: Path) -> None:
    from weldcell.cli.plan_batch import find_programs, unique_names

    for sub in ("line_a", "line_b"):
        write_catalogue(1, tmp_path / "plant" / sub)
    progs = find_programs(str(tmp_path / "plant" / "**" / "*.yaml"))
    assert len(progs) == 2
    assert unique_names(progs) == ["line_a__part_000", "line_b__part_000"]
