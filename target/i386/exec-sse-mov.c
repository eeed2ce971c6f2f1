/*
 * SSE/SSE2/SSE3 data movement: whole-register and partial moves between
 * XMM, MMX, general registers and memory, mask extraction, masked
 * stores, shuffles, word insert/extract (SDM vol 2, MOV*, PSHUF*,
 * PINSRW/PEXTRW, SHUFPS/PD, MASKMOV*).
 */
#include "sse.h"

static bool mov_is_store(const X86Insn *in)
{
    unsigned o = in->opnd[0];
    return o == X86_OPND_Wx || o == X86_OPND_Mdq || o == X86_OPND_Mq ||
           o == X86_OPND_Qq || o == X86_OPND_M || o == X86_OPND_Ey;
}

/* Full 128-bit moves: MOVUPS/PD, MOVAPS/PD, MOVDQA/U, MOVNT*, LDDQU. */
static void mov_128(X86CPUState *env, const X86Insn *in)
{
    bool aligned = in->op == X86_OP_MOVAPS || in->op == X86_OP_MOVAPD ||
                   in->op == X86_OP_MOVDQA || in->op == X86_OP_MOVNTPS ||
                   in->op == X86_OP_MOVNTPD || in->op == X86_OP_MOVNTDQ;
    X86XMMReg t;

    if (in->op == X86_OP_LDDQU) {
        simd_check(env, SIMD_SSE, FEAT_1_ECX, CPUID_EXT_SSE3);
    } else {
        simd_check(env, SIMD_SSE, -1, 0);
    }
    if (!mov_is_store(in)) {
        env->xmm[in->reg] = *simd_src_xmm(env, in, &t, 16, aligned);
    } else if (in->mod == 3) {
        env->xmm[in->rm] = env->xmm[in->reg];
    } else {
        x86_st128(env, in->seg, x86_ea(env, in), &env->xmm[in->reg],
                  aligned);
    }
}

/* MOVSS / MOVSD: a memory load zeroes the rest; register moves merge. */
static void mov_scalar(X86CPUState *env, const X86Insn *in)
{
    unsigned sz = in->op == X86_OP_MOVSS ? 4 : 8;
    X86XMMReg *r = &env->xmm[in->reg];

    simd_check(env, SIMD_SSE, -1, 0);
    if (!mov_is_store(in)) {
        if (in->mod == 3) {
            memcpy(r->b, env->xmm[in->rm].b, sz);
        } else {
            X86XMMReg t;
            *r = *simd_src_xmm(env, in, &t, sz, false);
        }
    } else if (in->mod == 3) {
        memcpy(env->xmm[in->rm].b, r->b, sz);
    } else if (sz == 4) {
        x86_st32(env, in->seg, x86_ea(env, in), r->l[0]);
    } else {
        x86_st64(env, in->seg, x86_ea(env, in), r->q[0]);
    }
}

/* MOVLPS/PD, MOVHPS/PD (memory), MOVHLPS, MOVLHPS (registers). */
static void mov_half(X86CPUState *env, const X86Insn *in)
{
    bool high = in->op == X86_OP_MOVHPS || in->op == X86_OP_MOVHPD;
    X86XMMReg *r = &env->xmm[in->reg];

    simd_check(env, SIMD_SSE, -1, 0);
    if (in->op == X86_OP_MOVHLPS) {
        r->q[0] = env->xmm[in->rm].q[1];
    } else if (in->op == X86_OP_MOVLHPS) {
        r->q[1] = env->xmm[in->rm].q[0];
    } else if (mov_is_store(in)) {
        x86_st64(env, in->seg, x86_ea(env, in), r->q[high]);
    } else {
        r->q[high] = x86_ld64(env, in->seg, x86_ea(env, in));
    }
}

