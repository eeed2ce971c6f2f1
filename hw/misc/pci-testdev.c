/*
 * QEMU's "pci-testdev" (1b36:0005): BAR 0 is 4 KiB of MMIO, BAR 1 256
 * bytes of I/O ports.  Each BAR runs three I/O tests that bare-metal
 * tests (kvm-unit-tests' pci test) walk:
 *
 *   offset 0  u8  test      write N to select test N of this BAR
 *   offset 1  u8  width     access width the test wants (1)
 *   offset 4  le32 offset   where to write
 *   offset 8  u8  data      the value a "datamatch" test expects
 *   offset 12 le32 count    writes seen since the test was selected
 *   offset 16 char name[]   "mmio-no-eventfd", ... NUL-terminated
 *
 * The header of the selected test is what offsets below its size read;
 * writes of the right width (and data, unless "wildcard") at its offset
 * count.  Selecting a number past the last test deselects.
 */
#include "qlite/error.h"
#include "qlite/pci.h"

#define TYPE_PCI_TESTDEV "pci-testdev"

#define IOTEST_DATAMATCH    0xfa
#define IOTEST_NOMATCH      0xce
#define IOTEST_IOSIZE       128
#define IOTEST_MEMSIZE      2048
#define IOTEST_PER_BAR      3
#define IOTEST_MAX          (2 * IOTEST_PER_BAR)
#define IOTEST_HDR_NAME     16
#define IOTEST_NAME_MAX     32

enum { IOTEST_MMIO, IOTEST_PORTIO };

static const char *const iotest_names[IOTEST_PER_BAR] = {
    "no-eventfd", "wildcard-eventfd", "datamatch-eventfd",
};

typedef struct IOTest {
    uint8_t hdr[IOTEST_HDR_NAME + IOTEST_NAME_MAX];
    uint32_t size;              /* header plus name and its NUL */
    bool match_data;
} IOTest;

typedef struct PCITestDevState {
    PCIDevice parent;
    MemoryRegion mmio;
    MemoryRegion portio;
    IOTest tests[IOTEST_MAX];
    int current;
} PCITestDevState;

#define PCI_TESTDEV(obj) OBJECT_CHECK(PCITestDevState, (obj), TYPE_PCI_TESTDEV)

static void iotest_put32(uint8_t *p, uint32_t v)
{
    pci_set_long(p, v);
}

static void pci_testdev_init_tests(PCITestDevState *d)
{
    for (int i = 0; i < IOTEST_MAX; i++) {
        IOTest *t = &d->tests[i];
        int kind = i / IOTEST_PER_BAR;
        const char *test = iotest_names[i % IOTEST_PER_BAR];
        g_autofree char *name = g_strdup_printf("%s-%s",
            kind == IOTEST_MMIO ? "mmio" : "portio", test);
        uint32_t base = kind == IOTEST_MMIO ? IOTEST_MEMSIZE : IOTEST_IOSIZE;

        memset(t, 0, sizeof(*t));
        t->match_data = strcmp(test, "wildcard-eventfd") != 0;
        t->hdr[1] = 1;                          /* width */
        iotest_put32(t->hdr + 4, base + i);     /* offset */
        t->hdr[8] = t->match_data ? IOTEST_DATAMATCH : IOTEST_NOMATCH;
        g_strlcpy((char *)t->hdr + IOTEST_HDR_NAME, name, IOTEST_NAME_MAX);
        t->size = IOTEST_HDR_NAME + strlen(name) + 1;
    }
    d->current = -1;
}

static uint64_t pci_testdev_read(void *opaque, uint64_t addr, unsigned size)
{
    PCITestDevState *d = opaque;
    IOTest *t;
    uint64_t v = 0;

    if (d->current < 0) {
        return 0;
    }
    t = &d->tests[d->current];
    if (addr + size >= t->size) {
        return 0;               /* as QEMU's: the name's end reads 0 */
    }
    memcpy(&v, t->hdr + addr, size);
    return GUINT64_FROM_LE(v);
}

static void pci_testdev_write(PCITestDevState *d, int kind, uint64_t addr,
                              uint64_t val, unsigned size)
{
    IOTest *t;

    if (addr == 0) {
        d->current = val < IOTEST_PER_BAR ? kind * IOTEST_PER_BAR + val : -1;
        if (d->current >= 0) {
            iotest_put32(d->tests[d->current].hdr + 12, 0);
        }
        return;
    }
    if (d->current < 0) {
        return;
    }
    t = &d->tests[d->current];
    if (addr != pci_get_long(t->hdr + 4)) {
        return;
    }
    if (t->match_data && (size != t->hdr[1] || val != t->hdr[8])) {
        return;
    }
    iotest_put32(t->hdr + 12, pci_get_long(t->hdr + 12) + 1);
}

static void pci_testdev_mmio_write(void *opaque, uint64_t addr, uint64_t val,
                                   unsigned size)
{
    pci_testdev_write(opaque, IOTEST_MMIO, addr, val, size);
}

static void pci_testdev_pio_write(void *opaque, uint64_t addr, uint64_t val,
                                  unsigned size)
{
    pci_testdev_write(opaque, IOTEST_PORTIO, addr, val, size);
}

static const MemoryRegionOps pci_testdev_mmio_ops = {
    .read = pci_testdev_read,
    .write = pci_testdev_mmio_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

static const MemoryRegionOps pci_testdev_pio_ops = {
    .read = pci_testdev_read,
    .write = pci_testdev_pio_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

static void pci_testdev_realize(PCIDevice *dev, GError **errp)
{
    PCITestDevState *d = PCI_TESTDEV(dev);

    dev->config[PCI_INTERRUPT_PIN] = 0;
    memory_region_init_io(&d->mmio, &pci_testdev_mmio_ops, d,
                          "pci-testdev-mmio", IOTEST_MEMSIZE * 2);
    memory_region_init_io(&d->portio, &pci_testdev_pio_ops, d,
                          "pci-testdev-portio", IOTEST_IOSIZE * 2);
    pci_register_bar(dev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &d->mmio);
    pci_register_bar(dev, 1, PCI_BASE_ADDRESS_SPACE_IO, &d->portio);
}

static void pci_testdev_reset(PCIDevice *dev)
{
    pci_testdev_init_tests(PCI_TESTDEV(dev));
}

static void pci_testdev_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);

    dc->desc = "PCI Test Device";
    k->realize = pci_testdev_realize;
    k->reset = pci_testdev_reset;
    k->vendor_id = PCI_VENDOR_ID_REDHAT;
    k->device_id = 0x0005;
    k->revision = 0x00;
    k->class_id = PCI_CLASS_OTHERS;
    k->subsystem_vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET;
    k->subsystem_id = PCI_SUBDEVICE_ID_QEMU;
}

static const TypeInfo pci_testdev_info = {
    .name = TYPE_PCI_TESTDEV,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(PCITestDevState),
    .class_init = pci_testdev_class_init,
};

type_init(pci_testdev_register_types)
{
    type_register(&pci_testdev_info);
}
