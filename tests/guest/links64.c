/*
 * A direct CALL into another page, while that page's translation
 * changes (SDM vol 3A 4.10.2.4 global pages, 4.10.4.1 INVLPG and CR3
 * and CR4 writes).  qlite's translator jumps from a block's exit
 * straight into the next block's code; across pages such a link must
 * hold only while the page still maps where the target was decoded
 * from.  The function at FN_VA, in a global page, is "mov $1, %eax;
 * ret" in frame 0 and "mov $2, %eax; ret" in frame 1; the kernel calls
 * it 100 times in a row each time, the call site linked after the first,
 * and 100 times through a register (the vCPU's jump cache).
 */
#include "guest.h"

extern uint64_t pds[];          /* entry64.S: 4 page directories */
static uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t frames[2][4096] __attribute__((aligned(4096)));

/* pt[] maps 0x40000000.. (PD 1, entry 0) with 4K pages. */
#define FN_VA       0x40000000ul

/* A direct CALL (rel32) to FN_VA, from the kernel's own page. */
static uint32_t __attribute__((noinline)) call_fn(void)
{
    uint32_t v;

    __asm__ volatile("call 0x40000000"
                     : "=a"(v)
                     : : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
                         "r11", "memory");
    return v;
}

/* The same through a register: an indirect CALL. */
static uint32_t __attribute__((noinline)) call_fn_indirect(void)
{
    uint32_t v;

    __asm__ volatile("call *%1"
                     : "=a"(v)
                     : "r"(FN_VA)
                     : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
                       "memory");
    return v;
}

/*
 * 100 indirect calls, then 100 direct ones: their sums, apart.  The
 * indirect ones first, so that after a remap the direct call's link
 * meets the TLB filled again, for the other frame.
 */
static uint32_t call_fn_100(void)
{
    uint32_t sum = 0, ind = 0;

    for (int i = 0; i < 100; i++) {
        ind += call_fn_indirect();
    }
    for (int i = 0; i < 100; i++) {
        sum += call_fn();
    }
    return sum << 16 | ind;
}

#define BOTH(n)     ((n) << 16 | (n))

static void map_fn(unsigned frame)
{
    pt[0] = (uintptr_t)frames[frame] | PTE_P | PTE_W | PTE_G;
}

void kernel_main(void)
{
    static const uint8_t code[2][6] = {
        { 0xb8, 1, 0, 0, 0, 0xc3 },     /* mov $1, %eax; ret */
        { 0xb8, 2, 0, 0, 0, 0xc3 },     /* mov $2, %eax; ret */
    };

    memcpy(frames[0], code[0], sizeof(code[0]));
    memcpy(frames[1], code[1], sizeof(code[1]));
    pds[512] = (uintptr_t)pt | PTE_P | PTE_W;
    map_fn(0);
    write_cr4(read_cr4() | CR4_PGE);
    write_cr3(read_cr3());
    CHECK_EQ(call_fn_100(), BOTH(100), "frame 0's function, 2 x 100 calls");

    write_cr3(read_cr3());
    CHECK_EQ(call_fn_100(), BOTH(100),
             "after a CR3 write, which keeps it (global)");

    map_fn(1);
    invlpg((const volatile void *)FN_VA);
    CHECK_EQ(call_fn_indirect(), 2,
             "remapped to frame 1 and INVLPG: its code");
    CHECK_EQ(call_fn_100(), BOTH(200), "  and 2 x 100 calls");
    write_cr3(read_cr3());
    CHECK_EQ(call_fn_100(), BOTH(200), "the same after another CR3 write");

    map_fn(0);
    write_cr4(read_cr4() & ~CR4_PGE);   /* flushes global pages too */
    CHECK_EQ(call_fn_100(), BOTH(100),
             "remapped to frame 0, CR4.PGE cleared");
    write_cr4(read_cr4() | CR4_PGE);
    map_fn(1);
    invlpg((const volatile void *)FN_VA);
    CHECK_EQ(call_fn_indirect(), 2, "remapped to frame 1 again and INVLPG");
    CHECK_EQ(call_fn_100(), BOTH(200), "  and 2 x 100 calls");
}
