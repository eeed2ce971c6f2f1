/*
 * MSRs a test kernel touches at start-up: AMD's legacy performance
 * counters (PerfEvtSel0-3 at C001_0000h, PerfCtr0-3 at C001_0004h; AMD APM
 * vol 2 13.2.1), which must take writes and read as zero, and
 * IA32_MISC_ENABLE (SDM vol 4 table 2-2): fast strings writable, BTS/PEBS
 * "unavailable" read-only, Limit CPUID Maxval and XD Bit Disable acting on
 * CPUID, and #GP for bits this CPU does not have.
 *
 * Runs with the default CPU model (qemu64, AMD vendor, NX, CPUID level
 * 0xd).  Under QEMU ("qemu" on the command line) the cases where QEMU 7.2
 * keeps every written bit are skipped, each with the reason; under KVM
 * ("kvm": the CPUID table is the host's, MISC_ENABLE is KVM's) only the
 * reset value is checked, the rest skipped with the reason.
 */
#include "guest.h"

#define MSR_MISC_ENABLE     0x1a0
#define MSR_K7_EVNTSEL0     0xc0010000
#define MSR_K7_PERFCTR0     0xc0010004
#define MISC_FAST_STRINGS   (1ull << 0)
#define MISC_BTS_UNAVAIL    (1ull << 11)
#define MISC_PEBS_UNAVAIL   (1ull << 12)
#define MISC_MONITOR_FSM    (1ull << 18)
#define MISC_LIMIT_CPUID    (1ull << 22)
#define MISC_XD_DISABLE     (1ull << 34)
#define CPUID_NX            (1u << 20)

static bool under_qemu;
static bool under_kvm;

/* WRMSR that may fault: true if it raised #GP. */
static bool wrmsr_faults(uint32_t msr, uint64_t v)
{
    unsigned n = last_trap.count;

    __asm__ volatile(SET_RESUME "wrmsr\n9:" : : "c"(msr), "a"((uint32_t)v),
                     "d"((uint32_t)(v >> 32)) : "memory");
    return last_trap.count != n && last_trap.vector == VEC_GP;
}

static bool rdmsr_faults(uint32_t msr, uint64_t *v)
{
    unsigned n = last_trap.count;
    uint32_t lo = 0, hi = 0;

    __asm__ volatile(SET_RESUME "rdmsr\n9:" : "+a"(lo), "+d"(hi) : "c"(msr)
                     : "memory");
    *v = ((uint64_t)hi << 32) | lo;
    return last_trap.count != n && last_trap.vector == VEC_GP;
}

static bool vendor_is_amd(void)
{
    uint32_t r[4];

    cpuid(0, 0, r);
    return r[1] == 0x68747541 && r[3] == 0x69746e65 && r[2] == 0x444d4163;
}

static void test_k7_counters(void)
{
    bool ok = true;
    uint64_t v;

    if (!vendor_is_amd()) {
        guest_puts("skip K7 counters: the CPU is not AMD\n");
        return;
    }
    for (uint32_t i = 0; i < 4; i++) {
        ok &= !wrmsr_faults(MSR_K7_EVNTSEL0 + i, 0);
        ok &= !wrmsr_faults(MSR_K7_PERFCTR0 + i, 0);
        /* An enabled event: nothing is counted, so it stays zero. */
        ok &= !wrmsr_faults(MSR_K7_EVNTSEL0 + i, 0x430076);
        ok &= !wrmsr_faults(MSR_K7_PERFCTR0 + i, 0x1234);
        ok &= !rdmsr_faults(MSR_K7_EVNTSEL0 + i, &v) && v == 0;
        ok &= !rdmsr_faults(MSR_K7_PERFCTR0 + i, &v) && v == 0;
        ok &= !wrmsr_faults(MSR_K7_EVNTSEL0 + i, 0);
    }
    CHECK(ok, "K7 PerfEvtSel0-3/PerfCtr0-3 take writes and read as zero");
}

