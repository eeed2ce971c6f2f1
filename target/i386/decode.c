/*
 * The x86 instruction decoder (SDM vol 2 chapter 2 and appendix A).
 *
 * Lookup tables are built once from insn-table.h: for each opcode map and
 * opcode, the table entry for each (mandatory prefix, ModRM.reg, register
 * or memory form).  Decoding is then prefixes, opcode, ModRM/SIB,
 * displacement and immediates, each step bounded by the 15-byte limit.
 */
#include "decode.h"

/* Where segment registers are numbered (must match cpu.h). */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

typedef struct X86Form {
    uint8_t map;
    uint8_t opc;
    uint8_t pfx;            /* DP_* */
    int8_t reg;             /* -1: any */
    uint8_t mod;            /* DM_* */
    uint16_t op;
    uint8_t opnd[3];
    uint8_t flags;
} X86Form;

enum { DP_NONE, DP_66, DP_F3, DP_F2, DP_ANY };
enum { DM_MEM, DM_REG, DM_ANY };

#define PN DP_NONE
#define P66 DP_66
#define PF3 DP_F3
#define PF2 DP_F2
#define PA DP_ANY
#define MM DM_MEM
#define MR DM_REG
#define MA DM_ANY
#define D64 X86_F_D64
#define F64 X86_F_F64
#define I64 X86_F_I64
#define O64 X86_F_O64
#define LOCK X86_F_LOCK
#define END X86_F_END
#define REP X86_F_REP
#define BYTE X86_F_BYTE

