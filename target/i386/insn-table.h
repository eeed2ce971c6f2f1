/*
 * The instruction-form table: one line per opcode form, in the notation
 * of the Intel SDM vol 2 appendix A (opcode maps), so that each line can
 * be checked against the map.  decode.c builds its lookup tables from it.
 *
 * Line forms (the includer defines X86_INSN(map, opc, pfx, reg, mod, op,
 * o1, o2, o3, flags)):
 *   A(opc, OP, o1, o2, o3, fl)        one-byte map
 *   G(opc, r, OP, o1, o2, o3, fl)     one-byte map, group: ModRM.reg == r
 *   B(opc, OP, o1, o2, o3, fl)        0F map
 *   H(opc, r, OP, o1, o2, o3, fl)     0F map, group
 *   HM(opc, r, OP, ...)/HR(...)       0F group, memory / register form only
 *   P(map, opc, pfx, OP, o1, o2, o3)  SSE form with a mandatory prefix
 * pfx: PN (none), P66, PF3, PF2, PA (any).  Flags are X86_F_* without the
 * prefix: D64 F64 I64 O64 LOCK END REP BYTE.
 */
#define A(opc, op, a, b, c, fl) \
    X86_INSN(0, opc, PA, -1, MA, op, a, b, c, fl)
#define G(opc, r, op, a, b, c, fl) \
    X86_INSN(0, opc, PA, r, MA, op, a, b, c, fl)
#define B(opc, op, a, b, c, fl) \
    X86_INSN(1, opc, PA, -1, MA, op, a, b, c, fl)
#define H(opc, r, op, a, b, c, fl) \
    X86_INSN(1, opc, PA, r, MA, op, a, b, c, fl)
#define HM(opc, r, op, a, b, c, fl) \
    X86_INSN(1, opc, PA, r, MM, op, a, b, c, fl)
#define HR(opc, r, op, a, b, c, fl) \
    X86_INSN(1, opc, PA, r, MR, op, a, b, c, fl)
#define P(map, opc, pfx, op, a, b, c) \
    X86_INSN(map, opc, pfx, -1, MA, op, a, b, c, 0)

/* The eight ALU operations share one layout (00-3F). */
#define ALU(base, op) \
    A(base + 0, op, Eb, Gb, __, LOCK | BYTE) \
    A(base + 1, op, Ev, Gv, __, LOCK) \
    A(base + 2, op, Gb, Eb, __, BYTE) \
    A(base + 3, op, Gv, Ev, __, 0) \
    A(base + 4, op, AL, Ib, __, BYTE) \
    A(base + 5, op, rAX, Iz, __, 0)
#define GRP1(opc, a, b, fl) \
    G(opc, 0, ADD, a, b, __, LOCK | fl) G(opc, 1, OR, a, b, __, LOCK | fl) \
    G(opc, 2, ADC, a, b, __, LOCK | fl) G(opc, 3, SBB, a, b, __, LOCK | fl) \
    G(opc, 4, AND, a, b, __, LOCK | fl) G(opc, 5, SUB, a, b, __, LOCK | fl) \
    G(opc, 6, XOR, a, b, __, LOCK | fl) G(opc, 7, CMP, a, b, __, fl)
#define GRP2(opc, a, b, fl) \
    G(opc, 0, ROL, a, b, __, fl) G(opc, 1, ROR, a, b, __, fl) \
    G(opc, 2, RCL, a, b, __, fl) G(opc, 3, RCR, a, b, __, fl) \
    G(opc, 4, SHL, a, b, __, fl) G(opc, 5, SHR, a, b, __, fl) \
    G(opc, 6, SAL, a, b, __, fl) G(opc, 7, SAR, a, b, __, fl)
#define RANGE8(opc, op, a, b, fl) \
    A(opc + 0, op, a, b, __, fl) A(opc + 1, op, a, b, __, fl) \
    A(opc + 2, op, a, b, __, fl) A(opc + 3, op, a, b, __, fl) \
    A(opc + 4, op, a, b, __, fl) A(opc + 5, op, a, b, __, fl) \
    A(opc + 6, op, a, b, __, fl) A(opc + 7, op, a, b, __, fl)
