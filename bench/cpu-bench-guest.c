/*
 * A compute-bound guest for bench/cpu-bench.sh: a loop whose executed
 * instruction count is known exactly, timed by the host from start to
 * isa-debug-exit.  Uses the tests/guest runtime (multiboot entry, COM1).
 *
 * The loop body (see the asm) is 8 instructions per iteration.
 */
#include "guest.h"

#define BENCH_ITERS     50000000u
#define BENCH_INSNS     8u

void kernel_main(void)
{
    uint32_t a = 1, b = 0, n = BENCH_ITERS;

    __asm__ volatile(
        "1:\n\t"
        "addl %1, %0\n\t"           /* 1 */
        "xorl $0x5a5a, %1\n\t"      /* 2 */
        "roll $3, %0\n\t"           /* 3 */
        "leal 7(%0,%1), %1\n\t"     /* 4 */
        "imull $13, %0, %0\n\t"     /* 5 */
        "subl %1, %0\n\t"           /* 6 */
        "decl %2\n\t"               /* 7 */
        "jnz 1b"                    /* 8 */
        : "+r"(a), "+r"(b), "+r"(n) : : "cc");
    guest_printf("bench: %u iterations x %u instructions, result %x\n",
                 BENCH_ITERS, BENCH_INSNS, a ^ b);
    CHECK(true, "benchmark loop finished");
}
