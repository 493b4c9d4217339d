"""FANUC Stream Motion (J519) driver: streams a validated trajectory as joint set-points over UDP.

The controller (R-30iB Plus / R-30iB Mini Plus with option J519, or a CRX with S636) runs a TP
program ``IBGN start[1]`` … ``IBGN end[1]``. The driver (``fanuc://HOST[:PORT]``):

1. **Handshake** on connect: a stop packet (a stale session from a crashed client ends), get
   capability (type 7; the controller answers its cycle, 8 ms or 4 ms, and the protocol version
   it speaks, used for every later packet), the GPIO configuration (type 203) mapping
   ``DO[do_first …]`` into the command's I/O bytes and the DO/DI read-back into the status, then
   start (type 200).
2. **One command per status.** The controller sends one status packet per interpolation cycle; an
   I/O thread answers each at once with exactly one command carrying that status's sequence number,
   the joint set-points [deg] with the data-style word 0xFFFF (joint data, never 0 = Cartesian),
   ``do_motn_ctrl = 1`` and the DO bits (the arc output follows the samples' ``arc_on``, and keeps
   its value between executions until the next one, a stop or a fault). A repeated
   status (same sequence number) is not answered a second time.
3. **Resampling.** A trajectory slice advances ``cycle / traj.dt`` samples per status and is
   interpolated linearly between samples; between executions the last set-point is held.
4. **Faults** end the execution with the arc output off at once:

   * controller side (status bits): e-stop, an alarm (robot_status in error), or "motion possible"
     (status bit 0) dropping: the robot has stopped; the driver then holds the measured position;
   * driver side: a gap in the status sequence numbers, a status the controller did not send (its
     time stamp steps more than ``missed_status_limit`` cycles), or no status for ``silence``
     seconds: the set-points decelerate along the path over ``stop_time`` (a real controller
     coasts about 120 ms at the last commanded speed when commands stop, then stops on its
     deviation check, so stopping the stream is never how the driver stops the arm).

``stop()`` decelerates along the path. ``close()`` answers the next status with
``is_last_command = 1`` (``IBGN end`` completes) and sends the stop packet.
"""

from __future__ import annotations

import logging
import math
import threading
import time
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
from weldcell.drivers.fanuc import packets as pk
from weldcell.drivers.fanuc.config import FanucConfig, FanucConfigError
from weldcell.drivers.fanuc.joints import (
    FanucJointMap,
    controller_deg_from_q,
    joint_map,
    q_from_controller_deg,
)
from weldcell.drivers.streaming import PathRun, StreamingConfig, StreamingDriver
from weldcell.errors import DriverConnectionError, DriverError, DriverTimeoutError, ProtocolError

if TYPE_CHECKING:
    from weldcell.drivers.registry import RobotUrl

log = logging.getLogger(__name__)

#: Least time between two commands [s]: 0.3 ms, far below the 8 ms cycle and above what a robot reads
#: as two packets from one send (airo-fanuc's strict fake checks 0.1 ms on kernel timestamps).
MIN_SEND_SPACING = 3e-4

NDArrayF = npt.NDArray[np.float64]


class _Run(PathRun):
    """One streaming execution (advanced by the I/O thread); set-points in the controller's [deg]."""

    def __init__(self, handle: ExecutionHandle, cycle: float, coupled: FanucJointMap) -> None:
        q = handle.traj.q[handle.start_index : handle.end_index]
        super().__init__(handle, controller_deg_from_q(q, coupled), cycle)
        self.settle_t = 0.0


