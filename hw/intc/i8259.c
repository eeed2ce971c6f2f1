/*
 * Two cascaded 8259A programmable interrupt controllers, as on the PC/AT
 * with a PIIX south bridge.
 *
 *   master: 0x20 (command) 0x21 (data), IRQ 0-7, slave's INT on IR2
 *   slave:  0xa0 (command) 0xa1 (data), IRQ 8-15
 *   ELCR:   0x4d0 (master) 0x4d1 (slave), 1 = level triggered
 *
 * Command port writes: bit 4 set is ICW1 (starts ICW2-ICW4 on the data
 * port), else bit 3 set is OCW3, else OCW2.  Data port writes outside
 * initialisation are OCW1 (the mask).  Priorities rotate: the line after
 * priority_add-1 has the lowest priority.  As on the PIIX, ICW1's LTIM bit
 * is ignored; the ELCR alone chooses edge or level (PIIX datasheet 4.2.2).
 */
#include "qlite/error.h"
#include "qlite/i8259.h"
#include "qlite/isa.h"

#define I8259_NONE 8            /* "no line" in priority arithmetic */

typedef struct PicChip {
    uint8_t irr;                /* requests latched */
    uint8_t isr;                /* in service */
    uint8_t imr;                /* masked */
    uint8_t elcr;               /* 1 = level triggered */
    uint8_t elcr_mask;          /* lines that may be level triggered */
    uint8_t lines;              /* input levels, for edge detection */
    uint8_t vector_base;        /* ICW2, low 3 bits clear */
    uint8_t priority_add;       /* the highest-priority line */
    uint8_t init_step;          /* next ICW expected on the data port */
#define PIC_INIT_DONE   0
#define PIC_INIT_ICW2   1
#define PIC_INIT_ICW3   2
#define PIC_INIT_ICW4   3
    uint8_t icw1;
#define PIC_ICW1_IC4    0x01    /* ICW4 follows */
#define PIC_ICW1_SNGL   0x02    /* single: no ICW3 */
#define PIC_ICW1_INIT   0x10
    uint8_t icw3;
    uint8_t icw4;
#define PIC_ICW4_8086   0x01
#define PIC_ICW4_AEOI   0x02
#define PIC_ICW4_SFNM   0x10
    bool rotate_on_aeoi;
    bool special_mask;
    bool read_isr;              /* OCW3 RR/RIS: command port reads ISR */
    bool poll;                  /* OCW3 P: next read is a poll */
#define PIC_OCW3_SEL    0x08
#define PIC_OCW3_READ   0x02
#define PIC_OCW3_RIS    0x01
#define PIC_OCW3_POLL   0x04
#define PIC_OCW3_ESMM   0x40
#define PIC_OCW3_SMM    0x20
} PicChip;

typedef struct I8259State {
    ISADevice parent;

    PicChip chip[2];            /* 0 master, 1 slave */
    MemoryRegion io[2];
    MemoryRegion elcr_io;
    IrqLine *int_out;
} I8259State;

#define I8259(obj) OBJECT_CHECK(I8259State, (obj), TYPE_I8259)
#define PIC_MASTER 0
#define PIC_SLAVE 1
#define PIC_CASCADE_IRQ 2

static const uint16_t pic_iobase[2] = { 0x20, 0xa0 };
/* IRQ 0, 1, 2, 8 and 13 are edge-only on a PIIX. */
static const uint8_t pic_elcr_mask[2] = { 0xf8, 0xde };

/* ---- priority ---- */

/* Priority (0 highest) of the best line in @mask, or I8259_NONE. */
static int pic_best_priority(PicChip *c, uint8_t mask)
{
    for (int p = 0; p < 8; p++) {
        if (mask & (1u << ((p + c->priority_add) & 7))) {
            return p;
        }
    }
    return I8259_NONE;
}

