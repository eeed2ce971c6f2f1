/*
 * Control transfer, the stack, flag instructions and the BCD adjusts
 * (SDM vol 2).  Near branches only; far ones go to the system side.
 */
#include "exec.h"

static void ctl_jcc(X86CPUState *env, const X86Insn *in)
{
    uint64_t next = x86_next_rip(env, in);
    if (x86_cond(env, in->opcode & 15)) {
        x86_jump(env, in, next + in->imm);
    } else {
        env->rip = next;
    }
}

static void ctl_jmp(X86CPUState *env, const X86Insn *in)
{
    x86_jump(env, in, x86_next_rip(env, in) + in->imm);
}

static void ctl_call(X86CPUState *env, const X86Insn *in)
{
    uint64_t next = x86_next_rip(env, in);
    x86_push(env, in->osize, next);
    x86_jump(env, in, next + in->imm);
}

static void ctl_jmp_ind(X86CPUState *env, const X86Insn *in)
{
    x86_jump(env, in, x86_opnd_read(env, in, 0));
}

static void ctl_call_ind(X86CPUState *env, const X86Insn *in)
{
    uint64_t target = x86_opnd_read(env, in, 0);
    x86_push(env, in->osize, x86_next_rip(env, in));
    x86_jump(env, in, target);
}

static void ctl_ret(X86CPUState *env, const X86Insn *in)
{
    uint64_t target = x86_pop(env, in->osize);
    unsigned ss = x86_stack_size(env);
    if (in->opnd[0] == X86_OPND_Iw) {
        x86_reg_write(env, R_ESP, ss, env->regs[R_ESP] + in->imm);
    }
    x86_jump(env, in, target);
}

/* LOOP, LOOPE, LOOPNE, JCXZ: the count register has the address size. */
static void ctl_loop(X86CPUState *env, const X86Insn *in)
{
    unsigned as = in->asize;
    uint64_t next = x86_next_rip(env, in);
    uint64_t c = x86_reg_read(env, R_ECX, as);
    bool take;

    if (in->op == X86_OP_JCXZ) {
        take = c == 0;
    } else {
        c = (c - 1) & x86_size_mask(as);
        x86_reg_write(env, R_ECX, as, c);
        take = c != 0;
        if (in->op == X86_OP_LOOPE) {
            take = take && x86_cond(env, 4);
        } else if (in->op == X86_OP_LOOPNE) {
            take = take && x86_cond(env, 5);
        }
    }
    env->rip = next;
    if (take) {
        x86_jump(env, in, next + in->imm);
    }
}

static void ctl_push(X86CPUState *env, const X86Insn *in)
{
    uint64_t v = x86_opnd_read(env, in, 0);
    x86_push(env, in->osize, v);
}

static void ctl_pop(X86CPUState *env, const X86Insn *in)
{
    uint64_t v = x86_pop(env, in->osize);
    X86Loc d = x86_loc(env, in, 0);
    if (d.mem && in->base == R_ESP) {
        /* POP [rSP+x] addresses with the incremented rSP (SDM POP). */
        d.ea = x86_ea(env, in);
    }
    x86_loc_write(env, &d, v);
}

static void ctl_pusha(X86CPUState *env, const X86Insn *in)
{
    uint64_t sp = env->regs[R_ESP];
    for (int r = R_EAX; r <= R_EDI; r++) {
        x86_push(env, in->osize, r == R_ESP ? sp : env->regs[r]);
    }
}

static void ctl_popa(X86CPUState *env, const X86Insn *in)
{
    for (int r = R_EDI; r >= R_EAX; r--) {
        uint64_t v = x86_pop(env, in->osize);
        if (r != R_ESP) {
            x86_reg_write(env, r, in->osize, v);
        }
    }
}

static void ctl_enter(X86CPUState *env, const X86Insn *in)
{
    unsigned os = in->osize, ss = x86_stack_size(env);
    unsigned level = in->imm2 & 31;
    uint64_t frame;

    x86_push(env, os, env->regs[R_EBP]);
    frame = x86_reg_read(env, R_ESP, ss);
    if (level) {
        uint64_t bp = x86_reg_read(env, R_EBP, ss);
        for (unsigned i = 1; i < level; i++) {
            bp = (bp - os) & x86_size_mask(ss);
            x86_push(env, os, x86_mem_read(env, R_SS, bp, os));
        }
        x86_push(env, os, frame);
    }
    x86_reg_write(env, R_EBP, os, frame);
    x86_reg_write(env, R_ESP, ss,
                  env->regs[R_ESP] - (in->imm & 0xffff));
}

