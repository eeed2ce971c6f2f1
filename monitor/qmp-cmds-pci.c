/*
 * query-pci and "info pci": the functions on the root PCI bus, read from
 * their configuration space and BARs, in QEMU's shapes.
 */
#include "monitor-internal.h"
#include "qlite/pci.h"

static const struct {
    uint16_t class_id;
    const char *desc;
} pci_class_names[] = {
    { 0x0100, "SCSI controller" }, { 0x0101, "IDE controller" },
    { 0x0106, "SATA controller" }, { 0x0108, "NVMe controller" },
    { 0x0200, "Ethernet controller" }, { 0x0300, "VGA controller" },
    { 0x0401, "Audio controller" }, { 0x0403, "Audio controller" },
    { 0x0600, "Host bridge" }, { 0x0601, "ISA bridge" },
    { 0x0604, "PCI bridge" }, { 0x0c03, "USB controller" },
    { 0x00ff, "Unclassified device" },
};

/* By base class when the subclass is not listed, as QEMU does. */
static const char *const pci_base_class_names[] = {
    [0x01] = "Storage controller", [0x02] = "Network controller",
    [0x03] = "Display controller", [0x04] = "Multimedia controller",
    [0x05] = "Memory controller", [0x06] = "Bridge",
    [0x07] = "Communication controller", [0x08] = "System peripheral",
    [0x0c] = "Serial bus controller",
};

static const char *pci_class_desc(uint16_t class_id)
{
    unsigned base = class_id >> 8;

    for (size_t i = 0; i < G_N_ELEMENTS(pci_class_names); i++) {
        if (pci_class_names[i].class_id == class_id) {
            return pci_class_names[i].desc;
        }
    }
    if (base < G_N_ELEMENTS(pci_base_class_names)) {
        return pci_base_class_names[base];
    }
    return NULL;
}

static PCIBus *pci_root_bus(void)
{
    BusState *bus = qbus_find(TYPE_PCI_BUS);

    return bus ? PCI_BUS(bus) : NULL;
}

/* ---- query-pci ---- */

static json_t *qmp_pci_regions(PCIDevice *dev)
{
    json_t *list = json_array();

    for (int i = 0; i < PCI_NUM_REGIONS; i++) {
        PCIIORegion *r = &dev->io_regions[i];
        bool io = r->type & PCI_BASE_ADDRESS_SPACE_IO;
        json_t *e;

        if (!r->size) {
            continue;
        }
        e = json_pack("{s:i,s:s,s:I,s:I}", "bar", i,
                      "type", io ? "io" : "memory",
                      "address", r->addr == PCI_BAR_UNMAPPED
                                 ? (json_int_t)-1 : (json_int_t)r->addr,
                      "size", (json_int_t)r->size);
        if (!io) {
            json_object_set_new(e, "prefetch", json_boolean(
                r->type & PCI_BASE_ADDRESS_MEM_PREFETCH));
            json_object_set_new(e, "mem_type_64", json_boolean(
                r->type & PCI_BASE_ADDRESS_MEM_TYPE_64));
        }
        json_array_append_new(list, e);
    }
    return list;
}

static json_t *qmp_pci_device(PCIDevice *dev)
{
    const uint8_t *c = dev->config;
    uint16_t class_id = pci_get_word(c + PCI_CLASS_DEVICE);
    const char *desc = pci_class_desc(class_id);
    DeviceState *ds = DEVICE(dev);
    json_t *class_info = json_pack("{s:i}", "class", class_id);
    json_t *e;

    if (desc) {
        json_object_set_new(class_info, "desc", json_string(desc));
    }
    e = json_pack("{s:i,s:i,s:i,s:o,s:{s:i,s:i,s:i,s:i},s:s,s:o,s:i}",
                  "bus", 0, "slot", dev->devfn >> 3,
                  "function", dev->devfn & 7, "class_info", class_info,
                  "id", "device", pci_get_word(c + PCI_DEVICE_ID),
                  "vendor", pci_get_word(c + PCI_VENDOR_ID),
                  "subsystem", pci_get_word(c + PCI_SUBSYSTEM_ID),
                  "subsystem-vendor",
                  pci_get_word(c + PCI_SUBSYSTEM_VENDOR_ID),
                  "qdev_id", ds->id ? ds->id : "",
                  "regions", qmp_pci_regions(dev),
                  "irq_pin", c[PCI_INTERRUPT_PIN]);
    if (c[PCI_INTERRUPT_PIN]) {
        json_object_set_new(e, "irq", json_integer(c[PCI_INTERRUPT_LINE]));
    }
    return e;
}

