/*
 * MSI-X (PCI Local Bus Specification 3.0, 6.8.2): the capability in
 * config space, the vector table and the pending-bit array (PBA) in
 * memory, masking per vector and per function, pending bits delivered
 * on unmask.
 */
#include "qlite/error.h"
#include "qlite/msix.h"

uint32_t msix_table_size(uint16_t nvectors)
{
    return nvectors * PCI_MSIX_ENTRY_SIZE;
}

/* One bit per vector, read as whole qwords (6.8.2.7). */
uint32_t msix_pba_size(uint16_t nvectors)
{
    return ((nvectors + 63) / 64) * 8;
}

bool msix_present(PCIDevice *dev)
{
    return dev->msix != NULL;
}

static uint16_t msix_control(PCIDevice *dev)
{
    return pci_get_word(dev->config + dev->msix->cap + PCI_MSIX_FLAGS);
}

bool msix_enabled(PCIDevice *dev)
{
    return dev->msix && (msix_control(dev) & PCI_MSIX_FLAGS_ENABLE);
}

uint16_t msix_nr_vectors(PCIDevice *dev)
{
    return dev->msix ? dev->msix->nvectors : 0;
}

static uint8_t *msix_entry(PCIDevice *dev, uint16_t vector)
{
    return dev->msix->table + vector * PCI_MSIX_ENTRY_SIZE;
}

static bool msix_vector_masked(PCIDevice *dev, uint16_t vector)
{
    return pci_get_long(msix_entry(dev, vector) + PCI_MSIX_ENTRY_CTRL) &
           PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

bool msix_is_masked(PCIDevice *dev, uint16_t vector)
{
    return !msix_enabled(dev) || vector >= dev->msix->nvectors ||
           (msix_control(dev) & PCI_MSIX_FLAGS_MASKALL) ||
           msix_vector_masked(dev, vector);
}

bool msix_is_pending(PCIDevice *dev, uint16_t vector)
{
    return dev->msix && vector < dev->msix->nvectors &&
           (dev->msix->pba[vector / 8] & (1u << (vector % 8)));
}

static void msix_set_pending(PCIDevice *dev, uint16_t vector, bool on)
{
    uint8_t bit = 1u << (vector % 8);

    if (on) {
        dev->msix->pba[vector / 8] |= bit;
    } else {
        dev->msix->pba[vector / 8] &= ~bit;
    }
}

void msix_clear_pending(PCIDevice *dev, uint16_t vector)
{
    if (dev->msix && vector < dev->msix->nvectors) {
        msix_set_pending(dev, vector, false);
    }
}

/* A message is a memory write by the device: only as bus master. */
static void msix_send(PCIDevice *dev, uint16_t vector)
{
    uint8_t *e = msix_entry(dev, vector);
    uint64_t addr = pci_get_long(e + PCI_MSIX_ENTRY_ADDR_LO) |
                    (uint64_t)pci_get_long(e + PCI_MSIX_ENTRY_ADDR_HI) << 32;

    if (!(pci_get_word(dev->config + PCI_COMMAND) & PCI_COMMAND_MASTER)) {
        return;
    }
    pci_msi_send(addr, pci_get_long(e + PCI_MSIX_ENTRY_DATA));
}

void msix_notify(PCIDevice *dev, uint16_t vector)
{
    if (!msix_enabled(dev) || vector >= dev->msix->nvectors) {
        return;
    }
    if (msix_is_masked(dev, vector)) {
        msix_set_pending(dev, vector, true);
        return;
    }
    msix_send(dev, vector);
}

/* After an unmask: what was held back goes out now. */
static void msix_fire_unmasked(PCIDevice *dev, uint16_t vector)
{
    if (msix_is_pending(dev, vector) && !msix_is_masked(dev, vector)) {
        msix_set_pending(dev, vector, false);
        msix_send(dev, vector);
    }
}

static void msix_fire_all_unmasked(PCIDevice *dev)
{
    for (uint16_t v = 0; v < dev->msix->nvectors; v++) {
        msix_fire_unmasked(dev, v);
    }
}

/* ---- the table and the PBA ---- */

static uint64_t msix_table_read(void *opaque, uint64_t addr, unsigned size)
{
    PCIDevice *dev = opaque;

    if (addr + 4 > msix_table_size(dev->msix->nvectors)) {
        return 0;
    }
    return pci_get_long(dev->msix->table + addr);
}

static void msix_table_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    PCIDevice *dev = opaque;
    uint16_t vector = addr / PCI_MSIX_ENTRY_SIZE;

    if (addr + 4 > msix_table_size(dev->msix->nvectors)) {
        return;
    }
    pci_set_long(dev->msix->table + addr, val);
    if (addr % PCI_MSIX_ENTRY_SIZE == PCI_MSIX_ENTRY_CTRL) {
        msix_fire_unmasked(dev, vector);
    }
}

static uint64_t msix_pba_read(void *opaque, uint64_t addr, unsigned size)
{
    PCIDevice *dev = opaque;

    if (addr + 4 > msix_pba_size(dev->msix->nvectors)) {
        return 0;
    }
    return pci_get_long(dev->msix->pba + addr);
}

