"""Bad input to ``plan``, ``validate``, ``view`` and to every command that reads a trajectory file.

Each case must end with one clear line naming the file or option, exit status 2 and no traceback.
Option values are checked before any planning: the ``no_planning`` fixture makes the planner raise,
so a case that plans first escapes ``main`` and fails the test. The cases that need a trajectory
share one plan of ``programs/demo_tjoint.yaml`` (module fixture).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from weldcell.errors import TrajectoryFormatError
from weldcell.planning import plan_program, save_trajectory
from weldcell.program import load_program
from weldcell.trajectory import load_trajectory

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "programs" / "demo_tjoint.yaml"
BOX = REPO / "programs" / "box_frame.yaml"

Run = Callable[..., tuple[int, str]]  # the `weldcell` fixture (tests/cli/conftest.py)


@pytest.fixture
def no_planning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any planning attempt fail loudly: bad options must be rejected before the planner runs."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the planner ran before the bad input was rejected")

    monkeypatch.setattr("weldcell.planning.plan_program", refuse)


def _fails(result: tuple[int, str], *fragments: str) -> None:
    code, text = result
    assert code == 2, text
    assert "Traceback" not in text, text
    assert text.startswith("error: "), text
    for f in fragments:
        assert f in text, f"{f!r} not in {text!r}"


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo T-joint planned once (default options) into a module temp folder."""
    result = plan_program(load_program(DEMO))
    assert result.trajectory is not None, result.reason
    return save_trajectory(result.trajectory, tmp_path_factory.mktemp("planned") / "trajectory.npz")


@pytest.fixture
def bad(tmp_path: Path) -> dict[str, Path]:
    """Broken files: empty .npz, folder named .npz, weld program saved as .npz, binary YAML, a file."""
    f = {
        "empty": tmp_path / "empty.npz",
        "folder": tmp_path / "folder.npz",
        "program": tmp_path / "program.npz",
        "binary": tmp_path / "binary.yaml",
        "file": tmp_path / "existing",
        "other": tmp_path / "other.npz",
    }
    f["empty"].write_bytes(b"")
    f["folder"].mkdir()
    shutil.copy(DEMO, f["program"])
    f["binary"].write_bytes(bytes(range(128, 256)) * 8)
    f["file"].write_text("not a folder\n")
    np.savez(f["other"], a=np.zeros(3))
    return f


# --- load_trajectory ------------------------------------------------------------------------------
def test_load_trajectory_names_what_is_wrong(bad: dict[str, Path]) -> None:
    cases = {
        bad["empty"]: "the file is empty",
        bad["folder"]: "is a folder",
        bad["program"]: "looks like a weld program",
        DEMO: "looks like a weld program",
        bad["binary"]: "not an .npz archive",
        bad["other"]: "no meta, t, q",
        bad["file"].with_name("missing.npz"): "not found",
    }
    for path, fragment in cases.items():
        with pytest.raises(TrajectoryFormatError) as exc:
            load_trajectory(path)
        assert str(path) in str(exc.value) and fragment in str(exc.value), str(exc.value)
    with pytest.raises(TrajectoryFormatError, match="weldcell plan"):
        load_trajectory(DEMO)


