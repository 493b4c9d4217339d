"""The virtual positioner device: :class:`~.servo.ServoAxes` served over Modbus TCP (pymodbus 3.16).

:class:`VirtualPositioner` binds its socket when built, runs a pymodbus ``ModbusTcpServer`` in a
background thread with its own asyncio loop, and advances the drive model (in its 1 ms ticks:
watchdog, motion) at every request and every :data:`SERVE_PERIOD` between requests. It has the shape
:func:`weldcell.drivers.controller_process.controller_process` expects (``address``, ``start()``,
``stop() -> status``), so the cell runs it in a child process as it does the robot controllers;
``weldcell controller positioner`` runs it in the foreground.

Axes come from the command line (:func:`axes_from_text`) or from a URDF file
(:func:`axes_from_urdf`: its revolute, continuous and prismatic joints in file order, with their
``<limit>`` travel and velocity; URDF has no acceleration, so that is given separately).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from weldcell.drivers.positioner import registers as reg
from weldcell.drivers.positioner.base import AxisSpec
from weldcell.drivers.positioner.servo import ServoAxes, ServoConfig, ServoCounters
from weldcell.drivers.realtime import configure_thread
from weldcell.errors import DriverConnectionError, InvalidValueError, ModelError

log = logging.getLogger(__name__)

#: Maximum acceleration of revolute axes read from a URDF (which has none) [rad/s²].
DEFAULT_ACCEL_RAD_S2 = 8.0
#: Maximum acceleration of prismatic axes read from a URDF [m/s²].
DEFAULT_ACCEL_M_S2 = 2.0
#: Travel given to a URDF ``continuous`` joint [rad] (± 160 turns; the register pair holds ± 2147 rad).
CONTINUOUS_TRAVEL = 1000.0
#: ``SCHED_FIFO`` priority of the device's server thread in its own process (the virtual UR
#: controller's servers run at 15, its cycle at 20): a drive is a real-time device, and a server
#: thread at ordinary priority waits for a CPU behind every ordinary process on a loaded machine.
DEVICE_PRIORITY = 15
#: Period [s] of the server loop's model updates between requests (each update runs every tick
#: since the last one, and every request updates first, so the drive's behaviour does not depend on
#: it; waking every 1 ms tick took ~20 % of a core under ``SCHED_FIFO``).
SERVE_PERIOD = 0.005
#: Gap between two updates of the drive model, in ticks, above which the gap is the device's own
#: scheduling stall (:class:`~.servo.ServoAxes` ``own_stall``).
OWN_STALL_TICKS = 20


@dataclass(frozen=True, slots=True)
class VirtualPositionerConfig:
    """Settings of a virtual positioner device.

    Attributes:
        servo: The drive's axes and behaviour.
        host: Address to listen on.
        port: TCP port (0: a free one).
        q0: Initial positions [rad or m] (None: 0 clipped into the travel).
        fifo_priority: ``SCHED_FIFO`` priority (1-99) of the server thread, which also ticks the
            drive (None: ordinary scheduling; without permission it stays ordinary and logs why at
            debug level). The child-process launcher uses :data:`DEVICE_PRIORITY`.
        freeze_gc: Freeze the objects built at start-up (``gc.freeze``) once the device listens, so
            that a full collection never walks numpy, pymodbus and the model while a request waits
            (for a device in its own process; the freeze is interpreter-wide).
    """

    servo: ServoConfig
    host: str = "127.0.0.1"
    port: int = 0
    q0: tuple[float, ...] | None = field(default=None)
    fifo_priority: int | None = None
    freeze_gc: bool = False

    def __post_init__(self) -> None:
        if self.fifo_priority is not None and not 1 <= self.fifo_priority <= 99:
            raise InvalidValueError(
                f"VirtualPositionerConfig.fifo_priority must be 1-99 or None, got {self.fifo_priority}"
            )


def axes_from_text(specs: list[str]) -> tuple[AxisSpec, ...]:
    """Axes from ``NAME:revolute:LOWER_DEG:UPPER_DEG:SPEED_DEG_S:ACCEL_DEG_S2`` or
    ``NAME:prismatic:LOWER_MM:UPPER_MM:SPEED_MM_S:ACCEL_MM_S2`` strings (user units, converted to SI).

    Raises:
        InvalidValueError: naming the string and what was expected.
    """
    out = []
    for text in specs:
        parts = text.split(":")
        if len(parts) != 6:
            raise InvalidValueError(
                f"--axis {text!r}: expected NAME:KIND:LOWER:UPPER:SPEED:ACCEL, e.g. "
                "rotate:revolute:-360:360:90:360 (deg) or track:prismatic:0:3000:500:1000 (mm)"
            )
        name, kind = parts[0], parts[1]
        try:
            nums = [float(x) for x in parts[2:]]
        except ValueError as err:
            raise InvalidValueError(
                f"--axis {text!r}: limits, speed and acceleration must be numbers"
            ) from err
        if kind == "revolute":
            scale = math.pi / 180.0
        elif kind == "prismatic":
            scale = 1e-3
        else:
            raise InvalidValueError(f"--axis {text!r}: kind {kind!r} must be revolute or prismatic")
        try:
            out.append(AxisSpec(name, kind, *(v * scale for v in nums)))
        except InvalidValueError as err:
            raise InvalidValueError(f"--axis {text!r}: {err}") from err
    return tuple(out)


def axes_from_urdf(path: Path, accel_rad_s2: float, accel_m_s2: float) -> tuple[AxisSpec, ...]:
    """The actuated joints of a URDF (revolute, continuous, prismatic; file order) as axes.

    Args:
        path: URDF file.
        accel_rad_s2: Maximum acceleration of its revolute axes [rad/s²] (URDF has none).
        accel_m_s2: Maximum acceleration of its prismatic axes [m/s²].

    Raises:
        ModelError: unreadable file, no actuated joint, a joint without ``<limit velocity>``.
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        raise ModelError(f"cannot read URDF {path}: {err}") from err
    out = []
    for j in root.findall("joint"):
        kind = j.get("type", "")
        if kind not in ("revolute", "continuous", "prismatic"):
            continue
        name = j.get("name", "")
        lim = j.find("limit")
        if lim is None or lim.get("velocity") is None:
            raise ModelError(f"URDF {path}: joint {name!r} has no <limit velocity=...>; expected one")
        try:
            vel = float(lim.get("velocity", ""))
            if kind == "continuous":
                lo, hi = -CONTINUOUS_TRAVEL, CONTINUOUS_TRAVEL
            else:
                lo, hi = float(lim.get("lower", "")), float(lim.get("upper", ""))
        except ValueError as err:
            raise ModelError(f"URDF {path}: joint {name!r}: <limit> values must be numbers ({err})") from err
        axis_kind = "prismatic" if kind == "prismatic" else "revolute"
        accel = accel_m_s2 if axis_kind == "prismatic" else accel_rad_s2
        try:
            out.append(AxisSpec(name, axis_kind, lo, hi, vel, accel))
        except InvalidValueError as err:
            raise ModelError(f"URDF {path}: joint {name!r}: {err}") from err
    if not out:
        raise ModelError(f"URDF {path}: no revolute, continuous or prismatic joint; a positioner needs one")
    return tuple(out)


