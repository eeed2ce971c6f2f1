/*
 * The vCPUs as QOM objects.  Each -cpu model is a type named as QEMU
 * names it ("qemu64-x86_64-cpu") under the abstract "x86_64-cpu", and each
 * vCPU is an object at /machine/unattached/device[N], created before any
 * device: where QEMU puts its CPUs, and where query-cpus-fast, qom-list
 * and libvirt look for them.
 */
#include "target/i386/cpu.h"
#include "qlite/cpu.h"
#include "qlite/machine.h"
#include "qlite/object.h"
#include "qlite/qdev.h"
#include "qlite/x86-cpu.h"

#define TYPE_X86_CPU "x86_64-cpu"

typedef struct X86CPUObject {
    Object parent;
    CPUState *cs;               /* NULL in a type's introspection instance */
} X86CPUObject;

static X86CPUState *cpu_object_env(Object *obj)
{
    CPUState *cs = ((X86CPUObject *)obj)->cs;

    return cs ? &((X86CPU *)cs->arch)->env : NULL;
}

static char *cpu_get_apic_id(Object *obj, ObjectProperty *prop,
                             GError **errp)
{
    X86CPUState *env = cpu_object_env(obj);

    return g_strdup_printf("%u", env ? env->apic_id : 0);
}

static char *cpu_get_index(Object *obj, ObjectProperty *prop, GError **errp)
{
    CPUState *cs = ((X86CPUObject *)obj)->cs;

    return g_strdup_printf("%d", cs ? cs->index : 0);
}

static char *cpu_get_realized(Object *obj, ObjectProperty *prop,
                              GError **errp)
{
    return g_strdup(((X86CPUObject *)obj)->cs ? "true" : "false");
}

static char *cpu_get_hotpluggable(Object *obj, ObjectProperty *prop,
                                  GError **errp)
{
    return g_strdup("false");       /* no CPU hotplug */
}

static void cpu_object_init(Object *obj)
{
    object_property_add(obj, "apic-id", "uint32", cpu_get_apic_id, NULL,
                        NULL);
    object_property_add(obj, "cpu-index", "int32", cpu_get_index, NULL,
                        NULL);
    object_property_add(obj, "realized", "bool", cpu_get_realized, NULL,
                        NULL);
    object_property_add(obj, "hotpluggable", "bool", cpu_get_hotpluggable,
                        NULL, NULL);
}

static const TypeInfo x86_cpu_info = {
    .name = TYPE_X86_CPU,
    .parent = TYPE_OBJECT,
    .abstract = true,
    .instance_size = sizeof(X86CPUObject),
    .instance_init = cpu_object_init,
};

static void register_model(const char *name, const char *desc,
                           GPtrArray *missing, void *opaque)
{
    TypeInfo *info = g_new0(TypeInfo, 1);   /* types live forever */

    info->name = g_strdup_printf("%s-" TYPE_X86_CPU, name);
    info->parent = TYPE_X86_CPU;
    type_register(info);
}

type_init(x86_cpu_register_types)
{
    type_register(&x86_cpu_info);
    x86_cpu_model_foreach(register_model, NULL);
}

void x86_cpu_object_new(CPUState *cs, const char *model)
{
    g_autofree char *type = g_strdup_printf("%s-" TYPE_X86_CPU, model);
    Object *obj = object_new(type);

    ((X86CPUObject *)obj)->cs = cs;
    cs->object = obj;
    qdev_add_unattached(obj);
    object_unref(obj);          /* the tree holds it */
}
