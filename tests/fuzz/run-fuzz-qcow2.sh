#!/bin/sh
# Run the qcow2 libFuzzer target over its corpus for a while.
#   tests/fuzz/run-fuzz-qcow2.sh BUILD_DIR [SECONDS]
# BUILD_DIR was configured with CC=clang -Dfuzzing=true (and ideally
# -Db_sanitize=address,undefined).  New inputs go to a scratch corpus so
# the committed one stays small; crashes are written to the current
# directory (crash-*) and make the script fail.
set -eu
build=${1:?usage: $0 BUILD_DIR [SECONDS]}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
fuzzer="$build/tests/fuzz/fuzz-qcow2"
[ -x "$fuzzer" ] || { echo "FAIL: $fuzzer not built (-Dfuzzing=true)"; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
exec "$fuzzer" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=20 "$scratch" "$here/corpus-qcow2"
