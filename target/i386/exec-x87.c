/*
 * The x87 FPU (escape opcodes D8-DF, SDM vol 1 chapter 8, vol 2 F*).
 *
 * The host is an x86-64 CPU with the same x87 unit, so an instruction
 * runs as itself on the host: the guest's x87 state is loaded with FRSTOR
 * from a 108-byte image, the instruction executes (its memory operand in
 * a host buffer that the guest's memory was copied to, or is copied back
 * to guest memory from), and FNSAVE brings the state back.  Rounding and
 * precision control, stack faults, NaN and denormal handling, C0-C3,
 * pending-exception state (ES/B) and the transcendentals are then exactly
 * the host hardware's.  FNSAVE does not wait, so an unmasked exception
 * stays pending in the guest's status word until the next waiting
 * instruction raises #MF, as on hardware.
 *
 * Guest-visible differences: the FPU instruction/data pointers are the
 * guest's (not the host's), and FNSTENV/FNSAVE always use the protected
 * mode layouts (16- or 32-bit by operand size), also in real mode.
 */
#include "sse.h"

#define X87_IMG_SIZE 108

/* ---- guest state <-> FNSAVE image (32-bit protected-mode layout) ---- */

static void x87_to_img(X86CPUState *env, uint8_t *img)
{
    uint16_t w;
    uint32_t d;

    memset(img, 0, X87_IMG_SIZE);
    memcpy(img + 0, &env->fpuc, 2);
    w = x86_fpu_status(env);
    memcpy(img + 4, &w, 2);
    w = x86_fpu_full_tags(env);
    memcpy(img + 8, &w, 2);
    d = env->fpip;
    memcpy(img + 12, &d, 4);
    d = env->fpcs | ((uint32_t)(env->fpop & 0x7ff) << 16);
    memcpy(img + 16, &d, 4);
    d = env->fpdp;
    memcpy(img + 20, &d, 4);
    memcpy(img + 24, &env->fpds, 2);
    for (int i = 0; i < 8; i++) {
        const X86FPReg *r = &env->fpregs[(env->fptop + i) & 7];
        memcpy(img + 28 + 10 * i, &r->raw.mant, 8);
        memcpy(img + 36 + 10 * i, &r->raw.exp, 2);
    }
}

static void x87_from_img(X86CPUState *env, const uint8_t *img,
                         bool pointers)
{
    uint16_t sw, tw;
    uint32_t d;

    memcpy(&env->fpuc, img + 0, 2);
    memcpy(&sw, img + 4, 2);
    memcpy(&tw, img + 8, 2);
    env->fptop = (sw >> 11) & 7;
    env->fpus = sw & ~FPUS_TOP;
    for (int i = 0; i < 8; i++) {
        env->fptags[i] = ((tw >> (2 * i)) & 3) == 3;
    }
    for (int i = 0; i < 8; i++) {
        X86FPReg *r = &env->fpregs[(env->fptop + i) & 7];
        memset(r, 0, sizeof(*r));
        memcpy(&r->raw.mant, img + 28 + 10 * i, 8);
        memcpy(&r->raw.exp, img + 36 + 10 * i, 2);
    }
    if (pointers) {
        memcpy(&d, img + 12, 4);
        env->fpip = d;
        memcpy(&d, img + 16, 4);
        env->fpcs = d;
        env->fpop = (d >> 16) & 0x7ff;
        memcpy(&d, img + 20, 4);
        env->fpdp = d;
        memcpy(&env->fpds, img + 24, 2);
    }
}

/* ---- register forms (mod == 3): one case per valid encoding ---- */

/*
 * The guest's CF ZF PF go in through SAHF for FCMOVcc and come back
 * through LAHF for FCOMI; RAX is clobbered for that.
 */
#define X87_R(e, m) \
    case (((e) - 0xd8) << 6) | ((m) - 0xc0): \
        asm volatile("mov %[fl], %%ah\n\t" \
                     "sahf\n\t" \
                     "frstor (%[p])\n\t" \
                     ".byte " #e ", " #m "\n\t" \
                     "fnsave (%[p])\n\t" \
                     "lahf\n\t" \
                     "mov %%ah, %[fl]" \
                     : [fl] "+Q" (fl) \
                     : [p] "r" (img) \
                     : "rax", "memory", "cc"); \
        break;
