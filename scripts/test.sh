#!/usr/bin/env bash
# Run the test suite (the README's test command calls this after setup).
#
# Two worker processes (pytest-xdist; tests of one file stay in one worker, so a file's module
# fixtures are shared): most of the suite waits on real time (virtual controllers streaming at
# 500 Hz, RSI/EGM/Stream Motion cycles), so two workers finish in well under the time of one on
# a 2-core machine. WELDCELL_TEST_WORKERS=0 runs everything in this process (for debugging).
#
# Line coverage of the weldcell package is reported, with a floor (COVERAGE_FLOOR, percent): the
# run fails when coverage drops below it. It counts what the tests execute in their own processes;
# the virtual controllers and devices started as child processes are covered by their own in-process
# tests. Any arguments are passed on to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS=${WELDCELL_TEST_WORKERS:-2}
COVERAGE_FLOOR=${COVERAGE_FLOOR:-85}
args=(-q -p no:cacheprovider --cov=weldcell --cov-report=term:skip-covered --cov-fail-under="$COVERAGE_FLOOR")
if [ "$WORKERS" != "0" ]; then
  args+=(-n "$WORKERS" --dist loadfile)
fi
exec .venv/bin/python -m pytest "${args[@]}" "$@"
