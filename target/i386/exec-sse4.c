/*
 * SSE4.1 (and PCMPGTQ from SSE4.2): the 66 0F 38 and 66 0F 3A forms
 * (SDM vol 2).  Integer operations are plain C; ROUND*, DPPS and DPPD run
 * as the host instruction under the guest's MXCSR like the rest of the SSE
 * floating point (exec-sse-fp.c), with the immediate selecting one of the
 * compiled-in encodings.
 */
#include "sse.h"

typedef void S4Fn(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                  const X86XMMReg *x0);

/* ---- element-wise integer operations ---- */

#define S4_ELEM(name, f, expr) \
    static void name(X86XMMReg *d, const X86XMMReg *s, uint8_t imm, \
                     const X86XMMReg *x0) \
    { \
        for (unsigned i = 0; i < 16 / sizeof(d->f[0]); i++) { \
            __typeof__(d->f[0]) a = d->f[i], b = s->f[i]; \
            d->f[i] = (expr); \
        } \
    }

S4_ELEM(s4_pcmpeqq, q, a == b ? UINT64_MAX : 0)
S4_ELEM(s4_pcmpgtq, sq, a > b ? -1 : 0)
S4_ELEM(s4_pminsb, sb, a < b ? a : b)
S4_ELEM(s4_pminsd, sl, a < b ? a : b)
S4_ELEM(s4_pminuw, w, a < b ? a : b)
S4_ELEM(s4_pminud, l, a < b ? a : b)
S4_ELEM(s4_pmaxsb, sb, a > b ? a : b)
S4_ELEM(s4_pmaxsd, sl, a > b ? a : b)
S4_ELEM(s4_pmaxuw, w, a > b ? a : b)
S4_ELEM(s4_pmaxud, l, a > b ? a : b)
S4_ELEM(s4_pmulld, l, (uint32_t)((uint64_t)a * b))

static void s4_pmuldq(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                      const X86XMMReg *x0)
{
    for (int i = 0; i < 2; i++) {
        d->sq[i] = (int64_t)d->sl[2 * i] * s->sl[2 * i];
    }
}

static void s4_packusdw(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                        const X86XMMReg *x0)
{
    X86XMMReg r;
    for (int i = 0; i < 4; i++) {
        int32_t a = d->sl[i], b = s->sl[i];
        r.w[i] = a < 0 ? 0 : a > 65535 ? 65535 : a;
        r.w[4 + i] = b < 0 ? 0 : b > 65535 ? 65535 : b;
    }
    *d = r;
}

static void s4_phminposuw(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                          const X86XMMReg *x0)
{
    unsigned k = 0;
    for (unsigned i = 1; i < 8; i++) {
        if (s->w[i] < s->w[k]) {
            k = i;
        }
    }
    d->q[0] = s->w[k] | (k << 16);
    d->q[1] = 0;
}

/* Blends: by immediate bits, or by the sign bits of XMM0. */
static void s4_pblendvb(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                        const X86XMMReg *x0)
{
    for (int i = 0; i < 16; i++) {
        if (x0->b[i] & 0x80) {
            d->b[i] = s->b[i];
        }
    }
}

static void s4_blendvps(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                        const X86XMMReg *x0)
{
    for (int i = 0; i < 4; i++) {
        if (x0->l[i] >> 31) {
            d->l[i] = s->l[i];
        }
    }
}

static void s4_blendvpd(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                        const X86XMMReg *x0)
{
    for (int i = 0; i < 2; i++) {
        if (x0->q[i] >> 63) {
            d->q[i] = s->q[i];
        }
    }
}

static void s4_blendps(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                       const X86XMMReg *x0)
{
    for (int i = 0; i < 4; i++) {
        if (imm & (1u << i)) {
            d->l[i] = s->l[i];
        }
    }
}

static void s4_blendpd(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                       const X86XMMReg *x0)
{
    for (int i = 0; i < 2; i++) {
        if (imm & (1u << i)) {
            d->q[i] = s->q[i];
        }
    }
}

static void s4_pblendw(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                       const X86XMMReg *x0)
{
    for (int i = 0; i < 8; i++) {
        if (imm & (1u << i)) {
            d->w[i] = s->w[i];
        }
    }
}

