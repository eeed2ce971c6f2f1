/*
 * "none": the empty board management tools start only to probe (QMP
 * queries with no guest).  No CPU, no devices; RAM only if -m (or
 * memory-backend=) asks.
 */
#include "qlite/machine.h"
#include "qlite/error.h"

typedef struct NoneMachineState {
    MachineState parent;
    MemoryRegion ram;
} NoneMachineState;

/* As QEMU's: RAM at address 0 when -m or memory-backend= gives some. */
static bool machine_none_init(MachineState *ms, GError **errp)
{
    NoneMachineState *s = (NoneMachineState *)ms;

    if (!ms->ram_size) {
        return true;
    }
    if (!machine_ram_init(ms, &s->ram, errp)) {
        return false;
    }
    ms->ram = &s->ram;
    memory_region_add_subregion(get_system_memory(), 0, &s->ram);
    return true;
}

static const char *const machine_none_props[] = { MACHINE_RAM_PROPS, NULL };

static void machine_none_class_init(ObjectClass *oc, const void *data)
{
    MachineClass *mc = MACHINE_CLASS(oc);

    mc->name = "none";
    mc->desc = "empty machine";
    mc->no_cpus = true;
    mc->max_cpus = 1;
    mc->default_ram_size = 0;
    mc->props = machine_none_props;
    mc->init = machine_none_init;
}

static const TypeInfo machine_none_info = {
    .name = "none-machine",
    .parent = TYPE_MACHINE,
    .instance_size = sizeof(NoneMachineState),
    .class_init = machine_none_class_init,
};

type_init(machine_none_register_types)
{
    type_register(&machine_none_info);
}
