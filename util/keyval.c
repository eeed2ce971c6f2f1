/*
 * Option strings ("key=val,key=val") and the value parsers behind them.
 *
 * The syntax follows QEMU's command line so existing scripts keep working:
 *   - elements are separated by ',', and ",," is a literal comma in a value;
 *   - the first element may omit "key=" when the caller names an implied
 *     key ("e1000,netdev=n0" is "driver=e1000,netdev=n0");
 *   - with KEYVAL_BARE_KEY_IS_ON, a bare "server" means "server=on";
 *   - a trailing ',' is accepted, a value may contain '='.
 * Error messages use QEMU's wording so users recognise them.
 */
#include "qlite/keyval.h"
#include "qlite/error.h"

/* Keys are identifiers, possibly dotted ("drive.file", "cache.direct"). */
static bool keyval_key_char_ok(char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
}

static bool keyval_key_ok(const char *key, size_t len)
{
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!keyval_key_char_ok(key[i])) {
            return false;
        }
    }
    return true;
}

/*
 * Read a value starting at @s up to the next single ','; ",," stands for
 * one comma.  Returns the position after the value (at ',' or NUL).
 */
static const char *keyval_read_value(const char *s, GString *val)
{
    while (*s) {
        if (*s == ',') {
            if (s[1] != ',') {
                break;
            }
            s++;
        }
        g_string_append_c(val, *s);
        s++;
    }
    return s;
}

static KeyvalPair *keyval_pair_new(const char *key, size_t key_len,
                                   char *value)
{
    KeyvalPair *p = g_new0(KeyvalPair, 1);

    p->key = g_strndup(key, key_len);
    p->value = value;
    return p;
}

static void keyval_pair_free(gpointer data)
{
    KeyvalPair *p = data;

    g_free(p->key);
    g_free(p->value);
    g_free(p);
}

/*
 * Parse one element at @s; @first says whether it is the first one.
 * Returns the position after it (at ',' or NUL), or NULL on error.
 */
static const char *keyval_parse_one(QliteOpts *opts, const char *s,
                                    bool first, const char *implied_key,
                                    KeyvalFlags flags, GError **errp)
{
    const char *key = s;
    size_t key_len = strcspn(s, "=,");
    GString *val;

    if (s[key_len] == '=') {
        if (!keyval_key_ok(key, key_len)) {
            error_setg(errp, "Invalid parameter '%.*s'", (int)key_len, key);
            return NULL;
        }
        val = g_string_new(NULL);
        s = keyval_read_value(s + key_len + 1, val);
        g_ptr_array_add(opts->pairs, keyval_pair_new(key, key_len,
                                                     g_string_free(val,
                                                                   false)));
        return s;
    }
    if (first && implied_key) {
        /* The whole element is the implied key's value, ",," included. */
        val = g_string_new(NULL);
        s = keyval_read_value(s, val);
        if (val->len == 0) {
            g_string_free(val, true);
            error_setg(errp, "Invalid parameter ''");
            return NULL;
        }
        g_ptr_array_add(opts->pairs,
                        keyval_pair_new(implied_key, strlen(implied_key),
                                        g_string_free(val, false)));
        return s;
    }
    if (!keyval_key_ok(key, key_len)) {
        error_setg(errp, "Invalid parameter '%.*s'", (int)key_len, key);
        return NULL;
    }
    if (!(flags & KEYVAL_BARE_KEY_IS_ON)) {
        error_setg(errp, "Expected '=' after parameter '%.*s'",
                   (int)key_len, key);
        return NULL;
    }
    g_ptr_array_add(opts->pairs,
                    keyval_pair_new(key, key_len, g_strdup("on")));
    return s + key_len;
}

QliteOpts *keyval_parse(const char *params, const char *implied_key,
                        KeyvalFlags flags, GError **errp)
{
    g_autoptr(QliteOpts) opts = qopts_new(NULL);
    const char *s = params ? params : "";
    bool first = true;

    while (*s) {
        s = keyval_parse_one(opts, s, first, implied_key, flags, errp);
        if (!s) {
            return NULL;
        }
        if (*s == ',') {
            s++;    /* a trailing comma ends the list harmlessly */
        }
        first = false;
    }
    return g_steal_pointer(&opts);
}

QliteOpts *qopts_new(const char *group)
{
    QliteOpts *opts = g_new0(QliteOpts, 1);

    opts->group = g_strdup(group);
    opts->pairs = g_ptr_array_new_with_free_func(keyval_pair_free);
    return opts;
}

void qopts_free(QliteOpts *opts)
{
    if (!opts) {
        return;
    }
    g_ptr_array_free(opts->pairs, true);
    g_free(opts->group);
    g_free(opts);
}

