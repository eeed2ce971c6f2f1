/*
 * The object model: types and classes, static property tables, device
 * lifecycle, buses, GPIOs, -global and the -device path.
 */
#include "qlite/error.h"
#include "qlite/keyval.h"
#include "qlite/qdev.h"
#include "qlite/runstate.h"

#define TYPE_TEST_BUS "test-bus"
#define TYPE_TEST_DEV "test-dev"
#define TYPE_TEST_SUBDEV "test-subdev"

typedef struct TestDev {
    DeviceState parent;
    uint32_t iobase;
    uint8_t small;
    int32_t offset;
    bool flag;
    uint64_t size;
    char *label;
    uint8_t mac[6];
    int realize_count;
    int reset_count;
    int irq_level[2];
    IrqLine *out[2];
} TestDev;

typedef struct TestDevClass {
    DeviceClass parent;
    int (*describe)(TestDev *d);
} TestDevClass;

static const Property test_dev_props[] = {
    DEFINE_PROP_UINT32("iobase", TestDev, iobase, 0x501),
    DEFINE_PROP_UINT8("small", TestDev, small, 7),
    DEFINE_PROP_INT32("offset", TestDev, offset, -3),
    DEFINE_PROP_BOOL("flag", TestDev, flag, false),
    DEFINE_PROP_SIZE("size", TestDev, size, 4096),
    DEFINE_PROP_STRING("label", TestDev, label),
    DEFINE_PROP_MACADDR("mac", TestDev, mac),
    DEFINE_PROP_END_OF_LIST(),
};

static const Property test_subdev_props[] = {
    DEFINE_PROP_BOOL("extra", TestDev, flag, true),
    DEFINE_PROP_END_OF_LIST(),
};

static void test_dev_irq(void *opaque, int n, int level)
{
    TestDev *d = opaque;

    d->irq_level[n] = level;
    irq_set(d->out[n], level);  /* pass through */
}

static void test_dev_realize(DeviceState *dev, GError **errp)
{
    TestDev *d = (TestDev *)dev;

    if (d->iobase == 0xdead) {
        error_setg(errp, "iobase 0xdead is refused");
        return;
    }
    d->realize_count++;
}

static void test_dev_reset(DeviceState *dev)
{
    ((TestDev *)dev)->reset_count++;
}

static void test_dev_init(Object *obj)
{
    TestDev *d = (TestDev *)obj;

    qdev_init_gpio_in(DEVICE(d), test_dev_irq, 2);
    qdev_init_gpio_out(DEVICE(d), d->out, 2);
}

static int test_dev_describe(TestDev *d)
{
    return 1;
}

static int test_subdev_describe(TestDev *d)
{
    return 2;
}

static void test_dev_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->props = test_dev_props;
    dc->realize = test_dev_realize;
    dc->reset = test_dev_reset;
    dc->bus_type = TYPE_TEST_BUS;
    ((TestDevClass *)oc)->describe = test_dev_describe;
}

static void test_subdev_class_init(ObjectClass *oc, const void *data)
{
    DEVICE_CLASS(oc)->props = test_subdev_props;
    ((TestDevClass *)oc)->describe = test_subdev_describe;
}

static const TypeInfo test_types[] = {
    { .name = TYPE_TEST_BUS, .parent = TYPE_BUS },
    { .name = TYPE_TEST_DEV, .parent = TYPE_DEVICE,
      .instance_size = sizeof(TestDev), .class_size = sizeof(TestDevClass),
      .class_init = test_dev_class_init, .instance_init = test_dev_init },
    { .name = TYPE_TEST_SUBDEV, .parent = TYPE_TEST_DEV,
      .class_init = test_subdev_class_init },
};

static BusState *test_bus;

static void setup_types(void)
{
    qlite_register_all_types();
    for (size_t i = 0; i < G_N_ELEMENTS(test_types); i++) {
        type_register(&test_types[i]);
    }
    test_bus = qbus_new(TYPE_TEST_BUS, NULL, "test.0");
}

static void test_class_inheritance(void)
{
    ObjectClass *sub = object_class_by_name(TYPE_TEST_SUBDEV);
    ObjectClass *base = object_class_by_name(TYPE_TEST_DEV);

    g_assert_nonnull(sub);
    g_assert_true(object_class_dynamic_cast(sub, TYPE_DEVICE) == sub);
    g_assert_null(object_class_dynamic_cast(base, TYPE_TEST_SUBDEV));
    g_assert_cmpint(((TestDevClass *)sub)->describe(NULL), ==, 2);
    g_assert_cmpint(((TestDevClass *)base)->describe(NULL), ==, 1);
    /* the subclass inherits realize from its parent's class */
    g_assert_true(DEVICE_CLASS(sub)->realize == test_dev_realize);
    g_assert_cmpstr(object_class_get_name(object_class_get_parent(sub)), ==,
                    TYPE_TEST_DEV);
    g_assert_true(object_class_is_abstract(
                      object_class_by_name(TYPE_DEVICE)));
}

