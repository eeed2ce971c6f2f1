/*
 * x86-64 instruction encoding for the block translator (see jit-asm.h).
 * Every instruction goes through ja_insn(): legacy 66h prefix, REX,
 * opcode, ModRM, SIB and displacement, in that order (SDM vol 2 2.1).
 */
#include "qlite/tcg-asm.h"

void ja_init(JitAsm *a, void *buf, size_t size)
{
    a->start = a->p = buf;
    a->end = a->start + size;
    a->overflow = false;
}

void *ja_reserve(JitAsm *a, size_t n)
{
    void *p = a->p;

    if ((size_t)(a->end - a->p) < n) {
        a->overflow = true;
        return NULL;
    }
    memset(a->p, 0, n);
    a->p += n;
    return p;
}

void ja_u32(JitAsm *a, uint32_t v)
{
    if (a->end - a->p < 4) {
        a->overflow = true;
        a->p = a->end;
        return;
    }
    for (int i = 0; i < 4; i++) {
        *a->p++ = v >> (i * 8);
    }
}

static void ja_u64(JitAsm *a, uint64_t v)
{
    ja_u32(a, v);
    ja_u32(a, v >> 32);
}

/* The r/m operand of an instruction: a register or memory. */
typedef struct JaRM {
    bool mem;
    JaReg reg;
    JaMem m;
} JaRM;

static JaRM rm_reg(JaReg r)
{
    return (JaRM){ .reg = r };
}

static JaRM rm_mem(JaMem m)
{
    return (JaRM){ .mem = true, .m = m };
}

static bool fits8(int64_t v)
{
    return v >= INT8_MIN && v <= INT8_MAX;
}

/*
 * One instruction: @size 2 adds the operand-size prefix, 8 sets REX.W,
 * 1 and 4 neither.  @byte says that the ModRM.reg register (bit 0) or the
 * r/m register (bit 1) is a byte register: SPL-DIL need a bare REX.
 * @opc is one opcode byte, or 0x0fXX for the two-byte map.
 */
static void ja_insn(JitAsm *a, unsigned size, unsigned opc, unsigned reg,
                    JaRM rm, unsigned byte)
{
    unsigned rex = 0;
    bool force = false;

    if (size == 2) {
        ja_byte(a, 0x66);
    }
    if (size == 8) {
        rex |= 8;
    }
    if (reg & 8) {
        rex |= 4;
    }
    if ((byte & 1) && reg >= 4 && reg < 8) {
        force = true;
    }
    if (rm.mem) {
        if (rm.m.index != JA_NOREG && (rm.m.index & 8)) {
            rex |= 2;
        }
        if (rm.m.base != JA_NOREG && (rm.m.base & 8)) {
            rex |= 1;
        }
    } else {
        if (rm.reg & 8) {
            rex |= 1;
        }
        if ((byte & 2) && rm.reg >= 4 && rm.reg < 8) {
            force = true;
        }
    }
    if (rex || force) {
        ja_byte(a, 0x40 | rex);
    }
    if (opc > 0xff) {
        ja_byte(a, opc >> 8);
    }
    ja_byte(a, opc & 0xff);

    if (!rm.mem) {
        ja_byte(a, 0xc0 | (reg & 7) << 3 | (rm.reg & 7));
        return;
    }

    if (rm.m.base == JA_NOREG) {
        /* [index*scale + disp32]: SIB with base 101b and mod 00. */
        ja_byte(a, (reg & 7) << 3 | 4);
        ja_byte(a, rm.m.scale << 6 | (rm.m.index & 7) << 3 | 5);
        ja_u32(a, rm.m.disp);
        return;
    }

    unsigned low = rm.m.base & 7;
    bool sib = rm.m.index != JA_NOREG || low == 4;
    unsigned mod = rm.m.disp == 0 && low != 5 ? 0 : fits8(rm.m.disp) ? 1 : 2;

    ja_byte(a, mod << 6 | (reg & 7) << 3 | (sib ? 4 : low));
    if (sib) {
        unsigned idx = rm.m.index == JA_NOREG ? 4 : rm.m.index & 7;

        ja_byte(a, rm.m.scale << 6 | idx << 3 | low);
    }
    if (mod == 1) {
        ja_byte(a, (uint8_t)rm.m.disp);
    } else if (mod == 2) {
        ja_u32(a, rm.m.disp);
    }
}

