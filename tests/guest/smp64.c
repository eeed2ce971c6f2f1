/*
 * SMP: the kernel starts every application processor itself and runs
 * the same cases on all vCPUs at once.
 *
 * Start-up (SDM vol 3A 8.4.4.1): the CPU count comes from fw_cfg
 * (FW_CFG_NB_CPUS), the APs have APIC IDs 1..n-1 (as QEMU and qlite
 * number them for a plain -smp n); each gets INIT, a SIPI to the
 * real-mode trampoline at TRAMP_BASE and, once it has checked in, the
 * SDM's second SIPI, which a running CPU must ignore.  The trampoline
 * goes through protected mode into long mode on the BSP's own page
 * tables and GDT (SDM vol 3A 10.8.5) and calls smp_ap_main.
 *
 * Cases, each between two barriers, every vCPU taking part:
 *  - LOCK ADD, LOCK XADD (the tickets handed out must be exactly
 *    0..total-1), a LOCK CMPXCHG retry loop, LOCK CMPXCHG16B when CPUID
 *    offers it, and LOCK ADD on a counter split across two cache lines:
 *    exact totals;
 *  - an XCHG spinlock around a non-atomic read-modify-write: exact total,
 *    and no two vCPUs inside at once;
 *  - a seqlock: one vCPU writes a pair until every reader has seen it
 *    change a few times; no reader may see it torn or going backwards;
 *  - cross-modifying code (SDM vol 3A 8.1.3): vCPU 0 rewrites, with one
 *    store, an immediate in a function the others keep calling; they
 *    must see the new value within a generous number of calls, and only
 *    ever the old or the new one; then with the SDM's protocol (store,
 *    flag, a serializing CPUID on the caller) the very next call must
 *    return the newer value (QEMU's exceptions: see smc_writer);
 *  - memory order (SDM vol 3A 8.2.3), vCPUs 0 and 1 in lock step for
 *    MO_ROUNDS rounds: message passing (data, then flag; whoever sees
 *    the flag must see the data) and store buffering with MFENCE (x = 1;
 *    MFENCE; read y against y = 1; MFENCE; read x: never both 0); the
 *    same without MFENCE is allowed both 0s and only counted;
 *  - TLB shootdown: vCPU 0 points a 4 KiB PTE at another page, INVLPGs,
 *    and sends a fixed IPI (broadcast shorthand and per-destination in
 *    turn); the others INVLPG in the handler and acknowledge; after the
 *    acks everyone must read through the new mapping.
 * Only vCPU 0 prints, once the cases are over (under qlite's one-thread
 * round-robin a print while the others spin costs them a turn per I/O).
 *
 * guest-smp: 2 4
 */
#include "guest.h"

#define MAX_CPUS        16
#define AP_STACK_SIZE   16384

/* fw_cfg (QEMU's docs/specs/fw_cfg.txt): selector and data ports. */
#define FW_CFG_SEL      0x510
#define FW_CFG_DATA     0x511
#define FW_CFG_NB_CPUS  0x05

/* The local APIC in xAPIC mode (SDM vol 3A table 10-1). */
#define MSR_APIC_BASE   0x1b
#define APIC_ID         0x020
#define APIC_EOI        0x0b0
#define APIC_SVR        0x0f0
#define APIC_ICR        0x300
#define APIC_ICR_HI     0x310
#define SVR_ENABLE      (1u << 8)
#define ICR_FIXED       (0u << 8)
#define ICR_INIT        (5u << 8)
#define ICR_STARTUP     (6u << 8)
#define ICR_BUSY        (1u << 12)
#define ICR_ASSERT      (1u << 14)
#define ICR_LEVEL       (1u << 15)
#define ICR_ALL_BUT_ME  (3u << 18)

/* The trampoline runs at 0x8000: SIPI vector 8 (CS = 0x800, IP = 0). */
#define TRAMP_BASE      0x8000u
#define VEC_SHOOTDOWN   0xf0

/*
 * Every wait is bounded by a spin count, not a time: generous enough for
 * a loaded host running 4 vCPU threads on 2 cores, and a failure is
 * still reported instead of hanging until the runner's timeout.
 */
#define WAIT_SPINS      400000000ull

/* Work per vCPU per case. */
#define N_ATOMIC        50000
#define N_LOCKED        20000
#define N_SEQ_WRITES    20000
#define SEQ_CHANGES     4
#define SEQ_WRITE_CAP   100000000ull
#define SMC_CALL_CAP    50000000ull
#define SMC_RESTORE_SPINS 20000ull
#define SHOOT_ROUNDS    16

#define SMC_OLD         0x11111111u
#define SMC_NEW         0x22222222u
#define SMC_NEWER       0x33333333u
#define SEQ_MIX         0x9e3779b97f4a7c15ull