static void s4_mpsadbw(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                       const X86XMMReg *x0)
{
    unsigned doff = (imm & 4) ? 4 : 0, soff = (imm & 3) * 4;
    X86XMMReg r;
    for (unsigned i = 0; i < 8; i++) {
        unsigned sum = 0;
        for (unsigned j = 0; j < 4; j++) {
            int a = d->b[doff + i + j], b = s->b[soff + j];
            sum += a > b ? a - b : b - a;
        }
        r.w[i] = sum;
    }
    *d = r;
}

/* ---- the generic XMM,XMM/m128 handler ---- */

typedef struct S4Op {
    S4Fn *fn;
    bool sse42;
} S4Op;

static S4Op s4_ops[X86_OP_NB];

static void s4_check(X86CPUState *env, bool sse42)
{
    simd_check(env, SIMD_SSE, FEAT_1_ECX,
               sse42 ? CPUID_EXT_SSE42 : CPUID_EXT_SSE41);
}

static void s4_binop(X86CPUState *env, const X86Insn *in)
{
    const S4Op *o = &s4_ops[in->op];
    X86XMMReg d, s, x0;

    s4_check(env, o->sse42);
    s = *simd_src_xmm(env, in, &s, 16, true);
    d = env->xmm[in->reg];
    x0 = env->xmm[0];
    o->fn(&d, &s, in->imm, &x0);
    env->xmm[in->reg] = d;
}

/* PMOVSX / PMOVZX: the low 2, 4 or 8 bytes of the source widened. */
static void s4_pmovx(X86CPUState *env, const X86Insn *in)
{
    unsigned k = (in->opcode & 0xff) & 0xf;     /* 0..5 */
    static const uint8_t from[6] = { 1, 1, 1, 2, 2, 4 };
    static const uint8_t to[6] = { 2, 4, 8, 4, 8, 8 };
    bool sx = (in->opcode & 0xf0) == 0x20;
    unsigned n = 16 / to[k], bytes = n * from[k];
    X86XMMReg s, r;

    s4_check(env, false);
    if (in->mod != 3 && bytes == 2) {
        memset(&s, 0, sizeof(s));
        s.w[0] = x86_ld16(env, in->seg, x86_ea(env, in));
    } else {
        s = *simd_src_xmm(env, in, &s, bytes, false);
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = 0;
        memcpy(&v, s.b + i * from[k], from[k]);
        if (sx) {
            v = x86_sext(v, from[k]);
        }
        memcpy(r.b + i * to[k], &v, to[k]);
    }
    env->xmm[in->reg] = r;
}

static void s4_ptest(X86CPUState *env, const X86Insn *in)
{
    const X86XMMReg *d = &env->xmm[in->reg];
    X86XMMReg s;
    uint32_t f = 0;

    s4_check(env, false);
    s = *simd_src_xmm(env, in, &s, 16, true);
    if (!((d->q[0] & s.q[0]) | (d->q[1] & s.q[1]))) {
        f |= ZF_MASK;
    }
    if (!((~d->q[0] & s.q[0]) | (~d->q[1] & s.q[1]))) {
        f |= CF_MASK;
    }
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = f;
}

static void s4_movntdqa(X86CPUState *env, const X86Insn *in)
{
    X86XMMReg s;
    s4_check(env, false);
    env->xmm[in->reg] = *simd_src_xmm(env, in, &s, 16, true);
}

/* ---- extracts and inserts ---- */

/* PEXTRB/PEXTRW/PEXTRD/PEXTRQ/EXTRACTPS: register (zero-extended) or m. */
static void s4_extract(X86CPUState *env, const X86Insn *in)
{
    const X86XMMReg *x = &env->xmm[in->reg];
    unsigned op = in->opcode & 0xff, size;
    uint64_t v;

    s4_check(env, false);
    switch (op) {
    case 0x14:
        size = 1;
        v = x->b[in->imm & 15];
        break;
    case 0x15:
        size = 2;
        v = x->w[in->imm & 7];
        break;
    case 0x16:
        size = in->osize == 8 ? 8 : 4;
        v = size == 8 ? x->q[in->imm & 1] : x->l[in->imm & 3];
        break;
    default:                            /* EXTRACTPS */
        size = 4;
        v = x->l[in->imm & 3];
        break;
    }
    if (in->mod == 3) {
        env->regs[in->rm] = v;          /* zero-extended to 64 bits */
    } else {
        x86_mem_write(env, in->seg, x86_ea(env, in), size, v);
    }
}

