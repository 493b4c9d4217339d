"""What the FANUC package registers (one :class:`~weldcell.drivers.vendor.Vendor`; nothing heavy imported).

Listed in :data:`weldcell.drivers.registry.BUILTIN_VENDORS` as ``"fanuc"``.
"""

from __future__ import annotations

from collections.abc import Iterable

from weldcell.drivers.vendor import ControllerCommand, DemoCell, ExportRequest, ProgramFormat, Vendor


def robot_models() -> frozenset[str]:
    """The FANUC arms weldcell has models of (J2/J3-coupled arms such as the ARC Mate, and CRX)."""
    from weldcell.drivers.fanuc.joints import JOINT_MAPS

    return frozenset(JOINT_MAPS)


def write_program(fmt: str, request: ExportRequest) -> Iterable[str]:
    """``weldcell export --format fanuc-tp``: one ASCII .LS program."""
    from weldcell.drivers.fanuc.tp_export import export_for_cli

    return export_for_cli(
        request.trajectory, request.output, request.program, request.force_unvalidated, request.stamp_key
    )


VENDOR = Vendor(
    name="fanuc",
    title="FANUC",
    drivers={"fanuc": "weldcell.drivers.fanuc.driver:FanucDriver"},
    models="weldcell.drivers.fanuc.plugin:robot_models",
    controller=ControllerCommand("fanuc", "weldcell.drivers.fanuc.command:controller_fanuc"),
    exports=(
        ProgramFormat(
            "fanuc-tp", "weldcell.drivers.fanuc.plugin:write_program", "{JOB}.LS", "FANUC TP program (.LS)"
        ),
    ),
    demo=DemoCell(
        "demo_tjoint_fanuc.yaml",
        "weldcell.drivers.fanuc.demo_cell:start_virtual_cell",
        "FANUC (Stream Motion)",
        models={"crx10ial": "fanuc_crx_tjoint.yaml"},
    ),
)
