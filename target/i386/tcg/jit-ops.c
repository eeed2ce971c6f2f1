/*
 * The block translator's instruction translators: each hot integer
 * instruction as host instructions on the guest registers in env, with
 * the soft TLB's fast path inline and stubs for its misses (tcg-jit.c),
 * and the lazy flags recorded as the specialised handlers
 * (target/i386/exec-fast.c) record them.  An instruction none of them
 * takes is left to its handler (jit_generic() in tcg-jit.c).
 */
#include "jit-ops.h"

/*
 * Store a guest register from a host one.  A 4-byte value must be
 * zero-extended in @r (as every 32-bit host operation leaves it): it is
 * stored as the 8 bytes a 32-bit register write leaves.
 */
void jit_greg_store(JitCtx *c, unsigned size, unsigned g, JaReg r)
{
    JaReg h = jit_greg_host(c, g);

    if (h == JA_NOREG) {
        ja_store(&c->a, size == 4 ? 8 : size, greg(g), r);
        return;
    }
    /*
     * As the guest's writes: 1 and 2 bytes merge, 4 zero-extend (@r
     * itself when the value was made in place, zero-extended).
     */
    if (r != h) {
        ja_mov_rr(&c->a, size, h, r);
    }
    jit_greg_dirty(c, g);
}

/*
 * Where to make a @size-byte value for guest register @g: its cached
 * register when the value fills it (4 and 8 bytes, zero-extended), else
 * RAX (for jit_greg_store() to merge).
 */
static JaReg jit_greg_target(const JitCtx *c, unsigned size, unsigned g)
{
    JaReg h = jit_greg_host(c, g);

    return h != JA_NOREG && size >= 4 ? h : JA_RAX;
}

void jit_greg_load(JitCtx *c, unsigned size, JaReg r, unsigned g)
{
    JaReg h = jit_greg_host(c, g);

    if (h == JA_NOREG) {
        ja_load(&c->a, size, r, greg(g));
    } else if (size >= 4) {
        ja_mov_rr(&c->a, size, r, h);
    } else {
        ja_movx_rr(&c->a, false, size, r, h);
    }
}

/* The effective address of @in's memory operand into @r (uses RDX). */
static bool jit_ea(JitCtx *c, const X86Insn *in, JaReg r)
{
    if (in->rip_rel) {
        int64_t d = (int64_t)c->next + in->disp;

        if (d != (int32_t)d) {
            return false;
        }
        ja_lea(&c->a, r, ja_mem(JA_R12, d));
    } else if (in->base != X86_NOREG || in->index != X86_NOREG) {
        /* Cached registers take part as they are (jit_greg_host()). */
        JaReg b = JA_NOREG, x = JA_NOREG;

        if (in->base != X86_NOREG) {
            b = jit_greg_host(c, in->base);
            if (b == JA_NOREG) {
                ja_load(&c->a, 8, r, greg(in->base));
                b = r;
            }
        }
        if (in->index != X86_NOREG) {
            x = jit_greg_host(c, in->index);
            if (x == JA_NOREG) {
                x = b == r ? JA_RDX : r;
                ja_load(&c->a, 8, x, greg(in->index));
            }
        }
        if (x != JA_NOREG || in->disp || b != r) {
            ja_lea(&c->a, r, (JaMem){ .base = b, .index = x,
                                      .scale = x != JA_NOREG ? in->scale : 0,
                                      .disp = in->disp });
        }
    } else {
        ja_mov_imm(&c->a, r, (uint64_t)(int64_t)in->disp);
    }
    jit_wrap(c, in->asize, r);
    return true;
}

/* FS and GS have bases in 64-bit mode; the other segments do not. */
static bool jit_seg_has_base(unsigned seg)
{
    return seg == R_FS || seg == R_GS;
}

/*
 * Outside 64-bit mode: may @size bytes through segment @seg be accessed
 * natively, as the segment was when the block was translated?  It must
 * be one the entry checks (c->seg_mask), present, allow the access
 * (SDM vol 3A 5.7: data read/write, code readable) and be expand-up
 * (expand-down ones go to the handler), with a limit the access fits.
 */
static bool jit_seg_usable(JitCtx *c, unsigned seg, unsigned size,
                           bool write)
{
    const TcgJitSeg *sc = &c->segs[seg];
    uint32_t f = sc->flags;

    if (!(c->seg_mask & (1u << seg)) || !(f & DESC_P_MASK) ||
        sc->limit < size - 1) {
        return false;
    }
    if (f & DESC_CS_MASK) {
        return !write && (f & DESC_R_MASK);
    }
    return (!write || (f & DESC_W_MASK)) && !(f & DESC_E_MASK);
}

/*
 * RSI = the offset of @size bytes through segment @seg: check it against
 * the limit (a branch for the next jit_tlb() to give its stub, which
 * makes the accessor raise the fault), then add the base, wrapping at
 * 4 GiB.  A flat segment needs no check: an access past 4 GiB misses
 * the TLB, whose tags are below it.
 */
static void jit_seg_offset(JitCtx *c, unsigned seg, unsigned size)
{
    const TcgJitSeg *sc = &c->segs[seg];
    uint32_t base = (uint32_t)sc->base;

    if ((base || sc->limit != UINT32_MAX) &&
        (size > 1 || sc->limit != UINT32_MAX)) {
        ja_alu_ri(&c->a, JA_CMP, 4, JA_RSI,
                  (int32_t)(sc->limit - (size - 1)));
        c->limit_from = ja_jcc(&c->a, CC_A);
    }
    if (base) {
        ja_alu_ri(&c->a, JA_ADD, 4, JA_RSI, (int32_t)base);
    }
}

/*
 * The linear address of @in's memory operand into RSI for @size bytes
 * (@write: stored): the effective address plus the segment base (uses
 * RDX).  The stubs of its accesses take the base off again for the
 * accessors, which want seg:ea.  False: the handler must do it.
 */
bool jit_mem_addr(JitCtx *c, const X86Insn *in, unsigned size, bool write)
{
    if (c->segmented && !jit_seg_usable(c, in->seg, size, write)) {
        return false;
    }
    if (!jit_ea(c, in, JA_RSI)) {
        return false;
    }
    if (c->segmented) {
        jit_seg_offset(c, in->seg, size);
    } else if (jit_seg_has_base(in->seg)) {
        ja_alu_rm(&c->a, JA_ADD, 8, JA_RSI,
                  env_mem(ENV_OFF(segs[in->seg].base)));
    }
    return true;
}

/*
 * The soft TLB's fast path for @size bytes at linear RSI: on a hit RSI
 * becomes the host address and the code goes on; on a miss it jumps to
 * a stub of @kind (returned, for the caller to complete).  Clobbers RAX,
 * RDX and the flags.  A hit needs the whole access in the entry's page
 * (the tag of the last byte's page must match) and the rights for it.
 */