static void s4_insert(X86CPUState *env, const X86Insn *in)
{
    X86XMMReg *x = &env->xmm[in->reg];
    unsigned op = in->opcode & 0xff;
    bool q = in->osize == 8;
    uint64_t v;

    s4_check(env, false);
    if (op == 0x21) {                   /* INSERTPS */
        unsigned src = (in->imm >> 6) & 3, dst = (in->imm >> 4) & 3;
        uint32_t e = in->mod == 3 ? env->xmm[in->rm].l[src]
                                  : x86_ld32(env, in->seg, x86_ea(env, in));
        x->l[dst] = e;
        for (int i = 0; i < 4; i++) {
            if (in->imm & (1u << i)) {
                x->l[i] = 0;
            }
        }
        return;
    }
    if (in->mod == 3) {
        v = env->regs[in->rm];
    } else {
        unsigned size = op == 0x20 ? 1 : q ? 8 : 4;
        v = x86_mem_read(env, in->seg, x86_ea(env, in), size);
    }
    if (op == 0x20) {
        x->b[in->imm & 15] = v;
    } else if (q) {
        x->q[in->imm & 1] = v;
    } else {
        x->l[in->imm & 3] = v;
    }
}

/* ---- ROUND*, DPPS, DPPD: the host instruction with the guest's imm8 ---- */

#define S4_FP(e, insn) \
    case e: \
        asm volatile("stmxcsr %[save]\n\t" \
                     "ldmxcsr %[csr]\n\t" \
                     "movdqu %[d], %%xmm0\n\t" \
                     "movdqu %[s], %%xmm1\n\t" \
                     insn " $" #e ", %%xmm1, %%xmm0\n\t" \
                     "movdqu %%xmm0, %[d]\n\t" \
                     "stmxcsr %[csr]\n\t" \
                     "ldmxcsr %[save]" \
                     : [d] "+m" (*d), [csr] "+m" (csr), [save] "=m" (save) \
                     : [s] "m" (*s) \
                     : "xmm0", "xmm1"); \
        break;
#define S4_FP16(h, insn) \
    S4_FP(h + 0, insn) S4_FP(h + 1, insn) S4_FP(h + 2, insn) \
    S4_FP(h + 3, insn) S4_FP(h + 4, insn) S4_FP(h + 5, insn) \
    S4_FP(h + 6, insn) S4_FP(h + 7, insn) S4_FP(h + 8, insn) \
    S4_FP(h + 9, insn) S4_FP(h + 10, insn) S4_FP(h + 11, insn) \
    S4_FP(h + 12, insn) S4_FP(h + 13, insn) S4_FP(h + 14, insn) \
    S4_FP(h + 15, insn)
#define S4_FP256(insn) \
    S4_FP16(0, insn) S4_FP16(16, insn) S4_FP16(32, insn) \
    S4_FP16(48, insn) S4_FP16(64, insn) S4_FP16(80, insn) \
    S4_FP16(96, insn) S4_FP16(112, insn) S4_FP16(128, insn) \
    S4_FP16(144, insn) S4_FP16(160, insn) S4_FP16(176, insn) \
    S4_FP16(192, insn) S4_FP16(208, insn) S4_FP16(224, insn) \
    S4_FP16(240, insn)

/* ROUNDxx look at imm8[3:0] only. */
static uint32_t s4_round(unsigned which, X86XMMReg *d, const X86XMMReg *s,
                         uint8_t imm, uint32_t csr)
{
    uint32_t save;
    switch (which * 16 + (imm & 15)) {
    S4_FP16(0, "roundps")
    S4_FP16(16, "roundpd")
    S4_FP16(32, "roundss")
    S4_FP16(48, "roundsd")
    default:
        g_assert_not_reached();
    }
    return csr;
}

