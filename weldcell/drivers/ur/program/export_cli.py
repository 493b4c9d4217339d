"""``weldcell export --format urscript``: the URScript writer behind the command line.

Registered by the UR vendor (:mod:`weldcell.drivers.ur.plugin`); returns the lines the command shows.
"""

from __future__ import annotations

from collections.abc import Iterator

from weldcell.drivers.vendor import ExportRequest


def export_for_cli(fmt: str, request: ExportRequest) -> Iterator[str]:
    """Write ``request.trajectory`` as URScript: movel/movec welds, blended movej transits, weld parameters.

    Args:
        fmt: The format name (``"urscript"``).
        request: The export options.

    Yields:
        Lines for the user (rich markup): warnings, the files written, cycle time, per-seam reports.
    """
    from weldcell.drivers.powersource.io import IoMap
    from weldcell.drivers.ur.program.export import UrExportOptions, export_urscript
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT

    prog = None
    if request.program is not None and request.weld_parameters:
        from weldcell.program import load_program

        prog = load_program(request.program)
    options = UrExportOptions(
        arc_do=request.arc_do,
        arc_di=request.arc_di,
        arc_timeout=request.arc_timeout,
        transit_tolerance=request.transit_tolerance,
        transit_corridor=max(3e-3, 3 * request.transit_tolerance),
        max_lines=request.max_lines,
        split=request.split,
        io_map=IoMap(arc_on=request.arc_do, arc_established=request.arc_di),
        use_jobs=request.use_jobs,
    )
    s = export_urscript(
        request.trajectory,
        request.output,
        options,
        force_unvalidated=request.force_unvalidated,
        program=prog,
        weld_parameters=request.weld_parameters,
        stamp_key=FROM_ENVIRONMENT if request.stamp_key is None else request.stamp_key,
    )
    if request.force_unvalidated:
        yield "[yellow]warning:[/] exported without checking the validation stamp"
    if not s.weld_parameters:
        yield "[yellow]warning:[/] no weld parameters in the program: set them on the power source"
    files = ", ".join(str(p) for p in s.parts)
    yield (
        f"wrote [bold]{files}[/] ({fmt}): {s.lines} lines, {s.n_bytes / 1024:.0f} KiB"
        + (f" in {len(s.parts)} programs (run them in order)" if len(s.parts) > 1 else "")
    )
    yield (
        f"estimated cycle time {s.cycle_time:.1f} s (planned {s.planned_cycle_time:.1f} s, "
        f"{100 * (s.cycle_time / s.planned_cycle_time - 1):+.1f} %); "
        f"{s.movej} movej, {s.movel} movel, {s.movec} movec, {s.servoj} servoj"
    )
    for r in s.seam_reports:
        extra = f"; not sent (no I/O channel): {', '.join(r.unsent)}" if r.unsent else ""
        yield (
            f"  seam {r.seam_id}: {r.mode}, {r.moves} moves, path within {r.deviation * 1e3:.3f} mm{extra}"
        )
        if r.nominal_mismatch > options.weld_tolerance:
            yield (
                f"  [yellow]warning:[/] seam {r.seam_id}: the planned joints reach the nominal torch poses "
                f"only within {r.nominal_mismatch * 1e3:.3f} mm on this controller's kinematics"
            )
