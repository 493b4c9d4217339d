"""Virtual ABB controller: the robot side of EGM joint mode (EGMRunJoint) on loopback.

Every sample (``\\SampleRate``, 4 ms) :class:`VirtualEgm` sends one ``EgmRobot`` to the sensor's
address from its own socket (the robot sends first; the sensor replies to the source address):

* ``header``: sequence number (+1 per message), ``tm`` [ms] since the session started, ``mtype`` DATA;
* ``feedBack``: joints [deg], the flange pose (``cartesian``: ``pos`` [mm] and ``orient``
  quaternion u0..u3 = w, x, y, z, from forward kinematics) and the time (``EgmClock``);
* ``planned``: the joint target being followed [deg];
* ``motorState`` ON, ``mciState`` RUNNING (STOPPED / ERROR when the session ended),
  ``rapidExecState`` RUNNING (STOPPED when it ended), ``mciConvergenceMet``;
* ``RAPIDfromRobot``: ``digVal`` = the arc output, ``dnum`` = [digital-output word, digital-input word]
  (what the RAPID side of docs/drivers.md reports back).

It then reads the ``EgmSensor`` replies that arrive within the sample. A valid reply carries
``planned.joints`` with one value per axis; the newest one becomes the target. ``RAPIDtoRobot``
``dnum[0]`` sets the digital-output word (else ``digVal`` sets the arc output bit 0); it is reported
back in the next ``EgmRobot`` (``RAPIDfromRobot.dnum[0]``, ``digVal`` = bit 0), and every change is
recorded with the session time (:attr:`VirtualEgmStatus.output_log`). With ``arc_loopback = (DO, DI,
delay)`` the input bit ``DI`` of the reported input word follows output bit ``DO`` after ``delay``
seconds, like a power source's "arc established" answering the RAPID side's arc-on output.

Joint plant: the actual position reaches the previous sample's command (one sample of delay);
the command moves toward the target at most at the axis speed limits (EGM clamps the speed, like
``\\MaxSpeedDeviation``; each clamped sample is counted). A target outside the axis ranges is an EGM
error ("reference out of bounds"): the session ends with MCI_ERROR and the robot stands still.
When no valid sensor message came for ``comm_timeout`` seconds the session ends (``\\CommTimeout``;
before the sensor's first reply ``start_timeout`` applies):
one last message reports RAPID and the MCI stopped, then the controller falls silent.

Session end by convergence (the normal end of ``EGMRunJoint``): the convergence condition is every
axis within ``convergence_deg`` of the sensor's target (``EGMActJoint \\J1 … \\J6`` ``egm_minmax``
ranges) and is reported every sample as ``mciConvergenceMet``. With ``cond_time`` set
(``EGMRunJoint \\CondTime``), once it has held for ``cond_time`` seconds ``EGMRunJoint`` finishes:
one last message reports ``mciState`` STOPPED with ``mciConvergenceMet`` true while
``rapidExecState`` stays RUNNING (the RAPID program goes on past ``EGMRunJoint``), then the controller
falls silent (no ``EGMStreamStart``). The sensor tells this clean end from the faults above by those
three fields. (RAPID's ``EGMGetState`` reports the same on the controller side: EGM_STATE_CONNECTED
again after EGM_STATE_RUNNING; it is not part of the EgmRobot message.)
"""

from __future__ import annotations

import logging
import math
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from google.protobuf.message import DecodeError

from weldcell.drivers.abb import egm_messages
from weldcell.drivers.abb.config import DEFAULT_PORT, EgmConfigError, check_sample_rate
from weldcell.spatial.se3 import quat_wxyz_from_rotation

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]

_DATA, _CORRECTION = 2, 3
_MOTORS_ON = 1
_MCI_ERROR, _MCI_STOPPED, _MCI_RUNNING = 1, 2, 3
_RAPID_STOPPED, _RAPID_RUNNING = 1, 2


