/*
 * QMP commands a management layer (libvirt) asks before and while it runs
 * a guest: the CPU models, the command-line options it may use, migration
 * capabilities, CPU slots, the actions on reboot and shutdown, and the
 * devices qlite does not have (balloon, TPM) answered as QEMU answers for
 * a machine without them.
 */
#include "monitor-internal.h"
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/object.h"
#include "qlite/runstate.h"
#include "qlite/sandbox.h"
#include "qlite/x86-cpu.h"

/* ---- CPU models ---- */

static void add_cpu_definition(const char *name, const char *desc,
                               GPtrArray *missing, void *opaque)
{
    g_autofree char *type = g_strdup_printf("%s-x86_64-cpu", name);
    json_t *unavailable = json_array();

    for (guint i = 0; i < missing->len; i++) {
        json_array_append_new(unavailable,
                              json_string(missing->pdata[i]));
    }
    /*
     * A model whose features qlite lacks still runs without them (as
     * QEMU's do without "enforce"); unavailable-features says which.
     */
    json_array_append_new(opaque, json_pack(
        "{s:s,s:s,s:b,s:b,s:b,s:o}", "name", name, "typename", type,
        "static", false, "migration-safe", strcmp(name, "host") != 0,
        "deprecated", false, "unavailable-features", unavailable));
}

json_t *qmp_cmd_query_cpu_definitions(QmpSession *s, json_t *a,
                                      GError **errp)
{
    json_t *list = json_array();

    x86_cpu_model_foreach(add_cpu_definition, list);
    return list;
}

/* ---- command-line options ---- */

/*
 * QEMU lists every option group it parses as key=value; a client looks up
 * the few it cares about.  qlite lists -sandbox (libvirt passes -sandbox
 * only when it is here) with its real sub-options.
 */
static json_t *sandbox_option_info(void)
{
    json_t *params = json_array();

    json_array_append_new(params, json_pack("{s:s,s:s}", "name", "enable",
                                            "type", "boolean"));
    for (const char *const *k = sandbox_suboptions(); *k; k++) {
        json_array_append_new(params, json_pack("{s:s,s:s}", "name", *k,
                                                "type", "string"));
    }
    return json_pack("{s:s,s:o}", "option", "sandbox", "parameters", params);
}

json_t *qmp_cmd_query_command_line_options(QmpSession *s, json_t *a,
                                           GError **errp)
{
    const char *option = qmp_arg_str(a, "option");
    json_t *list = json_array();

    if (!option || !strcmp(option, "sandbox")) {
        json_array_append_new(list, sandbox_option_info());
    } else {
        json_decref(list);
        error_setg(errp, "Invalid parameter 'option'");
        return NULL;
    }
    return list;
}

/* ---- migration ---- */

/*
 * qlite does not migrate.  The one capability it has is "events", which
 * only decides whether MIGRATION events would be sent: it can be set, and
 * nothing else can.
 */
static bool migration_events;

json_t *qmp_cmd_query_migrate_capabilities(QmpSession *s, json_t *a,
                                           GError **errp)
{
    return json_pack("[{s:s,s:b}]", "capability", "events",
                     "state", migration_events);
}

json_t *qmp_cmd_migrate_set_capabilities(QmpSession *s, json_t *a,
                                         GError **errp)
{
    json_t *caps = json_object_get(a, "capabilities");
    bool events = migration_events;
    size_t i;
    json_t *c;

    json_array_foreach(caps, i, c) {
        const char *name = json_string_value(json_object_get(c, "capability"));

        if (strcmp(name, "events")) {
            error_setg(errp, "Migration capability '%s' is not supported: "
                       "qlite does not migrate", name);
            return NULL;
        }
        events = json_is_true(json_object_get(c, "state"));
    }
    migration_events = events;
    return json_object();
}

/* ---- CPU slots ---- */

/*
 * Every slot holds a vCPU from the start (qlite has no CPU hotplug, and
 * -smp maxcpus beyond cpus is refused), so the list is the vCPUs.
 */
json_t *qmp_cmd_query_hotpluggable_cpus(QmpSession *s, json_t *a,
                                        GError **errp)
{
    json_t *cpus = qmp_cmd_query_cpus_fast(s, a, errp);
    json_t *list = json_array();
    size_t i;
    json_t *c;

    json_array_foreach(cpus, i, c) {
        CPUState *cpu = cpu_get(i);

        json_array_append_new(list, json_pack(
            "{s:s,s:i,s:O,s:O}", "type", object_get_typename(cpu->object),
            "vcpus-count", 1, "props", json_object_get(c, "props"),
            "qom-path", json_object_get(c, "qom-path")));
    }
    json_decref(cpus);
    return list;
}

/* ---- actions ---- */

json_t *qmp_cmd_set_action(QmpSession *s, json_t *a, GError **errp)
{
    const char *reboot = qmp_arg_str(a, "reboot");
    const char *shutdown = qmp_arg_str(a, "shutdown");

    /* Nothing changes unless every part is valid. */
    if (qmp_arg_str(a, "panic")) {
        error_setg(errp, "Parameter 'panic': qlite has no panic device");
        return NULL;
    }
    if (qmp_arg_str(a, "watchdog")) {
        error_setg(errp, "Parameter 'watchdog': qlite has no watchdog");
        return NULL;
    }
    if (reboot) {
        runstate_set_no_reboot(!strcmp(reboot, "shutdown"));
    }
    if (shutdown) {
        runstate_set_no_shutdown(!strcmp(shutdown, "pause"));
    }
    return json_object();
}

/* ---- devices qlite does not have ---- */

static json_t *no_balloon(GError **errp)
{
    g_set_error(errp, QLITE_ERROR, QLITE_ERROR_DEVICE_NOT_ACTIVE,
                "No balloon device has been activated");
    return NULL;
}

json_t *qmp_cmd_query_balloon(QmpSession *s, json_t *a, GError **errp)
{
    return no_balloon(errp);
}

json_t *qmp_cmd_balloon(QmpSession *s, json_t *a, GError **errp)
{
    return no_balloon(errp);
}

/* No TPM back end or front end is built in. */
json_t *qmp_cmd_query_tpm_models(QmpSession *s, json_t *a, GError **errp)
{
    return json_array();
}

json_t *qmp_cmd_query_tpm_types(QmpSession *s, json_t *a, GError **errp)
{
    return json_array();
}

json_t *qmp_cmd_query_tpm(QmpSession *s, json_t *a, GError **errp)
{
    return json_array();
}
