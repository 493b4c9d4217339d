"""Export weld-log records (JSON, CSV) and plot a seam's process signals (matplotlib, Agg).

JSON holds a job with its seam attempts, events and (optionally) signals. CSV writes one file per
table: ``<stem>_seams.csv``, ``<stem>_signals.csv`` (with the seam record id), ``<stem>_events.csv``.
Column names, headers and units come from the log's column specification
(:mod:`weldcell.cell.logschema`): CSV headers carry the unit (``current_a``, ``wire_feed_m_s``),
JSON has a ``units`` table per column. Times are [s] since the epoch.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from weldcell.cell.logschema import EVENTS, JOBS, SEAMS, SIGNAL_COLUMNS, units_of
from weldcell.cell.weldlog import WeldLog, WeldLogError


@contextlib.contextmanager
def _writing(p: Path) -> Iterator[None]:
    """Turn a failure to write ``p`` (or create its folder) into one clear :class:`WeldLogError`."""
    if p.is_dir():
        raise WeldLogError(f"{p}: is a folder; expected an output file name")
    try:
        yield
    except OSError as err:
        why = err.strerror or str(err)
        if isinstance(err, (FileExistsError, NotADirectoryError)):
            why = "a folder on its path is a file"
        raise WeldLogError(f"{p}: cannot write ({why})") from err


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def _csv_value(v: Any) -> Any:
    """A record value as a CSV cell: lists as ``a; b``, dicts as JSON, None as empty."""
    if v is None:
        return ""
    if isinstance(v, tuple):
        return "; ".join(map(str, v))
    if isinstance(v, dict):
        return json.dumps(v)
    return v


def job_document(log: WeldLog, job_id: int, *, with_signals: bool = True) -> dict[str, Any]:
    """A JSON-compatible dict with a job, its seam attempts, events and signals."""
    job = log.job(job_id)
    seams = []
    for s in log.seams(job_id):
        d = asdict(s)
        d["faults"] = list(s.faults)
        if with_signals:
            tr = log.signals(s.id)
            d["signals"] = {c.name: [_clean(v) for v in getattr(tr, c.name).tolist()] for c in SIGNAL_COLUMNS}
        seams.append(d)
    return {
        "schema": "weldcell.weldlog-export/2",
        "units": {
            "time": "s since epoch",
            "jobs": units_of(JOBS),
            "seams": units_of(SEAMS),
            "signals": units_of(SIGNAL_COLUMNS),
        },
        "job": asdict(job),
        "seams": seams,
        "events": [asdict(e) for e in log.events(job_id)],
    }


def export_json(log: WeldLog, job_id: int, path: str | Path, *, with_signals: bool = True) -> Path:
    """Write a job as one JSON file. Returns the path."""
    p = Path(path)
    doc = job_document(log, job_id, with_signals=with_signals)
    with _writing(p):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(doc, indent=1))
    return p


def export_csv(log: WeldLog, job_id: int, path: str | Path) -> list[Path]:
    """Write a job's seams, signals and events as CSV files next to ``path``. Returns the files.

    ``path`` names the stem: ``out/job3.csv`` writes ``out/job3_seams.csv``, ``out/job3_signals.csv``
    and ``out/job3_events.csv``.
    """
    p = Path(path)
    job = log.job(job_id)
    with _writing(p):
        p.parent.mkdir(parents=True, exist_ok=True)
        return _write_csv(log, job, p)


def _write_csv(log: WeldLog, job: Any, p: Path) -> list[Path]:
    job_id = job.id
    stem = p.with_suffix("")
    seams = log.seams(job_id)
    out: list[Path] = []

    job_cols = [c for c in JOBS if c.name in ("part_serial", "program_hash")]
    f_seams = Path(f"{stem}_seams.csv")
    with f_seams.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([c.export_name for c in job_cols] + [c.export_name for c in SEAMS])
        for s in seams:
            w.writerow(
                [getattr(job, c.name) for c in job_cols] + [_csv_value(getattr(s, c.name)) for c in SEAMS]
            )
    out.append(f_seams)

    f_sig = Path(f"{stem}_signals.csv")
    with f_sig.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seam_record", "seam_id", *(c.export_name for c in SIGNAL_COLUMNS)])
        for s in seams:
            tr = log.signals(s.id)
            columns = [getattr(tr, c.name) for c in SIGNAL_COLUMNS]
            for row in zip(*columns, strict=True):
                w.writerow([s.id, s.seam_id, *("" if not np.isfinite(v) else repr(float(v)) for v in row)])
    out.append(f_sig)

    f_ev = Path(f"{stem}_events.csv")
    with f_ev.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([c.export_name for c in EVENTS])
        for e in log.events(job_id):
            w.writerow([_csv_value(getattr(e, c.name)) for c in EVENTS])
    out.append(f_ev)
    return out


def plot_seam(log: WeldLog, seam_record: int, path: str | Path) -> Path:
    """Plot current, voltage and wire feed of one seam attempt over seam arc length (PNG).

    Uses matplotlib's Agg backend (no display needed). Returns the written path.

    Raises:
        WeldLogError: the seam attempt has no signal samples.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    seam = log.seam(seam_record)
    tr = log.signals(seam_record)
    if len(tr) == 0:
        raise WeldLogError(f"seam record {seam_record} ({seam.seam_id}) has no process-signal samples")
    use_s = bool(np.any(np.isfinite(tr.seam_s)))
    x = tr.seam_s * 1e3 if use_s else tr.t - tr.t[0]
    fig = Figure(figsize=(8, 6), constrained_layout=True)
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, sharex=True)
    series = (
        (tr.current, "current [A]"),
        (tr.voltage, "voltage [V]"),
        (tr.wire_feed * 60.0, "wire feed [m/min]"),
    )
    for ax, (y, label) in zip(axes, series, strict=True):
        ax.plot(x, y, lw=0.8)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    if seam.s_stop is not None and seam.result != "ok" and use_s:
        for ax in axes:
            ax.axvline(seam.s_stop * 1e3, color="r", ls="--", lw=1)
    axes[-1].set_xlabel("seam arc length [mm]" if use_s else "time since arc start [s]")
    fig.suptitle(
        f"job {seam.job_id} seam {seam.seam_id} pass {seam.pass_index} attempt {seam.attempt}: {seam.result}"
    )
    p = Path(path)
    with _writing(p):
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(str(p), dpi=100)
    return p


__all__ = ["WeldLogError", "export_csv", "export_json", "job_document", "plot_seam"]
