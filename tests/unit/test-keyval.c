/*
 * Unit tests for util/keyval.c: option-string parsing and value parsers.
 */
#include "qlite/keyval.h"
#include "qlite/error.h"

/* Parse and expect success. */
static QliteOpts *parse_ok(const char *s, const char *implied,
                           KeyvalFlags flags)
{
    GError *err = NULL;
    QliteOpts *opts = keyval_parse(s, implied, flags, &err);

    g_assert_no_error(err);
    g_assert_nonnull(opts);
    return opts;
}

/* Parse, expect failure with exactly @msg. */
static void parse_fail(const char *s, const char *implied, KeyvalFlags flags,
                       const char *msg)
{
    GError *err = NULL;
    QliteOpts *opts = keyval_parse(s, implied, flags, &err);

    g_assert_null(opts);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
    g_error_free(err);
}

static void test_parse_empty(void)
{
    g_autoptr(QliteOpts) opts = parse_ok("", NULL, 0);
    g_autoptr(QliteOpts) opts2 = parse_ok("", "driver", 0);
    GError *err = NULL;

    g_assert_cmpuint(opts->pairs->len, ==, 0);
    g_assert_cmpuint(opts2->pairs->len, ==, 0);
    g_assert_null(qopts_get(opts, "driver"));
    g_assert_true(qopts_check_all_used(opts, &err));
    g_assert_no_error(err);
}

static void test_parse_simple(void)
{
    g_autoptr(QliteOpts) opts = parse_ok("a=1,bb=two,c-d.e_f=", NULL, 0);

    g_assert_cmpuint(opts->pairs->len, ==, 3);
    g_assert_cmpstr(qopts_get(opts, "a"), ==, "1");
    g_assert_cmpstr(qopts_get(opts, "bb"), ==, "two");
    g_assert_cmpstr(qopts_get(opts, "c-d.e_f"), ==, "");
    g_assert_null(qopts_get(opts, "b"));
    g_assert_true(qopts_has(opts, "a"));
    g_assert_false(qopts_has(opts, "z"));
    g_assert_null(opts->group);
}

static void test_parse_trailing_comma(void)
{
    g_autoptr(QliteOpts) opts = parse_ok("a=1,", NULL, 0);

    g_assert_cmpuint(opts->pairs->len, ==, 1);
    g_assert_cmpstr(qopts_get(opts, "a"), ==, "1");
}

static void test_parse_escaped_comma(void)
{
    g_autoptr(QliteOpts) o1 = parse_ok("path=a,,b,x=y", NULL, 0);
    g_autoptr(QliteOpts) o2 = parse_ok("path=a,,", NULL, 0);
    g_autoptr(QliteOpts) o3 = parse_ok("path=,,,,,x=1", NULL, 0);
    g_autoptr(QliteOpts) o4 = parse_ok("path=a,,,x=1,", NULL, 0);

    g_assert_cmpstr(qopts_get(o1, "path"), ==, "a,b");
    g_assert_cmpstr(qopts_get(o1, "x"), ==, "y");
    g_assert_cmpuint(o1->pairs->len, ==, 2);
    g_assert_cmpstr(qopts_get(o2, "path"), ==, "a,");
    g_assert_cmpuint(o2->pairs->len, ==, 1);
    g_assert_cmpstr(qopts_get(o3, "path"), ==, ",,");
    g_assert_cmpstr(qopts_get(o3, "x"), ==, "1");
    g_assert_cmpstr(qopts_get(o4, "path"), ==, "a,");
    g_assert_cmpstr(qopts_get(o4, "x"), ==, "1");
}

static void test_parse_value_with_equals(void)
{
    g_autoptr(QliteOpts) opts = parse_ok("a=b=c,d==", NULL, 0);

    g_assert_cmpstr(qopts_get(opts, "a"), ==, "b=c");
    g_assert_cmpstr(qopts_get(opts, "d"), ==, "=");
}

