/*
 * Firmware's part of bringing up the pc board, done by qlite itself when
 * no firmware runs: what SeaBIOS programs before it loads an OS.
 *
 *  - PIIX3 PIRQ routes A-D -> IRQ 10, 10, 11, 11 and those IRQs level
 *    triggered in the ELCR;
 *  - PIIX4 PM registers at 0x600, enabled;
 *  - the PIIX3 IDE channels' decoding enabled (IDETIM bit 15);
 *  - every PCI BAR assigned (I/O from 0xc000, memory in the PCI hole),
 *    decoding and bus mastering on, the interrupt line register filled;
 *  - the ACPI tables written where Linux finds them (not on S3 resume:
 *    the guest's FACS holds its waking vector);
 *  - on S3 resume, the jump to the guest's waking vector.
 */
#include "qlite/acpi.h"
#include "qlite/error.h"
#include "qlite/memory.h"
#include "qlite/pc-firmware.h"
#include "qlite/rtc.h"

#define PC_ELCR_BASE    0x4d0
#define PC_PCI_MEM_END  UINT64_C(0xfec00000)    /* the IOAPIC is above */
#define PC_REAL_MODE_TOP UINT32_C(0x100000)     /* what CS:IP can reach */

const uint8_t pc_pirq_irqs[4] = { 10, 10, 11, 11 };

/* SeaBIOS's choice: the hole starts at 2 GiB, 3 GiB or 3.5 GiB. */
uint64_t pc_pci_mem_start(uint64_t below_4g)
{
    if (below_4g <= UINT64_C(0x80000000)) {
        return UINT64_C(0x80000000);
    }
    if (below_4g <= UINT64_C(0xc0000000)) {
        return UINT64_C(0xc0000000);
    }
    return UINT64_C(0xe0000000);
}

static void pc_firmware_route_pirqs(const PCFirmwareConfig *cfg)
{
    uint8_t elcr[2] = { 0, 0 };
    uint32_t addr = 0x80000000u | (cfg->piix3->devfn << 8);

    for (int i = 0; i < 4; i++) {
        uint8_t irq = pc_pirq_irqs[i];

        pci_host_config_write(cfg->bus, addr + PIIX3_PIRQ_ROUTE + i, irq, 1);
        elcr[irq >> 3] |= 1 << (irq & 7);
    }
    address_space_st(&address_space_io, PC_ELCR_BASE, 1, elcr[0]);
    address_space_st(&address_space_io, PC_ELCR_BASE + 1, 1, elcr[1]);
}

/* SeaBIOS's piix_ide_setup: IDETIM decode enable on both channels. */
static void pc_firmware_enable_ide(const PCFirmwareConfig *cfg)
{
    int devfn = cfg->piix3->devfn + 1;
    uint32_t addr = 0x80000000u | (devfn << 8);

    if (pci_bus_get_device(cfg->bus, devfn)) {
        pci_host_config_write(cfg->bus, addr + 0x40, 0x80008000u, 4);
    }
}

void pc_firmware_reset(const PCFirmwareConfig *cfg)
{
    pc_firmware_route_pirqs(cfg);
    pc_firmware_enable_ide(cfg);
    if (cfg->pm) {
        acpi_pm_enable_io(cfg->pm, ACPI_PM_IO_BASE);
    }
    pci_bus_assign_resources(cfg->bus, pc_pci_mem_start(cfg->below_4g),
                             PC_PCI_MEM_END, pc_pirq_irqs);
    if (cfg->pm && !cfg->resume) {
        acpi_write_tables();
    }
}

bool pc_firmware_resume_state(DeviceState *rtc, BootCpuState *out)
{
    uint32_t vector = 0;

    rtc_set_cmos(rtc, RTC_CMOS_SHUTDOWN_STATUS, 0);
    if (!acpi_facs_waking_vector(&vector) || !vector ||
        vector >= PC_REAL_MODE_TOP) {
        qlite_log_guest_error("S3 resume: no usable waking vector (0x%"
                              PRIx32 "), booting afresh", vector);
        return false;
    }
    boot_cpu_real16(out, vector >> 4, vector & 0xf);
    return true;
}
