/*
 * Differential test of the x87, MMX, SSE, SSE2, SSE3 and SSSE3
 * instructions: random instructions with random register, x87/MMX/XMM,
 * MXCSR and memory state run natively on the host and in the emulator;
 * general registers, flags, memory and the whole FXSAVE image (x87
 * control/status/tags/registers, MXCSR, XMM0-15) must match.
 *
 * Not compared (diff_fx_compare): the x87 last-instruction and data
 * pointers and opcode (the host's are host addresses), MXCSR_MASK, and
 * the reserved bytes 10-15 of each x87 register slot.
 *
 * The native side is a generated stub in an RWX page: FXRSTOR64 of the
 * input image, the 15 general registers and RFLAGS, the instruction, then
 * everything stored back and FXSAVE64; FNINIT and LDMXCSR restore the
 * host's x87/SSE state.  SIMD floating-point exceptions stay masked
 * (unmasked ones would be #XM on the host); x87 exceptions may be
 * unmasked: they only become pending.
 */
#include "qlite/osdep.h"
#include "x86-fake-mem.h"
#include "../sse.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#define DIFF_DATA       0x1000          /* rbx points here (+ skew) */

typedef struct DiffState {
    uint64_t regs[16];
    uint64_t flags;
    uint8_t pad[8];
    uint8_t fx[512] __attribute__((aligned(16)));
} DiffState;

#define DIFF_FX_OFF     offsetof(DiffState, fx)

static uint8_t *diff_host_mem;
static uint8_t *diff_code;
static sigjmp_buf diff_sig_jmp;
static volatile int diff_sig;
static unsigned diff_insn_off;          /* of the instruction in the stub */
/* The host's state when the instruction faulted (from the signal frame). */
static DiffState diff_fault_state;
static bool diff_fault_in_insn;
static bool diff_has_sse3, diff_has_ssse3, diff_has_sse41, diff_has_sse42;

/* ---- the emulator's memory: real MMU over fake physical memory ---- */


static void diff_hex(GString *out, const uint8_t *b, unsigned n);

/* ---- the native side ---- */

static unsigned diff_emit(uint8_t *p, const char *hex)
{
    unsigned n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        if (hex[0] == ' ') {
            hex--;
            continue;
        }
        p[n++] = g_ascii_xdigit_value(hex[0]) * 16 +
                 g_ascii_xdigit_value(hex[1]);
    }
    return n;
}

static void diff_emit_rel32(uint8_t *p, unsigned at, unsigned target)
{
    int32_t rel = (int32_t)target - (int32_t)(at + 4);
    memcpy(p + at, &rel, 4);
}

/*
 * Stub page: code at 0, out registers at 0x800, saved RSP at 0x900, host
 * MXCSR at 0x908, out FXSAVE image at 0xa00.
 */
static void diff_build_stub(const uint8_t *insn, unsigned len)
{
    uint8_t *p = diff_code;
    unsigned n = 0;
    uint32_t csr = 0x1f80, off = DIFF_FX_OFF;

    memcpy(p + 0x908, &csr, 4);
    n += diff_emit(p + n, "53554154415541564157");
    n += diff_emit(p + n, "488925");                /* mov [rip+], rsp */
    diff_emit_rel32(p, n, 0x900);
    n += 4;
    n += diff_emit(p + n, "480fae8f");              /* fxrstor64 [rdi+] */
    memcpy(p + n, &off, 4);
    n += 4;
    n += diff_emit(p + n, "ffb780000000""9d");      /* push [rdi+128]; popf */
    for (int r = 0; r < 16; r++) {
        if (r == R_ESP || r == R_EDI) {
            continue;
        }
        p[n++] = 0x48 | (r >= 8 ? 4 : 0);
        p[n++] = 0x8b;
        p[n++] = 0x47 | ((r & 7) << 3);
        p[n++] = r * 8;
    }
    n += diff_emit(p + n, "488b7f38");              /* mov rdi, [rdi+56] */
    diff_insn_off = n;
    memcpy(p + n, insn, len);
    n += len;
    for (int r = 0; r < 16; r++) {
        p[n++] = 0x48 | (r >= 8 ? 4 : 0);
        p[n++] = 0x89;
        p[n++] = 0x05 | ((r & 7) << 3);
        diff_emit_rel32(p, n, 0x800 + r * 8);
        n += 4;
    }
    n += diff_emit(p + n, "9c8f05");                /* pushf; pop [rip+] */
    diff_emit_rel32(p, n, 0x800 + 128);
    n += 4;
    n += diff_emit(p + n, "480fae05");              /* fxsave64 [rip+] */
    diff_emit_rel32(p, n, 0xa00);
    n += 4;
    n += diff_emit(p + n, "dbe3");                  /* fninit */
    n += diff_emit(p + n, "0fae15");                /* ldmxcsr [rip+] */
    diff_emit_rel32(p, n, 0x908);
    n += 4;
    n += diff_emit(p + n, "488b25");                /* mov rsp, [rip+] */
    diff_emit_rel32(p, n, 0x900);
    n += 4;
    n += diff_emit(p + n, "fc415f415e415d415c5d5bc3");
    g_assert_cmpuint(n, <, 0x800);
}

/*
 * A fault inside the stub: keep the registers and the FXSAVE image of
 * the moment of the fault, which must equal the emulator's state after
 * it raised the exception (faults change nothing, except the MXCSR flags
 * of a SIMD floating-point exception).
 */
static void diff_signal(int sig, siginfo_t *si, void *ctx)
{
    static const int map[16] = {
        REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI,
        REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13,
        REG_R14, REG_R15,
    };
    ucontext_t *uc = ctx;
    const greg_t *g = uc->uc_mcontext.gregs;

    diff_sig = sig;
    diff_fault_in_insn = (uint64_t)g[REG_RIP] ==
                         (uint64_t)(uintptr_t)(diff_code + diff_insn_off);
    for (int i = 0; i < 16; i++) {
        diff_fault_state.regs[i] = g[map[i]];
    }
    diff_fault_state.flags = g[REG_EFL];
    if (uc->uc_mcontext.fpregs) {
        memcpy(diff_fault_state.fx, uc->uc_mcontext.fpregs, 512);
    }
    siglongjmp(diff_sig_jmp, 1);
}

/* The host's x87/SSE state after a fault inside the stub. */
static void diff_host_fpu_reset(void)
{
    uint32_t csr = 0x1f80;
    asm volatile("fninit\n\tldmxcsr %0" : : "m" (csr));
}

/* Returns the signal the host raised, or 0. */
static int diff_run_native(const DiffState *in, DiffState *out)
{
    void (*fn)(const DiffState *) = (void (*)(const DiffState *))diff_code;

    diff_sig = 0;
    if (sigsetjmp(diff_sig_jmp, 1)) {
        diff_host_fpu_reset();
        return diff_sig;
    }
    fn(in);
    memcpy(out->regs, diff_code + 0x800, 8 * 17);
    memcpy(out->fx, diff_code + 0xa00, 512);
    return 0;
}

