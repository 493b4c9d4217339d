"""The cell's state, job, current seam and live weld values over OPC UA, for the plant (MES, SCADA, HMI).

:class:`OpcUaCellServer` runs an OPC UA server (asyncua) in its own thread with its own event loop.
The cell hands it events (:meth:`~OpcUaCellServer.on_event`, the controller's ``on_event``) and live
samples (:meth:`~OpcUaCellServer.on_sample`, the controller's ``on_sample``); both only store the
latest values under a lock, so the cell's supervision loop never waits on the network. The server
thread writes what changed into the address space every ``period`` seconds.

Address space (read-only for clients), modelled after the OPC UA Robotics companion specification
(OPC 40010-1) where it applies, without importing its nodeset:

``Objects/MotionDeviceSystem`` (namespace ``http://opcfoundation.org/UA/Robotics/``)
    ``MotionDevices/<robot model>``: properties ``Model``, ``Manufacturer``; ``Axes/<joint>/
    ParameterSet/ActualPosition`` [deg] (the spec's unit for rotary axes).
    ``Controllers/weldcell``: properties ``Manufacturer``, ``SoftwareRevision``.
``Objects/WeldCell`` (namespace ``http://weldcell.org/UA/Cell/``)
    ``CellState`` (idle, ready, running, paused, fault, estop), ``JobId``, ``Program``,
    ``PartSerial``, ``SegmentsTotal``, ``SegmentsDone``, ``SeamId``, ``SeamPosition_mm``,
    ``ArcOn``, ``Current_A``, ``Voltage_V``, ``WireFeed_m_min``, ``TravelSpeed_mm_s``, ``LastEvent``,
    ``LastError``.

The server has no security (``None`` policy, anonymous, read-only): put it on the cell's network,
behind the plant firewall, or on 127.0.0.1 for a gateway on the same PC.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from weldcell.cell.jobtypes import CellEvent
from weldcell.cell.live import LiveSample
from weldcell.errors import WeldcellError

log = logging.getLogger(__name__)

ROBOTICS_NS = "http://opcfoundation.org/UA/Robotics/"
WELDCELL_NS = "http://weldcell.org/UA/Cell/"
DEFAULT_PORT = 4840
#: weldcell variables: name -> (OPC UA type name, initial value)
CELL_VARIABLES: dict[str, tuple[str, Any]] = {
    "CellState": ("String", "idle"),
    "JobId": ("Int64", 0),
    "Program": ("String", ""),
    "PartSerial": ("String", ""),
    "SegmentsTotal": ("Int32", 0),
    "SegmentsDone": ("Int32", 0),
    "SeamId": ("String", ""),
    "SeamPosition_mm": ("Double", 0.0),
    "ArcOn": ("Boolean", False),
    "Current_A": ("Double", 0.0),
    "Voltage_V": ("Double", 0.0),
    "WireFeed_m_min": ("Double", 0.0),
    "TravelSpeed_mm_s": ("Double", 0.0),
    "LastEvent": ("String", ""),
    "LastError": ("String", ""),
}


def check_opcua_endpoint(url: str) -> tuple[str, int]:
    """(host, port) of ``opc.tcp://HOST[:PORT][/path]``.

    Raises:
        WeldcellError: another scheme, no host, or a port outside 1-65535 (names the option).
    """
    expected = "expected opc.tcp://HOST:PORT, e.g. opc.tcp://127.0.0.1:4840"
    parts = urlsplit(url)
    if parts.scheme != "opc.tcp" or not parts.hostname:
        raise WeldcellError(f"--opcua {url!r}: {expected}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise WeldcellError(f"--opcua {url!r}: the port is not a number 1-65535; {expected}") from None
    if not 1 <= port <= 65535:
        raise WeldcellError(f"--opcua {url!r}: port {port} outside 1-65535; {expected}")
    return parts.hostname, port


def _check_can_listen(host: str, port: int) -> None:
    """Raise OSError when ``host:port`` cannot be listened on (in use, not this machine's address)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server does
        s.bind((host, port))


def _manufacturer(robot: str) -> str:
    """The maker of the robot model, from the vendor registry ("" for a model of no vendor)."""
    from weldcell.drivers.registry import vendor_of_model

    try:
        v = vendor_of_model(robot)
    except WeldcellError as err:  # a broken plug-in registration: publish no manufacturer
        log.warning("no manufacturer for robot %r: %s", robot, err)
        return ""
    return "" if v is None else v.manufacturer_name()


class OpcUaCellServer:
    """An OPC UA server publishing the cell (see the module docstring). Use as a context manager.

    Args:
        endpoint: ``opc.tcp://HOST:PORT`` to listen on.
        robot: Robot model name (``ur5e``, ...): the motion device's name and ``Model``.
        joint_names: The robot's joints, in trajectory order: one axis each.
        period: Time between updates of the address space [s].

    Raises:
        WeldcellError: a malformed endpoint, asyncua missing (the ``opcua`` extra).
    """

    def __init__(
        self, endpoint: str, robot: str, joint_names: Sequence[str], *, period: float = 0.05
    ) -> None:
        self.host, self.port = check_opcua_endpoint(endpoint)
        if not (math.isfinite(period) and 0.001 <= period <= 10.0):
            raise WeldcellError(f"OPC UA update period {period} s: expected 0.001 … 10 s")
        try:
            import asyncua  # noqa: F401  (checked here: a missing extra fails before the cell starts)
        except ImportError as err:
            raise WeldcellError(
                "--opcua needs asyncua, which is not installed: pip install 'weldcell[opcua]'"
            ) from err
        self.endpoint = endpoint
        self.robot = robot
        self.joint_names = tuple(joint_names)
        self.period = period
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {k: v for k, (_, v) in CELL_VARIABLES.items()}
        self._q_deg: list[float] = [0.0] * len(self.joint_names)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    # --- the cell's side: store only ---------------------------------------------------------
    def on_event(self, ev: CellEvent) -> None:
        """Take a cell event (state, job_start, seam_start, seam_end, fault, ...)."""
        data = ev.data
        with self._lock:
            v = self._values
            v["LastEvent"] = f"{ev.kind}: {ev.message}"
            if ev.kind == "state" and "state" in data:
                v["CellState"] = str(data["state"])
            elif ev.kind == "job_start":
                v.update(
                    JobId=int(data.get("job_id") or 0),
                    Program=str(data.get("program", "")),
                    PartSerial=str(data.get("part_serial", "")),
                    SegmentsTotal=int(data.get("segments", 0)),
                    SegmentsDone=0,
                    LastError="",
                )
            elif ev.kind == "recover":
                v["JobId"] = int(data.get("job_id") or 0)
            elif ev.kind == "seam_start":
                v["SeamId"] = ev.seam_id or ""
            elif ev.kind == "seam_end":
                if data.get("result") == "ok":
                    v["SegmentsDone"] = int(v["SegmentsDone"]) + 1
            elif ev.kind in ("fault", "estop", "paused"):
                v["LastError"] = ev.message

    def on_sample(self, sample: LiveSample) -> None:
        """Take one poll's live values."""
        q_deg = [math.degrees(float(x)) for x in sample.q[: len(self.joint_names)]]
        with self._lock:
            self._q_deg = q_deg
            v = self._values
            if sample.seam_id is not None:
                v["SeamId"] = sample.seam_id
            if math.isfinite(sample.seam_s):
                v["SeamPosition_mm"] = sample.seam_s * 1e3
            v["ArcOn"] = sample.arc_on
            v["Current_A"] = sample.current
            v["Voltage_V"] = sample.voltage
            v["WireFeed_m_min"] = sample.wire_feed * 60.0
            v["TravelSpeed_mm_s"] = sample.travel_speed * 1e3

    def snapshot(self) -> dict[str, Any]:
        """The values the server publishes next (a copy)."""
        with self._lock:
            return dict(self._values)

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        """Start the server thread and wait until it listens (building the address space takes 1-2 s
        of CPU; seconds more on a loaded PC, before the job starts).

        Raises:
            WeldcellError: it could not listen (port in use, address not on this machine: at once) or
                did not start within ``timeout`` seconds.
        """
        if self._thread is not None:
            return
        try:
            _check_can_listen(self.host, self.port)
        except OSError as err:
            raise WeldcellError(f"--opcua {self.endpoint}: cannot listen ({err})") from err
        self._thread = threading.Thread(target=self._thread_main, name="weldcell-opcua", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.close()
            raise WeldcellError(f"--opcua {self.endpoint}: the OPC UA server did not start in {timeout:g} s")
        if self._error is not None:
            failure = self._error
            self.close()
            raise WeldcellError(f"--opcua {self.endpoint}: cannot listen ({failure})") from failure

    def close(self, timeout: float = 10.0, linger: float = 1.0) -> None:
        """Stop the server and its thread (idempotent).

        Args:
            timeout: Longest wait for the thread [s].
            linger: Keep serving this long first [s], so that a client polling once a second still
                reads the final state (``ready`` after a complete job, ``fault`` ...).
        """
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if linger > 0 and self._ready.is_set() and self._error is None and thread.is_alive():
            time.sleep(linger)
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own (start failed)
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        if thread.is_alive():
            log.error("the OPC UA server thread did not stop within %.1f s", timeout)

    def __enter__(self) -> OpcUaCellServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the server thread ---------------------------------------------------------------------
    def _thread_main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # reported to start(); after a good start: logged
            if not self._ready.is_set():
                self._error = err
                self._ready.set()
            else:
                log.exception("OPC UA server stopped")

    async def _serve(self) -> None:
        from asyncua import Server, ua

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://{self.host}:{self.port}/weldcell/")
        server.set_server_name("weldcell cell")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        nodes = await self._build(server, ua)
        if self._stop.is_set():  # closed while the address space was being built
            return
        await server.start()
        try:
            self._ready.set()
            written: dict[str, Any] = {}
            while not self._stop.is_set():
                with self._lock:
                    values = dict(self._values)
                    q_deg = list(self._q_deg)
                for i, deg in enumerate(q_deg):
                    values[f"axis{i}"] = deg
                for name, value in values.items():
                    if written.get(name) != value:
                        node, vtype = nodes[name]
                        await node.write_value(ua.Variant(value, vtype))
                        written[name] = value
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.period)
        finally:
            await server.stop()

    async def _build(self, server: Any, ua: Any) -> dict[str, tuple[Any, Any]]:
        """Create the address space; returns name -> (variable node, variant type)."""
        from weldcell import __version__

        r = await server.register_namespace(ROBOTICS_NS)
        w = await server.register_namespace(WELDCELL_NS)
        objects = server.nodes.objects
        nodes: dict[str, tuple[Any, Any]] = {}
        mds = await objects.add_object(r, "MotionDeviceSystem")
        devices = await mds.add_folder(r, "MotionDevices")
        device = await devices.add_object(r, self.robot)
        await device.add_property(r, "Model", self.robot)
        await device.add_property(r, "Manufacturer", _manufacturer(self.robot))
        axes = await device.add_folder(r, "Axes")
        for i, joint in enumerate(self.joint_names):
            axis = await axes.add_object(r, joint)
            params = await axis.add_object(r, "ParameterSet")
            pos = await params.add_variable(r, "ActualPosition", 0.0, ua.VariantType.Double)
            await pos.add_property(r, "EngineeringUnits", "deg")
            nodes[f"axis{i}"] = (pos, ua.VariantType.Double)
        controllers = await mds.add_folder(r, "Controllers")
        ctrl = await controllers.add_object(r, "weldcell")
        await ctrl.add_property(r, "Manufacturer", "weldcell")
        await ctrl.add_property(r, "SoftwareRevision", __version__)
        cell = await objects.add_object(w, "WeldCell")
        for name, (tname, initial) in CELL_VARIABLES.items():
            vtype = getattr(ua.VariantType, tname)
            nodes[name] = (await cell.add_variable(w, name, initial, vtype), vtype)
        return nodes
