/*
 * Devices and buses.
 *
 * A device declares its properties in a static table (DEFINE_PROP_*) in its
 * own file; -device, -global, QMP device_add and device-list-properties all
 * read that table.  Lifecycle: qdev_new() -> properties set -> realize ->
 * (reset ...) -> unrealize -> unref.
 */
#ifndef QLITE_QDEV_H
#define QLITE_QDEV_H

#include "qlite/object.h"
#include "qlite/irq.h"
#include "qlite/keyval.h"

#define TYPE_DEVICE "device"
#define TYPE_BUS "bus"
/* The root bus that bus-less devices plug into. */
#define TYPE_SYSTEM_BUS "System"

typedef struct DeviceState DeviceState;
typedef struct BusState BusState;
typedef struct Property Property;

typedef enum {
    PROP_BOOL,
    PROP_UINT8,
    PROP_UINT16,
    PROP_UINT32,
    PROP_UINT64,
    PROP_INT32,
    PROP_SIZE,
    PROP_STRING,    /* char * field, g_free'd on finalize */
    PROP_CHR,       /* CharBackend field, value is a chardev id */
    PROP_MACADDR,   /* uint8_t[6] field */
    PROP_LINK,      /* char * id of a backend (drive, netdev) for later */
} PropertyKind;

struct Property {
    const char *name;
    PropertyKind kind;
    size_t offset;
    uint64_t defval;            /* numeric and bool default */
    const char *defval_str;     /* string default */
    bool has_default;
    const char *description;
};

#define DEFINE_PROP_(n, K, S, f, d) \
    { .name = (n), .kind = (K), .offset = offsetof(S, f), .defval = (d), \
      .has_default = true }
#define DEFINE_PROP_BOOL(n, S, f, d)   DEFINE_PROP_(n, PROP_BOOL, S, f, d)
#define DEFINE_PROP_UINT8(n, S, f, d)  DEFINE_PROP_(n, PROP_UINT8, S, f, d)
#define DEFINE_PROP_UINT16(n, S, f, d) DEFINE_PROP_(n, PROP_UINT16, S, f, d)
#define DEFINE_PROP_UINT32(n, S, f, d) DEFINE_PROP_(n, PROP_UINT32, S, f, d)
#define DEFINE_PROP_UINT64(n, S, f, d) DEFINE_PROP_(n, PROP_UINT64, S, f, d)
#define DEFINE_PROP_INT32(n, S, f, d)  DEFINE_PROP_(n, PROP_INT32, S, f, \
                                                    (uint64_t)(int64_t)(d))
#define DEFINE_PROP_SIZE(n, S, f, d)   DEFINE_PROP_(n, PROP_SIZE, S, f, d)
#define DEFINE_PROP_STRING(n, S, f) \
    { .name = (n), .kind = PROP_STRING, .offset = offsetof(S, f) }
#define DEFINE_PROP_CHR(n, S, f) \
    { .name = (n), .kind = PROP_CHR, .offset = offsetof(S, f) }
#define DEFINE_PROP_MACADDR(n, S, f) \
    { .name = (n), .kind = PROP_MACADDR, .offset = offsetof(S, f) }
#define DEFINE_PROP_LINK(n, S, f) \
    { .name = (n), .kind = PROP_LINK, .offset = offsetof(S, f) }
#define DEFINE_PROP_END_OF_LIST() { .name = NULL }

/* Categories, printed as headings by -device help (QEMU's order). */
typedef enum {
    DEVICE_CATEGORY_BRIDGE,
    DEVICE_CATEGORY_USB,
    DEVICE_CATEGORY_STORAGE,
    DEVICE_CATEGORY_NETWORK,
    DEVICE_CATEGORY_INPUT,
    DEVICE_CATEGORY_DISPLAY,
    DEVICE_CATEGORY_SOUND,
    DEVICE_CATEGORY_MISC,
    DEVICE_CATEGORY_CPU,
    DEVICE_CATEGORY_WATCHDOG,
    DEVICE_CATEGORY_MAX
} DeviceCategory;

typedef struct DeviceClass {
    ObjectClass parent;
    const char *desc;
    DeviceCategory category;
    const Property *props;
    const char *bus_type;       /* NULL: plugs into no bus */
    bool user_creatable;        /* may appear in -device */
    bool hotpluggable;
    void (*realize)(DeviceState *dev, GError **errp);
    void (*unrealize)(DeviceState *dev);
    void (*reset)(DeviceState *dev);
} DeviceClass;

typedef struct NamedGpio {
    char *name;                 /* NULL for the anonymous list */
    int num_in;
    IrqLine **in;               /* lines into the device */
    int num_out;
    IrqLine **out;              /* the device's own array of outputs */
} NamedGpio;

struct DeviceState {
    Object parent;
    char *id;                   /* -device id=, may be NULL */
    bool realized;
    GError *global_err;         /* a -global that did not apply */
    BusState *parent_bus;
    GPtrArray *child_buses;     /* of BusState * */
    GPtrArray *gpios;           /* of NamedGpio * */
};