static int diff_run_emu(const DiffState *in, DiffState *out,
                        const uint8_t *insn, unsigned len)
{
    static X86CPUState env;
    X86Insn d;

    memset(&env, 0, sizeof(env));
    env.io = &diff_io;
    env.a20_mask = UINT64_MAX;
    memcpy(env.regs, in->regs, sizeof(env.regs));
    env.eflags = 2 | (in->flags & ~CC_MASK);
    env.cc_op = CC_OP_EFLAGS;
    env.cc_src = in->flags & CC_MASK;
    env.cr[0] = CR0_PE | CR0_PG | CR0_NE | CR0_MP | CR0_ET;
    env.cr[3] = DIFF_PT;
    env.cr[4] = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    env.efer = EFER_LMA | EFER_LME;
    env.segs[R_CS].flags = DESC_L_MASK | DESC_P_MASK | DESC_S_MASK |
                           DESC_CS_MASK;
    env.segs[R_CS].selector = 3;
    env.features[FEAT_1_ECX] = (diff_has_sse3 ? CPUID_EXT_SSE3 : 0) |
                               (diff_has_ssse3 ? CPUID_EXT_SSSE3 : 0) |
                               (diff_has_sse41 ? CPUID_EXT_SSE41 : 0) |
                               (diff_has_sse42 ? CPUID_EXT_SSE42 : 0);
    x86_update_hflags(&env);
    x86_tlb_flush(&env, true);
    g_assert_true(x86_fxrstor_image(&env, in->fx, true));
    env.exc_vector = -1;
    env.exc_prev = -1;
    if (x86_decode(&d, insn, len, X86_MODE64) != X86_DEC_OK) {
        return EXCP_UD;
    }
    if (d.len != len) {
        g_autoptr(GString) h = g_string_new(NULL);
        diff_hex(h, insn, len);
        g_error("decoded length %u for %s", d.len, h->str);
    }
    if (!setjmp(env.jmp_env)) {
        x86_exec_insn(&env, &d);
    }
    memcpy(out->regs, env.regs, sizeof(out->regs));
    out->flags = x86_get_eflags(&env);
    memset(out->fx, 0, 512);
    x86_fxsave_image(&env, out->fx, true);
    return env.exc_vector;
}

/* Does the host's signal match the emulator's exception vector? */
static bool diff_sig_matches(int sig, int vec)
{
    switch (sig) {
    case SIGSEGV: return vec == EXCP_GP || vec == EXCP_PF ||
                         vec == EXCP_SS;
    case SIGILL: return vec == EXCP_UD;
    case SIGFPE: return vec == EXCP_MF || vec == EXCP_XM || vec == EXCP_DE;
    case SIGBUS: return vec == EXCP_AC;
    default: return false;
    }
}

/* ---- random values ---- */

static uint64_t diff_rand64(GRand *r)
{
    return ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
}

static uint32_t diff_rand_f32(GRand *r)
{
    uint32_t sign = (uint32_t)g_rand_int_range(r, 0, 2) << 31;
    uint32_t m = g_rand_int(r) & 0x7fffff;
    switch (g_rand_int_range(r, 0, 14)) {
    case 0: return sign;                                    /* zero */
    case 1: return sign | 0x7f800000;                       /* inf */
    case 2: return sign | 0x7fc00000 | (m & 0x3fffff);      /* QNaN */
    case 3: return sign | 0x7f800000 | (m & 0x3fffff) | 1;  /* SNaN */
    case 4: return sign | m;                                /* denormal */
    case 5: return sign | 0x00800000 | (m & 0xff);          /* tiny */
    case 6: return sign | 0x7f7fff00 | (m & 0xff);          /* huge */
    case 7: return sign | 0x3f800000;                       /* 1.0 */
    case 8: {                                               /* integer */
        float f = (float)(int32_t)(g_rand_int(r) >> g_rand_int_range(r, 0,
                                                                    31));
        uint32_t v;
        memcpy(&v, &f, 4);
        return v;
    }
    case 9: return sign | ((g_rand_int_range(r, 0x7e, 0x82)) << 23) | m;
    case 10: return sign | ((g_rand_int_range(r, 0x9c, 0xc0)) << 23) | m;
    default: return g_rand_int(r);
    }
}

static uint64_t diff_rand_f64(GRand *r)
{
    uint64_t sign = (uint64_t)g_rand_int_range(r, 0, 2) << 63;
    uint64_t m = diff_rand64(r) & ((UINT64_C(1) << 52) - 1);
    switch (g_rand_int_range(r, 0, 14)) {
    case 0: return sign;
    case 1: return sign | UINT64_C(0x7ff0000000000000);
    case 2: return sign | UINT64_C(0x7ff8000000000000) | (m >> 1);
    case 3: return sign | UINT64_C(0x7ff0000000000000) | (m >> 2) | 1;
    case 4: return sign | m;
    case 5: return sign | UINT64_C(0x0010000000000000) | (m & 0xfff);
    case 6: return sign | UINT64_C(0x7fefffffffffff00) | (m & 0xff);
    case 7: return sign | UINT64_C(0x3ff0000000000000);
    case 8: {
        double f = (double)(int64_t)(diff_rand64(r) >>
                                     g_rand_int_range(r, 0, 63));
        uint64_t v;
        memcpy(&v, &f, 8);
        return v;
    }
    case 9: return sign | ((uint64_t)g_rand_int_range(r, 0x3fe, 0x402) << 52)
                   | m;
    case 10: return sign | ((uint64_t)g_rand_int_range(r, 0x41c, 0x440)
                            << 52) | m;
    case 11: return sign | ((uint64_t)g_rand_int_range(r, 0x360, 0x390)
                            << 52) | m;     /* rounds to float tiny */
    default: return diff_rand64(r);
    }
}

/* 16 bytes: floats, doubles or plain integers, mixed per 8 bytes. */
static void diff_rand_vec(GRand *r, uint8_t *p)
{
    for (int h = 0; h < 2; h++) {
        uint64_t v;
        switch (g_rand_int_range(r, 0, 4)) {
        case 0:
            v = diff_rand_f32(r) | (uint64_t)diff_rand_f32(r) << 32;
            break;
        case 1:
            v = diff_rand_f64(r);
            break;
        case 2: {
            /* small signed words and bytes: saturation edges */
            static const uint16_t w[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100,
                                          0x7fff, 0x8000, 0xffff, 0x8001 };
            v = 0;
            for (int i = 0; i < 4; i++) {
                v |= (uint64_t)w[g_rand_int_range(r, 0, G_N_ELEMENTS(w))]
                     << (16 * i);
            }
            break;
        }
        default:
            v = diff_rand64(r);
            break;
        }
        memcpy(p + 8 * h, &v, 8);
    }
}

/* An 80-bit value for the x87 stack. */
static void diff_rand_f80(GRand *r, uint8_t *p)
{
    uint64_t m = diff_rand64(r) | (UINT64_C(1) << 63);
    uint16_t e = g_rand_int_range(r, 0x3fe0, 0x4020);
    uint16_t sign = g_rand_int_range(r, 0, 2) << 15;

    switch (g_rand_int_range(r, 0, 12)) {
    case 0: m = 0; e = 0; break;                            /* zero */
    case 1: m = UINT64_C(1) << 63; e = 0x7fff; break;       /* inf */
    case 2: m |= UINT64_C(3) << 62; e = 0x7fff; break;      /* QNaN */
    case 3: m = (m & ~(UINT64_C(1) << 62)) | 1; e = 0x7fff; break;
    case 4: m &= ~(UINT64_C(1) << 63); e = 0; break;        /* denormal */
    case 5: e = g_rand_int_range(r, 1, 0x7ffe); break;
    case 6: {                                               /* integer */
        long double ld = (long double)(int64_t)(diff_rand64(r) >>
                                                g_rand_int_range(r, 0, 63));
        memcpy(p, &ld, 10);
        return;
    }
    case 7: m &= ~(UINT64_C(1) << 63); break;               /* unnormal */
    case 8: e = g_rand_int_range(r, 0x3f00, 0x3f90); break; /* tiny-ish */
    default: break;
    }
    e |= sign;
    memcpy(p, &m, 8);
    memcpy(p + 8, &e, 2);
}

