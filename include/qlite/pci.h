/*
 * PCI: a bus of up to 32 slots x 8 functions, each with 256 bytes of
 * configuration space (PCI Local Bus Specification 3.0, chapter 6).
 *
 * A device declares its IDs in its class and its BARs at realize; the
 * bus maps each BAR into the memory or I/O space when the guest has
 * programmed an address and enabled decoding in the command register.
 * INTx pins go through the bus's map_irq (slot swizzle) to set_irq,
 * which the host bridge's board wiring provides (PIIX3 PIRQ links).
 */
#ifndef QLITE_PCI_H
#define QLITE_PCI_H

#include "qlite/qdev.h"
#include "qlite/memory.h"

#define TYPE_PCI_BUS "PCI"
#define TYPE_PCI_DEVICE "pci-device"

#define PCI_CONFIG_SPACE_SIZE   256
#define PCI_NUM_BARS            6
#define PCI_ROM_SLOT            6
#define PCI_NUM_REGIONS         7
#define PCI_DEVFN_MAX           256
#define PCI_NUM_PINS            4
#define PCI_DEVFN(slot, fn)     ((((slot) & 0x1f) << 3) | ((fn) & 7))
#define PCI_SLOT(devfn)         (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)         ((devfn) & 7)

/* Configuration header, type 0 (PCI 3.0 figure 6-1). */
#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define   PCI_COMMAND_IO        0x0001
#define   PCI_COMMAND_MEMORY    0x0002
#define   PCI_COMMAND_MASTER    0x0004
#define   PCI_COMMAND_SERR      0x0100
#define   PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS              0x06
#define   PCI_STATUS_INTERRUPT  0x0008
#define   PCI_STATUS_CAP_LIST   0x0010
#define   PCI_STATUS_66MHZ      0x0020
#define   PCI_STATUS_FAST_BACK  0x0080
#define   PCI_STATUS_DEVSEL_MEDIUM 0x0200
#define   PCI_STATUS_W1C        0xf900  /* error bits: write 1 to clear */
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_CLASS_DEVICE        0x0a
#define PCI_CACHE_LINE_SIZE     0x0c
#define PCI_LATENCY_TIMER       0x0d
#define PCI_HEADER_TYPE         0x0e
#define   PCI_HEADER_TYPE_MULTI_FUNCTION 0x80
#define PCI_BASE_ADDRESS_0      0x10
#define   PCI_BASE_ADDRESS_SPACE_IO     0x01
#define   PCI_BASE_ADDRESS_SPACE_MEMORY 0x00
#define   PCI_BASE_ADDRESS_MEM_TYPE_64  0x04
#define   PCI_BASE_ADDRESS_MEM_PREFETCH 0x08
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3c
#define PCI_INTERRUPT_PIN       0x3d
#define PCI_CONFIG_HEADER_SIZE  0x40

#define PCI_CAP_ID_PM           0x01
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_VNDR         0x09
#define PCI_CAP_ID_MSIX         0x11

#define PCI_VENDOR_ID_INTEL     0x8086
#define PCI_VENDOR_ID_REDHAT    0x1b36
#define PCI_VENDOR_ID_REDHAT_QUMRANET 0x1af4
#define PCI_SUBVENDOR_ID_REDHAT_QUMRANET 0x1af4
#define PCI_SUBDEVICE_ID_QEMU   0x1100

#define PCI_CLASS_BRIDGE_HOST   0x0600
#define PCI_CLASS_BRIDGE_ISA    0x0601
#define PCI_CLASS_BRIDGE_OTHER  0x0680
#define PCI_CLASS_OTHERS        0xff00

/* A BAR not mapped anywhere. */
#define PCI_BAR_UNMAPPED        UINT64_MAX

typedef struct PCIBus PCIBus;
typedef struct PCIDevice PCIDevice;
typedef struct MSIXState MSIXState;    /* include/qlite/msix.h */

typedef struct PCIIORegion {
    uint64_t size;              /* 0: not implemented */
    uint8_t type;               /* PCI_BASE_ADDRESS_* low bits */
    MemoryRegion *mr;
    MemoryRegion *space;        /* where it maps: bus mem or io */
    uint64_t addr;              /* mapped at, or PCI_BAR_UNMAPPED */
} PCIIORegion;

struct PCIDevice {
    DeviceState parent;
    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    uint8_t wmask[PCI_CONFIG_SPACE_SIZE];       /* guest-writable bits */
    uint8_t w1cmask[PCI_CONFIG_SPACE_SIZE];     /* write-1-to-clear bits */
    uint8_t used[PCI_CONFIG_SPACE_SIZE];        /* taken by capabilities */
    char *addr;                 /* property "slot[.fn]", NULL: any slot */
    bool multifunction;
    int devfn;
    PCIBus *bus;
    PCIIORegion io_regions[PCI_NUM_REGIONS];
    int irq_level;              /* level of our INTx pin */
    MSIXState *msix;            /* NULL: no MSI-X capability */
    uint8_t msi_cap;            /* 0: no MSI capability */
};

typedef struct PCIDeviceClass {
    DeviceClass parent;
    void (*realize)(PCIDevice *dev, GError **errp);
    void (*exit)(PCIDevice *dev);
    /* NULL: the default handlers. */
    uint32_t (*config_read)(PCIDevice *dev, uint32_t addr, int len);
    void (*config_write)(PCIDevice *dev, uint32_t addr, uint32_t val,
                         int len);
    /* Device-specific reset of config registers (after the common one). */
    void (*reset)(PCIDevice *dev);
    uint16_t vendor_id;
    uint16_t device_id;
    uint8_t revision;
    uint16_t class_id;
    uint16_t subsystem_vendor_id;
    uint16_t subsystem_id;
} PCIDeviceClass;