/* MOVD/MOVQ between MMX/XMM and a general register or memory (6E, 7E). */
static void mov_d(X86CPUState *env, const X86Insn *in)
{
    bool mmx = in->opnd[0] == X86_OPND_Pq || in->opnd[1] == X86_OPND_Pq;
    int e = mov_is_store(in) ? 0 : 1;
    X86Loc l;

    simd_check(env, mmx ? SIMD_MMX : SIMD_SSE, -1, 0);
    l = x86_loc(env, in, e);
    if (e == 1) {
        uint64_t v = x86_loc_read(env, &l);
        if (mmx) {
            simd_mmx_enter(env);
            simd_mmx_set(env, in->reg, v);
        } else {
            env->xmm[in->reg].q[0] = v;
            env->xmm[in->reg].q[1] = 0;
        }
    } else {
        x86_loc_write(env, &l, mmx ? simd_mmx_get(env, in->reg)
                                   : env->xmm[in->reg].q[0]);
        if (mmx) {
            simd_mmx_enter(env);
        }
    }
}

/* MOVQ: 0F 6F/7F (MMX), F3 0F 7E (load, zero high), 66 0F D6 (store). */
static void mov_q(X86CPUState *env, const X86Insn *in)
{
    if (in->opnd[0] == X86_OPND_Pq || in->opnd[1] == X86_OPND_Pq) {
        simd_check(env, SIMD_MMX, -1, 0);
        if (!mov_is_store(in)) {
            uint64_t v = simd_src_mmx(env, in);
            simd_mmx_enter(env);
            simd_mmx_set(env, in->reg, v);
        } else if (in->mod == 3) {
            simd_mmx_enter(env);
            simd_mmx_set(env, in->rm, simd_mmx_get(env, in->reg));
        } else {
            x86_st64(env, in->seg, x86_ea(env, in),
                     simd_mmx_get(env, in->reg));
            simd_mmx_enter(env);
        }
        return;
    }
    simd_check(env, SIMD_SSE, -1, 0);
    if (!mov_is_store(in)) {
        X86XMMReg t;
        uint64_t v = simd_src_xmm(env, in, &t, 8, false)->q[0];
        env->xmm[in->reg].q[0] = v;
        env->xmm[in->reg].q[1] = 0;
    } else if (in->mod == 3) {
        env->xmm[in->rm].q[0] = env->xmm[in->reg].q[0];
        env->xmm[in->rm].q[1] = 0;
    } else {
        x86_st64(env, in->seg, x86_ea(env, in), env->xmm[in->reg].q[0]);
    }
}

static void mov_q2dq(X86CPUState *env, const X86Insn *in)
{
    simd_check(env, SIMD_SSE_MMX, -1, 0);
    simd_mmx_enter(env);
    if (in->op == X86_OP_MOVQ2DQ) {
        env->xmm[in->reg].q[0] = simd_mmx_get(env, in->rm);
        env->xmm[in->reg].q[1] = 0;
    } else {
        simd_mmx_set(env, in->reg, env->xmm[in->rm].q[0]);
    }
}

static void mov_ntq(X86CPUState *env, const X86Insn *in)
{
    simd_check(env, SIMD_MMX, -1, 0);
    x86_st64(env, in->seg, x86_ea(env, in), simd_mmx_get(env, in->reg));
    simd_mmx_enter(env);
}

/* MOVNTI is a general-register store: no SSE state checks. */
static void mov_nti(X86CPUState *env, const X86Insn *in)
{
    unsigned sz = in->osize == 8 ? 8 : 4;
    x86_mem_write(env, in->seg, x86_ea(env, in), sz,
                  x86_reg_read(env, in->reg, sz));
}

/* MOVMSKPS/PD, PMOVMSKB: sign bits into a zero-extended register. */
static void mov_msk(X86CPUState *env, const X86Insn *in)
{
    uint64_t m = 0;

    if (in->opnd[1] == X86_OPND_Nq) {
        uint64_t v;
        simd_check(env, SIMD_MMX, -1, 0);
        simd_mmx_enter(env);
        v = simd_mmx_get(env, in->rm);
        for (int i = 0; i < 8; i++) {
            m |= ((v >> (8 * i + 7)) & 1) << i;
        }
    } else {
        const X86XMMReg *x = &env->xmm[in->rm];
        unsigned esize = in->op == X86_OP_MOVMSKPS ? 4 :
                         in->op == X86_OP_MOVMSKPD ? 8 : 1;
        simd_check(env, SIMD_SSE, -1, 0);
        for (unsigned i = 0; i < 16 / esize; i++) {
            m |= (uint64_t)(x->b[i * esize + esize - 1] >> 7) << i;
        }
    }
    env->regs[in->reg] = m;
}

