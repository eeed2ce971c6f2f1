/*
 * The ISA bus: legacy devices at fixed I/O ports with IRQs 0-15.  The
 * board gives the bus its 16 interrupt lines (to the PIC and IOAPIC);
 * a device asks for its line by number.
 */
#ifndef QLITE_ISA_H
#define QLITE_ISA_H

#include "qlite/qdev.h"
#include "qlite/memory.h"

#define TYPE_ISA_BUS "ISA"
#define TYPE_ISA_DEVICE "isa-device"
#define ISA_NUM_IRQS 16

typedef struct ISABus {
    BusState parent;
    IrqLine *irqs[ISA_NUM_IRQS];
    MemoryRegion *io;           /* the I/O space devices map into */
} ISABus;

typedef struct ISADevice {
    DeviceState parent;
} ISADevice;

#define ISA_BUS(obj) OBJECT_CHECK(ISABus, (obj), TYPE_ISA_BUS)
#define ISA_DEVICE(obj) OBJECT_CHECK(ISADevice, (obj), TYPE_ISA_DEVICE)

ISABus *isa_bus_new(DeviceState *parent, MemoryRegion *io);
void isa_bus_set_irqs(ISABus *bus, IrqLine **irqs);
ISABus *isa_device_bus(ISADevice *dev);
/* The bus's line @isairq (0-15); NULL-safe for an unwired board. */
IrqLine *isa_get_irq(ISADevice *dev, unsigned isairq);
/* Map @mr at I/O port @port. */
void isa_register_ioport(ISADevice *dev, MemoryRegion *mr, uint16_t port);

#endif
