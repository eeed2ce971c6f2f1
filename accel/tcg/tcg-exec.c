/*
 * The execution loop of one vCPU: find the next block, run it through
 * its translation or the interpreter, and between blocks let the CPU
 * take its events (tcg_cpu_*() of target/i386/tcg/cpu-exec.c), notice
 * HLT, stop requests and kicks.  Exceptions unwind (longjmp) to the
 * loop, which has the CPU deliver them.
 *
 * The big lock is not held while guest code runs; it is taken to
 * acknowledge an interrupt (the PIC is a device) and by the memory
 * interface around device accesses.
 */
#include "qlite/apic.h"
#include "qlite/tcg.h"

int tcg_exec_kicked;            /* atomic: leave at the next boundary */

void tcg_exec_kick(void)
{
    g_atomic_int_set(&tcg_exec_kicked, 1);
}

static inline bool exec_should_leave(CPUState *cpu)
{
    return g_atomic_int_get(&tcg_exec_kicked) ||
           g_atomic_int_get(&cpu->exit_request) ||
           cpu_should_stop(cpu) || cpu->halted;
}

/*
 * The same through the block's host code (tcg-jit.c), which may go on
 * through up to @budget linked blocks.
 */
static void exec_translated(X86CPUState *env, TcgBlock *tb, int32_t budget)
{
    tcg_cpu_block_entry(env);
    tcg_jit_budget = budget;
    tb->jit(env);
}

void tcg_exec_block_translated(X86CPUState *env, TcgBlock *tb)
{
    /* No budget: the block leaves instead of going on to the next. */
    exec_translated(env, tb, 0);
}

void *tcg_jit_next_code(X86CPUState *env)
{
    CPUState *cpu = env->cs;
    TcgCPU *tc = cpu->accel;
    TcgBlock *tb;

    if (g_atomic_int_get(&tcg_exec_kicked) || --tcg_jit_budget < 0 ||
        tcg_tb_gc_wanted || g_atomic_int_get(&cpu->interrupt_request)) {
        return NULL;
    }
    tb = tcg_block_next_inline(env, tc);
    if (!tb->cached) {
        tcg_block_release(tb);
        return NULL;
    }
    if (!tcg_jit_usable(env, tb)) {
        return NULL;
    }
    tcg_cpu_block_entry(env);
    return tb->jit_body;
}

/* ---- the loop --------------------------------------------------------- */

/*
 * Run blocks in one setjmp frame.  Returns true when an exception ended
 * the frame and the slice should go on in a new one.
 */
static bool exec_frame(CPUState *cpu, X86CPUState *env, TcgCPU *tc,
                       unsigned *budget)
{
    if (setjmp(env->jmp_env)) {
        tcg_tb_set_running(NULL);
        tc->chain.tb = NULL;
        tcg_cpu_deliver_exception(cpu, env, tc);
        return !exec_should_leave(cpu) && *budget > 0;
    }
    while (!exec_should_leave(cpu) && *budget > 0) {
        TcgBlock *tb;
        bool usable;

        if (g_atomic_int_get(&tcg_mem_dirty_pending)) {
            tcg_mem_drop_written_code(env);
        }
        if (tcg_tb_gc_wanted) {
            tcg_tb_gc();
        }
        tcg_cpu_interrupts(cpu, env, tc);
        if (cpu->halted) {
            break;
        }
        if (tcg_cpu_step_if_needed(env, tc)) {
            (*budget)--;
            continue;
        }
        tb = tcg_block_next_inline(env, tc);
        tcg_cpu_trace_block(env, tb);
        usable = tcg_jit_usable(env, tb);
        if (tcg_jit_pending_link) {
            tcg_jit_link_pending(env, tb);
        }
        if (usable) {
            exec_translated(env, tb, TCG_JIT_CHAIN_BUDGET);
            stats_inc(&tc->stats[TCG_STAT_BLOCKS_TRANSLATED]);
            /* Each chained jump took one from the budget. */
            stats_add(&tc->stats[TCG_STAT_BLOCKS_CHAINED],
                      TCG_JIT_CHAIN_BUDGET - MAX(tcg_jit_budget, 0));
        } else {
            tcg_exec_block_interp(env, tc, tb);
        }
        tcg_block_release(tb);
        (*budget)--;
    }
    return false;
}

/* Why the slice ended, for the exit counters (most telling first). */
static TcgStat exec_exit_reason(CPUState *cpu, unsigned budget)
{
    if (cpu->halted) {
        return TCG_STAT_HALTS;
    }
    if (cpu_should_stop(cpu)) {
        return TCG_STAT_EXIT_STOP;
    }
    return budget ? TCG_STAT_EXIT_KICK : TCG_STAT_EXIT_SLICE;
}

void tcg_exec_cpu(CPUState *cpu, unsigned budget)
{
    X86CPUState *env = x86_env(cpu);
    TcgCPU *tc = cpu->accel;
    unsigned slice = budget;

    uint32_t req;

    g_atomic_int_set(&tcg_exec_kicked, 0);
    g_atomic_int_set(&cpu->exit_request, 0);
    apic_set_current_cpu(cpu);
    tc->chain.tb = NULL;
    tcg_jit_pending_link = NULL;    /* it was another vCPU's exit */
    req = g_atomic_int_get(&cpu->interrupt_request);
    if (req & (CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI)) {
        tcg_cpu_init_sipi(cpu, env, tc, req);
    }
    if (cpu->halted && tcg_exec_has_work(cpu)) {
        /* Wake up; tcg_cpu_interrupts() takes the interrupt. */
        cpu->halted = false;
    }
    while (exec_frame(cpu, env, tc, &budget)) {
        /* a new frame after each delivered exception */
    }
    /* Every block the loop ran took one from the budget: no count each. */
    stats_add(&tc->stats[TCG_STAT_BLOCKS_LOOP], slice - budget);
    stats_inc(&tc->stats[exec_exit_reason(cpu, budget)]);
}
