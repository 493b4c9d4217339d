"""The planning commands' memory policy (weldcell/cli/memory.py): freed arrays leave the resident set."""

from __future__ import annotations

import os
import sys

import pytest
from waiting import run_child

_PROBE = """
import sys
import numpy as np
from weldcell.cli.memory import release_large_blocks_promptly

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

if sys.argv[1] == "1":
    assert release_large_blocks_promptly() is True
# one large array freed: glibc would now serve blocks up to its size from the heap
big = np.ones(8 * 2**20 // 8); del big
arrays = [np.ones(2**20 // 8) for _ in range(120)]  # 120 arrays of 1 MB
keep = arrays[-1]
before = rss_mb()
del arrays
print(before - rss_mb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_arrays_are_returned_to_the_system() -> None:
    released = {}
    for fixed in ("0", "1"):
        proc = run_child([sys.executable, "-c", _PROBE, fixed], env=dict(os.environ))
        assert proc.returncode == 0, proc.stderr
        released[fixed] = float(proc.stdout.split()[-1])
    # fixed threshold: the 119 freed arrays leave the resident set (the heap would keep them)
    assert released["1"] > 100.0, released
    assert released["1"] > released["0"] + 50.0, released