static void test_parse_implied(void)
{
    g_autoptr(QliteOpts) o1 = parse_ok("e1000,netdev=n0", "driver", 0);
    g_autoptr(QliteOpts) o2 = parse_ok("e1000", "driver", 0);
    g_autoptr(QliteOpts) o3 = parse_ok("driver=e1000,id=x", "driver", 0);
    g_autoptr(QliteOpts) o4 = parse_ok("id=x", "driver", 0);
    KeyvalPair *first;

    g_assert_cmpstr(qopts_get(o1, "driver"), ==, "e1000");
    g_assert_cmpstr(qopts_get(o1, "netdev"), ==, "n0");
    g_assert_cmpuint(o1->pairs->len, ==, 2);
    first = g_ptr_array_index(o1->pairs, 0);
    g_assert_cmpstr(first->key, ==, "driver");
    g_assert_cmpstr(qopts_get(o2, "driver"), ==, "e1000");
    g_assert_cmpstr(qopts_get(o3, "driver"), ==, "e1000");
    g_assert_cmpstr(qopts_get(o3, "id"), ==, "x");
    /* A first element with '=' is an ordinary pair. */
    g_assert_null(qopts_get(o4, "driver"));
    g_assert_cmpstr(qopts_get(o4, "id"), ==, "x");
}

static void test_parse_implied_escaped(void)
{
    g_autoptr(QliteOpts) o1 = parse_ok("a,,b,id=x", "file", 0);
    g_autoptr(QliteOpts) o2 = parse_ok("disk,,x=y.img,if=none", "file", 0);
    g_autoptr(QliteOpts) o3 = parse_ok(",,lead", "file", 0);

    g_assert_cmpstr(qopts_get(o1, "file"), ==, "a,b");
    g_assert_cmpstr(qopts_get(o1, "id"), ==, "x");
    /* '=' after an escaped comma belongs to the implied value. */
    g_assert_cmpstr(qopts_get(o2, "file"), ==, "disk,x=y.img");
    g_assert_cmpstr(qopts_get(o2, "if"), ==, "none");
    g_assert_cmpuint(o2->pairs->len, ==, 2);
    g_assert_cmpstr(qopts_get(o3, "file"), ==, ",lead");
}

static void test_parse_implied_only_first(void)
{
    parse_fail("e1000,virtio", "driver", 0,
               "Expected '=' after parameter 'virtio'");
}

static void test_parse_bare_key(void)
{
    g_autoptr(QliteOpts) o1 = parse_ok("socket,server,wait=off", "backend",
                                       KEYVAL_BARE_KEY_IS_ON);
    g_autoptr(QliteOpts) o2 = parse_ok("server,nowait", NULL,
                                       KEYVAL_BARE_KEY_IS_ON);

    g_assert_cmpstr(qopts_get(o1, "backend"), ==, "socket");
    g_assert_cmpstr(qopts_get(o1, "server"), ==, "on");
    g_assert_cmpstr(qopts_get(o1, "wait"), ==, "off");
    g_assert_cmpstr(qopts_get(o2, "server"), ==, "on");
    g_assert_cmpstr(qopts_get(o2, "nowait"), ==, "on");
}

static void test_parse_bare_key_errors(void)
{
    parse_fail("server", NULL, 0, "Expected '=' after parameter 'server'");
    parse_fail("a=1,server", NULL, 0,
               "Expected '=' after parameter 'server'");
    parse_fail("a=1,ser ver", NULL, KEYVAL_BARE_KEY_IS_ON,
               "Invalid parameter 'ser ver'");
}

static void test_parse_empty_key(void)
{
    parse_fail("=foo", NULL, 0, "Invalid parameter ''");
    parse_fail("a=1,=foo", NULL, 0, "Invalid parameter ''");
    parse_fail(",a=1", NULL, 0, "Invalid parameter ''");
    parse_fail(",a=1", "driver", 0, "Invalid parameter ''");
    parse_fail(",a=1", NULL, KEYVAL_BARE_KEY_IS_ON, "Invalid parameter ''");
    parse_fail("=foo", "driver", 0, "Invalid parameter ''");
}

