/*
 * QEMU's "pc-testdev", the ISA device bare-metal tests (kvm-unit-tests)
 * use to poke the platform:
 *
 *   I/O 0xe0-0xe3   a 32-bit scratch register, any access width
 *   I/O 0xe4        write a guest-physical address: "flush that page"
 *                   (KVM tests page tracking with it; here a no-op)
 *   I/O 0xe8-0xeb   the same scratch register, split into byte accesses
 *   I/O 0x2000+n    write nonzero/zero: raise/lower ISA IRQ n (n < 16;
 *                   QEMU decodes 24 lines, the rest are ignored here)
 *   MMIO 0xff000000 64 KiB of scratch memory behind MMIO callbacks
 */
#include "qlite/error.h"
#include "qlite/isa.h"

#define TYPE_PC_TESTDEV "pc-testdev"

#define TESTDEV_IOMEM_BASE  0xff000000
#define TESTDEV_IOMEM_LEN   0x10000
#define TESTDEV_IRQ_BASE    0x2000
#define TESTDEV_IRQ_LINES   24

typedef struct PCTestdevState {
    ISADevice parent;
    MemoryRegion ioport;
    MemoryRegion ioport_byte;
    MemoryRegion flush;
    MemoryRegion irq;
    MemoryRegion iomem;
    uint32_t ioport_data;
    uint8_t iomem_buf[TESTDEV_IOMEM_LEN];
} PCTestdevState;

#define PC_TESTDEV(obj) OBJECT_CHECK(PCTestdevState, (obj), TYPE_PC_TESTDEV)

static uint64_t testdev_ioport_read(void *opaque, uint64_t addr,
                                    unsigned size)
{
    PCTestdevState *s = opaque;
    uint64_t v = s->ioport_data >> (8 * (addr & 3));

    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void testdev_ioport_write(void *opaque, uint64_t addr, uint64_t val,
                                 unsigned size)
{
    PCTestdevState *s = opaque;
    unsigned shift = 8 * (addr & 3);
    uint32_t mask = (size >= 4 ? UINT32_MAX : (1u << (8 * size)) - 1)
                    << shift;

    s->ioport_data = (s->ioport_data & ~mask) | (((uint32_t)val << shift) &
                                                 mask);
}

static const MemoryRegionOps testdev_ioport_ops = {
    .read = testdev_ioport_read,
    .write = testdev_ioport_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

static const MemoryRegionOps testdev_ioport_byte_ops = {
    .read = testdev_ioport_read,
    .write = testdev_ioport_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 1, .max_access_size = 1 },
};

static uint64_t testdev_flush_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0;
}

static void testdev_flush_write(void *opaque, uint64_t addr, uint64_t val,
                                unsigned size)
{
    /* No host page protection to drop: both accelerators see writes. */
}

static const MemoryRegionOps testdev_flush_ops = {
    .read = testdev_flush_read,
    .write = testdev_flush_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

static uint64_t testdev_irq_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0;
}

static void testdev_irq_write(void *opaque, uint64_t addr, uint64_t val,
                              unsigned size)
{
    PCTestdevState *s = opaque;

    if (addr >= ISA_NUM_IRQS) {
        qlite_log_unimp("pc-testdev: IRQ line %" PRIu64 " beyond ISA", addr);
        return;
    }
    irq_set(isa_get_irq(ISA_DEVICE(s), addr), val != 0);
}

static const MemoryRegionOps testdev_irq_ops = {
    .read = testdev_irq_read,
    .write = testdev_irq_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 1, .max_access_size = 1 },
};

static uint64_t testdev_iomem_read(void *opaque, uint64_t addr, unsigned size)
{
    PCTestdevState *s = opaque;
    uint64_t v = 0;

    if (addr + size <= TESTDEV_IOMEM_LEN) {
        memcpy(&v, s->iomem_buf + addr, size);
    }
    return GUINT64_FROM_LE(v);
}

static void testdev_iomem_write(void *opaque, uint64_t addr, uint64_t val,
                                unsigned size)
{
    PCTestdevState *s = opaque;
    uint64_t le = GUINT64_TO_LE(val);

    if (addr + size <= TESTDEV_IOMEM_LEN) {
        memcpy(s->iomem_buf + addr, &le, size);
    }
}

static const MemoryRegionOps testdev_iomem_ops = {
    .read = testdev_iomem_read,
    .write = testdev_iomem_write,
    .valid = { .min_access_size = 1, .max_access_size = 8,
               .unaligned = true },
};

static void testdev_realize(DeviceState *dev, GError **errp)
{
    PCTestdevState *s = PC_TESTDEV(dev);
    ISADevice *isa = ISA_DEVICE(dev);

    memory_region_init_io(&s->ioport, &testdev_ioport_ops, s,
                          "pc-testdev-ioport", 4);
    memory_region_init_io(&s->flush, &testdev_flush_ops, s,
                          "pc-testdev-flush-page", 4);
    memory_region_init_io(&s->ioport_byte, &testdev_ioport_byte_ops, s,
                          "pc-testdev-ioport-byte", 4);
    memory_region_init_io(&s->irq, &testdev_irq_ops, s,
                          "pc-testdev-irq-line", TESTDEV_IRQ_LINES);
    memory_region_init_io(&s->iomem, &testdev_iomem_ops, s,
                          "pc-testdev-iomem", TESTDEV_IOMEM_LEN);
    isa_register_ioport(isa, &s->ioport, 0xe0);
    isa_register_ioport(isa, &s->flush, 0xe4);
    isa_register_ioport(isa, &s->ioport_byte, 0xe8);
    isa_register_ioport(isa, &s->irq, TESTDEV_IRQ_BASE);
    memory_region_add_subregion(get_system_memory(), TESTDEV_IOMEM_BASE,
                                &s->iomem);
}

static void testdev_unrealize(DeviceState *dev)
{
    PCTestdevState *s = PC_TESTDEV(dev);
    MemoryRegion *io = isa_device_bus(ISA_DEVICE(dev))->io;

    memory_region_del_subregion(io, &s->ioport);
    memory_region_del_subregion(io, &s->flush);
    memory_region_del_subregion(io, &s->ioport_byte);
    memory_region_del_subregion(io, &s->irq);
    memory_region_del_subregion(get_system_memory(), &s->iomem);
}

static void testdev_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "PC Testdev";
    dc->realize = testdev_realize;
    dc->unrealize = testdev_unrealize;
}

static const TypeInfo testdev_info = {
    .name = TYPE_PC_TESTDEV,
    .parent = TYPE_ISA_DEVICE,
    .instance_size = sizeof(PCTestdevState),
    .class_init = testdev_class_init,
};

type_init(testdev_register_types)
{
    type_register(&testdev_info);
}
