/* object-add, object-del, query-memdev, query-iothreads. */
#include "qlite/error.h"
#include "qlite/memory-backend.h"
#include "qlite/user-creatable.h"
#include "monitor-internal.h"

json_t *qmp_cmd_object_add(QmpSession *s, json_t *a, GError **errp)
{
    g_autofree char *text = json_dumps(a, JSON_COMPACT);
    g_autoptr(QliteOpts) opts = keyval_parse_json(text, "object", errp);

    if (!opts || !user_creatable_add(opts, errp)) {
        return NULL;
    }
    return json_object();
}

json_t *qmp_cmd_object_del(QmpSession *s, json_t *a, GError **errp)
{
    return user_creatable_del(qmp_arg_str(a, "id"), errp) ? json_object()
                                                           : NULL;
}

static void qmp_memdev_one(const MemdevInfo *m, void *opaque)
{
    json_array_append_new(opaque, json_pack(
        "{s:s,s:I,s:b,s:b,s:b,s:b,s:b,s:[],s:s}", "id", m->id,
        "size", (json_int_t)m->size, "merge", m->merge, "dump", m->dump,
        "prealloc", m->prealloc, "share", m->share, "reserve", m->reserve,
        "host-nodes", "policy", m->policy));
}

json_t *qmp_cmd_query_memdev(QmpSession *s, json_t *a, GError **errp)
{
    json_t *list = json_array();

    memory_backend_foreach(qmp_memdev_one, list);
    return list;
}

json_t *qmp_cmd_query_iothreads(QmpSession *s, json_t *a, GError **errp)
{
    return json_array();
}
