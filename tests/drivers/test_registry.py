"""The robot driver registry: schemes, lazy imports, entry-point plug-ins, clear errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from weldcell.drivers.registry import (
    BUILTIN_DRIVERS,
    ENTRY_POINT_GROUP,
    connect_robot,
    driver_for_url,
    known_schemes,
    parse_robot_url,
)
from weldcell.drivers.ur.driver import URDriver
from weldcell.drivers.virtual import VirtualRobot
from weldcell.errors import DriverError


def test_parse_url() -> None:
    u = parse_robot_url("kuka-rsi://127.0.0.1:59152/x?cycle_ms=12")
    assert (u.scheme, u.host, u.port, u.path, u.query) == (
        "kuka-rsi",
        "127.0.0.1",
        59152,
        "x",
        {"cycle_ms": "12"},
    )
    assert parse_robot_url("UR://10.0.0.2").port is None
    with pytest.raises(DriverError, match="SCHEME://HOST"):
        parse_robot_url("10.0.0.2")
    with pytest.raises(DriverError, match="port"):
        parse_robot_url("ur://10.0.0.2:99999")


def test_ur_scheme_builds_ur_driver() -> None:
    d = driver_for_url("ur://127.0.0.9:30104", robot="ur10e", dashboard_port=None)
    assert isinstance(d, URDriver)
    assert d.host == "127.0.0.9" and d.config.rtde_port == 30104 and d.robot == "ur10e"
    assert d.config.dashboard_port is None and not d.connected
    d2 = driver_for_url("ur://10.1.2.3")
    assert isinstance(d2, URDriver) and d2.config.rtde_port == 30004


def test_ur_bad_options_are_driver_errors() -> None:
    with pytest.raises(DriverError, match="arc_output"):
        driver_for_url("ur://10.1.2.3", arc_output=12)
    with pytest.raises(DriverError, match="rejects the options"):
        driver_for_url("ur://10.1.2.3", no_such_setting=1)
    with pytest.raises(DriverError, match="host is missing"):
        driver_for_url("ur://:30004")


def test_unknown_scheme_lists_known_ones() -> None:
    with pytest.raises(DriverError) as info:
        driver_for_url("nosuchvendor://10.0.0.1")
    msg = str(info.value)
    assert "'nosuchvendor'" in msg
    for scheme in ("ur", "kuka-rsi", "fanuc", "virtual"):
        assert scheme in msg
    assert ENTRY_POINT_GROUP in msg


def test_connect_robot_virtual() -> None:
    with connect_robot("virtual://kr6_r900", time_scale=5.0) as d:
        assert isinstance(d, VirtualRobot) and d.robot == "kr6_r900" and d.connected
        assert d.state().q.shape == (6,)
    assert not d.connected


def test_lazy_imports() -> None:
    """Building a virtual robot must not import the KUKA package (``weldcell.drivers`` itself still
    imports the UR package eagerly; that is issue 13's split of the UR code)."""
    code = textwrap.dedent(
        """
        import sys
        from weldcell.drivers.registry import driver_for_url
        driver_for_url("virtual://ur5e")
        loaded = sorted(m for m in sys.modules if m.startswith("weldcell.drivers.kuka"))
        print(",".join(loaded))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "", out.stdout


def _install_plugin(root: Path, scheme: str, value: str) -> None:
    """A real installed distribution (dist-info with entry_points.txt) on ``root``."""
    (root / "fakevendor_driver.py").write_text(
        textwrap.dedent(
            """
            from weldcell.drivers.virtual import VirtualRobot

            class VendorDriver(VirtualRobot):
                @classmethod
                def from_url(cls, url, /, **options):
                    d = cls(url.path or "ur3e", **options)
                    d.host = url.host
                    return d

            def not_a_driver(url, /, **options):
                return 42
            """
        )
    )
    info = root / "fakevendor_driver-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakevendor-driver\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{scheme} = {value}\n")


def test_entry_point_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_plugin(tmp_path, "vendor", "fakevendor_driver:VendorDriver")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "vendor" in known_schemes()
    d = driver_for_url("vendor://cell7/ur10e")
    assert type(d).__name__ == "VendorDriver" and d.robot == "ur10e" and d.host == "cell7"  # type: ignore[attr-defined]


def test_entry_point_cannot_hijack_builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_plugin(tmp_path, "ur", "fakevendor_driver:VendorDriver")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert isinstance(driver_for_url("ur://10.0.0.1"), URDriver)


def test_bad_plugin_is_a_driver_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_plugin(tmp_path, "broken", "fakevendor_driver:not_a_driver")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DriverError, match="not a RobotDriver"):
        driver_for_url("broken://x")


def test_builtin_targets_are_well_formed() -> None:
    for scheme, target in BUILTIN_DRIVERS.items():
        module, _, attr = target.partition(":")
        assert module.startswith("weldcell.drivers.") and attr, scheme


def test_one_entry_point_scan_per_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``weldcell --help`` asks the registry three times; the installed metadata is read once per
    ``sys.path`` (issue #14), and a plug-in on a new path is still seen."""
    import weldcell.drivers.registry as registry

    scans: list[int] = []
    real = registry.entry_points

    def counting() -> object:
        scans.append(1)
        return real()

    monkeypatch.setattr(registry, "entry_points", counting)
    registry._scan.cache_clear()
    monkeypatch.syspath_prepend(str(tmp_path))  # a sys.path of this test alone
    registry.vendors()
    registry.export_formats()
    registry.default_export_format()
    assert len(scans) == 1
    other = tmp_path / "other"
    other.mkdir()
    _install_plugin(other, "vendorx", "fakevendor_driver:VendorDriver")
    monkeypatch.syspath_prepend(str(other))
    assert "vendorx" in known_schemes()
    assert len(scans) == 2
    registry._scan.cache_clear()
