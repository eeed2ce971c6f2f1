/*
 * The PCI bus and the part every PCI function shares: configuration
 * space with its write masks, BAR sizing and mapping, the capability
 * list, and INTx routing through the bus (PCI Local Bus Specification
 * 3.0, chapter 6).
 */
#include "qlite/error.h"
#include "qlite/msix.h"

/* ------------------------------------------------------------------------
 * The bus
 */

PCIBus *pci_root_bus_new(DeviceState *parent, const char *name,
                         MemoryRegion *mem, MemoryRegion *io)
{
    PCIBus *bus = PCI_BUS(qbus_new(TYPE_PCI_BUS, parent, name));

    bus->mem = mem;
    bus->io = io;
    return bus;
}

void pci_bus_irqs(PCIBus *bus, PCISetIrqFn set_irq, PCIMapIrqFn map_irq,
                  void *opaque, int nirq)
{
    bus->set_irq = set_irq;
    bus->map_irq = map_irq;
    bus->irq_opaque = opaque;
    bus->nirq = nirq;
    g_free(bus->irq_count);
    bus->irq_count = g_new0(int, nirq);
}

int pci_swizzle_map_irq(PCIDevice *dev, int pin)
{
    return (PCI_SLOT(dev->devfn) + pin) % PCI_NUM_PINS;
}

PCIDevice *pci_bus_get_device(PCIBus *bus, int devfn)
{
    if (devfn < 0 || devfn >= PCI_DEVFN_MAX) {
        return NULL;
    }
    return bus->devices[devfn];
}

static void pci_bus_finalize(Object *obj)
{
    g_free(PCI_BUS(obj)->irq_count);
}

/* ------------------------------------------------------------------------
 * INTx
 */

static void pci_bus_change_irq(PCIBus *bus, int irq_num, int change)
{
    if (!bus->set_irq || irq_num < 0 || irq_num >= bus->nirq) {
        return;
    }
    bus->irq_count[irq_num] += change;
    g_assert(bus->irq_count[irq_num] >= 0);
    bus->set_irq(bus->irq_opaque, irq_num, bus->irq_count[irq_num] != 0);
}

static int pci_intx_pin(PCIDevice *dev)
{
    uint8_t pin = dev->config[PCI_INTERRUPT_PIN];

    return pin >= 1 && pin <= PCI_NUM_PINS ? pin - 1 : -1;
}