def _device(model: ServoAxes, lock: threading.Lock) -> SimDevice:
    async def action(
        func_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        try:
            with lock:
                now = time.monotonic()
                if set_values is not None:
                    if func_code not in (6, 16, 23):
                        return ExcCodes.ILLEGAL_FUNCTION
                    model.write_registers(address, [int(v) for v in set_values], now)
                else:
                    registers[address - start_address : address - start_address + count] = (
                        model.read_registers(address, count, now)
                    )
        except InvalidValueError:
            return ExcCodes.ILLEGAL_ADDRESS
        except Exception:  # a bug in the model must not kill the server
            log.exception("virtual positioner: request fc=%d address=%d failed", func_code, address)
            return ExcCodes.DEVICE_FAILURE
        return None

    return SimDevice(
        0,
        simdata=(  # coils and discrete inputs are not used; pymodbus wants every block present
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, count=reg.BATCH_END, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
        ),
        action=action,
    )


class VirtualPositioner:
    """A virtual positioner listening on Modbus TCP (see module docstring).

    The socket is bound in the constructor (``address`` is valid at once); :meth:`stop` ends it and
    returns the drive's counters.

    Raises:
        DriverConnectionError: the address cannot be bound.
    """

    def __init__(self, config: VirtualPositionerConfig) -> None:
        self.config = config
        self.model = ServoAxes(
            config.servo, config.q0, time.monotonic(), own_stall=OWN_STALL_TICKS * config.servo.tick
        )
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._port = config.port
        self._thread = threading.Thread(target=self._run, name="virtual-positioner", daemon=True)
        self._thread.start()
        if not self._ready.wait(10.0) or self._error is not None:
            raise DriverConnectionError(
                f"virtual positioner cannot listen on {config.host}:{config.port}: "
                f"{self._error or 'no answer'}"
            )

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) it listens on."""
        return (self.config.host, self._port)

    def start(self) -> None:
        """Nothing to start: the device serves from construction (for the controller-process runner)."""

    def counters(self) -> ServoCounters:
        """What the drive saw so far."""
        with self._lock:
            self.model.step(time.monotonic())
            return self.model.counters()

    def stop(self) -> ServoCounters:
        """Stop serving; returns the drive's counters."""
        if self._loop is not None and self._stop_event is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop_event.set)
            self._thread.join(5.0)
        return self.counters()

    def _run(self) -> None:
        if self.config.fifo_priority is not None:
            for note in configure_thread(self.config.fifo_priority, timer_slack=1e-5):
                log.debug("virtual positioner server thread: %s", note)
        try:
            asyncio.run(self._main())
        except BaseException as err:  # reported to the constructor; the thread must end cleanly
            self._error = err
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        server = ModbusTcpServer(
            _device(self.model, self._lock), address=(self.config.host, self.config.port)
        )
        await server.serve_forever(background=True)
        try:
            sockets = getattr(server.transport, "sockets", None) or []
            if not sockets:
                raise DriverConnectionError("the Modbus server did not bind (address in use?)")
            self._port = int(sockets[0].getsockname()[1])
            log.info("virtual positioner listening on %s:%d", self.config.host, self._port)
            if self.config.freeze_gc:
                gc.freeze()  # start-up objects live as long as the process: out of the collector's sight
            self._ready.set()
            period = max(self.config.servo.tick, SERVE_PERIOD)
            while not self._stop_event.is_set():
                with self._lock:
                    self.model.step(time.monotonic())
                await asyncio.sleep(period)  # a plain sleep: no task per wake-up (stop ends it within one)
        finally:
            await server.shutdown()


def counters_from_dict(data: dict[str, object]) -> ServoCounters:
    """Rebuild the counters from their ``dataclasses.asdict`` form (controller-process status)."""
    return ServoCounters(**data)  # type: ignore[arg-type]
