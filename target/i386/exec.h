/*
 * Internals of the execution side: operand access, the stack, the lazy
 * flags, and the handler tables the interpreter dispatches through.
 */
#ifndef TARGET_I386_EXEC_H
#define TARGET_I386_EXEC_H

#include "cpu.h"
#include "decode.h"

/* Every handler has this shape; it runs one decoded instruction. */
typedef void X86Handler(X86CPUState *env, const X86Insn *in);

/*
 * Run one decoded instruction: env->rip is its address on entry and the
 * next instruction's (or the branch target) on return.
 */
void x86_exec_insn(X86CPUState *env, const X86Insn *in);
/*
 * The handler of @in, for callers that keep it with the decoded
 * instruction (the block cache).  Calling it runs the instruction, but
 * only instructions flagged X86_F_END or X86_F_REP set rip themselves:
 * for the others the caller moves rip to the next instruction after it.
 */
X86Handler *x86_exec_handler(const X86Insn *in);
/*
 * The same for the block builder, which knows more: @flags_dead says
 * that the arithmetic flags this instruction writes are overwritten
 * before anything can read them (x86_exec_flags_dead()).
 */
X86Handler *x86_exec_block_handler(const X86Insn *in, bool flags_dead);
/* Run @in through its generic (table) handler: the specialised ones'
 * fallback for what they do not cover. */
void x86_exec_generic(X86CPUState *env, const X86Insn *in);
/*
 * A LOCK-prefixed instruction or XCHG with memory (x86_insn_locked()),
 * atomic against the other vCPUs (exec-atomic.c).
 */
bool x86_insn_locked(const X86Insn *in);
/* PAUSE (F3 90): a NOP that tells the X86IO the CPU spins. */
static inline bool x86_insn_is_pause(const X86Insn *in)
{
    return in->op == X86_OP_NOP && in->opcode == 0x90 &&
           (in->prefix & X86_PFX_REPZ);
}
void x86_exec_locked(X86CPUState *env, const X86Insn *in);
/* x86_mem_read/write while a locked instruction runs. */
uint64_t x86_lock_read(X86CPUState *env, int seg, uint64_t ea, unsigned size);
void x86_lock_write(X86CPUState *env, int seg, uint64_t ea, unsigned size,
                    uint64_t v);
/*
 * Specialised handlers (exec-fast.c): one per operation, operand size
 * and operand kinds for the hot instructions, so that they do no
 * generic size or location switching.  NULL when @in has none.
 */
X86Handler *x86_exec_fast_handler(const X86Insn *in, bool flags_dead);
/*
 * Flag liveness at block build: true when the @n instructions at @next
 * overwrite all six arithmetic flags before any reads them, and none of
 * them can fault or leave the block before that (so no exception frame
 * or later block sees the flags of the instruction before @next).
 */
bool x86_exec_flags_dead(const X86Insn *next, unsigned n);
/*
 * True when @in's specialised handler works on registers and immediates
 * only: it cannot fault, does not read or change rip, the mode or
 * memory.  The block loop then skips its per-instruction bookkeeping.
 */
bool x86_exec_pure(const X86Insn *in);

/* Handlers registered by each exec-*.c file into the dispatch table. */
void x86_exec_register(unsigned op, X86Handler *h);
void x86_exec_alu_init(void);
void x86_exec_ctl_init(void);
void x86_exec_str_init(void);
void x86_exec_sys_init(void);
void x86_exec_sys2_init(void);
void x86_exec_simd_init(void);     /* x87, MMX, SSE (exec-fxsave.c) */

uint32_t x86_cc_compute(X86CPUState *env);
int x86_decode_mode(const X86CPUState *env);

static inline uint64_t x86_size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

static inline int64_t x86_sext(uint64_t v, unsigned size)
{
    unsigned sh = 64 - size * 8;
    return (int64_t)(v << sh) >> sh;
}


