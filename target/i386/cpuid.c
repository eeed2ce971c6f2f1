/*
 * CPUID: what the model (cpu-model.c) put into env, laid out leaf by leaf.
 * Leaves past the maximum behave as Intel documents: they return the
 * highest basic leaf (SDM vol 2A CPUID, "INPUT EAX = 0").
 */
#include "target/i386/cpu.h"
#include "target/i386/cpuid.h"
#include "target/i386/mmu.h"
#include "target/i386/msr-misc.h"

static void cpuid_vendor(const X86CPUState *env, uint32_t *ebx,
                         uint32_t *ecx, uint32_t *edx)
{
    *ebx = env->cpuid_vendor[0];
    *edx = env->cpuid_vendor[1];
    *ecx = env->cpuid_vendor[2];
}

/* Four bytes of the 48-byte brand string for leaves 0x80000002..4. */
static uint32_t cpuid_brand(const X86CPUState *env, unsigned word)
{
    const X86ModelInfo *m = env->model;
    uint32_t v = 0;

    if (m) {
        memcpy(&v, m->model_id + 4 * word, 4);
    }
    return v;
}

static uint32_t cpuid_clamp(const X86CPUState *env, uint32_t leaf)
{
    uint32_t level = x86_cpuid_max_basic(env);

    if (leaf >= 0x80000000) {
        return leaf > env->cpuid_xlevel ? level : leaf;
    }
    return leaf > level ? level : leaf;
}

static void cpuid_leaf1(X86CPUState *env, uint32_t r[4])
{
    r[0] = env->cpuid_version;
    /* APIC ID, one logical processor, CLFLUSH line of 8 qwords. */
    r[1] = (env->apic_id << 24) | (1u << 16) | (8u << 8);
    r[2] = env->features[FEAT_1_ECX];
    if (env->cr[4] & CR4_OSXSAVE) {
        r[2] |= CPUID_EXT_OSXSAVE;
    }
    r[3] = env->features[FEAT_1_EDX];
}

void x86_cpuid(X86CPUState *env, uint32_t leaf, uint32_t subleaf,
               uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
    uint32_t r[4] = { 0, 0, 0, 0 };

    leaf = cpuid_clamp(env, leaf);
    switch (leaf) {
    case 0:
        r[0] = x86_cpuid_max_basic(env);
        cpuid_vendor(env, &r[1], &r[2], &r[3]);
        break;
    case 1:
        cpuid_leaf1(env, r);
        break;
    case 2:
        r[0] = 1;               /* one iteration, no descriptors */
        break;
    case 7:
        if (subleaf == 0) {
            r[1] = env->features[FEAT_7_0_EBX];
            r[2] = env->features[FEAT_7_0_ECX];
            if (env->cr[4] & CR4_PKE) {
                r[2] |= CPUID_7_0_ECX_OSPKE;
            }
            r[3] = env->features[FEAT_7_0_EDX];
        }
        break;
    case 0xd:
        if (subleaf == 1) {
            r[0] = env->features[FEAT_D_1_EAX];
        }
        break;
    case 0x80000000:
        r[0] = env->cpuid_xlevel;
        cpuid_vendor(env, &r[1], &r[2], &r[3]);
        break;
    case 0x80000001:
        r[0] = env->cpuid_version;
        r[2] = env->features[FEAT_8000_0001_ECX];
        r[3] = env->features[FEAT_8000_0001_EDX];
        if (!x86_nx_available(env)) {
            r[3] &= ~CPUID_EXT2_NX;     /* MISC_ENABLE "XD Bit Disable" */
        }
        break;
    case 0x80000002: case 0x80000003: case 0x80000004:
        for (unsigned i = 0; i < 4; i++) {
            r[i] = cpuid_brand(env, (leaf - 0x80000002) * 4 + i);
        }
        break;
    case 0x80000008:
        r[0] = x86_phys_bits(env) | (X86_VIRT_BITS << 8);
        break;
    default:
        break;
    }
    *eax = r[0];
    *ebx = r[1];
    *ecx = r[2];
    *edx = r[3];
}