static KeyvalPair *qopts_find_last(const QliteOpts *opts, const char *key)
{
    for (guint i = opts->pairs->len; i > 0; i--) {
        KeyvalPair *p = g_ptr_array_index(opts->pairs, i - 1);

        if (strcmp(p->key, key) == 0) {
            return p;
        }
    }
    return NULL;
}

/* Drop every pair for @key (a later qopts_set replaces them all). */
static void qopts_remove_all(QliteOpts *opts, const char *key)
{
    guint i = 0;

    while (i < opts->pairs->len) {
        KeyvalPair *p = g_ptr_array_index(opts->pairs, i);

        if (strcmp(p->key, key) == 0) {
            g_ptr_array_remove_index(opts->pairs, i);
        } else {
            i++;
        }
    }
}

void qopts_set(QliteOpts *opts, const char *key, const char *value)
{
    qopts_remove_all(opts, key);
    g_ptr_array_add(opts->pairs,
                    keyval_pair_new(key, strlen(key), g_strdup(value)));
}

void qopts_append(QliteOpts *opts, const char *key, const char *value)
{
    g_ptr_array_add(opts->pairs,
                    keyval_pair_new(key, strlen(key), g_strdup(value)));
}

const char *qopts_get(QliteOpts *opts, const char *key)
{
    KeyvalPair *last = NULL;

    /* Earlier duplicates were overridden, but they were not "unused". */
    for (guint i = 0; i < opts->pairs->len; i++) {
        KeyvalPair *p = g_ptr_array_index(opts->pairs, i);

        if (strcmp(p->key, key) == 0) {
            p->used = true;
            last = p;
        }
    }
    return last ? last->value : NULL;
}

bool qopts_has(QliteOpts *opts, const char *key)
{
    return qopts_find_last(opts, key) != NULL;
}

bool qopts_get_bool(QliteOpts *opts, const char *key, bool def, bool *out,
                    GError **errp)
{
    const char *v = qopts_get(opts, key);

    if (!v) {
        *out = def;
        return true;
    }
    return keyval_parse_bool(key, v, out, errp);
}

bool qopts_get_uint(QliteOpts *opts, const char *key, uint64_t def,
                    uint64_t *out, GError **errp)
{
    const char *v = qopts_get(opts, key);

    if (!v) {
        *out = def;
        return true;
    }
    return keyval_parse_uint(key, v, out, errp);
}

bool qopts_get_size(QliteOpts *opts, const char *key, uint64_t def,
                    uint64_t *out, GError **errp)
{
    const char *v = qopts_get(opts, key);

    if (!v) {
        *out = def;
        return true;
    }
    return keyval_parse_size(key, v, 1, out, errp);
}

bool qopts_check_all_used(QliteOpts *opts, GError **errp)
{
    for (guint i = 0; i < opts->pairs->len; i++) {
        KeyvalPair *p = g_ptr_array_index(opts->pairs, i);

        if (!p->used) {
            error_setg(errp, "Invalid parameter '%s'", p->key);
            return false;
        }
    }
    return true;
}

char *qopts_to_string(const QliteOpts *opts)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < opts->pairs->len; i++) {
        const KeyvalPair *p = g_ptr_array_index(opts->pairs, i);

        if (i > 0) {
            g_string_append_c(s, ',');
        }
        g_string_append_printf(s, "%s=", p->key);
        for (const char *c = p->value; *c; c++) {
            if (*c == ',') {
                g_string_append_c(s, ',');
            }
            g_string_append_c(s, *c);
        }
    }
    return g_string_free(s, false);
}

bool keyval_parse_bool(const char *name, const char *s, bool *out,
                       GError **errp)
{
    static const char *const on[] = { "on", "yes", "true" };
    static const char *const off[] = { "off", "no", "false" };

    for (size_t i = 0; i < G_N_ELEMENTS(on); i++) {
        if (strcmp(s, on[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, off[i]) == 0) {
            *out = false;
            return true;
        }
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
    return false;
}

/*
 * Digits of an unsigned number, decimal or with a "0x" prefix hex; at least
 * one digit, nothing after them.  Leading zeros are decimal, not octal.
 * Returns false on a malformed string or on overflow.
 */
static bool keyval_parse_digits(const char *s, uint64_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        int d = g_ascii_xdigit_value(*s);

        if (d < 0 || (unsigned)d >= base) {
            return false;
        }
        if (v > (UINT64_MAX - (unsigned)d) / base) {
            return false;
        }
        v = v * base + (unsigned)d;
    }
    *out = v;
    return true;
}

bool keyval_parse_uint(const char *name, const char *s, uint64_t *out,
                       GError **errp)
{
    uint64_t v;

    if (!keyval_parse_digits(s, &v)) {
        error_setg(errp, "Parameter '%s' expects integer", name);
        return false;
    }
    *out = v;
    return true;
}

bool keyval_parse_int(const char *name, const char *s, int64_t *out,
                      GError **errp)
{
    bool neg = s[0] == '-';
    uint64_t mag;
    /* The magnitude of INT64_MIN, which has no positive counterpart. */
    const uint64_t neg_limit = (uint64_t)INT64_MAX + 1;

    if (!keyval_parse_digits(neg ? s + 1 : s, &mag) ||
        mag > (neg ? neg_limit : (uint64_t)INT64_MAX)) {
        error_setg(errp, "Parameter '%s' expects integer", name);
        return false;
    }
    if (neg) {
        *out = mag == neg_limit ? INT64_MIN : -(int64_t)mag;
    } else {
        *out = (int64_t)mag;
    }
    return true;
}

/* The multiplier of a size suffix letter, 0 if it is not one. */
static uint64_t keyval_size_suffix(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B':
        return 1;
    case 'K':
        return KiB;
    case 'M':
        return MiB;
    case 'G':
        return GiB;
    case 'T':
        return GiB << 10;
    case 'P':
        return GiB << 20;
    case 'E':
        return GiB << 30;
    default:
        return 0;
    }
}

