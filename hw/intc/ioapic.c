/*
 * I/O APIC (82093AA register set, version 0x20 as QEMU's with the EOI
 * register), 24 input pins, MMIO at 0xfec00000.
 *
 * Registers are reached indirectly: IOREGSEL (offset 0x00) selects,
 * IOWIN (0x10) reads or writes.  Each pin has a 64-bit redirection entry
 * (82093AA data sheet 3.2.4):
 *
 *   63      56 55    17 16   15    14    13    12    11   10  8 7      0
 *  +----------+--------+----+-----+-----+-----+-----+----+-----+--------+
 *  |   dest   |reserved|mask|trig |rIRR |pol  |delst|dm  |delmd| vector |
 *  +----------+--------+----+-----+-----+-----+-----+----+-----+--------+
 *
 * Edge pins latch a rising edge and deliver it once; level pins deliver
 * while high and set remote IRR until the local APIC broadcasts the
 * vector's EOI.  ISA IRQ 0 arrives on pin 2, as on QEMU's pc board (the
 * MADT's interrupt source override says so).
 */
#include "qlite/apic.h"
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/memory.h"

#define IOAPIC_REG_SEL      0x00
#define IOAPIC_REG_WIN      0x10
#define IOAPIC_REG_EOI      0x40
#define IOAPIC_MMIO_SIZE    0x1000

#define IOAPIC_ID           0x00
#define IOAPIC_VER          0x01
#define IOAPIC_ARB          0x02
#define IOAPIC_REDTBL       0x10
#define IOAPIC_VERSION      0x20
#define IOAPIC_ID_SHIFT     24
#define IOAPIC_ID_MASK      0xf

#define RTE_VECTOR_MASK     0xffu
#define RTE_DELMOD_SHIFT    8
#define RTE_DESTMOD         (UINT64_C(1) << 11)
#define RTE_DELIVS          (UINT64_C(1) << 12)
#define RTE_POLARITY        (UINT64_C(1) << 13)
#define RTE_REMOTE_IRR      (UINT64_C(1) << 14)
#define RTE_TRIGGER_LEVEL   (UINT64_C(1) << 15)
#define RTE_MASKED          (UINT64_C(1) << 16)
#define RTE_DEST_SHIFT      56
/* What the guest may write: not delivery status or remote IRR. */
#define RTE_RO_BITS         (RTE_DELIVS | RTE_REMOTE_IRR)

typedef struct IOAPICState {
    DeviceState parent;
    MemoryRegion io;
    uint8_t id;
    uint8_t ioregsel;
    uint32_t irr;               /* pins with a pending request */
    uint32_t level;             /* current input levels */
    uint64_t rte[IOAPIC_NUM_PINS];
} IOAPICState;

#define IOAPIC(obj) OBJECT_CHECK(IOAPICState, (obj), TYPE_IOAPIC)

static void ioapic_deliver(IOAPICState *s, int pin)
{
    uint64_t e = s->rte[pin];

    apic_deliver_irq(e >> RTE_DEST_SHIFT, (e & RTE_DESTMOD) != 0,
                     (e >> RTE_DELMOD_SHIFT) & 7, e & RTE_VECTOR_MASK,
                     (e & RTE_TRIGGER_LEVEL) != 0);
}

/* Deliver every pending, unmasked request the rules allow. */
static void ioapic_service(IOAPICState *s)
{
    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t *e = &s->rte[pin];

        if (!(s->irr & (1u << pin)) || (*e & RTE_MASKED)) {
            continue;
        }
        if (*e & RTE_TRIGGER_LEVEL) {
            if (*e & RTE_REMOTE_IRR) {
                continue;
            }
            *e |= RTE_REMOTE_IRR;
        } else {
            s->irr &= ~(1u << pin);
        }
        ioapic_deliver(s, pin);
    }
}

static void ioapic_set_irq(void *opaque, int n, int level)
{
    IOAPICState *s = IOAPIC(opaque);
    int pin = n == 0 ? 2 : n;   /* ISA IRQ 0 is wired to pin 2 */
    uint32_t mask;
    bool was;

    if (pin < 0 || pin >= IOAPIC_NUM_PINS) {
        return;
    }
    mask = 1u << pin;
    was = s->level & mask;
    s->level = level ? s->level | mask : s->level & ~mask;
    if (s->rte[pin] & RTE_TRIGGER_LEVEL) {
        s->irr = level ? s->irr | mask : s->irr & ~mask;
    } else if (level && !was) {
        s->irr |= mask;
    }
    ioapic_service(s);
}

