/*
 * Shared internals of the x87, MMX and SSE execution files
 * (exec-sse-*.c, exec-x87*.c, exec-fxsave.c): the availability checks
 * (CR0.EM/TS/MP, CR4.OSFXSR/OSXMMEXCPT, pending x87 exceptions, CPUID),
 * MMX register access through the x87 register file, and operand fetch.
 */
#ifndef TARGET_I386_SSE_H
#define TARGET_I386_SSE_H

#include "exec.h"
#include "cpuid.h"

/* x87 status word bits (SDM vol 1 8.1.3) */
#define FPUS_IE     (1u << 0)
#define FPUS_DE     (1u << 1)
#define FPUS_ZE     (1u << 2)
#define FPUS_OE     (1u << 3)
#define FPUS_UE     (1u << 4)
#define FPUS_PE     (1u << 5)
#define FPUS_SF     (1u << 6)
#define FPUS_ES     (1u << 7)
#define FPUS_C0     (1u << 8)
#define FPUS_C1     (1u << 9)
#define FPUS_C2     (1u << 10)
#define FPUS_TOP    (7u << 11)
#define FPUS_C3     (1u << 14)
#define FPUS_B      (1u << 15)
#define FPUS_EXC    0x3fu

/* MXCSR bits (SDM vol 1 10.2.3) */
#define MXCSR_FLAGS     0x3fu
#define MXCSR_IE        (1u << 0)
#define MXCSR_DE        (1u << 1)
#define MXCSR_ZE        (1u << 2)
#define MXCSR_MASKS     (0x3fu << 7)
#define MXCSR_MASK_SHIFT 7

/* Which instruction family a check is for. */
typedef enum {
    SIMD_SSE,           /* SSE..SSE4 on XMM registers only */
    SIMD_SSE_MMX,       /* an SSE instruction that touches an MMX register */
    SIMD_MMX,           /* MMX (and SSE's MMX-register integer forms) */
} SimdKind;

/*
 * #UD / #NM / #MF checks before an MMX or SSE instruction (SDM vol 3
 * table 2-2 and 12.5/13.1), and the CPUID feature the instruction belongs
 * to (@word < 0: none).  An MMX instruction then calls simd_mmx_enter()
 * once its memory operand has been accessed: a fault leaves the x87 state
 * as it was.
 */
void simd_check(X86CPUState *env, SimdKind kind, int word, uint32_t bit);

/* x87 and MMX share one state: entering MMX mode sets TOP 0, all valid. */
static inline void simd_mmx_enter(X86CPUState *env)
{
    env->fptop = 0;
    memset(env->fptags, 0, sizeof(env->fptags));
}

static inline uint64_t simd_mmx_get(X86CPUState *env, unsigned r)
{
    return env->fpregs[r & 7].raw.mant;
}

/* An MMX write also sets the register's exponent field to all ones. */
static inline void simd_mmx_set(X86CPUState *env, unsigned r, uint64_t v)
{
    env->fpregs[r & 7].raw.mant = v;
    env->fpregs[r & 7].raw.exp = 0xffff;
}

/* A pending unmasked x87 exception (FSW.ES) raises #MF here. */
void simd_fpu_pending(X86CPUState *env);

/*
 * The XMM source operand (Wx/Ux): the register, or @bytes (4, 8 or 16) of
 * memory read into @tmp (zero-filled above); @aligned: 16-byte alignment
 * is required (#GP(0)).
 */
const X86XMMReg *simd_src_xmm(X86CPUState *env, const X86Insn *in,
                              X86XMMReg *tmp, unsigned bytes, bool aligned);
/* The MMX source operand (Qq/Nq): register or 8 bytes of memory. */
uint64_t simd_src_mmx(X86CPUState *env, const X86Insn *in);

/*
 * MXCSR after a SIMD floating-point operation that raised @flags (as
 * computed with every exception masked): unmasked ones raise #XM (#UD
 * without CR4.OSXMMEXCPT) and the caller must not write its result.
 */
void simd_mxcsr_update(X86CPUState *env, uint32_t flags);

/* FXSAVE area <-> state (exec-fxsave.c), for FXSAVE/FXRSTOR and tests. */
void x86_fxsave_image(X86CPUState *env, uint8_t img[512], bool rex_w);
/* Returns false when the MXCSR image has reserved bits set (#GP). */
bool x86_fxrstor_image(X86CPUState *env, const uint8_t img[512],
                       bool rex_w);
/* The 16-bit x87 tag word computed from the register contents. */
uint16_t x86_fpu_full_tags(const X86CPUState *env);
/* FSW with TOP folded in. */
static inline uint16_t x86_fpu_status(const X86CPUState *env)
{
    return (env->fpus & ~FPUS_TOP) | ((env->fptop & 7) << 11);
}

/*
 * What the host CPU has, for the few guest instructions that run as the
 * same host instruction and exist only from SSE3 (ADDSUBPS, HADDPS,
 * FISTTP) or SSE4.1 (ROUND*, DPPS, DPPD): without it they are #UD in the
 * guest rather than SIGILL in qlite.
 */
extern bool simd_host_sse3, simd_host_sse41;

/* Handler registration, one per file. */
void x86_exec_sse_int_init(void);
void x86_exec_sse_mov_init(void);
void x86_exec_sse_fp_init(void);
void x86_exec_x87_init(void);
void x86_exec_sse4_init(void);
void x86_exec_sse42_init(void);
void x86_exec_fxsave_init(void);

#endif