/* The line this chip would interrupt for now, or -1. */
static int pic_chip_pending(PicChip *c, bool is_master)
{
    int want = pic_best_priority(c, c->irr & ~c->imr);
    uint8_t blocking = c->isr;

    if (want == I8259_NONE) {
        return -1;
    }
    if (c->special_mask) {
        /* special mask mode: masked in-service lines block nothing */
        blocking &= ~c->imr;
    }
    if (is_master && (c->icw4 & PIC_ICW4_SFNM)) {
        /* fully nested: the slave may interrupt over its own service */
        blocking &= ~(1u << PIC_CASCADE_IRQ);
    }
    if (want < pic_best_priority(c, blocking)) {
        return (want + c->priority_add) & 7;
    }
    return -1;
}

/* ---- input lines ---- */

static void pic_chip_set_line(PicChip *c, int line, int level)
{
    uint8_t bit = 1u << line;

    if (c->elcr & bit) {
        c->irr = level ? (c->irr | bit) : (c->irr & ~bit);
    } else if (level && !(c->lines & bit)) {
        c->irr |= bit;          /* rising edge */
    }
    c->lines = level ? (c->lines | bit) : (c->lines & ~bit);
}

/* Slave INT into master IR2, then master INT to the CPU. */
static void i8259_update_irq(I8259State *s)
{
    int slave = pic_chip_pending(&s->chip[PIC_SLAVE], false);

    pic_chip_set_line(&s->chip[PIC_MASTER], PIC_CASCADE_IRQ, slave >= 0);
    irq_set(s->int_out, pic_chip_pending(&s->chip[PIC_MASTER], true) >= 0);
}

static void i8259_set_irq(void *opaque, int n, int level)
{
    I8259State *s = opaque;

    if (n < 0 || n >= 16) {
        return;
    }
    pic_chip_set_line(&s->chip[n >> 3], n & 7, level);
    i8259_update_irq(s);
}

/* ---- acknowledge and EOI ---- */

/* INTA: the line goes in service; edge requests are consumed. */
static void pic_chip_intack(PicChip *c, int line)
{
    uint8_t bit = 1u << line;

    if (c->icw4 & PIC_ICW4_AEOI) {
        if (c->rotate_on_aeoi) {
            c->priority_add = (line + 1) & 7;
        }
    } else {
        c->isr |= bit;
    }
    if (!(c->elcr & bit)) {
        c->irr &= ~bit;
    }
}

int i8259_acknowledge(DeviceState *pic)
{
    I8259State *s = I8259(pic);
    PicChip *master = &s->chip[PIC_MASTER];
    PicChip *slave = &s->chip[PIC_SLAVE];
    int line = pic_chip_pending(master, true);
    int vector;

    if (line < 0) {
        /* the request went away before INTA: spurious IRQ 7 */
        vector = master->vector_base + 7;
    } else if (line == PIC_CASCADE_IRQ) {
        int sline = pic_chip_pending(slave, false);

        pic_chip_intack(master, line);
        if (sline >= 0) {
            pic_chip_intack(slave, sline);
            vector = slave->vector_base + sline;
        } else {
            vector = slave->vector_base + 7;    /* spurious IRQ 15 */
        }
    } else {
        pic_chip_intack(master, line);
        vector = master->vector_base + line;
    }
    i8259_update_irq(s);
    return vector;
}

/* OCW3 poll: the next read acknowledges and returns 0x80 | line. */
static uint8_t pic_chip_poll(I8259State *s, PicChip *c)
{
    int line = pic_chip_pending(c, c == &s->chip[PIC_MASTER]);

    c->poll = false;
    if (line < 0) {
        return 0;
    }
    pic_chip_intack(c, line);
    i8259_update_irq(s);
    return 0x80 | line;
}

static void pic_chip_eoi(PicChip *c, int line, bool rotate)
{
    c->isr &= ~(1u << line);
    if (rotate) {
        c->priority_add = (line + 1) & 7;
    }
}

