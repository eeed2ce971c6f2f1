/*
 * The SSE2 instructions C library string and memory functions live on
 * (strlen, memchr, memset, memcpy: 128-bit moves, byte compares, mask
 * extraction, logic, shuffles), translated to the same host SSE2
 * instruction on XMM0/XMM1, with the guest's XMM registers in env.
 *
 * Only integer and bitwise operations are taken: they neither read
 * MXCSR nor raise SIMD floating-point exceptions, so the host's result
 * is the guest's.  The faults stay the handler's: each translation
 * checks at run time what simd_check() would (CR0.EM, CR4.OSFXSR,
 * CR0.TS, all in hflags, which EBP holds while translated code runs),
 * 16-byte alignment where the instruction requires it, and the soft
 * TLB; any of them failing runs the instruction's handler instead
 * (STUB_GENERIC), which raises #UD, #NM, #GP or #PF as the interpreter
 * does.  Nothing is written before those checks pass.
 */
#include "jit-ops.h"

#define XMM_OFF(n)      (ENV_OFF(xmm) + 16 * (int32_t)(n))

/* Host instructions used on the guest's behalf. */
enum {
    SSE_MOVDQU_LOAD = 0x6f,     /* F3 0F 6F */
    SSE_MOVDQU_STORE = 0x7f,    /* F3 0F 7F */
    SSE_PMOVMSKB = 0xd7,        /* 66 0F D7 */
};

typedef enum {
    SSE_NONE,
    SSE_MOVE,       /* 128-bit load, store or register copy */
    SSE_BINOP,      /* xmm = xmm op xmm/m128, the same opcode on the host */
    SSE_IMM,        /* the same with an imm8 (SHUFPS/PD) */
    SSE_UNARY_IMM,  /* xmm = f(xmm/m128, imm8) (PSHUFD/HW/LW) */
    SSE_SHIFT_IMM,  /* groups 12-14: xmm shifted by imm8 */
    SSE_MOVMSK,     /* PMOVMSKB r32, xmm */
    SSE_MOVD,       /* MOVD/MOVQ between xmm and r/m32/64 (66 0F 6E/7E) */
    SSE_MOVQ,       /* MOVQ xmm, xmm/m64 (F3 0F 7E); xmm/m64, xmm (66 0F D6) */
} SseKind;

static SseKind sse_kind(const X86Insn *in)
{
    switch (in->op) {
    case X86_OP_MOVUPS: case X86_OP_MOVUPD: case X86_OP_MOVDQU:
    case X86_OP_MOVAPS: case X86_OP_MOVAPD: case X86_OP_MOVDQA:
        return SSE_MOVE;
    case X86_OP_PUNPCKLBW: case X86_OP_PUNPCKLWD: case X86_OP_PUNPCKLDQ:
    case X86_OP_PUNPCKHBW: case X86_OP_PUNPCKHWD: case X86_OP_PUNPCKHDQ:
    case X86_OP_PUNPCKLQDQ: case X86_OP_PUNPCKHQDQ:
    case X86_OP_PACKSSWB: case X86_OP_PACKUSWB: case X86_OP_PACKSSDW:
    case X86_OP_PCMPGTB: case X86_OP_PCMPGTW: case X86_OP_PCMPGTD:
    case X86_OP_PCMPEQB: case X86_OP_PCMPEQW: case X86_OP_PCMPEQD:
    case X86_OP_PSRLW: case X86_OP_PSRLD: case X86_OP_PSRLQ:
    case X86_OP_PSRAW: case X86_OP_PSRAD:
    case X86_OP_PSLLW: case X86_OP_PSLLD: case X86_OP_PSLLQ:
    case X86_OP_PADDB: case X86_OP_PADDW: case X86_OP_PADDD:
    case X86_OP_PADDQ: case X86_OP_PSUBB: case X86_OP_PSUBW:
    case X86_OP_PSUBD: case X86_OP_PSUBQ:
    case X86_OP_PADDSB: case X86_OP_PADDSW: case X86_OP_PADDUSB:
    case X86_OP_PADDUSW: case X86_OP_PSUBSB: case X86_OP_PSUBSW:
    case X86_OP_PSUBUSB: case X86_OP_PSUBUSW:
    case X86_OP_PMINUB: case X86_OP_PMAXUB: case X86_OP_PMINSW:
    case X86_OP_PMAXSW: case X86_OP_PAVGB: case X86_OP_PAVGW:
    case X86_OP_PMULLW: case X86_OP_PMULHW: case X86_OP_PMULHUW:
    case X86_OP_PMULUDQ: case X86_OP_PMADDWD: case X86_OP_PSADBW:
    case X86_OP_PAND: case X86_OP_PANDN: case X86_OP_POR: case X86_OP_PXOR:
    case X86_OP_ANDPS: case X86_OP_ANDPD: case X86_OP_ANDNPS:
    case X86_OP_ANDNPD: case X86_OP_ORPS: case X86_OP_ORPD:
    case X86_OP_XORPS: case X86_OP_XORPD:
    case X86_OP_UNPCKLPS: case X86_OP_UNPCKHPS: case X86_OP_UNPCKLPD:
    case X86_OP_UNPCKHPD:
        return SSE_BINOP;
    case X86_OP_SHUFPS: case X86_OP_SHUFPD:
        return SSE_IMM;
    case X86_OP_PSHUFD: case X86_OP_PSHUFHW: case X86_OP_PSHUFLW:
        return SSE_UNARY_IMM;
    case X86_OP_PSHIFT_IMM:
        return SSE_SHIFT_IMM;
    case X86_OP_PMOVMSKB:
        return SSE_MOVMSK;
    case X86_OP_MOVD:
        return SSE_MOVD;
    case X86_OP_MOVQ:
        return SSE_MOVQ;
    default:
        return SSE_NONE;
    }
}