static void ctl_leave(X86CPUState *env, const X86Insn *in)
{
    unsigned ss = x86_stack_size(env);
    x86_reg_write(env, R_ESP, ss, env->regs[R_EBP]);
    x86_reg_write(env, R_EBP, in->osize, x86_pop(env, in->osize));
}

/* ---- flags ---- */

static void ctl_flagop(X86CPUState *env, const X86Insn *in)
{
    uint32_t f = x86_get_eflags(env);
    switch (in->op) {
    case X86_OP_CLC: f &= ~CF_MASK; break;
    case X86_OP_STC: f |= CF_MASK; break;
    case X86_OP_CMC: f ^= CF_MASK; break;
    case X86_OP_CLD: f &= ~DF_MASK; break;
    default: f |= DF_MASK; break;    /* STD */
    }
    x86_set_eflags(env, f, CF_MASK | DF_MASK);
}

static void ctl_lahf(X86CPUState *env, const X86Insn *in)
{
    uint32_t f = x86_get_eflags(env) & (CC_MASK & ~OF_MASK);
    env->regs[R_EAX] = (env->regs[R_EAX] & ~UINT64_C(0xff00)) |
                       ((f | 2) << 8);
}

static void ctl_sahf(X86CPUState *env, const X86Insn *in)
{
    x86_set_eflags(env, (env->regs[R_EAX] >> 8) & 0xff,
                   CC_MASK & ~OF_MASK);
}

/* ---- BCD and friends (invalid in 64-bit mode) ---- */

static void ctl_set_szp(X86CPUState *env, uint8_t al, uint32_t cf_af)
{
    x86_set_cc(env, CC_OP_LOGICB, 1, al, 0);
    x86_set_eflags(env, x86_get_eflags(env) | cf_af, CF_MASK | AF_MASK);
}

/*
 * DAA/DAS as the SDM's pseudo-code (vol 2A DAA, DAS).  Both test the
 * original AL and CF in the second step; DAS also keeps the borrow of
 * AL - 6 in CF (DAA's carry from AL + 6 implies AL > 0x99 anyway).
 */
static void ctl_daa(X86CPUState *env, const X86Insn *in)
{
    uint32_t f = x86_get_eflags(env), out = 0;
    uint8_t al = env->regs[R_EAX], old = al;
    bool sub = in->op == X86_OP_DAS;

    if ((al & 0xf) > 9 || (f & AF_MASK)) {
        if (sub && al < 6) {
            out |= CF_MASK;
        }
        al = sub ? al - 6 : al + 6;
        out |= AF_MASK;
    }
    if (old > 0x99 || (f & CF_MASK)) {
        al = sub ? al - 0x60 : al + 0x60;
        out |= CF_MASK;
    }
    x86_reg_write(env, R_EAX, 1, al);
    ctl_set_szp(env, al, out);
}

static void ctl_aaa(X86CPUState *env, const X86Insn *in)
{
    uint32_t f = x86_get_eflags(env), out = 0;
    uint16_t ax = env->regs[R_EAX];
    bool sub = in->op == X86_OP_AAS;

    if ((ax & 0xf) > 9 || (f & AF_MASK)) {
        ax = sub ? ax - 6 : ax + 0x106;
        if (sub) {
            ax = (ax & 0xff) | ((((ax >> 8) - 1) & 0xff) << 8);
        }
        out = AF_MASK | CF_MASK;
    }
    ax &= 0xff0f;
    x86_reg_write(env, R_EAX, 2, ax);
    x86_set_eflags(env, out, CF_MASK | AF_MASK);
}

static void ctl_aam(X86CPUState *env, const X86Insn *in)
{
    uint8_t base = in->imm, al = env->regs[R_EAX];
    if (base == 0) {
        x86_raise_exception(env, EXCP_DE);
    }
    x86_reg_write(env, R_EAX, 2, ((al / base) << 8) | (al % base));
    x86_set_cc(env, CC_OP_LOGICB, 1, al % base, 0);
}

static void ctl_aad(X86CPUState *env, const X86Insn *in)
{
    uint16_t ax = env->regs[R_EAX];
    uint8_t al = (ax & 0xff) + (ax >> 8) * (uint8_t)in->imm;
    x86_reg_write(env, R_EAX, 2, al);
    x86_set_cc(env, CC_OP_LOGICB, 1, al, 0);
}

static void ctl_salc(X86CPUState *env, const X86Insn *in)
{
    x86_reg_write(env, R_EAX, 1, x86_get_cf(env) ? 0xff : 0);
}

