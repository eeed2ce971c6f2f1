/*
 * Specialised handlers for the hot integer instructions, chosen once per
 * decoded instruction (x86_exec_fast_handler()) by operation, operand
 * size and operand kinds: register, immediate or memory.  Each is the
 * generic handler of exec-alu.c with the size and kinds made constant,
 * so the compiler drops the generic switching.  They must behave exactly
 * as the generic ones (the differential tests run them: x86_exec_insn()
 * dispatches through x86_exec_handler()); what they do not cover they
 * leave to x86_exec_generic().
 *
 * The "dead" variants, picked by the block builder only, skip the
 * arithmetic flags that a later instruction of the same block overwrites
 * before anything can read them (x86_exec_flags_dead()).
 */
#include "exec.h"

#define FAST_INLINE static inline __attribute__((always_inline))

/* Operand kinds: destination then source (R register, I immediate,
 * M memory). */
enum { K_RR, K_RI, K_RM, K_MR, K_MI, K_NB };

/* A general-purpose register or memory operand, or an immediate. */
static bool fast_gpr_opnd(unsigned o)
{
    switch (o) {
    case X86_OPND_Eb: case X86_OPND_Ew: case X86_OPND_Ed: case X86_OPND_Ev:
    case X86_OPND_Ey: case X86_OPND_Eq: case X86_OPND_Gb: case X86_OPND_Gw:
    case X86_OPND_Gd: case X86_OPND_Gv: case X86_OPND_Gy: case X86_OPND_Gz:
    case X86_OPND_Zb: case X86_OPND_Zv: case X86_OPND_AL: case X86_OPND_rAX:
    case X86_OPND_Ib: case X86_OPND_Ibs: case X86_OPND_Iw: case X86_OPND_Iz:
    case X86_OPND_Iv: case X86_OPND_I1: case X86_OPND_CL:
        return true;
    default:
        return false;
    }
}

FAST_INLINE uint64_t fast_load(const void *p, unsigned sz)
{
    uint8_t b;
    uint16_t w;
    uint32_t l;
    uint64_t q;

    switch (sz) {
    case 1: memcpy(&b, p, 1); return b;
    case 2: memcpy(&w, p, 2); return w;
    case 4: memcpy(&l, p, 4); return l;
    default: memcpy(&q, p, 8); return q;
    }
}

FAST_INLINE void fast_store(void *p, unsigned sz, uint64_t v)
{
    uint8_t b = v;
    uint16_t w = v;
    uint32_t l = v;

    switch (sz) {
    case 1: memcpy(p, &b, 1); break;
    case 2: memcpy(p, &w, 2); break;
    case 4: memcpy(p, &l, 4); break;
    default: memcpy(p, &v, 8); break;
    }
}

/* A general register of kind X86_LOC_REG (never AH-BH here). */
FAST_INLINE void fast_reg_write(X86CPUState *env, unsigned reg, unsigned sz,
                                uint64_t v)
{
    uint64_t m = x86_size_mask(sz);

    if (sz == 8) {
        env->regs[reg] = v;
    } else if (sz == 4) {
        env->regs[reg] = (uint32_t)v;
    } else {
        env->regs[reg] = (env->regs[reg] & ~m) | (v & m);
    }
}

/* The memory operand, with the TLB fast path inline. */
FAST_INLINE uint64_t fast_mem_read(X86CPUState *env, const X86Insn *in,
                                   unsigned sz)
{
    uint64_t ea = x86_ea(env, in);
    void *host = x86_fast_host(env, in->seg, ea, sz, false);

    return host ? fast_load(host, sz) : x86_mem_read(env, in->seg, ea, sz);
}

FAST_INLINE void fast_mem_write(X86CPUState *env, const X86Insn *in,
                                unsigned sz, uint64_t v)
{
    uint64_t ea = x86_ea(env, in);
    void *host = x86_fast_host(env, in->seg, ea, sz, true);

    if (host) {
        fast_store(host, sz, v);
    } else {
        x86_mem_write(env, in->seg, ea, sz, v);
    }
}

/* The second operand of a two-operand form, masked to @sz. */
FAST_INLINE uint64_t fast_src(X86CPUState *env, const X86Insn *in,
                              unsigned sz, int kind)
{
    uint64_t m = x86_size_mask(sz);

    switch (kind) {
    case K_RR: case K_MR:
        return env->regs[in->loc[1].reg] & m;
    case K_RI: case K_MI:
        return in->imm & m;
    default:
        return fast_mem_read(env, in, sz);
    }
}

