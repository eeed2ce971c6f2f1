/*
 * Types, classes, objects, properties and the composition tree.
 */
#include "qlite/object.h"
#include "qlite/error.h"

struct TypeImpl {
    TypeInfo info;
    TypeImpl *parent_type;
    ObjectClass *klass;         /* built on first use */
};

static GHashTable *type_table;  /* name -> TypeImpl */
static Object *root;

static GHashTable *types(void)
{
    if (!type_table) {
        type_table = g_hash_table_new(g_str_hash, g_str_equal);
    }
    return type_table;
}

void type_register(const TypeInfo *info)
{
    TypeImpl *ti = g_new0(TypeImpl, 1);

    g_assert(info->name);
    g_assert(!g_hash_table_contains(types(), info->name));
    ti->info = *info;
    g_hash_table_insert(types(), (gpointer)info->name, ti);
}

static TypeImpl *type_lookup(const char *name)
{
    return name ? g_hash_table_lookup(types(), name) : NULL;
}

static TypeImpl *type_parent(TypeImpl *ti)
{
    if (!ti->parent_type && ti->info.parent) {
        ti->parent_type = type_lookup(ti->info.parent);
        g_assert(ti->parent_type);
    }
    return ti->parent_type;
}

static size_t type_class_size(TypeImpl *ti)
{
    for (; ti; ti = type_parent(ti)) {
        if (ti->info.class_size) {
            return ti->info.class_size;
        }
    }
    return sizeof(ObjectClass);
}

static size_t type_instance_size(TypeImpl *ti)
{
    for (; ti; ti = type_parent(ti)) {
        if (ti->info.instance_size) {
            return ti->info.instance_size;
        }
    }
    return sizeof(Object);
}

/* A class starts as a copy of its parent's, then class_init overrides. */
static void type_initialize(TypeImpl *ti)
{
    TypeImpl *parent;
    size_t size;

    if (ti->klass) {
        return;
    }
    size = type_class_size(ti);
    ti->klass = g_malloc0(size);
    parent = type_parent(ti);
    if (parent) {
        type_initialize(parent);
        g_assert(type_class_size(parent) <= size);
        memcpy(ti->klass, parent->klass, type_class_size(parent));
    }
    ti->klass->type = ti;
    if (ti->info.class_init) {
        ti->info.class_init(ti->klass, ti->info.class_data);
    }
}

ObjectClass *object_class_by_name(const char *name)
{
    TypeImpl *ti = type_lookup(name);

    if (!ti) {
        return NULL;
    }
    type_initialize(ti);
    return ti->klass;
}

const char *object_class_get_name(ObjectClass *klass)
{
    return klass->type->info.name;
}

ObjectClass *object_class_get_parent(ObjectClass *klass)
{
    TypeImpl *parent = type_parent(klass->type);

    if (!parent) {
        return NULL;
    }
    type_initialize(parent);
    return parent->klass;
}

bool object_class_is_abstract(ObjectClass *klass)
{
    return klass->type->info.abstract;
}

static bool type_is_ancestor(TypeImpl *ti, TypeImpl *ancestor)
{
    for (; ti; ti = type_parent(ti)) {
        if (ti == ancestor) {
            return true;
        }
    }
    return false;
}

ObjectClass *object_class_dynamic_cast(ObjectClass *klass, const char *name)
{
    TypeImpl *target = type_lookup(name);

    if (!klass || !target || !type_is_ancestor(klass->type, target)) {
        return NULL;
    }
    return klass;
}

static gint class_name_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(object_class_get_name((ObjectClass *)a),
                  object_class_get_name((ObjectClass *)b));
}

GSList *object_class_get_list(const char *implements, bool include_abstract)
{
    GHashTableIter iter;
    gpointer value;
    GSList *list = NULL;

    g_hash_table_iter_init(&iter, types());
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        TypeImpl *ti = value;
        ObjectClass *klass = object_class_by_name(ti->info.name);

        if (ti->info.abstract && !include_abstract) {
            continue;
        }
        if (implements && !object_class_dynamic_cast(klass, implements)) {
            continue;
        }
        list = g_slist_prepend(list, klass);
    }
    return g_slist_sort(list, class_name_cmp);
}

