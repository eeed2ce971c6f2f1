/*
 * A small x86-64 assembler for the block translator (tcg-jit.c): the
 * handful of integer instructions it emits (and SSE ones by opcode),
 * with operand sizes 1, 2, 4 and 8 (66h prefix, REX.W) and
 * [base + index*scale + disp] memory operands.  Encodings from the SDM
 * vol 2 (chapter 2, instruction format; appendix A, opcode map).
 *
 * Byte operations use only host registers that have a byte form without
 * REX quirks in both encodings (AL CL DL BL, and R8B-R15B); the
 * assembler adds a bare REX for SPL-DIL when asked for them anyway.
 */
#ifndef QLITE_TCG_ASM_H
#define QLITE_TCG_ASM_H

#include "qlite/osdep.h"

typedef enum {
    JA_RAX, JA_RCX, JA_RDX, JA_RBX, JA_RSP, JA_RBP, JA_RSI, JA_RDI,
    JA_R8, JA_R9, JA_R10, JA_R11, JA_R12, JA_R13, JA_R14, JA_R15,
    JA_NOREG = 0xff,
} JaReg;

/* ALU operations, numbered as ModRM.reg of opcodes 80-83. */
enum { JA_ADD, JA_OR, JA_ADC, JA_SBB, JA_AND, JA_SUB, JA_XOR, JA_CMP };
/* Shifts and rotates, numbered as ModRM.reg of opcodes C0/C1/D0/D1. */
enum { JA_ROL = 0, JA_ROR = 1, JA_SHL = 4, JA_SHR = 5, JA_SAR = 7 };
/* Group 3 (F6/F7) and group 4/5 (FE/FF) operations used. */
enum { JA_NOT = 2, JA_NEG = 3 };
enum { JA_INC = 0, JA_DEC = 1 };

typedef struct JaMem {
    uint8_t base;           /* JaReg */
    uint8_t index;          /* JaReg or JA_NOREG */
    uint8_t scale;          /* log2 */
    int32_t disp;
} JaMem;

static inline JaMem ja_mem(JaReg base, int32_t disp)
{
    return (JaMem){ .base = base, .index = JA_NOREG, .disp = disp };
}

/*
 * The output buffer.  Writing past @end sets @overflow and writes
 * nothing more, so callers check once at the end.
 */
typedef struct JitAsm {
    uint8_t *start;
    uint8_t *p;
    uint8_t *end;
    bool overflow;
} JitAsm;

void ja_init(JitAsm *a, void *buf, size_t size);

/* Inline: every byte of translated code goes through here. */
static inline void ja_byte(JitAsm *a, uint8_t b)
{
    if (a->p >= a->end) {
        a->overflow = true;
        return;
    }
    *a->p++ = b;
}

/* @n zero bytes of data in the code (link slots); NULL on overflow. */
void *ja_reserve(JitAsm *a, size_t n);
void ja_u32(JitAsm *a, uint32_t v);

/* Loads zero-extend to 64 bits; ja_load_sx sign-extends. */
void ja_load(JitAsm *a, unsigned size, JaReg r, JaMem m);
void ja_load_sx(JitAsm *a, unsigned size, JaReg r, JaMem m);
void ja_store(JitAsm *a, unsigned size, JaMem m, JaReg r);
/* Size 8 stores the 32-bit immediate sign-extended. */
void ja_store_imm(JitAsm *a, unsigned size, JaMem m, int32_t imm);
/* XCHG of memory with a register (locked, as XCHG with memory is). */
void ja_xchg_mr(JitAsm *a, unsigned size, JaMem m, JaReg r);
/* LOCK CMPXCHG of memory with a register (the accumulator: RAX). */
void ja_lock_cmpxchg_mr(JitAsm *a, unsigned size, JaMem m, JaReg r);
/* A register copy; size 4 zero-extends, 1 and 2 keep the upper bits. */
void ja_mov_rr(JitAsm *a, unsigned size, JaReg d, JaReg s);
/* Load a constant into a register without touching the flags. */
void ja_mov_imm(JitAsm *a, JaReg r, uint64_t imm);
void ja_lea(JitAsm *a, JaReg d, JaMem m);
/* Zero/sign extension of the low @size bytes of @s into all of @d. */
void ja_movx_rr(JitAsm *a, bool sx, unsigned size, JaReg d, JaReg s);

void ja_alu_rr(JitAsm *a, int op, unsigned size, JaReg d, JaReg s);
void ja_alu_rm(JitAsm *a, int op, unsigned size, JaReg d, JaMem m);
void ja_alu_mr(JitAsm *a, int op, unsigned size, JaMem m, JaReg s);
void ja_alu_ri(JitAsm *a, int op, unsigned size, JaReg d, int32_t imm);
void ja_alu_mi(JitAsm *a, int op, unsigned size, JaMem m, int32_t imm);
void ja_test_rr(JitAsm *a, unsigned size, JaReg d, JaReg s);
void ja_test_ri(JitAsm *a, unsigned size, JaReg d, int32_t imm);
void ja_shift_ri(JitAsm *a, int op, unsigned size, JaReg r, uint8_t count);
/* The same by CL. */
void ja_shift_cl(JitAsm *a, int op, unsigned size, JaReg r);
void ja_unary(JitAsm *a, int op, unsigned size, JaReg r);
void ja_incdec(JitAsm *a, int op, unsigned size, JaReg r);
void ja_cmov(JitAsm *a, int cc, unsigned size, JaReg d, JaReg s);
/* CF = bit @bit of @r. */
void ja_bt_ri(JitAsm *a, unsigned size, JaReg r, uint8_t bit);
/* d = d * s, and d = s * imm (signed, truncated). */
void ja_imul_rr(JitAsm *a, unsigned size, JaReg d, JaReg s);
void ja_imul_rri(JitAsm *a, unsigned size, JaReg d, JaReg s, int32_t imm);
void ja_setcc(JitAsm *a, int cc, JaReg r);

/* Branches with a 32-bit displacement, patched once the target is
 * known; they return where the displacement is. */
uint8_t *ja_jcc(JitAsm *a, int cc);
uint8_t *ja_jmp(JitAsm *a);
/*
 * A JMP rel32 to the next instruction whose displacement is 4-byte
 * aligned (NOPs before it), so that one aligned store retargets it
 * while other threads run it; returns where the displacement is.
 */
uint8_t *ja_jmp_patchable(JitAsm *a);
void ja_jmp_to(JitAsm *a, const uint8_t *target);
/* Call code within 2 GiB (the code buffer's shared routines). */
void ja_call_to(JitAsm *a, const uint8_t *target);
void ja_jcc_to(JitAsm *a, int cc, const uint8_t *target);
void ja_jmp_reg(JitAsm *a, JaReg r);
void ja_patch(JitAsm *a, uint8_t *rel, const uint8_t *target);
/* Call an absolute address (through RAX, which it clobbers). */
void ja_call(JitAsm *a, const void *fn);
void ja_push(JitAsm *a, JaReg r);
void ja_pop(JitAsm *a, JaReg r);
void ja_ret(JitAsm *a);

/*
 * SSE instructions: mandatory prefix @pfx (0, 0x66, 0xf3 or 0xf2), then
 * 0F @opc; @w sets REX.W (MOVQ to and from general registers).  @reg and
 * @rm are XMM or general register numbers as the opcode says.
 */
void ja_sse_rm(JitAsm *a, uint8_t pfx, uint8_t opc, bool w, unsigned reg,
               JaMem m);
void ja_sse_rr(JitAsm *a, uint8_t pfx, uint8_t opc, bool w, unsigned reg,
               unsigned rm);

#endif