/* The byte-register bits for ja_insn() when the operation is on bytes. */
static unsigned byte_regs(unsigned size, unsigned bits)
{
    return size == 1 ? bits : 0;
}

/* An immediate of the operand size (at most 32 bits). */
static void ja_imm(JitAsm *a, unsigned size, int32_t imm)
{
    if (size == 1) {
        ja_byte(a, imm);
    } else if (size == 2) {
        ja_byte(a, imm);
        ja_byte(a, imm >> 8);
    } else {
        ja_u32(a, imm);
    }
}

void ja_load(JitAsm *a, unsigned size, JaReg r, JaMem m)
{
    switch (size) {
    case 1:
        ja_insn(a, 4, 0x0fb6, r, rm_mem(m), 0);     /* MOVZX r32, m8 */
        break;
    case 2:
        ja_insn(a, 4, 0x0fb7, r, rm_mem(m), 0);     /* MOVZX r32, m16 */
        break;
    default:
        ja_insn(a, size, 0x8b, r, rm_mem(m), 0);    /* MOV */
        break;
    }
}

void ja_load_sx(JitAsm *a, unsigned size, JaReg r, JaMem m)
{
    switch (size) {
    case 1:
        ja_insn(a, 8, 0x0fbe, r, rm_mem(m), 0);     /* MOVSX r64, m8 */
        break;
    case 2:
        ja_insn(a, 8, 0x0fbf, r, rm_mem(m), 0);     /* MOVSX r64, m16 */
        break;
    case 4:
        ja_insn(a, 8, 0x63, r, rm_mem(m), 0);       /* MOVSXD */
        break;
    default:
        ja_insn(a, 8, 0x8b, r, rm_mem(m), 0);
        break;
    }
}

void ja_store(JitAsm *a, unsigned size, JaMem m, JaReg r)
{
    ja_insn(a, size, size == 1 ? 0x88 : 0x89, r, rm_mem(m), byte_regs(size, 1));
}

void ja_xchg_mr(JitAsm *a, unsigned size, JaMem m, JaReg r)
{
    ja_insn(a, size, size == 1 ? 0x86 : 0x87, r, rm_mem(m), byte_regs(size, 1));
}

void ja_lock_cmpxchg_mr(JitAsm *a, unsigned size, JaMem m, JaReg r)
{
    ja_byte(a, 0xf0);
    ja_insn(a, size, size == 1 ? 0x0fb0 : 0x0fb1, r, rm_mem(m),
            byte_regs(size, 1));
}

void ja_store_imm(JitAsm *a, unsigned size, JaMem m, int32_t imm)
{
    ja_insn(a, size, size == 1 ? 0xc6 : 0xc7, 0, rm_mem(m), 0);
    ja_imm(a, size, imm);
}

void ja_mov_rr(JitAsm *a, unsigned size, JaReg d, JaReg s)
{
    ja_insn(a, size, size == 1 ? 0x88 : 0x89, s, rm_reg(d), byte_regs(size, 3));
}

void ja_mov_imm(JitAsm *a, JaReg r, uint64_t imm)
{
    if (imm <= UINT32_MAX) {
        if (r & 8) {
            ja_byte(a, 0x41);
        }
        ja_byte(a, 0xb8 + (r & 7));                 /* MOV r32, imm32 */
        ja_u32(a, imm);
    } else if ((int64_t)imm == (int32_t)imm) {
        ja_insn(a, 8, 0xc7, 0, rm_reg(r), 0);       /* sign-extended */
        ja_u32(a, imm);
    } else {
        ja_byte(a, 0x48 | (r >> 3));
        ja_byte(a, 0xb8 + (r & 7));                 /* MOV r64, imm64 */
        ja_u64(a, imm);
    }
}

void ja_lea(JitAsm *a, JaReg d, JaMem m)
{
    ja_insn(a, 8, 0x8d, d, rm_mem(m), 0);
}

void ja_movx_rr(JitAsm *a, bool sx, unsigned size, JaReg d, JaReg s)
{
    switch (size) {
    case 1:
        ja_insn(a, sx ? 8 : 4, sx ? 0x0fbe : 0x0fb6, d, rm_reg(s), 2);
        break;
    case 2:
        ja_insn(a, sx ? 8 : 4, sx ? 0x0fbf : 0x0fb7, d, rm_reg(s), 0);
        break;
    case 4:
        if (sx) {
            ja_insn(a, 8, 0x63, d, rm_reg(s), 0);
        } else {
            ja_insn(a, 4, 0x8b, d, rm_reg(s), 0);
        }
        break;
    default:
        ja_insn(a, 8, 0x8b, d, rm_reg(s), 0);
        break;
    }
}

