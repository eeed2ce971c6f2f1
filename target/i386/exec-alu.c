/*
 * Arithmetic, logic, shifts and rotates, multiply and divide, bit
 * operations, data movement (SDM vol 2 instruction pages).  Flags go to
 * the lazy fields where the group has a CC_OP, else straight to EFLAGS.
 */
#include "exec.h"

/* Write the arithmetic flags in @mask to @f, eagerly. */
static void alu_set_flags(X86CPUState *env, uint32_t f, uint32_t mask)
{
    uint32_t cur = x86_cc_compute(env);
    env->cc_src = (cur & ~mask) | (f & mask);
    env->cc_op = CC_OP_EFLAGS;
}

/* Destination of a read-modify-write: fault as a write before reading. */
static X86Loc alu_rmw_loc(X86CPUState *env, const X86Insn *in)
{
    X86Loc l = x86_loc(env, in, 0);
    if (l.mem) {
        x86_probe_write(env, l.seg, l.ea, l.size);
    }
    return l;
}

static void alu_binop(X86CPUState *env, const X86Insn *in)
{
    bool cmp = in->op == X86_OP_CMP;
    X86Loc d = cmp ? x86_loc(env, in, 0) : alu_rmw_loc(env, in);
    unsigned sz = d.size;
    uint64_t m = x86_size_mask(sz);
    uint64_t a = x86_loc_read(env, &d);
    uint64_t b = x86_opnd_read(env, in, 1) & m;
    uint64_t r = x86_alu(env, in->op, sz, a, b);

    if (!cmp) {
        x86_loc_write(env, &d, r);
    }
}

static void alu_test(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = x86_loc(env, in, 0);
    uint64_t r = x86_loc_read(env, &d) & x86_opnd_read(env, in, 1);
    x86_set_cc(env, CC_OP_LOGICB, d.size, r & x86_size_mask(d.size), 0);
}

static void alu_unop(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = alu_rmw_loc(env, in);
    uint64_t a = x86_loc_read(env, &d), r;
    switch (in->op) {
    case X86_OP_INC:
        r = a + 1;
        x86_set_cc(env, CC_OP_INCB, d.size, r, x86_get_cf(env));
        break;
    case X86_OP_DEC:
        r = a - 1;
        x86_set_cc(env, CC_OP_DECB, d.size, r, x86_get_cf(env));
        break;
    case X86_OP_NEG:
        r = -a;
        x86_set_cc(env, CC_OP_SUBB, d.size, r, a);
        break;
    default:    /* NOT: no flags */
        r = ~a;
        break;
    }
    x86_loc_write(env, &d, r);
}

/* ---- multiply and divide ---- */

static void alu_mul(X86CPUState *env, const X86Insn *in)
{
    X86Loc s = x86_loc(env, in, 0);
    unsigned sz = s.size;
    uint64_t b = x86_loc_read(env, &s), a, lo, hi;
    bool sig = in->op == X86_OP_IMUL1;

    if (sz == 1) {
        a = env->regs[R_EAX] & 0xff;
        int64_t p = sig ? (int64_t)(int8_t)a * (int8_t)b : (int64_t)(a * b);
        x86_reg_write(env, R_EAX, 2, p);
        hi = sig ? ((int64_t)(int8_t)p != p) : ((p >> 8) & 0xff) != 0;
        x86_set_cc(env, CC_OP_MULB, 1, p, hi);
        return;
    }
    a = x86_reg_read(env, R_EAX, sz);
    if (sig) {
        __int128 p = (__int128)x86_sext(a, sz) * x86_sext(b, sz);
        lo = (uint64_t)p & x86_size_mask(sz);
        hi = (uint64_t)(p >> (sz * 8));
        x86_set_cc(env, CC_OP_MULB, sz, lo, p != x86_sext(lo, sz));
    } else {
        unsigned __int128 p = (unsigned __int128)a * b;
        lo = (uint64_t)p & x86_size_mask(sz);
        hi = (uint64_t)(p >> (sz * 8));
        x86_set_cc(env, CC_OP_MULB, sz, lo, (hi & x86_size_mask(sz)) != 0);
    }
    x86_reg_write(env, R_EAX, sz, lo);
    x86_reg_write(env, R_EDX, sz, hi);
}