static void test_misc_enable_bits(void)
{
    uint64_t reset = rdmsr(MSR_MISC_ENABLE), v;

    CHECK_EQ(reset & MISC_FAST_STRINGS, MISC_FAST_STRINGS,
             "MISC_ENABLE: fast strings on at reset");
    wrmsr(MSR_MISC_ENABLE, reset & ~MISC_FAST_STRINGS);
    CHECK_EQ(rdmsr(MSR_MISC_ENABLE) & MISC_FAST_STRINGS, 0,
             "MISC_ENABLE: fast strings can be turned off");
    wrmsr(MSR_MISC_ENABLE, reset);
    CHECK_EQ(rdmsr(MSR_MISC_ENABLE), reset, "MISC_ENABLE: restored");
    if (under_qemu) {
        guest_puts("skip MISC_ENABLE read-only and reserved bits: QEMU 7.2 "
                   "stores any value written and reports BTS/PEBS as "
                   "available\n");
        return;
    }
    CHECK_EQ(reset & (MISC_BTS_UNAVAIL | MISC_PEBS_UNAVAIL),
             MISC_BTS_UNAVAIL | MISC_PEBS_UNAVAIL,
             "MISC_ENABLE: BTS and PEBS unavailable");
    if (under_kvm) {
        guest_puts("skip MISC_ENABLE read-only and reserved bits: KVM "
                   "stores any other value written and raises #GP for a "
                   "write that changes BTS/PEBS unavailable\n");
        return;
    }
    CHECK(!wrmsr_faults(MSR_MISC_ENABLE, reset & ~MISC_BTS_UNAVAIL),
          "MISC_ENABLE: writing a read-only bit does not fault");
    CHECK_EQ(rdmsr(MSR_MISC_ENABLE), reset,
             "MISC_ENABLE: read-only bit unchanged");
    CHECK(wrmsr_faults(MSR_MISC_ENABLE, reset | (1ull << 1)),
          "MISC_ENABLE: reserved bit 1 -> #GP");
    CHECK(wrmsr_faults(MSR_MISC_ENABLE, reset | (1ull << 63)),
          "MISC_ENABLE: reserved bit 63 -> #GP");
    CHECK(wrmsr_faults(MSR_MISC_ENABLE, reset | MISC_MONITOR_FSM),
          "MISC_ENABLE: MONITOR FSM without MONITOR -> #GP");
    CHECK(!rdmsr_faults(MSR_MISC_ENABLE, &v) && v == reset,
          "MISC_ENABLE: a faulting write changes nothing");
}

static void test_limit_cpuid(void)
{
    uint64_t reset = rdmsr(MSR_MISC_ENABLE);
    uint32_t r[4], level;

    cpuid(0, 0, r);
    level = r[0];
    if (level <= 2) {
        guest_puts("skip Limit CPUID Maxval: CPUID level <= 2\n");
        return;
    }
    if (under_qemu) {
        guest_puts("skip Limit CPUID Maxval: QEMU 7.2 stores the bit but "
                   "CPUID ignores it\n");
        return;
    }
    if (under_kvm) {
        guest_puts("skip Limit CPUID Maxval: KVM stores the bit but its CPUID table is fixed once the vCPU ran\n");
        return;
    }
    wrmsr(MSR_MISC_ENABLE, reset | MISC_LIMIT_CPUID);
    cpuid(0, 0, r);
    CHECK_EQ(r[0], 2, "Limit CPUID Maxval: CPUID.0 EAX = 2");
    wrmsr(MSR_MISC_ENABLE, reset);
    cpuid(0, 0, r);
    CHECK_EQ(r[0], level, "Limit CPUID Maxval off: level back");
}

static void test_xd_disable(void)
{
    uint64_t reset = rdmsr(MSR_MISC_ENABLE);
    uint64_t efer = rdmsr(MSR_EFER);
    uint32_t r[4];

    cpuid(0x80000001, 0, r);
    if (!(r[3] & CPUID_NX)) {
        guest_puts("skip XD Bit Disable: the CPU has no NX\n");
        return;
    }
    if (under_qemu) {
        guest_puts("skip XD Bit Disable: QEMU 7.2 stores the bit but "
                   "keeps NX\n");
        return;
    }
    if (under_kvm) {
        guest_puts("skip XD Bit Disable: KVM stores the bit but keeps NX in CPUID and EFER\n");
        return;
    }
    wrmsr(MSR_MISC_ENABLE, reset | MISC_XD_DISABLE);
    cpuid(0x80000001, 0, r);
    CHECK_EQ(r[3] & CPUID_NX, 0, "XD Bit Disable: CPUID NX clear");
    CHECK(wrmsr_faults(MSR_EFER, efer | EFER_NXE),
          "XD Bit Disable: EFER.NXE -> #GP");
    wrmsr(MSR_MISC_ENABLE, reset);
    cpuid(0x80000001, 0, r);
    CHECK_EQ(r[3] & CPUID_NX, CPUID_NX, "XD Bit Disable off: NX back");
    CHECK(!wrmsr_faults(MSR_EFER, efer | EFER_NXE), "EFER.NXE settable");
    wrmsr(MSR_EFER, efer);
}

void kernel_main(void)
{
    under_qemu = guest_cmdline_has("qemu");
    under_kvm = guest_cmdline_has("kvm");
    test_k7_counters();
    test_misc_enable_bits();
    test_limit_cpuid();
    test_xd_disable();
}