/* Does @in work on XMM registers (not its MMX form)? */
static bool sse_is_xmm(const X86Insn *in)
{
    for (int n = 0; n < 3; n++) {
        if (in->opnd[n] == X86_OPND_Pq || in->opnd[n] == X86_OPND_Qq ||
            in->opnd[n] == X86_OPND_Nq) {
            return false;
        }
    }
    return true;
}

bool jit_sse_takes(const X86Insn *in)
{
    return sse_kind(in) != SSE_NONE && sse_is_xmm(in);
}

/*
 * The host's mandatory prefix for @in's operation (its opcode byte is the
 * guest's): none for the PS forms, F3/F2 for PSHUFHW/LW, 66 for the rest.
 */
static uint8_t sse_prefix(const X86Insn *in)
{
    switch (in->op) {
    case X86_OP_ANDPS: case X86_OP_ANDNPS: case X86_OP_ORPS:
    case X86_OP_XORPS: case X86_OP_UNPCKLPS: case X86_OP_UNPCKHPS:
    case X86_OP_SHUFPS:
        return 0;
    case X86_OP_PSHUFHW:
        return 0xf3;
    case X86_OP_PSHUFLW:
        return 0xf2;
    default:
        return 0x66;
    }
}

/*
 * Go to @in's handler unless SSE may run: CR0.EM clear, CR4.OSFXSR set
 * and CR0.TS clear, in the hflags of the running chain.
 */
static JitStub *sse_check_enabled(JitCtx *c, const X86Insn *in)
{
    JitAsm *a = &c->a;
    JitStub *s;

    ja_load(a, 4, JA_RAX, JIT_CHAIN_HFLAGS);
    ja_alu_ri(a, JA_AND, 4, JA_RAX, HF_EM | HF_OSFXSR | HF_TS);
    ja_alu_ri(a, JA_CMP, 4, JA_RAX, HF_OSFXSR);
    s = jit_stub(c, STUB_GENERIC, ja_jcc(a, CC_NE));
    s->insn = in;
    return s;
}

static void movdqu_load(JitCtx *c, unsigned x, JaMem m)
{
    ja_sse_rm(&c->a, 0xf3, SSE_MOVDQU_LOAD, false, x, m);
}

static void movdqu_store(JitCtx *c, JaMem m, unsigned x)
{
    ja_sse_rm(&c->a, 0xf3, SSE_MOVDQU_STORE, false, x, m);
}

static bool sse_aligned_move(const X86Insn *in)
{
    return in->op == X86_OP_MOVAPS || in->op == X86_OP_MOVAPD ||
           in->op == X86_OP_MOVDQA;
}

/* Loads go to XMM0 then the register; stores come from the register. */
static bool sse_move(JitCtx *c, const X86Insn *in)
{
    bool store = in->opnd[0] == X86_OPND_Wx;
    JitStub *stubs[2] = { NULL, NULL };

    if (in->mod == 3) {
        unsigned d = store ? in->rm : in->reg, s = store ? in->reg : in->rm;

        movdqu_load(c, 0, env_mem(XMM_OFF(s)));
        movdqu_store(c, env_mem(XMM_OFF(d)), 0);
        return true;
    }
    if (!jit_mem_whole(c, in, 16, store, sse_aligned_move(in) ? 16 : 0,
                       stubs)) {
        return false;
    }
    if (store) {
        movdqu_load(c, 0, env_mem(XMM_OFF(in->reg)));
        movdqu_store(c, ja_mem(JA_RSI, 0), 0);
    } else {
        movdqu_load(c, 0, ja_mem(JA_RSI, 0));
        movdqu_store(c, env_mem(XMM_OFF(in->reg)), 0);
    }
    jit_whole_rejoin(c, stubs);
    return true;
}

/* XMM1 = the 128-bit source operand (register or aligned memory). */
static bool sse_source(JitCtx *c, const X86Insn *in, JitStub **stubs)
{
    if (in->mod == 3) {
        movdqu_load(c, 1, env_mem(XMM_OFF(in->rm)));
        return true;
    }
    if (!jit_mem_whole(c, in, 16, false, 16, stubs)) {
        return false;
    }
    movdqu_load(c, 1, ja_mem(JA_RSI, 0));
    return true;
}

