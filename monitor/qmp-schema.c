/*
 * The QMP schema: types, commands and events from the three .def tables,
 * resolved once into QmpType trees.  Argument checking, query-qmp-schema
 * and docs/qmp.md are all derived from these, so they cannot drift.
 *
 * This file depends on GLib and jansson only, so the doc generator
 * (qmp-doc.c) links it without the emulator.
 */
#include "monitor-internal.h"

const QmpCommandInfo qmp_command_info[] = {
#define QMP_COMMAND(name, fn, args, ret, flags, doc) \
    { name, args, ret, flags, doc },
#include "qmp-commands.def"
#undef QMP_COMMAND
};
const size_t qmp_command_count = G_N_ELEMENTS(qmp_command_info);

const QmpEventInfo qmp_event_info[] = {
#define QMP_EVENT(name, data, doc) { name, data, doc },
#include "qmp-events.def"
#undef QMP_EVENT
};
const size_t qmp_event_count = G_N_ELEMENTS(qmp_event_info);

typedef struct QmpTypeDef {
    const char *name;
    bool is_enum;
    const char *spec;
    const char *doc;
} QmpTypeDef;

static const QmpTypeDef qmp_type_defs[] = {
#define QMP_STRUCT(name, members, doc) { #name, false, members, doc },
#define QMP_ENUM(name, values, doc) { #name, true, values, doc },
#include "qmp-types.def"
#undef QMP_STRUCT
#undef QMP_ENUM
};

static const struct {
    const char *name;
    const char *json_type;
} qmp_builtins[] = {
    { "str", "string" }, { "int", "int" }, { "number", "number" },
    { "bool", "boolean" }, { "any", "value" }, { "null", "null" },
};

static GHashTable *qmp_types;           /* name -> QmpType */
static QmpType *qmp_empty_object;
static QmpType **qmp_command_args;
static QmpType **qmp_command_rets;
static QmpType **qmp_event_data;

static QmpType *qmp_type_new(QmpTypeKind kind, const char *name)
{
    QmpType *t = g_new0(QmpType, 1);

    t->kind = kind;
    t->name = g_strdup(name);
    return t;
}

static const QmpType *qmp_type_lookup(const char *name);

/* "[T]": made on first use and kept in the registry. */
static const QmpType *qmp_type_array(const char *name)
{
    g_autofree char *inner = g_strndup(name + 1, strlen(name) - 2);
    QmpType *t = qmp_type_new(QMP_TYPE_ARRAY, name);

    t->element = qmp_type_lookup(inner);
    g_hash_table_insert(qmp_types, t->name, t);
    return t;
}

static const QmpType *qmp_type_lookup(const char *name)
{
    QmpType *t;

    if (!*name) {
        return qmp_empty_object;
    }
    t = g_hash_table_lookup(qmp_types, name);
    if (t) {
        return t;
    }
    if (name[0] == '[' && g_str_has_suffix(name, "]")) {
        return qmp_type_array(name);
    }
    /* The tables are ours: a bad name is a bug caught by any test run. */
    g_error("qmp schema: unknown type '%s'", name);
}

/* Fill @t's members from "name:type,*name:type". */
static void qmp_type_parse_members(QmpType *t, const char *spec)
{
    g_auto(GStrv) items = g_strsplit(spec, ",", -1);

    t->members = g_ptr_array_new();
    for (char **it = items; *it && **it; it++) {
        const char *colon = strchr(*it, ':');
        QmpMember *m = g_new0(QmpMember, 1);
        const char *name = *it;

        if (!colon) {
            g_error("qmp schema: member '%s' lacks a type", *it);
        }
        m->optional = name[0] == '*';
        name += m->optional;
        m->name = g_strndup(name, colon - name);
        m->type = qmp_type_lookup(colon + 1);
        g_ptr_array_add(t->members, m);
    }
}

static QmpType *qmp_type_anonymous(const char *spec)
{
    QmpType *t;

    if (!*spec) {
        return qmp_empty_object;
    }
    t = qmp_type_new(QMP_TYPE_OBJECT, "");
    qmp_type_parse_members(t, spec);
    return t;
}

static void qmp_schema_add_named(void)
{
    /* Two passes: members may name types defined further down. */
    for (size_t i = 0; i < G_N_ELEMENTS(qmp_type_defs); i++) {
        const QmpTypeDef *d = &qmp_type_defs[i];
        QmpType *t = qmp_type_new(d->is_enum ? QMP_TYPE_ENUM : QMP_TYPE_OBJECT,
                                  d->name);

        t->doc = d->doc;
        g_hash_table_insert(qmp_types, t->name, t);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(qmp_type_defs); i++) {
        const QmpTypeDef *d = &qmp_type_defs[i];
        QmpType *t = g_hash_table_lookup(qmp_types, d->name);

        if (d->is_enum) {
            g_auto(GStrv) vals = g_strsplit(d->spec, " ", -1);

            t->values = g_ptr_array_new();
            for (char **v = vals; *v; v++) {
                g_ptr_array_add(t->values, g_strdup(*v));
            }
        } else {
            qmp_type_parse_members(t, d->spec);
        }
    }
}

