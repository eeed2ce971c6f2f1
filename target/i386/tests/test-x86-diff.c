/*
 * Differential test: random instructions run on the host CPU and in the
 * emulator from the same registers, flags and memory; everything must
 * match except the flags the SDM calls undefined (diff_undef_flags(), the
 * one table of exceptions).
 *
 * The native side runs a generated stub in an RWX page: it loads the 16
 * registers and RFLAGS from a struct, executes the instruction bytes and
 * stores everything back with RIP-relative stores.  RSP is never an
 * operand.  Memory operands point into a buffer mapped at DIFF_MEM, a
 * 32-bit address, mirrored by the flat memory the emulator sees.
 */
#include "qlite/osdep.h"
#include "x86-fake-mem.h"
#include "../exec.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>


typedef struct DiffState {
    uint64_t regs[16];
    uint64_t flags;
} DiffState;

static uint8_t *diff_host_mem;          /* native side, at DIFF_MEM */
static uint8_t *diff_code;              /* RWX stub page */
static sigjmp_buf diff_fpe_jmp;

/*
 * ---- the emulator's memory: the real accessors (mmu.c) over a fake
 * physical memory (X86IO): 4-level page tables at 0x1000-0x3fff map the
 * 2 MiB around DIFF_MEM 1:1 as a user page; the test buffer is the only
 * other RAM.  Everything else reads as all ones and ignores writes.
 */



/* ---- the native side ---- */

static unsigned diff_emit(uint8_t *p, const char *hex)
{
    unsigned n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
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
 * Layout of the stub page: code at 0, results (DiffState) at 0x800, the
 * saved RSP at 0x900.  The stub is rebuilt for each instruction.
 */
static void diff_build_stub(const uint8_t *insn, unsigned len)
{
    uint8_t *p = diff_code;
    unsigned n = 0;

    /* push rbx, rbp, r12-r15; mov [rip+save], rsp */
    n += diff_emit(p + n, "53554154415541564157");
    n += diff_emit(p + n, "488925");
    diff_emit_rel32(p, n, 0x900);
    n += 4;
    /* push [rdi+128]; popfq */
    n += diff_emit(p + n, "ffb780000000""9d");
    for (int r = 0; r < 16; r++) {
        if (r == R_ESP || r == R_EDI) {
            continue;
        }
        /* mov reg, [rdi + r*8] */
        p[n++] = 0x48 | (r >= 8 ? 4 : 0);
        p[n++] = 0x8b;
        p[n++] = 0x47 | ((r & 7) << 3);
        p[n++] = r * 8;
    }
    n += diff_emit(p + n, "488b7f38");      /* mov rdi, [rdi+56] */
    memcpy(p + n, insn, len);
    n += len;
    for (int r = 0; r < 16; r++) {
        /* mov [rip+out+r*8], reg */
        p[n++] = 0x48 | (r >= 8 ? 4 : 0);
        p[n++] = 0x89;
        p[n++] = 0x05 | ((r & 7) << 3);
        diff_emit_rel32(p, n, 0x800 + r * 8);
        n += 4;
    }
    n += diff_emit(p + n, "9c8f05");        /* pushfq; pop [rip+flags] */
    diff_emit_rel32(p, n, 0x800 + 128);
    n += 4;
    n += diff_emit(p + n, "488b25");        /* mov rsp, [rip+save] */
    diff_emit_rel32(p, n, 0x900);
    n += 4;
    /* cld: the C code after us expects DF clear (SysV ABI). */
    n += diff_emit(p + n, "fc415f415e415d415c5d5bc3");
    g_assert_cmpuint(n, <, 0x800);
}

static void diff_fpe(int sig)
{
    siglongjmp(diff_fpe_jmp, 1);
}

/* Returns false when the host raised #DE. */
static bool diff_run_native(const DiffState *in, DiffState *out)
{
    void (*fn)(const DiffState *) = (void (*)(const DiffState *))diff_code;
    if (sigsetjmp(diff_fpe_jmp, 1)) {
        return false;
    }
    fn(in);
    memcpy(out, diff_code + 0x800, sizeof(*out));
    return true;
}

/* Returns the exception vector, or -1. */
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
    env.cr[0] = CR0_PE | CR0_PG;
    env.cr[3] = DIFF_PT;
    env.cr[4] = CR4_PAE;
    env.efer = EFER_LMA | EFER_LME;
    env.segs[R_CS].flags = DESC_L_MASK | DESC_P_MASK | DESC_S_MASK |
                           DESC_CS_MASK;
    env.segs[R_CS].selector = 3;
    x86_update_hflags(&env);
    x86_tlb_flush(&env, true);
    env.exc_vector = -1;
    env.exc_prev = -1;
    if (x86_decode(&d, insn, len, X86_MODE64) != X86_DEC_OK) {
        return EXCP_UD;
    }
    g_assert_cmpuint(d.len, ==, len);
    if (setjmp(env.jmp_env)) {
        return env.exc_vector;
    }
    x86_exec_insn(&env, &d);
    memcpy(out->regs, env.regs, sizeof(out->regs));
    out->flags = x86_get_eflags(&env);
    return -1;
}

