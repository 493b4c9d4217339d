"""Virtual FANUC controller: the robot side of Stream Motion (J519 v3/v4) for tests and demos.

It serves the handshake (stop, get capability, GPIO configuration, start) on one UDP port, then
sends one status packet per cycle (8 ms by default) to the address the start packet came from, and
takes the command packets that answer them:

* **Plant.** The measured joints follow the commanded ones through a first-order lag
  (``tau``, 125 ms: the tracking lag airo-fanuc measured on a CRX, ``controller_facts.py``).
* **Motion possible** (status bit 0) needs the TP program (``IBGN start``) running
  (``program_running``), a start packet, no e-stop and no alarm. A command with
  ``is_last_command = 1`` ends the program (``IBGN end``).
* **Silence.** When commands stop for more than ``silence_cycles`` cycles, the commanded joints
  coast at the last commanded speed (the real controller does not decelerate) until ``coast_time``
  passes or they deviate ``deviation_deg`` from the last command, then the arm stops and "motion
  possible" drops, with no alarm (measured on a CRX by airo-fanuc: 71-121 ms, overrun 2-5°). A new
  start packet re-arms it.
* **Own lateness.** When its thread runs late on a loaded host the controller catches up (up to
  0.1 s) with statuses sent back to back; a cycle whose previous status went out less than half a
  cycle earlier does not start a silence (the client could not have answered it yet); once the arm
  coasts every cycle counts, so a dead client still stops it after ``coast_time``.
* **Limit checks** on every command while motion is possible: joint position outside the model's
  range (``MOTN-017 Limit error``), joint speed above the data-sheet speed × ``speed_margin`` checked
  in FANUC's joint convention, where the data sheet gives it (FANUC's J3 speed limits FANUC's J3,
  the forearm angle: ``J3 = q3 + q2`` on the CRX, ``q3 - q2`` on the ARC Mate; speeds from
  :data:`weldcell.kinematics.safety.CONTROLLER_JOINT_SPEEDS`, whose per-joint box
  :func:`~weldcell.kinematics.safety.joint_speed_box` is the model's ``qd_max`` the planner
  uses, so a planned-valid trajectory stays within them), a data
  style other than 0xFFFF (Cartesian data, not emulated) or a version other than the negotiated
  one: alarm (robot status "in error"), the arm holds where it is and motion is not possible until
  :meth:`VirtualFanuc.reset`.
* **I/O** through the GPIO configuration: I/O-command entries take DO values from the command's I/O
  bytes, I/O-state entries report DO/DI in the status's I/O bytes. Inputs are set with
  :meth:`VirtualFanuc.set_input`. An optional arc loopback (``arc_loopback = (DO, DI, delay)``)
  copies the arc output to an input after a delay, as a welding power source wired to the robot's
  I/O answers "arc established"; every change of a DO is kept in :attr:`VirtualFanucStatus.output_log`.

The joint angles on the wire are the controller's (J2/J3 interaction for the ARC Mate,
:mod:`weldcell.drivers.fanuc.joints`); the status position is the faceplate in FANUC's world frame.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from weldcell.drivers.fanuc import packets as pk
from weldcell.drivers.fanuc.joints import (
    T_base_world,
    controller_deg_from_q,
    joint_map,
    q_from_controller_deg,
    xyzwpr_from_pose,
)
from weldcell.errors import DriverError, ProtocolError

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True)
class VirtualFanucConfig:
    """Settings of :class:`VirtualFanuc`.

    Attributes:
        robot: weldcell robot model (ranges and speeds come from it).
        host, port: Address the controller listens on (port 0: any free port).
        cycle_ms: Status cycle [ms] reported in the capability (8, or 4 with the high-speed option).
        available_version: Highest protocol version offered (3: status type 202; 4: type 204).
        q_start_deg: Controller joint angles [deg] at start-up, shape (n,); None: all zero.
        program_running: The TP program with ``IBGN start`` runs (needed for "motion possible").
        tau: First-order tracking lag of the joints [s].
        silence_cycles: Cycles without a command before the arm coasts.
        coast_time: Longest coast [s] before the arm stops.
        deviation_deg: Coast deviation [deg] from the last command that stops the arm earlier.
        speed_margin: Commanded joint speeds up to this factor × the data-sheet speeds are accepted.
        inputs: Initial digital inputs, DI number (1-based) -> value.
        arc_loopback: ``(DO number, DI number, delay [s])``: the DI follows the DO after the delay
            (the "arc established" answer of a power source on the robot's I/O); None: no loopback.
    """

    robot: str = "arcmate100id"
    host: str = "127.0.0.1"
    port: int = pk.DEFAULT_PORT
    cycle_ms: int = 8
    available_version: int = 3
    q_start_deg: tuple[float, ...] | None = None
    program_running: bool = True
    tau: float = 0.125
    silence_cycles: int = 2
    coast_time: float = 0.12
    deviation_deg: float = 5.0
    speed_margin: float = 1.02
    inputs: dict[int, bool] = field(default_factory=dict)
    arc_loopback: tuple[int, int, float] | None = None

    def __post_init__(self) -> None:
        """Reject settings that cannot work.

        Raises:
            DriverError: the field, its value and what is expected.
        """
        if self.cycle_ms not in (1, 2, 4, 8):
            raise DriverError(f"virtual FANUC cycle_ms {self.cycle_ms!r}: expected 8, 4, 2 or 1")
        if self.available_version not in (3, 4):
            raise DriverError(f"virtual FANUC available_version {self.available_version!r}: expected 3 or 4")
        if not 0 <= self.port <= 65535:
            raise DriverError(f"virtual FANUC port {self.port!r}: expected 0 … 65535")
        for name in ("tau", "coast_time", "deviation_deg", "speed_margin"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise DriverError(f"virtual FANUC {name} {v!r}: expected a number > 0")
        if self.arc_loopback is not None:
            do, di, delay = self.arc_loopback
            if not (isinstance(do, int) and isinstance(di, int) and do >= 1 and di >= 1):
                raise DriverError(
                    f"virtual FANUC arc_loopback {self.arc_loopback!r}: expected DO and DI numbers ≥ 1"
                )
            if not (math.isfinite(delay) and delay >= 0):
                raise DriverError(f"virtual FANUC arc_loopback delay {delay!r}: expected seconds ≥ 0")


@dataclass
class VirtualFanucStatus:
    """Counters and state of the virtual controller (a snapshot).

    Attributes:
        streaming: Status packets are being sent.
        motion_possible: Status bit 0.
        alarm: The active alarm text ("" = none).
        coast_stops: Times the arm stopped after commands stopped.
        cycles: Status packets sent.
        commands: Command packets accepted.
        stale: Commands answering an older status than the latest (late on the network).
        double: Second commands answering the same status.
        q_deg: Measured controller joint angles [deg].
        do: Digital outputs, DO number -> value.
        di: Digital inputs, DI number -> value.
        output_log: Every change of a digital output: (controller time [ms], DO number, value).
    """

    streaming: bool
    motion_possible: bool
    alarm: str
    coast_stops: int
    cycles: int
    commands: int
    stale: int
    double: int
    q_deg: list[float]
    do: dict[int, bool]
    di: dict[int, bool] = field(default_factory=dict)
    output_log: list[tuple[int, int, bool]] = field(default_factory=list)


class VirtualFanuc:
    """The controller side of Stream Motion (see module docstring). Use :meth:`start`/:meth:`close`."""

    def __init__(self, config: VirtualFanucConfig | None = None) -> None:
        from weldcell.kinematics import load_robot
        from weldcell.kinematics.safety import controller_joint_speeds

        self.config = cfg = config or VirtualFanucConfig()
        self._model = load_robot(cfg.robot)
        self._n = self._model.n_joints
        self._coupled = joint_map(cfg.robot)
        self._T_world_base = np.linalg.inv(T_base_world(cfg.robot))
        self._model.fk(np.zeros(self._n))  # load the compiled kernel now, not in the first cycle
        self.dt = cfg.cycle_ms / 1000.0
        q0 = np.zeros(self._n) if cfg.q_start_deg is None else np.asarray(cfg.q_start_deg, dtype=np.float64)
        if q0.shape != (self._n,):
            raise DriverError(f"virtual FANUC q_start_deg: expected {self._n} angles, got {q0.shape}")
        self._q = q0.copy()
        self._q_cmd = q0.copy()
        self._v_cmd = np.zeros(self._n)  # commanded speed [deg/cycle]
        self._last_received = q0.copy()
        self._lo_deg = controller_deg_from_q(self._model.q_lower, False)
        self._hi_deg = controller_deg_from_q(self._model.q_upper, False)
        # joint speed limits in FANUC's convention (the data sheet's J3 speed is FANUC's J3 = the
        # forearm angle, coupled to J2): kinematics.safety is the one source; the model's own
        # per-joint box (planned against) implies them
        ctrl = controller_joint_speeds(cfg.robot)
        v_ctrl = np.asarray(ctrl[1] if ctrl is not None else self._model.qd_max, dtype=np.float64)
        self._vmax_deg = np.degrees(v_ctrl[: self._n]) * cfg.speed_margin * self.dt
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.bind((cfg.host, cfg.port))
        except OSError as err:
            self._sock.close()
            raise DriverError(
                f"virtual FANUC cannot bind {cfg.host}:{cfg.port}: {err.strerror or err}"
            ) from err
        self._sock.setblocking(False)
        self.address: tuple[str, int] = self._sock.getsockname()[:2]
        self._peer: tuple[str, int] | None = None
        self._version = cfg.available_version
        self._streaming = False
        self._program = cfg.program_running
        self._estop = False
        self._alarm = ""
        self._coast_stopped = False
        self._seq = 0
        self._t_ms = 0
        self._cmd_entries: tuple[pk.GpioEntry, ...] = ()
        self._state_entries: tuple[pk.GpioEntry, ...] = ()
        self._do: dict[int, bool] = {}
        self._di: dict[int, bool] = dict(cfg.inputs)
        self._output_log: list[tuple[int, int, bool]] = []
        self._loop_changed_ms = 0  # controller time of the last change of the loopback's DO
        self._pending: list[pk.Command] = []
        self._last_cmd_seq: int | None = None
        self._since_cmd = 0
        self._coast_t = 0.0
        self.counts = {"cycles": 0, "commands": 0, "stale": 0, "double": 0, "coast_stops": 0, "invalid": 0}
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> VirtualFanuc:
        """Start the cycle thread."""
        if self._thread is None:
            self._quit.clear()
            self._thread = threading.Thread(target=self._loop, name="virtual-fanuc", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and close the socket (idempotent)."""
        self._quit.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        self._sock.close()

    def __enter__(self) -> VirtualFanuc:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, duration: float | None = None) -> VirtualFanucStatus:
        """Start, then block for ``duration`` [s] (None: until interrupted); returns the status."""
        self.start()
        end = None if duration is None else time.monotonic() + duration
        while end is None or time.monotonic() < end:
            time.sleep(0.05 if end is None else max(0.0, min(0.05, end - time.monotonic())))
        return self.status()

    # --- operator actions -----------------------------------------------------------------
    def press_estop(self) -> None:
        """Emergency stop: the arm stops where it is; motion is not possible until reset."""
        with self._lock:
            self._estop = True
            self._hold()

    def reset(self) -> None:
        """Release the e-stop and clear the alarm (RESET on the pendant)."""
        with self._lock:
            self._estop = False
            self._alarm = ""

    def set_program_running(self, running: bool) -> None:
        """Start or abort the TP program with ``IBGN start``."""
        with self._lock:
            self._program = running
            if not running:
                self._hold()

    def set_input(self, n: int, value: bool) -> None:
        """Set digital input ``DI[n]`` (1-based)."""
        with self._lock:
            self._di[n] = bool(value)

    def output(self, n: int) -> bool:
        """Digital output ``DO[n]`` (1-based)."""
        with self._lock:
            return self._do.get(n, False)

    @property
    def motion_possible(self) -> bool:
        """Status bit 0 as sent now."""
        with self._lock:
            return self._motion_possible()

    def status(self) -> VirtualFanucStatus:
        """A snapshot of the counters and state."""
        with self._lock:
            return VirtualFanucStatus(
                streaming=self._streaming,
                motion_possible=self._motion_possible(),
                alarm=self._alarm,
                coast_stops=self.counts["coast_stops"],
                cycles=self.counts["cycles"],
                commands=self.counts["commands"],
                stale=self.counts["stale"],
                double=self.counts["double"],
                q_deg=self._q.tolist(),
                do=dict(self._do),
                di=dict(self._di),
                output_log=list(self._output_log),
            )

    # --- internals (lock held) ------------------------------------------------------------
    def _motion_possible(self) -> bool:
        return (
            self._streaming
            and self._program
            and not self._estop
            and not self._alarm
            and not self._coast_stopped
        )

    def _hold(self) -> None:
        self._q_cmd = self._q.copy()
        self._v_cmd = np.zeros(self._n)

    def _raise_alarm(self, text: str) -> None:
        if not self._alarm:
            log.error("virtual FANUC alarm: %s", text)
        self._alarm = text
        self._hold()

    def _loop(self) -> None:
        next_t = time.perf_counter()
        sent_at = -math.inf  # when the last status went out [s, perf_counter]
        while not self._quit.is_set():
            self._drain()
            # A status sent less than half a cycle ago could not be answered yet: after this thread
            # ran late it catches up with statuses microseconds apart, and counting those as silence
            # made the arm coast past the deviation check and drop "motion possible" (CI, load 13).
            answerable = time.perf_counter() - sent_at >= 0.5 * self.dt
            with self._lock:
                self._tick(answerable)
                data, peer = self._status_packet(), self._peer
            if data is not None and peer is not None:
                try:
                    self._sock.sendto(data, peer)
                    sent_at = time.perf_counter()
                except OSError as err:
                    log.debug("status not sent: %s", err)
            next_t += self.dt
            delay = next_t - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.1:
                next_t = time.perf_counter()  # fell far behind (machine load): resynchronise

    def _drain(self) -> None:
        while True:
            try:
                data, addr = self._sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                self._handle(data, addr)
            except ProtocolError as err:
                self.counts["invalid"] += 1
                log.warning("virtual FANUC: invalid packet from %s:%d: %s", addr[0], addr[1], err)

    def _handle(self, data: bytes, addr: tuple[str, int]) -> None:
        t = pk.packet_type(data)
        with self._lock:
            if t == pk.PacketType.STOP:
                pk.decode_start_stop(data)
                self._streaming = False
            elif t == pk.PacketType.GET_CAPABILITY:
                pk.Capability.decode(data)
                reply = pk.Capability(
                    pk.PacketType.GET_CAPABILITY,
                    self.config.available_version,
                    1,
                    self.config.cycle_ms,
                    0,
                    self.config.available_version,
                    0,
                ).encode()
                self._sock.sendto(reply, addr)
            elif t == pk.PacketType.GPIO_CONFIG:
                _version, entries = pk.decode_gpio_config(data)
                ok = all(
                    e.io_type in (pk.IoType.DO, pk.IoType.DI) and e.count <= 64 for e in entries
                ) and all(
                    e.io_type is pk.IoType.DO
                    for e in entries
                    if e.command_type is pk.GpioCommandType.IO_COMMAND
                )
                if ok:
                    self._cmd_entries = tuple(
                        e for e in entries if e.command_type is pk.GpioCommandType.IO_COMMAND
                    )
                    self._state_entries = tuple(
                        e for e in entries if e.command_type is pk.GpioCommandType.IO_STATE
                    )
                self._sock.sendto(pk.encode_gpio_result(0 if ok else 1), addr)
            elif t == pk.PacketType.START:
                _, version = pk.decode_start_stop(data)
                if version not in (3, 4) or version > self.config.available_version:
                    raise ProtocolError(f"start packet asks for version {version}; offered ≤ {self._version}")
                self._version = version
                self._peer = addr
                self._streaming = True
                self._coast_stopped = False
                self._seq = 0
                self._since_cmd = 0
                self._pending = []
                self._last_cmd_seq = None
                self._hold()
            elif t == pk.PacketType.COMMAND:
                cmd = pk.Command.decode(data)
                self.counts["commands"] += 1
                if cmd.seq != self._seq:
                    self.counts["stale"] += 1  # answers an older status (late on the network)
                if cmd.seq == self._last_cmd_seq:
                    self.counts["double"] += 1  # a second answer to one status
                self._last_cmd_seq = cmd.seq
                self._pending.append(cmd)
            else:
                raise ProtocolError(f"packet type {t} ({len(data)} bytes) is not handled")

    def _tick(self, answerable: bool = True) -> None:
        """One controller cycle (lock held); ``answerable``: the client had time to answer the last status."""
        alpha = 1.0 - math.exp(-self.dt / self.config.tau)
        loop = self.config.arc_loopback
        if loop is not None:  # the input follows the output once the delay has passed
            do, di, delay = loop
            if self._t_ms - self._loop_changed_ms >= delay * 1000.0 - 1e-9:
                self._di[di] = self._do.get(do, False)
        if not self._streaming:
            self._q = self._q + alpha * (self._q_cmd - self._q)  # the servos settle on the last set-point
            return
        cmds, self._pending = self._pending, []
        for cmd in cmds:
            self._apply(cmd)
        coasting = self._since_cmd > self.config.silence_cycles
        if self._motion_possible() and not cmds and (answerable or coasting):
            # silence starts with statuses the client had time to answer; once the arm coasts,
            # every cycle counts (a dead client stops the arm after coast_time of controller time)
            self._since_cmd += 1
            if self._since_cmd > self.config.silence_cycles:
                # commands stopped: the arm coasts at the last commanded speed, then stops
                self._coast_t += self.dt
                self._q_cmd = self._q_cmd + self._v_cmd
                dev = float(np.max(np.abs(self._q_cmd - self._last_received)))
                if self._coast_t >= self.config.coast_time or dev >= self.config.deviation_deg:
                    self._coast_stopped = True
                    self.counts["coast_stops"] += 1
                    log.warning(
                        "virtual FANUC: no commands for %.0f ms, the arm stopped", self._coast_t * 1000
                    )
                    self._v_cmd = np.zeros(self._n)  # stops at the coasted set-point: the overrun
        self._q = self._q + alpha * (self._q_cmd - self._q)
        self._t_ms += self.config.cycle_ms

    def _apply(self, cmd: pk.Command) -> None:
        for e, v in zip(self._cmd_entries, pk.unpack_bits(cmd.io, self._cmd_entries), strict=True):
            for i in range(e.count):
                n, value = e.first + i, bool(v >> i & 1)
                if self._do.get(n, False) != value:
                    self._output_log.append((self._t_ms, n, value))
                    loop = self.config.arc_loopback
                    if loop is not None and loop[0] == n:
                        self._loop_changed_ms = self._t_ms
                self._do[n] = value
        if not self._motion_possible():
            return
        self._since_cmd = 0
        self._coast_t = 0.0
        if cmd.version != self._version:
            self._raise_alarm(f"command packet version {cmd.version}, negotiated {self._version}")
            return
        if cmd.data_style != pk.DATA_STYLE_JOINT:
            self._raise_alarm(
                f"command data style 0x{cmd.data_style:04X}: Cartesian data is not emulated (joints: 0xFFFF)"
            )
            return
        if not cmd.motion:
            return
        target = cmd.positions_deg[: self._n]
        q_model_deg = np.degrees(q_from_controller_deg(target, self._coupled))
        bad = (q_model_deg < self._lo_deg - 1e-6) | (q_model_deg > self._hi_deg + 1e-6)
        if np.any(bad):
            j = int(np.argmax(bad))
            self._raise_alarm(
                f"MOTN-017 Limit error: J{j + 1} command {q_model_deg[j]:.2f}° outside "
                f"[{self._lo_deg[j]:.1f}, {self._hi_deg[j]:.1f}]°"
            )
            return
        step = np.abs(target - self._q_cmd)
        if np.any(step > self._vmax_deg):
            j = int(np.argmax(step / self._vmax_deg))
            self._raise_alarm(
                f"joint speed limit: J{j + 1} commanded {step[j] / self.dt:.1f}°/s, limit "
                f"{self._vmax_deg[j] / self.dt:.1f}°/s"
            )
            return
        self._v_cmd = target - self._q_cmd
        self._q_cmd = target.copy()
        self._last_received = target.copy()
        if cmd.is_last:
            self._program = False  # IBGN end completes; the TP program ends
            self._v_cmd = np.zeros(self._n)

    def _status_packet(self) -> bytes | None:
        if not self._streaming:
            return None
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        self.counts["cycles"] += 1
        status = pk.STATUS_SYSRDY
        if self._motion_possible():
            status |= pk.STATUS_MOTION_POSSIBLE
        if self._since_cmd == 0 and self.counts["commands"]:
            status |= pk.STATUS_COMMAND_RECEIVED
        if float(np.max(np.abs(self._q_cmd - self._q))) > 1e-3:
            status |= pk.STATUS_MOVING
        robot = (pk.ROBOT_IN_ERROR if self._alarm else 0) | (pk.ROBOT_ESTOP if self._estop else 0)
        if self._estop:
            robot |= pk.ROBOT_IN_ERROR
        q = q_from_controller_deg(self._q, self._coupled)
        pose = xyzwpr_from_pose(self._T_world_base @ self._model.fk(q))
        io = b""
        if self._state_entries:
            vals = []
            for e in self._state_entries:
                src = self._do if e.io_type is pk.IoType.DO else self._di
                vals.append(sum(1 << i for i in range(e.count) if src.get(e.first + i, False)))
            io = pk.pack_bits(tuple(vals), self._state_entries)
        return pk.Status(
            version=self._version,
            seq=self._seq,
            status=status,
            robot_status=robot,
            contact_stop=0,
            time_stamp_ms=self._t_ms,
            position=pose,
            joints_deg=self._q,
            current=np.zeros(pk.MAX_AXES),
            safety_scale=1.0,
            io=io,
            fs_type=0xFFFFFFFF if self._version >= 4 else None,
        ).encode()
