#!/bin/bash
# qlite-img vs qemu-img, side by side in one run:
#   1. bench: 4 KiB reads at queue depth 32 scattered over a 1 GiB qcow2
#      (qemu-img bench has no random mode: a step of 40009 blocks, coprime
#      with the image's 262144 blocks, visits them in a scrambled order)
#   2. bench: the same with writes (-w) to a fresh, empty 1 GiB qcow2
#   3. convert of a 1 GiB image of random data to qcow2
#   4. check of the fully allocated image
# Ratios are qemu-img time / qlite-img time: above 1 means qlite is faster.
#
#   bench/block-bench.sh [QLITE_IMG] [WORKDIR]
#   BENCH_COUNT=N   requests per bench row (default 200000)
#   BENCH_CACHE=M   cache mode for the bench rows (default writeback)
set -euo pipefail
QLITE=$(realpath "${1:-${QLITE_IMG:-build/tools/qlite-img}}")
WORK=${2:-}
COUNT=${BENCH_COUNT:-200000}
CACHE=${BENCH_CACHE:-writeback}
STEP=$((4096 * 40009))
command -v qemu-img >/dev/null || { echo "FAIL: qemu-img not found"; exit 1; }
[ -x "$QLITE" ] || { echo "FAIL: $QLITE not built"; exit 1; }
if [ -z "$WORK" ]; then
    WORK=$(mktemp -d /var/tmp/qlite-bench-XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
fi

secs() {    # run a command quietly, print its wall time in seconds
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}

row() {     # name qemu_seconds qlite_seconds
    printf '%-36s %9.3fs %9.3fs %8.2fx\n' "$1" "$2" "$3" \
        "$(echo "$2 / $3" | bc -l)"
}

bench_row() {   # name image-for-qemu image-for-qlite extra-args...
    local name=$1 a=$2 b=$3
    shift 3
    local tq tl
    tq=$(secs qemu-img bench -f qcow2 -c "$COUNT" -d 32 -s 4k -S $STEP \
         -t "$CACHE" "$@" "$a")
    tl=$(secs "$QLITE" bench -f qcow2 -c "$COUNT" -d 32 -s 4k -S $STEP \
         -t "$CACHE" "$@" "$b")
    row "$name" "$tq" "$tl"
}

echo "preparing 1 GiB of random data in $WORK ..."
head -c 1G /dev/urandom > "$WORK/rand.raw"
qemu-img convert -f raw -O qcow2 "$WORK/rand.raw" "$WORK/full.qcow2"
qemu-img create -q -f qcow2 "$WORK/empty-q.qcow2" 1G
qemu-img create -q -f qcow2 "$WORK/empty-l.qcow2" 1G
cat "$WORK/rand.raw" "$WORK/full.qcow2" > /dev/null

printf '%-36s %10s %10s %9s\n' "test" "qemu-img" "qlite-img" "ratio"
bench_row "bench read 4k QD32 ($COUNT req)" "$WORK/full.qcow2" \
    "$WORK/full.qcow2"
bench_row "bench write 4k QD32 ($COUNT req)" "$WORK/empty-q.qcow2" \
    "$WORK/empty-l.qcow2" -w
tq=$(secs qemu-img convert -f raw -O qcow2 "$WORK/rand.raw" "$WORK/cq.qcow2")
tl=$(secs "$QLITE" convert -f raw -O qcow2 "$WORK/rand.raw" "$WORK/cl.qcow2")
row "convert 1 GiB random raw -> qcow2" "$tq" "$tl"
qemu-img compare -q "$WORK/cq.qcow2" "$WORK/cl.qcow2" ||
    { echo "FAIL: converted images differ"; exit 1; }
tq=$(secs qemu-img check "$WORK/full.qcow2")
tl=$(secs "$QLITE" check "$WORK/full.qcow2")
row "check fully allocated 1 GiB qcow2" "$tq" "$tl"