#define RANGE8B(opc, op, a, b, fl) \
    B(opc + 0, op, a, b, __, fl) B(opc + 1, op, a, b, __, fl) \
    B(opc + 2, op, a, b, __, fl) B(opc + 3, op, a, b, __, fl) \
    B(opc + 4, op, a, b, __, fl) B(opc + 5, op, a, b, __, fl) \
    B(opc + 6, op, a, b, __, fl) B(opc + 7, op, a, b, __, fl)

/* ---- one-byte opcode map (SDM vol 2 table A-2) ---- */
ALU(0x00, ADD)
A(0x06, PUSH_SEG, __, __, __, I64)              /* PUSH ES */
A(0x07, POP_SEG, __, __, __, I64 | END)         /* POP ES */
ALU(0x08, OR)
A(0x0e, PUSH_SEG, __, __, __, I64)              /* PUSH CS */
ALU(0x10, ADC)
A(0x16, PUSH_SEG, __, __, __, I64)              /* PUSH SS */
A(0x17, POP_SEG, __, __, __, I64 | END)         /* POP SS */
ALU(0x18, SBB)
A(0x1e, PUSH_SEG, __, __, __, I64)              /* PUSH DS */
A(0x1f, POP_SEG, __, __, __, I64 | END)         /* POP DS */
ALU(0x20, AND)
A(0x27, DAA, __, __, __, I64)
ALU(0x28, SUB)
A(0x2f, DAS, __, __, __, I64)
ALU(0x30, XOR)
A(0x37, AAA, __, __, __, I64)
ALU(0x38, CMP)
A(0x3f, AAS, __, __, __, I64)
RANGE8(0x40, INC, Zv, __, I64)                  /* REX in 64-bit mode */
RANGE8(0x48, DEC, Zv, __, I64)
RANGE8(0x50, PUSH, Zv, __, D64)
RANGE8(0x58, POP, Zv, __, D64)
A(0x60, PUSHA, __, __, __, I64)
A(0x61, POPA, __, __, __, I64)
A(0x62, BOUND, Gv, Ma, __, I64)
A(0x63, ARPL, Ew, Gw, __, I64)
A(0x63, MOVSXD, Gv, Ed, __, O64)
A(0x68, PUSH, Iz, __, __, D64)
A(0x69, IMUL3, Gv, Ev, Iz, 0)
A(0x6a, PUSH, Ibs, __, __, D64)
A(0x6b, IMUL3, Gv, Ev, Ibs, 0)
A(0x6c, INS, Yb, DX, __, REP | BYTE)
A(0x6d, INS, Yv, DX, __, REP)
A(0x6e, OUTS, DX, Xb, __, REP | BYTE)
A(0x6f, OUTS, DX, Xv, __, REP)
RANGE8(0x70, JCC, Jb, __, F64 | END)
RANGE8(0x78, JCC, Jb, __, F64 | END)
GRP1(0x80, Eb, Ib, BYTE)
GRP1(0x81, Ev, Iz, 0)
GRP1(0x82, Eb, Ib, BYTE | I64)
GRP1(0x83, Ev, Ibs, 0)
A(0x84, TEST, Eb, Gb, __, BYTE)
A(0x85, TEST, Ev, Gv, __, 0)
A(0x86, XCHG, Eb, Gb, __, LOCK | BYTE)
A(0x87, XCHG, Ev, Gv, __, LOCK)
A(0x88, MOV, Eb, Gb, __, BYTE)
A(0x89, MOV, Ev, Gv, __, 0)
A(0x8a, MOV, Gb, Eb, __, BYTE)
A(0x8b, MOV, Gv, Ev, __, 0)
A(0x8c, MOV_FROM_SEG, Ev, Sw, __, 0)
A(0x8d, LEA, Gv, M, __, 0)
A(0x8e, MOV_TO_SEG, Sw, Ew, __, END)
G(0x8f, 0, POP, Ev, __, __, D64)
A(0x90, NOP, __, __, __, 0)                     /* XCHG with REX.B, PAUSE */
RANGE8(0x90, XCHG, Zv, rAX, 0)
A(0x98, CBW, __, __, __, 0)
A(0x99, CWD, __, __, __, 0)
A(0x9a, CALLF, Ap, __, __, I64 | END)
A(0x9b, FWAIT, __, __, __, 0)
A(0x9c, PUSHF, __, __, __, D64)
A(0x9d, POPF, __, __, __, D64 | END)
A(0x9e, SAHF, __, __, __, 0)
A(0x9f, LAHF, __, __, __, 0)
A(0xa0, MOV, AL, Ob, __, BYTE)
A(0xa1, MOV, rAX, Ov, __, 0)
A(0xa2, MOV, Ob, AL, __, BYTE)
A(0xa3, MOV, Ov, rAX, __, 0)
A(0xa4, MOVS, Yb, Xb, __, REP | BYTE)
A(0xa5, MOVS, Yv, Xv, __, REP)
A(0xa6, CMPS, Xb, Yb, __, REP | BYTE)
A(0xa7, CMPS, Xv, Yv, __, REP)
A(0xa8, TEST, AL, Ib, __, BYTE)
A(0xa9, TEST, rAX, Iz, __, 0)
A(0xaa, STOS, Yb, AL, __, REP | BYTE)
A(0xab, STOS, Yv, rAX, __, REP)
A(0xac, LODS, AL, Xb, __, REP | BYTE)
A(0xad, LODS, rAX, Xv, __, REP)
A(0xae, SCAS, AL, Yb, __, REP | BYTE)
A(0xaf, SCAS, rAX, Yv, __, REP)
RANGE8(0xb0, MOV, Zb, Ib, BYTE)
RANGE8(0xb8, MOV, Zv, Iv, 0)
GRP2(0xc0, Eb, Ib, BYTE)
GRP2(0xc1, Ev, Ib, 0)
A(0xc2, RET, Iw, __, __, F64 | END)
A(0xc3, RET, __, __, __, F64 | END)
A(0xc4, LES, Gz, Mp, __, I64)
A(0xc5, LDS, Gz, Mp, __, I64)
G(0xc6, 0, MOV, Eb, Ib, __, BYTE)
G(0xc7, 0, MOV, Ev, Iz, __, 0)
A(0xc8, ENTER, Iw, Ib, __, D64)
A(0xc9, LEAVE, __, __, __, D64)
A(0xca, RETF, Iw, __, __, END)
A(0xcb, RETF, __, __, __, END)
A(0xcc, INT3, __, __, __, END)
A(0xcd, INT, Ib, __, __, END)
A(0xce, INTO, __, __, __, I64 | END)
A(0xcf, IRET, __, __, __, END)
GRP2(0xd0, Eb, I1, BYTE)
GRP2(0xd1, Ev, I1, 0)
GRP2(0xd2, Eb, CL, BYTE)
GRP2(0xd3, Ev, CL, 0)
A(0xd4, AAM, Ib, __, __, I64)
A(0xd5, AAD, Ib, __, __, I64)
A(0xd6, SALC, __, __, __, I64)
A(0xd7, XLAT, __, __, __, 0)
RANGE8(0xd8, FPU, Ev, __, 0)             /* x87 escapes: ModRM follows */
A(0xe0, LOOPNE, Jb, __, __, F64 | END)
A(0xe1, LOOPE, Jb, __, __, F64 | END)
A(0xe2, LOOP, Jb, __, __, F64 | END)
A(0xe3, JCXZ, Jb, __, __, F64 | END)
A(0xe4, IN, AL, Ib, __, BYTE)
A(0xe5, IN, rAX, Ib, __, 0)
A(0xe6, OUT, Ib, AL, __, BYTE)
A(0xe7, OUT, Ib, rAX, __, 0)
A(0xe8, CALL, Jz, __, __, F64 | END)
A(0xe9, JMP, Jz, __, __, F64 | END)
A(0xea, JMPF, Ap, __, __, I64 | END)
A(0xeb, JMP, Jb, __, __, F64 | END)
A(0xec, IN, AL, DX, __, BYTE)
A(0xed, IN, rAX, DX, __, 0)
A(0xee, OUT, DX, AL, __, BYTE)
A(0xef, OUT, DX, rAX, __, 0)
A(0xf1, INT1, __, __, __, END)
A(0xf4, HLT, __, __, __, END)
A(0xf5, CMC, __, __, __, 0)
G(0xf6, 0, TEST, Eb, Ib, __, BYTE)
G(0xf6, 1, TEST, Eb, Ib, __, BYTE)
G(0xf6, 2, NOT, Eb, __, __, LOCK | BYTE)
G(0xf6, 3, NEG, Eb, __, __, LOCK | BYTE)
G(0xf6, 4, MUL, Eb, __, __, BYTE)
G(0xf6, 5, IMUL1, Eb, __, __, BYTE)
G(0xf6, 6, DIV, Eb, __, __, BYTE)
G(0xf6, 7, IDIV, Eb, __, __, BYTE)
G(0xf7, 0, TEST, Ev, Iz, __, 0)
G(0xf7, 1, TEST, Ev, Iz, __, 0)
G(0xf7, 2, NOT, Ev, __, __, LOCK)
G(0xf7, 3, NEG, Ev, __, __, LOCK)
G(0xf7, 4, MUL, Ev, __, __, 0)
G(0xf7, 5, IMUL1, Ev, __, __, 0)
G(0xf7, 6, DIV, Ev, __, __, 0)
G(0xf7, 7, IDIV, Ev, __, __, 0)
A(0xf8, CLC, __, __, __, 0)
A(0xf9, STC, __, __, __, 0)
A(0xfa, CLI, __, __, __, 0)
A(0xfb, STI, __, __, __, END)
A(0xfc, CLD, __, __, __, 0)
A(0xfd, STD, __, __, __, 0)
G(0xfe, 0, INC, Eb, __, __, LOCK | BYTE)
G(0xfe, 1, DEC, Eb, __, __, LOCK | BYTE)
G(0xff, 0, INC, Ev, __, __, LOCK)
G(0xff, 1, DEC, Ev, __, __, LOCK)
G(0xff, 2, CALL_IND, Ev, __, __, F64 | END)
G(0xff, 3, CALLF_IND, Mp, __, __, END)
G(0xff, 4, JMP_IND, Ev, __, __, F64 | END)
G(0xff, 5, JMPF_IND, Mp, __, __, END)
G(0xff, 6, PUSH, Ev, __, __, D64)

