"""Bad input on every user-facing command: one clear line, exit status 2, never a traceback.

The commands run in-process through :func:`weldcell.cli.main` (the real entry point, which turns a
``WeldcellError`` into one line and exit code 2); an exception escaping ``main`` fails the test. One
subprocess check covers the installed script end to end. Sockets are on 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from stamp_helpers import stamp_for_test

from weldcell.trajectory import JointTrajectory, save_trajectory

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "programs" / "demo_tjoint.yaml"

Run = Callable[..., tuple[int, str]]  # the `weldcell` fixture (tests/cli/conftest.py)


def _fails(result: tuple[int, str], *fragments: str) -> None:
    code, text = result
    assert code == 2, text
    assert "Traceback" not in text, text
    for f in fragments:
        assert f in text, f"{f!r} not in {text!r}"


def _traj(q_offset: float = 0.0) -> JointTrajectory:
    n = 5
    q = np.tile(np.array([0.0, -1.57, 1.57, -1.57, -1.57, 0.0]) + q_offset, (n, 1))
    return JointTrajectory(
        robot="ur5e",
        joint_names=tuple(f"joint{i}" for i in range(1, 7)),
        dt=0.002,
        t=np.arange(n) * 0.002,
        q=q,
        qd=np.zeros((n, 6)),
        qdd=np.zeros((n, 6)),
        T_world_tcp=np.tile(np.eye(4), (n, 1, 1)),
        arc_on=np.zeros(n, bool),
        seam_index=-np.ones(n, np.int32),
        seam_s=np.full(n, np.nan),
        T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4),
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Broken inputs of every kind, plus a stamped trajectory and its tampered / stale copies."""
    f = {
        "folder": tmp_path / "folder",
        "empty": tmp_path / "empty.yaml",
        "binary": tmp_path / "binary.yaml",
        "text": tmp_path / "notes.sqlite",
    }
    f["folder"].mkdir()
    f["empty"].write_bytes(b"")
    f["binary"].write_bytes(bytes(range(128, 256)) * 8)
    f["text"].write_text("a,b\n1,2\n")
    traj = _traj()
    f["nostamp"] = save_trajectory(traj, tmp_path / "nostamp.npz")
    f["stamped"] = save_trajectory(traj, tmp_path / "stamped.npz")
    stamp_for_test(f["stamped"], traj)
    f["stale"] = save_trajectory(traj, tmp_path / "stale.npz")
    stamp_for_test(f["stale"], traj)
    save_trajectory(_traj(0.01), f["stale"])  # a valid file, but not the one the stamp certifies
    f["tampered"] = save_trajectory(traj, tmp_path / "tampered.npz")
    stamp_for_test(f["tampered"], traj)
    with np.load(f["tampered"]) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["q"] = arrays["q"] + 0.05
    np.savez(f["tampered"], **arrays)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE parts(serial TEXT)")
    db.close()
    f["foreign"] = foreign
    return f


