"""``benchmarks/bench_planning.py``'s CPU breakdown of a plan: stages exclusive, functions restored."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]


def _bench() -> object:
    spec = importlib.util.spec_from_file_location(
        "weldcell_bench_planning", _ROOT / "benchmarks" / "bench_planning.py"
    )
    assert spec is not None and spec.loader is not None  # mypy
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _targets(components: tuple) -> list[object]:  # type: ignore[type-arg]
    out = []
    for module, attr, _label in components:
        owner: object = importlib.import_module(module)
        for part in attr.split("."):
            owner = getattr(owner, part)
        out.append(owner)
    return out


def test_component_times_split_a_plan_and_restore_the_functions() -> None:
    bench = _bench()
    components = bench._COMPONENTS  # type: ignore[attr-defined]
    before = _targets(components)
    total, parts = bench.component_times(  # type: ignore[attr-defined]
        _ROOT / "tests" / "planning" / "programs" / "wall_end_fillet.yaml", repeats=1
    )
    assert _targets(components) == before  # the wrapped functions are put back
    stages = [label for _m, _a, label in components if not label.startswith(" ")]
    kernels = [label for _m, _a, label in components if label.startswith(" ")]
    assert total > 0.0
    # every stage ran and its exclusive time is not negative; together at most the whole plan
    for label in stages:
        assert parts[label] >= -1e-3, label
    assert sum(parts[label] for label in stages) <= total + 1e-3
    # the seam search queries collisions, the singularity measure and IK: kernels inside stages
    for label in kernels:
        assert 0.0 < parts[label] <= total + 1e-3, label
    assert parts[components[0][2]] > 0.0  # the seam search


def test_bench_planning_help_names_components(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    import sys

    argv = sys.argv
    sys.argv = ["bench_planning.py", "--help"]
    try:
        with pytest.raises(SystemExit) as exc:
            bench.main()  # type: ignore[attr-defined]
    finally:
        sys.argv = argv
    assert exc.value.code == 0
    assert "--components" in capsys.readouterr().out