JitStub *jit_tlb(JitCtx *c, unsigned size, bool write, JitStubKind kind)
{
    int32_t tag = c->tlb + (write ? offsetof(X86TLBEntry, tag_write)
                                  : offsetof(X86TLBEntry, tag_read));
    int32_t addend = c->tlb + offsetof(X86TLBEntry, addend);
    JaMem entry_tag = { .base = JA_RBX, .index = JA_RAX, .disp = tag };
    JaMem entry_addend = { .base = JA_RBX, .index = JA_RAX, .disp = addend };
    JitStub *s;

    jit_tlb_slot(c, JA_RAX, JA_RSI);
    if (size > 1) {
        ja_lea(&c->a, JA_RDX, ja_mem(JA_RSI, size - 1));
    } else {
        ja_mov_rr(&c->a, 8, JA_RDX, JA_RSI);
    }
    ja_alu_ri(&c->a, JA_AND, 8, JA_RDX, (int32_t)X86_PAGE_MASK);
    ja_alu_rm(&c->a, JA_CMP, 8, JA_RDX, entry_tag);
    s = jit_stub(c, kind, ja_jcc(&c->a, CC_NE));
    ja_alu_rm(&c->a, JA_ADD, 8, JA_RSI, entry_addend);
    s->size = size;
    s->from_limit = c->limit_from;
    c->limit_from = NULL;
    return s;
}

bool jit_mem_whole(JitCtx *c, const X86Insn *in, unsigned size, bool write,
                   unsigned align, JitStub **stubs)
{
    stubs[0] = NULL;
    if (!jit_mem_addr(c, in, size, write)) {
        return false;
    }
    if (align > 1) {
        ja_test_ri(&c->a, 4, JA_RSI, align - 1);
        stubs[0] = jit_stub(c, STUB_GENERIC, ja_jcc(&c->a, CC_NE));
        stubs[0]->insn = in;
    }
    stubs[1] = jit_tlb(c, size, write, STUB_GENERIC);
    stubs[1]->insn = in;
    return true;
}

void jit_whole_rejoin(JitCtx *c, JitStub **stubs)
{
    for (int k = 0; k < 2; k++) {
        if (stubs[k]) {
            stubs[k]->back = c->a.p;
        }
    }
}

/* Load @size bytes of guest memory at RSI (segment @seg) into RAX. */
void jit_load(JitCtx *c, unsigned size, unsigned seg)
{
    JitStub *s = jit_tlb(c, size, false, STUB_LOAD);

    s->seg = seg;
    ja_load(&c->a, size, JA_RAX, ja_mem(JA_RSI, 0));
    s->back = c->a.p;
}

/* Store the low @size bytes of RCX at guest RSI (segment @seg). */
void jit_store(JitCtx *c, unsigned size, unsigned seg)
{
    JitStub *s = jit_tlb(c, size, true, STUB_STORE);

    s->seg = seg;
    ja_store(&c->a, size, ja_mem(JA_RSI, 0), JA_RCX);
    s->back = c->a.p;
}

/*
 * The lazy flags, as fast_cc() in exec-fast.c records them; without the
 * stores that change nothing: cc_op when every path here left it so
 * (a loop's SUB after SUB), cc_src of a logic operation (never read).
 */
static void jit_cc(JitCtx *c, unsigned ccop, unsigned size, JaReg dst,
                   JaReg src)
{
    int op = (int)(ccop + __builtin_ctz(size));

    if (c->cc_op_known != op) {
        ja_store_imm(&c->a, 4, env_mem(ENV_OFF(cc_op)), op);
        c->cc_op_known = op;
    }
    c->cc_group = ccop;
    c->cc_size = size;
    ja_store(&c->a, 8, env_mem(ENV_OFF(cc_dst)), dst);
    if (ccop == CC_OP_LOGICB) {
        return;
    }
    if (src == JA_NOREG) {
        ja_store_imm(&c->a, 8, env_mem(ENV_OFF(cc_src)), 0);
    } else {
        ja_store(&c->a, 8, env_mem(ENV_OFF(cc_src)), src);
    }
}

/* An immediate for a 32-bit host field, or false when it does not fit. */
static bool jit_imm32(uint64_t imm, unsigned size, int32_t *out)
{
    int64_t v = size == 8 ? (int64_t)imm : x86_sext(imm, size);

    *out = (int32_t)v;
    return v == (int32_t)v;
}

/*
 * MOV, MOVZX, MOVSX and LEA without a memory access leave the host
 * flags alone (moves and LEA only): @live goes on past them, so that
 * CMP; MOV; Jcc branches on the host flags.
 */
static bool jit_mov(JitCtx *c, const X86Insn *in, bool live)
{
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];
    unsigned size = d->size;

    if (d->kind == X86_LOC_REG) {
        JaReg t = jit_greg_target(c, size, d->reg);

        if (s->kind == X86_LOC_REG) {
            jit_greg_load(c, size, t, s->reg);
            c->hf_live = live;
        } else if (s->kind == X86_LOC_IMM) {
            ja_mov_imm(&c->a, t, in->imm & x86_size_mask(size));
            c->hf_live = live;
        } else {
            if (!jit_mem_addr(c, in, size, false)) {
                return false;
            }
            jit_load(c, size, in->seg);
            t = JA_RAX;
        }
        jit_greg_store(c, size, d->reg, t);
        return true;
    }
    if (!jit_mem_addr(c, in, size, true)) {
        return false;
    }
    if (s->kind == X86_LOC_REG) {
        jit_greg_load(c, size, JA_RCX, s->reg);
    } else {
        ja_mov_imm(&c->a, JA_RCX, in->imm & x86_size_mask(size));
    }
    jit_store(c, size, in->seg);
    return true;
}

static bool jit_movx(JitCtx *c, const X86Insn *in, bool live)
{
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];

    if (s->kind == X86_LOC_REG) {
        jit_greg_load(c, s->size, JA_RAX, s->reg);
        c->hf_live = live;
    } else {
        if (!jit_mem_addr(c, in, s->size, false)) {
            return false;
        }
        jit_load(c, s->size, in->seg);
    }
    if (in->op != X86_OP_MOVZX) {
        ja_movx_rr(&c->a, true, s->size, JA_RAX, JA_RAX);
        if (d->size == 4) {
            jit_wrap(c, 4, JA_RAX);     /* sign-extended to 64 bits */
        }
    }
    jit_greg_store(c, d->size, d->reg, JA_RAX);
    return true;
}

static bool jit_lea(JitCtx *c, const X86Insn *in, bool live)
{
    unsigned size = in->loc[0].size;
    JaReg t = jit_greg_target(c, size, in->loc[0].reg);

    /* Straight into a cached register unless jit_ea() needs scratch. */
    if ((in->base != X86_NOREG && jit_greg_host(c, in->base) == JA_NOREG) ||
        (in->index != X86_NOREG && jit_greg_host(c, in->index) == JA_NOREG)) {
        t = JA_RAX;
    }
    if (!jit_ea(c, in, t)) {
        return false;
    }
    c->hf_live = live;
    if (size == 4 && in->asize == 8) {
        jit_wrap(c, 4, t);
    }
    jit_greg_store(c, size, in->loc[0].reg, t);
    return true;
}