/* IMUL Gv,Ev and IMUL Gv,Ev,imm: truncated product, CF=OF=overflow. */
static void alu_imul2(X86CPUState *env, const X86Insn *in)
{
    unsigned sz = in->osize;
    int64_t a = x86_sext(x86_opnd_read(env, in, 1), sz);
    int64_t b = x86_sext(in->op == X86_OP_IMUL3 ? x86_opnd_read(env, in, 2)
                                                 : x86_opnd_read(env, in, 0),
                         sz);
    __int128 p = (__int128)a * b;
    uint64_t lo = (uint64_t)p & x86_size_mask(sz);
    x86_set_cc(env, CC_OP_MULB, sz, lo, p != x86_sext(lo, sz));
    x86_reg_write(env, in->reg, sz, lo);
}

static void alu_div_unsigned(X86CPUState *env, unsigned sz, uint64_t d)
{
    unsigned __int128 n;
    unsigned __int128 q;
    uint64_t m = x86_size_mask(sz);

    if (sz == 1) {
        n = env->regs[R_EAX] & 0xffff;
    } else {
        n = ((unsigned __int128)x86_reg_read(env, R_EDX, sz) << (sz * 8)) |
            x86_reg_read(env, R_EAX, sz);
    }
    if (d == 0 || (q = n / d) > m) {
        x86_raise_exception(env, EXCP_DE);
    }
    if (sz == 1) {
        x86_reg_write(env, R_EAX, 2, (uint64_t)q | (uint64_t)(n % d) << 8);
    } else {
        x86_reg_write(env, R_EAX, sz, (uint64_t)q);
        x86_reg_write(env, R_EDX, sz, (uint64_t)(n % d));
    }
}

static void alu_div_signed(X86CPUState *env, unsigned sz, int64_t d)
{
    __int128 n, q, r;
    int64_t max = (int64_t)(x86_size_mask(sz) >> 1);

    if (sz == 1) {
        n = (int16_t)env->regs[R_EAX];
    } else {
        n = (__int128)((unsigned __int128)x86_reg_read(env, R_EDX, sz)
                       << (sz * 8)) | x86_reg_read(env, R_EAX, sz);
        if (sz < 8) {
            n = x86_sext((uint64_t)n, sz * 2);
        }
    }
    /* The only __int128 overflow, -2^127 / -1, is a #DE anyway. */
    if (d == 0 || (d == -1 && n == -n && n != 0)) {
        x86_raise_exception(env, EXCP_DE);
    }
    q = n / d;
    r = n % d;
    if (q > max || q < -max - 1) {
        x86_raise_exception(env, EXCP_DE);
    }
    if (sz == 1) {
        x86_reg_write(env, R_EAX, 2,
                      ((uint64_t)q & 0xff) | ((uint64_t)r & 0xff) << 8);
    } else {
        x86_reg_write(env, R_EAX, sz, (uint64_t)q);
        x86_reg_write(env, R_EDX, sz, (uint64_t)r);
    }
}

static void alu_div(X86CPUState *env, const X86Insn *in)
{
    X86Loc s = x86_loc(env, in, 0);
    uint64_t d = x86_loc_read(env, &s);
    if (in->op == X86_OP_DIV) {
        alu_div_unsigned(env, s.size, d);
    } else {
        alu_div_signed(env, s.size, x86_sext(d, s.size));
    }
}

/* ---- shifts and rotates ---- */

static unsigned alu_count(X86CPUState *env, const X86Insn *in, int n,
                          unsigned sz)
{
    return x86_opnd_read(env, in, n) & (sz == 8 ? 0x3f : 0x1f);
}

static uint64_t alu_rotate(X86CPUState *env, unsigned op, unsigned sz,
                           uint64_t a, unsigned cnt)
{
    unsigned bits = sz * 8;
    uint64_t m = x86_size_mask(sz), r = a;
    uint32_t cf = x86_get_cf(env), of;

    if (op == X86_OP_ROL || op == X86_OP_ROR) {
        unsigned c = cnt % bits;
        r = op == X86_OP_ROL ? (a << c) | (c ? a >> (bits - c) : 0)
                             : (a >> c) | (c ? a << (bits - c) : 0);
        r &= m;
        cf = op == X86_OP_ROL ? r & 1 : (r >> (bits - 1)) & 1;
    } else {
        for (unsigned c = cnt % (bits + 1); c; c--) {
            uint32_t out = op == X86_OP_RCL ? (r >> (bits - 1)) & 1 : r & 1;
            r = op == X86_OP_RCL ? ((r << 1) | cf) & m
                                 : (r >> 1) | ((uint64_t)cf << (bits - 1));
            cf = out;
        }
    }
    if (op == X86_OP_ROL || op == X86_OP_RCL) {
        of = ((r >> (bits - 1)) & 1) ^ cf;
    } else {
        of = ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1;
    }
    alu_set_flags(env, (cf ? CF_MASK : 0) | (of ? OF_MASK : 0),
                  CF_MASK | OF_MASK);
    return r;
}

