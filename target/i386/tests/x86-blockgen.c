/*
 * Random straight-line x86-64 blocks for the translator's differential
 * test (test-tcg-jit.c): see x86-blockgen.h.
 *
 * Each template emits one instruction (a few emit a short sequence)
 * through an Ib, which keeps the parts of an encoding apart (legacy
 * prefixes, REX, opcode, ModRM/SIB/displacement, immediate) so that
 * register and memory operands can be chosen in any order and the REX
 * rules for byte registers still hold.  Every instruction is decoded
 * back as it is emitted: one the decoder rejects is the generator's
 * bug, and stops the test.
 */
#include "x86-blockgen.h"
#include "x86-fake-mem.h"
#include "../decode.h"

static unsigned rnd(BlockGen *g, unsigned n)
{
    return g_rand_int_range(g->r, 0, n);
}

static bool chance(BlockGen *g, unsigned n)
{
    return rnd(g, n) == 0;
}

static uint64_t rnd64(BlockGen *g)
{
    return (uint64_t)g_rand_int(g->r) << 32 | g_rand_int(g->r);
}

/* Values near the edges where flags change, or anything. */
static uint64_t gen_value(BlockGen *g)
{
    static const uint64_t edge[] = {
        0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
        0x7fffffff, 0x80000000, 0xffffffff, UINT64_C(0x100000000),
        INT64_MAX, (uint64_t)INT64_MIN, UINT64_MAX, UINT64_MAX - 1,
    };

    switch (rnd(g, 4)) {
    case 0:
        return edge[rnd(g, G_N_ELEMENTS(edge))];
    case 1:
        return rnd64(g) >> (rnd(g, 4) * 16);
    default:
        return rnd64(g);
    }
}

/* Bits of the code: 64, 32 or 16. */
static unsigned gen_bits(const BlockGen *g)
{
    return g->bits ? g->bits : 64;
}

/* The decoder mode of the code. */
static int gen_mode(const BlockGen *g)
{
    return gen_bits(g) == 64 ? X86_MODE64 :
           gen_bits(g) == 32 ? X86_MODE32 : X86_MODE16;
}

/* Bytes of a Jz/Iz immediate at the default operand size. */
static unsigned gen_zsize(const BlockGen *g)
{
    return gen_bits(g) == 16 ? 2 : 4;
}

static uint32_t gen_imm(BlockGen *g)
{
    return chance(g, 3) ? (uint32_t)gen_value(g) : g_rand_int(g->r);
}

/* Registers no template writes: RSP and the three pointers. */
static bool reg_free(const BlockGen *g, unsigned r)
{
    return r != R_ESP && r != g->ptr[0] && r != g->ptr[1] &&
           r != g->ptr[2];
}

/*
 * One instruction being built: legacy prefixes, REX, opcode, ModRM with
 * SIB and displacement, immediate.  A RIP-relative displacement is
 * filled in when the instruction's length is known.
 */
typedef struct Ib {
    uint8_t pfx[4];
    unsigned npfx;
    unsigned rex;               /* 0x40 | WRXB once a REX is needed */
    bool legacy8;               /* AH-BH are used: no REX allowed */
    uint8_t opc[3];
    unsigned nopc;
    uint8_t rm[6];
    unsigned nrm;
    int rip_at;                 /* rm[] index of a RIP-relative disp */
    uint64_t rip_target;
    uint8_t imm[8];
    unsigned nimm;
    bool align;                 /* ib_mem(): a 16-byte aligned address */
} Ib;

static void ib_init(Ib *ib)
{
    memset(ib, 0, sizeof(*ib));
    ib->rip_at = -1;
}

static void ib_pfx(Ib *ib, uint8_t p)
{
    g_assert_cmpuint(ib->npfx, <, sizeof(ib->pfx));
    ib->pfx[ib->npfx++] = p;
}

static void ib_op(Ib *ib, unsigned b)
{
    g_assert_cmpuint(ib->nopc, <, sizeof(ib->opc));
    ib->opc[ib->nopc++] = b;
}

static void ib_op2(Ib *ib, unsigned b)
{
    ib_op(ib, 0x0f);
    ib_op(ib, b);
}

static void ib_imm(Ib *ib, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        ib->imm[ib->nimm++] = v >> (8 * i);
    }
}

static void ib_disp(Ib *ib, uint32_t d, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        ib->rm[ib->nrm++] = d >> (8 * i);
    }
}

static void ib_modrm_rr(Ib *ib, unsigned reg, unsigned rm)
{
    ib->rm[0] = 0xc0 | (reg & 7) << 3 | (rm & 7);
    ib->nrm = 1;
}

/* ModRM.reg of a memory form built by ib_mem(). */
static void ib_set_reg(Ib *ib, unsigned reg)
{
    ib->rm[0] |= (reg & 7) << 3;
}

/* The operand size of a "v" instruction: 66h for 2, REX.W for 8. */
static unsigned ib_vsize(BlockGen *g, Ib *ib)
{
    if (gen_bits(g) != 64) {
        bool other = chance(g, 4);

        if (other) {
            ib_pfx(ib, 0x66);
        }
        return (gen_bits(g) == 32) != other ? 4 : 2;
    }
    switch (rnd(g, 8)) {
    case 0: case 1:
        ib_pfx(ib, 0x66);
        return 2;
    case 2: case 3: case 4:
        return 4;
    case 5:
        ib_pfx(ib, 0x66);       /* REX.W wins over 66h */
        /* fall through */
    default:
        ib->rex |= 0x48;
        return 8;
    }
}

/*
 * A register operand of @size in the field that REX bit @bit extends
 * (4: ModRM.reg, 1: ModRM.rm or the opcode), a destination when @dst.
 * Byte operands are AH-BH without a REX, SPL-DIL with one.  Memory
 * operands are built first, so their REX bits are known here.
 */
static unsigned ib_reg(BlockGen *g, Ib *ib, unsigned size, unsigned bit,
                       bool dst)
{
    for (;;) {
        unsigned r = rnd(g, gen_bits(g) == 64 ? 16 : 8);
        bool legacy = ib->legacy8 || gen_bits(g) != 64 ||
                      (size == 1 && !ib->rex && chance(g, 3));

        if (legacy) {
            unsigned under = size == 1 && (r & 7) >= 4 ? (r & 7) - 4 : r & 7;

            if (dst && !reg_free(g, under)) {
                continue;
            }
            if (size == 1 && (r & 7) >= 4) {
                ib->legacy8 = true;
            }
            return r & 7;
        }
        if (dst && !reg_free(g, r)) {
            continue;
        }
        if (r >= 8) {
            ib->rex |= 0x40 | bit;
        } else if (size == 1 && r >= 4) {
            ib->rex |= 0x40;
        }
        return r & 7;
    }
}

/*
 * Where memory operands go: the data pages, now and then the last bytes
 * of a page (a crossing access) or of RAM (the rest reads as ones).
 */
static uint32_t data_off(BlockGen *g)
{
    switch (rnd(g, 12)) {
    case 0: case 1:
        return (3 + rnd(g, 9)) * 0x1000 - 1 - rnd(g, 7);
    case 2:
        if (chance(g, 6)) {
            return DIFF_MEM_SIZE - 1 - rnd(g, 7);
        }
        /* fall through */
    default:
        return 0x2000 + rnd(g, 0xa000);
    }
}

/*
 * mod 0 (none; not for RBP/R13 bases), 1 (disp8), 2 (disp32).  With
 * ib->align, a displacement that rounds @sum (the registers' part of
 * the address, known as the block is made) down to 16 bytes.
 */