/* The CC_OP group and host operation of an ALU instruction. */
static bool jit_alu_op(unsigned op, int *hop, unsigned *ccop)
{
    switch (op) {
    case X86_OP_ADD: *hop = JA_ADD; *ccop = CC_OP_ADDB; return true;
    case X86_OP_SUB: case X86_OP_CMP:
        *hop = JA_SUB; *ccop = CC_OP_SUBB; return true;
    case X86_OP_AND: case X86_OP_TEST:
        *hop = JA_AND; *ccop = CC_OP_LOGICB; return true;
    case X86_OP_OR:  *hop = JA_OR;  *ccop = CC_OP_LOGICB; return true;
    case X86_OP_XOR: *hop = JA_XOR; *ccop = CC_OP_LOGICB; return true;
    default: return false;
    }
}

/*
 * @r op @src (or the immediate), then the lazy flags.  CMP and TEST
 * (@ro) work on a copy in RDX: their result is only for the flags.
 */
static void jit_alu_apply(JitCtx *c, int hop, unsigned ccop, unsigned size,
                          JaReg r, JaReg src, bool ro, bool imm_src,
                          int32_t imm, bool dead)
{
    bool logic = ccop == CC_OP_LOGICB;

    if (ro) {
        ja_mov_rr(&c->a, 8, JA_RDX, r);
        r = JA_RDX;
    }
    if (imm_src && !logic && !dead) {
        /* ADD/SUB record the source for the flags: put it in RCX. */
        ja_mov_imm(&c->a, JA_RCX, (uint64_t)(int64_t)imm);
        imm_src = false;
        src = JA_RCX;
    }
    if (imm_src) {
        ja_alu_ri(&c->a, hop, size, r, imm);
    } else {
        ja_alu_rr(&c->a, hop, size, r, src);
    }
    if (!dead) {
        jit_cc(c, ccop, size, r, logic ? JA_NOREG : src);
    }
}

/*
 * Would the flags an instruction records never be read, because the next
 * one is INC or DEC of a register?  Translated, that takes CF from the
 * host flags (jit_binop() leaves them live for its register and compare
 * forms) and records the flags itself; it cannot fault in between.  The
 * -O2 loop ending "sub; dec; jnz" recorded twice per iteration.
 */
static bool jit_next_records_cf(const JitCtx *c)
{
    const X86Insn *next;

    if (c->i + 1 >= c->tb->n) {
        return false;
    }
    next = &c->tb->ops[c->i + 1].insn;
    return (next->op == X86_OP_INC || next->op == X86_OP_DEC) &&
           next->loc[0].kind == X86_LOC_REG && !x86_insn_locked(next) &&
           x86_exec_fast_handler(next, false);
}

static bool jit_binop(JitCtx *c, const TcgOp *op)
{
    const X86Insn *in = &op->insn;
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];
    unsigned size = d->size, ccop;
    bool ro = in->op == X86_OP_CMP || in->op == X86_OP_TEST;
    bool imm_src = s->kind == X86_LOC_IMM;
    int32_t imm = 0;
    int hop;
    JitStub *st;
    JaReg dst, src = JA_RCX;

    if (!jit_alu_op(in->op, &hop, &ccop) ||
        (imm_src && !jit_imm32(in->imm, size, &imm))) {
        return false;
    }
    if (d->kind == X86_LOC_REG) {
        if (s->kind == X86_LOC_MEM) {
            if (!jit_mem_addr(c, in, size, false)) {
                return false;
            }
            jit_load(c, size, in->seg);
            ja_mov_rr(&c->a, 8, JA_RCX, JA_RAX);
        } else if (s->kind == X86_LOC_REG) {
            /*
             * A cached source as it is, where the flags record no more
             * than its @size bytes (logic: none; 8 bytes: all of it),
             * unless it is the destination (the record wants it as it
             * was).
             */
            src = jit_greg_host(c, s->reg);
            if (src == JA_NOREG || s->reg == d->reg ||
                (size != 8 && ccop != CC_OP_LOGICB)) {
                src = JA_RCX;
                jit_greg_load(c, size, src, s->reg);
            }
        }
        dst = jit_greg_host(c, d->reg);
        if (dst == JA_NOREG || size < 4) {
            /* (A cached byte or word would record its upper bits.) */
            dst = JA_RAX;
            jit_greg_load(c, size, dst, d->reg);
        }
        jit_alu_apply(c, hop, ccop, size, dst, src, ro, imm_src, imm,
                      op->flags_dead || jit_next_records_cf(c));
        if (!ro) {
            jit_greg_store(c, size, d->reg, dst);
        }
        c->hf_live = true;
        return true;
    }
    /* Memory destination. */
    if (!jit_mem_addr(c, in, size, !ro)) {
        return false;
    }
    if (ro) {
        jit_load(c, size, in->seg);
        if (!imm_src) {
            jit_greg_load(c, size, JA_RCX, s->reg);
        }
        jit_alu_apply(c, hop, ccop, size, JA_RAX, JA_RCX, ro, imm_src, imm,
                      op->flags_dead || jit_next_records_cf(c));
        c->hf_live = true;
        return true;
    }
    /* Read-modify-write: on a TLB miss the generic handler does it all. */
    st = jit_tlb(c, size, true, STUB_GENERIC);
    st->insn = in;
    if (!imm_src) {
        jit_greg_load(c, size, JA_RCX, s->reg);
    }
    ja_load(&c->a, size, JA_RAX, ja_mem(JA_RSI, 0));
    jit_alu_apply(c, hop, ccop, size, JA_RAX, JA_RCX, ro, imm_src, imm,
                  op->flags_dead);
    ja_store(&c->a, size, ja_mem(JA_RSI, 0), JA_RAX);
    st->back = c->a.p;
    return true;
}

static bool jit_flags_redo(JitCtx *c);
static void jit_flags_of_record(JitCtx *c, int group, unsigned size);

/*
 * The host CF = the guest's, from env's lazy flags whatever recorded
 * them (the block's start): inline when the record is a SUB (CMP) of 1,
 * 4 or 8 bytes (jit_flags_of_record()), else through x86_get_cf().  CMP
 * of a byte then a block that begins with INC is the -Os loop (inc; cmp
 * byte [..]; jne): 50 million calls to x86_get_cf() in the parallel
 * workload, 80% of them.
 */