/* BINOP, IMM and UNARY_IMM: the guest's opcode on XMM0, XMM1. */
static bool sse_arith(JitCtx *c, const X86Insn *in, SseKind kind)
{
    JitStub *stubs[2] = { NULL, NULL };

    if (!sse_source(c, in, stubs)) {
        return false;
    }
    if (kind != SSE_UNARY_IMM) {
        movdqu_load(c, 0, env_mem(XMM_OFF(in->reg)));
    }
    ja_sse_rr(&c->a, sse_prefix(in), in->opcode & 0xff, false, 0, 1);
    if (kind != SSE_BINOP) {
        ja_byte(&c->a, in->imm);
    }
    movdqu_store(c, env_mem(XMM_OFF(in->reg)), 0);
    jit_whole_rejoin(c, stubs);
    return true;
}

/* 66 0F 71-73 /r ib: ModRM.reg picks the shift, r/m is the register. */
static bool sse_shift_imm(JitCtx *c, const X86Insn *in)
{
    movdqu_load(c, 0, env_mem(XMM_OFF(in->rm)));
    ja_sse_rr(&c->a, 0x66, in->opcode & 0xff, false, in->reg & 7, 0);
    ja_byte(&c->a, in->imm);
    movdqu_store(c, env_mem(XMM_OFF(in->rm)), 0);
    return true;
}

static bool sse_movmsk(JitCtx *c, const X86Insn *in)
{
    movdqu_load(c, 0, env_mem(XMM_OFF(in->rm)));
    ja_sse_rr(&c->a, 0x66, SSE_PMOVMSKB, false, JA_RAX, 0);
    jit_greg_store(c, 4, in->reg, JA_RAX);
    return true;
}

/* The low @size bytes of XMM register @x into RAX (zero-extended). */
static void sse_low_to_rax(JitCtx *c, unsigned size, unsigned x)
{
    ja_load(&c->a, size, JA_RAX, env_mem(XMM_OFF(x)));
}

/* XMM register @x = RAX, zero-extended to 128 bits. */
static void sse_rax_to_xmm(JitCtx *c, unsigned x)
{
    ja_store(&c->a, 8, env_mem(XMM_OFF(x)), JA_RAX);
    ja_store_imm(&c->a, 8, env_mem(XMM_OFF(x) + 8), 0);
}

/* MOVD/MOVQ 66 0F 6E (load into xmm) and 66 0F 7E (store from xmm). */
static bool sse_movd(JitCtx *c, const X86Insn *in)
{
    bool store = in->opnd[0] == X86_OPND_Ey;
    unsigned size = in->loc[store ? 0 : 1].size;

    if (!store) {
        if (in->mod == 3) {
            jit_greg_load(c, size, JA_RAX, in->rm);
        } else {
            if (!jit_mem_addr(c, in, size, false)) {
                return false;
            }
            jit_load(c, size, in->seg);
        }
        sse_rax_to_xmm(c, in->reg);
        return true;
    }
    if (in->mod == 3) {
        sse_low_to_rax(c, size, in->reg);
        jit_greg_store(c, size, in->rm, JA_RAX);
        return true;
    }
    if (!jit_mem_addr(c, in, size, true)) {
        return false;
    }
    ja_load(&c->a, size, JA_RCX, env_mem(XMM_OFF(in->reg)));
    jit_store(c, size, in->seg);
    return true;
}

/* MOVQ F3 0F 7E (xmm = xmm/m64, high zeroed), 66 0F D6 (the other way). */
static bool sse_movq(JitCtx *c, const X86Insn *in)
{
    bool store = in->opnd[0] == X86_OPND_Wx;

    if (in->mod == 3) {
        unsigned d = store ? in->rm : in->reg, s = store ? in->reg : in->rm;

        sse_low_to_rax(c, 8, s);
        sse_rax_to_xmm(c, d);
        return true;
    }
    if (!jit_mem_addr(c, in, 8, store)) {
        return false;
    }
    if (store) {
        ja_load(&c->a, 8, JA_RCX, env_mem(XMM_OFF(in->reg)));
        jit_store(c, 8, in->seg);
    } else {
        jit_load(c, 8, in->seg);
        sse_rax_to_xmm(c, in->reg);
    }
    return true;
}

static bool sse_translate(JitCtx *c, const X86Insn *in, SseKind kind)
{
    switch (kind) {
    case SSE_MOVE:
        return sse_move(c, in);
    case SSE_BINOP: case SSE_IMM: case SSE_UNARY_IMM:
        return sse_arith(c, in, kind);
    case SSE_SHIFT_IMM:
        return sse_shift_imm(c, in);
    case SSE_MOVMSK:
        return sse_movmsk(c, in);
    case SSE_MOVD:
        return sse_movd(c, in);
    case SSE_MOVQ:
        return sse_movq(c, in);
    default:
        return false;
    }
}

bool jit_sse(JitCtx *c, const X86Insn *in)
{
    JitStub *disabled = sse_check_enabled(c, in);

    if (!sse_translate(c, in, sse_kind(in))) {
        return false;
    }
    /* The handler raises #UD or #NM there; were it not to, go on. */
    disabled->back = c->a.p;
    return true;
}
