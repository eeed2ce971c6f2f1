/*
 * Far control transfers: JMP, CALL (through call gates too), RET and
 * IRET/IRETQ in real, virtual-8086, protected and long mode.  Hardware
 * task switches are not emulated: a task gate or TSS target raises #GP.
 *
 * References: SDM vol 2 (JMP, CALL, RET, IRET operation sections) and vol
 * 3A 5.8 (call gates), 6.14 (64-bit IRET).
 */
#include "target/i386/cpu.h"
#include "target/i386/mmu.h"
#include "target/i386/seg.h"

static noreturn void far_raise(X86CPUState *env, int vec, uint32_t sel)
{
    x86_raise_exception_err(env, vec, sel & 0xfffc);
}

static bool far_pm(const X86CPUState *env)
{
    return (env->hflags & HF_PE) && !(env->hflags & HF_VM);
}

static bool far_long(const X86CPUState *env)
{
    return (env->hflags & HF_LMA) != 0;
}

static bool desc_is_code(uint32_t hi)
{
    return (hi & (DESC_S_MASK | DESC_CS_MASK)) == (DESC_S_MASK | DESC_CS_MASK);
}

static bool desc_is_64bit_code(const X86CPUState *env, uint32_t hi)
{
    return far_long(env) && (hi & DESC_L_MASK);
}

/* Real mode and virtual-8086 mode: CS is just selector << 4. */
static void far_load_cs_real(X86CPUState *env, uint16_t sel, uint64_t ip)
{
    SegmentCache sc = env->segs[R_CS];

    sc.selector = sel;
    sc.base = (uint64_t)sel << 4;
    x86_seg_set(env, R_CS, &sc);
    env->rip = ip;
}

static void far_load_cs(X86CPUState *env, uint16_t sel, uint32_t lo,
                        uint32_t hi, unsigned cpl, uint64_t ip)
{
    SegmentCache sc;

    if (!(hi & DESC_A_MASK)) {
        hi |= DESC_A_MASK;
        x86_seg_write_desc_hi(env, sel, hi);
    }
    x86_seg_cache_from_desc(&sc, (sel & ~3u) | cpl, lo, hi);
    if (!desc_is_64bit_code(env, hi) && ip > sc.limit) {
        far_raise(env, EXCP_GP, 0);
    }
    x86_seg_set(env, R_CS, &sc);
    env->rip = (env->hflags & HF_CS64) ? ip : (ip & 0xffffffff);
}

/* Direct JMP/CALL to a code segment: the privilege rules of SDM 5.8.1. */
static void far_check_direct(X86CPUState *env, uint16_t sel, uint32_t hi)
{
    unsigned cpl = x86_cpl(env), dpl = desc_dpl(hi);

    if (hi & DESC_C_MASK) {
        if (dpl > cpl) {
            far_raise(env, EXCP_GP, sel);
        }
    } else if ((sel & 3u) > cpl || dpl != cpl) {
        far_raise(env, EXCP_GP, sel);
    }
    if (!(hi & DESC_P_MASK)) {
        far_raise(env, EXCP_NP, sel);
    }
}

/* A call gate's target: its selector, offset and descriptor. */
typedef struct FarGate {
    uint16_t sel;
    uint64_t offset;
    unsigned params;            /* dwords/words to copy (legacy only) */
    unsigned size;              /* 2, 4 or 8: the gate's push size */
    uint32_t lo, hi;            /* target code descriptor */
} FarGate;

static void far_read_gate(X86CPUState *env, uint16_t sel, uint32_t lo,
                          uint32_t hi, FarGate *g)
{
    unsigned type = desc_type(hi);
    unsigned cpl = x86_cpl(env);

    if (!(type == DESC_TYPE_CALL || (type == DESC_TYPE_CALL16
                                     && !far_long(env)))) {
        /* Task gates and TSSs: no hardware task switching here. */
        far_raise(env, EXCP_GP, sel);
    }
    if (desc_dpl(hi) < cpl || desc_dpl(hi) < (sel & 3u)) {
        far_raise(env, EXCP_GP, sel);
    }
    if (!(hi & DESC_P_MASK)) {
        far_raise(env, EXCP_NP, sel);
    }
    g->sel = lo >> 16;
    g->offset = (lo & 0xffff) | (type == DESC_TYPE_CALL16 ? 0
                                 : (hi & 0xffff0000));
    g->params = hi & 0x1f;
    g->size = type == DESC_TYPE_CALL16 ? 2 : 4;
    if (far_long(env)) {
        uint32_t lo2, hi2;

        /* The gate's upper half is the next 8-byte slot (SDM 5.8.3.1). */
        if (!x86_seg_read_desc(env, sel + 8, &lo2, &hi2)
            || (hi2 & (0x1f << DESC_TYPE_SHIFT))) {
            far_raise(env, EXCP_GP, sel);
        }
        g->offset |= (uint64_t)lo2 << 32;
        g->size = 8;
        g->params = 0;
    }
    if ((g->sel & ~3u) == 0) {
        far_raise(env, EXCP_GP, 0);
    }
    if (!x86_seg_read_desc(env, g->sel, &g->lo, &g->hi)
        || !desc_is_code(g->hi) || desc_dpl(g->hi) > cpl
        || (far_long(env) && (!(g->hi & DESC_L_MASK)
                              || (g->hi & DESC_B_MASK)))) {
        far_raise(env, EXCP_GP, g->sel);
    }
    if (!(g->hi & DESC_P_MASK)) {
        far_raise(env, EXCP_NP, g->sel);
    }
}

