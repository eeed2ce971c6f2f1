/*
 * System control port A at I/O port 0x92 ("fast A20 and init", as on PS/2
 * machines and the PIIX): bit 1 drives the A20 gate, a 0->1 edge on bit
 * 0 resets the machine.
 *
 * The A20 line is a GPIO output named "a20" for the board to wire to the
 * CPUs.  Reads return the last value written, as QEMU's does.
 */
#include "qlite/error.h"
#include "qlite/isa.h"
#include "qlite/runstate.h"

#define TYPE_PORT92 "port92"

#define PORT92_RESET    0x01
#define PORT92_A20      0x02

typedef struct Port92State {
    ISADevice parent;
    MemoryRegion io;
    uint8_t outport;
    IrqLine *a20_out[1];
} Port92State;

#define PORT92(obj) OBJECT_CHECK(Port92State, (obj), TYPE_PORT92)

static uint64_t port92_read(void *opaque, uint64_t addr, unsigned size)
{
    Port92State *s = opaque;

    return s->outport;
}

static void port92_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    Port92State *s = opaque;
    uint8_t old = s->outport;

    s->outport = val;
    irq_set(s->a20_out[0], (val & PORT92_A20) != 0);
    if ((val & PORT92_RESET) && !(old & PORT92_RESET)) {
        qlite_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

static const MemoryRegionOps port92_ops = {
    .read = port92_read,
    .write = port92_write,
    .valid = { .min_access_size = 1, .max_access_size = 1 },
};

static void port92_reset(DeviceState *dev)
{
    /* The reset bit reads back clear after the reset it caused. */
    PORT92(dev)->outport &= ~PORT92_RESET;
}

static void port92_realize(DeviceState *dev, GError **errp)
{
    Port92State *s = PORT92(dev);

    memory_region_init_io(&s->io, &port92_ops, s, "port92", 1);
    isa_register_ioport(ISA_DEVICE(dev), &s->io, 0x92);
    qdev_init_gpio_out_named(dev, s->a20_out, "a20", 1);
}

static void port92_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "System control port A (fast A20, reset)";
    dc->realize = port92_realize;
    dc->reset = port92_reset;
    dc->user_creatable = false;
}

static const TypeInfo port92_info = {
    .name = TYPE_PORT92,
    .parent = TYPE_ISA_DEVICE,
    .instance_size = sizeof(Port92State),
    .class_init = port92_class_init,
};

type_init(port92_register_types)
{
    type_register(&port92_info);
}
