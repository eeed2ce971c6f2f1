/*
 * The "pc" machine (pc-i440fx-7.2), read as one function that builds the
 * board in visible order: RAM, interrupt controller, ISA devices, CPUs,
 * then the kernel.
 *
 * RAM layout as QEMU's pc machine: guest RAM below 4 GiB up to the PCI
 * hole, the rest above 4 GiB.  With 3.5 GiB or more, only 3 GiB stay low
 * (gigabyte alignment, as pc-i440fx >= 1.7 does).
 */
#include "qlite/machine.h"
#include "qlite/acpi.h"
#include "qlite/apic.h"
#include "qlite/chardev.h"
#include "qlite/cpu.h"
#include "qlite/block.h"
#include "qlite/boot-cpu.h"
#include "qlite/error.h"
#include "qlite/fw_cfg.h"
#include "qlite/i8259.h"
#include "qlite/ide.h"
#include "qlite/isa.h"
#include "qlite/irqchip.h"
#include "qlite/linux-boot.h"
#include "qlite/multiboot.h"
#include "qlite/pc-firmware.h"
#include "qlite/pc-rom.h"
#include "qlite/pci.h"
#include "qlite/qdev.h"
#include "qlite/qtest.h"
#include "qlite/rtc.h"
#include "qlite/x86-cpu.h"

#include <fcntl.h>
#include <unistd.h>

#define PC_LOWMEM_MAX       UINT64_C(0xe0000000)
#define PC_LOWMEM_ALIGNED   UINT64_C(0xc0000000)
#define PC_ABOVE_4G_START   (UINT64_C(1) << 32)

typedef struct PCMachineState {
    MachineState parent;
    uint64_t below_4g;
    uint64_t above_4g;
    MemoryRegion ram;
    MemoryRegion ram_below_4g;
    MemoryRegion ram_above_4g;
    DeviceState *pic;
    DeviceState *ioapic;
    ISABus *isa_bus;
    PCIBus *pci_bus;
    PCIDevice *piix3;
    DeviceState *pm;            /* PIIX4 PM, NULL with acpi=off */
    DeviceState *rtc;
    DeviceState *fw_cfg;
    IrqLine **gsi;              /* GSI 0-23: to the PIC and the IOAPIC */
    bool resuming;              /* the reset is an S3 wake-up */
} PCMachineState;

#define TYPE_PC_MACHINE "pc-i440fx-7.2-machine"
#define PC_MACHINE(obj) OBJECT_CHECK(PCMachineState, (obj), TYPE_PC_MACHINE)

/*
 * Devices QEMU's pc board has and qlite's does not: asking for one is an
 * error, "off" (what libvirt sends) is the truth.
 */
