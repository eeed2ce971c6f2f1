/*
 * The "tcg" accelerator: qlite's own x86-64 CPU emulator.
 *
 * thread=multi (the default, as QEMU's): one host thread per vCPU, each
 * running slices of blocks without the big lock and sleeping on its own
 * halt_cond when stopped or halted.  Between slices, with the big lock,
 * a thread does the work no vCPU may run during (freeing invalidated
 * blocks and the code buffer, a new memory map) as exclusive work: it
 * kicks every vCPU and waits until none is inside tcg_exec_cpu(), while
 * no vCPU enters; the wait gives the big lock up, so that a vCPU in the
 * middle of a device access can finish and leave.
 *
 * thread=single: one thread runs every vCPU in turn, a slice of blocks
 * each.  When no vCPU can run (all halted, or the VM is paused) the
 * thread sleeps on the first vCPU's halt_cond with the big lock as mutex;
 * every kick of any vCPU broadcasts that condition, so one wait covers
 * them all.
 */
#include "qlite/accel.h"
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/object.h"
#include "qlite/x86-cpu.h"
#include "qlite/tcg.h"

/*
 * Blocks per vCPU per turn (tcg_exec_cpu() counts them): long enough to
 * be cheap, short enough to be fair between vCPUs (a kick ends a turn at
 * once anyway).
 */
#define TCG_SLICE_BLOCKS    (4096 * TCG_LOOP_BLOCK_COST)

bool tcg_threads_multi = true;
static size_t tcg_tb_size_mib;  /* tb-size=, 0: the default */

/* thread=single: the one thread and its host TID once it runs. */
static GThread *tcg_thread;
static int tcg_thread_tid;

/* Exclusive work (thread=multi); all under the big lock. */
static bool excl_pending;       /* a thread wants or does exclusive work */
static unsigned excl_running;   /* vCPUs inside tcg_exec_cpu() */
static GCond excl_cond;

static bool tcg_available(GError **errp)
{
    return true;
}

/* -accel tcg,KEY=VALUE, before the machine is set up. */
static bool tcg_set_option(const char *key, const char *value, GError **errp)
{
    guint64 mib;

    if (!strcmp(key, "thread")) {
        if (strcmp(value, "single") && strcmp(value, "multi")) {
            error_setg(errp, "Parameter 'thread' expects 'single' or "
                       "'multi'");
            return false;
        }
        tcg_threads_multi = !strcmp(value, "multi");
        return true;
    }
    if (!strcmp(key, "tb-size")) {
        if (!g_ascii_string_to_unsigned(value, 10, 1, 1024, &mib, NULL)) {
            error_setg(errp, "Parameter 'tb-size' expects a size in MiB "
                       "from 1 to 1024");
            return false;
        }
        tcg_tb_size_mib = mib;
        return true;
    }
    error_setg(errp, "Property 'tcg-accel.%s' not found", key);
    return false;
}

static bool tcg_init_machine(MachineState *ms, GError **errp)
{
    tcg_mem_init();
    tcg_trace_init();
    tcg_cpu_trace_init();
    tcg_stats_init();
    if (tcg_threads_multi && tcg_trace_on) {
        /* One trace, in the order the instructions ran. */
        warn_report("QLITE_TRACE_CPU: tracing runs the vCPUs in one "
                    "thread (thread=single)");
        tcg_threads_multi = false;
    }
    tcg_jit_configure(tcg_tb_size_mib);
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
    g_mutex_init(&tc->protect_lock);
    env->io = &tc->io;
    env->exec = tc;
    env->exec_link_off = (uint64_t)cpu->index * sizeof(TcgJitLink);
    env->cs = cpu;
    cpu->accel = tc;
    return tc;
}

/* May the thread run @cpu now?  Big lock held. */
static bool tcg_can_run(CPUState *cpu)
{
    return cpu->accel && !cpu_should_stop(cpu) && tcg_exec_has_work(cpu);
}

/* ---- exclusive work (thread=multi) ---------------------------------- */

/* Big lock held, this thread outside tcg_exec_cpu(): stop every vCPU. */
static void tcg_exclusive_start(void)
{
    while (excl_pending) {
        bql_cond_wait(&excl_cond);
    }
    excl_pending = true;
    tcg_exec_kick_all();
    while (excl_running) {
        bql_cond_wait(&excl_cond);
    }
}

static void tcg_exclusive_end(void)
{
    excl_pending = false;
    g_cond_broadcast(&excl_cond);
}

/* Big lock held: enter and leave tcg_exec_cpu(). */
static void tcg_exec_enter(void)
{
    while (excl_pending) {
        bql_cond_wait(&excl_cond);
    }
    excl_running++;
}

static void tcg_exec_leave(void)
{
    if (--excl_running == 0 && excl_pending) {
        g_cond_broadcast(&excl_cond);
    }
}

/* Between slices, big lock held: a new memory map, freeing blocks. */
static void tcg_housekeeping(void)
{
    while (excl_pending) {
        /* Another thread does it: then there may be nothing left. */
        bql_cond_wait(&excl_cond);
    }
    if (!tcg_mem_sync_pending() && !tcg_tb_gc_wanted) {
        return;
    }
    tcg_exclusive_start();
    tcg_mem_sync();
    if (tcg_tb_gc_wanted) {
        tcg_tb_gc();
    }
    tcg_exclusive_end();
}

static gpointer tcg_vcpu_thread(gpointer opaque)
{
    CPUState *cpu = opaque;
    X86CPUState *env = x86_env(cpu);

    cpu_thread_publish_tid(&cpu->thread_id);
    bql_lock();
    for (;;) {
        /* A kick from here on ends the next slice: none is lost. */
        g_atomic_int_set(&env->exec_kicked, 0);
        cpu_wait_io_event(cpu, tcg_exec_has_work);
        tcg_housekeeping();
        if (!tcg_can_run(cpu)) {
            continue;
        }
        tcg_exec_enter();
        bql_unlock();
        tcg_exec_cpu(cpu, TCG_SLICE_BLOCKS);
        bql_lock();
        tcg_exec_leave();
    }
    return NULL;
}

/* ---- thread=single ---------------------------------------------------- */

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
            g_atomic_int_set(&x86_env(cpu)->exec_kicked, 0);
            g_atomic_int_set(&cpu->exit_request, 0);
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
    tcg_jit_enabled();          /* decided before any thread compiles */
    if (tcg_threads_multi) {
        /* QEMU's names for its vCPU threads */
        g_autofree char *name = g_strdup_printf("CPU %d/TCG", cpu->index);

        cpu->thread = g_thread_try_new(name, tcg_vcpu_thread, cpu, errp);
        if (!cpu->thread) {
            return false;
        }
        cpu_thread_await_tid(&cpu->thread_id);
        cpu->created = true;
        return true;
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

    if (cpu->arch) {
        tcg_exec_kick(x86_env(cpu));
    }
    if (!tcg_threads_multi && first && first != cpu) {
        /* The one thread sleeps on the first vCPU's condition. */
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
    if (tcg_threads_multi) {
        tcg_exclusive_start();  /* the vCPUs are paused: at once */
    }
    tcg_tb_flush_all();
    tcg_tb_gc();
    if (tcg_threads_multi) {
        tcg_exclusive_end();
    }
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
    .set_option = tcg_set_option,
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