static bool pci_intx_disabled(PCIDevice *dev)
{
    return pci_get_word(dev->config + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
}

/* What the bus sees: our level unless INTx is disabled. */
static int pci_intx_output(PCIDevice *dev)
{
    return dev->irq_level && !pci_intx_disabled(dev);
}

static void pci_intx_propagate(PCIDevice *dev, int old_out)
{
    int out = pci_intx_output(dev);
    int pin = pci_intx_pin(dev);

    if (out == old_out || pin < 0 || !dev->bus || !dev->bus->map_irq) {
        return;
    }
    pci_bus_change_irq(dev->bus, dev->bus->map_irq(dev, pin),
                       out - old_out);
}

void pci_set_irq(PCIDevice *dev, int level)
{
    int old_out = pci_intx_output(dev);
    uint16_t status = pci_get_word(dev->config + PCI_STATUS);

    level = level != 0;
    dev->irq_level = level;
    status = level ? status | PCI_STATUS_INTERRUPT
                   : status & ~PCI_STATUS_INTERRUPT;
    pci_set_word(dev->config + PCI_STATUS, status);
    pci_intx_propagate(dev, old_out);
}

/* ------------------------------------------------------------------------
 * BARs
 */

static int pci_bar_offset(int n)
{
    return n == PCI_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * n;
}

void pci_register_bar(PCIDevice *dev, int n, uint8_t type, MemoryRegion *mr)
{
    PCIIORegion *r = &dev->io_regions[n];
    uint64_t size = memory_region_size(mr);
    uint64_t wmask = ~(size - 1);
    int off = pci_bar_offset(n);

    g_assert(n >= 0 && n < PCI_NUM_REGIONS);
    g_assert(size >= 4 && (size & (size - 1)) == 0);
    r->size = size;
    r->type = type;
    r->mr = mr;
    r->addr = PCI_BAR_UNMAPPED;
    r->space = (type & PCI_BASE_ADDRESS_SPACE_IO) ? dev->bus->io
                                                  : dev->bus->mem;
    if (n == PCI_ROM_SLOT) {
        wmask |= 1;     /* the ROM enable bit */
        type = 0;
    }
    pci_set_long(dev->config + off, type);
    if (type & PCI_BASE_ADDRESS_MEM_TYPE_64) {
        g_assert(n < PCI_NUM_BARS - 1);
        pci_set_long(dev->wmask + off, (uint32_t)wmask);
        pci_set_long(dev->wmask + off + 4, (uint32_t)(wmask >> 32));
    } else {
        pci_set_long(dev->wmask + off, (uint32_t)wmask & ~(uint32_t)type);
    }
}

static uint64_t pci_bar_value(PCIDevice *dev, int n)
{
    PCIIORegion *r = &dev->io_regions[n];
    int off = pci_bar_offset(n);
    uint64_t v = pci_get_long(dev->config + off);

    if (r->type & PCI_BASE_ADDRESS_MEM_TYPE_64) {
        v |= (uint64_t)pci_get_long(dev->config + off + 4) << 32;
    }
    return v;
}

/* Where BAR @n decodes now, from config space (PCI 3.0 6.2.5.1). */
static uint64_t pci_bar_address(PCIDevice *dev, int n)
{
    PCIIORegion *r = &dev->io_regions[n];
    uint16_t cmd = pci_get_word(dev->config + PCI_COMMAND);
    uint64_t addr = pci_bar_value(dev, n) & ~(r->size - 1);
    uint64_t last = addr + r->size - 1;

    if (r->type & PCI_BASE_ADDRESS_SPACE_IO) {
        if (!(cmd & PCI_COMMAND_IO) || last > 0xffff) {
            return PCI_BAR_UNMAPPED;
        }
    } else {
        if (!(cmd & PCI_COMMAND_MEMORY)) {
            return PCI_BAR_UNMAPPED;
        }
        if (n == PCI_ROM_SLOT && !(pci_bar_value(dev, n) & 1)) {
            return PCI_BAR_UNMAPPED;
        }
    }
    /* 0 and an address that wraps are "not programmed yet". */
    if (addr == 0 || last < addr) {
        return PCI_BAR_UNMAPPED;
    }
    return addr;
}

static void pci_update_mappings(PCIDevice *dev)
{
    memory_region_transaction_begin();
    for (int n = 0; n < PCI_NUM_REGIONS; n++) {
        PCIIORegion *r = &dev->io_regions[n];
        uint64_t addr;

        if (!r->size) {
            continue;
        }
        addr = pci_bar_address(dev, n);
        if (addr == r->addr) {
            continue;
        }
        if (r->addr != PCI_BAR_UNMAPPED) {
            memory_region_del_subregion(r->space, r->mr);
        }
        r->addr = addr;
        if (addr != PCI_BAR_UNMAPPED) {
            /* Above RAM, as a BAR placed over RAM decodes on a real PC. */
            memory_region_add_subregion_overlap(r->space, addr, r->mr, 1);
        }
    }
    memory_region_transaction_commit();
}

uint64_t pci_get_bar_addr(PCIDevice *dev, int n)
{
    return n >= 0 && n < PCI_NUM_REGIONS ? dev->io_regions[n].addr
                                         : PCI_BAR_UNMAPPED;
}

/* ------------------------------------------------------------------------
 * Configuration space
 */

uint32_t pci_default_read_config(PCIDevice *dev, uint32_t addr, int len)
{
    uint32_t val = 0;

    if (addr >= PCI_CONFIG_SPACE_SIZE || len > 4 ||
        len > PCI_CONFIG_SPACE_SIZE - (int)addr) {
        return UINT32_MAX;
    }
    for (int i = 0; i < len; i++) {
        val |= (uint32_t)dev->config[addr + i] << (8 * i);
    }
    return val;
}

static bool pci_range_touches(uint32_t addr, int len, uint32_t start,
                              uint32_t size)
{
    return addr < start + size && start < addr + len;
}

void pci_default_write_config(PCIDevice *dev, uint32_t addr, uint32_t val,
                              int len)
{
    int old_intx = pci_intx_output(dev);

    if (addr >= PCI_CONFIG_SPACE_SIZE || len > 4 ||
        len > PCI_CONFIG_SPACE_SIZE - (int)addr) {
        return;
    }
    for (int i = 0; i < len; i++) {
        uint8_t b = val >> (8 * i);
        uint8_t wm = dev->wmask[addr + i];
        uint8_t w1c = dev->w1cmask[addr + i];

        dev->config[addr + i] = (dev->config[addr + i] & ~wm) | (b & wm);
        dev->config[addr + i] &= ~(b & w1c);
    }
    if (pci_range_touches(addr, len, PCI_BASE_ADDRESS_0, 24) ||
        pci_range_touches(addr, len, PCI_ROM_ADDRESS, 4) ||
        pci_range_touches(addr, len, PCI_COMMAND, 2)) {
        pci_update_mappings(dev);
    }
    if (pci_range_touches(addr, len, PCI_COMMAND, 2)) {
        pci_intx_propagate(dev, old_intx);
    }
    msix_write_config(dev, addr, val, len);
}

static uint32_t pci_config_read(PCIDevice *dev, uint32_t addr, int len)
{
    PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(dev);

    if (pc->config_read) {
        return pc->config_read(dev, addr, len);
    }
    return pci_default_read_config(dev, addr, len);
}

static void pci_config_write(PCIDevice *dev, uint32_t addr, uint32_t val,
                             int len)
{
    PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(dev);

    if (pc->config_write) {
        pc->config_write(dev, addr, val, len);
    } else {
        pci_default_write_config(dev, addr, val, len);
    }
}

/* CONFIG_ADDRESS: enable(31) reserved(30:24) bus(23:16) devfn(15:8) reg. */
static PCIDevice *pci_host_target(PCIBus *bus, uint32_t addr, int len,
                                  uint32_t *reg)
{
    *reg = addr & 0xff;
    if (!(addr & 0x80000000u) || ((addr >> 16) & 0xff) != 0 ||
        len < 1 || len > 4 || *reg + len > PCI_CONFIG_SPACE_SIZE) {
        return NULL;
    }
    return bus->devices[(addr >> 8) & 0xff];
}

uint32_t pci_host_config_read(PCIBus *bus, uint32_t addr, int len)
{
    uint32_t reg;
    PCIDevice *dev = pci_host_target(bus, addr, len, &reg);

    if (!dev) {
        return len == 4 ? UINT32_MAX : (UINT32_C(1) << (8 * len)) - 1;
    }
    return pci_config_read(dev, reg, len);
}

void pci_host_config_write(PCIBus *bus, uint32_t addr, uint32_t val,
                           int len)
{
    uint32_t reg;
    PCIDevice *dev = pci_host_target(bus, addr, len, &reg);

    if (dev) {
        pci_config_write(dev, reg, val, len);
    }
}

/* ------------------------------------------------------------------------
 * Capabilities
 */

static uint8_t pci_find_space(PCIDevice *dev, uint8_t size)
{
    for (int off = PCI_CONFIG_HEADER_SIZE;
         off + size <= PCI_CONFIG_SPACE_SIZE; off += 4) {
        int i;

        for (i = 0; i < size && !dev->used[off + i]; i++) {
        }
        if (i == size) {
            return off;
        }
    }
    return 0;
}

uint8_t pci_add_capability(PCIDevice *dev, uint8_t cap_id, uint8_t offset,
                           uint8_t size, GError **errp)
{
    uint16_t status;

    if (!offset) {
        offset = pci_find_space(dev, size);
    }
    if (offset < PCI_CONFIG_HEADER_SIZE || (offset & 3) ||
        offset + size > PCI_CONFIG_SPACE_SIZE || size < 2) {
        error_setg(errp, "no room for PCI capability 0x%02x (%u bytes)",
                   cap_id, size);
        return 0;
    }
    for (int i = 0; i < size; i++) {
        if (dev->used[offset + i]) {
            error_setg(errp, "PCI capability 0x%02x at 0x%02x overlaps "
                       "another one", cap_id, offset);
            return 0;
        }
    }
    memset(dev->used + offset, 1, size);
    /* Read-only until the device opens the bits it implements. */
    memset(dev->wmask + offset, 0, size);
    dev->config[offset] = cap_id;
    dev->config[offset + 1] = dev->config[PCI_CAPABILITY_LIST];
    dev->config[PCI_CAPABILITY_LIST] = offset;
    status = pci_get_word(dev->config + PCI_STATUS) | PCI_STATUS_CAP_LIST;
    pci_set_word(dev->config + PCI_STATUS, status);
    return offset;
}

uint8_t pci_find_capability(PCIDevice *dev, uint8_t cap_id)
{
    uint8_t off = dev->config[PCI_CAPABILITY_LIST];

    /* At most 48 capabilities fit after the header: bound the walk. */
    for (int n = 0; off >= PCI_CONFIG_HEADER_SIZE && n < 48; n++) {
        if (dev->config[off] == cap_id) {
            return off;
        }
        off = dev->config[off + 1] & ~3;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Device lifecycle
 */

/* "slot", "slot.fn" (hex, as QEMU's addr=) or -1 when unset. */
static int pci_parse_devfn(const char *s, GError **errp)
{
    char *end;
    unsigned long slot, fn = 0;

    if (!s || !*s) {
        return -1;
    }
    slot = strtoul(s, &end, 16);
    if (*end == '.') {
        fn = strtoul(end + 1, &end, 16);
    }
    if (*end || end == s || slot > 31 || fn > 7) {
        error_setg(errp, "Property 'addr' doesn't take value '%s'", s);
        return -2;
    }
    return PCI_DEVFN(slot, fn);
}

static int pci_find_free_devfn(PCIBus *bus)
{
    for (int slot = 0; slot < 32; slot++) {
        if (!bus->devices[PCI_DEVFN(slot, 0)]) {
            return PCI_DEVFN(slot, 0);
        }
    }
    return -1;
}

static void pci_init_header(PCIDevice *dev, PCIDeviceClass *pc)
{
    uint8_t *c = dev->config;

    pci_set_word(c + PCI_VENDOR_ID, pc->vendor_id);
    pci_set_word(c + PCI_DEVICE_ID, pc->device_id);
    c[PCI_REVISION_ID] = pc->revision;
    pci_set_word(c + PCI_CLASS_DEVICE, pc->class_id);
    pci_set_word(c + PCI_SUBSYSTEM_VENDOR_ID, pc->subsystem_vendor_id);
    pci_set_word(c + PCI_SUBSYSTEM_ID, pc->subsystem_id);
    if (dev->multifunction) {
        c[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MULTI_FUNCTION;
    }
    pci_set_word(dev->wmask + PCI_COMMAND,
                 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    pci_set_word(dev->w1cmask + PCI_STATUS, PCI_STATUS_W1C);
    dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    dev->wmask[PCI_LATENCY_TIMER] = 0xff;
    dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
    /* Device-specific registers are plain read/write unless told. */
    memset(dev->wmask + PCI_CONFIG_HEADER_SIZE, 0xff,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
    memset(dev->used, 1, PCI_CONFIG_HEADER_SIZE);
}

static void pci_qdev_realize(DeviceState *qdev, GError **errp)
{
    PCIDevice *dev = PCI_DEVICE(qdev);
    PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(dev);
    PCIBus *bus = PCI_BUS(qdev->parent_bus);
    GError *err = NULL;
    int devfn = pci_parse_devfn(dev->addr, errp);

    if (devfn == -2) {
        return;
    }
    if (devfn < 0) {
        devfn = pci_find_free_devfn(bus);
    }
    if (devfn < 0 || bus->devices[devfn]) {
        error_setg(errp, "PCI: slot %d function %d not available for %s",
                   devfn < 0 ? 31 : PCI_SLOT(devfn),
                   devfn < 0 ? 0 : PCI_FUNC(devfn),
                   object_get_typename(OBJECT(dev)));
        return;
    }
    dev->devfn = devfn;
    dev->bus = bus;
    bus->devices[devfn] = dev;
    pci_init_header(dev, pc);
    if (pc->realize) {
        pc->realize(dev, &err);
    }
    if (err) {
        bus->devices[devfn] = NULL;
        dev->bus = NULL;
        g_propagate_error(errp, err);
    }
}

static void pci_qdev_unrealize(DeviceState *qdev)
{
    PCIDevice *dev = PCI_DEVICE(qdev);
    PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(dev);

    pci_set_irq(dev, 0);
    pci_set_word(dev->config + PCI_COMMAND, 0);
    pci_update_mappings(dev);
    if (pc->exit) {
        pc->exit(dev);
    }
    msix_uninit(dev);
    if (dev->bus) {
        dev->bus->devices[dev->devfn] = NULL;
    }
}

/* Power-on state of the common header (PCI 3.0 6.2.2: decoding off). */
static void pci_qdev_reset(DeviceState *qdev)
{
    PCIDevice *dev = PCI_DEVICE(qdev);
    PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(dev);
    uint16_t cmd = pci_get_word(dev->config + PCI_COMMAND);
    uint16_t status = pci_get_word(dev->config + PCI_STATUS);

    pci_set_irq(dev, 0);
    pci_set_word(dev->config + PCI_COMMAND,
                 cmd & ~pci_get_word(dev->wmask + PCI_COMMAND));
    pci_set_word(dev->config + PCI_STATUS, status & ~PCI_STATUS_W1C);
    dev->config[PCI_CACHE_LINE_SIZE] = 0;
    dev->config[PCI_LATENCY_TIMER] = 0;
    dev->config[PCI_INTERRUPT_LINE] = 0;
    for (int n = 0; n < PCI_NUM_REGIONS; n++) {
        PCIIORegion *r = &dev->io_regions[n];
        int off = pci_bar_offset(n);

        if (!r->size) {
            continue;
        }
        pci_set_long(dev->config + off, n == PCI_ROM_SLOT ? 0 : r->type);
        if (r->type & PCI_BASE_ADDRESS_MEM_TYPE_64) {
            pci_set_long(dev->config + off + 4, 0);
        }
    }
    pci_update_mappings(dev);
    msix_reset(dev);
    if (dev->msi_cap) {
        dev->config[dev->msi_cap + PCI_MSI_FLAGS] &= ~PCI_MSI_FLAGS_ENABLE;
    }
    if (pc->reset) {
        pc->reset(dev);
    }
}

/* ------------------------------------------------------------------------
 * Firmware-style resource assignment (boots without firmware)
 */

typedef struct PCIBarRef {
    PCIDevice *dev;
    int n;
    uint64_t size;
} PCIBarRef;

static gint pci_bar_ref_cmp(gconstpointer a, gconstpointer b)
{
    const PCIBarRef *x = a, *y = b;

    return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

/* Biggest first, so each BAR lands naturally aligned with no gaps. */
static void pci_assign_space(GArray *bars, uint64_t start, uint64_t end)
{
    uint64_t next = start;

    g_array_sort(bars, pci_bar_ref_cmp);
    for (guint i = 0; i < bars->len; i++) {
        PCIBarRef *b = &g_array_index(bars, PCIBarRef, i);
        uint64_t addr = ROUND_UP(next, b->size);
        int off = pci_bar_offset(b->n);

        if (addr + b->size > end || addr + b->size < addr) {
            continue;   /* left unassigned, as firmware would */
        }
        pci_default_write_config(b->dev, off, (uint32_t)addr |
                                 b->dev->io_regions[b->n].type, 4);
        if (b->dev->io_regions[b->n].type & PCI_BASE_ADDRESS_MEM_TYPE_64) {
            pci_default_write_config(b->dev, off + 4,
                                     (uint32_t)(addr >> 32), 4);
        }
        next = addr + b->size;
    }
}

static void pci_enable_device(PCIDevice *dev, const uint8_t *pirq_to_irq)
{
    uint16_t cmd = PCI_COMMAND_MASTER;
    int pin = pci_intx_pin(dev);

    for (int n = 0; n < PCI_NUM_BARS; n++) {
        if (!dev->io_regions[n].size) {
            continue;
        }
        cmd |= (dev->io_regions[n].type & PCI_BASE_ADDRESS_SPACE_IO)
               ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
    }
    if (pin >= 0 && dev->bus->map_irq && pirq_to_irq) {
        int irq_num = dev->bus->map_irq(dev, pin);

        if (irq_num >= 0 && irq_num < dev->bus->nirq) {
            dev->config[PCI_INTERRUPT_LINE] = pirq_to_irq[irq_num];
        }
    }
    pci_default_write_config(dev, PCI_COMMAND,
                             pci_get_word(dev->config + PCI_COMMAND) | cmd,
                             2);
}

void pci_bus_assign_resources(PCIBus *bus, uint64_t mem_start,
                              uint64_t mem_end, const uint8_t *pirq_to_irq)
{
    g_autoptr(GArray) io = g_array_new(false, false, sizeof(PCIBarRef));
    g_autoptr(GArray) mem = g_array_new(false, false, sizeof(PCIBarRef));

    for (int devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *dev = bus->devices[devfn];

        for (int n = 0; dev && n < PCI_NUM_BARS; n++) {
            PCIBarRef ref = { dev, n, dev->io_regions[n].size };

            if (!ref.size) {
                continue;
            }
            g_array_append_val((dev->io_regions[n].type &
                                PCI_BASE_ADDRESS_SPACE_IO) ? io : mem, ref);
        }
    }
    pci_assign_space(io, 0xc000, 0x10000);
    pci_assign_space(mem, mem_start, mem_end);
    for (int devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
        if (bus->devices[devfn]) {
            pci_enable_device(bus->devices[devfn], pirq_to_irq);
        }
    }
}

/* ------------------------------------------------------------------------
 * Types
 */

static const Property pci_props[] = {
    DEFINE_PROP_STRING("addr", PCIDevice, addr),
    DEFINE_PROP_BOOL("multifunction", PCIDevice, multifunction, false),
    DEFINE_PROP_END_OF_LIST(),
};

static void pci_device_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->bus_type = TYPE_PCI_BUS;
    dc->props = pci_props;
    dc->realize = pci_qdev_realize;
    dc->unrealize = pci_qdev_unrealize;
    dc->reset = pci_qdev_reset;
}

static const TypeInfo pci_bus_info = {
    .name = TYPE_PCI_BUS,
    .parent = TYPE_BUS,
    .instance_size = sizeof(PCIBus),
    .instance_finalize = pci_bus_finalize,
};

static const TypeInfo pci_device_info = {
    .name = TYPE_PCI_DEVICE,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(PCIDevice),
    .class_size = sizeof(PCIDeviceClass),
    .abstract = true,
    .class_init = pci_device_class_init,
};

PCIDevice *pci_create_simple(PCIBus *bus, int devfn, const char *type,
                             GError **errp)
{
    DeviceState *dev;

    if (!object_class_by_name(type)) {
        error_setg(errp, "this build lacks the '%s' device", type);
        return NULL;
    }
    dev = qdev_new(type);
    if (devfn >= 0) {
        g_autofree char *addr = g_strdup_printf("%x.%x", PCI_SLOT(devfn),
                                                PCI_FUNC(devfn));

        if (!qdev_prop_set(dev, "addr", addr, errp)) {
            object_unref(OBJECT(dev));
            return NULL;
        }
    }
    if (!qdev_realize_and_unref(dev, BUS(bus), errp)) {
        return NULL;
    }
    return PCI_DEVICE(dev);
}

type_init(pci_register_types)
{
    type_register(&pci_bus_info);
    type_register(&pci_device_info);
}
