/*
 * The devices on an IDE bus: "ide-hd" (ATA disk) and "ide-cd" (ATAPI
 * CD/DVD-ROM), and the bus type itself.  A device takes one unit (0:
 * master, 1: slave) of its channel's IDEState; the channel does the
 * protocol, the device brings the drive and the identity strings.
 *
 *   -device ide-hd,drive=ID[,bus=ide.N][,unit=U][,serial=][,model=]
 *           [,ver=][,wwn=]
 */
#include "ide-internal.h"

#define IDE_UNIT_AUTO UINT32_MAX

typedef struct IDEDevice {
    DeviceState parent;
    char *drive;
    uint32_t unit;
    char *serial;
    int32_t bootindex;
    char *model;
    char *version;
    uint64_t wwn;
    IDEState *s;
} IDEDevice;

#define IDE_DEVICE(obj) OBJECT_CHECK(IDEDevice, (obj), TYPE_IDE_DEVICE)

static bool ide_dev_pick_unit(IDEDevice *d, IDEBus *bus, GError **errp)
{
    if (d->unit == IDE_UNIT_AUTO) {
        for (d->unit = 0; d->unit < IDE_NUM_UNITS; d->unit++) {
            if (bus->ifs[d->unit].kind == IDE_KIND_NONE) {
                return true;
            }
        }
        error_setg(errp, "IDE bus %s is full", BUS(bus)->name);
        return false;
    }
    if (d->unit >= IDE_NUM_UNITS) {
        error_setg(errp, "Can't create IDE unit %u, bus supports only %d "
                   "units", d->unit, IDE_NUM_UNITS);
        return false;
    }
    if (bus->ifs[d->unit].kind != IDE_KIND_NONE) {
        error_setg(errp, "IDE unit %u is in use", d->unit);
        return false;
    }
    return true;
}

/* The backend named by drive=; an ide-cd may have none, or no medium. */
static bool ide_dev_check_blk(BlockBackend *blk, IDEKind kind, GError **errp)
{
    if (kind != IDE_KIND_HD) {
        return true;
    }
    if (!blk_is_inserted(blk)) {
        error_setg(errp, "Device needs media, but drive is empty");
        return false;
    }
    if (blk_is_read_only(blk)) {
        error_setg(errp, "Can't use a read-only drive");
        return false;
    }
    return true;
}

static bool ide_dev_get_blk(IDEDevice *d, IDEKind kind, BlockBackend **blk,
                            GError **errp)
{
    *blk = NULL;
    if (!d->drive) {
        if (kind == IDE_KIND_HD) {
            error_setg(errp, "drive property not set");
            return false;
        }
        *blk = blk_new_for_dev(DEVICE(d));     /* an empty tray */
        return true;
    }
    *blk = blk_claim_by_name(d->drive, DEVICE(d), errp);
    if (!*blk) {
        return false;
    }
    if (!ide_dev_check_blk(*blk, kind, errp)) {
        blk_detach_dev(*blk);
        *blk = NULL;
        return false;
    }
    return true;
}

static void ide_dev_strings(IDEDevice *d, IDEState *s, IDEKind kind)
{
    g_autofree char *serial = g_strdup_printf("QM%05d",
                                              s->bus->index * 2 + s->unit + 1);
    const char *model = kind == IDE_KIND_HD ? "QEMU HARDDISK"
                                            : "QEMU DVD-ROM";

    g_strlcpy(s->serial, d->serial ? d->serial : serial, sizeof(s->serial));
    g_strlcpy(s->model, d->model ? d->model : model, sizeof(s->model));
    g_strlcpy(s->version, d->version ? d->version : "2.5+",
              sizeof(s->version));
    s->wwn = d->wwn;
}

static void ide_dev_realize(DeviceState *dev, IDEKind kind, GError **errp)
{
    IDEDevice *d = IDE_DEVICE(dev);
    IDEBus *bus = IDE_BUS(dev->parent_bus);
    BlockBackend *blk;

    if (!ide_dev_pick_unit(d, bus, errp) ||
        !ide_dev_get_blk(d, kind, &blk, errp)) {
        return;
    }
    d->s = &bus->ifs[d->unit];
    ide_drive_attach(d->s, kind, dev, blk);
    ide_dev_strings(d, d->s, kind);
    if (blk && kind == IDE_KIND_CD) {
        blk_set_dev_ops(blk, &atapi_block_ops, d->s);
    }
}

static void ide_hd_realize(DeviceState *dev, GError **errp)
{
    ide_dev_realize(dev, IDE_KIND_HD, errp);
}

static void ide_cd_realize(DeviceState *dev, GError **errp)
{
    ide_dev_realize(dev, IDE_KIND_CD, errp);
}

static void ide_dev_unrealize(DeviceState *dev)
{
    IDEDevice *d = IDE_DEVICE(dev);

    if (!d->s) {
        return;
    }
    if (d->s->blk) {
        blk_set_dev_ops(d->s->blk, NULL, NULL);
        blk_detach_dev(d->s->blk);
    }
    ide_drive_detach(d->s);
    d->s = NULL;
}

static const Property ide_dev_props[] = {
    DEFINE_PROP_LINK("drive", IDEDevice, drive),
    DEFINE_PROP_UINT32("unit", IDEDevice, unit, IDE_UNIT_AUTO),
    DEFINE_PROP_STRING("serial", IDEDevice, serial),
    DEFINE_PROP_INT32("bootindex", IDEDevice, bootindex, -1),
    DEFINE_PROP_STRING("model", IDEDevice, model),
    DEFINE_PROP_STRING("ver", IDEDevice, version),
    DEFINE_PROP_UINT64("wwn", IDEDevice, wwn, 0),
    DEFINE_PROP_END_OF_LIST(),
};

static void ide_dev_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->bus_type = TYPE_IDE_BUS;
    dc->category = DEVICE_CATEGORY_STORAGE;
    dc->props = ide_dev_props;
    dc->unrealize = ide_dev_unrealize;
}

static void ide_hd_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "virtual IDE disk";
    dc->user_creatable = true;
    dc->realize = ide_hd_realize;
}

static void ide_cd_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "virtual IDE CD-ROM";
    dc->user_creatable = true;
    dc->realize = ide_cd_realize;
}

static void ide_bus_class_init(ObjectClass *oc, const void *data)
{
    /* Master and slave: a third device looks for the next channel. */
    BUS_CLASS(oc)->max_dev = IDE_NUM_UNITS;
}

static const TypeInfo ide_bus_info = {
    .name = TYPE_IDE_BUS,
    .parent = TYPE_BUS,
    .instance_size = sizeof(IDEBus),
    .class_init = ide_bus_class_init,
};

static const TypeInfo ide_dev_info = {
    .name = TYPE_IDE_DEVICE,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(IDEDevice),
    .abstract = true,
    .class_init = ide_dev_class_init,
};

static const TypeInfo ide_hd_info = {
    .name = TYPE_IDE_HD,
    .parent = TYPE_IDE_DEVICE,
    .instance_size = sizeof(IDEDevice),
    .class_init = ide_hd_class_init,
};

static const TypeInfo ide_cd_info = {
    .name = TYPE_IDE_CD,
    .parent = TYPE_IDE_DEVICE,
    .instance_size = sizeof(IDEDevice),
    .class_init = ide_cd_class_init,
};

type_init(ide_dev_register_types)
{
    type_register(&ide_bus_info);
    type_register(&ide_dev_info);
    type_register(&ide_hd_info);
    type_register(&ide_cd_info);
}