/* MASKMOVQ / MASKMOVDQU: byte stores to DS:rDI where the mask says. */
static void mov_maskmov(X86CPUState *env, const X86Insn *in)
{
    bool mmx = in->op == X86_OP_MASKMOVQ;
    unsigned n = mmx ? 8 : 16;
    uint64_t ea = env->regs[R_EDI] & x86_size_mask(in->asize);
    X86XMMReg d = { .q = { 0, 0 } }, m = { .q = { 0, 0 } };

    simd_check(env, mmx ? SIMD_MMX : SIMD_SSE, -1, 0);
    if (mmx) {
        d.q[0] = simd_mmx_get(env, in->reg);
        m.q[0] = simd_mmx_get(env, in->rm);
    } else {
        d = env->xmm[in->reg];
        m = env->xmm[in->rm];
    }
    for (unsigned i = 0; i < n; i++) {
        if (m.b[i] & 0x80) {
            x86_st8(env, in->seg, (ea + i) & x86_size_mask(in->asize),
                    d.b[i]);
        }
    }
    if (mmx) {
        simd_mmx_enter(env);
    }
}

static void mov_pshuf(X86CPUState *env, const X86Insn *in)
{
    uint8_t imm = in->imm;
    X86XMMReg s, r;

    if (in->op == X86_OP_PSHUFW) {
        uint64_t v, out = 0;
        simd_check(env, SIMD_MMX, -1, 0);
        v = simd_src_mmx(env, in);
        simd_mmx_enter(env);
        for (int i = 0; i < 4; i++) {
            out |= ((v >> (16 * ((imm >> (2 * i)) & 3))) & 0xffff)
                   << (16 * i);
        }
        simd_mmx_set(env, in->reg, out);
        return;
    }
    simd_check(env, SIMD_SSE, -1, 0);
    s = *simd_src_xmm(env, in, &s, 16, true);
    r = s;
    for (int i = 0; i < 4; i++) {
        unsigned k = (imm >> (2 * i)) & 3;
        if (in->op == X86_OP_PSHUFD) {
            r.l[i] = s.l[k];
        } else if (in->op == X86_OP_PSHUFHW) {
            r.w[4 + i] = s.w[4 + k];
        } else {
            r.w[i] = s.w[k];
        }
    }
    env->xmm[in->reg] = r;
}

static void mov_shufp(X86CPUState *env, const X86Insn *in)
{
    uint8_t imm = in->imm;
    X86XMMReg s, d, r;

    simd_check(env, SIMD_SSE, -1, 0);
    s = *simd_src_xmm(env, in, &s, 16, true);
    d = env->xmm[in->reg];
    if (in->op == X86_OP_SHUFPS) {
        r.l[0] = d.l[imm & 3];
        r.l[1] = d.l[(imm >> 2) & 3];
        r.l[2] = s.l[(imm >> 4) & 3];
        r.l[3] = s.l[(imm >> 6) & 3];
    } else {
        r.q[0] = d.q[imm & 1];
        r.q[1] = s.q[(imm >> 1) & 1];
    }
    env->xmm[in->reg] = r;
}

/* PINSRW: a word from a register (low 16 bits) or memory. */
static void mov_pinsrw(X86CPUState *env, const X86Insn *in)
{
    bool mmx = in->opnd[0] == X86_OPND_Pq;
    uint16_t w;

    simd_check(env, mmx ? SIMD_MMX : SIMD_SSE, -1, 0);
    w = in->mod == 3 ? env->regs[in->rm]
                     : x86_ld16(env, in->seg, x86_ea(env, in));
    if (mmx) {
        unsigned k = (in->imm & 3) * 16;
        simd_mmx_enter(env);
        uint64_t v = simd_mmx_get(env, in->reg);
        v = (v & ~(UINT64_C(0xffff) << k)) | ((uint64_t)w << k);
        simd_mmx_set(env, in->reg, v);
    } else {
        env->xmm[in->reg].w[in->imm & 7] = w;
    }
}