static void test_class_list(void)
{
    g_autoptr(GSList) list = object_class_get_list(TYPE_TEST_DEV, false);

    g_assert_cmpint(g_slist_length(list), ==, 2);
    g_assert_cmpstr(object_class_get_name(list->data), ==, TYPE_TEST_DEV);
}

static void test_prop_defaults_and_set(void)
{
    TestDev *d = (TestDev *)qdev_new(TYPE_TEST_DEV);
    GError *err = NULL;
    char *s;

    g_assert_cmpuint(d->iobase, ==, 0x501);
    g_assert_cmpuint(d->small, ==, 7);
    g_assert_cmpint(d->offset, ==, -3);
    g_assert_cmpuint(d->size, ==, 4096);
    g_assert_true(qdev_prop_set(DEVICE(d), "iobase", "0x3f8", &err));
    g_assert_cmpuint(d->iobase, ==, 0x3f8);
    g_assert_true(qdev_prop_set(DEVICE(d), "flag", "on", &err));
    g_assert_true(d->flag);
    g_assert_true(qdev_prop_set(DEVICE(d), "size", "2M", &err));
    g_assert_cmpuint(d->size, ==, 2 * MiB);
    g_assert_true(qdev_prop_set(DEVICE(d), "offset", "-100", &err));
    g_assert_cmpint(d->offset, ==, -100);
    g_assert_true(qdev_prop_set(DEVICE(d), "label", "hello", &err));
    g_assert_cmpstr(d->label, ==, "hello");
    g_assert_true(qdev_prop_set(DEVICE(d), "mac", "52:54:00:12:34:56",
                                &err));
    g_assert_cmpuint(d->mac[5], ==, 0x56);
    s = object_property_get_str(OBJECT(d), "iobase", &err);
    g_assert_cmpstr(s, ==, "1016");
    g_free(s);
    g_assert_no_error(err);
    object_unref(OBJECT(d));
}

static void expect_prop_error(const char *name, const char *value,
                              const char *fragment)
{
    DeviceState *d = qdev_new(TYPE_TEST_DEV);
    GError *err = NULL;

    g_assert_false(qdev_prop_set(d, name, value, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, fragment)) {
        g_error("message '%s' lacks '%s'", err->message, fragment);
    }
    g_error_free(err);
    object_unref(OBJECT(d));
}

static void test_prop_errors(void)
{
    expect_prop_error("iobase", "banana", "iobase");
    expect_prop_error("small", "256", "maximum: 255");
    expect_prop_error("iobase", "4294967296", "maximum: 4294967295");
    expect_prop_error("offset", "3000000000", "maximum");
    expect_prop_error("flag", "maybe", "flag");
    expect_prop_error("mac", "52:54:00", "mac");
    expect_prop_error("nosuch", "1", "'test-dev.nosuch' not found");
}

static void test_subclass_props(void)
{
    TestDev *d = (TestDev *)qdev_new(TYPE_TEST_SUBDEV);
    GError *err = NULL;

    /* own table and the parent's are both there */
    g_assert_true(d->flag);
    g_assert_true(qdev_prop_set(DEVICE(d), "iobase", "1", &err));
    g_assert_true(qdev_prop_set(DEVICE(d), "extra", "off", &err));
    g_assert_false(d->flag);
    object_unref(OBJECT(d));
}

static void test_realize_reset_unrealize(void)
{
    TestDev *d = (TestDev *)qdev_new(TYPE_TEST_DEV);
    GError *err = NULL;

    g_assert_true(qdev_realize(DEVICE(d), test_bus, &err));
    g_assert_no_error(err);
    g_assert_cmpint(d->realize_count, ==, 1);
    g_assert_cmpint(d->reset_count, ==, 1);    /* realize resets */
    g_assert_false(qdev_prop_set(DEVICE(d), "iobase", "1", &err));
    g_assert_nonnull(strstr(err->message, "after it was realized"));
    g_clear_error(&err);
    bus_reset(test_bus);
    g_assert_cmpint(d->reset_count, ==, 2);
    g_assert_cmpuint(test_bus->children->len, ==, 1);
    qdev_unrealize(DEVICE(d));
    g_assert_cmpuint(test_bus->children->len, ==, 0);
    object_unparent(OBJECT(d));
    object_unref(OBJECT(d));
}

static void test_realize_failure(void)
{
    DeviceState *d = qdev_new(TYPE_TEST_DEV);
    GError *err = NULL;

    g_assert_true(qdev_prop_set(d, "iobase", "0xdead", &err));
    g_assert_false(qdev_realize(d, test_bus, &err));
    g_assert_cmpstr(err->message, ==, "iobase 0xdead is refused");
    g_error_free(err);
    g_assert_cmpuint(test_bus->children->len, ==, 0);
    object_unref(OBJECT(d));
}

static int sink_level = -1;

static void sink(void *opaque, int n, int level)
{
    sink_level = level;
}

