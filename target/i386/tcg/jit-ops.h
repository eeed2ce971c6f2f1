/*
 * Between the x86 instruction translators: the integer ones
 * (jit-ops.c) lend the memory operand, soft TLB and register pieces to
 * the SSE ones (jit-sse.c).
 */
#ifndef TARGET_I386_TCG_JIT_OPS_H
#define TARGET_I386_TCG_JIT_OPS_H

#include "qlite/tcg-jit.h"

/*
 * Store a guest register from a host one (4 bytes: zero-extended in @r),
 * or load one into @r zero-extended, wherever the block keeps it (env,
 * or a host register: JitCtx.cache_slot).  Every access to a guest
 * register in translated code goes through these.
 */
void jit_greg_store(JitCtx *c, unsigned size, unsigned g, JaReg r);
void jit_greg_load(JitCtx *c, unsigned size, JaReg r, unsigned g);
/*
 * The linear address of @in's memory operand into RSI for @size bytes
 * (@write: stored); false: the handler must do it.  Uses RDX.
 */
bool jit_mem_addr(JitCtx *c, const X86Insn *in, unsigned size, bool write);
/*
 * The soft TLB's fast path for @size bytes at linear RSI: RSI becomes
 * the host address, or a stub of @kind (returned) takes the miss.
 * Clobbers RAX, RDX and the flags.
 */
JitStub *jit_tlb(JitCtx *c, unsigned size, bool write, JitStubKind kind);
/*
 * RSI = the host address of @in's @size-byte memory operand, for an
 * instruction whose whole work the handler does instead (the returned
 * stubs) on a TLB miss and, with @align above 1, on an address not
 * aligned to @align.  False: the handler must do it.
 */
bool jit_mem_whole(JitCtx *c, const X86Insn *in, unsigned size, bool write,
                   unsigned align, JitStub **stubs);
/* jit_mem_whole()'s stubs go on here, after the instruction. */
void jit_whole_rejoin(JitCtx *c, JitStub **stubs);
/* Load @size bytes of guest memory at RSI (segment @seg) into RAX. */
void jit_load(JitCtx *c, unsigned size, unsigned seg);
/* Store the low @size bytes of RCX at guest RSI (segment @seg). */
void jit_store(JitCtx *c, unsigned size, unsigned seg);

/* ---- jit-sse.c ---------------------------------------------------- */

/* Is @in an SSE instruction jit_sse() translates? */
bool jit_sse_takes(const X86Insn *in);
/* Translate it; false: leave it to its handler. */
bool jit_sse(JitCtx *c, const X86Insn *in);

#endif
