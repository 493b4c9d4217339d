"""Virtual KUKA robot controller: the robot side of RSI (Ethernet object + AXISCORR) on loopback.

Each interpolation cycle (4 ms ``IPO_FAST`` or 12 ms ``IPO``) :class:`VirtualKrc` sends one
``<Rob Type="KUKA">`` telegram to the sensor's address (``RIst`` from forward kinematics, ``AIPos``,
``ASPos``, ``Delay``, ``DiL``, ``DoutW``, ``IPOC``) from its own socket, then waits until the end
of the cycle for the ``<Sen>`` reply. A reply counts only if it is well-formed XML, its ``Type``
equals SENTYPE and it echoes this cycle's IPOC; anything else is a late or invalid packet:

* the late-packet counter (reported in ``Delay``) counts up, and each RECEIVE channel applies its
  HOLDON rule: ``1`` keeps the last valid value at the output, ``0`` resets it to 0 (absolute
  correction 0 = back to the start pose, relative increment 0 = stand still);
* when the counter exceeds the ETHERNET object's ``Timeout``, RSI breaks off like the real
  controller: "Signal flow (running): Object ETHERNET1 returns error RSITimeout" and
  "KSS29002 Stop by $CORRECTION function"; motion stops and no further telegram is sent.

Ending the session (the STOP object of the exported context, ``KrcConfig.stop_object``): an accepted
reply with ``<Stop>1</Stop>`` makes RSI_MOVECORR() return; the KRL program reaches RSI_OFF
``off_cycles`` cycles later (telegrams go on until then, counted as usual), then RSI ends: no further
telegram, no late-packet counting, ``KrcStatus.ended_by_sensor`` and the stop reason
:data:`RSI_ENDED_MESSAGE`. Stop is latched (a STOP object does not un-trigger) and only taken from a
valid reply (a late or invalid one is dropped like its corrections).

Axis corrections (AKorr [deg]) are absolute (offset from the axis position RSI started at) or
relative (increment per cycle), as the AXISCORR object is configured. The set-point must stay inside
the model's axis ranges (software limit switches) and speeds, else the controller stops with a
message naming the axis. The plant is the set-point delayed by one cycle (``AIPos`` lags ``ASPos``).
Replies to earlier cycles that arrive late are discarded (they were counted in their own cycle).
Whether a reply is in time is judged by its kernel receive time stamp (Linux ``SO_TIMESTAMPNS``), not
by when this process gets to read it: on a loaded machine the simulated controller's own scheduling
delays are not charged to the sensor.

Digital outputs: the ``DiO`` of the accepted replies is the controller's output state (MAP2DIGOUT to
``$OUT``), reported back in ``DoutW`` of the next telegram; every change is recorded with its IPOC
(:attr:`KrcStatus.output_log`). With ``arc_loopback = (DO, DI, delay)`` the input bit ``DI`` in
``DiL`` follows output bit ``DO`` after ``delay`` seconds, like a power source's "arc established"
answering the robot's "arc on" (the virtual UR controller's ``arc_loopback``).
"""

from __future__ import annotations

import logging
import math
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from weldcell.drivers.kuka.config import CYCLES, RsiConfigError
from weldcell.drivers.kuka.rsi_xml import AXES, decode_sen, encode_rob
from weldcell.errors import ProtocolError

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]

#: Socket option for kernel receive time stamps (struct timespec), Linux only.
_SO_TIMESTAMPNS: int | None = getattr(socket, "SO_TIMESTAMPNS", None)

RSI_ENDED_MESSAGE = (
    "RSI ended by the sensor: STOP object (Stop=1) ended RSI_MOVECORR(), RSI_OFF, program ended normally"
)

RSI_TIMEOUT_MESSAGE = (
    "Signal flow (running): Object ETHERNET1 returns error RSITimeout; KSS29002 Stop by $CORRECTION function"
)