static void diff_random_state(GRand *r, DiffState *s, bool x87_unmask,
                              bool sse_unmask, bool x87_pending)
{
    uint16_t fcw, fsw;
    uint32_t csr;

    memset(s, 0, sizeof(*s));
    for (int i = 0; i < 16; i++) {
        s->regs[i] = diff_rand64(r);
        if (g_rand_int_range(r, 0, 3) == 0) {
            s->regs[i] = (int64_t)(int32_t)s->regs[i] >>
                         g_rand_int_range(r, 0, 31);
        }
    }
    s->regs[R_ESP] = 0;
    s->regs[R_EBX] = DIFF_MEM + DIFF_DATA;
    s->regs[R_EDI] = DIFF_MEM + DIFF_DATA + 0x200 +
                     g_rand_int_range(r, 0, 64);
    s->flags = 2 | (g_rand_int(r) & CC_MASK);

    /* x87: control with PC/RC random, status flags masked only. */
    fcw = 0x1040 | (g_rand_int_range(r, 0, 4) << 10) |
          ((const uint16_t[]){ 0, 2, 3 })[g_rand_int_range(r, 0, 3)] << 8;
    fcw |= x87_unmask ? (g_rand_int(r) & 0x3f) | 0x20 : 0x3f;
    fsw = (g_rand_int(r) & 0x3f & fcw) |
          (g_rand_int_range(r, 0, 8) << 11) | (g_rand_int(r) & 0x4700);
    if (x87_pending) {
        /* an unmasked exception already pending: ES and B set */
        unsigned e = g_rand_int_range(r, 0, 6);
        fcw &= ~(1u << e);
        fsw |= (1u << e) | 0x8080;
    }
    memcpy(s->fx + 0, &fcw, 2);
    memcpy(s->fx + 2, &fsw, 2);
    s->fx[4] = g_rand_int(r) & 0xff;
    for (int i = 0; i < 8; i++) {
        diff_rand_f80(r, s->fx + 32 + 16 * i);
    }
    /* MXCSR: random modes and flags, exceptions masked. */
    csr = MXCSR_MASKS | (g_rand_int(r) & 0x3f) |
          (g_rand_int_range(r, 0, 4) << 13) |
          (g_rand_int_range(r, 0, 4) == 0 ? 0x8000 : 0) |
          (g_rand_int_range(r, 0, 4) == 0 ? 0x40 : 0);
    if (sse_unmask) {
        /* #XM on the host is SIGFPE: the signal frame has the state. */
        csr &= ~(g_rand_int(r) & MXCSR_MASKS);
        csr &= ~MXCSR_FLAGS;
    }
    memcpy(s->fx + 24, &csr, 4);
    for (int i = 0; i < 16; i++) {
        diff_rand_vec(r, s->fx + 160 + 16 * i);
    }
    for (unsigned i = 0; i < DIFF_MEM_SIZE; i++) {
        diff_host_mem[i] = i * 7 + 3;
    }
    for (unsigned i = 0; i < 0x400; i += 16) {
        diff_rand_vec(r, diff_host_mem + DIFF_DATA + i);
    }
}

/* ---- instruction encodings ---- */

enum { T_X, T_M, T_G };             /* XMM, MMX, general register */
enum { RM_ANY, RM_MEM, RM_REG };

typedef struct SimdSpec {
    uint8_t pfx, map, opc;
    uint8_t regt, rmt;
    int8_t fixreg;                  /* ModRM.reg fixed (groups), or -1 */
    uint8_t rm_mode;
    bool imm;
    uint8_t feat;                   /* 1 SSE3, 2 SSSE3 */
    bool fp;                        /* floating point: rbx 16-aligned */
} SimdSpec;

typedef struct DiffCase {
    uint8_t insn[16];
    unsigned len;
    bool skip;
    /*
     * FXSAVE's MXCSR_MASK field: the host's may have model-specific bits
     * (AMD's misaligned-SSE MM bit 17) that the emulated CPU lacks.
     */
    unsigned ignore_off, ignore_len;
} DiffCase;

static unsigned diff_gpr(GRand *r)
{
    static const uint8_t ok[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12,
                                  13, 14, 15 };
    return ok[g_rand_int_range(r, 0, G_N_ELEMENTS(ok))];
}

static unsigned diff_regno(GRand *r, unsigned t)
{
    if (t == T_G) {
        return diff_gpr(r);
    }
    return g_rand_int_range(r, 0, t == T_X ? 16 : 8);
}

static void diff_encode(GRand *r, DiffCase *c, DiffState *s,
                        const SimdSpec *sp)
{
    unsigned reg = sp->fixreg >= 0 ? (unsigned)sp->fixreg
                                   : diff_regno(r, sp->regt);
    bool mem = sp->rm_mode == RM_MEM ||
               (sp->rm_mode == RM_ANY && g_rand_int_range(r, 0, 3) == 0);
    unsigned rm = diff_regno(r, sp->rmt);
    uint8_t rex = 0x40;

    if (sp->pfx) {
        c->insn[c->len++] = sp->pfx;
    }
    if (g_rand_int_range(r, 0, 2)) {
        rex |= 8;                   /* W: operand size for G forms */
    }
    if (sp->fixreg < 0 && (reg & 8)) {
        rex |= 4;
    }
    if (!mem && (rm & 8)) {
        rex |= 1;
    }
    if (sp->regt == T_M && sp->fixreg < 0 && g_rand_int_range(r, 0, 4) == 0) {
        rex |= 4;                   /* ignored for MMX registers */
    }
    if (rex != 0x40 || g_rand_int_range(r, 0, 4) == 0) {
        c->insn[c->len++] = rex;
    }
    c->insn[c->len++] = 0x0f;
    if (sp->map == 2) {
        c->insn[c->len++] = 0x38;
    } else if (sp->map == 3) {
        c->insn[c->len++] = 0x3a;
    }
    c->insn[c->len++] = sp->opc;
    if (mem) {
        /* [rbx + disp8]: mostly 16-byte aligned, sometimes not. */
        unsigned disp = g_rand_int_range(r, 0, 8) * 16;
        if (g_rand_int_range(r, 0, 16) == 0) {
            disp += g_rand_int_range(r, 1, 16);
        }
        c->insn[c->len++] = 0x43 | ((reg & 7) << 3);
        c->insn[c->len++] = disp;
    } else {
        c->insn[c->len++] = 0xc0 | ((reg & 7) << 3) | (rm & 7);
    }
    if (sp->imm) {
        c->insn[c->len++] = g_rand_int(r);
    }
    (void)s;
}

/* The spec tables, built once. */
static GArray *spec_int, *spec_mov, *spec_fp, *spec_sse3, *spec_sse4;

static void spec_add(GArray *a, uint8_t pfx, uint8_t map, uint8_t opc,
                     uint8_t regt, uint8_t rmt, int8_t fixreg,
                     uint8_t rm_mode, bool imm, uint8_t feat)
{
    SimdSpec s = { pfx, map, opc, regt, rmt, fixreg, rm_mode, imm, feat,
                   false };
    g_array_append_val(a, s);
}

/* An integer op with an MMX (no prefix) and an XMM (66) form. */
static void spec_mmxsse(GArray *a, uint8_t map, uint8_t opc, bool imm,
                        uint8_t feat)
{
    spec_add(a, 0, map, opc, T_M, T_M, -1, RM_ANY, imm, feat);
    spec_add(a, 0x66, map, opc, T_X, T_X, -1, RM_ANY, imm, feat);
}