typedef struct BusClass {
    ObjectClass parent;
    /* "bus@addr" string for info qtree, may be NULL */
    char *(*get_dev_path)(DeviceState *dev);
    /* Devices the bus takes (0: no limit); a device given no bus= goes
     * to the first bus of its type with room, as in QEMU. */
    unsigned max_dev;
} BusClass;

struct BusState {
    Object parent;
    char *name;
    DeviceState *parent_dev;    /* NULL for the machine's root buses */
    GPtrArray *children;        /* of DeviceState *, in plug order */
};

#define DEVICE(obj) OBJECT_CHECK(DeviceState, (obj), TYPE_DEVICE)
#define DEVICE_CLASS(k) OBJECT_CLASS_CHECK(DeviceClass, (k), TYPE_DEVICE)
#define DEVICE_GET_CLASS(obj) OBJECT_GET_CLASS(DeviceClass, (obj), TYPE_DEVICE)
#define BUS(obj) OBJECT_CHECK(BusState, (obj), TYPE_BUS)
#define BUS_CLASS(k) OBJECT_CLASS_CHECK(BusClass, (k), TYPE_BUS)
#define BUS_GET_CLASS(obj) OBJECT_GET_CLASS(BusClass, (obj), TYPE_BUS)

DeviceState *qdev_new(const char *typename);
/* Set one property from its string form; errors name device and value. */
bool qdev_prop_set(DeviceState *dev, const char *name, const char *value,
                   GError **errp);
const Property *qdev_prop_find(DeviceClass *dc, const char *name);
/* Visit the props of @dc and its ancestors; stop when @fn returns false. */
typedef bool (*PropVisitFn)(const Property *prop, void *opaque);
bool qdev_class_foreach_prop(DeviceClass *dc, PropVisitFn fn, void *opaque);
/* "uint32", "bool", "str" ... as help and QMP print them. */
const char *qdev_prop_type_name(const Property *prop);
/* A property's current value as a string. */
char *qdev_prop_get(DeviceState *dev, const Property *prop);
/*
 * Give an object without a place in the tree one under /machine/unattached
 * (device[0], device[1], ... in creation order: the vCPUs come first).
 */
void qdev_add_unattached(Object *obj);
/* Plug into @bus (may be NULL for bus-less devices) and realize. */
bool qdev_realize(DeviceState *dev, BusState *bus, GError **errp);
void qdev_unrealize(DeviceState *dev);
/* Realize then drop the caller's reference (the tree keeps one). */
bool qdev_realize_and_unref(DeviceState *dev, BusState *bus, GError **errp);
void qdev_reset(DeviceState *dev);
/* Reset every realized device under @bus, children first. */
void bus_reset(BusState *bus);

BusState *qbus_new(const char *typename, DeviceState *parent,
                   const char *name);
/* Register a root bus (not under a device) so device_add can find it. */
void qbus_register_root(BusState *bus);
/* The first bus whose type is or derives from @typename, or by name. */
BusState *qbus_find(const char *typename_or_name);
/* Visit every root bus, for reset and info qtree. */
void qbus_foreach_root(void (*fn)(BusState *bus, void *opaque), void *opaque);

/* -global DRIVER.PROP=VALUE, applied to each new device of DRIVER. */
bool qdev_add_global(const char *spec, GError **errp);

/*
 * -device / device_add: driver=NAME, id=, bus=, then properties.  The device
 * goes into /machine/peripheral/ID (or peripheral-anon).
 */
DeviceState *qdev_device_add(QliteOpts *opts, GError **errp);
/* Print "-device help" / "-device NAME,help". */
void qdev_print_device_list(FILE *out);
bool qdev_print_device_props(FILE *out, const char *name, GError **errp);
/* The device called @id, or NULL. */
DeviceState *qdev_find_by_id(const char *id);

/* GPIOs: named or anonymous lists of IRQ lines in and out. */
void qdev_init_gpio_in(DeviceState *dev, IrqHandler handler, int n);
void qdev_init_gpio_in_named(DeviceState *dev, IrqHandler handler,
                             const char *name, int n);
void qdev_init_gpio_out(DeviceState *dev, IrqLine **pins, int n);
void qdev_init_gpio_out_named(DeviceState *dev, IrqLine **pins,
                              const char *name, int n);
IrqLine *qdev_get_gpio_in(DeviceState *dev, int n);
IrqLine *qdev_get_gpio_in_named(DeviceState *dev, const char *name, int n);
void qdev_connect_gpio_out(DeviceState *dev, int n, IrqLine *target);
void qdev_connect_gpio_out_named(DeviceState *dev, const char *name, int n,
                                 IrqLine *target);
NamedGpio *qdev_get_named_gpio(DeviceState *dev, const char *name);

#endif
