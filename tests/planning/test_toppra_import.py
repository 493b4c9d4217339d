"""toppra is imported without matplotlib (issue #14: 0.5-1 s and ~40 MB per planning process)."""

from __future__ import annotations

import subprocess
import sys


def test_timing_a_transit_does_not_import_matplotlib_and_matplotlib_still_imports_after() -> None:
    code = (
        "import sys, numpy as np\n"
        "from weldcell.planning.timing import toppra_through\n"
        "w = np.array([[0.0, 0.0], [0.5, 0.2], [1.0, -0.3]])\n"
        "q, qd, qdd = toppra_through(w, np.ones(2), np.ones(2), 0.01)\n"
        "assert abs(q[-1, 0] - 1.0) < 1e-6 and abs(qd[-1]).max() < 1e-6\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "import matplotlib\n"
        "matplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "import toppra.algorithm.algorithm as a\n"
        "assert a.plt.figure is plt.figure and callable(plt.plot)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
