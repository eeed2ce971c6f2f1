/*
 * x87/SSE state instructions and the checks shared by every x87, MMX and
 * SSE handler: FXSAVE/FXRSTOR (SDM vol 1 10.5.1, table 10-2/10-3),
 * LDMXCSR/STMXCSR, EMMS, FWAIT; CR0.EM/TS/MP and CR4.OSFXSR/OSXMMEXCPT
 * (SDM vol 3 table 2-2 and 13.1).
 */
#include "sse.h"

bool simd_host_sse3, simd_host_sse41;

void simd_fpu_pending(X86CPUState *env)
{
    if (env->fpus & FPUS_ES) {
        x86_raise_exception(env, EXCP_MF);
    }
}

void simd_check(X86CPUState *env, SimdKind kind, int word, uint32_t bit)
{
    if (env->hflags & HF_EM) {
        x86_raise_exception(env, EXCP_UD);
    }
    if (kind != SIMD_MMX && !(env->hflags & HF_OSFXSR)) {
        x86_raise_exception(env, EXCP_UD);
    }
    if (word >= 0 && !x86_has_feature(env, word, bit)) {
        x86_raise_exception(env, EXCP_UD);
    }
    if (env->hflags & HF_TS) {
        x86_raise_exception(env, EXCP_NM);
    }
    if (kind != SIMD_SSE) {
        simd_fpu_pending(env);
    }
}

const X86XMMReg *simd_src_xmm(X86CPUState *env, const X86Insn *in,
                              X86XMMReg *tmp, unsigned bytes, bool aligned)
{
    if (in->mod == 3) {
        return &env->xmm[in->rm];
    }
    memset(tmp, 0, sizeof(*tmp));
    if (bytes == 16) {
        x86_ld128(env, in->seg, x86_ea(env, in), tmp, aligned);
    } else if (bytes == 8) {
        tmp->q[0] = x86_ld64(env, in->seg, x86_ea(env, in));
    } else {
        tmp->l[0] = x86_ld32(env, in->seg, x86_ea(env, in));
    }
    return tmp;
}

uint64_t simd_src_mmx(X86CPUState *env, const X86Insn *in)
{
    if (in->mod == 3) {
        return simd_mmx_get(env, in->rm);
    }
    return x86_ld64(env, in->seg, x86_ea(env, in));
}

void simd_mxcsr_update(X86CPUState *env, uint32_t flags)
{
    uint32_t masks = (env->mxcsr >> MXCSR_MASK_SHIFT) & MXCSR_FLAGS;
    uint32_t unmasked = flags & ~masks & MXCSR_FLAGS;

    if (!unmasked) {
        env->mxcsr |= flags & MXCSR_FLAGS;
        return;
    }
    /*
     * An unmasked pre-computation exception stops the operation before
     * the post-computation ones (overflow, underflow, precision) are
     * looked for (SDM vol 1 11.5.2).
     */
    if (unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE)) {
        flags &= MXCSR_IE | MXCSR_DE | MXCSR_ZE;
    }
    env->mxcsr |= flags & MXCSR_FLAGS;
    x86_raise_exception(env, (env->cr[4] & CR4_OSXMMEXCPT) ? EXCP_XM
                                                           : EXCP_UD);
}

/* ---- FXSAVE image ---- */

static void fx_put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static void fx_put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void fx_put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint16_t fx_get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static uint32_t fx_get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t fx_get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* XMM registers in the image: 16 in 64-bit mode, 8 otherwise. */
static unsigned fx_nb_xmm(const X86CPUState *env)
{
    return x86_is_64(env) ? 16 : 8;
}

void x86_fxsave_image(X86CPUState *env, uint8_t img[512], bool rex_w)
{
    uint8_t ftw = 0;

    for (int i = 0; i < 8; i++) {
        ftw |= env->fptags[i] ? 0 : 1u << i;
    }
    fx_put16(img + 0, env->fpuc);
    fx_put16(img + 2, x86_fpu_status(env));
    img[4] = ftw;
    img[5] = 0;
    fx_put16(img + 6, env->fpop & 0x7ff);
    if (rex_w) {
        fx_put64(img + 8, env->fpip);
        fx_put64(img + 16, env->fpdp);
    } else {
        fx_put32(img + 8, env->fpip);
        fx_put32(img + 12, env->fpcs);
        fx_put32(img + 16, env->fpdp);
        fx_put32(img + 20, env->fpds);
    }
    fx_put32(img + 24, env->mxcsr);
    fx_put32(img + 28, MXCSR_MASK);
    for (int i = 0; i < 8; i++) {
        const X86FPReg *r = &env->fpregs[(env->fptop + i) & 7];
        uint8_t *p = img + 32 + 16 * i;
        memset(p, 0, 16);
        fx_put64(p, r->raw.mant);
        fx_put16(p + 8, r->raw.exp);
    }
    for (unsigned i = 0; i < fx_nb_xmm(env); i++) {
        memcpy(img + 160 + 16 * i, &env->xmm[i], 16);
    }
}