void ja_alu_rr(JitAsm *a, int op, unsigned size, JaReg d, JaReg s)
{
    ja_insn(a, size, op * 8 + (size == 1 ? 0 : 1), s, rm_reg(d),
            byte_regs(size, 3));
}

void ja_alu_rm(JitAsm *a, int op, unsigned size, JaReg d, JaMem m)
{
    ja_insn(a, size, op * 8 + (size == 1 ? 2 : 3), d, rm_mem(m),
            byte_regs(size, 1));
}

void ja_alu_mr(JitAsm *a, int op, unsigned size, JaMem m, JaReg s)
{
    ja_insn(a, size, op * 8 + (size == 1 ? 0 : 1), s, rm_mem(m),
            byte_regs(size, 1));
}

/* Opcodes 80/83/81: an ALU operation with an immediate on @rm. */
static void ja_alu_imm(JitAsm *a, int op, unsigned size, JaRM rm,
                       int32_t imm, unsigned byte)
{
    if (size == 1) {
        ja_insn(a, 1, 0x80, op, rm, byte);
        ja_byte(a, imm);
    } else if (fits8(imm)) {
        ja_insn(a, size, 0x83, op, rm, 0);
        ja_byte(a, imm);
    } else {
        ja_insn(a, size, 0x81, op, rm, 0);
        ja_imm(a, size, imm);
    }
}

void ja_alu_ri(JitAsm *a, int op, unsigned size, JaReg d, int32_t imm)
{
    ja_alu_imm(a, op, size, rm_reg(d), imm, byte_regs(size, 2));
}

void ja_alu_mi(JitAsm *a, int op, unsigned size, JaMem m, int32_t imm)
{
    ja_alu_imm(a, op, size, rm_mem(m), imm, 0);
}

void ja_test_rr(JitAsm *a, unsigned size, JaReg d, JaReg s)
{
    ja_insn(a, size, size == 1 ? 0x84 : 0x85, s, rm_reg(d), byte_regs(size, 3));
}

void ja_test_ri(JitAsm *a, unsigned size, JaReg d, int32_t imm)
{
    ja_insn(a, size, size == 1 ? 0xf6 : 0xf7, 0, rm_reg(d), byte_regs(size, 2));
    ja_imm(a, size, imm);
}

void ja_shift_ri(JitAsm *a, int op, unsigned size, JaReg r, uint8_t count)
{
    if (count == 1) {
        ja_insn(a, size, size == 1 ? 0xd0 : 0xd1, op, rm_reg(r),
                byte_regs(size, 2));
    } else {
        ja_insn(a, size, size == 1 ? 0xc0 : 0xc1, op, rm_reg(r),
                byte_regs(size, 2));
        ja_byte(a, count);
    }
}

void ja_shift_cl(JitAsm *a, int op, unsigned size, JaReg r)
{
    ja_insn(a, size, size == 1 ? 0xd2 : 0xd3, op, rm_reg(r),
            byte_regs(size, 2));
}

void ja_unary(JitAsm *a, int op, unsigned size, JaReg r)
{
    ja_insn(a, size, size == 1 ? 0xf6 : 0xf7, op, rm_reg(r),
            byte_regs(size, 2));
}

void ja_incdec(JitAsm *a, int op, unsigned size, JaReg r)
{
    ja_insn(a, size, size == 1 ? 0xfe : 0xff, op, rm_reg(r),
            byte_regs(size, 2));
}

void ja_cmov(JitAsm *a, int cc, unsigned size, JaReg d, JaReg s)
{
    ja_insn(a, size, 0x0f40 + cc, d, rm_reg(s), 0);
}

void ja_bt_ri(JitAsm *a, unsigned size, JaReg r, uint8_t bit)
{
    ja_insn(a, size, 0x0fba, 4, rm_reg(r), 0);
    ja_byte(a, bit);
}

void ja_imul_rr(JitAsm *a, unsigned size, JaReg d, JaReg s)
{
    ja_insn(a, size, 0x0faf, d, rm_reg(s), 0);
}