#define X87_ROW(e, r) \
    X87_R(e, 0xc0 + 8 * r + 0) X87_R(e, 0xc0 + 8 * r + 1) \
    X87_R(e, 0xc0 + 8 * r + 2) X87_R(e, 0xc0 + 8 * r + 3) \
    X87_R(e, 0xc0 + 8 * r + 4) X87_R(e, 0xc0 + 8 * r + 5) \
    X87_R(e, 0xc0 + 8 * r + 6) X87_R(e, 0xc0 + 8 * r + 7)

/*
 * Runs escape @esc with ModRM @modrm on the image; @fl carries the low
 * EFLAGS byte in and out.  Returns false for an undefined encoding.
 */
static bool x87_native_reg(uint8_t *img, unsigned esc, unsigned modrm,
                           uint8_t *flp)
{
    uint8_t fl = *flp;

    switch (((esc - 0xd8) << 6) | (modrm - 0xc0)) {
    /* D8: FADD FMUL FCOM FCOMP FSUB FSUBR FDIV FDIVR ST(0),ST(i) */
    X87_ROW(0xd8, 0) X87_ROW(0xd8, 1) X87_ROW(0xd8, 2) X87_ROW(0xd8, 3)
    X87_ROW(0xd8, 4) X87_ROW(0xd8, 5) X87_ROW(0xd8, 6) X87_ROW(0xd8, 7)
    /* D9: FLD FXCH FNOP (FSTP1) FCHS FABS FTST FXAM constants, F0-FF */
    X87_ROW(0xd9, 0) X87_ROW(0xd9, 1) X87_R(0xd9, 0xd0) X87_ROW(0xd9, 3)
    X87_R(0xd9, 0xe0) X87_R(0xd9, 0xe1) X87_R(0xd9, 0xe4) X87_R(0xd9, 0xe5)
    X87_R(0xd9, 0xe8) X87_R(0xd9, 0xe9) X87_R(0xd9, 0xea) X87_R(0xd9, 0xeb)
    X87_R(0xd9, 0xec) X87_R(0xd9, 0xed) X87_R(0xd9, 0xee)
    X87_ROW(0xd9, 6) X87_ROW(0xd9, 7)
    /* DA: FCMOVB FCMOVE FCMOVBE FCMOVU, FUCOMPP */
    X87_ROW(0xda, 0) X87_ROW(0xda, 1) X87_ROW(0xda, 2) X87_ROW(0xda, 3)
    X87_R(0xda, 0xe9)
    /* DB: FCMOVNB FCMOVNE FCMOVNBE FCMOVNU, FUCOMI, FCOMI */
    X87_ROW(0xdb, 0) X87_ROW(0xdb, 1) X87_ROW(0xdb, 2) X87_ROW(0xdb, 3)
    X87_ROW(0xdb, 5) X87_ROW(0xdb, 6)
    /* DC: the ST(i),ST(0) arithmetic forms (and FCOM2/FCOMP3) */
    X87_ROW(0xdc, 0) X87_ROW(0xdc, 1) X87_ROW(0xdc, 2) X87_ROW(0xdc, 3)
    X87_ROW(0xdc, 4) X87_ROW(0xdc, 5) X87_ROW(0xdc, 6) X87_ROW(0xdc, 7)
    /* DD: FFREE (FXCH4) FST FSTP FUCOM FUCOMP */
    X87_ROW(0xdd, 0) X87_ROW(0xdd, 1) X87_ROW(0xdd, 2) X87_ROW(0xdd, 3)
    X87_ROW(0xdd, 4) X87_ROW(0xdd, 5)
    /* DE: FADDP FMULP (FCOMP5) FCOMPP FSUBRP FSUBP FDIVRP FDIVP */
    X87_ROW(0xde, 0) X87_ROW(0xde, 1) X87_ROW(0xde, 2) X87_R(0xde, 0xd9)
    X87_ROW(0xde, 4) X87_ROW(0xde, 5) X87_ROW(0xde, 6) X87_ROW(0xde, 7)
    /* DF: (FFREEP FXCH7 FSTP8 FSTP9) FUCOMIP FCOMIP */
    X87_ROW(0xdf, 0) X87_ROW(0xdf, 1) X87_ROW(0xdf, 2) X87_ROW(0xdf, 3)
    X87_ROW(0xdf, 5) X87_ROW(0xdf, 6)
    default:
        return false;
    }
    *flp = fl;
    return true;
}

/* ---- memory forms: (escape, ModRM.reg) ---- */

