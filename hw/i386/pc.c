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
#include "qlite/chardev.h"
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/isa.h"
#include "qlite/qdev.h"

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
    ISABus *isa_bus;
} PCMachineState;

#define TYPE_PC_MACHINE "pc-i440fx-7.2-machine"
#define PC_MACHINE(obj) OBJECT_CHECK(PCMachineState, (obj), TYPE_PC_MACHINE)

static bool pc_memory_init(PCMachineState *pcms, GError **errp)
{
    MachineState *ms = &pcms->parent;

    if (ms->ram_size >= PC_LOWMEM_MAX) {
        pcms->below_4g = PC_LOWMEM_ALIGNED;
    } else {
        pcms->below_4g = ms->ram_size;
    }
    pcms->above_4g = ms->ram_size - pcms->below_4g;
    if (!memory_region_init_ram(&pcms->ram, "pc.ram", ms->ram_size, errp)) {
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

/* The PIC's INT output drives CPU 0's interrupt pin. */
static void pc_cpu_intr(void *opaque, int n, int level)
{
    CPUState *cpu = cpu_get(0);

    if (!cpu) {
        return;
    }
    if (level) {
        cpu_interrupt(cpu, CPU_INTERRUPT_HARD);
    } else {
        cpu_reset_interrupt(cpu, CPU_INTERRUPT_HARD);
    }
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

static bool pc_pic_init(PCMachineState *pcms, GError **errp)
{
    IrqLine *isa_irqs[ISA_NUM_IRQS];
    DeviceState *pic = pc_new_isa_device(pcms, "i8259", errp);

    if (!pic) {
        return false;
    }
    object_property_add_child(container_get("/machine"), "i8259",
                              OBJECT(pic));
    if (!qdev_realize_and_unref(pic, BUS(pcms->isa_bus), errp)) {
        return false;
    }
    qdev_connect_gpio_out(pic, 0, irq_new(pc_cpu_intr, pcms, 0));
    for (int i = 0; i < ISA_NUM_IRQS; i++) {
        isa_irqs[i] = qdev_get_gpio_in(pic, i);
    }
    isa_bus_set_irqs(pcms->isa_bus, isa_irqs);
    pcms->pic = pic;
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

static bool pc_cpus_init(PCMachineState *pcms, GError **errp)
{
    MachineState *ms = &pcms->parent;

    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        g_ptr_array_add(ms->cpus, cpu_create(i));
    }
    return true;
}

/* QEMU checks the kernel only after every other option was accepted. */
static bool pc_kernel_check(MachineState *ms, GError **errp)
{
    int fd;

    if (!ms->kernel_filename) {
        return true;
    }
    fd = open(ms->kernel_filename, O_RDONLY);
    if (fd < 0) {
        error_setg(errp, "could not load kernel '%s': %s",
                   ms->kernel_filename, g_strerror(errno));
        return false;
    }
    close(fd);
    return true;
}

static bool pc_init(MachineState *ms, GError **errp)
{
    PCMachineState *pcms = PC_MACHINE(ms);

    if (!pc_memory_init(pcms, errp)) {
        return false;
    }
    pcms->isa_bus = isa_bus_new(NULL, get_system_io());
    return pc_pic_init(pcms, errp) &&
           pc_serial_init(pcms, errp) &&
           pc_simple_isa_device(pcms, "ioport80", errp) &&
           pc_cpus_init(pcms, errp) &&
           pc_kernel_check(ms, errp);
}

static const char *const pc_machine_props[] = {
    "pit", "hpet", "vmport", "smm", "acpi", "kernel-irqchip", "usb",
    "graphics", "max-ram-below-4g", "dump-guest-core", "mem-merge", NULL
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