/* What each vCPU found, read by vCPU 0 at the end. */
typedef struct PerCpu {
    uint32_t starts;            /* times the trampoline reached C */
    uint32_t xadd_backwards;    /* a ticket not above the previous one */
    uint64_t xadd_sum;
    uint64_t cmpxchg_retries;
    uint32_t seq_reads, seq_torn, seq_backwards, seq_final_ok;
    uint32_t seq_changes;       /* reads that found a newer pair */
    uint32_t smc_saw_new, smc_bad_value, smc_newer;
    uint64_t smc_calls;
    uint32_t shoot_ipis, shoot_bad_in_handler, shoot_bad_after;
    uint32_t shoot_bad_before;
} __attribute__((aligned(64))) PerCpu;

/*
 * Everything the vCPUs share, page-aligned in .bss so that no code page
 * is written by the counters (every such write would invalidate code).
 */
typedef struct Shared {
    volatile uint32_t bar_count, bar_gen;
    volatile uint32_t online;
    uint64_t lock_add __attribute__((aligned(64)));
    uint64_t xadd __attribute__((aligned(64)));
    uint64_t xadd_sum;
    uint64_t cmpxchg __attribute__((aligned(64)));
    uint64_t cx16[2] __attribute__((aligned(64)));
    /* A counter that starts 4 bytes before a cache line ends. */
    uint8_t split_line[128] __attribute__((aligned(64)));
    volatile uint32_t lock __attribute__((aligned(64)));
    volatile uint32_t in_lock, lock_overlaps;
    volatile uint64_t locked_count;
    volatile uint32_t seq __attribute__((aligned(64)));
    volatile uint32_t seq_done;
    volatile uint64_t seq_a, seq_b;
    volatile uint64_t seq_last;
    volatile uint32_t smc_started __attribute__((aligned(64)));
    volatile uint32_t smc_flag, smc_seen, smc_stores;
    volatile uint32_t mo_start __attribute__((aligned(64)));
    volatile uint32_t mo_done[2] __attribute__((aligned(64)));
    volatile uint64_t mo_x __attribute__((aligned(64)));
    volatile uint64_t mo_y __attribute__((aligned(64)));
    volatile uint64_t mo_data __attribute__((aligned(64)));
    volatile uint64_t mo_flag __attribute__((aligned(64)));
    volatile uint64_t mo_r[2];
    uint32_t mo_mp_bad, mo_sb_bad, mo_sb_nofence_both0;
    volatile uint32_t shoot_acks __attribute__((aligned(64)));
    volatile uint32_t shoot_go;
    volatile uint32_t shoot_round;
    PerCpu cpu[MAX_CPUS];
} Shared;

static Shared sh __attribute__((aligned(4096)));

/* The test page table (see shoot_setup) and the pages it points at. */
static uint64_t shoot_pd[512] __attribute__((aligned(4096)));
static uint64_t shoot_pt[512] __attribute__((aligned(4096)));
static uint64_t shoot_pages[3][512] __attribute__((aligned(4096)));
/*
 * 4 GiB (pdpt[4]) plus SHOOT_SLOT pages: the slot keeps the page from
 * sharing an entry of a small direct-mapped TLB (qlite's has 256, by
 * page number) with the kernel's pages (1 MiB on) or the APIC's, whose
 * use would evict it and hide a missed INVLPG.
 */
#define SHOOT_SLOT      0xc0u
#define SHOOT_VA        (0x100000000ull + SHOOT_SLOT * 4096ull)
#define SHOOT_MARK(i)   (0x5100d0000000ull + (i))

static uint8_t ap_stacks[MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));
/* The stack the next AP takes; set before its SIPI. */
volatile uint64_t smp_ap_stack;
static unsigned ncpus;
static bool have_cx16;
static bool under_qemu;         /* "-append qemu": see smc_writer */
static uintptr_t apic_base;
static struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
} idt_ptr;

extern uint64_t pdpt[];
void smp_ap_main(void);

/* ---- the trampoline and the functions the cases call ------------------- */

/*
 * Copied to TRAMP_BASE; tramp_gdtr and tramp_cr3 are filled in there.
 * Real mode -> protected mode with the kernel's GDT (its 32-bit code at
 * 0x08, data at 0x10) -> PAE, EFER.LME/NXE/SCE, CR0.PG/WP -> the 64-bit
 * code segment at 0x18, exactly as entry64.S does for the BSP.
 */
#define TR(sym) #sym " - smp_tramp + 0x8000"
__asm__(".pushsection .rodata\n"
        ".balign 16\n"
        ".globl smp_tramp, smp_tramp_end, tramp_gdtr, tramp_cr3\n"
        ".code16\n"
        "smp_tramp:\n\t"
        "cli\n\t"
        "xorw %ax, %ax\n\t"
        "movw %ax, %ds\n\t"
        "lgdtl " TR(tramp_gdtr) "\n\t"
        "movl %cr0, %eax\n\t"
        "orl $1, %eax\n\t"
        "movl %eax, %cr0\n\t"
        "ljmpl $0x08, $" TR(tramp_pm32) "\n"
        ".code32\n"
        "tramp_pm32:\n\t"
        "movw $0x10, %ax\n\t"
        "movw %ax, %ds\n\t"
        "movw %ax, %es\n\t"
        "movw %ax, %ss\n\t"
        "movl %cr4, %eax\n\t"
        "orl $0x20, %eax\n\t"
        "movl %eax, %cr4\n\t"
        "movl " TR(tramp_cr3) ", %eax\n\t"
        "movl %eax, %cr3\n\t"
        "movl $0xc0000080, %ecx\n\t"
        "rdmsr\n\t"
        "orl $0x901, %eax\n\t"
        "wrmsr\n\t"
        "movl %cr0, %eax\n\t"
        "orl $0x80010001, %eax\n\t"
        "movl %eax, %cr0\n\t"
        "ljmp $0x18, $smp_ap_entry64\n"
        ".balign 4\n"
        "tramp_gdtr: .word 0\n\t.long 0\n"
        ".balign 4\n"
        "tramp_cr3: .long 0\n"
        "smp_tramp_end:\n"
        ".code64\n"
        ".popsection\n");