#define X87_M(e, r, insn) \
    case (((e) - 0xd8) << 3) | (r): \
        asm volatile("frstor (%[p])\n\t" \
                     insn " (%[m])\n\t" \
                     "fnsave (%[p])" \
                     : : [p] "r" (img), [m] "r" (buf) : "memory"); \
        break;
/* The same with the 16-bit (66-prefixed) environment layouts. */
#define X87_M16(e, r, insn) \
    case 64 + ((((e) - 0xd8) << 3) | (r)): \
        asm volatile("frstor (%[p])\n\t" \
                     ".byte 0x66\n\t" \
                     insn " (%[m])\n\t" \
                     "fnsave (%[p])" \
                     : : [p] "r" (img), [m] "r" (buf) : "memory"); \
        break;
#define X87_ARITH(e, sfx) \
    X87_M(e, 0, "fadd" sfx) X87_M(e, 1, "fmul" sfx) \
    X87_M(e, 2, "fcom" sfx) X87_M(e, 3, "fcomp" sfx) \
    X87_M(e, 4, "fsub" sfx) X87_M(e, 5, "fsubr" sfx) \
    X87_M(e, 6, "fdiv" sfx) X87_M(e, 7, "fdivr" sfx)
#define X87_IARITH(e, sfx) \
    X87_M(e, 0, "fiadd" sfx) X87_M(e, 1, "fimul" sfx) \
    X87_M(e, 2, "ficom" sfx) X87_M(e, 3, "ficomp" sfx) \
    X87_M(e, 4, "fisub" sfx) X87_M(e, 5, "fisubr" sfx) \
    X87_M(e, 6, "fidiv" sfx) X87_M(e, 7, "fidivr" sfx)

static void x87_native_mem(uint8_t *img, uint8_t *buf, unsigned esc,
                           unsigned reg, bool env16)
{
    switch ((env16 ? 64 : 0) + (((esc - 0xd8) << 3) | reg)) {
    X87_ARITH(0xd8, "s")
    X87_M(0xd9, 0, "flds") X87_M(0xd9, 2, "fsts") X87_M(0xd9, 3, "fstps")
    X87_M(0xd9, 4, "fldenv") X87_M(0xd9, 5, "fldcw")
    X87_M(0xd9, 6, "fnstenv")
    X87_M16(0xd9, 4, "fldenv") X87_M16(0xd9, 6, "fnstenv")
    X87_IARITH(0xda, "l")
    X87_M(0xdb, 0, "fildl") X87_M(0xdb, 1, "fisttpl")
    X87_M(0xdb, 2, "fistl") X87_M(0xdb, 3, "fistpl")
    X87_M(0xdb, 5, "fldt") X87_M(0xdb, 7, "fstpt")
    X87_ARITH(0xdc, "l")
    X87_M(0xdd, 0, "fldl") X87_M(0xdd, 1, "fisttpll")
    X87_M(0xdd, 2, "fstl") X87_M(0xdd, 3, "fstpl")
    X87_M(0xdd, 4, "frstor") X87_M(0xdd, 6, "fnsave")
    X87_M16(0xdd, 4, "frstor") X87_M16(0xdd, 6, "fnsave")
    X87_IARITH(0xde, "s")
    X87_M(0xdf, 0, "filds") X87_M(0xdf, 1, "fisttps")
    X87_M(0xdf, 2, "fists") X87_M(0xdf, 3, "fistps")
    X87_M(0xdf, 4, "fbld") X87_M(0xdf, 5, "fildll")
    X87_M(0xdf, 6, "fbstp") X87_M(0xdf, 7, "fistpll")
    default:
        g_assert_not_reached();
    }
}

/*
 * What a memory form does with its operand.  Sizes of the environment
 * forms are those of the 32-bit layout; the 16-bit one is 14/94.
 */
enum { XM_UD, XM_LOAD, XM_STORE, XM_CTRL };

typedef struct X87MemForm {
    uint8_t kind;
    uint8_t size;
    bool sse3;              /* FISTTP */
    bool nowait;            /* control: no pending-exception check */
    bool pointers;          /* FIP/FDP/FOP come from the result image */
    bool keep_ptrs;         /* a control instruction: pointers unchanged */
} X87MemForm;

#define LD(n) { XM_LOAD, n, false, false, false, false }
#define ST(n) { XM_STORE, n, false, false, false, false }
#define TT(n) { XM_STORE, n, true, false, false, false }
#define UD { XM_UD, 0, false, false, false, false }

