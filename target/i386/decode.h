/*
 * The x86 instruction decoder: bytes -> X86Insn.  Pure (no CPU state, no
 * memory access), driven by insn-table.h, so a later translator to host
 * code can reuse it.
 */
#ifndef TARGET_I386_DECODE_H
#define TARGET_I386_DECODE_H

#include "qlite/osdep.h"
#include "insn-sse-ops.h"      /* X86_SSE_OPS: MMX/SSE op ids */

/* Every operation the table names; handlers are indexed by these. */
#define X86_OPS(X) \
    X(INVALID) X(ADD) X(OR) X(ADC) X(SBB) X(AND) X(SUB) X(XOR) X(CMP) \
    X(PUSH_SEG) X(POP_SEG) X(DAA) X(DAS) X(AAA) X(AAS) X(INC) X(DEC) \
    X(PUSH) X(POP) X(PUSHA) X(POPA) X(BOUND) X(ARPL) X(MOVSXD) X(IMUL3) \
    X(INS) X(OUTS) X(JCC) X(TEST) X(XCHG) X(MOV) X(MOV_FROM_SEG) \
    X(MOV_TO_SEG) X(LEA) X(NOP) X(PAUSE) X(CBW) X(CWD) X(CALLF) X(FWAIT) \
    X(PUSHF) X(POPF) X(SAHF) X(LAHF) X(MOVS) X(CMPS) X(STOS) X(LODS) \
    X(SCAS) X(ROL) X(ROR) X(RCL) X(RCR) X(SHL) X(SHR) X(SAL) X(SAR) \
    X(RET) X(LES) X(LDS) X(ENTER) X(LEAVE) X(RETF) X(INT3) X(INT) X(INTO) \
    X(IRET) X(AAM) X(AAD) X(SALC) X(XLAT) X(FPU) X(LOOPNE) X(LOOPE) \
    X(LOOP) X(JCXZ) X(IN) X(OUT) X(CALL) X(JMP) X(JMPF) X(INT1) X(HLT) \
    X(CMC) X(NOT) X(NEG) X(MUL) X(IMUL1) X(DIV) X(IDIV) X(CLC) X(STC) \
    X(CLI) X(STI) X(CLD) X(STD) X(CALL_IND) X(CALLF_IND) X(JMP_IND) \
    X(JMPF_IND) \
    X(SLDT) X(STR) X(LLDT) X(LTR) X(VERR) X(VERW) X(SGDT) X(SIDT) \
    X(LGDT) X(LIDT) X(SMSW) X(LMSW) X(INVLPG) X(GRP7_REG) X(LAR) X(LSL) \
    X(SYSCALL) X(CLTS) X(SYSRET) X(INVD) X(WBINVD) X(UD) X(MOV_FROM_CR) \
    X(MOV_FROM_DR) X(MOV_TO_CR) X(MOV_TO_DR) X(WRMSR) X(RDTSC) X(RDMSR) \
    X(RDPMC) X(SYSENTER) X(SYSEXIT) X(CMOV) X(SETCC) X(CPUID) X(BT) \
    X(BTS) X(BTR) X(BTC) X(SHLD) X(SHRD) X(RSM) X(FXSAVE) X(FXRSTOR) \
    X(LDMXCSR) X(STMXCSR) X(CLFLUSH) X(FENCE) X(IMUL2) X(CMPXCHG) X(LSS) \
    X(LFS) X(LGS) X(MOVZX) X(MOVSX) X(POPCNT) X(BSF) X(BSR) X(XADD) \
    X(CMPXCHG8B) X(BSWAP) X(RDTSCP) X(SWAPGS) X(INVPCID) \
    X(SSE) X86_SSE_OPS(X)

typedef enum {
#define X86_OP_ENUM(name) X86_OP_##name,
    X86_OPS(X86_OP_ENUM)
#undef X86_OP_ENUM
    X86_OP_NB
} X86Op;

/*
 * Operand kinds, in the SDM's notation (vol 2 appendix A.2): the letter
 * says where the operand comes from, the suffix its size (b byte, w word,
 * d dword, q qword, v operand size, z operand size capped at 32, y dword
 * or qword).
 */
#define X86_OPNDS(X) \
    X(__) \
    X(Eb) X(Ew) X(Ed) X(Ev) X(Ey) X(Eq) \
    X(Gb) X(Gw) X(Gd) X(Gv) X(Gy) X(Gz) \
    X(Rv) X(Ry) X(Mw) X(Md) X(Mv) X(Mq) X(Mp) X(Ma) X(M) X(Mdq) \
    X(Ib) X(Ibs) X(Iw) X(Iz) X(Iv) X(I1) \
    X(AL) X(rAX) X(CL) X(DX) \
    X(Zb) X(Zv) X(Sw) X(Jb) X(Jz) X(Ob) X(Ov) X(Ap) \
    X(Xb) X(Xv) X(Yb) X(Yv) X(Cd) X(Dd) \
    X(Ux) X(Vx) X(Wx) X(Nq) X(Pq) X(Qq)

typedef enum {
#define X86_OPND_ENUM(name) X86_OPND_##name,
    X86_OPNDS(X86_OPND_ENUM)
#undef X86_OPND_ENUM
    X86_OPND_NB
} X86Opnd;

