/*
 * Message signalled interrupts for PCI functions (PCI Local Bus
 * Specification 3.0, 6.8): MSI-X (6.8.2) with its table and pending-bit
 * array in a memory BAR, and plain MSI (6.8.1) with one vector.
 *
 * A device calls msix_init() at realize, maps the table and PBA regions
 * where its capability says (usually one BAR of its own), and then
 * msix_notify(dev, vector) to signal.  Masked vectors keep a pending bit
 * and fire when unmasked.  Config-space writes and device reset reach
 * this code through pci.c, so a device has nothing else to forward.
 *
 * All messages leave through pci_msi_send(): the in-kernel irqchip under
 * KVM, else the emulated local APICs.
 */
#ifndef QLITE_MSIX_H
#define QLITE_MSIX_H

#include "qlite/pci.h"

#define PCI_MSIX_MAX_VECTORS    2048

/* Capability layout (PCI 3.0 figure 6-10). */
#define PCI_MSIX_FLAGS          2       /* le16 Message Control */
#define   PCI_MSIX_FLAGS_QSIZE  0x07ff  /* table size - 1 */
#define   PCI_MSIX_FLAGS_MASKALL 0x4000
#define   PCI_MSIX_FLAGS_ENABLE 0x8000
#define PCI_MSIX_TABLE          4       /* le32 offset | BIR */
#define PCI_MSIX_PBA            8       /* le32 offset | BIR */
#define PCI_MSIX_CAP_SIZE       12

/* Table entry (PCI 3.0 figure 6-11): 16 bytes per vector. */
#define PCI_MSIX_ENTRY_SIZE     16
#define PCI_MSIX_ENTRY_ADDR_LO  0
#define PCI_MSIX_ENTRY_ADDR_HI  4
#define PCI_MSIX_ENTRY_DATA     8
#define PCI_MSIX_ENTRY_CTRL     12
#define   PCI_MSIX_ENTRY_CTRL_MASKBIT 1

/* MSI capability, 64-bit address form (PCI 3.0 figure 6-9). */
#define PCI_MSI_FLAGS           2
#define   PCI_MSI_FLAGS_ENABLE  0x0001
#define   PCI_MSI_FLAGS_64BIT   0x0080
#define PCI_MSI_ADDRESS_LO      4
#define PCI_MSI_ADDRESS_HI      8
#define PCI_MSI_DATA_64         12
#define PCI_MSI_CAP_SIZE_64     14

struct MSIXState {
    uint16_t nvectors;
    uint8_t cap;                /* offset of the capability */
    uint8_t *table;             /* nvectors * 16 bytes */
    uint8_t *pba;               /* one bit per vector, in 64-bit words */
    MemoryRegion table_mr;
    MemoryRegion pba_mr;
};

/*
 * Add the MSI-X capability with @nvectors vectors (1..2048): the table
 * lives in BAR @table_bar at @table_off and the PBA in BAR @pba_bar at
 * @pba_off (both 8-byte aligned).  The caller maps msix_table_region()
 * and msix_pba_region() into those BARs.  Returns false with errp set.
 */
bool msix_init(PCIDevice *dev, uint16_t nvectors, uint8_t table_bar,
               uint32_t table_off, uint8_t pba_bar, uint32_t pba_off,
               GError **errp);
/* One BAR holding the table at 0 and the PBA at half its size. */
bool msix_init_exclusive_bar(PCIDevice *dev, uint16_t nvectors,
                             uint8_t bar, MemoryRegion *bar_mr,
                             GError **errp);
void msix_uninit(PCIDevice *dev);
MemoryRegion *msix_table_region(PCIDevice *dev);
MemoryRegion *msix_pba_region(PCIDevice *dev);
/* Bytes a table (or PBA) for @nvectors needs. */
uint32_t msix_table_size(uint16_t nvectors);
uint32_t msix_pba_size(uint16_t nvectors);

bool msix_present(PCIDevice *dev);
/* The guest set the enable bit (the device must not use INTx then). */
bool msix_enabled(PCIDevice *dev);
uint16_t msix_nr_vectors(PCIDevice *dev);
bool msix_is_masked(PCIDevice *dev, uint16_t vector);
bool msix_is_pending(PCIDevice *dev, uint16_t vector);
/*
 * Signal @vector: sent now, or left pending while masked.  Ignored when
 * MSI-X is off or @vector is out of range.
 */
void msix_notify(PCIDevice *dev, uint16_t vector);
/* Drop a pending bit (the device no longer needs the interrupt). */
void msix_clear_pending(PCIDevice *dev, uint16_t vector);
/* Power-on state: disabled, every vector masked, nothing pending. */
void msix_reset(PCIDevice *dev);
/* pci.c calls this after every config write that touched the cap. */
void msix_write_config(PCIDevice *dev, uint32_t addr, uint32_t val,
                       int len);

/* Plain MSI, one vector, 64-bit addresses. */
bool msi_init(PCIDevice *dev, uint8_t offset, GError **errp);
bool msi_enabled(PCIDevice *dev);
void msi_notify(PCIDevice *dev);

/* Deliver one message: KVM's irqchip or the emulated APICs. */
void pci_msi_send(uint64_t addr, uint32_t data);

#endif
