/*
 * QMP commands on the object model and devices: qom-list, qom-get,
 * qom-set, qom-list-types, qom-list-properties, device-list-properties,
 * device_add and device_del.
 *
 * Property values cross the QOM boundary as strings; the property's type
 * name decides how they look in JSON (bool and integer types as JSON
 * booleans and numbers).  Accelerators are not QOM types in qlite, so the
 * type listings add them under QEMU's names ("tcg-accel" below "accel").
 */
#include "monitor-internal.h"
#include "qlite/accel.h"
#include "qlite/error.h"
#include "qlite/machine.h"
#include "qlite/qdev.h"
#include "qlite/runstate.h"

#define QMP_ACCEL_TYPE "accel"

static Object *qmp_resolve(const char *path, GError **errp)
{
    bool ambiguous = false;
    Object *obj = object_resolve_path(path, &ambiguous);

    if (!obj) {
        if (ambiguous) {
            error_setg(errp, "Path '%s' is ambiguous", path);
        } else {
            g_set_error(errp, QLITE_ERROR, QLITE_ERROR_DEVICE_NOT_FOUND,
                        "Device '%s' not found", path);
        }
    }
    return obj;
}

static json_t *qmp_prop_info(const char *name, const char *type,
                             const char *desc)
{
    json_t *e = json_pack("{s:s,s:s}", "name", name, "type", type);

    if (e && desc) {
        json_object_set_new(e, "description", json_string(desc));
    }
    return e;
}

/* ---- qom-list, qom-get, qom-set ---- */

json_t *qmp_cmd_qom_list(QmpSession *s, json_t *a, GError **errp)
{
    Object *obj = qmp_resolve(qmp_arg_str(a, "path"), errp);
    g_autoptr(GPtrArray) props = NULL;
    json_t *list;

    if (!obj) {
        return NULL;
    }
    list = json_array();
    /* Every QEMU object answers "type"; qlite's may not declare it. */
    if (!object_property_find(obj, "type")) {
        json_array_append_new(list, qmp_prop_info("type", "string", NULL));
    }
    props = object_property_list(obj);
    for (guint i = 0; i < props->len; i++) {
        ObjectProperty *p = props->pdata[i];

        json_array_append_new(list, qmp_prop_info(p->name, p->type, NULL));
    }
    return list;
}

json_t *qmp_cmd_qom_get(QmpSession *s, json_t *a, GError **errp)
{
    const char *name = qmp_arg_str(a, "property");
    Object *obj = qmp_resolve(qmp_arg_str(a, "path"), errp);
    ObjectProperty *prop;
    g_autofree char *val = NULL;

    if (!obj) {
        return NULL;
    }
    prop = object_property_find(obj, name);
    if (!prop && !strcmp(name, "type")) {
        return json_string(object_get_typename(obj));
    }
    if (prop && prop->child && !prop->get) {
        val = object_get_canonical_path(prop->child);
        return json_string(val);
    }
    val = object_property_get_str(obj, name, errp);
    if (!val) {
        return NULL;
    }
    return qmp_value_from_prop(prop->type, val);
}

/* The string form of @v for a property of @type, checking its JSON type. */
static char *qmp_prop_string(const char *name, const char *type, json_t *v,
                             GError **errp)
{
    const char *expected = NULL;

    if (!strcmp(type, "bool")) {
        expected = json_is_boolean(v) ? NULL : "boolean";
    } else if (g_str_has_prefix(type, "int") ||
               g_str_has_prefix(type, "uint") || !strcmp(type, "size")) {
        expected = json_is_integer(v) ? NULL : "integer";
    } else if (!strcmp(type, "str") || !strcmp(type, "string")) {
        expected = json_is_string(v) ? NULL : "string";
    } else if (!json_is_string(v) && !json_is_integer(v) &&
               !json_is_boolean(v)) {
        expected = "string";
    }
    if (expected) {
        error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                   name, expected);
        return NULL;
    }
    if (json_is_boolean(v)) {
        return g_strdup(json_is_true(v) ? "on" : "off");
    }
    if (json_is_integer(v)) {
        return g_strdup_printf("%" JSON_INTEGER_FORMAT,
                               json_integer_value(v));
    }
    return g_strdup(json_string_value(v));
}

json_t *qmp_cmd_qom_set(QmpSession *s, json_t *a, GError **errp)
{
    const char *name = qmp_arg_str(a, "property");
    Object *obj = qmp_resolve(qmp_arg_str(a, "path"), errp);
    ObjectProperty *prop;
    g_autofree char *val = NULL;

    if (!obj) {
        return NULL;
    }
    prop = object_property_find(obj, name);
    if (!prop) {
        error_setg(errp, "Property '%s.%s' not found",
                   object_get_typename(obj), name);
        return NULL;
    }
    val = qmp_prop_string(name, prop->type, json_object_get(a, "value"),
                          errp);
    if (!val || !object_property_set_str(obj, name, val, errp)) {
        return NULL;
    }
    return json_object();
}

