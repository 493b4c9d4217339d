"""Every consumer refuses a bad stamp with a clear message: both robot drivers, the exporter, the cell.

The good stamp comes from a real validation of a weld trajectory in pybullet. Each case then breaks
it the way an attacker or an accident would (forged, partial, copied from another trajectory, the
trajectory changed afterwards, the wrong key, a missing key), and each consumer must raise
:class:`StampError` naming the problem before anything moves or is written.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from weldcell.app.planvalidate import check_job_input
from weldcell.cell.approval import SimApprover
from weldcell.drivers.ur.driver import URDriver, URDriverConfig
from weldcell.drivers.ur.program.export import export_urscript
from weldcell.drivers.ur.virtual.controller import Ports, VirtualControllerHandle, start_virtual_controller
from weldcell.drivers.ur.virtual.core import CoreConfig
from weldcell.drivers.virtual import VirtualRobot
from weldcell.errors import StampError
from weldcell.sim import CellModel, validate_trajectory
from weldcell.sim.stamping import write_validation_stamp
from weldcell.trajectory import JointTrajectory, load_trajectory, save_trajectory
from weldcell.trajectory.stamp import StampKey, _signature, create_stamp_key, stamp_path, verify_stamp

HOST = "127.0.0.37"


@dataclass(frozen=True)
class Case:
    """A broken stamp: the trajectory file, the key the cell is configured with, the expected message."""

    path: Path
    cell_key: StampKey | Path | None
    message: str


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory, good_traj: JointTrajectory, cell: CellModel) -> Path:
    folder = tmp_path_factory.mktemp("validated")
    path = save_trajectory(good_traj, folder / "job.npz")
    report = validate_trajectory(good_traj, cell=cell)
    assert report.passed
    write_validation_stamp(report, path, key=None)
    keyed = save_trajectory(good_traj, folder / "keyed.npz")
    write_validation_stamp(report, keyed, key=create_stamp_key(folder / "validator.key"))
    return folder


def _copy(src_folder: Path, name: str, dst: Path) -> Path:
    p = dst / "job.npz"
    shutil.copy(src_folder / name, p)
    shutil.copy(stamp_path(src_folder / name), stamp_path(p))
    return p


def _resigned(p: Path, change: Callable[[dict], None], key: StampKey | None = None) -> None:  # type: ignore[type-arg]
    sp = stamp_path(p)
    doc = json.loads(sp.read_text())
    change(doc)
    doc["signature"] = _signature(doc, key)
    sp.write_text(json.dumps(doc))


def _modify(field: str) -> Callable[[JointTrajectory], JointTrajectory]:
    def run(tr: JointTrajectory) -> JointTrajectory:
        if field == "seam_ids":
            return dataclasses.replace(tr, seam_ids=tuple(s + "x" for s in tr.seam_ids))
        if field == "program_hash":
            return dataclasses.replace(tr, program_hash="f" * 64)
        arr = getattr(tr, field).copy()
        if field == "seam_index":
            arr[np.flatnonzero(arr >= 0)[0]] = -1
        elif field == "seam_s":
            arr[np.flatnonzero(np.isfinite(arr))[0]] += 1e-4
        elif field == "t":
            arr[-1] += 1e-6
        else:
            arr[len(arr) // 2, 0] += 1e-6
        return dataclasses.replace(tr, **{field: arr})

    return run


CASES = [
    "forged",
    "partial",
    "other_trajectory",
    "modified_t",
    "modified_seam_s",
    "modified_seam_index",
    "modified_seam_ids",
    "modified_q",
    "modified_program_hash",
    "wrong_key",
    "missing_key",
    "unkeyed_stamp_in_keyed_cell",
]


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest, validated: Path, tmp_path: Path) -> Case:
    name: str = request.param
    if name == "forged":
        p = _copy(validated, "job.npz", tmp_path)
        doc = json.loads(stamp_path(p).read_text())
        doc["summary"]["metrics"]["min_distance_m"] = 0.5
        stamp_path(p).write_text(json.dumps(doc))
        return Case(p, None, "does not match its signature")
    if name == "partial":
        p = _copy(validated, "job.npz", tmp_path)
        _resigned(p, lambda d: d.pop("trajectory_hash"))
        return Case(p, None, "partial validation stamp, missing field(s) ['trajectory_hash']")
    if name == "other_trajectory":
        p = _copy(validated, "job.npz", tmp_path)
        save_trajectory(_modify("q")(load_trajectory(p)), p)
        stamp_path(p).write_text(stamp_path(validated / "job.npz").read_text())
        return Case(p, None, "certifies another trajectory")
    if name.startswith("modified_"):
        p = _copy(validated, "job.npz", tmp_path)
        save_trajectory(_modify(name.removeprefix("modified_"))(load_trajectory(p)), p)
        return Case(p, None, "certifies another trajectory")
    if name == "wrong_key":
        p = _copy(validated, "keyed.npz", tmp_path)
        return Case(p, create_stamp_key(tmp_path / "cell.key"), "signed with another key")
    if name == "missing_key":
        p = _copy(validated, "job.npz", tmp_path)
        return Case(
            p, tmp_path / "no-such.key", "does not exist; this cell requires stamps signed with its key"
        )
    assert name == "unkeyed_stamp_in_keyed_cell"
    p = _copy(validated, "job.npz", tmp_path)
    return Case(p, create_stamp_key(tmp_path / "cell.key"), "this stamp is unkeyed")


def test_the_unbroken_stamp_is_accepted(validated: Path) -> None:
    """The baseline: the stamp the cases break is good."""
    verify_stamp(validated / "job.npz", load_trajectory(validated / "job.npz"), key=None)
    verify_stamp(
        validated / "keyed.npz",
        load_trajectory(validated / "keyed.npz"),
        key=validated / "validator.key",
    )


def test_virtual_robot_refuses(case: Case) -> None:
    traj = load_trajectory(case.path)
    with VirtualRobot(traj.robot, q0=traj.q[0]) as robot:
        robot.stamp_key = case.cell_key
        with pytest.raises(StampError) as info:
            robot.execute(traj, traj_path=case.path)
        assert case.message in str(info.value)
        assert np.array_equal(robot.state(1.0).q, traj.q[0])  # nothing moved
        # the simulation-only escape hatch still works on the virtual robot
        robot.execute(traj, force_unvalidated=True, end_index=5).wait_until_done(5.0)


@pytest.fixture(scope="module")
def controller() -> Iterator[VirtualControllerHandle]:
    h = start_virtual_controller(HOST, CoreConfig(unlock_delay=0.2), Ports(0, 0, 0, 0, 0))
    yield h
    h.stop()


def test_ur_driver_refuses(case: Case, controller: VirtualControllerHandle) -> None:
    traj = load_trajectory(case.path)
    config = URDriverConfig(
        robot=traj.robot,
        rtde_port=controller.ports.rtde,
        dashboard_port=controller.ports.dashboard,
        script_port=controller.ports.secondary,
    )
    with URDriver(HOST, config) as robot:
        robot.connect(5.0)
        robot.stamp_key = case.cell_key
        with pytest.raises(StampError) as info:
            robot.execute(traj, traj_path=case.path)
        assert case.message in str(info.value)
        with pytest.raises(StampError, match="real hardware"):  # and no escape hatch on a UR
            robot.execute(traj, force_unvalidated=True)


def test_exporter_refuses(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "job.script"
    with pytest.raises(StampError) as info:
        export_urscript(case.path, out, stamp_key=case.cell_key)
    assert case.message in str(info.value)
    assert not out.exists()


def test_cell_refuses(case: Case, program: object, tmp_path: Path) -> None:
    traj = load_trajectory(case.path)
    with pytest.raises(StampError) as info:
        check_job_input(case.path, stamp_key=case.cell_key)
    assert case.message in str(info.value)
    try:
        approver = SimApprover(program, tmp_path / "motions", stamp_key=case.cell_key)
    except StampError as err:  # a cell configured with a key file that is missing refuses to start
        assert case.message in str(err)
        return
    try:
        with pytest.raises(StampError) as info:
            approver.approve_main(traj, case.path)
        assert case.message in str(info.value)
    finally:
        approver.close()


def test_cell_run_cli_refuses(
    case: Case, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from weldcell.cli import main

    args = [
        "weldcell",
        "cell",
        "run",
        str(case.path),
        "--robot",
        "ur://127.0.0.1",
        "--powersource",
        "modbus://127.0.0.1:1502",
        "--db",
        str(case.path.with_name("log.sqlite")),
    ]
    if isinstance(case.cell_key, StampKey):
        args += ["--stamp-key", str(case.cell_key.path)]
    elif case.cell_key is not None:
        args += ["--stamp-key", str(case.cell_key)]
    monkeypatch.setattr(sys, "argv", args)
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit) as exc:
        main()
    text = " ".join(capsys.readouterr().err.split())
    assert exc.value.code == 2, text
    assert "error:" in text and case.message in text and "Traceback" not in text
    assert not case.path.with_name("log.sqlite").exists()  # refused before the weld log was created