void x86_helper_ljmp(X86CPUState *env, uint16_t sel, uint64_t offset,
                     uint64_t next_rip)
{
    uint32_t lo, hi;
    FarGate g;

    (void)next_rip;
    if (!far_pm(env)) {
        far_load_cs_real(env, sel, offset);
        return;
    }
    if ((sel & ~3u) == 0) {
        far_raise(env, EXCP_GP, 0);
    }
    if (!x86_seg_read_desc(env, sel, &lo, &hi)) {
        far_raise(env, EXCP_GP, sel);
    }
    if (hi & DESC_S_MASK) {
        if (!(hi & DESC_CS_MASK)) {
            far_raise(env, EXCP_GP, sel);
        }
        far_check_direct(env, sel, hi);
        far_load_cs(env, sel, lo, hi, x86_cpl(env), offset);
        return;
    }
    far_read_gate(env, sel, lo, hi, &g);
    /* JMP through a gate never changes privilege (SDM 5.8.4). */
    if (!(g.hi & DESC_C_MASK) && desc_dpl(g.hi) != x86_cpl(env)) {
        far_raise(env, EXCP_GP, g.sel);
    }
    far_load_cs(env, g.sel, g.lo, g.hi, x86_cpl(env), g.offset);
}

/* SS for CPL @dpl from the TSS, checked as SDM 5.8.5 says (#TS). */
static void far_inner_stack(X86CPUState *env, unsigned dpl, X86Stack *st,
                            SegmentCache *ss)
{
    uint16_t sel;
    uint32_t sp, lo, hi;

    x86_tss_get_stack(env, dpl, &sel, &sp, 0);
    if ((sel & ~3u) == 0 || (sel & 3u) != dpl
        || !x86_seg_read_desc(env, sel, &lo, &hi)
        || desc_dpl(hi) != dpl || (hi & DESC_CS_MASK)
        || !(hi & DESC_S_MASK) || !(hi & DESC_W_MASK)) {
        far_raise(env, EXCP_TS, sel);
    }
    if (!(hi & DESC_P_MASK)) {
        far_raise(env, EXCP_SS, sel);
    }
    x86_seg_cache_from_desc(ss, sel, lo, hi);
    st->base = ss->base;
    st->sp = sp;
    st->mask = (hi & DESC_B_MASK) ? 0xffffffff : 0xffff;
    st->idx = X86_MMU_KERNEL;
}

/* CALL through a gate to a more privileged, non-conforming segment. */
static void far_call_inner(X86CPUState *env, const FarGate *g,
                           uint64_t next_rip)
{
    unsigned dpl = desc_dpl(g->hi);
    X86Stack old, st;
    SegmentCache ss;

    x86_stack_init_current(env, &old);
    if (g->size == 8) {
        ss = (SegmentCache){ .selector = dpl,
                             .flags = dpl << DESC_DPL_SHIFT };
        st = (X86Stack){ .sp = x86_tss64_get_rsp(env, dpl, 0) & ~UINT64_C(15),
                         .mask = UINT64_MAX, .idx = X86_MMU_KERNEL };
    } else {
        far_inner_stack(env, dpl, &st, &ss);
    }
    x86_stack_push(env, &st, g->size, env->segs[R_SS].selector);
    x86_stack_push(env, &st, g->size, env->regs[R_ESP]);
    for (unsigned i = g->params; i > 0; i--) {
        X86Stack p = old;

        p.sp += (i - 1) * g->size;
        x86_stack_push(env, &st, g->size,
                       x86_stack_pop(env, &p, g->size));
    }
    x86_stack_push(env, &st, g->size, env->segs[R_CS].selector);
    x86_stack_push(env, &st, g->size, next_rip);
    /* Everything written: now switch. */
    far_load_cs(env, g->sel, g->lo, g->hi, dpl, g->offset);
    x86_seg_set(env, R_SS, &ss);     /* hflags with the new CPL */
    x86_stack_commit(env, &st);
}