static unsigned gen_disp(BlockGen *g, const Ib *ib, unsigned base_low,
                         uint64_t sum, int32_t *disp)
{
    unsigned mod = rnd(g, 3);

    if (mod == 0 && (base_low == 5 || ib->align)) {
        mod = 1;
    }
    *disp = mod == 0 ? 0 : mod == 1 ? (int8_t)rnd(g, 256)
                                    : (int32_t)rnd(g, 0x2000) - 0x1000;
    if (ib->align) {
        *disp -= (sum + *disp) & 15;
        if (mod == 1 && *disp < INT8_MIN) {
            *disp += 16;
        }
    }
    return mod;
}

static void ib_put_disp(Ib *ib, unsigned mod, int32_t disp)
{
    ib_disp(ib, disp, mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

enum {
    M_BASE, M_SIB, M_INDEX, M_ABS, M_RIP, M_RSP,
    M_A32_SIB, M_A32_INDEX, M_A32_RIP, M_A32_BASE, M_NB
};

/* [base + disp]: the pointer base @b, whose value is g->ptr_val[0]. */
static void ib_mem_base(BlockGen *g, Ib *ib, unsigned b)
{
    int32_t disp;
    unsigned mod = gen_disp(g, ib, b & 7, g->ptr_val[0], &disp);

    ib->rm[ib->nrm++] = mod << 6 | (b & 7);
    if ((b & 7) == 4) {
        ib->rm[ib->nrm++] = 0x24;           /* SIB: no index */
    }
    ib_put_disp(ib, mod, disp);
    if (b >= 8) {
        ib->rex |= 0x41;
    }
}

/* [base + index * 2^s + disp] with the pointer base and index. */
static void ib_mem_sib(BlockGen *g, Ib *ib, unsigned b, unsigned x, unsigned s)
{
    int32_t disp;
    unsigned mod = gen_disp(g, ib, b & 7,
                            g->ptr_val[0] + (g->ptr_val[1] << s), &disp);

    ib->rm[ib->nrm++] = mod << 6 | 4;
    ib->rm[ib->nrm++] = s << 6 | (x & 7) << 3 | (b & 7);
    ib_put_disp(ib, mod, disp);
    ib->rex |= (b >= 8 ? 0x41 : 0) | (x >= 8 ? 0x42 : 0);
}

/* [disp32] through a SIB with neither base nor index. */
static void ib_mem_abs(Ib *ib, uint32_t addr)
{
    ib->rm[ib->nrm++] = 0x04;
    ib->rm[ib->nrm++] = 0x25;
    ib_disp(ib, addr, 4);
}

static void ib_mem_rip(Ib *ib, uint64_t target)
{
    ib->rm[ib->nrm++] = 0x05;
    ib->rip_at = ib->nrm;
    ib->rip_target = target;
    ib_disp(ib, 0, 4);
}

/* The 32-bit address-size forms (67h): their sums wrap at 4 GiB. */
static void ib_mem_a32(BlockGen *g, Ib *ib, unsigned form, uint32_t target)
{
    unsigned b = g->ptr[0], w = g->ptr[2];
    uint32_t k = -(uint32_t)g->ptr_val[2];  /* w's low half is -k */
    int32_t disp;
    unsigned mod;

    if (gen_bits(g) == 64) {
        ib_pfx(ib, 0x67);
    }
    switch (form) {
    case M_A32_SIB:         /* base + w: base - k */
        mod = gen_disp(g, ib, b & 7, g->ptr_val[0] - k, &disp);
        ib->rm[ib->nrm++] = mod << 6 | 4;
        ib->rm[ib->nrm++] = (w & 7) << 3 | (b & 7);
        ib_put_disp(ib, mod, disp);
        ib->rex |= (b >= 8 ? 0x41 : 0) | (w >= 8 ? 0x42 : 0);
        break;
    case M_A32_INDEX:       /* [w*1 + disp32] */
        ib->rm[ib->nrm++] = 0x04;
        ib->rm[ib->nrm++] = (w & 7) << 3 | 5;
        ib_disp(ib, target + k, 4);
        ib->rex |= w >= 8 ? 0x42 : 0;
        break;
    case M_A32_RIP:
        if (gen_bits(g) == 64) {
            ib_mem_rip(ib, target);
        } else {
            ib_mem_abs(ib, target);
        }
        break;
    default:                /* [w + disp32]: the upper half ignored */
        ib->rm[ib->nrm++] = 0x80 | (w & 7);
        if ((w & 7) == 4) {
            ib->rm[ib->nrm++] = 0x24;
        }
        ib_disp(ib, target + k, 4);
        ib->rex |= w >= 8 ? 0x41 : 0;
        break;
    }
}

/*
 * 16-bit addressing (in 16-bit code, or 32-bit code with 67h): ModRM
 * r/m 0-3 are BX/BP + SI/DI, 6 with mod 0 is [disp16].  The pointer
 * base is BX or BP and the index SI or DI (blockgen_pointers()), whose
 * values are anything: disp16 makes the sum, mod 64 KiB, the target's
 * offset in the segment (@seg, or SS for a BP base without override).
 */
static void ib_mem16(BlockGen *g, Ib *ib, int seg, uint64_t target,
                     bool abs)
{
    unsigned b = g->ptr[0], x = g->ptr[1];
    uint32_t off;
    unsigned rm;

    if (gen_bits(g) == 32) {
        ib_pfx(ib, 0x67);
    }
    if (abs) {
        off = target - g->seg_base[seg < 0 ? R_DS : seg];
        ib->rm[ib->nrm++] = 0x06;
        ib_disp(ib, off, 2);
        return;
    }
    rm = (b == R_EBP ? 2 : 0) + (x == R_EDI);
    if (seg < 0) {
        seg = b == R_EBP ? R_SS : R_DS;
    }
    off = target - g->seg_base[seg] - g->ptr_val[0] - g->ptr_val[1];
    ib->rm[ib->nrm++] = 0x80 | rm;
    ib_disp(ib, off, 2);
}

/*
 * A memory operand (ModRM.reg left 0) inside the fake memory, written
 * when @write.  Now and then a segment override (FS and GS have bases),
 * an access to the code page (which may hit the block itself) or one
 * that faults.  With ib->align the address is a multiple of 16 (every
 * segment base is), but for RSP-based forms, which are not made then.
 */
static void ib_mem(BlockGen *g, Ib *ib, bool write)
{
    static const uint8_t seg[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };
    uint64_t mask = ib->align ? ~UINT64_C(15) : UINT64_MAX;
    uint64_t target = (DIFF_MEM + data_off(g)) & mask;
    unsigned s = rnd(g, 4);
    unsigned form = rnd(g, M_NB + 3);
    int over = -1;

    ib->nrm = 0;
    if (ib->align && form == M_RSP) {
        form = M_BASE;
    }
    if (gen_bits(g) == 32 && g->seg_base[R_ES] == DIFF_MEM + 0x1000 &&
        chance(g, 8)) {
        /* 16-bit addressing in 32-bit code: through ES, near DIFF_MEM. */
        ib_pfx(ib, 0x26);
        ib_mem16(g, ib, R_ES, target, chance(g, 4));
        return;
    }
    if (chance(g, 10)) {
        over = rnd(g, G_N_ELEMENTS(seg));
        ib_pfx(ib, seg[over]);
    }
    if (gen_bits(g) == 16 && !chance(g, 8)) {
        if (!g->prelude && chance(g, write ? 30 : 100)) {
            target = DIFF_MEM + ((chance(g, 2) ? BLOCKGEN_CODE_OFF +
                                  rnd(g, 0x100) : 0x800 + rnd(g, 0x400)) &
                                 mask);
        }
        ib_mem16(g, ib, over, target, chance(g, 6));
        return;
    }
    if (gen_bits(g) == 16) {
        /* 32-bit addressing in 16-bit code: the segment's offset. */
        ib_pfx(ib, 0x67);
        ib_mem_abs(ib, target - g->seg_base[over < 0 ? R_DS : over]);
        return;
    }
    if (gen_bits(g) == 32 && form == M_RIP) {
        form = M_ABS;
    }
    if (!g->prelude && chance(g, write ? 30 : 100)) {
        /* The code page: over the block, or beside it. */
        uint32_t off = chance(g, 2) ? BLOCKGEN_CODE_OFF + rnd(g, 0x100)
                                    : 0x800 + rnd(g, 0x400);

        ib_mem_abs(ib, DIFF_MEM + (off & mask));
        return;
    }
    if (!g->prelude && chance(g, 300)) {
        ib_mem_abs(ib, 0x7fff0000);         /* unmapped: #PF */
        return;
    }
    switch (form) {
    case M_SIB: case M_NB:
        ib_mem_sib(g, ib, g->ptr[0], g->ptr[1], s);
        break;
    case M_INDEX:
        ib->rm[ib->nrm++] = 0x04;
        ib->rm[ib->nrm++] = s << 6 | (g->ptr[1] & 7) << 3 | 5;
        ib_disp(ib, target - (g->ptr_val[1] << s), 4);
        ib->rex |= g->ptr[1] >= 8 ? 0x42 : 0;
        break;
    case M_ABS:
        ib_mem_abs(ib, target);
        break;
    case M_RIP:
        ib_mem_rip(ib, target);
        break;
    case M_RSP:
        ib->rm[ib->nrm++] = 0x44;
        ib->rm[ib->nrm++] = 0x24;
        ib_disp(ib, (int32_t)rnd(g, 0x80) - 0x40, 1);
        break;
    case M_A32_SIB: case M_A32_INDEX: case M_A32_RIP: case M_A32_BASE:
        ib_mem_a32(g, ib, form, target);
        break;
    default:
        ib_mem_base(g, ib, g->ptr[0]);
        break;
    }
}

/*
 * The ModRM operands reg, r/m: a register of @size in ModRM.reg
 * (@reg_written: the instruction writes it), and as r/m memory one time
 * in @mem_odds (0: never) or else a register of @rm_size (@rm_written
 * likewise).
 */
static void ib_reg_rm(BlockGen *g, Ib *ib, unsigned size, unsigned rm_size,
                      unsigned mem_odds, bool reg_written, bool rm_written)
{
    unsigned m;

    if (mem_odds && chance(g, mem_odds)) {
        ib_mem(g, ib, rm_written);
        ib_set_reg(ib, ib_reg(g, ib, size, 4, reg_written));
    } else {
        m = ib_reg(g, ib, rm_size, 1, rm_written);
        ib_modrm_rr(ib, ib_reg(g, ib, size, 4, reg_written), m);
    }
}


/* Append the instruction; the decoder must read it back whole. */
static void ib_emit(BlockGen *g, const Ib *ib)
{
    uint8_t *p = g->code + g->len;
    unsigned n = 0, disp_at;
    X86Insn in;

    g_assert(!(ib->legacy8 && ib->rex));
    if (ib->rex && gen_bits(g) != 64) {
        return;             /* a 64-bit-only form: not in this mode */
    }
    memcpy(p, ib->pfx, ib->npfx);
    n += ib->npfx;
    if (ib->rex) {
        p[n++] = ib->rex;
    }
    memcpy(p + n, ib->opc, ib->nopc);
    n += ib->nopc;
    disp_at = n + ib->rip_at;
    memcpy(p + n, ib->rm, ib->nrm);
    n += ib->nrm;
    memcpy(p + n, ib->imm, ib->nimm);
    n += ib->nimm;
    if (n > 15) {
        return;             /* too many prefixes: #GP, not of interest */
    }
    if (ib->rip_at >= 0) {
        uint64_t next = DIFF_MEM + BLOCKGEN_CODE_OFF + g->len + n;
        uint32_t d = (uint32_t)(ib->rip_target - next);

        memcpy(p + disp_at, &d, 4);
    }
    if (gen_bits(g) != 64 &&
        (x86_decode(&in, p, n, gen_mode(g)) != X86_DEC_OK || in.len != n)) {
        return;             /* a fixed 64-bit encoding (t_string's) */
    }
    if (x86_decode(&in, p, n, gen_mode(g)) != X86_DEC_OK || in.len != n) {
        g_autoptr(GString) h = g_string_new(NULL);

        for (unsigned i = 0; i < n; i++) {
            g_string_append_printf(h, "%02x", p[i]);
        }
        g_error("the generator made an instruction the decoder rejects: %s",
                h->str);
    }
    if (g->ninsn < G_N_ELEMENTS(g->starts)) {
        g->starts[g->ninsn] = g->len;
    }
    g->len += n;
    g->ninsn++;
}

/*
 * Raw bytes for the few fixed encodings: the first as the opcode, the
 * rest (at most 8) after it as an immediate would be.
 */
static void gen_bytes(BlockGen *g, const char *hex)
{
    Ib ib;

    ib_init(&ib);
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned b = g_ascii_xdigit_value(hex[0]) * 16 +
                     g_ascii_xdigit_value(hex[1]);

        if (ib.nopc == 0) {
            ib_op(&ib, b);
        } else {
            g_assert_cmpuint(ib.nimm, <, sizeof(ib.imm));
            ib_imm(&ib, b, 1);
        }
    }
    ib_emit(g, &ib);
}

/* ---- instruction templates ------------------------------------------ */

/* ADD OR ADC SBB AND SUB XOR CMP (@op, or any when < 0), every form. */
static bool t_alu(BlockGen *g, int op)
{
    bool byte = chance(g, 4), wr;
    unsigned size, form = rnd(g, 7), opc, m, r;
    Ib ib;

    ib_init(&ib);
    op = op < 0 ? (int)rnd(g, 8) : op;
    wr = op != 7;
    size = byte ? 1 : ib_vsize(g, &ib);
    switch (form) {
    case 0: case 1:         /* E,G and G,E between registers */
        ib_op(&ib, op * 8 + form * 2 + !byte);
        m = ib_reg(g, &ib, size, 1, wr && form == 0);
        r = ib_reg(g, &ib, size, 4, wr && form == 1);
        ib_modrm_rr(&ib, r, m);
        break;
    case 2: case 3:         /* [m],reg (read-modify-write) and reg,[m] */
        ib_op(&ib, op * 8 + (form - 2) * 2 + !byte);
        if (form == 2 && wr && chance(g, 8)) {
            ib_pfx(&ib, 0xf0);                  /* LOCK */
        }
        ib_mem(g, &ib, wr && form == 2);
        ib_set_reg(&ib, ib_reg(g, &ib, size, 4, wr && form == 3));
        break;
    case 4: case 5:         /* group 1: 80 Eb,Ib  81 Ev,Iz  83 Ev,Ib */
        opc = byte ? 0x80 : chance(g, 2) ? 0x81 : 0x83;
        ib_op(&ib, opc);
        if (form == 4) {
            ib_modrm_rr(&ib, op, ib_reg(g, &ib, size, 1, wr));
        } else {
            if (wr && chance(g, 8)) {
                ib_pfx(&ib, 0xf0);
            }
            ib_mem(g, &ib, wr);
            ib_set_reg(&ib, op);
        }
        ib_imm(&ib, gen_imm(g), opc == 0x81 ? (size == 2 ? 2 : 4) : 1);
        break;
    default:                /* AL/eAX, imm */
        if (wr && !reg_free(g, R_EAX)) {
            return false;
        }
        ib_op(&ib, op * 8 + 4 + !byte);
        ib_imm(&ib, gen_imm(g), byte ? 1 : size == 2 ? 2 : 4);
        break;
    }
    ib_emit(g, &ib);
    return true;
}

static bool t_test(BlockGen *g)
{
    bool byte = chance(g, 3);
    unsigned size, form = rnd(g, 5);
    Ib ib;

    ib_init(&ib);
    size = byte ? 1 : ib_vsize(g, &ib);
    switch (form) {
    case 0:
        ib_op(&ib, 0x84 + !byte);
        ib_reg_rm(g, &ib, size, size, 0, false, false);
        break;
    case 1:
        ib_op(&ib, 0x84 + !byte);
        ib_mem(g, &ib, false);
        ib_set_reg(&ib, ib_reg(g, &ib, size, 4, false));
        break;
    case 2: case 3:
        ib_op(&ib, 0xf6 + !byte);
        if (form == 2) {
            ib_modrm_rr(&ib, 0, ib_reg(g, &ib, size, 1, false));
        } else {
            ib_mem(g, &ib, false);
        }
        ib_imm(&ib, gen_imm(g), byte ? 1 : size == 2 ? 2 : 4);
        break;
    default:
        ib_op(&ib, 0xa8 + !byte);
        ib_imm(&ib, gen_imm(g), byte ? 1 : size == 2 ? 2 : 4);
        break;
    }
    ib_emit(g, &ib);
    return true;
}

/* INC DEC (@op 0/1) NOT NEG (2/3), any when < 0; register or memory. */
static bool t_unary(BlockGen *g, int op)
{
    bool byte = chance(g, 4);
    unsigned size;
    Ib ib;

    ib_init(&ib);
    op = op < 0 ? (int)rnd(g, 4) : op;
    size = byte ? 1 : ib_vsize(g, &ib);
    ib_op(&ib, (op < 2 ? 0xfe : 0xf6) + !byte);
    if (chance(g, 4)) {
        if (chance(g, 8)) {
            ib_pfx(&ib, 0xf0);
        }
        ib_mem(g, &ib, true);
        ib_set_reg(&ib, op);
    } else {
        ib_modrm_rr(&ib, op, ib_reg(g, &ib, size, 1, true));
    }
    ib_emit(g, &ib);
    return true;
}

/* Shifts and rotates by 0, 1, n or CL, of a register or memory. */
static bool t_shift(BlockGen *g)
{
    static const uint8_t ops[] = { 4, 4, 5, 5, 7, 7, 0, 1, 2, 3, 6 };
    bool byte = chance(g, 4);
    unsigned size, op = ops[rnd(g, G_N_ELEMENTS(ops))], kind = rnd(g, 5);
    Ib ib;

    ib_init(&ib);
    size = byte ? 1 : ib_vsize(g, &ib);
    ib_op(&ib, (kind == 3 ? 0xd0 : kind == 4 ? 0xd2 : 0xc0) + !byte);
    if (chance(g, 5)) {
        ib_mem(g, &ib, true);
        ib_set_reg(&ib, op);
    } else {
        ib_modrm_rr(&ib, op, ib_reg(g, &ib, size, 1, true));
    }
    if (kind < 3) {
        const unsigned bits = size * 8;
        const unsigned counts[] = {
            0, 1, 2, bits - 1, bits, 31, 32, 63, rnd(g, 256), rnd(g, bits),
        };

        ib_imm(&ib, counts[rnd(g, G_N_ELEMENTS(counts))], 1);
    }
    ib_emit(g, &ib);
    return false;
}

static bool t_mov(BlockGen *g)
{
    bool byte = chance(g, 4);
    unsigned size, form = rnd(g, 8), m, r;
    Ib ib;

    ib_init(&ib);
    size = byte ? 1 : ib_vsize(g, &ib);
    switch (form) {
    case 0: case 1:         /* 88/89 and 8A/8B between registers */
        ib_op(&ib, 0x88 + form * 2 + !byte);
        m = ib_reg(g, &ib, size, 1, form == 0);
        r = ib_reg(g, &ib, size, 4, form == 1);
        ib_modrm_rr(&ib, r, m);
        break;
    case 2: case 3:         /* load, store */
        ib_op(&ib, 0x88 + (form == 2) * 2 + !byte);
        ib_mem(g, &ib, form == 3);
        ib_set_reg(&ib, ib_reg(g, &ib, size, 4, form == 2));
        break;
    case 4: case 5:         /* C6/C7 /0 with an immediate */
        ib_op(&ib, 0xc6 + !byte);
        if (form == 4) {
            ib_modrm_rr(&ib, 0, ib_reg(g, &ib, size, 1, true));
        } else {
            ib_mem(g, &ib, true);
        }
        ib_imm(&ib, gen_imm(g), byte ? 1 : size == 2 ? 2 : 4);
        break;
    case 6:                 /* B0+r / B8+r: imm8, imm16, imm32, imm64 */
        r = ib_reg(g, &ib, size, 1, true);
        ib_op(&ib, (byte ? 0xb0 : 0xb8) + r);
        ib_imm(&ib, gen_value(g), size);
        break;
    default:                /* A0-A3: moffs, 8 bytes (4 with 67h) */
        if (chance(g, 2)) {
            if (!reg_free(g, R_EAX)) {
                return false;
            }
            ib_op(&ib, 0xa0 + !byte);
        } else {
            ib_op(&ib, 0xa2 + !byte);
        }
        if (gen_bits(g) != 64) {
            /* DS's offset, 16 or 32 bits as the address size. */
            uint32_t off = DIFF_MEM + data_off(g) - g->seg_base[R_DS];

            ib_imm(&ib, off, gen_zsize(g));
        } else if (chance(g, 4)) {
            ib_pfx(&ib, 0x67);
            ib_imm(&ib, DIFF_MEM + data_off(g), 4);
        } else {
            ib_imm(&ib, DIFF_MEM + data_off(g), 8);
        }
        break;
    }
    ib_emit(g, &ib);
    return true;
}

/* MOVZX MOVSX (0F B6/B7/BE/BF) and MOVSXD, from a register or memory. */
static bool t_movx(BlockGen *g)
{
    unsigned size, src, form = rnd(g, 5);
    Ib ib;

    ib_init(&ib);
    if (form == 4 && gen_bits(g) != 64) {
        form = 0;           /* 63 is ARPL outside 64-bit mode */
    }
    if (form == 4) {
        size = chance(g, 4) ? 4 : 8;
        ib.rex |= size == 8 ? 0x48 : 0;
        ib_op(&ib, 0x63);
        src = 4;
    } else {
        size = ib_vsize(g, &ib);
        ib_op2(&ib, (form < 2 ? 0xb6 : 0xbe) + (form & 1));
        src = form & 1 ? 2 : 1;
    }
    ib_reg_rm(g, &ib, size, src, 2, true, false);
    ib_emit(g, &ib);
    return true;
}

static bool t_lea(BlockGen *g)
{
    unsigned size;
    Ib ib;

    ib_init(&ib);
    size = ib_vsize(g, &ib);
    ib_op(&ib, 0x8d);
    ib_mem(g, &ib, false);
    ib_set_reg(&ib, ib_reg(g, &ib, size, 4, true));
    ib_emit(g, &ib);
    return true;
}

static bool t_cmov(BlockGen *g)
{
    unsigned size;
    Ib ib;

    ib_init(&ib);
    size = ib_vsize(g, &ib);
    ib_op2(&ib, 0x40 + rnd(g, 16));
    ib_reg_rm(g, &ib, size, size, 4, true, false);
    ib_emit(g, &ib);
    return true;
}

static bool t_setcc(BlockGen *g)
{
    Ib ib;

    ib_init(&ib);
    ib_op2(&ib, 0x90 + rnd(g, 16));
    if (chance(g, 4)) {
        ib_mem(g, &ib, true);
    } else {
        ib_modrm_rr(&ib, 0, ib_reg(g, &ib, 1, 1, true));
    }
    ib_emit(g, &ib);
    return true;
}

/*
 * A branch target relative to the end of a @len-byte branch about to be
 * emitted: the next instruction, the start of an earlier one (a loop;
 * the block's start is where translated code loops by itself), or
 * somewhere before the block.  Never into the middle of an instruction.
 */
static int32_t gen_target(BlockGen *g, unsigned len)
{
    int32_t end = g->len + len;
    unsigned n = MIN(g->ninsn, G_N_ELEMENTS(g->starts));

    switch (rnd(g, 6)) {
    case 0:
        return 0;
    case 1:
        return -end;
    case 2: case 3:
        if (n) {
            return g->starts[rnd(g, n)] - end;
        }
        return -end;
    default:
        return -end - 1 - rnd(g, 0x60);
    }
}

/* Jcc: taken, it leaves the block, or goes round a loop. */
static bool t_jcc(BlockGen *g)
{
    int32_t rel;
    Ib ib;

    ib_init(&ib);
    rel = gen_target(g, 2);
    if (rel >= -128 && chance(g, 2)) {
        ib_op(&ib, 0x70 + rnd(g, 16));
        ib_imm(&ib, rel, 1);
    } else {
        ib_op2(&ib, 0x80 + rnd(g, 16));
        rel = chance(g, 4) ? (int32_t)rnd(g, 0x4000) + 0x1000
                           : gen_target(g, 2 + gen_zsize(g));
        ib_imm(&ib, rel, gen_zsize(g));
    }
    ib_emit(g, &ib);
    return false;
}

/* Push a flags image (arithmetic flags, DF, AC) and POPF it. */
static void t_popf(BlockGen *g)
{
    uint32_t f = (g_rand_int(g->r) & (CC_MASK | DF_MASK)) | 2;
    char hex[16];

    if (chance(g, 3)) {
        f |= AC_MASK;       /* with CR0.AM at CPL 3: hflags change */
    }
    if (gen_bits(g) == 16) {
        snprintf(hex, sizeof(hex), "68%02x%02x", f & 0xff, (f >> 8) & 0xff);
    } else {
        snprintf(hex, sizeof(hex), "68%02x%02x%02x%02x", f & 0xff,
                 (f >> 8) & 0xff, (f >> 16) & 0xff, f >> 24);
    }
    gen_bytes(g, hex);
    gen_bytes(g, "9d");
    g->ended = true;
}

static bool t_stack(BlockGen *g)
{
    unsigned r;
    Ib ib;

    ib_init(&ib);
    switch (rnd(g, 12)) {
    case 0: case 1: case 2:     /* PUSH r64 (RSP too) */
        r = ib_reg(g, &ib, 8, 1, false);
        ib_op(&ib, 0x50 + r);
        break;
    case 3: case 4: case 5:     /* POP r64; now and then POP RSP */
        if (chance(g, 40)) {
            ib_op(&ib, 0x5c);
        } else {
            r = ib_reg(g, &ib, 8, 1, true);
            ib_op(&ib, 0x58 + r);
        }
        break;
    case 6:                     /* 16-bit PUSH / POP */
        ib_pfx(&ib, 0x66);
        r = ib_reg(g, &ib, 2, 1, true);
        ib_op(&ib, (chance(g, 2) ? 0x50 : 0x58) + r);
        break;
    case 7:                     /* PUSH imm8 / imm32 */
        if (chance(g, 2)) {
            ib_op(&ib, 0x6a);
            ib_imm(&ib, gen_imm(g), 1);
        } else {
            ib_op(&ib, 0x68);
            ib_imm(&ib, gen_imm(g), gen_zsize(g));
        }
        break;
    case 8:                     /* PUSH [m] */
        ib_op(&ib, 0xff);
        ib_mem(g, &ib, false);
        ib_set_reg(&ib, 6);
        break;
    case 9:                     /* POP [m] */
        ib_op(&ib, 0x8f);
        ib_mem(g, &ib, true);
        break;
    case 10:                    /* PUSHFQ: the flags, computed */
        ib_op(&ib, 0x9c);
        break;
    default:
        t_popf(g);
        return true;
    }
    ib_emit(g, &ib);
    return true;
}

/*
 * REP string instructions after setting RSI, RDI and RCX (never
 * pointers); the count is small, or large enough that the interpreter
 * may run it in slices.
 */
static bool t_string(BlockGen *g)
{
    static const uint8_t ops[] = { 0xa4, 0xaa, 0xac, 0xa6, 0xae };
    unsigned op = ops[rnd(g, G_N_ELEMENTS(ops))] + rnd(g, 2);
    /* 800 * 8 bytes down from 0x4000 stay above the page table. */
    uint32_t count = chance(g, 10) ? 300 + rnd(g, 500) : rnd(g, 24);
    char hex[32];
    Ib ib;

    if (op == 0xac || op == 0xad) {
        if (!reg_free(g, R_EAX)) {
            return false;
        }
        count = MIN(count, 64);
    }
    snprintf(hex, sizeof(hex), "48c7c6%08x",
             GUINT32_SWAP_LE_BE(DIFF_MEM + 0x4000 + rnd(g, 0x5000)));
    gen_bytes(g, hex);
    snprintf(hex, sizeof(hex), "48c7c7%08x",
             GUINT32_SWAP_LE_BE(DIFF_MEM + 0x4000 + rnd(g, 0x5000)));
    gen_bytes(g, hex);
    snprintf(hex, sizeof(hex), "b9%08x", GUINT32_SWAP_LE_BE(count));
    gen_bytes(g, hex);
    ib_init(&ib);
    if (!chance(g, 6)) {
        ib_pfx(&ib, op == 0xa6 || op == 0xa7 || op == 0xae || op == 0xaf ?
                    (chance(g, 2) ? 0xf3 : 0xf2) : 0xf3);
    }
    if (op & 1) {
        switch (rnd(g, 3)) {
        case 0:
            ib_pfx(&ib, 0x66);
            break;
        case 1:
            ib.rex = 0x48;
            break;
        }
    }
    ib_op(&ib, op);
    ib_emit(g, &ib);
    return true;
}

/* Instructions the translator leaves to their handlers. */
static bool t_other(BlockGen *g)
{
    unsigned size, r, k = rnd(g, 20);
    Ib ib;

    ib_init(&ib);
    size = ib_vsize(g, &ib);
    switch (k) {
    case 0:                     /* BSWAP r32/r64 */
        if (size == 2) {
            return false;       /* undefined result */
        }
        r = ib_reg(g, &ib, size, 1, true);
        ib_op2(&ib, 0xc8 + r);
        break;
    case 1: case 2:             /* IMUL Gv,Ev / Gv,Ev,Ib / Gv,Ev,Iz */
        if (k == 1) {
            ib_op2(&ib, 0xaf);
        } else {
            ib_op(&ib, chance(g, 2) ? 0x6b : 0x69);
        }
        ib_reg_rm(g, &ib, size, size, 3, true, false);
        if (ib.opc[0] == 0x6b) {
            ib_imm(&ib, gen_imm(g), 1);
        } else if (ib.opc[0] == 0x69) {
            ib_imm(&ib, gen_imm(g), size == 2 ? 2 : 4);
        }
        break;
    case 3:                     /* XCHG r, r/m */
        ib_op(&ib, 0x87);
        ib_reg_rm(g, &ib, size, size, 2, true, true);
        break;
    case 4:                     /* XCHG rAX, r */
        if (!reg_free(g, R_EAX)) {
            return false;
        }
        r = ib_reg(g, &ib, size, 1, true);
        ib_op(&ib, 0x90 + r);
        break;
    case 5:                     /* BT r, r */
        ib_op2(&ib, 0xa3);
        ib_reg_rm(g, &ib, size, size, 0, false, false);
        break;
    case 6:                     /* BT BTS BTR BTC r/m, imm8 */
        ib_op2(&ib, 0xba);
        r = 4 + rnd(g, 4);
        if (chance(g, 2)) {
            ib_mem(g, &ib, r != 4);
            ib_set_reg(&ib, r);
        } else {
            ib_modrm_rr(&ib, r, ib_reg(g, &ib, size, 1, r != 4));
        }
        ib_imm(&ib, rnd(g, 256), 1);
        break;
    case 7:                     /* XADD */
        ib_op2(&ib, 0xc1);
        ib_reg_rm(g, &ib, size, size, 2, true, true);
        break;
    case 8:                     /* CMPXCHG: writes rAX when unequal */
        if (!reg_free(g, R_EAX)) {
            return false;
        }
        ib_op2(&ib, 0xb1);
        ib_reg_rm(g, &ib, size, size, 2, false, true);
        break;
    case 9:                     /* MUL IMUL DIV IDIV: rDX:rAX */
        if (!reg_free(g, R_EAX) || !reg_free(g, R_EDX)) {
            return false;
        }
        ib_op(&ib, 0xf7);
        ib_modrm_rr(&ib, 4 + rnd(g, chance(g, 4) ? 4 : 2),
                    ib_reg(g, &ib, size, 1, false));
        break;
    case 10:                    /* CBW family, CWD family */
        if (!reg_free(g, R_EAX) || !reg_free(g, R_EDX)) {
            return false;
        }
        ib_op(&ib, 0x98 + rnd(g, 2));
        break;
    case 11:                    /* CMC CLC STC CLD STD */
        ib_init(&ib);
        ib_op(&ib, (const uint8_t[]){ 0xf5, 0xf8, 0xf9, 0xfc, 0xfd }
                   [rnd(g, 5)]);
        break;
    case 12:                    /* SHLD SHRD imm8 */
        ib_op2(&ib, chance(g, 2) ? 0xa4 : 0xac);
        ib_reg_rm(g, &ib, size, size, 0, false, true);
        ib_imm(&ib, rnd(g, 64), 1);
        break;
    case 13:                    /* BSF BSR */
        ib_op2(&ib, chance(g, 2) ? 0xbc : 0xbd);
        ib_reg_rm(g, &ib, size, size, 0, true, false);
        break;
    case 14:                    /* NOP, NOP Ev, PAUSE */
        ib_init(&ib);
        switch (rnd(g, 3)) {
        case 0:
            ib_op(&ib, 0x90);
            break;
        case 1:
            ib_op2(&ib, 0x1f);
            ib_mem(g, &ib, false);
            break;
        default:
            ib_pfx(&ib, 0xf3);
            ib_op(&ib, 0x90);
            break;
        }
        break;
    case 15:                    /* LAHF SAHF */
        if (!reg_free(g, R_EAX)) {
            return false;
        }
        ib_init(&ib);
        ib_op(&ib, chance(g, 2) ? 0x9e : 0x9f);
        break;
    case 16:                    /* MOVS/STOS/... after their setup */
        return gen_bits(g) == 64 && t_string(g);
    case 17:                    /* ADC/SBB with memory operands */
        return t_alu(g, 2 + rnd(g, 2));
    default:                    /* INC/DEC of memory, SETcc of AH-BH */
        return t_unary(g, rnd(g, 2));
    }
    ib_emit(g, &ib);
    return true;
}

/* What ends a block: RET, CALL, JMP (relative, register, memory). */
static void t_ender(BlockGen *g)
{
    Ib ib;

    ib_init(&ib);
    g->ended = true;
    switch (rnd(g, 9)) {
    case 0: case 1:
        ib_op(&ib, 0xc3);
        break;
    case 2:
        ib_op(&ib, 0xc2);
        ib_imm(&ib, rnd(g, 4) * 8, 2);
        break;
    case 3:
        ib_op(&ib, 0xe8);
        ib_imm(&ib, gen_target(g, 1 + gen_zsize(g)), gen_zsize(g));
        break;
    case 4:
        ib_op(&ib, 0xeb);
        ib_imm(&ib, MAX(gen_target(g, 2), -128), 1);
        break;
    case 5:
        ib_op(&ib, 0xe9);
        ib_imm(&ib, chance(g, 2) ? gen_target(g, 1 + gen_zsize(g))
                                 : 0x1000 + rnd(g, 0x1000), gen_zsize(g));
        break;
    case 6:
        ib_op(&ib, 0xff);
        ib_modrm_rr(&ib, chance(g, 2) ? 4 : 2, ib_reg(g, &ib, 8, 1, false));
        break;
    case 7:
        ib_op(&ib, 0xff);
        ib_mem(g, &ib, false);
        ib_set_reg(&ib, 4);
        break;
    default:
        t_jcc(g);
        return;
    }
    ib_emit(g, &ib);
}

/* Something that reads the flags the previous instruction set. */
static void t_consumer(BlockGen *g)
{
    switch (rnd(g, 9)) {
    case 0: case 1:
        t_jcc(g);
        break;
    case 2:
        t_cmov(g);
        break;
    case 3:
        t_setcc(g);
        break;
    case 4:
        t_alu(g, 2 + rnd(g, 2));        /* ADC SBB */
        break;
    case 5:
        /* INC/DEC keep CF: what follows reads CF of the one before. */
        t_unary(g, rnd(g, 2));
        if (chance(g, 2)) {
            t_alu(g, 2 + rnd(g, 2));
        } else {
            t_setcc(g);
        }
        break;
    case 6:
        gen_bytes(g, "9c");             /* PUSHFQ */
        break;
    default:
        t_alu(g, 2 + rnd(g, 2));
        t_jcc(g);
        break;
    }
}

/* ---- SSE templates ---------------------------------------------------- */

/*
 * An XMM register in the field REX bit @bit extends (4: ModRM.reg, 1:
 * ModRM.rm): XMM0-15 in 64-bit code, XMM0-7 elsewhere.
 */
static unsigned ib_xmm(BlockGen *g, Ib *ib, unsigned bit)
{
    unsigned x = rnd(g, gen_bits(g) == 64 ? 16 : 8);

    if (x >= 8) {
        ib->rex |= 0x40 | bit;
    }
    return x & 7;
}

/*
 * An SSE instruction's ModRM: an XMM register in ModRM.reg; r/m memory
 * (written when @write) one time in @mem_odds, 16-byte aligned when
 * @align but one time in 16 (#GP), or else an XMM register.  Now and
 * then a REX.W, which these forms ignore.
 */
static void ib_xmm_rm(BlockGen *g, Ib *ib, unsigned mem_odds, bool align,
                      bool write)
{
    unsigned m;

    if (gen_bits(g) == 64 && chance(g, 10)) {
        ib->rex |= 0x48;
    }

    if (chance(g, mem_odds)) {
        ib->align = align && !chance(g, 16);
        ib_mem(g, ib, write);
        ib_set_reg(ib, ib_xmm(g, ib, 4));
    } else {
        m = ib_xmm(g, ib, 1);
        ib_modrm_rr(ib, ib_xmm(g, ib, 4), m);
    }
}

/* A mandatory prefix (none when 0) and the 0F opcode @op. */
static void ib_sse_op(Ib *ib, uint8_t pfx, uint8_t op)
{
    if (pfx) {
        ib_pfx(ib, pfx);
    }
    ib_op2(ib, op);
}

/* A shuffle control: the identity, reversal, or anything. */
static uint8_t gen_shuffle_imm(BlockGen *g)
{
    static const uint8_t edge[] = { 0x00, 0xff, 0xe4, 0x1b, 0x4e, 0xb1 };

    return chance(g, 3) ? edge[rnd(g, G_N_ELEMENTS(edge))] : rnd(g, 256);
}

/* MOVUPS MOVUPD MOVDQU, MOVAPS MOVAPD MOVDQA: load, store, copy. */
static void t_sse_move(BlockGen *g)
{
    static const struct {
        uint8_t pfx, load, store;
        bool align;
    } f[] = {
        { 0, 0x10, 0x11, false }, { 0x66, 0x10, 0x11, false },
        { 0xf3, 0x6f, 0x7f, false }, { 0, 0x28, 0x29, true },
        { 0x66, 0x28, 0x29, true }, { 0x66, 0x6f, 0x7f, true },
    };
    unsigned k = rnd(g, G_N_ELEMENTS(f));
    bool store = chance(g, 2);
    Ib ib;

    ib_init(&ib);
    ib_sse_op(&ib, f[k].pfx, store ? f[k].store : f[k].load);
    ib_xmm_rm(g, &ib, 2, f[k].align, store);
    ib_emit(g, &ib);
}

/*
 * xmm, xmm/m128 (aligned) operations the translator takes: the 66 0F
 * integer ones (unpacks, packs, compares, shifts by xmm, add, subtract,
 * min, max, average, multiplies, PSADBW, logic), and the PS/PD logic
 * and unpacks.
 */
static void t_sse_binop(BlockGen *g)
{
    static const uint8_t ranges[][2] = {
        { 0x60, 0x6d }, { 0x74, 0x76 }, { 0xd1, 0xd5 }, { 0xd8, 0xe5 },
        { 0xe8, 0xef }, { 0xf1, 0xf6 }, { 0xf8, 0xfe },
    };
    static const uint8_t fp[] = { 0x14, 0x15, 0x54, 0x55, 0x56, 0x57 };
    unsigned i = 0, k;
    Ib ib;

    ib_init(&ib);
    if (chance(g, 4)) {
        ib_sse_op(&ib, chance(g, 2) ? 0x66 : 0, fp[rnd(g, G_N_ELEMENTS(fp))]);
    } else {
        /* Uniform over the opcodes, not the ranges. */
        for (k = rnd(g, 57); k > ranges[i][1] - ranges[i][0]; i++) {
            k -= ranges[i][1] - ranges[i][0] + 1;
        }
        ib_sse_op(&ib, 0x66, ranges[i][0] + k);
    }
    ib_xmm_rm(g, &ib, 3, true, false);
    ib_emit(g, &ib);
}

/* SHUFPS SHUFPD (xmm, xmm/m128, imm8); PSHUFD PSHUFHW PSHUFLW. */
static void t_sse_shuffle(BlockGen *g)
{
    static const uint8_t pfx[] = { 0, 0x66, 0x66, 0xf3, 0xf2 };
    unsigned k = rnd(g, G_N_ELEMENTS(pfx));
    Ib ib;

    ib_init(&ib);
    ib_sse_op(&ib, pfx[k], k < 2 ? 0xc6 : 0x70);
    ib_xmm_rm(g, &ib, 3, true, false);
    ib_imm(&ib, gen_shuffle_imm(g), 1);
    ib_emit(g, &ib);
}

/*
 * Groups 12-14 (66 0F 71-73 /r ib): PSRLW/D/Q, PSRAW/D, PSLLW/D/Q and
 * PSRLDQ/PSLLDQ of an XMM register, by counts at the element's edges.
 */
static void t_sse_shift_imm(BlockGen *g)
{
    static const uint8_t regs[3][4] = {
        { 2, 4, 6, 6 }, { 2, 4, 6, 6 }, { 2, 3, 6, 7 },
    };
    static const uint8_t counts[] = {
        0, 1, 7, 8, 15, 16, 17, 31, 32, 63, 64, 128, 255,
    };
    unsigned grp = rnd(g, 3);
    Ib ib;

    ib_init(&ib);
    ib_sse_op(&ib, 0x66, 0x71 + grp);
    if (gen_bits(g) == 64 && chance(g, 8)) {
        ib.rex |= 0x44;         /* REX.R: ignored by ModRM.reg here */
    }
    ib_modrm_rr(&ib, regs[grp][rnd(g, 4)], ib_xmm(g, &ib, 1));
    ib_imm(&ib, chance(g, 3) ? rnd(g, 256) :
                counts[rnd(g, G_N_ELEMENTS(counts))], 1);
    ib_emit(g, &ib);
}

/* PMOVMSKB r32, xmm (REX.W now and then: still 32 bits, zero-extended). */
static void t_sse_pmovmskb(BlockGen *g)
{
    unsigned x;
    Ib ib;

    ib_init(&ib);
    ib_sse_op(&ib, 0x66, 0xd7);
    if (gen_bits(g) == 64 && chance(g, 4)) {
        ib.rex |= 0x48;
    }
    x = ib_xmm(g, &ib, 1);
    ib_modrm_rr(&ib, ib_reg(g, &ib, 4, 4, true), x);
    ib_emit(g, &ib);
}

/*
 * MOVD/MOVQ 66 0F 6E (xmm = r/m32/64, zero-extended) and 66 0F 7E
 * (r/m32/64 = the low part of xmm), with a general register (never a
 * pointer when written) or memory.
 */
static void t_sse_movd(BlockGen *g)
{
    bool store = chance(g, 2);
    unsigned size = 4;
    Ib ib;

    ib_init(&ib);
    ib_sse_op(&ib, 0x66, store ? 0x7e : 0x6e);
    if (gen_bits(g) == 64 && chance(g, 2)) {
        ib.rex |= 0x48;
        size = 8;
    }
    if (chance(g, 3)) {
        ib_mem(g, &ib, store);
        ib_set_reg(&ib, ib_xmm(g, &ib, 4));
    } else {
        unsigned r = ib_reg(g, &ib, size, 1, store);

        ib_modrm_rr(&ib, ib_xmm(g, &ib, 4), r);
    }
    ib_emit(g, &ib);
}

/* MOVQ F3 0F 7E (xmm = xmm/m64, upper half zeroed), 66 0F D6 (store). */
static void t_sse_movq(BlockGen *g)
{
    bool store = chance(g, 2);
    Ib ib;

    ib_init(&ib);
    ib_sse_op(&ib, store ? 0x66 : 0xf3, store ? 0xd6 : 0x7e);
    ib_xmm_rm(g, &ib, 2, false, store);
    ib_emit(g, &ib);
}

/*
 * The MMX forms of the same opcodes (MMX registers through Pq, Qq and
 * Nq), which the translator leaves to their handlers: a binop, a shift
 * by an immediate, PMOVMSKB, MOVD to and from a general register.
 */
static void t_mmx(BlockGen *g)
{
    static const uint8_t binops[] = { 0x60, 0x74, 0xd1, 0xdb, 0xef, 0xfc };
    unsigned k = rnd(g, 4);
    Ib ib;

    ib_init(&ib);
    switch (k) {
    case 0:
        ib_op2(&ib, binops[rnd(g, G_N_ELEMENTS(binops))]);
        if (chance(g, 3)) {
            ib_mem(g, &ib, false);
            ib_set_reg(&ib, rnd(g, 8));
        } else {
            ib_modrm_rr(&ib, rnd(g, 8), rnd(g, 8));
        }
        break;
    case 1:
        ib_op2(&ib, 0x71 + rnd(g, 3));
        ib_modrm_rr(&ib, 2, rnd(g, 8));
        ib_imm(&ib, rnd(g, 70), 1);
        break;
    case 2:
        ib_op2(&ib, 0xd7);
        ib_modrm_rr(&ib, ib_reg(g, &ib, 4, 4, true), rnd(g, 8));
        break;
    default:
        k = chance(g, 2);           /* 7E: MOVD r/m32, mm */
        ib_op2(&ib, k ? 0x7e : 0x6e);
        ib_modrm_rr(&ib, rnd(g, 8), ib_reg(g, &ib, 4, 1, k));
        break;
    }
    ib_emit(g, &ib);
}

/*
 * SSE instructions the translator leaves to their handlers, between
 * translated ones: MOVSS/MOVSD, PS/PD arithmetic (MXCSR's), SSSE3
 * (PSHUFB, PALIGNR...), PEXTRW, MOVHLPS/MOVLHPS, MMX forms.
 */
static void t_sse_other(BlockGen *g)
{
    static const uint8_t fp[] = { 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f };
    static const uint8_t ssse3[] = { 0x00, 0x01, 0x04, 0x08, 0x0b, 0x1c };
    Ib ib;

    ib_init(&ib);
    switch (rnd(g, 7)) {
    case 0:                     /* MOVSS, MOVSD: 4 or 8 bytes */
        ib_sse_op(&ib, chance(g, 2) ? 0xf3 : 0xf2, 0x10 + rnd(g, 2));
        ib_xmm_rm(g, &ib, 2, false, ib.opc[1] == 0x11);
        break;
    case 1:                     /* ADDPS ... MAXPD */
        ib_sse_op(&ib, chance(g, 2) ? 0x66 : 0, fp[rnd(g, 6)]);
        ib_xmm_rm(g, &ib, 3, true, false);
        break;
    case 2:                     /* PSHUFB PHADDW PMADDUBSW PSIGNB ... */
        ib_sse_op(&ib, 0x66, 0x38);
        ib_op(&ib, ssse3[rnd(g, G_N_ELEMENTS(ssse3))]);
        ib_xmm_rm(g, &ib, 3, true, false);
        break;
    case 3:                     /* PALIGNR */
        ib_sse_op(&ib, 0x66, 0x3a);
        ib_op(&ib, 0x0f);
        ib_xmm_rm(g, &ib, 3, true, false);
        ib_imm(&ib, rnd(g, 40), 1);
        break;
    case 4:                     /* PEXTRW r32, xmm, imm8 */
        ib_sse_op(&ib, 0x66, 0xc5);
        ib_modrm_rr(&ib, ib_reg(g, &ib, 4, 4, true), ib_xmm(g, &ib, 1));
        ib_imm(&ib, rnd(g, 256), 1);
        break;
    case 5:                     /* MOVHLPS, MOVLHPS */
        ib_sse_op(&ib, 0, chance(g, 2) ? 0x12 : 0x16);
        ib_modrm_rr(&ib, ib_xmm(g, &ib, 4), ib_xmm(g, &ib, 1));
        break;
    default:
        t_mmx(g);
        return;
    }
    ib_emit(g, &ib);
}

/* One SSE template, mostly of what the translator takes. */
static void t_sse(BlockGen *g)
{
    unsigned k = rnd(g, 100);

    if (k < 20) {
        t_sse_move(g);
    } else if (k < 48) {
        t_sse_binop(g);
    } else if (k < 56) {
        t_sse_shuffle(g);
    } else if (k < 66) {
        t_sse_shift_imm(g);
    } else if (k < 72) {
        t_sse_pmovmskb(g);
    } else if (k < 82) {
        t_sse_movd(g);
    } else if (k < 88) {
        t_sse_movq(g);
    } else {
        t_sse_other(g);
    }
}

/* One template; true when it set the arithmetic flags. */
static bool gen_one(BlockGen *g)
{
    if (rnd(g, 100) < g->sse_share) {
        t_sse(g);
        return false;
    }
    for (;;) {
        unsigned k = rnd(g, 100);

        if (k < 22) {
            if (t_alu(g, -1)) {
                return true;
            }
        } else if (k < 27) {
            return t_test(g);
        } else if (k < 34) {
            return t_unary(g, -1);
        } else if (k < 42) {
            t_shift(g);
            return true;
        } else if (k < 55) {
            if (t_mov(g)) {
                return false;
            }
        } else if (k < 61) {
            return !t_movx(g);
        } else if (k < 66) {
            return !t_lea(g);
        } else if (k < 70) {
            return !t_cmov(g);
        } else if (k < 74) {
            return !t_setcc(g);
        } else if (k < 78) {
            return t_jcc(g);
        } else if (k < 87) {
            if (t_stack(g)) {
                return false;
            }
        } else if (t_other(g)) {
            return false;
        }
    }
}

void blockgen_block(BlockGen *g)
{
    unsigned n = 1 + rnd(g, 20);

    g->len = 0;
    g->ninsn = 0;
    g->ended = false;
    /* Mostly a few SSE instructions a block; now and then mostly SSE. */
    g->sse_share = chance(g, 5) ? 60 : 12;
    for (unsigned i = 0; i < n && !g->ended && g->len < BLOCKGEN_CODE_MAX - 128;
         i++) {
        if (gen_one(g) && !g->ended && chance(g, 2)) {
            t_consumer(g);
        }
    }
    if (!g->ended && chance(g, 3)) {
        t_ender(g);
    }
    /* PUSH ES: invalid in 64-bit mode, so the block ends before it. */
    memset(g->code + g->len, 0x06, 16);
    if (gen_bits(g) != 64) {
        /* Valid here: a JMP away (to +0x800) ends the block instead. */
        unsigned z = gen_zsize(g);
        int32_t rel = 0x800 - (int32_t)(g->len + 1 + z);

        g->code[g->len] = 0xe9;
        memcpy(g->code + g->len + 1, &rel, z);
    }
}

/*
 * Pointers: three of RAX RDX RBX RBP R8-R15 (not RCX RSI RDI).  Outside
 * 64-bit mode: BX or BP, SI or DI (16-bit addressing takes them as
 * base and index), and one of AX DX.
 */
void blockgen_pointers(BlockGen *g)
{
    static const uint8_t pool[] = { 0, 2, 3, 5, 8, 9, 10, 11, 12, 13, 14,
                                    15 };
    unsigned n = 0;

    if (gen_bits(g) != 64) {
        g->ptr[0] = chance(g, 2) ? R_EBX : R_EBP;
        g->ptr[1] = chance(g, 2) ? R_ESI : R_EDI;
        g->ptr[2] = chance(g, 2) ? R_EAX : R_EDX;
        n = 3;
    }
    while (n < 3) {
        unsigned r = pool[rnd(g, G_N_ELEMENTS(pool))];

        if ((n < 1 || r != g->ptr[0]) && (n < 2 || r != g->ptr[1])) {
            g->ptr[n++] = r;
        }
    }
    g->ptr_val[0] = DIFF_MEM + (chance(g, 4) ?
                                (4 + rnd(g, 6)) * 0x1000 - 1 - rnd(g, 8) :
                                0x3000 + rnd(g, 0x7000));
    g->ptr_val[1] = (uint64_t)((int64_t)rnd(g, 0x180) - 0x80);
    g->ptr_val[2] = (rnd64(g) & ~UINT64_C(0xffffffff)) |
                    (uint32_t)-(int32_t)rnd(g, 0x200);
}

/*
 * Replace the code with one flag-setting instruction (never into the
 * code page, never faulting on purpose), or nothing (false).
 */
bool blockgen_flag_setter(BlockGen *g)
{
    g->len = 0;
    g->ninsn = 0;
    g->prelude = true;
    switch (rnd(g, 4)) {
    case 0:
        return false;
    case 1:
        t_unary(g, -1);
        break;
    case 2:
        t_shift(g);
        break;
    default:
        while (!t_alu(g, -1)) {
            /* that form wanted RAX, a pointer here */
        }
        break;
    }
    return true;
}

unsigned blockgen_rnd(BlockGen *g, unsigned n)
{
    return rnd(g, n);
}

bool blockgen_chance(BlockGen *g, unsigned n)
{
    return chance(g, n);
}

uint64_t blockgen_rnd64(BlockGen *g)
{
    return rnd64(g);
}

uint64_t blockgen_value(BlockGen *g)
{
    return gen_value(g);
}