def test_truncated_trajectory(planned: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.npz"
    cut.write_bytes(planned.read_bytes()[:3000])
    with pytest.raises(TrajectoryFormatError, match="corrupt or truncated"):
        load_trajectory(cut)


@pytest.mark.usefixtures("no_planning")
def test_every_command_rejects_bad_trajectory_files(
    weldcell: Run, bad: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    gif = tmp_path / "r.gif"
    for name, fragment in (("empty", "the file is empty"), ("program", "looks like a weld program")):
        f = bad[name]
        _fails(weldcell("validate", f, "--program", DEMO, "-o", out), f.name, fragment)
        _fails(weldcell("view", f, "--program", DEMO, "--record", gif), f.name, fragment)
        _fails(weldcell("export", f, "-o", out), f.name, fragment)
        _fails(weldcell("run", f, "--robot", "virtual"), f.name, fragment)
    _fails(weldcell("validate", bad["folder"], "--program", DEMO), "folder.npz", "is a folder")
    _fails(weldcell("view", bad["folder"], "--record", gif), "folder.npz", "is a folder")
    _fails(weldcell("validate", tmp_path / "nope.npz"), "nope.npz", "file not found")
    assert not (tmp_path / "nope_validation").exists()
    assert not out.exists() and not gif.exists()


# --- plan -----------------------------------------------------------------------------------------
@pytest.mark.usefixtures("no_planning")
def test_plan_bad_options(weldcell: Run, bad: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "plan"
    _fails(weldcell("plan", DEMO, "-o", bad["file"]), "--out", "existing", "is a file")
    _fails(weldcell("plan", DEMO, "-o", bad["file"] / "sub"), "--out", "is a file")
    for dt in ("-1", "0", "nan", "inf", "1000", "0.0001", "0.4"):  # 0.0001 ms planned for hours
        _fails(weldcell("plan", DEMO, "-o", out, "--dt-ms", dt), "--dt-ms", "controller period in ms")
    for n in ("0", "-5", "100000"):
        _fails(weldcell("plan", DEMO, "-o", out, "--rotation-samples", n), f"--rotation-samples {n}")
    assert not out.exists()


# --- validate -------------------------------------------------------------------------------------
def test_validate_bad_scene_and_output(
    weldcell: Run, planned: Path, bad: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "v"
    _fails(
        weldcell("validate", planned, "-p", DEMO, "--scene", bad["binary"], "-o", out),
        "binary.yaml",
        "not a text file",
        "scene file",
    )
    _fails(weldcell("validate", planned, "-p", DEMO, "--scene", bad["folder"], "-o", out), "is a folder")
    _fails(weldcell("validate", planned, "-p", DEMO, "--scene", tmp_path / "no.yaml"), "no.yaml", "not found")
    _fails(weldcell("validate", planned, "-p", DEMO, "-o", bad["file"]), "--out", "existing", "is a file")
    assert not out.exists()


@pytest.mark.usefixtures("no_planning")
def test_validate_bad_scene_fails_before_planning(
    weldcell: Run, bad: dict[str, Path], tmp_path: Path
) -> None:
    _fails(weldcell("validate", DEMO, "--scene", bad["binary"], "-o", tmp_path / "v"), "binary.yaml")
    _fails(weldcell("validate", DEMO, "-o", bad["file"]), "--out", "is a file")
    _fails(
        weldcell("validate", DEMO, "--program", BOX, "-o", tmp_path / "v"), "--program", "leave --program out"
    )


def test_validate_trajectory_of_another_program(weldcell: Run, planned: Path, tmp_path: Path) -> None:
    demo_hash, box_hash = load_program(DEMO).hash, load_program(BOX).hash
    code, text = weldcell("validate", planned, "-p", BOX, "-o", tmp_path / "v")
    _fails(
        (code, text),
        "trajectory.npz",
        "different weld program than box_frame.yaml",
        demo_hash[:12],
        box_hash[:12],
        "--program",
    )
    assert "another version" not in text


# --- view -----------------------------------------------------------------------------------------
@pytest.mark.usefixtures("no_planning")
def test_view_bad_options_fail_before_planning(weldcell: Run, tmp_path: Path) -> None:
    gif = tmp_path / "r.gif"
    for value in ("0", "-3", "nan"):
        _fails(weldcell("view", DEMO, "--record", gif, "--fps", value), f"--fps {value}", "frames per second")
    for value in ("0", "-1"):
        _fails(weldcell("view", DEMO, "--record", gif, "--speed", value), f"--speed {value}", "speed factor")
        _fails(weldcell("view", DEMO, "--speed", value), f"--speed {value}")
    _fails(weldcell("view", DEMO, "--record", tmp_path / "r.xyz"), "--record", "r.xyz", ".gif or .mp4")
    _fails(weldcell("view", DEMO, "--record", tmp_path), "--record")
    _fails(weldcell("view", DEMO, "--exit-after", "-1"), "--exit-after -1", ">= 0")
    _fails(weldcell("view", DEMO, "--record", gif, "--exit-after", "2"), "--exit-after", "--record")
    assert not gif.exists()


@pytest.mark.usefixtures("no_planning")
def test_view_without_display_fails_before_planning(weldcell: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("the DISPLAY check is Linux only")
    _fails(weldcell("view", DEMO), "no X display", "--record")