/*
 * The unit of the text after the number: "" (@default_unit), "B", or a
 * letter optionally followed by 'B' ("1G", "1GB").  0 if malformed.
 */
static uint64_t keyval_size_unit(const char *s, uint64_t default_unit)
{
    uint64_t mul;

    if (!*s) {
        return default_unit;
    }
    mul = keyval_size_suffix(s[0]);
    if (!mul) {
        return 0;
    }
    if (s[1] == '\0') {
        return mul;
    }
    if (mul != 1 && (s[1] == 'B' || s[1] == 'b') && s[2] == '\0') {
        return mul;
    }
    return 0;
}

/* Decimal digits at *s into *v (overflow is an error); advances *s. */
static bool keyval_size_int_part(const char **s, uint64_t *v)
{
    const char *p = *s;

    *v = 0;
    for (; g_ascii_isdigit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');

        if (*v > (UINT64_MAX - d) / 10) {
            return false;
        }
        *v = *v * 10 + d;
    }
    *s = p;
    return true;
}

/*
 * The fraction ".ddd" at *s times @mul, rounded down; advances *s.  Up to 18
 * digits count (more cannot change the result by a whole byte below 1 EiB).
 */
static uint64_t keyval_size_fraction(const char **s, uint64_t mul)
{
    __extension__ typedef unsigned __int128 u128;
    const char *p = *s + 1;
    uint64_t num = 0, den = 1;

    for (; g_ascii_isdigit(*p); p++) {
        if (den < UINT64_C(1000000000000000000)) {
            num = num * 10 + (uint64_t)(*p - '0');
            den *= 10;
        }
    }
    *s = p;
    return (uint64_t)((u128)num * mul / den);
}

/* Hex sizes ("0x1000") take no suffix: 'B' and 'E' are hex digits. */
static bool keyval_size_hex(const char *s, uint64_t default_unit,
                            uint64_t *out)
{
    uint64_t v;

    if (!keyval_parse_digits(s, &v)) {
        return false;
    }
    if (v > UINT64_MAX / default_unit) {
        return false;
    }
    *out = v * default_unit;
    return true;
}

static bool keyval_size_value(const char *s, uint64_t default_unit,
                              uint64_t *out)
{
    const char *p = s;
    uint64_t ival, frac = 0, mul;
    bool has_frac = false;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        return keyval_size_hex(s, default_unit, out);
    }
    if (!g_ascii_isdigit(*p) || !keyval_size_int_part(&p, &ival)) {
        return false;
    }
    if (*p == '.') {
        if (!g_ascii_isdigit(p[1])) {
            return false;
        }
        has_frac = true;
    }
    mul = keyval_size_unit(has_frac ? p + strspn(p + 1, "0123456789") + 1
                                    : p, default_unit);
    /* A fraction of a byte makes no sense. */
    if (mul == 0 || (has_frac && mul == 1)) {
        return false;
    }
    if (has_frac) {
        frac = keyval_size_fraction(&p, mul);
    }
    if (ival > UINT64_MAX / mul || ival * mul > UINT64_MAX - frac) {
        return false;
    }
    *out = ival * mul + frac;
    return true;
}

bool keyval_parse_size(const char *name, const char *s, uint64_t default_unit,
                       uint64_t *out, GError **errp)
{
    uint64_t v;

    if (!keyval_size_value(s, default_unit ? default_unit : 1, &v)) {
        error_setg(errp,
                   "Parameter '%s' expects a non-negative number below 2^64",
                   name);
        return false;
    }
    *out = v;
    return true;
}

bool keyval_id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}
