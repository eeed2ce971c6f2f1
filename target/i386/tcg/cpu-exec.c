/*
 * The x86 CPU's side of tcg's execution loop (accel/tcg/tcg-exec.c): the
 * interpreter's run of a decoded block, single steps, and between
 * blocks what the SDM says happens at an instruction boundary: INIT and
 * SIPI, NMI and external interrupts with their shadows, and delivery of
 * the exception that unwound to the loop (SDM vol 3 6.4-6.9, 8.4).
 */
#include "qlite/apic.h"
#include "qlite/main-loop.h"
#include "qlite/runstate.h"
#include "qlite/tcg.h"

bool tcg_cpu_block_trace;

void tcg_cpu_trace_init(void)
{
    tcg_cpu_block_trace = g_getenv("QLITE_TCG_TRACE") != NULL;
}

/* Trace point: one line per block run (debugging guests and the core). */
void tcg_cpu_trace_block_line(X86CPUState *env, const TcgBlock *tb)
{
    fprintf(stderr, "tcg: cpu %d %04x:%016" PRIx64 " phys %" PRIx64
            " n %u rax %" PRIx64 " rsp %" PRIx64 "\n", env->cs->index,
            env->segs[R_CS].selector, env->rip, tb->phys, tb->n,
            env->regs[R_EAX], env->regs[R_ESP]);
}

/*
 * Run the instructions of @tb.  A block stops early when an instruction
 * did not fall through (a REP slice left rip on itself, a fault handler
 * moved it), changed the mode bits, or stored over the block itself.
 * This is the interpreter's inner loop: it keeps to what x86_exec_insn()
 * does, with the handler already resolved.
 */
static void exec_block(X86CPUState *env, TcgCPU *tc, TcgBlock *tb)
{
    const TcgOp *op = tb->ops;
    const TcgOp *end = tb->ops + tb->n;
    uint32_t hflags = env->hflags;
    uint64_t wrap = tb->mode == X86_MODE64 ? UINT64_MAX :
                    tb->mode == X86_MODE32 ? UINT32_MAX : 0xffff;
    uint64_t rip = env->rip;        /* the current instruction's */

    tcg_cpu_block_entry(env);
    tcg_tb_set_running(tb);
    for (; op < end; op++) {
        uint64_t next = (rip + op->insn.len) & wrap;

        if (op->pure) {
            /* Registers only: env->rip may lag until the next one. */
            op->fn(env, &op->insn);
            rip = next;
            continue;
        }
        env->rip = rip;
        if (tcg_trace_on) {
            tcg_trace_insn(env, &op->insn);
        }
        op->fn(env, &op->insn);
        if (!(op->insn.flags & (X86_F_END | X86_F_REP))) {
            env->rip = next;
        }
        rip = env->rip;
        if (rip != next || env->hflags != hflags ||
            tcg_tb_running_stale) {
            op++;
            break;
        }
    }
    env->rip = rip;
    tcg_tb_set_running(NULL);
}

/* One block by either path: the translator's tests compare the two. */
void tcg_exec_block_interp(X86CPUState *env, TcgCPU *tc, TcgBlock *tb)
{
    exec_block(env, tc, tb);
}

/*
 * One instruction on its own, while HF_STEP says that the boundary after
 * it matters: an interrupt shadow ends there (SDM vol 3A 6.8.3), or a
 * single-step or breakpoint trap is due (debug.c).  Either raise unwinds.
 */
void tcg_cpu_step(X86CPUState *env, TcgCPU *tc)
{
    X86DebugStep st;
    TcgBlock *tb;
    unsigned op;

    x86_debug_insn_begin(env, &st);
    tb = tcg_block_one(env);
    op = tb->ops[0].insn.op;
    exec_block(env, tc, tb);
    tcg_block_release(tb);
    x86_debug_insn_end(env, &st, op);
}

/* ---- events between blocks ------------------------------------------ */

/* SIPI: start the AP in real mode at vector * 4 KiB (SDM vol 3 8.4.4). */
static void exec_sipi(X86CPUState *env, TcgCPU *tc, uint32_t vector)
{
    env->segs[R_CS].selector = (vector & 0xff) << 8;
    env->segs[R_CS].base = (uint64_t)(vector & 0xff) << 12;
    env->rip = 0;
    tc->wait_sipi = false;
    tc->cpu->halted = false;
}

