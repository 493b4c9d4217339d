"""The virtual controller's Dashboard server (port 29999): the e-Series command set with the
controller's exact reply strings, plus ``weldcell`` test commands (fault injection)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from weldcell.drivers.ur.virtual.core import (
    ControllerCore,
    RobotMode,
    RuntimeState,
    SafetyMode,
    compile_program,
)
from weldcell.drivers.ur.virtual.net import (
    DASHBOARD_MAX_LINE,
    MAX_CONNECTIONS,
    SCRIPT_MAX_PROGRAM,
    ConnectionSet,
    accept_loop,
    close_sockets,
    listen,
    ordinary_scheduling,
    send_bounded,
)
from weldcell.drivers.ur.virtual.rtde_server import floats_tuple
from weldcell.drivers.ur.virtual.urscript import Program, URScriptError

log = logging.getLogger(__name__)


TEST_COMMANDS = {
    "weldcell protective_stop <reason>": "trigger a protective stop",
    "weldcell estop": "press the robot emergency stop",
    "weldcell estop release": "release the emergency stop (arm stays powered off)",
    "weldcell set_digital_in <n> <0|1>": "set standard (0-7) / configurable (8-15) digital input n",
    "weldcell set_analog_in <n> <value>": "set standard analog input n (0, 1)",
    "weldcell speed_slider <fraction>": "move the pendant's speed slider (0 … 1)",
    "weldcell state": "one-line JSON snapshot of the controller",
    "weldcell cycle_timing reset": "restart the cycle timing statistics (cycle_timing in the state)",
}


class DashboardServer:
    """Dashboard server (line protocol, e-Series replies) on ``host:port``.

    Args:
        core: The controller state.
        host: Address to bind.
        port: TCP port (0 = ephemeral).
        program_dir: The controller's program folder: ``load`` reads only files inside it (None: the
            current working directory).
        on_shutdown: Called by the ``shutdown`` command.
    """

    GREETING = "Connected: Universal Robots Dashboard Server"

    def __init__(
        self,
        core: ControllerCore,
        host: str,
        port: int,
        program_dir: Path | None,
        on_shutdown: Callable[[], None],
        priority: int | None = None,
    ) -> None:
        self.core = core
        #: more fields for ``weldcell state`` (set by the controller: server statistics)
        self.extra_state: Callable[[], dict[str, Any]] = dict
        #: ``weldcell cycle_timing reset`` (set by the controller)
        self.reset_timing: Callable[[], None] = lambda: None
        self.program_dir = Path(program_dir if program_dir is not None else Path.cwd()).resolve()
        self.on_shutdown = on_shutdown
        self.compiled: Program | URScriptError | None = None  # the loaded program, compiled at load
        self.listener = listen(host, port)
        self.port = self.listener.getsockname()[1]
        self._socks = ConnectionSet(MAX_CONNECTIONS["dashboard"])
        self._closed = threading.Event()
        threading.Thread(
            target=accept_loop,
            args=(self.listener, self._socks, self._closed, self._serve, "dashboard", priority),
            name="dashboard-accept",
            daemon=True,
        ).start()

    def _serve(self, sock: socket.socket, peer: Any) -> None:
        try:
            send_bounded(sock, (self.GREETING + "\n").encode())
            partial = bytearray()
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                lines = chunk.split(b"\n")
                if len(partial) + len(lines[0]) > DASHBOARD_MAX_LINE:
                    log.warning("dashboard %s: command line over %d bytes; closing", peer, DASHBOARD_MAX_LINE)
                    return
                if len(lines) == 1:
                    partial += chunk
                    continue
                lines[0] = bytes(partial) + lines[0]
                partial = bytearray(lines.pop())
                for line in lines:
                    if len(line) > DASHBOARD_MAX_LINE:
                        log.warning(
                            "dashboard %s: command line over %d bytes; closing", peer, DASHBOARD_MAX_LINE
                        )
                        return
                    reply = self.reply(line.decode(errors="replace").strip())
                    send_bounded(sock, (reply + "\n").encode())
                    if reply == "Disconnected":
                        return
        except TimeoutError:
            log.warning("dashboard %s does not read its replies; closing", peer)
        except OSError:
            return

    def reply(self, cmd: str) -> str:
        """The dashboard server's answer to one command line (dispatched through :data:`_EXACT` and
        :data:`_PREFIXED`)."""
        low = cmd.lower()
        if low.startswith("load ") and not low.startswith("load installation"):
            return self._load(cmd[5:].strip())  # compiles outside the core lock
        with self.core.lock:
            handler = _EXACT.get(low)
            if handler is not None:
                return handler(self, cmd)
            for prefix, prefixed in _PREFIXED:
                if low.startswith(prefix):
                    return prefixed(self, cmd[len(prefix) :])
            return f"could not understand: '{cmd}'"

    # --- command handlers (called under the core lock with the command line, or the text after
    # the prefix for the prefixed commands) -----------------------------------------------------
    def _play(self, cmd: str) -> str:
        c = self.core
        if c.loaded_text is None or not c.ready:
            return "Failed to execute: play"
        if c.runtime_state == RuntimeState.PAUSED:
            c.resume_program()
            return "Starting program"
        compiled = self.compiled
        if isinstance(compiled, URScriptError):
            c.compile_failed(compiled)
            return "Failed to execute: play"
        err = c.start_program(compiled or c.loaded_text, Path(c.loaded_program or "program").stem)
        return "Failed to execute: play" if err else "Starting program"

    def _stop(self, cmd: str) -> str:
        c = self.core
        if c.program_running:
            c.stop_program("stopped from the dashboard")
            return "Stopped"
        return "Failed to execute: stop"

    def _pause(self, cmd: str) -> str:
        return "Pausing program" if self.core.pause_program() else "Failed to execute: pause"

    def _shutdown(self, cmd: str) -> str:
        self.on_shutdown()
        return "Shutting down"

    def _running(self, cmd: str) -> str:
        return f"Program running: {'true' if self.core.runtime_state == RuntimeState.PLAYING else 'false'}"

    def _robot_mode(self, cmd: str) -> str:
        return f"Robotmode: {self.core.robot_mode.name}"

    def _safety_mode(self, cmd: str) -> str:
        return f"Safetymode: {self.core.safety_mode.name}"

    def _safety_status(self, cmd: str) -> str:
        return f"Safetystatus: {self.core.safety_mode.name}"

    def _loaded_program(self, cmd: str) -> str:
        c = self.core
        return f"Loaded program: {c.loaded_program}" if c.loaded_program else "No program loaded"

    def _popup(self, text: str) -> str:
        self.core.popup = text
        return "showing popup"

    def _close_popup(self, cmd: str) -> str:
        self.core.popup = ""
        return "closing popup"

    def _add_to_log(self, text: str) -> str:
        text = text.strip()
        if not text:
            return "No log message to add"
        self.core.message(text, "Dashboard", 3)
        return "Added log message"

    def _is_program_saved(self, cmd: str) -> str:
        c = self.core
        return f"true {Path(c.loaded_program).name if c.loaded_program else '<unnamed>'}"

    def _program_state(self, cmd: str) -> str:
        c = self.core
        state = {RuntimeState.PLAYING: "PLAYING", RuntimeState.PAUSED: "PAUSED"}.get(
            c.runtime_state, "STOPPED"
        )
        name = Path(c.loaded_program).name if c.loaded_program else (c.program_name or "<unnamed>")
        return f"{state} {name}"

    def _polyscope_version(self, cmd: str) -> str:
        v = self.core.config.version
        return f"URSoftware {v[0]}.{v[1]}.{v[2]}.{v[3]} (Jan 01 2024)"

    def _version(self, cmd: str) -> str:
        v = self.core.config.version
        return f"{v[0]}.{v[1]}.{v[2]}.{v[3]}"

    def _power_on(self, cmd: str) -> str:
        c = self.core
        if c.safety_mode not in (SafetyMode.NORMAL, SafetyMode.REDUCED):
            return "Failed to execute: power on"
        if c.robot_mode in (RobotMode.POWER_OFF, RobotMode.IDLE, RobotMode.POWER_ON):
            c.robot_mode = RobotMode.IDLE
        return "Powering on"

    def _power_off(self, cmd: str) -> str:
        c = self.core
        c.stop_program("power off")
        c.robot_mode = RobotMode.POWER_OFF
        return "Powering off"

    def _brake_release(self, cmd: str) -> str:
        c = self.core
        if c.robot_mode in (RobotMode.IDLE, RobotMode.POWER_ON):
            c.robot_mode = RobotMode.RUNNING
            return "Brake releasing"
        return "Brake releasing" if c.robot_mode == RobotMode.RUNNING else "Failed to execute: brake release"

    def _unlock_protective_stop(self, cmd: str) -> str:
        if self.core.unlock_protective_stop():
            return "Protective stop releasing"
        return (
            "Cannot unlock protective stop until 5s after occurrence. "
            "Always inspect cause of protective stop before unlocking"
        )

    def _restart_safety(self, cmd: str) -> str:
        c = self.core
        if c.safety_mode in (SafetyMode.VIOLATION, SafetyMode.FAULT, SafetyMode.PROTECTIVE_STOP):
            c.safety_mode = SafetyMode.NORMAL
            c.robot_mode = RobotMode.POWER_OFF
        return "Restarting safety"

    def _load(self, name: str) -> str:
        """``load <program>``: only files inside the program folder (like /programs on a real robot).

        Absolute paths, ``..`` components and symbolic links that lead out of the folder are refused
        with the controller's ``File not found`` reply, without telling whether the target exists.
        """
        c = self.core
        path = self._confined(name)
        if path is None or not path.is_file():
            return f"File not found: {name}"
        try:
            if path.stat().st_size > SCRIPT_MAX_PROGRAM:
                return f"Error while loading program: {name}"
            data = path.read_bytes()
        except OSError:
            return f"File not found: {name}"
        if data[:2] == b"\x1f\x8b":  # a PolyScope .urp (gzip XML) cannot run here
            return f"Error while loading program: {name}"
        text = data.decode(errors="replace")
        compiled: Program | URScriptError
        try:  # outside the core lock: parsing a long program must not hold up the cycle
            with ordinary_scheduling(len(text)):
                compiled = compile_program(text, path.stem)
        except URScriptError as err:
            compiled = err  # reported on play, as the pendant reports it when the program starts
        with c.lock:
            c.stop_program("new program loaded")
            c.loaded_program = str(path)
            c.loaded_text = text
            self.compiled = compiled
        return f"Loading program: {name}"

    def _confined(self, name: str) -> Path | None:
        """``name`` resolved inside the program folder, or None if it points (or links) outside it."""
        if not name or "\x00" in name:
            return None
        rel = Path(name)
        if rel.is_absolute() or rel.drive or ".." in rel.parts:
            log.warning("dashboard load %r refused: outside the program folder %s", name, self.program_dir)
            return None
        try:
            path = (self.program_dir / rel).resolve()
        except (OSError, RuntimeError):  # symlink loop
            return None
        if not path.is_relative_to(self.program_dir):
            log.warning(
                "dashboard load %r refused: leads out of the program folder %s", name, self.program_dir
            )
            return None
        return path

    def _test_command(self, rest: str) -> str:
        c = self.core
        parts = rest.split()
        try:
            if parts[:1] == ["protective_stop"]:
                c.protective_stop(" ".join(parts[1:]) or "injected by a test")
                return "ok"
            if parts == ["estop"]:
                c.emergency_stop()
                return "ok"
            if parts == ["estop", "release"]:
                c.release_emergency_stop()
                return "ok"
            if parts[:1] == ["set_digital_in"] and len(parts) == 3:
                n = int(parts[1])
                if not 0 <= n < 16:
                    return "error: digital input must be 0..15"
                c.digital_in = (
                    (c.digital_in | (1 << n))
                    if parts[2] in ("1", "true", "True")
                    else (c.digital_in & ~(1 << n))
                )
                return "ok"
            if parts[:1] == ["speed_slider"] and len(parts) == 2:
                f = float(parts[1])
                if not 0.0 <= f <= 1.0:
                    return "error: speed slider fraction must be 0..1"
                c.speed_slider = f
                return "ok"
            if parts[:1] == ["set_analog_in"] and len(parts) == 3:
                c.analog_in[int(parts[1])] = float(parts[2])
                return "ok"
            if parts == ["state"]:
                return json.dumps({**_snapshot(c), **self.extra_state()})
            if parts == ["cycle_timing", "reset"]:
                self.reset_timing()
                return "ok"
        except (ValueError, IndexError) as err:
            return f"error: {err}"
        return f"could not understand: 'weldcell {rest}'"

    def close(self) -> None:
        """Stop accepting and disconnect every client."""
        self._closed.set()
        close_sockets(self.listener, self._socks.snapshot())


_Handler = Callable[[DashboardServer, str], str]

#: Commands answered by their exact (lower-case) text: the e-Series dashboard command set.
_EXACT: dict[str, _Handler] = {
    "play": DashboardServer._play,
    "stop": DashboardServer._stop,
    "pause": DashboardServer._pause,
    "quit": lambda s, cmd: "Disconnected",
    "shutdown": DashboardServer._shutdown,
    "running": DashboardServer._running,
    "robotmode": DashboardServer._robot_mode,
    "get loaded program": DashboardServer._loaded_program,
    "close popup": DashboardServer._close_popup,
    "isprogramsaved": DashboardServer._is_program_saved,
    "programstate": DashboardServer._program_state,
    "polyscopeversion": DashboardServer._polyscope_version,
    "version": DashboardServer._version,
    "power on": DashboardServer._power_on,
    "power off": DashboardServer._power_off,
    "brake release": DashboardServer._brake_release,
    "safetymode": DashboardServer._safety_mode,
    "safetystatus": DashboardServer._safety_status,
    "unlock protective stop": DashboardServer._unlock_protective_stop,
    "close safety popup": lambda s, cmd: "closing safety popup",
    "restart safety": DashboardServer._restart_safety,
    "get serial number": lambda s, cmd: s.core.config.serial,
    "get robot model": lambda s, cmd: s.core.arm.model,
    "is in remote control": lambda s, cmd: "true",
    "get operational mode": lambda s, cmd: "AUTOMATIC",
    "clear operational mode": lambda s, cmd: (
        "No longer controlling the operational mode. Current operational mode: 'AUTOMATIC'."
    ),
}

#: Commands with an argument, by (lower-case) prefix, in the order they are tried; the handler gets
#: the original text after the prefix.
_PREFIXED: tuple[tuple[str, _Handler], ...] = (
    ("weldcell", lambda s, rest: s._test_command(rest.strip())),
    ("load installation", lambda s, rest: f"Loading installation: {rest.strip()}"),
    ("popup ", DashboardServer._popup),
    ("addtolog", DashboardServer._add_to_log),
    ("setuserrole", lambda s, rest: f"Setting user role: {rest.strip()}"),
)


def _snapshot(c: ControllerCore) -> dict[str, Any]:
    return {
        "time": c.time,
        "q": floats_tuple(c.actual_q),
        "target_q": floats_tuple(c.target_q),
        "qd": floats_tuple(c.actual_qd),
        "robot_mode": c.robot_mode.name,
        "safety_mode": c.safety_mode.name,
        "runtime_state": c.runtime_state.name,
        "program": c.program_name,
        "digital_out": c.digital_out,
        "digital_in": c.digital_in,
        "analog_out": list(c.analog_out),
        "speed_slider": c.speed_slider,
        "in_int": c.in_int,
        "in_double": c.in_double,
        "out_int": c.out_int,
        "out_double": c.out_double,
        "watchdogs": sorted(c.watchdogs),
        "last_fault": c.last_fault,
        "log": c.log[-20:],
        "missed_cycles": c.missed_cycles,
        "rejected_inputs": c.rejected_inputs,
        "threads": sorted({t.name.split("-(")[0] for t in threading.enumerate() if t.daemon}),
    }