/* ---- two-byte opcode map, 0F xx (SDM vol 2 table A-3) ---- */
H(0x00, 0, SLDT, Ev, __, __, 0)
H(0x00, 1, STR, Ev, __, __, 0)
H(0x00, 2, LLDT, Ew, __, __, END)
H(0x00, 3, LTR, Ew, __, __, END)
H(0x00, 4, VERR, Ew, __, __, 0)
H(0x00, 5, VERW, Ew, __, __, 0)
HM(0x01, 0, SGDT, M, __, __, 0)
HM(0x01, 1, SIDT, M, __, __, 0)
HM(0x01, 2, LGDT, M, __, __, END)
HM(0x01, 3, LIDT, M, __, __, END)
HM(0x01, 7, INVLPG, M, __, __, END)
HR(0x01, 0, GRP7_REG, __, __, __, END)  /* VMX: rm selects */
HR(0x01, 1, GRP7_REG, __, __, __, END)  /* MONITOR MWAIT CLAC STAC */
HR(0x01, 2, GRP7_REG, __, __, __, END)  /* XGETBV XSETBV */
HR(0x01, 5, GRP7_REG, __, __, __, END)  /* RDPKRU WRPKRU */
HR(0x01, 7, GRP7_REG, __, __, __, END)  /* SWAPGS RDTSCP */
H(0x01, 4, SMSW, Ev, __, __, 0)
H(0x01, 6, LMSW, Ew, __, __, END)
B(0x02, LAR, Gv, Ew, __, 0)
B(0x03, LSL, Gv, Ew, __, 0)
B(0x05, SYSCALL, __, __, __, END)
B(0x06, CLTS, __, __, __, END)
B(0x07, SYSRET, __, __, __, END)
B(0x08, INVD, __, __, __, 0)
B(0x09, WBINVD, __, __, __, 0)
B(0x0b, UD, __, __, __, END)
B(0x0d, NOP, Ev, __, __, 0)             /* PREFETCHW */
RANGE8B(0x18, NOP, Ev, __, 0)           /* hint NOPs, 0F 1F /0 */
B(0x20, MOV_FROM_CR, Ry, Cd, __, F64)
B(0x21, MOV_FROM_DR, Ry, Dd, __, F64)
B(0x22, MOV_TO_CR, Cd, Ry, __, F64 | END)
B(0x23, MOV_TO_DR, Dd, Ry, __, F64 | END)
B(0x30, WRMSR, __, __, __, END)
B(0x31, RDTSC, __, __, __, 0)
B(0x32, RDMSR, __, __, __, 0)
B(0x33, RDPMC, __, __, __, 0)
B(0x34, SYSENTER, __, __, __, END)
B(0x35, SYSEXIT, __, __, __, END)
RANGE8B(0x40, CMOV, Gv, Ev, 0)
RANGE8B(0x48, CMOV, Gv, Ev, 0)
RANGE8B(0x80, JCC, Jz, __, F64 | END)
RANGE8B(0x88, JCC, Jz, __, F64 | END)
RANGE8B(0x90, SETCC, Eb, __, BYTE)
RANGE8B(0x98, SETCC, Eb, __, BYTE)
B(0xa0, PUSH_SEG, __, __, __, D64)      /* PUSH FS */
B(0xa1, POP_SEG, __, __, __, D64)       /* POP FS */
B(0xa2, CPUID, __, __, __, 0)
B(0xa3, BT, Ev, Gv, __, 0)
B(0xa4, SHLD, Ev, Gv, Ib, 0)
B(0xa5, SHLD, Ev, Gv, CL, 0)
B(0xa8, PUSH_SEG, __, __, __, D64)      /* PUSH GS */
B(0xa9, POP_SEG, __, __, __, D64)       /* POP GS */
B(0xaa, RSM, __, __, __, END)
B(0xab, BTS, Ev, Gv, __, LOCK)
B(0xac, SHRD, Ev, Gv, Ib, 0)
B(0xad, SHRD, Ev, Gv, CL, 0)
HM(0xae, 0, FXSAVE, M, __, __, 0)
HM(0xae, 1, FXRSTOR, M, __, __, 0)
HM(0xae, 2, LDMXCSR, Md, __, __, 0)
HM(0xae, 3, STMXCSR, Md, __, __, 0)
HM(0xae, 7, CLFLUSH, M, __, __, 0)
HR(0xae, 5, FENCE, __, __, __, 0)       /* LFENCE */
HR(0xae, 6, FENCE, __, __, __, 0)       /* MFENCE */
HR(0xae, 7, FENCE, __, __, __, 0)       /* SFENCE */
B(0xaf, IMUL2, Gv, Ev, __, 0)
B(0xb0, CMPXCHG, Eb, Gb, __, LOCK | BYTE)
B(0xb1, CMPXCHG, Ev, Gv, __, LOCK)
B(0xb2, LSS, Gv, Mp, __, 0)
B(0xb3, BTR, Ev, Gv, __, LOCK)
B(0xb4, LFS, Gv, Mp, __, 0)
B(0xb5, LGS, Gv, Mp, __, 0)
B(0xb6, MOVZX, Gv, Eb, __, 0)
B(0xb7, MOVZX, Gv, Ew, __, 0)
X86_INSN(1, 0xb8, PF3, -1, MA, POPCNT, Gv, Ev, __, 0)
X86_INSN(2, 0x82, P66, -1, MM, INVPCID, Gy, Mdq, __, END)
B(0xb9, UD, Gv, Ev, __, END)            /* UD1 */
H(0xba, 4, BT, Ev, Ib, __, 0)
H(0xba, 5, BTS, Ev, Ib, __, LOCK)
H(0xba, 6, BTR, Ev, Ib, __, LOCK)
H(0xba, 7, BTC, Ev, Ib, __, LOCK)
B(0xbb, BTC, Ev, Gv, __, LOCK)
B(0xbc, BSF, Gv, Ev, __, 0)
B(0xbd, BSR, Gv, Ev, __, 0)
B(0xbe, MOVSX, Gv, Eb, __, 0)
B(0xbf, MOVSX, Gv, Ew, __, 0)
B(0xc0, XADD, Eb, Gb, __, LOCK | BYTE)
B(0xc1, XADD, Ev, Gv, __, LOCK)
HM(0xc7, 1, CMPXCHG8B, Mq, __, __, LOCK)
RANGE8B(0xc8, BSWAP, Zv, __, 0)

/* MMX, SSE, SSE2, SSE3, SSSE3 forms (simd) */
#include "insn-sse-table.h"

#undef A
#undef G
#undef B
#undef H
#undef HM
#undef HR
#undef P
#undef ALU
#undef GRP1
#undef GRP2
#undef RANGE8
#undef RANGE8B