/*
 * ADD OR ADC SBB AND SUB XOR CMP TEST.  A read-modify-write memory
 * destination goes through one TLB lookup for writing (writable pages
 * are readable); when that misses, the generic handler does it all.
 */
FAST_INLINE void fast_binop(X86CPUState *env, const X86Insn *in,
                            unsigned op, unsigned sz, int kind)
{
    bool ro = op == X86_OP_CMP || op == X86_OP_TEST;
    uint64_t m = x86_size_mask(sz), a, b, r;
    void *host = NULL;

    if ((kind == K_MR || kind == K_MI) && !ro) {
        host = x86_fast_host(env, in->seg, x86_ea(env, in), sz, true);
        if (!host) {
            x86_exec_generic(env, in);
            return;
        }
        a = fast_load(host, sz);
    } else if (kind == K_MR || kind == K_MI) {
        a = fast_mem_read(env, in, sz);
    } else {
        a = env->regs[in->loc[0].reg] & m;
    }
    b = fast_src(env, in, sz, kind);
    r = x86_alu(env, op, sz, a, b);
    if (ro) {
        return;
    }
    if (host) {
        fast_store(host, sz, r);
    } else {
        fast_reg_write(env, in->loc[0].reg, sz, r);
    }
}

FAST_INLINE void fast_mov(X86CPUState *env, const X86Insn *in, unsigned sz,
                          int kind)
{
    switch (kind) {
    case K_RR:
        fast_reg_write(env, in->loc[0].reg, sz, env->regs[in->loc[1].reg]);
        break;
    case K_RI:
        fast_reg_write(env, in->loc[0].reg, sz, in->imm);
        break;
    case K_RM:
        fast_reg_write(env, in->loc[0].reg, sz, fast_mem_read(env, in, sz));
        break;
    case K_MR:
        fast_mem_write(env, in, sz, env->regs[in->loc[1].reg]);
        break;
    default:
        fast_mem_write(env, in, sz, in->imm);
        break;
    }
}

/* INC DEC NEG NOT of a register. */
FAST_INLINE void fast_unop(X86CPUState *env, const X86Insn *in, unsigned op,
                           unsigned sz, bool live)
{
    unsigned reg = in->loc[0].reg;
    uint64_t a = env->regs[reg] & x86_size_mask(sz), r;

    switch (op) {
    case X86_OP_INC:
        r = a + 1;
        if (live) {
            x86_set_cc(env, CC_OP_INCB, sz, r, x86_cf_inline(env));
        }
        break;
    case X86_OP_DEC:
        r = a - 1;
        if (live) {
            x86_set_cc(env, CC_OP_DECB, sz, r, x86_cf_inline(env));
        }
        break;
    case X86_OP_NEG:
        r = -a;
        if (live) {
            x86_set_cc(env, CC_OP_SUBB, sz, r, a);
        }
        break;
    default:
        r = ~a;
        break;
    }
    fast_reg_write(env, reg, sz, r);
}

/* SHL SHR SAR ROL ROR of a register by an immediate count (or 1). */
FAST_INLINE void fast_shift(X86CPUState *env, const X86Insn *in, unsigned op,
                            unsigned sz, bool live)
{
    unsigned reg = in->loc[0].reg, bits = sz * 8, c;
    unsigned cnt = (in->loc[1].kind == X86_LOC_ONE ? 1 : in->imm) &
                   (sz == 8 ? 0x3f : 0x1f);
    uint64_t m = x86_size_mask(sz), a = env->regs[reg] & m, r;
    uint32_t cf, of;

    if (cnt == 0) {
        /* Flags unchanged, but a 32-bit register is still written. */
        fast_reg_write(env, reg, sz, a);
        return;
    }
    switch (op) {
    case X86_OP_SHL:
        r = a << cnt;
        if (live) {
            x86_set_cc(env, CC_OP_SHLB, sz, r, a << (cnt - 1));
        }
        break;
    case X86_OP_SHR:
        r = a >> cnt;
        if (live) {
            x86_set_cc(env, CC_OP_SARB, sz, r, a >> (cnt - 1));
        }
        break;
    case X86_OP_SAR:
        r = (uint64_t)(x86_sext(a, sz) >> cnt);
        if (live) {
            x86_set_cc(env, CC_OP_SARB, sz, r,
                    (uint64_t)(x86_sext(a, sz) >> (cnt - 1)));
        }
        break;
    default:    /* ROL, ROR: CF and OF eagerly, the others kept */
        c = cnt % bits;
        if (op == X86_OP_ROL) {
            r = ((a << c) | (c ? a >> (bits - c) : 0)) & m;
            cf = r & 1;
            of = ((r >> (bits - 1)) & 1) ^ cf;
        } else {
            r = ((a >> c) | (c ? a << (bits - c) : 0)) & m;
            cf = (r >> (bits - 1)) & 1;
            of = ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1;
        }
        if (live) {
            uint32_t cur = x86_cc_compute(env);
            env->cc_src = (cur & ~(CF_MASK | OF_MASK)) |
                          (cf ? CF_MASK : 0) | (of ? OF_MASK : 0);
            env->cc_op = CC_OP_EFLAGS;
        }
        break;
    }
    fast_reg_write(env, reg, sz, r);
}

