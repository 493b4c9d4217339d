"""Streaming mode of the UR driver: the 500 Hz control loop that feeds the servo program's register
window (:class:`StreamingMode`, mixed into :class:`~weldcell.drivers.ur.driver.URDriver`)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from weldcell.drivers.base import (
    ExecutionHandle,
    ExecutionOutcome,
    ExecutionResult,
)
from weldcell.drivers.realtime import (
    PROCESS_REALTIME,
    LoopTimer,
    configure_thread,
    lookahead_from_lateness,
)
from weldcell.drivers.ur import models
from weldcell.drivers.ur.streaming import servo_program as sp
from weldcell.errors import (
    DriverConnectionError,
)

if TYPE_CHECKING:
    pass

from weldcell.drivers.ur.client.states import SAFETY_MODE_NAMES
from weldcell.drivers.ur.link import URLink
from weldcell.drivers.ur.streaming.window import (
    DONE,
    FILL,
    K_EXECUTED,
    K_POSITION,
    K_RECEIVED,
    K_SESSION,
    K_STATUS,
    K_UNDERRUNS,
    OVERRUN,
    RING_TOO_SMALL,
    RUN,
    SLOTS,
    STOP,
    STOPPED,
    Stream,
    TxWindow,
)

log = logging.getLogger(__name__)


class StreamingMode(URLink):
    """Streaming execution: one slice at a time through the servo program (see ``driver.py``)."""

    def _control(self) -> None:
        rtde, tx = self.rtde, self._tx
        assert rtde is not None and tx is not None  # mypy
        cfg = self.config
        rt = cfg.realtime
        notes = configure_thread(rt.fifo_priority, rt.cpu, rt.timer_slack)
        if notes:
            self._log_queue.put((logging.INFO, "control thread: " + "; ".join(notes)))
        self.rate = timer = LoopTimer(1.0 / self.dt)
        base = max(1, round(cfg.lookahead / self.dt))
        most = cfg.ring - 8
        lookahead = min(base, most)
        self.lookahead = lookahead * self.dt
        sized_for = 0.0  # the worst lateness [s] the look-ahead was last sized from
        capped = False
        streaming = False  # interpreter-wide real-time settings held (PROCESS_REALTIME)
        quit_ = self._quit
        try:
            while not quit_.is_set():
                timer.sleep()
                fb = self._latest
                if self._reset_request is not None:
                    session, self._reset_request = self._reset_request, None
                    tx.set_control(-1, int(sp.StreamCommand.FILL), -1, session)
                if self._pending is not None:
                    self._session += 1
                    new = self._pending
                    new.session = self._session
                    new.lookahead = lookahead
                    new.taken_at = time.monotonic()
                    self._stream, self._pending = new, None
                    tx.set_control(-1, new.command, new.n - 1, new.session)
                    if not streaming:
                        PROCESS_REALTIME.acquire(rt)
                        streaming = timer.active = True
                        timer.spin = cfg.spin
                st = self._stream
                if st is not None and fb is not None and not st.handle.done:
                    self._advance(st, fb, tx)
                try:
                    tx.tick()
                    if not rtde.send_nowait(tx.buf):
                        self.dropped_sends += 1
                    timer.mark_sent()
                    if timer.peak != sized_for:  # a new worst lateness: size the look-ahead again
                        sized_for = timer.peak
                        lookahead, cut = lookahead_from_lateness(base, sized_for, self.dt, most)
                        self.lookahead = lookahead * self.dt
                        if st is not None:
                            st.lookahead = lookahead
                        if cut and not capped:
                            capped = True
                            self._log_queue.put((logging.WARNING, RING_TOO_SMALL % (sized_for * 1e3, most)))
                    req = self._io_request
                    if req is not None and rtde.send_nowait(req):
                        with self._io_lock:
                            if self._io_request is req:
                                self._io_request = None
                    req = self._program_request
                    if req is not None and rtde.send_nowait(req):
                        with self._io_lock:
                            if self._program_request is req:
                                self._program_request = None
                except DriverConnectionError as err:
                    self._log_queue.put((logging.ERROR, f"RTDE send failed: {err}"))
                    return
                if streaming and (st is None or st.handle.done) and self._pending is None:
                    PROCESS_REALTIME.release()
                    streaming = timer.active = False
                    timer.spin = 0.0
        finally:
            if streaming:
                PROCESS_REALTIME.release()

    def _advance(self, st: Stream, fb: dict[str, Any], tx: TxWindow) -> None:
        h = st.handle
        safety = fb["safety_mode"]
        # faults: safety stop or the program is gone
        if (safety != 1 and safety != 2) or fb["runtime_state"] != 2:
            code = SAFETY_MODE_NAMES.get(safety, safety) if safety not in (1, 2) else "program_stopped"
            reason = self._error_messages() or (
                f"safety mode {code}"
                if code != "program_stopped"
                else "the servo program stopped on the controller"
            )
            self._fail_stream(reason, code)
            self._request_arc_off()
            return
        if fb[K_SESSION] != st.session:
            # the servo program must acknowledge a new slice's session before any set-point goes
            # out; it never doing so must not leave the caller waiting without end
            waited = time.monotonic() - st.taken_at
            if waited > self.config.upload_timeout:
                self._fail_stream(
                    f"the servo program did not acknowledge stream session {st.session} within "
                    f"{self.config.upload_timeout} s (controller: session {fb[K_SESSION]}, "
                    f"status {fb[K_STATUS]}, runtime state {fb['runtime_state']})",
                    "timeout",
                )
                self._request_arc_off()
            return
        status = fb[K_STATUS]
        abs_pos = h.start_index + fb[K_POSITION] * st.scale
        h._update(abs_pos, self.controller_time(float(fb["timestamp"])))
        if status == DONE:
            h._finish(
                ExecutionResult(
                    ExecutionOutcome.COMPLETED,
                    h.end_index - 1,
                    float(h.end_index - 1),
                    "",
                    None,
                    int(fb[K_UNDERRUNS]),
                )
            )
            return
        if status == STOPPED:
            idx = int(np.floor(abs_pos + 1e-9))
            h._finish(
                ExecutionResult(
                    ExecutionOutcome.STOPPED, idx, abs_pos, "stop requested", None, int(fb[K_UNDERRUNS])
                )
            )
            return
        if status == OVERRUN:
            self._fail_stream(
                "set-points lost: the stream overran the controller's register window", "overrun"
            )
            return
        received = fb[K_RECEIVED]
        now = time.monotonic()
        if received != st.last_received:
            st.last_received, st.received_at = received, now
        elif st.newest > received and now - st.received_at > self.config.upload_timeout:
            # set-points wait in the window but the program takes none: it is not running its loop
            self._fail_stream(
                f"the servo program took no set-point for {self.config.upload_timeout} s "
                f"(sent up to {st.newest}, received {received}, status {status})",
                "timeout",
            )
            self._request_arc_off()
            return
        newest = received + SLOTS
        ahead = fb[K_EXECUTED] + st.lookahead
        if ahead < newest:
            newest = ahead
        if st.n - 1 < newest:
            newest = st.n - 1
        first = st.newest + 1
        if newest >= first:
            rows, flags = st.rows, st.flag_list
            if newest - SLOTS + 1 > first:
                first = newest - SLOTS + 1
            for k in range(first, newest + 1):
                tx.put_sample(k % SLOTS, flags[k], rows[k])
            st.newest = newest
            tx.set_newest(newest)
        if h.stop_requested:
            command = STOP
        elif st.command == FILL and received >= min(st.lookahead, st.n - 1):
            command = RUN
        else:
            command = st.command
        if command != st.command:
            st.command = command
            tx.set_command(command)

    def _start_stream(self, handle: ExecutionHandle, fb: dict[str, Any]) -> None:
        """Start streaming ``handle``'s slice: (re)upload the servo program if it is not ready for it, then
        hand the slice's set-points to the control thread."""
        st = self._stream
        # the servo program must run with the slice's TCP (set_tcp), so that the controller's TCP
        # speed limit watches the torch tip; a slice with another tool uploads it again
        tcp = tuple(round(float(x), 9) for x in models.pose_from_matrix(np.asarray(handle.traj.T_flange_tcp)))
        ready = (
            fb["runtime_state"] == 2
            and (st is None or fb[f"output_int_register_{sp.OUT_SESSION}"] == st.session)
            and fb[f"output_int_register_{sp.OUT_STATUS}"]
            in (sp.StreamStatus.FILLING, sp.StreamStatus.STOPPED, sp.StreamStatus.DONE)
            and self._program_tcp == tcp
        )
        if not ready:  # the program stopped (fault, watchdog, dashboard stop) or has another TCP: upload it
            self._stream = None
            self._session += 1
            self._reset_request = self._session  # applied to the window by the control thread
            time.sleep(3 * self.dt)
            self._upload_program(self.config.upload_timeout, tcp)
        self._pending = Stream(handle, self.dt, 0, 0)
