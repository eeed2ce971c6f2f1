/*
 * What the PC firmware would have done before the OS runs, for boots
 * without firmware (Linux direct boot, multiboot test kernels): PCI
 * interrupt routing, BAR addresses, the ACPI PM block and the ACPI
 * tables in memory.  The pc board runs it at every reset.
 */
#ifndef QLITE_PC_FIRMWARE_H
#define QLITE_PC_FIRMWARE_H

#include "qlite/pci.h"

/* PIRQA-D -> ISA IRQ, as SeaBIOS routes them. */
extern const uint8_t pc_pirq_irqs[4];

typedef struct PCFirmwareConfig {
    PCIBus *bus;
    PCIDevice *piix3;           /* PIRQ route registers */
    DeviceState *pm;            /* PIIX4 PM, or NULL (acpi=off) */
    uint64_t below_4g;          /* RAM below 4 GiB */
} PCFirmwareConfig;

/* Where 32-bit PCI memory BARs start for @below_4g of low RAM. */
uint64_t pc_pci_mem_start(uint64_t below_4g);
void pc_firmware_reset(const PCFirmwareConfig *cfg);

#endif
