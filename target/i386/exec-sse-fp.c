/*
 * SSE/SSE2/SSE3 floating point: arithmetic, compares, conversions.
 *
 * The host is an x86-64 CPU with the same IEEE arithmetic, so each
 * operation runs as the very same host instruction on copies of the
 * operands, under the guest's MXCSR (rounding, FTZ, DAZ) with every
 * exception masked; the flags it raises are then merged into the guest's
 * MXCSR, and unmasked ones become #XM (simd_mxcsr_update).  Results, NaN
 * propagation, denormal handling and flags are therefore those of real
 * hardware bit for bit.  The asm blocks touch only xmm0/xmm1 and the
 * host MXCSR, which they restore.
 *
 * Unmasked overflow and underflow need more than one masked run: an
 * element that overflows or is tiny reports OE or UE (UE even when
 * exact), with PE only when inexact with an unbounded exponent, so for the
 * element-wise operations that can overflow or underflow, each element
 * is run on its own (fp_unmasked_flags).  DPPS/DPPD (exec-sse4.c) use
 * the flags of the masked computation: approximate when any exception is
 * unmasked (their multiply and add stages are not separated).
 */
#include "sse.h"

typedef uint32_t FpFn(X86XMMReg *d, const X86XMMReg *s, uint32_t csr);

/* xmm0 = d, xmm1 = s; "insn xmm1, xmm0"; d = xmm0. */
#define FP_XX(name, insn) \
    static uint32_t name(X86XMMReg *d, const X86XMMReg *s, uint32_t csr) \
    { \
        uint32_t save; \
        asm volatile("stmxcsr %[save]\n\t" \
                     "ldmxcsr %[csr]\n\t" \
                     "movdqu %[d], %%xmm0\n\t" \
                     "movdqu %[s], %%xmm1\n\t" \
                     insn " %%xmm1, %%xmm0\n\t" \
                     "movdqu %%xmm0, %[d]\n\t" \
                     "stmxcsr %[csr]\n\t" \
                     "ldmxcsr %[save]" \
                     : [d] "+m" (*d), [csr] "+m" (csr), [save] "=m" (save) \
                     : [s] "m" (*s) \
                     : "xmm0", "xmm1"); \
        return csr; \
    }

FP_XX(fp_addps, "addps") FP_XX(fp_addpd, "addpd")
FP_XX(fp_addss, "addss") FP_XX(fp_addsd, "addsd")
FP_XX(fp_subps, "subps") FP_XX(fp_subpd, "subpd")
FP_XX(fp_subss, "subss") FP_XX(fp_subsd, "subsd")
FP_XX(fp_mulps, "mulps") FP_XX(fp_mulpd, "mulpd")
FP_XX(fp_mulss, "mulss") FP_XX(fp_mulsd, "mulsd")
FP_XX(fp_divps, "divps") FP_XX(fp_divpd, "divpd")
FP_XX(fp_divss, "divss") FP_XX(fp_divsd, "divsd")
FP_XX(fp_minps, "minps") FP_XX(fp_minpd, "minpd")
FP_XX(fp_minss, "minss") FP_XX(fp_minsd, "minsd")
FP_XX(fp_maxps, "maxps") FP_XX(fp_maxpd, "maxpd")
FP_XX(fp_maxss, "maxss") FP_XX(fp_maxsd, "maxsd")
FP_XX(fp_sqrtps, "sqrtps") FP_XX(fp_sqrtpd, "sqrtpd")
FP_XX(fp_sqrtss, "sqrtss") FP_XX(fp_sqrtsd, "sqrtsd")
FP_XX(fp_rcpps, "rcpps") FP_XX(fp_rcpss, "rcpss")
FP_XX(fp_rsqrtps, "rsqrtps") FP_XX(fp_rsqrtss, "rsqrtss")
FP_XX(fp_cvtps2pd, "cvtps2pd") FP_XX(fp_cvtpd2ps, "cvtpd2ps")
FP_XX(fp_cvtss2sd, "cvtss2sd") FP_XX(fp_cvtsd2ss, "cvtsd2ss")
FP_XX(fp_cvtdq2ps, "cvtdq2ps") FP_XX(fp_cvtps2dq, "cvtps2dq")
FP_XX(fp_cvttps2dq, "cvttps2dq") FP_XX(fp_cvttpd2dq, "cvttpd2dq")
FP_XX(fp_cvtdq2pd, "cvtdq2pd") FP_XX(fp_cvtpd2dq, "cvtpd2dq")
FP_XX(fp_addsubps, "addsubps") FP_XX(fp_addsubpd, "addsubpd")
FP_XX(fp_haddps, "haddps") FP_XX(fp_haddpd, "haddpd")
FP_XX(fp_hsubps, "hsubps") FP_XX(fp_hsubpd, "hsubpd")

