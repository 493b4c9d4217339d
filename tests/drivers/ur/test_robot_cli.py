"""``weldcell run`` against a virtual UR controller, and the ``controller ur`` command's argument checks."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from stamp_helpers import stamp_for_test
from typer.testing import CliRunner

from weldcell.cell.weldlog import WeldLog
from weldcell.cli import app
from weldcell.drivers.base import joint_move
from weldcell.drivers.ur.client.dashboard import DashboardClient
from weldcell.drivers.ur.virtual.controller import Ports, start_virtual_controller
from weldcell.drivers.ur.virtual.core import CoreConfig
from weldcell.errors import DriverConnectionError, StampError, WeldcellError
from weldcell.trajectory import load_trajectory, save_trajectory

HOST = "127.0.0.41"


def _stamped_weld(tmp: Path) -> Path:
    q0 = np.array(CoreConfig().q_home)
    a = joint_move("ur5e", q0, q0 + 0.2, 0.002, speed_fraction=0.6)
    b = joint_move("ur5e", q0 + 0.2, q0 + 0.3, 0.002, speed_fraction=0.3)
    q = np.concatenate([a.q, b.q[1:]])
    n = q.shape[0]
    arc = np.zeros(n, bool)
    arc[a.n_samples - 1 :] = True
    seam_s = np.where(arc, np.cumsum(arc) * 1e-4, np.nan)
    traj = dataclasses.replace(
        a,
        t=np.arange(n) * 0.002,
        q=q,
        qd=np.gradient(q, 0.002, axis=0),
        qdd=np.zeros_like(q),
        T_world_tcp=np.broadcast_to(np.eye(4), (n, 4, 4)),
        arc_on=arc,
        seam_index=np.where(arc, 0, -1).astype(np.int32),
        seam_s=seam_s,
        seam_ids=("fillet_1",),
    )
    p = tmp / "job.npz"
    save_trajectory(traj, p)
    stamp_for_test(p, traj)
    return p


def test_run_trajectory_on_virtual_ur(tmp_path: Path) -> None:
    """Program mode runs a stamped trajectory as one URScript program; stream mode goes through the
    cell, which needs the weld program (its cell) to validate the moves it plans, and says so."""
    p = _stamped_weld(tmp_path)
    # the arc output DO0 comes back on DI0 ("arc established") 50 ms later, as a power source would
    h = start_virtual_controller(HOST, CoreConfig(arc_loopback=(0, 0, 0.05)), Ports(0, 0, 0, 0, 0))
    try:
        ports = [
            "--robot",
            f"ur://{HOST}:{h.ports.rtde}",
            "--dashboard-port",
            str(h.ports.dashboard),
            "--script-port",
            str(h.ports.secondary),
        ]
        db = tmp_path / "log.sqlite"
        res = CliRunner().invoke(app, ["run", str(p), *ports, "--mode", "program", "--db", str(db)])
        assert res.exit_code == 0, res.output
        assert "fillet_1" in res.output and "completed" in res.output
        # no power source: a dry run through the cell, recorded like any job; the weld block's interval
        # is where the robot actually went while the program was in it, and no arc was switched
        traj = load_trajectory(p)
        with WeldLog(db, readonly=True) as log:
            job = log.jobs()[0]
            assert job.result == "ok" and job.part_serial == "DRY RUN"
            kinds = [e.kind for e in log.events(job.id)]
            assert "dry_run" in kinds and "program_mode" in kinds and "program_end" in kinds
            (seam,) = log.seams(job.id)
            assert seam.seam_id == "fillet_1" and seam.result == "ok"
            on = np.flatnonzero(traj.arc_on)
            assert seam.s_start == pytest.approx(traj.seam_s[on[0]], abs=1e-6)
            sig = log.signals(seam.id)
            assert len(sig) > 10 and np.all(sig.current == 0.0)
            assert seam.s_stop == pytest.approx(np.nanmax(traj.seam_s))  # welded to its end
            assert sig.seam_s.max() > np.nanmax(traj.seam_s) - 2e-3  # the last polls, near the end
            assert np.all(np.diff(sig.seam_s) >= 0)
        with DashboardClient(HOST, h.ports.dashboard) as d:
            assert not json.loads(d.command("weldcell state"))["digital_out"] & 1  # arc output off
        res = CliRunner().invoke(app, ["run", str(p), *ports, "--db", str(tmp_path / "log.sqlite")])
        assert isinstance(res.exception, WeldcellError)
        assert "cannot find the weld program" in str(res.exception)
    finally:
        h.stop()


def test_run_refuses_unstamped_and_bad_urls(tmp_path: Path) -> None:
    p = _stamped_weld(tmp_path)
    Path(str(p) + ".stamp.json").unlink()
    res = CliRunner().invoke(app, ["run", str(p), "--robot", "ur://127.0.0.1"])
    assert isinstance(res.exception, StampError)  # main() turns it into one line and exit code 2
    res = CliRunner().invoke(app, ["run", str(p), "--robot", "http://x"])
    assert isinstance(res.exception, WeldcellError) and "ur://HOST" in str(res.exception)
    res = CliRunner().invoke(app, ["controller", "ur", "--arm", "ur99"])
    assert isinstance(res.exception, WeldcellError) and "ur99" in str(res.exception)


def test_run_program_reports_an_unreachable_robot_before_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weldcell.app.job as job_module

    def no_planning(*args: object, **kwargs: object) -> None:
        raise AssertionError("planned although the robot does not answer")

    monkeypatch.setattr(job_module, "plan_and_validate", no_planning)
    program = Path(__file__).resolve().parents[3] / "programs" / "demo_tjoint.yaml"
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = CliRunner().invoke(
        app, ["run", str(program), "--robot", f"ur://127.0.0.1:{port}", "-o", str(tmp_path)]
    )
    assert isinstance(res.exception, DriverConnectionError)
    assert f"127.0.0.1:{port} does not answer" in str(res.exception)


# --- --host binds loopback unless --allow-remote ------------------------------------------------


def _weldcell(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from weldcell.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_bind_address_helper() -> None:
    from weldcell.drivers.bind import check_bind_address, is_loopback

    for host in ("127.0.0.1", "127.0.0.41", "::1", "localhost"):
        assert is_loopback(host), host
        assert check_bind_address(host, False, "x") is False
    for host in ("0.0.0.0", "192.0.2.2", "::", "10.1.2.3", "no-such-host.invalid"):
        assert not is_loopback(host), host
        with pytest.raises(DriverConnectionError, match="--allow-remote"):
            check_bind_address(host, False, "x")
        assert check_bind_address(host, True, "x") is True


@pytest.mark.parametrize("command", [["controller", "ur"], ["powersource"]])
def test_non_loopback_host_needs_allow_remote(command: list[str]) -> None:
    res = _weldcell(*command, "--host", "0.0.0.0")
    assert res.returncode == 2, res.stderr
    assert "--allow-remote" in res.stderr and "Traceback" not in res.stderr


def test_powersource_allow_remote_warns() -> None:
    res = _weldcell("powersource", "--host", "0.0.0.0", "--port", "0", "--allow-remote", "--duration", "0.3")
    assert res.returncode == 0, res.stderr
    assert "WARNING" in res.stderr and "0.0.0.0" in res.stderr


def test_controller_allow_remote_warns_and_serves() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from weldcell.cli import main; main()",
            "controller",
            "ur",
            "--host",
            "0.0.0.0",
            "--allow-remote",
            *[
                a
                for p in (
                    "--rtde-port",
                    "--dashboard-port",
                    "--primary-port",
                    "--secondary-port",
                    "--realtime-port",
                )
                for a in (p, "0")
            ],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out = proc.stdout.readline() if proc.stdout else ""  # blocks until the controller listens
        assert "virtual UR controller" in out
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert "WARNING" in err and "0.0.0.0" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_run_and_cell_run_modes_refuse_conflicting_arc_options(tmp_path: Path) -> None:
    p = _stamped_weld(tmp_path)
    both = ["--powersource", "modbus://127.0.0.1:1502", "--arc-output", "1", "--mode", "program"]
    res = CliRunner().invoke(app, ["run", str(p), "--robot", "ur://127.0.0.1", *both])
    assert isinstance(res.exception, WeldcellError) and "not both" in str(res.exception)
    res = CliRunner().invoke(app, ["run", str(p), "--robot", "ur://127.0.0.1", "--arc-output", "1"])
    assert isinstance(res.exception, WeldcellError) and "--arc-output is for --mode program" in str(
        res.exception
    )
    urls = ["--robot", "ur://127.0.0.1", "--powersource", "modbus://127.0.0.1:1502"]
    res = CliRunner().invoke(app, ["cell", "run", str(p), *urls, "--mode", "batch"])
    assert isinstance(res.exception, WeldcellError) and "'stream' or 'program'" in str(res.exception)