static void pic_chip_ocw2(PicChip *c, uint8_t val)
{
    int level = val & 7;
    int best = pic_best_priority(c, c->isr);
    int best_line = (best + c->priority_add) & 7;

    switch (val >> 5) {
    case 0:     /* clear rotate in automatic EOI mode */
    case 4:     /* set rotate in automatic EOI mode */
        c->rotate_on_aeoi = val >> 7;
        break;
    case 1:     /* non-specific EOI */
    case 5:     /* rotate on non-specific EOI */
        if (best != I8259_NONE) {
            pic_chip_eoi(c, best_line, val & 0x80);
        }
        break;
    case 3:     /* specific EOI */
    case 7:     /* rotate on specific EOI */
        pic_chip_eoi(c, level, val & 0x80);
        break;
    case 6:     /* set priority: @level becomes the lowest */
        c->priority_add = (level + 1) & 7;
        break;
    case 2:     /* no operation */
        break;
    }
}

static void pic_chip_ocw3(PicChip *c, uint8_t val)
{
    if (val & PIC_OCW3_POLL) {
        c->poll = true;
    }
    if (val & PIC_OCW3_READ) {
        c->read_isr = val & PIC_OCW3_RIS;
    }
    if (val & PIC_OCW3_ESMM) {
        c->special_mask = val & PIC_OCW3_SMM;
    }
}

/* ---- initialisation words ---- */

static void pic_chip_icw1(PicChip *c, uint8_t val)
{
    if (val & PIC_ICW1_SNGL) {
        qlite_log_unimp("i8259: single mode (ICW1 SNGL) on a cascaded PIC");
    }
    c->icw1 = val;
    c->icw4 = 0;
    c->imr = 0;
    c->isr = 0;
    /* the edge latches clear; level requests still stand */
    c->irr = c->lines & c->elcr;
    c->priority_add = 0;
    c->rotate_on_aeoi = false;
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->init_step = PIC_INIT_ICW2;
}

static void pic_chip_icw(PicChip *c, uint8_t val)
{
    switch (c->init_step) {
    case PIC_INIT_ICW2:
        c->vector_base = val & 0xf8;
        c->init_step = (c->icw1 & PIC_ICW1_SNGL) ? PIC_INIT_ICW3 + 1
                                                  : PIC_INIT_ICW3;
        break;
    case PIC_INIT_ICW3:
        c->icw3 = val;
        c->init_step++;
        break;
    case PIC_INIT_ICW4:
        c->icw4 = val;
        if (!(val & PIC_ICW4_8086)) {
            qlite_log_unimp("i8259: MCS-80/85 mode (ICW4 uPM=0)");
        }
        c->init_step = PIC_INIT_DONE;
        return;
    }
    if (c->init_step == PIC_INIT_ICW4 && !(c->icw1 & PIC_ICW1_IC4)) {
        c->init_step = PIC_INIT_DONE;
    }
}

/* ---- port access ---- */

static uint64_t pic_io_read(PicChip *c, I8259State *s, uint64_t addr)
{
    if (c->poll) {
        return pic_chip_poll(s, c);
    }
    if (addr == 1) {
        return c->imr;
    }
    return c->read_isr ? c->isr : c->irr;
}

static void pic_io_write(PicChip *c, uint64_t addr, uint8_t val)
{
    if (addr == 1) {
        if (c->init_step != PIC_INIT_DONE) {
            pic_chip_icw(c, val);
        } else {
            c->imr = val;
        }
    } else if (val & PIC_ICW1_INIT) {
        pic_chip_icw1(c, val);
    } else if (val & PIC_OCW3_SEL) {
        pic_chip_ocw3(c, val);
    } else {
        pic_chip_ocw2(c, val);
    }
}

static uint64_t pic_master_read(void *opaque, uint64_t addr, unsigned size)
{
    I8259State *s = opaque;

    return pic_io_read(&s->chip[PIC_MASTER], s, addr);
}

static uint64_t pic_slave_read(void *opaque, uint64_t addr, unsigned size)
{
    I8259State *s = opaque;

    return pic_io_read(&s->chip[PIC_SLAVE], s, addr);
}