extern const uint8_t smp_tramp[], smp_tramp_end[], tramp_gdtr[], tramp_cr3[];

/* Long mode on the AP: flat data segments, its own stack, then C. */
__asm__(".text\n"
        ".globl smp_ap_entry64\n"
        "smp_ap_entry64:\n\t"
        "movw $0x10, %ax\n\t"
        "movw %ax, %ds\n\t"
        "movw %ax, %es\n\t"
        "movw %ax, %ss\n\t"
        "movw %ax, %fs\n\t"
        "movw %ax, %gs\n\t"
        "movq smp_ap_stack(%rip), %rsp\n\t"
        "call smp_ap_main\n"
        "1:\tcli\n\t"
        "hlt\n\t"
        "jmp 1b\n");

/*
 * The function vCPU 0 rewrites: "mov $imm32, %eax; ret" with the
 * immediate 4-byte aligned so that a store to it is never torn.
 */
__asm__(".text\n"
        ".balign 4096\n"
        ".globl smc_fn, smc_imm\n"
        "smc_fn:\n\t"
        "nop\n\tnop\n\tnop\n\t"
        ".byte 0xb8\n"
        "smc_imm: .long 0x11111111\n\t"
        "ret\n"
        ".balign 4096\n");
extern uint32_t smc_imm;
uint32_t smc_fn(void);

/* ---- small helpers ------------------------------------------------------ */

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" : : : "memory");
}

static inline void compiler_barrier(void)
{
    __asm__ volatile("" : : : "memory");
}

static inline uint32_t apic_read(uint32_t reg)
{
    return *(volatile uint32_t *)(apic_base + reg);
}

static inline void apic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(apic_base + reg) = v;
}

static unsigned this_cpu(void)
{
    return apic_read(APIC_ID) >> 24;
}

static inline uint32_t lock_xadd32(volatile uint32_t *p, uint32_t v)
{
    __asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
    return v;
}

/* Wait for @cond, at most WAIT_SPINS spins; false if it never held. */
#define WAIT_FOR(cond) ({                                                  \
    uint64_t spins_ = 0;                                                   \
    while (!(cond) && ++spins_ < WAIT_SPINS) {                             \
        cpu_relax();                                                       \
    }                                                                      \
    (bool)(cond);                                                          \
})

/* vCPU 0 gives up on a wait: say which, and stop the test. */
__attribute__((noreturn)) static void smp_abort(const char *what)
{
    guest_printf("FAIL waiting for %s: gave up after %llu spins\n", what,
                 (unsigned long long)WAIT_SPINS);
    guest_puts("GUEST TEST FAILED\n");
    guest_fail();
}

/*
 * A sense-reversing barrier on LOCK XADD: the last to arrive resets the
 * count and moves the generation on.  Only vCPU 0 gives up waiting; an
 * AP stuck here is stopped by vCPU 0's failure exit.
 */
static void smp_barrier(unsigned me, const char *where)
{
    uint32_t gen = sh.bar_gen;

    if (lock_xadd32(&sh.bar_count, 1) == ncpus - 1) {
        sh.bar_count = 0;
        compiler_barrier();
        sh.bar_gen = gen + 1;
        return;
    }
    if (me != 0) {
        while (sh.bar_gen == gen) {
            cpu_relax();
        }
    } else if (!WAIT_FOR(sh.bar_gen != gen)) {
        smp_abort(where);
    }
}

/* ---- atomics ------------------------------------------------------------ */

static void case_lock_add(unsigned me)
{
    uint64_t *split = (uint64_t *)(sh.split_line + 60);

    for (unsigned i = 0; i < N_ATOMIC; i++) {
        __asm__ volatile("lock addq $1, %0" : "+m"(sh.lock_add));
        __asm__ volatile("lock addq $3, %0" : "+m"(*split));
    }
}

static void case_xadd(unsigned me)
{
    uint64_t sum = 0, last = 0;

    for (unsigned i = 0; i < N_ATOMIC; i++) {
        uint64_t t = 1;

        __asm__ volatile("lock xaddq %0, %1" : "+r"(t), "+m"(sh.xadd));
        if (i && t <= last) {
            sh.cpu[me].xadd_backwards++;
        }
        last = t;
        sum += t;
    }
    sh.cpu[me].xadd_sum = sum;
    __asm__ volatile("lock addq %1, %0" : "+m"(sh.xadd_sum) : "r"(sum));
}