/* IMUL Gv,Ev and IMUL Gv,Ev,imm: truncated product, CF=OF=overflow. */
FAST_INLINE void fast_imul(X86CPUState *env, const X86Insn *in, unsigned sz,
                           bool mem, bool live)
{
    uint64_t m = x86_size_mask(sz);
    uint64_t e = mem ? fast_mem_read(env, in, sz)
                     : env->regs[in->loc[1].reg] & m;
    uint64_t o = in->op == X86_OP_IMUL3 ? in->imm
                                         : env->regs[in->loc[0].reg];
    int64_t a = x86_sext(e, sz), b = x86_sext(o & m, sz), p;
    bool ovf;

    if (sz == 8) {
        ovf = __builtin_mul_overflow(a, b, &p);
    } else {
        p = a * b;      /* at most 62 bits of magnitude: no overflow */
        ovf = p != x86_sext((uint64_t)p, sz);
    }
    if (live) {
        x86_set_cc(env, CC_OP_MULB, sz, (uint64_t)p & m, ovf);
    }
    fast_reg_write(env, in->loc[0].reg, sz, (uint64_t)p);
}

FAST_INLINE void fast_lea(X86CPUState *env, const X86Insn *in, unsigned sz)
{
    fast_reg_write(env, in->loc[0].reg, sz, x86_ea(env, in));
}

/* MOVZX MOVSX MOVSXD from a register (not AH-BH) or memory. */
FAST_INLINE void fast_movx(X86CPUState *env, const X86Insn *in, bool sx,
                           unsigned ssz, bool mem)
{
    uint64_t v = mem ? fast_mem_read(env, in, ssz)
                     : env->regs[in->loc[1].reg] & x86_size_mask(ssz);

    if (sx) {
        v = (uint64_t)x86_sext(v, ssz);
    }
    x86_reg_write(env, in->loc[0].reg, in->loc[0].size, v);
}

#define FAST_MOVX_FN(SX, SSZ, MEM) \
    static void fast_movx_##SX##_##SSZ##_##MEM(X86CPUState *env, \
                                               const X86Insn *in) \
    { \
        fast_movx(env, in, SX, SSZ, MEM); \
    }
#define FAST_MOVX_MEM(X, SX, SSZ) X(SX, SSZ, 0) X(SX, SSZ, 1)
#define FAST_MOVX_SSZ(X, SX) \
    FAST_MOVX_MEM(X, SX, 1) FAST_MOVX_MEM(X, SX, 2) FAST_MOVX_MEM(X, SX, 4)
#define FAST_MOVXS(X) FAST_MOVX_SSZ(X, 0) FAST_MOVX_SSZ(X, 1)

FAST_MOVXS(FAST_MOVX_FN)

#define FAST_MOVX_ENTRY(SX, SSZ, MEM) \
    [SX][__builtin_ctz(SSZ)][MEM] = fast_movx_##SX##_##SSZ##_##MEM,

static X86Handler *const fast_movx_tab[2][3][2] = {
    FAST_MOVXS(FAST_MOVX_ENTRY)
};

/* CMOVcc from a register or memory (read even when not moved). */
FAST_INLINE void fast_cmov(X86CPUState *env, const X86Insn *in, bool mem)
{
    unsigned sz = in->loc[0].size, reg = in->loc[0].reg;
    uint64_t v = mem ? fast_mem_read(env, in, sz) : env->regs[in->loc[1].reg];

    if (!x86_cond_inline(env, in->opcode & 15)) {
        v = env->regs[reg];         /* 32-bit form still zero-extends */
    }
    x86_reg_write(env, reg, sz, v);
}