static void spec_build(void)
{
    static const uint8_t int_ops[] = {
        0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
        0x6b, 0x74, 0x75, 0x76, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9,
        0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4,
        0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2,
        0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
    };
    static const uint8_t fp4[] = { 0x51, 0x58, 0x59, 0x5c, 0x5d, 0x5e,
                                   0x5f, 0x5a, 0xc2 };
    static const uint8_t pfx4[] = { 0, 0x66, 0xf3, 0xf2 };

    spec_int = g_array_new(false, false, sizeof(SimdSpec));
    spec_mov = g_array_new(false, false, sizeof(SimdSpec));
    spec_fp = g_array_new(false, false, sizeof(SimdSpec));
    spec_sse3 = g_array_new(false, false, sizeof(SimdSpec));
    spec_sse4 = g_array_new(false, false, sizeof(SimdSpec));

    for (size_t i = 0; i < G_N_ELEMENTS(int_ops); i++) {
        spec_mmxsse(spec_int, 1, int_ops[i], false, 0);
    }
    spec_add(spec_int, 0x66, 1, 0x6c, T_X, T_X, -1, RM_ANY, false, 0);
    spec_add(spec_int, 0x66, 1, 0x6d, T_X, T_X, -1, RM_ANY, false, 0);
    for (int o = 0x54; o <= 0x57; o++) {
        spec_add(spec_int, 0, 1, o, T_X, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_int, 0x66, 1, o, T_X, T_X, -1, RM_ANY, false, 0);
    }
    for (int o = 0x14; o <= 0x15; o++) {
        spec_add(spec_int, 0, 1, o, T_X, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_int, 0x66, 1, o, T_X, T_X, -1, RM_ANY, false, 0);
    }
    /* shift groups by immediate */
    for (int o = 0x71; o <= 0x73; o++) {
        static const int8_t regs[3][4] = { { 2, 4, 6, -1 }, { 2, 4, 6, -1 },
                                           { 2, 6, 3, 7 } };
        for (int k = 0; k < 4 && regs[o - 0x71][k] >= 0; k++) {
            int8_t rr = regs[o - 0x71][k];
            if (rr != 3 && rr != 7) {
                spec_add(spec_int, 0, 1, o, T_M, T_M, rr, RM_REG, true, 0);
            }
            spec_add(spec_int, 0x66, 1, o, T_X, T_X, rr, RM_REG, true, 0);
        }
    }

    /* moves */
    for (int k = 0; k < 4; k++) {
        spec_add(spec_mov, pfx4[k], 1, 0x10, T_X, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_mov, pfx4[k], 1, 0x11, T_X, T_X, -1, RM_ANY, false, 0);
        if (k) {                        /* the PN 0F 70 form is MMX */
            spec_add(spec_mov, pfx4[k], 1, 0x70, T_X, T_X, -1, RM_ANY,
                     true, 0);
        }
    }
    spec_add(spec_mov, 0, 1, 0x70, T_M, T_M, -1, RM_ANY, true, 0);
    for (int k = 0; k < 2; k++) {
        uint8_t p = pfx4[k];
        spec_add(spec_mov, p, 1, 0x12, T_X, T_X, -1, k ? RM_MEM : RM_ANY,
                 false, 0);
        spec_add(spec_mov, p, 1, 0x13, T_X, T_X, -1, RM_MEM, false, 0);
        spec_add(spec_mov, p, 1, 0x16, T_X, T_X, -1, k ? RM_MEM : RM_ANY,
                 false, 0);
        spec_add(spec_mov, p, 1, 0x17, T_X, T_X, -1, RM_MEM, false, 0);
        spec_add(spec_mov, p, 1, 0x28, T_X, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_mov, p, 1, 0x29, T_X, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_mov, p, 1, 0x2b, T_X, T_X, -1, RM_MEM, false, 0);
        spec_add(spec_mov, p, 1, 0x50, T_G, T_X, -1, RM_REG, false, 0);
        spec_add(spec_mov, p, 1, 0xc6, T_X, T_X, -1, RM_ANY, true, 0);
    }
    spec_add(spec_mov, 0, 1, 0x6e, T_M, T_G, -1, RM_ANY, false, 0);
    spec_add(spec_mov, 0x66, 1, 0x6e, T_X, T_G, -1, RM_ANY, false, 0);
    spec_add(spec_mov, 0, 1, 0x7e, T_M, T_G, -1, RM_ANY, false, 0);
    spec_add(spec_mov, 0x66, 1, 0x7e, T_X, T_G, -1, RM_ANY, false, 0);
    spec_add(spec_mov, 0xf3, 1, 0x7e, T_X, T_X, -1, RM_ANY, false, 0);
    spec_add(spec_mov, 0, 1, 0x6f, T_M, T_M, -1, RM_ANY, false, 0);
    spec_add(spec_mov, 0, 1, 0x7f, T_M, T_M, -1, RM_ANY, false, 0);
    for (int k = 1; k < 3; k++) {
        spec_add(spec_mov, pfx4[k], 1, 0x6f, T_X, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_mov, pfx4[k], 1, 0x7f, T_X, T_X, -1, RM_ANY, false, 0);
    }
    spec_add(spec_mov, 0, 1, 0xc4, T_M, T_G, -1, RM_ANY, true, 0);
    spec_add(spec_mov, 0x66, 1, 0xc4, T_X, T_G, -1, RM_ANY, true, 0);
    spec_add(spec_mov, 0, 1, 0xc5, T_G, T_M, -1, RM_REG, true, 0);
    spec_add(spec_mov, 0x66, 1, 0xc5, T_G, T_X, -1, RM_REG, true, 0);
    spec_add(spec_mov, 0x66, 1, 0xd6, T_X, T_X, -1, RM_ANY, false, 0);
    spec_add(spec_mov, 0xf3, 1, 0xd6, T_X, T_M, -1, RM_REG, false, 0);
    spec_add(spec_mov, 0xf2, 1, 0xd6, T_M, T_X, -1, RM_REG, false, 0);
    spec_add(spec_mov, 0, 1, 0xd7, T_G, T_M, -1, RM_REG, false, 0);
    spec_add(spec_mov, 0x66, 1, 0xd7, T_G, T_X, -1, RM_REG, false, 0);
    spec_add(spec_mov, 0, 1, 0xe7, T_M, T_M, -1, RM_MEM, false, 0);
    spec_add(spec_mov, 0x66, 1, 0xe7, T_X, T_X, -1, RM_MEM, false, 0);
    spec_add(spec_mov, 0, 1, 0xf7, T_M, T_M, -1, RM_REG, false, 0);
    spec_add(spec_mov, 0x66, 1, 0xf7, T_X, T_X, -1, RM_REG, false, 0);
    spec_add(spec_mov, 0, 1, 0xc3, T_G, T_G, -1, RM_MEM, false, 0);

    /* floating point */
    for (size_t i = 0; i < G_N_ELEMENTS(fp4); i++) {
        for (int k = 0; k < 4; k++) {
            spec_add(spec_fp, pfx4[k], 1, fp4[i], T_X, T_X, -1, RM_ANY,
                     fp4[i] == 0xc2, 0);
        }
    }
    for (int o = 0x52; o <= 0x53; o++) {
        spec_add(spec_fp, 0, 1, o, T_X, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_fp, 0xf3, 1, o, T_X, T_X, -1, RM_ANY, false, 0);
    }
    spec_add(spec_fp, 0, 1, 0x5b, T_X, T_X, -1, RM_ANY, false, 0);
    spec_add(spec_fp, 0x66, 1, 0x5b, T_X, T_X, -1, RM_ANY, false, 0);
    spec_add(spec_fp, 0xf3, 1, 0x5b, T_X, T_X, -1, RM_ANY, false, 0);
    for (int k = 1; k < 4; k++) {
        spec_add(spec_fp, pfx4[k], 1, 0xe6, T_X, T_X, -1, RM_ANY, false, 0);
    }
    for (int k = 0; k < 2; k++) {
        spec_add(spec_fp, pfx4[k], 1, 0x2a, T_X, T_M, -1, RM_ANY, false, 0);
        spec_add(spec_fp, pfx4[k], 1, 0x2c, T_M, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_fp, pfx4[k], 1, 0x2d, T_M, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_fp, pfx4[k], 1, 0x2e, T_X, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_fp, pfx4[k], 1, 0x2f, T_X, T_X, -1, RM_ANY, false, 0);
    }
    for (int k = 2; k < 4; k++) {
        spec_add(spec_fp, pfx4[k], 1, 0x2a, T_X, T_G, -1, RM_ANY, false, 0);
        spec_add(spec_fp, pfx4[k], 1, 0x2c, T_G, T_X, -1, RM_ANY, false, 0);
        spec_add(spec_fp, pfx4[k], 1, 0x2d, T_G, T_X, -1, RM_ANY, false, 0);
    }

    /* SSE3 and SSSE3 */
    if (diff_has_sse3) {
        spec_add(spec_sse3, 0xf3, 1, 0x12, T_X, T_X, -1, RM_ANY, false, 1);
        spec_add(spec_sse3, 0xf2, 1, 0x12, T_X, T_X, -1, RM_ANY, false, 1);
        spec_add(spec_sse3, 0xf3, 1, 0x16, T_X, T_X, -1, RM_ANY, false, 1);
        spec_add(spec_sse3, 0xf2, 1, 0xf0, T_X, T_X, -1, RM_MEM, false, 1);
        for (int k = 1; k < 4; k += 2) {
            spec_add(spec_sse3, pfx4[k], 1, 0x7c, T_X, T_X, -1, RM_ANY,
                     false, 1);
            spec_add(spec_sse3, pfx4[k], 1, 0x7d, T_X, T_X, -1, RM_ANY,
                     false, 1);
            spec_add(spec_sse3, pfx4[k], 1, 0xd0, T_X, T_X, -1, RM_ANY,
                     false, 1);
        }
    }
    if (diff_has_ssse3) {
        static const uint8_t ops[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                       11, 0x1c, 0x1d, 0x1e };
        for (size_t i = 0; i < G_N_ELEMENTS(ops); i++) {
            spec_mmxsse(spec_sse3, 2, ops[i], false, 2);
        }
        spec_mmxsse(spec_sse3, 3, 0x0f, true, 2);
    }
    if (diff_has_sse41) {
        static const uint8_t ops38[] = {
            0x10, 0x14, 0x15, 0x17, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
            0x28, 0x29, 0x2b, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37,
            0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41,
        };
        static const uint8_t ops3a[] = { 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
                                         0x0e, 0x21, 0x40, 0x41, 0x42 };
        for (size_t i = 0; i < G_N_ELEMENTS(ops38); i++) {
            spec_add(spec_sse4, 0x66, 2, ops38[i], T_X, T_X, -1, RM_ANY,
                     false, 3);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(ops3a); i++) {
            spec_add(spec_sse4, 0x66, 3, ops3a[i], T_X, T_X, -1, RM_ANY,
                     true, 3);
        }
        spec_add(spec_sse4, 0x66, 2, 0x2a, T_X, T_X, -1, RM_MEM, false, 3);
        for (int o = 0x14; o <= 0x17; o++) {
            spec_add(spec_sse4, 0x66, 3, o, T_X, T_G, -1, RM_ANY, true, 3);
        }
        spec_add(spec_sse4, 0x66, 3, 0x20, T_X, T_G, -1, RM_ANY, true, 3);
        spec_add(spec_sse4, 0x66, 3, 0x22, T_X, T_G, -1, RM_ANY, true, 3);
    }
    if (diff_has_sse42) {
        for (int o = 0x60; o <= 0x63; o++) {
            for (int k = 0; k < 4; k++) {   /* weight: many imm8 modes */
                spec_add(spec_sse4, 0x66, 3, o, T_X, T_X, -1, RM_ANY, true,
                         4);
            }
        }
        spec_add(spec_sse4, 0xf2, 2, 0xf0, T_G, T_G, -1, RM_ANY, false, 4);
        spec_add(spec_sse4, 0xf2, 2, 0xf1, T_G, T_G, -1, RM_ANY, false, 4);
    }
}

