"""The cell over OPC UA, read by an independent client (asyncua's Client) during a virtual-cell job."""

from __future__ import annotations

import asyncio
import math
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from cellsynth import make_trajectory
from waiting import CHILD_TIMEOUT

from weldcell.cell.controller import CellController, CellEvent
from weldcell.cell.opcua import OpcUaCellServer, check_opcua_endpoint
from weldcell.cell.state import CellState
from weldcell.errors import WeldcellError
from weldcell.trajectory import JointTrajectory

asyncua = pytest.importorskip(
    "asyncua", reason="the opcua extra is part of the CI install (scripts/setup.sh)"
)

Make = Callable[..., tuple[CellController, list[CellEvent]]]
WELD_NS = "http://weldcell.org/UA/Cell/"
ROBOTICS_NS = "http://opcfoundation.org/UA/Robotics/"
FIELDS = (
    "CellState",
    "JobId",
    "SeamId",
    "SeamPosition_mm",
    "ArcOn",
    "Current_A",
    "Voltage_V",
    "WireFeed_m_min",
    "TravelSpeed_mm_s",
    "SegmentsDone",
    "SegmentsTotal",
    "PartSerial",
)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def traj() -> JointTrajectory:
    """Seams welded in 2 s each (1 s at the virtual robot's double speed): a loaded host's client,
    one Read round trip per poll, still sees each seam several times (0.6 s gave 0.3 s windows)."""
    return make_trajectory(weld_time=2.0)


async def _watch(
    url: str,
    joints: tuple[str, ...],
    connected: threading.Event,
    done: threading.Event,
    rows: list[dict[str, Any]],
) -> None:
    """Poll the server every 50 ms until ``done`` (and once more), as a plant client would; set
    ``connected`` once the client has browsed the address space."""
    from asyncua import Client

    async with Client(url, timeout=30) as client:  # request timeout [s]: a loaded host
        w = await client.get_namespace_index(WELD_NS)
        r = await client.get_namespace_index(ROBOTICS_NS)
        cell = await client.nodes.objects.get_child([f"{w}:WeldCell"])
        nodes = {f: await cell.get_child([f"{w}:{f}"]) for f in FIELDS}
        device = await client.nodes.objects.get_child(
            [f"{r}:MotionDeviceSystem", f"{r}:MotionDevices", f"{r}:ur5e"]
        )
        assert await (await device.get_child([f"{r}:Model"])).read_value() == "ur5e"
        axes = [
            await device.get_child([f"{r}:Axes", f"{r}:{j}", f"{r}:ParameterSet", f"{r}:ActualPosition"])
            for j in joints
        ]
        names = list(nodes)
        connected.set()

        async def read_row() -> dict[str, Any]:
            # one Read service call for all fields (one round trip: a loaded host still polls the
            # short seams several times)
            return dict(zip(names, await client.read_values(list(nodes.values())), strict=True))

        last = False
        while not last:
            last = done.is_set()
            row = await read_row()
            row["q_deg"] = await client.read_values(axes)
            rows.append(row)
            await asyncio.sleep(0.05)
        # the job has ended: wait (generously, a loaded host may delay the server's publishing) for
        # the final state, then record it; the assertions below judge that row
        deadline = asyncio.get_running_loop().time() + 10.0
        while True:
            row = await read_row()
            final = row["CellState"] == "ready" and row["SegmentsDone"] == row["SegmentsTotal"]
            final = final and not row["ArcOn"] and row["Current_A"] == 0.0
            if final or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        rows.append(row)


def test_client_sees_the_job_progress(make_controller: Make, traj: JointTrajectory) -> None:
    port = _free_port("127.0.0.1")
    url = f"opc.tcp://127.0.0.1:{port}"
    server = OpcUaCellServer(url, traj.robot, traj.joint_names, period=0.02)
    # asyncua builds its standard address space (seconds of CPU) before it listens: 60 s, the
    # product's default, ran out on a host loaded 2 + 8 deep; CHILD_TIMEOUT stays below pytest's
    server.start(timeout=CHILD_TIMEOUT)
    with server:
        ctl, _ = make_controller()
        ctl.on_sample = server.on_sample
        relay = ctl._on_event

        def both(ev: CellEvent) -> None:
            server.on_event(ev)
            if relay is not None:
                relay(ev)

        ctl._on_event = both
        rows: list[dict[str, Any]] = []
        done, connected = threading.Event(), threading.Event()
        result: list[CellState] = []

        def job() -> None:
            try:
                # the job starts once the client is connected: connecting and browsing cost asyncua
                # seconds of CPU on a loaded host, a job started at once could end unseen
                if not connected.wait(60.0) or done.is_set():
                    return  # the client never connected (its error ends the test)
                ctl.load(traj, part_serial="SN-OPC")
                ctl.start()
                result.append(ctl.wait(30.0))
            finally:
                done.set()

        worker = threading.Thread(target=job)
        worker.start()
        try:
            asyncio.run(_watch(url + "/weldcell/", tuple(traj.joint_names), connected, done, rows))
        finally:
            if not connected.is_set():  # the client failed: the worker returns without a job
                done.set()
                connected.set()
            worker.join(60)
    assert result == [CellState.READY], ctl.last_error
    states = [r["CellState"] for r in rows]
    assert "running" in states and states[-1] == "ready"
    welding = [r for r in rows if r["ArcOn"]]
    assert len(welding) >= 5, "the arc was never seen on"
    assert {r["SeamId"] for r in welding} == {"A", "B"}
    # job-1 set-point of the virtual power source: 140 A, 18.5 V; wire and travel moving
    assert all(100 < r["Current_A"] < 180 and 15 < r["Voltage_V"] < 22 for r in welding)
    assert max(r["WireFeed_m_min"] for r in welding) > 1 and max(r["TravelSpeed_mm_s"] for r in welding) > 1
    # the seam position advances while welding (a loaded PC may poll a short seam only a few times)
    assert len({round(r["SeamPosition_mm"], 3) for r in welding}) >= 2
    assert rows[-1]["SeamPosition_mm"] > 0
    assert not rows[-1]["ArcOn"] and rows[-1]["Current_A"] == 0.0
    assert rows[-1]["SegmentsDone"] == rows[-1]["SegmentsTotal"] == 2 and rows[-1]["PartSerial"] == "SN-OPC"
    q = [r["q_deg"] for r in rows if "q_deg" in r]
    assert max(max(col) - min(col) for col in zip(*q, strict=True)) > 1.0  # the axes moved
    assert all(math.isfinite(x) for row in q for x in row)


def test_endpoint_and_port_errors_are_clear() -> None:
    for bad in ("http://127.0.0.1:4840", "opc.tcp://:4840", "opc.tcp://127.0.0.1:99999"):
        with pytest.raises(WeldcellError, match="--opcua"):
            check_opcua_endpoint(bad)
    port = _free_port("127.0.0.1")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        server = OpcUaCellServer(f"opc.tcp://127.0.0.1:{port}", "ur5e", ["j1"])
        with pytest.raises(WeldcellError, match="cannot listen"):
            server.start()