static void case_cmpxchg(unsigned me)
{
    uint64_t retries = 0;

    for (unsigned i = 0; i < N_ATOMIC; i++) {
        uint64_t old = *(volatile uint64_t *)&sh.cmpxchg;
        bool done;

        for (;;) {
            __asm__ volatile("lock cmpxchgq %3, %1"
                             : "+a"(old), "+m"(sh.cmpxchg), "=@ccz"(done)
                             : "r"(old + 1));
            if (done) {
                break;
            }
            retries++;      /* old now holds what was there */
        }
    }
    sh.cpu[me].cmpxchg_retries = retries;
}

/* Both halves move together: low by 1, high by 2 per success. */
static void case_cmpxchg16b(unsigned me)
{
    for (unsigned i = 0; have_cx16 && i < N_ATOMIC; i++) {
        uint64_t lo = ((volatile uint64_t *)sh.cx16)[0];
        uint64_t hi = ((volatile uint64_t *)sh.cx16)[1];
        bool done;

        do {
            __asm__ volatile("lock cmpxchg16b %1"
                             : "+a"(lo), "+m"(sh.cx16), "+d"(hi),
                               "=@ccz"(done)
                             : "b"(lo + 1), "c"(hi + 2));
        } while (!done);
    }
}

/* ---- spinlock ----------------------------------------------------------- */

static void spin_lock(volatile uint32_t *l)
{
    for (;;) {
        uint32_t v = 1;

        __asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(*l) : : "memory");
        if (!v) {
            return;
        }
        while (*l) {
            cpu_relax();
        }
    }
}

static void spin_unlock(volatile uint32_t *l)
{
    compiler_barrier();
    *l = 0;         /* a plain store releases on x86 (SDM vol 3A 8.2.2) */
}

/* A load, some work, a store: loses counts without the lock. */
static void case_spinlock(unsigned me)
{
    for (unsigned i = 0; i < N_LOCKED; i++) {
        spin_lock(&sh.lock);
        if (sh.in_lock) {
            sh.lock_overlaps++;
        }
        sh.in_lock = 1;
        uint64_t c = sh.locked_count;
        for (volatile unsigned k = 0; k < 4; k++) {
        }
        sh.locked_count = c + 1;
        sh.in_lock = 0;
        spin_unlock(&sh.lock);
    }
}

/* ---- seqlock ------------------------------------------------------------ */

#define SEQ_WRITER  1

static void seq_write(uint64_t i)
{
    sh.seq = sh.seq + 1;        /* odd: a write is under way */
    compiler_barrier();
    sh.seq_a = i;
    sh.seq_b = i * SEQ_MIX;
    compiler_barrier();
    sh.seq = sh.seq + 1;
}

/* One consistent snapshot; x86 keeps loads in order (SDM 8.2.2). */
static void seq_read(uint64_t *a, uint64_t *b)
{
    uint32_t s0, s1;

    do {
        do {
            s0 = sh.seq;
        } while (s0 & 1);
        compiler_barrier();
        *a = sh.seq_a;
        *b = sh.seq_b;
        compiler_barrier();
        s1 = sh.seq;
    } while (s0 != s1);
}

/*
 * The writer goes on until every reader has seen the pair change under
 * it SEQ_CHANGES times (so reads and writes did overlap, even when the
 * vCPUs take turns on one host thread), and at least N_SEQ_WRITES times.
 */
static bool seq_readers_done(void)
{
    for (unsigned c = 0; c < ncpus; c++) {
        const volatile PerCpu *pc = &sh.cpu[c];

        if (c != SEQ_WRITER && pc->seq_changes < SEQ_CHANGES) {
            return false;
        }
    }
    return true;
}

static void seq_writer(void)
{
    uint64_t i = 0;

    while (++i < SEQ_WRITE_CAP && (i <= N_SEQ_WRITES || !seq_readers_done())) {
        seq_write(i);
    }
    sh.seq_last = i - 1;
    compiler_barrier();
    sh.seq_done = 1;
}

static void case_seqlock(unsigned me)
{
    volatile PerCpu *pc = &sh.cpu[me];
    uint64_t a, b, last = 0;

    if (me == SEQ_WRITER) {
        seq_writer();
        return;
    }
    while (!sh.seq_done) {
        seq_read(&a, &b);
        pc->seq_reads++;
        pc->seq_torn += b != a * SEQ_MIX;
        pc->seq_backwards += a < last;
        pc->seq_changes += a != last;
        last = a;
    }
    seq_read(&a, &b);
    pc->seq_final_ok = a == sh.seq_last && b == a * SEQ_MIX;
}

/* ---- cross-modifying code ----------------------------------------------- */

static uint32_t (*volatile smc_call)(void) = smc_fn;

static void smc_store(uint32_t v)
{
    /* A plain aligned store into the code, as data (SDM 8.1.3). */
    *(volatile uint32_t *)&smc_imm = v;
    sh.smc_stores++;
}

