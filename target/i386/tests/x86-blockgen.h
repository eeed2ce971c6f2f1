/*
 * Random straight-line x86 blocks (64-bit, or 32-bit and 16-bit
 * protected mode) over the fake memory of
 * x86-fake-mem.h, for comparing the block translator with the
 * interpreter (test-tcg-jit.c).
 *
 * Blocks are built from instruction templates with random registers,
 * sizes, immediates and addressing forms: ALU operations in every form,
 * TEST, INC/DEC/NEG/NOT, shifts by 0, 1, n and CL, MOV (moffs too),
 * MOVZX/MOVSX/MOVSXD, LEA, CMOVcc, SETcc, Jcc, PUSH/POP, and what the
 * translator leaves to handlers (BSWAP, IMUL, XCHG, BT*, XADD, CMPXCHG,
 * MUL/DIV, REP string instructions, POPF...).  Flag setters are often
 * followed by flag consumers.  Memory operands use 64- and 32-bit
 * (67h) addressing, RIP-relative and absolute forms, segment overrides,
 * page-crossing and past-RAM addresses, now and then the code page (a
 * block may store over itself) or an unmapped page.
 *
 * SSE (a few templates a block, now and then most): the XMM forms that
 * jit-sse.c translates, on XMM0-15 (XMM0-7 outside 64-bit code):
 * MOVUPS/UPD/DQU and MOVAPS/APD/DQA loads, stores and copies; the 66 0F
 * integer operations (PUNPCK*, PACK*, PCMPEQ/GT*, PSRL/PSRA/PSLL by
 * xmm, PADD/PSUB* with saturation, PMIN/PMAX, PAVG, PMUL*, PMADDWD,
 * PSADBW, PAND/PANDN/POR/PXOR), the PS/PD logic and unpacks; SHUFPS/PD
 * and PSHUFD/HW/LW with shuffle immediates; the 66 0F 71-73 shifts by
 * element-edge counts (PSRLDQ/PSLLDQ too); PMOVMSKB; MOVD/MOVQ 66 0F
 * 6E/7E with general registers (32 and 64-bit) or memory; MOVQ F3 0F 7E
 * and 66 0F D6.  Their m128 operands are 16-byte aligned where the
 * instruction needs it but one time in 16 (#GP).  Mixed in, what the
 * translator leaves to handlers: MOVSS/MOVSD, PS/PD arithmetic, SSSE3
 * (PSHUFB, PALIGNR...), PEXTRW, MOVHLPS/MOVLHPS and MMX forms.
 *
 * Three registers per block are pointers that no template writes: a
 * base into the data pages, a small index, and an index whose low half
 * is a small negative number (32-bit address forms wrap with it).  RSP
 * is never written either but by PUSH/POP (and rarely POP RSP).
 * Branch targets are instruction starts of the block (loops), the next
 * instruction, or outside the block.
 */
#ifndef TESTS_X86_BLOCKGEN_H
#define TESTS_X86_BLOCKGEN_H

#include "qlite/osdep.h"

#define BLOCKGEN_CODE_OFF   0x100u  /* blocks start at DIFF_MEM + this */
#define BLOCKGEN_CODE_MAX   0x700u

typedef struct BlockGen {
    GRand *r;
    uint8_t code[BLOCKGEN_CODE_MAX];
    unsigned len;
    unsigned ninsn;
    uint8_t ptr[3];             /* base, index, 32-bit wrapping index */
    uint64_t ptr_val[3];
    uint64_t fs_base, gs_base;
    /*
     * 64 (the default when 0), or 32/16: protected-mode code with CS.D 1
     * or 0, whose segment bases (by R_ES..R_GS) are @seg_base.  Such
     * blocks use EAX-EDI only, no REX, no RIP-relative forms; 16-bit
     * code mostly 16-bit addressing (BX/BP + SI/DI + disp16, wrapping
     * at 64 KiB), 32-bit code also 32-bit sums that wrap at 4 GiB.
     */
    unsigned bits;
    uint64_t seg_base[6];
    uint16_t starts[256];       /* offsets of the instructions so far */
    unsigned sse_share;         /* percent of templates that are SSE */
    bool ended;                 /* an instruction that ends the block */
    bool prelude;               /* building the state, not the block */
} BlockGen;

/* Choose the pointer registers and their values (g->r, g->bits set). */
void blockgen_pointers(BlockGen *g);
/* A block of 1-20 templates into g->code, invalid opcodes after it. */
void blockgen_block(BlockGen *g);
/*
 * Replace the code with one flag-setting instruction (to set up the
 * lazy flags before a block), or nothing: false.
 */
bool blockgen_flag_setter(BlockGen *g);

/* The generator's randomness, for the state around a block. */
unsigned blockgen_rnd(BlockGen *g, unsigned n);
bool blockgen_chance(BlockGen *g, unsigned n);   /* one in @n */
uint64_t blockgen_rnd64(BlockGen *g);
uint64_t blockgen_value(BlockGen *g);           /* near flag edges */

#endif