/* ---- instruction generators ---- */

typedef struct DiffCase {
    uint8_t insn[16];
    unsigned len;
    uint32_t undef;         /* flags the SDM leaves undefined here */
    bool skip;              /* an encoding whose result is undefined */
} DiffCase;

typedef void DiffGen(GRand *r, DiffCase *c, DiffState *s);

static unsigned diff_reg(GRand *r)
{
    static const uint8_t ok[] = { 0, 1, 2, 3, 5, 6, 7 };
    return ok[g_rand_int_range(r, 0, 7)];
}

/* Optional 66 / REX prefix, returns the operand size. */
static unsigned diff_prefix(GRand *r, DiffCase *c, bool byte_op)
{
    unsigned k = g_rand_int_range(r, 0, 4), rex = 0x40;
    if (k == 1 && !byte_op) {
        c->insn[c->len++] = 0x66;
    }
    if (k == 2 || (k == 3 && !byte_op)) {
        rex |= g_rand_int_range(r, 0, 2) ? 1 : 0;
        rex |= g_rand_int_range(r, 0, 2) ? 4 : 0;
        rex |= k == 3 ? 8 : 0;
        c->insn[c->len++] = rex;
    }
    return byte_op ? 1 : k == 1 ? 2 : k == 3 ? 8 : 4;
}

static void diff_modrm(GRand *r, DiffCase *c, unsigned reg)
{
    c->insn[c->len++] = 0xc0 | (reg << 3) | diff_reg(r);
}

static void diff_imm(GRand *r, DiffCase *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        c->insn[c->len++] = g_rand_int(r);
    }
}

