/*
 * The x86 CPU's side of tcg's execution loop (cpu-exec.c): what the loop
 * in accel/tcg/tcg-exec.c asks the CPU between and around blocks.  Seen
 * from outside target/i386 only through qlite/x86-cpu.h.
 */
#ifndef TARGET_I386_TCG_CPU_H
#define TARGET_I386_TCG_CPU_H

#include "../exec.h"

typedef struct CPUState CPUState;
typedef struct TcgBlock TcgBlock;
typedef struct TcgCPU TcgCPU;

/* A block starts: the interrupt shadow covered the boundary before it. */
static inline void tcg_cpu_block_entry(X86CPUState *env)
{
    env->int_shadow = false;
}

/* At a slice's start: a pending INIT or SIPI (@req: interrupt_request). */
void tcg_cpu_init_sipi(CPUState *cpu, X86CPUState *env, TcgCPU *tc,
                       uint32_t req);
/* Between blocks: take what interrupt_request asks; delivery may raise. */
void tcg_cpu_take_interrupts(CPUState *cpu, X86CPUState *env, TcgCPU *tc,
                             uint32_t req);
static inline void tcg_cpu_interrupts(CPUState *cpu, X86CPUState *env,
                                      TcgCPU *tc)
{
    uint32_t req = __atomic_load_n(&cpu->interrupt_request, __ATOMIC_SEQ_CST);

    if (req) {
        tcg_cpu_take_interrupts(cpu, env, tc, req);
    }
}
/* Can the vCPU run now (not halted, or halted with an event)? */
bool tcg_exec_has_work(CPUState *cpu);
/* One instruction alone, bracketed by the debug checks (debug.c). */
void tcg_cpu_step(X86CPUState *env, TcgCPU *tc);
/*
 * Before a block: run one instruction alone when the boundary after it
 * matters (single step, interrupt shadow, breakpoints); true if it did.
 */
static inline bool tcg_cpu_step_if_needed(X86CPUState *env, TcgCPU *tc)
{
    if (env->hflags & HF_STEP) {
        tcg_cpu_step(env, tc);
        return true;
    }
    if (env->eflags & RF_MASK) {
        /* No breakpoint to skip: RF ends with the next instruction. */
        env->eflags &= ~RF_MASK;
    }
    return false;
}
/* Run @tb in the interpreter, as the loop would. */
void tcg_exec_block_interp(X86CPUState *env, TcgCPU *tc, TcgBlock *tb);
/* After the longjmp: deliver the exception in env->exc_* (or shut down). */
void tcg_cpu_deliver_exception(CPUState *cpu, X86CPUState *env, TcgCPU *tc);
/* QLITE_TCG_TRACE=1: one line per block run. */
extern bool tcg_cpu_block_trace;
void tcg_cpu_trace_init(void);
void tcg_cpu_trace_block_line(X86CPUState *env, const TcgBlock *tb);
static inline void tcg_cpu_trace_block(X86CPUState *env, const TcgBlock *tb)
{
    if (__builtin_expect(tcg_cpu_block_trace, 0)) {
        tcg_cpu_trace_block_line(env, tb);
    }
}

#endif
