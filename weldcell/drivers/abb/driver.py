"""ABB EGM driver: the sensor side of Externally Guided Motion, streaming a trajectory as joint targets.

The robot (IRC5 / OmniCore with the EGM option) runs a RAPID program that moves to the trajectory's
start pose, then ``EGMSetupUC ROB_1, egm_id, "default", "EGMSensor" \\Joint \\CommTimeout:=…;``,
``EGMActJoint … \\SampleRate:=4;`` and ``EGMRunJoint egm_id, EGM_STOP_HOLD \\J1 … \\J6 …;``
(docs/drivers.md, ABB section). The controller then sends one ``EgmRobot`` message per sample
(4 ms) from its own port to this driver's ``HOST:PORT``. One I/O thread answers every message at
once, to the address it came from, with an ``EgmSensor``:

* ``header``: our own sequence number (+1 per reply), ``tm`` = ms since connect, ``mtype`` =
  ``MSGTYPE_CORRECTION``;
* ``planned.joints`` [deg]: the set-point of this sample; ``speedRef.joints`` [deg/s]: its speed;
* ``RAPIDtoRobot``: ``digVal`` = the arc output bit, ``dnum[0]`` = the whole digital-output word
  (the RAPID side copies them to its signals, e.g. the arc-on DO of the power source).

A trajectory slice is resampled to the EGM cycle by advancing a path position ``cycle / traj.dt``
samples per robot message and interpolating linearly between samples (converted to degrees once,
before the first cycle). Between executions the driver holds the last set-point (at connect: the
first feedback). ``stop()`` ramps the path speed to zero over ``stop_time`` along the path.

Failure handling: the robot's header sequence numbers are checked (gaps = lost messages, counted
in ``ExecutionResult.underruns`` and ``stats``). When the robot stops sending for ``silence``
seconds, or reports RAPID stopped, motors off or the MCI not running during an execution, the
EGM session has ended on the controller (CommTimeout without sensor messages, convergence,
EGMStop, supervision error) and the running execution faults with that reason.

Session end handshake: ``EGMRunJoint`` ends normally when its convergence condition held for
``\\CondTime``; its last ``EgmRobot`` reports ``mciState`` STOPPED, ``mciConvergenceMet`` true and
``rapidExecState`` RUNNING, then the controller stops sending. Outside an execution the driver takes
that as a clean end (:attr:`EgmDriver.session_end`; no fault, the silence that follows is expected;
state: program not running) and refuses new executions until a new ``EGMRunJoint`` sends again
(``mciState`` RUNNING). During an execution it is a fault: the convergence condition was met while
the path still moved (``\\CondTime`` or the ``egm_minmax`` ranges too small for the weld's speed).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
from google.protobuf.message import DecodeError

from weldcell.drivers.abb import egm_messages as egm
from weldcell.drivers.abb.config import EgmConfig
from weldcell.drivers.base import (
    ExecutionHandle,
    ExecutionOutcome,
    ExecutionResult,
    RobotMode,
    RobotState,
    SafetyStatus,
)
from weldcell.drivers.streaming import PathRun, StreamingConfig, StreamingDriver
from weldcell.errors import DriverError, DriverTimeoutError, ProtocolError

if TYPE_CHECKING:
    from weldcell.drivers.registry import RobotUrl

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]

_UINT32 = 1 << 32


@dataclass(frozen=True, slots=True)
class RobotMessage:
    """The fields of one ``EgmRobot`` the driver uses (SI where noted).

    Attributes:
        seqno: The robot's header sequence number (None if absent).
        tm: The robot's header time [ms] (None if absent).
        q_deg: Feedback joints [deg], shape (n,).
        planned_deg: The controller's planned joints [deg] (None if absent).
        rapid_running: ``rapidExecState`` is RUNNING (None if absent).
        motors_on: ``motorState`` is MOTORS_ON (None if absent).
        mci_running: ``mciState`` is RUNNING (None if absent).
        converged: ``mciConvergenceMet`` (None if absent).
        dout: Digital-output word the RAPID side reports in ``RAPIDfromRobot.dnum[0]`` (None if absent).
        din: Digital-input word in ``RAPIDfromRobot.dnum[1]`` (None if absent).
    """

    seqno: int | None
    tm: int | None
    q_deg: NDArrayF
    planned_deg: NDArrayF | None
    rapid_running: bool | None
    motors_on: bool | None
    mci_running: bool | None
    dout: int | None
    din: int | None
    converged: bool | None = None


def decode_robot(data: bytes) -> RobotMessage:
    """Parse an ``EgmRobot`` datagram.

    Raises:
        ProtocolError: not an EgmRobot, or no feedback joints.
    """
    msg = egm.EgmRobot()
    try:
        msg.ParseFromString(data)
    except DecodeError as err:
        raise ProtocolError(f"not an EgmRobot message ({len(data)} bytes): {err}") from err
    if not msg.HasField("feedBack") or not msg.feedBack.HasField("joints") or not msg.feedBack.joints.joints:
        raise ProtocolError("EgmRobot without feedBack.joints: start EGM in joint mode (EGMActJoint)")
    hdr = msg.header if msg.HasField("header") else None
    planned = (
        np.array(msg.planned.joints.joints, dtype=np.float64)
        if msg.HasField("planned") and msg.planned.HasField("joints")
        else None
    )
    dout = din = None
    if msg.HasField("RAPIDfromRobot"):
        dnum = list(msg.RAPIDfromRobot.dnum)
        if len(dnum) > 0 and math.isfinite(dnum[0]):
            dout = int(dnum[0])
        if len(dnum) > 1 and math.isfinite(dnum[1]):
            din = int(dnum[1])
    return RobotMessage(
        seqno=hdr.seqno if hdr is not None and hdr.HasField("seqno") else None,
        tm=hdr.tm if hdr is not None and hdr.HasField("tm") else None,
        q_deg=np.array(msg.feedBack.joints.joints, dtype=np.float64),
        planned_deg=planned,
        rapid_running=(msg.rapidExecState.state == egm.RAPID_RUNNING)
        if msg.HasField("rapidExecState")
        else None,
        motors_on=(msg.motorState.state == egm.MOTORS_ON) if msg.HasField("motorState") else None,
        mci_running=(msg.mciState.state == egm.MCI_RUNNING) if msg.HasField("mciState") else None,
        dout=dout,
        din=din,
        converged=bool(msg.mciConvergenceMet) if msg.HasField("mciConvergenceMet") else None,
    )


def encode_sensor(
    seqno: int, tm_ms: int, q_deg: NDArrayF, qd_deg_s: NDArrayF | None, arc: bool, dout: int
) -> bytes:
    """An ``EgmSensor`` reply: planned joints [deg], optional joint speeds [deg/s], the outputs."""
    msg = egm.EgmSensor()
    msg.header.seqno = seqno % _UINT32
    msg.header.tm = tm_ms % _UINT32
    msg.header.mtype = egm.MSGTYPE_CORRECTION
    msg.planned.joints.joints.extend(q_deg.tolist())
    if qd_deg_s is not None:
        msg.speedRef.joints.joints.extend(qd_deg_s.tolist())
    msg.RAPIDtoRobot.digVal = arc
    msg.RAPIDtoRobot.dnum.append(float(dout))
    data: bytes = msg.SerializeToString()
    return data


def egm_config_from_url(url: RobotUrl, /, **options: Any) -> EgmConfig:
    """The :class:`EgmConfig` of an ``abb-egm://BIND_HOST:PORT[?robot=…&sample_rate_ms=4]`` address.

    Args:
        url: The parsed address (:class:`weldcell.drivers.registry.RobotUrl`).
        options: :class:`EgmConfig` fields; ``config=`` a base configuration. They override the query.

    Raises:
        EgmConfigError: a bad sample rate, an unknown query parameter, or a setting EgmConfig rejects.
    """
    return EgmConfig.from_robot_url(url, **options)


class _Run(PathRun):
    """One streaming execution (owned by the I/O thread after start); set-points in [deg]."""

    def __init__(self, handle: ExecutionHandle, cycle: float) -> None:
        traj = handle.traj
        sl = slice(handle.start_index, handle.end_index)
        super().__init__(handle, np.degrees(np.asarray(traj.q[sl], dtype=np.float64)), cycle)
        self.qd_deg = np.degrees(np.asarray(traj.qd[sl], dtype=np.float64))

    def setpoint_speed(self) -> tuple[NDArrayF, NDArrayF, bool]:
        """Set-point [deg], its speed [deg/s] (scaled by the stop ramp) and the arc flag."""
        q, arc = self.setpoint()
        i, a = self.weights()
        if i >= self.last:
            return q, np.zeros_like(q), arc
        qd = ((1.0 - a) * self.qd_deg[i] + a * self.qd_deg[i + 1]) * self.rate
        return q, qd, arc


class EgmDriver(StreamingDriver[EgmConfig]):
    """ABB EGM sensor-side driver (see module docstring).

    Args:
        config: Driver settings (address, sample rate, arc output).
    """

    protocol: ClassVar[str] = "EGM"
    packet_word: ClassVar[str] = "message"
    peer_word: ClassVar[str] = "controller"
    thread_name: ClassVar[str] = "abb-egm"
    #: Messages answered, robot messages lost (sequence gaps), malformed datagrams.
    config_type: ClassVar[type[StreamingConfig]] = EgmConfig
    url_host_missing: ClassVar[str | None] = (
        "the address to listen on is missing (abb-egm://BIND_HOST:PORT, the remote address and port of the "
        "controller's UDPUC device)"
    )
    #: The controller sends its first message only when the operator starts the RAPID program.
    url_form: ClassVar[str] = "abb-egm://BIND_HOST:PORT"
    default_connect_timeout: ClassVar[float] = 60.0
    connect_hint: ClassVar[str | None] = (
        "the controller's EGM messages on {host}:{port}: start the RAPID program (EGMRunJoint) on the "
        "controller"
    )
    stat_names: ClassVar[tuple[str, ...]] = ("messages", "lost", "malformed")
    _latest: RobotMessage | None
    _run: _Run | None

    def __init__(self, config: EgmConfig | None = None) -> None:
        super().__init__(config or EgmConfig())
        self.dt = self.config.cycle
        self._ended = ""  # why EGMRunJoint ended cleanly (convergence); "" while a session runs
        self._t0 = time.monotonic()
        self._q = np.zeros(self._n)
        self._qd = np.zeros(self._n)
        self._hold_deg: NDArrayF | None = None
        self._seq_out = 0

    @classmethod
    def from_url(cls, url: RobotUrl, /, **options: Any) -> EgmDriver:
        """``abb-egm://BIND_HOST:PORT[?robot=…&sample_rate_ms=4]`` -> driver.

        ``options`` are :class:`EgmConfig` fields; the URL's query may set ``robot`` and
        ``sample_rate_ms`` (see :func:`egm_config_from_url`).
        """
        return cls(egm_config_from_url(url, **options))

    def __repr__(self) -> str:
        return f"EgmDriver({self.robot!r}, {self.config.host}:{self.config.port}, {self.config.cycle_ms} ms)"

    # --- lifecycle ------------------------------------------------------------------------
    def _connect(self, timeout: float | None) -> None:
        sock = self._bind_udp(
            self.config.host,
            self.config.port,
            "the EGM sensor address",
            "; it must be an address of this computer (the remote address of the controller's UDPUC "
            "transmission protocol entry)",
        )
        sock.settimeout(0.05)
        self._sock = sock
        self._quit.clear()
        self._fault = ""
        self._ended = ""  # why EGMRunJoint ended cleanly (convergence); "" while a session runs
        self._latest = None
        self._hold_deg = None
        self._seq_out = 0
        self._t0 = time.monotonic()
        self._start_io_thread()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._new:
            got = self._wait_first(deadline, 0.1)
        if not got:
            self._shutdown()
            raise DriverTimeoutError(
                f"no EgmRobot message from the controller on {self.config.host}:{self.config.port} "
                f"within {timeout} s: is the RAPID program in EGMRunJoint, and does the UDPUC device "
                "of EGMSetupUC name this computer and port?"
            )

    def _close(self) -> None:
        with self._lock:
            run = self._run
            if run is not None and not run.handle.done:
                self._finish(run, ExecutionOutcome.FAULTED, "driver closed during execution")
        self._shutdown()

    # --- I/O thread -----------------------------------------------------------------------
    def _loop(self) -> None:
        self._answer_loop(self._decode, self._cycle)
        self._check_silence()

    def _decode(self, data: bytes) -> RobotMessage:
        """An ``EgmRobot`` datagram of this robot (its joint count).

        Raises:
            ProtocolError: not an EgmRobot, or another number of joints.
        """
        msg = decode_robot(data)
        if msg.q_deg.shape[0] != self._n:
            raise ProtocolError(
                f"EgmRobot has {msg.q_deg.shape[0]} joints; robot {self.robot!r} has {self._n}"
            )
        return msg

    def _cycle(self, msg: RobotMessage, addr: tuple[str, int]) -> bytes:
        now = time.monotonic()
        with self._lock:
            prev = self._latest
            lost = 0
            if prev is not None and msg.seqno is not None and prev.seqno is not None:
                lost = max(0, (msg.seqno - prev.seqno - 1) % _UINT32)
                lost = lost if lost < 1000 else 0  # a restarted session, not a gap
                self.stats["lost"] += lost
            q = np.radians(msg.q_deg)
            if prev is not None and msg.tm is not None and prev.tm is not None:
                dt_ms = (msg.tm - prev.tm) % _UINT32
                if 0 < dt_ms < 1000:
                    self._qd = (q - self._q) / (dt_ms / 1000.0)
            self._q = q
            if self._hold_deg is None:
                self._hold_deg = msg.q_deg.copy()
            self._peer = addr
            self._latest = msg
            self._latest_at = now
            self.stats["messages"] += 1
            sp, qd, arc = self._setpoint(msg, lost)
            self._seq_out += 1
            reply = encode_sensor(
                self._seq_out,
                round((now - self._t0) * 1000.0),
                sp,
                qd if self.config.speed_ref else None,
                arc,
                self._dout,
            )
            self._new.notify_all()
        if lost:
            log.warning("%d EGM message(s) from the controller lost (seqno %s)", lost, msg.seqno)
        return reply

    def _arc_bit(self) -> bool:
        a = self.config.arc_output
        return a is not None and bool(self._dout >> a & 1)

    def _setpoint(self, msg: RobotMessage, lost: int) -> tuple[NDArrayF, NDArrayF, bool]:
        """Set-point [deg], speed [deg/s] and arc flag of this cycle; advances the run (lock held)."""
        hold = self._hold_deg
        assert hold is not None  # mypy
        run = self._run
        if msg.mci_running:
            self._ended = ""  # a (new) EGMRunJoint runs
        if run is None or run.handle.done:
            if self._converged_end(msg) and not self._ended:
                self._ended = self._session_ended(msg)
                log.info("EGM session ended on the controller: %s", self._ended)
            return hold, np.zeros(self._n), self._arc_bit()
        ended = self._session_ended(msg)
        if ended:
            self._finish(run, ExecutionOutcome.FAULTED, ended, "EGM session ended")
            return hold, np.zeros(self._n), False
        run.underruns += lost
        run.advance(self.config.cycle / self.config.stop_time)
        sp, qd, arc = run.setpoint_speed()
        self._set_arc(arc)
        self._hold_deg = sp
        run.report()
        if run.at_end:
            self._finish(run, ExecutionOutcome.COMPLETED, "")
        elif run.stopped:
            self._finish(run, ExecutionOutcome.STOPPED, "stop requested")
        return sp, qd, self._arc_bit()

    @staticmethod
    def _converged_end(msg: RobotMessage) -> bool:
        """The message is the last one of an ``EGMRunJoint`` that finished by convergence."""
        return msg.mci_running is False and msg.converged is True and msg.rapid_running is True

    @staticmethod
    def _session_ended(msg: RobotMessage) -> str:
        if EgmDriver._converged_end(msg):
            return (
                "EGMRunJoint finished: the convergence condition held for \\CondTime (mciState STOPPED, "
                "mciConvergenceMet); during a motion this means \\CondTime or the egm_minmax ranges are "
                "too small for the path's speed"
            )
        if msg.rapid_running is False:
            return "the controller reports RAPID stopped: the EGM session ended (EGMStop, program stop)"
        if msg.motors_on is False:
            return "the controller reports motors off (emergency or protective stop)"
        if msg.mci_running is False:
            return "the controller reports the EGM motion (MCI) not running: EGM ended or errored"
        return ""

    def _on_silence(self, silent: float) -> None:
        if self._ended:
            return  # after a clean end of EGMRunJoint the controller is silent by design
        if not self._fault:
            self._fault = (
                f"the controller stopped sending EGM messages {silent:.2f} s ago: the EGM session "
                "ended on the controller (CommTimeout, convergence reached, EGMStop, supervision "
                "error) or the RAPID program was stopped"
            )
            log.error("%s", self._fault)
        run = self._run
        if run is not None and not run.handle.done:
            self._finish(run, ExecutionOutcome.FAULTED, self._fault, "EGM silence")

    # --- driver hooks ---------------------------------------------------------------------
    def _state(self, timeout: float | None) -> RobotState:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._new:
            if not self._wait_first(deadline, 0.1):
                raise DriverTimeoutError(f"no EgmRobot message within {timeout} s")
            msg = self._latest
            assert msg is not None  # mypy
            live = time.monotonic() - self._latest_at <= self.config.silence
            q = self._q.copy()
            qd = self._qd.copy() if live else np.zeros(self._n)
            dout_cmd = self._dout
            fault = self._fault
            ended = self._ended
        running = live and msg.rapid_running is not False and msg.mci_running is not False
        if ended:
            mode = RobotMode.IDLE
        elif not live:
            mode = RobotMode.DISCONNECTED
        elif msg.motors_on is False:
            mode = RobotMode.IDLE
        else:
            mode = RobotMode.RUNNING
        return RobotState(
            t=(msg.tm or 0) / 1000.0,
            q=q,
            qd=qd,
            T_base_flange=self._model.fk(q),
            mode=mode,
            safety=SafetyStatus.FAULT if fault else SafetyStatus.NORMAL,
            program_running=running,
            digital_in=msg.din or 0,
            digital_out=msg.dout if msg.dout is not None else dout_cmd,
            analog_in=np.zeros(2),
            analog_out=np.zeros(2),
        )

    def _execute(self, handle: ExecutionHandle) -> None:
        with self._lock:
            if self._fault:
                handle._finish(
                    ExecutionResult(
                        ExecutionOutcome.FAULTED, handle.start_index, handle.start_index, self._fault, "EGM"
                    )
                )
                return
            if self._hold_deg is None:
                raise DriverError("the controller has not reported its joint positions yet")
            if self._ended:
                raise DriverError(
                    f"the EGM session has ended on the controller ({self._ended}); run EGMRunJoint "
                    "again (the RAPID program's EGM loop) before executing"
                )
            self._run = _Run(handle, self.config.cycle)

    def _set_analog_out(self, n: int, value: float) -> None:
        raise DriverError(
            "the EGM link carries no analog outputs; set the weld parameters on the power source "
            "(job number) instead"
        )

    # --- diagnostics ----------------------------------------------------------------------
    @property
    def session_end(self) -> str:
        """Why the controller ended ``EGMRunJoint`` cleanly (convergence; "" while a session runs)."""
        with self._lock:
            return self._ended

    @property
    def fault(self) -> str:
        """Why the EGM session is considered ended ("" while it runs)."""
        with self._lock:
            return self._fault