/*
 * A resolved operand: a register (with its byte-register quirk) or a
 * memory location seg:ea.
 */
typedef struct X86Loc {
    bool mem;
    uint8_t reg;
    bool high8;             /* AH CH DH BH */
    uint8_t size;
    uint8_t seg;
    uint64_t ea;
} X86Loc;

/*
 * The common case of a memory access, inline: an access within one page
 * that the TLB maps for this kind of access, through a segment that
 * needs no check: in 64-bit mode any but FS and GS; otherwise a flat
 * (base 0, 4 GiB limit) present writable expand-up data segment, where
 * the limit and rights checks of x86_seg_linear() cannot fail and the
 * linear address is ea.  No alignment check (HF_AC) either.  That is
 * exactly what the system side's own fast path accepts (cpu.h,
 * X86TLBEntry): a matching tag is a canonical page with the rights
 * already checked, and code pages never have a write tag.  NULL: take
 * the accessors in mmu.c.
 */
static inline __attribute__((always_inline))
void *x86_fast_host(X86CPUState *env, int seg, uint64_t ea, unsigned size,
                    bool write)
{
    const X86TLBEntry *e;
    const SegmentCache *sc;
    uint64_t tag;

    if (env->hflags & HF_AC) {
        return NULL;
    }
    if (env->hflags & HF_CS64) {
        if (seg == R_FS || seg == R_GS) {
            return NULL;
        }
    } else {
        sc = &env->segs[seg];
        if (sc->base != 0 || sc->limit != UINT32_MAX ||
            (sc->flags & (DESC_P_MASK | DESC_CS_MASK | DESC_W_MASK |
                          DESC_E_MASK)) != (DESC_P_MASK | DESC_W_MASK)) {
            return NULL;
        }
    }
    if ((ea & ~X86_PAGE_MASK) + size > X86_PAGE_SIZE) {
        return NULL;
    }
    e = &env->tlb[x86_mmu_index(env)]
                 [(ea >> X86_PAGE_BITS) & (X86_TLB_SIZE - 1)];
    tag = write ? e->tag_write : e->tag_read;
    if (tag != (ea & X86_PAGE_MASK)) {
        return NULL;
    }
    return (void *)(uintptr_t)(ea + e->addend);
}

uint64_t x86_mem_read(X86CPUState *env, int seg, uint64_t ea, unsigned size);
void x86_mem_write(X86CPUState *env, int seg, uint64_t ea, unsigned size,
                   uint64_t v);

/*
 * Operand access, inline: every instruction goes through these.  The
 * decoder has located each operand (X86Insn.loc); only memory goes out
 * of line, to the system side's accessors.
 */
static inline uint64_t x86_ea(X86CPUState *env, const X86Insn *in)
{
    uint64_t ea = (int64_t)in->disp;
    if (in->rip_rel) {
        ea += env->rip + in->len;
    }
    if (in->base != X86_NOREG) {
        ea += env->regs[in->base];
    }
    if (in->index != X86_NOREG) {
        ea += env->regs[in->index] << in->scale;
    }
    return ea & x86_size_mask(in->asize);
}

/* Where operand @n is. */
static inline X86Loc x86_loc(X86CPUState *env, const X86Insn *in, int n)
{
    X86Loc l = {
        .size = in->loc[n].size, .seg = in->seg, .reg = in->loc[n].reg,
    };

    switch (in->loc[n].kind) {
    case X86_LOC_HIGH8:
        l.high8 = true;
        break;
    case X86_LOC_MEM:
        l.mem = true;
        l.ea = x86_ea(env, in);
        break;
    case X86_LOC_MOFFS:
        l.mem = true;
        l.ea = in->imm & x86_size_mask(in->asize);
        break;
    default:
        break;
    }
    return l;
}

static inline uint64_t x86_reg_read(X86CPUState *env, unsigned reg,
                                    unsigned size)
{
    return env->regs[reg] & x86_size_mask(size);
}