static bool pc_check_absent_devices(MachineState *ms, GError **errp)
{
    static const char *const absent[][2] = {
        { "usb", "no USB controller" },
        { "vmport", "no VMware I/O port" },
        { "hpet", "no HPET" },
        { "smm", "no System Management Mode" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(absent); i++) {
        bool on;

        if (!machine_get_prop_bool(ms, absent[i][0], false, &on, errp)) {
            return false;
        }
        if (on) {
            error_setg(errp, "%s=on: qlite's pc machine has %s",
                       absent[i][0], absent[i][1]);
            return false;
        }
    }
    return true;
}

static bool pc_memory_init(PCMachineState *pcms, GError **errp)
{
    MachineState *ms = &pcms->parent;

    if (ms->ram_size >= PC_LOWMEM_MAX) {
        pcms->below_4g = PC_LOWMEM_ALIGNED;
    } else {
        pcms->below_4g = ms->ram_size;
    }
    pcms->above_4g = ms->ram_size - pcms->below_4g;
    if (!machine_ram_init(ms, &pcms->ram, errp)) {
        return false;
    }
    ms->ram = &pcms->ram;
    memory_region_init_alias(&pcms->ram_below_4g, "ram-below-4g",
                             &pcms->ram, 0, pcms->below_4g);
    memory_region_add_subregion(get_system_memory(), 0, &pcms->ram_below_4g);
    if (pcms->above_4g) {
        memory_region_init_alias(&pcms->ram_above_4g, "ram-above-4g",
                                 &pcms->ram, pcms->below_4g,
                                 pcms->above_4g);
        memory_region_add_subregion(get_system_memory(), PC_ABOVE_4G_START,
                                    &pcms->ram_above_4g);
    }
    return true;
}

/*
 * The PIC's INT output reaches the CPUs through their local APICs' LINT0
 * (ExtINT), or CPU 0's interrupt pin when there is no APIC.
 */
static void pc_cpu_intr(void *opaque, int n, int level)
{
    apic_deliver_pic_intr(level);
}

/* A GSI: ISA IRQs 0-15 go to the PIC and the IOAPIC, 16-23 to the IOAPIC. */
static void pc_gsi_handler(void *opaque, int n, int level)
{
    PCMachineState *pcms = opaque;

    if (n < ISA_NUM_IRQS && pcms->pic) {
        irq_set(qdev_get_gpio_in(pcms->pic, n), level);
    }
    if (pcms->ioapic) {
        irq_set(qdev_get_gpio_in(pcms->ioapic, n), level);
    }
}

/* The CPU's interrupt acknowledge cycle goes to the PIC. */
static int pc_pic_ack(void *pic)
{
    return i8259_acknowledge(pic);
}

static DeviceState *pc_new_isa_device(PCMachineState *pcms,
                                      const char *type, GError **errp)
{
    if (!object_class_by_name(type)) {
        error_setg(errp, "this build lacks the '%s' device", type);
        return NULL;
    }
    return qdev_new(type);
}

/*
 * The i440FX host bridge with the PCI bus, and the PIIX3 at 00:01.0 that
 * owns the ISA bus.
 */
static bool pc_pci_init(PCMachineState *pcms, GError **errp)
{
    DeviceState *host = qdev_new(TYPE_I440FX_PCI_HOST);

    object_property_add_child(container_get("/machine"), "i440fx",
                              OBJECT(host));
    if (!qdev_realize_and_unref(host, NULL, errp)) {
        return false;
    }
    pcms->pci_bus = i440fx_host_bus(host);
    pcms->piix3 = pci_create_simple(pcms->pci_bus, PCI_DEVFN(1, 0),
                                    TYPE_PIIX3, errp);
    if (!pcms->piix3) {
        return false;
    }
    pcms->isa_bus = piix3_isa_bus(pcms->piix3);
    return true;
}

static bool pc_pic_init(PCMachineState *pcms, GError **errp)
{
    DeviceState *pic;

    if (irqchip_accel()) {
        /* PIC, IOAPIC and local APICs are the accelerator's. */
        isa_bus_set_irqs(pcms->isa_bus, irqchip_accel()->isa_irqs());
        return true;
    }
    pic = pc_new_isa_device(pcms, "i8259", errp);
    if (!pic) {
        return false;
    }
    object_property_add_child(container_get("/machine"), "i8259",
                              OBJECT(pic));
    if (!qdev_realize_and_unref(pic, BUS(pcms->isa_bus), errp)) {
        return false;
    }
    qdev_connect_gpio_out(pic, 0, irq_new(pc_cpu_intr, pcms, 0));
    x86_set_intr_ack(pc_pic_ack, pic);
    pcms->gsi = irq_new_array(pc_gsi_handler, pcms, IOAPIC_NUM_PINS);
    isa_bus_set_irqs(pcms->isa_bus, pcms->gsi);
    pcms->pic = pic;
    return true;
}

static bool pc_ioapic_init(PCMachineState *pcms, GError **errp)
{
    DeviceState *dev;

    if (irqchip_accel()) {
        return true;
    }
    dev = qdev_new(TYPE_IOAPIC);
    object_property_add_child(container_get("/machine"), "ioapic",
                              OBJECT(dev));
    if (!qdev_realize_and_unref(dev, NULL, errp)) {
        return false;
    }
    pcms->ioapic = dev;
    return true;
}

static bool pc_serial_init(PCMachineState *pcms, GError **errp)
{
    MachineState *ms = &pcms->parent;

    for (int i = 0; i < (int)G_N_ELEMENTS(ms->serial_hds); i++) {
        g_autofree char *index = g_strdup_printf("%d", i);
        DeviceState *dev;

        if (!ms->serial_hds[i]) {
            continue;
        }
        dev = pc_new_isa_device(pcms, "isa-serial", errp);
        if (!dev ||
            !qdev_prop_set(dev, "index", index, errp) ||
            !qdev_prop_set(dev, "chardev", ms->serial_hds[i]->label, errp) ||
            !qdev_realize_and_unref(dev, BUS(pcms->isa_bus), errp)) {
            return false;
        }
    }
    return true;
}

static bool pc_simple_isa_device(PCMachineState *pcms, const char *type,
                                 GError **errp)
{
    DeviceState *dev = pc_new_isa_device(pcms, type, errp);

    return dev && qdev_realize_and_unref(dev, BUS(pcms->isa_bus), errp);
}

static bool pc_isa_device_at(PCMachineState *pcms, const char *type,
                             DeviceState **out, GError **errp)
{
    DeviceState *dev = pc_new_isa_device(pcms, type, errp);

    if (!dev || !qdev_realize(dev, BUS(pcms->isa_bus), errp)) {
        return false;
    }
    *out = dev;
    object_unref(OBJECT(dev));
    return true;
}

/* -machine pit=off leaves it out; an accelerator's irqchip has its own. */
static bool pc_pit_init(PCMachineState *pcms, GError **errp)
{
    if (g_strcmp0(machine_get_prop(&pcms->parent, "pit"), "off") == 0 ||
        irqchip_accel()) {
        return true;
    }
    return pc_simple_isa_device(pcms, "isa-pit", errp);
}

static bool pc_rtc_init(PCMachineState *pcms, GError **errp)
{
    MachineState *ms = &pcms->parent;

    if (!pc_isa_device_at(pcms, TYPE_MC146818_RTC, &pcms->rtc, errp)) {
        return false;
    }
    rtc_set_pc_config(pcms->rtc, pcms->below_4g, pcms->above_4g,
                      ms->smp.cpus);
    return true;
}

/*
 * The PIIX3 IDE function at 00:01.1 with the if=ide drives on it.  As
 * QEMU's pc machine, an empty CD-ROM drive (ide1-cd0, index 2) is there
 * unless -nodefaults, a -device disk or CD-ROM, or a drive at index 2.
 */
static bool pc_ide_init(PCMachineState *pcms, GError **errp)
{
    PCIDevice *ide;

    if (!pcms->parent.nodefaults && !pcms->parent.no_default_cdrom &&
        !drive_get(IF_IDE, 1, 0) &&
        !drive_new("media=cdrom,index=2", IF_IDE, errp)) {
        return false;
    }
    ide = pci_create_simple(pcms->pci_bus, PCI_DEVFN(1, 1), TYPE_PIIX3_IDE,
                            errp);
    return ide && piix3_ide_attach_drives(ide, errp);
}

/* The PIIX4 power management function at 00:01.3, SCI on GSI 9. */
static bool pc_acpi_pm_init(PCMachineState *pcms, GError **errp)
{
    PCIDevice *pm;

    if (g_strcmp0(machine_get_prop(&pcms->parent, "acpi"), "off") == 0) {
        return true;
    }
    pm = pci_create_simple(pcms->pci_bus, PCI_DEVFN(1, 3), TYPE_PIIX4_PM,
                           errp);
    if (!pm) {
        return false;
    }
    pcms->pm = DEVICE(pm);
    qdev_connect_gpio_out_named(pcms->pm, "sci", 0,
                                pcms->isa_bus->irqs[ACPI_SCI_IRQ]);
    return true;
}

/* fw_cfg with the items QEMU's pc machine gives firmware. */
static bool pc_fw_cfg_init(PCMachineState *pcms, GError **errp)
{
    MachineState *ms = &pcms->parent;
    uint8_t e820[2][20];
    int n = 0;

    pcms->fw_cfg = qdev_new(TYPE_FW_CFG_IO);
    object_property_add_child(container_get("/machine"), "fw_cfg",
                              OBJECT(pcms->fw_cfg));
    if (!qdev_realize_and_unref(pcms->fw_cfg, NULL, errp)) {
        return false;
    }
    fw_cfg_add_i64(pcms->fw_cfg, FW_CFG_RAM_SIZE, ms->ram_size);
    fw_cfg_add_i16(pcms->fw_cfg, FW_CFG_NB_CPUS, ms->smp.cpus);
    fw_cfg_add_i16(pcms->fw_cfg, FW_CFG_MAX_CPUS,
                   MAX(ms->smp.max_cpus, ms->smp.cpus));
    fw_cfg_add_i16(pcms->fw_cfg, FW_CFG_NOGRAPHIC, !ms->enable_graphics);
    fw_cfg_add_i16(pcms->fw_cfg, FW_CFG_BOOT_MENU, 0);
    fw_cfg_add_bytes(pcms->fw_cfg, FW_CFG_UUID, ms->uuid, 16);
    /* etc/e820: struct e820_entry { le64 addr, len; le32 type }[] */
    for (int i = 0; i < 2; i++) {
        uint64_t start = i ? UINT64_C(1) << 32 : 0;
        uint64_t len = i ? pcms->above_4g : pcms->below_4g;
        uint64_t le_start = GUINT64_TO_LE(start), le_len = GUINT64_TO_LE(len);
        uint32_t type = GUINT32_TO_LE(1);

        if (len) {
            memcpy(e820[n], &le_start, 8);
            memcpy(e820[n] + 8, &le_len, 8);
            memcpy(e820[n] + 16, &type, 4);
            n++;
        }
    }
    return fw_cfg_add_file(pcms->fw_cfg, "etc/e820", e820, n * 20, errp);
}

/* The vCPUs' APICs, unless the accelerator keeps them. */
static bool pc_apics_init(PCMachineState *pcms, GError **errp)
{
    MachineState *ms = &pcms->parent;

    for (guint i = 0; i < ms->cpus->len && !irqchip_accel(); i++) {
        CPUState *cs = ms->cpus->pdata[i];

        if (!apic_create(cs, cs->index, errp)) {
            return false;
        }
    }
    return true;
}

/* ACPI tables for fw_cfg and, at each reset, for guest memory. */
static bool pc_acpi_build(PCMachineState *pcms, GError **errp)
{
    AcpiBuildConfig cfg = {
        .cpus = pcms->parent.smp.cpus,
        .below_4g = pcms->below_4g,
        .pirq_irq = pc_pirq_irqs,
        .s3 = pcms->pm && piix4_pm_s3_enabled(pcms->pm),
    };

    return !pcms->pm || acpi_build(&cfg, pcms->fw_cfg, errp);
}

/*
 * QEMU checks the kernel only after every other option was accepted.
 * A multiboot image is tried first, then the Linux boot protocol.
 */
static bool pc_kernel_check(MachineState *ms, GError **errp)
{
    GError *err = NULL;

    if (!ms->kernel_filename) {
        return true;
    }
    if (multiboot_load(ms, ms->kernel_filename, ms->kernel_cmdline,
                       ms->initrd_filename, &err)) {
        return true;
    }
    if (err) {
        g_propagate_error(errp, err);
        return false;
    }
    return linux_boot_load(ms, errp);
}

static bool pc_init(MachineState *ms, GError **errp)
{
    PCMachineState *pcms = PC_MACHINE(ms);

    /* The vCPUs first: they are /machine/unattached/device[0..], as QEMU's. */
    if (!pc_check_absent_devices(ms, errp) || !pc_memory_init(pcms, errp) ||
        !x86_cpus_init(ms, errp)) {
        return false;
    }
    return pc_rom_init(ms->firmware, errp) &&
           pc_pci_init(pcms, errp) &&
           pc_pic_init(pcms, errp) &&
           pc_ioapic_init(pcms, errp) &&
           pc_ide_init(pcms, errp) &&
           pc_serial_init(pcms, errp) &&
           pc_simple_isa_device(pcms, "ioport80", errp) &&
           pc_pit_init(pcms, errp) &&
           pc_rtc_init(pcms, errp) &&
           pc_simple_isa_device(pcms, "port92", errp) &&
           pc_simple_isa_device(pcms, "i8042", errp) &&
           pc_acpi_pm_init(pcms, errp) &&
           pc_fw_cfg_init(pcms, errp) &&
           pc_apics_init(pcms, errp) &&
           pc_acpi_build(pcms, errp) &&
           pc_kernel_check(ms, errp);
}

/*
 * No firmware runs: do its part after every device reset.  Under qtest
 * without a kernel the devices stay as firmware would find them, as
 * QEMU's do (no CPU runs its BIOS there).
 */
static void pc_machine_reset(MachineState *ms)
{
    PCMachineState *pcms = PC_MACHINE(ms);
    PCFirmwareConfig fw = {
        .bus = pcms->pci_bus,
        .piix3 = pcms->piix3,
        .pm = pcms->pm,
        .below_4g = pcms->below_4g,
        .resume = pcms->resuming,
    };

    if (qtest_enabled() && !ms->kernel_filename) {
        return;
    }
    pc_firmware_reset(&fw);
}

/* The ACPI power button; a board without ACPI (acpi=off) ignores it. */
static void pc_machine_powerdown(MachineState *ms)
{
    if (PC_MACHINE(ms)->pm) {
        acpi_pm_powerdown();
    }
}

/* S3 entry: as QEMU's RTC, tell firmware that the next start resumes. */
static void pc_machine_suspend(MachineState *ms)
{
    rtc_set_cmos(PC_MACHINE(ms)->rtc, RTC_CMOS_SHUTDOWN_STATUS,
                 RTC_SHUTDOWN_S3_RESUME);
}

/*
 * S3 wake-up: every device and CPU reset, RAM kept.  Firmware (no kernel
 * loader ran) finds the shutdown status and resumes the guest itself;
 * without it, CPU 0 starts at the guest's waking vector, or, when there
 * is none, boots afresh as after a reset.
 */
static void pc_machine_wakeup(MachineState *ms, WakeupReason reason)
{
    PCMachineState *pcms = PC_MACHINE(ms);
    BootCpuState resume;
    bool no_firmware = boot_cpu_get() != NULL;

    pcms->resuming = !no_firmware ||
                     pc_firmware_resume_state(pcms->rtc, &resume);
    if (no_firmware && pcms->resuming) {
        boot_cpu_override(&resume);
    }
    machine_reset(ms);
    boot_cpu_override(NULL);
    pcms->resuming = false;
    if (pcms->pm) {
        acpi_pm_wakeup(reason);
    }
}

static const char *const pc_machine_props[] = {
    "pit", "hpet", "vmport", "smm", "acpi", "kernel-irqchip", "usb",
    "graphics", "max-ram-below-4g", MACHINE_RAM_PROPS, NULL
};

static void pc_machine_class_init(ObjectClass *oc, const void *data)
{
    MachineClass *mc = MACHINE_CLASS(oc);

    mc->name = "pc-i440fx-7.2";
    mc->alias = "pc";
    mc->desc = "Standard PC (i440FX + PIIX, 1996)";
    mc->is_default = true;
    mc->max_cpus = 255;
    mc->default_ram_size = 128 * MiB;
    mc->props = pc_machine_props;
    mc->init = pc_init;
    mc->reset = pc_machine_reset;
    mc->powerdown = pc_machine_powerdown;
    mc->suspend = pc_machine_suspend;
    mc->wakeup = pc_machine_wakeup;
}

static const TypeInfo pc_machine_info = {
    .name = TYPE_PC_MACHINE,
    .parent = TYPE_MACHINE,
    .instance_size = sizeof(PCMachineState),
    .class_init = pc_machine_class_init,
};

type_init(pc_machine_register_types)
{
    type_register(&pc_machine_info);
}
