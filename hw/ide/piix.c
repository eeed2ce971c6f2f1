/*
 * The PIIX3's IDE function, 00:01.1 (8086:7010, class 0101h): two
 * channels in legacy ("compatibility") mode at the ISA ports and IRQs
 * (prog-if 80h: bus master capable, neither channel native), and the
 * bus master registers in BAR4 (82371SB data sheet 2.3, SFF-8038i).
 *
 * The channels' IRQs are ISA IRQ 14 and 15 of the PIIX3's ISA bridge at
 * function 0 of the same slot.  Config registers 40h-43h (IDETIM, IDE
 * decode enable in bit 15) are plain storage: firmware sets them and
 * Linux's ata_piix checks them.
 */
#include "ide-internal.h"
#include "qlite/isa.h"

#define PIIX3_IDE_DEVICE_ID 0x7010
#define PCI_CLASS_STORAGE_IDE 0x0101
#define PIIX_IDE_PROG_IF    0x80
#define PIIX_BMDMA_SIZE     16

typedef struct PIIXIDEState {
    PCIDevice parent;
    IDEBus *bus[IDE_NUM_BUSES];
    MemoryRegion bmdma_bar;
    MemoryRegion bmdma_io[IDE_NUM_BUSES];
} PIIXIDEState;

#define PIIX3_IDE(obj) OBJECT_CHECK(PIIXIDEState, (obj), TYPE_PIIX3_IDE)

static const struct {
    uint16_t cmd;
    uint16_t ctl;
    uint8_t irq;
} piix_ide_legacy[IDE_NUM_BUSES] = {
    { 0x1f0, 0x3f6, 14 },
    { 0x170, 0x376, 15 },
};

/* The ISA bus of the PIIX3 bridge at function 0 of our slot, or NULL. */
static ISABus *piix_ide_isa_bus(PCIDevice *dev)
{
    PCIDevice *f0 = pci_bus_get_device(dev->bus,
                                       PCI_DEVFN(PCI_SLOT(dev->devfn), 0));

    if (!f0 || !object_dynamic_cast(OBJECT(f0), TYPE_PIIX3)) {
        return NULL;
    }
    return piix3_isa_bus(f0);
}

static void piix_ide_init_bus(PIIXIDEState *d, int i, ISABus *isa)
{
    g_autofree char *name = g_strdup_printf("ide.%d", i);
    IDEBus *bus = IDE_BUS(qbus_new(TYPE_IDE_BUS, DEVICE(d), name));

    d->bus[i] = bus;
    ide_bus_init(bus, i, isa->irqs[piix_ide_legacy[i].irq]);
    memory_region_init_io(&bus->cmd_io, &ide_cmd_ops, bus, "ide-cmd", 8);
    memory_region_add_subregion(get_system_io(), piix_ide_legacy[i].cmd,
                                &bus->cmd_io);
    memory_region_init_io(&bus->ctl_io, &ide_ctl_ops, bus, "ide-ctl", 1);
    memory_region_add_subregion(get_system_io(), piix_ide_legacy[i].ctl,
                                &bus->ctl_io);
    memory_region_init_io(&d->bmdma_io[i], &bmdma_ops, bus, "bmdma", 8);
    memory_region_add_subregion(&d->bmdma_bar, 8 * i, &d->bmdma_io[i]);
}

static void piix_ide_realize(PCIDevice *dev, GError **errp)
{
    PIIXIDEState *d = PIIX3_IDE(dev);
    ISABus *isa = piix_ide_isa_bus(dev);

    if (!isa) {
        error_setg(errp, "piix3-ide needs the PIIX3 ISA bridge at "
                   "function 0 of its slot");
        return;
    }
    dev->config[PCI_CLASS_PROG] = PIIX_IDE_PROG_IF;
    dev->config[PCI_INTERRUPT_PIN] = 0;
    memory_region_init_container(&d->bmdma_bar, "piix-bmdma",
                                 PIIX_BMDMA_SIZE);
    for (int i = 0; i < IDE_NUM_BUSES; i++) {
        piix_ide_init_bus(d, i, isa);
    }
    pci_register_bar(dev, 4, PCI_BASE_ADDRESS_SPACE_IO, &d->bmdma_bar);
}

static void piix_ide_exit(PCIDevice *dev)
{
    PIIXIDEState *d = PIIX3_IDE(dev);

    for (int i = 0; i < IDE_NUM_BUSES; i++) {
        memory_region_del_subregion(get_system_io(), &d->bus[i]->cmd_io);
        memory_region_del_subregion(get_system_io(), &d->bus[i]->ctl_io);
    }
}

/* Power-on values (82371SB 2.3): IDETIM 0, decoding off until enabled. */
static void piix_ide_reset(PCIDevice *dev)
{
    PIIXIDEState *d = PIIX3_IDE(dev);

    pci_set_word(dev->config + PCI_STATUS,
                 PCI_STATUS_DEVSEL_MEDIUM | PCI_STATUS_FAST_BACK);
    memset(dev->config + 0x40, 0, 4);
    for (int i = 0; i < IDE_NUM_BUSES; i++) {
        ide_bus_reset(d->bus[i]);
    }
}

BusState *piix3_ide_bus(PCIDevice *ide, int n)
{
    PIIXIDEState *d = PIIX3_IDE(ide);

    return n >= 0 && n < IDE_NUM_BUSES ? BUS(d->bus[n]) : NULL;
}

static bool piix_ide_attach(BusState *bus, DriveInfo *d, int unit,
                            GError **errp)
{
    DeviceState *dev = qdev_new(d->is_cdrom ? TYPE_IDE_CD : TYPE_IDE_HD);
    g_autofree char *u = g_strdup_printf("%d", unit);

    if (!qdev_prop_set(dev, "drive", d->id, errp) ||
        !qdev_prop_set(dev, "unit", u, errp) ||
        (d->serial && !qdev_prop_set(dev, "serial", d->serial, errp))) {
        object_unref(OBJECT(dev));
        return false;
    }
    return qdev_realize_and_unref(dev, bus, errp);
}

bool piix3_ide_attach_drives(PCIDevice *ide, GError **errp)
{
    for (int b = 0; b < IDE_NUM_BUSES; b++) {
        for (int u = 0; u < IDE_NUM_UNITS; u++) {
            DriveInfo *d = drive_get(IF_IDE, b, u);

            if (d && !d->claimed &&
                !piix_ide_attach(piix3_ide_bus(ide, b), d, u, errp)) {
                return false;
            }
        }
    }
    return true;
}

static void piix_ide_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);

    dc->desc = "PIIX3 IDE controller";
    dc->category = DEVICE_CATEGORY_STORAGE;
    dc->user_creatable = false;
    k->realize = piix_ide_realize;
    k->exit = piix_ide_exit;
    k->reset = piix_ide_reset;
    k->vendor_id = PCI_VENDOR_ID_INTEL;
    k->device_id = PIIX3_IDE_DEVICE_ID;
    k->class_id = PCI_CLASS_STORAGE_IDE;
    k->subsystem_vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET;
    k->subsystem_id = PCI_SUBDEVICE_ID_QEMU;
}

static const TypeInfo piix_ide_info = {
    .name = TYPE_PIIX3_IDE,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(PIIXIDEState),
    .class_init = piix_ide_class_init,
};

type_init(piix_ide_register_types)
{
    type_register(&piix_ide_info);
}
