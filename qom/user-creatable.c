/*
 * -object and object-add: create a user-creatable type by name, set its
 * properties from the option's keys, complete it, put it at /objects/ID.
 */
#include "qlite/error.h"
#include "qlite/user-creatable.h"

Object *user_creatable_find(const char *id)
{
    g_autofree char *path = g_strdup_printf("/objects/%s", id);

    return object_resolve_path(path, NULL);
}

Object *user_creatable_find_type(const char *id, const char *type)
{
    Object *obj = user_creatable_find(id);

    return obj ? object_dynamic_cast(obj, type) : NULL;
}

GSList *user_creatable_types(void)
{
    return object_class_get_list(TYPE_USER_CREATABLE, false);
}

static char *user_creatable_type_list(void)
{
    g_autoptr(GString) s = g_string_new("");
    GSList *list = user_creatable_types();

    for (GSList *l = list; l; l = l->next) {
        g_string_append_printf(s, "%s%s", s->len ? ", " : "",
                               object_class_get_name(l->data));
    }
    g_slist_free(list);
    return g_strdup(s->str);
}

static ObjectClass *user_creatable_class(const char *type, GError **errp)
{
    ObjectClass *oc = type ? object_class_by_name(type) : NULL;

    if (!type) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return NULL;
    }
    if (!strcmp(type, "iothread")) {
        /* Not faked: a device given iothread= would run on the main loop
         * while the user believes it has a thread of its own. */
        error_setg(errp, "Parameter 'qom-type' does not accept value "
                   "'iothread' (qlite has no I/O threads: block and network "
                   "I/O run on the main loop and its thread pool)");
        return NULL;
    }
    if (!oc || object_class_is_abstract(oc) ||
        !object_class_dynamic_cast(oc, TYPE_USER_CREATABLE)) {
        g_autofree char *known = user_creatable_type_list();

        /* QEMU's words; the list is ours (QEMU has more types). */
        error_setg(errp, "Parameter 'qom-type' does not accept value '%s' "
                   "(qlite has: %s)", type, known);
        return NULL;
    }
    return oc;
}

static bool user_creatable_check_id(const char *id, GError **errp)
{
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!keyval_id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return false;
    }
    if (user_creatable_find(id)) {
        error_setg(errp, "Duplicate ID '%s' for object", id);
        return false;
    }
    return true;
}

static bool user_creatable_set_props(Object *obj, QliteOpts *opts,
                                     GError **errp)
{
    for (guint i = 0; i < opts->pairs->len; i++) {
        KeyvalPair *kv = opts->pairs->pdata[i];
        ObjectProperty *prop;

        if (!strcmp(kv->key, "qom-type") || !strcmp(kv->key, "id")) {
            continue;
        }
        prop = object_property_find(obj, kv->key);
        if (!prop || !prop->set) {
            error_setg(errp, "Invalid parameter '%s'", kv->key);
            return false;
        }
        if (!prop->set(obj, prop, kv->value, errp)) {
            return false;
        }
        kv->used = true;
    }
    return true;
}

Object *user_creatable_add(QliteOpts *opts, GError **errp)
{
    const char *type = qopts_get(opts, "qom-type");
    const char *id = qopts_get(opts, "id");
    ObjectClass *oc = user_creatable_class(type, errp);
    UserCreatableClass *ucc;
    Object *obj;

    if (!oc || !user_creatable_check_id(id, errp)) {
        return NULL;
    }
    obj = object_new(type);
    ucc = (UserCreatableClass *)oc;
    if (!user_creatable_set_props(obj, opts, errp) ||
        (ucc->complete && !ucc->complete(obj, errp))) {
        object_unref(obj);
        return NULL;
    }
    USER_CREATABLE(obj)->completed = true;
    object_property_add_child(container_get("/objects"), id, obj);
    object_unref(obj);
    return obj;
}

bool user_creatable_del(const char *id, GError **errp)
{
    Object *obj = user_creatable_find_type(id, TYPE_USER_CREATABLE);
    UserCreatableClass *ucc;

    if (!obj) {
        error_setg(errp, "object '%s' not found", id);
        return false;
    }
    ucc = USER_CREATABLE_GET_CLASS(obj);
    if (ucc->can_delete && !ucc->can_delete(obj, errp)) {
        return false;
    }
    object_unparent(obj);
    return true;
}

/* ---- field-backed properties ---- */

static bool user_creatable_settable(Object *obj, ObjectProperty *prop,
                                    GError **errp)
{
    if (USER_CREATABLE(obj)->completed) {
        error_setg(errp, "Property '%s' can no longer be set", prop->name);
        return false;
    }
    return true;
}

static char *prop_bool_get(Object *obj, ObjectProperty *prop, GError **errp)
{
    return g_strdup(*(bool *)prop->opaque ? "on" : "off");
}

static bool prop_bool_set(Object *obj, ObjectProperty *prop,
                          const char *value, GError **errp)
{
    return user_creatable_settable(obj, prop, errp) &&
           keyval_parse_bool(prop->name, value, prop->opaque, errp);
}

static char *prop_size_get(Object *obj, ObjectProperty *prop, GError **errp)
{
    return g_strdup_printf("%" PRIu64, *(uint64_t *)prop->opaque);
}

static bool prop_size_set(Object *obj, ObjectProperty *prop,
                          const char *value, GError **errp)
{
    return user_creatable_settable(obj, prop, errp) &&
           keyval_parse_size(prop->name, value, 1, prop->opaque, errp);
}

static char *prop_str_get(Object *obj, ObjectProperty *prop, GError **errp)
{
    const char *v = *(char **)prop->opaque;

    return g_strdup(v ? v : "");
}

static bool prop_str_set(Object *obj, ObjectProperty *prop,
                         const char *value, GError **errp)
{
    char **field = prop->opaque;

    if (!user_creatable_settable(obj, prop, errp)) {
        return false;
    }
    g_free(*field);
    *field = g_strdup(value);
    return true;
}

void user_creatable_prop_bool(Object *obj, const char *name, bool *field)
{
    object_property_add(obj, name, "bool", prop_bool_get, prop_bool_set,
                        field);
}

void user_creatable_prop_size(Object *obj, const char *name,
                              uint64_t *field)
{
    object_property_add(obj, name, "int", prop_size_get, prop_size_set,
                        field);
}

void user_creatable_prop_str(Object *obj, const char *name,
                             const char *type, char **field)
{
    object_property_add(obj, name, type, prop_str_get, prop_str_set, field);
}

static const TypeInfo user_creatable_info = {
    .name = TYPE_USER_CREATABLE,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(UserCreatable),
    .class_size = sizeof(UserCreatableClass),
    .abstract = true,
};

type_init(user_creatable_register_types)
{
    type_register(&user_creatable_info);
}