static void gen_alu(GRand *r, DiffCase *c, DiffState *s)
{
    unsigned k = g_rand_int_range(r, 0, 5), sz;
    unsigned op = g_rand_int_range(r, 0, 8);
    bool byte = g_rand_int_range(r, 0, 2);

    sz = diff_prefix(r, c, byte);
    switch (k) {
    case 0: case 1:     /* op Ev,Gv / Gv,Ev */
        c->insn[c->len++] = op * 8 + (k * 2) + !byte;
        diff_modrm(r, c, diff_reg(r));
        break;
    case 2:             /* grp1 with immediate */
        c->insn[c->len++] = byte ? 0x80 : g_rand_int_range(r, 0, 2) ? 0x81
                                                                    : 0x83;
        diff_modrm(r, c, op);
        diff_imm(r, c, byte || c->insn[c->len - 2] == 0x83 ? 1
                                                            : sz == 2 ? 2 : 4);
        break;
    case 3:             /* INC DEC NOT NEG TEST */
        op = g_rand_int_range(r, 0, 4);
        c->insn[c->len++] = op < 2 ? 0xfe + !byte : 0xf6 + !byte;
        diff_modrm(r, c, op < 2 ? op : op == 2 ? 2 : 3);
        break;
    default:            /* XADD, CMPXCHG, TEST Ev,Gv */
        op = g_rand_int_range(r, 0, 3);
        if (op == 2) {
            c->insn[c->len++] = 0x84 + !byte;
        } else {
            c->insn[c->len++] = 0x0f;
            c->insn[c->len++] = (op ? 0xb0 : 0xc0) + !byte;
        }
        diff_modrm(r, c, diff_reg(r));
        break;
    }
    if (op >= 4 && k == 0) {
        c->undef = AF_MASK;     /* AND/OR/XOR: AF undefined */
    }
    if (k == 2 && (op == 1 || op == 4 || op == 6)) {
        c->undef = AF_MASK;
    }
    if (k == 4 && c->insn[c->len - 2] == 0x84 + !byte) {
        c->undef = AF_MASK;
    }
    if (k == 3 && op >= 2) {
        c->undef = 0;
    }
    (void)s;
}

static void gen_shift(GRand *r, DiffCase *c, DiffState *s)
{
    bool byte = g_rand_int_range(r, 0, 2);
    unsigned sz = diff_prefix(r, c, byte);
    unsigned op = g_rand_int_range(r, 0, 8), k = g_rand_int_range(r, 0, 4);
    unsigned cnt, bits = sz * 8;

    if (k == 3 && !byte) {      /* SHLD/SHRD with CL */
        op = g_rand_int_range(r, 0, 2);
        c->insn[c->len++] = 0x0f;
        c->insn[c->len++] = op ? 0xad : 0xa5;
        diff_modrm(r, c, diff_reg(r));
        cnt = s->regs[R_ECX] & (sz == 8 ? 63 : 31);
        c->skip = cnt > bits;   /* result undefined */
        c->undef = (cnt != 1 ? OF_MASK : 0) | AF_MASK;
        return;
    }
    if (k == 0) {
        c->insn[c->len++] = 0xd0 + !byte;
        cnt = 1;
    } else if (k == 1) {
        c->insn[c->len++] = 0xc0 + !byte;
        cnt = 0;
    } else {
        c->insn[c->len++] = 0xd2 + !byte;
        cnt = s->regs[R_ECX];
    }
    diff_modrm(r, c, op);
    if (k == 1) {
        diff_imm(r, c, 1);
        cnt = c->insn[c->len - 1];
    }
    cnt &= sz == 8 ? 63 : 31;
    if (cnt == 0) {
        return;
    }
    c->undef = cnt != 1 ? OF_MASK : 0;
    if (op >= 4) {
        c->undef |= AF_MASK;
        if (cnt >= bits) {
            c->undef |= CF_MASK;
        }
    }
}

static void gen_muldiv(GRand *r, DiffCase *c, DiffState *s)
{
    bool byte = g_rand_int_range(r, 0, 2);
    unsigned sz = diff_prefix(r, c, byte), k = g_rand_int_range(r, 0, 3);

    c->undef = SF_MASK | ZF_MASK | AF_MASK | PF_MASK;
    if (k == 0 || byte) {
        unsigned op = g_rand_int_range(r, 4, 8);
        c->insn[c->len++] = 0xf6 + !byte;
        diff_modrm(r, c, op);
        if (op >= 6) {
            c->undef = CC_MASK;
            /* Small dividends so that some divisions do not overflow. */
            if (g_rand_int_range(r, 0, 2)) {
                s->regs[R_EDX] = g_rand_int_range(r, 0, 2) ? 0 : -1;
            }
        }
    } else if (k == 1) {
        c->insn[c->len++] = 0x0f;
        c->insn[c->len++] = 0xaf;
        diff_modrm(r, c, diff_reg(r));
    } else {
        bool b8 = g_rand_int_range(r, 0, 2);
        c->insn[c->len++] = b8 ? 0x6b : 0x69;
        diff_modrm(r, c, diff_reg(r));
        diff_imm(r, c, b8 ? 1 : sz == 2 ? 2 : 4);
    }
}

