/*
 * RDMSR/WRMSR and the time-stamp counter.  Every MSR the model has is in
 * the switch below; any other index raises #GP(0), as on hardware.
 *
 * References: SDM vol 4 (MSR list), vol 3A 11.11 (MTRRs), 11.12 (PAT).
 */
#include <time.h>

#include "target/i386/cpu.h"
#include "target/i386/cpuid.h"
#include "target/i386/msr-misc.h"

#define MSR_IA32_TSC            0x10
#define MSR_IA32_APICBASE       0x1b
#define MSR_IA32_UCODE_REV      0x8b
#define MSR_MTRRCAP             0xfe
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_MCG_CAP             0x179
#define MSR_MCG_STATUS          0x17a
#define MSR_MTRR_PHYS_BASE0     0x200
#define MSR_MTRR_FIX64K_00000   0x250
#define MSR_MTRR_FIX16K_80000   0x258
#define MSR_MTRR_FIX16K_A0000   0x259
#define MSR_MTRR_FIX4K_C0000    0x268
#define MSR_IA32_PAT            0x277
#define MSR_IA32_TSC_DEADLINE   0x6e0
#define MSR_IA32_PKRS           0x6e1
#define MSR_MTRR_DEF_TYPE       0x2ff
#define MSR_EFER                0xc0000080
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_FMASK               0xc0000084
#define MSR_FS_BASE             0xc0000100
#define MSR_GS_BASE             0xc0000101
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MSR_TSC_AUX             0xc0000103
#define MSR_AMD64_SYSCFG        0xc0010010
#define MSR_K8_INT_PENDING_MSG  0xc0010055

/* APIC base: BSP (8), x2APIC enable (10), global enable (11), base. */
#define APICBASE_WRITABLE   (UINT64_C(0xffffff000) | (1u << 11))
#define APICBASE_EXTD       (1u << 10)
/* MTRRcap: 8 variable ranges, fixed ranges (bit 8), WC type (bit 10). */
#define MTRRCAP_VALUE       (X86_MTRR_VAR_COUNT | (1u << 8) | (1u << 10))

static noreturn void msr_gp(X86CPUState *env)
{
    x86_raise_exception_err(env, EXCP_GP, 0);
}

static bool msr_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static uint64_t msr_monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

uint64_t (*x86_tsc_host_ns)(void) = msr_monotonic_ns;

static uint64_t msr_host_ns(void)
{
    return x86_tsc_host_ns();
}

/* The guest TSC ticks at 1 GHz of host monotonic time. */
uint64_t x86_rdtsc(X86CPUState *env)
{
    if ((env->cr[4] & CR4_TSD) && x86_cpl(env) != 0
        && (env->hflags & HF_PE)) {
        msr_gp(env);
    }
    return msr_host_ns() + (uint64_t)env->tsc_offset;
}

/* A fixed-range MTRR index (0..10) for @index, or -1. */
static int msr_mtrr_fixed(uint32_t index)
{
    if (index == MSR_MTRR_FIX64K_00000) {
        return 0;
    }
    if (index == MSR_MTRR_FIX16K_80000 || index == MSR_MTRR_FIX16K_A0000) {
        return 1 + (int)(index - MSR_MTRR_FIX16K_80000);
    }
    if (index >= MSR_MTRR_FIX4K_C0000 && index < MSR_MTRR_FIX4K_C0000 + 8) {
        return 3 + (int)(index - MSR_MTRR_FIX4K_C0000);
    }
    return -1;
}

static bool msr_is_mtrr_var(uint32_t index)
{
    return index >= MSR_MTRR_PHYS_BASE0
           && index < MSR_MTRR_PHYS_BASE0 + 2 * X86_MTRR_VAR_COUNT;
}

static uint64_t *msr_mtrr_var(X86CPUState *env, uint32_t index)
{
    unsigned n = (index - MSR_MTRR_PHYS_BASE0) / 2;

    return (index & 1) ? &env->mtrr_var[n].mask : &env->mtrr_var[n].base;
}

/*
 * AMD MSRs Linux reads with a plain RDMSR on an AMD family 0xf model such
 * as qemu64, so an AMD model must have them (a #GP is an "unchecked MSR
 * access error" with a call trace).  Both read as zero:
 * - SYSCFG (APM vol 2 7.9.1; mtrr code): no fixed-MTRR RdDram/WrDram
 *   bits, no TOM2 or variable DRAM ranges;
 * - the K8 interrupt pending message register (BKDG for family 0Fh; the
 *   erratum 400 check): no C1E on interrupt pending.
 */
