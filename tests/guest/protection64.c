/*
 * Protection features of long mode: SMEP, SMAP with EFLAGS.AC and
 * STAC/CLAC (SDM vol 3 4.6.1), UMIP (2.5), PCIDs and INVPCID (4.10.1,
 * vol 2 INVPCID), protection keys for user pages with RDPKRU/WRPKRU and
 * for supervisor pages with IA32_PKRS, and the PK bit of the #PF error
 * code (4.6.2).
 *
 * Each part runs when CPUID offers the feature and prints SKIP with the
 * reason otherwise; qlite refuses the option below if it lacks one, so
 * under qlite nothing is skipped.  QEMU 7.2's tcg lacks PCID and INVPCID
 * (not in its TCG feature set; "+pcid" only warns), so there those parts
 * skip.
 *
 * guest-args: -cpu max,+smep,+smap,+umip,+pcid,+invpcid,+pku,+pks
 */
#include "guest.h"

#define CR4_UMIP    (1u << 11)
#define CR4_PCIDE   (1u << 17)
#define CR4_SMEP    (1u << 20)
#define CR4_SMAP    (1u << 21)
#define CR4_PKE     (1u << 22)
#define CR4_PKS     (1u << 24)
#define MSR_PKRS    0x6e1
#define EFLAGS_AC   (1u << 18)
#define PFERR_PK    (1u << 5)
#define PTE_PKEY(k) ((uint64_t)(k) << 59)

extern uint64_t pds[];          /* entry64.S: 4 page directories */
static uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t frames[2][4096] __attribute__((aligned(4096)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));

/* pt[] maps 0x40000000.. (PD 1, entry 0) with 4K pages. */
#define TEST_VA     0x40000000ul
static volatile uint8_t *const test_page = (volatile uint8_t *)TEST_VA;

static void map_test_page(uint64_t frame, uint64_t flags)
{
    pt[0] = frame | PTE_P | PTE_W | flags;
    write_cr3(read_cr3());
}

/* Which trap (0: none) did @insn on %0 raise?  Resumes after it. */
#define TRAP_OF(insn, ptr) ({ \
    unsigned n_ = last_trap.count; \
    __asm__ volatile(SET_RESUME insn "\n9:" : : "r"(ptr) \
                     : "rax", "r11", "memory"); \
    last_trap.count == n_ ? 0u : (unsigned)last_trap.vector; })
#define READ_TRAP(p)    TRAP_OF("movb (%0), %%al", p)
#define WRITE_TRAP(p)   TRAP_OF("movb $1, (%0)", p)

static void check_pf(unsigned vec, uint32_t error, const char *what)
{
    CHECK_EQ(vec, VEC_PF, what);
    CHECK_EQ(last_trap.error, error, "  its #PF error code");
    CHECK_EQ(last_trap.cr2, TEST_VA, "  its CR2");
}

static ureg run_user(void (*fn)(ureg), ureg arg)
{
    return enter_user(fn, arg, user_stack + sizeof(user_stack), 0x2);
}

/* ---- SMEP and SMAP ---------------------------------------------------- */

/*
 * The kernel's own 2 MiB pages are user pages in entry64.S's map; they
 * become supervisor pages while SMEP or SMAP is on, or the kernel's own
 * fetches and stack accesses would fault.
 */
static void kernel_pages_user(bool user)
{
    for (unsigned i = 0; i < 512; i++) {
        pds[i] = user ? pds[i] | PTE_U : pds[i] & ~(uint64_t)PTE_U;
    }
    write_cr3(read_cr3());
}

static void test_smep(void)
{
    unsigned n = last_trap.count;

    frames[0][0] = 0xc3;                        /* ret */
    map_test_page((uintptr_t)frames[0], PTE_U);
    kernel_pages_user(false);
    write_cr4(read_cr4() | CR4_SMEP);
    __asm__ volatile(SET_RESUME "jmp *%0\n9:" : : "r"(TEST_VA)
                     : "r11", "memory");
    CHECK_EQ(last_trap.count, n + 1, "SMEP: fetch from a user page faults");
    check_pf(last_trap.vector, PFERR_P | PFERR_I, "SMEP: #PF");
    write_cr4(read_cr4() & ~CR4_SMEP);
    kernel_pages_user(true);
}

static void user_stac(ureg arg)
{
    __asm__ volatile("stac");
}