/*
 * For the string compares: elements from a small alphabet with some
 * zeros, so that matches, ranges and terminators all occur; lengths in
 * RAX/RDX around the element counts, sometimes negative or huge.
 */
static void diff_string_data(GRand *r, DiffState *s)
{
    static const uint8_t alpha[] = { 0, 'a', 'b', 'c', 'z', 0x80, 0xff,
                                     '0', '9', 'A' };
    uint8_t *regs[3] = { s->fx + 160, diff_host_mem + DIFF_DATA, NULL };

    for (int k = 0; k < 2; k++) {
        for (int v = 0; v < (k ? 8 : 16); v++) {
            uint8_t *p = regs[k] + 16 * v;
            for (int i = 0; i < 16; i++) {
                if (g_rand_int_range(r, 0, 3)) {
                    p[i] = alpha[g_rand_int_range(r, 1,
                                                  G_N_ELEMENTS(alpha))];
                } else if (g_rand_int_range(r, 0, 4) == 0) {
                    p[i] = 0;
                }
            }
        }
    }
    for (int k = 0; k < 2; k++) {
        int64_t v = g_rand_int_range(r, -20, 20);
        if (g_rand_int_range(r, 0, 8) == 0) {
            v = (int64_t)diff_rand64(r);
        }
        s->regs[k ? R_EDX : R_EAX] = v;
    }
}

static void diff_gen_from(GArray *a, GRand *r, DiffCase *c, DiffState *s)
{
    const SimdSpec *sp = &g_array_index(a, SimdSpec,
                                        g_rand_int_range(r, 0, a->len));
    diff_encode(r, c, s, sp);
    if (sp->feat == 4 && sp->map == 3) {
        diff_string_data(r, s);
    }
    /* CMPxx: only predicates 0-7 exist in the legacy encoding. */
    if (sp->opc == 0xc2 && sp->map == 1) {
        c->insn[c->len - 1] &= 7;
    }
}

static void gen_int(GRand *r, DiffCase *c, DiffState *s)
{
    diff_gen_from(spec_int, r, c, s);
}

static void gen_mov(GRand *r, DiffCase *c, DiffState *s)
{
    diff_gen_from(spec_mov, r, c, s);
}

static void gen_fp(GRand *r, DiffCase *c, DiffState *s)
{
    diff_gen_from(spec_fp, r, c, s);
}

static void gen_sse4(GRand *r, DiffCase *c, DiffState *s)
{
    uint32_t csr;

    if (!spec_sse4->len || !diff_has_sse42) {
        c->skip = true;
        return;
    }
    diff_gen_from(spec_sse4, r, c, s);
    /*
     * DPPS/DPPD with exceptions unmasked: their flags are those of the
     * masked computation (documented limit in exec-sse-fp.c): skipped.
     */
    memcpy(&csr, s->fx + 24, 4);
    for (unsigned i = 0; i + 2 < c->len; i++) {
        if (c->insn[i] == 0x0f && c->insn[i + 1] == 0x3a &&
            (c->insn[i + 2] == 0x40 || c->insn[i + 2] == 0x41) &&
            (csr & MXCSR_MASKS) != MXCSR_MASKS) {
            c->skip = true;
        }
    }
}

