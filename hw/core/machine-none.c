/*
 * "none": the empty board management tools start only to probe (QMP
 * queries with no guest).  No CPU, no devices; RAM only if -m asks.
 */
#include "qlite/machine.h"
#include "qlite/error.h"

static bool machine_none_init(MachineState *ms, GError **errp)
{
    return true;
}

static void machine_none_class_init(ObjectClass *oc, const void *data)
{
    MachineClass *mc = MACHINE_CLASS(oc);

    mc->name = "none";
    mc->desc = "empty machine";
    mc->no_cpus = true;
    mc->max_cpus = 1;
    mc->default_ram_size = 0;
    mc->init = machine_none_init;
}

static const TypeInfo machine_none_info = {
    .name = "none-machine",
    .parent = TYPE_MACHINE,
    .class_init = machine_none_class_init,
};

type_init(machine_none_register_types)
{
    type_register(&machine_none_info);
}