static bool msr_is_amd(const X86CPUState *env)
{
    return env->cpuid_vendor[0] == 0x68747541;  /* "Auth"enticAMD */
}

static bool msr_has_x2apic(const X86CPUState *env)
{
    return x86_has_feature(env, FEAT_1_ECX, CPUID_EXT_X2APIC);
}

static bool msr_has_tsc_deadline(const X86CPUState *env)
{
    return x86_has_feature(env, FEAT_1_ECX, CPUID_EXT_TSC_DEADLINE);
}

static bool msr_is_x2apic(uint32_t index)
{
    return index >= X86_MSR_X2APIC_FIRST && index <= X86_MSR_X2APIC_LAST;
}

/* EXTD is writable only where CPUID offers x2APIC; else it is reserved. */
static void msr_write_apicbase(X86CPUState *env, uint64_t val)
{
    uint64_t writable = APICBASE_WRITABLE;

    if (msr_has_x2apic(env)) {
        writable |= APICBASE_EXTD;
    } else if (val & APICBASE_EXTD) {
        msr_gp(env);
    }
    if (!x86_lapic_set_base(env, (env->apic_base & ~writable)
                                 | (val & writable))) {
        msr_gp(env);
    }
}

uint64_t x86_rdmsr(X86CPUState *env, uint32_t index)
{
    int fixed = msr_mtrr_fixed(index);
    uint64_t val;

    if (msr_is_x2apic(index)) {
        if (!msr_has_x2apic(env) || !x86_lapic_msr_read(env, index, &val)) {
            msr_gp(env);
        }
        return val;
    }
    if (x86_msr_misc_read(env, index, &val)) {
        return val;
    }
    if (fixed >= 0) {
        return env->mtrr_fixed[fixed];
    }
    if (msr_is_mtrr_var(index)) {
        return *msr_mtrr_var(env, index);
    }
    switch (index) {
    case MSR_IA32_TSC:
        return msr_host_ns() + (uint64_t)env->tsc_offset;
    case MSR_IA32_APICBASE:
        return x86_lapic_get_base(env);
    case MSR_IA32_UCODE_REV:
        return 0;
    case MSR_MTRRCAP:
        return MTRRCAP_VALUE;
    case MSR_IA32_SYSENTER_CS:
        return env->sysenter_cs;
    case MSR_IA32_SYSENTER_ESP:
        return env->sysenter_esp;
    case MSR_IA32_SYSENTER_EIP:
        return env->sysenter_eip;
    case MSR_MCG_CAP:
    case MSR_MCG_STATUS:
        return 0;               /* no machine-check banks */
    case MSR_IA32_PAT:
        return env->pat;
    case MSR_IA32_TSC_DEADLINE:
        if (msr_has_tsc_deadline(env)) {
            return x86_lapic_get_tsc_deadline(env);
        }
        break;
    case MSR_IA32_PKRS:
        if (x86_has_feature(env, FEAT_7_0_ECX, CPUID_7_0_ECX_PKS)) {
            return env->pkrs;
        }
        break;
    case MSR_MTRR_DEF_TYPE:
        return env->mtrr_deftype;
    case MSR_EFER:
        return env->efer;
    case MSR_STAR:
        return env->star;
    case MSR_LSTAR:
        return env->lstar;
    case MSR_CSTAR:
        return env->cstar;
    case MSR_FMASK:
        return env->fmask;
    case MSR_FS_BASE:
        return env->segs[R_FS].base;
    case MSR_GS_BASE:
        return env->segs[R_GS].base;
    case MSR_KERNEL_GS_BASE:
        return env->kernel_gs_base;
    case MSR_TSC_AUX:
        if (x86_has_feature(env, FEAT_8000_0001_EDX, CPUID_EXT2_RDTSCP)) {
            return env->tsc_aux;
        }
        break;
    case MSR_AMD64_SYSCFG:
    case MSR_K8_INT_PENDING_MSG:
        if (msr_is_amd(env)) {
            return 0;
        }
        break;
    }
    msr_gp(env);
}

/* EFER: only SCE, LME, NXE (when the model has NX); LMA is the CPU's. */
static void msr_write_efer(X86CPUState *env, uint64_t val)
{
    uint64_t writable = EFER_SCE | EFER_LME | EFER_LMA;

    if (x86_nx_available(env)) {
        writable |= EFER_NXE;
    }
    if (val & ~writable) {
        msr_gp(env);
    }
    /* LME may not change while paging is on (SDM 10.8.5). */
    if ((env->cr[0] & CR0_PG) && ((val ^ env->efer) & EFER_LME)) {
        msr_gp(env);
    }
    env->efer = (val & ~(uint64_t)EFER_LMA) | (env->efer & EFER_LMA);
    x86_update_hflags(env);
    x86_tlb_flush(env, true);
}