void x86_helper_lcall(X86CPUState *env, uint16_t sel, uint64_t offset,
                      int osize, uint64_t next_rip)
{
    uint32_t lo, hi;
    X86Stack st;
    FarGate g;

    x86_stack_init_current(env, &st);
    if (!far_pm(env)) {
        x86_stack_push(env, &st, osize, env->segs[R_CS].selector);
        x86_stack_push(env, &st, osize, next_rip);
        far_load_cs_real(env, sel, offset);
        x86_stack_commit(env, &st);
        return;
    }
    if ((sel & ~3u) == 0) {
        far_raise(env, EXCP_GP, 0);
    }
    if (!x86_seg_read_desc(env, sel, &lo, &hi)) {
        far_raise(env, EXCP_GP, sel);
    }
    if (hi & DESC_S_MASK) {
        if (!(hi & DESC_CS_MASK)) {
            far_raise(env, EXCP_GP, sel);
        }
        far_check_direct(env, sel, hi);
        x86_stack_push(env, &st, osize, env->segs[R_CS].selector);
        x86_stack_push(env, &st, osize, next_rip);
        far_load_cs(env, sel, lo, hi, x86_cpl(env), offset);
        x86_stack_commit(env, &st);
        return;
    }
    far_read_gate(env, sel, lo, hi, &g);
    if (!(g.hi & DESC_C_MASK) && desc_dpl(g.hi) < x86_cpl(env)) {
        far_call_inner(env, &g, next_rip);
        return;
    }
    x86_stack_push(env, &st, g.size, env->segs[R_CS].selector);
    x86_stack_push(env, &st, g.size, next_rip);
    far_load_cs(env, g.sel, g.lo, g.hi, x86_cpl(env), g.offset);
    x86_stack_commit(env, &st);
}

/* The CS a RET/IRET returns to: the checks of SDM RET "return-to". */
static void far_check_return_cs(X86CPUState *env, uint16_t sel,
                                uint32_t *lo, uint32_t *hi)
{
    unsigned rpl = sel & 3u;

    if ((sel & ~3u) == 0) {
        far_raise(env, EXCP_GP, 0);
    }
    if (rpl < x86_cpl(env) || !x86_seg_read_desc(env, sel, lo, hi)
        || !desc_is_code(*hi)) {
        far_raise(env, EXCP_GP, sel);
    }
    if ((*hi & DESC_C_MASK) ? desc_dpl(*hi) > rpl : desc_dpl(*hi) != rpl) {
        far_raise(env, EXCP_GP, sel);
    }
    if (!(*hi & DESC_P_MASK)) {
        far_raise(env, EXCP_NP, sel);
    }
}

/* The SS a return to an outer level pops (null only in 64-bit mode). */
static void far_return_ss(X86CPUState *env, uint16_t sel, unsigned rpl,
                          bool to_64, SegmentCache *ss)
{
    uint32_t lo, hi;

    if ((sel & ~3u) == 0) {
        if (!to_64 || rpl == 3) {
            far_raise(env, EXCP_GP, 0);
        }
        *ss = (SegmentCache){ .selector = sel,
                              .flags = (rpl << DESC_DPL_SHIFT) | DESC_B_MASK };
        return;
    }
    if ((sel & 3u) != rpl || !x86_seg_read_desc(env, sel, &lo, &hi)
        || !(hi & DESC_S_MASK) || (hi & DESC_CS_MASK)
        || !(hi & DESC_W_MASK) || desc_dpl(hi) != rpl) {
        far_raise(env, EXCP_GP, sel);
    }
    if (!(hi & DESC_P_MASK)) {
        far_raise(env, EXCP_SS, sel);
    }
    x86_seg_cache_from_desc(ss, sel, lo, hi);
}

/* Switch to the outer level: CS, then SS:SP, then drop unusable segs. */
static void far_return_outer(X86CPUState *env, uint16_t cs, uint32_t lo,
                             uint32_t hi, uint64_t ip, X86Stack *st,
                             int osize, uint16_t imm)
{
    unsigned rpl = cs & 3u;
    uint64_t sp = x86_stack_pop(env, st, osize);
    uint16_t ss_sel = (uint16_t)x86_stack_pop(env, st, osize);
    SegmentCache ss;

    far_return_ss(env, ss_sel, rpl, desc_is_64bit_code(env, hi), &ss);
    far_load_cs(env, cs, lo, hi, rpl, ip);
    x86_seg_set(env, R_SS, &ss);
    sp += imm;
    if (env->hflags & HF_CS64) {
        env->regs[R_ESP] = sp;
    } else if (ss.flags & DESC_B_MASK) {
        env->regs[R_ESP] = (uint32_t)sp;
    } else {
        env->regs[R_ESP] = (env->regs[R_ESP] & ~UINT64_C(0xffff))
                         | (sp & 0xffff);
    }
    x86_seg_validate_outer(env, rpl);
}

