"""The validation report as one self-contained HTML page (plots and images embedded as PNG).

Plots (matplotlib, Agg backend): joint positions with their limits, joint velocities with their
limits, TCP speed and path deviation along each seam, clearance and the singularity measure over
time. Images: the cell rendered by pybullet at the start, in the middle of each weld and at each
violation (first few).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import numpy.typing as npt

from weldcell.sim.report import ValidationReport

Image = npt.NDArray[np.uint8]


def _png(fig: object) -> str:
    buf = io.BytesIO()
    fig.subplots_adjust(left=0.12, right=0.98, hspace=0.35)  # type: ignore[attr-defined]
    fig.savefig(buf, format="png", dpi=80)  # type: ignore[attr-defined]
    return base64.b64encode(buf.getvalue()).decode()


def _img_png(img: Image) -> str:
    import imageio.v2 as iio

    buf = io.BytesIO()
    iio.imwrite(buf, img, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def report_figures(report: ValidationReport) -> dict[str, str]:
    """Base64 PNG plots by title (empty if the report has no time series)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report.series
    if s is None:
        return {}
    out: dict[str, str] = {}
    names = report.joint_names
    deg = 180.0 / np.pi
    k_plot = slice(None, None, max(1, len(s.t) // 1500))  # plotting every sample adds nothing visible

    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.3 * len(names)), sharex=True)
    for j, ax in enumerate(np.atleast_1d(axes)):
        ax.plot(s.t[k_plot], s.q[k_plot, j] * deg, lw=1)
        for lim in (s.q_lower[j], s.q_upper[j]):
            if abs(lim) < 10 * np.pi:
                ax.axhline(lim * deg, color="r", lw=0.8, ls="--")
        ax.set_ylabel(f"{names[j]}\n[deg]", fontsize=7)
        _shade_arc(ax, s.t, s.arc_on)
    np.atleast_1d(axes)[-1].set_xlabel("t [s]")
    fig.suptitle("Joint positions (red: limits, orange band: arc on)")
    out["Joint positions"] = _png(fig)
    plt.close(fig)

    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.3 * len(names)), sharex=True)
    for j, ax in enumerate(np.atleast_1d(axes)):
        ax.plot(s.t[k_plot], s.qd[k_plot, j] * deg, lw=1)
        ax.axhline(s.qd_max[j] * deg, color="r", lw=0.8, ls="--")
        ax.axhline(-s.qd_max[j] * deg, color="r", lw=0.8, ls="--")
        ax.set_ylabel(f"{names[j]}\n[deg/s]", fontsize=7)
        _shade_arc(ax, s.t, s.arc_on)
    np.atleast_1d(axes)[-1].set_xlabel("t [s]")
    fig.suptitle("Joint velocities (red: limits)")
    out["Joint velocities"] = _png(fig)
    plt.close(fig)

    for k, sid in enumerate(report.seam_ids):
        on = s.arc_on & (s.seam_index == k)
        if not on.any():
            continue
        fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 4), sharex=True)
        x = s.seam_s[on] * 1e3
        a1.plot(x, s.tcp_speed[on] * 1e3, lw=1, label="TCP speed (pybullet FK)")
        a1.plot(x, s.tcp_speed_nominal[on] * 1e3, lw=1, ls="--", label="nominal TCP speed")
        prog = next((m.travel_speed_programmed for m in report.seams if m.seam_id == sid), float("nan"))
        if np.isfinite(prog):
            a1.axhline(prog * 1e3, color="g", lw=0.8, label="programmed travel speed")
        a1.set_ylabel("[mm/s]")
        a1.legend(fontsize=7)
        a2.plot(x, s.tcp_deviation[on] * 1e3, lw=1, label="TCP deviation [mm]")
        a2.plot(x, np.degrees(s.torch_angle_error[on]), lw=1, label="torch angle error [deg]")
        a2.set_xlabel("seam s [mm]")
        a2.legend(fontsize=7)
        fig.suptitle(f"Seam {sid}: speed and deviation along the seam")
        out[f"Seam {sid}"] = _png(fig)
        plt.close(fig)

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 4), sharex=True)
    if s.check_index.size:
        d = np.minimum(s.check_distance, 0.2)
        a1.plot(s.t[s.check_index], d * 1e3, ".", ms=2)
    a1.set_ylabel("closest pair [mm]\n(capped at 200)", fontsize=8)
    _shade_arc(a1, s.t, s.arc_on)
    if s.singularity_index.size:
        a2.plot(s.t[s.singularity_index], s.singularity, lw=1)
    a2.set_ylabel("singularity\nmeasure [-]", fontsize=8)
    a2.set_xlabel("t [s]")
    fig.suptitle("Clearance (where measured) and distance to singularities")
    out["Clearance and singularity"] = _png(fig)
    plt.close(fig)
    return out


