#!/bin/sh
# Run the e1000 fuzzer over its corpus for a while.
#   tests/fuzz/run-fuzz-e1000.sh BUILD_DIR [SECONDS]
# BUILD_DIR was configured with
#   CC=clang meson setup BUILD_DIR -Dfuzzing=true -Db_sanitize=address,undefined
# New inputs go to a scratch corpus so the committed one stays small;
# crashes and timeouts are written to the current directory and make the
# script fail.  Regenerate the seeds with gen-e1000-seeds.py.
set -eu
build=${1:?usage: $0 BUILD_DIR [SECONDS]}
secs=${2:-600}
here=$(cd "$(dirname "$0")" && pwd)
fuzzer="$build/tests/fuzz/fuzz-e1000"
[ -x "$fuzzer" ] || { echo "FAIL: $fuzzer not built (-Dfuzzing=true)"; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$fuzzer" -max_total_time="$secs" -max_len=8192 -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 "$scratch" "$here/corpus-e1000"
