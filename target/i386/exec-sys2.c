/*
 * System instructions of the 0F map: descriptor tables, control and
 * debug registers, MSRs, CPUID, TSC, fast system calls.
 */
#include "exec.h"
#include "cpuid.h"
#include "mmu.h"


static void sys2_need_cpl0(X86CPUState *env)
{
    if (x86_cpl(env) != 0) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
}

/* UMIP: SGDT, SIDT, SLDT, SMSW and STR are CPL 0 only (SDM 2.5, CR4). */
static void sys2_umip(X86CPUState *env)
{
    if ((env->cr[4] & CR4_UMIP) && x86_cpl(env) != 0) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
}

/* SLDT, STR, LLDT, LTR, VERR, VERW, LAR, LSL: protected mode only. */
static void sys2_need_pm(X86CPUState *env)
{
    if (!(env->hflags & HF_PE) || (env->hflags & HF_VM)) {
        x86_raise_exception(env, EXCP_UD);
    }
}

static void sys2_store_sel(X86CPUState *env, const X86Insn *in, int seg)
{
    X86Loc d = x86_loc(env, in, 0);
    sys2_need_pm(env);
    sys2_umip(env);
    if (d.mem) {
        d.size = 2;
    }
    x86_loc_write(env, &d, env->segs[seg].selector);
}

static void sys2_grp6(X86CPUState *env, const X86Insn *in)
{
    uint16_t sel;
    bool ok;

    if (in->op == X86_OP_SLDT || in->op == X86_OP_STR) {
        sys2_store_sel(env, in, in->op == X86_OP_SLDT ? R_LDTR : R_TR);
        return;
    }
    sys2_need_pm(env);
    sel = x86_opnd_read(env, in, 0);
    switch (in->op) {
    case X86_OP_LLDT:
        sys2_need_cpl0(env);
        x86_helper_lldt(env, sel);
        env->rip = x86_next_rip(env, in);
        return;
    case X86_OP_LTR:
        sys2_need_cpl0(env);
        x86_helper_ltr(env, sel);
        env->rip = x86_next_rip(env, in);
        return;
    case X86_OP_VERR:
        ok = x86_helper_verr(env, sel);
        break;
    default:
        ok = x86_helper_verw(env, sel);
        break;
    }
    x86_set_eflags(env, ok ? ZF_MASK : 0, ZF_MASK);
}

static void sys2_lar_lsl(X86CPUState *env, const X86Insn *in)
{
    uint16_t sel = x86_opnd_read(env, in, 1);
    bool ok = false;
    uint32_t v;

    sys2_need_pm(env);
    v = in->op == X86_OP_LAR ? x86_helper_lar(env, sel, &ok)
                             : x86_helper_lsl(env, sel, &ok);
    if (ok) {
        x86_reg_write(env, in->reg, in->osize, v);
    }
    x86_set_eflags(env, ok ? ZF_MASK : 0, ZF_MASK);
}

/* SGDT/SIDT/LGDT/LIDT: limit16, then base of 3, 4 or 8 bytes. */
static void sys2_dtr(X86CPUState *env, const X86Insn *in)
{
    bool idt = in->op == X86_OP_SIDT || in->op == X86_OP_LIDT;
    DescTableReg *dt = idt ? &env->idt : &env->gdt;
    uint64_t ea = x86_ea(env, in);
    unsigned bsz = x86_is_64(env) ? 8 : 4;

    if (in->op == X86_OP_SGDT || in->op == X86_OP_SIDT) {
        sys2_umip(env);
        x86_st16(env, in->seg, ea, dt->limit);
        x86_mem_write(env, in->seg, (ea + 2) & x86_size_mask(in->asize),
                      bsz, dt->base);
        return;
    }
    sys2_need_cpl0(env);
    {
        uint16_t limit = x86_ld16(env, in->seg, ea);
        uint64_t base = x86_mem_read(env, in->seg,
                                     (ea + 2) & x86_size_mask(in->asize),
                                     bsz);
        if (bsz == 4 && in->osize == 2) {
            base &= 0xffffff;       /* 16-bit operand: 24-bit base */
        }
        dt->limit = limit;
        dt->base = base;
    }
    env->rip = x86_next_rip(env, in);
}