static void gen_sse3(GRand *r, DiffCase *c, DiffState *s)
{
    if (!spec_sse3->len) {
        c->skip = true;
        return;
    }
    diff_gen_from(spec_sse3, r, c, s);
}

/* x87: a register form from the valid set, or a memory form. */
static void gen_x87(GRand *r, DiffCase *c, DiffState *s)
{
    static const char *const ranges[] = {
        "d8c0ff", "d9c0cf", "d9d0d0", "d9d8df", "d9e0e1", "d9e4e5",
        "d9e8ee", "d9f0ff", "dac0df", "dae9e9", "dbc0df", "dbe2e3",
        "dbe8f7", "dcc0ff", "ddc0ef", "dec0d7", "ded9d9", "dee0ff",
        "dfc0df", "dfe0e0", "dfe8f7",
    };
    /*
     * memory forms: escape, reg.  FNSTENV/FNSAVE store the pointers of
     * the last x87 instruction: 0 on both sides (the image loads 0 and
     * nothing in the stub before the instruction changes them).
     */
    static const uint8_t memf[][2] = {
        { 0xd8, 0 }, { 0xd8, 1 }, { 0xd8, 2 }, { 0xd8, 3 }, { 0xd8, 4 },
        { 0xd8, 5 }, { 0xd8, 6 }, { 0xd8, 7 }, { 0xd9, 0 }, { 0xd9, 2 },
        { 0xd9, 3 }, { 0xd9, 5 }, { 0xd9, 7 }, { 0xda, 0 }, { 0xda, 2 },
        { 0xda, 5 }, { 0xda, 6 }, { 0xda, 7 }, { 0xdb, 0 }, { 0xdb, 1 },
        { 0xdb, 2 }, { 0xdb, 3 }, { 0xdb, 5 }, { 0xdb, 7 }, { 0xdc, 0 },
        { 0xdc, 1 }, { 0xdc, 3 }, { 0xdc, 4 }, { 0xdc, 7 }, { 0xdd, 0 },
        { 0xdd, 1 }, { 0xdd, 2 }, { 0xdd, 3 }, { 0xdd, 7 }, { 0xde, 0 },
        { 0xde, 3 }, { 0xde, 6 }, { 0xdf, 0 }, { 0xdf, 1 }, { 0xdf, 2 },
        { 0xdf, 3 }, { 0xdf, 4 }, { 0xdf, 5 }, { 0xdf, 6 }, { 0xdf, 7 },
        { 0xd9, 4 }, { 0xdd, 4 }, { 0xd9, 6 }, { 0xdd, 6 },
    };

    if (g_rand_int_range(r, 0, 3)) {
        const char *rg = ranges[g_rand_int_range(r, 0, G_N_ELEMENTS(ranges))];
        uint8_t b[3];
        diff_emit(b, rg);
        c->insn[c->len++] = b[0];
        c->insn[c->len++] = g_rand_int_range(r, b[1], b[2] + 1);
    } else {
        unsigned k = g_rand_int_range(r, 0, G_N_ELEMENTS(memf));
        unsigned disp = g_rand_int_range(r, 0, 8) * 16;
        /* 66: the 16-bit environment layouts; ignored by the others */
        if (g_rand_int_range(r, 0, 4) == 0) {
            c->insn[c->len++] = 0x66;
        }
        c->insn[c->len++] = memf[k][0];
        c->insn[c->len++] = 0x43 | (memf[k][1] << 3);
        c->insn[c->len++] = disp;
        if (memf[k][1] == 4 && (memf[k][0] == 0xd9 || memf[k][0] == 0xdd)) {
            /* FLDENV/FRSTOR: a plausible image from the current state */
            memcpy(diff_host_mem + DIFF_DATA + disp, s->fx, 4);
        }
    }
}

/* FXSAVE/FXRSTOR (both layouts), LDMXCSR/STMXCSR, EMMS, FWAIT. */
static void gen_state(GRand *r, DiffCase *c, DiffState *s)
{
    unsigned k = g_rand_int_range(r, 0, 6);
    uint8_t disp = g_rand_int_range(r, 0, 8) * 16;

    switch (k) {
    case 0: case 1:                     /* FXSAVE64 / FXRSTOR64 */
        if (k == 1) {
            uint32_t csr = MXCSR_MASKS | (g_rand_int(r) & 0xe07f);
            memcpy(diff_host_mem + DIFF_DATA + disp, s->fx, 512);
            memcpy(diff_host_mem + DIFF_DATA + disp + 24, &csr, 4);
            /* no pending x87 exception after the load */
            diff_host_mem[DIFF_DATA + disp] |= 0x3f;
        }
        if (k == 0) {
            c->ignore_off = DIFF_DATA + disp + 28;
            c->ignore_len = 4;
        }
        /* FXSAVE64/FXRSTOR64, or the 32-bit-pointer layout without W */
        c->len = diff_emit(c->insn, g_rand_int_range(r, 0, 2) ? "480fae"
                                                               : "0fae");
        c->insn[c->len++] = 0x43 | (k << 3);
        c->insn[c->len++] = disp;
        break;
    case 2: case 3: {                   /* LDMXCSR / STMXCSR */
        uint32_t csr = MXCSR_MASKS | (g_rand_int(r) & 0xe07f);
        memcpy(diff_host_mem + DIFF_DATA + disp, &csr, 4);
        diff_emit(c->insn, "0fae");
        c->len = 2;
        c->insn[c->len++] = 0x43 | (k << 3);
        c->insn[c->len++] = disp;
        break;
    }
    case 4:
        c->len = diff_emit(c->insn, "0f77");
        break;
    default:
        c->len = diff_emit(c->insn, "9b");
        break;
    }
}

/* ---- comparison ---- */

static bool diff_fx_compare(const uint8_t *a, const uint8_t *b,
                            GString *why)
{
    static const struct {
        unsigned off, len;
        const char *name;
    } parts[] = {
        { 0, 2, "FCW" }, { 2, 2, "FSW" }, { 4, 1, "FTW" },
        { 24, 4, "MXCSR" },
    };
    bool ok = true;

    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
        if (memcmp(a + parts[i].off, b + parts[i].off, parts[i].len)) {
            g_string_append_printf(why, " %s", parts[i].name);
            ok = false;
        }
    }
    for (int i = 0; i < 8; i++) {
        if (memcmp(a + 32 + 16 * i, b + 32 + 16 * i, 10)) {
            g_string_append_printf(why, " ST%d", i);
            ok = false;
        }
    }
    for (int i = 0; i < 16; i++) {
        if (memcmp(a + 160 + 16 * i, b + 160 + 16 * i, 16)) {
            g_string_append_printf(why, " XMM%d", i);
            ok = false;
        }
    }
    return ok;
}

static void diff_hex(GString *out, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(out, "%02x", b[i]);
    }
}

static void diff_dump_fx(const char *who, const uint8_t *fx)
{
    g_autoptr(GString) h = g_string_new(NULL);
    diff_hex(h, fx, 32);
    g_printerr("  %s fx[0..31] %s\n", who, h->str);
    for (int i = 0; i < 8; i++) {
        g_string_truncate(h, 0);
        diff_hex(h, fx + 32 + 16 * i, 10);
        g_printerr("  %s ST%d %s", who, i, h->str);
        g_string_truncate(h, 0);
        diff_hex(h, fx + 160 + 16 * i, 16);
        g_printerr("   XMM%d %s\n", i, h->str);
    }
    for (int i = 8; i < 16; i++) {
        g_string_truncate(h, 0);
        diff_hex(h, fx + 160 + 16 * i, 16);
        g_printerr("  %s XMM%d %s\n", who, i, h->str);
    }
}

