"""Helpers shared by the streaming-driver tests (KUKA RSI, FANUC Stream Motion, ABB EGM).

The vendor test packages keep only what is theirs (their test program, their peer's command line);
running the CLI, planning and validating a program once, free UDP ports, stamped joint moves and the
JSON-lines protocol of the peer subprocesses live here.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from stamp_helpers import stamp_for_test
from waiting import CHILD_TIMEOUT, run_child

from weldcell.drivers.base import RobotDriver, joint_move
from weldcell.trajectory import JointTrajectory, save_trajectory


@dataclass(frozen=True)
class Validated:
    """A test program planned and validated once: its trajectory and the commands' output."""

    program: Path
    traj: Path
    plan_out: str
    validate_out: str


def run_cli(*args: str, timeout: float = CHILD_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """``weldcell ARGS`` in a subprocess, as a user runs it (unkeyed stamps; killed after ``timeout`` [s])."""
    env = dict(os.environ)
    env.pop("WELDCELL_STAMP_KEY", None)
    return run_child([sys.executable, "-m", "weldcell", *args], timeout=timeout, env=env)


def run_cli_inprocess(*args: str) -> tuple[int, str]:
    """``weldcell ARGS`` in this process (typer's runner), unkeyed stamps: (exit code, output)."""
    from typer.testing import CliRunner

    from weldcell.cli import app

    saved = os.environ.pop("WELDCELL_STAMP_KEY", None)
    try:
        r = CliRunner().invoke(app, list(args))
    finally:
        if saved is not None:
            os.environ["WELDCELL_STAMP_KEY"] = saved
    return r.exit_code, r.output


def plan_and_validate(program: Path, out: Path, *, in_process: bool = False) -> Validated:
    """``weldcell plan PROGRAM -o OUT`` then ``weldcell validate`` of its trajectory (no images).

    Args:
        program: The weld program.
        out: Output folder (the trajectory is ``OUT/trajectory.npz``).
        in_process: Run the commands in this process (faster) instead of subprocesses.
    """
    traj = out / "trajectory.npz"
    plan_args = ("plan", str(program), "-o", str(out))
    val_args = ("validate", str(traj), "-p", str(program), "-o", str(out / "validation"), "--no-images")
    if in_process:
        code, plan = run_cli_inprocess(*plan_args)
        assert code == 0, plan[-3000:]
        code, val = run_cli_inprocess(*val_args)
        assert code == 0, val[-3000:]
        return Validated(program, traj, plan, val)
    p = run_cli(*plan_args)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    v = run_cli(*val_args)
    assert v.returncode == 0, v.stdout[-2000:] + v.stderr[-2000:]
    return Validated(program, traj, p.stdout, v.stdout)


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stamped_move(
    d: RobotDriver, tmp: Path, delta: float | np.ndarray, speed: float = 0.3
) -> tuple[JointTrajectory, Path]:
    """A rest-to-rest joint move by ``delta`` [rad] from where the robot is, saved in ``tmp`` and stamped."""
    q = d.state().q
    traj = joint_move(d.robot, q, q + delta, d.dt, speed_fraction=speed)  # type: ignore[attr-defined]
    p = tmp / f"move_{len(list(tmp.glob('move_*.npz')))}.npz"
    save_trajectory(traj, p)
    stamp_for_test(p, traj)
    return traj, p


def settled_q(d: RobotDriver, cycles: int = 10) -> np.ndarray:
    """Joint positions ``cycles`` controller cycles after an execution ended (the plant lags a little)."""
    time.sleep(cycles * d.dt)  # type: ignore[attr-defined]
    return d.state().q


class JsonLinePeer:
    """A peer process (an independent protocol implementation) driven over stdin/stdout.

    It prints one JSON object per line (``{"ready": ...}`` first), answers ``status`` with its
    status and ``stop`` with its final status before it exits.

    Args:
        args: Command line of the peer.
        name: What the peer is, for the failure message.
        cwd: Working folder of the peer.
        stop_wait: Longest wait [s] for the peer to exit after ``stop``.
        reply_timeout: Longest wait [s] for one JSON line of the peer (its hello, a status); a
            silent peer fails the test after it instead of hanging the run.
    """

    def __init__(
        self,
        args: list[str],
        name: str,
        cwd: Path | None = None,
        stop_wait: float = 30.0,
        reply_timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.stop_wait = stop_wait
        self.reply_timeout = reply_timeout
        self.proc = subprocess.Popen(
            args, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        # Lines arrive through a reader thread: readline() on the pipe has no timeout, and select()
        # on a buffered text stream misses lines already in its buffer. EOF is queued as None.
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        threading.Thread(target=self._pump_stdout, name=f"{name} stdout", daemon=True).start()
        self._stderr_thread = threading.Thread(target=self._pump_stderr, name=f"{name} stderr", daemon=True)
        self._stderr_thread.start()
        self.hello = self._read()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None  # mypy
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None  # mypy
        for line in self.proc.stderr:
            self._stderr.append(line)

    def _stderr_text(self) -> str:
        """The end of the peer's stderr once it has exited (its reader thread drained the pipe)."""
        self._stderr_thread.join(5.0)  # the pipe reaches EOF when the process is gone
        return "".join(self._stderr)[-1500:]

    def _read(self, timeout: float | None = None) -> dict[str, Any]:
        """The peer's next JSON line (other lines are skipped).

        Args:
            timeout: Longest wait [s] for it; None: ``reply_timeout``.

        Raises:
            AssertionError: the peer exited, or printed no JSON line within the timeout (then it
                is killed); the message names the peer and ends with its stderr.
        """
        wait = self.reply_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()  # the test fails: the peer goes with it (and the reader threads end)
                self.proc.wait(self.stop_wait)
                err = self._stderr_text()
                raise AssertionError(
                    f"{self.name} sent no JSON line within {wait:g} s (silent peer); stderr: {err}"
                ) from None
            if line is None:
                self.proc.wait(self.stop_wait)
                err = self._stderr_text()
                raise AssertionError(f"{self.name} exited (code {self.proc.returncode}): {err}")
            if line.startswith("{"):
                return dict(json.loads(line))

    def status(self) -> dict[str, Any]:
        """The peer's status."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("status\n")
        self.proc.stdin.flush()
        return self._read()

    def stop(self) -> dict[str, Any]:
        """Stop the peer; its final status ({} if it had already exited)."""
        assert self.proc.stdin is not None
        if self.proc.poll() is not None:
            return {}
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        out = self._read()
        self.proc.wait(self.stop_wait)
        return out
