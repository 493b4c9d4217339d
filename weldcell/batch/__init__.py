"""Batch planning of a part catalogue: content cache, parallel execution (process pool or Ray), HTML index.

The per-program work (plan, validate, write the reports) is a plain function handed in by the caller
(``weldcell plan-batch`` passes :func:`weldcell.cli.batch_worker.plan_and_validate_one`); this package
only decides *what* must run (:mod:`~weldcell.batch.cache`), runs it in parallel
(:mod:`~weldcell.batch.runner`) and indexes the results (:mod:`~weldcell.batch.index`).
"""

from weldcell.batch.cache import ResultCache, cache_key, model_files, planner_version
from weldcell.batch.index import write_index_html
from weldcell.batch.runner import BatchTask, ItemResult, ItemStatus, run_batch

__all__ = [
    "BatchTask",
    "ItemResult",
    "ItemStatus",
    "ResultCache",
    "cache_key",
    "model_files",
    "planner_version",
    "run_batch",
    "write_index_html",
]
