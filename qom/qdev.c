/*
 * Devices and buses: lifecycle, the bus tree, GPIO lines and the -device
 * path shared by the command line and QMP device_add.
 */
#include "qlite/qdev.h"
#include "qlite/error.h"
#include "qlite/keyval.h"
#include "qlite/machine.h"
#include "qlite/runstate.h"

#include "qdev-internal.h"

static GPtrArray *root_buses;       /* of BusState * */
static BusState *system_bus;
static unsigned anon_count;
static unsigned unattached_count;

typedef struct GlobalProp {
    char *driver;
    char *property;
    char *value;
} GlobalProp;

static GPtrArray *global_props;     /* of GlobalProp * */

/* The root bus for devices that plug into no bus of their own. */
static BusState *get_system_bus(void)
{
    if (!system_bus) {
        system_bus = qbus_new(TYPE_SYSTEM_BUS, NULL, "main-system-bus");
    }
    return system_bus;
}

static void qdev_apply_globals(DeviceState *dev)
{
    if (!global_props) {
        return;
    }
    for (guint i = 0; i < global_props->len; i++) {
        GlobalProp *g = global_props->pdata[i];
        GError *err = NULL;

        if (!object_dynamic_cast(OBJECT(dev), g->driver)) {
            continue;
        }
        if (!qdev_prop_set(dev, g->property, g->value, &err)) {
            error_prepend(&err, "can't apply global %s.%s=%s: ", g->driver,
                          g->property, g->value);
            if (!dev->global_err) {
                dev->global_err = err;
            } else {
                g_error_free(err);
            }
        }
    }
}

DeviceState *qdev_new(const char *typename)
{
    DeviceState *dev = DEVICE(object_new(typename));

    qdev_apply_globals(dev);
    return dev;
}

static void device_instance_init(Object *obj)
{
    DeviceState *dev = (DeviceState *)obj;

    dev->child_buses = g_ptr_array_new();
    dev->gpios = g_ptr_array_new();
    qdev_props_init(dev);
}

static void named_gpio_free(NamedGpio *gpio)
{
    if (gpio->in) {
        for (int i = 0; i < gpio->num_in; i++) {
            irq_free(gpio->in[i]);
        }
        g_free(gpio->in);
    }
    g_free(gpio->name);
    g_free(gpio);
}

static void device_instance_finalize(Object *obj)
{
    DeviceState *dev = (DeviceState *)obj;

    if (dev->realized) {
        qdev_unrealize(dev);
    }
    for (guint i = 0; i < dev->gpios->len; i++) {
        named_gpio_free(dev->gpios->pdata[i]);
    }
    g_ptr_array_free(dev->gpios, true);
    g_ptr_array_free(dev->child_buses, true);
    qdev_props_finalize(dev);
    if (dev->global_err) {
        g_error_free(dev->global_err);
    }
    g_free(dev->id);
}

static bool bus_accepts(BusState *bus, DeviceClass *dc)
{
    const char *want = dc->bus_type ? dc->bus_type : TYPE_SYSTEM_BUS;

    return object_dynamic_cast(OBJECT(bus), want) != NULL;
}

void qdev_add_unattached(Object *obj)
{
    g_autofree char *name = NULL;

    if (obj->parent) {
        return;
    }
    name = g_strdup_printf("device[%u]", unattached_count++);
    object_property_add_child(container_get("/machine/unattached"), name,
                              obj);
}

/*
 * "bootindex" (on disks, CD-ROMs and NICs) orders firmware's boot list.
 * qlite boots kernels directly and has no firmware that reads the list
 * (QEMU with -kernel does not read it either), but, as QEMU, it refuses
 * an index that is negative but not -1, or one two devices share.
 */
static GHashTable *boot_indexes;        /* index -> DeviceState */

static bool qdev_claim_bootindex(DeviceState *dev, GError **errp)
{
    g_autofree char *val = NULL;
    int64_t idx;

    if (!object_property_find(OBJECT(dev), "bootindex")) {
        return true;
    }
    val = object_property_get_str(OBJECT(dev), "bootindex", NULL);
    idx = val ? g_ascii_strtoll(val, NULL, 10) : -1;
    if (idx == -1) {
        return true;
    }
    if (idx < 0) {
        error_setg(errp, "Invalid bootindex %" PRId64 ": it must be -1 "
                   "(none) or a positive number", idx);
        return false;
    }
    if (!boot_indexes) {
        boot_indexes = g_hash_table_new(NULL, NULL);
    }
    if (g_hash_table_contains(boot_indexes, GINT_TO_POINTER(idx))) {
        error_setg(errp, "The bootindex %" PRId64 " has already been used",
                   idx);
        return false;
    }
    g_hash_table_insert(boot_indexes, GINT_TO_POINTER(idx), dev);
    return true;
}

