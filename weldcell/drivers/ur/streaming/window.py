"""The PC side of the servo program's register window: the RTDE input recipe, the prepacked input
package (:class:`TxWindow`) and one slice's set-points and window state (:class:`Stream`)."""

from __future__ import annotations

import logging
import os
import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from weldcell.drivers.base import (
    ExecutionHandle,
)
from weldcell.drivers.ur.client import rtde_protocol as rp
from weldcell.drivers.ur.streaming import servo_program as sp
from weldcell.errors import (
    ProtocolError,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

STREAM_INPUTS = [
    *[f"input_int_register_{i}" for i in range(sp.IN_NEWEST, sp.IN_FLAGS + sp.SLOTS)],
    f"input_int_register_{sp.IN_ALIVE}",
    *[f"input_double_register_{i}" for i in range(sp.FIRST_DOUBLE, sp.FIRST_DOUBLE + 6 * sp.SLOTS)],
]
# output field names read by the control loop (formatted once, here, not per cycle)
K_RECEIVED = f"output_int_register_{sp.OUT_RECEIVED}"
K_EXECUTED = f"output_int_register_{sp.OUT_EXECUTED}"
K_STATUS = f"output_int_register_{sp.OUT_STATUS}"
K_UNDERRUNS = f"output_int_register_{sp.OUT_UNDERRUNS}"
K_SESSION = f"output_int_register_{sp.OUT_SESSION}"
K_POSITION = f"output_double_register_{sp.OUT_POSITION}"
# enum values as plain ints: an IntEnum attribute lookup costs more than the comparison
DONE, STOPPED, OVERRUN = (
    int(sp.StreamStatus.DONE),
    int(sp.StreamStatus.STOPPED),
    int(sp.StreamStatus.OVERRUN),
)
FILL, RUN, STOP = int(sp.StreamCommand.FILL), int(sp.StreamCommand.RUN), int(sp.StreamCommand.STOP)
SLOTS = sp.SLOTS
I32 = struct.Struct(">i")
I32X4 = struct.Struct(">4i")
SAMPLE_BYTES = 6 * 8  # one set-point: 6 big-endian doubles
RING_TOO_SMALL = (
    "control loop %.1f ms late: the look-ahead needs more than the servo program's ring holds "
    "(%d samples); raise URDriverConfig.ring"
)


def fresh_session() -> int:
    """A random stream session id for a new connection (int32, room for 10^8 slices above it)."""
    return 1000 + int.from_bytes(os.urandom(4), "big") % 2_000_000_000


class TxWindow:
    """The streaming recipe's RTDE input package, prepacked once and patched in place.

    Layout (after the 3-byte header and the recipe id): int registers newest, command, last,
    session, flags x SLOTS, alive counter, then 6 x SLOTS double registers, all big-endian. Only
    the control thread writes it.

    Args:
        recipe: The input recipe of :data:`STREAM_INPUTS` as accepted by the controller.

    Raises:
        ProtocolError: the controller reported other types than INT32/DOUBLE for the registers.
    """

    def __init__(self, recipe: rp.Recipe) -> None:
        expected = ("INT32",) * (5 + sp.SLOTS) + ("DOUBLE",) * (6 * sp.SLOTS)
        if recipe.types != expected or not recipe.with_id:
            raise ProtocolError(f"unexpected RTDE types for the streaming registers: {recipe.types}")
        size = rp.HEADER_SIZE + recipe.size
        self.buf = bytearray(size)
        rp.HEADER.pack_into(self.buf, 0, size, rp.DATA_PACKAGE)
        self.buf[rp.HEADER_SIZE] = recipe.recipe_id
        self._ints = rp.HEADER_SIZE + 1
        self._flags = self._ints + 4 * 4
        self._alive_at = self._ints + 4 * (4 + sp.SLOTS)
        self._alive = 0
        self._doubles = self._ints + 4 * (5 + sp.SLOTS)

    def tick(self) -> None:
        """Advance the alive counter (once per package sent; the servo program's PC watchdog)."""
        self._alive = (self._alive + 1) & 0x7FFFFFFF
        I32.pack_into(self.buf, self._alive_at, self._alive)

    def set_control(self, newest: int, command: int, last: int, session: int) -> None:
        """Write the four control registers (newest index, command, last index, session)."""
        I32X4.pack_into(self.buf, self._ints, newest, command, last, session)

    def set_newest(self, newest: int) -> None:
        """Write the newest-index register."""
        I32.pack_into(self.buf, self._ints, newest)

    def set_command(self, command: int) -> None:
        """Write the command register."""
        I32.pack_into(self.buf, self._ints + 4, command)

    def put_sample(self, slot: int, flag: int, sample: bytes) -> None:
        """Write one window slot: its flags register and its 6 prepacked joint doubles."""
        I32.pack_into(self.buf, self._flags + 4 * slot, flag)
        off = self._doubles + SAMPLE_BYTES * slot
        self.buf[off : off + SAMPLE_BYTES] = sample

    def values(self) -> tuple[Any, ...]:
        """The register values currently in the package (recipe order), for tests and logs."""
        return struct.unpack_from(">" + "i" * (5 + sp.SLOTS) + "d" * (6 * sp.SLOTS), self.buf, self._ints)


class Stream:
    """Precomputed set-points of one slice and its register-window state (control thread only)."""

    def __init__(self, handle: ExecutionHandle, cycle: float, session: int, lookahead: int) -> None:
        traj = handle.traj
        s0, s1 = handle.start_index, handle.end_index
        points = traj.resample(cycle, s0, s1)  # the slice at the controller cycle
        self.samples = np.ascontiguousarray(points.q, dtype=np.float64)
        self.flags = points.arc_on.astype(np.int32)
        self.scale = 1.0 if abs(traj.dt - cycle) < 1e-12 else cycle / traj.dt
        # wire format, prepared before the slice starts: one 48-byte big-endian row per set-point
        wire = np.ascontiguousarray(self.samples, dtype=">f8").tobytes()
        self.rows = [wire[k : k + SAMPLE_BYTES] for k in range(0, len(wire), SAMPLE_BYTES)]
        self.flag_list: list[int] = self.flags.tolist()
        self.handle = handle
        self.session = session
        self.n = self.samples.shape[0]
        self.lookahead = lookahead
        self.newest = -1
        self.command = int(sp.StreamCommand.FILL)
        self.taken_at = 0.0  # monotonic time the control thread put the session on the wire [s]
        self.last_received = -2  # the controller's received counter at the last change
        self.received_at = 0.0  # monotonic time it last changed [s]