static void test_smap(void)
{
    map_test_page((uintptr_t)frames[0], PTE_U);
    CHECK_EQ(READ_TRAP(test_page), 0, "no SMAP: kernel reads a user page");
    kernel_pages_user(false);
    write_cr4(read_cr4() | CR4_SMAP);
    __asm__ volatile("clac");
    check_pf(READ_TRAP(test_page), PFERR_P, "SMAP, AC=0: read faults");
    check_pf(WRITE_TRAP(test_page), PFERR_P | PFERR_W,
             "SMAP, AC=0: write faults");
    __asm__ volatile("stac");
    CHECK(read_flags() & EFLAGS_AC, "STAC sets AC");
    CHECK_EQ(READ_TRAP(test_page), 0, "SMAP, AC=1: read allowed");
    CHECK_EQ(WRITE_TRAP(test_page), 0, "SMAP, AC=1: write allowed");
    __asm__ volatile("clac");
    CHECK(!(read_flags() & EFLAGS_AC), "CLAC clears AC");
    check_pf(READ_TRAP(test_page), PFERR_P, "CLAC: read faults again");
    __asm__ volatile("pushf; orl %0, (%%rsp); popf" : : "i"(EFLAGS_AC)
                     : "memory", "cc");
    CHECK_EQ(READ_TRAP(test_page), 0, "POPF setting AC allows it too");
    __asm__ volatile("clac");
    write_cr4(read_cr4() & ~CR4_SMAP);
    kernel_pages_user(true);
    CHECK_EQ(run_user(user_stac, 0), 0x10000 | VEC_UD, "STAC at CPL 3: #UD");
}

/* ---- UMIP ------------------------------------------------------------- */

static volatile unsigned umip_which;

static void user_umip(ureg which)
{
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } dt;
    uint64_t v;

    switch (which) {
    case 0: __asm__ volatile("sgdt %0" : "=m"(dt)); break;
    case 1: __asm__ volatile("sidt %0" : "=m"(dt)); break;
    case 2: __asm__ volatile("sldt %0" : "=r"(v)); break;
    case 3: __asm__ volatile("smsw %0" : "=r"(v)); break;
    default: __asm__ volatile("str %0" : "=r"(v)); break;
    }
    umip_which = which + 1;
}

static void test_umip(void)
{
    static const char *const names[] = {
        "UMIP: SGDT at CPL 3 #GP", "UMIP: SIDT at CPL 3 #GP",
        "UMIP: SLDT at CPL 3 #GP", "UMIP: SMSW at CPL 3 #GP",
        "UMIP: STR at CPL 3 #GP",
    };
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } dt;

    CHECK_EQ(run_user(user_umip, 0), 0, "no UMIP: SGDT at CPL 3 runs");
    write_cr4(read_cr4() | CR4_UMIP);
    for (unsigned i = 0; i < 5; i++) {
        umip_which = 0;
        CHECK_EQ(run_user(user_umip, i), 0x10000 | VEC_GP, names[i]);
        CHECK_EQ(umip_which, 0, "  and did not complete");
    }
    __asm__ volatile("sgdt %0" : "=m"(dt));
    CHECK_EQ(dt.base, (uintptr_t)gdt, "UMIP: SGDT at CPL 0 still works");
    write_cr4(read_cr4() & ~CR4_UMIP);
}

/* ---- PCID and INVPCID ------------------------------------------------- */

static unsigned mov_cr3_trap(uint64_t v)
{
    return TRAP_OF("movq %0, %%cr3", v);
}

static unsigned mov_cr4_trap(uint64_t v)
{
    return TRAP_OF("movq %0, %%cr4", v);
}

static void test_pcid(void)
{
    uint64_t base = read_cr3() & ~0xfffull;

    CHECK_EQ(mov_cr3_trap(base | (1ull << 63)), VEC_GP,
             "CR3 bit 63 without PCIDE: #GP");
    write_cr3(base | 0x8);                      /* PWT */
    CHECK_EQ(mov_cr4_trap(read_cr4() | CR4_PCIDE), VEC_GP,
             "PCIDE with CR3[11:0] != 0: #GP");
    write_cr3(base);
    write_cr4(read_cr4() | CR4_PCIDE);
    CHECK(read_cr4() & CR4_PCIDE, "PCIDE set");
    write_cr3(base | 5);
    CHECK_EQ(read_cr3(), base | 5, "CR3[11:0] holds the PCID");
    write_cr3(base | 7 | (1ull << 63));
    CHECK_EQ(read_cr3(), base | 7, "bit 63 (no flush) is not stored");

    /* A changed PTE is seen after a CR3 write that flushes. */
    frames[0][0] = 0xaa;
    frames[1][0] = 0xbb;
    map_test_page((uintptr_t)frames[0], 0);
    CHECK_EQ(*test_page, 0xaa, "PCID 7: page A");
    pt[0] = (uintptr_t)frames[1] | PTE_P | PTE_W;
    write_cr3(base | 7);
    CHECK_EQ(*test_page, 0xbb, "MOV CR3 without bit 63 flushes");
    write_cr3(base);
    write_cr4(read_cr4() & ~CR4_PCIDE);
}