@dataclass(frozen=True)
class KrcConfig:
    """Settings of the virtual controller (robot side of the RSI context).

    Attributes:
        robot: weldcell robot model name (axis ranges and speeds come from its spec).
        sensor_host, sensor_port: The sensor's IP_NUMBER and PORT (where telegrams go).
        bind_host: Local address the controller sends from (ephemeral port).
        cycle: 0.004 (IPO_FAST) or 0.012 (IPO) [s].
        mode: AXISCORR mode, ``"absolute"`` or ``"relative"``.
        sentype: Expected ``Type`` of the replies.
        timeout_packets: ETHERNET ``Timeout``: late packets tolerated before RSI breaks off.
        holdon: HOLDON of the AKorr channels (None: 1 in absolute mode, 0 in relative mode).
        holdon_dio: HOLDON of the DiO channel.
        q_start_deg: Axis positions A1 … A6 [deg] where RSI starts (the KRL program's PTP target).
        digin: Digital inputs reported in ``DiL`` (bit mask).
        ipoc_start: First IPOC [ms].
        speed_margin: Commanded axis speeds up to ``speed_margin`` × the model's limits are accepted.
        arc_loopback: (output bit, input bit, delay [s]): ``DiL`` bit ``DI`` follows ``DiO`` bit ``DO``
            after the delay (a simulated "arc established"); None: off.
        stop_object: The context has the STOP object on the ``<Stop>`` element (as exported); False:
            ``<Stop>`` is ignored like any element the configuration does not name.
        off_cycles: Telegrams sent after the accepted Stop=1 before RSI_OFF ends the session ≥ 0.
    """

    robot: str = "kr10_r1420"
    sensor_host: str = "127.0.0.1"
    sensor_port: int = 59152
    bind_host: str = "127.0.0.1"
    cycle: float = 0.004
    mode: Literal["absolute", "relative"] = "absolute"
    sentype: str = "ImFree"
    timeout_packets: int = 100
    holdon: int | None = None
    holdon_dio: int = 1
    q_start_deg: tuple[float, ...] = (0.0, -90.0, 90.0, 0.0, 60.0, 0.0)
    digin: int = 0
    ipoc_start: int = 100000
    speed_margin: float = 1.05
    arc_loopback: tuple[int, int, float] | None = None
    stop_object: bool = True
    off_cycles: int = 2

    def __post_init__(self) -> None:
        """Reject settings that cannot work.

        Raises:
            RsiConfigError: bad port, cycle, mode, HOLDON or start pose.
        """
        if not 1 <= self.sensor_port <= 65535:
            raise RsiConfigError(f"virtual KRC sensor_port {self.sensor_port}: expected 1 … 65535")
        if not any(math.isclose(self.cycle, c) for c in CYCLES):
            raise RsiConfigError(f"virtual KRC cycle {self.cycle} s: expected 0.004 or 0.012")
        if self.mode not in ("absolute", "relative"):
            raise RsiConfigError(f"virtual KRC mode {self.mode!r}: expected 'absolute' or 'relative'")
        if self.holdon not in (None, 0, 1) or self.holdon_dio not in (0, 1):
            raise RsiConfigError("virtual KRC HOLDON values must be 0 or 1")
        if len(self.q_start_deg) != 6 or not all(math.isfinite(v) for v in self.q_start_deg):
            raise RsiConfigError(
                f"virtual KRC q_start_deg {self.q_start_deg!r}: expected 6 finite angles [deg]"
            )
        if not (isinstance(self.off_cycles, int) and self.off_cycles >= 0):
            raise RsiConfigError(f"virtual KRC off_cycles {self.off_cycles!r}: expected an integer ≥ 0")
        if self.timeout_packets < 0:
            raise RsiConfigError(f"virtual KRC timeout_packets {self.timeout_packets}: expected ≥ 0")
        if self.arc_loopback is not None:
            loop = self.arc_loopback
            ok = len(loop) == 3 and all(isinstance(b, int) and 0 <= b <= 31 for b in loop[:2])
            if not ok or not (math.isfinite(loop[2]) and loop[2] >= 0):
                raise RsiConfigError(
                    f"virtual KRC arc_loopback {loop!r}: expected (DiO bit 0 … 31, DiL bit 0 … 31, "
                    "delay ≥ 0 s)"
                )

    @property
    def cycle_ms(self) -> int:
        """Cycle in ms (the IPOC step)."""
        return round(self.cycle * 1000)