static void pic_master_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    I8259State *s = opaque;

    pic_io_write(&s->chip[PIC_MASTER], addr, val);
    i8259_update_irq(s);
}

static void pic_slave_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    I8259State *s = opaque;

    pic_io_write(&s->chip[PIC_SLAVE], addr, val);
    i8259_update_irq(s);
}

static uint64_t pic_elcr_read(void *opaque, uint64_t addr, unsigned size)
{
    I8259State *s = opaque;

    return s->chip[addr & 1].elcr;
}

static void pic_elcr_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
    I8259State *s = opaque;
    PicChip *c = &s->chip[addr & 1];

    c->elcr = val & c->elcr_mask;
    i8259_update_irq(s);
}

static const MemoryRegionOps pic_ops[2] = {
    {
        .read = pic_master_read,
        .write = pic_master_write,
        .valid = { .min_access_size = 1, .max_access_size = 1 },
    },
    {
        .read = pic_slave_read,
        .write = pic_slave_write,
        .valid = { .min_access_size = 1, .max_access_size = 1 },
    },
};

static const MemoryRegionOps pic_elcr_ops = {
    .read = pic_elcr_read,
    .write = pic_elcr_write,
    .valid = { .min_access_size = 1, .max_access_size = 1 },
};

/* ---- lifecycle ---- */

static void pic_chip_reset(PicChip *c, uint8_t elcr_mask)
{
    uint8_t lines = c->lines;   /* the wires keep their level */

    memset(c, 0, sizeof(*c));
    c->lines = lines;
    c->elcr_mask = elcr_mask;
}

static void i8259_reset(DeviceState *dev)
{
    I8259State *s = I8259(dev);

    for (int i = 0; i < 2; i++) {
        pic_chip_reset(&s->chip[i], pic_elcr_mask[i]);
    }
    i8259_update_irq(s);
}

static void i8259_realize(DeviceState *dev, GError **errp)
{
    I8259State *s = I8259(dev);
    ISADevice *isa = ISA_DEVICE(dev);

    for (int i = 0; i < 2; i++) {
        memory_region_init_io(&s->io[i], &pic_ops[i], s,
                              i ? "pic-slave" : "pic-master", 2);
        isa_register_ioport(isa, &s->io[i], pic_iobase[i]);
    }
    memory_region_init_io(&s->elcr_io, &pic_elcr_ops, s, "elcr", 2);
    isa_register_ioport(isa, &s->elcr_io, 0x4d0);
    i8259_reset(dev);
}

/* The lines exist from creation so the board can wire them any time. */
static void i8259_instance_init(Object *obj)
{
    I8259State *s = I8259(obj);

    qdev_init_gpio_in(DEVICE(obj), i8259_set_irq, 16);
    qdev_init_gpio_out(DEVICE(obj), &s->int_out, 1);
}

static void i8259_unrealize(DeviceState *dev)
{
    I8259State *s = I8259(dev);

    for (int i = 0; i < 2; i++) {
        if (s->io[i].container) {
            memory_region_del_subregion(s->io[i].container, &s->io[i]);
        }
    }
    if (s->elcr_io.container) {
        memory_region_del_subregion(s->elcr_io.container, &s->elcr_io);
    }
}

static void i8259_class_init(ObjectClass *klass, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->desc = "ISA PIC (two cascaded 8259A)";
    dc->category = DEVICE_CATEGORY_MISC;
    dc->bus_type = TYPE_ISA_BUS;
    dc->user_creatable = false;     /* part of the board */
    dc->realize = i8259_realize;
    dc->unrealize = i8259_unrealize;
    dc->reset = i8259_reset;
}

static const TypeInfo i8259_info = {
    .name = TYPE_I8259,
    .parent = TYPE_ISA_DEVICE,
    .instance_size = sizeof(I8259State),
    .class_init = i8259_class_init,
    .instance_init = i8259_instance_init,
};

type_init(i8259_register_types)
{
    type_register(&i8259_info);
}