static void mov_pextrw(X86CPUState *env, const X86Insn *in)
{
    if (in->opnd[1] == X86_OPND_Nq) {
        simd_check(env, SIMD_MMX, -1, 0);
        simd_mmx_enter(env);
        env->regs[in->reg] =
            (simd_mmx_get(env, in->rm) >> ((in->imm & 3) * 16)) & 0xffff;
    } else {
        simd_check(env, SIMD_SSE, -1, 0);
        env->regs[in->reg] = env->xmm[in->rm].w[in->imm & 7];
    }
}

/* SSE3 duplicating loads. */
static void mov_dup(X86CPUState *env, const X86Insn *in)
{
    X86XMMReg s, r;

    simd_check(env, SIMD_SSE, FEAT_1_ECX, CPUID_EXT_SSE3);
    if (in->op == X86_OP_MOVDDUP) {
        s = *simd_src_xmm(env, in, &s, 8, false);
        r.q[0] = r.q[1] = s.q[0];
    } else {
        unsigned o = in->op == X86_OP_MOVSHDUP;
        s = *simd_src_xmm(env, in, &s, 16, true);
        r.l[0] = r.l[1] = s.l[o];
        r.l[2] = r.l[3] = s.l[2 + o];
    }
    env->xmm[in->reg] = r;
}

void x86_exec_sse_mov_init(void)
{
    static const uint16_t full[] = {
        X86_OP_MOVUPS, X86_OP_MOVUPD, X86_OP_MOVDQU, X86_OP_MOVAPS,
        X86_OP_MOVAPD, X86_OP_MOVDQA, X86_OP_MOVNTPS, X86_OP_MOVNTPD,
        X86_OP_MOVNTDQ, X86_OP_LDDQU,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(full); i++) {
        x86_exec_register(full[i], mov_128);
    }
    x86_exec_register(X86_OP_MOVSS, mov_scalar);
    x86_exec_register(X86_OP_MOVSD, mov_scalar);
    x86_exec_register(X86_OP_MOVLPS, mov_half);
    x86_exec_register(X86_OP_MOVLPD, mov_half);
    x86_exec_register(X86_OP_MOVHPS, mov_half);
    x86_exec_register(X86_OP_MOVHPD, mov_half);
    x86_exec_register(X86_OP_MOVHLPS, mov_half);
    x86_exec_register(X86_OP_MOVLHPS, mov_half);
    x86_exec_register(X86_OP_MOVD, mov_d);
    x86_exec_register(X86_OP_MOVQ, mov_q);
    x86_exec_register(X86_OP_MOVQ2DQ, mov_q2dq);
    x86_exec_register(X86_OP_MOVDQ2Q, mov_q2dq);
    x86_exec_register(X86_OP_MOVNTQ, mov_ntq);
    x86_exec_register(X86_OP_MOVNTI, mov_nti);
    x86_exec_register(X86_OP_MOVMSKPS, mov_msk);
    x86_exec_register(X86_OP_MOVMSKPD, mov_msk);
    x86_exec_register(X86_OP_PMOVMSKB, mov_msk);
    x86_exec_register(X86_OP_MASKMOVQ, mov_maskmov);
    x86_exec_register(X86_OP_MASKMOVDQU, mov_maskmov);
    x86_exec_register(X86_OP_PSHUFW, mov_pshuf);
    x86_exec_register(X86_OP_PSHUFD, mov_pshuf);
    x86_exec_register(X86_OP_PSHUFHW, mov_pshuf);
    x86_exec_register(X86_OP_PSHUFLW, mov_pshuf);
    x86_exec_register(X86_OP_SHUFPS, mov_shufp);
    x86_exec_register(X86_OP_SHUFPD, mov_shufp);
    x86_exec_register(X86_OP_PINSRW, mov_pinsrw);
    x86_exec_register(X86_OP_PEXTRW, mov_pextrw);
    x86_exec_register(X86_OP_MOVDDUP, mov_dup);
    x86_exec_register(X86_OP_MOVSLDUP, mov_dup);
    x86_exec_register(X86_OP_MOVSHDUP, mov_dup);
}