static void test_parse_bad_key(void)
{
    parse_fail("a b=1", NULL, 0, "Invalid parameter 'a b'");
    parse_fail("x=1,k\xc3\xa9=2", NULL, 0, "Invalid parameter 'k\xc3\xa9'");
}

static void test_parse_duplicates(void)
{
    g_autoptr(QliteOpts) opts = parse_ok("a=1,b=2,a=3", NULL, 0);
    GError *err = NULL;

    g_assert_cmpuint(opts->pairs->len, ==, 3);
    g_assert_cmpstr(qopts_get(opts, "a"), ==, "3");
    g_assert_cmpstr(qopts_get(opts, "b"), ==, "2");
    /* The overridden "a=1" counts as used too. */
    g_assert_true(qopts_check_all_used(opts, &err));
    g_assert_no_error(err);
}

static void test_check_all_used(void)
{
    g_autoptr(QliteOpts) opts = parse_ok("e1000,netdev=n0,bogus=1", "driver",
                                         0);
    GError *err = NULL;

    g_assert_cmpstr(qopts_get(opts, "driver"), ==, "e1000");
    g_assert_false(qopts_check_all_used(opts, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'netdev'");
    g_clear_error(&err);
    g_assert_true(qopts_has(opts, "netdev"));   /* has() does not use */
    qopts_get(opts, "netdev");
    g_assert_false(qopts_check_all_used(opts, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'bogus'");
    g_clear_error(&err);
    qopts_get(opts, "bogus");
    g_assert_true(qopts_check_all_used(opts, &err));
    g_assert_no_error(err);
}

static void test_qopts_set_and_to_string(void)
{
    g_autoptr(QliteOpts) opts = qopts_new("device");
    g_autoptr(QliteOpts) back = NULL;
    g_autofree char *s = NULL;
    g_autofree char *s2 = NULL;

    g_assert_cmpstr(opts->group, ==, "device");
    qopts_set(opts, "driver", "e1000");
    qopts_set(opts, "path", "a,b,,c");
    qopts_set(opts, "x", "1");
    qopts_set(opts, "x", "2");      /* replaces */
    g_assert_cmpuint(opts->pairs->len, ==, 3);
    g_assert_cmpstr(qopts_get(opts, "x"), ==, "2");
    s = qopts_to_string(opts);
    g_assert_cmpstr(s, ==, "driver=e1000,path=a,,b,,,,c,x=2");
    back = parse_ok(s, NULL, 0);
    g_assert_cmpstr(qopts_get(back, "path"), ==, "a,b,,c");
    s2 = qopts_to_string(back);
    g_assert_cmpstr(s, ==, s2);
}

static void test_to_string_empty(void)
{
    g_autoptr(QliteOpts) opts = qopts_new(NULL);
    g_autofree char *s = qopts_to_string(opts);

    g_assert_cmpstr(s, ==, "");
    qopts_free(NULL);   /* must be harmless */
}

static void test_parse_bool(void)
{
    static const struct {
        const char *s;
        bool v;
    } good[] = {
        { "on", true }, { "yes", true }, { "true", true },
        { "off", false }, { "no", false }, { "false", false },
    };
    static const char *const bad[] = { "", "1", "0", "On", "onn", "y", " on" };
    GError *err = NULL;
    bool v;

    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        v = !good[i].v;
        g_assert_true(keyval_parse_bool("b", good[i].s, &v, &err));
        g_assert_no_error(err);
        g_assert_cmpint(v, ==, good[i].v);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(keyval_parse_bool("share", bad[i], &v, &err));
        g_assert_cmpstr(err->message, ==,
                        "Parameter 'share' expects 'on' or 'off'");
        g_clear_error(&err);
    }
}

static void test_parse_uint(void)
{
    static const struct {
        const char *s;
        uint64_t v;
    } good[] = {
        { "0", 0 }, { "42", 42 }, { "0x10", 16 }, { "0XfF", 255 },
        { "010", 10 }, { "18446744073709551615", UINT64_MAX },
        { "0xffffffffffffffff", UINT64_MAX },
    };
    static const char *const bad[] = {
        "", "-1", "+1", "0x", "12a", "1 ", " 1", "1.5", "lots",
        "18446744073709551616", "0x10000000000000000",
        "99999999999999999999",
    };
    GError *err = NULL;
    uint64_t v;

    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_assert_true(keyval_parse_uint("n", good[i].s, &v, &err));
        g_assert_no_error(err);
        g_assert_cmpuint(v, ==, good[i].v);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        v = 7;
        g_assert_false(keyval_parse_uint("iobase", bad[i], &v, &err));
        g_assert_cmpstr(err->message, ==, "Parameter 'iobase' expects integer");
        g_clear_error(&err);
        g_assert_cmpuint(v, ==, 7);     /* untouched on error */
    }
}

static void test_parse_int(void)
{
    static const struct {
        const char *s;
        int64_t v;
    } good[] = {
        { "0", 0 }, { "-0", 0 }, { "5", 5 }, { "-5", -5 }, { "-0x10", -16 },
        { "9223372036854775807", INT64_MAX },
        { "-9223372036854775808", INT64_MIN },
    };
    static const char *const bad[] = {
        "", "-", "--1", "9223372036854775808", "-9223372036854775809",
        "x", "1-",
    };
    GError *err = NULL;
    int64_t v;

    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_assert_true(keyval_parse_int("n", good[i].s, &v, &err));
        g_assert_no_error(err);
        g_assert_cmpint(v, ==, good[i].v);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(keyval_parse_int("n", bad[i], &v, &err));
        g_assert_cmpstr(err->message, ==, "Parameter 'n' expects integer");
        g_clear_error(&err);
    }
}

static void test_parse_size(void)
{
    static const struct {
        const char *s;
        uint64_t unit;
        uint64_t v;
    } good[] = {
        { "0", 1, 0 },
        { "512", 1, 512 },
        { "512", MiB, 512 * MiB },
        { "512B", MiB, 512 },
        { "512b", MiB, 512 },
        { "1k", 1, KiB },
        { "1K", 1, KiB },
        { "4KB", 1, 4 * KiB },
        { "512M", 1, 512 * MiB },
        { "1G", 1, GiB },
        { "1g", MiB, GiB },
        { "2T", 1, 2 * (GiB << 10) },
        { "1P", 1, GiB << 20 },
        { "15E", 1, 15 * (GiB << 30) },
        { "1.5G", 1, GiB + GiB / 2 },
        { "0.5k", 1, 512 },
        { "1.1K", 1, 1126 },    /* 1126.4 rounds down */
        { "1.5", MiB, MiB + MiB / 2 },
        { "18446744073709551615", 1, UINT64_MAX },
        { "0x1000", 1, 0x1000 },
        { "0x10", MiB, 16 * MiB },
        { "15.999999999999999999E", 1, UINT64_MAX - 1 },
    };
    static const struct {
        const char *s;
        uint64_t unit;
    } bad[] = {
        { "", 1 }, { "lots", 1 }, { "-1", 1 }, { "-1G", 1 },
        { "18446744073709551616", 1 }, { "16E", 1 }, { "17179869184G", 1 },
        { "1X", 1 }, { "1GG", 1 }, { "1BB", 1 }, { "1GiB", 1 },
        { "1.", 1 }, { ".5G", 1 }, { "1.5", 1 }, { "1.5B", 1 },
        { " 1", 1 }, { "1 ", 1 }, { "0x", 1 }, { "0x10M", 1 },
        { "18446744073709551615", 2 }, { "0x100000000000", MiB },
    };
    GError *err = NULL;
    uint64_t v;

    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_assert_true(keyval_parse_size("size", good[i].s, good[i].unit, &v,
                                        &err));
        g_assert_no_error(err);
        g_assert_cmpuint(v, ==, good[i].v);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (keyval_parse_size("size", bad[i].s, bad[i].unit, &v, &err)) {
            g_error("size '%s' was accepted as %" PRIu64, bad[i].s, v);
        }
        g_assert_cmpstr(err->message, ==,
                        "Parameter 'size' expects a non-negative number "
                        "below 2^64");
        g_clear_error(&err);
    }
}

