"""Export weld-log records (JSON, CSV) and plot a seam's process signals (matplotlib, Agg).

JSON holds a job with its seam attempts (each with its actual-parameter statistics,
:mod:`weldcell.cell.logstats`), events and (optionally) signals; its schema is
``docs/weld-log.schema.json`` (documented in ``docs/weld-log.md``, a test validates exports against
it). CSV writes one file per table: ``<stem>_seams.csv`` (with the job's traceability fields and the
statistics), ``<stem>_signals.csv`` (with the seam record id), ``<stem>_events.csv``. Column names,
headers and units come from the log's column specification (:mod:`weldcell.cell.logschema`): CSV
headers carry the unit (``current_a``, ``wire_feed_m_s``), JSON has a ``units`` table per column.
Times are [s] since the epoch.
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
from weldcell.cell.logstats import SeamStatistics, Stat, seam_statistics
from weldcell.cell.weldlog import WeldLog, WeldLogError

#: The ``schema`` tag of JSON exports (``docs/weld-log.schema.json``).
EXPORT_SCHEMA = "weldcell.weldlog-export/3"
#: J/m -> kJ/mm (heat input and arc energy are given in kJ/mm on welding records).
_KJ_MM_PER_J_M = 1e-6


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


def _stat_doc(st: Stat, scale: float = 1.0) -> dict[str, Any]:
    def sc(v: float | None) -> float | None:
        return None if v is None else _clean(v * scale)

    return {"mean": sc(st.mean), "min": sc(st.min), "max": sc(st.max), "std": sc(st.std), "n": st.n}


def statistics_document(st: SeamStatistics) -> dict[str, Any]:
    """The ``statistics`` block of a seam in the JSON export (field names carry their units)."""
    kj = _KJ_MM_PER_J_M
    return {
        "samples": st.samples,
        "duration_s": _clean(st.duration),
        "length_m": _clean(st.length),
        "current_a": _stat_doc(st.current),
        "voltage_v": _stat_doc(st.voltage),
        "wire_feed_m_s": _stat_doc(st.wire_feed),
        "travel_speed_m_s": _stat_doc(st.travel_speed),
        "heat_input_kj_mm": _stat_doc(st.heat_input, kj),
        "arc_energy_total_kj_mm": None if st.arc_energy_total is None else _clean(st.arc_energy_total * kj),
        "heat_input_total_kj_mm": None if st.heat_input_total is None else _clean(st.heat_input_total * kj),
        "thermal_efficiency": st.thermal_efficiency,
    }


def job_document(log: WeldLog, job_id: int, *, with_signals: bool = True) -> dict[str, Any]:
    """A JSON-compatible dict with a job, its seam attempts (with statistics), events and signals."""
    job = log.job(job_id)
    seams = []
    for s in log.seams(job_id):
        d = {k: _clean(v) for k, v in asdict(s).items()}
        d["faults"] = list(s.faults)
        tr = log.signals(s.id)
        d["statistics"] = statistics_document(seam_statistics(tr))
        if with_signals:
            d["signals"] = {c.name: [_clean(v) for v in getattr(tr, c.name).tolist()] for c in SIGNAL_COLUMNS}
        seams.append(d)
    return {
        "schema": EXPORT_SCHEMA,
        "units": {
            "time": "s since epoch",
            "jobs": units_of(JOBS),
            "seams": units_of(SEAMS),
            "signals": units_of(SIGNAL_COLUMNS),
        },
        "job": {k: _clean(v) for k, v in asdict(job).items()},
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


#: Job columns repeated on every seam row of the CSV export (the seam's traceability).
_CSV_JOB_COLUMNS = (
    "part_serial",
    "program_hash",
    "trajectory_hash",
    "validation_stamp",
    "cell_id",
    "operator",
    "wire_batch",
    "gas_batch",
)


def _stat_columns() -> list[tuple[str, Any]]:
    # (quantity, unit suffix, key of the statistics block)
    quantities = (
        ("current", "a", "current_a"),
        ("voltage", "v", "voltage_v"),
        ("wire_feed", "m_s", "wire_feed_m_s"),
        ("travel_speed", "m_s", "travel_speed_m_s"),
        ("heat_input", "kj_mm", "heat_input_kj_mm"),
    )
    cols: list[tuple[str, Any]] = [
        (f"{name}_{k}_{unit}", lambda st, key=key, k=k: st[key][k])
        for name, unit, key in quantities
        for k in ("mean", "min", "max", "std")
    ]
    cols.append(("arc_energy_total_kj_mm", lambda st: st["arc_energy_total_kj_mm"]))
    cols.append(("heat_input_total_kj_mm", lambda st: st["heat_input_total_kj_mm"]))
    return cols


#: CSV statistics columns: header (with unit) -> value from :func:`statistics_document`.
_CSV_STATS = _stat_columns()


def _write_csv(log: WeldLog, job: Any, p: Path) -> list[Path]:
    job_id = job.id
    stem = p.with_suffix("")
    seams = log.seams(job_id)
    out: list[Path] = []

    job_cols = [c for c in JOBS if c.name in _CSV_JOB_COLUMNS]
    f_seams = Path(f"{stem}_seams.csv")
    with f_seams.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [c.export_name for c in job_cols] + [c.export_name for c in SEAMS] + [h for h, _ in _CSV_STATS]
        )
        for s in seams:
            st = statistics_document(seam_statistics(log.signals(s.id)))
            w.writerow(
                [_csv_value(getattr(job, c.name)) for c in job_cols]
                + [_csv_value(getattr(s, c.name)) for c in SEAMS]
                + [_csv_value(get(st)) for _, get in _CSV_STATS]
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


__all__ = [
    "EXPORT_SCHEMA",
    "WeldLogError",
    "export_csv",
    "export_json",
    "job_document",
    "plot_seam",
    "statistics_document",
]
