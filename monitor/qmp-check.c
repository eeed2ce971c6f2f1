/*
 * Argument checking against the schema, with QEMU's messages:
 *   Parameter 'x' is missing / is unexpected
 *   Invalid parameter type for 'x', expected: integer
 *   Parameter 'x' does not accept value 'y'
 * Nested members are named "outer.inner" and array elements "list[2]".
 * Handlers may then read their arguments without re-checking types.
 */
#include "monitor-internal.h"
#include "qlite/error.h"

static bool qmp_check_value(const QmpType *type, json_t *v, const char *name,
                            GError **errp);

static const char *qmp_check_expected(const QmpType *type)
{
    static const struct {
        const char *json_type;
        const char *word;
    } words[] = {
        { "string", "string" }, { "int", "integer" },
        { "number", "number" }, { "boolean", "boolean" },
        { "null", "null" },
    };

    switch (type->kind) {
    case QMP_TYPE_ENUM:
        return "string";
    case QMP_TYPE_ARRAY:
        return "array";
    case QMP_TYPE_OBJECT:
        return "object";
    default:
        break;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(words); i++) {
        if (!strcmp(type->json_type, words[i].json_type)) {
            return words[i].word;
        }
    }
    return "value";
}

static bool qmp_check_builtin(const QmpType *type, json_t *v)
{
    const char *jt = type->json_type;

    if (!strcmp(jt, "string")) {
        return json_is_string(v);
    } else if (!strcmp(jt, "int")) {
        return json_is_integer(v);
    } else if (!strcmp(jt, "number")) {
        return json_is_number(v);
    } else if (!strcmp(jt, "boolean")) {
        return json_is_boolean(v);
    } else if (!strcmp(jt, "null")) {
        return json_is_null(v);
    }
    return true;        /* "any" */
}

static bool qmp_check_enum(const QmpType *type, json_t *v, const char *name,
                           GError **errp)
{
    const char *s = json_string_value(v);

    for (guint i = 0; i < type->values->len; i++) {
        if (!strcmp(s, type->values->pdata[i])) {
            return true;
        }
    }
    error_setg(errp, "Parameter '%s' does not accept value '%s'", name, s);
    return false;
}

static bool qmp_check_array(const QmpType *type, json_t *v, const char *name,
                            GError **errp)
{
    size_t i;
    json_t *el;

    json_array_foreach(v, i, el) {
        g_autofree char *elname = g_strdup_printf("%s[%zu]", name, i);

        if (!qmp_check_value(type->element, el, elname, errp)) {
            return false;
        }
    }
    return true;
}

/* Members of @obj against @type; @prefix names the enclosing member. */
static bool qmp_check_object(const QmpType *type, json_t *obj,
                             const char *prefix, bool extra_ok,
                             GError **errp)
{
    const char *key;
    json_t *v;

    for (guint i = 0; i < type->members->len; i++) {
        QmpMember *m = type->members->pdata[i];
        g_autofree char *name = prefix ? g_strdup_printf("%s.%s", prefix,
                                                         m->name)
                                       : g_strdup(m->name);

        v = json_object_get(obj, m->name);
        if (!v) {
            if (!m->optional) {
                error_setg(errp, "Parameter '%s' is missing", name);
                return false;
            }
            continue;
        }
        if (!qmp_check_value(m->type, v, name, errp)) {
            return false;
        }
    }
    if (extra_ok) {
        return true;
    }
    json_object_foreach(obj, key, v) {
        bool known = false;

        for (guint i = 0; i < type->members->len && !known; i++) {
            known = !strcmp(((QmpMember *)type->members->pdata[i])->name, key);
        }
        if (!known) {
            error_setg(errp, "Parameter '%s%s%s' is unexpected",
                       prefix ? prefix : "", prefix ? "." : "", key);
            return false;
        }
    }
    return true;
}

static bool qmp_check_value(const QmpType *type, json_t *v, const char *name,
                            GError **errp)
{
    bool ok;

    switch (type->kind) {
    case QMP_TYPE_BUILTIN:
        ok = qmp_check_builtin(type, v);
        break;
    case QMP_TYPE_ENUM:
        ok = json_is_string(v);
        break;
    case QMP_TYPE_ARRAY:
        ok = json_is_array(v);
        break;
    default:
        ok = json_is_object(v);
        break;
    }
    if (!ok) {
        error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                   name, qmp_check_expected(type));
        return false;
    }
    switch (type->kind) {
    case QMP_TYPE_ENUM:
        return qmp_check_enum(type, v, name, errp);
    case QMP_TYPE_ARRAY:
        return qmp_check_array(type, v, name, errp);
    case QMP_TYPE_OBJECT:
        return qmp_check_object(type, v, name, false, errp);
    default:
        return true;
    }
}

bool qmp_check_args(const QmpType *type, json_t *args, bool extra_ok,
                    GError **errp)
{
    return qmp_check_object(type, args, NULL, extra_ok, errp);
}