static void fast_cmov_r(X86CPUState *env, const X86Insn *in)
{
    fast_cmov(env, in, false);
}

static void fast_cmov_m(X86CPUState *env, const X86Insn *in)
{
    fast_cmov(env, in, true);
}

/* SETcc of a low byte register. */
static void fast_setcc_r(X86CPUState *env, const X86Insn *in)
{
    unsigned reg = in->loc[0].reg;

    env->regs[reg] = (env->regs[reg] & ~UINT64_C(0xff)) |
                     x86_cond_inline(env, in->opcode & 15);
}

static X86Handler *fast_cond_handler(const X86Insn *in)
{
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];

    if (!fast_gpr_opnd(in->opnd[0]) || d->kind != X86_LOC_REG) {
        return NULL;
    }
    if (in->op == X86_OP_SETCC) {
        return d->size == 1 ? fast_setcc_r : NULL;
    }
    if (!fast_gpr_opnd(in->opnd[1]) || d->size != s->size) {
        return NULL;
    }
    return s->kind == X86_LOC_REG ? fast_cmov_r :
           s->kind == X86_LOC_MEM ? fast_cmov_m : NULL;
}

static X86Handler *fast_movx_handler(const X86Insn *in)
{
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];

    if (d->kind != X86_LOC_REG || !fast_gpr_opnd(in->opnd[0]) ||
        !fast_gpr_opnd(in->opnd[1]) || s->size > 4 ||
        (s->kind != X86_LOC_REG && s->kind != X86_LOC_MEM)) {
        return NULL;
    }
    return fast_movx_tab[in->op != X86_OP_MOVZX][__builtin_ctz(s->size)]
                        [s->kind == X86_LOC_MEM];
}

/*
 * The stack in the common modes: 64-bit code with 8-byte operands, or a
 * 32-bit stack (SS.B) with 4-byte ones.  Returns the stack width, 0 for
 * anything else (then the generic handler runs).
 */
FAST_INLINE unsigned fast_stack_width(X86CPUState *env, unsigned osize)
{
    if (env->hflags & HF_CS64) {
        return osize == 8 ? 8 : 0;
    }
    return osize == 4 && (env->hflags & HF_SS32) ? 4 : 0;
}

FAST_INLINE uint64_t fast_sp_wrap(uint64_t sp, unsigned width)
{
    return width == 8 ? sp : (uint32_t)sp;
}

/* Push @v; false (nothing done) when the fast path does not apply. */
FAST_INLINE bool fast_push(X86CPUState *env, unsigned osize, uint64_t v)
{
    unsigned w = fast_stack_width(env, osize);
    uint64_t sp = fast_sp_wrap(env->regs[R_ESP] - w, w);
    void *host = w ? x86_fast_host(env, R_SS, sp, w, true) : NULL;

    if (!host) {
        return false;
    }
    fast_store(host, w, v);
    env->regs[R_ESP] = sp;      /* 32-bit stacks zero-extend ESP */
    return true;
}

FAST_INLINE bool fast_pop(X86CPUState *env, unsigned osize, uint64_t *v)
{
    unsigned w = fast_stack_width(env, osize);
    uint64_t sp = fast_sp_wrap(env->regs[R_ESP], w);
    void *host = w ? x86_fast_host(env, R_SS, sp, w, false) : NULL;

    if (!host) {
        return false;
    }
    *v = fast_load(host, w);
    env->regs[R_ESP] = fast_sp_wrap(sp + w, w);
    return true;
}

static void fast_push_r(X86CPUState *env, const X86Insn *in)
{
    if (!fast_push(env, in->osize, env->regs[in->loc[0].reg])) {
        x86_exec_generic(env, in);
    }
}

static void fast_pop_r(X86CPUState *env, const X86Insn *in)
{
    uint64_t v;

    if (!fast_pop(env, in->osize, &v)) {
        x86_exec_generic(env, in);
        return;
    }
    fast_reg_write(env, in->loc[0].reg, in->osize, v);
}