void x86_helper_lret(X86CPUState *env, int osize, uint16_t imm)
{
    uint64_t ip;
    uint16_t cs;
    uint32_t lo, hi;
    X86Stack st;

    x86_stack_init_current(env, &st);
    ip = x86_stack_pop(env, &st, osize);
    cs = (uint16_t)x86_stack_pop(env, &st, osize);
    if (!far_pm(env)) {
        st.sp += imm;
        far_load_cs_real(env, cs, ip);
        x86_stack_commit(env, &st);
        return;
    }
    far_check_return_cs(env, cs, &lo, &hi);
    st.sp += imm;
    if ((cs & 3u) == x86_cpl(env)) {
        far_load_cs(env, cs, lo, hi, x86_cpl(env), ip);
        x86_stack_commit(env, &st);
        return;
    }
    far_return_outer(env, cs, lo, hi, ip, &st, osize, imm);
}

/* The EFLAGS bits IRET may change at the current CPL and IOPL. */
static uint32_t far_iret_flag_mask(X86CPUState *env, int osize)
{
    uint32_t mask = CC_MASK | TF_MASK | DF_MASK | NT_MASK | RF_MASK
                  | AC_MASK | ID_MASK;
    unsigned cpl = x86_cpl(env);
    unsigned iopl = (env->eflags & IOPL_MASK) >> IOPL_SHIFT;

    if (!far_pm(env) || cpl == 0) {
        mask |= IOPL_MASK | VIF_MASK | VIP_MASK;
    }
    if (!far_pm(env) || cpl <= iopl) {
        mask |= IF_MASK;
    }
    if (env->hflags & HF_VM) {
        mask &= ~(IOPL_MASK | VIF_MASK | VIP_MASK);
    }
    return osize == 2 ? (mask & 0xffff) : mask;
}

/* IRET from protected mode back into virtual-8086 mode (SDM IRET). */
static void far_iret_to_vm86(X86CPUState *env, X86Stack *st, uint64_t ip,
                             uint16_t cs, uint32_t flags)
{
    uint32_t sp = (uint32_t)x86_stack_pop(env, st, 4);
    uint16_t sels[5];
    static const int order[] = { R_SS, R_ES, R_DS, R_FS, R_GS };

    sels[0] = (uint16_t)x86_stack_pop(env, st, 4);
    for (int i = 1; i < 5; i++) {
        sels[i] = (uint16_t)x86_stack_pop(env, st, 4);
    }
    x86_set_eflags(env, flags, ~0u);
    x86_update_hflags(env);
    far_load_cs_real(env, cs, ip & 0xffff);
    for (int i = 0; i < 5; i++) {
        x86_load_seg(env, order[i], sels[i]);
    }
    env->regs[R_ESP] = sp;
}

void x86_helper_iret(X86CPUState *env, int osize)
{
    uint32_t mask = far_iret_flag_mask(env, osize);
    uint64_t ip;
    uint16_t cs;
    uint32_t flags, lo, hi;
    X86Stack st;

    env->nmi_blocked = false;
    if ((env->hflags & HF_VM)
        && ((env->eflags & IOPL_MASK) >> IOPL_SHIFT) != 3) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    if (far_pm(env) && (env->eflags & NT_MASK) && !far_long(env)) {
        /* Return from a nested task: no task switching here. */
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    x86_stack_init_current(env, &st);
    ip = x86_stack_pop(env, &st, osize);
    cs = (uint16_t)x86_stack_pop(env, &st, osize);
    flags = (uint32_t)x86_stack_pop(env, &st, osize);
    if (!far_pm(env)) {
        far_load_cs_real(env, cs, ip);
        x86_set_eflags(env, flags, mask);
        x86_stack_commit(env, &st);
        return;
    }
    if ((flags & VM_MASK) && x86_cpl(env) == 0 && !far_long(env)
        && osize == 4) {
        far_iret_to_vm86(env, &st, ip, cs, flags);
        return;
    }
    far_check_return_cs(env, cs, &lo, &hi);
    x86_set_eflags(env, flags, mask);
    if ((cs & 3u) == x86_cpl(env) && !(env->hflags & HF_CS64)) {
        far_load_cs(env, cs, lo, hi, x86_cpl(env), ip);
        x86_stack_commit(env, &st);
        return;
    }
    /* Outer level, or 64-bit mode (which always pops SS:RSP). */
    far_return_outer(env, cs, lo, hi, ip, &st, osize, 0);
}