bool x86_fxrstor_image(X86CPUState *env, const uint8_t img[512],
                       bool rex_w)
{
    uint32_t mxcsr = fx_get32(img + 24);
    uint16_t fsw = fx_get16(img + 2);

    if (mxcsr & ~MXCSR_MASK) {
        return false;
    }
    env->fpuc = fx_get16(img + 0);
    env->fptop = (fsw >> 11) & 7;
    env->fpus = fsw & ~FPUS_TOP;
    for (int i = 0; i < 8; i++) {
        env->fptags[i] = !(img[4] & (1u << i));
    }
    env->fpop = fx_get16(img + 6) & 0x7ff;
    if (rex_w) {
        env->fpip = fx_get64(img + 8);
        env->fpdp = fx_get64(img + 16);
    } else {
        env->fpip = fx_get32(img + 8);
        env->fpcs = fx_get16(img + 12);
        env->fpdp = fx_get32(img + 16);
        env->fpds = fx_get16(img + 20);
    }
    env->mxcsr = mxcsr;
    for (int i = 0; i < 8; i++) {
        X86FPReg *r = &env->fpregs[(env->fptop + i) & 7];
        const uint8_t *p = img + 32 + 16 * i;
        memset(r, 0, sizeof(*r));
        r->raw.mant = fx_get64(p);
        r->raw.exp = fx_get16(p + 8);
    }
    for (unsigned i = 0; i < fx_nb_xmm(env); i++) {
        memcpy(&env->xmm[i], img + 160 + 16 * i, 16);
    }
    return true;
}

/* The x87 tag of one register from its contents (SDM vol 1 8.1.7). */
static unsigned fpu_tag_of(const X86FPReg *r)
{
    unsigned e = r->raw.exp & 0x7fff;
    uint64_t m = r->raw.mant;

    if (e == 0x7fff) {
        return 2;                       /* special: NaN, infinity */
    }
    if (e == 0) {
        return m ? 2 : 1;               /* denormal: special; zero */
    }
    return (m >> 63) ? 0 : 2;           /* unnormal: special */
}

uint16_t x86_fpu_full_tags(const X86CPUState *env)
{
    uint16_t tw = 0;
    for (int i = 0; i < 8; i++) {
        unsigned t = env->fptags[i] ? 3 : fpu_tag_of(&env->fpregs[i]);
        tw |= t << (2 * i);
    }
    return tw;
}

/* ---- handlers ---- */

/* FXSAVE/FXRSTOR: #NM on EM or TS; no #MF (they do not wait). */
static void fx_check(X86CPUState *env)
{
    if (env->hflags & (HF_EM | HF_TS)) {
        x86_raise_exception(env, EXCP_NM);
    }
}

static bool fx_rex_w(const X86Insn *in)
{
    return (in->rex & 8) != 0;
}

static void fx_fxsave(X86CPUState *env, const X86Insn *in)
{
    uint8_t img[512] __attribute__((aligned(16)));
    uint64_t ea = x86_ea(env, in), amask = x86_size_mask(in->asize);
    unsigned end = 160 + 16 * fx_nb_xmm(env);

    fx_check(env);
    /*
     * The reserved and available areas (416-511, and the XMM8-15 slots
     * outside 64-bit mode) are left untouched.
     */
    x86_fxsave_image(env, img, fx_rex_w(in));
    /* Fault (alignment, both pages) before the first byte is written. */
    x86_probe_write(env, in->seg, ea, 16);
    x86_probe_write(env, in->seg, (ea + end - 16) & amask, 16);
    for (unsigned off = 0; off < end; off += 16) {
        x86_st128(env, in->seg, (ea + off) & amask,
                  (const X86XMMReg *)(img + off), true);
    }
}

static void fx_fxrstor(X86CPUState *env, const X86Insn *in)
{
    uint8_t img[512] __attribute__((aligned(16)));
    uint64_t ea = x86_ea(env, in), amask = x86_size_mask(in->asize);

    fx_check(env);
    memset(img, 0, sizeof(img));
    for (unsigned off = 0; off < 160 + 16 * fx_nb_xmm(env); off += 16) {
        x86_ld128(env, in->seg, (ea + off) & amask,
                  (X86XMMReg *)(img + off), true);
    }
    if (!x86_fxrstor_image(env, img, fx_rex_w(in))) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
}

static void fx_ldmxcsr(X86CPUState *env, const X86Insn *in)
{
    uint32_t v;

    simd_check(env, SIMD_SSE, -1, 0);
    v = x86_ld32(env, in->seg, x86_ea(env, in));
    if (v & ~MXCSR_MASK) {
        x86_raise_exception_err(env, EXCP_GP, 0);
    }
    env->mxcsr = v;
}

static void fx_stmxcsr(X86CPUState *env, const X86Insn *in)
{
    simd_check(env, SIMD_SSE, -1, 0);
    x86_st32(env, in->seg, x86_ea(env, in), env->mxcsr);
}

static void fx_emms(X86CPUState *env, const X86Insn *in)
{
    simd_check(env, SIMD_MMX, -1, 0);
    simd_mmx_enter(env);
    memset(env->fptags, 1, sizeof(env->fptags));
}

/* FWAIT: #NM only when both MP and TS are set, then pending #MF. */
static void fx_fwait(X86CPUState *env, const X86Insn *in)
{
    if ((env->hflags & (HF_MP | HF_TS)) == (HF_MP | HF_TS)) {
        x86_raise_exception(env, EXCP_NM);
    }
    simd_fpu_pending(env);
}

void x86_exec_fxsave_init(void)
{
    x86_exec_register(X86_OP_FXSAVE, fx_fxsave);
    x86_exec_register(X86_OP_FXRSTOR, fx_fxrstor);
    x86_exec_register(X86_OP_LDMXCSR, fx_ldmxcsr);
    x86_exec_register(X86_OP_STMXCSR, fx_stmxcsr);
    x86_exec_register(X86_OP_EMMS, fx_emms);
    x86_exec_register(X86_OP_FWAIT, fx_fwait);
}

void x86_exec_simd_init(void)
{
    __builtin_cpu_init();
    simd_host_sse3 = __builtin_cpu_supports("sse3");
    simd_host_sse41 = __builtin_cpu_supports("sse4.1");
    x86_exec_fxsave_init();
    x86_exec_sse_int_init();
    x86_exec_sse_mov_init();
    x86_exec_sse_fp_init();
    x86_exec_x87_init();
    x86_exec_sse4_init();
    x86_exec_sse42_init();
}