static inline void x86_reg_write(X86CPUState *env, unsigned reg,
                                 unsigned size, uint64_t v)
{
    uint64_t m = x86_size_mask(size);
    if (size == 4) {
        env->regs[reg] = (uint32_t)v;       /* 32-bit writes zero-extend */
    } else {
        env->regs[reg] = (env->regs[reg] & ~m) | (v & m);
    }
}

static inline uint64_t x86_loc_read(X86CPUState *env, const X86Loc *l)
{
    if (l->mem) {
        return x86_mem_read(env, l->seg, l->ea, l->size);
    }
    if (l->high8) {
        return (env->regs[l->reg] >> 8) & 0xff;
    }
    return x86_reg_read(env, l->reg, l->size);
}

static inline void x86_loc_write(X86CPUState *env, const X86Loc *l,
                                 uint64_t v)
{
    if (l->mem) {
        x86_mem_write(env, l->seg, l->ea, l->size, v);
    } else if (l->high8) {
        env->regs[l->reg] = (env->regs[l->reg] & ~UINT64_C(0xff00)) |
                            ((v & 0xff) << 8);
    } else {
        x86_reg_write(env, l->reg, l->size, v);
    }
}

/* Operand n's value: locations and immediates alike. */
static inline uint64_t x86_opnd_read(X86CPUState *env, const X86Insn *in,
                                     int n)
{
    const X86OpndLoc *o = &in->loc[n];
    X86Loc l;

    switch (o->kind) {
    case X86_LOC_IMM:
        return in->imm;
    case X86_LOC_IMM2:
        return in->imm2;
    case X86_LOC_ONE:
        return 1;
    case X86_LOC_REG:
        return env->regs[o->reg] & x86_size_mask(o->size);
    case X86_LOC_HIGH8:
        return (env->regs[o->reg] >> 8) & 0xff;
    default:
        l = x86_loc(env, in, n);
        return x86_loc_read(env, &l);
    }
}

/* Stack: width from the mode and SS.B. */
unsigned x86_stack_size(const X86CPUState *env);
void x86_push(X86CPUState *env, unsigned size, uint64_t v);
uint64_t x86_pop(X86CPUState *env, unsigned size);

/* The address of the next instruction, wrapped to the code size. */
uint64_t x86_next_rip(const X86CPUState *env, const X86Insn *in);
/* Branch to @target (truncated to the operand size). */
void x86_jump(X86CPUState *env, const X86Insn *in, uint64_t target);
/* Jcc/SETcc/CMOVcc condition 0-15 (SDM vol 1 appendix B). */
bool x86_cond(X86CPUState *env, unsigned cc);

static inline void x86_set_cc(X86CPUState *env, unsigned op, unsigned size,
                              uint64_t dst, uint64_t src)
{
    env->cc_op = op + __builtin_ctz(size);
    env->cc_dst = dst;
    env->cc_src = src;
}

/*
 * CF alone, cheaply for the CC_OP groups where it is one comparison;
 * the others (EFLAGS aside) go through x86_cc_compute().
 */
static inline unsigned x86_cf_inline(X86CPUState *env)
{
    unsigned op = env->cc_op;
    unsigned bits = 8u << ((op - 1) & 3);
    uint64_t m = x86_size_mask(bits / 8), s = env->cc_src;

    if (op == CC_OP_EFLAGS || op >= CC_OP_NB) {
        return s & CF_MASK;
    }
    switch ((op - 1) >> 2) {
    case 0:     /* ADD: the result wrapped below the addend */
        return (env->cc_dst & m) < (s & m);
    case 2:     /* SUB: the first operand was below the second */
        return ((env->cc_dst + s) & m) < (s & m);
    case 4:     /* LOGIC */
        return 0;
    case 5: case 6: case 9:     /* INC/DEC keep CF; MUL: high half */
        return s != 0;
    case 7:     /* SHL: the last bit shifted out of the top */
        return (s >> (bits - 1)) & 1;
    case 8:     /* SAR/SHR: the last bit shifted out of the bottom */
        return s & 1;
    default:    /* ADC, SBB */
        return x86_cc_compute(env) & CF_MASK;
    }
}