/* The PBA is read-only (6.8.2.7). */
static void msix_pba_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
}

/* Dword or qword accesses, naturally aligned (6.8.2). */
static const MemoryRegionOps msix_table_ops = {
    .read = msix_table_read,
    .write = msix_table_write,
    .valid = { .min_access_size = 4, .max_access_size = 8 },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

static const MemoryRegionOps msix_pba_ops = {
    .read = msix_pba_read,
    .write = msix_pba_write,
    .valid = { .min_access_size = 4, .max_access_size = 8 },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

/* ---- config space ---- */

void msix_write_config(PCIDevice *dev, uint32_t addr, uint32_t val,
                       int len)
{
    uint32_t flags = dev->msix ? dev->msix->cap + PCI_MSIX_FLAGS : 0;

    if (!dev->msix || addr >= flags + 2 || addr + len <= flags) {
        return;
    }
    /* Enable or function mask may have changed: release what is due. */
    if (msix_enabled(dev)) {
        msix_fire_all_unmasked(dev);
    }
}

void msix_reset(PCIDevice *dev)
{
    MSIXState *m = dev->msix;
    uint8_t *ctl;

    if (!m) {
        return;
    }
    ctl = dev->config + m->cap + PCI_MSIX_FLAGS;
    pci_set_word(ctl, pci_get_word(ctl) &
                 ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL));
    memset(m->table, 0, msix_table_size(m->nvectors));
    for (uint16_t v = 0; v < m->nvectors; v++) {
        pci_set_long(msix_entry(dev, v) + PCI_MSIX_ENTRY_CTRL,
                     PCI_MSIX_ENTRY_CTRL_MASKBIT);
    }
    memset(m->pba, 0, msix_pba_size(m->nvectors));
}

bool msix_init(PCIDevice *dev, uint16_t nvectors, uint8_t table_bar,
               uint32_t table_off, uint8_t pba_bar, uint32_t pba_off,
               GError **errp)
{
    MSIXState *m;
    uint8_t cap;

    if (nvectors < 1 || nvectors > PCI_MSIX_MAX_VECTORS ||
        table_bar >= PCI_NUM_BARS || pba_bar >= PCI_NUM_BARS ||
        (table_off & 7) || (pba_off & 7)) {
        error_setg(errp, "bad MSI-X layout (%u vectors)", nvectors);
        return false;
    }
    cap = pci_add_capability(dev, PCI_CAP_ID_MSIX, 0, PCI_MSIX_CAP_SIZE,
                             errp);
    if (!cap) {
        return false;
    }
    m = g_new0(MSIXState, 1);
    m->nvectors = nvectors;
    m->cap = cap;
    m->table = g_malloc0(msix_table_size(nvectors));
    m->pba = g_malloc0(msix_pba_size(nvectors));
    pci_set_word(dev->config + cap + PCI_MSIX_FLAGS, nvectors - 1);
    pci_set_long(dev->config + cap + PCI_MSIX_TABLE, table_off | table_bar);
    pci_set_long(dev->config + cap + PCI_MSIX_PBA, pba_off | pba_bar);
    /* Only enable and function mask are the guest's to write. */
    dev->wmask[cap + PCI_MSIX_FLAGS + 1] =
        (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
    memory_region_init_io(&m->table_mr, &msix_table_ops, dev, "msix-table",
                          msix_table_size(nvectors));
    memory_region_init_io(&m->pba_mr, &msix_pba_ops, dev, "msix-pba",
                          msix_pba_size(nvectors));
    dev->msix = m;
    msix_reset(dev);
    return true;
}

bool msix_init_exclusive_bar(PCIDevice *dev, uint16_t nvectors,
                             uint8_t bar, MemoryRegion *bar_mr,
                             GError **errp)
{
    uint32_t half = 2048;       /* a 4 KiB BAR, PBA at 2 KiB, as QEMU */
    MSIXState *m;

    while (half < msix_table_size(nvectors) ||
           half < msix_pba_size(nvectors)) {
        half *= 2;
    }
    if (!msix_init(dev, nvectors, bar, 0, bar, half, errp)) {
        return false;
    }
    m = dev->msix;
    memory_region_init_container(bar_mr, "msix", half * 2);
    memory_region_add_subregion(bar_mr, 0, &m->table_mr);
    memory_region_add_subregion(bar_mr, half, &m->pba_mr);
    pci_register_bar(dev, bar, PCI_BASE_ADDRESS_SPACE_MEMORY, bar_mr);
    return true;
}

void msix_uninit(PCIDevice *dev)
{
    MSIXState *m = dev->msix;

    if (!m) {
        return;
    }
    dev->msix = NULL;
    memory_region_destroy(&m->table_mr);
    memory_region_destroy(&m->pba_mr);
    g_free(m->table);
    g_free(m->pba);
    g_free(m);
}

MemoryRegion *msix_table_region(PCIDevice *dev)
{
    return &dev->msix->table_mr;
}

MemoryRegion *msix_pba_region(PCIDevice *dev)
{
    return &dev->msix->pba_mr;
}
