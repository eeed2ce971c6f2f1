/*
 * QMP commands about the machine as a whole: run state, identity,
 * accelerator, CPUs, machine types, chardevs.  Arguments were checked
 * against the schema before a handler runs.
 */
#include "monitor-internal.h"
#include "qlite/accel.h"
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/machine.h"
#include "qlite/qdev.h"
#include "qlite/runstate.h"

#include <unistd.h>

/* ---- helpers shared by the handlers ---- */

const char *qmp_arg_str(json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

bool qmp_arg_bool(json_t *args, const char *key, bool def)
{
    json_t *v = json_object_get(args, key);

    return v ? json_is_true(v) : def;
}

static bool qmp_type_is_int(const char *type)
{
    static const char *const ints[] = {
        "int", "uint", "int8", "int16", "int32", "int64", "uint8", "uint16",
        "uint32", "uint64", "size",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(ints); i++) {
        if (!strcmp(type, ints[i])) {
            return true;
        }
    }
    return false;
}

json_t *qmp_value_from_prop(const char *type, const char *value)
{
    bool b;
    uint64_t u;
    int64_t i;

    if (!strcmp(type, "bool") && keyval_parse_bool("", value, &b, NULL)) {
        return json_boolean(b);
    }
    if (qmp_type_is_int(type)) {
        if (value[0] == '-' && keyval_parse_int("", value, &i, NULL)) {
            return json_integer(i);
        }
        if (keyval_parse_uint("", value, &u, NULL) && u <= INT64_MAX) {
            return json_integer((json_int_t)u);
        }
    }
    return json_string(value);
}

/* ---- run state ---- */

json_t *qmp_cmd_query_status(QmpSession *s, json_t *a, GError **errp)
{
    return json_pack("{s:b,s:b,s:s}", "running", runstate_is_running(),
                     "singlestep", 0, "status", runstate_name(runstate_get()));
}

json_t *qmp_cmd_stop(QmpSession *s, json_t *a, GError **errp)
{
    /* As QEMU: a stop before the first start only keeps it from starting. */
    if (runstate_get() != RUN_STATE_PRELAUNCH) {
        vm_stop(RUN_STATE_PAUSED);
    }
    return json_object();
}

json_t *qmp_cmd_cont(QmpSession *s, json_t *a, GError **errp)
{
    RunState st = runstate_get();

    if (st == RUN_STATE_SHUTDOWN || st == RUN_STATE_INTERNAL_ERROR) {
        error_setg(errp, "Resetting the Virtual Machine is required");
        return NULL;
    }
    vm_start();
    return json_object();
}

json_t *qmp_cmd_system_reset(QmpSession *s, json_t *a, GError **errp)
{
    qlite_system_reset_request(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
    return json_object();
}

json_t *qmp_cmd_system_powerdown(QmpSession *s, json_t *a, GError **errp)
{
    qlite_system_powerdown_request();
    return json_object();
}

json_t *qmp_cmd_system_wakeup(QmpSession *s, json_t *a, GError **errp)
{
    if (!qlite_system_wakeup_request(WAKEUP_REASON_OTHER, errp)) {
        return NULL;
    }
    return json_object();
}

json_t *qmp_cmd_quit(QmpSession *s, json_t *a, GError **errp)
{
    /* Only a request: the main loop acts after this reply is queued. */
    qlite_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    return json_object();
}

/* ---- identity ---- */

json_t *qmp_cmd_query_name(QmpSession *s, json_t *a, GError **errp)
{
    MachineState *ms = qdev_get_machine();

    if (ms && ms->name) {
        return json_pack("{s:s}", "name", ms->name);
    }
    return json_object();
}

json_t *qmp_cmd_query_uuid(QmpSession *s, json_t *a, GError **errp)
{
    static const uint8_t zero[16];
    MachineState *ms = qdev_get_machine();
    const uint8_t *u = ms && ms->has_uuid ? ms->uuid : zero;
    char buf[40];

    snprintf(buf, sizeof(buf), "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
             u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
    return json_pack("{s:s}", "UUID", buf);
}

json_t *qmp_cmd_query_target(QmpSession *s, json_t *a, GError **errp)
{
    return json_pack("{s:s}", "arch", "x86_64");
}

json_t *qmp_cmd_query_kvm(QmpSession *s, json_t *a, GError **errp)
{
    const AccelOps *ops = accel_current();
    bool enabled = ops && !strcmp(ops->name, "kvm");
    bool present = access(accel_kvm_device_path(), R_OK | W_OK) == 0;

    return json_pack("{s:b,s:b}", "enabled", enabled, "present", present);
}

/* ---- CPUs ---- */

/* socket/die/core/thread ids from -smp, as QEMU numbers them. */
static json_t *qmp_cpu_props(int index)
{
    MachineState *ms = qdev_get_machine();
    unsigned threads = 1, cores = 1, dies = 1;
    json_t *props = json_object();

    if (ms) {
        threads = MAX(ms->smp.threads, 1u);
        cores = MAX(ms->smp.cores, 1u);
        dies = MAX(ms->smp.dies, 1u);
    }
    json_object_set_new(props, "core-id",
                        json_integer(index / threads % cores));
    json_object_set_new(props, "thread-id", json_integer(index % threads));
    if (dies > 1) {
        json_object_set_new(props, "die-id",
                            json_integer(index / threads / cores % dies));
    }
    json_object_set_new(props, "socket-id",
                        json_integer(index / threads / cores / dies));
    return props;
}

char *qmp_cpu_qom_path(int index)
{
    CPUState *cpu = cpu_get(index);

    return cpu && cpu->object ? object_get_canonical_path(cpu->object)
                              : g_strdup_printf("/machine/unattached/device[%d]",
                                                index);
}

json_t *qmp_cmd_query_cpus_fast(QmpSession *s, json_t *a, GError **errp)
{
    json_t *list = json_array();

    for (int i = 0; i < cpu_count(); i++) {
        g_autofree char *path = qmp_cpu_qom_path(i);
        CPUState *cpu = cpu_get(i);

        /* Before the accelerator starts it (-machine none), no thread. */
        json_array_append_new(list, json_pack(
            "{s:i,s:o,s:s,s:i,s:s}", "cpu-index", cpu ? cpu->index : i,
            "props", qmp_cpu_props(i), "qom-path", path,
            "thread-id", cpu && cpu->thread_id ? cpu->thread_id
                                               : (int)getpid(),
            "target", "x86_64"));
    }
    return list;
}

/* ---- machines ---- */

static json_t *qmp_machine_info(MachineClass *mc)
{
    json_t *m = json_object();

    json_object_set_new(m, "name", json_string(mc->name));
    if (mc->alias) {
        json_object_set_new(m, "alias", json_string(mc->alias));
    }
    if (mc->is_default) {
        json_object_set_new(m, "is-default", json_true());
    }
    json_object_set_new(m, "cpu-max", json_integer(MAX(mc->max_cpus, 1u)));
    json_object_set_new(m, "hotpluggable-cpus", json_false());
    json_object_set_new(m, "numa-mem-supported", json_false());
    json_object_set_new(m, "deprecated", json_false());
    if (!mc->no_cpus) {
        json_object_set_new(m, "default-cpu-type",
                            json_string("qemu64-x86_64-cpu"));
    }
    json_object_set_new(m, "default-ram-id",
                        json_string(mc->no_cpus ? "ram" : "pc.ram"));
    return m;
}

json_t *qmp_cmd_query_machines(QmpSession *s, json_t *a, GError **errp)
{
    GSList *classes = object_class_get_list(TYPE_MACHINE, false);
    json_t *list = json_array();

    for (GSList *l = classes; l; l = l->next) {
        MachineClass *mc = MACHINE_CLASS(l->data);

        if (mc && mc->name) {
            json_array_append_new(list, qmp_machine_info(mc));
        }
    }
    g_slist_free(classes);
    return list;
}

/* ---- chardevs ---- */

json_t *qmp_cmd_query_chardev(QmpSession *s, json_t *a, GError **errp)
{
    g_autoptr(GPtrArray) chrs = chardev_list();
    json_t *list = json_array();

    for (guint i = 0; i < chrs->len; i++) {
        Chardev *chr = chrs->pdata[i];
        bool open = chr->be != NULL || chardev_is_mux(chr);

        json_array_append_new(list, json_pack(
            "{s:s,s:s,s:b}", "label", chr->label,
            "filename", chr->filename ? chr->filename : "",
            "frontend-open", open));
    }
    return list;
}