void tcg_cpu_init_sipi(CPUState *cpu, X86CPUState *env, TcgCPU *tc,
                       uint32_t req)
{
    if (req & CPU_INTERRUPT_INIT) {
        /* A SIPI already pending is for after this INIT: keep it. */
        cpu_reset_interrupt(cpu, CPU_INTERRUPT_INIT);
        x86_cpu_reset(env);
        x86_lapic_init_reset(env);
        if (cpu->index != 0) {
            tc->wait_sipi = true;
            cpu->halted = true;
        }
        return;
    }
    cpu_reset_interrupt(cpu, CPU_INTERRUPT_SIPI);
    if (tc->wait_sipi) {
        exec_sipi(env, tc, cpu->sipi_vector);
    }
}

/* An external interrupt, when EFLAGS.IF and no interrupt shadow allow. */
static void exec_hard_interrupt(CPUState *cpu, X86CPUState *env)
{
    int vector;

    bql_lock();
    vector = apic_intr_ack(cpu);
    bql_unlock();
    if (vector < 0) {
        /* Nothing behind the line after all: don't spin on it. */
        cpu_reset_interrupt(cpu, CPU_INTERRUPT_HARD);
        return;
    }
    cpu->halted = false;
    tcg_stat_env(env, TCG_STAT_IRQS);
    if (tcg_trace_on) {
        tcg_trace_interrupt(env, vector);
    }
    x86_deliver_interrupt(env, vector);
}

/* Take what interrupt_request asks for; delivery may raise (unwinds). */
void tcg_cpu_take_interrupts(CPUState *cpu, X86CPUState *env, TcgCPU *tc,
                             uint32_t req)
{
    if (req & (CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI)) {
        tcg_cpu_init_sipi(cpu, env, tc, req);
        return;
    }
    if (req & (CPU_INTERRUPT_SMI | CPU_INTERRUPT_POLL | CPU_INTERRUPT_RESET)) {
        /* No SMM and no polled APIC here: nothing to do for them. */
        cpu_reset_interrupt(cpu, CPU_INTERRUPT_SMI | CPU_INTERRUPT_POLL |
                                 CPU_INTERRUPT_RESET);
    }
    if (tc->wait_sipi || tc->dead || env->int_shadow || env->dbg_pending) {
        /* The shadow's boundary; or a #DB trap first (SDM 6.9). */
        return;
    }
    if ((req & CPU_INTERRUPT_NMI) && !env->nmi_blocked) {
        cpu_reset_interrupt(cpu, CPU_INTERRUPT_NMI);
        cpu->halted = false;
        tcg_stat_env(env, TCG_STAT_NMIS);
        x86_deliver_interrupt(env, EXCP_NMI);
    } else if ((req & CPU_INTERRUPT_HARD) && (env->eflags & IF_MASK)) {
        exec_hard_interrupt(cpu, env);
    }
}

bool tcg_exec_has_work(CPUState *cpu)
{
    TcgCPU *tc = cpu->accel;
    uint32_t req = g_atomic_int_get(&cpu->interrupt_request);

    if (!cpu->halted) {
        return !tc->dead;
    }
    if (req & (CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI)) {
        return true;
    }
    if (tc->wait_sipi || tc->dead) {
        return false;
    }
    return ((req & CPU_INTERRUPT_NMI) && !tc->env->nmi_blocked) ||
           ((req & CPU_INTERRUPT_HARD) && (tc->env->eflags & IF_MASK));
}

/* ---- exceptions ------------------------------------------------------ */

/* Triple fault: the processor shuts down; the board resets (or exits). */
static void exec_triple_fault(CPUState *cpu, TcgCPU *tc)
{
    tc->dead = true;
    cpu->halted = true;
    qlite_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
}

/*
 * Deliver the exception in env->exc_*.  A fault during delivery unwinds
 * to the setjmp here and is delivered in turn (the system side has
 * already turned it into #DF or a triple fault as table 6-5 says).
 */
void tcg_cpu_deliver_exception(CPUState *cpu, X86CPUState *env, TcgCPU *tc)
{
    setjmp(env->jmp_env);
    if (env->triple_fault) {
        exec_triple_fault(cpu, tc);
        return;
    }
    if (env->exc_vector >= 0) {
        tcg_stat_env(env, TCG_STAT_EXCEPTIONS);
        if (tcg_trace_on) {
            tcg_trace_exception(env);
        }
        x86_deliver_exception(env);
    }
    env->exc_vector = -1;
    env->exc_prev = -1;
}