static void jit_carry_from_env(JitCtx *c)
{
    static const unsigned sizes[] = { 1, 4, 8 };
    JitAsm *a = &c->a;
    uint8_t *done[G_N_ELEMENTS(sizes)];

    ja_load(a, 4, JA_RAX, env_mem(ENV_OFF(cc_op)));
    for (unsigned k = 0; k < G_N_ELEMENTS(sizes); k++) {
        uint8_t *other;

        ja_alu_ri(a, JA_CMP, 4, JA_RAX,
                  CC_OP_SUBB + __builtin_ctz(sizes[k]));
        other = ja_jcc(a, CC_NE);
        jit_flags_of_record(c, CC_OP_SUBB, sizes[k]);
        done[k] = ja_jmp(a);
        ja_patch(a, other, a->p);
    }
    jit_call_env(c, x86_get_cf, false, 0);
    ja_bt_ri(a, 4, JA_RAX, 0);
    for (unsigned k = 0; k < G_N_ELEMENTS(sizes); k++) {
        ja_patch(a, done[k], a->p);
    }
}

/*
 * Make the host CF the guest's (it is already when the host flags are
 * live; otherwise it is redone from the block's own record or worked out
 * from the lazy flags, which clobbers the caller-saved registers) and put
 * it in EDX as 0 or 1.
 */
static void jit_carry_in(JitCtx *c, bool live)
{
    if (!live && !jit_flags_redo(c)) {
        jit_carry_from_env(c);
    }
    ja_setcc(&c->a, CC_C, JA_RDX);
    ja_movx_rr(&c->a, false, 1, JA_RDX, JA_RDX);
}

/*
 * INC DEC NEG NOT of a register, or of memory (not locked: the kernel's
 * preempt count, "incl/decl %gs:...", around every spinlock, was 190k
 * calls to the handler in a boot).  INC and DEC keep CF: it goes in
 * their lazy flags, taken before the memory form's address and TLB
 * check, which clobber RDX and the flags (so it moves to RCX).  On a TLB
 * miss the handler does it all, and rejoins with other host flags.
 */
static bool jit_unop(JitCtx *c, const TcgOp *op, bool live)
{
    const X86Insn *in = &op->insn;
    unsigned size = in->loc[0].size, reg = in->loc[0].reg;
    bool dead = op->flags_dead, mem = in->loc[0].kind == X86_LOC_MEM;
    bool incdec = in->op == X86_OP_INC || in->op == X86_OP_DEC;
    JaReg carry = mem ? JA_RCX : JA_RDX;
    JitStub *st = NULL;

    if (incdec && !dead) {
        jit_carry_in(c, live);
        if (mem) {
            ja_mov_rr(&c->a, 4, carry, JA_RDX);
        }
    }
    if (mem) {
        if (!jit_mem_addr(c, in, size, true)) {
            return false;
        }
        st = jit_tlb(c, size, true, STUB_GENERIC);
        st->insn = in;
        ja_load(&c->a, size, JA_RAX, ja_mem(JA_RSI, 0));
    } else {
        jit_greg_load(c, size, JA_RAX, reg);
    }
    switch (in->op) {
    case X86_OP_INC: case X86_OP_DEC:
        ja_incdec(&c->a, in->op == X86_OP_INC ? JA_INC : JA_DEC, size,
                  JA_RAX);
        if (!dead) {
            jit_cc(c, in->op == X86_OP_INC ? CC_OP_INCB : CC_OP_DECB, size,
                   JA_RAX, carry);
            c->hf_live = !mem;
        }
        break;
    case X86_OP_NOT:
        ja_unary(&c->a, JA_NOT, size, JA_RAX);
        break;
    default:    /* NEG: flags of 0 - a */
        ja_mov_rr(&c->a, 8, JA_RCX, JA_RAX);
        ja_unary(&c->a, JA_NEG, size, JA_RAX);
        if (!dead) {
            jit_cc(c, CC_OP_SUBB, size, JA_RAX, JA_RCX);
            c->hf_live = !mem;
        }
        break;
    }
    if (mem) {
        ja_store(&c->a, size, ja_mem(JA_RSI, 0), JA_RAX);
        st->back = c->a.p;
    } else {
        jit_greg_store(c, size, reg, JA_RAX);
    }
    return true;
}

/*
 * RDX = the guest's arithmetic flags as EFLAGS bits, from the host flags
 * when the last record is one whose flags the host computes alike (AF of
 * a logic operation aside: the guest's is 0), else from the record.
 * Clobbers RAX RCX and the caller-saved registers.
 */
static void jit_flags_to_rdx(JitCtx *c, bool live)
{
    JitAsm *a = &c->a;
    bool exact = c->cc_group == CC_OP_ADDB || c->cc_group == CC_OP_SUBB ||
                 c->cc_group == CC_OP_LOGICB;

    if (exact && (live || jit_flags_redo(c))) {
        ja_byte(a, 0x9c);                       /* PUSHFQ */
        ja_pop(a, JA_RDX);
        ja_alu_ri(a, JA_AND, 4, JA_RDX,
                  c->cc_group == CC_OP_LOGICB ? CC_MASK & ~AF_MASK : CC_MASK);
        return;
    }
    jit_call_env(c, x86_cc_compute, false, 0);
    ja_mov_rr(a, 4, JA_RDX, JA_RAX);
}

/*
 * ROL/ROR by a count with the flags wanted: CF and OF from the result
 * (as exec-fast.c's fast_shift(), OF too for counts above 1), the other
 * flags kept, all recorded as CC_OP_EFLAGS.
 */
static bool jit_rotate(JitCtx *c, const TcgOp *op, bool live, unsigned cnt)
{
    const X86Insn *in = &op->insn;
    JitAsm *a = &c->a;
    unsigned size = in->loc[0].size, reg = in->loc[0].reg, bits = size * 8;
    bool rol = in->op == X86_OP_ROL;

    if (cnt == 0) {
        /* Flags (host ones too) unchanged; a 32-bit register is written. */
        jit_greg_load(c, size, JA_RAX, reg);
        jit_greg_store(c, size, reg, JA_RAX);
        c->hf_live = live;
        return true;
    }
    jit_flags_to_rdx(c, live);
    ja_alu_ri(a, JA_AND, 4, JA_RDX, CC_MASK & ~(CF_MASK | OF_MASK));
    jit_greg_load(c, size, JA_RAX, reg);
    ja_shift_ri(a, rol ? JA_ROL : JA_ROR, size, JA_RAX, cnt);
    /* RCX = CF, RSI = OF, from the zero-extended result in RAX. */
    ja_mov_rr(a, 8, JA_RCX, JA_RAX);
    ja_mov_rr(a, 8, JA_RSI, JA_RAX);
    if (rol) {
        ja_alu_ri(a, JA_AND, 4, JA_RCX, 1);
        ja_shift_ri(a, JA_SHR, 8, JA_RSI, bits - 1);
    } else {
        ja_shift_ri(a, JA_SHR, 8, JA_RCX, bits - 1);
        ja_shift_ri(a, JA_SHR, 8, JA_RSI, bits - 2);
        ja_alu_ri(a, JA_AND, 4, JA_RSI, 1);
    }
    ja_alu_rr(a, JA_XOR, 4, JA_RSI, JA_RCX);
    ja_shift_ri(a, JA_SHL, 4, JA_RSI, 11);      /* OF is bit 11 */
    ja_alu_rr(a, JA_OR, 4, JA_RDX, JA_RCX);
    ja_alu_rr(a, JA_OR, 4, JA_RDX, JA_RSI);
    ja_store_imm(a, 4, env_mem(ENV_OFF(cc_op)), CC_OP_EFLAGS);
    ja_store(a, 8, env_mem(ENV_OFF(cc_src)), JA_RDX);
    c->cc_group = -1;
    c->cc_op_known = CC_OP_EFLAGS;
    jit_greg_store(c, size, reg, JA_RAX);
    return true;
}

