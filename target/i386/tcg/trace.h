/*
 * CPU trace for debugging guests: every instruction with its registers,
 * every exception and interrupt delivered.  Off unless QLITE_TRACE_CPU
 * names a file; the hooks in the loop cost one test of tcg_trace_on.
 *
 *   QLITE_TRACE_CPU=FILE          where to write ("-" for stderr)
 *   QLITE_TRACE_CPU_FLAGS=LIST    insn,exc,int,io (default exc,int)
 *   QLITE_TRACE_CPU_SKIP=N        instructions not logged at first
 *   QLITE_TRACE_CPU_COUNT=N       instructions logged at most
 *
 * The instruction lines are what scripts/cpu-trace-diff.py compares with
 * QEMU's "-singlestep -d cpu,nochain" log to find the first divergence.
 */
#ifndef TARGET_I386_TCG_TRACE_H
#define TARGET_I386_TCG_TRACE_H

#include "../exec.h"

extern bool tcg_trace_on;

/* Read the environment (once, before the vCPUs run). */
void tcg_trace_init(void);
/* Before @in runs (env->rip is its address). */
void tcg_trace_insn(X86CPUState *env, const X86Insn *in);
/* Before the exception in env->exc_* is delivered. */
void tcg_trace_exception(X86CPUState *env);
/* Before external interrupt @vector is delivered. */
void tcg_trace_interrupt(X86CPUState *env, int vector);

/*
 * A device access: @kind 'r'/'w' for MMIO, 'i'/'o' for ports (not RAM,
 * which the TLB reaches without this interface).
 */
void tcg_trace_io(char kind, uint64_t addr, unsigned size, uint64_t val);

#endif