/* Prefix bits in X86Insn.prefix */
#define X86_PFX_LOCK    (1u << 0)
#define X86_PFX_REPZ    (1u << 1)   /* F3 */
#define X86_PFX_REPNZ   (1u << 2)   /* F2 */
#define X86_PFX_OPSIZE  (1u << 3)   /* 66 */
#define X86_PFX_ADSIZE  (1u << 4)   /* 67 */
#define X86_PFX_REX     (1u << 5)
#define X86_PFX_SEG     (1u << 6)   /* a segment override was given */

/* Table entry flags */
#define X86_F_D64   (1u << 0)   /* operand size 64 by default in 64-bit */
#define X86_F_F64   (1u << 1)   /* operand size forced to 64 in 64-bit */
#define X86_F_I64   (1u << 2)   /* invalid in 64-bit mode */
#define X86_F_O64   (1u << 3)   /* valid only in 64-bit mode */
#define X86_F_LOCK  (1u << 4)   /* LOCK allowed (with a memory dest) */
#define X86_F_END   (1u << 5)   /* ends a block: branch, mode change */
#define X86_F_REP   (1u << 6)   /* F3/F2 are REP prefixes */
#define X86_F_BYTE  (1u << 7)   /* operand size is 1 */

/* Decoder modes */
#define X86_MODE16  0
#define X86_MODE32  1
#define X86_MODE64  2

/* Register numbers used in X86Insn.base/.index when there is none. */
#define X86_NOREG   0xff

/*
 * Where an operand lives, worked out once by the decoder so that the
 * interpreter does not redo it on every execution:
 *   REG/HIGH8  a general register (HIGH8: AH CH DH BH, reg = 0-3)
 *   MEM        the ModRM memory operand (seg, base, index, disp)
 *   MOFFS      the moffs of MOV AL/rAX <-> Ob/Ov (in imm)
 *   IMM/IMM2   the first/second immediate; ONE: the constant 1
 * Other kinds (segment, control, debug, SSE registers) read as REG with
 * ModRM.reg; their handlers use the X86Insn fields themselves.
 */
typedef enum {
    X86_LOC_NONE, X86_LOC_REG, X86_LOC_HIGH8, X86_LOC_MEM, X86_LOC_MOFFS,
    X86_LOC_IMM, X86_LOC_IMM2, X86_LOC_ONE,
} X86LocKind;

typedef struct X86OpndLoc {
    uint8_t kind;           /* X86LocKind */
    uint8_t size;           /* bytes (x86_opnd_size) */
    uint8_t reg;            /* REG/HIGH8: the register number */
} X86OpndLoc;

/*
 * One decoded instruction.  Everything the handler needs, so that a block
 * of these can be executed again without looking at the bytes.
 */
typedef struct X86Insn {
    uint16_t op;            /* X86Op */
    uint16_t opcode;        /* map << 8 | opcode byte (map 0, 1=0F,
                               2=0F38, 3=0F3A) */
    uint8_t opnd[3];        /* X86Opnd */
    uint8_t flags;          /* X86_F_* of the table entry */
    uint8_t len;
    uint8_t osize;          /* 2, 4 or 8 ("v"); byte forms say b */
    uint8_t asize;          /* 2, 4 or 8 */
    uint8_t prefix;         /* X86_PFX_* */
    uint8_t rex;            /* the REX byte, 0 if none */
    uint8_t seg;            /* segment of the memory operand (R_DS...) */
    uint8_t mod;            /* ModRM.mod; 3 = register operand */
    uint8_t reg;            /* ModRM.reg with REX.R (or opcode's low bits
                               + REX.B for Z operands) */
    uint8_t rm;             /* ModRM.rm with REX.B (register form) */
    uint8_t base;           /* memory form: base register or X86_NOREG */
    uint8_t index;          /* memory form: index register or X86_NOREG */
    uint8_t scale;          /* log2 */
    bool rip_rel;           /* disp is relative to the next instruction */
    bool has_modrm;
    int32_t disp;
    uint64_t imm;           /* first immediate (sign/zero extended) */
    uint64_t imm2;          /* ENTER's level, far pointer selector */
    X86OpndLoc loc[3];      /* where each operand is */
} X86Insn;

typedef enum {
    X86_DEC_OK = 0,
    X86_DEC_UD,             /* undefined or invalid here: #UD */
    X86_DEC_TOO_LONG,       /* more than 15 bytes: #GP(0) */
    X86_DEC_MORE,           /* needs more bytes than given */
} X86DecodeResult;

/*
 * Decode the instruction at @bytes (@avail bytes readable) in @mode
 * (X86_MODE16/32/64: the default operand and address size, 64-bit mode).
 */
X86DecodeResult x86_decode(X86Insn *insn, const uint8_t *bytes,
                           unsigned avail, int mode);

/* Size in bytes of operand kind @o (X86_OPND_*) for @in. */
unsigned x86_opnd_size(const X86Insn *in, unsigned o);

const char *x86_op_name(unsigned op);
const char *x86_opnd_name(unsigned opnd);
/* "ADD Ev,Gv" style text for traces and tests. */
void x86_insn_format(const X86Insn *insn, char *buf, size_t size);

#endif
