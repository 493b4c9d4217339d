"""Run one function over many batch tasks: in this process, a local process pool, or a Ray cluster.

A task's failure is a value (:class:`ItemResult` with an error status), never an exception that
stops the batch: the function itself returns failures, and whatever escapes it (a crash, a worker
process that died, a lost Ray node) is turned into an ``ERROR`` result naming what happened.
"""

from __future__ import annotations

import enum
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from weldcell.errors import WeldcellError

#: ``--ray local``: start a Ray instance on this machine for the batch (Ray's old in-driver
#: ``local_mode`` is no longer supported by Ray and ran tasks one after another anyway).
RAY_LOCAL = "local"


class ItemStatus(str, enum.Enum):
    """Outcome of one program of a batch."""

    OK = "ok"  # planned, every segment welded, validation passed (stamped)
    PLAN_FAILED = "plan_failed"  # the planner found no plan
    INCOMPLETE = "incomplete"  # planned, but not every programmed segment is welded end to end
    VALIDATION_FAILED = "validation_failed"  # the simulation found violations (not stamped)
    ERROR = "error"  # bad input (program, models) or a crash: nothing to cache


@dataclass(frozen=True, slots=True)
class BatchTask:
    """One program of a batch.

    Attributes:
        name: Unique name in the batch (its output folder's name).
        program: Program file.
        out_dir: Output folder of this program.
        options: JSON-serialisable options of the work function.
        key: Content key (None: the program could not be keyed; it runs and is not cached).
    """

    name: str
    program: Path
    out_dir: Path
    options: Mapping[str, Any]
    key: str | None = None


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What one program's work produced.

    Attributes:
        name: Task name.
        program: Program file (as given).
        status: Outcome.
        reason: Why it is not OK (one line per problem; empty when OK).
        robot: Robot model of the program ("" when it did not load).
        n_segments: Planned weld segments.
        cycle_time_s: Cycle time of the plan [s] (None without a plan).
        plan_time_s: Wall time of planning [s].
        validate_time_s: Wall time of the validation [s] (None when not validated).
        violations: Validation violations.
        files: Files written into the output folder (names).
        report: The main report's file name ("" when none was written).
        cached: Served from the cache (nothing was planned).
        key: Content key (None when not keyed).
    """

    name: str
    program: str
    status: ItemStatus
    reason: str = ""
    robot: str = ""
    n_segments: int = 0
    cycle_time_s: float | None = None
    plan_time_s: float = 0.0
    validate_time_s: float | None = None
    violations: int = 0
    files: tuple[str, ...] = field(default_factory=tuple)
    report: str = ""
    cached: bool = False
    key: str | None = None

    @property
    def ok(self) -> bool:
        """Planned and validated without problems."""
        return self.status is ItemStatus.OK

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (status as its value)."""
        d = asdict(self)
        d["status"] = self.status.value
        d["files"] = list(self.files)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ItemResult:
        """Inverse of :meth:`to_dict`."""
        data = dict(d)
        data["status"] = ItemStatus(data["status"])
        data["files"] = tuple(data.get("files", ()))
        return cls(**data)


WorkFn = Callable[[BatchTask], ItemResult]
DoneFn = Callable[[ItemResult], None]


def _crashed(task: BatchTask, why: str) -> ItemResult:
    return ItemResult(task.name, str(task.program), ItemStatus.ERROR, why, key=task.key)


