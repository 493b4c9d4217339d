#!/usr/bin/env bash
# Build the wheel, install it (non-editable) in a fresh venv and run weldcell from an empty folder:
# proves the models and example programs ship inside the package and every command finds them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m pip wheel -q --no-deps -w "$work/dist" .
"$PY" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip >/dev/null
"$work/venv/bin/python" -m pip install -q "$work"/dist/weldcell-*.whl
mkdir "$work/empty"
cd "$work/empty"
"$work/venv/bin/weldcell" --version
"$work/venv/bin/python" -m weldcell --version
"$work/venv/bin/weldcell" examples >/dev/null
"$work/venv/bin/weldcell" demo
echo "wheel smoke test: ok"
