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


def _install_vendor(root: Path, entry: str, body: str, module: str = "acme_weld") -> None:
    """A real installed distribution (dist-info with entry_points.txt) on ``root``; the package is the
    module ``module`` (a fresh name per body: an imported module stays in ``sys.modules``)."""
    (root / f"{module}.py").write_text(textwrap.dedent(body))
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


# --- no vendor special cases outside the vendor packages ----------------------------------------

#: The layers that must find every vendor through the registry (docs/architecture.md, "Adding a vendor").
VENDOR_FREE_PACKAGES = ("weldcell/cell", "weldcell/cli")


def _vendor_words() -> set[str]:
    """Every name a vendor registers: vendor names, URL schemes, controller commands, export formats."""
    words: set[str] = set()
    for name, v in vendors().items():
        words |= {name, *v.drivers}
        words |= {f.name for f in v.exports}
        if v.controller is not None:
            words.add(v.controller.name)
    return words


def vendor_special_cases(source: str, words: set[str], packages: set[str]) -> list[tuple[int, str]]:
    """(line, what) of each place in ``source`` (Python) that names a vendor instead of asking the
    registry: an import of a vendor package (``weldcell.drivers.<vendor>``, also lazy or by a string
    such as ``importlib.import_module("weldcell.drivers.ur.driver")``), and any string constant equal
    to a vendor name, URL scheme, controller command or export format (a comparison ``scheme == "ur"``,
    a ``match`` case, a table key, a default value). Docstrings and help texts that mention vendors
    inside longer text are not special cases."""
    import ast

    def vendor_module(name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in packages)

    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if vendor_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and vendor_module(node.module):
            found.append((node.lineno, f"from {node.module} import"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip().lower()
            if text in words or vendor_module(text.partition(":")[0]):
                found.append((node.lineno, repr(node.value)))
    return sorted(found)


def _vendor_packages() -> set[str]:
    return {target.partition(":")[0].rpartition(".plugin")[0] for target in BUILTIN_VENDORS.values()}


def test_the_scan_finds_vendor_special_cases() -> None:
    """The scan below is a real check: each kind of special case in a snippet is found."""
    words, packages = _vendor_words(), _vendor_packages()
    snippet = textwrap.dedent(
        """
        import importlib
        from weldcell.drivers.kuka.driver import RsiDriver
        import weldcell.drivers.fanuc.packets as pk

        def connect(url, parsed):
            if parsed.scheme == "ur":
                from weldcell.drivers.ur.driver import URDriver
            match parsed.scheme:
                case "abb-egm":
                    pass
            mod = importlib.import_module("weldcell.drivers.abb.driver")
            return {"kuka": 1}, "urscript"
        """
    )
    hits = vendor_special_cases(snippet, words, packages)
    assert [line for line, _ in hits] == [3, 4, 7, 8, 10, 12, 13, 13], hits
    clean = "def f(url):\n    '''Connect ur:// or kuka-rsi:// addresses.'''\n    return url.scheme\n"
    assert vendor_special_cases(clean, words, packages) == []


def test_cell_and_cli_name_no_vendor() -> None:
    """weldcell/cell and weldcell/cli find vendors through the registry only: no vendor package import,
    no vendor name, scheme, controller command or format as a string of their own (issue 13)."""
    root = Path(__file__).resolve().parents[2]
    words, packages = _vendor_words(), _vendor_packages()
    assert {"ur", "kuka", "fanuc", "abb", "kuka-rsi", "abb-egm", "urscript"} <= words
    assert packages == {f"weldcell.drivers.{name}" for name in ("ur", "kuka", "fanuc", "abb")}
    files = [p for pkg in VENDOR_FREE_PACKAGES for p in sorted((root / pkg).rglob("*.py"))]
    assert len(files) > 30  # the scan reads the real packages
    found = {
        f"{path.relative_to(root)}:{line}": what
        for path in files
        for line, what in vendor_special_cases(path.read_text(encoding="utf-8"), words, packages)
    }
    assert found == {}


# --- the cell's connection settings go through the driver's own hook ------------------------------


def test_ur_takes_the_cells_ur_settings_and_others_ignore_them() -> None:
    from weldcell.drivers.registry import cell_driver_options, driver_for_url, parse_robot_url

    settings = {"q0": [0.0] * 6, "power_on": True, "dashboard_port": 29001, "script_port": None}
    opts = cell_driver_options(parse_robot_url("ur://10.0.0.5:30104"), "ur10e", settings)
    assert opts == {"robot": "ur10e", "arc_output": None, "power_on": True, "dashboard_port": 29001}
    d = driver_for_url("ur://10.0.0.5:30104", **opts)
    cfg = d.config  # type: ignore[attr-defined]
    assert (d.host, cfg.robot, cfg.rtde_port, cfg.dashboard_port, cfg.script_port) == (  # type: ignore[attr-defined]
        "10.0.0.5",
        "ur10e",
        30104,
        29001,
        30002,
    )
    assert cfg.arc_output is None and cfg.power_on
    # the streaming vendors take the job's model (or check the one in the URL) and nothing UR-ish
    for url in ("kuka-rsi://127.0.0.1:59152", "fanuc://127.0.0.1", "abb-egm://127.0.0.1:6510"):
        assert cell_driver_options(parse_robot_url(url), "kr6_r900", settings) == {"robot": "kr6_r900"}
    named = parse_robot_url("kuka-rsi://127.0.0.1:59152?robot=kr10_r1420")
    assert cell_driver_options(named, "kr10_r1420", settings) == {}
    with pytest.raises(DriverError, match="names robot 'kr10_r1420', but the job was planned for 'kr6_r900'"):
        cell_driver_options(named, "kr6_r900", settings)
    virtual = cell_driver_options(parse_robot_url("virtual://ur16e"), "ur16e", settings)
    assert virtual == {"robot": "ur16e", "q0": settings["q0"]}
    with pytest.raises(DriverError, match="names robot 'ur3e'"):
        cell_driver_options(parse_robot_url("virtual://ur3e"), "ur16e", settings)


def test_ur_settings_are_checked_before_planning() -> None:
    from weldcell.drivers.registry import check_cell_settings, parse_robot_url

    check_cell_settings(parse_robot_url("ur://h"), {"dashboard_port": 29999, "arc_output": 7})
    with pytest.raises(DriverError, match="script_port 70000"):
        check_cell_settings(parse_robot_url("ur://h"), {"script_port": 70000})
    with pytest.raises(DriverError, match="arc_output 8"):
        check_cell_settings(parse_robot_url("ur://h:30004"), {"arc_output": 8})
    check_cell_settings(parse_robot_url("kuka-rsi://127.0.0.1:59152"), {"script_port": 70000})  # not its


def test_program_mode_and_manufacturer_come_from_the_drivers() -> None:
    from weldcell.drivers.registry import program_mode_needs, runs_programs, vendor_of_model

    assert [s for s in ("ur", "kuka-rsi", "fanuc", "abb-egm", "virtual") if runs_programs(s)] == ["ur"]
    assert program_mode_needs() == "it needs a UR robot (ur://HOST)"
    makers = {
        m: (v.manufacturer_name() if (v := vendor_of_model(m)) else "")
        for m in (
            "ur3e",
            "ur16e",
            "kr6_r900",
            "arcmate100id",
            "crx10ial",
            "irb1520id",
            "crb15000_5_95",
            "srs7",
        )
    }
    assert makers == {
        "ur3e": "Universal Robots",
        "ur16e": "Universal Robots",
        "kr6_r900": "KUKA",
        "arcmate100id": "FANUC",
        "crx10ial": "FANUC",
        "irb1520id": "ABB",
        "crb15000_5_95": "ABB",
        "srs7": "",
    }


ACME_CELL = ACME.replace(  # the plug-in's driver decides how the cell connects it
    """            return cls(url.host or "ur5e", **options)
""",
    """            return cls(url.host or "ur5e", **options)

        @classmethod
        def cell_options(cls, url, robot, settings, /):
            return {"q0": settings.get("q0"), "time_scale": float(url.query.get("speed", 1))}
""",
)


def test_a_plugin_driver_is_connected_by_the_cell_with_its_own_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cell's connect knows nothing of the plug-in: the driver's ``cell_options`` decides."""
    import numpy as np

    from weldcell.app.devices import connect_cell_robot

    _install_vendor(
        tmp_path, "acme = acme_cell:VENDOR", ACME_CELL.replace("acme_weld", "acme_cell"), "acme_cell"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    q0 = np.array([0.1, -1.2, 1.0, -0.5, 1.5, 0.3])
    robot = connect_cell_robot("acme://ur3e?speed=4", "ur3e", q0=q0, timeout=5.0, power_on=True)
    try:
        assert type(robot).__name__ == "AcmeDriver" and robot.robot == "ur3e"
        assert robot.time_scale == 4.0  # type: ignore[attr-defined]
        np.testing.assert_allclose(robot.state(timeout=1.0).q, q0)
    finally:
        robot.close()