static void sys2_smsw(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = x86_loc(env, in, 0);
    sys2_umip(env);
    if (d.mem) {
        d.size = 2;
    }
    x86_loc_write(env, &d, env->cr[0]);
}

static void sys2_lmsw(X86CPUState *env, const X86Insn *in)
{
    uint64_t v = x86_opnd_read(env, in, 0) & 0xf;
    sys2_need_cpl0(env);
    /* LMSW sets PE but cannot clear it (SDM LMSW). */
    v |= env->cr[0] & CR0_PE;
    x86_write_cr(env, 0, (env->cr[0] & ~UINT64_C(0xf)) | v);
    env->rip = x86_next_rip(env, in);
}

static void sys2_clts(X86CPUState *env, const X86Insn *in)
{
    sys2_need_cpl0(env);
    x86_write_cr(env, 0, env->cr[0] & ~(uint64_t)CR0_TS);
    env->rip = x86_next_rip(env, in);
}

static void sys2_invlpg(X86CPUState *env, const X86Insn *in)
{
    uint64_t ea = x86_ea(env, in);
    sys2_need_cpl0(env);
    x86_tlb_flush_page(env, env->segs[in->seg].base + ea);
    env->rip = x86_next_rip(env, in);
}

/* STAC/CLAC: CPL 0 with SMAP, else #UD (SDM vol 2B). */
static void sys2_stac_clac(X86CPUState *env, bool set)
{
    if (!x86_has_feature(env, FEAT_7_0_EBX, CPUID_7_0_EBX_SMAP) ||
        x86_cpl(env) != 0) {
        x86_raise_exception(env, EXCP_UD);
    }
    x86_set_eflags(env, set ? AC_MASK : 0, AC_MASK);
}

/* RDPKRU/WRPKRU: #UD without CR4.PKE; ECX (and EDX for WRPKRU) 0. */
static void sys2_pkru(X86CPUState *env, bool write)
{
    if (!(env->cr[4] & CR4_PKE)) {
        x86_raise_exception(env, EXCP_UD);
    }
    if ((uint32_t)env->regs[R_ECX] ||
        (write && (uint32_t)env->regs[R_EDX])) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    if (!write) {
        env->regs[R_EAX] = env->pkru;
        env->regs[R_EDX] = 0;
        return;
    }
    env->pkru = (uint32_t)env->regs[R_EAX];
    /* The TLB holds rights checked against the old PKRU. */
    x86_tlb_flush(env, true);
}

static void sys2_grp7_reg(X86CPUState *env, const X86Insn *in)
{
    unsigned sel = (in->reg & 7) << 3 | (in->rm & 7);
    uint64_t tmp;

    switch (sel) {
    case 0x0a:  /* CLAC */
    case 0x0b:  /* STAC */
        sys2_stac_clac(env, sel == 0x0b);
        break;
    case 0x2e:  /* RDPKRU */
    case 0x2f:  /* WRPKRU */
        sys2_pkru(env, sel == 0x2f);
        break;
    case 0x38:  /* SWAPGS */
        if (!x86_is_64(env)) {
            x86_raise_exception(env, EXCP_UD);
        }
        sys2_need_cpl0(env);
        tmp = env->segs[R_GS].base;
        env->segs[R_GS].base = env->kernel_gs_base;
        env->kernel_gs_base = tmp;
        break;
    case 0x39:  /* RDTSCP */
        if ((env->cr[4] & CR4_TSD) && x86_cpl(env) != 0) {
            x86_raise_exception_err(env, EXCP_GP, 0);
        }
        tmp = x86_rdtsc(env);
        env->regs[R_EAX] = (uint32_t)tmp;
        env->regs[R_EDX] = tmp >> 32;
        env->regs[R_ECX] = (uint32_t)env->tsc_aux;
        break;
    default:
        x86_raise_exception(env, EXCP_UD);
    }
    env->rip = x86_next_rip(env, in);
}