/* ---- type listings ---- */

static json_t *qmp_type_info(const char *name, const char *parent,
                             bool abstract)
{
    json_t *e = json_object();

    if (abstract) {
        json_object_set_new(e, "abstract", json_true());
    }
    json_object_set_new(e, "name", json_string(name));
    if (parent) {
        json_object_set_new(e, "parent", json_string(parent));
    }
    return e;
}

/* Does the accelerator pseudo-type @name derive from @implements? */
static bool qmp_accel_implements(const char *name, const char *implements)
{
    return !implements || !strcmp(implements, name) ||
           !strcmp(implements, QMP_ACCEL_TYPE) ||
           !strcmp(implements, TYPE_OBJECT);
}

static void qmp_list_accel_types(json_t *list, const char *implements)
{
    GPtrArray *accels = accel_list();     /* accel.c owns it */

    for (guint i = 0; i < accels->len; i++) {
        const AccelOps *ops = accels->pdata[i];

        if (ops->type_name && qmp_accel_implements(ops->type_name,
                                                   implements)) {
            json_array_append_new(list, qmp_type_info(
                ops->type_name, QMP_ACCEL_TYPE, false));
        }
    }
    /* As in QEMU, "accel" itself is listed and is not abstract. */
    if (!implements || !strcmp(implements, QMP_ACCEL_TYPE) ||
        !strcmp(implements, TYPE_OBJECT)) {
        json_array_append_new(list, qmp_type_info(QMP_ACCEL_TYPE,
                                                  TYPE_OBJECT, false));
    }
}

json_t *qmp_cmd_qom_list_types(QmpSession *s, json_t *a, GError **errp)
{
    const char *implements = qmp_arg_str(a, "implements");
    bool abstract = qmp_arg_bool(a, "abstract", false);
    GSList *classes = NULL;
    json_t *list = json_array();

    if (!implements || object_class_by_name(implements)) {
        classes = object_class_get_list(implements, abstract);
    }
    for (GSList *l = classes; l; l = l->next) {
        ObjectClass *oc = l->data;
        ObjectClass *parent = object_class_get_parent(oc);

        json_array_append_new(list, qmp_type_info(
            object_class_get_name(oc),
            parent ? object_class_get_name(parent) : NULL,
            object_class_is_abstract(oc)));
    }
    g_slist_free(classes);
    qmp_list_accel_types(list, implements);
    return list;
}

static bool qmp_is_accel_type(const char *name)
{
    GPtrArray *accels = accel_list();     /* accel.c owns it */

    if (!strcmp(name, QMP_ACCEL_TYPE)) {
        return true;
    }
    for (guint i = 0; i < accels->len; i++) {
        const AccelOps *ops = accels->pdata[i];

        if (ops->type_name && !strcmp(ops->type_name, name)) {
            return true;
        }
    }
    return false;
}

/* ---- property listings ---- */

static json_t *qmp_prop_default(const Property *prop)
{
    if (prop->kind == PROP_STRING && prop->defval_str) {
        return json_string(prop->defval_str);
    }
    if (!prop->has_default) {
        return NULL;
    }
    switch (prop->kind) {
    case PROP_BOOL:
        return json_boolean(prop->defval);
    case PROP_INT32:
        return json_integer((int32_t)prop->defval);
    case PROP_UINT8:
    case PROP_UINT16:
    case PROP_UINT32:
    case PROP_UINT64:
    case PROP_SIZE:
        return prop->defval <= INT64_MAX ? json_integer(prop->defval)
                                         : json_real((double)prop->defval);
    default:
        return NULL;
    }
}

static bool qmp_add_qdev_prop(const Property *prop, void *opaque)
{
    json_t *e = qmp_prop_info(prop->name, qdev_prop_type_name(prop),
                              prop->description);
    json_t *def = qmp_prop_default(prop);

    if (def) {
        json_object_set_new(e, "default-value", def);
    }
    json_array_append_new(opaque, e);
    return true;
}

