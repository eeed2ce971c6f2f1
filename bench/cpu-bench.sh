#!/bin/bash
# CPU emulator benchmark (issue 3 point 7): the same compute-bound
# bare-metal guest under qlite and under qemu-system-x86_64 -accel tcg, in
# one run, built as a 32-bit and as a 64-bit kernel (qlite translates
# both to host code).  Prints guest instructions per second for each and
# the time ratio qlite/QEMU.  Each guest runs BENCH_REPS times (default
# 3), qlite and QEMU interleaved; the figures are medians.  Not a test: it
# always exits 0 if both ran.
#
#   bench/cpu-bench.sh [path/to/qlite-system-x86_64]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
qlite=${1:-$root/build/qlite-system-x86_64}
qemu=${QEMU:-qemu-system-x86_64}
reps=${BENCH_REPS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Build with the guest runtime; the loop runs ITERS x INSNS instructions.
lib=$root/tests/guest/lib
common="-ffreestanding -fno-pic -fno-pie -nostdlib -O2 -fno-stack-protector
        -mgeneral-regs-only -fcf-protection=none
        -fno-asynchronous-unwind-tables -I $lib"

# The same guest twice: 32-bit protected mode and 64-bit long mode (as
# tests/guest/run-guest-tests.py builds them; multiboot takes ELF32).
build() {   # build 32|64
    local dir=$out/$1 m=-m$1 extra="" entry=entry32.S trap=trap32.S
    mkdir -p "$dir"
    if [ "$1" = 64 ]; then
        extra="-mno-red-zone -mcmodel=small" entry=entry64.S trap=trap64.S
    fi
    for src in "$here/cpu-bench-guest.c" "$lib/guest.c" "$lib/$entry" \
               "$lib/$trap"; do
        gcc $m $common $extra -c "$src" -o "$dir/$(basename "$src").o"
    done
    if [ "$1" = 64 ]; then
        ld -m elf_x86_64 -n -static -z noexecstack --no-warn-rwx-segments \
           -T "$lib/link.ld" -o "$dir/linked.elf" "$dir"/*.o
        objcopy -O elf32-i386 "$dir/linked.elf" "$out/bench$1.elf"
    else
        ld -m elf_i386 -n -static -z noexecstack --no-warn-rwx-segments \
           -T "$lib/link.ld" -o "$out/bench$1.elf" "$dir"/*.o
    fi
}
build 32
build 64
iters=$(sed -n 's/^#define BENCH_ITERS *\([0-9]*\)u.*/\1/p' \
        "$here/cpu-bench-guest.c")
insns=$(sed -n 's/^#define BENCH_INSNS *\([0-9]*\)u.*/\1/p' \
        "$here/cpu-bench-guest.c")
total=$((iters * insns))

run() {     # run EMULATOR ELF
    start=$(date +%s.%N)
    status=0
    timeout 600 "$1" -accel tcg -nographic -device isa-debug-exit \
        -kernel "$2" >"$out/log" 2>&1 </dev/null || status=$?
    end=$(date +%s.%N)
    if [ "$status" -ne 33 ]; then
        echo "$1: guest did not finish (exit $status)" >&2
        cat "$out/log" >&2
        return 1
    fi
    echo "$end - $start" | bc -l
}

median() {  # the median of the arguments
    printf '%s\n' "$@" | sort -g |
        awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2);
              print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'
}

printf 'guest instructions: %d per run, median of %d runs\n' "$total" "$reps"
for bits in 32 64; do
    tl=() tq=()
    for ((i = 0; i < reps; i++)); do
        tl+=("$(run "$qlite" "$out/bench$bits.elf")")
        tq+=("$(run "$qemu" "$out/bench$bits.elf")")
    done
    t_qlite=$(median "${tl[@]}")
    t_qemu=$(median "${tq[@]}")
    ratio=$(echo "$t_qlite / $t_qemu" | bc -l)
    printf '%s-bit guest\n' "$bits"
    printf '  qemu  (tcg): %8.3f s  %12.0f guest insn/s\n' "$t_qemu" \
        "$(echo "$total / $t_qemu" | bc -l)"
    printf '  qlite (tcg): %8.3f s  %12.0f guest insn/s\n' "$t_qlite" \
        "$(echo "$total / $t_qlite" | bc -l)"
    printf '  time ratio qlite/qemu: %.2f\n' "$ratio"
    if [ -n "${BENCH_SUMMARY:-}" ]; then
        printf 'cpu-%s %.3f %.3f %.3f\n' "$bits" "$t_qlite" "$t_qemu" \
            "$ratio" >> "$BENCH_SUMMARY"
    fi
done
