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
 *
 * Then a jump within a page to an instruction that crosses into the
 * next one: code at LOOP_VA jumps to an ADD whose immediate's high half
 * lies in the next page, which is remapped to a frame with another
 * high half.  Such a jump may be taken without a look at the TLB, but
 * the instruction must be checked for its second page.
 */
#include "guest.h"

extern uint64_t pds[];          /* entry64.S: 4 page directories */
static uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t frames[2][4096] __attribute__((aligned(4096)));
static uint8_t loop_frames[3][4096] __attribute__((aligned(4096)));

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

/* A call through a register (an indirect CALL) to @va. */
static uint32_t __attribute__((noinline)) call_at(uintptr_t va)
{
    uint32_t v;

    __asm__ volatile("call *%1"
                     : "=a"(v)
                     : "r"(va)
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
        ind += call_at(FN_VA);
    }
    for (int i = 0; i < 100; i++) {
        sum += call_fn();
    }
    return sum << 16 | ind;
}

#define BOTH(n)     ((n) << 16 | (n))

/* pt[1] and pt[2]: the loop's page and the one its ADD crosses into. */
#define LOOP_VA     (FN_VA + 0x1000)
#define ADD_OFF     0xffd

/*
 * LOOP_VA:          mov $100, %ecx; xor %eax, %eax
 * LOOP_VA + 7:      jmp LOOP_VA + ADD_OFF        (within the page)
 * LOOP_VA + ADD_OFF: add $imm32, %eax            (crosses: 2 + 3 bytes)
 * next page + 2:    dec %ecx; jnz LOOP_VA + 7; ret
 * The immediate's low half is 1, its high half 0 in loop_frames[1] and
 * 1 in loop_frames[2]: 100 rounds add 100 or 0x640064.
 */
static void loop_code(void)
{
    static const uint8_t start[] = { 0xb9, 100, 0, 0, 0, 0x31, 0xc0, 0xe9 };
    uint8_t *p = loop_frames[0];
    int32_t rel = ADD_OFF - 12;
    int32_t back = 7 - (0x1000 + 10);

    memcpy(p, start, sizeof(start));
    memcpy(p + 8, &rel, 4);
    p[ADD_OFF] = 0x05;
    p[ADD_OFF + 1] = 1;
    p[ADD_OFF + 2] = 0;
    for (int f = 1; f <= 2; f++) {
        static const uint8_t tail[] = { 0xff, 0xc9, 0x0f, 0x85 };
        uint8_t *q = loop_frames[f];

        q[0] = f - 1;
        q[1] = 0;
        memcpy(q + 2, tail, sizeof(tail));
        memcpy(q + 6, &back, 4);
        q[10] = 0xc3;
    }
}

static void map_loop(unsigned frame)
{
    pt[1] = (uintptr_t)loop_frames[0] | PTE_P | PTE_W;
    pt[2] = (uintptr_t)loop_frames[frame] | PTE_P | PTE_W;
}

/* The jump to the crossing instruction sees the second page remapped. */
static void check_crossing(void)
{
    loop_code();
    map_loop(1);
    write_cr3(read_cr3());
    CHECK_EQ(call_at(LOOP_VA), 100, "a jump to an instruction crossing pages");
    CHECK_EQ(call_at(LOOP_VA), 100, "  again, linked");
    map_loop(2);
    invlpg((const volatile void *)(LOOP_VA + 0x1000));
    CHECK_EQ(call_at(LOOP_VA), 0x640064, "  its second page remapped, INVLPG");
    map_loop(1);
    write_cr3(read_cr3());
    CHECK_EQ(call_at(LOOP_VA), 100, "  and back, CR3 written");
}

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
    CHECK_EQ(call_at(FN_VA), 2,
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
    CHECK_EQ(call_at(FN_VA), 2, "remapped to frame 1 again and INVLPG");
    CHECK_EQ(call_fn_100(), BOTH(200), "  and 2 x 100 calls");

    check_crossing();
}