def _shade_arc(ax: object, t: npt.NDArray[np.float64], arc: npt.NDArray[np.bool_]) -> None:
    if not arc.any():
        return
    m = np.concatenate([[0], arc.astype(np.int8), [0]])
    d = np.diff(m)
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True):
        ax.axvspan(t[a], t[b], color="orange", alpha=0.15, lw=0)  # type: ignore[attr-defined]


def write_html_report(report: ValidationReport, path: Path, images: dict[str, Image] | None = None) -> Path:
    """Write ``report`` as one HTML file with embedded plots and ``images`` (title -> RGB array)."""
    status = "PASSED" if report.passed else f"FAILED ({len(report.violations)} violation(s))"
    colour = "#1a7f37" if report.passed else "#cf222e"
    rows = "".join(
        f"<tr><td>{html.escape(v.kind.value)}</td><td>{v.time:.3f}</td><td>{v.time_end:.3f}</td>"
        f"<td>{html.escape(v.context)}</td><td>{html.escape(' / '.join(v.bodies))}</td>"
        f"<td>{html.escape(v.message())}</td></tr>"
        for v in report.violations
    )
    seam_rows = "".join(
        f"<tr><td>{html.escape(m.seam_id)}</td><td>{m.arc_time:.2f}</td><td>{m.length * 1e3:.1f}</td>"
        f"<td>{m.travel_speed_programmed * 1e3:.2f}</td><td>{m.travel_speed_planned * 1e3:.2f}</td>"
        f"<td>{m.max_tcp_deviation * 1e3:.4f}</td><td>{np.degrees(m.max_torch_angle_error):.3f}</td>"
        f"<td>{m.min_nozzle_clearance * 1e3:.2f}</td></tr>"
        for m in report.seams
    )
    metrics = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v:.6g}</td></tr>" for k, v in report.metrics.items()
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    figs = "".join(
        f"<h3>{html.escape(title)}</h3><img src='data:image/png;base64,{b64}'/>"
        for title, b64 in report_figures(report).items()
    )
    imgs = "".join(
        f"<figure><img src='data:image/png;base64,{_img_png(img)}'/>"
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
        for title, img in (images or {}).items()
    )
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>weldcell validation</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 6px;font-size:13px}} figure{{display:inline-block;margin:4px}}
img{{max-width:100%}}</style></head><body>
<h1>Validation: <span style="color:{colour}">{status}</span></h1>
<p>Robot {html.escape(report.robot)}; {report.n_samples} samples at {report.dt * 1e3:.1f} ms
({report.duration:.2f} s); trajectory {report.trajectory_hash[:16]}…, cell {report.cell_hash[:16]}…</p>
<h2>Violations</h2>
{
        "<p>None.</p>"
        if not report.violations
        else "<table><tr><th>kind</th><th>from [s]</th><th>to [s]</th><th>where</th><th>parts</th>"
        "<th>message</th></tr>" + rows + "</table>"
    }
<h2>Seams</h2><table><tr><th>seam</th><th>arc time [s]</th><th>length [mm]</th><th>programmed [mm/s]</th>
<th>planned [mm/s]</th><th>max deviation [mm]</th><th>max torch angle error [deg]</th>
<th>min nozzle clearance [mm]</th></tr>{seam_rows}</table>
<h2>Cell</h2>{imgs}
<h2>Plots</h2>{figs}
<h2>Metrics</h2><table>{metrics}</table>
<h2>Notes</h2><ul>{notes}</ul>
</body></html>"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
    return path