static void qdev_release_bootindex(DeviceState *dev)
{
    GHashTableIter it;
    gpointer key, value;

    if (!boot_indexes) {
        return;
    }
    g_hash_table_iter_init(&it, boot_indexes);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (value == dev) {
            g_hash_table_iter_remove(&it);
        }
    }
}

bool qdev_realize(DeviceState *dev, BusState *bus, GError **errp)
{
    DeviceClass *dc = DEVICE_GET_CLASS(dev);
    GError *err = NULL;

    g_assert(!dev->realized);
    if (dev->global_err) {
        g_propagate_error(errp, g_steal_pointer(&dev->global_err));
        return false;
    }
    if (!bus) {
        bus = dc->bus_type ? qbus_find(dc->bus_type) : get_system_bus();
    }
    if (!bus) {
        error_setg(errp, "No '%s' bus found for device '%s'", dc->bus_type,
                   object_get_typename(OBJECT(dev)));
        return false;
    }
    if (!bus_accepts(bus, dc)) {
        error_setg(errp, "Device '%s' can't go on %s bus",
                   object_get_typename(OBJECT(dev)),
                   object_get_typename(OBJECT(bus)));
        return false;
    }
    if (!qdev_claim_bootindex(dev, errp)) {
        return false;
    }
    dev->parent_bus = bus;
    g_ptr_array_add(bus->children, object_ref(OBJECT(dev)));
    if (dc->realize) {
        dc->realize(dev, &err);
    }
    if (err) {
        qdev_release_bootindex(dev);
        g_ptr_array_remove(bus->children, dev);
        dev->parent_bus = NULL;
        object_unref(OBJECT(dev));
        g_propagate_error(errp, err);
        return false;
    }
    qdev_add_unattached(OBJECT(dev));
    dev->realized = true;
    qdev_reset(dev);
    return true;
}

bool qdev_realize_and_unref(DeviceState *dev, BusState *bus, GError **errp)
{
    bool ok = qdev_realize(dev, bus, errp);

    object_unref(OBJECT(dev));
    return ok;
}

void qdev_unrealize(DeviceState *dev)
{
    DeviceClass *dc = DEVICE_GET_CLASS(dev);
    BusState *bus = dev->parent_bus;

    if (!dev->realized) {
        return;
    }
    dev->realized = false;
    qdev_release_bootindex(dev);
    if (dc->unrealize) {
        dc->unrealize(dev);
    }
    if (bus) {
        dev->parent_bus = NULL;
        g_ptr_array_remove(bus->children, dev);
        object_unref(OBJECT(dev));
    }
}

void qdev_reset(DeviceState *dev)
{
    DeviceClass *dc = DEVICE_GET_CLASS(dev);

    for (guint i = 0; i < dev->child_buses->len; i++) {
        bus_reset(dev->child_buses->pdata[i]);
    }
    if (dc->reset) {
        dc->reset(dev);
    }
}

void bus_reset(BusState *bus)
{
    for (guint i = 0; i < bus->children->len; i++) {
        DeviceState *dev = bus->children->pdata[i];

        if (dev->realized) {
            qdev_reset(dev);
        }
    }
}

static void bus_instance_init(Object *obj)
{
    BusState *bus = (BusState *)obj;

    bus->children = g_ptr_array_new();
}

static void bus_instance_finalize(Object *obj)
{
    BusState *bus = (BusState *)obj;

    g_ptr_array_free(bus->children, true);
    g_free(bus->name);
}

BusState *qbus_new(const char *typename, DeviceState *parent,
                   const char *name)
{
    BusState *bus = BUS(object_new(typename));

    bus->name = g_strdup(name);
    bus->parent_dev = parent;
    if (parent) {
        g_ptr_array_add(parent->child_buses, bus);
        object_property_add_child(OBJECT(parent), name, OBJECT(bus));
        object_unref(OBJECT(bus));
    } else {
        qbus_register_root(bus);
    }
    return bus;
}

void qbus_register_root(BusState *bus)
{
    if (!root_buses) {
        root_buses = g_ptr_array_new();
    }
    g_ptr_array_add(root_buses, bus);
}

static bool qbus_is_full(BusState *bus)
{
    BusClass *bc = BUS_GET_CLASS(bus);

    return bc->max_dev && bus->children->len >= bc->max_dev;
}

/* By name: that bus, full or not; by type: the first one with room. */
static BusState *qbus_find_in(BusState *bus, const char *what)
{
    if (!strcmp(bus->name, what) ||
        (object_dynamic_cast(OBJECT(bus), what) && !qbus_is_full(bus))) {
        return bus;
    }
    for (guint i = 0; i < bus->children->len; i++) {
        DeviceState *dev = bus->children->pdata[i];

        for (guint j = 0; j < dev->child_buses->len; j++) {
            BusState *found = qbus_find_in(dev->child_buses->pdata[j], what);

            if (found) {
                return found;
            }
        }
    }
    return NULL;
}