/* Bus wiring: pin (0=INTA) of @dev -> bus IRQ number; level per number. */
typedef int (*PCIMapIrqFn)(PCIDevice *dev, int pin);
typedef void (*PCISetIrqFn)(void *opaque, int irq_num, int level);

struct PCIBus {
    BusState parent;
    PCIDevice *devices[PCI_DEVFN_MAX];
    MemoryRegion *mem;          /* where memory BARs map */
    MemoryRegion *io;           /* where I/O BARs map */
    PCIMapIrqFn map_irq;
    PCISetIrqFn set_irq;
    void *irq_opaque;
    int nirq;
    int *irq_count;             /* asserted pins per bus IRQ number */
};

#define PCI_BUS(obj) OBJECT_CHECK(PCIBus, (obj), TYPE_PCI_BUS)
#define PCI_DEVICE(obj) OBJECT_CHECK(PCIDevice, (obj), TYPE_PCI_DEVICE)
#define PCI_DEVICE_CLASS(k) \
    OBJECT_CLASS_CHECK(PCIDeviceClass, (k), TYPE_PCI_DEVICE)
#define PCI_DEVICE_GET_CLASS(obj) \
    OBJECT_GET_CLASS(PCIDeviceClass, (obj), TYPE_PCI_DEVICE)

static inline uint16_t pci_get_word(const uint8_t *p)
{
    return p[0] | (p[1] << 8);
}

static inline uint32_t pci_get_long(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void pci_set_word(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static inline void pci_set_long(uint8_t *p, uint32_t v)
{
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

PCIBus *pci_root_bus_new(DeviceState *parent, const char *name,
                         MemoryRegion *mem, MemoryRegion *io);
void pci_bus_irqs(PCIBus *bus, PCISetIrqFn set_irq, PCIMapIrqFn map_irq,
                  void *opaque, int nirq);
/* The usual swizzle: (slot + pin) mod 4. */
int pci_swizzle_map_irq(PCIDevice *dev, int pin);
PCIDevice *pci_bus_get_device(PCIBus *bus, int devfn);

/* Create, place at @devfn (-1: first free slot) and realize. */
PCIDevice *pci_create_simple(PCIBus *bus, int devfn, const char *type,
                             GError **errp);

/*
 * Config mechanism #1 as host bridges forward it: @addr is the CONFIG_ADDRESS
 * value (enable bit, bus, devfn, register) with the data port's byte
 * offset added.  Reads of absent functions return all ones.
 */
uint32_t pci_host_config_read(PCIBus *bus, uint32_t addr, int len);
void pci_host_config_write(PCIBus *bus, uint32_t addr, uint32_t val,
                           int len);

/* Accessors the config_read/write hooks fall back to. */
uint32_t pci_default_read_config(PCIDevice *dev, uint32_t addr, int len);
void pci_default_write_config(PCIDevice *dev, uint32_t addr, uint32_t val,
                              int len);

/* Declare BAR @n (0-5, or PCI_ROM_SLOT) of @mr's size (a power of two). */
void pci_register_bar(PCIDevice *dev, int n, uint8_t type, MemoryRegion *mr);
uint64_t pci_get_bar_addr(PCIDevice *dev, int n);
/* Bus mastering on: only then may the device reach memory (DMA, MSI). */
static inline bool pci_bus_master_enabled(const PCIDevice *dev)
{
    return pci_get_word(dev->config + PCI_COMMAND) & PCI_COMMAND_MASTER;
}

/* Set our INTx pin (config byte PCI_INTERRUPT_PIN says which). */
void pci_set_irq(PCIDevice *dev, int level);
/*
 * Add a capability of @size bytes at @offset (0: first free space after
 * the header); returns its offset, or 0 with errp set.
 */
uint8_t pci_add_capability(PCIDevice *dev, uint8_t cap_id, uint8_t offset,
                           uint8_t size, GError **errp);
uint8_t pci_find_capability(PCIDevice *dev, uint8_t cap_id);

/*
 * What firmware does before an OS runs, for boots without firmware:
 * give every BAR an address (I/O from 0xc000, memory in the 32-bit PCI
 * hole from @mem_start), enable decoding and bus mastering, and set the
 * interrupt line from @pirq_to_irq (bus IRQ number -> ISA IRQ).
 */
void pci_bus_assign_resources(PCIBus *bus, uint64_t mem_start,
                              uint64_t mem_end, const uint8_t *pirq_to_irq);

/*
 * The PC chipset as the board wires it: the i440FX host bridge (a device
 * on the system bus that owns "pci.0") and the PIIX3 ISA bridge at 00:01.0
 * that owns the ISA bus and routes PCI INTx through its PIRQ registers.
 */
#define TYPE_I440FX_PCI_HOST "i440FX-pcihost"
#define TYPE_PIIX3 "PIIX3"
#define PIIX3_PIRQ_ROUTE    0x60    /* 4 registers: PIRQA..PIRQD */
#define   PIIX3_PIRQ_DISABLE 0x80
PCIBus *i440fx_host_bus(DeviceState *host);
typedef struct ISABus ISABus;
ISABus *piix3_isa_bus(PCIDevice *piix3);

#endif
