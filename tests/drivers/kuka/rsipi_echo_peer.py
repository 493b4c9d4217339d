"""Run rsipi's EchoServer (an independent KUKA robot emulator) in its own process for the driver tests.

Usage: python rsipi_echo_peer.py CONFIG_XML --delay-ms 4 --mode absolute --timeout-packets 100
       [--start-deg A1,...,A6] [--digin N]

Reads commands from stdin: ``status`` prints one JSON line; ``stop`` prints it and exits. The
emulator writes ``logs/echo_server.log`` into the working directory (run it in a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from RSIPI.rsi_echo_server import EchoServer

#: Our JSON lines go to a private copy of stdout; rsipi's own prints (its threads print [WARN] lines
#: on late packets) go to stderr: on one shared stdout a thread's print could land between our line
#: and its newline, and the test would never see the JSON line.
_OUT = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
sys.stdout = sys.stderr


def _emit(obj: object, **kw: object) -> None:
    print(json.dumps(obj, **kw), file=_OUT, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--delay-ms", type=int, default=4)
    ap.add_argument("--mode", default="absolute")
    ap.add_argument("--timeout-packets", type=int, default=100)
    ap.add_argument("--start-deg", default="")
    ap.add_argument("--digin", type=int, default=0)
    a = ap.parse_args()
    server = EchoServer(a.config, delay_ms=a.delay_ms, mode=a.mode, timeout_packets=a.timeout_packets)
    if a.start_deg:
        # the robot stands at the trajectory's start pose when RSI starts (the KRL program's PTP)
        for axis, v in zip(("A1", "A2", "A3", "A4", "A5", "A6"), a.start_deg.split(","), strict=True):
            for key in ("AIPos", "ASPos"):
                if key in server.state:
                    server.state[key][axis] = float(v)
            server.base_pose["AIPos"][axis] = float(v)
    if "DiL" in server.state:
        server.state["DiL"] = a.digin
    server.start()

    def status() -> None:
        out = {
            "running": server.running,
            "faulty_packets": server.faulty_packets,
            "ipoc": server.ipoc_value,
            "AIPos": server.state.get("AIPos"),
            "DoutW": server.state.get("DoutW"),
            "Delay": server.state.get("Delay"),
        }
        _emit(out)

    _emit({"ready": True})
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "status":
            status()
        elif cmd == "stop":
            status()
            break
    server.running = False
    server.thread.join(2.0)
    server.udp_socket.close()


if __name__ == "__main__":
    main()