BusState *qbus_find(const char *typename_or_name)
{
    for (guint i = 0; root_buses && i < root_buses->len; i++) {
        BusState *found = qbus_find_in(root_buses->pdata[i],
                                       typename_or_name);

        if (found) {
            return found;
        }
    }
    return NULL;
}

void qbus_foreach_root(void (*fn)(BusState *bus, void *opaque), void *opaque)
{
    for (guint i = 0; root_buses && i < root_buses->len; i++) {
        fn(root_buses->pdata[i], opaque);
    }
}

/* "DRIVER.PROP=VALUE" or "driver=D,property=P,value=V" */
bool qdev_add_global(const char *spec, GError **errp)
{
    GlobalProp *g = g_new0(GlobalProp, 1);
    const char *dot = strchr(spec, '.');
    const char *eq = strchr(spec, '=');

    if (dot && eq && dot < eq && !g_str_has_prefix(spec, "driver=")) {
        g->driver = g_strndup(spec, dot - spec);
        g->property = g_strndup(dot + 1, eq - dot - 1);
        g->value = g_strdup(eq + 1);
    } else {
        g_autoptr(QliteOpts) opts = keyval_parse(spec, NULL, 0, errp);
        const char *d, *p, *v;

        if (!opts) {
            g_free(g);
            return false;
        }
        d = qopts_get(opts, "driver");
        p = qopts_get(opts, "property");
        v = qopts_get(opts, "value");
        if (!d || !p || !v || !qopts_check_all_used(opts, errp)) {
            if (!(errp && *errp)) {
                error_setg(errp, "Invalid -global '%s': expected "
                           "DRIVER.PROPERTY=VALUE", spec);
            }
            g_free(g);
            return false;
        }
        g->driver = g_strdup(d);
        g->property = g_strdup(p);
        g->value = g_strdup(v);
    }
    if (!*g->driver || !*g->property) {
        error_setg(errp, "Invalid -global '%s': expected "
                   "DRIVER.PROPERTY=VALUE", spec);
        g_free(g->driver);
        g_free(g->property);
        g_free(g->value);
        g_free(g);
        return false;
    }
    if (!global_props) {
        global_props = g_ptr_array_new();
    }
    g_ptr_array_add(global_props, g);
    return true;
}

static DeviceState *find_by_id_in(BusState *bus, const char *id)
{
    for (guint i = 0; i < bus->children->len; i++) {
        DeviceState *dev = bus->children->pdata[i];

        if (dev->id && !strcmp(dev->id, id)) {
            return dev;
        }
        for (guint j = 0; j < dev->child_buses->len; j++) {
            DeviceState *found = find_by_id_in(dev->child_buses->pdata[j],
                                               id);
            if (found) {
                return found;
            }
        }
    }
    return NULL;
}

DeviceState *qdev_find_by_id(const char *id)
{
    for (guint i = 0; root_buses && i < root_buses->len; i++) {
        DeviceState *found = find_by_id_in(root_buses->pdata[i], id);

        if (found) {
            return found;
        }
    }
    return NULL;
}

static DeviceClass *qdev_get_device_class(const char *driver, GError **errp)
{
    ObjectClass *oc = object_class_by_name(driver);
    DeviceClass *dc;

    if (!oc || !object_class_dynamic_cast(oc, TYPE_DEVICE)) {
        error_setg(errp, "'%s' is not a valid device model name", driver);
        return NULL;
    }
    dc = DEVICE_CLASS(oc);
    if (object_class_is_abstract(oc) || !dc->user_creatable) {
        error_setg(errp, "Parameter 'driver' expects a pluggable device "
                   "type");
        return NULL;
    }
    return dc;
}

static bool qdev_set_user_props(DeviceState *dev, QliteOpts *opts,
                                GError **errp)
{
    for (guint i = 0; i < opts->pairs->len; i++) {
        KeyvalPair *kv = opts->pairs->pdata[i];

        if (!strcmp(kv->key, "driver") || !strcmp(kv->key, "id") ||
            !strcmp(kv->key, "bus")) {
            continue;
        }
        kv->used = true;
        if (!qdev_prop_set(dev, kv->key, kv->value, errp)) {
            return false;
        }
    }
    return true;
}

static void qdev_name_user_device(DeviceState *dev, const char *id)
{
    g_autofree char *anon = NULL;

    if (id) {
        object_property_add_child(container_get("/machine/peripheral"), id,
                                  OBJECT(dev));
        return;
    }
    anon = g_strdup_printf("device[%u]", anon_count++);
    object_property_add_child(container_get("/machine/peripheral-anon"),
                              anon, OBJECT(dev));
}

