"""Run rsipi's RSIClient (an independent RSI sensor) in its own process against our virtual KRC.

Usage: python rsipi_client_peer.py CONFIG_XML --mode absolute --cycle 0.004
Commands on stdin: ``akorr A1 A2 A3 A4 A5 A6`` publishes an axis correction [deg] and waits until it
was sent; ``status`` prints the robot data it received as one JSON line; ``stop`` ends.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading

from RSIPI.rsi_client import RSIClient

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
    ap.add_argument("--mode", default="absolute")
    ap.add_argument("--cycle", type=float, default=0.004)
    a = ap.parse_args()
    client = RSIClient(a.config, rsi_mode=a.mode, cycle_time=a.cycle)
    thread = threading.Thread(target=client.start, daemon=True)
    thread.start()
    _emit({"ready": True})
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "wait":
            _emit({"connected": client.wait_for_connection(float(parts[1]))})
        elif parts[0] == "akorr":
            values = {f"A{i + 1}": float(v) for i, v in enumerate(parts[1:7])}
            seq = client.publish_corrections({"AKorr": values})
            _emit({"applied": client.wait_correction_applied(seq, timeout=1.0)})
        elif parts[0] == "status":
            sv = client.send_variables
            out = {k: sv.get(k) for k in ("AIPos", "ASPos", "Delay", "IPOC", "DiL")}
            _emit(out, default=str)
        elif parts[0] == "stop":
            break
    client.stop()
    _emit({"stopped": True})


if __name__ == "__main__":
    main()
