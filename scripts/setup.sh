#!/usr/bin/env bash
# Create .venv (if missing), install weldcell with its test extra and compile its kernels. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test,ray,opcua]'
# Compile the numba kernels now (40-55 s once) so that the README's first `weldcell plan` is fast.
.venv/bin/weldcell warmup