/*
 * One store must do: x86 keeps instruction fetch coherent with stores
 * from any processor (SDM vol 3A 11.6), the serializing protocol only
 * bounds when.  QEMU 7.2's multi-threaded TCG drops the old translations
 * before the store lands (notdirty_write), so a vCPU that translates the
 * function again in between keeps the old code until the page is written
 * once more; under QEMU the writer stores again until all have seen it.
 */
static void smc_writer(void)
{
    if (!WAIT_FOR(sh.smc_started == ncpus - 1)) {
        smp_abort("SMC: the callers to start");
    }
    smc_store(SMC_NEW);
    if (!under_qemu) {
        return;
    }
    for (unsigned i = 0; i < WAIT_SPINS / SMC_RESTORE_SPINS; i++) {
        uint64_t spins = 0;

        while (sh.smc_seen != ncpus - 1 && ++spins < SMC_RESTORE_SPINS) {
            cpu_relax();
        }
        if (sh.smc_seen == ncpus - 1) {
            return;
        }
        smc_store(SMC_NEW);
    }
}

/* Call until the new immediate shows; anything else is a torn fetch. */
static void smc_caller(volatile PerCpu *pc)
{
    uint64_t n;

    for (n = 0; n < SMC_CALL_CAP; n++) {
        uint32_t v = smc_call();

        if (n == 0) {
            lock_xadd32(&sh.smc_started, 1);
        }
        if (v == SMC_NEW) {
            pc->smc_saw_new = 1;
            lock_xadd32(&sh.smc_seen, 1);
            break;
        }
        pc->smc_bad_value += v != SMC_OLD;
    }
    pc->smc_calls = n;
}

/*
 * The SDM's protocol: store the code, then a flag; the executing side
 * waits for the flag and runs a serializing instruction (CPUID) before
 * the next call, which must run the new code.  The callers go on calling
 * while they wait, so the store lands on code in use; not under QEMU,
 * where that is the race smc_writer describes.
 */
static void smc_protocol(unsigned me, volatile PerCpu *pc)
{
    uint32_t r[4];

    if (me == 0) {
        if (!WAIT_FOR(sh.smc_started == 2 * (ncpus - 1))) {
            smp_abort("SMC: the callers to start again");
        }
        smc_store(SMC_NEWER);
        compiler_barrier();
        sh.smc_flag = 1;
        return;
    }
    lock_xadd32(&sh.smc_started, 1);
    while (!sh.smc_flag) {
        if (!under_qemu) {
            uint32_t v = smc_call();

            pc->smc_bad_value += v != SMC_NEW && v != SMC_NEWER;
        }
        cpu_relax();
    }
    cpuid(0, 0, r);
    pc->smc_newer = smc_call() == SMC_NEWER;
}

static void case_smc(unsigned me)
{
    volatile PerCpu *pc = &sh.cpu[me];

    if (me == 0) {
        smc_writer();
    } else {
        smc_caller(pc);
    }
    smp_barrier(me, "SMC: the callers to finish");
    smc_protocol(me, pc);
}

/* ---- TLB shootdown ------------------------------------------------------ */

/* ---- memory order ------------------------------------------------------- */

#define MO_ROUNDS   500

/* vCPUs 0 and 1: round @r starts when vCPU 0 has reset the variables. */
static void mo_start(unsigned me, uint32_t r)
{
    if (me == 0) {
        sh.mo_x = 0;
        sh.mo_y = 0;
        compiler_barrier();
        sh.mo_start = r;
        /* Give vCPU 1 time to see it: start the two close together. */
        for (unsigned k = 0; k < (r * 7) % 64; k++) {
            cpu_relax();
        }
    } else {
        while (sh.mo_start != r) {
            cpu_relax();
        }
    }
}

/*
 * ... and ends when both have stored their results.  The other may be a
 * round ahead already (done at r + 1): wait for r or later.
 */
static void mo_end(unsigned me, uint32_t r)
{
    compiler_barrier();
    sh.mo_done[me] = r;
    while ((int32_t)(sh.mo_done[!me] - r) < 0) {
        cpu_relax();
    }
}

static void mo_store_buffer(unsigned me, bool fence)
{
    volatile uint64_t *mine = me ? &sh.mo_y : &sh.mo_x;
    volatile uint64_t *other = me ? &sh.mo_x : &sh.mo_y;

    *mine = 1;
    if (fence) {
        __asm__ volatile("mfence" ::: "memory");
    }
    sh.mo_r[me] = *other;
}

static void case_memory_order(unsigned me)
{
    uint32_t r = 0;

    if (me > 1) {
        return;
    }
    for (unsigned i = 0; i < MO_ROUNDS; i++) {
        /* Message passing: the data is there once the flag is. */
        mo_start(me, ++r);
        if (me == 0) {
            sh.mo_data = r;
            compiler_barrier();
            sh.mo_flag = r;
        } else {
            while (sh.mo_flag != r) {
                cpu_relax();
            }
            compiler_barrier();
            sh.mo_mp_bad += sh.mo_data != r;
        }
        mo_end(me, r);
        /* Store buffering, with and without MFENCE. */
        for (int fence = 1; fence >= 0; fence--) {
            mo_start(me, ++r);
            mo_store_buffer(me, fence);
            mo_end(me, r);
            if (me == 0 && sh.mo_r[0] == 0 && sh.mo_r[1] == 0) {
                if (fence) {
                    sh.mo_sb_bad++;
                } else {
                    sh.mo_sb_nofence_both0++;
                }
            }
        }
    }
}