static const X86Form decode_forms[] = {
    { 0 },  /* index 0: no entry */
#define X86_INSN(map_, opc_, pfx_, reg_, mod_, op_, a, b, c, fl) \
    { .map = map_, .opc = opc_, .pfx = pfx_, .reg = reg_, .mod = mod_, \
      .op = X86_OP_##op_, \
      .opnd = { X86_OPND_##a, X86_OPND_##b, X86_OPND_##c }, .flags = fl },
#include "insn-table.h"
#undef X86_INSN
};

#define DEC_MAPS 4
/* [map][opcode][prefix slot][ModRM.reg][0 = memory, 1 = register] */
static uint16_t decode_index[DEC_MAPS][256][4][8][2];
/* Entries only valid in 64-bit mode that share an opcode (MOVSXD). */
static uint16_t decode_index64[DEC_MAPS][256];
static bool decode_has_modrm[DEC_MAPS][256];

static const char *const decode_op_names[] = {
#define X86_OP_NAME(name) #name,
    X86_OPS(X86_OP_NAME)
#undef X86_OP_NAME
};

static const char *const decode_opnd_names[] = {
#define X86_OPND_NAME(name) #name,
    X86_OPNDS(X86_OPND_NAME)
#undef X86_OPND_NAME
};

const char *x86_op_name(unsigned op)
{
    return op < X86_OP_NB ? decode_op_names[op] : "?";
}

const char *x86_opnd_name(unsigned opnd)
{
    return opnd < X86_OPND_NB ? decode_opnd_names[opnd] : "?";
}

static bool decode_opnd_uses_modrm(unsigned o)
{
    switch (o) {
    case X86_OPND_Eb: case X86_OPND_Ew: case X86_OPND_Ed: case X86_OPND_Ev:
    case X86_OPND_Ey: case X86_OPND_Eq:
    case X86_OPND_Gb: case X86_OPND_Gw: case X86_OPND_Gd: case X86_OPND_Gv:
    case X86_OPND_Gy: case X86_OPND_Gz:
    case X86_OPND_Rv: case X86_OPND_Ry: case X86_OPND_Mw: case X86_OPND_Md:
    case X86_OPND_Mv: case X86_OPND_Mq: case X86_OPND_Mp: case X86_OPND_Ma:
    case X86_OPND_M: case X86_OPND_Mdq: case X86_OPND_Sw:
    case X86_OPND_Cd: case X86_OPND_Dd:
    case X86_OPND_Ux: case X86_OPND_Vx: case X86_OPND_Wx:
    case X86_OPND_Nq: case X86_OPND_Pq: case X86_OPND_Qq:
        return true;
    default:
        return false;
    }
}

static bool decode_form_has_modrm(const X86Form *f)
{
    return f->reg >= 0 || f->mod != DM_ANY ||
           decode_opnd_uses_modrm(f->opnd[0]) ||
           decode_opnd_uses_modrm(f->opnd[1]) ||
           decode_opnd_uses_modrm(f->opnd[2]);
}

static void decode_fill(uint16_t idx, const X86Form *f)
{
    for (int p = 0; p < 4; p++) {
        if (f->pfx != DP_ANY && f->pfx != p) {
            continue;
        }
        for (int r = 0; r < 8; r++) {
            if (f->reg >= 0 && f->reg != r) {
                continue;
            }
            for (int m = 0; m < 2; m++) {
                uint16_t *slot = &decode_index[f->map][f->opc][p][r][m];
                if ((f->mod == DM_MEM && m) || (f->mod == DM_REG && !m)) {
                    continue;
                }
                /* The first form listed for a slot wins (NOP over XCHG). */
                if (!*slot) {
                    *slot = idx;
                }
            }
        }
    }
}

static void decode_build(void)
{
    for (uint16_t i = 1; i < G_N_ELEMENTS(decode_forms); i++) {
        const X86Form *f = &decode_forms[i];
        if (decode_form_has_modrm(f)) {
            decode_has_modrm[f->map][f->opc] = true;
        }
        if (f->flags & X86_F_O64) {
            decode_index64[f->map][f->opc] = i;
        } else {
            decode_fill(i, f);
        }
    }
}

static void decode_init(void)
{
    static gsize done;
    if (g_once_init_enter(&done)) {
        decode_build();
        g_once_init_leave(&done, 1);
    }
}

/* A cursor over the instruction bytes with the two limits. */
typedef struct DecodeCursor {
    const uint8_t *bytes;
    unsigned avail;
    unsigned pos;
    X86DecodeResult err;
} DecodeCursor;

static bool cursor_need(DecodeCursor *c, unsigned n)
{
    if (c->pos + n > 15) {
        c->err = X86_DEC_TOO_LONG;
        return false;
    }
    if (c->pos + n > c->avail) {
        c->err = X86_DEC_MORE;
        return false;
    }
    return true;
}

/* Little-endian immediate of @n bytes, sign-extended if @sign. */
static bool cursor_imm(DecodeCursor *c, unsigned n, bool sign, uint64_t *v)
{
    uint64_t x = 0;
    if (!cursor_need(c, n)) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        x |= (uint64_t)c->bytes[c->pos + i] << (8 * i);
    }
    c->pos += n;
    if (sign && n < 8) {
        unsigned sh = 64 - 8 * n;
        x = (uint64_t)((int64_t)(x << sh) >> sh);
    }
    *v = x;
    return true;
}

static int decode_seg_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: return SEG_ES;
    case 0x2e: return SEG_CS;
    case 0x36: return SEG_SS;
    case 0x3e: return SEG_DS;
    case 0x64: return SEG_FS;
    case 0x65: return SEG_GS;
    default: return -1;
    }
}

