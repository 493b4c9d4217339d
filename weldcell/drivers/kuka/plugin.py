"""What the KUKA package registers (one :class:`~weldcell.drivers.vendor.Vendor`; nothing heavy imported).

Listed in :data:`weldcell.drivers.registry.BUILTIN_VENDORS` as ``"kuka"``.
"""

from __future__ import annotations

from collections.abc import Iterable

from weldcell.drivers.vendor import ControllerCommand, DemoCell, ExportRequest, ProgramFormat, Vendor


def robot_models() -> frozenset[str]:
    """The KUKA arms weldcell has models of (``kr…``)."""
    from weldcell.kinematics.specs import OPW_SPECS

    return frozenset(name for name in OPW_SPECS if name.startswith("kr"))


def write_program(fmt: str, request: ExportRequest) -> Iterable[str]:
    """``weldcell export --format krl|kuka-rsi``: the KRL program, or the RSI files for the driver."""
    from weldcell.drivers.kuka.krl_export import export_for_cli
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT

    return export_for_cli(
        fmt,
        request.trajectory,
        request.output,
        arc_do=request.arc_do,
        arc_di=request.arc_di,
        sensor_url=request.sensor_url or "kuka-rsi://127.0.0.1:59152",
        force_unvalidated=request.force_unvalidated,
        stamp_key=FROM_ENVIRONMENT if request.stamp_key is None else request.stamp_key,
    )


VENDOR = Vendor(
    name="kuka",
    title="KUKA",
    drivers={"kuka-rsi": "weldcell.drivers.kuka.driver:RsiDriver"},
    models="weldcell.drivers.kuka.plugin:robot_models",
    controller=ControllerCommand("kuka-rsi", "weldcell.drivers.kuka.command:controller_kuka_rsi"),
    exports=(
        ProgramFormat(
            "krl", "weldcell.drivers.kuka.plugin:write_program", "krl", "KUKA .src/.dat with arc control"
        ),
        ProgramFormat(
            "kuka-rsi",
            "weldcell.drivers.kuka.plugin:write_program",
            "kuka-rsi",
            "the RSI context, Ethernet configuration and KRL start program for the RSI driver",
        ),
    ),
    demo=DemoCell(
        "demo_tjoint_kuka.yaml", "weldcell.drivers.kuka.demo_cell:start_virtual_cell", "KUKA (RSI)"
    ),
)