json_t *qmp_cmd_device_list_properties(QmpSession *s, json_t *a,
                                       GError **errp)
{
    const char *name = qmp_arg_str(a, "typename");
    ObjectClass *oc = object_class_by_name(name);
    json_t *list;

    if (!oc) {
        g_set_error(errp, QLITE_ERROR, QLITE_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", name);
        return NULL;
    }
    if (!object_class_dynamic_cast(oc, TYPE_DEVICE) ||
        object_class_is_abstract(oc)) {
        error_setg(errp, "Parameter 'typename' expects a non-abstract "
                   "device type");
        return NULL;
    }
    list = json_array();
    qdev_class_foreach_prop(DEVICE_CLASS(oc), qmp_add_qdev_prop, list);
    return list;
}

static json_t *qmp_machine_props(MachineClass *mc)
{
    json_t *list = json_array();

    for (const char *const *p = mc->props; p && *p; p++) {
        json_array_append_new(list, qmp_prop_info(*p, "string", NULL));
    }
    return list;
}

/* Other types: list what an instance declares, as QEMU does. */
static json_t *qmp_instance_props(const char *name)
{
    Object *obj = object_new(name);
    g_autoptr(GPtrArray) props = object_property_list(obj);
    json_t *list = json_array();

    for (guint i = 0; i < props->len; i++) {
        ObjectProperty *p = props->pdata[i];

        json_array_append_new(list, qmp_prop_info(p->name, p->type,
                                                  p->description));
    }
    object_unref(obj);
    return list;
}

json_t *qmp_cmd_qom_list_properties(QmpSession *s, json_t *a, GError **errp)
{
    const char *name = qmp_arg_str(a, "typename");
    ObjectClass *oc = object_class_by_name(name);

    if (!oc) {
        if (qmp_is_accel_type(name)) {
            return json_array();
        }
        g_set_error(errp, QLITE_ERROR, QLITE_ERROR_DEVICE_NOT_FOUND,
                    "Class '%s' not found", name);
        return NULL;
    }
    if (object_class_dynamic_cast(oc, TYPE_DEVICE)) {
        json_t *list = json_array();

        qdev_class_foreach_prop(DEVICE_CLASS(oc), qmp_add_qdev_prop, list);
        return list;
    }
    if (object_class_dynamic_cast(oc, TYPE_MACHINE)) {
        return qmp_machine_props(MACHINE_CLASS(oc));
    }
    if (object_class_is_abstract(oc) ||
        object_class_dynamic_cast(oc, TYPE_BUS)) {
        return json_array();
    }
    return qmp_instance_props(name);
}

/* ---- device_add, device_del ---- */

static bool qmp_device_opts_add(QliteOpts *opts, const char *key, json_t *v,
                                GError **errp)
{
    g_autofree char *val = qmp_prop_string(key, "", v, errp);

    if (!val) {
        return false;
    }
    qopts_set(opts, key, val);
    return true;
}

json_t *qmp_cmd_device_add(QmpSession *s, json_t *a, GError **errp)
{
    g_autoptr(QliteOpts) opts = qopts_new("device");
    const char *key;
    json_t *v;

    json_object_foreach(a, key, v) {
        if (!qmp_device_opts_add(opts, key, v, errp)) {
            return NULL;
        }
    }
    if (!qdev_device_add(opts, errp) || !qopts_check_all_used(opts, errp)) {
        return NULL;
    }
    return json_object();
}

static DeviceState *qmp_find_device(const char *id, GError **errp)
{
    DeviceState *dev = NULL;

    if (id[0] == '/') {
        Object *obj = object_resolve_path(id, NULL);

        if (obj && object_dynamic_cast(obj, TYPE_DEVICE)) {
            dev = DEVICE(obj);
        }
    } else {
        dev = qdev_find_by_id(id);
    }
    if (!dev) {
        g_set_error(errp, QLITE_ERROR, QLITE_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", id);
    }
    return dev;
}

static void qmp_emit_device_deleted(const char *id, const char *path)
{
    json_t *data = json_object();
    g_autofree char *text = NULL;

    if (id) {
        json_object_set_new(data, "device", json_string(id));
    }
    json_object_set_new(data, "path", json_string(path));
    text = json_dumps(data, JSON_PRESERVE_ORDER);
    json_decref(data);
    qlite_event_emit("DEVICE_DELETED", text);
}

json_t *qmp_cmd_device_del(QmpSession *s, json_t *a, GError **errp)
{
    const char *id = qmp_arg_str(a, "id");
    DeviceState *dev = qmp_find_device(id, errp);
    g_autofree char *path = NULL;
    g_autofree char *dev_id = NULL;

    if (!dev) {
        return NULL;
    }
    if (!DEVICE_GET_CLASS(dev)->hotpluggable) {
        error_setg(errp, "Device '%s' does not support hotplugging",
                   dev->id ? dev->id : object_get_typename(OBJECT(dev)));
        return NULL;
    }
    path = object_get_canonical_path(OBJECT(dev));
    dev_id = g_strdup(dev->id);
    object_ref(OBJECT(dev));
    qdev_unrealize(dev);
    object_unparent(OBJECT(dev));
    object_unref(OBJECT(dev));
    qmp_emit_device_deleted(dev_id, path);
    return json_object();
}
