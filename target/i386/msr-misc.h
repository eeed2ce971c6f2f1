/*
 * IA32_MISC_ENABLE and the AMD K7 performance counters (msr-misc.c), and
 * what MISC_ENABLE switches in CPUID and EFER.
 */
#ifndef TARGET_I386_MSR_MISC_H
#define TARGET_I386_MSR_MISC_H

#include "cpu.h"

typedef enum {
    X86_MSR_NOT_MINE,       /* not one of these MSRs */
    X86_MSR_DONE,
    X86_MSR_FAULT,          /* the write raises #GP(0) */
} X86MsrResult;

/* true (and *val) if @index is one of these MSRs. */
bool x86_msr_misc_read(X86CPUState *env, uint32_t index, uint64_t *val);
X86MsrResult x86_msr_misc_write(X86CPUState *env, uint32_t index,
                                uint64_t val);
uint64_t x86_misc_enable_reset_value(void);

/* CPUID.0 EAX: the model's level, or 2 under "Limit CPUID Maxval". */
uint32_t x86_cpuid_max_basic(const X86CPUState *env);
/* NX as CPUID and EFER see it: the model's, unless "XD Bit Disable". */
bool x86_nx_available(const X86CPUState *env);

#endif
