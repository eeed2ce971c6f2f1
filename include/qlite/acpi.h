/*
 * ACPI: the tables the pc board hands to the guest and the PIIX4 power
 * management function (00:01.3) behind them.
 *
 * Tables go to fw_cfg as QEMU serves them (etc/acpi/tables,
 * etc/acpi/rsdp and the etc/table-loader script firmware runs) and, for
 * boots without firmware, straight into guest memory: the tables at
 * ACPI_TABLES_ADDR and the RSDP at ACPI_RSDP_ADDR, both in the BIOS area
 * (0xe0000-0xfffff) that Linux scans and never uses as RAM.
 */
#ifndef QLITE_ACPI_H
#define QLITE_ACPI_H

#include "qlite/qdev.h"
#include "qlite/runstate.h"

#define TYPE_PIIX4_PM       "PIIX4_PM"
#define ACPI_PM_IO_BASE     0x600   /* where firmware puts PMBA */
#define ACPI_PM_IO_LEN      0x40
#define ACPI_GPE0_BASE      0xafe0
#define ACPI_GPE0_LEN       4
#define ACPI_SCI_IRQ        9
#define ACPI_SMI_CMD_PORT   0xb2
#define ACPI_ENABLE_CMD     0xf1
#define ACPI_DISABLE_CMD    0xf0
#define ACPI_TABLES_ADDR    0xe0000
#define ACPI_TABLES_MAX     0x10000
#define ACPI_RSDP_ADDR      0xf0000

typedef struct AcpiBuildConfig {
    unsigned cpus;              /* APIC IDs 0..cpus-1 */
    uint64_t below_4g;          /* RAM below 4 GiB: the PCI hole starts */
    const uint8_t *pirq_irq;    /* PIRQA-D -> ISA IRQ, for _PRT */
    bool s3;                    /* offer \_S3 (suspend to RAM) */
} AcpiBuildConfig;

/*
 * Build RSDP, RSDT, XSDT, FADT, FACS, MADT and DSDT; add them to the
 * fw_cfg device @fw (if not NULL) and keep them for acpi_write_tables().
 */
bool acpi_build(const AcpiBuildConfig *cfg, DeviceState *fw, GError **errp);
/* Write the last built tables into guest RAM (boots without firmware). */
void acpi_write_tables(void);

/*
 * ACPI S3: the FACS Firmware_Waking_Vector (ACPI 6.4 5.2.10) in the
 * tables acpi_write_tables() wrote; false when none were written.
 */
bool acpi_facs_waking_vector(uint32_t *vector);
/* The machine woke from S3: PM1_STS.WAK_STS and @reason's status bit. */
void acpi_pm_wakeup(WakeupReason reason);

/* Press the power button of the machine's PM device (none: nothing). */
void acpi_pm_powerdown(void);
/*
 * Firmware's part for a boot without firmware: PM I/O at @base, enabled
 * (PMBA and PMREGMISC, as SeaBIOS programs them).
 */
void acpi_pm_enable_io(DeviceState *pm, uint16_t base);
/* Whether the PM device @pm offers S3 (its disable_s3 property is 0). */
bool piix4_pm_s3_enabled(DeviceState *pm);

#endif