static void qmp_schema_init(void)
{
    if (qmp_types) {
        return;
    }
    qmp_types = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < G_N_ELEMENTS(qmp_builtins); i++) {
        QmpType *t = qmp_type_new(QMP_TYPE_BUILTIN, qmp_builtins[i].name);

        t->json_type = qmp_builtins[i].json_type;
        g_hash_table_insert(qmp_types, t->name, t);
    }
    qmp_empty_object = qmp_type_new(QMP_TYPE_OBJECT, "");
    qmp_empty_object->members = g_ptr_array_new();
    qmp_schema_add_named();
    qmp_command_args = g_new0(QmpType *, qmp_command_count);
    qmp_command_rets = g_new0(QmpType *, qmp_command_count);
    for (size_t i = 0; i < qmp_command_count; i++) {
        qmp_command_args[i] = qmp_type_anonymous(qmp_command_info[i].args);
        qmp_command_rets[i] =
            (QmpType *)qmp_type_lookup(qmp_command_info[i].ret);
    }
    qmp_event_data = g_new0(QmpType *, qmp_event_count);
    for (size_t i = 0; i < qmp_event_count; i++) {
        qmp_event_data[i] = qmp_type_anonymous(qmp_event_info[i].data);
    }
}

int qmp_schema_find_command(const char *name)
{
    for (size_t i = 0; i < qmp_command_count; i++) {
        if (!strcmp(qmp_command_info[i].name, name)) {
            return i;
        }
    }
    return -1;
}

const QmpType *qmp_schema_command_args(size_t index)
{
    qmp_schema_init();
    g_assert(index < qmp_command_count);
    return qmp_command_args[index];
}

/* ---- query-qmp-schema ---- */

/*
 * As QEMU does, non-builtin type names are masked as numbers so clients
 * cannot come to depend on them; each type is listed once.
 */
typedef struct QmpIntrospect {
    json_t *list;
    GHashTable *seen;           /* QmpType -> masked name */
    unsigned next;
} QmpIntrospect;

static json_t *qmp_introspect_type(QmpIntrospect *in, const QmpType *t);

static json_t *qmp_introspect_members(QmpIntrospect *in, const QmpType *t)
{
    json_t *members = json_array();

    for (guint i = 0; i < t->members->len; i++) {
        QmpMember *m = t->members->pdata[i];
        json_t *jm = json_object();

        json_object_set_new(jm, "name", json_string(m->name));
        json_object_set_new(jm, "type", qmp_introspect_type(in, m->type));
        if (m->optional) {
            json_object_set_new(jm, "default", json_null());
        }
        json_array_append_new(members, jm);
    }
    return members;
}

static void qmp_introspect_fill(QmpIntrospect *in, const QmpType *t,
                                json_t *e)
{
    switch (t->kind) {
    case QMP_TYPE_BUILTIN:
        json_object_set_new(e, "meta-type", json_string("builtin"));
        json_object_set_new(e, "json-type", json_string(t->json_type));
        break;
    case QMP_TYPE_ARRAY:
        json_object_set_new(e, "meta-type", json_string("array"));
        json_object_set_new(e, "element-type",
                            qmp_introspect_type(in, t->element));
        break;
    case QMP_TYPE_ENUM: {
        json_t *vals = json_array(), *members = json_array();

        for (guint i = 0; i < t->values->len; i++) {
            const char *v = t->values->pdata[i];

            json_array_append_new(vals, json_string(v));
            json_array_append_new(members, json_pack("{s:s}", "name", v));
        }
        json_object_set_new(e, "meta-type", json_string("enum"));
        json_object_set_new(e, "values", vals);
        json_object_set_new(e, "members", members);
        break;
    }
    case QMP_TYPE_OBJECT:
        json_object_set_new(e, "meta-type", json_string("object"));
        json_object_set_new(e, "members", qmp_introspect_members(in, t));
        break;
    }
}

/* Returns the masked name (a new reference), listing @t on first use. */
static json_t *qmp_introspect_type(QmpIntrospect *in, const QmpType *t)
{
    const char *masked = g_hash_table_lookup(in->seen, t);
    g_autofree char *name = NULL;
    json_t *e;

    if (masked) {
        return json_string(masked);
    }
    if (t->kind == QMP_TYPE_BUILTIN) {
        name = g_strdup(t->name);
    } else if (t->kind == QMP_TYPE_ARRAY) {
        json_t *el = qmp_introspect_type(in, t->element);

        name = g_strdup_printf("[%s]", json_string_value(el));
        json_decref(el);
    } else {
        name = g_strdup_printf("%u", in->next++);
    }
    g_hash_table_insert(in->seen, (gpointer)t, g_strdup(name));
    e = json_object();
    json_object_set_new(e, "name", json_string(name));
    json_array_append_new(in->list, e);
    qmp_introspect_fill(in, t, e);
    return json_string(name);
}

