"""A Modbus TCP server on 127.0.0.1 that answers like a faulty power source, on demand.

It implements the server side of the requests :class:`ModbusPowerSource` sends (write multiple
registers 0x10, write multiple coils 0x0F, read input registers 0x04) from the Modbus application
protocol (MBAP header: transaction id, protocol id 0, length, unit id; then the PDU), and a
:class:`Fault` chosen by the test decides how it answers the *read input registers* request:
correctly, or short, with the wrong transaction id or function code, as an exception response,
with random bytes, by resetting the connection, or not at all. Switching back to
:attr:`Fault.NONE` makes it a well-behaved power source again (status word "ready", no error).
"""

from __future__ import annotations

import enum
import random
import selectors
import socket
import struct
import threading
from types import TracebackType

MBAP = struct.Struct(">HHHB")  # transaction id, protocol id, length (unit id + PDU), unit id


class Fault(enum.Enum):
    """How the server answers a read of the input registers."""

    NONE = "none"
    SHORT = "short"  # fewer registers than asked for (byte count consistent with the data)
    BAD_BYTE_COUNT = "bad_byte_count"  # byte count larger than the data that follows
    TRUNCATED = "truncated"  # MBAP length says more than is sent, then nothing
    WRONG_TID = "wrong_tid"
    WRONG_FUNCTION = "wrong_function"
    EXCEPTION = "exception"  # exception response 0x84, code 4 (server device failure)
    GARBAGE = "garbage"  # random bytes instead of a reply
    RESET = "reset"  # connection reset (RST) instead of a reply
    SILENCE = "silence"  # no reply at all


READY_WORD = 1 << 1  # status word bit 1: ready (default process image)


class MisbehavingModbusServer:
    """Threaded Modbus TCP server on 127.0.0.1 with an ephemeral port.

    Args:
        seed: Seed of the random generator used for :attr:`Fault.GARBAGE` and :attr:`Fault.SHORT`.
    """

    def __init__(self, seed: int = 0) -> None:
        self.fault = Fault.NONE
        self.garbage = b""  # set to force a given garbage payload (else random)
        self.reads = 0  # input-register reads answered correctly
        self.faulted = 0  # requests answered with the fault
        self.connections = 0  # connections accepted
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ)
        self._buffers: dict[socket.socket, bytearray] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="misbehaving-modbus", daemon=True)
        self._thread.start()

    def set_fault(self, fault: Fault) -> None:
        """Answer the following reads with ``fault``."""
        with self._lock:
            self.fault = fault

    def counts(self) -> tuple[int, int, int]:
        """(correct reads, faulted answers, accepted connections) so far."""
        with self._lock:
            return self.reads, self.faulted, self.connections

    def close(self) -> None:
        """Stop the server thread and close every socket."""
        self._stop.set()
        self._thread.join(2.0)
        for conn in list(self._buffers):
            conn.close()
        self._buffers.clear()
        self._sel.close()
        self._listener.close()

    def __enter__(self) -> MisbehavingModbusServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- server loop -----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._sel.select(0.02):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)  # mypy
                if sock is self._listener:
                    try:
                        conn, _ = self._listener.accept()
                    except OSError:
                        continue
                    conn.setblocking(False)
                    with self._lock:
                        self.connections += 1
                    self._buffers[conn] = bytearray()
                    self._sel.register(conn, selectors.EVENT_READ)
                    continue
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    self._drop(sock)
                    continue
                buf = self._buffers[sock]
                buf += data
                while len(buf) >= MBAP.size:
                    tid, _pid, length, unit = MBAP.unpack_from(buf)
                    if len(buf) < 6 + length:
                        break
                    pdu = bytes(buf[MBAP.size : 6 + length])
                    del buf[: 6 + length]
                    if not self._answer(sock, tid, unit, pdu):
                        break

    def _drop(self, sock: socket.socket) -> None:
        self._sel.unregister(sock)
        self._buffers.pop(sock, None)
        sock.close()

    def _send(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.sendall(data)
        except OSError:
            self._drop(sock)

    def _answer(self, sock: socket.socket, tid: int, unit: int, pdu: bytes) -> bool:
        """Answer one request; False when the connection was closed."""

        def frame(body: bytes, t: int = tid) -> bytes:
            return MBAP.pack(t, 0, len(body) + 1, unit) + body

        fc = pdu[0]
        if fc in (0x0F, 0x10):  # write multiple coils / registers: echo address and quantity
            self._send(sock, frame(pdu[:5]))
            return sock in self._buffers
        if fc != 0x04:
            self._send(sock, frame(bytes([fc | 0x80, 0x01])))  # illegal function
            return sock in self._buffers
        _address, count = struct.unpack_from(">HH", pdu, 1)
        with self._lock:
            fault = self.fault
            if fault is Fault.NONE:
                self.reads += 1
            else:
                self.faulted += 1
        words = [0] * count
        if count:
            words[0] = READY_WORD
        good = bytes([0x04, 2 * count]) + struct.pack(f">{count}H", *words)
        if fault is Fault.NONE:
            self._send(sock, frame(good))
        elif fault is Fault.SHORT:
            n = self._rng.randrange(0, max(count, 1))
            self._send(sock, frame(bytes([0x04, 2 * n]) + struct.pack(f">{n}H", *words[:n])))
        elif fault is Fault.BAD_BYTE_COUNT:
            self._send(sock, frame(bytes([0x04, 2 * count + 40]) + good[2:]))
        elif fault is Fault.TRUNCATED:
            whole = frame(good)
            self._send(sock, whole[:4] + struct.pack(">H", len(good) + 60) + whole[6:])
        elif fault is Fault.WRONG_TID:
            self._send(sock, frame(good, (tid + 1) & 0xFFFF))
        elif fault is Fault.WRONG_FUNCTION:
            self._send(sock, frame(bytes([0x03]) + good[1:]))
        elif fault is Fault.EXCEPTION:
            self._send(sock, frame(bytes([0x84, 0x04])))
        elif fault is Fault.GARBAGE:
            payload = self.garbage or bytes(
                self._rng.randrange(256) for _ in range(self._rng.randrange(1, 64))
            )
            self._send(sock, payload)
        elif fault is Fault.RESET:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._drop(sock)
            return False
        # Fault.SILENCE: nothing
        return sock in self._buffers