static uint32_t s4_dpps(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                        uint32_t csr)
{
    uint32_t save;
    switch (imm) {
    S4_FP256("dpps")
    }
    return csr;
}

static uint32_t s4_dppd(X86XMMReg *d, const X86XMMReg *s, uint8_t imm,
                        uint32_t csr)
{
    uint32_t save;
    switch (imm) {
    S4_FP256("dppd")
    }
    return csr;
}

static void s4_fp(X86CPUState *env, const X86Insn *in)
{
    unsigned op = in->opcode & 0xff;
    static const uint8_t widths[4] = { 16, 16, 4, 8 };
    uint32_t csr = (env->mxcsr & ~MXCSR_FLAGS) | MXCSR_MASKS;
    X86XMMReg s, d;
    unsigned w = op >= 0x40 ? 16 : widths[op - 8];

    s4_check(env, false);
    if (!simd_host_sse41) {
        x86_raise_exception(env, EXCP_UD);
    }
    s = *simd_src_xmm(env, in, &s, w, w == 16);
    d = env->xmm[in->reg];
    if (op == 0x40) {
        csr = s4_dpps(&d, &s, in->imm, csr);
    } else if (op == 0x41) {
        csr = s4_dppd(&d, &s, in->imm, csr);
    } else {
        csr = s4_round(op - 8, &d, &s, in->imm, csr);
    }
    simd_mxcsr_update(env, csr & MXCSR_FLAGS);
    env->xmm[in->reg] = d;
}

void x86_exec_sse4_init(void)
{
    static const struct {
        uint16_t op;
        S4Fn *fn;
    } ops[] = {
        { X86_OP_PCMPEQQ, s4_pcmpeqq }, { X86_OP_PMINSB, s4_pminsb },
        { X86_OP_PMINSD, s4_pminsd }, { X86_OP_PMINUW, s4_pminuw },
        { X86_OP_PMINUD, s4_pminud }, { X86_OP_PMAXSB, s4_pmaxsb },
        { X86_OP_PMAXSD, s4_pmaxsd }, { X86_OP_PMAXUW, s4_pmaxuw },
        { X86_OP_PMAXUD, s4_pmaxud }, { X86_OP_PMULLD, s4_pmulld },
        { X86_OP_PMULDQ, s4_pmuldq }, { X86_OP_PACKUSDW, s4_packusdw },
        { X86_OP_PHMINPOSUW, s4_phminposuw },
        { X86_OP_PBLENDVB, s4_pblendvb }, { X86_OP_BLENDVPS, s4_blendvps },
        { X86_OP_BLENDVPD, s4_blendvpd }, { X86_OP_BLENDPS, s4_blendps },
        { X86_OP_BLENDPD, s4_blendpd }, { X86_OP_PBLENDW, s4_pblendw },
        { X86_OP_MPSADBW, s4_mpsadbw },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(ops); i++) {
        s4_ops[ops[i].op] = (S4Op){ .fn = ops[i].fn };
        x86_exec_register(ops[i].op, s4_binop);
    }
    s4_ops[X86_OP_PCMPGTQ] = (S4Op){ .fn = s4_pcmpgtq, .sse42 = true };
    x86_exec_register(X86_OP_PCMPGTQ, s4_binop);
    for (unsigned op = X86_OP_PMOVSXBW; op <= X86_OP_PMOVZXDQ; op++) {
        x86_exec_register(op, s4_pmovx);
    }
    for (unsigned op = X86_OP_ROUNDPS; op <= X86_OP_DPPD; op++) {
        x86_exec_register(op, s4_fp);
    }
    x86_exec_register(X86_OP_PTEST, s4_ptest);
    x86_exec_register(X86_OP_MOVNTDQA, s4_movntdqa);
    x86_exec_register(X86_OP_PEXTRB, s4_extract);
    x86_exec_register(X86_OP_PEXTRW_E, s4_extract);
    x86_exec_register(X86_OP_PEXTRD, s4_extract);
    x86_exec_register(X86_OP_EXTRACTPS, s4_extract);
    x86_exec_register(X86_OP_PINSRB, s4_insert);
    x86_exec_register(X86_OP_PINSRD, s4_insert);
    x86_exec_register(X86_OP_INSERTPS, s4_insert);
}