static bool diff_compare(const DiffCase *c, const DiffState *in,
                         const DiffState *nat, const DiffState *emu,
                         const char *cls)
{
    uint32_t fmask = CC_MASK | DF_MASK;
    bool ok = (nat->flags & fmask) == (emu->flags & fmask);
    g_autoptr(GString) why = g_string_new(NULL);
    g_autoptr(GString) h = g_string_new(NULL);

    if (!ok) {
        g_string_append(why, " flags");
    }
    for (int i = 0; i < 16; i++) {
        if (i != R_ESP && nat->regs[i] != emu->regs[i]) {
            g_string_append_printf(why, " r%d", i);
            ok = false;
        }
    }
    memcpy(diff_host_mem + c->ignore_off, diff_emu_mem + c->ignore_off,
           c->ignore_len);
    if (memcmp(diff_host_mem, diff_emu_mem, DIFF_MEM_SIZE)) {
        g_string_append(why, " memory");
        ok = false;
    }
    ok &= diff_fx_compare(nat->fx, emu->fx, why);
    if (ok) {
        return true;
    }
    diff_hex(h, c->insn, c->len);
    g_printerr("%s mismatch: %s:%s%s\n", cls, h->str, why->str,
               diff_sig ? " (after a fault on both)" : "");
    g_printerr("  flags in %03" PRIx64 " host %03" PRIx64 " emu %03" PRIx64
               "\n", in->flags & 0xfff, nat->flags & 0xfff,
               emu->flags & 0xfff);
    diff_dump_fx("in  ", in->fx);
    diff_dump_fx("host", nat->fx);
    diff_dump_fx("emu ", emu->fx);
    return false;
}

typedef void DiffGen(GRand *r, DiffCase *c, DiffState *s);

typedef struct DiffClass {
    const char *name;
    DiffGen *gen;
    unsigned count;
    bool x87_unmask;
    bool sse_unmask;
    bool x87_pending;
} DiffClass;

static const DiffClass diff_classes[] = {
    { "sse int", gen_int, 30000, false },
    { "sse move", gen_mov, 20000, false },
    { "sse fp", gen_fp, 30000, false },
    { "sse fp unmask", gen_fp, 20000, false, true },
    { "sse3/ssse3", gen_sse3, 10000, false },
    { "sse4.1/4.2", gen_sse4, 25000, false },
    { "sse3+ unmask", gen_sse3, 5000, false, true },
    { "sse4 unmask", gen_sse4, 5000, false, true },
    { "x87", gen_x87, 20000, false },
    { "x87 unmasked", gen_x87, 5000, true },
    { "x87 pending", gen_x87, 5000, true, false, true },
    { "mmx/sse pending", gen_mov, 5000, true, false, true },
    { "sse fp pending", gen_fp, 3000, true, false, true },
    { "int pending", gen_int, 3000, true, false, true },
    { "state", gen_state, 5000, false },
};

static bool diff_one(GRand *r, const DiffClass *cl, unsigned *faults)
{
    static DiffState in, nat, emu;
    DiffCase c = { .len = 0 };
    int vec, sig;

    diff_random_state(r, &in, cl->x87_unmask, cl->sse_unmask,
                      cl->x87_pending);
    cl->gen(r, &c, &in);
    if (c.skip) {
        return true;
    }
    memcpy(diff_emu_mem, diff_host_mem, DIFF_MEM_SIZE);
    vec = diff_run_emu(&in, &emu, c.insn, c.len);
    diff_build_stub(c.insn, c.len);
    sig = diff_run_native(&in, &nat);
    if (sig || vec >= 0) {
        g_autoptr(GString) h = g_string_new(NULL);
        (*faults)++;
        if (diff_sig_matches(sig, vec)) {
            if (!diff_fault_in_insn) {
                return true;    /* a fault in the stub's own fxrstor */
            }
            memcpy(&nat, &diff_fault_state, sizeof(nat));
            return diff_compare(&c, &in, &nat, &emu, cl->name);
        }
        diff_hex(h, c.insn, c.len);
        g_printerr("%s: %s: host signal %d, emulator vector %d\n", cl->name,
                   h->str, sig, vec);
        return false;
    }
    return diff_compare(&c, &in, &nat, &emu, cl->name);
}

static void test_diff_simd(void)
{
    GRand *r = g_rand_new_with_seed(g_test_rand_int());
    unsigned total = 0, bad = 0;

    for (size_t k = 0; k < G_N_ELEMENTS(diff_classes); k++) {
        const DiffClass *cl = &diff_classes[k];
        unsigned faults = 0, mism = 0;
        for (unsigned i = 0; i < cl->count; i++) {
            if (!diff_one(r, cl, &faults) && ++mism > 20) {
                break;
            }
        }
        printf("# %-13s %6u cases, %5u faulted on both, %u mismatches\n",
               cl->name, cl->count, faults, mism);
        total += cl->count;
        bad += mism;
    }
    printf("# total %u cases, %u mismatches\n", total, bad);
    g_rand_free(r);
    g_assert_cmpuint(bad, ==, 0);
}