@dataclass(frozen=True)
class VirtualEgmConfig:
    """Settings of the virtual ABB controller (robot side of an EGM joint session).

    Attributes:
        robot: weldcell robot model name (axis ranges and speeds come from its spec).
        sensor_host, sensor_port: The UDPUC device's remote address (where messages go).
        bind_host: Local address the controller sends from (ephemeral port).
        cycle: ``\\SampleRate`` [s], a multiple of 0.004.
        comm_timeout: ``\\CommTimeout`` [s]: the session ends after this long without a valid reply.
        start_timeout: Time [s] the sensor has for its first valid reply after the session started
            (a cell starts EGM when its sensor is up; tests and demos start both at once); after the
            first reply ``comm_timeout`` applies. None: ``comm_timeout`` from the start.
        q_start_deg: Joint positions [deg] where the EGM session starts (the RAPID program's MoveAbsJ).
        din: Digital-input word reported in ``RAPIDfromRobot.dnum[1]``.
        speed_margin: Commands up to ``speed_margin`` × the model's speed limits pass unclamped.
        convergence_deg: ``mciConvergenceMet`` is true when every axis is this close to the target [deg].
        cond_time: ``EGMRunJoint \\CondTime`` [s]: the session ends cleanly once the convergence
            condition has held this long (see module docstring); None: it never ends by convergence.
        arc_loopback: (output bit, input bit, delay [s]): input bit ``DI`` follows output bit ``DO``
            after the delay (a simulated "arc established"); None: off.
    """

    robot: str = "irb1520id"
    sensor_host: str = "127.0.0.1"
    sensor_port: int = DEFAULT_PORT
    bind_host: str = "127.0.0.1"
    cycle: float = 0.004
    comm_timeout: float = 1.0
    start_timeout: float | None = 10.0
    q_start_deg: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 60.0, 0.0)
    din: int = 0
    speed_margin: float = 1.05
    convergence_deg: float = 0.1
    cond_time: float | None = None
    arc_loopback: tuple[int, int, float] | None = None

    def __post_init__(self) -> None:
        """Reject settings that cannot work.

        Raises:
            EgmConfigError: bad port, sample rate, CommTimeout or start pose.
        """
        if not (isinstance(self.sensor_port, int) and 1 <= self.sensor_port <= 65535):
            raise EgmConfigError(f"virtual EGM sensor_port {self.sensor_port!r}: expected 1 … 65535")
        check_sample_rate(self.cycle, "virtual EGM cycle")
        if not (math.isfinite(self.comm_timeout) and self.comm_timeout > 0):
            raise EgmConfigError(f"virtual EGM comm_timeout {self.comm_timeout!r}: expected seconds > 0")
        if self.start_timeout is not None and not (
            math.isfinite(self.start_timeout) and self.start_timeout > 0
        ):
            raise EgmConfigError(f"virtual EGM start_timeout {self.start_timeout!r}: expected seconds > 0")
        if self.cond_time is not None and not (math.isfinite(self.cond_time) and self.cond_time > 0):
            raise EgmConfigError(f"virtual EGM cond_time {self.cond_time!r}: expected seconds > 0 or None")
        if not all(math.isfinite(v) for v in self.q_start_deg):
            raise EgmConfigError(
                f"virtual EGM q_start_deg {self.q_start_deg!r}: expected finite angles [deg]"
            )
        if self.arc_loopback is not None:
            loop = self.arc_loopback
            ok = len(loop) == 3 and all(isinstance(b, int) and 0 <= b <= 31 for b in loop[:2])
            if not ok or not (isinstance(loop[2], int | float) and math.isfinite(loop[2]) and loop[2] >= 0):
                raise EgmConfigError(
                    f"virtual EGM arc_loopback {loop!r}: expected (output bit 0 … 31, input bit 0 … 31, "
                    "delay ≥ 0 s)"
                )


@dataclass
class VirtualEgmStatus:
    """Counters and state of the virtual controller (a snapshot).

    Attributes:
        cycles: EgmRobot messages sent.
        accepted: Valid EgmSensor replies used.
        missed: Samples without a valid reply.
        invalid: Datagrams that were no valid EgmSensor (undecodable, wrong type, wrong axis count).
        clamped: Samples whose commanded motion was clamped to the axis speed limits.
        sensor_seq_gaps: Forward jumps in the sensor's header sequence numbers (lost or skipped replies).
        running: The EGM session is still running.
        stop_reason: Why it ended ("" while running).
        q_deg: Actual joint positions [deg].
        target_deg: Joint target being followed [deg].
        dout: Digital-output word.
        overruns: Samples this process started more than a sample late (host load; schedule re-based).
        din: Digital-input word reported (the configured word with the arc loopback's bit).
        output_log: Every change of the digital-output word as (session time [ms], new word), oldest
            first.
        converged: The session ended by its convergence condition (``EGMRunJoint`` finished).
    """

    cycles: int = 0
    accepted: int = 0
    missed: int = 0
    invalid: int = 0
    clamped: int = 0
    sensor_seq_gaps: int = 0
    running: bool = True
    stop_reason: str = ""
    q_deg: list[float] = field(default_factory=list)
    target_deg: list[float] = field(default_factory=list)
    dout: int = 0
    overruns: int = 0
    din: int = 0
    output_log: list[tuple[int, int]] = field(default_factory=list)
    converged: bool = False


