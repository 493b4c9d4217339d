#!/usr/bin/env bash
# Run the test suite (the README's test command calls this after setup).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