static void gen_bitop(GRand *r, DiffCase *c, DiffState *s)
{
    unsigned sz = diff_prefix(r, c, false), k = g_rand_int_range(r, 0, 5);
    static const uint8_t bt_ops[] = { 0xa3, 0xab, 0xb3, 0xbb };

    c->undef = OF_MASK | SF_MASK | AF_MASK | PF_MASK;
    if (k == 0) {
        c->insn[c->len++] = 0x0f;
        c->insn[c->len++] = bt_ops[g_rand_int_range(r, 0, 4)];
        diff_modrm(r, c, diff_reg(r));
    } else if (k == 1) {
        c->insn[c->len++] = 0x0f;
        c->insn[c->len++] = 0xba;
        diff_modrm(r, c, g_rand_int_range(r, 4, 8));
        diff_imm(r, c, 1);
    } else if (k == 2 || k == 3) {
        /* BSF/BSR: a zero source leaves the destination undefined. */
        unsigned src;
        c->insn[c->len++] = 0x0f;
        c->insn[c->len++] = k == 2 ? 0xbc : 0xbd;
        diff_modrm(r, c, diff_reg(r));
        src = (c->insn[c->len - 1] & 7) |
              ((c->len >= 4 && (c->insn[c->len - 4] & 0xf0) == 0x40 &&
                (c->insn[c->len - 4] & 1)) ? 8 : 0);
        c->skip = (s->regs[src] & x86_size_mask(sz)) == 0;
        c->undef = CF_MASK | OF_MASK | SF_MASK | AF_MASK | PF_MASK;
    } else {
        /* POPCNT: F3 must come before REX; rebuild the prefix. */
        c->len = 0;
        c->insn[c->len++] = 0xf3;
        sz = diff_prefix(r, c, false);
        c->insn[c->len++] = 0x0f;
        c->insn[c->len++] = 0xb8;
        diff_modrm(r, c, diff_reg(r));
        c->undef = 0;
    }
}

static void gen_misc(GRand *r, DiffCase *c, DiffState *s)
{
    unsigned k = g_rand_int_range(r, 0, 7);
    diff_prefix(r, c, false);
    switch (k) {
    case 0:     /* CMOVcc */
        c->insn[c->len++] = 0x0f;
        c->insn[c->len++] = 0x40 + g_rand_int_range(r, 0, 16);
        diff_modrm(r, c, diff_reg(r));
        break;
    case 1:     /* SETcc */
        c->insn[c->len++] = 0x0f;
        c->insn[c->len++] = 0x90 + g_rand_int_range(r, 0, 16);
        diff_modrm(r, c, 0);
        break;
    case 2:     /* MOVZX/MOVSX */
        c->insn[c->len++] = 0x0f;
        c->insn[c->len++] = 0xb6 + g_rand_int_range(r, 0, 2) +
                            8 * g_rand_int_range(r, 0, 2);
        diff_modrm(r, c, diff_reg(r));
        break;
    case 3:     /* CBW family, CWD family, LAHF, SAHF, CLC, STC, CMC */
        c->insn[c->len++] = (const uint8_t[]){ 0x98, 0x99, 0x9f, 0x9e,
                                               0xf8, 0xf9, 0xf5 }
                            [g_rand_int_range(r, 0, 7)];
        break;
    case 4:     /* LEA with SIB */
        c->insn[c->len++] = 0x8d;
        c->insn[c->len++] = 0x84 | (diff_reg(r) << 3);
        c->insn[c->len++] = g_rand_int_range(r, 0, 256) & ~0x07;
        c->insn[c->len - 1] |= diff_reg(r);
        if ((c->insn[c->len - 1] & 0x38) == 0x20) {
            c->insn[c->len - 1] |= 0x08;
        }
        diff_imm(r, c, 4);
        break;
    case 5:     /* XCHG, MOV */
        c->insn[c->len++] = 0x86 + g_rand_int_range(r, 0, 4);
        diff_modrm(r, c, diff_reg(r));
        break;
    default:    /* BSWAP r32/r64 */
        if (c->len && c->insn[0] == 0x66) {
            /* 16-bit BSWAP is undefined: drop the prefix. */
            memmove(c->insn, c->insn + 1, --c->len);
        }
        c->insn[c->len++] = 0x0f;
        c->insn[c->len++] = 0xc8 + diff_reg(r);
        break;
    }
    (void)s;
}

