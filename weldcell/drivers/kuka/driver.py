"""KUKA RSI driver: the sensor side of RobotSensorInterface, streaming a trajectory as axis corrections.

The robot (KRC4/KRC5 with RSI 3.x/4.x) runs the KRL program written by ``weldcell export --format
kuka-rsi``: it moves to the trajectory's start pose, starts RSI with axis correction and then sends one
``<Rob>`` telegram per interpolation cycle (4 ms ``IPO_FAST`` or 12 ms ``IPO``) to this driver's
``HOST:PORT``. One I/O thread answers every telegram at once, to the address it came from, with:

* the received IPOC echoed verbatim;
* ``AKorr A1 … A6`` [deg]: in ``absolute`` mode the offset of the set-point from the axis position
  RSI started at (the first telegram after connect); in ``relative`` mode this cycle's increment;
* ``DiO``: the digital outputs, with the arc output following the samples' ``arc_on`` flags.

A trajectory slice is resampled to the RSI cycle by advancing a path position ``traj.dt / cycle``
samples per telegram and interpolating linearly between samples (the set-points of the slice are
converted to degrees once, before the first cycle). ``stop()`` ramps the path speed to zero over
``stop_time`` along the path. Late packets are watched through the robot's ``Delay`` counter (and
the IPOC step): every increment during an execution is counted in ``ExecutionResult.underruns`` and
logged; ``late_limit`` makes the driver fault the execution. A late reply is one the robot did not apply:
in ``absolute`` mode it held the previous correction (HOLDON=1), in ``relative`` mode it dropped the
increment (HOLDON=0, as exported). When the next telegram's ``Delay`` reports it, the driver goes on
along the path from the position the robot stands at (the path slips by the late cycles; in relative
mode the lost increments are sent again), so a late packet never makes the robot catch up at a
multiple of the planned axis speed. This relies on the robot reporting a late reply in the next
telegram's ``Delay`` (as the KRC does).
When the robot stops sending (RSI broke off with RSITimeout, KSS29002, or the program was stopped),
the running execution faults after ``silence`` seconds.

Ending the session: :meth:`RsiDriver.end_session` (called by ``close()``, and after a slice when
:meth:`RsiDriver.end_session_after` asked for it) holds the last position with the arc output off and
sets ``<Stop>1</Stop>`` in every reply until the robot stops sending telegrams (bounded by
``end_timeout``). The exported context wires ``Stop`` to a STOP object, so RSI_MOVECORR() returns, the
KRL program runs RSI_OFF and ends normally instead of counting late packets until RSITimeout.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from weldcell.drivers.base import (
    ExecutionHandle,
    ExecutionOutcome,
    ExecutionResult,
    RobotMode,
    RobotState,
    SafetyStatus,
)
from weldcell.drivers.kuka.config import RsiConfig, RsiConfigError
from weldcell.drivers.kuka.rsi_xml import RobTelegram, decode_rob, encode_sen
from weldcell.drivers.streaming import PathRun, StreamingConfig, StreamingDriver
from weldcell.errors import DriverError, DriverTimeoutError, ProtocolError

if TYPE_CHECKING:
    from weldcell.drivers.registry import RobotUrl

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]


def rsi_config_from_url(url: RobotUrl, /, **options: Any) -> RsiConfig:
    """The :class:`RsiConfig` of ``kuka-rsi://BIND_HOST:PORT[?robot=…&cycle_ms=4|12&mode=…&sentype=…]``.

    Args:
        url: A parsed :class:`~weldcell.drivers.registry.RobotUrl`.
        **options: :class:`RsiConfig` fields (over the URL's), or ``config=RsiConfig(...)`` as a base.

    Raises:
        RsiConfigError: an unknown query parameter, or a setting that cannot work (names the field).
    """
    return RsiConfig.from_robot_url(url, **options)


@dataclass(frozen=True)
class SessionEnd:
    """How :meth:`RsiDriver.end_session` ended the RSI session.

    Attributes:
        ended: True when the robot stopped sending telegrams after the driver sent Stop=1 (the KRL
            program left RSI_MOVECORR() and ran RSI_OFF), or had already stopped before.
        stop_replies: Replies that carried ``<Stop>1</Stop>``.
        waited: Time [s] from the first Stop=1 reply (or the call) to the decision.
        message: What happened, for the log and the operator.
    """

    ended: bool
    stop_replies: int
    waited: float
    message: str


class _Run(PathRun):
    """One streaming execution (owned by the I/O thread after start); set-points in [deg]."""

    def __init__(self, handle: ExecutionHandle, cycle: float) -> None:
        q = handle.traj.q[handle.start_index : handle.end_index]
        super().__init__(handle, np.degrees(np.asarray(q, dtype=np.float64)), cycle)
        self.sent: deque[float] = deque(maxlen=64)  # path position of each reply sent, newest last
        self.end_session = False  # start ending the RSI session when this execution completes


class RsiDriver(StreamingDriver[RsiConfig]):
    """KUKA RSI sensor-side driver (see module docstring).

    Args:
        config: Driver settings (address, cycle, mode, I/O mapping).
    """

    protocol: ClassVar[str] = "RSI"
    packet_word: ClassVar[str] = "telegram"
    peer_word: ClassVar[str] = "robot"
    thread_name: ClassVar[str] = "kuka-rsi"
    #: Telegrams answered, late packets seen (Delay increments), IPOC gaps, malformed telegrams.
    config_type: ClassVar[type[StreamingConfig]] = RsiConfig
    url_form: ClassVar[str] = "kuka-rsi://BIND_HOST:PORT"
    url_host_missing: ClassVar[str | None] = (
        "the address to listen on is missing (kuka-rsi://BIND_HOST:PORT, the IP_NUMBER and PORT of the RSI "
        "Ethernet configuration)"
    )
    #: The robot sends its first telegram only when the operator starts the KRL program.
    default_connect_timeout: ClassVar[float] = 60.0
    connect_hint: ClassVar[str | None] = (
        "the robot's RSI telegrams on {host}:{port}: start the RSI program on the controller "
        "(weldcell export --format kuka-rsi)"
    )
    stat_names: ClassVar[tuple[str, ...]] = ("telegrams", "late_packets", "ipoc_gaps", "malformed")
    _latest: RobTelegram | None
    _run: _Run | None

    def __init__(self, config: RsiConfig | None = None) -> None:
        super().__init__(config or RsiConfig())
        if self._n != 6:
            raise RsiConfigError(
                f"RSI axis correction drives 6 axes; robot {self.robot!r} has {self._model.n_joints}"
            )
        self.dt = self.config.cycle
        self._prev_q: NDArrayF | None = None
        self._qd = np.zeros(6)
        self._q_ref_deg: NDArrayF | None = None  # axis position RSI started at (absolute mode)
        self._corr_deg = np.zeros(6)  # absolute correction currently held
        self._last_sp_deg: NDArrayF | None = None  # last set-point sent (relative mode)
        self._sent_incr: deque[NDArrayF] = deque(
            maxlen=256
        )  # increments of the latest replies (relative mode)
        self._warned_no_dout = False
        self._ending = False  # replies carry Stop=1: the RSI session is being ended
        self._ending_since = 0.0
        self._stop_replies = 0
        self._stop_confirmed = False  # a telegram after a Stop=1 reply reported it in time (Delay)
        self._last_reply_stop = False
        #: How the last RSI session was ended (None while it runs, or if it was never ended).
        self.session_end: SessionEnd | None = None

    @classmethod
    def from_url(cls, url: RobotUrl, /, **options: Any) -> RsiDriver:
        """``kuka-rsi://BIND_HOST:PORT[?robot=…&cycle_ms=4|12&mode=absolute|relative]`` -> driver.

        ``options`` are :class:`RsiConfig` fields; see :func:`rsi_config_from_url`.
        """
        return cls(rsi_config_from_url(url, **options))

    def __repr__(self) -> str:
        return f"RsiDriver({self.robot!r}, {self.config.host}:{self.config.port}, {self.config.cycle_ms} ms)"

    # --- lifecycle ------------------------------------------------------------------------
    def _connect(self, timeout: float | None) -> None:
        sock = self._bind_udp(
            self.config.host,
            self.config.port,
            "the RSI sensor address",
            "; it must be an address of this computer (the IP_NUMBER of RSI_EthernetConfig.xml)",
        )
        sock.settimeout(0.05)
        self._sock = sock
        self._quit.clear()
        self._fault = ""
        self._latest = None
        self._q_ref_deg = None
        self._corr_deg = np.zeros(6)
        self._last_sp_deg = None
        self._ending = False
        self._stop_replies = 0
        self._stop_confirmed = False
        self._last_reply_stop = False
        self.session_end = None
        self._start_io_thread()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._new:
            got = self._wait_first(deadline, 0.1)
        if not got:
            self._shutdown()
            raise DriverTimeoutError(
                f"no RSI telegram from the robot on {self.config.host}:{self.config.port} "
                f"within {timeout} s: "
                "is the KRL program running (RSI_ON / RSI_MOVECORR), and do IP_NUMBER/PORT in "
                "RSI_EthernetConfig.xml name this computer?"
            )

    def _close(self) -> None:
        with self._lock:
            run = self._run
            if run is not None and not run.handle.done:
                self._finish(run, ExecutionOutcome.FAULTED, "driver closed during execution")
        try:
            if self.session_end is None:
                self._end_session(None)
        finally:
            self._shutdown()

    def end_session(self, timeout: float | None = None) -> SessionEnd:
        """End the RSI session on the robot: hold, arc output off, ``<Stop>1</Stop>`` until it stops sending.

        A running execution is faulted first ("RSI session ended"). Every reply from now on holds the
        last commanded position and carries Stop=1; the exported context's STOP object makes
        RSI_MOVECORR() return, the KRL program runs RSI_OFF and ends normally, and the telegrams stop.
        After that the driver stays connected but faults any new execution; ``close()`` releases the
        socket. Called by ``close()`` when the session is still running.

        Args:
            timeout: Longest wait [s] for the telegrams to stop; None: ``config.end_timeout``.

        Returns:
            How it ended (:attr:`session_end` as well). ``ended`` is False when the robot kept sending
            (STOP object not wired, or ``stop_element`` off): RSI will then break off with
            RSITimeout once this driver closes; the message says so.

        Raises:
            DriverError: not connected.
        """
        self._require_connected()
        with self._lock:
            run = self._run
            if run is not None and not run.handle.done:
                self._finish(run, ExecutionOutcome.FAULTED, "RSI session ended during the execution")
        return self._end_session(timeout)

    def end_session_after(self, handle: ExecutionHandle) -> None:
        """End the RSI session as soon as the execution ``handle`` completes (the next cycle, no gap).

        The reply after the slice's last sample already carries Stop=1; :meth:`end_session` (or
        ``close()``) then waits for the robot to stop sending. A stopped or faulted execution does
        not start it (the cell decides what follows a fault).

        Raises:
            DriverError: ``handle`` is not this driver's running execution.
        """
        with self._lock:
            run = self._run
            if run is None or run.handle is not handle:
                raise DriverError("end_session_after: the handle is not this driver's current execution")
            if handle.done:
                result = handle.result
                if result is not None and result.outcome is ExecutionOutcome.COMPLETED:
                    self._begin_ending()
                return
            run.end_session = True

    def _begin_ending(self) -> None:
        """Replies carry Stop=1 from now on (lock held)."""
        if self._ending:
            return
        self._ending = True
        self._ending_since = time.monotonic()
        if self.config.arc_output is not None:
            self._dout &= ~(1 << self.config.arc_output)  # never end a session with the arc command on
        log.info("ending the RSI session: replies carry <Stop>1</Stop>")

    def _end_session(self, timeout: float | None) -> SessionEnd:
        limit = self.config.end_timeout if timeout is None else float(timeout)
        t_call = time.monotonic()
        with self._new:
            if self._latest is None or t_call - self._latest_at > self.config.silence:
                end = SessionEnd(
                    True,
                    self._stop_replies,
                    0.0,
                    "no RSI telegram for "
                    + ("ever" if self._latest is None else f"{t_call - self._latest_at:.2f} s")
                    + ": the session had already ended on the robot",
                )
            elif not self.config.stop_element:
                end = SessionEnd(
                    False,
                    0,
                    0.0,
                    "RSI configured without the <Stop> element (stop=0): the robot will break off "
                    f"with RSITimeout (KSS29002) after {self.config.timeout_packets} late packets; "
                    "end the KRL program from the pendant",
                )
            else:
                self._begin_ending()
                since = self._ending_since
                while True:
                    now = time.monotonic()
                    quiet = now - self._latest_at
                    # silence after a Stop=1 reply the robot confirmed (Delay unchanged in the next
                    # telegram), or a silence as long as ``silence`` after an unconfirmed one
                    confirmed = self._stop_confirmed or quiet > self.config.silence
                    if self._stop_replies and quiet > self.config.end_quiet and confirmed:
                        end = SessionEnd(
                            True,
                            self._stop_replies,
                            now - since,
                            f"RSI session ended by the sensor: the robot stopped sending after "
                            f"{self._stop_replies} reply(s) with <Stop>1</Stop> (STOP object: "
                            "RSI_MOVECORR() returned, RSI_OFF)",
                        )
                        break
                    if now - max(since, t_call) > limit:
                        end = SessionEnd(
                            False,
                            self._stop_replies,
                            now - since,
                            f"the robot kept sending RSI telegrams {now - since:.2f} s after "
                            f"{self._stop_replies} reply(s) with <Stop>1</Stop>: is the Stop element "
                            "wired to a STOP object (weldcell export --format kuka-rsi)? RSI will break "
                            "off with RSITimeout (KSS29002) once the sensor stops answering",
                        )
                        break
                    self._new.wait(0.01)
            self.session_end = end
            if end.ended and self._ending and not self._fault:
                self._fault = "the RSI session was ended (Stop=1); start the KRL program again"
        (log.info if end.ended else log.warning)("%s", end.message)
        return end

    # --- I/O thread -----------------------------------------------------------------------
    def _loop(self) -> None:
        self._answer_loop(decode_rob, self._cycle)

    def _cycle(self, tel: RobTelegram, addr: tuple[str, int]) -> bytes:
        now = time.monotonic()
        with self._lock:
            prev = self._latest
            if prev is not None and tel.ipoc - prev.ipoc > self.config.cycle_ms:
                self.stats["ipoc_gaps"] += 1
            late_new = 0
            if (
                prev is not None
                and tel.delay is not None
                and prev.delay is not None
                and tel.delay > prev.delay
            ):
                late_new = tel.delay - prev.delay
                self.stats["late_packets"] += late_new
            self._peer = addr
            if tel.aipos is not None:
                q = np.radians(np.asarray(tel.aipos, dtype=np.float64))
                if self._prev_q is not None and prev is not None and tel.ipoc > prev.ipoc:
                    self._qd = (q - self._prev_q) / ((tel.ipoc - prev.ipoc) / 1000.0)
                self._prev_q = q
                if self._q_ref_deg is None:
                    self._q_ref_deg = np.asarray(tel.aipos, dtype=np.float64)
            self._latest = tel
            self._latest_at = now
            self.stats["telegrams"] += 1
            # Stop=1 only from the reply after the one that started ending: a slice's last set-point
            # is never in the same reply as the Stop that makes the robot leave RSI_MOVECORR()
            ending = self._ending
            if self._last_reply_stop and not late_new:
                self._stop_confirmed = True  # the robot took the previous reply, Stop=1 included
            akorr = self._corrections(tel, late_new)
            dio = self._dout
            stop: bool | None = None
            if self.config.stop_element:
                stop = ending
                self._stop_replies += int(ending)
                self._last_reply_stop = ending
            self._new.notify_all()
        if late_new:
            log.warning("robot reports %d late RSI packet(s) (Delay = %s)", late_new, tel.delay)
        return encode_sen(self.config.sentype, tel.ipoc_text, akorr, dio, stop=stop)

    def _hold(self, late_new: int = 0) -> list[float]:
        """AKorr that keeps the robot where it is commanded now (lock held).

        In relative mode the increments of the latest ``late_new`` replies, which the robot dropped
        (HOLDON=0), are sent again, so the robot still reaches the last commanded position.
        """
        if self.config.mode == "absolute":
            return self._corr_deg.tolist()
        incr = np.zeros(6)
        if late_new:
            lost = list(self._sent_incr)[-late_new:]
            if lost:
                incr = np.sum(lost, axis=0)
        self._sent_incr.append(incr)
        return incr.tolist()

    def _corrections(self, tel: RobTelegram, late_new: int) -> list[float]:
        """AKorr of this cycle [deg]; advances the running execution (lock held)."""
        run = self._run
        ref = self._q_ref_deg if self._q_ref_deg is not None else np.zeros(6)
        if run is None or run.handle.done:
            return self._hold(late_new)
        if late_new:
            run.underruns += late_new
            limit = self.config.late_limit
            if limit is not None and run.underruns > limit:
                self._finish(
                    run,
                    ExecutionOutcome.FAULTED,
                    f"{run.underruns} late RSI packets during the execution (limit {limit}); the robot "
                    "held or dropped those corrections",
                    "late_packets",
                )
                return self._hold()
        if late_new and run.sent:
            # The robot did not apply the last ``late_new`` replies (HOLDON=1 held the correction before
            # them, or HOLDON=0 dropped their increments): it stands at the position of the reply
            # before them. Going on from there slips the path by those cycles; jumping to where the
            # path would be now would command a multiple of the planned axis speed for one cycle.
            run.pos = run.sent[-min(late_new + 1, len(run.sent))]
        run.advance(self.config.cycle / self.config.stop_time)
        sp, arc = run.setpoint()
        self._set_arc(arc)
        corr = sp - ref
        if np.any(np.abs(corr) > self.config.max_correction_deg):
            j = int(np.argmax(np.abs(corr)))
            self._finish(
                run,
                ExecutionOutcome.FAULTED,
                f"axis A{j + 1} correction {corr[j]:.2f}° exceeds the configured limit "
                f"±{self.config.max_correction_deg}° from the RSI start pose",
                "correction_limit",
            )
            return self._hold()
        run.report()
        run.sent.append(run.pos)
        if self.config.mode == "absolute":
            self._corr_deg = corr
            out: list[float] = corr.tolist()
        else:
            prev = self._last_sp_deg if self._last_sp_deg is not None else sp
            incr = sp - prev
            if late_new:
                # HOLDON=0 (as exported for relative mode): the late replies' increments were dropped by
                # the robot; they were the latest ``late_new`` replies, so send them again now
                lost = list(self._sent_incr)[-late_new:]
                if lost:
                    incr = incr + np.sum(lost, axis=0)
            self._sent_incr.append(incr)
            out = incr.tolist()
            self._corr_deg = corr
        self._last_sp_deg = sp
        if run.at_end:
            self._finish(run, ExecutionOutcome.COMPLETED, "")
            if run.end_session:
                self._begin_ending()  # the next reply holds the last sample and carries Stop=1
        elif run.stopped:
            self._finish(run, ExecutionOutcome.STOPPED, "stop requested")
        return out

    def _on_silence(self, silent: float) -> None:
        if self._ending:
            return  # silence after Stop=1 is the session's normal end (see _end_session)
        delay = self._latest.delay if self._latest is not None else None
        if not self._fault:
            self._fault = (
                f"the robot stopped sending RSI telegrams {silent:.2f} s ago (last Delay = {delay}, "
                f"Timeout = {self.config.timeout_packets}): RSI broke off on the controller "
                "(RSITimeout, KSS29002 'Stop by $CORRECTION function') or the program was stopped"
            )
            log.error("%s", self._fault)
        run = self._run
        if run is not None and not run.handle.done:
            self._finish(run, ExecutionOutcome.FAULTED, self._fault, "RSITimeout")

    # --- driver hooks ---------------------------------------------------------------------
    def _state(self, timeout: float | None) -> RobotState:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._new:
            if not self._wait_first(deadline, 0.1):
                raise DriverTimeoutError(f"no RSI telegram within {timeout} s")
            tel = self._latest
            assert tel is not None  # mypy
            live = time.monotonic() - self._latest_at <= self.config.silence
            q = self._prev_q if self._prev_q is not None else np.zeros(6)
            qd = self._qd if live else np.zeros(6)
            dout_cmd = self._dout
            fault = self._fault
        if tel.aipos is None:
            raise ProtocolError(
                "the robot's RSI telegrams carry no <AIPos>: add DEF_AIPos to the SEND elements"
            )
        if tel.dout is None and not self._warned_no_dout:
            self._warned_no_dout = True
            log.warning("RSI telegrams carry no DoutW read-back: digital_out reports the commanded outputs")
        return RobotState(
            t=tel.ipoc / 1000.0,
            q=q,
            qd=qd,
            T_base_flange=self._model.fk(q),
            mode=RobotMode.RUNNING if live else RobotMode.DISCONNECTED,
            safety=SafetyStatus.FAULT if fault else SafetyStatus.NORMAL,
            program_running=live,
            digital_in=tel.digin or 0,
            digital_out=tel.dout if tel.dout is not None else dout_cmd,
            analog_in=np.zeros(2),
            analog_out=np.zeros(2),
        )

    def _execute(self, handle: ExecutionHandle) -> None:
        with self._lock:
            if self._fault or self._ending:
                ended = self._ending
                handle._finish(
                    ExecutionResult(
                        ExecutionOutcome.FAULTED,
                        handle.start_index,
                        handle.start_index,
                        "the RSI session was ended (Stop=1); start the KRL program again"
                        if ended
                        else self._fault,
                        "session_ended" if ended else "RSITimeout",
                    )
                )
                return
            if self._q_ref_deg is None:
                raise DriverError("RSI has not reported the axis positions yet")
            run = _Run(handle, self.config.cycle)
            # relative mode continues from where the robot is commanded now
            self._last_sp_deg = self._q_ref_deg + self._corr_deg
            self._run = run

    def _set_analog_out(self, n: int, value: float) -> None:
        raise DriverError(
            "the RSI configuration written by weldcell maps no analog outputs; set the weld parameters on "
            "the power source (job number) instead"
        )

    # --- diagnostics ----------------------------------------------------------------------
    @property
    def delay(self) -> int | None:
        """The robot's late-packet counter (``Delay D``) of the latest telegram; None before the first."""
        with self._lock:
            return None if self._latest is None else self._latest.delay

    @property
    def late_packets(self) -> int:
        """Late packets the robot reported (Delay increments) since connect."""
        return self.stats["late_packets"]