void ja_imul_rri(JitAsm *a, unsigned size, JaReg d, JaReg s, int32_t imm)
{
    if (fits8(imm)) {
        ja_insn(a, size, 0x6b, d, rm_reg(s), 0);
        ja_byte(a, imm);
    } else {
        ja_insn(a, size, 0x69, d, rm_reg(s), 0);
        ja_imm(a, size, imm);
    }
}

void ja_setcc(JitAsm *a, int cc, JaReg r)
{
    ja_insn(a, 1, 0x0f90 + cc, 0, rm_reg(r), 2);
}

/* Opcode @op with a rel32 to patch; returns where the rel32 is. */
static uint8_t *ja_rel32_op(JitAsm *a, uint8_t op)
{
    ja_byte(a, op);
    uint8_t *rel = a->p;
    ja_u32(a, 0);
    return rel;
}

uint8_t *ja_jcc(JitAsm *a, int cc)
{
    ja_byte(a, 0x0f);
    return ja_rel32_op(a, 0x80 + cc);               /* Jcc rel32 */
}

uint8_t *ja_jmp(JitAsm *a)
{
    return ja_rel32_op(a, 0xe9);                    /* JMP rel32 */
}

uint8_t *ja_jmp_patchable(JitAsm *a)
{
    /* Multi-byte NOPs (SDM vol 2B, NOP): one instruction to skip. */
    static const uint8_t nops[4][3] = {
        { 0 }, { 0x90 }, { 0x66, 0x90 }, { 0x0f, 0x1f, 0x00 },
    };
    unsigned pad = (3 - (uintptr_t)a->p % 4) % 4;   /* the opcode at 3 mod 4 */

    for (unsigned i = 0; i < pad; i++) {
        ja_byte(a, nops[pad][i]);
    }
    return ja_jmp(a);
}

void ja_patch(JitAsm *a, uint8_t *rel, const uint8_t *target)
{
    int64_t d = target - (rel + 4);

    if (a->overflow || rel + 4 > a->end) {
        return;         /* the displacement was never written */
    }
    g_assert(d == (int32_t)d);
    for (int i = 0; i < 4; i++) {
        rel[i] = (uint64_t)d >> (i * 8);
    }
}

void ja_call_to(JitAsm *a, const uint8_t *target)
{
    ja_patch(a, ja_rel32_op(a, 0xe8), target);      /* CALL rel32 */
}

void ja_jmp_to(JitAsm *a, const uint8_t *target)
{
    ja_patch(a, ja_jmp(a), target);
}

void ja_jcc_to(JitAsm *a, int cc, const uint8_t *target)
{
    ja_patch(a, ja_jcc(a, cc), target);
}

void ja_jmp_reg(JitAsm *a, JaReg r)
{
    ja_insn(a, 4, 0xff, 4, rm_reg(r), 0);           /* JMP r64 */
}

void ja_call(JitAsm *a, const void *fn)
{
    ja_byte(a, 0x48);
    ja_byte(a, 0xb8);                               /* MOV RAX, imm64 */
    ja_u64(a, (uintptr_t)fn);
    ja_insn(a, 4, 0xff, 2, rm_reg(JA_RAX), 0);      /* CALL RAX */
}

void ja_push(JitAsm *a, JaReg r)
{
    if (r & 8) {
        ja_byte(a, 0x41);
    }
    ja_byte(a, 0x50 + (r & 7));
}

void ja_pop(JitAsm *a, JaReg r)
{
    if (r & 8) {
        ja_byte(a, 0x41);
    }
    ja_byte(a, 0x58 + (r & 7));
}

void ja_ret(JitAsm *a)
{
    ja_byte(a, 0xc3);
}

/* ---- SSE: a mandatory prefix, then REX, 0F and the opcode ---------- */

static void ja_sse(JitAsm *a, uint8_t pfx, uint8_t opc, bool w,
                   unsigned reg, JaRM rm)
{
    if (pfx) {
        ja_byte(a, pfx);
    }
    ja_insn(a, w ? 8 : 4, 0x0f00 | opc, reg, rm, 0);
}

void ja_sse_rm(JitAsm *a, uint8_t pfx, uint8_t opc, bool w, unsigned reg,
               JaMem m)
{
    ja_sse(a, pfx, opc, w, reg, rm_mem(m));
}

void ja_sse_rr(JitAsm *a, uint8_t pfx, uint8_t opc, bool w, unsigned reg,
               unsigned rm)
{
    ja_sse(a, pfx, opc, w, reg, rm_reg(rm));
}