@pytest.fixture
def listening() -> Iterator[int]:
    """A port on 127.0.0.1 that something already listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- programs ---------------------------------------------------------------------------------
def test_check_bad_files(weldcell: Run, files: dict[str, Path], tmp_path: Path) -> None:
    _fails(weldcell("check", tmp_path / "missing.yaml"), "missing.yaml", "file not found")
    _fails(weldcell("check", files["folder"]), "folder", "Is a directory")
    _fails(weldcell("check", files["empty"]), "empty.yaml", "empty", "expected a weld program")
    _fails(weldcell("check", files["binary"]), "binary.yaml", "not UTF-8", "expected a weld program")
    _fails(weldcell("check", files["stamped"]), "stamped.npz", "trajectory", "expected a weld program")


def test_schema_output_not_writable(weldcell: Run, files: dict[str, Path], tmp_path: Path) -> None:
    _fails(weldcell("schema", "-o", files["folder"]), "--output", "is a folder")
    _fails(weldcell("schema", "-o", tmp_path / "nope" / "s.json"), "nope", "does not exist")


# --- export -----------------------------------------------------------------------------------
def test_export_bad_inputs(weldcell: Run, files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "weld.script"
    _fails(weldcell("export", DEMO, "-o", out), "demo_tjoint.yaml", "weld program", "weldcell plan")
    _fails(weldcell("export", files["folder"], "-o", out), "folder", "is a folder", ".npz")
    _fails(weldcell("export", files["nostamp"], "-o", out), "nostamp.npz", "not been validated")
    _fails(weldcell("export", files["tampered"], "-o", out), "tampered.npz", "modified after planning")
    _fails(weldcell("export", files["stale"], "-o", out), "stale stamp")
    _fails(weldcell("export", files["stamped"], "-o", files["folder"]), "--output", "is a folder")
    _fails(
        weldcell("export", files["stamped"], "-o", files["empty"] / "x.script"),
        "x.script",
        "a folder on its path is a file",
    )
    _fails(weldcell("export", files["stamped"], "-o", out, "--arc-do", "9"), "0 … 7", "DO 9")
    _fails(weldcell("export", files["stamped"], "-o", out, "--arc-timeout", "-1"), "arc_timeout", "> 0")
    _fails(weldcell("export", files["stamped"], "-o", out), "stamped.npz", "weld program", "--program")
    _fails(weldcell("export", files["stamped"], "-o", out, "--transit-tolerance", "0"), "transit_tolerance")
    _fails(weldcell("export", files["stamped"], "-o", out, "--format", "gcode"), "gcode", "urscript")
    assert not out.exists()


# --- run: robot addresses and options ---------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ur://", "the host is missing"),
        ("ur://127.0.0.1:notaport", "is not a number"),
        ("ur://127.0.0.1:70000", "outside 1 … 65535"),
        ("modbus://127.0.0.1", "expected ur://HOST"),
        ("http://x", "expected ur://HOST"),
    ],
)
def test_run_bad_robot_url(weldcell: Run, files: dict[str, Path], url: str, fragment: str) -> None:
    _fails(weldcell("run", files["stamped"], "--robot", url), repr(url), fragment)


def test_run_bad_options_and_files(
    weldcell: Run, files: dict[str, Path], closed_port: int, tmp_path: Path
) -> None:
    _fails(weldcell("run", files["stamped"], "--robot", "virtual", "--arc-output", "99"), "--arc-output 99")
    _fails(
        weldcell("run", files["stamped"], "--robot", "ur://127.0.0.1", "--dashboard-port", "-1"),
        "dashboard_port -1",
        "1 … 65535",
    )
    _fails(weldcell("run", tmp_path / "missing.npz", "--robot", "virtual"), "missing.npz", "not found")
    _fails(weldcell("run", files["folder"], "--robot", "virtual"), "is a folder", ".yaml", ".npz")
    _fails(weldcell("run", files["nostamp"], "--robot", "virtual"), "not been validated")
    _fails(weldcell("run", files["tampered"], "--robot", "virtual"), "modified after planning")
    _fails(
        weldcell("run", files["stamped"], "--robot", f"ur://127.0.0.1:{closed_port}"),
        f"127.0.0.1:{closed_port}",
        "Connection refused",
    )


# --- cell run and demo ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("robot", "powersource", "fragments"),
    [
        ("ur://127.0.0.1:notaport", "modbus://127.0.0.1:1502", ("robot address", "1 … 65535")),
        ("ur://127.0.0.1:0", "modbus://127.0.0.1:1502", ("robot address", "1 … 65535")),
        ("modbus://127.0.0.1", "modbus://127.0.0.1:1502", ("robot address", "ur://HOST")),
        ("ur://127.0.0.1", "modbus://", ("power source address", "modbus://HOST:PORT")),
        ("ur://127.0.0.1", "http://x", ("power source address", "modbus://HOST:PORT")),
        ("ur://127.0.0.1", "modbus://127.0.0.1:notaport", ("power source address", "1 … 65535")),
        ("ur://127.0.0.1", "modbus://127.0.0.1:70000", ("power source address", "1 … 65535")),
    ],
)
def test_cell_run_bad_urls(
    weldcell: Run,
    files: dict[str, Path],
    tmp_path: Path,
    robot: str,
    powersource: str,
    fragments: tuple[str, ...],
) -> None:
    # the addresses are checked before anything connects: no controller is needed
    args = ("--out", tmp_path / "o", "--db", tmp_path / "o" / "log.sqlite")
    _fails(
        weldcell("cell", "run", files["stamped"], "--robot", robot, "--powersource", powersource, *args),
        *fragments,
    )


def test_cell_run_bad_log_and_output(weldcell: Run, files: dict[str, Path], tmp_path: Path) -> None:
    urls = ("--robot", "ur://127.0.0.1:1", "--powersource", "modbus://127.0.0.1:1")
    out = ("--out", tmp_path / "o")
    _fails(weldcell("cell", "run", files["stamped"], *urls, *out, "--db", files["folder"]), "is a folder")
    _fails(
        weldcell("cell", "run", files["stamped"], *urls, *out, "--db", files["text"]),
        "not a weldcell weld log",
    )
    _fails(
        weldcell("cell", "run", files["stamped"], *urls, *out, "--db", files["foreign"]),
        "foreign.sqlite",
        "not a weldcell weld log",
    )
    _fails(
        weldcell(
            "cell", "run", files["stamped"], *urls, "--out", files["empty"], "--db", tmp_path / "l.sqlite"
        ),
        "--out",
        "cannot create the output folder",
    )
    with sqlite3.connect(files["foreign"]) as db:  # untouched: no weld-log tables were added to it
        assert {r[0] for r in db.execute("SELECT name FROM sqlite_master")} == {"parts"}
    db.close()


@pytest.mark.parametrize(
    ("job", "fragment"),
    [("nostamp", "stamp"), ("binary", "binary.yaml"), ("tampered", "content hash mismatch")],
)
def test_cell_run_bad_job_leaves_no_log_or_output(
    weldcell: Run, files: dict[str, Path], tmp_path: Path, job: str, fragment: str
) -> None:
    urls = ("--robot", "ur://127.0.0.1:1", "--powersource", "modbus://127.0.0.1:1")
    out, db = tmp_path / "out", tmp_path / "log.sqlite"
    _fails(weldcell("cell", "run", files[job], *urls, "--out", out, "--db", db), fragment)
    assert not out.exists() and not db.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X display check is Linux-only")
def test_demo_view_without_display(weldcell: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    _fails(weldcell("demo", "--view", "--out", tmp_path / "d"), "X display", "xvfb-run")


def test_demo_bad_program(weldcell: Run, files: dict[str, Path], tmp_path: Path) -> None:
    _fails(weldcell("demo", "--out", tmp_path / "d", "--program", files["folder"]), "folder", "is a folder")
    _fails(weldcell("demo", "--out", tmp_path / "d", "--program", tmp_path / "x.yaml"), "x.yaml", "not found")
    _fails(weldcell("demo", "--out", files["empty"]), "--out", "cannot create the output folder")


# --- virtual devices --------------------------------------------------------------------------
def test_powersource_bad_options(weldcell: Run, files: dict[str, Path], listening: int) -> None:
    base = ("powersource", "--duration", "0.1")
    _fails(weldcell(*base, "--port", str(listening)), f"127.0.0.1:{listening}", "already in use")
    _fails(weldcell(*base, "--port", "-1"), "127.0.0.1:-1", "0 … 65535")
    _fails(weldcell(*base, "--port", "0", "--image", files["binary"]), "binary.yaml", "not a process image")
    _fails(weldcell(*base, "--port", "0", "--image", files["empty"]), "empty.yaml", "empty")
    _fails(weldcell(*base, "--port", "0", "--image", DEMO), "demo_tjoint.yaml", "unknown signal")
    _fails(weldcell(*base, "--port", "0", "--comm-timeout", "-1"), "--comm-timeout", ">= 0")
    _fails(weldcell("powersource", "--port", "0", "--duration", "-1"), "--duration", ">= 0")
    _fails(weldcell(*base, "--port", "0", "--seed", "-1"), "seed -1")


def test_controller_bad_options(weldcell: Run, tmp_path: Path, listening: int) -> None:
    ports = [f"--{n}-port" for n in ("dashboard", "primary", "secondary", "realtime")]
    free = [x for p in ports for x in (p, "0")]
    base = ("controller", "ur", *free)
    _fails(weldcell(*base, "--rtde-port", str(listening)), f"127.0.0.1:{listening}", "already in use")
    _fails(weldcell(*base, "--rtde-port", "-5"), "port -5", "0 … 65535")
    _fails(weldcell(*base, "--rtde-port", "0", "--q-home", "1,2,3,4,5,nan"), "q_home joint 6", "limits")
    _fails(weldcell(*base, "--rtde-port", "0", "--arc-loopback", "9:9:-1"), "arc_loopback", "DO 0 … 7")
    _fails(weldcell(*base, "--rtde-port", "0", "--program-dir", tmp_path / "nope"), "nope", "not a folder")
    _fails(weldcell(*base, "--rtde-port", "0", "--version", "1.2.3.4"), "version", "e-Series")


# --- weld log ---------------------------------------------------------------------------------
@pytest.fixture
def weld_log(tmp_path: Path) -> Path:
    from weldcell.cell.weldlog import WeldLog

    path = tmp_path / "log.sqlite"
    with WeldLog(path) as log:
        job = log.start_job(program_path="p.yaml", program_hash="ab" * 32, part_serial="SN-1")
        log.end_job(job, "ok")
    return path


def test_log_bad_db(weldcell: Run, files: dict[str, Path], tmp_path: Path) -> None:
    _fails(weldcell("log", "list", "--db", tmp_path / "none.sqlite"), "none.sqlite", "not found")
    _fails(weldcell("log", "list", "--db", files["folder"]), "is a folder", "SQLite")
    _fails(weldcell("log", "show", "--db", files["text"]), "notes.sqlite", "not a weldcell weld log")
    _fails(weldcell("log", "show", "--db", files["empty"]), "empty.yaml", "empty")
    _fails(weldcell("log", "list", "--db", files["foreign"]), "foreign.sqlite", "not a weldcell weld log")


def test_log_bad_ids_and_outputs(
    weldcell: Run, weld_log: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    db = ("--db", weld_log)
    _fails(weldcell("log", "show", "99", *db), "no job 99")
    _fails(weldcell("log", "plot", "99", *db), "no seam record 99")
    _fails(weldcell("log", "plot", "--job", "99", *db), "no job 99")
    _fails(weldcell("log", "plot", *db, "--out", tmp_path), "no seam with process-signal samples")
    _fails(weldcell("log", "export", tmp_path / "x.xml", *db), "x.xml", ".json or .csv")
    _fails(weldcell("log", "export", tmp_path / "x.json", "--job", "7", *db), "no job 7")
    _fails(
        weldcell("log", "export", files["empty"] / "x.csv", *db), "x.csv", "a folder on its path is a file"
    )
    _fails(weldcell("log", "list", "--limit", "0", *db), "--limit 0")


# --- the installed script ---------------------------------------------------------------------
def test_script_prints_one_line_without_traceback(files: dict[str, Path]) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from weldcell.cli import main; main()",
            "export",
            str(files["tampered"]),
            "-o",
            "x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=files["folder"],
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error: ") and "tampered.npz" in proc.stderr
