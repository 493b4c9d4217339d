"""Behaviour of the virtual welding power source: a clocked state machine over a Modbus memory image.

:class:`VirtualPowerSourceModel` holds the robot-written memory (coils, holding registers, test
registers) and computes the power source's outputs (discrete inputs, input registers) from it. It
knows nothing about sockets: :mod:`weldcell.drivers.powersource.virtual` serves it over Modbus TCP,
and tests drive it directly with a manual clock.

Process states and timing (:class:`VirtualTiming`)::

    IDLE --start↑--> PREFLOW --pre_flow--> IGNITION --ignition_delay±jitter--> ARC (current flow)
    ARC --arc_settle--> arc stable + motion release; start↓ --> CRATER --crater_fill--> POSTFLOW
    POSTFLOW --post_flow--> IDLE

Touch sensing: with the ``touch_sensing`` coil high and no weld running, the wire carries the sensing
voltage and ``touch_contact`` is set while the *contact sensor*
(:meth:`VirtualPowerSourceModel.set_contact_sensor`, a callable giving the wire tip's signed
distance to the part [m]) reports a distance at or below ``VirtualConfig.touch_contact_distance``.
The sensor is the geometry truth of the simulated cell (the part's real pose and the robot's actual
joints, ``weldcell.cell.touchsim``); without one the wire never touches anything.

Faults: no ignition (IGNITION lasts ``ignition_timeout``, then error 1, POSTFLOW), arc loss (error
2, straight to POSTFLOW), wire stick at arc end (error 3, ``wire_stick`` output until error reset),
heartbeat / communication timeout (error 4, the weld ends at once). Errors are cleared by a rising
edge on the error-reset coil; a new weld needs a new rising edge on welding start.

Test registers (holding registers from ``image.test_base``, virtual power source only):

====== ====================== ======================================================================
offset name                   meaning
====== ====================== ======================================================================
0      NO_IGNITION            number of coming weld starts that will not ignite (read/write)
1      ARC_LOSS               write 1: lose the arc now (reads back 0)
2      WIRE_STICK             write 1: the next arc end sticks (reads 1 while armed)
3      COMM_TIMEOUT_MS        communication (heartbeat) timeout [ms], 0 = off (read/write)
4      STATE                  process state number, :class:`ProcessState` (read only)
5      WARNING                write 1/0: warning output on/off
6      GAS                    gas valve open (read only)
7      START_COUNT            accepted weld starts, modulo 65536 (read only)
8      HEARTBEAT_GAP_MAX_MS   longest interval between two robot heartbeat toggles (one that timed
                              out included), its own stalls not counted [ms] (write 0: reset)
9      OWN_STALLS             the power source's own scheduling stalls (gaps between two steps longer
                              than ``own_stall``), modulo 65536 (write 0: reset)
====== ====================== ======================================================================
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from weldcell.drivers.powersource.base import (
    MAX_CURRENT,
    MAX_VOLTAGE,
    ErrorCode,
    PowerSourceStatus,
    PowerSourceValueError,
    WeldParams,
)
from weldcell.drivers.powersource.image import (
    COIL_SIGNALS,
    ProcessImage,
    RobotOutputs,
    decode_commands,
    encode_status,
)

log = logging.getLogger(__name__)


class TestRegister(enum.IntEnum):
    """Offsets of the test registers from :attr:`ProcessImage.test_base`."""

    __test__ = False  # not a pytest test class

    NO_IGNITION = 0
    ARC_LOSS = 1
    WIRE_STICK = 2
    COMM_TIMEOUT_MS = 3
    STATE = 4
    WARNING = 5
    GAS = 6
    START_COUNT = 7
    HEARTBEAT_GAP_MAX_MS = 8
    OWN_STALLS = 9


N_TEST_REGISTERS = len(TestRegister)


class ProcessState(enum.IntEnum):
    """Process state of the virtual power source."""

    IDLE = 0
    PREFLOW = 1
    IGNITION = 2
    ARC = 3
    CRATER = 4
    POSTFLOW = 5


@dataclass(frozen=True, slots=True)
class VirtualTiming:
    """Process timing of the virtual power source, all in [s]."""

    pre_flow: float = 0.10
    ignition_delay: float = 0.08
    ignition_jitter: float = 0.02
    ignition_timeout: float = 0.40
    arc_settle: float = 0.04
    crater_fill: float = 0.15
    post_flow: float = 0.30
    comm_timeout: float = 0.5
    heartbeat_half_period: float = 0.5  # the power source heartbeat toggles at 1 Hz


def _default_jobs() -> dict[int, WeldParams]:
    # 1.0 mm G3Si1 wire, Ar/CO2: typical short-arc / spray settings
    return {
        1: WeldParams(wire_feed=5.0 / 60, voltage=18.5, current=140.0, job=1),
        2: WeldParams(wire_feed=8.0 / 60, voltage=23.0, current=200.0, job=2),
        3: WeldParams(wire_feed=11.0 / 60, voltage=28.0, current=260.0, job=3),
    }


@dataclass(frozen=True)
class VirtualConfig:
    """Configuration of the virtual power source.

    Attributes:
        image: Process image (addresses and scalings).
        timing: Process timing.
        jobs: Stored jobs by number.
        current_noise: Relative standard deviation of the actual current [-].
        voltage_noise: Relative standard deviation of the actual voltage [-].
        wire_feed_noise: Relative standard deviation of the actual wire feed [-].
        crater_fraction: Crater-fill current as a fraction of the welding current [-].
        open_circuit_voltage: Voltage while waiting for ignition [V].
        creep_speed: Wire speed while waiting for ignition [m/s].
        inch_speed: Wire inching speed [m/s].
        require_heartbeat: Refuse weld start until the robot heartbeat has toggled at least once.
        touch_contact_distance: Wire-tip distance to the part [m] at or below which touch sensing
            reports contact.
        touch_voltage: Sensing voltage on the wire while touch sensing is on and open [V].
    """

    image: ProcessImage = field(default_factory=ProcessImage)
    timing: VirtualTiming = field(default_factory=VirtualTiming)
    jobs: Mapping[int, WeldParams] = field(default_factory=_default_jobs)
    current_noise: float = 0.02
    voltage_noise: float = 0.01
    wire_feed_noise: float = 0.005
    crater_fraction: float = 0.6
    open_circuit_voltage: float = 55.0
    creep_speed: float = 1.5 / 60
    inch_speed: float = 5.0 / 60
    require_heartbeat: bool = True
    touch_contact_distance: float = 0.0
    touch_voltage: float = 48.0


@dataclass(frozen=True, slots=True)
class Setpoints:
    """Resolved welding set-points: wire feed [m/s], voltage [V], current [A]."""

    wire_feed: float
    voltage: float
    current: float


def resolve_setpoints(params: WeldParams, jobs: Mapping[int, WeldParams]) -> Setpoints | None:
    """Set-points the power source welds with, or None for an unknown job / empty command.

    Missing values follow a synergic line: current from wire feed ``I = 30 A + 20 A/(m/min) · v_wire``
    (1.0 mm steel wire, rule of thumb) and voltage from the conventional load line for MIG/MAG of
    EN IEC 60974-1, ``U = 14 V + 0.05 V/A · I``; the arc-length correction adds 0.5 V per unit.
    """
    if params.job > 0:
        job = jobs.get(params.job)
        if job is None:
            return None
        params = WeldParams(job.wire_feed, job.voltage, job.current, params.arc_length_correction, params.job)
    wfs_m_min = params.wire_feed * 60.0
    current = params.current
    if wfs_m_min <= 0 and current <= 0:
        return None
    if current <= 0:
        current = 30.0 + 20.0 * wfs_m_min
    if wfs_m_min <= 0:
        wfs_m_min = max((current - 30.0) / 20.0, 1.0)
    voltage = params.voltage if params.voltage > 0 else 14.0 + 0.05 * current
    voltage += 0.5 * params.arc_length_correction
    return Setpoints(wfs_m_min / 60.0, min(max(voltage, 0.0), MAX_VOLTAGE), min(current, MAX_CURRENT))


class VirtualPowerSourceModel:
    """State machine and memory of the virtual power source. Thread-safe (one lock).

    Args:
        config: Configuration.
        rng: Random generator for ignition jitter and measurement noise (seeded by the caller).
        clock: Monotonic clock [s]; tests pass a manual clock.
        own_stall: When set [s]: a gap longer than this between two steps of the model is the
            virtual power source's *own* scheduling stall (its thread was not run), during which it
            could not watch the heartbeat; the heartbeat supervision does not count it against the
            robot (a real power source supervises continuously). The server sets it; a manual clock
            leaves it None.
    """

    def __init__(
        self,
        config: VirtualConfig | None = None,
        rng: np.random.Generator | None = None,
        clock: Callable[[], float] = time.monotonic,
        own_stall: float | None = None,
    ) -> None:
        self.config = config or VirtualConfig()
        self.image = self.config.image
        self._rng = rng if rng is not None else np.random.default_rng(0)
        self._clock = clock
        self._lock = threading.RLock()
        img = self.image
        self._coils = [False] * (max(img.coil_addresses()) + 1)
        self._holding: dict[int, int] = {a: 0 for a in range(sum(img.holding_span()))}
        self._prev = RobotOutputs()
        now = clock()
        self._t0 = now
        self._state = ProcessState.IDLE
        self._t_enter = now
        self._error = ErrorCode.NONE
        self._wire_stick = False
        self._warning = False
        self._hb_armed = False
        self._hb_last = now
        self.heartbeat_gap_max = 0.0  # longest gap between robot heartbeat toggles [s] (own stalls out)
        self._hb_seen = False
        self.own_stalls = 0
        self._own_stall = own_stall
        self._last_step = now
        self._comm_timeout = self.config.timing.comm_timeout
        self._no_ignition = 0
        self._arc_loss_requested = False
        self._stick_armed = False
        self._fail_ignition = False
        self._ignition_delay = self.config.timing.ignition_delay
        self._setpoints = Setpoints(0.0, 0.0, 0.0)
        self._start_count = 0
        self._noise = (0.0, 0.0, 0.0)
        self._transitions: list[tuple[float, ProcessState, ProcessState]] = []
        self._contact_sensor: Callable[[], float] | None = None

    # --- fault injection (Python API; the test registers do the same over Modbus) -------------
    def inject_no_ignition(self, count: int = 1) -> None:
        """Make the next ``count`` weld starts fail to ignite."""
        with self._lock:
            self._no_ignition = max(0, int(count))

    def inject_arc_loss(self) -> bool:
        """Lose the arc now. Returns True if an arc was burning (and is now lost)."""
        with self._lock:
            self._arc_loss_requested = True
            burning = self._state in (ProcessState.ARC, ProcessState.CRATER)
            self._step(self._clock())
            return burning

    def inject_wire_stick(self, on: bool = True) -> None:
        """Arm (or disarm) a wire stick at the next arc end."""
        with self._lock:
            self._stick_armed = bool(on)

    def set_contact_sensor(self, sensor: Callable[[], float] | None) -> None:
        """Install the geometry truth for touch sensing: ``sensor()`` returns the wire tip's signed
        distance to the part [m] (negative inside). None removes it (the wire touches nothing)."""
        with self._lock:
            self._contact_sensor = sensor

    def touch_contact(self) -> bool:
        """True while touch sensing is on, no weld runs and the wire tip touches the part."""
        with self._lock:
            return self._touching(self._robot())

    def set_warning(self, on: bool) -> None:
        """Switch the warning output on or off."""
        with self._lock:
            self._warning = bool(on)

    def set_comm_timeout(self, seconds: float) -> None:
        """Communication (heartbeat) timeout [s]; 0 switches the supervision off."""
        if seconds < 0:
            raise PowerSourceValueError(f"communication timeout must be >= 0 s, got {seconds}")
        with self._lock:
            self._comm_timeout = float(seconds)

    # --- queries -----------------------------------------------------------------------------
    @property
    def state(self) -> ProcessState:
        """Current process state."""
        with self._lock:
            self._step(self._clock())
            return self._state

    @property
    def gas_valve(self) -> bool:
        """True while shielding gas flows (process active or gas test)."""
        with self._lock:
            return self._state != ProcessState.IDLE or self._robot().gas_test

    @property
    def start_count(self) -> int:
        """Number of weld starts accepted so far."""
        with self._lock:
            return self._start_count

    def transitions(self) -> tuple[tuple[float, ProcessState, ProcessState], ...]:
        """State transitions so far: (time [s] since creation, from, to)."""
        with self._lock:
            return tuple(self._transitions)

    def robot_outputs(self) -> RobotOutputs:
        """What the robot currently writes to the coils."""
        with self._lock:
            return self._robot()

    def commands(self) -> WeldParams:
        """The command values currently in the holding registers.

        Raises:
            PowerSourceValueError: a command register holds a value outside its documented range
                (a weld start now would fail with error 6).
        """
        with self._lock:
            return self.commands_locked()

    def status(self) -> PowerSourceStatus:
        """The power source outputs now."""
        with self._lock:
            now = self._clock()
            self._step(now)
            return self._status(now)

    # --- memory interface (used by the Modbus server) ----------------------------------------
    def read_coils(self, count: int) -> list[bool]:
        """Coils from address 0, padded with False to ``count``."""
        with self._lock:
            return (self._coils + [False] * count)[:count]

    def read_discrete_inputs(self, count: int) -> list[bool]:
        """Discrete inputs from address 0, padded with False to ``count``."""
        with self._lock:
            now = self._clock()
            self._step(now)
            bits, _ = encode_status(self.image, self._status(now), main_current=self._main_current(now))
            return (bits + [False] * count)[:count]

    def read_input_registers(self, address: int, count: int) -> list[int]:
        """Input registers ``address`` … ``address + count - 1`` (unmapped ones read 0)."""
        with self._lock:
            now = self._clock()
            self._step(now)
            _, regs = encode_status(self.image, self._status(now), main_current=self._main_current(now))
            start = self.image.input_span()[0]
            return [
                regs[a - start] if 0 <= a - start < len(regs) else 0 for a in range(address, address + count)
            ]

    def read_holding_registers(self, address: int, count: int) -> list[int]:
        """Holding registers (command and test registers); unmapped ones read 0."""
        with self._lock:
            self._step(self._clock())
            return [self._read_holding(a) for a in range(address, address + count)]

    def write_coils(self, address: int, values: list[bool]) -> None:
        """Robot writes coils from ``address`` (addresses beyond the image are ignored)."""
        with self._lock:
            now = self._clock()
            self._step(now)
            for i, v in enumerate(values):
                if 0 <= address + i < len(self._coils):
                    self._coils[address + i] = bool(v)
            self._step(now)

    def write_holding_registers(self, address: int, values: list[int]) -> None:
        """Robot writes holding registers from ``address`` (command values or test registers)."""
        with self._lock:
            now = self._clock()
            self._step(now)
            for i, v in enumerate(values):
                self._write_holding(address + i, int(v) & 0xFFFF)
            self._step(now)

    def step(self) -> None:
        """Advance the state machine to the clock's current time (the server calls this periodically)."""
        with self._lock:
            self._step(self._clock())

    # --- internals ---------------------------------------------------------------------------
    def _robot(self) -> RobotOutputs:
        return RobotOutputs(**{n: self._coils[getattr(self.image, n)] for n in COIL_SIGNALS})

    def _read_holding(self, address: int) -> int:
        ct = self.image.comm_timeout
        if ct is not None and address == ct.address:
            return ct.encode(min(self._comm_timeout, ct.raw_max * ct.scale))
        off = address - self.image.test_base
        if 0 <= off < N_TEST_REGISTERS:
            reg = TestRegister(off)
            values = {
                TestRegister.NO_IGNITION: self._no_ignition,
                TestRegister.ARC_LOSS: 0,
                TestRegister.WIRE_STICK: int(self._stick_armed),
                TestRegister.COMM_TIMEOUT_MS: round(self._comm_timeout * 1000),
                TestRegister.STATE: int(self._state),
                TestRegister.WARNING: int(self._warning),
                TestRegister.GAS: int(self._state != ProcessState.IDLE or self._robot().gas_test),
                TestRegister.START_COUNT: self._start_count & 0xFFFF,
                TestRegister.HEARTBEAT_GAP_MAX_MS: round(self.heartbeat_gap_max * 1000),
                TestRegister.OWN_STALLS: self.own_stalls & 0xFFFF,
            }
            return min(values[reg], 0xFFFF)
        return self._holding.get(address, 0)

    def _write_holding(self, address: int, word: int) -> None:
        ct = self.image.comm_timeout
        if ct is not None and address == ct.address:
            self._comm_timeout = ct.decode(word)  # the robot sets the heartbeat timeout (0 = off)
            log.info("virtual power source: communication timeout set to %.3f s", self._comm_timeout)
            return
        off = address - self.image.test_base
        if 0 <= off < N_TEST_REGISTERS:
            reg = TestRegister(off)
            if reg is TestRegister.NO_IGNITION:
                self._no_ignition = word
            elif reg is TestRegister.ARC_LOSS and word:
                self._arc_loss_requested = True
            elif reg is TestRegister.WIRE_STICK:
                self._stick_armed = bool(word)
            elif reg is TestRegister.COMM_TIMEOUT_MS:
                self._comm_timeout = word / 1000.0
            elif reg is TestRegister.WARNING:
                self._warning = bool(word)
            elif reg is TestRegister.HEARTBEAT_GAP_MAX_MS and word == 0:
                self.heartbeat_gap_max = 0.0
            elif reg is TestRegister.OWN_STALLS and word == 0:
                self.own_stalls = 0
            return  # STATE, GAS, START_COUNT are read only
        if address in self._holding:
            self._holding[address] = word

    def _enter(self, state: ProcessState, t: float) -> None:
        log.debug("virtual power source: %s -> %s at %.3f s", self._state.name, state.name, t - self._t0)
        self._transitions.append((t - self._t0, self._state, state))
        self._state = state
        self._t_enter = t

    def _fault(self, code: ErrorCode, t: float) -> None:
        if self._error == ErrorCode.NONE:
            self._error = code
            log.info("virtual power source: error %d (%s)", int(code), ErrorCode.describe(code))

    def _step(self, now: float) -> None:
        rob = self._robot()
        prev = self._prev
        self._prev = rob
        gap, self._last_step = now - self._last_step, now
        if self._own_stall is not None and gap > self._own_stall:
            self._hb_last += gap  # not observed: the supervision resumes where it stopped
            self.own_stalls += 1
        # heartbeat supervision
        if rob.heartbeat_robot != prev.heartbeat_robot:
            if self._hb_seen:  # also the gap that timed out (the supervision disarmed meanwhile)
                self.heartbeat_gap_max = max(self.heartbeat_gap_max, now - self._hb_last)
            self._hb_seen = True
            self._hb_armed = True
            self._hb_last = now
        if self._hb_armed and self._comm_timeout > 0 and now - self._hb_last > self._comm_timeout:
            self._hb_armed = False
            self._fault(ErrorCode.COMM_TIMEOUT, now)
            if self._state in (
                ProcessState.PREFLOW,
                ProcessState.IGNITION,
                ProcessState.ARC,
                ProcessState.CRATER,
            ):
                self._enter(ProcessState.POSTFLOW, now)
        # error reset (rising edge)
        if rob.error_reset and not prev.error_reset and self._error != ErrorCode.NONE:
            log.info("virtual power source: error %d reset", int(self._error))
            self._error = ErrorCode.NONE
            self._wire_stick = False
        # weld start / stop edges
        if rob.welding_start and not prev.welding_start:
            self._on_start(rob, now)
        if not rob.welding_start and prev.welding_start:
            if self._state in (ProcessState.PREFLOW, ProcessState.IGNITION):
                self._enter(ProcessState.POSTFLOW, now)
            elif self._state == ProcessState.ARC:
                self._enter(ProcessState.CRATER, now)
        # arc loss on demand
        if self._arc_loss_requested:
            self._arc_loss_requested = False
            if self._state in (ProcessState.ARC, ProcessState.CRATER):
                self._fault(ErrorCode.ARC_BREAK, now)
                self._enter(ProcessState.POSTFLOW, now)
        # timers (chained, so a late step still lands every transition at its exact time)
        while True:
            t_end = self._timer_end()
            if t_end is None or now < t_end:
                break
            self._on_timer(t_end)
        # measurement noise for this step
        r = self._rng.standard_normal(3)
        self._noise = (float(r[0]), float(r[1]), float(r[2]))

    def _on_start(self, rob: RobotOutputs, now: float) -> None:
        if self._error != ErrorCode.NONE or self._state not in (ProcessState.IDLE, ProcessState.POSTFLOW):
            return
        if not rob.robot_ready or (self.config.require_heartbeat and not self._hb_armed):
            self._fault(ErrorCode.NOT_READY, now)
            return
        if rob.touch_sensing:  # sensing voltage and welding current never together
            log.warning("virtual power source: weld start refused: touch sensing is on")
            self._fault(ErrorCode.INVALID_COMMAND, now)
            return
        try:
            params = self.commands_locked()
        except PowerSourceValueError as err:  # out of range: error 6 and no arc, never a clamped weld
            log.warning("virtual power source: weld start refused: %s", err)
            self._fault(ErrorCode.INVALID_COMMAND, now)
            return
        sp = resolve_setpoints(params, self.config.jobs)
        if sp is None:
            log.warning(
                "virtual power source: weld start refused: unknown job %d or no command value", params.job
            )
            self._fault(ErrorCode.INVALID_COMMAND, now)
            return
        self._setpoints = sp
        self._start_count += 1
        self._enter(ProcessState.PREFLOW, now)

    def commands_locked(self) -> WeldParams:
        """Command values (caller holds the lock).

        Raises:
            PowerSourceValueError: a command outside its documented range.
        """
        start, count = self.image.holding_span()
        return decode_commands(self.image, start, [self._holding[a] for a in range(start, start + count)])

    def _timer_end(self) -> float | None:
        tm = self.config.timing
        durations = {
            ProcessState.PREFLOW: tm.pre_flow,
            ProcessState.IGNITION: tm.ignition_timeout if self._fail_ignition else self._ignition_delay,
            ProcessState.CRATER: tm.crater_fill,
            ProcessState.POSTFLOW: tm.post_flow,
        }
        d = durations.get(self._state)
        return None if d is None else self._t_enter + d

    def _on_timer(self, t: float) -> None:
        tm = self.config.timing
        if self._state == ProcessState.PREFLOW:
            self._fail_ignition = self._no_ignition > 0
            if self._fail_ignition:
                self._no_ignition -= 1
            jitter = tm.ignition_jitter * (2.0 * float(self._rng.random()) - 1.0)
            self._ignition_delay = max(0.0, tm.ignition_delay + jitter)
            self._enter(ProcessState.IGNITION, t)
        elif self._state == ProcessState.IGNITION:
            if self._fail_ignition:
                self._fault(ErrorCode.NO_IGNITION, t)
                self._enter(ProcessState.POSTFLOW, t)
            else:
                self._enter(ProcessState.ARC, t)
        elif self._state == ProcessState.CRATER:
            if self._stick_armed:
                self._stick_armed = False
                self._wire_stick = True
                self._fault(ErrorCode.WIRE_STICK, t)
            self._enter(ProcessState.POSTFLOW, t)
        elif self._state == ProcessState.POSTFLOW:
            self._enter(ProcessState.IDLE, t)

    def _arc_settled(self, now: float) -> bool:
        return self._state == ProcessState.ARC and now - self._t_enter >= self.config.timing.arc_settle

    def _main_current(self, now: float) -> bool:
        return self._arc_settled(now)

    def _touching(self, rob: RobotOutputs) -> bool:
        sensor = self._contact_sensor
        if not rob.touch_sensing or sensor is None or self._state != ProcessState.IDLE:
            return False
        try:
            distance = float(sensor())
        except Exception:  # a broken geometry model must not kill the power source
            log.exception("virtual power source: the contact sensor failed")
            return False
        return distance <= self.config.touch_contact_distance

    def _status(self, now: float) -> PowerSourceStatus:
        cfg = self.config
        rob = self._robot()
        touching = self._touching(rob)
        burning = self._state in (ProcessState.ARC, ProcessState.CRATER)
        stable = self._arc_settled(now) or self._state == ProcessState.CRATER
        n_i, n_u, n_w = self._noise
        sp = self._setpoints
        if burning:
            frac = 1.0 if self._state == ProcessState.ARC else cfg.crater_fraction
            current = sp.current * frac * (1.0 + cfg.current_noise * n_i)
            voltage = (sp.voltage if frac == 1.0 else 14.0 + 0.05 * sp.current * frac) * (
                1.0 + cfg.voltage_noise * n_u
            )
            wire = sp.wire_feed * frac * (1.0 + cfg.wire_feed_noise * n_w)
        elif self._state == ProcessState.IGNITION:
            current, voltage, wire = 0.0, cfg.open_circuit_voltage, cfg.creep_speed
        else:
            current = voltage = 0.0
            wire = cfg.inch_speed if (rob.wire_forward or rob.wire_backward) else 0.0
            if rob.touch_sensing and self._state == ProcessState.IDLE:
                voltage = 0.0 if touching else cfg.touch_voltage
        half = cfg.timing.heartbeat_half_period
        return PowerSourceStatus(
            ready=self._error == ErrorCode.NONE,
            process_active=self._state != ProcessState.IDLE,
            current_flow=burning,
            arc_stable=stable,
            motion_release=self._arc_settled(now) and rob.welding_start,
            wire_stick=self._wire_stick,
            warning=self._warning,
            error_code=int(self._error),
            current=max(current, 0.0),
            voltage=max(voltage, 0.0),
            wire_feed=max(wire, 0.0),
            heartbeat=int((now - self._t0) / half) % 2 == 1,
            timestamp=now,
            touch_contact=touching,
        )


__all__ = [
    "N_TEST_REGISTERS",
    "ProcessState",
    "Setpoints",
    "TestRegister",
    "VirtualConfig",
    "VirtualPowerSourceModel",
    "VirtualTiming",
    "resolve_setpoints",
]
