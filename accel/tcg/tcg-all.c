/*
 * The "tcg" accelerator: qlite's own x86-64 CPU emulator.
 *
 * One thread runs every vCPU in turn, a slice of blocks each.  When no
 * vCPU can run (all halted, or the VM is paused) the thread sleeps on the
 * first vCPU's halt_cond with the big lock as mutex; every kick of any
 * vCPU broadcasts that condition, so one wait covers them all.
 */
#include "qlite/accel.h"
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/object.h"
#include "qlite/x86-cpu.h"
#include "qlite/tcg.h"

/* Blocks per vCPU per turn: long enough to be cheap, short enough to be
 * fair between vCPUs (a kick ends a turn at once anyway). */
#define TCG_SLICE_BLOCKS    4096

static GThread *tcg_thread;
static int tcg_thread_tid;      /* its host TID, once it runs */

static bool tcg_available(GError **errp)
{
    return true;
}

static bool tcg_init_machine(MachineState *ms, GError **errp)
{
    tcg_mem_init();
    tcg_trace_init();
    tcg_stats_init();
    return true;
}

/* The accelerator's state for @cpu, created on first use. */
static TcgCPU *tcg_cpu(CPUState *cpu)
{
    TcgCPU *tc = cpu->accel;
    X86CPUState *env;

    if (tc || !cpu->arch) {
        return tc;
    }
    env = x86_env(cpu);
    tc = g_new0(TcgCPU, 1);
    tc->cpu = cpu;
    tc->env = env;
    tcg_mem_io_init(&tc->io, tc);
    env->io = &tc->io;
    env->exec = tc;
    env->cs = cpu;
    cpu->accel = tc;
    return tc;
}

/* May the thread run @cpu now?  Big lock held. */
static bool tcg_can_run(CPUState *cpu)
{
    return cpu->accel && !cpu_should_stop(cpu) && tcg_exec_has_work(cpu);
}

/*
 * Nothing can run: sleep until an event makes some vCPU runnable.  No
 * vCPU runs while this thread holds the big lock, so every one asked to
 * stop is parked; cpu_wait_io_event_all() tells pause_all_vcpus().
 */
static void tcg_idle(void)
{
    cpu_wait_io_event_all(tcg_can_run);
}

static gpointer tcg_thread_main(gpointer opaque)
{
    cpu_thread_publish_tid(&tcg_thread_tid);
    bql_lock();
    for (;;) {
        bool ran = false;

        tcg_mem_sync();
        for (int i = 0; i < cpu_count(); i++) {
            CPUState *cpu = cpu_get(i);

            if (!tcg_can_run(cpu)) {
                continue;
            }
            bql_unlock();
            tcg_exec_cpu(cpu, TCG_SLICE_BLOCKS);
            bql_lock();
            ran = true;
        }
        if (!ran) {
            tcg_idle();
        }
    }
    return NULL;
}

static bool tcg_start_vcpu(CPUState *cpu, GError **errp)
{
    if (!tcg_cpu(cpu)) {
        error_setg(errp, "vCPU %d has no x86 state (the board did not "
                   "create it with x86_cpus_init)", cpu->index);
        return false;
    }
    if (!tcg_thread) {
        /* QEMU's name for its one round-robin TCG thread */
        tcg_thread = g_thread_new("ALL CPUs/TCG", tcg_thread_main, NULL);
    }
    cpu->thread = tcg_thread;
    cpu->thread_id = cpu_thread_await_tid(&tcg_thread_tid);
    cpu->created = true;
    return true;
}

static void tcg_kick_vcpu(CPUState *cpu)
{
    CPUState *first = cpu_get(0);

    tcg_exec_kick();
    if (first && first != cpu) {
        g_cond_broadcast(&first->halt_cond);
    }
}

/* Main thread, vCPUs paused (or not started yet). */
static void tcg_reset_vcpu(CPUState *cpu)
{
    TcgCPU *tc = tcg_cpu(cpu);

    if (!tc) {
        return;
    }
    x86_cpu_reset_vcpu(cpu);
    tc->dead = false;
    tc->wait_sipi = cpu->index != 0;
    cpu->halted = tc->wait_sipi;
    /* Loaders rewrite RAM behind the TLB at reset: decode afresh. */
    tcg_tb_flush_all();
    tcg_tb_gc();
}

static void tcg_dump_state(CPUState *cpu, GString *out)
{
    if (cpu->arch) {
        x86_cpu_dump_state(x86_env(cpu), out);
    }
}

static const AccelOps tcg_ops = {
    .name = "tcg",
    .type_name = "tcg-accel",
    .available = tcg_available,
    .init_machine = tcg_init_machine,
    .start_vcpu = tcg_start_vcpu,
    .kick_vcpu = tcg_kick_vcpu,
    .reset_vcpu = tcg_reset_vcpu,
    .dump_state = tcg_dump_state,
};

type_init(tcg_register_types)
{
    accel_register(&tcg_ops);
}
