/*
 * The object model: named types with parents and classes.
 *
 * A type is registered once from a TypeInfo (static data in the type's own
 * file).  Its class is built lazily: the parent's class is copied, then the
 * type's class_init runs, so a subclass inherits and overrides methods.
 * Objects carry a class pointer, a reference count, and live in a
 * composition tree (/machine/peripheral/ID ...) that QMP's qom-* walk.
 *
 *   type_init(serial_register_types)   -- in the device's file
 *   static void serial_register_types(void) { type_register(&info); }
 *
 * scripts/gen-type-list.py collects every type_init() into one function
 * that main() calls: no constructor tricks, one visible list.
 */
#ifndef QLITE_OBJECT_H
#define QLITE_OBJECT_H

#include "qlite/osdep.h"

typedef struct TypeImpl TypeImpl;
typedef struct ObjectClass ObjectClass;
typedef struct Object Object;
typedef struct ObjectProperty ObjectProperty;

#define TYPE_OBJECT "object"
#define TYPE_INTERFACE "interface"

struct ObjectClass {
    TypeImpl *type;
};

struct Object {
    ObjectClass *klass;
    unsigned ref;
    Object *parent;             /* in the composition tree */
    char *name;                 /* our name under parent */
    GHashTable *properties;     /* name -> ObjectProperty */
    GPtrArray *property_order;  /* names, in the order added */
};

typedef struct TypeInfo {
    const char *name;
    const char *parent;
    size_t instance_size;
    size_t class_size;
    bool abstract;
    void (*class_init)(ObjectClass *klass, const void *data);
    const void *class_data;
    void (*instance_init)(Object *obj);
    void (*instance_finalize)(Object *obj);
} TypeInfo;

#define type_init(fn) void fn(void); void fn(void)

void type_register(const TypeInfo *info);
/* Run every type_init() function once (generated list). */
void qlite_register_all_types(void);

ObjectClass *object_class_by_name(const char *name);
const char *object_class_get_name(ObjectClass *klass);
ObjectClass *object_class_get_parent(ObjectClass *klass);
bool object_class_is_abstract(ObjectClass *klass);
/* @klass if it is @name or derives from it, else NULL. */
ObjectClass *object_class_dynamic_cast(ObjectClass *klass, const char *name);
/* Every class that derives from @implements, sorted by name. */
GSList *object_class_get_list(const char *implements, bool include_abstract);

Object *object_new(const char *typename);
Object *object_ref(Object *obj);
void object_unref(Object *obj);
const char *object_get_typename(Object *obj);
Object *object_dynamic_cast(Object *obj, const char *typename);
Object *object_dynamic_cast_assert(Object *obj, const char *typename);
ObjectClass *object_get_class(Object *obj);

#define OBJECT(obj) ((Object *)(obj))
#define OBJECT_CLASS(klass) ((ObjectClass *)(klass))
#define OBJECT_CHECK(type, obj, name) \
    ((type *)object_dynamic_cast_assert(OBJECT(obj), (name)))
#define OBJECT_CLASS_CHECK(type, klass, name) \
    ((type *)object_class_dynamic_cast(OBJECT_CLASS(klass), (name)))
#define OBJECT_GET_CLASS(type, obj, name) \
    OBJECT_CLASS_CHECK(type, object_get_class(OBJECT(obj)), name)

/*
 * Properties.  Values cross the boundary as strings (the command line's
 * form); the type name ("bool", "uint32", "str", "child<serial>",
 * "link<chardev>") tells QMP how to render them as JSON.
 */
typedef char *(*ObjectPropertyGet)(Object *obj, ObjectProperty *prop,
                                   GError **errp);
typedef bool (*ObjectPropertySet)(Object *obj, ObjectProperty *prop,
                                  const char *value, GError **errp);

struct ObjectProperty {
    char *name;
    char *type;
    char *description;
    ObjectPropertyGet get;      /* NULL: write-only */
    ObjectPropertySet set;      /* NULL: read-only */
    void *opaque;
    Object *child;              /* for child<> properties */
};

ObjectProperty *object_property_add(Object *obj, const char *name,
                                    const char *type, ObjectPropertyGet get,
                                    ObjectPropertySet set, void *opaque);
ObjectProperty *object_property_find(Object *obj, const char *name);
/* Names in the order they were added. */
GPtrArray *object_property_list(Object *obj);
char *object_property_get_str(Object *obj, const char *name, GError **errp);
bool object_property_set_str(Object *obj, const char *name, const char *val,
                             GError **errp);

/* Put @child under @parent as @name (takes a reference). */
void object_property_add_child(Object *parent, const char *name,
                               Object *child);
/* Take @obj out of its parent (drops the tree's reference). */
void object_unparent(Object *obj);
Object *object_get_root(void);
/* "/machine/peripheral/ser0"; caller frees. */
char *object_get_canonical_path(Object *obj);
/*
 * Absolute paths start at the root; a partial path ("serial0", "i8259")
 * matches the unique object whose path ends with it.  *ambiguous is set
 * when several match.
 */
Object *object_resolve_path(const char *path, bool *ambiguous);
/* Get or make the container at absolute @path ("/machine/peripheral"). */
Object *container_get(const char *path);
/* Children of @obj, in insertion order. */
GPtrArray *object_get_children(Object *obj);

#endif