static const X87MemForm x87_mem_forms[8][8] = {
    { LD(4), LD(4), LD(4), LD(4), LD(4), LD(4), LD(4), LD(4) },
    { LD(4), UD, ST(4), ST(4),
      { XM_LOAD, 28, false, false, true, true },        /* FLDENV */
      { XM_LOAD, 2, false, false, false, true },        /* FLDCW */
      { XM_STORE, 28, false, true, false, true },       /* FNSTENV */
      { XM_CTRL, 2, false, true, false, true } },       /* FNSTCW */
    { LD(4), LD(4), LD(4), LD(4), LD(4), LD(4), LD(4), LD(4) },
    { LD(4), TT(4), ST(4), ST(4), UD, LD(10), UD, ST(10) },
    { LD(8), LD(8), LD(8), LD(8), LD(8), LD(8), LD(8), LD(8) },
    { LD(8), TT(8), ST(8), ST(8),
      { XM_LOAD, 108, false, false, true, true },       /* FRSTOR */
      UD,
      { XM_STORE, 108, false, true, true, true },       /* FNSAVE */
      { XM_CTRL, 2, false, true, false, true } },       /* FNSTSW */
    { LD(2), LD(2), LD(2), LD(2), LD(2), LD(2), LD(2), LD(2) },
    { LD(2), TT(2), ST(2), ST(2), LD(10), LD(8), ST(10), ST(8) },
};

#undef LD
#undef ST
#undef TT
#undef UD

/* ---- guest memory ---- */

static uint64_t x87_addr(const X86Insn *in, uint64_t ea, unsigned off)
{
    return (ea + off) & x86_size_mask(in->asize);
}

static void x87_read(X86CPUState *env, const X86Insn *in, uint64_t ea,
                     uint8_t *buf, unsigned n)
{
    if (n == 2 || n == 4 || n == 8) {
        uint64_t v = x86_mem_read(env, in->seg, ea, n);
        memcpy(buf, &v, n);
        return;
    }
    for (unsigned off = 0; off < n; off += 2) {
        uint16_t v = x86_ld16(env, in->seg, x87_addr(in, ea, off));
        memcpy(buf + off, &v, 2);
    }
}

static void x87_write(X86CPUState *env, const X86Insn *in, uint64_t ea,
                      const uint8_t *buf, unsigned n)
{
    if (n == 2 || n == 4 || n == 8) {
        uint64_t v = 0;
        memcpy(&v, buf, n);
        x86_mem_write(env, in->seg, ea, n, v);
        return;
    }
    for (unsigned off = 0; off < n; off += 2) {
        uint16_t v;
        memcpy(&v, buf + off, 2);
        x86_st16(env, in->seg, x87_addr(in, ea, off), v);
    }
}

/* ---- checks and bookkeeping ---- */

static void x87_check_nm(X86CPUState *env)
{
    if (env->hflags & (HF_EM | HF_TS)) {
        x86_raise_exception(env, EXCP_NM);
    }
}

/*
 * A waiting instruction first takes a pending unmasked exception (#MF).
 * An unmasked flag without ES (loaded by FXRSTOR) counts too: the host
 * would otherwise trap on it.
 */
static void x87_check_pending(X86CPUState *env)
{
    if ((env->fpus & FPUS_ES) || (env->fpus & ~env->fpuc & FPUS_EXC)) {
        x86_raise_exception(env, EXCP_MF);
    }
}

/* FIP/FCS/FOP (and FDP/FDS) of the last non-control instruction. */
static void x87_set_pointers(X86CPUState *env, const X86Insn *in,
                             uint64_t ea, bool mem)
{
    env->fpip = env->rip;
    env->fpcs = env->segs[R_CS].selector;
    env->fpop = (((in->opcode & 7) << 8) | (in->mod << 6) |
                 ((in->reg & 7) << 3) | (in->rm & 7)) & 0x7ff;
    if (mem) {
        env->fpdp = ea;
        env->fpds = env->segs[in->seg].selector;
    }
}

static bool x87_has_sse3(X86CPUState *env)
{
    return x86_has_feature(env, FEAT_1_ECX, CPUID_EXT_SSE3) &&
           simd_host_sse3;
}