/* Legacy prefixes and REX; leaves the cursor on the opcode. */
static bool decode_prefixes(X86Insn *in, DecodeCursor *c, int mode,
                            int *seg, int *last_rep)
{
    for (;;) {
        uint8_t b;
        if (!cursor_need(c, 1)) {
            return false;
        }
        b = c->bytes[c->pos];
        if (decode_seg_prefix(b) >= 0) {
            *seg = decode_seg_prefix(b);
        } else if (b == 0xf0) {
            in->prefix |= X86_PFX_LOCK;
        } else if (b == 0xf2 || b == 0xf3) {
            in->prefix |= b == 0xf3 ? X86_PFX_REPZ : X86_PFX_REPNZ;
            *last_rep = b;
        } else if (b == 0x66) {
            in->prefix |= X86_PFX_OPSIZE;
        } else if (b == 0x67) {
            in->prefix |= X86_PFX_ADSIZE;
        } else if (mode == X86_MODE64 && (b & 0xf0) == 0x40) {
            /* REX counts only right before the opcode (SDM 2.2.1). */
            c->pos++;
            if (!cursor_need(c, 1)) {
                return false;
            }
            in->rex = b;
            in->prefix |= X86_PFX_REX;
            b = c->bytes[c->pos];
            if ((b & 0xf0) == 0x40 || decode_seg_prefix(b) >= 0 ||
                b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x66 ||
                b == 0x67) {
                in->rex = 0;
                in->prefix &= ~X86_PFX_REX;
                continue;
            }
            return true;
        } else {
            return true;
        }
        c->pos++;
    }
}

static void decode_sizes(X86Insn *in, int mode, unsigned flags)
{
    bool o16 = in->prefix & X86_PFX_OPSIZE;
    bool a16 = in->prefix & X86_PFX_ADSIZE;
    if (mode == X86_MODE64) {
        if (in->rex & 8) {
            in->osize = 8;
        } else if (flags & X86_F_F64) {
            in->osize = 8;
        } else if (flags & X86_F_D64) {
            in->osize = o16 ? 2 : 8;
        } else {
            in->osize = o16 ? 2 : 4;
        }
        in->asize = a16 ? 4 : 8;
    } else if (mode == X86_MODE32) {
        in->osize = o16 ? 2 : 4;
        in->asize = a16 ? 2 : 4;
    } else {
        in->osize = o16 ? 4 : 2;
        in->asize = a16 ? 4 : 2;
    }
}

/* 16-bit ModRM addressing (SDM vol 2 table 2-1). */
static bool decode_modrm16(X86Insn *in, DecodeCursor *c, uint8_t rm)
{
    static const uint8_t base16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
    static const uint8_t index16[8] = { 6, 7, 6, 7, X86_NOREG, X86_NOREG,
                                        X86_NOREG, X86_NOREG };
    uint64_t d = 0;
    in->base = base16[rm];
    in->index = index16[rm];
    if (in->mod == 0 && rm == 6) {
        in->base = X86_NOREG;
        if (!cursor_imm(c, 2, true, &d)) {
            return false;
        }
    } else if (in->mod == 1) {
        if (!cursor_imm(c, 1, true, &d)) {
            return false;
        }
    } else if (in->mod == 2) {
        if (!cursor_imm(c, 2, true, &d)) {
            return false;
        }
    }
    in->disp = (int32_t)d;
    in->seg = in->base == 5 ? SEG_SS : SEG_DS;
    return true;
}

/* 32/64-bit ModRM and SIB addressing (SDM vol 2 tables 2-2, 2-3). */
static bool decode_modrm32(X86Insn *in, DecodeCursor *c, uint8_t rm,
                           int mode)
{
    uint64_t d = 0;
    uint8_t base = rm | ((in->rex & 1) << 3);
    in->index = X86_NOREG;
    if (rm == 4) {
        uint8_t sib, idx;
        if (!cursor_need(c, 1)) {
            return false;
        }
        sib = c->bytes[c->pos++];
        in->scale = sib >> 6;
        idx = ((sib >> 3) & 7) | ((in->rex & 2) << 2);
        in->index = idx == 4 ? X86_NOREG : idx;
        base = (sib & 7) | ((in->rex & 1) << 3);
        if ((sib & 7) == 5 && in->mod == 0) {
            base = X86_NOREG;
        }
    } else if (rm == 5 && in->mod == 0) {
        base = X86_NOREG;
        in->rip_rel = mode == X86_MODE64;
    }
    in->base = base;
    if (in->mod == 1) {
        if (!cursor_imm(c, 1, true, &d)) {
            return false;
        }
    } else if (in->mod == 2 || base == X86_NOREG) {
        if (!cursor_imm(c, 4, true, &d)) {
            return false;
        }
    }
    in->disp = (int32_t)d;
    in->seg = (base == 4 || base == 5) ? SEG_SS : SEG_DS;
    return true;
}

