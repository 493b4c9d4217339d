"""Run rsipi's RSIClient (an independent RSI sensor) in its own process against our virtual KRC.

Usage: python rsipi_client_peer.py CONFIG_XML --mode absolute --cycle 0.004
Commands on stdin: ``akorr A1 A2 A3 A4 A5 A6`` publishes an axis correction [deg] and waits until it
was sent; ``status`` prints the robot data it received as one JSON line; ``stop`` ends.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from RSIPI.rsi_client import RSIClient


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--mode", default="absolute")
    ap.add_argument("--cycle", type=float, default=0.004)
    a = ap.parse_args()
    client = RSIClient(a.config, rsi_mode=a.mode, cycle_time=a.cycle)
    thread = threading.Thread(target=client.start, daemon=True)
    thread.start()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "wait":
            print(json.dumps({"connected": client.wait_for_connection(float(parts[1]))}), flush=True)
        elif parts[0] == "akorr":
            values = {f"A{i + 1}": float(v) for i, v in enumerate(parts[1:7])}
            seq = client.publish_corrections({"AKorr": values})
            print(json.dumps({"applied": client.wait_correction_applied(seq, timeout=1.0)}), flush=True)
        elif parts[0] == "status":
            sv = client.send_variables
            out = {k: sv.get(k) for k in ("AIPos", "ASPos", "Delay", "IPOC", "DiL")}
            print(json.dumps(out, default=str), flush=True)
        elif parts[0] == "stop":
            break
    client.stop()
    print(json.dumps({"stopped": True}), flush=True)


if __name__ == "__main__":
    main()