@dataclass
class KrcStatus:
    """Counters and state of the virtual controller (a snapshot).

    Attributes:
        cycles: Telegrams sent.
        accepted: Valid replies in their cycle.
        late: Late or invalid packets (the ``Delay`` value).
        invalid: Of those, replies that arrived in time but were malformed, of the wrong SENTYPE or
            carried a wrong IPOC.
        stale: Replies to earlier cycles discarded.
        running: RSI still running.
        stop_reason: Why it stopped ("" while running).
        q_deg: Actual axis positions [deg].
        setpoint_deg: Set-point axis positions [deg].
        dout: Digital outputs (bit mask).
        overruns: Cycles this process started more than a cycle late (host load; schedule re-based).
        digin: Digital inputs reported in ``DiL`` (bit mask, with the arc loopback).
        output_log: Every change of the outputs as (IPOC [ms], new bit mask), oldest first.
        ended_by_sensor: RSI ended normally on the sensor's Stop=1 (STOP object, RSI_OFF).
    """

    cycles: int = 0
    accepted: int = 0
    late: int = 0
    invalid: int = 0
    stale: int = 0
    running: bool = True
    stop_reason: str = ""
    q_deg: list[float] = field(default_factory=list)
    setpoint_deg: list[float] = field(default_factory=list)
    dout: int = 0
    overruns: int = 0
    digin: int = 0
    output_log: list[tuple[int, int]] = field(default_factory=list)
    ended_by_sensor: bool = False