/* SHL SHR SAR ROL ROR of a register by a constant. */
static bool jit_shift(JitCtx *c, const TcgOp *op, bool live)
{
    const X86Insn *in = &op->insn;
    unsigned size = in->loc[0].size, reg = in->loc[0].reg;
    unsigned cnt = (in->loc[1].kind == X86_LOC_ONE ? 1 : in->imm) &
                   (size == 8 ? 0x3f : 0x1f);
    int hop = in->op == X86_OP_SHR ? JA_SHR :
              in->op == X86_OP_SAR ? JA_SAR :
              in->op == X86_OP_ROL ? JA_ROL :
              in->op == X86_OP_ROR ? JA_ROR : JA_SHL;

    if ((hop == JA_ROL || hop == JA_ROR) && !op->flags_dead) {
        return jit_rotate(c, op, live, cnt);
    }

    jit_greg_load(c, size, JA_RAX, reg);
    if (cnt != 0) {
        if (op->flags_dead) {
            ja_shift_ri(&c->a, hop, size, JA_RAX, cnt);
        } else {
            /* The flags want the value shifted one bit less. */
            if (cnt > 1) {
                ja_shift_ri(&c->a, hop, size, JA_RAX, cnt - 1);
            }
            ja_mov_rr(&c->a, 8, JA_RCX, JA_RAX);
            ja_shift_ri(&c->a, hop, size, JA_RAX, 1);
            jit_cc(c, hop == JA_SHL ? CC_OP_SHLB : CC_OP_SARB, size,
                   JA_RAX, JA_RCX);
        }
    }
    jit_greg_store(c, size, reg, JA_RAX);
    return true;
}

/* SHL/SHR/SAR of a register by CL? */
static bool jit_is_shift_cl(const X86Insn *in)
{
    return (in->op == X86_OP_SHL || in->op == X86_OP_SAL ||
            in->op == X86_OP_SHR || in->op == X86_OP_SAR) &&
           in->loc[0].kind == X86_LOC_REG && in->loc[1].kind == X86_LOC_REG;
}

/*
 * The same by CL, the lazy flags recorded as jit_shift() records them;
 * a count of 0 (flags unchanged) is left to the handler.
 */
static bool jit_shift_cl(JitCtx *c, const TcgOp *op)
{
    const X86Insn *in = &op->insn;
    JitAsm *a = &c->a;
    unsigned size = in->loc[0].size, reg = in->loc[0].reg;
    int hop = in->op == X86_OP_SHR ? JA_SHR :
              in->op == X86_OP_SAR ? JA_SAR : JA_SHL;
    JitStub *s;

    jit_greg_load(c, 1, JA_RCX, R_ECX);
    ja_alu_ri(a, JA_AND, 4, JA_RCX, size == 8 ? 0x3f : 0x1f);
    s = jit_stub(c, STUB_GENERIC, ja_jcc(a, CC_E));
    s->insn = in;
    jit_greg_load(c, size, JA_RAX, reg);
    if (op->flags_dead) {
        ja_shift_cl(a, hop, size, JA_RAX);
    } else {
        /* The flags want the value shifted one bit less. */
        ja_alu_ri(a, JA_SUB, 4, JA_RCX, 1);
        ja_shift_cl(a, hop, size, JA_RAX);
        ja_mov_rr(a, 8, JA_RDX, JA_RAX);
        ja_shift_ri(a, hop, size, JA_RAX, 1);
        jit_cc(c, hop == JA_SHL ? CC_OP_SHLB : CC_OP_SARB, size,
               JA_RAX, JA_RDX);
    }
    jit_greg_store(c, size, reg, JA_RAX);
    s->back = a->p;
    return true;
}

/*
 * IMUL Gv,Ev and IMUL Gv,Ev,imm: the truncated product, CF = OF =
 * overflow.  The host's SF ZF PF after IMUL are undefined, so the
 * flags are not left live for the next instruction.
 */
static bool jit_imul(JitCtx *c, const TcgOp *op)
{
    const X86Insn *in = &op->insn;
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];
    unsigned size = d->size;
    int32_t imm = 0;

    if (in->op == X86_OP_IMUL3 && !jit_imm32(in->imm, size, &imm)) {
        return false;
    }
    if (s->kind == X86_LOC_MEM) {
        if (!jit_mem_addr(c, in, size, false)) {
            return false;
        }
        jit_load(c, size, in->seg);
        ja_mov_rr(&c->a, 8, JA_RCX, JA_RAX);
    } else {
        jit_greg_load(c, size, JA_RCX, s->reg);
    }
    if (in->op == X86_OP_IMUL3) {
        ja_imul_rri(&c->a, size, JA_RAX, JA_RCX, imm);
    } else {
        jit_greg_load(c, size, JA_RAX, d->reg);
        ja_imul_rr(&c->a, size, JA_RAX, JA_RCX);
    }
    if (!op->flags_dead) {
        ja_setcc(&c->a, CC_O, JA_RDX);
        ja_movx_rr(&c->a, false, 1, JA_RDX, JA_RDX);
        jit_cc(c, CC_OP_MULB, size, JA_RAX, JA_RDX);
    }
    jit_greg_store(c, size, d->reg, JA_RAX);
    return true;
}

/* ADC SBB of registers and immediates, the carry in from the guest CF. */
static bool jit_adc(JitCtx *c, const TcgOp *op, bool live)
{
    const X86Insn *in = &op->insn;
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];
    unsigned size = d->size;
    bool adc = in->op == X86_OP_ADC;
    int32_t imm = 0;

    if (d->kind != X86_LOC_REG ||
        (s->kind != X86_LOC_REG && s->kind != X86_LOC_IMM) ||
        (s->kind == X86_LOC_IMM && !jit_imm32(in->imm, size, &imm))) {
        return false;
    }
    jit_carry_in(c, live);
    if (s->kind == X86_LOC_REG) {
        jit_greg_load(c, size, JA_RCX, s->reg);
    } else {
        ja_mov_imm(&c->a, JA_RCX, (uint64_t)(int64_t)imm);
    }
    jit_greg_load(c, size, JA_RAX, d->reg);
    ja_alu_rr(&c->a, adc ? JA_ADC : JA_SBB, size, JA_RAX, JA_RCX);
    if (!op->flags_dead) {
        jit_cc(c, adc ? CC_OP_ADCB : CC_OP_SBBB, size, JA_RAX, JA_RCX);
        ja_store(&c->a, 8, env_mem(ENV_OFF(cc_src2)), JA_RDX);
    }
    jit_greg_store(c, size, d->reg, JA_RAX);
    c->hf_live = true;
    return true;
}