static void object_init_with_type(Object *obj, TypeImpl *ti)
{
    TypeImpl *parent = type_parent(ti);

    if (parent) {
        object_init_with_type(obj, parent);
    }
    if (ti->info.instance_init) {
        ti->info.instance_init(obj);
    }
}

static void object_finalize_with_type(Object *obj, TypeImpl *ti)
{
    for (; ti; ti = type_parent(ti)) {
        if (ti->info.instance_finalize) {
            ti->info.instance_finalize(obj);
        }
    }
}

static void object_property_free(gpointer data)
{
    ObjectProperty *prop = data;

    if (prop->child) {
        prop->child->parent = NULL;
        object_unref(prop->child);
    }
    g_free(prop->name);
    g_free(prop->type);
    g_free(prop->description);
    g_free(prop);
}

Object *object_new(const char *typename)
{
    TypeImpl *ti = type_lookup(typename);
    Object *obj;

    g_assert(ti);
    g_assert(!ti->info.abstract);
    type_initialize(ti);
    obj = g_malloc0(type_instance_size(ti));
    obj->klass = ti->klass;
    obj->ref = 1;
    obj->properties = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                            object_property_free);
    obj->property_order = g_ptr_array_new();
    object_init_with_type(obj, ti);
    return obj;
}

Object *object_ref(Object *obj)
{
    obj->ref++;
    return obj;
}

void object_unref(Object *obj)
{
    if (!obj) {
        return;
    }
    g_assert(obj->ref > 0);
    if (--obj->ref > 0) {
        return;
    }
    object_finalize_with_type(obj, obj->klass->type);
    g_ptr_array_free(obj->property_order, true);
    g_hash_table_destroy(obj->properties);
    g_free(obj->name);
    g_free(obj);
}

const char *object_get_typename(Object *obj)
{
    return obj->klass->type->info.name;
}

ObjectClass *object_get_class(Object *obj)
{
    return obj->klass;
}

Object *object_dynamic_cast(Object *obj, const char *typename)
{
    if (obj && object_class_dynamic_cast(obj->klass, typename)) {
        return obj;
    }
    return NULL;
}

Object *object_dynamic_cast_assert(Object *obj, const char *typename)
{
    Object *ret = object_dynamic_cast(obj, typename);

    if (obj && !ret) {
        g_error("object of type '%s' is not a '%s'",
                object_get_typename(obj), typename);
    }
    return ret;
}

ObjectProperty *object_property_add(Object *obj, const char *name,
                                    const char *type, ObjectPropertyGet get,
                                    ObjectPropertySet set, void *opaque)
{
    ObjectProperty *prop = g_new0(ObjectProperty, 1);

    g_assert(!g_hash_table_contains(obj->properties, name));
    prop->name = g_strdup(name);
    prop->type = g_strdup(type);
    prop->get = get;
    prop->set = set;
    prop->opaque = opaque;
    g_hash_table_insert(obj->properties, prop->name, prop);
    g_ptr_array_add(obj->property_order, prop->name);
    return prop;
}

ObjectProperty *object_property_find(Object *obj, const char *name)
{
    return g_hash_table_lookup(obj->properties, name);
}

GPtrArray *object_property_list(Object *obj)
{
    GPtrArray *list = g_ptr_array_new();

    for (guint i = 0; i < obj->property_order->len; i++) {
        g_ptr_array_add(list, object_property_find(
                            obj, obj->property_order->pdata[i]));
    }
    return list;
}

char *object_property_get_str(Object *obj, const char *name, GError **errp)
{
    ObjectProperty *prop = object_property_find(obj, name);

    if (!prop) {
        error_setg(errp, "Property '%s.%s' not found",
                   object_get_typename(obj), name);
        return NULL;
    }
    if (!prop->get) {
        error_setg(errp, "Property '%s.%s' is not readable",
                   object_get_typename(obj), name);
        return NULL;
    }
    return prop->get(obj, prop, errp);
}

bool object_property_set_str(Object *obj, const char *name, const char *val,
                             GError **errp)
{
    ObjectProperty *prop = object_property_find(obj, name);

    if (!prop) {
        error_setg(errp, "Property '%s.%s' not found",
                   object_get_typename(obj), name);
        return false;
    }
    if (!prop->set) {
        error_setg(errp, "Property '%s.%s' is not writable",
                   object_get_typename(obj), name);
        return false;
    }
    return prop->set(obj, prop, val, errp);
}