static uint64_t shoot_pte(unsigned page)
{
    return (uint64_t)(uintptr_t)shoot_pages[page] | PTE_P | PTE_W;
}

/*
 * SHOOT_VA (4 GiB, above the boot identity map) -> shoot_pd -> shoot_pt
 * -> one of shoot_pages; every vCPU uses the BSP's PML4, so one PTE
 * write changes the mapping for all of them.
 */
static void shoot_setup(void)
{
    for (unsigned i = 0; i < 3; i++) {
        shoot_pages[i][0] = SHOOT_MARK(i);
    }
    shoot_pt[SHOOT_SLOT] = shoot_pte(0);
    shoot_pd[0] = (uint64_t)(uintptr_t)shoot_pt | PTE_P | PTE_W;
    pdpt[4] = (uint64_t)(uintptr_t)shoot_pd | PTE_P | PTE_W;
    write_cr3(read_cr3());
}

static inline uint64_t shoot_read(void)
{
    return *(volatile uint64_t *)SHOOT_VA;
}

/* The others' handler: drop the stale entry, look, acknowledge. */
static void shoot_ipi(TrapFrame *f)
{
    PerCpu *pc = &sh.cpu[this_cpu()];
    unsigned r = sh.shoot_round;

    invlpg((void *)SHOOT_VA);
    pc->shoot_bad_in_handler += shoot_read() != SHOOT_MARK((r + 1) % 3);
    pc->shoot_ipis++;
    lock_xadd32(&sh.shoot_acks, 1);
    apic_write(APIC_EOI, 0);
}

static void apic_send(uint32_t dest, uint32_t icr)
{
    apic_write(APIC_ICR_HI, dest << 24);
    apic_write(APIC_ICR, icr);
    if (!WAIT_FOR(!(apic_read(APIC_ICR) & ICR_BUSY))) {
        smp_abort("APIC: ICR delivery status to clear");
    }
}

/* vCPU 0's side of round @r: remap, flush its own entry, tell the rest. */
static void shoot_initiate(unsigned r)
{
    sh.shoot_acks = 0;
    sh.shoot_round = r;
    shoot_pt[SHOOT_SLOT] = shoot_pte((r + 1) % 3);
    invlpg((void *)SHOOT_VA);
    if (r & 1) {
        for (unsigned c = 1; c < ncpus; c++) {
            apic_send(c, ICR_FIXED | ICR_ASSERT | VEC_SHOOTDOWN);
        }
    } else {
        apic_send(0, ICR_ALL_BUT_ME | ICR_FIXED | ICR_ASSERT |
                     VEC_SHOOTDOWN);
    }
    if (!WAIT_FOR(sh.shoot_acks == ncpus - 1)) {
        smp_abort("TLB shootdown: the acks");
    }
    sh.shoot_go = r + 1;
}

/* The others sleep until the IPI; STI;HLT leaves no lost-wakeup window. */
static void shoot_wait(PerCpu *pc, unsigned ipis)
{
    while (pc->shoot_ipis == ipis) {
        __asm__ volatile("sti; hlt; cli" : : : "memory");
    }
    while (sh.shoot_go != sh.shoot_round + 1) {
        cpu_relax();
    }
}

static void case_shootdown(unsigned me)
{
    PerCpu *pc = &sh.cpu[me];

    for (unsigned r = 0; r < SHOOT_ROUNDS; r++) {
        unsigned ipis = pc->shoot_ipis;

        /* Load the old mapping into every TLB first. */
        pc->shoot_bad_before += shoot_read() != SHOOT_MARK(r % 3);
        smp_barrier(me, "TLB shootdown: the round to start");
        if (me == 0) {
            shoot_initiate(r);
        } else {
            shoot_wait(pc, ipis);
        }
        pc->shoot_bad_after += shoot_read() != SHOOT_MARK((r + 1) % 3);
        smp_barrier(me, "TLB shootdown: the round to end");
    }
}

/* ---- every vCPU runs this ----------------------------------------------- */

typedef struct SmpCase {
    const char *name;
    void (*run)(unsigned me);
} SmpCase;

static const SmpCase smp_cases[] = {
    { "LOCK ADD", case_lock_add },
    { "LOCK XADD", case_xadd },
    { "CMPXCHG", case_cmpxchg },
    { "CMPXCHG16B", case_cmpxchg16b },
    { "spinlock", case_spinlock },
    { "seqlock", case_seqlock },
    { "SMC", case_smc },
    { "memory order", case_memory_order },
    { "TLB shootdown", case_shootdown },
};
#define N_CASES (sizeof(smp_cases) / sizeof(smp_cases[0]))