def run_batch(
    tasks: Sequence[BatchTask],
    fn: WorkFn,
    *,
    workers: int = 2,
    ray_address: str | None = None,
    on_done: DoneFn | None = None,
) -> list[ItemResult]:
    """Run ``fn`` on every task; results in task order.

    Args:
        tasks: The tasks.
        fn: The work (a module-level function: it is pickled by reference into the workers).
        workers: Parallel workers: local processes, or the CPUs of a ``--ray local`` instance; 0 runs
            every task in this process, one after another.
        ray_address: None: local process pool. ``"local"``: a Ray instance started on this machine.
            Anything else: the address of a running Ray cluster (``ray://HOST:10001``, ``HOST:6379``
            or ``auto``). A Ray already initialised in this process (``ray.init`` by the caller) is
            used as it is and left running.
        on_done: Called with each result as it arrives (in the calling thread).

    Raises:
        WeldcellError: ``workers`` out of range, Ray missing or its cluster unreachable.
    """
    if workers < 0 or (workers == 0 and ray_address is not None):
        raise WeldcellError(
            f"--workers {workers}: expected 1 or more parallel workers (0: in this process, without Ray)"
        )
    done = on_done or (lambda r: None)
    if not tasks:
        return []
    if ray_address is not None:
        return _run_ray(tasks, fn, workers, ray_address, done)
    if workers == 0:
        out = []
        for t in tasks:
            r = _guarded(fn, t)
            done(r)
            out.append(r)
        return out
    return _run_pool(tasks, fn, workers, done)


def _guarded(fn: WorkFn, task: BatchTask) -> ItemResult:
    """``fn(task)``, with anything that escapes it turned into an ERROR result."""
    try:
        return fn(task)
    except Exception as err:  # a bug in one program's work must not end the batch
        return _crashed(task, f"internal error: {err!r}")


def _run_pool(tasks: Sequence[BatchTask], fn: WorkFn, workers: int, done: DoneFn) -> list[ItemResult]:
    """A local process pool (spawn: workers inherit neither this process's threads nor a server to clean up).

    A worker that dies (a crash in native code) breaks the whole pool; the tasks that had not
    finished then run again, each alone in a fresh one-process pool, so that only the culprit fails.
    """
    results: dict[int, ItemResult] = {}
    broken: list[int] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
        futures: dict[Future[ItemResult], int] = {
            pool.submit(_guarded, fn, t): i for i, t in enumerate(tasks)
        }
        waiting = set(futures)
        while waiting:
            finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for fut in finished:
                i = futures[fut]
                try:
                    r = fut.result()
                except BrokenProcessPool:
                    broken.append(i)
                    continue
                except Exception as err:  # an unpicklable result and the like
                    r = _crashed(tasks[i], f"internal error: {err!r}")
                results[i] = r
                done(r)
    for i in sorted(broken):
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            try:
                r = pool.submit(_guarded, fn, tasks[i]).result()
            except BrokenProcessPool:
                r = _crashed(tasks[i], "the worker process died while working on it (a crash in native code)")
        results[i] = r
        done(r)
    return [results[i] for i in range(len(tasks))]


def require_ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise WeldcellError(
            "--ray needs Ray, which is not installed: pip install 'weldcell[ray]' "
            "(or plan on this machine's process pool: leave --ray out)"
        ) from err
    return ray


def _run_ray(
    tasks: Sequence[BatchTask], fn: WorkFn, workers: int, address: str, done: DoneFn
) -> list[ItemResult]:
    """Tasks as Ray remote functions (one CPU each), results collected as they finish."""
    ray = require_ray()
    started_here = False
    if not ray.is_initialized():
        try:
            if address == RAY_LOCAL:
                ray.init(num_cpus=max(workers, 1), include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        except Exception as err:  # Ray raises ConnectionError, ValueError, RuntimeError, ...
            raise WeldcellError(f"--ray {address}: cannot start or reach the Ray cluster ({err})") from err
        started_here = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=1)(_guarded)
        refs = {remote.remote(fn, t): i for i, t in enumerate(tasks)}
        results: dict[int, ItemResult] = {}
        waiting = list(refs)
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1)
            for ref in ready:
                i = refs[ref]
                try:
                    r = ray.get(ref)
                except Exception as err:  # RayTaskError, WorkerCrashedError, node lost
                    r = _crashed(tasks[i], f"Ray task failed: {type(err).__name__}: {err}".splitlines()[0])
                results[i] = r
                done(r)
        return [results[i] for i in range(len(tasks))]
    finally:
        if started_here:
            ray.shutdown()


def with_cached(result: ItemResult, cached: bool) -> ItemResult:
    """``result`` marked as served from the cache (or not)."""
    return replace(result, cached=cached)


def result_path(out_dir: Path) -> Path:
    """Where a program's batch result is written in its output folder."""
    return out_dir / "batch-result.json"
