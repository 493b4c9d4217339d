"""Start-up cost of the command line: which heavy modules ``weldcell --help`` and ``weldcell check`` load.

Wall-clock limits flake on a loaded machine, so these tests check the cause instead: a fresh
interpreter must not import the heavy libraries a command does not need.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from waiting import run_child

ROOT = Path(__file__).resolve().parents[2]

#: Heavy modules (import cost 0.1-0.7 s each) that only planning, simulation or the cell need.
HEAVY = ("pybullet", "numba", "toppra", "ompl", "roboticstoolbox", "matplotlib.pyplot", "scipy.interpolate")
#: Also not needed by a warm ``weldcell check`` (the arm's reach comes from the cache).
HEAVY_FOR_CHECK = (
    *HEAVY,
    "scipy.optimize",
    "weldcell.kinematics.chain",
    "weldcell.planning",
    # the power-source protocols and the cell layer: only the cell commands need them (issue #14)
    "pymodbus",
    "asyncio",
    "weldcell.drivers.powersource.modbus",
    "weldcell.cell.cellconfig",
)

_PROBE = """
import json, sys
out, argv = sys.argv[1], sys.argv[2:]
import weldcell.cli
code = None
if argv:
    sys.argv = ["weldcell", *argv]
    try:
        weldcell.cli.main()
    except SystemExit as exc:
        code = exc.code
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def _probe(tmp_path: Path, *argv: str, cache: Path) -> tuple[int | None, set[str], str]:
    """Run the CLI in a fresh interpreter: (exit code, modules imported, stdout)."""
    out = tmp_path / "modules.json"
    env = dict(os.environ, WELDCELL_CACHE_DIR=str(cache), COLUMNS="200")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    proc = run_child([sys.executable, "-c", _PROBE, str(out), *argv], env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    return data["code"], set(data["modules"]), proc.stdout


def test_importing_the_cli_loads_no_heavy_module(tmp_path: Path) -> None:
    _, modules, _ = _probe(tmp_path, cache=tmp_path / "cache")
    assert "weldcell.cli" in modules
    assert not modules & set(HEAVY_FOR_CHECK)
    assert "numpy" not in modules


def test_help_loads_no_heavy_module(tmp_path: Path) -> None:
    code, modules, out = _probe(tmp_path, "--help", cache=tmp_path / "cache")
    assert code == 0
    assert "check" in out
    assert not modules & set(HEAVY_FOR_CHECK)


def _program_on(tmp_path: Path, robot: str) -> Path:
    """The demo T-joint, moved to another UR arm (same joint ranges, other reach)."""
    spec = yaml.safe_load((ROOT / "programs" / "demo_tjoint.yaml").read_text())
    spec["cell"]["robot"] = robot
    path = tmp_path / f"tjoint_{robot}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize("robot", ["ur5e", "ur3e"])
def test_warm_check_loads_no_heavy_module_and_prints_the_same(tmp_path: Path, robot: str) -> None:
    program = _program_on(tmp_path, robot)
    cache = tmp_path / "cache"
    cold_code, _, cold_out = _probe(tmp_path, "check", str(program), cache=cache)
    assert list(cache.glob(f"reach-*-{robot}-*.json")), "the arm's reach was not cached"
    warm_code, modules, warm_out = _probe(tmp_path, "check", str(program), cache=cache)
    assert (warm_code, warm_out) == (cold_code, cold_out)  # same verdict, table and reach column
    assert "verdict" in warm_out
    assert sorted(modules & set(HEAVY_FOR_CHECK)) == []


def test_a_corrupt_reach_cache_is_recomputed(tmp_path: Path) -> None:
    program = _program_on(tmp_path, "ur5e")
    cache = tmp_path / "cache"
    _, _, first = _probe(tmp_path, "check", str(program), cache=cache)
    (entry,) = cache.glob("reach-*-ur5e-*.json")
    entry.write_text("{not json")
    _, modules, again = _probe(tmp_path, "check", str(program), cache=cache)
    assert again == first
    assert "scipy.optimize" in modules  # recomputed, not trusted
    assert json.loads(entry.read_text())["reach_m"] > 0.5
