/*
 * The one parser for option strings: "key=val,key=val".
 *
 * QEMU's syntax: an implied first key ("e1000,netdev=n0" means
 * "driver=e1000,netdev=n0"), ",," for a literal comma inside a value,
 * a bare "key" meaning "key=on" where the caller allows it, and
 * on/off/yes/no/true/false booleans. Every command-line option goes
 * through keyval_parse() so the rules are the same everywhere.
 */
#ifndef QLITE_KEYVAL_H
#define QLITE_KEYVAL_H

#include "qlite/osdep.h"

typedef struct KeyvalPair {
    char *key;
    char *value;
    bool used;      /* set when a consumer read it */
} KeyvalPair;

/* An ordered list of key/value pairs; later duplicates win on lookup. */
typedef struct QliteOpts {
    char *group;    /* the option it came from, e.g. "device" */
    GPtrArray *pairs;   /* of KeyvalPair * */
} QliteOpts;

typedef enum {
    KEYVAL_BARE_KEY_IS_ON = 1 << 0,   /* "server" means "server=on" */
} KeyvalFlags;

/*
 * Parse @params.  @implied_key names the key of a first element with no
 * '=' ("driver" for -device); NULL means such an element is an error unless
 * KEYVAL_BARE_KEY_IS_ON is given.
 */
QliteOpts *keyval_parse(const char *params, const char *implied_key,
                        KeyvalFlags flags, GError **errp);
/*
 * util/keyval-json.c: a JSON object ("-device '{"driver":...}'") into the
 * same pairs, nested objects as dotted keys; keyval_parse_any() takes
 * either form (JSON when @text starts with '{', as QEMU decides).
 */
QliteOpts *keyval_parse_json(const char *text, const char *group,
                             GError **errp);
QliteOpts *keyval_parse_any(const char *text, const char *group,
                            const char *implied_key, KeyvalFlags flags,
                            GError **errp);
QliteOpts *qopts_new(const char *group);
void qopts_free(QliteOpts *opts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QliteOpts, qopts_free)

void qopts_set(QliteOpts *opts, const char *key, const char *value);
/* Add one more @key, keeping earlier ones (hostfwd= may repeat). */
void qopts_append(QliteOpts *opts, const char *key, const char *value);
/* The last value for @key, or NULL; marks it used. */
const char *qopts_get(QliteOpts *opts, const char *key);
bool qopts_has(QliteOpts *opts, const char *key);
/* Typed getters: absent key leaves *out = @def and succeeds. */
bool qopts_get_bool(QliteOpts *opts, const char *key, bool def, bool *out,
                    GError **errp);
bool qopts_get_uint(QliteOpts *opts, const char *key, uint64_t def,
                    uint64_t *out, GError **errp);
bool qopts_get_size(QliteOpts *opts, const char *key, uint64_t def,
                    uint64_t *out, GError **errp);
/* Fail with "Invalid parameter 'k'" if any key was never read. */
bool qopts_check_all_used(QliteOpts *opts, GError **errp);
/* Back to "k=v,k=v" with commas escaped. */
char *qopts_to_string(const QliteOpts *opts);

/* QEMU's rule for ids: a letter, then letters, digits, '-', '.', '_'. */
bool keyval_id_wellformed(const char *id);

/* Value parsers shared by properties, QMP and the command line. */
bool keyval_parse_bool(const char *name, const char *s, bool *out,
                       GError **errp);
bool keyval_parse_uint(const char *name, const char *s, uint64_t *out,
                       GError **errp);
bool keyval_parse_int(const char *name, const char *s, int64_t *out,
                      GError **errp);
/*
 * Sizes: a number with an optional k/K, M, G, T, P or E suffix (powers of
 * 1024) or a 'B' suffix for bytes; @default_unit multiplies a bare number
 * (1 for most, MiB for -m).
 */
bool keyval_parse_size(const char *name, const char *s, uint64_t default_unit,
                       uint64_t *out, GError **errp);

#endif