static unsigned invpcid_trap(uint64_t type, uint64_t pcid, uint64_t addr)
{
    struct { uint64_t pcid, addr; } d = { pcid, addr };
    unsigned n = last_trap.count;

    __asm__ volatile(SET_RESUME "invpcid (%0), %1\n9:"
                     : : "r"(&d), "r"(type) : "r11", "memory");
    return last_trap.count == n ? 0u : (unsigned)last_trap.vector;
}

static void user_invpcid(ureg arg)
{
    invpcid_trap(2, 0, 0);
}

static void test_invpcid(void)
{
    static const char *const names[] = {
        "INVPCID type 0 (address) drops the page",
        "INVPCID type 1 (one PCID) drops it",
        "INVPCID type 2 (all, globals too) drops it",
        "INVPCID type 3 (all but globals) drops it",
    };

    for (unsigned type = 0; type < 4; type++) {
        uint8_t want = 0x10 + type;

        map_test_page((uintptr_t)frames[type & 1], 0);
        (void)*test_page;                       /* cached */
        frames[!(type & 1)][0] = want;
        pt[0] = (uintptr_t)frames[!(type & 1)] | PTE_P | PTE_W;
        CHECK_EQ(invpcid_trap(type, 0, TEST_VA), 0, "INVPCID runs");
        CHECK_EQ(*test_page, want, names[type]);
    }
    CHECK_EQ(invpcid_trap(4, 0, 0), VEC_GP, "INVPCID type 4: #GP");
    CHECK_EQ(invpcid_trap(1, 1ull << 12, 0), VEC_GP,
             "INVPCID descriptor bits 63:12: #GP");
    CHECK_EQ(invpcid_trap(0, 0, 0x8000000000000000ull), VEC_GP,
             "INVPCID type 0, non-canonical: #GP");
    CHECK_EQ(invpcid_trap(1, 3, 0), VEC_GP,
             "INVPCID PCID != 0 without PCIDE: #GP");
    CHECK_EQ(run_user(user_invpcid, 0), 0x10000 | VEC_GP,
             "INVPCID at CPL 3: #GP");
}

/* ---- protection keys -------------------------------------------------- */

static unsigned rdpkru_trap(uint32_t ecx, uint32_t *val)
{
    unsigned n = last_trap.count;
    uint32_t a = 0, d;

    __asm__ volatile(SET_RESUME "rdpkru\n9:"
                     : "+a"(a), "=d"(d) : "c"(ecx) : "r11", "memory");
    *val = a;
    return last_trap.count == n ? 0u : (unsigned)last_trap.vector;
}

static unsigned wrpkru_trap(uint32_t val, uint32_t ecx, uint32_t edx)
{
    unsigned n = last_trap.count;

    __asm__ volatile(SET_RESUME "wrpkru\n9:"
                     : : "a"(val), "c"(ecx), "d"(edx) : "r11", "memory");
    return last_trap.count == n ? 0u : (unsigned)last_trap.vector;
}

static void user_write(ureg p)
{
    *(volatile uint8_t *)p = 1;
}

static void test_pku(void)
{
    uint32_t v, r[4];

    CHECK_EQ(rdpkru_trap(0, &v), VEC_UD, "RDPKRU without CR4.PKE: #UD");
    write_cr4(read_cr4() | CR4_PKE);
    cpuid(7, 0, r);
    CHECK(r[2] & (1u << 4), "CPUID.7:ECX.OSPKE follows CR4.PKE");
    CHECK_EQ(wrpkru_trap(0, 1, 0), VEC_GP, "WRPKRU with ECX != 0: #GP");
    CHECK_EQ(wrpkru_trap(0x0c, 0, 0), 0, "WRPKRU");
    CHECK_EQ(rdpkru_trap(0, &v), 0, "RDPKRU");
    CHECK_EQ(v, 0x0c, "RDPKRU reads what WRPKRU wrote");

    /* Key 1: AD (bit 2) denies every data access to user pages. */
    map_test_page((uintptr_t)frames[0], PTE_U | PTE_PKEY(1));
    wrpkru_trap(1u << 2, 0, 0);
    check_pf(READ_TRAP(test_page), PFERR_P | PFERR_PK,
             "PKRU.AD1: supervisor read faults with PK");
    /* WD (bit 3): writes only; a supervisor write only with CR0.WP. */
    wrpkru_trap(1u << 3, 0, 0);
    CHECK_EQ(READ_TRAP(test_page), 0, "PKRU.WD1: read allowed");
    check_pf(WRITE_TRAP(test_page), PFERR_P | PFERR_W | PFERR_PK,
             "PKRU.WD1: supervisor write with CR0.WP faults");
    write_cr0(read_cr0() & ~CR0_WP);
    CHECK_EQ(WRITE_TRAP(test_page), 0, "PKRU.WD1, CR0.WP=0: write allowed");
    write_cr0(read_cr0() | CR0_WP);
    CHECK_EQ(run_user(user_write, TEST_VA), 0x10000 | VEC_PF,
             "PKRU.WD1: user write faults");
    CHECK_EQ(last_trap.error, PFERR_P | PFERR_W | PFERR_U | PFERR_PK,
             "  its #PF error code");
    /* Keys apply to user pages only. */
    map_test_page((uintptr_t)frames[0], PTE_PKEY(1));
    wrpkru_trap(3u << 2, 0, 0);
    CHECK_EQ(WRITE_TRAP(test_page), 0, "supervisor page: key ignored");
    wrpkru_trap(0, 0, 0);
    write_cr4(read_cr4() & ~CR4_PKE);
}