/* The next rip, wrapped to the code size. */
FAST_INLINE uint64_t fast_next_rip(X86CPUState *env, const X86Insn *in)
{
    uint64_t next = env->rip + in->len;

    if (!(env->hflags & HF_CS64)) {
        next = (env->hflags & HF_CS32) ? (uint32_t)next : next & 0xffff;
    }
    return next;
}

static void fast_call_rel(X86CPUState *env, const X86Insn *in)
{
    uint64_t next = fast_next_rip(env, in);

    if (!fast_push(env, in->osize, next)) {
        x86_exec_generic(env, in);
        return;
    }
    env->rip = (next + in->imm) & x86_size_mask(in->osize);
}

static void fast_ret(X86CPUState *env, const X86Insn *in)
{
    uint64_t target;

    if (!fast_pop(env, in->osize, &target)) {
        x86_exec_generic(env, in);
        return;
    }
    env->rip = target & x86_size_mask(in->osize);
}

/* Jcc rel: the condition inline, the next rip wrapped to the mode. */
static void fast_jcc(X86CPUState *env, const X86Insn *in)
{
    uint64_t next = fast_next_rip(env, in);

    if (x86_cond_inline(env, in->opcode & 15)) {
        next = (next + in->imm) & x86_size_mask(in->osize);
    }
    env->rip = next;
}

static X86Handler *fast_stack_handler(const X86Insn *in)
{
    switch (in->op) {
    case X86_OP_PUSH: case X86_OP_POP:
        if (in->loc[0].kind != X86_LOC_REG || !fast_gpr_opnd(in->opnd[0])) {
            return NULL;
        }
        return in->op == X86_OP_PUSH ? fast_push_r : fast_pop_r;
    case X86_OP_CALL:
        return in->opnd[0] == X86_OPND_Jz ? fast_call_rel : NULL;
    default:    /* RET */
        return in->opnd[0] == X86_OPND___ ? fast_ret : NULL;
    }
}

/* ---- the handler tables ------------------------------------------- */

#define FAST_SIZES(X, ...) \
    X(__VA_ARGS__, 1) X(__VA_ARGS__, 2) X(__VA_ARGS__, 4) X(__VA_ARGS__, 8)

