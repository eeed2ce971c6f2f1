/*
 * MOV to and from control and debug registers, with the checks and side
 * effects of SDM vol 3A 2.5 (CR0/CR4 bits), 4.1 (paging mode changes) and
 * 10.8.5 (entering and leaving long mode).  LMSW and CLTS come here too.
 */
#include "target/i386/cpu.h"
#include "target/i386/cpuid.h"

static noreturn void cr_gp(X86CPUState *env)
{
    x86_raise_exception_err(env, EXCP_GP, 0);
}

/* CR4 bits the model allows (others #GP). */
static uint64_t cr4_writable(X86CPUState *env)
{
    uint64_t ok = CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | CR4_PCE
                | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_DE | CR4_TSD;

    if (x86_has_feature(env, FEAT_1_ECX, CPUID_EXT_XSAVE)) {
        ok |= CR4_OSXSAVE;
    }
    if (x86_has_feature(env, FEAT_7_0_EBX, CPUID_7_0_EBX_FSGSBASE)) {
        ok |= CR4_FSGSBASE;
    }
    if (x86_has_feature(env, FEAT_7_0_EBX, CPUID_7_0_EBX_SMEP)) {
        ok |= CR4_SMEP;
    }
    if (x86_has_feature(env, FEAT_7_0_EBX, CPUID_7_0_EBX_SMAP)) {
        ok |= CR4_SMAP;
    }
    if (x86_has_feature(env, FEAT_7_0_ECX, CPUID_7_0_ECX_UMIP)) {
        ok |= CR4_UMIP;
    }
    if (x86_has_feature(env, FEAT_7_0_ECX, CPUID_7_0_ECX_PKU)) {
        ok |= CR4_PKE;
    }
    if (x86_has_feature(env, FEAT_7_0_ECX, CPUID_7_0_ECX_PKS)) {
        ok |= CR4_PKS;
    }
    if (x86_has_feature(env, FEAT_1_ECX, CPUID_EXT_PCID)) {
        ok |= CR4_PCIDE;
    }
    if (x86_has_feature(env, FEAT_1_EDX, CPUID_VME)) {
        ok |= CR4_VME | CR4_PVI;
    }
    return ok;
}

static void cr_write_cr0(X86CPUState *env, uint64_t val)
{
    uint64_t old = env->cr[0];

    val |= CR0_ET;
    if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE))
        || ((val & CR0_NW) && !(val & CR0_CD))) {
        cr_gp(env);
    }
    if ((val & CR0_PG) && !(old & CR0_PG) && (env->efer & EFER_LME)) {
        /* Activating long mode needs PAE, and not from a 64-bit CS. */
        if (!(env->cr[4] & CR4_PAE) || (env->segs[R_CS].flags & DESC_L_MASK)) {
            cr_gp(env);
        }
        env->efer |= EFER_LMA;
    }
    if (!(val & CR0_PG) && (old & CR0_PG) && (env->efer & EFER_LMA)) {
        /* Leaving long mode with PCIDE set: #GP (SDM MOV CR). */
        if ((env->hflags & HF_CS64) || (env->cr[4] & CR4_PCIDE)) {
            cr_gp(env);
        }
        env->efer &= ~(uint64_t)EFER_LMA;
    }
    env->cr[0] = val;
    if ((old ^ val) & (CR0_PG | CR0_WP | CR0_PE)) {
        x86_tlb_flush(env, true);
    }
    x86_update_hflags(env);
}

static void cr_write_cr4(X86CPUState *env, uint64_t val)
{
    uint64_t old = env->cr[4];

    if (val & ~cr4_writable(env)) {
        cr_gp(env);
    }
    if ((env->efer & EFER_LMA) && !(val & CR4_PAE)) {
        cr_gp(env);
    }
    /* PCIDE may be set only in IA-32e mode with PCID 0 (SDM 4.10.1). */
    if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) &&
        (!(env->efer & EFER_LMA) || (env->cr[3] & 0xfff))) {
        cr_gp(env);
    }
    env->cr[4] = val;
    if ((old ^ val) & (CR4_PSE | CR4_PAE | CR4_PGE | CR4_SMEP | CR4_SMAP |
                       CR4_PKE | CR4_PKS | CR4_PCIDE)) {
        x86_tlb_flush(env, true);
    }
    x86_update_hflags(env);
    if ((old ^ val) & CR4_DE) {
        x86_debug_rearm(env);   /* I/O breakpoints need CR4.DE */
    }
}

uint64_t x86_read_cr(X86CPUState *env, int cr)
{
    switch (cr) {
    case 0: case 2: case 3: case 4:
        return env->cr[cr];
    case 8:
        return x86_lapic_get_tpr(env);
    default:
        x86_raise_exception(env, EXCP_UD);
    }
}

void x86_write_cr(X86CPUState *env, int cr, uint64_t val)
{
    switch (cr) {
    case 0:
        cr_write_cr0(env, val);
        break;
    case 2:
        env->cr[2] = val;
        break;
    case 3:
        if (!(env->efer & EFER_LMA)) {
            val &= 0xffffffff;
        } else if (env->cr[4] & CR4_PCIDE) {
            /*
             * Bit 63 asks to keep the new PCID's translations; it is not
             * stored.  The TLB is not tagged by PCID, so it is flushed
             * anyway, which is always allowed (SDM 4.10.4.1).
             */
            val &= ~(UINT64_C(1) << 63);
        }
        if (val >> 52) {
            cr_gp(env);
        }
        env->cr[3] = val;
        x86_tlb_flush(env, false);
        break;
    case 4:
        cr_write_cr4(env, val);
        break;
    case 8:
        if (val & ~UINT64_C(0xf)) {
            cr_gp(env);
        }
        x86_lapic_set_tpr(env, val);
        break;
    default:
        x86_raise_exception(env, EXCP_UD);
    }
}

#define DR7_GD  (1u << 13)
#define DR6_BD  (1u << 13)

/*
 * DR4/DR5 alias DR6/DR7 unless CR4.DE makes them #UD (SDM 17.2.2).  With
 * DR7.GD set, any MOV DR is a #DB fault with DR6.BD; the processor clears
 * GD for the handler, so that it may use the registers (17.2.4).
 */
static int dr_index(X86CPUState *env, int dr)
{
    if (dr == 4 || dr == 5) {
        if (env->cr[4] & CR4_DE) {
            x86_raise_exception(env, EXCP_UD);
        }
        dr += 2;
    } else if (dr < 0 || dr > 7) {
        x86_raise_exception(env, EXCP_UD);
    }
    if (env->dr[7] & DR7_GD) {
        env->dr[7] &= ~(uint64_t)DR7_GD;
        env->dr[6] |= DR6_BD;
        x86_raise_exception(env, EXCP_DB);
    }
    return dr;
}

uint64_t x86_read_dr(X86CPUState *env, int dr)
{
    dr = dr_index(env, dr);
    if (dr == 6) {
        return env->dr[6] | 0xffff0ff0;
    }
    if (dr == 7) {
        return env->dr[7] | 0x400;
    }
    return env->dr[dr];
}

void x86_write_dr(X86CPUState *env, int dr, uint64_t val)
{
    dr = dr_index(env, dr);
    if ((dr == 6 || dr == 7) && (val >> 32)) {
        cr_gp(env);
    }
    env->dr[dr] = val;
    if (dr != 6) {
        x86_debug_rearm(env);
    }
}
