"""``index.html`` of a batch: one row per program with its outcome, linking its report and files."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from weldcell.batch.runner import ItemResult, ItemStatus

_COLOURS = {
    ItemStatus.OK: "#1a7f37",
    ItemStatus.PLAN_FAILED: "#b42318",
    ItemStatus.INCOMPLETE: "#b54708",
    ItemStatus.VALIDATION_FAILED: "#b42318",
    ItemStatus.ERROR: "#b42318",
}


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "–" if x is None else format(x, fmt)


def write_index_html(
    results: Sequence[ItemResult], out_dir: Path, title: str = "weldcell plan-batch"
) -> Path:
    """Write ``out_dir/index.html`` and return its path.

    Links are relative (``<name>/validation.html``) so the folder can be moved or served as it is.
    """
    n_ok = sum(r.ok for r in results)
    rows = []
    for r in results:
        link = (
            f'<a href="{quote(r.name)}/{quote(r.report)}">{html.escape(r.name)}</a>'
            if r.report
            else html.escape(r.name)
        )
        others = " ".join(
            f'<a href="{quote(r.name)}/{quote(f)}">{html.escape(f)}</a>' for f in r.files if f != r.report
        )
        rows.append(
            "<tr>"
            f"<td>{link}</td>"
            f"<td>{html.escape(r.robot)}</td>"
            f'<td style="color:{_COLOURS[r.status]};font-weight:bold">{r.status.value}</td>'
            f"<td>{r.n_segments}</td>"
            f"<td>{_num(r.cycle_time_s)}</td>"
            f"<td>{_num(r.plan_time_s, '.1f')}</td>"
            f"<td>{'yes' if r.cached else 'no'}</td>"
            f"<td>{html.escape(r.reason)}</td>"
            f"<td>{others}</td>"
            "</tr>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}th{{background:#eee}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>{n_ok} of {len(results)} program(s) planned and validated; {len(results) - n_ok} failed.
Written {html.escape(time.strftime("%Y-%m-%d %H:%M:%S %Z"))}.</p>
<table>
<tr><th>program</th><th>robot</th><th>status</th><th>segments</th><th>cycle time [s]</th>
<th>plan time [s]</th><th>cached</th><th>reason</th><th>files</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