static void gen_string(GRand *r, DiffCase *c, DiffState *s)
{
    static const uint8_t ops[] = { 0xa4, 0xaa, 0xac, 0xa6, 0xae };
    unsigned k = g_rand_int_range(r, 0, 5), rep = g_rand_int_range(r, 0, 3);
    bool byte = g_rand_int_range(r, 0, 2);

    if (rep) {
        c->insn[c->len++] = rep == 1 ? 0xf3 : 0xf2;
    }
    diff_prefix(r, c, byte);
    c->insn[c->len++] = ops[k] + !byte;
    s->regs[R_ESI] = DIFF_MEM + 0x4000 + g_rand_int_range(r, 0, 0x100);
    s->regs[R_EDI] = DIFF_MEM + 0x8000 + g_rand_int_range(r, 0, 0x100);
    s->regs[R_ECX] = g_rand_int_range(r, 0, 40);
    switch (g_rand_int_range(r, 0, 6)) {
    case 0:     /* long runs across 4 KiB pages (bulk REP MOVS/STOS) */
        s->regs[R_ECX] = g_rand_int_range(r, 40, 700);
        s->regs[R_ESI] -= g_rand_int_range(r, 0, 0x100);
        break;
    case 1:     /* overlapping MOVS: the element order shows */
        s->regs[R_ECX] = g_rand_int_range(r, 0, 300);
        s->regs[R_EDI] = s->regs[R_ESI] + g_rand_int_range(r, -24, 25);
        break;
    default:
        break;
    }
    if (g_rand_int_range(r, 0, 2)) {
        s->flags |= DF_MASK;
    }
    /* Equal data now and then so REPE runs on. */
    if (g_rand_int_range(r, 0, 2)) {
        memset(diff_host_mem + 0x4000, 0x5a, 0x800);
        memset(diff_host_mem + 0x8000, 0x5a, 0x800);
        s->regs[R_EAX] = 0x5a5a5a5a5a5a5a5aull;
    }
}

typedef struct DiffClass {
    const char *name;
    DiffGen *gen;
    unsigned count;
} DiffClass;

static DiffClass diff_classes[] = {
    { "alu", gen_alu, 40000 },
    { "shift/rotate", gen_shift, 30000 },
    { "mul/div", gen_muldiv, 20000 },
    { "bit ops", gen_bitop, 15000 },
    { "misc", gen_misc, 15000 },
    { "string", gen_string, 10000 },
};

static uint64_t diff_rand64(GRand *r)
{
    uint64_t v = ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
    switch (g_rand_int_range(r, 0, 6)) {
    case 0: return v & 0xff;
    case 1: return (uint64_t)(int64_t)(int32_t)v;
    case 2: return v & 1 ? 0 : UINT64_MAX;
    case 3: return (uint64_t)1 << (v & 63);
    default: return v;
    }
}

static void diff_random_state(GRand *r, DiffState *s)
{
    for (int i = 0; i < 16; i++) {
        s->regs[i] = diff_rand64(r);
    }
    s->regs[R_ESP] = 0;
    s->flags = 2 | (g_rand_int(r) & CC_MASK);
    for (unsigned i = 0; i < DIFF_MEM_SIZE; i++) {
        diff_host_mem[i] = i * 7 + 3;
    }
}