/*
 * The host flags of env's lazy record of @group (ADD, SUB or LOGIC) and
 * @size, redone from its operands (clobbers RAX RCX): the operation
 * again, or for SUB the first operand compared with the second.
 */
static void jit_flags_of_record(JitCtx *c, int group, unsigned size)
{
    JitAsm *a = &c->a;

    ja_load(a, 8, JA_RAX, env_mem(ENV_OFF(cc_dst)));
    if (group == CC_OP_LOGICB) {
        ja_test_rr(a, size, JA_RAX, JA_RAX);
        return;
    }
    ja_load(a, 8, JA_RCX, env_mem(ENV_OFF(cc_src)));
    if (group == CC_OP_SUBB) {
        ja_alu_rr(a, JA_ADD, size, JA_RAX, JA_RCX);
        ja_alu_rr(a, JA_CMP, size, JA_RAX, JA_RCX);
    } else {
        ja_alu_rr(a, JA_SUB, size, JA_RAX, JA_RCX);
        ja_alu_rr(a, JA_ADD, size, JA_RAX, JA_RCX);
    }
}

/*
 * The host flags again from the lazy flags of an ADD, SUB or logic
 * operation this block recorded: redo the operation (for SUB: a - b
 * with a = result + b; for ADD: a + b with a = result - b; logic: TEST
 * of the result).  False when the record is of another kind.
 */
static bool jit_flags_redo(JitCtx *c)
{
    if (c->cc_group != CC_OP_ADDB && c->cc_group != CC_OP_SUBB &&
        c->cc_group != CC_OP_LOGICB) {
        return false;
    }
    jit_flags_of_record(c, c->cc_group, c->cc_size);
    return true;
}

/*
 * The host condition for guest condition @cc: @cc itself when the host
 * flags are live (or can be redone from this block's record), else NE
 * after asking the lazy flags (a call, which clobbers the caller-saved
 * registers).  *@live says afterwards whether the host flags are the
 * guest's.
 */
static int jit_cond(JitCtx *c, int cc, bool *live)
{
    if (*live) {
        return cc;
    }
    if (jit_flags_redo(c)) {
        *live = true;
        return cc;
    }
    jit_call_env(c, x86_cond, true, cc);
    ja_test_rr(&c->a, 1, JA_RAX, JA_RAX);
    return CC_NE;
}

/* CMOVcc from a register and SETcc of a low byte register. */
static bool jit_cond_move(JitCtx *c, const X86Insn *in, bool live)
{
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];
    int cc;

    if (in->op == X86_OP_CMOV && s->kind != X86_LOC_REG) {
        return false;       /* the TLB check would clobber the flags */
    }
    cc = jit_cond(c, in->opcode & 15, &live);
    if (in->op == X86_OP_SETCC) {
        jit_greg_load(c, 1, JA_RAX, d->reg);
        ja_setcc(&c->a, cc, JA_RAX);
        jit_greg_store(c, 1, d->reg, JA_RAX);
    } else {
        jit_greg_load(c, d->size, JA_RAX, d->reg);
        jit_greg_load(c, d->size, JA_RCX, s->reg);
        ja_cmov(&c->a, cc, d->size == 2 ? 2 : 8, JA_RAX, JA_RCX);
        jit_greg_store(c, d->size, d->reg, JA_RAX);
    }
    c->hf_live = live;
    return true;
}

/*
 * A relative target as an offset from the block start, if it fits.
 * Outside 64-bit mode the offset is taken mod 4 GiB, as the target
 * wraps (jit_rip_lea()), when it wraps at the operand size as rip does
 * (not so a 16-bit branch in 32-bit code: its handler does it).
 */
static bool jit_rel_target(JitCtx *c, const X86Insn *in, uint32_t *target)
{
    int64_t t = (int64_t)c->next + (int64_t)in->imm;

    *target = (uint32_t)t;
    if (c->segmented) {
        return in->osize == c->ip_size;
    }
    return in->osize == 8 && t == (int32_t)t;
}

static bool jit_jcc(JitCtx *c, const X86Insn *in, bool live)
{
    uint32_t target;

    if (!jit_rel_target(c, in, &target)) {
        return false;
    }
    if (target == c->next) {
        /* Taken or not, it goes on here; the interpreter does too. */
        return true;
    }
    jit_exit_if(c, jit_cond(c, in->opcode & 15, &live), target);
    return true;
}

static bool jit_jmp(JitCtx *c, const X86Insn *in)
{
    uint32_t target;

    if (in->opnd[0] != X86_OPND_Jb && in->opnd[0] != X86_OPND_Jz) {
        return false;
    }
    if (!jit_rel_target(c, in, &target)) {
        return false;
    }
    jit_exit_chain(c, target);
    return true;
}

/*
 * The end of PUSH, POP, CALL and RET once the stack access is emitted
 * (the value in RCX, the stub @s): POP's register (operand size @os),
 * then go on, or leave: CALL and RET leave the block, a miss leaves from
 * the stub.
 */
static bool jit_stack_finish(JitCtx *c, const X86Insn *in, JitStub *s,
                             uint32_t target, unsigned os)
{
    switch (in->op) {
    case X86_OP_POP:
        jit_greg_store(c, os, in->loc[0].reg, JA_RCX);
        /* fall through */
    case X86_OP_PUSH:
        s->back = c->a.p;
        return true;
    case X86_OP_CALL:
        jit_exit_chain(c, target);
        return true;
    case X86_OP_CALL_IND:
        jit_exit_lookup(c);     /* jit_stack() set rip */
        return true;
    default:
        ja_store(&c->a, 8, env_mem(ENV_OFF(rip)), JA_RCX);
        jit_exit_lookup(c);
        return true;
    }
}

/*
 * The target of an indirect JMP or CALL (64-bit code: operand size 8,
 * rip = the target as it is) from its register or memory operand into
 * @r.  False: the handler must do it.
 */
static bool jit_branch_target(JitCtx *c, const X86Insn *in, JaReg r)
{
    const X86OpndLoc *t = &in->loc[0];

    if (c->segmented || in->osize != 8) {
        return false;
    }
    if (t->kind == X86_LOC_REG) {
        jit_greg_load(c, 8, r, t->reg);
        return true;
    }
    if (t->kind != X86_LOC_MEM || !jit_mem_addr(c, in, 8, false)) {
        return false;
    }
    jit_load(c, 8, in->seg);
    ja_mov_rr(&c->a, 8, r, JA_RAX);
    return true;
}

