#!/bin/sh
# Run every test suite and end with one line "N passed, N failed".
# Usage: scripts/run-tests.sh [builddir]
build=${1:-build}
meson test -C "$build" --print-errorlogs --num-processes 2 \
    >"$build/test-output.txt" 2>&1
status=$?
cat "$build/test-output.txt"
python3 "$(dirname "$0")/test-summary.py" "$build/meson-logs/testlog.json"
summary=$?
[ $status -eq 0 ] && [ $summary -eq 0 ]
