/*
 * Objects a user creates by name: -object TYPE,id=ID,... and QMP
 * object-add/object-del (secret, memory-backend-*).  Each lives at
 * /objects/ID.  Its properties are set from the option's keys, then
 * complete() checks them and acquires what the object stands for (reads
 * the secret, maps the memory); after that they are read-only.
 */
#ifndef QLITE_USER_CREATABLE_H
#define QLITE_USER_CREATABLE_H

#include "qlite/keyval.h"
#include "qlite/object.h"

#define TYPE_USER_CREATABLE "user-creatable"

typedef struct UserCreatable {
    Object parent;
    bool completed;
} UserCreatable;

typedef struct UserCreatableClass {
    ObjectClass parent;
    bool (*complete)(Object *obj, GError **errp);
    /* NULL: always deletable; false with @errp when in use. */
    bool (*can_delete)(Object *obj, GError **errp);
} UserCreatableClass;

#define USER_CREATABLE(obj) \
    OBJECT_CHECK(UserCreatable, (obj), TYPE_USER_CREATABLE)
#define USER_CREATABLE_GET_CLASS(obj) \
    OBJECT_GET_CLASS(UserCreatableClass, (obj), TYPE_USER_CREATABLE)

/*
 * @opts holds qom-type, id and the properties (keyval or flattened JSON).
 * Errors are QEMU's: "Parameter 'qom-type' does not accept value 'x'",
 * "Duplicate ID 'x' for object", "Invalid parameter 'k'".
 */
Object *user_creatable_add(QliteOpts *opts, GError **errp);
bool user_creatable_del(const char *id, GError **errp);
/* /objects/@id, or NULL. */
Object *user_creatable_find(const char *id);
/* /objects/@id if it is a @type, else NULL. */
Object *user_creatable_find_type(const char *id, const char *type);
/* The creatable types (non-abstract), for the error text and help. */
GSList *user_creatable_types(void);

/*
 * Typed properties backed by a field of the object, settable until the
 * object is complete.  Type names are QEMU's ("bool", "int", "string").
 */
void user_creatable_prop_bool(Object *obj, const char *name, bool *field);
void user_creatable_prop_size(Object *obj, const char *name,
                              uint64_t *field);
/* @type: "string", or an enum's name ("QCryptoSecretFormat"). */
void user_creatable_prop_str(Object *obj, const char *name,
                             const char *type, char **field);

#endif