class VirtualKrc:
    """The robot side of RSI (see module docstring). ``start()`` runs it in a thread; ``stop()`` ends it."""

    def __init__(self, config: KrcConfig | None = None) -> None:
        from weldcell.kinematics import load_robot

        self.config = config or KrcConfig()
        model = load_robot(self.config.robot)
        if model.n_joints != 6:
            raise RsiConfigError(f"virtual KRC drives 6 axes; {self.config.robot!r} has {model.n_joints}")
        self._model = model
        self._lo = np.degrees(np.asarray(model.q_lower, dtype=np.float64))
        self._hi = np.degrees(np.asarray(model.q_upper, dtype=np.float64))
        self._vmax = np.degrees(np.asarray(model.qd_max, dtype=np.float64)) * self.config.speed_margin
        q0 = np.asarray(self.config.q_start_deg, dtype=np.float64)
        bad = (q0 < self._lo) | (q0 > self._hi)
        if np.any(bad):
            j = int(np.argmax(bad))
            raise RsiConfigError(
                f"virtual KRC start pose A{j + 1} = {q0[j]:.2f}° is outside the axis range "
                f"[{self._lo[j]:.1f}, {self._hi[j]:.1f}]°"
            )
        self._base = q0.copy()
        self._set = q0.copy()
        self._act = q0.copy()
        self._corr_out = np.zeros(6)  # AKorr output of the ETHERNET object (after HOLDON)
        self._dio_out = 0
        self._lock = threading.Lock()
        self._status = KrcStatus(q_deg=q0.tolist(), setpoint_deg=q0.tolist())
        self._ipoc = self.config.ipoc_start
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((self.config.bind_host, 0))
        self._sock.setblocking(False)
        self._stamps = False  # kernel receive time stamps (Linux SO_TIMESTAMPNS) available
        if _SO_TIMESTAMPNS is not None:
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
                self._stamps = True
            except OSError:
                self._stamps = False
        self._hold_axes = (
            self.config.holdon if self.config.holdon is not None else int(self.config.mode == "absolute")
        )
        self.done = threading.Event()
        self._loop_in = False  # arc loopback: the input bit now
        self._loop_pending: tuple[bool, float] | None = None  # (new input value, when it applies)
        self._stop_left: int | None = None  # telegrams until RSI_OFF once Stop=1 was accepted

    @property
    def address(self) -> tuple[str, int]:
        """The controller's source address (host, ephemeral port)."""
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    def status(self) -> KrcStatus:
        """A snapshot of the counters and positions."""
        with self._lock:
            s = self._status
            return KrcStatus(
                s.cycles, s.accepted, s.late, s.invalid, s.stale, s.running, s.stop_reason,
                self._act.tolist(), self._set.tolist(), self._dio_out, s.overruns,
                self._digin(), list(s.output_log), s.ended_by_sensor,
            )  # fmt: skip

    def set_digin(self, value: int) -> None:
        """Set the digital inputs reported in ``DiL``."""
        with self._lock:
            self.config = _replace_digin(self.config, value)

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start sending telegrams (one thread)."""
        self._thread = threading.Thread(target=self.run, name="virtual-krc", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> KrcStatus:
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

    def __enter__(self) -> VirtualKrc:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- controller loop --------------------------------------------------------------------
    def run(self, duration: float | None = None) -> KrcStatus:
        """Run the interpolation loop in the calling thread until stopped, broken off or ``duration`` [s]."""
        cfg = self.config
        dest = (cfg.sensor_host, cfg.sensor_port)
        t0 = time.monotonic()
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
                    # this process fell behind its clock (host load): a real controller does not, so
                    # re-base the schedule instead of charging the sensor with our lateness
                    t0 += now - cycle_start
                    with self._lock:
                        self._status.overruns += 1
                ipoc = self._ipoc
                with self._lock:
                    self._step_loopback()
                    tel = self._telegram(ipoc)
                try:
                    self._sock.sendto(tel, dest)
                except OSError as err:
                    log.debug("telegram to %s:%d not delivered: %s", dest[0], dest[1], err)
                # the reply window is one cycle from the moment the telegram left
                reply = self._await_reply(ipoc, time.monotonic() + cfg.cycle, time.time() + cfg.cycle)
                with self._lock:
                    self._status.cycles += 1
                    stop = self._apply(reply)
                self._ipoc += cfg.cycle_ms
                k += 1
                if stop:
                    break
        finally:
            self.done.set()
        return self.status()

    def _telegram(self, ipoc: int) -> bytes:
        T = self._model.fk(np.radians(self._act))
        xyz = T[:3, 3] * 1000.0
        # KUKA A, B, C: rotations about Z, Y, X (ZYX Euler angles) [deg]
        R = T[:3, :3]
        b = math.degrees(math.asin(max(-1.0, min(1.0, -R[2, 0]))))
        a = math.degrees(math.atan2(R[1, 0], R[0, 0]))
        c = math.degrees(math.atan2(R[2, 1], R[2, 2]))
        return encode_rob(
            ipoc,
            rist=(*xyz.tolist(), a, b, c),
            aipos=self._act.tolist(),
            aspos=self._set.tolist(),
            delay=self._status.late,
            digin=self._digin(),
            dout=self._dio_out,
        )

    def _await_reply(
        self, ipoc: int, deadline: float, deadline_wall: float
    ) -> tuple[str, dict[str, float], int | None, bool] | str | None:
        """The valid reply of cycle ``ipoc`` as (kind, akorr, dio, stop); None if none came; "invalid" if one
        arrived but failed the checks (and no valid one followed before the deadline).

        A reply is in time when the kernel received it before the end of the window (its receive time
        stamp, ``deadline_wall`` on the wall clock): when this process itself is scheduled late, the
        replies that arrived in time are still read and accepted; a real controller's clock does not
        depend on the load of the machine it is simulated on.
        """
        invalid = False
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._sock], [], [], max(0.0, remaining))
            if not ready:
                if remaining <= 0:
                    return "invalid" if invalid else None
                continue
            try:
                data, arrived = self._recv()
            except OSError:
                continue
            if arrived > deadline_wall:
                # after the window: this cycle is late; a reply to it is discarded like a stale one
                with self._lock:
                    self._status.stale += 1
                return "invalid" if invalid else None
            try:
                sen = decode_sen(data)
            except ProtocolError as err:
                log.debug("invalid RSI reply: %s", err)
                invalid = True
                continue
            if sen.sen_type != self.config.sentype:
                log.debug("reply of SENTYPE %r, expected %r", sen.sen_type, self.config.sentype)
                invalid = True
                continue
            try:
                echoed = int(sen.ipoc_text)
            except ValueError:
                invalid = True
                continue
            if echoed != ipoc:
                earlier = echoed < ipoc and (ipoc - echoed) % self.config.cycle_ms == 0
                if earlier:
                    with self._lock:
                        self._status.stale += 1
                else:
                    invalid = True
                continue
            return ("ok", sen.akorr, sen.dio, bool(sen.stop))

    def _recv(self) -> tuple[bytes, float]:
        """One datagram and the wall-clock time [s] the kernel received it (now, without time stamps)."""
        if not self._stamps:
            data = self._sock.recv(65535)
            return data, time.time()
        data, ancdata, _flags, _addr = self._sock.recvmsg(65535, 64)
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(payload) >= 16:
                sec, nsec = struct.unpack("qq", payload[:16])
                return data, sec + nsec * 1e-9
        return data, time.time()

    def _apply(self, reply: tuple[str, dict[str, float], int | None, bool] | str | None) -> bool:
        """Apply one cycle's reply (lock held); True when the controller stops."""
        st = self._status
        corr_in: NDArrayF
        # after the STOP object fired, RSI_MOVECORR() has returned: corrections no longer move the robot
        moving = self._stop_left is None
        if isinstance(reply, tuple):
            st.accepted += 1
            _, akorr, dio, stop = reply
            if stop and self.config.stop_object and self._stop_left is None:
                self._stop_left = self.config.off_cycles  # RSI_MOVECORR() returns; RSI_OFF follows
            corr_in = np.array([akorr.get(a, 0.0) for a in AXES])
            self._corr_out = corr_in
            if dio is not None:
                self._set_outputs(dio, self._ipoc)
        else:
            st.late += 1
            if reply == "invalid":
                st.invalid += 1
            if not self._hold_axes:
                self._corr_out = np.zeros(6)
            if not self.config.holdon_dio:
                self._set_outputs(0, self._ipoc)
            if st.late > self.config.timeout_packets:
                self._break_off(
                    f"{RSI_TIMEOUT_MESSAGE} ({st.late} late packets > Timeout {self.config.timeout_packets})"
                )
                return True
        if not moving:
            target = self._set.copy()
        elif self.config.mode == "absolute":
            target = self._base + self._corr_out
        else:
            target = self._set + self._corr_out
        speed = np.abs(target - self._set) / self.config.cycle
        over = speed > self._vmax
        if np.any(over):
            j = int(np.argmax(over))
            self._break_off(
                f"A{j + 1} commanded at {speed[j]:.1f}°/s, above its maximum {self._vmax[j]:.1f}°/s: "
                "correction rejected, motion stopped"
            )
            return True
        lo = target < self._lo
        hi = target > self._hi
        if np.any(lo | hi):
            j = int(np.argmax(lo | hi))
            sign = "-" if lo[j] else "+"
            self._break_off(
                f"Software limit switch {sign}A{j + 1}: set-point {target[j]:.3f}° outside "
                f"[{self._lo[j]:.1f}, {self._hi[j]:.1f}]°; motion stopped"
            )
            return True
        self._act = self._set.copy()
        self._set = target
        if self._stop_left is not None:
            if self._stop_left <= 0:
                self._act = self._set.copy()  # RSI_OFF: the robot stands at the last set-point
                st.running = False
                st.ended_by_sensor = True
                st.stop_reason = RSI_ENDED_MESSAGE
                log.info("virtual KRC: %s", RSI_ENDED_MESSAGE)
                return True
            self._stop_left -= 1
        return False

    def _digin(self) -> int:
        """``DiL``: the configured inputs with the arc loopback's bit (lock held)."""
        loop = self.config.arc_loopback
        if loop is None:
            return self.config.digin
        bit = 1 << loop[1]
        return (self.config.digin | bit) if self._loop_in else (self.config.digin & ~bit)

    def _set_outputs(self, dio: int, ipoc: int) -> None:
        """New output state from an accepted reply; log changes, arm the arc loopback (lock held)."""
        if dio != self._dio_out:
            self._status.output_log.append((ipoc, dio))
        self._dio_out = dio
        loop = self.config.arc_loopback
        if loop is None:
            return
        want = bool(dio >> loop[0] & 1)
        now = time.monotonic()
        if want == self._loop_in:
            self._loop_pending = None
        elif self._loop_pending is None or self._loop_pending[0] != want:
            self._loop_pending = (want, now + loop[2])

    def _step_loopback(self) -> None:
        """Apply a pending arc-loopback input change whose delay has passed (lock held)."""
        p = self._loop_pending
        if p is not None and time.monotonic() >= p[1]:
            self._loop_in = p[0]
            self._loop_pending = None

    def _break_off(self, reason: str) -> None:
        self._status.running = False
        self._status.stop_reason = reason
        self._act = self._set.copy()  # stopped
        log.error("virtual KRC: %s", reason)


def _replace_digin(config: KrcConfig, value: int) -> KrcConfig:
    from dataclasses import replace

    return replace(config, digin=int(value))


def start_virtual_krc(config: KrcConfig) -> VirtualKrc:
    """Create and start a :class:`VirtualKrc` in a background thread."""
    krc = VirtualKrc(config)
    krc.start()
    return krc
