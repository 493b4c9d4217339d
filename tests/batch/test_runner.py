"""The batch runner: process pool and Ray (a local instance, once per module), failures as values."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import batch_catalogue
import pytest
from batch_catalogue import explode, write_catalogue

from weldcell.batch import BatchTask, ItemStatus, run_batch
from weldcell.cli.batch_worker import plan_and_validate_one
from weldcell.errors import WeldcellError

OPTIONS = {
    "dt_ms": 2.0,
    "rotation_samples": 36,
    "keep_order": False,
    "seed": 0,
    "keep_configuration": False,
    "dynamics": False,
    "images": False,
    "stamp_key_file": None,
}


@pytest.fixture(scope="module")
def ray_local() -> Iterator[object]:
    """One local Ray instance (2 CPUs) for the module: started before the leak check's snapshot."""
    ray = pytest.importorskip("ray", reason="the ray extra is part of the CI install (scripts/setup.sh)")
    t0 = time.monotonic()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(batch_catalogue)  # the workers cannot import tests/
    # the driver's connections to the workers open on the first tasks: before the leak snapshot
    ray.get([ray.remote(num_cpus=1)(explode).remote(BatchTask(n, Path(n), Path(n), {})) for n in "ab"])
    assert time.monotonic() - t0 < 90
    yield ray
    ray.shutdown()


def test_ray_plans_and_validates_programs(tmp_path: Path, ray_local: object) -> None:
    programs = write_catalogue(1, tmp_path / "cat")
    tasks = [BatchTask(p.stem, p, tmp_path / "out" / p.stem, OPTIONS) for p in programs]
    tasks.append(BatchTask("missing", tmp_path / "nope.yaml", tmp_path / "out" / "missing", OPTIONS))
    seen: list[str] = []
    t0 = time.monotonic()
    results = run_batch(
        tasks, plan_and_validate_one, workers=2, ray_address="local", on_done=lambda r: seen.append(r.name)
    )
    assert time.monotonic() - t0 < 120
    assert sorted(seen) == sorted(t.name for t in tasks)
    assert [r.name for r in results] == [t.name for t in tasks]  # task order, whatever finished first
    for r, p in zip(results[:1], programs, strict=True):
        assert r.status is ItemStatus.OK, r.reason
        assert r.robot == "ur3e" and r.cycle_time_s is not None and r.cycle_time_s > 0
        out = tmp_path / "out" / p.stem
        for f in (
            "plan.json",
            "trajectory.npz",
            "validation.json",
            "validation.html",
            "trajectory.npz.stamp.json",
        ):
            assert f in r.files and (out / f).is_file()
    assert results[1].status is ItemStatus.ERROR and "file not found" in results[1].reason


def test_ray_turns_a_crashing_task_into_a_result(tmp_path: Path, ray_local: object) -> None:
    tasks = [BatchTask(n, tmp_path / f"{n}.yaml", tmp_path / n, {}) for n in ("good", "bad")]
    results = run_batch(tasks, explode, workers=2, ray_address="local")
    assert results[0].ok
    assert results[1].status is ItemStatus.ERROR and "boom" in results[1].reason


def test_pool_survives_a_failing_task(tmp_path: Path) -> None:
    tasks = [BatchTask(n, tmp_path / f"{n}.yaml", tmp_path / n, {}) for n in ("good", "bad", "also_good")]
    results = run_batch(tasks, explode, workers=2)
    assert [r.status for r in results] == [ItemStatus.OK, ItemStatus.ERROR, ItemStatus.OK]
    assert "RuntimeError('boom')" in results[1].reason


def test_missing_ray_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    task = BatchTask("a", tmp_path / "a.yaml", tmp_path / "a", {})
    with pytest.raises(WeldcellError, match=r"pip install 'weldcell\[ray\]'"):
        run_batch([task], explode, workers=1, ray_address="ray://cluster:10001")


def test_bad_worker_count_is_refused(tmp_path: Path) -> None:
    task = BatchTask("a", tmp_path / "a.yaml", tmp_path / "a", {})
    with pytest.raises(WeldcellError, match="--workers -1"):
        run_batch([task], explode, workers=-1)