static char *child_prop_get(Object *obj, ObjectProperty *prop, GError **errp)
{
    return object_get_canonical_path(prop->child);
}

void object_property_add_child(Object *parent, const char *name,
                               Object *child)
{
    g_autofree char *type = g_strdup_printf("child<%s>",
                                            object_get_typename(child));
    ObjectProperty *prop;

    g_assert(!child->parent);
    prop = object_property_add(parent, name, type, child_prop_get, NULL,
                               NULL);
    prop->child = object_ref(child);
    child->parent = parent;
    g_free(child->name);
    child->name = g_strdup(name);
}

void object_unparent(Object *obj)
{
    Object *parent = obj->parent;
    g_autofree char *name = NULL;

    if (!parent) {
        return;
    }
    name = g_strdup(obj->name);
    g_ptr_array_remove(parent->property_order,
                       object_property_find(parent, name)->name);
    g_hash_table_remove(parent->properties, name);
}

Object *object_get_root(void)
{
    if (!root) {
        root = object_new("container");
    }
    return root;
}

char *object_get_canonical_path(Object *obj)
{
    GString *path = g_string_new("");

    if (obj == object_get_root()) {
        g_string_assign(path, "/");
    }
    for (; obj && obj->parent; obj = obj->parent) {
        g_string_prepend(path, obj->name);
        g_string_prepend_c(path, '/');
    }
    return g_string_free(path, false);
}

GPtrArray *object_get_children(Object *obj)
{
    GPtrArray *children = g_ptr_array_new();

    for (guint i = 0; i < obj->property_order->len; i++) {
        ObjectProperty *prop = object_property_find(
            obj, obj->property_order->pdata[i]);

        if (prop->child) {
            g_ptr_array_add(children, prop->child);
        }
    }
    return children;
}

static Object *resolve_absolute(char **parts)
{
    Object *obj = object_get_root();

    for (char **p = parts; *p; p++) {
        ObjectProperty *prop;

        if (!**p) {
            continue;
        }
        prop = object_property_find(obj, *p);
        if (!prop || !prop->child) {
            return NULL;
        }
        obj = prop->child;
    }
    return obj;
}

/* Does the path of @obj end with the components @parts[0..n-1]? */
static bool path_ends_with(Object *obj, char **parts, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        if (!obj || !obj->name || strcmp(obj->name, parts[i])) {
            return false;
        }
        obj = obj->parent;
    }
    return true;
}

static void resolve_partial(Object *obj, char **parts, int n, Object **found,
                            int *count)
{
    g_autoptr(GPtrArray) children = object_get_children(obj);

    if (path_ends_with(obj, parts, n)) {
        if (*found != obj) {
            (*count)++;
        }
        *found = obj;
    }
    for (guint i = 0; i < children->len; i++) {
        resolve_partial(children->pdata[i], parts, n, found, count);
    }
}

Object *object_resolve_path(const char *path, bool *ambiguous)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    Object *found = NULL;
    int count = 0;

    if (ambiguous) {
        *ambiguous = false;
    }
    if (path[0] == '/') {
        return resolve_absolute(parts);
    }
    if (!path[0]) {
        return NULL;
    }
    resolve_partial(object_get_root(), parts, g_strv_length(parts), &found,
                    &count);
    if (count > 1) {
        if (ambiguous) {
            *ambiguous = true;
        }
        return NULL;
    }
    return found;
}

static const TypeInfo object_info = {
    .name = TYPE_OBJECT,
    .instance_size = sizeof(Object),
    .class_size = sizeof(ObjectClass),
    .abstract = true,
};

/* A plain folder in the composition tree (/machine/peripheral, ...). */
static const TypeInfo container_info = {
    .name = "container",
    .parent = TYPE_OBJECT,
};

type_init(object_register_types)
{
    type_register(&object_info);
    type_register(&container_info);
}

Object *container_get(const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    Object *obj = object_get_root();

    for (char **p = parts; *p; p++) {
        ObjectProperty *prop;
        Object *child;

        if (!**p) {
            continue;
        }
        prop = object_property_find(obj, *p);
        if (prop && prop->child) {
            obj = prop->child;
            continue;
        }
        child = object_new("container");
        object_property_add_child(obj, *p, child);
        object_unref(child);
        obj = child;
    }
    return obj;
}