static void test_size_default_unit_zero(void)
{
    GError *err = NULL;
    uint64_t v;

    /* 0 is treated as 1, not as "everything is zero". */
    g_assert_true(keyval_parse_size("s", "7", 0, &v, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(v, ==, 7);
}

static void test_typed_getters(void)
{
    g_autoptr(QliteOpts) opts =
        parse_ok("on=yes,n=0x20,sz=1.5G,bad=maybe", NULL, 0);
    GError *err = NULL;
    uint64_t u;
    bool b;

    g_assert_true(qopts_get_bool(opts, "on", false, &b, &err));
    g_assert_true(b);
    g_assert_true(qopts_get_bool(opts, "absent", true, &b, &err));
    g_assert_true(b);
    g_assert_true(qopts_get_uint(opts, "n", 0, &u, &err));
    g_assert_cmpuint(u, ==, 32);
    g_assert_true(qopts_get_uint(opts, "absent", 99, &u, &err));
    g_assert_cmpuint(u, ==, 99);
    g_assert_true(qopts_get_size(opts, "sz", 0, &u, &err));
    g_assert_cmpuint(u, ==, GiB + GiB / 2);
    g_assert_true(qopts_get_size(opts, "absent", 4096, &u, &err));
    g_assert_cmpuint(u, ==, 4096);
    g_assert_no_error(err);
    g_assert_false(qopts_get_bool(opts, "bad", false, &b, &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'bad' expects 'on' or 'off'");
    g_clear_error(&err);
    g_assert_false(qopts_get_uint(opts, "bad", 0, &u, &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'bad' expects integer");
    g_clear_error(&err);
    g_assert_false(qopts_get_size(opts, "bad", 0, &u, &err));
    g_assert_cmpstr(err->message, ==,
                    "Parameter 'bad' expects a non-negative number below 2^64");
    g_clear_error(&err);
    /* Every key was read, even the bad one. */
    g_assert_true(qopts_check_all_used(opts, &err));
    g_assert_no_error(err);
}

static void test_bare_key_bool(void)
{
    g_autoptr(QliteOpts) opts = parse_ok("server,wait=no", NULL,
                                         KEYVAL_BARE_KEY_IS_ON);
    GError *err = NULL;
    bool server = false, wait = true;

    g_assert_true(qopts_get_bool(opts, "server", false, &server, &err));
    g_assert_true(qopts_get_bool(opts, "wait", true, &wait, &err));
    g_assert_no_error(err);
    g_assert_true(server);
    g_assert_false(wait);
}

/* -device '{"driver":..}': typed JSON values, nested objects dotted. */
static void test_json_typed(void)
{
    GError *err = NULL;
    g_autoptr(QliteOpts) opts = keyval_parse_json(
        "{\"driver\":\"isa-serial\",\"index\":0,\"on\":true,"
        "\"off\":false,\"file\":{\"filename\":\"a,b\"}}", "device",
        &err);

    g_assert_no_error(err);
    g_assert_cmpstr(qopts_get(opts, "driver"), ==, "isa-serial");
    g_assert_cmpstr(qopts_get(opts, "index"), ==, "0");
    g_assert_cmpstr(qopts_get(opts, "on"), ==, "on");
    g_assert_cmpstr(qopts_get(opts, "off"), ==, "off");
    g_assert_cmpstr(qopts_get(opts, "file.filename"), ==, "a,b");
}

static void test_json_errors(void)
{
    static const char *const bad[] = {
        "{bad", "[1]", "{\"a\":[1]}", "{\"a\":1.5}",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;

        g_assert_null(keyval_parse_json(bad[i], "object", &err));
        g_assert_nonnull(err);
        g_error_free(err);
    }
}

/* null is "key=" as QEMU's keyval writes it ("backing": null). */
static void test_json_null(void)
{
    g_autoptr(QliteOpts) opts = keyval_parse_json(
        "{\"driver\":\"qcow2\",\"backing\":null}", "blockdev", NULL);

    g_assert_nonnull(opts);
    g_assert_cmpstr(qopts_get(opts, "backing"), ==, "");
}

/* '{' picks JSON, anything else keyval with its implied key. */
static void test_json_any(void)
{
    g_autoptr(QliteOpts) a = keyval_parse_any("none,id=a1", "audiodev",
                                              "driver", 0, NULL);
    g_autoptr(QliteOpts) b = keyval_parse_any(
        "{\"driver\":\"none\",\"id\":\"a1\"}", "audiodev", "driver", 0,
        NULL);

    g_assert_cmpstr(qopts_get(a, "driver"), ==, "none");
    g_assert_cmpstr(qopts_get(b, "driver"), ==, "none");
    g_assert_cmpstr(qopts_get(b, "id"), ==, "a1");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/keyval/parse/empty", test_parse_empty);
    g_test_add_func("/keyval/parse/simple", test_parse_simple);
    g_test_add_func("/keyval/parse/trailing-comma", test_parse_trailing_comma);
    g_test_add_func("/keyval/parse/escaped-comma", test_parse_escaped_comma);
    g_test_add_func("/keyval/parse/value-with-equals",
                    test_parse_value_with_equals);
    g_test_add_func("/keyval/parse/implied", test_parse_implied);
    g_test_add_func("/keyval/parse/implied-escaped",
                    test_parse_implied_escaped);
    g_test_add_func("/keyval/parse/implied-only-first",
                    test_parse_implied_only_first);
    g_test_add_func("/keyval/parse/bare-key", test_parse_bare_key);
    g_test_add_func("/keyval/parse/bare-key-errors",
                    test_parse_bare_key_errors);
    g_test_add_func("/keyval/parse/empty-key", test_parse_empty_key);
    g_test_add_func("/keyval/parse/bad-key", test_parse_bad_key);
    g_test_add_func("/keyval/parse/duplicates", test_parse_duplicates);
    g_test_add_func("/keyval/opts/check-all-used", test_check_all_used);
    g_test_add_func("/keyval/opts/set-to-string",
                    test_qopts_set_and_to_string);
    g_test_add_func("/keyval/opts/to-string-empty", test_to_string_empty);
    g_test_add_func("/keyval/opts/typed-getters", test_typed_getters);
    g_test_add_func("/keyval/opts/bare-key-bool", test_bare_key_bool);
    g_test_add_func("/keyval/value/bool", test_parse_bool);
    g_test_add_func("/keyval/value/uint", test_parse_uint);
    g_test_add_func("/keyval/value/int", test_parse_int);
    g_test_add_func("/keyval/value/size", test_parse_size);
    g_test_add_func("/keyval/value/size-default-unit-zero",
                    test_size_default_unit_zero);
    g_test_add_func("/keyval/json/typed", test_json_typed);
    g_test_add_func("/keyval/json/errors", test_json_errors);
    g_test_add_func("/keyval/json/null", test_json_null);
    g_test_add_func("/keyval/json/any", test_json_any);
    return g_test_run();
}
