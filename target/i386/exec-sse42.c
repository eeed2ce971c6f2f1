/*
 * SSE4.2 string compares (PCMPESTRI/ESTRM/ISTRI/ISTRM, SDM vol 2 4.1
 * "imm8 control byte operation for PCMPESTRI ...") and CRC32.  PCMPGTQ is
 * with the SSE4.1 integer operations (exec-sse4.c).
 */
#include "sse.h"

/* The two operands as elements, with their valid lengths. */
typedef struct StrOps {
    int32_t a[16];          /* xmm1 (first operand) */
    int32_t b[16];          /* xmm2/m128 */
    unsigned n;             /* 16 bytes or 8 words */
    unsigned la, lb;        /* valid elements */
} StrOps;

static int32_t str_elem(const X86XMMReg *x, unsigned i, uint8_t fmt)
{
    switch (fmt & 3) {
    case 0: return x->b[i];
    case 1: return x->w[i];
    case 2: return x->sb[i];
    default: return x->sw[i];
    }
}

/* Explicit length from EAX/EDX (RAX/RDX with REX.W): |v| saturated. */
static unsigned str_explicit_len(uint64_t v, bool w64, unsigned n)
{
    int64_t s = w64 ? (int64_t)v : (int64_t)(int32_t)v;
    uint64_t mag = s < 0 ? 0 - (uint64_t)s : (uint64_t)s;
    return mag > n ? n : (unsigned)mag;
}

static unsigned str_implicit_len(const int32_t *e, unsigned n)
{
    unsigned i = 0;
    while (i < n && e[i] != 0) {
        i++;
    }
    return i;
}

/* BoolRes for element a[j] against b[i], overridden for invalid ones. */
static bool str_bool(const StrOps *o, unsigned agg, unsigned j, unsigned i)
{
    bool va = j < o->la, vb = i < o->lb;

    if (!va || !vb) {
        switch (agg) {
        case 2: return !va && !vb;          /* equal each */
        case 3: return !va;                 /* equal ordered */
        default: return false;              /* equal any, ranges */
        }
    }
    if (agg == 1) {                         /* ranges: lo <= b <= hi */
        return (j & 1) ? o->b[i] <= o->a[j] : o->b[i] >= o->a[j];
    }
    return o->a[j] == o->b[i];
}

static unsigned str_intres1(const StrOps *o, unsigned agg)
{
    unsigned res = 0, n = o->n;

    for (unsigned i = 0; i < n; i++) {
        bool r = false;
        switch (agg) {
        case 0:                             /* equal any */
            for (unsigned j = 0; j < n; j++) {
                r |= str_bool(o, agg, j, i);
            }
            break;
        case 1:                             /* ranges */
            for (unsigned j = 0; j + 1 < n; j += 2) {
                r |= str_bool(o, agg, j, i) && str_bool(o, agg, j + 1, i);
            }
            break;
        case 2:                             /* equal each */
            r = str_bool(o, agg, i, i);
            break;
        default:                            /* equal ordered */
            r = true;
            for (unsigned j = 0; j < n - i; j++) {
                r &= str_bool(o, agg, j, i + j);
            }
            break;
        }
        res |= (unsigned)r << i;
    }
    return res;
}

static void str_pcmp(X86CPUState *env, const X86Insn *in)
{
    unsigned op = in->opcode & 0xff, imm = in->imm & 0xff;
    bool explicit = op < 0x62, index = op & 1;
    const X86XMMReg *x1 = &env->xmm[in->reg];
    unsigned res, mask;
    X86XMMReg x2;
    StrOps o;

    simd_check(env, SIMD_SSE, FEAT_1_ECX, CPUID_EXT_SSE42);
    /* The string instructions do not require 16-byte alignment. */
    x2 = *simd_src_xmm(env, in, &x2, 16, false);
    o.n = (imm & 1) ? 8 : 16;
    for (unsigned i = 0; i < o.n; i++) {
        o.a[i] = str_elem(x1, i, imm);
        o.b[i] = str_elem(&x2, i, imm);
    }
    if (explicit) {
        bool w64 = in->rex & 8;
        o.la = str_explicit_len(env->regs[R_EAX], w64, o.n);
        o.lb = str_explicit_len(env->regs[R_EDX], w64, o.n);
    } else {
        o.la = str_implicit_len(o.a, o.n);
        o.lb = str_implicit_len(o.b, o.n);
    }
    res = str_intres1(&o, (imm >> 2) & 3);
    mask = (1u << o.n) - 1;
    switch ((imm >> 4) & 3) {
    case 1:                                 /* negative */
        res ^= mask;
        break;
    case 3:                                 /* masked negative */
        res ^= (1u << o.lb) - 1;
        break;
    default:
        break;
    }
    if (index) {
        unsigned idx = o.n;
        if (res) {
            idx = (imm & 0x40) ? 31 - __builtin_clz(res)
                               : (unsigned)__builtin_ctz(res);
        }
        env->regs[R_ECX] = idx;
    } else {
        X86XMMReg m = { .q = { 0, 0 } };
        if (!(imm & 0x40)) {
            m.w[0] = res;
        } else {
            unsigned es = 16 / o.n;
            for (unsigned i = 0; i < o.n; i++) {
                memset(m.b + i * es, (res >> i) & 1 ? 0xff : 0, es);
            }
        }
        env->xmm[0] = m;
    }
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = (res ? CF_MASK : 0) | (o.lb < o.n ? ZF_MASK : 0) |
                  (o.la < o.n ? SF_MASK : 0) | ((res & 1) ? OF_MASK : 0);
}

/* CRC32C (Castagnoli, reflected), no pre/post inversion. */
static uint32_t str_crc32c(uint32_t crc, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        crc ^= (v >> (8 * i)) & 0xff;
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ ((crc & 1) ? 0x82f63b78u : 0);
        }
    }
    return crc;
}

/* CRC32 is a general-register instruction: only CPUID gates it. */
static void str_crc32(X86CPUState *env, const X86Insn *in)
{
    unsigned dsize = (in->rex & 8) ? 8 : 4;
    X86Loc l;

    if (!x86_has_feature(env, FEAT_1_ECX, CPUID_EXT_SSE42)) {
        x86_raise_exception(env, EXCP_UD);
    }
    l = x86_loc(env, in, 1);
    x86_reg_write(env, in->reg, dsize,
                  str_crc32c(env->regs[in->reg], x86_loc_read(env, &l),
                             l.size));
}

void x86_exec_sse42_init(void)
{
    x86_exec_register(X86_OP_PCMPESTRM, str_pcmp);
    x86_exec_register(X86_OP_PCMPESTRI, str_pcmp);
    x86_exec_register(X86_OP_PCMPISTRM, str_pcmp);
    x86_exec_register(X86_OP_PCMPISTRI, str_pcmp);
    x86_exec_register(X86_OP_CRC32, str_crc32);
}