static bool decode_forces_reg(const X86Form *f)
{
    /* MOV to/from CR/DR ignore ModRM.mod (SDM: "mod bits ignored"). */
    return f->opnd[0] == X86_OPND_Ry || f->opnd[1] == X86_OPND_Ry;
}

static bool decode_memory_only(unsigned o)
{
    return o == X86_OPND_M || o == X86_OPND_Mw || o == X86_OPND_Md ||
           o == X86_OPND_Mv || o == X86_OPND_Mq || o == X86_OPND_Mp ||
           o == X86_OPND_Ma || o == X86_OPND_Mdq;
}

/* The immediate sizes an operand kind carries (0: none). */
static unsigned decode_imm_size(const X86Insn *in, unsigned o, bool *sign)
{
    *sign = false;
    switch (o) {
    case X86_OPND_Ib:
        return 1;
    case X86_OPND_Ibs: case X86_OPND_Jb:
        *sign = true;
        return 1;
    case X86_OPND_Iw:
        return 2;
    case X86_OPND_Iz: case X86_OPND_Jz:
        *sign = true;
        return in->osize == 2 ? 2 : 4;
    case X86_OPND_Iv:
        return in->osize;
    case X86_OPND_Ob: case X86_OPND_Ov:
        return in->asize;
    case X86_OPND_Ap:
        return in->osize == 2 ? 2 : 4;
    default:
        return 0;
    }
}

static bool decode_immediates(X86Insn *in, DecodeCursor *c)
{
    int n = 0;
    for (int i = 0; i < 3; i++) {
        bool sign;
        unsigned sz = decode_imm_size(in, in->opnd[i], &sign);
        uint64_t v;
        if (!sz) {
            continue;
        }
        if (!cursor_imm(c, sz, sign, &v)) {
            return false;
        }
        if (n++ == 0) {
            in->imm = v;
        } else {
            in->imm2 = v;
        }
        if (in->opnd[i] == X86_OPND_Ap) {
            /* ptr16:16/32: the selector follows the offset. */
            if (!cursor_imm(c, 2, false, &in->imm2)) {
                return false;
            }
        }
    }
    return true;
}

static const X86Form *decode_lookup(X86Insn *in, DecodeCursor *c, int mode,
                                    int last_rep)
{
    unsigned map = in->opcode >> 8, opc = in->opcode & 0xff;
    unsigned slot = last_rep == 0xf3 ? DP_F3 : last_rep == 0xf2 ? DP_F2 :
                    (in->prefix & X86_PFX_OPSIZE) ? DP_66 : DP_NONE;
    unsigned reg = 0, isreg = 1;
    uint16_t idx;

    if (decode_has_modrm[map][opc]) {
        uint8_t modrm;
        if (!cursor_need(c, 1)) {
            return NULL;
        }
        modrm = c->bytes[c->pos++];
        in->has_modrm = true;
        in->mod = modrm >> 6;
        reg = (modrm >> 3) & 7;
        in->reg = reg | ((in->rex & 4) << 1);
        in->rm = (modrm & 7) | ((in->rex & 1) << 3);
        isreg = in->mod == 3;
    }
    idx = decode_index[map][opc][slot][reg][isreg];
    if (mode == X86_MODE64 && decode_index64[map][opc]) {
        idx = decode_index64[map][opc];
    }
    if (!idx) {
        c->err = X86_DEC_UD;
        return NULL;
    }
    return &decode_forms[idx];
}

static bool decode_opcode(X86Insn *in, DecodeCursor *c)
{
    uint8_t b = c->bytes[c->pos++];
    if (b != 0x0f) {
        in->opcode = b;
        return true;
    }
    if (!cursor_need(c, 1)) {
        return false;
    }
    b = c->bytes[c->pos++];
    if (b == 0x38 || b == 0x3a) {
        unsigned map = b == 0x38 ? 2 : 3;
        if (!cursor_need(c, 1)) {
            return false;
        }
        in->opcode = map << 8 | c->bytes[c->pos++];
        return true;
    }
    in->opcode = 0x100 | b;
    return true;
}

