/*
 * A QMP session, as QEMU's docs/interop/qmp-spec.rst describes it: the
 * greeting, capabilities negotiation, then requests
 *   {"execute": NAME, "arguments": {...}, "id": ANY}
 * each answered by {"return": ...} or {"error": {"class", "desc"}} with
 * the request's id echoed whatever its JSON type.
 *
 * The session knows nothing of chardevs: bytes come in through
 * qmp_session_feed() and replies leave through the send callback, so the
 * fuzzer drives exactly this code.  The protocol-level commands
 * (qmp_capabilities and the schema queries) live here too.
 */
#include "monitor-internal.h"
#include "qlite/error.h"

static const QmpHandler qmp_handlers[] = {
#define QMP_COMMAND(name, fn, args, ret, flags, doc) qmp_cmd_##fn,
#include "qmp-commands.def"
#undef QMP_COMMAND
};

/* ---- replies ---- */

static const char *qmp_error_class(const GError *err)
{
    static const char *const classes[] = {
        [QLITE_ERROR_GENERIC] = "GenericError",
        [QLITE_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
        [QLITE_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
        [QLITE_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
        [QLITE_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
    };

    if (err->domain == QLITE_ERROR && err->code >= 0 &&
        err->code < (int)G_N_ELEMENTS(classes) && classes[err->code]) {
        return classes[err->code];
    }
    return "GenericError";
}

/* {"error": {...}}; frees @err. */
static json_t *qmp_error_reply(GError *err)
{
    /* Messages may quote the client's bytes, which need not be UTF-8. */
    g_autofree char *desc = g_utf8_make_valid(err->message, -1);
    json_t *reply = json_pack("{s:{s:s,s:s}}", "error",
                              "class", qmp_error_class(err), "desc", desc);

    g_error_free(err);
    return reply;
}

static void qmp_send_error(QmpSession *s, const char *desc)
{
    json_t *reply = qmp_error_reply(g_error_new_literal(
        QLITE_ERROR, QLITE_ERROR_GENERIC, desc));

    s->send(s, reply);
    json_decref(reply);
}

static json_t *qmp_version_info(void)
{
    return json_pack("{s:{s:i,s:i,s:i},s:s}", "qemu",
                     "micro", QLITE_QEMU_MICRO, "minor", QLITE_QEMU_MINOR,
                     "major", QLITE_QEMU_MAJOR,
                     "package", "qlite " QLITE_VERSION);
}

json_t *qmp_greeting(void)
{
    return json_pack("{s:{s:o,s:[]}}", "QMP", "version", qmp_version_info(),
                     "capabilities");
}

json_t *qmp_event_message(const char *name, json_t *data)
{
    gint64 now = g_get_real_time();
    json_t *msg = json_object();

    json_object_set_new(msg, "timestamp",
                        json_pack("{s:I,s:I}", "seconds",
                                  (json_int_t)(now / G_USEC_PER_SEC),
                                  "microseconds",
                                  (json_int_t)(now % G_USEC_PER_SEC)));
    json_object_set_new(msg, "event", json_string(name));
    if (data) {
        json_object_set(msg, "data", data);
    }
    return msg;
}

/* ---- dispatch ---- */

/* The request's members other than execute/arguments/id are errors. */
static bool qmp_check_request(json_t *req, GError **errp)
{
    const char *key;
    json_t *v;

    json_object_foreach(req, key, v) {
        if (!strcmp(key, "execute")) {
            if (!json_is_string(v)) {
                error_setg(errp, "QMP input member 'execute' must be a "
                           "string");
                return false;
            }
        } else if (!strcmp(key, "arguments")) {
            if (!json_is_object(v)) {
                error_setg(errp, "QMP input member 'arguments' must be an "
                           "object");
                return false;
            }
        } else if (strcmp(key, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", key);
            return false;
        }
    }
    if (!json_object_get(req, "execute")) {
        error_setg(errp, "QMP input lacks member 'execute'");
        return false;
    }
    return true;
}

static int qmp_lookup(QmpSession *s, const char *name, GError **errp)
{
    int idx = qmp_schema_find_command(name);

    if (!s->negotiated &&
        (idx < 0 || !(qmp_command_info[idx].flags & QMP_CMD_BEFORE_CAPS))) {
        g_set_error(errp, QLITE_ERROR, QLITE_ERROR_COMMAND_NOT_FOUND,
                    "Expecting capabilities negotiation with "
                    "'qmp_capabilities'");
        return -1;
    }
    if (idx < 0) {
        g_set_error(errp, QLITE_ERROR, QLITE_ERROR_COMMAND_NOT_FOUND,
                    "The command %s has not been found", name);
    }
    return idx;
}

static json_t *qmp_run(QmpSession *s, json_t *req, GError **errp)
{
    json_t *args;
    int idx;

    if (!json_is_object(req)) {
        error_setg(errp, "QMP input must be a JSON object");
        return NULL;
    }
    if (!qmp_check_request(req, errp)) {
        return NULL;
    }
    idx = qmp_lookup(s, json_string_value(json_object_get(req, "execute")),
                     errp);
    if (idx < 0) {
        return NULL;
    }
    args = json_object_get(req, "arguments");
    args = args ? json_incref(args) : json_object();
    if (!qmp_check_args(qmp_schema_command_args(idx), args,
                        qmp_command_info[idx].flags & QMP_CMD_EXTRA_ARGS,
                        errp)) {
        json_decref(args);
        return NULL;
    }
    req = qmp_handlers[idx](s, args, errp);
    json_decref(args);
    return req;
}

json_t *qmp_dispatch(QmpSession *s, json_t *req)
{
    GError *err = NULL;
    json_t *ret = qmp_run(s, req, &err);
    json_t *reply, *id;

    if (ret) {
        reply = json_object();
        json_object_set_new(reply, "return", ret);
    } else {
        if (!err) {
            err = g_error_new_literal(QLITE_ERROR, QLITE_ERROR_GENERIC,
                                      "Command failed");
        }
        reply = qmp_error_reply(err);
    }
    id = json_is_object(req) ? json_object_get(req, "id") : NULL;
    if (id) {
        json_object_set(reply, "id", id);
    }
    return reply;
}

/* ---- parsing ---- */

/*
 * QEMU also accepts 'single-quoted' strings; jansson does not, so they
 * are rewritten as double-quoted ones first.
 */
static char *qmp_requote(const char *text, size_t len)
{
    GString *out = g_string_sized_new(len + 8);
    char quote = 0;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];

        if (!quote) {
            quote = (c == '"' || c == '\'') ? c : 0;
            g_string_append_c(out, c == '\'' ? '"' : c);
        } else if (c == '\\' && i + 1 < len) {
            i++;
            if (quote == '\'' && text[i] == '\'') {
                g_string_append_c(out, '\'');
            } else {
                g_string_append_c(out, c);
                g_string_append_c(out, text[i]);
            }
        } else if (c == quote) {
            quote = 0;
            g_string_append_c(out, '"');
        } else if (c == '"') {
            g_string_append(out, "\\\"");
        } else {
            g_string_append_c(out, c);
        }
    }
    return g_string_free(out, false);
}

static json_t *qmp_parse(const char *text, size_t len, GError **errp)
{
    g_autofree char *requoted = NULL;
    json_error_t jerr;
    json_t *v;

    if (memchr(text, '\'', len)) {
        requoted = qmp_requote(text, len);
        text = requoted;
        len = strlen(requoted);
    }
    v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (v) {
        return v;
    }
    if (g_ascii_isalpha(text[0])) {
        error_setg(errp, "JSON parse error, invalid keyword '%.*s'",
                   (int)MIN(len, 64), text);
    } else if (strstr(jerr.text, "duplicate object key")) {
        error_setg(errp, "JSON parse error, duplicate key");
    } else {
        error_setg(errp, "JSON parse error, %s", jerr.text);
    }
    return NULL;
}

static void qmp_session_message(void *opaque, const char *text, size_t len,
                                const char *error)
{
    QmpSession *s = opaque;
    GError *err = NULL;
    json_t *req, *reply;

    if (error) {
        qmp_send_error(s, error);
        return;
    }
    req = qmp_parse(text, len, &err);
    if (!req) {
        qmp_send_error(s, err->message);
        g_error_free(err);
        return;
    }
    reply = qmp_dispatch(s, req);
    json_decref(req);
    s->send(s, reply);
    json_decref(reply);
}

void qmp_session_init(QmpSession *s, QmpSendFn send, void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->send = send;
    s->opaque = opaque;
    qmp_stream_init(&s->stream, qmp_session_message, s);
}

void qmp_session_reset(QmpSession *s)
{
    s->negotiated = false;
    qmp_stream_reset(&s->stream);
}

void qmp_session_destroy(QmpSession *s)
{
    qmp_stream_destroy(&s->stream);
}

void qmp_session_feed(QmpSession *s, const uint8_t *buf, size_t len)
{
    qmp_stream_feed(&s->stream, buf, len);
}

/* ---- protocol commands ---- */

json_t *qmp_cmd_qmp_capabilities(QmpSession *s, json_t *a, GError **errp)
{
    json_t *enable = json_object_get(a, "enable");

    if (s->negotiated) {
        g_set_error(errp, QLITE_ERROR, QLITE_ERROR_COMMAND_NOT_FOUND,
                    "Capabilities negotiation is already complete, command "
                    "ignored");
        return NULL;
    }
    if (enable && json_array_size(enable)) {
        /* The greeting offers no capability (no out-of-band support). */
        error_setg(errp, "Capability '%s' not available",
                   json_string_value(json_array_get(enable, 0)));
        return NULL;
    }
    s->negotiated = true;
    return json_object();
}

json_t *qmp_cmd_query_version(QmpSession *s, json_t *a, GError **errp)
{
    return qmp_version_info();
}

json_t *qmp_cmd_query_commands(QmpSession *s, json_t *a, GError **errp)
{
    json_t *list = json_array();

    for (size_t i = 0; i < qmp_command_count; i++) {
        json_array_append_new(list, json_pack("{s:s}", "name",
                                              qmp_command_info[i].name));
    }
    return list;
}

json_t *qmp_cmd_query_events(QmpSession *s, json_t *a, GError **errp)
{
    json_t *list = json_array();

    for (size_t i = 0; i < qmp_event_count; i++) {
        json_array_append_new(list, json_pack("{s:s}", "name",
                                              qmp_event_info[i].name));
    }
    return list;
}

json_t *qmp_cmd_query_qmp_schema(QmpSession *s, json_t *a, GError **errp)
{
    return qmp_schema_introspect();
}