/*
 * INVPCID (SDM vol 2A): type 0 one address, 1 one PCID, 2 everything,
 * 3 everything but globals.  The TLB is not tagged by PCID, so types 1-3
 * flush it all, which is always allowed.
 */
static void sys2_invpcid(X86CPUState *env, const X86Insn *in)
{
    uint64_t type, pcid, addr, ea;

    if (!x86_has_feature(env, FEAT_7_0_EBX, CPUID_7_0_EBX_INVPCID) ||
        (env->hflags & HF_VM)) {
        x86_raise_exception(env, EXCP_UD);
    }
    sys2_need_cpl0(env);
    type = x86_reg_read(env, in->reg, x86_is_64(env) ? 8 : 4);
    ea = x86_ea(env, in);
    pcid = x86_ld64(env, in->seg, ea);
    addr = x86_ld64(env, in->seg, (ea + 8) & x86_size_mask(in->asize));
    if (type > 3 || (pcid >> 12) ||
        (type <= 1 && pcid && !(env->cr[4] & CR4_PCIDE)) ||
        (type == 0 && (uint64_t)((int64_t)(addr << 16) >> 16) != addr)) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    if (type == 0) {
        x86_tlb_flush_page(env, addr);
    } else {
        x86_tlb_flush(env, type == 2);
    }
    env->rip = x86_next_rip(env, in);
}

static void sys2_mov_cr(X86CPUState *env, const X86Insn *in)
{
    unsigned cr = in->reg;
    unsigned sz = x86_is_64(env) ? 8 : 4;

    sys2_need_cpl0(env);
    if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8) {
        x86_raise_exception(env, EXCP_UD);
    }
    if (in->op == X86_OP_MOV_FROM_CR) {
        x86_reg_write(env, in->rm, sz, x86_read_cr(env, cr));
    } else {
        x86_write_cr(env, cr, x86_reg_read(env, in->rm, sz));
    }
    env->rip = x86_next_rip(env, in);
}

static void sys2_mov_dr(X86CPUState *env, const X86Insn *in)
{
    unsigned sz = x86_is_64(env) ? 8 : 4;
    sys2_need_cpl0(env);
    if (in->reg > 7) {
        x86_raise_exception(env, EXCP_UD);
    }
    if (in->op == X86_OP_MOV_FROM_DR) {
        x86_reg_write(env, in->rm, sz, x86_read_dr(env, in->reg));
    } else {
        x86_write_dr(env, in->reg, x86_reg_read(env, in->rm, sz));
    }
    env->rip = x86_next_rip(env, in);
}

static void sys2_msr(X86CPUState *env, const X86Insn *in)
{
    uint32_t idx = env->regs[R_ECX];
    sys2_need_cpl0(env);
    if (in->op == X86_OP_RDMSR) {
        uint64_t v = x86_rdmsr(env, idx);
        env->regs[R_EAX] = (uint32_t)v;
        env->regs[R_EDX] = v >> 32;
        return;
    }
    x86_wrmsr(env, idx, (uint32_t)env->regs[R_EAX] |
                        (env->regs[R_EDX] << 32));
    env->rip = x86_next_rip(env, in);
}

static void sys2_rdtsc(X86CPUState *env, const X86Insn *in)
{
    uint64_t v;
    if ((env->cr[4] & CR4_TSD) && x86_cpl(env) != 0) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    v = x86_rdtsc(env);
    env->regs[R_EAX] = (uint32_t)v;
    env->regs[R_EDX] = v >> 32;
}

