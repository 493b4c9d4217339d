"""Dashboard server client (TCP 29999): one command line, one reply line.

Reply strings follow UR's "Dashboard Server e-Series, port 29999" article; a reply that does not
match the expected success string raises :class:`~weldcell.errors.DriverError` with the reply.
"""

from __future__ import annotations

import contextlib
import socket
import time

from weldcell.errors import DriverConnectionError, DriverError, DriverTimeoutError

DASHBOARD_PORT = 29999
GREETING = "Connected: Universal Robots Dashboard Server"


class DashboardClient:
    """Dashboard client.

    Args:
        host: Controller address.
        port: Dashboard port.
        timeout: Timeout [s] per command.
    """

    def __init__(self, host: str, port: int = DASHBOARD_PORT, timeout: float = 2.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""

    def connect(self, timeout: float | None = None) -> str:
        """Connect and return the greeting line."""
        t = self.timeout if timeout is None else timeout
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=t)
        except OSError as err:
            raise DriverConnectionError(
                f"cannot connect to the dashboard at {self.host}:{self.port}: {err}"
            ) from err
        greeting = self._readline(t)
        if not greeting.startswith("Connected"):
            raise DriverError(f"unexpected dashboard greeting from {self.host}: {greeting!r}")
        return greeting

    def close(self) -> None:
        """Close the connection (idempotent)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> DashboardClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _readline(self, timeout: float) -> str:
        sock = self._sock
        if sock is None:
            raise DriverConnectionError("dashboard connection is closed")
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DriverTimeoutError(f"no dashboard reply from {self.host} within {timeout} s")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(4096)
            except TimeoutError as err:
                raise DriverTimeoutError(f"no dashboard reply from {self.host} within {timeout} s") from err
            except OSError as err:
                raise DriverConnectionError(f"dashboard connection to {self.host} lost: {err}") from err
            if not chunk:
                raise DriverConnectionError(f"dashboard connection to {self.host} closed")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def command(self, cmd: str, timeout: float | None = None) -> str:
        """Send one command line and return the reply line."""
        if self._sock is None:
            raise DriverConnectionError("dashboard connection is closed; call connect() first")
        try:
            self._sock.sendall((cmd + "\n").encode())
        except OSError as err:
            raise DriverConnectionError(f"dashboard connection to {self.host} lost: {err}") from err
        return self._readline(self.timeout if timeout is None else timeout)

    def _expect(self, cmd: str, ok_prefix: str) -> str:
        reply = self.command(cmd)
        if not reply.startswith(ok_prefix):
            raise DriverError(f"dashboard command {cmd!r} failed on {self.host}: {reply!r}")
        return reply

    # --- commands -------------------------------------------------------------------------
    def power_on(self) -> None:
        """``power on``."""
        self._expect("power on", "Powering on")

    def power_off(self) -> None:
        """``power off``."""
        self._expect("power off", "Powering off")

    def brake_release(self) -> None:
        """``brake release``."""
        self._expect("brake release", "Brake releasing")

    def load(self, program: str) -> None:
        """``load <program>``."""
        self._expect(f"load {program}", "Loading program:")

    def play(self) -> None:
        """``play``."""
        self._expect("play", "Starting program")

    def stop(self) -> None:
        """``stop``."""
        self._expect("stop", "Stopped")

    def pause(self) -> None:
        """``pause``."""
        self._expect("pause", "Pausing program")

    def unlock_protective_stop(self) -> None:
        """``unlock protective stop``."""
        self._expect("unlock protective stop", "Protective stop releasing")

    def robot_mode(self) -> str:
        """Robot mode name, e.g. ``"RUNNING"``."""
        return self._expect("robotmode", "Robotmode:").split(":", 1)[1].strip()

    def safety_status(self) -> str:
        """Safety status name, e.g. ``"NORMAL"`` or ``"PROTECTIVE_STOP"``."""
        return self._expect("safetystatus", "Safetystatus:").split(":", 1)[1].strip()

    def program_state(self) -> str:
        """``STOPPED``, ``PLAYING`` or ``PAUSED`` (the program name follows in the raw reply)."""
        return self.command("programState").split(" ", 1)[0]

    def polyscope_version(self) -> str:
        """The ``PolyscopeVersion`` reply."""
        return self.command("PolyscopeVersion")

    def is_in_remote_control(self) -> bool:
        """``is in remote control`` (e-Series 5.6+)."""
        return self.command("is in remote control").strip().lower() == "true"