/* NOP (90) is XCHG r8,rAX with REX.B and PAUSE with F3. */
static void decode_fix_nop(X86Insn *in)
{
    if (in->opcode != 0x90) {
        return;
    }
    if (in->rex & 1) {
        in->op = X86_OP_XCHG;
        in->opnd[0] = X86_OPND_Zv;
        in->opnd[1] = X86_OPND_rAX;
        in->reg = 8;
    } else if (in->prefix & X86_PFX_REPZ) {
        in->op = X86_OP_PAUSE;
    }
}

static bool decode_check(const X86Insn *in, const X86Form *f, int mode)
{
    if (mode == X86_MODE64 && (f->flags & X86_F_I64)) {
        return false;
    }
    if (mode != X86_MODE64 && (f->flags & X86_F_O64)) {
        return false;
    }
    if (in->prefix & X86_PFX_LOCK) {
        /* LOCK needs a lockable form with a memory destination (#UD). */
        if (!(f->flags & X86_F_LOCK) || in->mod == 3 || !in->has_modrm) {
            return false;
        }
    }
    for (int i = 0; i < 3; i++) {
        if (decode_memory_only(f->opnd[i]) && in->mod == 3) {
            return false;
        }
    }
    return true;
}

static bool decode_operands(X86Insn *in, DecodeCursor *c, int mode,
                            const X86Form *f)
{
    if (in->has_modrm && in->mod != 3 && !decode_forces_reg(f)) {
        uint8_t rm = in->rm & 7;
        bool ok = in->asize == 2 ? decode_modrm16(in, c, rm)
                                 : decode_modrm32(in, c, rm, mode);
        if (!ok) {
            return false;
        }
    } else if (in->has_modrm) {
        in->mod = 3;
    }
    for (int i = 0; i < 3; i++) {
        if (in->opnd[i] == X86_OPND_Zb || in->opnd[i] == X86_OPND_Zv) {
            in->reg = (in->opcode & 7) | ((in->rex & 1) << 3);
        }
    }
    return decode_immediates(in, c);
}

unsigned x86_opnd_size(const X86Insn *in, unsigned o)
{
    switch (o) {
    case X86_OPND_Eb: case X86_OPND_Gb: case X86_OPND_Ib:
    case X86_OPND_AL: case X86_OPND_Zb: case X86_OPND_Xb: case X86_OPND_Yb:
    case X86_OPND_Ob: case X86_OPND_CL: case X86_OPND_I1:
        return 1;
    case X86_OPND_Ew: case X86_OPND_Gw: case X86_OPND_Iw: case X86_OPND_Sw:
    case X86_OPND_Mw: case X86_OPND_DX:
        return 2;
    case X86_OPND_Ed: case X86_OPND_Gd: case X86_OPND_Md:
        return 4;
    case X86_OPND_Eq: case X86_OPND_Mq:
        return 8;
    case X86_OPND_Ey: case X86_OPND_Gy: case X86_OPND_Ry:
        return in->osize == 8 ? 8 : 4;
    case X86_OPND_Gz: case X86_OPND_Iz:
        return in->osize == 2 ? 2 : 4;
    default:
        return in->osize;
    }
}

/* ModRM r/m operands: a register when mod == 3, else memory. */
static bool decode_is_rm(unsigned o)
{
    switch (o) {
    case X86_OPND_Eb: case X86_OPND_Ew: case X86_OPND_Ed: case X86_OPND_Ev:
    case X86_OPND_Ey: case X86_OPND_Eq: case X86_OPND_Rv: case X86_OPND_Ry:
    case X86_OPND_Mw: case X86_OPND_Md: case X86_OPND_Mv: case X86_OPND_Mq:
    case X86_OPND_M: case X86_OPND_Mp: case X86_OPND_Ma: case X86_OPND_Mdq:
        return true;
    default:
        return false;
    }
}

