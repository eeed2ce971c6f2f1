#!/bin/bash
# Every qlite-vs-QEMU benchmark in one go (issue 15 point 5), then one
# table of qlite/QEMU time ratios against the issue's goals.  Each bench
# runs the two interleaved and reports medians; their own output comes
# first, the summary last.  Not a test: figures are noisy on a shared
# machine, and a missed goal does not change the exit status (a bench
# that fails to run does).
#
#   bench/run-all.sh
#   BENCH_REPS=N          runs per emulator and row (default 3)
#   BENCH_BLOCK_REPS=N    the same for block-bench (default 1: each
#                         -t none image costs minutes to delete where
#                         the file system discards online)
#   BENCH_ACCEL_OPTS=...  appended to "-accel tcg," for the guest boots
#                         (e.g. thread=multi)
#   BENCH_COUNT=N         requests per qemu-img bench row (default 200000)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
reps=${BENCH_REPS:-3}
accel=${BENCH_ACCEL_OPTS:-}
export BENCH_REPS=$reps
export BENCH_SUMMARY
BENCH_SUMMARY=$(mktemp)
trap 'rm -f "$BENCH_SUMMARY"' EXIT
failed=()

step() {    # name command...: run one bench, note it if it fails
    local name=$1
    shift
    echo "=== $name"
    "$@" || failed+=("$name")
    echo
}

cd "$root" || exit 1
step boot "$here/boot-bench.py" --smp 1,2,4 --runs "$reps" \
    --accel-opts "$accel"
step parallel "$here/parallel-bench.py" --runs "$reps" --accel-opts "$accel"
step cpu "$here/cpu-bench.sh"
step block env BENCH_REPS="${BENCH_BLOCK_REPS:-1}" \
    "$here/block-bench.sh" "$root/build/qlite-img"

# key, what, goal ("-" where issue 15 sets none)
goals() {
    cat <<'GOALS'
boot-smp1      boot to ready, -smp 1                   0.80
boot-smp2      boot to ready, -smp 2                   0.80
boot-smp4      boot to ready, -smp 4                   -
parallel-smp2  2 busy processes, -smp 2 (wall)         0.80
cpu-32         cpu-bench 32-bit guest                  1.00
cpu-64         cpu-bench 64-bit guest                  0.56
write-none     4k QD32 alloc. writes -t none           1.00
write-writeback 4k QD32 alloc. writes writeback        -
read           4k QD32 reads                           -
convert        convert 1 GiB random -> qcow2           1.00
convert-half   convert 1 GiB half-zero -> qcow2        1.00
check          check 1 GiB qcow2                       -
GOALS
}

echo "=== summary: qlite/QEMU time, medians of $reps interleaved runs" \
     "(block: ${BENCH_BLOCK_REPS:-1}, against the faster qemu-img);" \
     "load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-44s %8s %8s %7s %6s  %s\n' work qlite QEMU ratio goal result
goals | while read -r key rest; do
    goal=${rest##* }
    what=$(echo "${rest% *}" | sed 's/ *$//')
    read -r _ tl tq ratio < <(grep "^$key " "$BENCH_SUMMARY" | tail -1)
    if [ -z "${ratio:-}" ]; then
        printf '%-44s %8s %8s %7s %6s  %s\n' "$what" - - - "$goal" \
            "no figure (not run, or failed)"
        continue
    fi
    result=""
    if [ "$goal" != - ]; then
        # Judged on the ratio as printed (two decimals).
        result=$(awk -v r="$ratio" -v g="$goal" \
                 'BEGIN { print (sprintf("%.2f", r) + 0 <= g + 0) ? \
                          "met" : "missed" }')
    fi
    printf '%-44s %7.2fs %7.2fs %7.2f %6s  %s\n' "$what" "$tl" "$tq" \
        "$ratio" "$goal" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "benches that failed: ${failed[*]}"
    exit 1
fi
