#!/bin/bash
# qlite-img vs qemu-img, side by side in one run:
#   1. bench: 4 KiB reads at queue depth 32 scattered over a 1 GiB qcow2
#      (qemu-img bench has no random mode: a step of 40009 blocks, coprime
#      with the image's 262144 blocks, visits them in a scrambled order)
#   2. bench: the same with writes (-w) to a fresh, empty 1 GiB qcow2,
#      once per cache mode in BENCH_WRITE_CACHES (allocating writes:
#      every request lands in a cluster nothing was written to yet, until
#      all 16384 are; "none" is O_DIRECT)
#   3. convert of a 1 GiB image of random data to qcow2
#   4. convert of a 1 GiB image half of zeroes (1 MiB of random data,
#      1 MiB hole, and so on) to qcow2
#   5. check of the fully allocated image
# The bench rows run qemu-img twice: with its default thread pool and with
# "-i io_uring" (qlite-img uses io_uring by default where it can), and
# the ratio is taken against the faster of the two.
#
# Every row runs BENCH_REPS times, the tools interleaved so that noise
# from other processes hits both alike; the table gives the medians of
# the wall times (whole process: open, run, flush, close).  Ratios are
# qemu-img time / qlite-img time: above 1 means qlite is faster; the
# last column is the other way round (qlite-img time / qemu-img time,
# at most 1.00 is the goal).
#
#   bench/block-bench.sh [QLITE_IMG] [WORKDIR]
#   BENCH_REPS=N    repetitions per row (default 5)
#   BENCH_COUNT=N   requests per bench row (default 200000)
#   BENCH_CACHE=M   cache mode for the read row (default writeback)
#   BENCH_WRITE_CACHES="none writeback"   cache modes of the write rows
#   BENCH_ROWS="read write convert convert-half check"   rows (default all)
#   BENCH_SUMMARY=FILE   append "key qlite_s qemu_s qlite/qemu" per row
#                        (bench/run-all.sh reads it)
set -euo pipefail
QLITE=$(realpath "${1:-${QLITE_IMG:-build/qlite-img}}")
WORK=${2:-}
REPS=${BENCH_REPS:-5}
COUNT=${BENCH_COUNT:-200000}
CACHE=${BENCH_CACHE:-writeback}
WCACHES=${BENCH_WRITE_CACHES:-none writeback}
ROWS=${BENCH_ROWS:-read write convert convert-half check}
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

median() {  # the median of the arguments
    printf '%s\n' "$@" | sort -g |
        awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2);
              print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'
}

record() {  # key qemu_seconds qlite_seconds
    [ -n "${BENCH_SUMMARY:-}" ] || return 0
    printf '%s %.3f %.3f %.3f\n' "$1" "$3" "$2" "$(echo "$3 / $2" | bc -l)" \
        >> "$BENCH_SUMMARY"
}

min2() {
    echo "if ($1 < $2) $1 else $2" | bc -l
}

row() {     # name qemu_seconds qlite_seconds
    printf '%-50s %5s %9.3fs %9.3fs %8.2fx %10.2f\n' "$1" "$REPS" "$2" \
        "$3" "$(echo "$2 / $3" | bc -l)" "$(echo "$3 / $2" | bc -l)"
}

# A new, empty 1 GiB qcow2 at $1.  The used one is only moved aside:
# deleting a file of scattered O_DIRECT writes on a file system mounted
# with "discard" takes minutes of device time, which would slow the runs
# that follow; everything under $WORK goes at the end.
fresh() {
    [ -e "$1" ] && mv "$1" "$WORK/trash/$((TRASHED++))"
    qemu-img create -q -f qcow2 "$1" 1G
}

# bench_rows name image write(0/1) cache: qemu-img threads, io_uring,
# qlite-img
bench_rows() {
    local name=$1 img=$2 w=$3 cache=$4 i
    local -a tt=() tu=() tl=() args
    args=(bench -f qcow2 -c "$COUNT" -d 32 -s 4k -S "$STEP" -t "$cache")
    [ "$w" = 1 ] && args+=(-w)
    for ((i = 0; i < REPS; i++)); do
        [ "$w" = 1 ] && fresh "$img"
        tt+=("$(secs qemu-img "${args[@]}" "$img")")
        [ "$w" = 1 ] && fresh "$img"
        tu+=("$(secs qemu-img "${args[@]}" -i io_uring "$img")")
        [ "$w" = 1 ] && fresh "$img"
        tl+=("$(secs "$QLITE" "${args[@]}" "$img")")
        if [ "$w" = 1 ]; then
            qemu-img check -q "$img" || {
                echo "FAIL: qemu-img check after qlite-img bench -w"
                exit 1
            }
        fi
    done
    local mt mu ml
    mt=$(median "${tt[@]}")
    mu=$(median "${tu[@]}")
    ml=$(median "${tl[@]}")
    row "$name (qemu threads)" "$mt" "$ml"
    row "$name (qemu io_uring)" "$mu" "$ml"
    BEST_RATIOS+=("$(echo "$(min2 "$mt" "$mu") / $ml" | bc -l)")
    if [ "$w" = 1 ]; then
        record "write-$cache" "$(min2 "$mt" "$mu")" "$ml"
    else
        record read "$(min2 "$mt" "$mu")" "$ml"
    fi
}

