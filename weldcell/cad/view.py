"""A headless picture (PNG) of an assembly with its seam candidates highlighted and labelled.

matplotlib with the Agg backend (no display needed): the parts as translucent grey surfaces, each
candidate as a thick coloured curve with its id at its middle, two views (isometric and from above)
and a legend of ids, joints and lengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from weldcell.cad.contacts import Part
from weldcell.cad.seam import SeamCandidate
from weldcell.errors import AssemblyError


def render_candidates_png(
    parts: Sequence[Part], candidates: Sequence[SeamCandidate], path: str | Path, *, title: str = ""
) -> None:
    """Draw the parts and the candidates into a PNG file (millimetres on the axes).

    Raises:
        AssemblyError: The file cannot be written.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    fig = plt.figure(figsize=(13, 6.5), dpi=110)
    allv = np.concatenate([p.mesh.V for p in parts]) * 1e3
    lo, hi = allv.min(axis=0), allv.max(axis=0)
    cmap = plt.get_cmap("tab10")
    for k, (elev, azim, sub) in enumerate(((28, -55, "isometric"), (89, -90, "from +z"))):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        for p in parts:
            tri = p.mesh.V[p.mesh.F] * 1e3
            ax.add_collection3d(
                Poly3DCollection(
                    tri, facecolor=(0.62, 0.64, 0.68, 0.3), edgecolor=(0.3, 0.3, 0.3, 0.15), linewidth=0.2
                )
            )
        for i, s in enumerate(candidates):
            pts, _ = s.sample(1e-3)
            pts = pts * 1e3
            c = cmap(i % 10)
            ax.plot(pts[:, 0], pts[:, 1], pts[:, 2], color=c, linewidth=3.0)
            m = pts[len(pts) // 2]
            ax.text(m[0], m[1], m[2], f" {s.id}", color=c, fontsize=9, fontweight="bold")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_zlim(lo[2], hi[2])
        ax.set_box_aspect(np.maximum(hi - lo, 1e-3))
        ax.view_init(elev=elev, azim=azim)
        ax.set_xlabel("x [mm]")
        ax.set_ylabel("y [mm]")
        if elev > 80:
            ax.set_zticks([])
        else:
            ax.set_zlabel("z [mm]")
        ax.set_title(sub, fontsize=10)
    handles = [
        plt.Line2D(
            [0],
            [0],
            color=cmap(i % 10),
            linewidth=3,
            label=f"{s.id}: {s.joint} {s.curve} {s.length * 1e3:.0f} mm",
        )
        for i, s in enumerate(candidates)
    ]
    if handles:
        fig.legend(handles=handles[:40], loc="center right", fontsize=8, frameon=False)
    fig.suptitle(title or f"{len(candidates)} seam candidates", fontsize=12)
    fig.subplots_adjust(left=0.0, right=0.82, top=0.92, bottom=0.02, wspace=0.02)
    try:
        fig.savefig(str(path))
    except OSError as err:
        raise AssemblyError(f"{path}: cannot write the picture: {err.strerror}") from None
    finally:
        plt.close(fig)
