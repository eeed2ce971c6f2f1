/*
 * Integer SIMD: the MMX and SSE2 forms of the packed integer operations
 * (SDM vol 2, "P*" instructions), the bitwise PS/PD forms, unpacks and
 * packs, shifts, and SSSE3.  Each operation is a function over the low
 * @n bytes (8 for MMX, 16 for XMM) of a destination and a source, so one
 * definition serves both register files.
 */
#include "sse.h"

typedef void SiFn(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                  uint8_t imm);

/* ---- saturation ---- */

static int8_t si_ss8(int v)
{
    return v > 127 ? 127 : v < -128 ? -128 : v;
}

static uint8_t si_su8(int v)
{
    return v > 255 ? 255 : v < 0 ? 0 : v;
}

static int16_t si_ss16(int32_t v)
{
    return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

static uint16_t si_su16(int32_t v)
{
    return v > 65535 ? 65535 : v < 0 ? 0 : v;
}

/* ---- element-wise operations: a is the destination lane, b the source */

#define SI_ELEM(name, f, expr) \
    static void name(X86XMMReg *d, const X86XMMReg *s, unsigned n, \
                     uint8_t imm) \
    { \
        (void)imm; \
        for (unsigned i = 0; i < n / sizeof(d->f[0]); i++) { \
            __typeof__(d->f[0]) a = d->f[i], b = s->f[i]; \
            (void)a; (void)b; \
            d->f[i] = (expr); \
        } \
    }

SI_ELEM(si_paddb, b, a + b)
SI_ELEM(si_paddw, w, a + b)
SI_ELEM(si_paddd, l, a + b)
SI_ELEM(si_paddq, q, a + b)
SI_ELEM(si_psubb, b, a - b)
SI_ELEM(si_psubw, w, a - b)
SI_ELEM(si_psubd, l, a - b)
SI_ELEM(si_psubq, q, a - b)
SI_ELEM(si_paddsb, sb, si_ss8(a + b))
SI_ELEM(si_paddsw, sw, si_ss16(a + b))
SI_ELEM(si_paddusb, b, si_su8(a + b))
SI_ELEM(si_paddusw, w, si_su16(a + b))
SI_ELEM(si_psubsb, sb, si_ss8(a - b))
SI_ELEM(si_psubsw, sw, si_ss16(a - b))
SI_ELEM(si_psubusb, b, si_su8(a - b))
SI_ELEM(si_psubusw, w, si_su16(a - b))
SI_ELEM(si_pcmpeqb, b, a == b ? 0xff : 0)
SI_ELEM(si_pcmpeqw, w, a == b ? 0xffff : 0)
SI_ELEM(si_pcmpeqd, l, a == b ? UINT32_MAX : 0)
SI_ELEM(si_pcmpgtb, sb, a > b ? -1 : 0)
SI_ELEM(si_pcmpgtw, sw, a > b ? -1 : 0)
SI_ELEM(si_pcmpgtd, sl, a > b ? -1 : 0)
SI_ELEM(si_pmullw, w, (uint16_t)((uint32_t)a * b))
SI_ELEM(si_pmulhw, sw, (int16_t)(((int32_t)a * b) >> 16))
SI_ELEM(si_pmulhuw, w, (uint16_t)(((uint32_t)a * b) >> 16))
SI_ELEM(si_pand, q, a & b)
SI_ELEM(si_pandn, q, ~a & b)
SI_ELEM(si_por, q, a | b)
SI_ELEM(si_pxor, q, a ^ b)
SI_ELEM(si_pavgb, b, (a + b + 1) >> 1)
SI_ELEM(si_pavgw, w, ((uint32_t)a + b + 1) >> 1)
SI_ELEM(si_pminub, b, a < b ? a : b)
SI_ELEM(si_pmaxub, b, a > b ? a : b)
SI_ELEM(si_pminsw, sw, a < b ? a : b)
SI_ELEM(si_pmaxsw, sw, a > b ? a : b)
/* SSSE3 */
SI_ELEM(si_psignb, sb, b < 0 ? -a : b ? a : 0)
SI_ELEM(si_psignw, sw, b < 0 ? -a : b ? a : 0)
SI_ELEM(si_psignd, sl, b < 0 ? (int32_t)(0u - (uint32_t)a) : b ? a : 0)
SI_ELEM(si_pmulhrsw, sw, (int16_t)(((((int32_t)a * b) >> 14) + 1) >> 1))
SI_ELEM(si_pabsb, sb, b < 0 ? -b : b)
SI_ELEM(si_pabsw, sw, b < 0 ? -b : b)
SI_ELEM(si_pabsd, l, (int32_t)b < 0 ? 0u - b : b)

static void si_pmuludq(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                       uint8_t imm)
{
    for (unsigned i = 0; i < n / 8; i++) {
        d->q[i] = (uint64_t)d->l[2 * i] * s->l[2 * i];
    }
}

static void si_pmaddwd(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                       uint8_t imm)
{
    for (unsigned i = 0; i < n / 4; i++) {
        int64_t v = (int64_t)d->sw[2 * i] * s->sw[2 * i] +
                    (int64_t)d->sw[2 * i + 1] * s->sw[2 * i + 1];
        d->l[i] = (uint32_t)v;
    }
}

static void si_psadbw(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                      uint8_t imm)
{
    for (unsigned i = 0; i < n / 8; i++) {
        unsigned sum = 0;
        for (unsigned j = 0; j < 8; j++) {
            int a = d->b[8 * i + j], b = s->b[8 * i + j];
            sum += a > b ? a - b : b - a;
        }
        d->q[i] = sum;
    }
}

static void si_pmaddubsw(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                         uint8_t imm)
{
    X86XMMReg r;
    for (unsigned i = 0; i < n / 2; i++) {
        int32_t v = d->b[2 * i] * s->sb[2 * i] +
                    d->b[2 * i + 1] * s->sb[2 * i + 1];
        r.sw[i] = si_ss16(v);
    }
    memcpy(d, &r, n);
}

static void si_pshufb(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                      uint8_t imm)
{
    X86XMMReg r;
    for (unsigned i = 0; i < n; i++) {
        uint8_t k = s->b[i];
        r.b[i] = (k & 0x80) ? 0 : d->b[k & (n - 1)];
    }
    memcpy(d, &r, n);
}

static void si_palignr(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                       uint8_t imm)
{
    uint8_t cat[32];
    X86XMMReg r;

    memcpy(cat, s->b, n);               /* source is the low half */
    memcpy(cat + n, d->b, n);
    for (unsigned i = 0; i < n; i++) {
        r.b[i] = imm + i < 2 * n ? cat[imm + i] : 0;
    }
    memcpy(d, &r, n);
}

/* Horizontal add/sub: pairs of the destination, then of the source. */
typedef int32_t SiPairFn(int32_t a, int32_t b);

static int32_t si_h_addw(int32_t a, int32_t b)
{
    return (int16_t)(a + b);
}

static int32_t si_h_subw(int32_t a, int32_t b)
{
    return (int16_t)(a - b);
}

static int32_t si_h_addsw(int32_t a, int32_t b)
{
    return si_ss16(a + b);
}

static int32_t si_h_subsw(int32_t a, int32_t b)
{
    return si_ss16(a - b);
}

static void si_hwords(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                      SiPairFn *fn)
{
    X86XMMReg r;
    unsigned half = n / 4;
    for (unsigned i = 0; i < half; i++) {
        r.sw[i] = fn(d->sw[2 * i], d->sw[2 * i + 1]);
        r.sw[half + i] = fn(s->sw[2 * i], s->sw[2 * i + 1]);
    }
    memcpy(d, &r, n);
}

static void si_hdwords(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                       bool sub)
{
    X86XMMReg r;
    unsigned half = n / 8;
    for (unsigned i = 0; i < half; i++) {
        uint32_t a = d->l[2 * i], b = d->l[2 * i + 1];
        uint32_t c = s->l[2 * i], e = s->l[2 * i + 1];
        r.l[i] = sub ? a - b : a + b;
        r.l[half + i] = sub ? c - e : c + e;
    }
    memcpy(d, &r, n);
}

static void si_phaddw(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                      uint8_t imm)
{
    si_hwords(d, s, n, si_h_addw);
}

static void si_phsubw(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                      uint8_t imm)
{
    si_hwords(d, s, n, si_h_subw);
}

static void si_phaddsw(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                       uint8_t imm)
{
    si_hwords(d, s, n, si_h_addsw);
}

static void si_phsubsw(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                       uint8_t imm)
{
    si_hwords(d, s, n, si_h_subsw);
}

static void si_phaddd(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                      uint8_t imm)
{
    si_hdwords(d, s, n, false);
}

static void si_phsubd(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                      uint8_t imm)
{
    si_hdwords(d, s, n, true);
}

/* ---- unpacks and packs ---- */

/* Interleave elements of @e bytes from the low (@high false) halves. */
static void si_unpack(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                      unsigned e, bool high)
{
    X86XMMReg r;
    unsigned base = high ? n / 2 : 0;
    for (unsigned i = 0; i < n / (2 * e); i++) {
        memcpy(r.b + 2 * i * e, d->b + base + i * e, e);
        memcpy(r.b + (2 * i + 1) * e, s->b + base + i * e, e);
    }
    memcpy(d, &r, n);
}

#define SI_UNPACK(name, e, high) \
    static void name(X86XMMReg *d, const X86XMMReg *s, unsigned n, \
                     uint8_t imm) \
    { \
        si_unpack(d, s, n, e, high); \
    }

SI_UNPACK(si_punpcklbw, 1, false)
SI_UNPACK(si_punpcklwd, 2, false)
SI_UNPACK(si_punpckldq, 4, false)
SI_UNPACK(si_punpcklqdq, 8, false)
SI_UNPACK(si_punpckhbw, 1, true)
SI_UNPACK(si_punpckhwd, 2, true)
SI_UNPACK(si_punpckhdq, 4, true)
SI_UNPACK(si_punpckhqdq, 8, true)

static void si_packsswb(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                        uint8_t imm)
{
    X86XMMReg r;
    unsigned k = n / 2;
    for (unsigned i = 0; i < k; i++) {
        r.sb[i] = si_ss8(d->sw[i]);
        r.sb[k + i] = si_ss8(s->sw[i]);
    }
    memcpy(d, &r, n);
}

static void si_packuswb(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                        uint8_t imm)
{
    X86XMMReg r;
    unsigned k = n / 2;
    for (unsigned i = 0; i < k; i++) {
        r.b[i] = si_su8(d->sw[i]);
        r.b[k + i] = si_su8(s->sw[i]);
    }
    memcpy(d, &r, n);
}

static void si_packssdw(X86XMMReg *d, const X86XMMReg *s, unsigned n,
                        uint8_t imm)
{
    X86XMMReg r;
    unsigned k = n / 4;
    for (unsigned i = 0; i < k; i++) {
        r.sw[i] = si_ss16(d->sl[i]);
        r.sw[k + i] = si_ss16(s->sl[i]);
    }
    memcpy(d, &r, n);
}

/* ---- shifts: the count is the whole low quadword of the source ---- */

static void si_shift(X86XMMReg *d, unsigned n, unsigned esize, int kind,
                     uint64_t cnt)
{
    unsigned bits = esize * 8;
    for (unsigned i = 0; i < n / esize; i++) {
        uint64_t v = 0;
        memcpy(&v, d->b + i * esize, esize);
        if (kind == 0) {                            /* logical right */
            v = cnt >= bits ? 0 : v >> cnt;
        } else if (kind == 1) {                     /* arithmetic right */
            int64_t sv = x86_sext(v, esize);
            v = sv >> (cnt >= bits ? bits - 1 : cnt);
        } else {                                    /* left */
            v = cnt >= bits ? 0 : v << cnt;
        }
        memcpy(d->b + i * esize, &v, esize);
    }
}

#define SI_SHIFT(name, esize, kind) \
    static void name(X86XMMReg *d, const X86XMMReg *s, unsigned n, \
                     uint8_t imm) \
    { \
        si_shift(d, n, esize, kind, s->q[0]); \
    }

SI_SHIFT(si_psrlw, 2, 0)
SI_SHIFT(si_psrld, 4, 0)
SI_SHIFT(si_psrlq, 8, 0)
SI_SHIFT(si_psraw, 2, 1)
SI_SHIFT(si_psrad, 4, 1)
SI_SHIFT(si_psllw, 2, 2)
SI_SHIFT(si_pslld, 4, 2)
SI_SHIFT(si_psllq, 8, 2)

/* ---- dispatch ---- */

typedef struct SiOp {
    SiFn *fn;
    uint8_t feat_word;      /* FEAT_1_ECX or 0xff */
    uint32_t feat_bit;
} SiOp;

static SiOp si_ops[X86_OP_NB];

static void si_binop(X86CPUState *env, const X86Insn *in)
{
    const SiOp *o = &si_ops[in->op];
    int word = o->feat_word == 0xff ? -1 : o->feat_word;
    uint8_t imm = in->opnd[2] == X86_OPND_Ib ? in->imm : 0;
    X86XMMReg d, s;

    if (in->opnd[0] == X86_OPND_Pq) {
        simd_check(env, SIMD_MMX, word, o->feat_bit);
        memset(&d, 0, sizeof(d));
        memset(&s, 0, sizeof(s));
        s.q[0] = simd_src_mmx(env, in);
        simd_mmx_enter(env);
        d.q[0] = simd_mmx_get(env, in->reg);
        o->fn(&d, &s, 8, imm);
        simd_mmx_set(env, in->reg, d.q[0]);
        return;
    }
    simd_check(env, SIMD_SSE, word, o->feat_bit);
    s = *simd_src_xmm(env, in, &s, 16, true);
    d = env->xmm[in->reg];
    o->fn(&d, &s, 16, imm);
    env->xmm[in->reg] = d;
}

/* Groups 12-14: shifts of Nq/Ux by an immediate; 73 /3 and /7 by bytes. */
static void si_shift_imm(X86CPUState *env, const X86Insn *in)
{
    static const int kinds[8] = { -1, -1, 0, 3, 1, -1, 2, 4 };
    unsigned esize = 2 << ((in->opcode & 0xff) - 0x71);
    unsigned r = in->reg & 7, n = in->opnd[0] == X86_OPND_Nq ? 8 : 16;
    int kind = kinds[r];
    X86XMMReg d;

    if (n == 8) {
        simd_check(env, SIMD_MMX, -1, 0);
        simd_mmx_enter(env);
        memset(&d, 0, sizeof(d));
        d.q[0] = simd_mmx_get(env, in->rm);
    } else {
        simd_check(env, SIMD_SSE, -1, 0);
        d = env->xmm[in->rm];
    }
    if (kind == 3 || kind == 4) {           /* PSRLDQ / PSLLDQ */
        X86XMMReg r2 = { .q = { 0, 0 } };
        unsigned k = in->imm & 0xff;
        for (unsigned i = 0; i < 16; i++) {
            int src = kind == 3 ? (int)(i + k) : (int)i - (int)k;
            r2.b[i] = src >= 0 && src < 16 ? d.b[src] : 0;
        }
        d = r2;
    } else {
        si_shift(&d, n, esize, kind, in->imm & 0xff);
    }
    if (n == 8) {
        simd_mmx_set(env, in->rm, d.q[0]);
    } else {
        env->xmm[in->rm] = d;
    }
}

static void si_reg(unsigned op, SiFn *fn)
{
    si_ops[op] = (SiOp){ .fn = fn, .feat_word = 0xff };
    x86_exec_register(op, si_binop);
}

static void si_reg_ssse3(unsigned op, SiFn *fn)
{
    si_ops[op] = (SiOp){ .fn = fn, .feat_word = FEAT_1_ECX,
                         .feat_bit = CPUID_EXT_SSSE3 };
    x86_exec_register(op, si_binop);
}

void x86_exec_sse_int_init(void)
{
    static const struct {
        uint16_t op;
        SiFn *fn;
    } ops[] = {
        { X86_OP_PUNPCKLBW, si_punpcklbw }, { X86_OP_PUNPCKLWD, si_punpcklwd },
        { X86_OP_PUNPCKLDQ, si_punpckldq }, { X86_OP_PACKSSWB, si_packsswb },
        { X86_OP_PCMPGTB, si_pcmpgtb }, { X86_OP_PCMPGTW, si_pcmpgtw },
        { X86_OP_PCMPGTD, si_pcmpgtd }, { X86_OP_PACKUSWB, si_packuswb },
        { X86_OP_PUNPCKHBW, si_punpckhbw }, { X86_OP_PUNPCKHWD, si_punpckhwd },
        { X86_OP_PUNPCKHDQ, si_punpckhdq }, { X86_OP_PACKSSDW, si_packssdw },
        { X86_OP_PUNPCKLQDQ, si_punpcklqdq },
        { X86_OP_PUNPCKHQDQ, si_punpckhqdq },
        { X86_OP_PCMPEQB, si_pcmpeqb }, { X86_OP_PCMPEQW, si_pcmpeqw },
        { X86_OP_PCMPEQD, si_pcmpeqd }, { X86_OP_PSRLW, si_psrlw },
        { X86_OP_PSRLD, si_psrld }, { X86_OP_PSRLQ, si_psrlq },
        { X86_OP_PADDQ, si_paddq }, { X86_OP_PMULLW, si_pmullw },
        { X86_OP_PSUBUSB, si_psubusb }, { X86_OP_PSUBUSW, si_psubusw },
        { X86_OP_PMINUB, si_pminub }, { X86_OP_PAND, si_pand },
        { X86_OP_PADDUSB, si_paddusb }, { X86_OP_PADDUSW, si_paddusw },
        { X86_OP_PMAXUB, si_pmaxub }, { X86_OP_PANDN, si_pandn },
        { X86_OP_PAVGB, si_pavgb }, { X86_OP_PSRAW, si_psraw },
        { X86_OP_PSRAD, si_psrad }, { X86_OP_PAVGW, si_pavgw },
        { X86_OP_PMULHUW, si_pmulhuw }, { X86_OP_PMULHW, si_pmulhw },
        { X86_OP_PSUBSB, si_psubsb }, { X86_OP_PSUBSW, si_psubsw },
        { X86_OP_PMINSW, si_pminsw }, { X86_OP_POR, si_por },
        { X86_OP_PADDSB, si_paddsb }, { X86_OP_PADDSW, si_paddsw },
        { X86_OP_PMAXSW, si_pmaxsw }, { X86_OP_PXOR, si_pxor },
        { X86_OP_PSLLW, si_psllw }, { X86_OP_PSLLD, si_pslld },
        { X86_OP_PSLLQ, si_psllq }, { X86_OP_PMULUDQ, si_pmuludq },
        { X86_OP_PMADDWD, si_pmaddwd }, { X86_OP_PSADBW, si_psadbw },
        { X86_OP_PSUBB, si_psubb }, { X86_OP_PSUBW, si_psubw },
        { X86_OP_PSUBD, si_psubd }, { X86_OP_PSUBQ, si_psubq },
        { X86_OP_PADDB, si_paddb }, { X86_OP_PADDW, si_paddw },
        { X86_OP_PADDD, si_paddd },
        { X86_OP_ANDPS, si_pand }, { X86_OP_ANDPD, si_pand },
        { X86_OP_ANDNPS, si_pandn }, { X86_OP_ANDNPD, si_pandn },
        { X86_OP_ORPS, si_por }, { X86_OP_ORPD, si_por },
        { X86_OP_XORPS, si_pxor }, { X86_OP_XORPD, si_pxor },
        { X86_OP_UNPCKLPS, si_punpckldq }, { X86_OP_UNPCKHPS, si_punpckhdq },
        { X86_OP_UNPCKLPD, si_punpcklqdq },
        { X86_OP_UNPCKHPD, si_punpckhqdq },
    };
    static const struct {
        uint16_t op;
        SiFn *fn;
    } ssse3[] = {
        { X86_OP_PSHUFB, si_pshufb }, { X86_OP_PHADDW, si_phaddw },
        { X86_OP_PHADDD, si_phaddd }, { X86_OP_PHADDSW, si_phaddsw },
        { X86_OP_PMADDUBSW, si_pmaddubsw }, { X86_OP_PHSUBW, si_phsubw },
        { X86_OP_PHSUBD, si_phsubd }, { X86_OP_PHSUBSW, si_phsubsw },
        { X86_OP_PSIGNB, si_psignb }, { X86_OP_PSIGNW, si_psignw },
        { X86_OP_PSIGND, si_psignd }, { X86_OP_PMULHRSW, si_pmulhrsw },
        { X86_OP_PABSB, si_pabsb }, { X86_OP_PABSW, si_pabsw },
        { X86_OP_PABSD, si_pabsd }, { X86_OP_PALIGNR, si_palignr },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(ops); i++) {
        si_reg(ops[i].op, ops[i].fn);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(ssse3); i++) {
        si_reg_ssse3(ssse3[i].op, ssse3[i].fn);
    }
    x86_exec_register(X86_OP_PSHIFT_IMM, si_shift_imm);
}