static void ioapic_eoi(void *opaque, int vector)
{
    IOAPICState *s = opaque;

    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t *e = &s->rte[pin];

        if ((*e & RTE_VECTOR_MASK) == (uint64_t)vector &&
            (*e & RTE_REMOTE_IRR)) {
            *e &= ~RTE_REMOTE_IRR;
        }
    }
    ioapic_service(s);
}

static uint32_t ioapic_read_reg(IOAPICState *s)
{
    unsigned sel = s->ioregsel;
    unsigned pin = (sel - IOAPIC_REDTBL) / 2;

    switch (sel) {
    case IOAPIC_ID:
    case IOAPIC_ARB:
        return (uint32_t)s->id << IOAPIC_ID_SHIFT;
    case IOAPIC_VER:
        return IOAPIC_VERSION | ((IOAPIC_NUM_PINS - 1) << 16);
    default:
        if (sel < IOAPIC_REDTBL || pin >= IOAPIC_NUM_PINS) {
            return 0xffffffff;
        }
        return (sel & 1) ? s->rte[pin] >> 32 : (uint32_t)s->rte[pin];
    }
}

static void ioapic_write_rte(IOAPICState *s, unsigned pin, bool high,
                             uint32_t val)
{
    uint64_t *e = &s->rte[pin];

    if (high) {
        *e = (*e & 0xffffffffu) | ((uint64_t)val << 32);
        return;
    }
    *e = (*e & ~(uint64_t)0xffffffffu) | (val & ~RTE_RO_BITS) |
         (*e & RTE_RO_BITS);
    if (!(*e & RTE_TRIGGER_LEVEL)) {
        *e &= ~RTE_REMOTE_IRR;
    } else if (s->level & (1u << pin)) {
        /* A level pin already high becomes pending under its new mode. */
        s->irr |= 1u << pin;
    }
    ioapic_service(s);
}

static void ioapic_write_reg(IOAPICState *s, uint32_t val)
{
    unsigned sel = s->ioregsel;
    unsigned pin = (sel - IOAPIC_REDTBL) / 2;

    if (sel == IOAPIC_ID) {
        s->id = (val >> IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
    } else if (sel >= IOAPIC_REDTBL && pin < IOAPIC_NUM_PINS) {
        ioapic_write_rte(s, pin, sel & 1, val);
    }
}

static uint64_t ioapic_mem_read(void *opaque, uint64_t addr, unsigned size)
{
    IOAPICState *s = opaque;

    switch (addr) {
    case IOAPIC_REG_SEL:
        return s->ioregsel;
    case IOAPIC_REG_WIN:
        return ioapic_read_reg(s);
    default:
        return 0;
    }
}

static void ioapic_mem_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    IOAPICState *s = opaque;

    switch (addr) {
    case IOAPIC_REG_SEL:
        s->ioregsel = val;
        break;
    case IOAPIC_REG_WIN:
        ioapic_write_reg(s, val);
        break;
    case IOAPIC_REG_EOI:
        ioapic_eoi(s, val & 0xff);
        break;
    default:
        qlite_log_guest_error("ioapic: write to reserved offset 0x%" PRIx64,
                              addr);
        break;
    }
}

static const MemoryRegionOps ioapic_ops = {
    .read = ioapic_mem_read,
    .write = ioapic_mem_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

static void ioapic_reset(DeviceState *dev)
{
    IOAPICState *s = IOAPIC(dev);

    s->id = 0;
    s->ioregsel = 0;
    s->irr = 0;
    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        s->rte[pin] = RTE_MASKED;
    }
}

static void ioapic_realize(DeviceState *dev, GError **errp)
{
    IOAPICState *s = IOAPIC(dev);

    memory_region_init_io(&s->io, &ioapic_ops, s, "ioapic",
                          IOAPIC_MMIO_SIZE);
    memory_region_add_subregion(get_system_memory(), IOAPIC_DEFAULT_ADDRESS,
                                &s->io);
    qdev_init_gpio_in(dev, ioapic_set_irq, IOAPIC_NUM_PINS);
    apic_add_eoi_listener(ioapic_eoi, s);
}

static void ioapic_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "I/O APIC";
    dc->realize = ioapic_realize;
    dc->reset = ioapic_reset;
    dc->user_creatable = false;
}

static const TypeInfo ioapic_info = {
    .name = TYPE_IOAPIC,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(IOAPICState),
    .class_init = ioapic_class_init,
};

type_init(ioapic_register_types)
{
    type_register(&ioapic_info);
}
