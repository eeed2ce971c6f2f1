/*
 * Intel 440FX PCI host bridge (82441FX PMC): the root PCI bus, PCI
 * configuration mechanism #1 at I/O ports 0xcf8 (CONFIG_ADDRESS, 32-bit
 * only) and 0xcfc-0xcff (CONFIG_DATA), and the host bridge's own function
 * 00:00.0 (8086:1237).
 *
 * The PAM (0x59-0x5f) and SMRAM (0x72) registers are plain read/write
 * registers for now: nothing shadows the BIOS area yet, since qlite
 * boots without firmware.  SeaBIOS will need real PAM switching.
 *
 * Byte accesses to port 0xcf9 reach the PIIX3's reset control register,
 * which sits inside CONFIG_ADDRESS's port window (82371SB 4.1.5); the
 * host handles it here so the window stays one region.
 */
#include "qlite/error.h"
#include "qlite/pci.h"
#include "qlite/runstate.h"

#define TYPE_I440FX_PCI_DEVICE "i440FX"

#define I440FX_CONF_ADDR    0xcf8
#define I440FX_CONF_DATA    0xcfc
#define PIIX_RCR_OFFSET     1       /* 0xcf9 within the address window */
#define   RCR_SYS_RESET     0x02
#define   RCR_RESET_CPU     0x04

#define I440FX_PAM          0x59
#define I440FX_PAM_SIZE     7
#define I440FX_SMRAM        0x72
#define   SMRAM_C_BASE_SEG  0x02    /* compatible SMRAM at 0xa0000 */

typedef struct I440FXHostState {
    DeviceState parent;
    PCIBus *bus;
    uint32_t config_addr;
    uint8_t rcr;
    MemoryRegion conf;
    MemoryRegion data;
} I440FXHostState;

typedef struct I440FXState {
    PCIDevice parent;
} I440FXState;

#define I440FX_HOST(obj) \
    OBJECT_CHECK(I440FXHostState, (obj), TYPE_I440FX_PCI_HOST)

static uint64_t i440fx_conf_read(void *opaque, uint64_t addr, unsigned size)
{
    I440FXHostState *s = opaque;

    if (addr == 0 && size == 4) {
        return s->config_addr;
    }
    if (addr == PIIX_RCR_OFFSET && size == 1) {
        return s->rcr;
    }
    return (UINT64_C(1) << (8 * size)) - 1;
}

static void i440fx_rcr_write(I440FXHostState *s, uint8_t val)
{
    if (val & RCR_RESET_CPU) {
        qlite_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        return;
    }
    s->rcr = val & RCR_SYS_RESET;
}

static void i440fx_conf_write(void *opaque, uint64_t addr, uint64_t val,
                              unsigned size)
{
    I440FXHostState *s = opaque;

    if (addr == 0 && size == 4) {
        /* Bits 30:24 are reserved and bits 1:0 read as zero. */
        s->config_addr = val & 0x80fffffc;
    } else if (addr == PIIX_RCR_OFFSET && size == 1) {
        i440fx_rcr_write(s, val);
    }
}

static const MemoryRegionOps i440fx_conf_ops = {
    .read = i440fx_conf_read,
    .write = i440fx_conf_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

static uint64_t i440fx_data_read(void *opaque, uint64_t addr, unsigned size)
{
    I440FXHostState *s = opaque;

    return pci_host_config_read(s->bus, s->config_addr + addr, size);
}

static void i440fx_data_write(void *opaque, uint64_t addr, uint64_t val,
                              unsigned size)
{
    I440FXHostState *s = opaque;

    pci_host_config_write(s->bus, s->config_addr + addr, val, size);
}

static const MemoryRegionOps i440fx_data_ops = {
    .read = i440fx_data_read,
    .write = i440fx_data_write,
    .valid = { .min_access_size = 1, .max_access_size = 4,
               .unaligned = true },
};

static void i440fx_host_realize(DeviceState *dev, GError **errp)
{
    I440FXHostState *s = I440FX_HOST(dev);

    s->bus = pci_root_bus_new(dev, "pci.0", get_system_memory(),
                              get_system_io());
    memory_region_init_io(&s->conf, &i440fx_conf_ops, s, "pci-conf-idx", 4);
    memory_region_add_subregion(get_system_io(), I440FX_CONF_ADDR, &s->conf);
    memory_region_init_io(&s->data, &i440fx_data_ops, s, "pci-conf-data", 4);
    memory_region_add_subregion(get_system_io(), I440FX_CONF_DATA, &s->data);
    if (!pci_create_simple(s->bus, PCI_DEVFN(0, 0), TYPE_I440FX_PCI_DEVICE,
                           errp)) {
        memory_region_del_subregion(get_system_io(), &s->conf);
        memory_region_del_subregion(get_system_io(), &s->data);
    }
}

static void i440fx_host_reset(DeviceState *dev)
{
    I440FXHostState *s = I440FX_HOST(dev);

    s->config_addr = 0;
    s->rcr = 0;
}

static void i440fx_host_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "i440FX PCI host bridge";
    dc->category = DEVICE_CATEGORY_BRIDGE;
    dc->realize = i440fx_host_realize;
    dc->reset = i440fx_host_reset;
    dc->user_creatable = false;
}

/* The bridge's own function: registers as the 440FX leaves reset. */
static void i440fx_pci_reset(PCIDevice *dev)
{
    memset(dev->config + I440FX_PAM, 0, I440FX_PAM_SIZE);
    dev->config[I440FX_SMRAM] = SMRAM_C_BASE_SEG;
}

static void i440fx_pci_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);

    dc->desc = "Host bridge";
    dc->category = DEVICE_CATEGORY_BRIDGE;
    dc->user_creatable = false;
    k->reset = i440fx_pci_reset;
    k->vendor_id = PCI_VENDOR_ID_INTEL;
    k->device_id = 0x1237;
    k->revision = 0x02;
    k->class_id = PCI_CLASS_BRIDGE_HOST;
    k->subsystem_vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET;
    k->subsystem_id = PCI_SUBDEVICE_ID_QEMU;
}

static const TypeInfo i440fx_host_info = {
    .name = TYPE_I440FX_PCI_HOST,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(I440FXHostState),
    .class_init = i440fx_host_class_init,
};

static const TypeInfo i440fx_pci_info = {
    .name = TYPE_I440FX_PCI_DEVICE,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(I440FXState),
    .class_init = i440fx_pci_class_init,
};

PCIBus *i440fx_host_bus(DeviceState *host)
{
    return I440FX_HOST(host)->bus;
}

type_init(i440fx_register_types)
{
    type_register(&i440fx_host_info);
    type_register(&i440fx_pci_info);
}