/*
 * ADD OR ADC SBB AND SUB XOR CMP TEST of @a and @b (both masked to
 * @size): the result, with the lazy flags recorded.  Inline, so that
 * the specialised handlers (constant @op and @size) lose the switch.
 */
static inline __attribute__((always_inline))
uint64_t x86_alu(X86CPUState *env, unsigned op, unsigned size, uint64_t a,
                 uint64_t b)
{
    uint64_t r, cin;

    switch (op) {
    case X86_OP_ADD:
        r = a + b;
        x86_set_cc(env, CC_OP_ADDB, size, r, b);
        return r;
    case X86_OP_ADC: case X86_OP_SBB:
        cin = x86_cf_inline(env);
        r = op == X86_OP_ADC ? a + b + cin : a - b - cin;
        x86_set_cc(env, op == X86_OP_ADC ? CC_OP_ADCB : CC_OP_SBBB, size,
                   r, b);
        env->cc_src2 = cin;
        return r;
    case X86_OP_AND: case X86_OP_TEST: case X86_OP_OR: case X86_OP_XOR:
        r = op == X86_OP_OR ? a | b : op == X86_OP_XOR ? a ^ b : a & b;
        x86_set_cc(env, CC_OP_LOGICB, size, r, 0);
        return r;
    default:    /* SUB, CMP */
        r = a - b;
        x86_set_cc(env, CC_OP_SUBB, size, r, b);
        return r;
    }
}

/* Condition @cc from the whole computed flags (the slow way). */
bool x86_cond_flags(X86CPUState *env, unsigned cc);

/*
 * Jcc/SETcc/CMOVcc condition @cc straight from the lazy operands where
 * that is cheap: ZF and SF of every CC_OP group come from the result,
 * and after SUB/CMP and the logic group the rest is a comparison (SDM
 * vol 1 table B-1).
 */
static inline __attribute__((always_inline))
bool x86_cond_inline(X86CPUState *env, unsigned cc)
{
    unsigned op = env->cc_op, group = (op - 1) >> 2;
    unsigned bits = 8u << ((op - 1) & 3);
    uint64_t m = x86_size_mask(bits / 8), res = env->cc_dst & m, a, b;
    bool r;

    if (op == CC_OP_EFLAGS || op >= CC_OP_NB) {
        return x86_cond_flags(env, cc);
    }
    switch (cc >> 1) {
    case 2:
        return (res == 0) ^ (cc & 1);
    case 4:
        return ((res >> (bits - 1)) & 1) ^ (cc & 1);
    default:
        break;
    }
    if (group == (CC_OP_SUBB - 1) >> 2) {
        b = env->cc_src & m;
        a = (res + b) & m;
        switch (cc >> 1) {
        case 1: r = a < b; break;
        case 3: r = a <= b; break;
        case 6: r = x86_sext(a, bits / 8) < x86_sext(b, bits / 8); break;
        case 7: r = x86_sext(a, bits / 8) <= x86_sext(b, bits / 8); break;
        default: return x86_cond_flags(env, cc);
        }
        return r ^ (cc & 1);
    }
    if (group == (CC_OP_LOGICB - 1) >> 2) {
        /* CF = OF = 0 */
        switch (cc >> 1) {
        case 0: case 1: r = false; break;
        case 3: r = res == 0; break;
        case 6: r = (res >> (bits - 1)) & 1; break;
        case 7: r = res == 0 || ((res >> (bits - 1)) & 1); break;
        default: return x86_cond_flags(env, cc);
        }
        return r ^ (cc & 1);
    }
    return x86_cond_flags(env, cc);
}

static inline bool x86_is_64(const X86CPUState *env)
{
    return env->hflags & HF_CS64;
}

#endif