static void alu_shift(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = alu_rmw_loc(env, in);
    unsigned sz = d.size, cnt = alu_count(env, in, 1, sz);
    uint64_t a = x86_loc_read(env, &d), r;

    if (cnt == 0) {
        /* Flags unchanged, but a 32-bit register is still written. */
        if (!d.mem && d.size == 4) {
            x86_loc_write(env, &d, a);
        }
        return;
    }
    switch (in->op) {
    case X86_OP_SHL: case X86_OP_SAL:
        r = a << cnt;
        x86_set_cc(env, CC_OP_SHLB, sz, r, a << (cnt - 1));
        break;
    case X86_OP_SHR:
        r = a >> cnt;
        x86_set_cc(env, CC_OP_SARB, sz, r, a >> (cnt - 1));
        break;
    case X86_OP_SAR:
        r = (uint64_t)(x86_sext(a, sz) >> cnt);
        x86_set_cc(env, CC_OP_SARB, sz, r,
                   (uint64_t)(x86_sext(a, sz) >> (cnt - 1)));
        break;
    default:
        r = alu_rotate(env, in->op, sz, a, cnt);
        break;
    }
    x86_loc_write(env, &d, r);
}

/* a:b shifted left by c (0 < c <= 64), the top @bits bits. */
static uint64_t alu_dshl(uint64_t a, uint64_t b, unsigned c, unsigned bits)
{
    unsigned __int128 v = ((unsigned __int128)a << bits) | b;
    if (bits < 64) {
        /* Counts past the size shift a in again (Intel behaviour). */
        v = (v << bits) | a;
        return (uint64_t)(v >> (2 * bits - c)) & x86_size_mask(bits / 8);
    }
    return (uint64_t)((v << c) >> 64);
}

static uint64_t alu_dshr(uint64_t a, uint64_t b, unsigned c, unsigned bits)
{
    unsigned __int128 v = ((unsigned __int128)b << bits) | a;
    if (bits < 64) {
        v = ((unsigned __int128)a << (2 * bits)) | v;
    }
    return (uint64_t)(v >> c) & x86_size_mask(bits / 8);
}

static void alu_shd(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = alu_rmw_loc(env, in);
    unsigned sz = d.size, bits = sz * 8, cnt = alu_count(env, in, 2, sz);
    uint64_t a = x86_loc_read(env, &d);
    uint64_t b = x86_reg_read(env, in->reg, sz), r, src;

    if (cnt == 0) {
        if (!d.mem && d.size == 4) {
            x86_loc_write(env, &d, a);
        }
        return;
    }
    if (in->op == X86_OP_SHLD) {
        r = alu_dshl(a, b, cnt, bits);
        src = cnt > 1 ? alu_dshl(a, b, cnt - 1, bits) : a;
        x86_set_cc(env, CC_OP_SHLB, sz, r, src);
    } else {
        r = alu_dshr(a, b, cnt, bits);
        src = cnt > 1 ? alu_dshr(a, b, cnt - 1, bits) : a;
        x86_set_cc(env, CC_OP_SARB, sz, r, src);
    }
    x86_loc_write(env, &d, r);
}

/* ---- bit operations ---- */

static void alu_bt(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = x86_loc(env, in, 0);
    unsigned bits = d.size * 8;
    uint64_t off = x86_opnd_read(env, in, 1), v, bit;

    if (in->opnd[1] == X86_OPND_Ib || !d.mem) {
        off &= bits - 1;
    } else {
        /* A register bit offset reaches beyond the operand (signed). */
        int64_t so = x86_sext(off, d.size);
        d.ea = (d.ea + (so >> (__builtin_ctz(bits))) * (int64_t)d.size) &
               x86_size_mask(in->asize);
        off = so & (bits - 1);
    }
    if (d.mem && in->op != X86_OP_BT) {
        x86_probe_write(env, d.seg, d.ea, d.size);
    }
    v = x86_loc_read(env, &d);
    bit = (v >> off) & 1;
    alu_set_flags(env, bit ? CF_MASK : 0, CF_MASK);
    switch (in->op) {
    case X86_OP_BTS: x86_loc_write(env, &d, v | (UINT64_C(1) << off)); break;
    case X86_OP_BTR: x86_loc_write(env, &d, v & ~(UINT64_C(1) << off)); break;
    case X86_OP_BTC: x86_loc_write(env, &d, v ^ (UINT64_C(1) << off)); break;
    default: break;
    }
}

