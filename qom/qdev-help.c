/*
 * "-device help" and "-device NAME,help", in QEMU's format: scripts parse
 * lines like: name "isa-debug-exit", bus ISA
 */
#include "qlite/qdev.h"
#include "qlite/error.h"

static const char *const category_names[DEVICE_CATEGORY_MAX] = {
    [DEVICE_CATEGORY_BRIDGE]   = "Controller/Bridge/Hub",
    [DEVICE_CATEGORY_USB]      = "USB",
    [DEVICE_CATEGORY_STORAGE]  = "Storage",
    [DEVICE_CATEGORY_NETWORK]  = "Network",
    [DEVICE_CATEGORY_INPUT]    = "Input",
    [DEVICE_CATEGORY_DISPLAY]  = "Display",
    [DEVICE_CATEGORY_SOUND]    = "Sound",
    [DEVICE_CATEGORY_MISC]     = "Misc",
    [DEVICE_CATEGORY_CPU]      = "CPU",
    [DEVICE_CATEGORY_WATCHDOG] = "Watchdog",
};

static void print_device_line(FILE *out, DeviceClass *dc)
{
    fprintf(out, "name \"%s\"", object_class_get_name(OBJECT_CLASS(dc)));
    if (dc->bus_type) {
        fprintf(out, ", bus %s", dc->bus_type);
    }
    if (dc->desc) {
        fprintf(out, ", desc \"%s\"", dc->desc);
    }
    fputc('\n', out);
}

void qdev_print_device_list(FILE *out)
{
    g_autoptr(GSList) list = object_class_get_list(TYPE_DEVICE, false);
    bool first = true;

    for (int cat = 0; cat < DEVICE_CATEGORY_MAX; cat++) {
        bool header = false;

        for (GSList *l = list; l; l = l->next) {
            DeviceClass *dc = l->data;

            if (dc->category != cat || !dc->user_creatable) {
                continue;
            }
            if (!header) {
                fprintf(out, "%s%s devices:\n", first ? "" : "\n",
                        category_names[cat]);
                header = true;
                first = false;
            }
            print_device_line(out, dc);
        }
    }
}

static bool print_prop(const Property *prop, void *opaque)
{
    FILE *out = opaque;
    g_autofree char *left = g_strdup_printf("%s=<%s>", prop->name,
                                            qdev_prop_type_name(prop));

    fprintf(out, "  %-22s - %s", left,
            prop->description ? prop->description : "");
    if (prop->has_default && prop->kind == PROP_BOOL) {
        fprintf(out, " (default: %s)", prop->defval ? "true" : "false");
    } else if (prop->has_default && prop->kind == PROP_INT32) {
        fprintf(out, " (default: %" PRId64 ")", (int64_t)prop->defval);
    } else if (prop->has_default) {
        fprintf(out, " (default: %" PRIu64 ")", prop->defval);
    } else if (prop->defval_str) {
        fprintf(out, " (default: \"%s\")", prop->defval_str);
    }
    fputc('\n', out);
    return true;
}

bool qdev_print_device_props(FILE *out, const char *name, GError **errp)
{
    ObjectClass *oc = object_class_by_name(name);
    DeviceClass *dc;

    if (!oc || !object_class_dynamic_cast(oc, TYPE_DEVICE)) {
        error_setg(errp, "'%s' is not a valid device model name", name);
        return false;
    }
    dc = DEVICE_CLASS(oc);
    if (object_class_is_abstract(oc)) {
        error_setg(errp, "Parameter 'driver' expects a non-abstract device "
                   "type");
        return false;
    }
    fprintf(out, "%s options:\n", name);
    qdev_class_foreach_prop(dc, print_prop, out);
    return true;
}
