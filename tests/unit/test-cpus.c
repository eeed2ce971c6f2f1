/*
 * vCPU bookkeeping (system/cpus.c): the stop/stopped/halted flags.
 *
 * Regression: cpu_should_stop() and pause/resume once accessed the bool
 * `stop` as a 4-byte int, so they also read and cleared its neighbours
 * `stopped` and `halted`.  A TCG vCPU that had been stopped once then
 * never ran again (Linux hung after ~500 instructions).
 */
#include "qlite/osdep.h"
#include "qlite/cpu.h"

static void test_stop_is_only_stop(void)
{
    CPUState *cpu = cpu_create(0);

    g_assert_true(cpu_should_stop(cpu));        /* until vm_start() */
    resume_all_vcpus();
    g_assert_false(cpu_should_stop(cpu));
    cpu->stopped = true;
    g_assert_false(cpu_should_stop(cpu));
    cpu->stopped = false;
    cpu->halted = true;
    g_assert_false(cpu_should_stop(cpu));
}

static void test_resume_keeps_halted(void)
{
    CPUState *cpu = cpu_get(0);

    cpu->halted = true;
    resume_all_vcpus();
    g_assert_true(cpu->halted);
    g_assert_false(cpu->stopped);
    g_assert_false(cpu_should_stop(cpu));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpus/stop-is-only-stop", test_stop_is_only_stop);
    g_test_add_func("/cpus/resume-keeps-halted", test_resume_keeps_halted);
    return g_test_run();
}