static void alu_bsf(X86CPUState *env, const X86Insn *in)
{
    uint64_t v = x86_opnd_read(env, in, 1) & x86_size_mask(in->osize);
    if (in->op == X86_OP_POPCNT) {
        x86_reg_write(env, in->reg, in->osize, __builtin_popcountll(v));
        alu_set_flags(env, v ? 0 : ZF_MASK, CC_MASK);
        return;
    }
    if (!v) {
        alu_set_flags(env, ZF_MASK, ZF_MASK);   /* destination unchanged */
        return;
    }
    x86_reg_write(env, in->reg, in->osize,
                  in->op == X86_OP_BSF ? __builtin_ctzll(v)
                                       : 63 - __builtin_clzll(v));
    alu_set_flags(env, 0, ZF_MASK);
}

/* ---- exchange and compare ---- */

static void alu_xchg(X86CPUState *env, const X86Insn *in)
{
    X86Loc a = alu_rmw_loc(env, in);
    X86Loc b = x86_loc(env, in, 1);
    uint64_t va = x86_loc_read(env, &a), vb = x86_loc_read(env, &b);
    x86_loc_write(env, &a, vb);
    x86_loc_write(env, &b, va);
}

static void alu_xadd(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = alu_rmw_loc(env, in);
    X86Loc s = x86_loc(env, in, 1);
    uint64_t a = x86_loc_read(env, &d), b = x86_loc_read(env, &s);
    uint64_t r = a + b;
    x86_set_cc(env, CC_OP_ADDB, d.size, r, b);
    x86_loc_write(env, &s, a);
    x86_loc_write(env, &d, r);
}

static void alu_cmpxchg(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = alu_rmw_loc(env, in);
    unsigned sz = d.size;
    uint64_t v = x86_loc_read(env, &d);
    uint64_t acc = x86_reg_read(env, R_EAX, sz);

    x86_set_cc(env, CC_OP_SUBB, sz, acc - v, v);
    if (acc == v) {
        x86_loc_write(env, &d, x86_opnd_read(env, in, 1));
    } else {
        if (d.mem) {
            x86_loc_write(env, &d, v);  /* the processor always writes */
        }
        x86_reg_write(env, R_EAX, sz, v);
    }
}

static void alu_cmpxchg8b(X86CPUState *env, const X86Insn *in)
{
    uint64_t ea = x86_ea(env, in);
    bool wide = in->rex & 8;
    unsigned sz = wide ? 8 : 4;
    uint64_t lo, hi;
    bool eq;

    if (wide && (ea & 15)) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    x86_probe_write(env, in->seg, ea, sz * 2);
    lo = x86_mem_read(env, in->seg, ea, sz);
    hi = x86_mem_read(env, in->seg, ea + sz, sz);
    eq = lo == x86_reg_read(env, R_EAX, sz) &&
         hi == x86_reg_read(env, R_EDX, sz);
    if (eq) {
        x86_mem_write(env, in->seg, ea, sz, env->regs[R_EBX]);
        x86_mem_write(env, in->seg, ea + sz, sz, env->regs[R_ECX]);
    } else {
        x86_mem_write(env, in->seg, ea, sz, lo);
        x86_mem_write(env, in->seg, ea + sz, sz, hi);
        x86_reg_write(env, R_EAX, sz, lo);
        x86_reg_write(env, R_EDX, sz, hi);
    }
    alu_set_flags(env, eq ? ZF_MASK : 0, ZF_MASK);
}

/* ---- data movement ---- */

static void alu_mov(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = x86_loc(env, in, 0);
    x86_loc_write(env, &d, x86_opnd_read(env, in, 1));
}

static void alu_movx(X86CPUState *env, const X86Insn *in)
{
    unsigned ssz = x86_opnd_size(in, in->opnd[1]);
    uint64_t v = x86_opnd_read(env, in, 1);
    if (in->op != X86_OP_MOVZX) {
        v = (uint64_t)x86_sext(v, ssz);
    }
    x86_reg_write(env, in->reg, in->osize, v);
}

static void alu_lea(X86CPUState *env, const X86Insn *in)
{
    x86_reg_write(env, in->reg, in->osize, x86_ea(env, in));
}

