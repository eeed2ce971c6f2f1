/*
 * vCPU bookkeeping shared by every accelerator: creation, interrupts,
 * kicks, and pausing.  A vCPU thread sleeps on its halt_cond (with the big
 * lock as the mutex) while it is stopped or halted with nothing to do.
 */
#include "qlite/cpu.h"
#include "qlite/accel.h"
#include "qlite/main-loop.h"
#include "internal.h"
#include <sys/syscall.h>

static GPtrArray *cpus;         /* of CPUState * */
static GCond pause_cond;        /* a vCPU reached its stopped state */
static GMutex tid_lock;
static GCond tid_cond;          /* a vCPU thread published its TID */

CPUState *cpu_create(int index)
{
    CPUState *cpu = g_new0(CPUState, 1);

    cpu->index = index;
    cpu->stop = true;           /* runs only after vm_start() */
    g_cond_init(&cpu->halt_cond);
    if (!cpus) {
        cpus = g_ptr_array_new();
    }
    g_ptr_array_add(cpus, cpu);
    return cpu;
}

int cpu_count(void)
{
    return cpus ? (int)cpus->len : 0;
}

CPUState *cpu_get(int index)
{
    if (index < 0 || index >= cpu_count()) {
        return NULL;
    }
    return cpus->pdata[index];
}

void cpu_thread_publish_tid(int *slot)
{
    g_mutex_lock(&tid_lock);
    *slot = (int)syscall(SYS_gettid);
    g_cond_broadcast(&tid_cond);
    g_mutex_unlock(&tid_lock);
}

int cpu_thread_await_tid(int *slot)
{
    int tid;

    g_mutex_lock(&tid_lock);
    while (!*slot) {
        g_cond_wait(&tid_cond, &tid_lock);
    }
    tid = *slot;
    g_mutex_unlock(&tid_lock);
    return tid;
}

void cpu_kick(CPUState *cpu)
{
    const AccelOps *accel = accel_current();

    g_atomic_int_set(&cpu->exit_request, 1);
    g_cond_broadcast(&cpu->halt_cond);
    if (accel && accel->kick_vcpu) {
        accel->kick_vcpu(cpu);
    }
}

void cpu_interrupt(CPUState *cpu, uint32_t mask)
{
    g_atomic_int_or(&cpu->interrupt_request, mask);
    cpu_kick(cpu);
}

void cpu_reset_interrupt(CPUState *cpu, uint32_t mask)
{
    g_atomic_int_and(&cpu->interrupt_request, ~mask);
}

bool cpu_should_stop(CPUState *cpu)
{
    /* stop is a bool: a gint access would read stopped and halted too. */
    return __atomic_load_n(&cpu->stop, __ATOMIC_SEQ_CST);
}

bool all_vcpus_paused(void)
{
    for (int i = 0; i < cpu_count(); i++) {
        CPUState *cpu = cpu_get(i);

        if (cpu->created && !cpu->stopped) {
            return false;
        }
    }
    return true;
}

/* Main thread, big lock held: returns once every vCPU thread has stopped. */
void pause_all_vcpus(void)
{
    for (int i = 0; i < cpu_count(); i++) {
        CPUState *cpu = cpu_get(i);

        __atomic_store_n(&cpu->stop, true, __ATOMIC_SEQ_CST);
        cpu_kick(cpu);
    }
    while (!all_vcpus_paused()) {
        gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_MILLISECOND;

        g_cond_wait_until(&pause_cond, bql_mutex(), deadline);
        for (int i = 0; i < cpu_count(); i++) {
            cpu_kick(cpu_get(i));   /* in case a kick raced with a sleep */
        }
    }
}

void resume_all_vcpus(void)
{
    for (int i = 0; i < cpu_count(); i++) {
        CPUState *cpu = cpu_get(i);

        __atomic_store_n(&cpu->stop, false, __ATOMIC_SEQ_CST);
        cpu->stopped = false;
        g_cond_broadcast(&cpu->halt_cond);
    }
}

/*
 * vCPU thread, big lock held: @cpu was asked to stop and will not run
 * again until resume_all_vcpus().  Tells pause_all_vcpus().
 */
static void cpu_set_stopped(CPUState *cpu)
{
    if (!cpu->stopped) {
        cpu->stopped = true;
        g_cond_broadcast(&pause_cond);
    }
}

/* vCPU thread, big lock held. */
void cpu_wait_io_event(CPUState *cpu, bool (*has_work)(CPUState *cpu))
{
    while (cpu_should_stop(cpu) || (cpu->halted && !has_work(cpu))) {
        if (cpu_should_stop(cpu)) {
            cpu_set_stopped(cpu);
        }
        g_cond_wait(&cpu->halt_cond, bql_mutex());
    }
    cpu->stopped = false;
    g_atomic_int_set(&cpu->exit_request, 0);
}

static bool cpu_any_can_run(bool (*can_run)(CPUState *cpu))
{
    for (int i = 0; i < cpu_count(); i++) {
        if (can_run(cpu_get(i))) {
            return true;
        }
    }
    return false;
}

/*
 * The one thread that runs every vCPU (tcg), big lock held: sleep on the
 * first vCPU's halt_cond (each kick broadcasts it) until @can_run is true
 * of some vCPU.  Every vCPU asked to stop is reported stopped on each
 * wake-up, not only before the first sleep: a pause that finds the thread
 * already asleep (an idle guest, every vCPU halted) must see all of them
 * stopped, or pause_all_vcpus() waits forever.
 */
void cpu_wait_io_event_all(bool (*can_run)(CPUState *cpu))
{
    CPUState *first = cpu_get(0);

    for (;;) {
        for (int i = 0; i < cpu_count(); i++) {
            CPUState *cpu = cpu_get(i);

            if (cpu_should_stop(cpu)) {
                cpu_set_stopped(cpu);
            }
        }
        if (cpu_any_can_run(can_run)) {
            return;
        }
        g_cond_wait(&first->halt_cond, bql_mutex());
    }
}
