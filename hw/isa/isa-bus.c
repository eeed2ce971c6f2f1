/*
 * The ISA bus: fixed I/O ports and 16 IRQ lines handed in by the board.
 */
#include "qlite/isa.h"

ISABus *isa_bus_new(DeviceState *parent, MemoryRegion *io)
{
    ISABus *bus = ISA_BUS(qbus_new(TYPE_ISA_BUS, parent, "isa.0"));

    bus->io = io;
    return bus;
}

void isa_bus_set_irqs(ISABus *bus, IrqLine **irqs)
{
    for (int i = 0; i < ISA_NUM_IRQS; i++) {
        bus->irqs[i] = irqs[i];
    }
}

ISABus *isa_device_bus(ISADevice *dev)
{
    BusState *bus = DEVICE(dev)->parent_bus;

    return bus ? ISA_BUS(bus) : NULL;
}

IrqLine *isa_get_irq(ISADevice *dev, unsigned isairq)
{
    ISABus *bus = isa_device_bus(dev);

    if (!bus || isairq >= ISA_NUM_IRQS) {
        return NULL;
    }
    return bus->irqs[isairq];
}

void isa_register_ioport(ISADevice *dev, MemoryRegion *mr, uint16_t port)
{
    ISABus *bus = isa_device_bus(dev);

    memory_region_add_subregion(bus ? bus->io : get_system_io(), port, mr);
}

static const TypeInfo isa_bus_info = {
    .name = TYPE_ISA_BUS,
    .parent = TYPE_BUS,
    .instance_size = sizeof(ISABus),
};

static void isa_device_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->bus_type = TYPE_ISA_BUS;
}

static const TypeInfo isa_device_info = {
    .name = TYPE_ISA_DEVICE,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(ISADevice),
    .abstract = true,
    .class_init = isa_device_class_init,
};

type_init(isa_register_types)
{
    type_register(&isa_bus_info);
    type_register(&isa_device_info);
}