static void alu_bswap(X86CPUState *env, const X86Insn *in)
{
    uint64_t v = env->regs[in->reg];
    if (in->osize == 8) {
        env->regs[in->reg] = __builtin_bswap64(v);
    } else if (in->osize == 4) {
        env->regs[in->reg] = __builtin_bswap32((uint32_t)v);
    } else {
        x86_reg_write(env, in->reg, 2, 0);  /* undefined; zero as Intel */
    }
}

static void alu_cbw(X86CPUState *env, const X86Insn *in)
{
    unsigned sz = in->osize;
    uint64_t v = x86_reg_read(env, R_EAX, sz / 2);
    x86_reg_write(env, R_EAX, sz, (uint64_t)x86_sext(v, sz / 2));
}

static void alu_cwd(X86CPUState *env, const X86Insn *in)
{
    unsigned sz = in->osize;
    int64_t v = x86_sext(x86_reg_read(env, R_EAX, sz), sz);
    x86_reg_write(env, R_EDX, sz, v < 0 ? UINT64_MAX : 0);
}

static void alu_cmov(X86CPUState *env, const X86Insn *in)
{
    uint64_t v = x86_opnd_read(env, in, 1);
    if (!x86_cond(env, in->opcode & 15)) {
        v = env->regs[in->reg];     /* 32-bit form still zero-extends */
    }
    x86_reg_write(env, in->reg, in->osize, v);
}

static void alu_setcc(X86CPUState *env, const X86Insn *in)
{
    X86Loc d = x86_loc(env, in, 0);
    x86_loc_write(env, &d, x86_cond(env, in->opcode & 15));
}

void x86_exec_alu_init(void)
{
    static const uint16_t binops[] = {
        X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB, X86_OP_AND,
        X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
    };
    static const uint16_t shifts[] = {
        X86_OP_ROL, X86_OP_ROR, X86_OP_RCL, X86_OP_RCR, X86_OP_SHL,
        X86_OP_SHR, X86_OP_SAL, X86_OP_SAR,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(binops); i++) {
        x86_exec_register(binops[i], alu_binop);
        x86_exec_register(shifts[i], alu_shift);
    }
    x86_exec_register(X86_OP_TEST, alu_test);
    x86_exec_register(X86_OP_INC, alu_unop);
    x86_exec_register(X86_OP_DEC, alu_unop);
    x86_exec_register(X86_OP_NEG, alu_unop);
    x86_exec_register(X86_OP_NOT, alu_unop);
    x86_exec_register(X86_OP_MUL, alu_mul);
    x86_exec_register(X86_OP_IMUL1, alu_mul);
    x86_exec_register(X86_OP_IMUL2, alu_imul2);
    x86_exec_register(X86_OP_IMUL3, alu_imul2);
    x86_exec_register(X86_OP_DIV, alu_div);
    x86_exec_register(X86_OP_IDIV, alu_div);
    x86_exec_register(X86_OP_SHLD, alu_shd);
    x86_exec_register(X86_OP_SHRD, alu_shd);
    x86_exec_register(X86_OP_BT, alu_bt);
    x86_exec_register(X86_OP_BTS, alu_bt);
    x86_exec_register(X86_OP_BTR, alu_bt);
    x86_exec_register(X86_OP_BTC, alu_bt);
    x86_exec_register(X86_OP_BSF, alu_bsf);
    x86_exec_register(X86_OP_BSR, alu_bsf);
    x86_exec_register(X86_OP_POPCNT, alu_bsf);
    x86_exec_register(X86_OP_XCHG, alu_xchg);
    x86_exec_register(X86_OP_XADD, alu_xadd);
    x86_exec_register(X86_OP_CMPXCHG, alu_cmpxchg);
    x86_exec_register(X86_OP_CMPXCHG8B, alu_cmpxchg8b);
    x86_exec_register(X86_OP_MOV, alu_mov);
    x86_exec_register(X86_OP_MOVZX, alu_movx);
    x86_exec_register(X86_OP_MOVSX, alu_movx);
    x86_exec_register(X86_OP_MOVSXD, alu_movx);
    x86_exec_register(X86_OP_LEA, alu_lea);
    x86_exec_register(X86_OP_BSWAP, alu_bswap);
    x86_exec_register(X86_OP_CBW, alu_cbw);
    x86_exec_register(X86_OP_CWD, alu_cwd);
    x86_exec_register(X86_OP_CMOV, alu_cmov);
    x86_exec_register(X86_OP_SETCC, alu_setcc);
}