/* JMP through a register or memory: on at the target, looked up. */
static bool jit_jmp_ind(JitCtx *c, const X86Insn *in)
{
    if (!jit_branch_target(c, in, JA_RCX)) {
        return false;
    }
    ja_store(&c->a, 8, env_mem(ENV_OFF(rip)), JA_RCX);
    jit_exit_lookup(c);
    return true;
}

/*
 * The stack, 64-bit operands: RSI = the slot, RDI = the new RSP, RCX =
 * the value (an indirect CALL's target goes to env->rip first).  A TLB
 * miss runs the whole instruction generically.
 */
static bool jit_stack(JitCtx *c, const X86Insn *in)
{
    bool push = in->op == X86_OP_PUSH || in->op == X86_OP_CALL ||
                in->op == X86_OP_CALL_IND;
    uint32_t target = 0;
    JitStub *s;

    if (in->osize != 8 ||
        (in->op == X86_OP_CALL && !jit_rel_target(c, in, &target)) ||
        (in->op == X86_OP_CALL_IND &&
         !jit_branch_target(c, in, JA_RCX))) {
        return false;
    }
    if (in->op == X86_OP_CALL_IND) {
        /* Now: a miss below runs the whole CALL, which sets rip anew. */
        ja_store(&c->a, 8, env_mem(ENV_OFF(rip)), JA_RCX);
    }
    if (in->op == X86_OP_PUSH) {
        jit_greg_load(c, 8, JA_RCX, in->loc[0].reg);
    } else if (in->op != X86_OP_POP && in->op != X86_OP_RET) {
        ja_lea(&c->a, JA_RCX, ja_mem(JA_R12, c->next));  /* CALL */
    }
    jit_greg_load(c, 8, JA_RSI, R_ESP);
    if (push) {
        ja_lea(&c->a, JA_RSI, ja_mem(JA_RSI, -8));
        ja_mov_rr(&c->a, 8, JA_RDI, JA_RSI);
    } else {
        ja_lea(&c->a, JA_RDI, ja_mem(JA_RSI, 8));
    }
    s = jit_tlb(c, 8, push, STUB_GENERIC);
    s->insn = in;
    if (push) {
        ja_store(&c->a, 8, ja_mem(JA_RSI, 0), JA_RCX);
    } else {
        ja_load(&c->a, 8, JA_RCX, ja_mem(JA_RSI, 0));
    }
    /* POP RSP: the popped value wins over the increment. */
    jit_greg_store(c, 8, R_ESP, JA_RDI);
    return jit_stack_finish(c, in, s, target, 8);
}

/*
 * The stack outside 64-bit mode: through SS as the block was made for
 * it, a 32-bit (SS.B) or 16-bit stack pointer, 32- or 16-bit operands
 * (x86_push(), x86_pop()).  RSI = the slot, RDI = the new stack pointer,
 * RCX = the value.  A TLB miss or a limit violation runs the whole
 * instruction generically (which raises #SS).
 */
static bool jit_stack_seg(JitCtx *c, const X86Insn *in)
{
    bool push = in->op == X86_OP_PUSH || in->op == X86_OP_CALL;
    unsigned os = in->osize;
    unsigned w = (c->segs[R_SS].flags & DESC_B_MASK) ? 4 : 2;
    uint32_t target = 0;
    JitStub *s;

    if ((os != 2 && os != 4) || !jit_seg_usable(c, R_SS, os, push) ||
        (in->op == X86_OP_CALL && !jit_rel_target(c, in, &target))) {
        return false;
    }
    if (in->op == X86_OP_PUSH) {
        jit_greg_load(c, os, JA_RCX, in->loc[0].reg);
    } else if (in->op == X86_OP_CALL) {
        jit_rip_lea(c, JA_RCX, c->next);
    }
    jit_greg_load(c, 8, JA_RSI, R_ESP);
    if (push) {
        ja_lea(&c->a, JA_RSI, ja_mem(JA_RSI, -(int32_t)os));
        jit_wrap(c, w, JA_RSI);
        ja_mov_rr(&c->a, 8, JA_RDI, JA_RSI);
    } else {
        jit_wrap(c, w, JA_RSI);
        ja_lea(&c->a, JA_RDI, ja_mem(JA_RSI, os));
        jit_wrap(c, w, JA_RDI);
    }
    jit_seg_offset(c, R_SS, os);
    s = jit_tlb(c, os, push, STUB_GENERIC);
    s->insn = in;
    if (push) {
        ja_store(&c->a, os, ja_mem(JA_RSI, 0), JA_RCX);
    } else {
        ja_load(&c->a, os, JA_RCX, ja_mem(JA_RSI, 0));
    }
    /* A 16-bit stack keeps the upper half of ESP; POP ESP's value wins. */
    if (w == 4) {
        jit_greg_store(c, 4, R_ESP, JA_RDI);
    } else {
        jit_greg_store(c, 2, R_ESP, JA_RDI);
    }
    return jit_stack_finish(c, in, s, target, os);
}

/*
 * CMPXCHG with memory (locked or not): the host's LOCK CMPXCHG on RAX =
 * the accumulator, which is written back when unequal; the flags are
 * CMP's of the accumulator with the old value.  The handler's paths as
 * XCHG's (below).
 */
static bool jit_cmpxchg(JitCtx *c, const TcgOp *op)
{
    const X86Insn *in = &op->insn;
    unsigned size = in->loc[0].size;
    JitStub *stubs[2];
    uint8_t *equal;

    if (in->loc[0].kind != X86_LOC_MEM || in->loc[1].kind != X86_LOC_REG ||
        !jit_mem_whole(c, in, size, true, size, stubs)) {
        return false;
    }
    jit_greg_load(c, size, JA_RAX, R_EAX);
    jit_greg_load(c, size, JA_RCX, in->loc[1].reg);
    ja_mov_rr(&c->a, 8, JA_RDX, JA_RAX);
    ja_lock_cmpxchg_mr(&c->a, size, ja_mem(JA_RSI, 0), JA_RCX);
    equal = ja_jcc(&c->a, CC_E);
    jit_greg_store(c, size, R_EAX, JA_RAX);
    ja_patch(&c->a, equal, c->a.p);
    if (!op->flags_dead) {
        ja_alu_rr(&c->a, JA_SUB, size, JA_RDX, JA_RAX);
        /* The handler records the same; the host flags are not live
         * after its path rejoins here. */
        jit_cc(c, CC_OP_SUBB, size, JA_RDX, JA_RAX);
    }
    jit_whole_rejoin(c, stubs);
    return true;
}

/*
 * XCHG of a register with a register or with memory.  With memory it is
 * locked (SDM vol 2B: with or without the prefix), and so is the host's
 * XCHG with memory.  Its handler (exec-atomic.c) takes a TLB miss (MMIO,
 * a code page) and an address not naturally aligned, which might split
 * a cache line under a host bus lock (slow, or fatal with split lock
 * detection); so for CMPXCHG.
 */