static void diff_hex(GString *out, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(out, "%02x", b[i]);
    }
}

static bool diff_compare(const DiffCase *c, const DiffState *in,
                         const DiffState *nat, const DiffState *emu,
                         const char *cls)
{
    uint32_t fmask = (CC_MASK | DF_MASK) & ~c->undef;
    bool ok = (nat->flags & fmask) == (emu->flags & fmask);
    g_autoptr(GString) h = g_string_new(NULL);

    for (int i = 0; i < 16; i++) {
        if (i != R_ESP && nat->regs[i] != emu->regs[i]) {
            ok = false;
        }
    }
    if (memcmp(diff_host_mem, diff_emu_mem, DIFF_MEM_SIZE)) {
        ok = false;
        g_string_append(h, " (memory differs)");
    }
    if (ok) {
        return true;
    }
    diff_hex(h, c->insn, c->len);
    g_printerr("%s mismatch: %s\n", cls, h->str);
    for (int i = 0; i < 16; i++) {
        g_printerr("  r%-2d in %016" PRIx64 " host %016" PRIx64
                   " emu %016" PRIx64 "%s\n", i, in->regs[i], nat->regs[i],
                   emu->regs[i],
                   i != R_ESP && nat->regs[i] != emu->regs[i] ? " <--" : "");
    }
    g_printerr("  flags in %03" PRIx64 " host %03" PRIx64 " emu %03" PRIx64
               " compared %03x\n", in->flags & 0xfff, nat->flags & 0xfff,
               emu->flags & 0xfff, fmask);
    return false;
}

static bool diff_one(GRand *r, const DiffClass *cl, unsigned *faults)
{
    DiffState in, nat, emu;
    DiffCase c = { .len = 0 };
    int vec;
    bool nat_ok;

    diff_random_state(r, &in);
    cl->gen(r, &c, &in);
    if (c.skip) {
        return true;
    }
    memcpy(diff_emu_mem, diff_host_mem, DIFF_MEM_SIZE);
    vec = diff_run_emu(&in, &emu, c.insn, c.len);
    diff_build_stub(c.insn, c.len);
    in.regs[R_ESP] = 0;
    nat_ok = diff_run_native(&in, &nat);
    if (!nat_ok || vec >= 0) {
        (*faults)++;
        if (nat_ok || vec != EXCP_DE) {
            g_autoptr(GString) h = g_string_new(NULL);
            diff_hex(h, c.insn, c.len);
            g_printerr("%s: %s: host %s, emulator vector %d\n", cl->name,
                       h->str, nat_ok ? "ran" : "#DE", vec);
            return false;
        }
        return true;
    }
    return diff_compare(&c, &in, &nat, &emu, cl->name);
}

static void test_diff_all(void)
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
        printf("# %-13s %6u cases, %5u #DE on both, %u mismatches\n",
               cl->name, cl->count, faults, mism);
        total += cl->count;
        bad += mism;
    }
    printf("# total %u cases, %u mismatches\n", total, bad);
    g_rand_free(r);
    g_assert_cmpuint(total, >=, 100000);
    g_assert_cmpuint(bad, ==, 0);
}

int main(int argc, char **argv)
{
    struct sigaction sa = { .sa_handler = diff_fpe };

    g_test_init(&argc, &argv, NULL);
    diff_build_page_tables();
    diff_host_mem = mmap((void *)DIFF_MEM, DIFF_MEM_SIZE,
                         PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                         -1, 0);
    diff_code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (diff_host_mem != (void *)DIFF_MEM || diff_code == MAP_FAILED) {
        printf("1..0 # SKIP cannot map the test memory or an RWX page\n");
        return 0;
    }
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGFPE, &sa, NULL);
    g_test_add_func("/x86/diff/all", test_diff_all);
    return g_test_run();
}
