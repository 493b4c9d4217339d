"""The EGM test robot in its own process: the virtual ABB controller's robot logic, with every message
encoded and decoded by abb-robot-client's shipped ``egm_pb2`` (ABB's descriptor, not ours).

Usage: python egm_peer_robot.py --port SENSOR_PORT [--start-deg J1,...,J6] [--din N]
       [--comm-timeout S] [--cycle-ms 4]

Reads commands from stdin: ``status`` prints one JSON line; ``stop`` prints it and exits. A separate
process keeps the robot's 4 ms clock off the test process's GIL (the driver's I/O thread lives there).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from abb_robot_client._egm_protobuf import egm_pb2

from weldcell.drivers.abb.virtual_egm import VirtualEgm, VirtualEgmConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--start-deg", default="0,10,-10,0,60,0")
    ap.add_argument("--din", type=int, default=0)
    ap.add_argument("--comm-timeout", type=float, default=1.0)
    ap.add_argument("--cycle-ms", type=int, default=4)
    a = ap.parse_args()
    cfg = VirtualEgmConfig(
        robot="irb1520id",
        sensor_port=a.port,
        q_start_deg=tuple(float(v) for v in a.start_deg.split(",")),
        din=a.din,
        comm_timeout=a.comm_timeout,
        cycle=a.cycle_ms / 1000.0,
    )
    robot = VirtualEgm(cfg, messages=egm_pb2)
    robot.start()

    def status() -> None:
        out = dataclasses.asdict(robot.status())
        out["address"] = list(robot.address)
        print(json.dumps(out), flush=True)

    print(json.dumps({"ready": True, "address": list(robot.address)}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "status":
            status()
        elif cmd == "stop":
            status()
            break
    robot.stop()


if __name__ == "__main__":
    main()
