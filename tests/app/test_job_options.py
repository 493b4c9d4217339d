"""The job's options name no vendor: each robot driver declares the connection options it takes, and an
option the driver does not take is an error before anything is planned or connected (issue 13)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import weldcell.app.job as job_module
from weldcell.app.devices import check_driver_options
from weldcell.app.job import RunOptions, run_job
from weldcell.app.resume import ResumeOptions
from weldcell.cli.common import robot_driver_options
from weldcell.drivers.registry import driver_options, parse_robot_url
from weldcell.errors import DriverError, WeldcellError

PROGRAMS = Path(__file__).resolve().parents[2] / "programs"


def test_the_generic_options_name_no_vendor_setting() -> None:
    for options in (RunOptions, ResumeOptions):
        names = {f.name for f in dataclasses.fields(options)}
        assert "driver_options" in names
        assert not names & {"dashboard_port", "script_port", "power_on"}, names


def test_each_driver_declares_its_options() -> None:
    assert set(driver_options("ur")) == {"dashboard_port", "script_port", "power_on"}
    assert all(text for text in driver_options("ur").values())  # each says what it does
    for scheme in ("virtual", "kuka-rsi", "fanuc", "abb-egm"):
        assert driver_options(scheme) == {}, scheme


def test_options_are_checked_against_the_driver() -> None:
    ur = parse_robot_url("ur://10.0.0.5")
    check_driver_options(ur, {"dashboard_port": 29001, "power_on": True})
    with pytest.raises(
        DriverError, match=r"'speed' do not apply to a ur:// robot; its options: dashboard_port"
    ):
        check_driver_options(ur, {"speed": 2})
    with pytest.raises(DriverError, match="script_port 70000"):  # the driver checks the values
        check_driver_options(ur, {"script_port": 70000})
    rsi = parse_robot_url("kuka-rsi://127.0.0.1:59152")
    check_driver_options(rsi, {})
    with pytest.raises(
        DriverError, match=r"'dashboard_port' do not apply to a kuka-rsi:// robot; its options: none"
    ):
        check_driver_options(rsi, {"dashboard_port": 29999})


def test_a_foreign_option_fails_before_planning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_planning(*args: object, **kwargs: object) -> None:
        raise AssertionError("planned although the driver option is wrong")

    monkeypatch.setattr(job_module, "plan_and_validate", no_planning)
    options = RunOptions(
        job=PROGRAMS / "demo_tjoint.yaml",
        robot_url="virtual",
        powersource_url=None,
        log_path=tmp_path / "log.sqlite",
        out_dir=tmp_path / "out",
        driver_options={"power_on": True},
    )
    with pytest.raises(DriverError, match="'power_on' do not apply to a virtual:// robot"):
        run_job(options)
    assert not (tmp_path / "log.sqlite").exists() and not (tmp_path / "out").exists()


def test_cli_driver_options_parse() -> None:
    got = robot_driver_options(
        ["power_on=true", "dashboard_port=29001", "gain=0.5", "name=cell A", "flag=no"],
        script_port=None,
        other=False,
    )
    assert got == {"power_on": True, "dashboard_port": 29001, "gain": 0.5, "name": "cell A", "flag": False}
    assert robot_driver_options(None, dashboard_port=29002) == {"dashboard_port": 29002}
    with pytest.raises(WeldcellError, match="expected NAME=VALUE"):
        robot_driver_options(["power_on"])
    with pytest.raises(WeldcellError, match="dashboard_port is given twice"):
        robot_driver_options(["dashboard_port=1"], dashboard_port=2)


def test_resume_refuses_a_foreign_option_before_reading_the_log(tmp_path: Path) -> None:
    from weldcell.app.resume import resume_job

    options = ResumeOptions(
        log_path=tmp_path / "missing.sqlite",
        robot_url="fanuc://127.0.0.1",
        powersource_url="modbus://127.0.0.1:502",
        driver_options={"script_port": 30002},
    )
    with pytest.raises(DriverError, match="'script_port' do not apply to a fanuc:// robot"):
        resume_job(options)


PSU = ["--powersource", "modbus://127.0.0.1:502"]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            [
                "cell",
                "run",
                "PROGRAM",
                *PSU,
                "--robot",
                "kuka-rsi://127.0.0.1:59152",
                "--dashboard-port",
                "29001",
            ],
            DriverError,
            "'dashboard_port' do not apply to a kuka-rsi:// robot",
        ),
        (
            ["run", "PROGRAM", "--robot", "virtual", "--power-on"],
            DriverError,
            "'power_on' do not apply to a virtual://",
        ),
        (
            ["cell", "run", "PROGRAM", *PSU, "--robot", "virtual", "--driver-option", "power_on"],
            WeldcellError,
            "expected NAME=VALUE",
        ),
        (
            ["cell", "run", "PROGRAM", *PSU, "--robot", "ur://127.0.0.1", "--driver-option", "speed=2"],
            DriverError,
            "its options: dashboard_port .*power_on .*script_port",
        ),
    ],
)
def test_cli_refuses_options_the_driver_does_not_take(
    args: list[str], error: type[Exception], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from weldcell.cli import app

    monkeypatch.chdir(tmp_path)
    program = str(PROGRAMS / "demo_tjoint.yaml")
    res = CliRunner().invoke(app, [program if a == "PROGRAM" else a for a in args])
    assert isinstance(res.exception, error), res.output
    assert re.search(message, str(res.exception)), str(res.exception)
    assert not (tmp_path / "weldlog.sqlite").exists() and not (tmp_path / "weldcell-out").exists()
