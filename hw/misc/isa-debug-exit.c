/*
 * isa-debug-exit: a port that ends qlite.  Writing V exits the process with
 * status (V << 1) | 1, so a test guest can report success or failure and
 * never be mistaken for a clean exit (status 0).  Reads return 0.
 */
#include "qlite/error.h"
#include "qlite/isa.h"
#include "qlite/runstate.h"

#define TYPE_ISA_DEBUG_EXIT "isa-debug-exit"

typedef struct DebugExitState {
    ISADevice parent;

    /* properties */
    uint32_t iobase;
    uint32_t iosize;

    MemoryRegion io;
} DebugExitState;

#define ISA_DEBUG_EXIT(obj) \
    OBJECT_CHECK(DebugExitState, (obj), TYPE_ISA_DEBUG_EXIT)

static uint64_t debug_exit_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0;
}

/* The whole written value counts, whatever the access size (as QEMU). */
static void debug_exit_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    qlite_system_exit((int)((val << 1) | 1));
}

static const MemoryRegionOps debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 1, .max_access_size = 4 },
};

static void debug_exit_realize(DeviceState *dev, GError **errp)
{
    DebugExitState *s = ISA_DEBUG_EXIT(dev);

    if (s->iosize == 0 || s->iobase > 0xffff ||
        s->iosize > 0x10000 - s->iobase) {
        error_setg(errp, "iobase 0x%" PRIx32 " and iosize %" PRIu32
                   " do not fit the I/O space", s->iobase, s->iosize);
        return;
    }
    memory_region_init_io(&s->io, &debug_exit_ops, s, "isa-debug-exit",
                          s->iosize);
    isa_register_ioport(ISA_DEVICE(dev), &s->io, s->iobase);
}

static void debug_exit_unrealize(DeviceState *dev)
{
    DebugExitState *s = ISA_DEBUG_EXIT(dev);

    if (s->io.container) {
        memory_region_del_subregion(s->io.container, &s->io);
    }
}

static const Property debug_exit_props[] = {
    DEFINE_PROP_UINT32("iobase", DebugExitState, iobase, 0x501),
    DEFINE_PROP_UINT32("iosize", DebugExitState, iosize, 0x02),
    DEFINE_PROP_END_OF_LIST(),
};

static void debug_exit_class_init(ObjectClass *klass, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->category = DEVICE_CATEGORY_MISC;
    dc->props = debug_exit_props;
    dc->bus_type = TYPE_ISA_BUS;
    dc->user_creatable = true;
    dc->realize = debug_exit_realize;
    dc->unrealize = debug_exit_unrealize;
}

static const TypeInfo debug_exit_info = {
    .name = TYPE_ISA_DEBUG_EXIT,
    .parent = TYPE_ISA_DEVICE,
    .instance_size = sizeof(DebugExitState),
    .class_init = debug_exit_class_init,
};

type_init(debug_exit_register_types)
{
    type_register(&debug_exit_info);
}
