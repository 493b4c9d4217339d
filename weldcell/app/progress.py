"""What the application layer reports: :class:`Progress` messages through a callback (it never prints)
and the :class:`CellRunResult` of a run (``weldcell cell run``, ``cell resume``, ``demo``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weldcell.cell.state import CellState


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress message: ``kind`` is ``stage``, ``state``, ``seam_start``, ``seam_end``, ``fault``, ..."""

    kind: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True, slots=True)
class CellRunResult:
    """Outcome of a run: final cell state, the weld-log job, and the files written."""

    state: CellState
    message: str
    job_id: int
    log_path: Path | str
    trajectory_path: Path | None
    report_path: Path | None
    program_path: Path | None
    #: The positioner's synchronisation figures (skew in ms, lag), None without a positioner.
    positioner_sync: dict[str, Any] | None = None
