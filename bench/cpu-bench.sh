#!/bin/sh
# CPU emulator benchmark (issue 3 point 7): the same compute-bound
# bare-metal guest under qlite and under qemu-system-x86_64 -accel tcg, in
# one run.  Prints guest instructions per second for each and the time
# ratio qlite/QEMU.  Not a test: it always exits 0 if both ran.
#
#   bench/cpu-bench.sh [path/to/qlite-system-x86_64]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
qlite=${1:-$root/build/qlite-system-x86_64}
qemu=${QEMU:-qemu-system-x86_64}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Build with the guest runtime; the loop runs ITERS x INSNS instructions.
lib=$root/tests/guest/lib
cflags="-m32 -ffreestanding -fno-pic -fno-pie -nostdlib -O2
        -fno-stack-protector -mgeneral-regs-only -fcf-protection=none
        -fno-asynchronous-unwind-tables -I $lib"
for src in "$here/cpu-bench-guest.c" "$lib/guest.c" "$lib/entry32.S" \
           "$lib/trap32.S"; do
    gcc $cflags -c "$src" -o "$out/$(basename "$src").o"
done
ld -m elf_i386 -n -static -z noexecstack --no-warn-rwx-segments \
   -T "$lib/link.ld" -o "$out/bench.elf" "$out"/*.o
iters=$(sed -n 's/^#define BENCH_ITERS *\([0-9]*\)u.*/\1/p' \
        "$here/cpu-bench-guest.c")
insns=$(sed -n 's/^#define BENCH_INSNS *\([0-9]*\)u.*/\1/p' \
        "$here/cpu-bench-guest.c")
total=$((iters * insns))

run() {
    start=$(date +%s.%N)
    status=0
    timeout 600 "$1" -accel tcg -nographic -device isa-debug-exit \
        -kernel "$out/bench.elf" >"$out/log" 2>&1 </dev/null || status=$?
    end=$(date +%s.%N)
    if [ "$status" -ne 33 ]; then
        echo "$1: guest did not finish (exit $status)" >&2
        cat "$out/log" >&2
        return 1
    fi
    echo "$end - $start" | bc -l
}

t_qemu=$(run "$qemu")
t_qlite=$(run "$qlite")
printf 'guest instructions: %d\n' "$total"
printf 'qemu  (tcg): %8.3f s  %12.0f guest insn/s\n' "$t_qemu" \
    "$(echo "$total / $t_qemu" | bc -l)"
printf 'qlite (tcg): %8.3f s  %12.0f guest insn/s\n' "$t_qlite" \
    "$(echo "$total / $t_qlite" | bc -l)"
printf 'time ratio qlite/qemu: %.2f\n' "$(echo "$t_qlite / $t_qemu" | bc -l)"
