"""The synthetic catalogue of ``benchmarks/synthetic_catalogue.py``, loaded for the batch tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from weldcell.batch import BatchTask, ItemResult, ItemStatus

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "synthetic_catalogue.py"
_spec = importlib.util.spec_from_file_location("weldcell_bench_synthetic_catalogue", _PATH)
assert _spec is not None and _spec.loader is not None  # mypy
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

write_catalogue = _module.write_catalogue
catalogue_program = _module.catalogue_program


def explode(task: BatchTask) -> ItemResult:
    """A batch work function with a bug for the task named ``bad`` (here: worker processes import it)."""
    if task.name == "bad":
        raise RuntimeError("boom")
    return ItemResult(task.name, str(task.program), ItemStatus.OK)
