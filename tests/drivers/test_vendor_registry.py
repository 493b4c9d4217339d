"""The vendor registry: what each vendor package registers, and a third-party vendor plugging in.

A vendor is one package plus one registry line (docs/architecture.md, "Adding a vendor"): its URL
schemes and drivers, robot models, ``weldcell controller`` command, export formats and demo cell are
found by the command line and the application layer through ``weldcell.drivers.registry``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from weldcell.drivers.base import RobotDriver
from weldcell.drivers.registry import (
    BUILTIN_VENDORS,
    VENDOR_ENTRY_POINT_GROUP,
    driver_table,
    export_formats,
    resolve_target,
    vendor,
    vendors,
)
from weldcell.drivers.vendor import ExportRequest, ProgramFormat, Vendor
from weldcell.errors import DriverError
from weldcell.resources import data_dir

#: What each built-in vendor registers: URL schemes, controller command, export formats, demo program.
EXPECTED = {
    "ur": (["ur"], "ur", ["urscript"], "demo_tjoint.yaml"),
    "kuka": (["kuka-rsi"], "kuka-rsi", ["krl", "kuka-rsi"], "demo_tjoint_kuka.yaml"),
    "fanuc": (["fanuc"], "fanuc", ["fanuc-tp"], "demo_tjoint_fanuc.yaml"),
    "abb": (["abb-egm"], "abb-egm", ["rapid"], "demo_tjoint_abb.yaml"),
}


def test_each_vendor_lists_what_it_registers() -> None:
    table = vendors()
    assert set(BUILTIN_VENDORS) <= set(table)
    listed = {
        name: (
            sorted(v.drivers),
            None if v.controller is None else v.controller.name,
            [f.name for f in v.exports],
            None if v.demo is None else v.demo.program,
        )
        for name, v in table.items()
        if name in BUILTIN_VENDORS
    }
    assert listed == EXPECTED


@pytest.mark.parametrize("name", sorted(BUILTIN_VENDORS))
def test_registrations_resolve(name: str) -> None:
    """Every string a vendor registers imports and is of the right kind; its demo program exists and is
    for one of its own arms."""
    v = vendor(name)
    assert v.name == name and v.title
    for scheme, target in v.drivers.items():
        assert driver_table()[scheme] == target
        obj = resolve_target(target, scheme)
        assert (isinstance(obj, type) and issubclass(obj, RobotDriver)) or callable(obj)
    models = resolve_target(v.models, name)()
    assert models and all(isinstance(m, str) for m in models)
    if v.controller is not None:
        assert callable(resolve_target(v.controller.command, name))
    for fmt in v.exports:
        assert callable(resolve_target(fmt.writer, fmt.name))
        assert export_formats()[fmt.name] is fmt
    assert v.demo is not None
    assert callable(resolve_target(v.demo.start, name))
    program = data_dir("programs") / v.demo.program
    from weldcell.program import load_program

    assert load_program(program).cell.robot in models


def test_robot_models_do_not_overlap() -> None:
    seen: dict[str, str] = {}
    for name, v in vendors().items():
        for model in resolve_target(v.models, name)():
            assert model not in seen, (model, seen.get(model), name)
            seen[model] = name


def test_default_export_paths() -> None:
    traj = Path("out/box_frame/trajectory.npz")
    paths = {name: fmt.default_path(traj, "box_frame") for name, fmt in export_formats().items()}
    assert paths == {
        "urscript": Path("out/box_frame/box_frame.script"),
        "krl": Path("out/box_frame/krl"),
        "kuka-rsi": Path("out/box_frame/kuka-rsi"),
        "fanuc-tp": Path("out/box_frame/BOX_FRAME.LS"),
        "rapid": Path("out/box_frame/box_frame.mod"),
    }


def test_unknown_vendor_names_the_known_ones() -> None:
    with pytest.raises(DriverError, match="expected one of abb, fanuc, kuka, ur"):
        vendor("yaskawa")


def _install_vendor(root: Path, entry: str, body: str) -> None:
    """A real installed distribution (dist-info with entry_points.txt) on ``root``."""
    (root / "acme_weld.py").write_text(textwrap.dedent(body))
    info = root / "acme_weld-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-weld\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{VENDOR_ENTRY_POINT_GROUP}]\n{entry}\n")


ACME = """
    import typer

    from weldcell.drivers.vendor import ControllerCommand, ProgramFormat, Vendor
    from weldcell.drivers.virtual import VirtualRobot


    class AcmeDriver(VirtualRobot):
        @classmethod
        def from_url(cls, url, /, **options):
            return cls(url.host or "ur5e", **options)


    def controller_acme(port: int = typer.Option(7000, "--port", help="Acme port.")) -> None:
        '''Run a virtual Acme controller.'''
        typer.echo(f"acme controller on {port}")


    def write_acme(fmt, request):
        request.output.write_text(f"ACME {request.trajectory.name} do={request.arc_do}")
        return [f"wrote {request.output} ({fmt})"]


    def models():
        return frozenset({"acme1"})


    VENDOR = Vendor(
        name="acme",
        title="Acme",
        drivers={"acme": "acme_weld:AcmeDriver"},
        models="acme_weld:models",
        controller=ControllerCommand("acme", "acme_weld:controller_acme"),
        exports=(ProgramFormat("acme-prg", "acme_weld:write_acme", "{JOB}.prg", "Acme program"),),
    )
"""


def test_third_party_vendor_plugs_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One package and one entry point: its driver, export format and controller command appear."""
    _install_vendor(tmp_path, "acme = acme_weld:VENDOR", ACME)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "acme" in vendors() and driver_table()["acme"] == "acme_weld:AcmeDriver"
    from weldcell.drivers.registry import driver_for_url

    d = driver_for_url("acme://ur3e")
    assert type(d).__name__ == "AcmeDriver" and d.robot == "ur3e"
    fmt = export_formats()["acme-prg"]
    out = tmp_path / "JOB.prg"
    lines = list(
        resolve_target(fmt.writer, "acme")("acme-prg", ExportRequest(tmp_path / "t.npz", out, arc_do=3))
    )
    assert out.read_text() == "ACME t.npz do=3" and lines == [f"wrote {out} (acme-prg)"]
    # the command line finds the controller command and the format without any edit of its own
    import typer
    from typer.testing import CliRunner

    from weldcell.cli.export import _format_enum
    from weldcell.cli.vendors import add_controller_commands

    assert "acme-prg" in {f.value for f in _format_enum()}
    group = typer.Typer()
    add_controller_commands(group)
    run = CliRunner().invoke(group, ["acme", "--port", "7123"])
    assert run.exit_code == 0 and "acme controller on 7123" in run.output, run.output


def test_builtin_vendor_cannot_be_hijacked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_vendor(tmp_path, "kuka = acme_weld:VENDOR", ACME)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert vendors()["kuka"].title == "KUKA"


def test_bad_vendor_registrations_are_driver_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_vendor(tmp_path, "acme = acme_weld:models", ACME)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DriverError, match="not a weldcell Vendor"):
        vendors()


def test_a_format_registered_twice_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import weldcell.drivers.registry as registry

    clash = Vendor("acme", "Acme", exports=(ProgramFormat("krl", "x:y", "krl"),))
    real = registry.vendors
    monkeypatch.setattr(registry, "vendors", lambda: {**real(), "acme": clash})
    with pytest.raises(DriverError, match="'krl' is registered by both 'kuka' and 'acme'"):
        registry.export_formats()