class FanucDriver(StreamingDriver[FanucConfig]):
    """FANUC Stream Motion driver (see module docstring).

    Args:
        config: Driver settings.
    """

    protocol: ClassVar[str] = "Stream Motion"
    url_form: ClassVar[str] = "fanuc://HOST[:PORT]"
    packet_word: ClassVar[str] = "status"
    peer_word: ClassVar[str] = "controller"
    thread_name: ClassVar[str] = "fanuc-sm"
    #: Status packets answered, repeated status packets, sequence gaps, missed status packets,
    #: malformed datagrams.
    config_type: ClassVar[type[StreamingConfig]] = FanucConfig
    stat_names: ClassVar[tuple[str, ...]] = ("status", "duplicates", "seq_gaps", "missed_status", "malformed")
    _latest: pk.Status | None
    _run: _Run | None

    def __init__(self, config: FanucConfig | None = None) -> None:
        super().__init__(config or FanucConfig())
        if self._n > pk.MAX_AXES:
            raise FanucConfigError(f"robot {self.robot!r} has {self._n} joints; Stream Motion carries 9")
        self._coupled = joint_map(self.robot)
        self._settle_deg = math.degrees(self.config.settle_tolerance)
        self.dt = 0.008
        self.version = pk.BASE_VERSION
        self.capability: pk.Capability | None = None
        self._closing = threading.Event()
        self._closed_stream = threading.Event()
        self._prev: pk.Status | None = None
        self._hold_deg = np.zeros(self._n)
        self._ramp: _Run | None = None  # a faulted run still decelerating along its path
        self._silent_fault = ""

    @classmethod
    def from_url(cls, url: RobotUrl, /, **options: Any) -> FanucDriver:
        """``fanuc://HOST[:PORT][?robot=…&io=0|1&local_port=…&silence_ms=…]`` -> driver.

        ``options`` are :class:`FanucConfig` fields (or ``config=FanucConfig(...)``).
        """
        return cls(cls.config_from_url(url, **options))

    @classmethod
    def config_from_url(cls, url: RobotUrl, /, **options: Any) -> FanucConfig:
        """The :class:`FanucConfig` of a parsed ``fanuc://`` address (nothing connects or loads).

        Raises:
            FanucConfigError: a missing host, an unknown or malformed query parameter, a bad setting.
        """
        return FanucConfig.from_robot_url(url, **options)

    def __repr__(self) -> str:
        return f"FanucDriver({self.robot!r}, {self.config.host}:{self.config.port})"

    # --- lifecycle ------------------------------------------------------------------------
    def _connect(self, timeout: float | None) -> None:
        cfg = self.config
        deadline = None if timeout is None else time.monotonic() + timeout
        sock = self._bind_udp(cfg.local_host, cfg.local_port, "the local address")
        self._sock = sock
        peer = (cfg.host, cfg.port)
        try:
            sock.sendto(pk.encode_stop(pk.BASE_VERSION), peer)  # ends a stale session of a crashed client
            while True:  # asked again every handshake_timeout until the connect timeout
                sock.sendto(pk.Capability().encode(), peer)
                try:
                    reply = self._await(pk.PacketType.GET_CAPABILITY, pk.CAPABILITY_SIZE, deadline)
                    break
                except DriverTimeoutError:
                    if deadline is not None and time.monotonic() + 1e-3 >= deadline:
                        raise
            cap = pk.Capability.decode(reply)
            if cap.available_version < 3:
                raise DriverConnectionError(
                    f"the controller at {cfg.host} speaks Stream Motion version {cap.available_version}; "
                    "weldcell needs version 3 or 4 (R-30iB Plus V9.40P/77 or later)"
                )
            if cap.sampling_rate_ms <= 0:
                raise ProtocolError(f"the controller reports a sampling rate of {cap.sampling_rate_ms} ms")
            self.capability = cap
            self.version = min(cap.available_version, cfg.version)
            self.dt = cap.sampling_rate_ms / 1000.0
            entries = cfg.command_entries + cfg.status_entries
            if entries:
                sock.sendto(pk.encode_gpio_config(self.version, entries), peer)
                reply = self._await(pk.PacketType.GPIO_CONFIG, pk.GPIO_RESULT_SIZE, deadline)
                result, _ = pk.decode_gpio_result(reply)
                if result != 0:
                    raise DriverConnectionError(
                        f"the controller refused the GPIO configuration (result {result}): are "
                        f"DO[{cfg.do_first}…{cfg.do_first + cfg.do_count - 1}] and "
                        f"DI[{cfg.di_first}…{cfg.di_first + cfg.di_count - 1}] assigned?"
                    )
            sock.sendto(pk.encode_start(self.version), peer)
        except DriverError:  # before OSError: DriverTimeoutError is a TimeoutError
            self._shutdown()
            raise
        except OSError as err:
            self._shutdown()
            raise DriverConnectionError(
                f"Stream Motion handshake with {cfg.host}:{cfg.port} failed: {err}"
            ) from err
        self._quit.clear()
        self._closing.clear()
        self._closed_stream.clear()
        self._latest = None
        self._prev = None
        self._silent_fault = ""
        self._dout = 0
        sock.settimeout(0.02)
        self._start_io_thread()
        with self._new:
            got = self._wait_first(deadline, 0.05)
        if not got:
            self._shutdown()
            raise DriverTimeoutError(
                f"no Stream Motion status from {cfg.host}:{cfg.port} within {timeout} s after the start "
                "packet: is the controller's J519 option enabled and this computer's address allowed?"
            )

    def _await(self, ptype: int, size: int, deadline: float | None) -> bytes:
        """The next datagram of type ``ptype`` from the controller (others are dropped)."""
        sock = self._sock
        assert sock is not None  # mypy
        end = time.monotonic() + self.config.handshake_timeout
        if deadline is not None:
            end = min(end, deadline)
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise DriverTimeoutError(
                    f"no reply (packet type {ptype}) from the Stream Motion controller at "
                    f"{self.config.host}:{self.config.port} within {self.config.handshake_timeout} s"
                )
            sock.settimeout(remaining)
            try:
                data, _addr = sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError as err:  # ICMP port unreachable
                raise DriverConnectionError(
                    f"the Stream Motion controller at {self.config.host}:{self.config.port} is unreachable: "
                    f"{err}"
                ) from err
            if pk.packet_type(data) == ptype and len(data) == size:
                return data

    def _close(self) -> None:
        with self._lock:
            for run in (self._run, self._ramp):
                if run is not None and not run.handle.done:
                    self._finish(run, ExecutionOutcome.FAULTED, "driver closed during execution")
            self._run = None
            self._ramp = None
            self._dout = 0
        if self._thread is not None and self._thread.is_alive():
            self._closing.set()  # the next status is answered with is_last_command = 1
            self._closed_stream.wait(max(0.1, 5 * self.dt))
        if self._sock is not None:
            try:
                self._sock.sendto(pk.encode_stop(self.version), (self.config.host, self.config.port))
            except OSError as err:
                log.debug("stop packet not sent: %s", err)
        self._shutdown()

    # --- I/O thread -----------------------------------------------------------------------
    def _loop(self) -> None:
        sock = self._sock
        assert sock is not None  # mypy
        self._configure_io_thread()
        peer = (self.config.host, self.config.port)
        last_send = 0.0
        while not self._quit.is_set():
            try:
                data, _addr = sock.recvfrom(2048)
            except TimeoutError:
                self._check_silence()
                continue
            except OSError as err:
                if not self._quit.is_set():
                    self._fault_all(f"Stream Motion socket error: {err}", "socket")
                    self._check_silence()
                    time.sleep(0.01)
                continue
            if pk.packet_type(data) not in (pk.PacketType.STATUS_V3, pk.PacketType.STATUS_V4):
                continue  # late handshake replies
            try:
                st = pk.Status.decode(data)
            except ProtocolError as err:
                self.stats["malformed"] += 1
                log.warning("malformed Stream Motion status ignored: %s", err)
                continue
            reply = self._cycle(st)
            if reply is None:
                continue
            # After a stall two statuses can be waiting; their answers must still reach the robot as
            # two separate commands, not as one burst it may read as a double send in one cycle.
            gap = last_send + MIN_SEND_SPACING - time.perf_counter()
            if gap > 0:
                time.sleep(gap)
            last_send = time.perf_counter()
            try:
                sock.sendto(reply, peer)
            except OSError as err:
                log.error("cannot answer the Stream Motion status: %s", err)
            if self._closing.is_set():
                self._closed_stream.set()
                return

    def _cycle(self, st: pk.Status) -> bytes | None:
        """Process one status packet; returns the command answering it (None: not answered)."""
        now = time.monotonic()
        cfg = self.config
        with self._lock:
            prev = self._latest
            if prev is not None and st.seq == prev.seq:
                self.stats["duplicates"] += 1
                return None  # a repeated status: answered already
            if prev is not None and (st.seq - prev.seq) & 0xFFFFFFFF > 0x7FFFFFFF:
                self.stats["duplicates"] += 1
                return None  # older than the latest: out of order
            self.stats["status"] += 1
            driver_fault: tuple[str, str] | None = None
            if prev is not None:
                gap = (st.seq - prev.seq) & 0xFFFFFFFF
                if gap > 1:
                    self.stats["seq_gaps"] += 1
                    driver_fault = (
                        f"Stream Motion status sequence jumped from {prev.seq} to {st.seq} "
                        f"({gap - 1} status packet(s) lost)",
                        "seq_gap",
                    )
                step_ms = (st.time_stamp_ms - prev.time_stamp_ms) & 0xFFFFFFFF
                if step_ms > cfg.missed_status_limit * self.dt * 1000.0 and driver_fault is None:
                    self.stats["missed_status"] += 1
                    driver_fault = (
                        f"the controller skipped status packets: time stamp stepped {step_ms} ms "
                        f"(cycle {self.dt * 1000:.0f} ms)",
                        "missed_status",
                    )
            self._prev = prev
            self._latest = st
            self._latest_at = now
            self._silent_fault = ""
            measured = st.joints_deg[: self._n].copy()
            if prev is None:
                self._hold_deg = measured.copy()
            controller_fault = self._controller_fault(st)
            for run in (self._run,):
                if run is None or run.handle.done:
                    continue
                if controller_fault is not None:
                    self._finish(run, ExecutionOutcome.FAULTED, *controller_fault)
                    self._run = None
                    self._hold_deg = measured.copy()  # the robot stopped where it is
                elif driver_fault is not None:
                    self._finish(run, ExecutionOutcome.FAULTED, *driver_fault)
                    run.stopping = True
                    self._run = None
                    self._ramp = run
            if driver_fault is not None and self._run is None and self._ramp is None:
                log.warning("%s (no execution running)", driver_fault[0])
            sp, arc = self._advance(measured)
            if arc is not None:
                self._set_arc(arc)
            io = pk.pack_bits((self._dout,), cfg.command_entries) if cfg.io else b""
            last = self._closing.is_set()
            self._new.notify_all()
        return pk.Command(self.version, st.seq, sp, is_last=last, io=io).encode()

    def _controller_fault(self, st: pk.Status) -> tuple[str, str] | None:
        if st.e_stopped:
            return "the controller reports an emergency stop", "estop"
        if st.in_error:
            return (
                "the controller reports an alarm (robot status: in error); see the pendant's alarm history",
                "alarm",
            )
        if not st.motion_possible:
            return (
                "the controller dropped 'motion possible' (status bit 0): the IBGN program stopped, the "
                "robot was held, or its deviation check stopped the robot",
                "motion_not_possible",
            )
        return None

    def _advance(self, measured: NDArrayF) -> tuple[NDArrayF, bool | None]:
        """This cycle's set-point [deg] and arc flag (lock held).

        The arc flag is None between executions: the arc output keeps the value the last completed
        execution left (the cell's next slice of the same seam continues the weld; a stop or a fault
        has already switched it off in :meth:`_finish`).
        """
        dec = self.dt / self.config.stop_time
        ramp = self._ramp
        if ramp is not None:
            ramp.advance(dec)
            sp, _ = ramp.setpoint()
            if ramp.at_rest:
                self._ramp = None
                self._hold_deg = sp.copy()
            return sp, False
        run = self._run
        if run is None:
            return self._hold_deg, None
        run.advance(dec)
        sp, arc = run.setpoint()
        h = run.handle
        run.report()
        stopped = run.stopped
        if stopped:
            arc = False
        if run.at_end or stopped:
            # the last set-point is out: the execution ends when the arm has settled on it
            run.settle_t += self.dt
            err = float(np.max(np.abs(measured - sp)))
            if err <= self._settle_deg:
                if stopped:
                    self._finish(run, ExecutionOutcome.STOPPED, "stop requested")
                else:
                    self._finish(run, ExecutionOutcome.COMPLETED, "")
            elif run.settle_t > self.config.settle_timeout:
                self._finish(
                    run,
                    ExecutionOutcome.FAULTED,
                    f"the arm did not settle on the last set-point within {self.config.settle_timeout} s "
                    f"(still {err:.3f}° away)",
                    "settle",
                )
        if h.done:
            self._run = None
            self._hold_deg = sp.copy()
        return sp, arc

    def _on_silence(self, silent: float) -> None:
        if not self._silent_fault:
            self._silent_fault = (
                f"no Stream Motion status for {silent:.2f} s: the controller stopped streaming "
                "(IBGN program ended or aborted, network down, controller off)"
            )
            log.error("%s", self._silent_fault)
        self._dout = 0
        for run in (self._run, self._ramp):
            if run is not None and not run.handle.done:
                self._finish(run, ExecutionOutcome.FAULTED, self._silent_fault, "silence")
        self._run = None
        self._ramp = None

    def _fault_all(self, reason: str, code: str | None = None) -> None:
        with self._lock:
            run = self._run
            if run is not None and not run.handle.done:
                self._finish(run, ExecutionOutcome.FAULTED, reason, code)
                self._run = None

    # --- driver hooks ---------------------------------------------------------------------
    def _status(self, timeout: float | None) -> tuple[pk.Status, pk.Status | None, bool, int, str]:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._new:
            if not self._wait_first(deadline, 0.05):
                raise DriverTimeoutError(f"no Stream Motion status within {timeout} s")
            assert self._latest is not None  # mypy
            live = time.monotonic() - self._latest_at <= self.config.silence
            return self._latest, self._prev, live, self._dout, self._silent_fault

    def _state(self, timeout: float | None) -> RobotState:
        st, prev, live, dout_cmd, silent = self._status(timeout)
        q = q_from_controller_deg(st.joints_deg[: self._n], self._coupled)
        qd = np.zeros(self._n)
        if live and prev is not None:
            dt_ms = (st.time_stamp_ms - prev.time_stamp_ms) & 0xFFFFFFFF
            if dt_ms > 0:
                q_prev = q_from_controller_deg(prev.joints_deg[: self._n], self._coupled)
                qd = (q - q_prev) / (dt_ms / 1000.0)
        cfg = self.config
        dout, din = dout_cmd, 0
        if cfg.io:
            dout, din = pk.unpack_bits(st.io, cfg.status_entries)
        if not live:
            mode = RobotMode.DISCONNECTED
        elif st.motion_possible:
            mode = RobotMode.RUNNING
        else:
            mode = RobotMode.IDLE
        if st.e_stopped:
            safety = SafetyStatus.EMERGENCY_STOP
        elif st.in_error or silent:
            safety = SafetyStatus.FAULT
        else:
            safety = SafetyStatus.NORMAL
        return RobotState(
            t=st.time_stamp_ms / 1000.0,
            q=q,
            qd=qd,
            T_base_flange=self._model.fk(q),
            mode=mode,
            safety=safety,
            program_running=live and st.motion_possible,
            digital_in=din,
            digital_out=dout,
            analog_in=np.zeros(2),
            analog_out=np.zeros(2),
            speed_fraction=float(min(max(st.safety_scale, 0.0), 1.0)),
        )

    def _execute(self, handle: ExecutionHandle) -> None:
        with self._lock:
            st = self._latest
            reason: tuple[str, str] | None = None
            if self._silent_fault:
                reason = (self._silent_fault, "silence")
            elif st is not None:
                reason = self._controller_fault(st)
            if reason is None and (self._run is not None or self._ramp is not None):
                reason = ("the previous execution is still decelerating", "busy")
            if reason is not None:
                handle._finish(
                    ExecutionResult(ExecutionOutcome.FAULTED, handle.start_index, handle.start_index, *reason)
                )
                return
            arc = handle.traj.arc_on[handle.start_index : handle.end_index]
            if self.config.arc_output is None and arc.any():
                log.warning("the slice has arc-on samples but no arc output is mapped: no arc")
            self._run = _Run(handle, self.dt, self._coupled)

    def _set_digital_out(self, n: int, value: bool) -> None:
        if not self.config.io:
            raise DriverError("no digital outputs are mapped (FanucConfig io=False)")
        if n >= self.config.do_count:
            raise DriverError(f"digital output {n} is not mapped; mapped: 0 … {self.config.do_count - 1}")
        super()._set_digital_out(n, value)

    def _set_analog_out(self, n: int, value: float) -> None:
        raise DriverError(
            "the Stream Motion GPIO map written by weldcell drives digital outputs only; set the weld "
            "parameters on the power source (job number) instead"
        )
