"""From a weld program to torch poses: load a program, build the tool paths, check the torch angles.

Run::

    python examples/02_seam_to_path.py                              # the short demo T-joint
    python examples/02_seam_to_path.py programs/butt_weave.yaml     # weave, two passes
    python examples/02_seam_to_path.py programs/butt_weave.yaml --plot weave.png

Headless: the optional plot is written to a PNG file.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from weldcell.program import SeamCurve, load_program
from weldcell.toolpath import seam_samples, toolpaths_for_program, torch_angles

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    """Print one line per weld segment; optionally plot the first segment's path from above."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program", nargs="?", default=str(ROOT / "programs" / "demo_tjoint.yaml"))
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG of the first segment")
    args = parser.parse_args(argv)

    program = load_program(args.program)
    segments = toolpaths_for_program(program)
    print(f"{program.name}: {len(program.seams)} seams, {len(segments)} arc-on segments")
    for seg in segments:
        seam = program.seam(seg.seam_id)
        T = seg.T_world_tcp
        # the seam itself at the same arc lengths: points, travel direction, surface normals (world)
        _, t, n1, n2 = seam_samples(seam, SeamCurve(seam.geometry), seg.s)
        t_geo = -t if seam.direction == "reverse" else t  # the direction the curve is written in
        work, travel = torch_angles(T[:, :3, 2], t, n1, n2, t_geo)  # measured back from the poses
        weave = "" if seg.weave is None else f", weave {seg.weave.pattern} {seg.weave.frequency:g} Hz"
        print(
            f"  {seg.seam_id:>14} pass {seg.pass_index} stitch {seg.stitch_index}: {len(seg.s):5d} poses, "
            f"{seg.length * 1e3:6.1f} mm at {seg.travel_speed * 1e3:.1f} mm/s, arc {seg.arc_time:5.1f} s, "
            f"work {math.degrees(work.mean()):5.1f}°, travel {math.degrees(travel.mean()):+5.1f}°{weave}"
        )
        print(
            f"{'':18}arc start at {np.round(T[0, :3, 3] * 1e3, 1)} mm, "
            f"approach from {np.round(seg.T_world_approach[:3, 3] * 1e3, 1)} mm"
        )

    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        seg = next((sg for sg in segments if sg.weave is not None), segments[0])
        assert seg.T_world_seam is not None  # mypy
        d = seg.T_world_tcp[:, :3, 3] - seg.T_world_seam[:, :3, 3]  # weave offset from the pass curve
        lateral = np.einsum("ni,ni->n", d, seg.T_world_seam[:, :3, 1]) * 1e3
        along = np.einsum("ni,ni->n", d, seg.T_world_seam[:, :3, 0]) * 1e3
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.plot(seg.t, lateral, lw=0.9, label="across (y of the seam frame)")
        ax.plot(seg.t, along, lw=0.9, label="along (x)")
        ax.set_xlim(0.0, min(seg.t[-1], 4.0 / seg.weave.frequency if seg.weave else seg.t[-1]))
        ax.set_xlabel("weld time [s]")
        ax.set_ylabel("offset [mm]")
        ax.legend(loc="upper right")
        ax.set_title(f"{seg.seam_id}, pass {seg.pass_index}: weave offsets")
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
