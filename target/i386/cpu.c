/*
 * The x86 CPU's own state handling: power-on reset and the hidden mode
 * flags derived from the control registers and segment caches.
 */
#include "exec.h"
#include "msr-misc.h"

static void cpu_reset_seg(SegmentCache *s, uint16_t sel, uint64_t base,
                          uint32_t flags)
{
    s->selector = sel;
    s->base = base;
    s->limit = 0xffff;
    s->flags = flags;
}

/* SDM vol 3 table 9-1: the processor state after power-up or RESET. */
void x86_cpu_reset(X86CPUState *env)
{
    uint32_t data = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK;

    memset(env->regs, 0, sizeof(env->regs));
    env->regs[R_EDX] = env->cpuid_version;
    env->rip = 0xfff0;
    env->eflags = 2;
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = env->cc_dst = env->cc_src2 = 0;
    for (int i = R_ES; i <= R_GS; i++) {
        cpu_reset_seg(&env->segs[i], 0, 0, data);
    }
    cpu_reset_seg(&env->segs[R_CS], 0xf000, 0xffff0000,
                  DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK |
                  DESC_A_MASK);
    cpu_reset_seg(&env->segs[R_LDTR], 0, 0, DESC_P_MASK | (2u << 8));
    cpu_reset_seg(&env->segs[R_TR], 0, 0, DESC_P_MASK | (11u << 8));
    env->gdt = (DescTableReg){ 0, 0xffff };
    env->idt = (DescTableReg){ 0, 0xffff };
    memset(env->cr, 0, sizeof(env->cr));
    env->cr[0] = CR0_ET | CR0_NW | CR0_CD;
    memset(env->dr, 0, sizeof(env->dr));
    env->dr[6] = 0xffff0ff0;
    env->dr[7] = 0x400;
    env->a20_mask = UINT64_MAX;
    env->efer = 0;
    env->star = env->lstar = env->cstar = env->fmask = 0;
    env->kernel_gs_base = 0;
    env->sysenter_cs = env->sysenter_esp = env->sysenter_eip = 0;
    env->tsc_offset = 0;
    env->tsc_aux = 0;
    env->pat = UINT64_C(0x0007040600070406);
    env->mtrr_deftype = 0;
    memset(env->mtrr_fixed, 0, sizeof(env->mtrr_fixed));
    memset(env->mtrr_var, 0, sizeof(env->mtrr_var));
    /* xAPIC enabled at the default base; BSP flag on CPU 0 (SDM 10.4.4). */
    env->apic_base = UINT64_C(0xfee00000) | (1u << 11) |
                     (env->apic_id == 0 ? 1u << 8 : 0);
    env->misc_enable = x86_misc_enable_reset_value();
    env->xcr0 = 1;
    env->pkru = 0;
    env->pkrs = 0;
    memset(env->fpregs, 0, sizeof(env->fpregs));
    env->fptop = 0;
    env->fpuc = 0x40;
    env->fpus = 0;
    memset(env->fptags, 1, sizeof(env->fptags));
    env->fpop = 0;
    env->fpip = env->fpdp = 0;
    env->fpcs = env->fpds = 0;
    memset(env->xmm, 0, sizeof(env->xmm));
    env->mxcsr = MXCSR_DEFAULT;
    env->int_shadow = false;
    env->dbg_shadow = false;
    env->dbg_exec = env->dbg_data = env->dbg_io = 0;
    env->dbg_hits = env->dbg_pending = 0;
    env->nmi_blocked = false;
    env->exc_vector = -1;
    env->exc_prev = -1;
    env->triple_fault = false;
    x86_update_hflags(env);
    x86_tlb_flush(env, true);
}

static uint32_t cpu_cpl(const X86CPUState *env)
{
    if (!(env->cr[0] & CR0_PE)) {
        return 0;
    }
    if (env->eflags & VM_MASK) {
        return 3;
    }
    return env->segs[R_CS].selector & 3;
}

void x86_update_hflags(X86CPUState *env)
{
    uint32_t h = cpu_cpl(env);
    uint32_t cs = env->segs[R_CS].flags, ss = env->segs[R_SS].flags;

    if (env->cr[0] & CR0_PE) {
        h |= HF_PE;
    }
    if (env->efer & EFER_LMA) {
        h |= HF_LMA;
        if (cs & DESC_L_MASK) {
            h |= HF_CS64;
        }
    }
    if (!(h & HF_CS64) && (cs & DESC_B_MASK)) {
        h |= HF_CS32;
    }
    if (ss & DESC_B_MASK) {
        h |= HF_SS32;
    }
    if (env->eflags & VM_MASK) {
        h |= HF_VM;
    }
    if (env->cr[4] & CR4_OSFXSR) {
        h |= HF_OSFXSR;
    }
    if (env->cr[0] & CR0_EM) {
        h |= HF_EM;
    }
    if (env->cr[0] & CR0_TS) {
        h |= HF_TS;
    }
    if (env->cr[0] & CR0_MP) {
        h |= HF_MP;
    }
    if (env->cr[0] & CR0_PG) {
        h |= HF_PG;
    }
    if (env->cr[4] & CR4_SMAP) {
        h |= HF_SMAP;
        if ((env->eflags & AC_MASK) && (h & HF_CPL_MASK) != 3) {
            h |= HF_SMAP_AC;
        }
    }
    if ((env->cr[0] & CR0_AM) && (env->eflags & AC_MASK) &&
        (h & HF_CPL_MASK) == 3) {
        h |= HF_AC;
    }
    if ((env->eflags & TF_MASK) || env->int_shadow ||
        (env->dr[7] & 0xff)) {
        h |= HF_STEP;
    }
    env->hflags = h;
}

/* The decoder mode for the current code segment. */
int x86_decode_mode(const X86CPUState *env)
{
    if (env->hflags & HF_CS64) {
        return X86_MODE64;
    }
    return (env->hflags & HF_CS32) ? X86_MODE32 : X86_MODE16;
}