static void sys2_cpuid(X86CPUState *env, const X86Insn *in)
{
    uint32_t a, b, c, d;
    x86_cpuid(env, env->regs[R_EAX], env->regs[R_ECX], &a, &b, &c, &d);
    env->regs[R_EAX] = a;
    env->regs[R_EBX] = b;
    env->regs[R_ECX] = c;
    env->regs[R_EDX] = d;
}

static void sys2_fast_call(X86CPUState *env, const X86Insn *in)
{
    switch (in->op) {
    case X86_OP_SYSCALL:
        x86_helper_syscall(env, x86_next_rip(env, in));
        break;
    case X86_OP_SYSRET:
        x86_helper_sysret(env, in->osize);
        break;
    case X86_OP_SYSENTER:
        x86_helper_sysenter(env);
        break;
    default:
        x86_helper_sysexit(env, in->osize);
        break;
    }
}

static void sys2_cache(X86CPUState *env, const X86Insn *in)
{
    if (in->op != X86_OP_CLFLUSH) {
        sys2_need_cpl0(env);        /* INVD, WBINVD */
    } else {
        (void)x86_ld8(env, in->seg, x86_ea(env, in));
    }
}

static void sys2_ud(X86CPUState *env, const X86Insn *in)
{
    x86_raise_exception(env, EXCP_UD);
}

void x86_exec_sys2_init(void)
{
    x86_exec_register(X86_OP_SLDT, sys2_grp6);
    x86_exec_register(X86_OP_STR, sys2_grp6);
    x86_exec_register(X86_OP_LLDT, sys2_grp6);
    x86_exec_register(X86_OP_LTR, sys2_grp6);
    x86_exec_register(X86_OP_VERR, sys2_grp6);
    x86_exec_register(X86_OP_VERW, sys2_grp6);
    x86_exec_register(X86_OP_LAR, sys2_lar_lsl);
    x86_exec_register(X86_OP_LSL, sys2_lar_lsl);
    x86_exec_register(X86_OP_SGDT, sys2_dtr);
    x86_exec_register(X86_OP_SIDT, sys2_dtr);
    x86_exec_register(X86_OP_LGDT, sys2_dtr);
    x86_exec_register(X86_OP_LIDT, sys2_dtr);
    x86_exec_register(X86_OP_SMSW, sys2_smsw);
    x86_exec_register(X86_OP_LMSW, sys2_lmsw);
    x86_exec_register(X86_OP_CLTS, sys2_clts);
    x86_exec_register(X86_OP_INVLPG, sys2_invlpg);
    x86_exec_register(X86_OP_INVPCID, sys2_invpcid);
    x86_exec_register(X86_OP_GRP7_REG, sys2_grp7_reg);
    x86_exec_register(X86_OP_MOV_FROM_CR, sys2_mov_cr);
    x86_exec_register(X86_OP_MOV_TO_CR, sys2_mov_cr);
    x86_exec_register(X86_OP_MOV_FROM_DR, sys2_mov_dr);
    x86_exec_register(X86_OP_MOV_TO_DR, sys2_mov_dr);
    x86_exec_register(X86_OP_RDMSR, sys2_msr);
    x86_exec_register(X86_OP_WRMSR, sys2_msr);
    x86_exec_register(X86_OP_RDTSC, sys2_rdtsc);
    x86_exec_register(X86_OP_CPUID, sys2_cpuid);
    x86_exec_register(X86_OP_SYSCALL, sys2_fast_call);
    x86_exec_register(X86_OP_SYSRET, sys2_fast_call);
    x86_exec_register(X86_OP_SYSENTER, sys2_fast_call);
    x86_exec_register(X86_OP_SYSEXIT, sys2_fast_call);
    x86_exec_register(X86_OP_INVD, sys2_cache);
    x86_exec_register(X86_OP_WBINVD, sys2_cache);
    x86_exec_register(X86_OP_CLFLUSH, sys2_cache);
    x86_exec_register(X86_OP_RSM, sys2_ud);
    x86_exec_register(X86_OP_RDPMC, sys2_ud);
}
