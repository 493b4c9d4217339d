"""RTDE client: protocol v2 with v1 fallback, output/input recipes, start/pause, text messages.

Synchronous request/response for the setup phase; after ``start()`` the caller reads output data
packages with :meth:`RTDEClient.receive` (typically from one I/O thread) and may send input
packages from any thread (sends are serialised by a lock). Controller TEXT_MESSAGE packages that
arrive while streaming are collected in :attr:`RTDEClient.messages`.

A control loop sends prepacked packages with :meth:`RTDEClient.send_nowait`, which never blocks: it
goes through a second, non-blocking socket object on the same connection (a socket with a timeout
would first poll, and could wait for the full timeout when the send buffer is full). When the
kernel takes only part of a package, the rest goes out before anything else, so the byte stream
stays framed. Nagle's algorithm is off (``TCP_NODELAY``): each package leaves at once.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Sequence
from typing import Any

from weldcell.drivers.ur.client import rtde_protocol as rp
from weldcell.errors import DriverConnectionError, DriverError, DriverTimeoutError, ProtocolError

log = logging.getLogger(__name__)

RTDE_PORT = 30004
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # the socket is non-blocking anyway; belt and braces


class RTDEClient:
    """One RTDE connection.

    Args:
        host: Controller address.
        port: RTDE port (30004 on a real controller).
        timeout: Default timeout [s] of setup requests.
    """

    def __init__(self, host: str, port: int = RTDE_PORT, timeout: float = 2.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.protocol = 0
        self.controller_version: tuple[int, int, int, int] | None = None
        self.output_recipe: rp.Recipe | None = None
        self.input_recipes: dict[int, rp.Recipe] = {}
        self.messages: collections.deque[tuple[str, str, int]] = collections.deque(maxlen=200)
        self._sock: socket.socket | None = None
        self._reader = rp.PackageReader()
        self._send_lock = threading.Lock()
        self._tx: socket.socket | None = None  # non-blocking twin of _sock for send_nowait()
        self._tail = b""  # unsent rest of a partially sent package (guarded by _send_lock)
        self.started = False

    # --- connection -----------------------------------------------------------------------
    def connect(self, timeout: float | None = None) -> None:
        """Open the TCP connection.

        Raises:
            DriverConnectionError: refused or unreachable.
        """
        t = self.timeout if timeout is None else timeout
        try:
            sock = socket.create_connection((self.host, self.port), timeout=t)
        except OSError as err:
            raise DriverConnectionError(f"cannot connect to RTDE at {self.host}:{self.port}: {err}") from err
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tx = socket.socket(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
        tx.setblocking(False)
        self._sock, self._tx, self._tail = sock, tx, b""
        self._reader = rp.PackageReader()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        sock, self._sock = self._sock, None
        tx, self._tx = self._tx, None
        self.started = False
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        if tx is not None:
            with contextlib.suppress(OSError):
                tx.close()

    @property
    def connected(self) -> bool:
        """True while the socket is open."""
        return self._sock is not None

    def __enter__(self) -> RTDEClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- low level ------------------------------------------------------------------------
    def send(self, ptype: int, payload: bytes = b"") -> None:
        """Send one package (thread-safe)."""
        sock = self._sock
        if sock is None:
            raise DriverConnectionError(f"RTDE connection to {self.host} is closed")
        data = rp.pack_package(ptype, payload)
        try:
            with self._send_lock:
                if self._tail:  # finish a package that send_nowait() left half sent
                    sock.sendall(self._tail)
                    self._tail = b""
                sock.sendall(data)
        except OSError as err:
            raise DriverConnectionError(f"RTDE connection to {self.host} lost while sending: {err}") from err

    def send_nowait(self, package: bytes | bytearray | memoryview) -> bool:
        """Send one complete, prepacked package (header included) without ever blocking.

        Returns:
            True if the package was handed to the kernel (possibly partly; the rest is sent before
            any later package), False if it was dropped: the send buffer is full, a previous
            package is still being completed, or another thread is sending right now.

        Raises:
            DriverConnectionError: connection lost or closed.
        """
        tx = self._tx
        if tx is None:
            raise DriverConnectionError(f"RTDE connection to {self.host} is closed")
        if not self._send_lock.acquire(False):
            return False
        try:
            if self._tail:
                n = tx.send(self._tail, _DONTWAIT)
                self._tail = self._tail[n:]
                if self._tail:
                    return False
            n = tx.send(package, _DONTWAIT)
            if n < len(package):
                self._tail = bytes(package[n:])
            return True
        except BlockingIOError:
            return False
        except OSError as err:
            raise DriverConnectionError(f"RTDE connection to {self.host} lost while sending: {err}") from err
        finally:
            self._send_lock.release()

    def _read_package(self, deadline: float | None) -> tuple[int, bytes]:
        sock = self._sock
        if sock is None:
            raise DriverConnectionError(f"RTDE connection to {self.host} is closed")
        while True:
            pkg = self._reader.next_package()
            if pkg is not None:
                return pkg
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise DriverTimeoutError(f"no RTDE package from {self.host}:{self.port} within the timeout")
            try:
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
            except TimeoutError as err:
                raise DriverTimeoutError(
                    f"no RTDE package from {self.host}:{self.port} within the timeout"
                ) from err
            except OSError as err:
                raise DriverConnectionError(f"RTDE connection to {self.host} lost: {err}") from err
            if not chunk:
                raise DriverConnectionError(f"RTDE connection to {self.host} closed by the controller")
            self._reader.feed(chunk)

    def _request(self, ptype: int, payload: bytes, timeout: float | None) -> bytes:
        """Send a control request and return the payload of its reply (skipping data/messages)."""
        self.send(ptype, payload)
        t = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + t
        while True:
            rtype, rpayload = self._read_package(deadline)
            if rtype == ptype:
                return rpayload
            if rtype == rp.TEXT_MESSAGE:
                self._on_message(rpayload)
            elif rtype != rp.DATA_PACKAGE:
                raise ProtocolError(f"RTDE reply of type {chr(rtype)!r} to a {chr(ptype)!r} request")

    def _on_message(self, payload: bytes) -> None:
        msg = rp.decode_text_message(payload, max(self.protocol, 1))
        self.messages.append(msg)

    # --- setup ----------------------------------------------------------------------------
    def negotiate_protocol(self, versions: Sequence[int] = (2, 1), timeout: float | None = None) -> int:
        """Request protocol versions in order; returns the accepted one.

        Raises:
            ProtocolError: no version accepted.
        """
        for v in versions:
            reply = self._request(rp.REQUEST_PROTOCOL_VERSION, struct.pack(">H", v), timeout)
            if reply[:1] == b"\x01":
                self.protocol = v
                return v
        raise ProtocolError(
            f"RTDE server at {self.host} accepts none of the protocol versions {list(versions)}"
        )

    def get_controller_version(self, timeout: float | None = None) -> tuple[int, int, int, int]:
        """(major, minor, bugfix, build) of the controller software."""
        reply = self._request(rp.GET_URCONTROL_VERSION, b"", timeout)
        if len(reply) != 16:
            raise ProtocolError(f"RTDE version reply of {len(reply)} bytes, expected 16")
        v = struct.unpack(">IIII", reply)
        self.controller_version = (v[0], v[1], v[2], v[3])
        return self.controller_version

    def setup_outputs(
        self, names: Sequence[str], frequency: float, timeout: float | None = None
    ) -> rp.Recipe:
        """Configure the output recipe.

        Raises:
            DriverError: a field is unknown to the controller (names listed) or the setup failed.
        """
        payload = rp.encode_output_setup(names, frequency, self.protocol)
        reply = self._request(rp.CONTROL_PACKAGE_SETUP_OUTPUTS, payload, timeout)
        rid, types = rp.decode_setup_reply(reply, with_id=self.protocol >= 2)
        bad = [n for n, t in zip(names, types, strict=False) if t not in rp.TYPE_FORMATS]
        if bad or len(types) != len(names) or (self.protocol >= 2 and rid == 0):
            raise DriverError(
                f"RTDE output setup refused by {self.host}: fields not available {bad or '(setup failed)'}; "
                f"check the controller's software version"
            )
        self.output_recipe = rp.Recipe(names, types, rid, with_id=self.protocol >= 2)
        return self.output_recipe

    def setup_inputs(self, names: Sequence[str], timeout: float | None = None) -> rp.Recipe:
        """Configure one input recipe.

        Raises:
            DriverError: a field is IN_USE (owned by another client or a fieldbus) or NOT_FOUND.
        """
        reply = self._request(rp.CONTROL_PACKAGE_SETUP_INPUTS, ",".join(names).encode(), timeout)
        rid, types = rp.decode_setup_reply(reply, with_id=True)
        in_use = [n for n, t in zip(names, types, strict=False) if t == rp.IN_USE]
        missing = [n for n, t in zip(names, types, strict=False) if t == rp.NOT_FOUND]
        if in_use or missing or rid == 0:
            raise DriverError(
                f"RTDE input setup refused by {self.host}: in use by another client or fieldbus {in_use}, "
                f"unknown {missing}"
            )
        recipe = rp.Recipe(names, types, rid, with_id=True)
        self.input_recipes[rid] = recipe
        return recipe

    def start(self, timeout: float | None = None) -> None:
        """Start the output stream."""
        if self._request(rp.CONTROL_PACKAGE_START, b"", timeout)[:1] != b"\x01":
            raise DriverError(f"RTDE start refused by {self.host} (is an output recipe set up?)")
        self.started = True

    def pause(self, timeout: float | None = None) -> None:
        """Pause the output stream (data packages already in flight are skipped)."""
        if self._request(rp.CONTROL_PACKAGE_PAUSE, b"", timeout)[:1] != b"\x01":
            raise DriverError(f"RTDE pause refused by {self.host}")
        self.started = False

    def send_message(self, message: str, source: str = "weldcell", level: int = rp.MESSAGE_INFO) -> None:
        """Send a text message to the controller log."""
        self.send(rp.TEXT_MESSAGE, rp.encode_text_message(message, source, level, max(self.protocol, 1)))

    # --- streaming ------------------------------------------------------------------------
    def send_inputs(self, recipe: rp.Recipe, values: Sequence[Any]) -> None:
        """Send one input data package for ``recipe`` (values in recipe order)."""
        self.send(rp.DATA_PACKAGE, recipe.pack(values))

    def receive(self, timeout: float | None = None) -> dict[str, Any]:
        """Next output data package as name -> value; text messages on the way go to ``messages``.

        Raises:
            DriverTimeoutError: nothing within ``timeout`` [s].
            DriverConnectionError: connection lost.
        """
        if self.output_recipe is None:
            raise DriverError("RTDE receive() before setup_outputs()")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            ptype, payload = self._read_package(deadline)
            if ptype == rp.DATA_PACKAGE:
                return self.output_recipe.unpack(payload)
            if ptype == rp.TEXT_MESSAGE:
                self._on_message(payload)
            else:
                log.debug("RTDE: ignoring package type %d while streaming", ptype)

    def receive_latest(self, timeout: float | None = None) -> dict[str, Any]:
        """Like :meth:`receive` but skips stale packages already buffered (returns the newest).

        Only the newest data package is decoded, so a reader that fell behind catches up cheaply.
        """
        recipe = self.output_recipe
        if recipe is None:
            raise DriverError("RTDE receive() before setup_outputs()")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            ptype, payload = self._read_package(deadline)
            if ptype == rp.DATA_PACKAGE:
                break
            if ptype == rp.TEXT_MESSAGE:
                self._on_message(payload)
            else:
                log.debug("RTDE: ignoring package type %d while streaming", ptype)
        while True:
            pkg = self._reader.next_package()
            if pkg is None:
                return recipe.unpack(payload)
            if pkg[0] == rp.DATA_PACKAGE:
                payload = pkg[1]
            elif pkg[0] == rp.TEXT_MESSAGE:
                self._on_message(pkg[1])
