/*
 * The abstract machine type, the machine registry (-M help) and machine
 * reset.
 */
#include "qlite/machine.h"
#include "qlite/accel.h"
#include "qlite/cpu.h"
#include "qlite/memory-backend.h"
#include "qlite/qdev.h"

static MachineState *current_machine;

MachineState *qdev_get_machine(void)
{
    return current_machine;
}

void machine_set_current(MachineState *ms)
{
    current_machine = ms;
}

static gint machine_class_cmp(gconstpointer a, gconstpointer b)
{
    const MachineClass *ma = a, *mb = b;

    return strcmp(ma->name, mb->name);
}

static GSList *machine_classes(void)
{
    GSList *list = object_class_get_list(TYPE_MACHINE, false);

    return g_slist_sort(list, machine_class_cmp);
}

MachineClass *machine_find_class(const char *name)
{
    g_autoptr(GSList) list = machine_classes();

    for (GSList *l = list; l; l = l->next) {
        MachineClass *mc = l->data;

        if (!strcmp(mc->name, name) ||
            (mc->alias && !strcmp(mc->alias, name))) {
            return mc;
        }
    }
    return NULL;
}

MachineClass *machine_default_class(void)
{
    g_autoptr(GSList) list = machine_classes();

    for (GSList *l = list; l; l = l->next) {
        MachineClass *mc = l->data;

        if (mc->is_default) {
            return mc;
        }
    }
    return NULL;
}

/* QEMU's format: aliases first, each line "%-20s %s" */
void machine_print_list(FILE *out)
{
    g_autoptr(GSList) list = machine_classes();

    fprintf(out, "Supported machines are:\n");
    for (GSList *l = list; l; l = l->next) {
        MachineClass *mc = l->data;

        if (mc->alias) {
            fprintf(out, "%-20s %s (alias of %s)\n", mc->alias, mc->desc,
                    mc->name);
        }
        fprintf(out, "%-20s %s%s\n", mc->name, mc->desc,
                mc->is_default ? " (default)" : "");
    }
}

const char *machine_get_prop(MachineState *ms, const char *name)
{
    return ms->props ? g_hash_table_lookup(ms->props, name) : NULL;
}

bool machine_get_prop_bool(MachineState *ms, const char *name, bool def,
                           bool *out, GError **errp)
{
    const char *v = machine_get_prop(ms, name);

    *out = def;
    if (!v || !strcmp(v, "auto")) {
        return true;
    }
    return keyval_parse_bool(name, v, out, errp);
}

bool machine_ram_init(MachineState *ms, MemoryRegion *ram, GError **errp)
{
    const char *backend = machine_get_prop(ms, "memory-backend");
    bool merge, dump;

    if (!machine_get_prop_bool(ms, "mem-merge", true, &merge, errp) ||
        !machine_get_prop_bool(ms, "dump-guest-core", true, &dump, errp)) {
        return false;
    }
    if (backend) {
        /* The backend's own merge=/dump= were applied when it mapped. */
        return memory_backend_init_region(ram, backend, ms->ram_size, errp);
    }
    if (!memory_region_init_ram(ram, "pc.ram", ms->ram_size, errp)) {
        return false;
    }
    host_memory_advise(ram->ram, ms->ram_size, merge, dump);
    return true;
}

static void reset_root_bus(BusState *bus, void *opaque)
{
    bus_reset(bus);
}

void machine_reset(MachineState *ms)
{
    MachineClass *mc = MACHINE_GET_CLASS(ms);
    const AccelOps *accel = accel_current();

    qbus_foreach_root(reset_root_bus, NULL);
    if (mc->reset) {
        mc->reset(ms);
    }
    for (int i = 0; i < cpu_count(); i++) {
        CPUState *cpu = cpu_get(i);

        cpu->halted = false;
        cpu->interrupt_request = 0;
        if (accel && accel->reset_vcpu) {
            accel->reset_vcpu(cpu);
        }
    }
}

static void machine_instance_init(Object *obj)
{
    MachineState *ms = (MachineState *)obj;

    ms->props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      g_free);
    ms->cpus = g_ptr_array_new();
}

static const TypeInfo machine_info = {
    .name = TYPE_MACHINE,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(MachineState),
    .class_size = sizeof(MachineClass),
    .abstract = true,
    .instance_init = machine_instance_init,
};

type_init(machine_register_types)
{
    type_register(&machine_info);
}
