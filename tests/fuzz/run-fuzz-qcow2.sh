#!/bin/sh
# Run the qcow2 libFuzzer target for a while, seeded with images that
# gen-qcow2-seeds.py makes with the real qemu-img (none are kept in git).
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
seeds=$(mktemp -d)
trap 'rm -rf "$scratch" "$seeds"' EXIT
python3 "$here/gen-qcow2-seeds.py" "$seeds"
"$fuzzer" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=20 "$scratch" "$seeds"
