#!/bin/sh
# Run the QMP libFuzzer target for a while, seeded with a few requests
# (written here: the first byte is the session-state/chunking byte the
# target reads, the rest is the byte stream a client would send).
#   tests/fuzz/run-fuzz-qmp.sh BUILD_DIR [SECONDS]
# BUILD_DIR was configured with CC=clang -Dfuzzing=true (and ideally
# -Db_sanitize=address,undefined).  Crashes are written to the current
# directory (crash-*) and make the script fail.
set -eu
build=${1:?usage: $0 BUILD_DIR [SECONDS]}
secs=${2:-60}
fuzzer="$build/tests/fuzz/fuzz-qmp"
[ -x "$fuzzer" ] || { echo "FAIL: $fuzzer not built (-Dfuzzing=true)"; exit 1; }
scratch=$(mktemp -d)
seeds=$(mktemp -d)
trap 'rm -rf "$scratch" "$seeds"' EXIT
n=0
for req in '{"execute":"qmp_capabilities"}' \
           '{"execute":"query-status"}' \
           '{"execute":"query-commands","id":1}' \
           '{"execute":"set_link","arguments":{"name":"n0","up":false}}' \
           '{"execute":"query-rx-filter"}' \
           '{"execute":"netdev_del","arguments":{"id":"n0"}}' \
           '{"execute":"human-monitor-command","arguments":{"command-line":"info network"}}' \
           '{"execute":"device_add","arguments":{"driver":"e1000","id":"x"}}' \
           '{"execute":"query-block"}'; do
    n=$((n + 1))
    printf '\001%s\n' "$req" > "$seeds/seed-$n"
done
"$fuzzer" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 \
    -timeout=20 -print_final_stats=1 "$scratch" "$seeds"