/* Binary operations: op x size x kind. */
#define FAST_BINOP_FN(OP, K, SZ) \
    static void fast_##OP##_##K##_##SZ(X86CPUState *env, const X86Insn *in) \
    { \
        fast_binop(env, in, X86_OP_##OP, SZ, K_##K); \
    }
#define FAST_BINOP_KINDS(X, OP) \
    FAST_SIZES(X, OP, RR) FAST_SIZES(X, OP, RI) FAST_SIZES(X, OP, RM) \
    FAST_SIZES(X, OP, MR) FAST_SIZES(X, OP, MI)
#define FAST_BINOPS(X) \
    FAST_BINOP_KINDS(X, ADD) FAST_BINOP_KINDS(X, OR) \
    FAST_BINOP_KINDS(X, ADC) FAST_BINOP_KINDS(X, SBB) \
    FAST_BINOP_KINDS(X, AND) FAST_BINOP_KINDS(X, SUB) \
    FAST_BINOP_KINDS(X, XOR) FAST_BINOP_KINDS(X, CMP) \
    FAST_BINOP_KINDS(X, TEST)

FAST_BINOPS(FAST_BINOP_FN)

/* Slots of the binary table: ADD..CMP are X86_OP_ADD..X86_OP_CMP. */
enum { FAST_SLOT_TEST = X86_OP_CMP - X86_OP_ADD + 1, FAST_SLOT_NB };

#define FAST_SLOT(OP) \
    (X86_OP_##OP == X86_OP_TEST ? FAST_SLOT_TEST : X86_OP_##OP - X86_OP_ADD)
#define FAST_BINOP_ENTRY(OP, K, SZ) \
    [FAST_SLOT(OP)][K_##K][__builtin_ctz(SZ)] = fast_##OP##_##K##_##SZ,

static X86Handler *const fast_binop_tab[FAST_SLOT_NB][K_NB][4] = {
    FAST_BINOPS(FAST_BINOP_ENTRY)
};

/* MOV: kind x size. */
#define FAST_MOV_FN(K, SZ) \
    static void fast_mov_##K##_##SZ(X86CPUState *env, const X86Insn *in) \
    { \
        fast_mov(env, in, SZ, K_##K); \
    }
#define FAST_MOVS(X) \
    FAST_SIZES(X, RR) FAST_SIZES(X, RI) FAST_SIZES(X, RM) \
    FAST_SIZES(X, MR) FAST_SIZES(X, MI)

FAST_MOVS(FAST_MOV_FN)

#define FAST_MOV_ENTRY(K, SZ) [K_##K][__builtin_ctz(SZ)] = fast_mov_##K##_##SZ,

static X86Handler *const fast_mov_tab[K_NB][4] = {
    FAST_MOVS(FAST_MOV_ENTRY)
};

/* Register-only operations with a live and a dead-flags variant. */
#define FAST_LIVE(X, OP, SZ) X(OP, SZ, 0) X(OP, SZ, 1)
#define FAST_REGOP_FN(OP, SZ, LIVE) \
    static void fast_##OP##_##SZ##_##LIVE(X86CPUState *env, \
                                          const X86Insn *in) \
    { \
        FAST_REGOP_BODY_##OP(SZ, LIVE); \
    }
#define FAST_REGOP_BODY_INC(SZ, LIVE) fast_unop(env, in, X86_OP_INC, SZ, LIVE)
#define FAST_REGOP_BODY_DEC(SZ, LIVE) fast_unop(env, in, X86_OP_DEC, SZ, LIVE)
#define FAST_REGOP_BODY_NEG(SZ, LIVE) fast_unop(env, in, X86_OP_NEG, SZ, LIVE)
#define FAST_REGOP_BODY_NOT(SZ, LIVE) fast_unop(env, in, X86_OP_NOT, SZ, LIVE)
#define FAST_REGOP_BODY_SHL(SZ, LIVE) fast_shift(env, in, X86_OP_SHL, SZ, LIVE)
#define FAST_REGOP_BODY_SHR(SZ, LIVE) fast_shift(env, in, X86_OP_SHR, SZ, LIVE)
#define FAST_REGOP_BODY_SAR(SZ, LIVE) fast_shift(env, in, X86_OP_SAR, SZ, LIVE)
#define FAST_REGOP_BODY_ROL(SZ, LIVE) fast_shift(env, in, X86_OP_ROL, SZ, LIVE)
#define FAST_REGOP_BODY_ROR(SZ, LIVE) fast_shift(env, in, X86_OP_ROR, SZ, LIVE)
#define FAST_REGOP_BODY_IMULR(SZ, LIVE) fast_imul(env, in, SZ, false, LIVE)
#define FAST_REGOP_BODY_IMULM(SZ, LIVE) fast_imul(env, in, SZ, true, LIVE)
#define FAST_REGOP_SIZES(X, OP) \
    FAST_LIVE(X, OP, 1) FAST_LIVE(X, OP, 2) FAST_LIVE(X, OP, 4) \
    FAST_LIVE(X, OP, 8)
#define FAST_REGOPS(X) \
    FAST_REGOP_SIZES(X, INC) FAST_REGOP_SIZES(X, DEC) \
    FAST_REGOP_SIZES(X, NEG) FAST_REGOP_SIZES(X, NOT) \
    FAST_REGOP_SIZES(X, SHL) FAST_REGOP_SIZES(X, SHR) \
    FAST_REGOP_SIZES(X, SAR) FAST_REGOP_SIZES(X, ROL) \
    FAST_REGOP_SIZES(X, ROR) FAST_REGOP_SIZES(X, IMULR) \
    FAST_REGOP_SIZES(X, IMULM)

FAST_REGOPS(FAST_REGOP_FN)

enum {
    FR_INC, FR_DEC, FR_NEG, FR_NOT, FR_SHL, FR_SHR, FR_SAR, FR_ROL, FR_ROR,
    FR_IMULR, FR_IMULM, FR_NB
};

#define FAST_REGOP_ENTRY(OP, SZ, LIVE) \
    [FR_##OP][__builtin_ctz(SZ)][LIVE] = fast_##OP##_##SZ##_##LIVE,

static X86Handler *const fast_regop_tab[FR_NB][4][2] = {
    FAST_REGOPS(FAST_REGOP_ENTRY)
};

static void fast_lea_4(X86CPUState *env, const X86Insn *in)
{
    fast_lea(env, in, 4);
}

static void fast_lea_8(X86CPUState *env, const X86Insn *in)
{
    fast_lea(env, in, 8);
}

/* ---- choosing a handler ------------------------------------------- */

/* K_* of a two-operand form of equal sizes, or -1. */
static int fast_kind2(const X86Insn *in)
{
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];

    if (!fast_gpr_opnd(in->opnd[0]) || !fast_gpr_opnd(in->opnd[1]) ||
        in->loc[2].kind != X86_LOC_NONE) {
        return -1;
    }
    if (s->kind == X86_LOC_REG && d->size != s->size) {
        return -1;
    }
    if (d->kind == X86_LOC_REG) {
        return s->kind == X86_LOC_REG ? K_RR :
               s->kind == X86_LOC_IMM ? K_RI :
               s->kind == X86_LOC_MEM ? K_RM : -1;
    }
    if (d->kind == X86_LOC_MEM) {
        return s->kind == X86_LOC_REG ? K_MR :
               s->kind == X86_LOC_IMM ? K_MI : -1;
    }
    return -1;
}

static int fast_regop_slot(unsigned op)
{
    switch (op) {
    case X86_OP_INC: return FR_INC;
    case X86_OP_DEC: return FR_DEC;
    case X86_OP_NEG: return FR_NEG;
    case X86_OP_NOT: return FR_NOT;
    case X86_OP_SHL: case X86_OP_SAL: return FR_SHL;
    case X86_OP_SHR: return FR_SHR;
    case X86_OP_SAR: return FR_SAR;
    case X86_OP_ROL: return FR_ROL;
    case X86_OP_ROR: return FR_ROR;
    default: return -1;
    }
}

static X86Handler *fast_regop(const X86Insn *in, bool dead)
{
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];
    int slot = fast_regop_slot(in->op);
    unsigned szi = __builtin_ctz(d->size);

    if (slot < 0 || d->kind != X86_LOC_REG || !fast_gpr_opnd(in->opnd[0])) {
        return NULL;
    }
    if (slot >= FR_SHL && s->kind != X86_LOC_IMM && s->kind != X86_LOC_ONE) {
        return NULL;        /* counts in CL: the generic handler */
    }
    return fast_regop_tab[slot][szi][!dead];
}

static X86Handler *fast_imul_handler(const X86Insn *in, bool dead)
{
    const X86OpndLoc *d = &in->loc[0], *s = &in->loc[1];
    bool three = in->op == X86_OP_IMUL3;

    if (d->kind != X86_LOC_REG || d->size != s->size || d->size < 2 ||
        (s->kind != X86_LOC_REG && s->kind != X86_LOC_MEM) ||
        (three && in->loc[2].kind != X86_LOC_IMM)) {
        return NULL;
    }
    return fast_regop_tab[s->kind == X86_LOC_MEM ? FR_IMULM : FR_IMULR]
                         [__builtin_ctz(d->size)][!dead];
}

X86Handler *x86_exec_fast_handler(const X86Insn *in, bool flags_dead)
{
    int kind;

    switch (in->op) {
    case X86_OP_ADD: case X86_OP_OR: case X86_OP_ADC: case X86_OP_SBB:
    case X86_OP_AND: case X86_OP_SUB: case X86_OP_XOR: case X86_OP_CMP:
    case X86_OP_TEST:
        kind = fast_kind2(in);
        if (kind < 0) {
            return NULL;
        }
        return fast_binop_tab[in->op == X86_OP_TEST ? FAST_SLOT_TEST
                                                    : in->op - X86_OP_ADD]
                             [kind][__builtin_ctz(in->loc[0].size)];
    case X86_OP_MOV:
        kind = fast_kind2(in);
        return kind < 0 ? NULL
                        : fast_mov_tab[kind][__builtin_ctz(in->loc[0].size)];
    case X86_OP_IMUL2: case X86_OP_IMUL3:
        return fast_imul_handler(in, flags_dead);
    case X86_OP_JCC:
        return fast_jcc;
    case X86_OP_PUSH: case X86_OP_POP: case X86_OP_CALL: case X86_OP_RET:
        return fast_stack_handler(in);
    case X86_OP_CMOV: case X86_OP_SETCC:
        return fast_cond_handler(in);
    case X86_OP_MOVZX: case X86_OP_MOVSX: case X86_OP_MOVSXD:
        return fast_movx_handler(in);
    case X86_OP_LEA:
        if (in->loc[0].kind != X86_LOC_REG || in->osize < 4) {
            return NULL;
        }
        return in->osize == 8 ? fast_lea_8 : fast_lea_4;
    default:
        return fast_regop(in, flags_dead);
    }
}

/* ---- flag liveness -------------------------------------------------- */

/* No operand in memory (LEA's and NOP's M operands are no access). */
static bool fast_no_mem(const X86Insn *in)
{
    for (int n = 0; n < 3; n++) {
        if (in->loc[n].kind == X86_LOC_MEM ||
            in->loc[n].kind == X86_LOC_MOFFS) {
            return false;
        }
    }
    return true;
}

/* A shift or rotate of a register by a constant count not masked to 0. */
static bool fast_shift_by_const(const X86Insn *in)
{
    unsigned cnt = in->loc[1].kind == X86_LOC_ONE ? 1 :
                   in->loc[1].kind == X86_LOC_IMM ? in->imm : 0;

    return in->loc[0].kind == X86_LOC_REG &&
           (cnt & (in->loc[0].size == 8 ? 0x3f : 0x1f)) != 0;
}

/* Writes CF PF AF ZF SF OF from its own operands only, cannot fault. */
static bool fast_sets_all_flags(const X86Insn *in)
{
    switch (in->op) {
    case X86_OP_ADD: case X86_OP_OR: case X86_OP_AND: case X86_OP_SUB:
    case X86_OP_XOR: case X86_OP_CMP: case X86_OP_TEST: case X86_OP_NEG:
    case X86_OP_IMUL2: case X86_OP_IMUL3:
        return fast_no_mem(in);
    case X86_OP_SHL: case X86_OP_SAL: case X86_OP_SHR: case X86_OP_SAR:
        /* The lazy record (CC_OP_SHL/SAR) gives all six flags. */
        return fast_shift_by_const(in);
    default:
        return false;
    }
}

/*
 * Does not read the flags, cannot fault nor branch: the flags before it
 * are dead if they are after it.  ROL/ROR (CF and OF) and INC/DEC (all
 * but CF) write some flags and pass the others on: when they want their
 * flags, so do the instructions before them (the scan is the same).
 */
static bool fast_flags_transparent(const X86Insn *in)
{
    switch (in->op) {
    case X86_OP_ROL: case X86_OP_ROR:
        return in->loc[0].kind == X86_LOC_REG &&
               (in->loc[1].kind == X86_LOC_ONE ||
                in->loc[1].kind == X86_LOC_IMM);
    case X86_OP_INC: case X86_OP_DEC:
        return in->loc[0].kind == X86_LOC_REG;
    case X86_OP_LEA: case X86_OP_NOP:
        return !(in->flags & (X86_F_END | X86_F_REP));
    case X86_OP_MOV: case X86_OP_MOVZX: case X86_OP_MOVSX:
    case X86_OP_MOVSXD: case X86_OP_NOT: case X86_OP_BSWAP:
        return fast_no_mem(in) && fast_gpr_opnd(in->opnd[0]) &&
               !(in->flags & (X86_F_END | X86_F_REP));
    default:
        return false;
    }
}

bool x86_exec_flags_dead(const X86Insn *next, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (fast_sets_all_flags(&next[i])) {
            return true;
        }
        if (!fast_flags_transparent(&next[i])) {
            return false;
        }
    }
    return false;
}

bool x86_exec_pure(const X86Insn *in)
{
    if ((in->flags & (X86_F_END | X86_F_REP)) || in->rip_rel ||
        !x86_exec_fast_handler(in, false)) {
        return false;
    }
    switch (in->op) {
    case X86_OP_LEA:
        return true;            /* computes an address, no access */
    case X86_OP_ADD: case X86_OP_OR: case X86_OP_ADC: case X86_OP_SBB:
    case X86_OP_AND: case X86_OP_SUB: case X86_OP_XOR: case X86_OP_CMP:
    case X86_OP_TEST: case X86_OP_MOV: case X86_OP_INC: case X86_OP_DEC:
    case X86_OP_NEG: case X86_OP_NOT: case X86_OP_SHL: case X86_OP_SAL:
    case X86_OP_SHR: case X86_OP_SAR: case X86_OP_ROL: case X86_OP_ROR:
    case X86_OP_IMUL2: case X86_OP_IMUL3: case X86_OP_MOVZX:
    case X86_OP_MOVSX: case X86_OP_MOVSXD: case X86_OP_CMOV:
    case X86_OP_SETCC:
        return fast_no_mem(in);
    default:
        return false;           /* PUSH, POP: the stack can fault */
    }
}
