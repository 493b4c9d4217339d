"""Virtual welding power source served over Modbus TCP (pymodbus 3.16.1 server, SimDevice API).

The behaviour lives in :class:`~weldcell.drivers.powersource.virtual_model.VirtualPowerSourceModel`;
this module puts it behind a pymodbus ``ModbusTcpServer``. pymodbus 3.16 replaced the old datastore
(``ModbusSequentialDataBlock.getValues``/``setValues``) with ``SimData``/``SimDevice``; we declare
four separate blocks (coils, discrete inputs, holding, input registers, 0-based addresses, device id
0 = answer every unit id) and an ``action`` coroutine that pymodbus calls on every access: reads
refresh the block from the model, writes are applied to the model. The model is the only truth.

Use :func:`start_virtual_power_source` for a server in a background thread (its own asyncio loop),
or :func:`serve_virtual_power_source` to run it in the foreground (``weldcell powersource``).
Faults are injected through ``handle.model`` (Python) or the test registers (Modbus, see
:mod:`weldcell.drivers.powersource.virtual_model`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import numpy as np
from pymodbus.client import ModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from weldcell.drivers.powersource.base import PowerSourceValueError
from weldcell.drivers.powersource.image import ProcessImage, pack_bits
from weldcell.drivers.powersource.virtual_model import (
    N_TEST_REGISTERS,
    ProcessState,
    TestRegister,
    VirtualConfig,
    VirtualPowerSourceModel,
    VirtualTiming,
)
from weldcell.drivers.realtime import configure_thread
from weldcell.errors import DriverConnectionError, ProtocolError

log = logging.getLogger(__name__)

TICK = 0.005  # [s] period of the state-machine tick between requests (watchdog, timers)
#: ``SCHED_FIFO`` priority of the server thread of a virtual power source in its own process (as the
#: virtual positioner's and the virtual UR controller's servers: a device is real-time)
PSU_PRIORITY = 15

_COIL_READ = {1}
_COIL_WRITE = {5, 15}
_DI_READ = {2}
_HR = {3, 6, 16, 22, 23}
_IR_READ = {4}


def _build_device(model: VirtualPowerSourceModel) -> SimDevice:
    """A pymodbus SimDevice with four blocks sized from the model's process image."""
    img = model.image
    n_coils = max(img.coil_addresses()) + 1
    n_di = max(img.discrete_input_addresses()) + 1
    hr_start, hr_count = img.holding_span()
    ir_start, ir_count = img.input_span()
    bits_c = [False] * (((n_coils + 15) // 16) * 16)
    bits_d = [False] * (((n_di + 15) // 16) * 16)
    holding = [SimData(hr_start, count=hr_count, values=0, datatype=DataType.REGISTERS)]
    holding.append(SimData(img.test_base, count=N_TEST_REGISTERS, values=0, datatype=DataType.REGISTERS))
    if img.comm_timeout is not None:
        holding.append(SimData(img.comm_timeout.address, count=1, values=0, datatype=DataType.REGISTERS))
    inputs = [SimData(ir_start, count=ir_count, values=0, datatype=DataType.REGISTERS)]
    n_coil_bits, n_di_bits = len(bits_c), len(bits_d)

    async def action(
        func_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        # ``registers`` is the whole block (bits packed 16 per word for coils/discrete inputs);
        # ``start_address`` is the address of registers[0] (a word index for bit blocks).
        try:
            if func_code in _COIL_WRITE and set_values is not None:
                model.write_coils(address, [bool(v) for v in set_values])
            elif func_code in _HR and set_values is not None:
                model.write_holding_registers(address, [int(v) for v in set_values])
            elif func_code in _COIL_READ or func_code in _COIL_WRITE:
                words = pack_bits(model.read_coils(n_coil_bits))
                registers[: len(words)] = words
            elif func_code in _DI_READ:
                words = pack_bits(model.read_discrete_inputs(n_di_bits))
                registers[: len(words)] = words
            elif func_code in _HR:
                registers[address - start_address : address - start_address + count] = (
                    model.read_holding_registers(address, count)
                )
            elif func_code in _IR_READ:
                registers[address - start_address : address - start_address + count] = (
                    model.read_input_registers(address, count)
                )
        except Exception:  # a bug in the model must not kill the server
            log.exception("virtual power source: request fc=%d address=%d failed", func_code, address)
            return ExcCodes.DEVICE_FAILURE
        return None

    return SimDevice(
        0,
        simdata=(
            [SimData(0, values=bits_c, datatype=DataType.BITS)],
            [SimData(0, values=bits_d, datatype=DataType.BITS)],
            holding,
            inputs,
        ),
        action=action,
    )


def _check_can_listen(host: str, port: int) -> None:
    """Fail early, with a clear reason, when ``host:port`` cannot be listened on.

    pymodbus only logs a bind failure; this probe names the cause (bad port, unknown host, address
    in use) before the server thread starts.

    Raises:
        DriverConnectionError: the port is out of range, the host unknown or the address not free.
    """
    where = f"virtual power source cannot listen on {host}:{port}"
    if not (isinstance(port, int) and 0 <= port <= 65535):
        raise DriverConnectionError(f"{where}: expected a TCP port 0 … 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise DriverConnectionError(f"{where}: unknown host ({err})") from err
    if port == 0:
        return
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            why = err.strerror or str(err)
            if err.errno == errno.EADDRINUSE:
                why += " (is another power source running? choose another --port)"
            raise DriverConnectionError(f"{where}: {why}") from err


class VirtualPowerSourceHandle:
    """A virtual power source running in a background thread.

    Attributes:
        model: The behaviour model (inject faults, read the state in-process).
    """

    def __init__(
        self, model: VirtualPowerSourceModel, host: str, port: int, fifo_priority: int | None = None
    ) -> None:
        self.model = model
        self._fifo_priority = fifo_priority
        self._host = host
        self._port = port
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=f"virtual-psu-{host}:{port}", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the server listens on (the real port when 0 was asked for)."""
        return self._host, self._port

    @property
    def url(self) -> str:
        """``modbus://host:port``."""
        return f"modbus://{self._host}:{self._port}"

    @property
    def running(self) -> bool:
        """True while the server thread runs."""
        return self._thread.is_alive()

    def start(self, timeout: float = 5.0) -> VirtualPowerSourceHandle:
        """Start the server thread and wait until it listens.

        Raises:
            DriverConnectionError: The port could not be bound within ``timeout`` [s].
        """
        _check_can_listen(self._host, self._port)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise DriverConnectionError(f"virtual power source did not start on {self._host}:{self._port}")
        if self._error is not None:
            self._thread.join(timeout)
            raise DriverConnectionError(
                f"virtual power source cannot listen on {self._host}:{self._port}: {self._error}"
            ) from self._error
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and join its thread. Safe to call more than once."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> VirtualPowerSourceHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        if self._fifo_priority is not None:
            for note in configure_thread(self._fifo_priority, timer_slack=1e-5):
                log.debug("virtual power source server thread: %s", note)
        try:
            asyncio.run(self._main())
        except BaseException as err:  # reported to start(); the thread must end cleanly
            self._error = err
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = ModbusTcpServer(_build_device(self.model), address=(self._host, self._port))
        await server.serve_forever(background=True)
        try:
            sockets = getattr(server.transport, "sockets", None) or []
            if sockets:
                self._port = int(sockets[0].getsockname()[1])
            log.info("virtual power source listening on %s:%d", self._host, self._port)
            self._ready.set()
            while not self._stop.is_set():
                self.model.step()
                await asyncio.sleep(TICK)  # a plain sleep: no task per tick (stop ends it within a tick)
        finally:
            await server.shutdown()
            log.info("virtual power source on %s:%d stopped", self._host, self._port)


class VirtualPowerSourceRemote:
    """Fault injection into a virtual power source in another process, over its test registers.

    Args:
        host: Address of the virtual power source.
        port: Its TCP port.
        image: Its process image (for ``test_base``).
        timeout: Request timeout [s].
    """

    def __init__(self, host: str, port: int, image: ProcessImage | None = None, timeout: float = 1.0) -> None:
        self._client = ModbusTcpClient(host, port=port, timeout=timeout, retries=0)
        self._base = (image or ProcessImage()).test_base
        self._where = f"{host}:{port}"

    def __enter__(self) -> VirtualPowerSourceRemote:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._client.close()

    def lose_arc(self) -> None:
        """Lose the arc now."""
        self._write(TestRegister.ARC_LOSS, 1)

    def fail_ignitions(self, count: int = 1) -> None:
        """Make the next ``count`` weld starts fail to ignite."""
        self._write(TestRegister.NO_IGNITION, count)

    def stick_wire(self, on: bool = True) -> None:
        """Arm (or disarm) a wire stick at the next arc end."""
        self._write(TestRegister.WIRE_STICK, int(on))

    def set_comm_timeout(self, seconds: float) -> None:
        """Heartbeat timeout [s] (0 = off), in whole milliseconds."""
        self._write(TestRegister.COMM_TIMEOUT_MS, round(seconds * 1000))

    def state(self) -> ProcessState:
        """Current process state."""
        return ProcessState(self._read(TestRegister.STATE))

    def start_count(self) -> int:
        """Weld starts accepted so far (modulo 65536)."""
        return self._read(TestRegister.START_COUNT)

    def heartbeat_figures(self) -> tuple[float, int]:
        """(longest gap between two robot heartbeat toggles the power source saw [s], its own
        scheduling stalls, modulo 65536) since its start or the last :meth:`reset_heartbeat_figures`."""
        return self._read(TestRegister.HEARTBEAT_GAP_MAX_MS) / 1000.0, self._read(TestRegister.OWN_STALLS)

    def reset_heartbeat_figures(self) -> None:
        """Restart the heartbeat figures."""
        self._write(TestRegister.HEARTBEAT_GAP_MAX_MS, 0)
        self._write(TestRegister.OWN_STALLS, 0)

    def _connect(self) -> None:
        if not self._client.connected and not self._client.connect():
            raise DriverConnectionError(f"virtual power source at {self._where} does not answer")

    def _write(self, reg: TestRegister, value: int) -> None:
        self._connect()
        try:
            rr = self._client.write_register(self._base + int(reg), int(value) & 0xFFFF)
        except ModbusException as err:
            raise DriverConnectionError(f"virtual power source at {self._where}: {err}") from err
        if rr.isError():
            raise ProtocolError(f"virtual power source at {self._where} refused {reg.name}: {rr}")

    def _read(self, reg: TestRegister) -> int:
        self._connect()
        try:
            rr = self._client.read_holding_registers(self._base + int(reg), count=1)
        except ModbusException as err:
            raise DriverConnectionError(f"virtual power source at {self._where}: {err}") from err
        if rr.isError():
            raise ProtocolError(f"virtual power source at {self._where} refused reading {reg.name}: {rr}")
        return int(rr.registers[0])


def start_virtual_power_source(
    host: str = "127.0.0.1",
    port: int = 0,
    config: VirtualConfig | None = None,
    seed: int = 0,
    timeout: float = 5.0,
    fifo_priority: int | None = None,
) -> VirtualPowerSourceHandle:
    """Start a virtual power source in a background thread.

    Args:
        host: Address to bind (loopback by default).
        port: TCP port; 0 picks a free one (read it from ``handle.address``).
        config: Process image, timing, jobs, noise.
        seed: Seed of the random generator for ignition jitter and measurement noise.
        timeout: How long to wait for the server to listen [s].
        fifo_priority: ``SCHED_FIFO`` priority (1-99) of the server thread (None: ordinary
            scheduling; without permission it stays ordinary, a debug line says why). A real power
            source supervises the robot heartbeat in real time; the virtual one in its own process
            uses :data:`PSU_PRIORITY` so that its replies (and so the heartbeat's round trips) do not
            wait behind ordinary processes.

    Returns:
        A running handle; call ``handle.stop()`` (or use it as a context manager).
    """
    if fifo_priority is not None and not 1 <= fifo_priority <= 99:
        raise PowerSourceValueError(f"virtual power source fifo_priority {fifo_priority!r}: expected 1-99")
    if not (isinstance(seed, int) and seed >= 0):
        raise PowerSourceValueError(f"virtual power source seed {seed!r}: expected an integer >= 0")
    # the server ticks the model every TICK; a much longer gap is this process not being scheduled
    model = VirtualPowerSourceModel(config, rng=np.random.default_rng(seed), own_stall=8 * TICK)
    return VirtualPowerSourceHandle(model, host, port, fifo_priority).start(timeout)


def serve_virtual_power_source(
    host: str = "127.0.0.1",
    port: int = 1502,
    config: VirtualConfig | None = None,
    seed: int = 0,
    on_ready: Callable[[VirtualPowerSourceHandle], None] | None = None,
    duration: float | None = None,
    poll: float = 0.2,
) -> None:
    """Run a virtual power source in the foreground until ``duration`` ends or KeyboardInterrupt.

    Args:
        host: Address to bind.
        port: TCP port.
        config: Configuration.
        seed: RNG seed.
        on_ready: Called once the server listens (the CLI prints the address).
        duration: Run time [s]; None = until interrupted.
        poll: How often the foreground thread checks the server [s].
    """
    # pymodbus logs a hex dump of every malformed frame it receives; a flood of garbage would then
    # cost CPU and, with stderr on a pipe nobody reads, block the server (seen in the fuzz campaign).
    # Only critical pymodbus messages are kept.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    handle = start_virtual_power_source(host, port, config, seed)
    end = None if duration is None else time.monotonic() + duration
    try:
        if on_ready is not None:
            on_ready(handle)
        while handle.running and (end is None or time.monotonic() < end):
            time.sleep(poll if end is None else max(0.0, min(poll, end - time.monotonic())))
    finally:
        handle.stop()


__all__ = [
    "ProcessState",
    "TestRegister",
    "VirtualConfig",
    "VirtualPowerSourceHandle",
    "VirtualPowerSourceModel",
    "VirtualPowerSourceRemote",
    "VirtualTiming",
    "serve_virtual_power_source",
    "start_virtual_power_source",
]
