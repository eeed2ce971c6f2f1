/*
 * Device properties: the static DEFINE_PROP_* tables, parsed from and
 * printed to strings, and exposed as QOM properties for qom-get/qom-set.
 */
#include "qlite/qdev.h"
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "qlite/keyval.h"

#include "qdev-internal.h"

typedef struct PropKindInfo {
    const char *name;       /* as -device NAME,help prints it */
    unsigned bits;          /* integer width, 0 for non-integers */
} PropKindInfo;

static const PropKindInfo prop_kinds[] = {
    [PROP_BOOL]    = { "bool", 0 },
    [PROP_UINT8]   = { "uint8", 8 },
    [PROP_UINT16]  = { "uint16", 16 },
    [PROP_UINT32]  = { "uint32", 32 },
    [PROP_UINT64]  = { "uint64", 64 },
    [PROP_INT32]   = { "int32", 32 },
    [PROP_SIZE]    = { "size", 64 },
    [PROP_STRING]  = { "str", 0 },
    [PROP_CHR]     = { "str", 0 },
    [PROP_MACADDR] = { "str", 0 },
    [PROP_LINK]    = { "str", 0 },
};

const char *qdev_prop_type_name(const Property *prop)
{
    return prop_kinds[prop->kind].name;
}

static void *prop_ptr(DeviceState *dev, const Property *prop)
{
    return (char *)dev + prop->offset;
}

/* Walk the props tables of @dc and its ancestors, most derived first. */
bool qdev_class_foreach_prop(DeviceClass *dc, PropVisitFn fn, void *opaque)
{
    const Property *seen = NULL;
    ObjectClass *oc = OBJECT_CLASS(dc);

    for (; oc && object_class_dynamic_cast(oc, TYPE_DEVICE);
         oc = object_class_get_parent(oc)) {
        const Property *props = ((DeviceClass *)oc)->props;

        if (!props || props == seen) {
            continue;
        }
        seen = props;
        for (const Property *p = props; p->name; p++) {
            if (!fn(p, opaque)) {
                return false;
            }
        }
    }
    return true;
}

typedef struct FindCtx {
    const char *name;
    const Property *found;
} FindCtx;

static bool find_visit(const Property *prop, void *opaque)
{
    FindCtx *ctx = opaque;

    if (!strcmp(prop->name, ctx->name)) {
        ctx->found = prop;
        return false;
    }
    return true;
}

const Property *qdev_prop_find(DeviceClass *dc, const char *name)
{
    FindCtx ctx = { .name = name };

    qdev_class_foreach_prop(dc, find_visit, &ctx);
    return ctx.found;
}

static void prop_store_uint(DeviceState *dev, const Property *prop,
                            uint64_t v)
{
    void *p = prop_ptr(dev, prop);

    switch (prop->kind) {
    case PROP_BOOL:
        *(bool *)p = v;
        break;
    case PROP_UINT8:
        *(uint8_t *)p = v;
        break;
    case PROP_UINT16:
        *(uint16_t *)p = v;
        break;
    case PROP_UINT32:
        *(uint32_t *)p = v;
        break;
    case PROP_INT32:
        *(int32_t *)p = (int32_t)v;
        break;
    case PROP_UINT64:
    case PROP_SIZE:
        *(uint64_t *)p = v;
        break;
    default:
        g_assert_not_reached();
    }
}

static bool parse_macaddr(const char *s, uint8_t mac[6])
{
    unsigned b[6];
    char tail;

    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
               &b[4], &b[5], &tail) != 6 || strlen(s) != 17) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        mac[i] = b[i];
    }
    return true;
}

static bool prop_set_integer(DeviceState *dev, const Property *prop,
                             const char *value, GError **errp)
{
    unsigned bits = prop_kinds[prop->kind].bits;
    const char *tname = object_get_typename(OBJECT(dev));

    if (prop->kind == PROP_INT32) {
        int64_t v;

        if (!keyval_parse_int(prop->name, value, &v, errp)) {
            return false;
        }
        if (v < INT32_MIN || v > INT32_MAX) {
            error_setg(errp, "Property '%s.%s' doesn't take value '%s' "
                       "(minimum: %d, maximum: %d)", tname, prop->name,
                       value, INT32_MIN, INT32_MAX);
            return false;
        }
        prop_store_uint(dev, prop, (uint64_t)v);
        return true;
    }
    {
        uint64_t v;
        uint64_t max = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
        bool ok = prop->kind == PROP_SIZE
                  ? keyval_parse_size(prop->name, value, 1, &v, errp)
                  : keyval_parse_uint(prop->name, value, &v, errp);

        if (!ok) {
            return false;
        }
        if (v > max) {
            error_setg(errp, "Property '%s.%s' doesn't take value '%s' "
                       "(minimum: 0, maximum: %" PRIu64 ")", tname,
                       prop->name, value, max);
            return false;
        }
        prop_store_uint(dev, prop, v);
    }
    return true;
}

static bool prop_set_chr(DeviceState *dev, const Property *prop,
                         const char *value, GError **errp)
{
    CharBackend *be = prop_ptr(dev, prop);
    Chardev *chr = chardev_find(value);

    if (!chr) {
        error_setg(errp, "Property '%s.%s' can't find value '%s'",
                   object_get_typename(OBJECT(dev)), prop->name, value);
        return false;
    }
    if (be->chr) {
        chr_fe_deinit(be);
    }
    return chr_fe_init(be, chr, errp);
}