static void x87_mem(X86CPUState *env, const X86Insn *in)
{
    unsigned esc = in->opcode & 0xff, reg = in->reg & 7;
    const X87MemForm *f = &x87_mem_forms[esc - 0xd8][reg];
    uint8_t img[X87_IMG_SIZE] __attribute__((aligned(16)));
    uint8_t buf[X87_IMG_SIZE] __attribute__((aligned(16)));
    uint64_t ea = x86_ea(env, in);
    bool env16 = in->osize == 2 && (f->size == 28 || f->size == 108);
    unsigned size = !env16 ? f->size : f->size == 28 ? 14 : 94;

    if (f->kind == XM_UD || (f->sse3 && !x87_has_sse3(env))) {
        x86_raise_exception(env, EXCP_UD);
    }
    x87_check_nm(env);
    if (!f->nowait) {
        x87_check_pending(env);
    }
    if (f->kind == XM_CTRL) {           /* FNSTCW, FNSTSW m16 */
        x86_st16(env, in->seg, ea, reg == 7 && esc == 0xd9
                                   ? env->fpuc : x86_fpu_status(env));
        return;
    }
    memset(buf, 0, sizeof(buf));
    if (f->kind == XM_LOAD) {
        x87_read(env, in, ea, buf, size);
    } else {
        /* Fault before the state changes, so the insn can restart. */
        x86_probe_write(env, in->seg, ea, 1);
        x86_probe_write(env, in->seg, x87_addr(in, ea, size - 1), 1);
    }
    x87_to_img(env, img);
    x87_native_mem(img, buf, esc, reg, env16);
    x87_from_img(env, img, f->pointers);
    if (!f->keep_ptrs) {
        x87_set_pointers(env, in, ea, true);
    }
    if (f->kind == XM_STORE) {
        /*
         * An unmasked invalid, overflow or underflow exception leaves
         * the memory destination unwritten (SDM vol 1 8.5).
         */
        uint16_t sw = x86_fpu_status(env);
        if (f->size <= 10 && (sw & FPUS_ES) &&
            (sw & ~env->fpuc & (FPUS_IE | FPUS_OE | FPUS_UE | FPUS_DE |
                                FPUS_ZE))) {
            return;
        }
        x87_write(env, in, ea, buf, size);
    }
}

static bool x87_is_fcomi(unsigned esc, unsigned modrm)
{
    return (esc == 0xdb || esc == 0xdf) && modrm >= 0xe8 && modrm < 0xf8;
}

static void x87_reg(X86CPUState *env, const X86Insn *in)
{
    unsigned esc = in->opcode & 0xff;
    unsigned modrm = 0xc0 | ((in->reg & 7) << 3) | (in->rm & 7);
    uint8_t img[X87_IMG_SIZE] __attribute__((aligned(16)));
    uint32_t flags;
    uint8_t fl;

    x87_check_nm(env);
    if (esc == 0xdb && modrm >= 0xe0 && modrm <= 0xe4) {
        if (modrm == 0xe2) {            /* FNCLEX */
            env->fpus &= ~(FPUS_EXC | FPUS_SF | FPUS_ES | FPUS_B);
        } else if (modrm == 0xe3) {     /* FNINIT */
            env->fpuc = 0x37f;
            env->fpus = 0;
            env->fptop = 0;
            memset(env->fptags, 1, sizeof(env->fptags));
            env->fpip = env->fpdp = 0;
            env->fpcs = env->fpds = 0;
            env->fpop = 0;
        }
        return;                         /* FNENI FNDISI FNSETPM: no-ops */
    }
    if (esc == 0xdf && modrm == 0xe0) { /* FNSTSW AX */
        x86_reg_write(env, R_EAX, 2, x86_fpu_status(env));
        return;
    }
    x87_check_pending(env);
    flags = x86_get_eflags(env);
    fl = flags & 0xff;
    x87_to_img(env, img);
    if (!x87_native_reg(img, esc, modrm, &fl)) {
        x86_raise_exception(env, EXCP_UD);
    }
    x87_from_img(env, img, false);
    x87_set_pointers(env, in, 0, false);
    if (x87_is_fcomi(esc, modrm)) {
        /* ZF PF CF from the compare; OF SF AF cleared. */
        env->cc_op = CC_OP_EFLAGS;
        env->cc_src = fl & (ZF_MASK | PF_MASK | CF_MASK);
    }
}

static void x87_exec(X86CPUState *env, const X86Insn *in)
{
    if (in->mod == 3) {
        x87_reg(env, in);
    } else {
        x87_mem(env, in);
    }
}

void x86_exec_x87_init(void)
{
    x86_exec_register(X86_OP_FPU, x87_exec);
}