json_t *qmp_cmd_query_pci(QmpSession *s, json_t *a, GError **errp)
{
    PCIBus *bus = pci_root_bus();
    json_t *devices;

    if (!bus) {
        return json_array();
    }
    devices = json_array();
    for (int devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
        if (bus->devices[devfn]) {
            json_array_append_new(devices,
                                  qmp_pci_device(bus->devices[devfn]));
        }
    }
    return json_pack("[{s:i,s:o}]", "bus", 0, "devices", devices);
}

/* ---- info pci ---- */

static void hmp_pci_bars(GString *out, PCIDevice *dev)
{
    for (int i = 0; i < PCI_NUM_REGIONS; i++) {
        PCIIORegion *r = &dev->io_regions[i];
        uint64_t end = r->addr + r->size - 1;

        if (!r->size) {
            continue;
        }
        if (r->type & PCI_BASE_ADDRESS_SPACE_IO) {
            g_string_append_printf(out, "      BAR%d: I/O at 0x%04" PRIx64
                                   " [0x%04" PRIx64 "].\n", i, r->addr, end);
        } else {
            g_string_append_printf(
                out, "      BAR%d: %d bit%s memory at 0x%08" PRIx64
                " [0x%08" PRIx64 "].\n", i,
                r->type & PCI_BASE_ADDRESS_MEM_TYPE_64 ? 64 : 32,
                r->type & PCI_BASE_ADDRESS_MEM_PREFETCH ? " prefetchable"
                                                        : "",
                r->addr, end);
        }
    }
}

static void hmp_pci_device(GString *out, PCIDevice *dev)
{
    const uint8_t *c = dev->config;
    uint16_t class_id = pci_get_word(c + PCI_CLASS_DEVICE);
    const char *desc = pci_class_desc(class_id);
    DeviceState *ds = DEVICE(dev);

    g_string_append_printf(out, "  Bus  0, device %3d, function %d:\n",
                           dev->devfn >> 3, dev->devfn & 7);
    if (desc) {
        g_string_append_printf(out, "    %s:", desc);
    } else {
        g_string_append_printf(out, "    Class %04x:", class_id);
    }
    g_string_append_printf(out, " PCI device %04x:%04x\n"
                           "      PCI subsystem %04x:%04x\n",
                           pci_get_word(c + PCI_VENDOR_ID),
                           pci_get_word(c + PCI_DEVICE_ID),
                           pci_get_word(c + PCI_SUBSYSTEM_VENDOR_ID),
                           pci_get_word(c + PCI_SUBSYSTEM_ID));
    if (c[PCI_INTERRUPT_PIN]) {
        g_string_append_printf(out, "      IRQ %d, pin %c\n",
                               c[PCI_INTERRUPT_LINE],
                               'A' + (c[PCI_INTERRUPT_PIN] - 1) % 4);
    }
    hmp_pci_bars(out, dev);
    g_string_append_printf(out, "      id \"%s\"\n", ds->id ? ds->id : "");
}

void hmp_print_pci(GString *out)
{
    PCIBus *bus = pci_root_bus();

    for (int devfn = 0; bus && devfn < PCI_DEVFN_MAX; devfn++) {
        if (bus->devices[devfn]) {
            hmp_pci_device(out, bus->devices[devfn]);
        }
    }
}