DeviceState *qdev_device_add(QliteOpts *opts, GError **errp)
{
    const char *driver = qopts_get(opts, "driver");
    const char *id = qopts_get(opts, "id");
    const char *bus_name = qopts_get(opts, "bus");
    DeviceClass *dc;
    DeviceState *dev;
    BusState *bus = NULL;

    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return NULL;
    }
    dc = qdev_get_device_class(driver, errp);
    if (!dc) {
        return NULL;
    }
    if (id && !keyval_id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return NULL;
    }
    if (id && qdev_find_by_id(id)) {
        error_setg(errp, "Duplicate device ID '%s'", id);
        return NULL;
    }
    if (bus_name) {
        bus = qbus_find(bus_name);
        if (!bus) {
            error_setg(errp, "Bus '%s' not found", bus_name);
            return NULL;
        }
    }
    if (runstate_get() != RUN_STATE_PRELAUNCH && !dc->hotpluggable) {
        error_setg(errp, "Device '%s' can not be hotplugged on this machine",
                   driver);
        return NULL;
    }
    dev = qdev_new(driver);
    dev->id = g_strdup(id);
    if (!qdev_set_user_props(dev, opts, errp)) {
        object_unref(OBJECT(dev));
        return NULL;
    }
    qdev_name_user_device(dev, id);
    if (!qdev_realize(dev, bus, errp)) {
        object_unparent(OBJECT(dev));
        object_unref(OBJECT(dev));
        return NULL;
    }
    object_unref(OBJECT(dev));
    return dev;
}

NamedGpio *qdev_get_named_gpio(DeviceState *dev, const char *name)
{
    NamedGpio *gpio;

    for (guint i = 0; i < dev->gpios->len; i++) {
        gpio = dev->gpios->pdata[i];
        if (g_strcmp0(gpio->name, name) == 0) {
            return gpio;
        }
    }
    gpio = g_new0(NamedGpio, 1);
    gpio->name = g_strdup(name);
    g_ptr_array_add(dev->gpios, gpio);
    return gpio;
}

void qdev_init_gpio_in_named(DeviceState *dev, IrqHandler handler,
                             const char *name, int n)
{
    NamedGpio *gpio = qdev_get_named_gpio(dev, name);

    g_assert(!gpio->in);
    gpio->in = irq_new_array(handler, dev, n);
    gpio->num_in = n;
}

void qdev_init_gpio_in(DeviceState *dev, IrqHandler handler, int n)
{
    qdev_init_gpio_in_named(dev, handler, NULL, n);
}

void qdev_init_gpio_out_named(DeviceState *dev, IrqLine **pins,
                              const char *name, int n)
{
    NamedGpio *gpio = qdev_get_named_gpio(dev, name);

    g_assert(!gpio->out);
    gpio->out = pins;
    gpio->num_out = n;
}

void qdev_init_gpio_out(DeviceState *dev, IrqLine **pins, int n)
{
    qdev_init_gpio_out_named(dev, pins, NULL, n);
}

IrqLine *qdev_get_gpio_in_named(DeviceState *dev, const char *name, int n)
{
    NamedGpio *gpio = qdev_get_named_gpio(dev, name);

    g_assert(gpio->in && n >= 0 && n < gpio->num_in);
    return gpio->in[n];
}

IrqLine *qdev_get_gpio_in(DeviceState *dev, int n)
{
    return qdev_get_gpio_in_named(dev, NULL, n);
}

void qdev_connect_gpio_out_named(DeviceState *dev, const char *name, int n,
                                 IrqLine *target)
{
    NamedGpio *gpio = qdev_get_named_gpio(dev, name);

    g_assert(gpio->out && n >= 0 && n < gpio->num_out);
    gpio->out[n] = target;
}

void qdev_connect_gpio_out(DeviceState *dev, int n, IrqLine *target)
{
    qdev_connect_gpio_out_named(dev, NULL, n, target);
}

static void device_class_init(ObjectClass *klass, const void *data)
{
    DeviceClass *dc = (DeviceClass *)klass;

    dc->user_creatable = true;
    dc->category = DEVICE_CATEGORY_MISC;
}

static const TypeInfo device_info = {
    .name = TYPE_DEVICE,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(DeviceState),
    .class_size = sizeof(DeviceClass),
    .abstract = true,
    .class_init = device_class_init,
    .instance_init = device_instance_init,
    .instance_finalize = device_instance_finalize,
};

static const TypeInfo bus_info = {
    .name = TYPE_BUS,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(BusState),
    .class_size = sizeof(BusClass),
    .abstract = true,
    .instance_init = bus_instance_init,
    .instance_finalize = bus_instance_finalize,
};

static const TypeInfo system_bus_info = {
    .name = TYPE_SYSTEM_BUS,
    .parent = TYPE_BUS,
};

type_init(qdev_register_types)
{
    type_register(&device_info);
    type_register(&bus_info);
    type_register(&system_bus_info);
}
