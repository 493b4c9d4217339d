"""The JSON-lines peer helper of the streaming tests fails a test on a silent or dead peer, never hangs it."""

from __future__ import annotations

import sys
import time

import pytest
from streaming_helpers import JsonLinePeer


def test_a_silent_peer_fails_after_the_reply_timeout() -> None:
    t0 = time.monotonic()
    with pytest.raises(AssertionError, match=r"silent peer sent no JSON line within 0\.5 s"):
        JsonLinePeer(
            [sys.executable, "-c", "import sys, time; print('booting', flush=True); time.sleep(30)"],
            "silent peer",
            reply_timeout=0.5,
        )
    assert time.monotonic() - t0 < 10.0


def test_a_peer_that_dies_names_its_stderr() -> None:
    with pytest.raises(AssertionError, match=r"dying peer exited \(code 3\): .*no robot here"):
        JsonLinePeer(
            [sys.executable, "-c", "import sys; sys.stderr.write('no robot here'); sys.exit(3)"],
            "dying peer",
        )


def test_lines_are_read_through_the_buffer_and_the_peer_stops() -> None:
    script = (
        "import json, sys\n"
        "print('not json'); print(json.dumps({'ready': 1}), flush=True)\n"
        "for line in sys.stdin:\n"
        "    print(json.dumps({'got': line.strip()}), flush=True)\n"
        "    if line.strip() == 'stop': break\n"
    )
    peer = JsonLinePeer([sys.executable, "-c", script], "echo peer", reply_timeout=30.0)
    assert peer.hello == {"ready": 1}
    assert peer.status() == {"got": "status"}
    assert peer.stop() == {"got": "stop"}
    assert peer.proc.returncode == 0