static void ctl_xlat(X86CPUState *env, const X86Insn *in)
{
    uint64_t ea = (env->regs[R_EBX] + (env->regs[R_EAX] & 0xff)) &
                  x86_size_mask(in->asize);
    x86_reg_write(env, R_EAX, 1, x86_ld8(env, in->seg, ea));
}

static void ctl_nop(X86CPUState *env, const X86Insn *in)
{
}

/* NOP; PAUSE also lets the other vCPUs run (spin loops use it). */
static void ctl_nop_pause(X86CPUState *env, const X86Insn *in)
{
    if (x86_insn_is_pause(in) && env->io->pause) {
        env->io->pause(env->io->opaque);
    }
}

/*
 * Memory order.  Guest loads and stores are host loads and stores, and
 * the host is x86 too: its total store order (SDM vol 3A 8.2.2) is the
 * order the guest expects, so plain accesses need no fences; locked
 * instructions are host locked instructions (exec-atomic.c), full
 * barriers both.  What TSO lets a processor do, a later load passing an
 * earlier store, MFENCE forbids: it becomes a host fence.  LFENCE and
 * SFENCE order nothing that TSO does not on write-back memory (non-
 * temporal stores are plain stores here).  smp64's message-passing and
 * store-buffering cases check both.
 */
static void ctl_fence(X86CPUState *env, const X86Insn *in)
{
    if ((in->reg & 7) == 6) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}

static void ctl_bound(X86CPUState *env, const X86Insn *in)
{
    unsigned sz = in->osize;
    uint64_t ea = x86_ea(env, in);
    int64_t idx = x86_sext(x86_reg_read(env, in->reg, sz), sz);
    int64_t lo = x86_sext(x86_mem_read(env, in->seg, ea, sz), sz);
    int64_t hi = x86_sext(x86_mem_read(env, in->seg, ea + sz, sz), sz);
    if (idx < lo || idx > hi) {
        x86_raise_exception(env, EXCP_BR);
    }
}

void x86_exec_ctl_init(void)
{
    x86_exec_register(X86_OP_JCC, ctl_jcc);
    x86_exec_register(X86_OP_JMP, ctl_jmp);
    x86_exec_register(X86_OP_CALL, ctl_call);
    x86_exec_register(X86_OP_JMP_IND, ctl_jmp_ind);
    x86_exec_register(X86_OP_CALL_IND, ctl_call_ind);
    x86_exec_register(X86_OP_RET, ctl_ret);
    x86_exec_register(X86_OP_LOOP, ctl_loop);
    x86_exec_register(X86_OP_LOOPE, ctl_loop);
    x86_exec_register(X86_OP_LOOPNE, ctl_loop);
    x86_exec_register(X86_OP_JCXZ, ctl_loop);
    x86_exec_register(X86_OP_PUSH, ctl_push);
    x86_exec_register(X86_OP_POP, ctl_pop);
    x86_exec_register(X86_OP_PUSHA, ctl_pusha);
    x86_exec_register(X86_OP_POPA, ctl_popa);
    x86_exec_register(X86_OP_ENTER, ctl_enter);
    x86_exec_register(X86_OP_LEAVE, ctl_leave);
    x86_exec_register(X86_OP_CLC, ctl_flagop);
    x86_exec_register(X86_OP_STC, ctl_flagop);
    x86_exec_register(X86_OP_CMC, ctl_flagop);
    x86_exec_register(X86_OP_CLD, ctl_flagop);
    x86_exec_register(X86_OP_STD, ctl_flagop);
    x86_exec_register(X86_OP_LAHF, ctl_lahf);
    x86_exec_register(X86_OP_SAHF, ctl_sahf);
    x86_exec_register(X86_OP_DAA, ctl_daa);
    x86_exec_register(X86_OP_DAS, ctl_daa);
    x86_exec_register(X86_OP_AAA, ctl_aaa);
    x86_exec_register(X86_OP_AAS, ctl_aaa);
    x86_exec_register(X86_OP_AAM, ctl_aam);
    x86_exec_register(X86_OP_AAD, ctl_aad);
    x86_exec_register(X86_OP_SALC, ctl_salc);
    x86_exec_register(X86_OP_XLAT, ctl_xlat);
    x86_exec_register(X86_OP_NOP, ctl_nop_pause);
    x86_exec_register(X86_OP_PAUSE, ctl_nop);
    x86_exec_register(X86_OP_FENCE, ctl_fence);
    x86_exec_register(X86_OP_BOUND, ctl_bound);
}
