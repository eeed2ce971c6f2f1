/*
 * -object TYPE,id=ID,... and -object '{"qom-type":...}': parsed at once
 * (a bad one fails before anything starts), created in command-line order
 * before the board, which may take its RAM from one of them
 * (-machine memory-backend=ID).
 */
#include "qlite/error.h"
#include "qlite/memory-backend.h"
#include "qlite/user-creatable.h"
#include "vl.h"

static void vl_print_object_types(void)
{
    GSList *list = user_creatable_types();

    printf("List of user creatable objects:\n");
    for (GSList *l = list; l; l = l->next) {
        printf("  %s\n", object_class_get_name(l->data));
    }
    g_slist_free(list);
}

bool vl_parse_object(VlConfig *cfg, const char *arg, GError **errp)
{
    QliteOpts *opts;
    const char *type;

    if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
        vl_print_object_types();
        exit(0);
    }
    opts = keyval_parse_any(arg, "object", "qom-type", 0, errp);
    if (!opts) {
        return false;
    }
    type = qopts_get(opts, "qom-type");
    if (!type) {
        error_setg(errp, "Parameter 'qom-type' is missing");
    } else if (!qopts_get(opts, "id")) {
        error_setg(errp, "Parameter 'id' is missing");
    } else {
        g_ptr_array_add(cfg->objects, vl_item_new("object", arg, opts));
        return true;
    }
    qopts_free(opts);
    return false;
}

void vl_create_objects(VlConfig *cfg)
{
    for (guint i = 0; i < cfg->objects->len; i++) {
        VlItem *it = cfg->objects->pdata[i];
        GError *err = NULL;

        error_set_location(it->location);
        if (!user_creatable_add(it->opts, &err)) {
            vl_fail(err);
        }
        error_set_location(NULL);
    }
}

/*
 * As QEMU: with memory-backend=ID the RAM size is the backend's; an -m
 * that says otherwise is an error.  The board then maps the backend.
 */
void vl_resolve_memory_backend(VlConfig *cfg, MachineState *ms)
{
    const char *id = machine_get_prop(ms, "memory-backend");
    GError *err = NULL;
    uint64_t size;

    if (!id) {
        return;
    }
    if (!memory_backend_get_size(id, &size, &err)) {
        vl_fail(err);
    }
    if (cfg->ram_set && size != cfg->ram_size) {
        vl_fail(g_error_new(QLITE_ERROR, 0, "Machine memory size does not "
                            "match the size of the memory backend"));
    }
    ms->ram_size = size;
}
