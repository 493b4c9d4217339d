"""The virtual controller's URScript ports (30001 primary, 30002 secondary, 30003 real-time)."""

from __future__ import annotations

import logging
import re
import socket
import threading
from typing import Any

from weldcell.drivers.ur.virtual.core import (
    ControllerCore,
    compile_program,
)
from weldcell.drivers.ur.virtual.net import (
    MAX_CONNECTIONS,
    SCRIPT_MAX_LINE,
    SCRIPT_MAX_PROGRAM,
    ConnectionSet,
    accept_loop,
    close_sockets,
    listen,
    ordinary_scheduling,
)
from weldcell.drivers.ur.virtual.urscript import URScriptError

log = logging.getLogger(__name__)


#: Lines that open a block (their ``end`` closes it): a program is complete when all are closed.
_OPENER = re.compile(r"(def|sec|thread|if|while|for)\b")


class ScriptServer:
    """A URScript port (30001/30002/30003): collects complete programs and starts them.

    A line longer than :data:`SCRIPT_MAX_LINE` or a program larger than :data:`SCRIPT_MAX_PROGRAM`
    closes the connection (nothing of it runs).
    """

    def __init__(
        self, core: ControllerCore, host: str, port: int, name: str, priority: int | None = None
    ) -> None:
        self.core = core
        self.name = name
        self.listener = listen(host, port)
        self.port = self.listener.getsockname()[1]
        self._socks = ConnectionSet(MAX_CONNECTIONS["script"])
        self._closed = threading.Event()
        threading.Thread(
            target=accept_loop,
            args=(self.listener, self._socks, self._closed, self._serve, f"script-{name}", priority),
            name=f"script-{name}-accept",
            daemon=True,
        ).start()

    def _serve(self, sock: socket.socket, peer: Any) -> None:
        partial = bytearray()  # a line whose newline has not arrived yet
        lines: list[str] = []
        size = 0  # bytes of the program collected so far
        depth = 0
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                pieces = chunk.split(b"\n")
                if len(partial) + len(pieces[0]) > SCRIPT_MAX_LINE:
                    log.warning("%s port %s: line over %d bytes; closing", self.name, peer, SCRIPT_MAX_LINE)
                    return
                if len(pieces) == 1:
                    partial += chunk
                    if size + len(partial) > SCRIPT_MAX_PROGRAM:
                        self._too_large(size + len(partial), peer)
                        return
                    continue
                pieces[0] = bytes(partial) + pieces[0]
                partial = bytearray(pieces.pop())
                for raw in pieces:
                    if len(raw) > SCRIPT_MAX_LINE:
                        log.warning(
                            "%s port %s: line over %d bytes; closing", self.name, peer, SCRIPT_MAX_LINE
                        )
                        return
                    line = raw.decode(errors="replace")
                    stripped = line.split("#", 1)[0].strip()
                    if not stripped and not lines:
                        continue
                    lines.append(line)
                    size += len(raw) + 1
                    if size + len(partial) > SCRIPT_MAX_PROGRAM:
                        self._too_large(size + len(partial), peer)
                        return
                    if _OPENER.match(stripped) and stripped.endswith(":"):
                        depth += 1
                    elif stripped == "end":
                        depth -= 1
                    if depth <= 0:
                        text = "\n".join(lines) + "\n"
                        lines, depth, size = [], 0, 0
                        self._start(text)
        except OSError:
            return

    def _too_large(self, n: int, peer: Any) -> None:
        log.warning("%s port %s: program over %d bytes refused; closing", self.name, peer, SCRIPT_MAX_PROGRAM)
        with self.core.lock:
            self.core.compile_failed(
                URScriptError(
                    f"{self.name} script: program of more than {n} bytes; at most {SCRIPT_MAX_PROGRAM} "
                    "are accepted (connection closed)"
                )
            )

    def _start(self, text: str) -> None:
        """Compile outside the core lock (a long program must not hold up the cycle), then start it."""
        name = f"{self.name} script"
        try:
            with ordinary_scheduling(len(text)):
                prog = compile_program(text, name)
        except URScriptError as err:
            with self.core.lock:
                self.core.compile_failed(err)
            return
        with self.core.lock:
            self.core.start_program(prog, name)

    def close(self) -> None:
        """Stop accepting and disconnect every client."""
        self._closed.set()
        close_sockets(self.listener, self._socks.snapshot())
