/*
 * The execution loop of one vCPU: find the next block, run it through
 * its translation or the interpreter, and between blocks let the CPU
 * take its events (tcg_cpu_*() of target/i386/tcg/cpu-exec.c), notice
 * HLT, stop requests and kicks.  Exceptions unwind (longjmp) to the
 * loop, which has the CPU deliver them.
 *
 * The big lock is not held while guest code runs; it is taken to
 * acknowledge an interrupt (the PIC is a device) and by the memory
 * interface around device accesses.  With a thread per vCPU, work that
 * no vCPU may run during (freeing blocks, a new memory map) is left to
 * the thread loop's exclusive section (tcg-all.c): the loop only leaves.
 */
#include "qlite/apic.h"
#include "qlite/tcg.h"

void tcg_exec_kick(X86CPUState *env)
{
    g_atomic_int_set(&env->exec_kicked, 1);
}

void tcg_exec_kick_all(void)
{
    for (int i = 0; i < cpu_count(); i++) {
        CPUState *cpu = cpu_get(i);

        if (cpu->arch) {
            tcg_exec_kick(x86_env(cpu));
        }
    }
}

void tcg_exec_request_protect(X86CPUState *env, uint64_t page)
{
    TcgCPU *tc = env->exec;

    g_mutex_lock(&tc->protect_lock);
    if (tc->protect_count < G_N_ELEMENTS(tc->protect_pages)) {
        tc->protect_pages[tc->protect_count++] = page;
    } else {
        tc->protect_overflow = true;
    }
    g_atomic_int_set(&tc->protect_pending, 1);
    g_mutex_unlock(&tc->protect_lock);
    tcg_exec_kick(env);
}

/* This vCPU's thread: drop the write entries other vCPUs asked for. */
static void exec_protect_pages(X86CPUState *env, TcgCPU *tc)
{
    uint64_t pages[G_N_ELEMENTS(tc->protect_pages)];
    unsigned n;
    bool all;

    g_mutex_lock(&tc->protect_lock);
    n = tc->protect_count;
    memcpy(pages, tc->protect_pages, n * sizeof(pages[0]));
    all = tc->protect_overflow;
    tc->protect_count = 0;
    tc->protect_overflow = false;
    g_atomic_int_set(&tc->protect_pending, 0);
    g_mutex_unlock(&tc->protect_lock);
    if (all) {
        x86_tlb_flush(env, true);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        x86_tlb_protect_phys(env, pages[i]);
    }
}

static inline bool exec_should_leave(CPUState *cpu)
{
    return g_atomic_int_get(&x86_env(cpu)->exec_kicked) ||
           g_atomic_int_get(&cpu->exit_request) ||
           cpu_should_stop(cpu) || cpu->halted ||
           (tcg_threads_multi && tcg_tb_gc_wanted);
}

/*
 * The same through the block's host code (tcg-jit.c), which may go on
 * through up to @budget linked blocks.
 */
static void exec_translated(X86CPUState *env, TcgBlock *tb, int32_t budget)
{
    TcgJitFn *fn = __atomic_load_n(&tb->jit, __ATOMIC_ACQUIRE);

    tcg_cpu_block_entry(env);
    env->exec_budget = budget;
    fn(env);
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

    if (g_atomic_int_get(&env->exec_kicked) || --env->exec_budget < 0 ||
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

/* Take @n from the turn's @budget (to 0 at least). */
static inline void exec_spend(unsigned *budget, unsigned n)
{
    *budget -= MIN(*budget, n);
}

/*
 * Run blocks in one setjmp frame, counting the loop's in @loops.
 * Returns true when an exception ended the frame and the slice should
 * go on in a new one.
 */
static bool exec_frame(CPUState *cpu, X86CPUState *env, TcgCPU *tc,
                       unsigned *budget, unsigned *loops)
{
    if (setjmp(env->jmp_env)) {
        tcg_tb_set_running(NULL);
        tcg_cpu_deliver_exception(cpu, env, tc);
        return !exec_should_leave(cpu) && *budget > 0;
    }
    while (!exec_should_leave(cpu) && *budget > 0) {
        TcgBlock *tb;
        bool usable;

        if (g_atomic_int_get(&tcg_mem_dirty_pending)) {
            tcg_mem_drop_written_code(env);
        }
        if (g_atomic_int_get(&tc->protect_pending)) {
            exec_protect_pages(env, tc);
        }
        if (tcg_tb_gc_wanted && !tcg_threads_multi) {
            tcg_tb_gc();
        }
        tcg_cpu_interrupts(cpu, env, tc);
        if (cpu->halted) {
            break;
        }
        (*loops)++;
        if (tcg_cpu_step_if_needed(env, tc)) {
            exec_spend(budget, TCG_LOOP_BLOCK_COST);
            continue;
        }
        tb = tcg_block_next_inline(env, tc);
        tcg_cpu_trace_block(env, tb);
        usable = tcg_jit_usable(env, tb);
        if (env->exec_pending_link) {
            tcg_jit_link_pending(env, tb);
        }
        if (usable) {
            int32_t chain = MIN(TCG_JIT_CHAIN_BUDGET, *budget);
            unsigned chained;

            exec_translated(env, tb, chain);
            /* Each chained jump took one from the budget. */
            chained = chain - MAX(env->exec_budget, 0);
            stats_inc(&tc->stats[TCG_STAT_BLOCKS_TRANSLATED]);
            stats_add(&tc->stats[TCG_STAT_BLOCKS_CHAINED], chained);
            exec_spend(budget, chained);
        } else {
            tcg_exec_block_interp(env, tc, tb);
        }
        tcg_block_release(tb);
        exec_spend(budget, TCG_LOOP_BLOCK_COST);
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
    unsigned loops = 0;

    uint32_t req;

    /* The caller cleared the kick before it last looked for work. */
    apic_set_current_cpu(cpu);
    if (g_atomic_int_get(&tc->protect_pending)) {
        exec_protect_pages(env, tc);
    }
    req = g_atomic_int_get(&cpu->interrupt_request);
    if (req & (CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI)) {
        tcg_cpu_init_sipi(cpu, env, tc, req);
    }
    if (cpu->halted && tcg_exec_has_work(cpu)) {
        /* Wake up; tcg_cpu_interrupts() takes the interrupt. */
        cpu->halted = false;
    }
    while (exec_frame(cpu, env, tc, &budget, &loops)) {
        /* a new frame after each delivered exception */
    }
    stats_add(&tc->stats[TCG_STAT_BLOCKS_LOOP], loops);
    stats_inc(&tc->stats[exec_exit_reason(cpu, budget)]);
}