/* PAT entries must each be a valid memory type (0, 1, 4, 5, 6, 7). */
static bool msr_pat_valid(uint64_t val)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (val >> (8 * i)) & 0xff;

        if (t == 2 || t == 3 || t > 7) {
            return false;
        }
    }
    return true;
}

static void msr_write_base(X86CPUState *env, int seg, uint64_t *slot,
                           uint64_t val)
{
    if (!msr_canonical(val)) {
        msr_gp(env);
    }
    if (slot) {
        *slot = val;
    } else {
        env->segs[seg].base = val;
    }
}

void x86_wrmsr(X86CPUState *env, uint32_t index, uint64_t val)
{
    int fixed = msr_mtrr_fixed(index);

    if (msr_is_x2apic(index)) {
        if (!msr_has_x2apic(env) || !x86_lapic_msr_write(env, index, val)) {
            msr_gp(env);
        }
        return;
    }
    switch (x86_msr_misc_write(env, index, val)) {
    case X86_MSR_DONE:
        return;
    case X86_MSR_FAULT:
        msr_gp(env);
    case X86_MSR_NOT_MINE:
        break;
    }
    if (fixed >= 0) {
        env->mtrr_fixed[fixed] = val;
        return;
    }
    if (msr_is_mtrr_var(index)) {
        *msr_mtrr_var(env, index) = val;
        return;
    }
    switch (index) {
    case MSR_IA32_TSC:
        env->tsc_offset = (int64_t)(val - msr_host_ns());
        return;
    case MSR_IA32_APICBASE:
        msr_write_apicbase(env, val);
        return;
    case MSR_IA32_UCODE_REV:
        return;
    case MSR_IA32_SYSENTER_CS:
        env->sysenter_cs = val & 0xffff;
        return;
    case MSR_IA32_SYSENTER_ESP:
        msr_write_base(env, 0, &env->sysenter_esp, val);
        return;
    case MSR_IA32_SYSENTER_EIP:
        msr_write_base(env, 0, &env->sysenter_eip, val);
        return;
    case MSR_MCG_STATUS:
        return;
    case MSR_IA32_PAT:
        if (!msr_pat_valid(val)) {
            msr_gp(env);
        }
        env->pat = val;
        return;
    case MSR_IA32_TSC_DEADLINE:
        if (msr_has_tsc_deadline(env)) {
            x86_lapic_set_tsc_deadline(env, val);
            return;
        }
        break;
    case MSR_IA32_PKRS:
        /* Bits 63:32 are reserved; the TLB holds rights from the old. */
        if (x86_has_feature(env, FEAT_7_0_ECX, CPUID_7_0_ECX_PKS) &&
            !(val >> 32)) {
            env->pkrs = (uint32_t)val;
            x86_tlb_flush(env, true);
            return;
        }
        break;
    case MSR_MTRR_DEF_TYPE:
        env->mtrr_deftype = val & 0xcff;
        return;
    case MSR_EFER:
        msr_write_efer(env, val);
        return;
    case MSR_STAR:
        env->star = val;
        return;
    case MSR_LSTAR:
        msr_write_base(env, 0, &env->lstar, val);
        return;
    case MSR_CSTAR:
        msr_write_base(env, 0, &env->cstar, val);
        return;
    case MSR_FMASK:
        env->fmask = (uint32_t)val;
        return;
    case MSR_FS_BASE:
        msr_write_base(env, R_FS, NULL, val);
        return;
    case MSR_GS_BASE:
        msr_write_base(env, R_GS, NULL, val);
        return;
    case MSR_KERNEL_GS_BASE:
        msr_write_base(env, 0, &env->kernel_gs_base, val);
        return;
    case MSR_TSC_AUX:
        if (x86_has_feature(env, FEAT_8000_0001_EDX, CPUID_EXT2_RDTSCP)) {
            env->tsc_aux = (uint32_t)val;
            return;
        }
        break;
    case MSR_AMD64_SYSCFG:
    case MSR_K8_INT_PENDING_MSG:
        if (msr_is_amd(env)) {
            return;             /* nothing in them is modelled */
        }
        break;
    }
    msr_gp(env);
}