mkdir -p "$WORK/trash"
TRASHED=0
echo "load before: $(uptime | sed 's/.*load average: //')"
echo "preparing 1 GiB of random data in $WORK ..."
head -c 1G /dev/urandom > "$WORK/rand.raw"
qemu-img convert -f raw -O qcow2 "$WORK/rand.raw" "$WORK/full.qcow2"
if [[ " $ROWS " == *" convert-half "* ]]; then
    rm -f "$WORK/half.raw"
    for ((i = 0; i < 1024; i += 2)); do
        dd if="$WORK/rand.raw" of="$WORK/half.raw" bs=1M skip=$i seek=$i \
            count=1 conv=notrunc status=none
    done
    truncate -s 1G "$WORK/half.raw"
fi
cat "$WORK/rand.raw" "$WORK/full.qcow2" > /dev/null
BEST_RATIOS=()

printf '%-50s %5s %10s %10s %9s %10s\n' "test ($COUNT req for bench)" \
    "reps" "qemu-img" "qlite-img" "ratio" "qlite/qemu"
want() {
    [[ " $ROWS " == *" $1 "* ]]
}

want read && bench_rows "bench read 4k QD32" "$WORK/full.qcow2" 0 "$CACHE"
if want write; then
    for c in $WCACHES; do
        bench_rows "bench write 4k QD32 -t $c" "$WORK/empty.qcow2" 1 "$c"
    done
fi

convert_q() {
    rm -f "$WORK/cq.qcow2"
    tq+=("$(secs qemu-img convert -f raw -O qcow2 "$SRC" "$WORK/cq.qcow2")")
}

convert_l() {
    rm -f "$WORK/cl.qcow2"
    tl+=("$(secs "$QLITE" convert -f raw -O qcow2 "$SRC" "$WORK/cl.qcow2")")
}

# convert_rows name source key
# The tool that runs second writes while the first one's gigabyte is
# still dirty in the page cache: take turns going first.
convert_rows() {
    SRC=$2
    tq=() tl=()
    for ((i = 0; i < REPS; i++)); do
        if ((i % 2)); then
            convert_l
            convert_q
        else
            convert_q
            convert_l
        fi
    done
    qemu-img compare -q "$SRC" "$WORK/cl.qcow2" ||
        { echo "FAIL: converted images differ"; exit 1; }
    qemu-img check -q "$WORK/cl.qcow2" ||
        { echo "FAIL: qemu-img check of the converted image"; exit 1; }
    local mq ml
    mq=$(median "${tq[@]}")
    ml=$(median "${tl[@]}")
    row "$1" "$mq" "$ml"
    record "$3" "$mq" "$ml"
    BEST_RATIOS+=("$(echo "$mq / $ml" | bc -l)")
}

check_rows() {
    local mq ml
    tq=() tl=()
    for ((i = 0; i < REPS; i++)); do
        tq+=("$(secs qemu-img check "$WORK/full.qcow2")")
        tl+=("$(secs "$QLITE" check "$WORK/full.qcow2")")
    done
    mq=$(median "${tq[@]}")
    ml=$(median "${tl[@]}")
    row "check fully allocated 1 GiB qcow2" "$mq" "$ml"
    record check "$mq" "$ml"
    BEST_RATIOS+=("$(echo "$mq / $ml" | bc -l)")
}

want convert && convert_rows "convert 1 GiB random raw -> qcow2" \
    "$WORK/rand.raw" convert
want convert-half && convert_rows "convert 1 GiB half-zero raw -> qcow2" \
    "$WORK/half.raw" convert-half
want check && check_rows

echo "load after: $(uptime | sed 's/.*load average: //')"
echo "removing $WORK/trash (may take minutes with online discard) ..."
rm -rf "$WORK/trash"
worst=$(printf '%s\n' "${BEST_RATIOS[@]}" | sort -g | head -1)
printf 'lowest ratio (bench rows against the faster qemu-img): %.2fx\n' \
    "$worst"