json_t *qmp_schema_introspect(void)
{
    QmpIntrospect in = { .list = json_array() };

    qmp_schema_init();
    in.seen = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    for (size_t i = 0; i < qmp_command_count; i++) {
        json_t *e = json_object();

        json_object_set_new(e, "name", json_string(qmp_command_info[i].name));
        json_object_set_new(e, "meta-type", json_string("command"));
        json_array_append_new(in.list, e);
        json_object_set_new(e, "arg-type",
                            qmp_introspect_type(&in, qmp_command_args[i]));
        json_object_set_new(e, "ret-type",
                            qmp_introspect_type(&in, qmp_command_rets[i]));
    }
    for (size_t i = 0; i < qmp_event_count; i++) {
        json_t *e = json_object();

        json_object_set_new(e, "name", json_string(qmp_event_info[i].name));
        json_object_set_new(e, "meta-type", json_string("event"));
        json_array_append_new(in.list, e);
        json_object_set_new(e, "arg-type",
                            qmp_introspect_type(&in, qmp_event_data[i]));
    }
    g_hash_table_destroy(in.seen);
    return in.list;
}

/* ---- docs/qmp.md ---- */

static void qmp_doc_members(GString *out, const char *heading,
                            const QmpType *t)
{
    if (!t->members->len) {
        g_string_append_printf(out, "%s: none.\n\n", heading);
        return;
    }
    g_string_append_printf(out, "%s:\n\n", heading);
    for (guint i = 0; i < t->members->len; i++) {
        QmpMember *m = t->members->pdata[i];

        g_string_append_printf(out, "- `%s`: `%s`%s\n", m->name,
                               m->type->name,
                               m->optional ? " (optional)" : "");
    }
    g_string_append_c(out, '\n');
}

static void qmp_doc_commands(GString *out)
{
    g_string_append(out, "## Commands\n\n");
    for (size_t i = 0; i < qmp_command_count; i++) {
        const QmpCommandInfo *c = &qmp_command_info[i];

        g_string_append_printf(out, "### `%s`\n\n%s\n\n", c->name, c->doc);
        qmp_doc_members(out, "Arguments", qmp_command_args[i]);
        if (c->flags & QMP_CMD_EXTRA_ARGS) {
            g_string_append(out, "Further arguments: device properties.\n\n");
        }
        g_string_append_printf(out, "Returns: `%s`\n\n",
                               *c->ret ? c->ret : "{}");
    }
}

static void qmp_doc_events(GString *out)
{
    g_string_append(out, "## Events\n\n");
    for (size_t i = 0; i < qmp_event_count; i++) {
        const QmpEventInfo *e = &qmp_event_info[i];

        g_string_append_printf(out, "### `%s`\n\n%s\n\n", e->name, e->doc);
        qmp_doc_members(out, "Data", qmp_event_data[i]);
    }
}

static void qmp_doc_types(GString *out)
{
    g_string_append(out, "## Types\n\n");
    for (size_t i = 0; i < G_N_ELEMENTS(qmp_type_defs); i++) {
        const QmpType *t = qmp_type_lookup(qmp_type_defs[i].name);

        g_string_append_printf(out, "### `%s`\n\n%s\n\n", t->name, t->doc);
        if (t->kind == QMP_TYPE_ENUM) {
            g_string_append(out, "Values:");
            for (guint v = 0; v < t->values->len; v++) {
                g_string_append_printf(out, "%s `%s`", v ? "," : "",
                                       (char *)t->values->pdata[v]);
            }
            g_string_append(out, ".\n\n");
        } else {
            qmp_doc_members(out, "Members", t);
        }
    }
}

void qmp_schema_print_doc(GString *out)
{
    qmp_schema_init();
    g_string_append(out,
        "# QMP reference\n\n"
        "<!-- Generated by qlite-qmp-doc from monitor/qmp-commands.def,\n"
        "     qmp-events.def and qmp-types.def; do not edit by hand:\n"
        "     ninja -C BUILD update-qmp-doc -->\n\n"
        "qlite speaks QMP as QEMU 7.2 does (docs/interop/qmp-spec.rst in "
        "QEMU):\nconnect, read the greeting, send `qmp_capabilities`, then "
        "commands as\n`{\"execute\": NAME, \"arguments\": {...}, \"id\": "
        "ANY}`. Replies are\n`{\"return\": ...}` or `{\"error\": {\"class\":"
        " ..., \"desc\": ...}}` with the\nrequest's `id`. Events arrive as "
        "`{\"event\": NAME, \"data\": {...},\n\"timestamp\": {\"seconds\": S, "
        "\"microseconds\": US}}` (no `data` when the\nevent has none).\n\n"
        "Monitors: `-qmp unix:PATH,server=on,wait=off`, `-qmp "
        "tcp:HOST:PORT,...`,\n`-qmp stdio`, `-qmp-pretty ...`, `-mon "
        "chardev=ID,mode=control`; the\nhuman monitor on `-monitor stdio`, "
        "`-mon chardev=ID` and `-nographic`\n(Ctrl-a c). A message over 1 "
        "MiB is answered with an error and dropped.\n\n"
        "Types are written `str`, `int`, `number`, `bool`, `any` (builtins),"
        "\n`[T]` (array of T) or a name from the Types section.\n\n");
    qmp_doc_commands(out);
    qmp_doc_events(out);
    qmp_doc_types(out);
}