/* vCPU 0's TSC ticks from each case's start to the barrier after it. */
static uint64_t case_ticks[N_CASES], start_ticks;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static void run_cases(unsigned me)
{
    for (unsigned i = 0; i < N_CASES; i++) {
        uint64_t start;

        smp_barrier(me, "every vCPU to reach the next case");
        start = rdtsc();
        smp_cases[i].run(me);
        smp_barrier(me, smp_cases[i].name);
        case_ticks[i] = rdtsc() - start;
    }
}

/* ---- start-up ----------------------------------------------------------- */

/* An AP, in long mode on its own stack. */
void smp_ap_main(void)
{
    unsigned me = this_cpu();

    if (me == 0 || me >= ncpus) {
        /* Not a CPU we started: stay out of the way. */
        for (;;) {
            __asm__ volatile("cli; hlt");
        }
    }
    __asm__ volatile("lidt %0" : : "m"(idt_ptr));
    apic_write(APIC_SVR, SVR_ENABLE | 0xff);
    lock_xadd32(&sh.cpu[me].starts, 1);
    lock_xadd32(&sh.online, 1);
    run_cases(me);
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

static unsigned fw_cfg_cpus(void)
{
    outw(FW_CFG_SEL, FW_CFG_NB_CPUS);
    return inb(FW_CFG_DATA) | (unsigned)inb(FW_CFG_DATA) << 8;
}

static void tramp_install(void)
{
    uint8_t *base = (uint8_t *)(uintptr_t)TRAMP_BASE;
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } gdtr;

    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    memcpy(base, smp_tramp, smp_tramp_end - smp_tramp);
    *(uint16_t *)(base + (tramp_gdtr - smp_tramp)) = gdtr.limit;
    *(uint32_t *)(base + (tramp_gdtr - smp_tramp) + 2) = (uint32_t)gdtr.base;
    *(uint32_t *)(base + (tramp_cr3 - smp_tramp)) = (uint32_t)read_cr3();
}

