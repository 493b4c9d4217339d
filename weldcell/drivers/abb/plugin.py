"""What the ABB package registers (one :class:`~weldcell.drivers.vendor.Vendor`; nothing heavy imported).

Listed in :data:`weldcell.drivers.registry.BUILTIN_VENDORS` as ``"abb"``.
"""

from __future__ import annotations

from collections.abc import Iterable

from weldcell.drivers.vendor import ControllerCommand, DemoCell, ExportRequest, ProgramFormat, Vendor


def robot_models() -> frozenset[str]:
    """The ABB arms weldcell has models of (``irb…``, ``crb…``)."""
    from weldcell.kinematics.specs import GOFA_SPECS, OPW_SPECS

    return frozenset(name for name in (*OPW_SPECS, *GOFA_SPECS) if name.startswith(("irb", "crb")))


def write_program(fmt: str, request: ExportRequest) -> Iterable[str]:
    """``weldcell export --format rapid``: one RAPID module with Arc instructions and weld data."""
    from weldcell.drivers.abb.rapid_export import export_for_cli
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT

    return export_for_cli(
        request.trajectory,
        request.output,
        program=request.program,
        force_unvalidated=request.force_unvalidated,
        stamp_key=FROM_ENVIRONMENT if request.stamp_key is None else request.stamp_key,
    )


VENDOR = Vendor(
    name="abb",
    title="ABB",
    drivers={"abb-egm": "weldcell.drivers.abb.driver:EgmDriver"},
    models="weldcell.drivers.abb.plugin:robot_models",
    controller=ControllerCommand("abb-egm", "weldcell.drivers.abb.command:controller_abb_egm"),
    exports=(
        ProgramFormat("rapid", "weldcell.drivers.abb.plugin:write_program", "{job}.mod", "ABB RAPID module"),
    ),
    demo=DemoCell(
        "demo_tjoint_abb.yaml",
        "weldcell.drivers.abb.demo_cell:start_virtual_cell",
        "ABB (EGM)",
        models={"crb15000_5_95": "gofa_tjoint.yaml"},
    ),
)
