"""The planning command's memory policy (weldcell/cli/memory.py): freed arrays leave the resident set."""

from __future__ import annotations

import os
import sys

import pytest
from waiting import run_child

_PROBE = """
import sys
import numpy as np
from weldcell.cli.memory import trim_freed_memory, trimming

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

# one large array freed: glibc now serves blocks up to its size from the heap
big = np.ones(8 * 2**20 // 8); del big
arrays = [np.ones(2**20 // 8) for _ in range(120)]  # 120 arrays of 1 MB on the heap
keep = arrays[-1]  # the top of the heap stays in use: only a trim can release the rest
before = rss_mb()
del arrays
seen = []
if sys.argv[1] == "trim":
    assert trim_freed_memory() is True
elif sys.argv[1] == "progress":
    trimming(lambda f, m: seen.append((f, m)))(0.5, "seam s1")
    assert seen == [(0.5, "seam s1")]
print(before - rss_mb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim: Linux only")
def test_freed_arrays_are_returned_to_the_system() -> None:
    released = {}
    for how in ("none", "trim", "progress"):
        proc = run_child([sys.executable, "-c", _PROBE, how], env=dict(os.environ))
        assert proc.returncode == 0, proc.stderr
        released[how] = float(proc.stdout.split()[-1])
    # the 119 freed arrays stay resident unless trimmed (by hand or by a progress report)
    assert released["none"] < 20.0, released
    assert released["trim"] > 100.0, released
    assert released["progress"] > 100.0, released
