"""A minimal RTDE client written for the tests (independent of weldcell's RTDEClient).

It speaks the wire format straight from UR's RTDE guide (see
``shared/reference/controller-protocols.md`` §1.1) so that the virtual controller is checked by
code that does not share its package reader or recipe classes.
"""

from __future__ import annotations

import socket
import struct
import time

V, VERSION, TEXT, DATA, OUT, INP, START, PAUSE = (ord(c) for c in "VvMUOISP")


class RawRTDE:
    """Blocking RTDE client on one socket: handshake helpers plus a data-package counter."""

    def __init__(self, host: str, port: int, timeout: float = 3.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawRTDE:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, ptype: int, payload: bytes = b"") -> None:
        self.sock.sendall(struct.pack(">HB", 3 + len(payload), ptype) + payload)

    def recv_package(self) -> tuple[int, bytes]:
        while True:
            if len(self.buf) >= 3:
                size, ptype = struct.unpack_from(">HB", self.buf)
                if len(self.buf) >= size:
                    payload, self.buf = self.buf[3:size], self.buf[size:]
                    return ptype, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("controller closed the connection")
            self.buf += chunk

    def request(self, ptype: int, payload: bytes = b"") -> bytes:
        """Send a control request and return its reply (data and text packages are skipped)."""
        self.send(ptype, payload)
        while True:
            t, p = self.recv_package()
            if t == ptype:
                return p

    def setup_outputs(self, names: list[str], hz: float = 500.0) -> tuple[int, list[str]]:
        reply = self.request(OUT, struct.pack(">d", hz) + ",".join(names).encode())
        return reply[0], reply[1:].decode().split(",")

    def setup_inputs(self, names: list[str]) -> tuple[int, list[str]]:
        reply = self.request(INP, ",".join(names).encode())
        return reply[0], reply[1:].decode().split(",")

    def start_stream(self, names: list[str] | None = None, hz: float = 500.0) -> None:
        """Protocol 2, output recipe (default: just ``timestamp``), START."""
        assert self.request(V, struct.pack(">H", 2)) == b"\x01"
        rid, types = self.setup_outputs(names or ["timestamp"], hz)
        assert rid == 1, types
        assert self.request(START) == b"\x01"

    def count_packages(self, seconds: float = 1.0) -> tuple[int, int, float]:
        """Data packages and distinct controller timestamps received in ``seconds`` of wall time.

        Call right after :meth:`start_stream` (nothing is queued yet). The recipe must start with
        ``timestamp``. Returns (packages, distinct timestamps, controller time elapsed [s] between
        the first and the last package).
        """
        stamps: list[float] = []
        n = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t, p = self.recv_package()
            if t == DATA:
                n += 1
                stamps.append(struct.unpack_from(">d", p, 1)[0])
        span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
        return n, len(set(stamps)), span
