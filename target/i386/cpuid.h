/*
 * CPUID feature bits (SDM vol 2A CPUID, AMD APM vol 3 appendix E) and the
 * model data cpu-model.c keeps behind env->model.
 */
#ifndef TARGET_I386_CPUID_H
#define TARGET_I386_CPUID_H

#include "cpu.h"

/* CPUID.01H:EDX */
#define CPUID_FP87      (1u << 0)
#define CPUID_VME       (1u << 1)
#define CPUID_DE        (1u << 2)
#define CPUID_PSE       (1u << 3)
#define CPUID_TSC       (1u << 4)
#define CPUID_MSR       (1u << 5)
#define CPUID_PAE       (1u << 6)
#define CPUID_MCE       (1u << 7)
#define CPUID_CX8       (1u << 8)
#define CPUID_APIC      (1u << 9)
#define CPUID_SEP       (1u << 11)
#define CPUID_MTRR      (1u << 12)
#define CPUID_PGE       (1u << 13)
#define CPUID_MCA       (1u << 14)
#define CPUID_CMOV      (1u << 15)
#define CPUID_PAT       (1u << 16)
#define CPUID_PSE36     (1u << 17)
#define CPUID_CLFLUSH   (1u << 19)
#define CPUID_MMX       (1u << 23)
#define CPUID_FXSR      (1u << 24)
#define CPUID_SSE       (1u << 25)
#define CPUID_SSE2      (1u << 26)
/* CPUID.01H:ECX */
#define CPUID_EXT_SSE3      (1u << 0)
#define CPUID_EXT_SSSE3     (1u << 9)
#define CPUID_EXT_CX16      (1u << 13)
#define CPUID_EXT_SSE41     (1u << 19)
#define CPUID_EXT_SSE42     (1u << 20)
#define CPUID_EXT_PCID      (1u << 17)
#define CPUID_EXT_X2APIC    (1u << 21)
#define CPUID_EXT_POPCNT    (1u << 23)
#define CPUID_EXT_TSC_DEADLINE (1u << 24)
#define CPUID_EXT_XSAVE     (1u << 26)
#define CPUID_EXT_OSXSAVE   (1u << 27)
#define CPUID_EXT_HYPERVISOR (1u << 31)
/* CPUID.07H.0:EBX */
#define CPUID_7_0_EBX_FSGSBASE  (1u << 0)
#define CPUID_7_0_EBX_SMEP      (1u << 7)
#define CPUID_7_0_EBX_ERMS      (1u << 9)
#define CPUID_7_0_EBX_INVPCID   (1u << 10)
#define CPUID_7_0_EBX_SMAP      (1u << 20)
/* CPUID.07H.0:ECX */
#define CPUID_7_0_ECX_UMIP      (1u << 2)
#define CPUID_7_0_ECX_PKU       (1u << 3)
#define CPUID_7_0_ECX_OSPKE     (1u << 4)   /* CR4.PKE, not a feature */
#define CPUID_7_0_ECX_PKS       (1u << 31)
/* CPUID.80000001H:EDX / ECX */
#define CPUID_EXT2_SYSCALL  (1u << 11)
#define CPUID_EXT2_NX       (1u << 20)
#define CPUID_EXT2_PDPE1GB  (1u << 26)
#define CPUID_EXT2_RDTSCP   (1u << 27)
#define CPUID_EXT2_LM       (1u << 29)
#define CPUID_EXT3_LAHF_LM  (1u << 0)

static inline bool x86_has_feature(const X86CPUState *env, int word,
                                   uint32_t bit)
{
    return (env->features[word] & bit) != 0;
}

/* What env->model points to. */
typedef struct X86ModelInfo {
    char name[32];
    char model_id[49];          /* CPUID 0x80000002..4, NUL-terminated */
} X86ModelInfo;

/* The feature bits qlite's TCG implements, per word. */
extern const uint32_t x86_tcg_supported[FEAT_WORDS];



/* "-cpu help": the models, QEMU's format. */
#endif
