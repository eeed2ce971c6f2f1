/*
 * The "tcg" accelerator: qlite's own x86-64 CPU emulator.
 *
 * The execution loop (blocks, interrupts, HLT) is not written yet, so
 * the accelerator registers itself (for -accel help and qom-list-types)
 * but refuses to start a machine with a clear error.
 */
#include "qlite/osdep.h"
#include "qlite/accel.h"
#include "qlite/error.h"
#include "qlite/object.h"

static bool tcg_available(GError **errp)
{
    return true;
}

static bool tcg_init_machine(MachineState *ms, GError **errp)
{
    g_set_error(errp, QLITE_ERROR, QLITE_ERROR_GENERIC,
                "the tcg accelerator cannot run guests yet");
    return false;
}

static bool tcg_start_vcpu(CPUState *cpu, GError **errp)
{
    g_set_error(errp, QLITE_ERROR, QLITE_ERROR_GENERIC,
                "the tcg accelerator cannot run guests yet");
    return false;
}

static void tcg_kick_vcpu(CPUState *cpu)
{
}

static void tcg_reset_vcpu(CPUState *cpu)
{
}

static void tcg_dump_state(CPUState *cpu, GString *out)
{
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