bool qdev_prop_set(DeviceState *dev, const char *name, const char *value,
                   GError **errp)
{
    const char *tname = object_get_typename(OBJECT(dev));
    const Property *prop = qdev_prop_find(DEVICE_GET_CLASS(dev), name);
    bool b;

    if (!prop) {
        error_setg(errp, "Property '%s.%s' not found", tname, name);
        return false;
    }
    if (dev->realized) {
        error_setg(errp, "Attempt to set property '%s' on device '%s' "
                   "(type '%s') after it was realized", name,
                   dev->id ? dev->id : "<anonymous>", tname);
        return false;
    }
    switch (prop->kind) {
    case PROP_BOOL:
        if (!keyval_parse_bool(name, value, &b, errp)) {
            return false;
        }
        prop_store_uint(dev, prop, b);
        return true;
    case PROP_STRING:
    case PROP_LINK: {
        char **field = prop_ptr(dev, prop);

        g_free(*field);
        *field = g_strdup(value);
        return true;
    }
    case PROP_CHR:
        return prop_set_chr(dev, prop, value, errp);
    case PROP_MACADDR:
        if (!parse_macaddr(value, prop_ptr(dev, prop))) {
            error_setg(errp, "Property '%s.%s' doesn't take value '%s'",
                       tname, name, value);
            return false;
        }
        return true;
    default:
        return prop_set_integer(dev, prop, value, errp);
    }
}

char *qdev_prop_get(DeviceState *dev, const Property *prop)
{
    void *p = prop_ptr(dev, prop);

    switch (prop->kind) {
    case PROP_BOOL:
        return g_strdup(*(bool *)p ? "true" : "false");
    case PROP_UINT8:
        return g_strdup_printf("%u", *(uint8_t *)p);
    case PROP_UINT16:
        return g_strdup_printf("%u", *(uint16_t *)p);
    case PROP_UINT32:
        return g_strdup_printf("%u", *(uint32_t *)p);
    case PROP_INT32:
        return g_strdup_printf("%d", *(int32_t *)p);
    case PROP_UINT64:
    case PROP_SIZE:
        return g_strdup_printf("%" PRIu64, *(uint64_t *)p);
    case PROP_STRING:
    case PROP_LINK:
        return g_strdup(*(char **)p ? *(char **)p : "");
    case PROP_CHR: {
        CharBackend *be = p;

        return g_strdup(be->chr ? be->chr->label : "");
    }
    case PROP_MACADDR: {
        uint8_t *m = p;

        return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
                               m[2], m[3], m[4], m[5]);
    }
    }
    g_assert_not_reached();
}

static char *qom_prop_get(Object *obj, ObjectProperty *oprop, GError **errp)
{
    return qdev_prop_get(DEVICE(obj), oprop->opaque);
}

static bool qom_prop_set(Object *obj, ObjectProperty *oprop,
                         const char *value, GError **errp)
{
    const Property *prop = oprop->opaque;

    return qdev_prop_set(DEVICE(obj), prop->name, value, errp);
}

static void prop_set_default(DeviceState *dev, const Property *prop)
{
    if (prop->has_default) {
        prop_store_uint(dev, prop, prop->defval);
    } else if (prop->defval_str &&
               (prop->kind == PROP_STRING || prop->kind == PROP_LINK)) {
        char **field = prop_ptr(dev, prop);

        g_free(*field);
        *field = g_strdup(prop->defval_str);
    }
}

static bool collect_visit(const Property *prop, void *opaque)
{
    g_ptr_array_add(opaque, (gpointer)prop);
    return true;
}

void qdev_props_init(DeviceState *dev)
{
    g_autoptr(GPtrArray) props = g_ptr_array_new();

    qdev_class_foreach_prop(DEVICE_GET_CLASS(dev), collect_visit, props);
    /* Ancestors' defaults first, so a subclass's default wins. */
    for (guint i = props->len; i > 0; i--) {
        prop_set_default(dev, props->pdata[i - 1]);
    }
    for (guint i = 0; i < props->len; i++) {
        const Property *prop = props->pdata[i];
        ObjectProperty *oprop;

        if (object_property_find(OBJECT(dev), prop->name)) {
            continue;   /* a subclass redefined it */
        }
        oprop = object_property_add(OBJECT(dev), prop->name,
                                    qdev_prop_type_name(prop), qom_prop_get,
                                    qom_prop_set, (void *)prop);
        oprop->description = g_strdup(prop->description);
    }
}

static bool finalize_visit(const Property *prop, void *opaque)
{
    DeviceState *dev = opaque;

    if (prop->kind == PROP_STRING || prop->kind == PROP_LINK) {
        g_clear_pointer((char **)prop_ptr(dev, prop), g_free);
    } else if (prop->kind == PROP_CHR) {
        CharBackend *be = prop_ptr(dev, prop);

        if (be->chr) {
            chr_fe_deinit(be);
        }
    }
    return true;
}

void qdev_props_finalize(DeviceState *dev)
{
    qdev_class_foreach_prop(DEVICE_GET_CLASS(dev), finalize_visit, dev);
}
