/*
 * Port 0x80, the POST-code / I/O-delay port.  Guests write to it to wait a
 * moment (Linux's outb_p); nothing is stored.  Reads return 0xff, as on
 * QEMU's pc machine.
 */
#include "qlite/isa.h"

#define TYPE_IOPORT80 "ioport80"
#define IOPORT80_PORT 0x80

typedef struct IOPort80State {
    ISADevice parent;
    MemoryRegion io;
} IOPort80State;

#define IOPORT80(obj) OBJECT_CHECK(IOPort80State, (obj), TYPE_IOPORT80)

static uint64_t ioport80_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0xff;
}

static void ioport80_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
}

static const MemoryRegionOps ioport80_ops = {
    .read = ioport80_read,
    .write = ioport80_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 1, .max_access_size = 1 },
};

static void ioport80_realize(DeviceState *dev, GError **errp)
{
    IOPort80State *s = IOPORT80(dev);

    memory_region_init_io(&s->io, &ioport80_ops, s, "ioport80", 1);
    isa_register_ioport(ISA_DEVICE(dev), &s->io, IOPORT80_PORT);
}

static void ioport80_unrealize(DeviceState *dev)
{
    IOPort80State *s = IOPORT80(dev);

    if (s->io.container) {
        memory_region_del_subregion(s->io.container, &s->io);
    }
}

static void ioport80_class_init(ObjectClass *klass, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->category = DEVICE_CATEGORY_MISC;
    dc->bus_type = TYPE_ISA_BUS;
    dc->user_creatable = false;     /* part of the board */
    dc->realize = ioport80_realize;
    dc->unrealize = ioport80_unrealize;
}

static const TypeInfo ioport80_info = {
    .name = TYPE_IOPORT80,
    .parent = TYPE_ISA_DEVICE,
    .instance_size = sizeof(IOPort80State),
    .class_init = ioport80_class_init,
};

type_init(ioport80_register_types)
{
    type_register(&ioport80_info);
}
