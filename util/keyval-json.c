/*
 * The JSON form of option arguments ("-object '{"qom-type":...}'", -device,
 * -blockdev, -audiodev): a JSON object flattened into the same QliteOpts
 * keyval_parse() makes, so one consumer reads both forms.  Nested objects
 * become dotted keys ("file.filename"); booleans become on/off.
 */
#include "qlite/error.h"
#include "qlite/keyval.h"

#include <jansson.h>

static char *keyval_json_scalar(json_t *v)
{
    if (json_is_string(v)) {
        return g_strdup(json_string_value(v));
    }
    if (json_is_boolean(v)) {
        return g_strdup(json_is_true(v) ? "on" : "off");
    }
    if (json_is_integer(v)) {
        return g_strdup_printf("%" JSON_INTEGER_FORMAT,
                               json_integer_value(v));
    }
    if (json_is_null(v)) {
        return g_strdup("");    /* QEMU's keyval writes null as "key=" */
    }
    return NULL;
}

static bool keyval_json_flatten(json_t *obj, const char *prefix,
                                QliteOpts *opts, GError **errp)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        g_autofree char *k = prefix ? g_strdup_printf("%s.%s", prefix, key)
                                    : g_strdup(key);
        g_autofree char *val = NULL;

        if (json_is_object(v)) {
            if (!keyval_json_flatten(v, k, opts, errp)) {
                return false;
            }
            continue;
        }
        val = keyval_json_scalar(v);
        if (!val) {
            error_setg(errp, "Invalid value for %s option '%s'",
                       opts->group, k);
            return false;
        }
        qopts_set(opts, k, val);
    }
    return true;
}

QliteOpts *keyval_parse_json(const char *text, const char *group,
                             GError **errp)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    QliteOpts *opts;

    if (!root || !json_is_object(root)) {
        error_setg(errp, "JSON parse error, %s",
                   root ? "expected an object" : jerr.text);
        json_decref(root);
        return NULL;
    }
    opts = qopts_new(group);
    if (!keyval_json_flatten(root, NULL, opts, errp)) {
        qopts_free(opts);
        opts = NULL;
    }
    json_decref(root);
    return opts;
}

QliteOpts *keyval_parse_any(const char *text, const char *group,
                            const char *implied_key, KeyvalFlags flags,
                            GError **errp)
{
    if (text[0] == '{') {
        return keyval_parse_json(text, group, errp);
    }
    return keyval_parse(text, implied_key, flags, errp);
}
