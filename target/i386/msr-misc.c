/*
 * MSRs that describe or switch processor features rather than hold
 * architectural state: IA32_MISC_ENABLE and AMD's legacy (K7) performance
 * counters.  msr.c asks here first.
 *
 * References: SDM vol 4 table 2-2 (IA32_MISC_ENABLE, 1A0H); AMD APM vol 2
 * 13.2.1 (PerfEvtSel0-3 at C001_0000h, PerfCtr0-3 at C001_0004h).
 */
#include "target/i386/cpu.h"
#include "target/i386/cpuid.h"
#include "target/i386/msr-misc.h"

#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_K7_EVNTSEL0         0xc0010000
#define MSR_K7_PERFCTR3         0xc0010007

/*
 * IA32_MISC_ENABLE as this CPU has it; every other bit is reserved or
 * names a feature the model lacks (thermal monitor 3, SpeedStep 16,
 * MONITOR 18, xTPR 23, turbo 38), so writing 1 there raises #GP(0), as
 * WRMSR does for reserved bits.  Read-only bits keep their value.
 */
#define MISC_FAST_STRINGS       (UINT64_C(1) << 0)   /* R/W */
#define MISC_PERF_AVAILABLE     (UINT64_C(1) << 7)   /* RO: no PMU here */
#define MISC_BTS_UNAVAILABLE    (UINT64_C(1) << 11)  /* RO */
#define MISC_PEBS_UNAVAILABLE   (UINT64_C(1) << 12)  /* RO */
#define MISC_LIMIT_CPUID        (UINT64_C(1) << 22)  /* R/W if level > 2 */
#define MISC_XD_DISABLE         (UINT64_C(1) << 34)  /* R/W if NX */

#define MISC_READ_ONLY  (MISC_PERF_AVAILABLE | MISC_BTS_UNAVAILABLE \
                         | MISC_PEBS_UNAVAILABLE)

/* Power-on value: fast strings on; no BTS, no PEBS. */
uint64_t x86_misc_enable_reset_value(void)
{
    return MISC_FAST_STRINGS | MISC_BTS_UNAVAILABLE | MISC_PEBS_UNAVAILABLE;
}

/* The bits a WRMSR may change on this model. */
static uint64_t misc_enable_writable(const X86CPUState *env)
{
    uint64_t w = MISC_FAST_STRINGS;

    /* Only when CPUID.0 reports more than 2 leaves (SDM table 2-2). */
    if (env->cpuid_level > 2) {
        w |= MISC_LIMIT_CPUID;
    }
    if (x86_has_feature(env, FEAT_8000_0001_EDX, CPUID_EXT2_NX)) {
        w |= MISC_XD_DISABLE;
    }
    return w;
}

static bool misc_enable_write(X86CPUState *env, uint64_t val)
{
    uint64_t w = misc_enable_writable(env);

    if (val & ~(w | MISC_READ_ONLY)) {
        return false;
    }
    env->misc_enable = (env->misc_enable & ~w) | (val & w);
    return true;
}

uint32_t x86_cpuid_max_basic(const X86CPUState *env)
{
    if (env->misc_enable & MISC_LIMIT_CPUID) {
        return MIN(env->cpuid_level, 2u);
    }
    return env->cpuid_level;
}

bool x86_nx_available(const X86CPUState *env)
{
    return x86_has_feature(env, FEAT_8000_0001_EDX, CPUID_EXT2_NX)
           && !(env->misc_enable & MISC_XD_DISABLE);
}

/*
 * Every AMD processor since the K7 has the four legacy counters, whether
 * or not CPUID reports PerfCtrExtCore.  No event is modelled: they read
 * as zero and take any write, as QEMU's tcg does.
 */
static bool msr_is_k7_perf(const X86CPUState *env, uint32_t index)
{
    return index >= MSR_K7_EVNTSEL0 && index <= MSR_K7_PERFCTR3
           && env->cpuid_vendor[0] == 0x68747541;   /* "Auth"enticAMD */
}

bool x86_msr_misc_read(X86CPUState *env, uint32_t index, uint64_t *val)
{
    if (index == MSR_IA32_MISC_ENABLE) {
        *val = env->misc_enable;
        return true;
    }
    if (msr_is_k7_perf(env, index)) {
        *val = 0;
        return true;
    }
    return false;
}

X86MsrResult x86_msr_misc_write(X86CPUState *env, uint32_t index,
                                uint64_t val)
{
    if (index == MSR_IA32_MISC_ENABLE) {
        return misc_enable_write(env, val) ? X86_MSR_DONE : X86_MSR_FAULT;
    }
    if (msr_is_k7_perf(env, index)) {
        return X86_MSR_DONE;
    }
    return X86_MSR_NOT_MINE;
}