static unsigned wrmsr_trap(uint32_t msr, uint64_t v)
{
    unsigned n = last_trap.count;

    __asm__ volatile(SET_RESUME "wrmsr\n9:"
                     : : "c"(msr), "a"((uint32_t)v),
                       "d"((uint32_t)(v >> 32)) : "r11", "memory");
    return last_trap.count == n ? 0u : (unsigned)last_trap.vector;
}

/* PKS: the same rights for supervisor pages, in IA32_PKRS. */
static void test_pks(void)
{
    map_test_page((uintptr_t)frames[0], PTE_PKEY(2));
    write_cr4(read_cr4() | CR4_PKS);
    CHECK_EQ(wrmsr_trap(MSR_PKRS, 1ull << 32), VEC_GP,
             "IA32_PKRS bits 63:32 reserved: #GP");
    wrmsr(MSR_PKRS, 1u << 4);                       /* AD2 */
    CHECK_EQ(rdmsr(MSR_PKRS), 1u << 4, "IA32_PKRS reads back");
    check_pf(READ_TRAP(test_page), PFERR_P | PFERR_PK,
             "PKRS.AD2: supervisor read faults with PK");
    wrmsr(MSR_PKRS, 1u << 5);                       /* WD2 */
    CHECK_EQ(READ_TRAP(test_page), 0, "PKRS.WD2: read allowed");
    check_pf(WRITE_TRAP(test_page), PFERR_P | PFERR_W | PFERR_PK,
             "PKRS.WD2: write with CR0.WP faults");
    map_test_page((uintptr_t)frames[0], PTE_U | PTE_PKEY(2));
    wrmsr(MSR_PKRS, 3u << 4);
    CHECK_EQ(WRITE_TRAP(test_page), 0, "user page: PKRS ignored");
    wrmsr(MSR_PKRS, 0);
    write_cr4(read_cr4() & ~CR4_PKS);
}

/* ---- main ------------------------------------------------------------- */

static void run_if(bool has, void (*fn)(void), const char *why)
{
    if (has) {
        fn();
    } else {
        guest_printf("SKIP %s\n", why);
    }
}

void kernel_main(void)
{
    uint32_t r1[4], r7[4];

    pds[512] = (uintptr_t)pt | PTE_P | PTE_W | PTE_U;
    write_cr3(read_cr3());
    cpuid(1, 0, r1);
    cpuid(7, 0, r7);
    run_if(r7[1] & (1u << 7), test_smep, "SMEP: CPUID.7:EBX.SMEP is 0");
    run_if(r7[1] & (1u << 20), test_smap, "SMAP: CPUID.7:EBX.SMAP is 0");
    run_if(r7[2] & (1u << 2), test_umip, "UMIP: CPUID.7:ECX.UMIP is 0");
    run_if(r1[2] & (1u << 17), test_pcid,
           "PCID: CPUID.1:ECX.PCID is 0 (QEMU 7.2's tcg has no PCID)");
    run_if(r7[1] & (1u << 10), test_invpcid,
           "INVPCID: CPUID.7:EBX.INVPCID is 0 (QEMU 7.2's tcg has none)");
    run_if(r7[2] & (1u << 3), test_pku, "PKU: CPUID.7:ECX.PKU is 0");
    run_if(r7[2] & (1u << 31), test_pks, "PKS: CPUID.7:ECX.PKS is 0");
}
