/*
 * What the PC firmware would have done before the OS runs, for boots
 * without firmware (Linux direct boot, multiboot test kernels): PCI
 * interrupt routing, BAR addresses, the ACPI PM block and the ACPI
 * tables in memory.  The pc board runs it at every reset.
 */
#ifndef QLITE_PC_FIRMWARE_H
#define QLITE_PC_FIRMWARE_H

#include "qlite/boot-cpu.h"
#include "qlite/pci.h"

/* PIRQA-D -> ISA IRQ, as SeaBIOS routes them. */
extern const uint8_t pc_pirq_irqs[4];

typedef struct PCFirmwareConfig {
    PCIBus *bus;
    PCIDevice *piix3;           /* PIRQ route registers */
    DeviceState *pm;            /* PIIX4 PM, or NULL (acpi=off) */
    uint64_t below_4g;          /* RAM below 4 GiB */
    bool resume;                /* S3 resume: RAM, ACPI tables in it, kept */
} PCFirmwareConfig;

/* Where 32-bit PCI memory BARs start for @below_4g of low RAM. */
uint64_t pc_pci_mem_start(uint64_t below_4g);
void pc_firmware_reset(const PCFirmwareConfig *cfg);
/*
 * S3 resume, firmware's part: clear the RTC's shutdown status byte and
 * start CPU 0 in real mode at the FACS Firmware_Waking_Vector (ACPI 6.4
 * 5.2.10: CS = vector >> 4, IP = vector & 0xf).  false: the guest left
 * no usable vector (zero, or not below 1 MiB); boot afresh instead.
 */
bool pc_firmware_resume_state(DeviceState *rtc, BootCpuState *out);

#endif