static void test_gpio(void)
{
    TestDev *d = (TestDev *)qdev_new(TYPE_TEST_DEV);
    IrqLine *target = irq_new(sink, NULL, 0);

    qdev_connect_gpio_out(DEVICE(d), 1, target);
    irq_raise(qdev_get_gpio_in(DEVICE(d), 1));
    g_assert_cmpint(d->irq_level[1], ==, 1);
    g_assert_cmpint(sink_level, ==, 1);
    irq_lower(qdev_get_gpio_in(DEVICE(d), 1));
    g_assert_cmpint(sink_level, ==, 0);
    /* an unwired output is harmless */
    irq_raise(qdev_get_gpio_in(DEVICE(d), 0));
    g_assert_cmpint(d->irq_level[0], ==, 1);
    irq_free(target);
    object_unref(OBJECT(d));
}

static void test_globals(void)
{
    GError *err = NULL;
    TestDev *d;

    g_assert_true(qdev_add_global("test-subdev.small=42", &err));
    g_assert_true(qdev_add_global(
                      "driver=test-subdev,property=offset,value=9", &err));
    g_assert_false(qdev_add_global("nodot", &err));
    g_clear_error(&err);
    d = (TestDev *)qdev_new(TYPE_TEST_SUBDEV);
    g_assert_cmpuint(d->small, ==, 42);
    g_assert_cmpint(d->offset, ==, 9);
    object_unref(OBJECT(d));
    d = (TestDev *)qdev_new(TYPE_TEST_DEV);     /* not the parent */
    g_assert_cmpuint(d->small, ==, 7);
    object_unref(OBJECT(d));
}

static DeviceState *device_add(const char *spec, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(spec, "driver", 0, errp);

    return opts ? qdev_device_add(opts, errp) : NULL;
}

static void test_device_add(void)
{
    GError *err = NULL;
    DeviceState *d = device_add("test-dev,id=td0,iobase=0x10,label=a,,b",
                                &err);
    Object *found;
    g_autofree char *path = NULL;

    g_assert_no_error(err);
    g_assert_nonnull(d);
    g_assert_cmpstr(((TestDev *)d)->label, ==, "a,b");
    g_assert_true(qdev_find_by_id("td0") == d);
    path = object_get_canonical_path(OBJECT(d));
    g_assert_cmpstr(path, ==, "/machine/peripheral/td0");
    found = object_resolve_path("/machine/peripheral/td0", NULL);
    g_assert_true(found == OBJECT(d));
    found = object_resolve_path("td0", NULL);
    g_assert_true(found == OBJECT(d));

    g_assert_null(device_add("test-dev,id=td0", &err));
    g_assert_nonnull(strstr(err->message, "Duplicate"));
    g_clear_error(&err);
    g_assert_null(device_add("nosuch", &err));
    g_assert_cmpstr(err->message, ==,
                    "'nosuch' is not a valid device model name");
    g_clear_error(&err);
    g_assert_null(device_add("test-dev,iobase=banana", &err));
    g_assert_nonnull(strstr(err->message, "iobase"));
    g_clear_error(&err);
    g_assert_null(device_add("test-dev,id=9bad", &err));
    g_clear_error(&err);
    g_assert_null(device_add("test-dev,bus=nobus", &err));
    g_assert_cmpstr(err->message, ==, "Bus 'nobus' not found");
    g_clear_error(&err);
    g_assert_null(device_add("device", &err));      /* abstract */
    g_clear_error(&err);
}

static void test_device_help(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    GError *err = NULL;

    g_assert_true(qdev_print_device_props(f, TYPE_TEST_DEV, &err));
    fclose(f);
    g_assert_nonnull(strstr(buf, "test-dev options:\n"));
    g_assert_nonnull(strstr(buf, "  iobase=<uint32>        -  (default: "
                                 "1281)\n"));
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    qdev_print_device_list(f);
    fclose(f);
    g_assert_nonnull(strstr(buf, "name \"test-dev\", bus test-bus\n"));
    free(buf);
    g_assert_false(qdev_print_device_props(stderr, "nosuch", &err));
    g_clear_error(&err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    setup_types();
    g_test_add_func("/qom/class/inheritance", test_class_inheritance);
    g_test_add_func("/qom/class/list", test_class_list);
    g_test_add_func("/qom/props/defaults-and-set", test_prop_defaults_and_set);
    g_test_add_func("/qom/props/errors", test_prop_errors);
    g_test_add_func("/qom/props/subclass", test_subclass_props);
    g_test_add_func("/qom/dev/lifecycle", test_realize_reset_unrealize);
    g_test_add_func("/qom/dev/realize-failure", test_realize_failure);
    g_test_add_func("/qom/dev/gpio", test_gpio);
    g_test_add_func("/qom/dev/globals", test_globals);
    g_test_add_func("/qom/dev/device-add", test_device_add);
    g_test_add_func("/qom/dev/help", test_device_help);
    return g_test_run();
}