/* The host's view of a few encodings we rely on in the decoder. */
static void test_decode_simd(void)
{
    static const struct {
        const char *hex;
        const char *text;
    } cases[] = {
        { "660fefc1", "PXOR Vx,Wx" },
        { "0fefc1", "PXOR Pq,Qq" },
        { "f30f6f00", "MOVDQU Vx,Wx" },
        { "660fd7c1", "PMOVMSKB Gd,Ux" },
        { "0f1600", "MOVHPS Vx,Mq" },
        { "0f16c1", "MOVLHPS Vx,Ux" },
        { "660f73d808", "PSHIFT_IMM Ux,Ib" },
        { "f20f58c1", "ADDSD Vx,Wx" },
        { "660f3a0fc101", "PALIGNR Vx,Wx,Ib" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint8_t b[16];
        unsigned n = diff_emit(b, cases[i].hex);
        X86Insn d;
        char text[64];
        g_assert_cmpint(x86_decode(&d, b, n, X86_MODE64), ==, X86_DEC_OK);
        g_assert_cmpuint(d.len, ==, n);
        x86_insn_format(&d, text, sizeof(text));
        g_assert_cmpstr(text, ==, cases[i].text);
    }
    /* a memory-only form with a register operand, and a missing prefix */
    {
        uint8_t b[4];
        X86Insn d;
        diff_emit(b, "660fe7c1");
        g_assert_cmpint(x86_decode(&d, b, 4, X86_MODE64), ==, X86_DEC_UD);
        diff_emit(b, "f30f58c1");
        g_assert_cmpint(x86_decode(&d, b, 4, X86_MODE64), ==, X86_DEC_OK);
        diff_emit(b, "f30fd7c1");
        g_assert_cmpint(x86_decode(&d, b, 4, X86_MODE64), ==, X86_DEC_UD);
    }
}

/* ---- architectural fault rules, emulator only ---- */

static X86CPUState fault_env;

/* A fresh 64-bit CPL3 env: SSE on, FPU/MXCSR at their defaults. */
static void fault_reset(void)
{
    X86CPUState *env = &fault_env;

    memset(env, 0, sizeof(*env));
    env->io = &diff_io;
    env->a20_mask = UINT64_MAX;
    env->eflags = 2;
    env->cc_op = CC_OP_EFLAGS;
    env->cr[0] = CR0_PE | CR0_PG | CR0_NE | CR0_MP | CR0_ET;
    env->cr[3] = DIFF_PT;
    env->cr[4] = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    env->efer = EFER_LMA | EFER_LME;
    env->segs[R_CS].flags = DESC_L_MASK | DESC_P_MASK | DESC_S_MASK |
                            DESC_CS_MASK;
    env->segs[R_CS].selector = 3;
    env->fpuc = 0x37f;
    memset(env->fptags, 1, sizeof(env->fptags));
    env->mxcsr = MXCSR_DEFAULT;
    env->regs[R_EBX] = DIFF_MEM + DIFF_DATA;
    env->features[FEAT_1_ECX] = CPUID_EXT_SSE3;
}

/* Run one instruction; the exception vector, or -1. */
static int fault_run(const char *hex)
{
    X86CPUState *env = &fault_env;
    uint8_t b[16];
    unsigned n = diff_emit(b, hex);
    X86Insn d;

    x86_update_hflags(env);
    x86_tlb_flush(env, true);
    env->exc_vector = -1;
    env->exc_prev = -1;
    if (x86_decode(&d, b, n, X86_MODE64) != X86_DEC_OK) {
        return EXCP_UD;
    }
    if (setjmp(env->jmp_env)) {
        return env->exc_vector;
    }
    x86_exec_insn(env, &d);
    return -1;
}

static void test_simd_faults(void)
{
    X86CPUState *env = &fault_env;
    uint32_t one = 0x3f800000;

    /* CR0.TS: #NM for SSE, MMX, x87; FWAIT only with MP too. */
    fault_reset();
    env->cr[0] |= CR0_TS;
    g_assert_cmpint(fault_run("660fefc1"), ==, EXCP_NM);   /* pxor xmm */
    g_assert_cmpint(fault_run("0fefc1"), ==, EXCP_NM);     /* pxor mm */
    g_assert_cmpint(fault_run("d8c1"), ==, EXCP_NM);       /* fadd */
    g_assert_cmpint(fault_run("480fae03"), ==, EXCP_NM);   /* fxsave */
    g_assert_cmpint(fault_run("9b"), ==, EXCP_NM);         /* fwait */
    env->cr[0] &= ~CR0_MP;
    g_assert_cmpint(fault_run("9b"), ==, -1);

    /* CR0.EM: #UD for SSE and MMX, #NM for x87. */
    fault_reset();
    env->cr[0] |= CR0_EM;
    g_assert_cmpint(fault_run("0f58c1"), ==, EXCP_UD);     /* addps */
    g_assert_cmpint(fault_run("0fefc1"), ==, EXCP_UD);
    g_assert_cmpint(fault_run("d9e8"), ==, EXCP_NM);       /* fld1 */

    /* CR4.OSFXSR clear: SSE is #UD, MMX still runs. */
    fault_reset();
    env->cr[4] &= ~CR4_OSFXSR;
    g_assert_cmpint(fault_run("0f58c1"), ==, EXCP_UD);
    g_assert_cmpint(fault_run("0fae13"), ==, EXCP_UD);     /* ldmxcsr */
    g_assert_cmpint(fault_run("0fefc1"), ==, -1);

    /* Unmasked divide-by-zero: #XM, destination kept, ZE recorded. */
    fault_reset();
    env->mxcsr &= ~(1u << 9);                               /* ZM */
    memcpy(&env->xmm[0].l[0], &one, 4);
    g_assert_cmpint(fault_run("f30f5ec1"), ==, EXCP_XM);   /* divss */
    g_assert_cmphex(env->xmm[0].l[0], ==, one);
    g_assert_cmphex(env->mxcsr & MXCSR_FLAGS, ==, MXCSR_ZE);
    env->cr[4] &= ~CR4_OSXMMEXCPT;
    g_assert_cmpint(fault_run("f30f5ec1"), ==, EXCP_UD);
    env->mxcsr |= 1u << 9;
    g_assert_cmpint(fault_run("f30f5ec1"), ==, -1);
    g_assert_cmphex(env->xmm[0].l[0], ==, 0x7f800000);     /* +inf */

    /* x87: an unmasked exception is pending until the next waiting one. */
    fault_reset();
    env->fpuc = 0x37f & ~FPUS_ZE;                           /* ZM clear */
    g_assert_cmpint(fault_run("d9e8"), ==, -1);             /* fld1 */
    g_assert_cmpint(fault_run("d9ee"), ==, -1);             /* fldz */
    g_assert_cmpint(fault_run("def9"), ==, -1);             /* fdivp */
    g_assert_true(env->fpus & FPUS_ES);
    g_assert_true(env->fpus & FPUS_ZE);
    g_assert_cmpint(fault_run("d9e8"), ==, EXCP_MF);
    g_assert_cmpint(fault_run("0fefc1"), ==, EXCP_MF);     /* MMX too */
    g_assert_cmpint(fault_run("9b"), ==, EXCP_MF);
    g_assert_cmpint(fault_run("dfe0"), ==, -1);             /* fnstsw ax */
    g_assert_true(env->regs[R_EAX] & FPUS_ES);
    g_assert_cmpint(fault_run("dbe2"), ==, -1);             /* fnclex */
    g_assert_cmpint(fault_run("9b"), ==, -1);
    g_assert_cmpint(fault_run("d9e8"), ==, -1);

    /* Bad MXCSR values and alignment: #GP. */
    fault_reset();
    memset(diff_emu_mem + DIFF_DATA, 0, 1024);
    diff_emu_mem[DIFF_DATA + 2] = 1;                        /* bit 16 */
    diff_emu_mem[DIFF_DATA + 26] = 1;                       /* image's */
    g_assert_cmpint(fault_run("0fae13"), ==, EXCP_GP);      /* ldmxcsr */
    g_assert_cmpint(fault_run("480fae0b"), ==, EXCP_GP);    /* fxrstor */
    g_assert_cmpint(fault_run("480fae4308"), ==, EXCP_GP);  /* fxsave+8 */
    g_assert_cmpint(fault_run("0f284308"), ==, EXCP_GP);    /* movaps */
    g_assert_cmpint(fault_run("0f104308"), ==, -1);         /* movups */
    g_assert_cmphex(env->mxcsr, ==, MXCSR_DEFAULT);

    /* Instructions of a feature the model lacks: #UD. */
    fault_reset();
    g_assert_cmpint(fault_run("660f3800c1"), ==, EXCP_UD);  /* pshufb */
    env->features[FEAT_1_ECX] = 0;
    g_assert_cmpint(fault_run("f20f7cc1"), ==, EXCP_UD);    /* haddps */
    g_assert_cmpint(fault_run("db0b"), ==, EXCP_UD);        /* fisttp */
}

int main(int argc, char **argv)
{
    struct sigaction sa = { .sa_sigaction = diff_signal };

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/diff-simd/decode", test_decode_simd);
    __builtin_cpu_init();
    diff_has_sse3 = __builtin_cpu_supports("sse3");
    diff_has_ssse3 = __builtin_cpu_supports("ssse3");
    diff_has_sse41 = __builtin_cpu_supports("sse4.1");
    diff_has_sse42 = __builtin_cpu_supports("sse4.2");
    diff_host_mem = mmap((void *)DIFF_MEM, DIFF_MEM_SIZE,
                         PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                         -1, 0);
    diff_code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (diff_host_mem != (void *)DIFF_MEM || diff_code == MAP_FAILED) {
        printf("# SKIP differential part: cannot map the test memory or "
               "an RWX page\n");
        return g_test_run();
    }
    diff_build_page_tables();
    spec_build();
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER | SA_SIGINFO;
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    g_test_add_func("/x86/diff-simd/random", test_diff_simd);
    g_test_add_func("/x86/diff-simd/faults", test_simd_faults);
    return g_test_run();
}