/* The eight compare predicates of legacy CMPxx (imm8 bits 2:0). */
#define FP_CMP8(p, insn) \
    FP_XX(p##0, insn " $0,") FP_XX(p##1, insn " $1,") \
    FP_XX(p##2, insn " $2,") FP_XX(p##3, insn " $3,") \
    FP_XX(p##4, insn " $4,") FP_XX(p##5, insn " $5,") \
    FP_XX(p##6, insn " $6,") FP_XX(p##7, insn " $7,")
FP_CMP8(fp_cmpps, "cmpps")
FP_CMP8(fp_cmppd, "cmppd")
FP_CMP8(fp_cmpss, "cmpss")
FP_CMP8(fp_cmpsd, "cmpsd")

#define FP_CMP_TABLE(p) { p##0, p##1, p##2, p##3, p##4, p##5, p##6, p##7 }
static FpFn *const fp_cmp_fns[4][8] = {
    FP_CMP_TABLE(fp_cmpps), FP_CMP_TABLE(fp_cmppd),
    FP_CMP_TABLE(fp_cmpss), FP_CMP_TABLE(fp_cmpsd),
};

/* (U)COMIS*: ZF PF CF from the host's flags. */
#define FP_COMI(name, insn) \
    static uint32_t name(const X86XMMReg *d, const X86XMMReg *s, \
                         uint32_t csr, uint32_t *eflags) \
    { \
        uint32_t save; \
        uint8_t z, p, c; \
        asm volatile("stmxcsr %[save]\n\t" \
                     "ldmxcsr %[csr]\n\t" \
                     "movdqu %[d], %%xmm0\n\t" \
                     "movdqu %[s], %%xmm1\n\t" \
                     insn " %%xmm1, %%xmm0\n\t" \
                     "setz %[z]\n\t" \
                     "setp %[p]\n\t" \
                     "setc %[c]\n\t" \
                     "stmxcsr %[csr]\n\t" \
                     "ldmxcsr %[save]" \
                     : [csr] "+m" (csr), [save] "=m" (save), \
                       [z] "=q" (z), [p] "=q" (p), [c] "=q" (c) \
                     : [d] "m" (*d), [s] "m" (*s) \
                     : "xmm0", "xmm1", "cc"); \
        *eflags = (z ? ZF_MASK : 0) | (p ? PF_MASK : 0) | \
                  (c ? CF_MASK : 0); \
        return csr; \
    }

FP_COMI(fp_comiss, "comiss")
FP_COMI(fp_comisd, "comisd")
FP_COMI(fp_ucomiss, "ucomiss")
FP_COMI(fp_ucomisd, "ucomisd")

/* Integer (general register) -> scalar float. */
#define FP_FROM_INT(name, insn, mod) \
    static uint32_t name(X86XMMReg *d, uint64_t v, uint32_t csr) \
    { \
        uint32_t save; \
        asm volatile("stmxcsr %[save]\n\t" \
                     "ldmxcsr %[csr]\n\t" \
                     "movdqu %[d], %%xmm0\n\t" \
                     insn " %" mod "[v], %%xmm0\n\t" \
                     "movdqu %%xmm0, %[d]\n\t" \
                     "stmxcsr %[csr]\n\t" \
                     "ldmxcsr %[save]" \
                     : [d] "+m" (*d), [csr] "+m" (csr), [save] "=m" (save) \
                     : [v] "r" (v) \
                     : "xmm0"); \
        return csr; \
    }

FP_FROM_INT(fp_cvtsi2ss32, "cvtsi2ssl", "k")
FP_FROM_INT(fp_cvtsi2ss64, "cvtsi2ssq", "q")
FP_FROM_INT(fp_cvtsi2sd32, "cvtsi2sdl", "k")
FP_FROM_INT(fp_cvtsi2sd64, "cvtsi2sdq", "q")

/* Scalar float -> integer (general register). */
#define FP_TO_INT(name, insn, mod) \
    static uint32_t name(const X86XMMReg *s, uint64_t *v, uint32_t csr) \
    { \
        uint32_t save; \
        uint64_t r = 0; \
        asm volatile("stmxcsr %[save]\n\t" \
                     "ldmxcsr %[csr]\n\t" \
                     "movdqu %[s], %%xmm1\n\t" \
                     insn " %%xmm1, %" mod "[r]\n\t" \
                     "stmxcsr %[csr]\n\t" \
                     "ldmxcsr %[save]" \
                     : [r] "+r" (r), [csr] "+m" (csr), [save] "=m" (save) \
                     : [s] "m" (*s) \
                     : "xmm1"); \
        *v = r; \
        return csr; \
    }

FP_TO_INT(fp_cvtss2si32, "cvtss2si", "k")
FP_TO_INT(fp_cvtss2si64, "cvtss2si", "q")
FP_TO_INT(fp_cvttss2si32, "cvttss2si", "k")
FP_TO_INT(fp_cvttss2si64, "cvttss2si", "q")
FP_TO_INT(fp_cvtsd2si32, "cvtsd2si", "k")
FP_TO_INT(fp_cvtsd2si64, "cvtsd2si", "q")
FP_TO_INT(fp_cvttsd2si32, "cvttsd2si", "k")
FP_TO_INT(fp_cvttsd2si64, "cvttsd2si", "q")

/* ---- handlers ---- */

/* What an operation does, for unmasked overflow/underflow. */
enum {
    FK_OTHER, FK_ADD, FK_SUB, FK_ADDSUB, FK_MUL, FK_DIV, FK_CVT,
    FK_HADD, FK_HSUB,           /* horizontal: pairs of one operand */
};

typedef struct FpOp {
    FpFn *fn;
    uint8_t src_bytes;      /* memory operand width */
    bool sse3;
    uint8_t kind;           /* FK_* */
    uint8_t lanes;          /* elements computed */
    uint8_t esize;          /* bytes per source element */
} FpOp;

static FpOp fp_ops[X86_OP_NB];

/* The MXCSR the host runs with: the guest's modes, no flags, all masked. */
static uint32_t fp_host_csr(const X86CPUState *env)
{
    return (env->mxcsr & ~MXCSR_FLAGS) | MXCSR_MASKS;
}

static void fp_check(X86CPUState *env, bool sse3)
{
    if (sse3) {
        simd_check(env, SIMD_SSE, FEAT_1_ECX, CPUID_EXT_SSE3);
        if (!simd_host_sse3) {
            x86_raise_exception(env, EXCP_UD);
        }
    } else {
        simd_check(env, SIMD_SSE, -1, 0);
    }
}

static void fp_finish(X86CPUState *env, unsigned reg, const X86XMMReg *d,
                      uint32_t csr)
{
    simd_mxcsr_update(env, csr & MXCSR_FLAGS);
    env->xmm[reg] = *d;
}

/* ---- unmasked overflow / underflow, element by element ---- */

#define MXCSR_OE        (1u << 3)
#define MXCSR_UE        (1u << 4)
#define MXCSR_PE        (1u << 5)
#define MXCSR_OM        (1u << 10)
#define MXCSR_UM        (1u << 11)
#define MXCSR_DAZ       (1u << 6)
#define MXCSR_FTZ       (1u << 15)

static uint64_t fp_lane(const X86XMMReg *x, unsigned i, unsigned esize)
{
    return esize == 4 ? x->l[i] : x->q[i];
}

/* The significand as an integer (implicit bit included). */
static uint64_t fp_mant(uint64_t bits, unsigned esize, bool daz)
{
    unsigned mbits = esize == 4 ? 23 : 52, ebits = esize == 4 ? 8 : 11;
    uint64_t m = bits & ((UINT64_C(1) << mbits) - 1);
    unsigned e = (bits >> mbits) & ((1u << ebits) - 1);

    if (e) {
        return m | (UINT64_C(1) << mbits);
    }
    return daz ? 0 : m;
}

static unsigned fp_bitlen(unsigned __int128 v)
{
    unsigned n = 0;
    while (v) {
        n++;
        v >>= 1;
    }
    return n;
}

static unsigned __int128 fp_odd(unsigned __int128 v)
{
    while (v && !(v & 1)) {
        v >>= 1;
    }
    return v;
}

/* The biased exponent, denormals counted as 1 (same scale as normals). */
static int fp_exp(uint64_t bits, unsigned esize)
{
    unsigned mbits = esize == 4 ? 23 : 52, ebits = esize == 4 ? 8 : 11;
    int e = (bits >> mbits) & ((1u << ebits) - 1);
    return e ? e : 1;
}

/*
 * a + b (or a - b) exact in @p bits?  When the exponents differ by more
 * than p + 1 the smaller operand is below half an ulp of the larger: never
 * exact; otherwise the aligned integer sum fits in 128 bits.
 */
static bool fp_sum_inexact(uint64_t a, uint64_t b, bool sub, unsigned es,
                           bool daz)
{
    unsigned p = es == 4 ? 24 : 53, sbit = es * 8 - 1;
    uint64_t ma = fp_mant(a, es, daz), mb = fp_mant(b, es, daz);
    int ea = fp_exp(a, es), eb = fp_exp(b, es);
    bool sa = (a >> sbit) & 1, sb = ((b >> sbit) & 1) ^ sub;
    unsigned __int128 x, y, r;

    if (!ma || !mb) {
        return false;
    }
    if (ea < eb) {
        int te = ea;
        uint64_t tm = ma;
        ea = eb, eb = te;
        ma = mb, mb = tm;
    }
    if (ea - eb > (int)p + 1) {
        return true;
    }
    x = (unsigned __int128)ma << (ea - eb);
    y = mb;
    r = sa == sb ? x + y : x > y ? x - y : y - x;
    return r && fp_bitlen(fp_odd(r)) > p;
}

/*
 * Is element @i of "a op b" inexact when rounded with an unbounded
 * exponent?  (Asked for elements that overflow or are tiny.)
 */
static bool fp_inexact_unbounded(const FpOp *o, const X86XMMReg *a,
                                 const X86XMMReg *b, unsigned i, bool daz)
{
    unsigned es = o->esize, p = es == 4 ? 24 : 53;
    uint64_t ma = fp_mant(fp_lane(a, i, es), es, daz);
    uint64_t mb = fp_mant(fp_lane(b, i, es), es, daz);
    unsigned __int128 oa, ob;

    if (o->kind == FK_HADD || o->kind == FK_HSUB) {
        /* result i adds the pair 2i, 2i+1 of a (low half) or of b */
        const X86XMMReg *src = i < o->lanes / 2 ? a : b;
        unsigned k = 2 * (i % (o->lanes / 2));
        return fp_sum_inexact(fp_lane(src, k, es), fp_lane(src, k + 1, es),
                              o->kind == FK_HSUB, es, daz);
    }
    switch (o->kind) {
    case FK_ADD:
    case FK_SUB:
    case FK_ADDSUB:
        return fp_sum_inexact(fp_lane(a, i, es), fp_lane(b, i, es),
                              o->kind == FK_SUB ||
                              (o->kind == FK_ADDSUB && !(i & 1)),
                              es, daz);
    case FK_MUL:
        return fp_bitlen(fp_odd((unsigned __int128)ma * mb)) > p;
    case FK_DIV:
        oa = fp_odd(ma);
        ob = fp_odd(mb);
        if (!oa || !ob) {
            return false;
        }
        return oa % ob || fp_bitlen(oa / ob) > p;
    case FK_CVT:                        /* double -> single */
        return fp_bitlen(fp_odd(mb)) > 24;
    default:
        return false;
    }
}

/*
 * Element @i alone: every other element of both operands is 1.0 (for the
 * horizontal operations: every element but the pair result @i uses).
 */
static void fp_isolate(const FpOp *o, X86XMMReg *a, X86XMMReg *b,
                       unsigned i)
{
    bool h = o->kind == FK_HADD || o->kind == FK_HSUB;
    unsigned half = o->lanes / 2;

    for (unsigned j = 0; j < o->lanes; j++) {
        if (h) {
            unsigned k = 2 * (i % half);
            X86XMMReg *keep = i < half ? a : b, *other = i < half ? b : a;
            if (o->esize == 4) {
                other->l[j] = 0x3f800000u;
                if (j != k && j != k + 1) {
                    keep->l[j] = 0x3f800000u;
                }
            } else {
                other->q[j] = UINT64_C(0x3ff0000000000000);
                if (j != k && j != k + 1) {
                    keep->q[j] = UINT64_C(0x3ff0000000000000);
                }
            }
            continue;
        }
        if (j == i) {
            continue;
        }
        if (o->esize == 4) {
            a->l[j] = b->l[j] = 0x3f800000u;
        } else {
            a->q[j] = b->q[j] = UINT64_C(0x3ff0000000000000);
        }
    }
}

/*
 * The flags of an element-wise operation when overflow or underflow is
 * unmasked: an element that overflows reports OE, one that is tiny -- as
 * the flush-to-zero run detects it -- UE, either with PE only if inexact
 * with an unbounded exponent; the others their masked flags.
 */
static uint32_t fp_unmasked_flags(X86CPUState *env, const FpOp *o,
                                  const X86XMMReg *d, const X86XMMReg *s)
{
    const uint32_t pre = MXCSR_IE | MXCSR_DE | MXCSR_ZE;
    uint32_t host = fp_host_csr(env), total = 0;
    bool om = !(env->mxcsr & MXCSR_OM), um = !(env->mxcsr & MXCSR_UM);
    bool daz = env->mxcsr & MXCSR_DAZ;

    for (unsigned i = 0; i < o->lanes; i++) {
        X86XMMReg a = *d, b = *s, t;
        uint32_t f, lf;

        fp_isolate(o, &a, &b, i);
        t = a;
        f = o->fn(&t, &b, host) & MXCSR_FLAGS;
        t = a;
        if (om && (f & MXCSR_OE)) {
            lf = (f & pre) | MXCSR_OE |
                 (fp_inexact_unbounded(o, &a, &b, i, daz) ? MXCSR_PE : 0);
        } else if (um &&
                   (o->fn(&t, &b, host | MXCSR_FTZ) & MXCSR_UE)) {
            lf = (f & pre) | MXCSR_UE |
                 (fp_inexact_unbounded(o, &a, &b, i, daz) ? MXCSR_PE : 0);
        } else {
            lf = f;
        }
        total |= lf;
    }
    return total;
}

static void fp_arith(X86CPUState *env, const X86Insn *in)
{
    const FpOp *o = &fp_ops[in->op];
    X86XMMReg s, d, d0;
    uint32_t flags;

    fp_check(env, o->sse3);
    s = *simd_src_xmm(env, in, &s, o->src_bytes, o->src_bytes == 16);
    d = d0 = env->xmm[in->reg];
    flags = o->fn(&d, &s, fp_host_csr(env)) & MXCSR_FLAGS;
    if (o->kind != FK_OTHER &&
        (env->mxcsr & (MXCSR_OM | MXCSR_UM)) != (MXCSR_OM | MXCSR_UM)) {
        flags = fp_unmasked_flags(env, o, &d0, &s);
    }
    simd_mxcsr_update(env, flags);
    env->xmm[in->reg] = d;
}

static void fp_cmp(X86CPUState *env, const X86Insn *in)
{
    static const uint8_t widths[4] = { 16, 16, 4, 8 };
    unsigned k = in->op - X86_OP_CMPPS;
    X86XMMReg s, d;

    fp_check(env, false);
    s = *simd_src_xmm(env, in, &s, widths[k], widths[k] == 16);
    d = env->xmm[in->reg];
    fp_finish(env, in->reg, &d,
              fp_cmp_fns[k][in->imm & 7](&d, &s, fp_host_csr(env)));
}

static void fp_comi(X86CPUState *env, const X86Insn *in)
{
    bool dbl = in->op == X86_OP_COMISD || in->op == X86_OP_UCOMISD;
    uint32_t fl, csr;
    X86XMMReg s;

    fp_check(env, false);
    s = *simd_src_xmm(env, in, &s, dbl ? 8 : 4, false);
    switch (in->op) {
    case X86_OP_COMISS:
        csr = fp_comiss(&env->xmm[in->reg], &s, fp_host_csr(env), &fl);
        break;
    case X86_OP_COMISD:
        csr = fp_comisd(&env->xmm[in->reg], &s, fp_host_csr(env), &fl);
        break;
    case X86_OP_UCOMISS:
        csr = fp_ucomiss(&env->xmm[in->reg], &s, fp_host_csr(env), &fl);
        break;
    default:
        csr = fp_ucomisd(&env->xmm[in->reg], &s, fp_host_csr(env), &fl);
        break;
    }
    simd_mxcsr_update(env, csr & MXCSR_FLAGS);
    /* ZF PF CF from the compare; OF SF AF cleared. */
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = fl;
}

static void fp_cvtsi2s(X86CPUState *env, const X86Insn *in)
{
    bool q = in->osize == 8;
    X86Loc l;
    uint64_t v;
    uint32_t csr;
    X86XMMReg d;

    fp_check(env, false);
    l = x86_loc(env, in, 1);
    v = x86_loc_read(env, &l);
    d = env->xmm[in->reg];
    if (in->op == X86_OP_CVTSI2SS) {
        csr = (q ? fp_cvtsi2ss64 : fp_cvtsi2ss32)(&d, v, fp_host_csr(env));
    } else {
        csr = (q ? fp_cvtsi2sd64 : fp_cvtsi2sd32)(&d, v, fp_host_csr(env));
    }
    fp_finish(env, in->reg, &d, csr);
}

static void fp_cvts2si(X86CPUState *env, const X86Insn *in)
{
    bool q = in->osize == 8;
    bool dbl = in->op == X86_OP_CVTSD2SI || in->op == X86_OP_CVTTSD2SI;
    uint32_t csr, hc;
    uint64_t v;
    X86XMMReg s;

    fp_check(env, false);
    s = *simd_src_xmm(env, in, &s, dbl ? 8 : 4, false);
    hc = fp_host_csr(env);
    switch (in->op) {
    case X86_OP_CVTSS2SI:
        csr = (q ? fp_cvtss2si64 : fp_cvtss2si32)(&s, &v, hc);
        break;
    case X86_OP_CVTTSS2SI:
        csr = (q ? fp_cvttss2si64 : fp_cvttss2si32)(&s, &v, hc);
        break;
    case X86_OP_CVTSD2SI:
        csr = (q ? fp_cvtsd2si64 : fp_cvtsd2si32)(&s, &v, hc);
        break;
    default:
        csr = (q ? fp_cvttsd2si64 : fp_cvttsd2si32)(&s, &v, hc);
        break;
    }
    simd_mxcsr_update(env, csr & MXCSR_FLAGS);
    x86_reg_write(env, in->reg, q ? 8 : 4, v);
}

/* CVTPI2PS/PD: two int32 from an MMX register or memory. */
static void fp_cvtpi2p(X86CPUState *env, const X86Insn *in)
{
    X86XMMReg s = { .q = { 0, 0 } }, d;
    uint32_t csr;

    if (in->mod == 3) {
        simd_check(env, SIMD_SSE_MMX, -1, 0);
    } else {
        fp_check(env, false);
    }
    s.q[0] = simd_src_mmx(env, in);
    if (in->mod == 3) {
        simd_mmx_enter(env);
    }
    d = env->xmm[in->reg];
    if (in->op == X86_OP_CVTPI2PS) {
        X86XMMReg t = s;
        csr = fp_cvtdq2ps(&t, &s, fp_host_csr(env));
        d.q[0] = t.q[0];
    } else {
        csr = fp_cvtdq2pd(&d, &s, fp_host_csr(env));
    }
    fp_finish(env, in->reg, &d, csr);
}

/* CVT(T)PS2PI / CVT(T)PD2PI: two int32 into an MMX register. */
static void fp_cvtp2pi(X86CPUState *env, const X86Insn *in)
{
    bool pd = in->op == X86_OP_CVTPD2PI || in->op == X86_OP_CVTTPD2PI;
    bool trunc = in->op == X86_OP_CVTTPS2PI || in->op == X86_OP_CVTTPD2PI;
    X86XMMReg s, t = { .q = { 0, 0 } };
    uint32_t csr;
    FpFn *fn;

    simd_check(env, SIMD_SSE_MMX, -1, 0);
    s = *simd_src_xmm(env, in, &s, pd ? 16 : 8, pd);
    if (!pd) {
        s.q[1] = 0;             /* +0.0: no flags from the upper lanes */
        fn = trunc ? fp_cvttps2dq : fp_cvtps2dq;
    } else {
        fn = trunc ? fp_cvttpd2dq : fp_cvtpd2dq;
    }
    csr = fn(&t, &s, fp_host_csr(env));
    simd_mmx_enter(env);
    simd_mxcsr_update(env, csr & MXCSR_FLAGS);
    simd_mmx_set(env, in->reg, t.q[0]);
}

static void fp_reg(unsigned op, FpFn *fn, unsigned bytes, bool sse3)
{
    fp_ops[op] = (FpOp){ .fn = fn, .src_bytes = bytes, .sse3 = sse3 };
    x86_exec_register(op, fp_arith);
}

/* Element-wise operations that can overflow or underflow. */
static void fp_kind(unsigned op, unsigned kind, unsigned lanes,
                    unsigned esize)
{
    fp_ops[op].kind = kind;
    fp_ops[op].lanes = lanes;
    fp_ops[op].esize = esize;
}

static void fp_kinds_init(void)
{
    static const struct {
        uint16_t ps, pd, ss, sd;
        uint8_t kind;
    } k[] = {
        { X86_OP_ADDPS, X86_OP_ADDPD, X86_OP_ADDSS, X86_OP_ADDSD, FK_ADD },
        { X86_OP_SUBPS, X86_OP_SUBPD, X86_OP_SUBSS, X86_OP_SUBSD, FK_SUB },
        { X86_OP_MULPS, X86_OP_MULPD, X86_OP_MULSS, X86_OP_MULSD, FK_MUL },
        { X86_OP_DIVPS, X86_OP_DIVPD, X86_OP_DIVSS, X86_OP_DIVSD, FK_DIV },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(k); i++) {
        fp_kind(k[i].ps, k[i].kind, 4, 4);
        fp_kind(k[i].pd, k[i].kind, 2, 8);
        fp_kind(k[i].ss, k[i].kind, 1, 4);
        fp_kind(k[i].sd, k[i].kind, 1, 8);
    }
    fp_kind(X86_OP_ADDSUBPS, FK_ADDSUB, 4, 4);
    fp_kind(X86_OP_ADDSUBPD, FK_ADDSUB, 2, 8);
    fp_kind(X86_OP_HADDPS, FK_HADD, 4, 4);
    fp_kind(X86_OP_HADDPD, FK_HADD, 2, 8);
    fp_kind(X86_OP_HSUBPS, FK_HSUB, 4, 4);
    fp_kind(X86_OP_HSUBPD, FK_HSUB, 2, 8);
    fp_kind(X86_OP_CVTPD2PS, FK_CVT, 2, 8);
    fp_kind(X86_OP_CVTSD2SS, FK_CVT, 1, 8);
}

void x86_exec_sse_fp_init(void)
{
    static const struct {
        uint16_t op;
        FpFn *fn;
        uint8_t bytes;
    } ops[] = {
        { X86_OP_ADDPS, fp_addps, 16 }, { X86_OP_ADDPD, fp_addpd, 16 },
        { X86_OP_ADDSS, fp_addss, 4 }, { X86_OP_ADDSD, fp_addsd, 8 },
        { X86_OP_SUBPS, fp_subps, 16 }, { X86_OP_SUBPD, fp_subpd, 16 },
        { X86_OP_SUBSS, fp_subss, 4 }, { X86_OP_SUBSD, fp_subsd, 8 },
        { X86_OP_MULPS, fp_mulps, 16 }, { X86_OP_MULPD, fp_mulpd, 16 },
        { X86_OP_MULSS, fp_mulss, 4 }, { X86_OP_MULSD, fp_mulsd, 8 },
        { X86_OP_DIVPS, fp_divps, 16 }, { X86_OP_DIVPD, fp_divpd, 16 },
        { X86_OP_DIVSS, fp_divss, 4 }, { X86_OP_DIVSD, fp_divsd, 8 },
        { X86_OP_MINPS, fp_minps, 16 }, { X86_OP_MINPD, fp_minpd, 16 },
        { X86_OP_MINSS, fp_minss, 4 }, { X86_OP_MINSD, fp_minsd, 8 },
        { X86_OP_MAXPS, fp_maxps, 16 }, { X86_OP_MAXPD, fp_maxpd, 16 },
        { X86_OP_MAXSS, fp_maxss, 4 }, { X86_OP_MAXSD, fp_maxsd, 8 },
        { X86_OP_SQRTPS, fp_sqrtps, 16 }, { X86_OP_SQRTPD, fp_sqrtpd, 16 },
        { X86_OP_SQRTSS, fp_sqrtss, 4 }, { X86_OP_SQRTSD, fp_sqrtsd, 8 },
        { X86_OP_RCPPS, fp_rcpps, 16 }, { X86_OP_RCPSS, fp_rcpss, 4 },
        { X86_OP_RSQRTPS, fp_rsqrtps, 16 },
        { X86_OP_RSQRTSS, fp_rsqrtss, 4 },
        { X86_OP_CVTPS2PD, fp_cvtps2pd, 8 },
        { X86_OP_CVTPD2PS, fp_cvtpd2ps, 16 },
        { X86_OP_CVTSS2SD, fp_cvtss2sd, 4 },
        { X86_OP_CVTSD2SS, fp_cvtsd2ss, 8 },
        { X86_OP_CVTDQ2PS, fp_cvtdq2ps, 16 },
        { X86_OP_CVTPS2DQ, fp_cvtps2dq, 16 },
        { X86_OP_CVTTPS2DQ, fp_cvttps2dq, 16 },
        { X86_OP_CVTTPD2DQ, fp_cvttpd2dq, 16 },
        { X86_OP_CVTDQ2PD, fp_cvtdq2pd, 8 },
        { X86_OP_CVTPD2DQ, fp_cvtpd2dq, 16 },
    };
    static const struct {
        uint16_t op;
        FpFn *fn;
    } sse3[] = {
        { X86_OP_ADDSUBPS, fp_addsubps }, { X86_OP_ADDSUBPD, fp_addsubpd },
        { X86_OP_HADDPS, fp_haddps }, { X86_OP_HADDPD, fp_haddpd },
        { X86_OP_HSUBPS, fp_hsubps }, { X86_OP_HSUBPD, fp_hsubpd },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(ops); i++) {
        fp_reg(ops[i].op, ops[i].fn, ops[i].bytes, false);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(sse3); i++) {
        fp_reg(sse3[i].op, sse3[i].fn, 16, true);
    }
    fp_kinds_init();
    x86_exec_register(X86_OP_CMPPS, fp_cmp);
    x86_exec_register(X86_OP_CMPPD, fp_cmp);
    x86_exec_register(X86_OP_CMPSS, fp_cmp);
    x86_exec_register(X86_OP_CMPSD, fp_cmp);
    x86_exec_register(X86_OP_COMISS, fp_comi);
    x86_exec_register(X86_OP_COMISD, fp_comi);
    x86_exec_register(X86_OP_UCOMISS, fp_comi);
    x86_exec_register(X86_OP_UCOMISD, fp_comi);
    x86_exec_register(X86_OP_CVTSI2SS, fp_cvtsi2s);
    x86_exec_register(X86_OP_CVTSI2SD, fp_cvtsi2s);
    x86_exec_register(X86_OP_CVTSS2SI, fp_cvts2si);
    x86_exec_register(X86_OP_CVTTSS2SI, fp_cvts2si);
    x86_exec_register(X86_OP_CVTSD2SI, fp_cvts2si);
    x86_exec_register(X86_OP_CVTTSD2SI, fp_cvts2si);
    x86_exec_register(X86_OP_CVTPI2PS, fp_cvtpi2p);
    x86_exec_register(X86_OP_CVTPI2PD, fp_cvtpi2p);
    x86_exec_register(X86_OP_CVTPS2PI, fp_cvtp2pi);
    x86_exec_register(X86_OP_CVTTPS2PI, fp_cvtp2pi);
    x86_exec_register(X86_OP_CVTPD2PI, fp_cvtp2pi);
    x86_exec_register(X86_OP_CVTTPD2PI, fp_cvtp2pi);
}