/* INIT, SIPI, and once the AP is in, the SDM's second SIPI. */
static bool start_ap(unsigned id)
{
    uint32_t sipi = ICR_STARTUP | ICR_ASSERT | (TRAMP_BASE >> 12);
    uint32_t want = sh.online + 1;

    smp_ap_stack = (uint64_t)(uintptr_t)(ap_stacks[id] + AP_STACK_SIZE);
    apic_send(id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
    apic_send(id, ICR_INIT | ICR_LEVEL);
    apic_send(id, sipi);
    if (!WAIT_FOR(sh.online == want)) {
        apic_send(id, sipi);
        return WAIT_FOR(sh.online == want);
    }
    apic_send(id, sipi);
    return true;
}

static bool start_aps(void)
{
    uint32_t r[4];

    cpuid(1, 0, r);
    have_cx16 = (r[2] >> 13) & 1;
    apic_base = rdmsr(MSR_APIC_BASE) & ~0xfffull;
    CHECK_EQ(this_cpu(), 0, "the BSP has APIC ID 0");
    apic_write(APIC_SVR, SVR_ENABLE | 0xff);
    __asm__ volatile("sidt %0" : "=m"(idt_ptr));
    trap_handlers[VEC_SHOOTDOWN] = shoot_ipi;
    tramp_install();
    shoot_setup();
    for (unsigned id = 1; id < ncpus; id++) {
        if (!start_ap(id)) {
            guest_printf("AP %u did not start\n", id);
            CHECK(false, "every AP starts");
            return false;
        }
    }
    /* Checked in report(): a print now waits on APs spinning for turns. */
    return true;
}

/* ---- vCPU 0 reports ----------------------------------------------------- */

static void report_atomics(void)
{
    uint64_t total = (uint64_t)N_ATOMIC * ncpus;
    uint64_t split, backwards = 0;

    memcpy(&split, sh.split_line + 60, sizeof(split));
    CHECK_EQ(sh.lock_add, total, "LOCK ADD: exact total");
    CHECK_EQ(split, total * 3, "LOCK ADD across a cache line: exact total");
    CHECK_EQ(sh.xadd, total, "LOCK XADD: exact total");
    CHECK_EQ(sh.xadd_sum, total * (total - 1) / 2,
             "LOCK XADD: tickets are 0..total-1, each once");
    for (unsigned c = 0; c < ncpus; c++) {
        backwards += sh.cpu[c].xadd_backwards;
    }
    CHECK_EQ(backwards, 0, "LOCK XADD: each vCPU's tickets only grow");
    CHECK_EQ(sh.cmpxchg, total, "LOCK CMPXCHG retry loop: exact total");
    if (have_cx16) {
        CHECK_EQ(sh.cx16[0], total, "LOCK CMPXCHG16B: low half total");
        CHECK_EQ(sh.cx16[1], total * 2, "LOCK CMPXCHG16B: high half total");
    } else {
        guest_puts("SKIP CMPXCHG16B: CPUID.1:ECX.CX16 is 0\n");
    }
}

static void report_seqlock(void)
{
    uint64_t reads = 0, torn = 0, backwards = 0, final_ok = 0;
    unsigned unchanged = 0;

    for (unsigned c = 0; c < ncpus; c++) {
        if (c == SEQ_WRITER) {
            continue;
        }
        reads += sh.cpu[c].seq_reads;
        torn += sh.cpu[c].seq_torn;
        backwards += sh.cpu[c].seq_backwards;
        final_ok += sh.cpu[c].seq_final_ok;
        unchanged += sh.cpu[c].seq_changes < SEQ_CHANGES;
    }
    guest_printf("seqlock: %llu writes, %llu reads by %u readers\n",
                 (unsigned long long)sh.seq_last, (unsigned long long)reads,
                 ncpus - 1);
    CHECK_EQ(unchanged, 0, "seqlock: every reader saw the pair change");
    CHECK_EQ(torn, 0, "seqlock: no reader saw a torn pair");
    CHECK_EQ(backwards, 0, "seqlock: no reader saw the pair go backwards");
    CHECK_EQ(final_ok, ncpus - 1, "seqlock: every reader saw the last write");
}

static void report_smc(void)
{
    uint64_t saw = 0, bad = 0, newer = 0, calls = 0;

    for (unsigned c = 1; c < ncpus; c++) {
        saw += sh.cpu[c].smc_saw_new;
        bad += sh.cpu[c].smc_bad_value;
        newer += sh.cpu[c].smc_newer;
        calls += sh.cpu[c].smc_calls;
    }
    guest_printf("SMC: %llu calls before the new value, %u stores\n",
                 (unsigned long long)calls, sh.smc_stores);
    if (under_qemu) {
        guest_puts("SKIP SMC on code in use: QEMU 7.2's MTTCG can keep "
                   "a stale translation (see smc_writer); the writer "
                   "stored again until seen, the protocol case ran idle\n");
    }
    CHECK_EQ(saw, ncpus - 1, "SMC: every caller saw the rewritten immediate");
    CHECK_EQ(bad, 0, "SMC: callers saw only the old or the new immediate");
    CHECK_EQ(newer, ncpus - 1,
             "SMC: after flag + CPUID the next call runs the new code");
}

static void report_shootdown(void)
{
    uint64_t ipis = 0, before = 0, in_handler = 0, after = 0;

    for (unsigned c = 0; c < ncpus; c++) {
        ipis += sh.cpu[c].shoot_ipis;
        before += sh.cpu[c].shoot_bad_before;
        in_handler += sh.cpu[c].shoot_bad_in_handler;
        after += sh.cpu[c].shoot_bad_after;
    }
    CHECK_EQ(ipis, (uint64_t)SHOOT_ROUNDS * (ncpus - 1),
             "TLB shootdown: one IPI per round per other vCPU");
    CHECK_EQ(before, 0, "TLB shootdown: all read the old mapping first");
    CHECK_EQ(in_handler, 0,
             "TLB shootdown: the handler reads the new mapping after INVLPG");
    CHECK_EQ(after, 0, "TLB shootdown: all read the new mapping after acks");
}

static void report(void)
{
    unsigned restarts = 0;

    CHECK_EQ(sh.online, ncpus - 1, "every AP reached long mode and C");
    report_atomics();
    CHECK_EQ(sh.locked_count, (uint64_t)N_LOCKED * ncpus,
             "XCHG spinlock: exact total of the guarded counter");
    CHECK_EQ(sh.lock_overlaps, 0, "XCHG spinlock: never two holders");
    report_seqlock();
    report_smc();
    CHECK_EQ(sh.mo_mp_bad, 0,
             "memory order: a reader that saw the flag saw the data");
    CHECK_EQ(sh.mo_sb_bad, 0,
             "memory order: MFENCE: never both loads before both stores");
    guest_printf("memory order: without MFENCE both loads read 0 in %u "
                 "of %u rounds (TSO allows it)\n", sh.mo_sb_nofence_both0,
                 MO_ROUNDS);
    report_shootdown();
    guest_printf("smp: thousands of TSC ticks: AP start-up %llu,",
                 (unsigned long long)(start_ticks / 1000));
    for (unsigned i = 0; i < N_CASES; i++) {
        guest_printf(" %s %llu", smp_cases[i].name,
                     (unsigned long long)(case_ticks[i] / 1000));
    }
    guest_puts("\n");
    for (unsigned c = 1; c < ncpus; c++) {
        restarts += sh.cpu[c].starts != 1;
    }
    CHECK_EQ(restarts, 0, "each AP started once (the second SIPI ignored)");
}

void kernel_main(void)
{
    under_qemu = guest_cmdline_has("qemu");
    ncpus = fw_cfg_cpus();
    guest_printf("smp: fw_cfg says %u CPUs\n", ncpus);
    CHECK(ncpus >= 2 && ncpus <= MAX_CPUS, "fw_cfg: 2 to 16 CPUs");
    if (ncpus < 2 || ncpus > MAX_CPUS) {
        return;
    }
    start_ticks = rdtsc();
    if (!start_aps()) {
        return;
    }
    start_ticks = rdtsc() - start_ticks;
    run_cases(0);
    report();
}