class VirtualEgm:
    """The robot side of EGM (see module docstring). ``start()`` runs it in a thread; ``stop()`` ends it.

    Args:
        config: Controller settings.
        messages: Where the protobuf classes ``EgmRobot`` and ``EgmSensor`` come from (default:
            :mod:`weldcell.drivers.abb.egm_messages`; tests pass another package's ``egm_pb2``).
    """

    def __init__(self, config: VirtualEgmConfig | None = None, messages: Any = None) -> None:
        from weldcell.kinematics import load_robot

        self.config = config or VirtualEgmConfig()
        self._msgs = messages if messages is not None else egm_messages
        model = load_robot(self.config.robot)
        self._model = model
        self._n = model.n_joints
        self._lo = np.degrees(np.asarray(model.q_lower, dtype=np.float64))
        self._hi = np.degrees(np.asarray(model.q_upper, dtype=np.float64))
        self._vmax = np.degrees(np.asarray(model.qd_max, dtype=np.float64)) * self.config.speed_margin
        q0 = np.asarray(self.config.q_start_deg, dtype=np.float64)
        if q0.shape != (self._n,):
            raise EgmConfigError(
                f"virtual EGM q_start_deg has {q0.shape[0]} values; "
                f"robot {self.config.robot!r} has {self._n} axes"
            )
        bad = (q0 < self._lo) | (q0 > self._hi)
        if np.any(bad):
            j = int(np.argmax(bad))
            raise EgmConfigError(
                f"virtual EGM start pose axis {j + 1} = {q0[j]:.2f}° is outside the axis range "
                f"[{self._lo[j]:.1f}, {self._hi[j]:.1f}]°"
            )
        self._cmd = q0.copy()
        self._act = q0.copy()
        self._target = q0.copy()
        self._dout = 0
        self._t_session = 0.0  # session time of the current sample [s]
        self._loop_in = False  # the arc loopback's input bit
        self._loop_pending: tuple[bool, float] | None = None  # (new value, monotonic time due)
        self._mci = _MCI_RUNNING
        self._rapid_running = True
        self._converged_since: float | None = None
        self._seq = 0
        self._sensor_seq: int | None = None
        self._lock = threading.Lock()
        self._status = VirtualEgmStatus(q_deg=q0.tolist(), target_deg=q0.tolist())
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((self.config.bind_host, 0))
        self._sock.setblocking(False)
        self.done = threading.Event()

    @property
    def address(self) -> tuple[str, int]:
        """The controller's source address (host, ephemeral port)."""
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    def status(self) -> VirtualEgmStatus:
        """A snapshot of the counters and positions."""
        with self._lock:
            s = self._status
            return VirtualEgmStatus(
                s.cycles, s.accepted, s.missed, s.invalid, s.clamped, s.sensor_seq_gaps, s.running,
                s.stop_reason, self._act.tolist(), self._target.tolist(), self._dout, s.overruns,
                self._din(), list(s.output_log), s.converged,
            )  # fmt: skip

    def set_din(self, value: int) -> None:
        """Set the digital-input word reported in ``RAPIDfromRobot.dnum[1]``."""
        from dataclasses import replace

        with self._lock:
            self.config = replace(self.config, din=int(value))

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the EGM session (one thread)."""
        self._thread = threading.Thread(target=self.run, name="virtual-egm", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> VirtualEgmStatus:
        """Stop (if running), close the socket and return the final status."""
        self._quit.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self._sock.close()
        with self._lock:
            if self._status.running:
                self._status.running = False
                self._status.stop_reason = "stopped by the operator"
        return self.status()

    def __enter__(self) -> VirtualEgm:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- controller loop --------------------------------------------------------------------
    def run(self, duration: float | None = None) -> VirtualEgmStatus:
        """Run the EGM session in the calling thread until stopped, ended or ``duration`` [s]."""
        cfg = self.config
        dest = (cfg.sensor_host, cfg.sensor_port)
        t0 = time.monotonic()
        last_valid = t0
        replied = False
        k = 0
        try:
            while not self._quit.is_set():
                cycle_start = t0 + k * cfg.cycle
                if duration is not None and cycle_start - t0 >= duration:
                    break
                now = time.monotonic()
                if cycle_start > now:
                    time.sleep(cycle_start - now)
                elif now - cycle_start > cfg.cycle:
                    # this process fell behind its clock (host load): re-base the schedule
                    shift = now - cycle_start
                    t0 += shift
                    last_valid += shift  # our lateness is not the sensor's silence
                    with self._lock:
                        self._status.overruns += 1
                with self._lock:
                    self._t_session = time.monotonic() - t0
                    self._step_loopback()
                    msg = self._robot_message(self._t_session)
                self._send(msg, dest)
                got = self._await_reply(t0 + (k + 1) * cfg.cycle)  # replies until the next sample
                now = time.monotonic()
                with self._lock:
                    self._status.cycles += 1
                    if got:
                        last_valid = now
                        replied = True
                    else:
                        self._status.missed += 1
                    limit = cfg.comm_timeout
                    if not replied and cfg.start_timeout is not None:
                        limit = max(limit, cfg.start_timeout)
                    if now - last_valid > limit:
                        what = "valid sensor message" if replied else "reply from the sensor since the start"
                        self._end(
                            f"EGM CommTimeout: no {what} for {now - last_valid:.2f} s "
                            f"(\\CommTimeout {cfg.comm_timeout:g} s); EGM session ended",
                            _MCI_STOPPED,
                        )
                    else:
                        self._step()
                        # on the session clock (re-based over this process's stalls, like ``tm``):
                        # a stall does not count as time the convergence held
                        self._check_convergence(now - t0)
                    ended = not self._status.running
                    final = self._robot_message(now - t0) if ended else None
                if final is not None:
                    self._send(final, dest)  # the last message reports RAPID / MCI stopped
                    break
                k += 1
        finally:
            self.done.set()
        return self.status()

    def _send(self, data: bytes, dest: tuple[str, int]) -> None:
        try:
            self._sock.sendto(data, dest)
        except OSError as err:
            log.debug("EgmRobot to %s:%d not delivered: %s", dest[0], dest[1], err)

    def _robot_message(self, t: float) -> bytes:
        """The EgmRobot of this sample (lock held)."""
        m = self._msgs.EgmRobot()
        self._seq += 1
        m.header.seqno = self._seq & 0xFFFFFFFF
        m.header.tm = int(t * 1000.0) & 0xFFFFFFFF
        m.header.mtype = _DATA
        fb = m.feedBack
        fb.joints.joints.extend(self._act.tolist())
        T = self._model.fk(np.radians(self._act))
        pos = T[:3, 3] * 1000.0
        fb.cartesian.pos.x, fb.cartesian.pos.y, fb.cartesian.pos.z = (float(v) for v in pos)
        w, x, y, z = (float(v) for v in quat_wxyz_from_rotation(T[:3, :3]))
        fb.cartesian.orient.u0, fb.cartesian.orient.u1, fb.cartesian.orient.u2, fb.cartesian.orient.u3 = (
            w,
            x,
            y,
            z,
        )
        wall = time.time()
        fb.time.sec = int(wall)
        fb.time.usec = int((wall - int(wall)) * 1e6)
        m.planned.joints.joints.extend(self._target.tolist())
        m.motorState.state = _MOTORS_ON
        m.mciState.state = self._mci
        m.rapidExecState.state = _RAPID_RUNNING if self._rapid_running else _RAPID_STOPPED
        m.mciConvergenceMet = bool(np.all(np.abs(self._target - self._act) <= self.config.convergence_deg))
        m.RAPIDfromRobot.digVal = bool(self._dout & 1)
        m.RAPIDfromRobot.dnum.extend([float(self._dout), float(self._din())])
        data: bytes = m.SerializeToString()
        return data

    def _await_reply(self, deadline: float) -> bool:
        """Read the replies that arrive before ``deadline``; True if a valid one was applied."""
        got = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return got
            ready, _, _ = select.select([self._sock], [], [], remaining)
            if not ready:
                continue
            try:
                data, _addr = self._sock.recvfrom(65535)
            except OSError:
                continue
            with self._lock:
                if self._apply_reply(data):
                    got = True

    def _apply_reply(self, data: bytes) -> bool:
        """Decode and apply one EgmSensor datagram (lock held); False if it is not valid."""
        st = self._status
        m = self._msgs.EgmSensor()
        try:
            m.ParseFromString(data)
        except DecodeError:
            st.invalid += 1
            return False
        if m.HasField("header") and m.header.HasField("mtype") and m.header.mtype != _CORRECTION:
            st.invalid += 1
            return False
        joints = (
            list(m.planned.joints.joints) if m.HasField("planned") and m.planned.HasField("joints") else []
        )
        if len(joints) != self._n or not all(math.isfinite(v) for v in joints):
            st.invalid += 1
            return False
        if m.HasField("header") and m.header.HasField("seqno"):
            seq = int(m.header.seqno)
            if self._sensor_seq is not None and seq > self._sensor_seq + 1:
                st.sensor_seq_gaps += 1  # (a smaller number: the sensor restarted its count)
            self._sensor_seq = seq
        target = np.asarray(joints, dtype=np.float64)
        lo = target < self._lo
        hi = target > self._hi
        if np.any(lo | hi):
            j = int(np.argmax(lo | hi))
            self._end(
                f"EGM error: reference out of bounds, axis {j + 1} target {target[j]:.3f}° outside "
                f"[{self._lo[j]:.1f}, {self._hi[j]:.1f}]°; EGM session ended",
                _MCI_ERROR,
            )
            return True
        self._target = target
        if m.HasField("RAPIDtoRobot"):
            dnum = list(m.RAPIDtoRobot.dnum)
            if dnum and math.isfinite(dnum[0]) and dnum[0] >= 0:
                self._set_outputs(int(dnum[0]))
            elif m.RAPIDtoRobot.HasField("digVal"):
                self._set_outputs((self._dout | 1) if m.RAPIDtoRobot.digVal else (self._dout & ~1))
        st.accepted += 1
        return True

    def _din(self) -> int:
        """The reported digital-input word: the configured one with the arc loopback's bit (lock held)."""
        loop = self.config.arc_loopback
        if loop is None:
            return self.config.din
        bit = 1 << loop[1]
        return (self.config.din | bit) if self._loop_in else (self.config.din & ~bit)

    def _set_outputs(self, dout: int) -> None:
        """New digital-output word from the sensor: log a change, arm the arc loopback (lock held)."""
        if dout != self._dout:
            self._status.output_log.append((round(self._t_session * 1000.0), dout))
        self._dout = dout
        loop = self.config.arc_loopback
        if loop is None:
            return
        want = bool(dout >> loop[0] & 1)
        if want == self._loop_in:
            self._loop_pending = None
        elif self._loop_pending is None or self._loop_pending[0] != want:
            self._loop_pending = (want, time.monotonic() + loop[2])

    def _step_loopback(self) -> None:
        """Apply a pending arc-loopback input change whose delay has passed (lock held)."""
        p = self._loop_pending
        if p is not None and time.monotonic() >= p[1]:
            self._loop_in = p[0]
            self._loop_pending = None

    def _step(self) -> None:
        """Advance the joint plant by one sample (lock held)."""
        if not self._status.running:
            return
        self._act = self._cmd.copy()  # one sample of delay
        step = self._target - self._cmd
        limit = self._vmax * self.config.cycle
        if np.any(np.abs(step) > limit):
            self._status.clamped += 1
            step = np.clip(step, -limit, limit)
        self._cmd = np.clip(self._cmd + step, self._lo, self._hi)

    def _check_convergence(self, now: float) -> None:
        """End ``EGMRunJoint`` once the convergence condition held for ``cond_time`` (lock held).

        Args:
            now: Session time [s] (the clock of ``header.tm``).
        """
        cond = self.config.cond_time
        if cond is None or not self._status.running:
            return
        if not np.all(np.abs(self._target - self._act) <= self.config.convergence_deg):
            self._converged_since = None
            return
        if self._converged_since is None:
            self._converged_since = now
        elif now - self._converged_since >= cond:
            self._end(
                f"EGMRunJoint finished: convergence condition (every axis within "
                f"{self.config.convergence_deg:g}° of the target) held for \\CondTime {cond:g} s",
                _MCI_STOPPED,
                rapid_running=True,
            )
            self._status.converged = True

    def _end(self, reason: str, mci: int, rapid_running: bool = False) -> None:
        if not self._status.running:
            return
        self._rapid_running = rapid_running
        self._status.running = False
        self._status.stop_reason = reason
        self._mci = mci
        self._cmd = self._act.copy()  # the robot stands still
        log.log(logging.INFO if rapid_running else logging.ERROR, "virtual ABB controller: %s", reason)


def start_virtual_egm(config: VirtualEgmConfig, messages: Any = None) -> VirtualEgm:
    """Create and start a :class:`VirtualEgm` in a background thread."""
    ctrl = VirtualEgm(config, messages)
    ctrl.start()
    return ctrl
