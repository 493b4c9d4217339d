"""What the UR package registers (one :class:`~weldcell.drivers.vendor.Vendor`; nothing heavy imported).

Listed in :data:`weldcell.drivers.registry.BUILTIN_VENDORS` as ``"ur"``.
"""

from __future__ import annotations

from weldcell.drivers.vendor import ControllerCommand, DemoCell, ProgramFormat, Vendor


def robot_models() -> frozenset[str]:
    """The Universal Robots arms weldcell has models of."""
    from weldcell.kinematics.specs import UR_SPECS

    return frozenset(UR_SPECS)


VENDOR = Vendor(
    name="ur",
    title="UR",
    manufacturer="Universal Robots",
    drivers={"ur": "weldcell.drivers.ur.driver:URDriver"},
    models="weldcell.drivers.ur.plugin:robot_models",
    controller=ControllerCommand("ur", "weldcell.drivers.ur.command:controller_ur"),
    exports=(
        ProgramFormat(
            "urscript",
            "weldcell.drivers.ur.program.export_cli:export_for_cli",
            "{job}.script",
            "URScript: movel/movec welds, blended movej transits, weld parameters",
        ),
    ),
    demo=DemoCell("demo_tjoint.yaml", "weldcell.drivers.ur.demo_cell:start_virtual_cell", "UR"),
)