static bool jit_xchg(JitCtx *c, const X86Insn *in)
{
    const X86OpndLoc *m = &in->loc[0], *r = &in->loc[1];
    unsigned size = r->size;
    JitStub *stubs[2];

    if (m->kind == X86_LOC_REG && r->kind == X86_LOC_MEM) {
        const X86OpndLoc *t = m;

        m = r;
        r = t;
    }
    if (r->kind != X86_LOC_REG) {
        return false;
    }
    if (m->kind == X86_LOC_REG) {
        jit_greg_load(c, size, JA_RAX, m->reg);
        jit_greg_load(c, size, JA_RCX, r->reg);
        jit_greg_store(c, size, m->reg, JA_RCX);
        jit_greg_store(c, size, r->reg, JA_RAX);
        return true;
    }
    if (m->kind != X86_LOC_MEM ||
        !jit_mem_whole(c, in, size, true, size, stubs)) {
        return false;
    }
    jit_greg_load(c, size, JA_RCX, r->reg);
    ja_xchg_mr(&c->a, size, ja_mem(JA_RSI, 0), JA_RCX);
    jit_greg_store(c, size, r->reg, JA_RCX);
    jit_whole_rejoin(c, stubs);
    return true;
}

/*
 * Instructions jit_native() may take: those it takes whatever their
 * handler, those with a fast handler, and the SSE ones.
 */
static bool jit_takes_any(const X86Insn *in)
{
    switch (in->op) {
    case X86_OP_JMP: case X86_OP_JMP_IND: case X86_OP_CALL_IND:
    case X86_OP_XCHG: case X86_OP_CMPXCHG:
        return true;
    default:
        return x86_exec_fast_handler(in, false) || jit_sse_takes(in);
    }
}

/* The native translation of @op, or false (nothing emitted) for none. */
bool jit_native(JitCtx *c, const TcgOp *op, bool live)
{
    const X86Insn *in = &op->insn;

    if (in->op == X86_OP_NOP && !(in->flags & (X86_F_END | X86_F_REP)) &&
        !x86_insn_is_pause(in)) {
        return true;
    }
    /* Taken whatever their handler (jit_takes_any()). */
    switch (in->op) {
    case X86_OP_JMP:
        return jit_jmp(c, in);
    case X86_OP_JMP_IND:
        return jit_jmp_ind(c, in);
    case X86_OP_CALL_IND:
        return jit_stack(c, in);
    case X86_OP_XCHG:
        return jit_xchg(c, in);
    case X86_OP_CMPXCHG:
        return jit_cmpxchg(c, op);
    default:
        break;
    }
    if (x86_insn_locked(in)) {
        /* Locked instructions: the atomic handler (exec-atomic.c). */
        return false;
    }
    if (jit_sse_takes(in)) {
        return jit_sse(c, in);
    }
    if (jit_is_shift_cl(in)) {
        return jit_shift_cl(c, op);
    }
    if ((in->op == X86_OP_INC || in->op == X86_OP_DEC ||
         in->op == X86_OP_NEG || in->op == X86_OP_NOT) &&
        in->loc[0].kind == X86_LOC_MEM) {
        return jit_unop(c, op, live);
    }
    if (!x86_exec_fast_handler(in, false)) {
        return false;
    }
    for (int n = 0; n < 3; n++) {
        if (in->loc[n].kind == X86_LOC_MOFFS) {
            return false;
        }
    }
    switch (in->op) {
    case X86_OP_MOV:
        return jit_mov(c, in, live);
    case X86_OP_MOVZX: case X86_OP_MOVSX: case X86_OP_MOVSXD:
        return jit_movx(c, in, live);
    case X86_OP_LEA:
        return jit_lea(c, in, live);
    case X86_OP_ADD: case X86_OP_OR: case X86_OP_AND: case X86_OP_SUB:
    case X86_OP_XOR: case X86_OP_CMP: case X86_OP_TEST:
        return jit_binop(c, op);
    case X86_OP_ADC: case X86_OP_SBB:
        return jit_adc(c, op, live);
    case X86_OP_INC: case X86_OP_DEC: case X86_OP_NEG: case X86_OP_NOT:
        return jit_unop(c, op, live);
    case X86_OP_SHL: case X86_OP_SAL: case X86_OP_SHR: case X86_OP_SAR:
    case X86_OP_ROL: case X86_OP_ROR:
        return jit_shift(c, op, live);
    case X86_OP_IMUL2: case X86_OP_IMUL3:
        return jit_imul(c, op);
    case X86_OP_CMOV: case X86_OP_SETCC:
        return jit_cond_move(c, in, live);
    case X86_OP_JCC:
        return jit_jcc(c, in, live);
    case X86_OP_PUSH: case X86_OP_POP: case X86_OP_CALL: case X86_OP_RET:
        return c->segmented ? jit_stack_seg(c, in) : jit_stack(c, in);
    default:
        return false;
    }
}

/* ---- what the translator core asks of x86 blocks (tcg-jit.c) ----- */

/* Does @op always leave the block (so nothing follows it)? */
bool jit_x86_op_leaves(const TcgOp *op)
{
    return (op->insn.flags & X86_F_END) && op->insn.op != X86_OP_JCC;
}

/* Loads a segment register and goes on (the others end the block). */
bool jit_x86_op_loads_seg(const TcgOp *op)
{
    switch (op->insn.op) {
    case X86_OP_POP_SEG: case X86_OP_LES: case X86_OP_LDS: case X86_OP_LSS:
    case X86_OP_LFS: case X86_OP_LGS:
        return true;
    default:
        return false;
    }
}

/*
 * The segments this block's native accesses may use: those of its
 * memory operands and SS for its stack operations, among the
 * instructions jit_native() may take (jit_takes_any()); CS always (where
 * links enter, it is not checked otherwise).
 */
uint8_t jit_x86_seg_scan(const TcgBlock *tb)
{
    uint8_t mask = 1u << R_CS;

    for (unsigned i = 0; i < tb->n; i++) {
        const X86Insn *in = &tb->ops[i].insn;

        if (!jit_takes_any(in)) {
            continue;
        }
        for (int n = 0; n < 3; n++) {
            if (in->loc[n].kind == X86_LOC_MEM) {
                mask |= 1u << in->seg;
            }
        }
        if (in->op == X86_OP_PUSH || in->op == X86_OP_POP ||
            in->op == X86_OP_CALL || in->op == X86_OP_RET) {
            mask |= 1u << R_SS;
        }
    }
    return mask;
}

/* Exits with a static target: Jcc, JMP, CALL and the block's end. */
unsigned jit_x86_count_links(const TcgBlock *tb)
{
    unsigned n = 1;

    for (unsigned i = 0; i < tb->n; i++) {
        unsigned op = tb->ops[i].insn.op;

        n += op == X86_OP_JCC || op == X86_OP_JMP || op == X86_OP_CALL;
    }
    return n;
}