static bool decode_is_imm(unsigned o)
{
    return o == X86_OPND_Ib || o == X86_OPND_Ibs || o == X86_OPND_Iw ||
           o == X86_OPND_Iz || o == X86_OPND_Iv;
}

/* A register operand; without REX, byte registers 4-7 are AH-BH. */
static void decode_loc_reg(X86OpndLoc *l, const X86Insn *in, unsigned reg)
{
    l->kind = X86_LOC_REG;
    l->reg = reg;
    if (l->size == 1 && !(in->prefix & X86_PFX_REX) && reg >= 4 &&
        reg < 8) {
        l->kind = X86_LOC_HIGH8;
        l->reg = reg - 4;
    }
}

static unsigned decode_fixed_reg(unsigned o, const X86Insn *in)
{
    switch (o) {
    case X86_OPND_AL: case X86_OPND_rAX:
        return 0;
    case X86_OPND_CL:
        return 1;
    case X86_OPND_DX:
        return 2;
    default:
        return in->reg;         /* G, Z and the other ModRM.reg kinds */
    }
}

/* Fill in->loc[] (SDM vol 2 A.2: where each operand kind comes from). */
static void decode_locate(X86Insn *in)
{
    unsigned imms = 0;

    for (int n = 0; n < 3; n++) {
        unsigned o = in->opnd[n];
        X86OpndLoc *l = &in->loc[n];

        l->size = x86_opnd_size(in, o);
        l->reg = 0;
        if (o == X86_OPND___) {
            l->kind = X86_LOC_NONE;
        } else if (decode_is_imm(o)) {
            l->kind = imms++ ? X86_LOC_IMM2 : X86_LOC_IMM;
        } else if (o == X86_OPND_I1) {
            l->kind = X86_LOC_ONE;
        } else if (decode_is_rm(o)) {
            if (in->mod == 3) {
                decode_loc_reg(l, in, in->rm);
            } else {
                l->kind = X86_LOC_MEM;
            }
        } else if (o == X86_OPND_Ob || o == X86_OPND_Ov) {
            l->kind = X86_LOC_MOFFS;
        } else {
            decode_loc_reg(l, in, decode_fixed_reg(o, in));
        }
    }
}

X86DecodeResult x86_decode(X86Insn *in, const uint8_t *bytes,
                           unsigned avail, int mode)
{
    DecodeCursor c = { .bytes = bytes, .avail = avail, .err = X86_DEC_OK };
    int seg = -1, last_rep = 0;
    const X86Form *f;

    decode_init();
    memset(in, 0, sizeof(*in));
    in->base = in->index = X86_NOREG;
    if (!decode_prefixes(in, &c, mode, &seg, &last_rep) ||
        !decode_opcode(in, &c)) {
        return c.err;
    }
    f = decode_lookup(in, &c, mode, last_rep);
    if (!f) {
        return c.err;
    }
    in->op = f->op;
    in->flags = f->flags;
    memcpy(in->opnd, f->opnd, sizeof(in->opnd));
    decode_sizes(in, mode, f->flags);
    if (!decode_check(in, f, mode)) {
        return X86_DEC_UD;
    }
    in->seg = SEG_DS;
    if (!decode_operands(in, &c, mode, f)) {
        return c.err;
    }
    if (seg >= 0) {
        in->seg = seg;
        in->prefix |= X86_PFX_SEG;
    }
    decode_fix_nop(in);
    decode_locate(in);
    in->len = c.pos;
    return X86_DEC_OK;
}

void x86_insn_format(const X86Insn *in, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s", x86_op_name(in->op));
    for (int i = 0; i < 3 && in->opnd[i] != X86_OPND___; i++) {
        if (n < 0 || (size_t)n >= size) {
            return;
        }
        n += snprintf(buf + n, size - n, "%s%s", i ? "," : " ",
                      x86_opnd_name(in->opnd[i]));
    }
}
