/*
 * Intel 8254 programmable interval timer (PIT), with the PC's port 0x61
 * (NMI status and speaker control) that exposes channel 2's gate and
 * output.
 *
 * Channel 0 drives ISA IRQ 0, channel 1 is the (unused) DRAM refresh
 * timer, channel 2 feeds the speaker and is what Linux uses to calibrate
 * the TSC: it sets gate 2 through port 0x61, programs mode 0 and polls
 * OUT2 in bit 5 of port 0x61.
 *
 * A channel never ticks in software: the counter and OUT are computed
 * from the virtual time elapsed since the count was loaded, and a timer
 * is armed only at channel 0's next OUT transition.  Modes and their OUT
 * waveform follow the 82C54 data sheet, "Mode Definitions".
 */
#include "qlite/error.h"
#include "qlite/isa.h"
#include "qlite/main-loop.h"

#define TYPE_PIT "isa-pit"

#define PIT_FREQ        1193182     /* Hz: 14.31818 MHz / 12 */
#define PIT_NS          UINT64_C(1000000000)
#define PIT_NUM_CH      3

/* Control word (port base+3), data sheet "Control Word Format". */
#define PIT_CW_SC(v)        (((v) >> 6) & 3)    /* 3 = read-back */
#define PIT_CW_RW(v)        (((v) >> 4) & 3)    /* 0 = counter latch */
#define PIT_CW_MODE(v)      (((v) >> 1) & 7)
#define PIT_CW_BCD          0x01
/* Read-back command: bit 5 clear = latch count, bit 4 clear = status. */
#define PIT_RB_NO_COUNT     0x20
#define PIT_RB_NO_STATUS    0x10
/* Status byte returned after a read-back. */
#define PIT_ST_OUT          0x80
#define PIT_ST_NULL_COUNT   0x40

/* Read/write access modes (RW field). */
enum { PIT_RW_LATCH, PIT_RW_LSB, PIT_RW_MSB, PIT_RW_WORD };

/* Port 0x61 bits (IBM PC/AT technical reference, port B). */
#define PORT61_GATE2        0x01
#define PORT61_SPKR_DATA    0x02
#define PORT61_REFRESH      0x10
#define PORT61_OUT2         0x20

typedef struct PITChannel {
    uint32_t count;             /* initial count, 0 stored as 0x10000 */
    int64_t load_time;          /* virtual ns when counting started */
    bool counting;              /* a count was loaded since the CW */
    uint16_t frozen;            /* counter value while not counting */
    uint8_t mode;
    uint8_t rw;
    bool bcd;
    bool gate;
    /* Byte sequencing for PIT_RW_WORD: true when the MSB comes next. */
    bool read_msb;
    bool write_msb;
    uint8_t write_lsb;
    /* Latched count (held until read) and latched status. */
    bool count_latched;
    uint8_t latch_rw;
    bool latch_msb_next;
    uint16_t latched_count;
    bool status_latched;
    uint8_t status;
    QliteTimer *timer;          /* channel 0 only: next OUT edge */
    int64_t edge_time;          /* the time the timer is armed for */
    IrqLine *irq;               /* channel 0 only */
} PITChannel;

typedef struct PITState {
    ISADevice parent;
    uint32_t iobase;
    MemoryRegion io;
    MemoryRegion port61;
    PITChannel ch[PIT_NUM_CH];
    bool speaker_data;
    bool refresh;
} PITState;

#define PIT(obj) OBJECT_CHECK(PITState, (obj), TYPE_PIT)

static uint64_t pit_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    return (uint64_t)(((unsigned __int128)a * b) / c);
}

/* Whole input clocks since the count was loaded. */
static uint64_t pit_ticks(const PITChannel *c, int64_t now)
{
    if (now <= c->load_time) {
        return 0;
    }
    return pit_muldiv(now - c->load_time, PIT_FREQ, PIT_NS);
}

/* The counter's modulus: 2^16 in binary, 10^4 in BCD. */
static uint32_t pit_modulus(const PITChannel *c)
{
    return c->bcd ? 10000 : 0x10000;
}

/* Modes 2 and 3 stop while gate is low; the others ignore it here. */
static bool pit_gate_holds(const PITChannel *c)
{
    return !c->gate && (c->mode == 2 || c->mode == 3);
}

static bool pit_out_at(const PITChannel *c, uint64_t d)
{
    uint32_t n = c->count;

    switch (c->mode) {
    case 0:
    case 1:
        return d >= n;
    case 2:
        return n < 2 || d % n != n - 1;
    case 3:
        return d % n < (n + 1) / 2;
    default:    /* 4 and 5: one low clock when the count expires */
        return d != n;
    }
}

static bool pit_out(const PITChannel *c, int64_t now)
{
    if (!c->counting) {
        return c->mode != 0;
    }
    if (pit_gate_holds(c)) {
        return true;
    }
    return pit_out_at(c, pit_ticks(c, now));
}

static uint16_t pit_counter(const PITChannel *c, int64_t now)
{
    uint64_t d;
    uint32_t n = c->count, v;

    if (!c->counting || pit_gate_holds(c)) {
        return c->frozen;
    }
    d = pit_ticks(c, now);
    switch (c->mode) {
    case 2:
        v = n - d % n;
        break;
    case 3:
        /* Mode 3 decrements by two, twice per period. */
        v = n - (2 * d) % n;
        break;
    default:
        v = (n + pit_modulus(c) - d % pit_modulus(c)) % pit_modulus(c);
        break;
    }
    return v & 0xffff;
}

/* The first tick after @d at which OUT changes, or 0 for never. */
static uint64_t pit_next_edge(const PITChannel *c, uint64_t d)
{
    uint32_t n = c->count;
    uint64_t base = d - d % n;

    switch (c->mode) {
    case 0:
    case 1:
        return d < n ? n : 0;
    case 2:
        if (n < 2) {
            return 0;
        }
        return d % n < n - 1 ? base + n - 1 : base + n;
    case 3:
        if (n < 2) {
            return 0;
        }
        return d % n < (n + 1) / 2 ? base + (n + 1) / 2 : base + n;
    default:
        if (d < n) {
            return n;
        }
        return d == n ? n + 1 : 0;
    }
}

/*
 * Drive IRQ 0 from channel 0's OUT as it is at @now and arm the timer for
 * its next edge.
 */
static void pit_update_irq_at(PITChannel *c, int64_t now)
{
    uint64_t edge;
    int64_t when;

    if (!c->timer) {
        return;
    }
    irq_set(c->irq, pit_out(c, now));
    timer_del(c->timer);
    if (!c->counting || pit_gate_holds(c)) {
        return;
    }
    edge = pit_next_edge(c, pit_ticks(c, now));
    if (!edge) {
        return;
    }
    /* Round up so that pit_ticks() at @when has reached @edge. */
    when = c->load_time + (int64_t)pit_muldiv(edge, PIT_NS, PIT_FREQ) + 1;
    c->edge_time = when > now ? when : now + 1;
    timer_mod_ns(c->timer, c->edge_time);
}

static void pit_update_irq(PITChannel *c)
{
    pit_update_irq_at(c, clock_get_ns(QLITE_CLOCK_VIRTUAL));
}

/*
 * The callback runs some time after the edge it was armed for.  OUT is
 * taken at the edge, not now: mode 2's low pulse lasts one input clock
 * (838 ns), and sampled late it would always read high, so IRQ 0 would
 * never see another edge.  Edges passed meanwhile are replayed in order,
 * each one a new timer already due.
 */
static void pit_timer_cb(void *opaque)
{
    PITChannel *c = opaque;

    pit_update_irq_at(c, c->edge_time);
}

static uint16_t pit_from_bcd(uint16_t v)
{
    return (v >> 12) * 1000 + ((v >> 8) & 15) * 100 + ((v >> 4) & 15) * 10 +
           (v & 15);
}

static uint16_t pit_to_bcd(uint16_t v)
{
    v %= 10000;
    return ((v / 1000) << 12) | (((v / 100) % 10) << 8) |
           (((v / 10) % 10) << 4) | (v % 10);
}

static void pit_load_count(PITChannel *c, uint16_t raw)
{
    uint32_t n = c->bcd ? pit_from_bcd(raw) : raw;

    c->count = n ? n : pit_modulus(c);
    c->load_time = clock_get_ns(QLITE_CLOCK_VIRTUAL);
    c->counting = true;
    pit_update_irq(c);
}

static void pit_write_control(PITChannel *c, uint8_t val)
{
    int64_t now = clock_get_ns(QLITE_CLOCK_VIRTUAL);

    if (PIT_CW_RW(val) == PIT_RW_LATCH) {
        if (!c->count_latched) {
            c->latched_count = pit_counter(c, now);
            c->latch_rw = c->rw;
            c->latch_msb_next = false;
            c->count_latched = true;
        }
        return;
    }
    c->frozen = pit_counter(c, now);
    c->rw = PIT_CW_RW(val);
    c->mode = PIT_CW_MODE(val);
    if (c->mode > 5) {
        c->mode -= 4;   /* 6 and 7 are aliases of 2 and 3 */
    }
    c->bcd = val & PIT_CW_BCD;
    c->read_msb = c->write_msb = false;
    c->counting = false;
    c->count_latched = c->status_latched = false;
    pit_update_irq(c);
}

static uint8_t pit_status(const PITChannel *c, int64_t now)
{
    return (pit_out(c, now) ? PIT_ST_OUT : 0) |
           (c->counting ? 0 : PIT_ST_NULL_COUNT) |
           (c->rw << 4) | (c->mode << 1) | (c->bcd ? PIT_CW_BCD : 0);
}

static void pit_read_back(PITState *s, uint8_t val)
{
    int64_t now = clock_get_ns(QLITE_CLOCK_VIRTUAL);

    for (int i = 0; i < PIT_NUM_CH; i++) {
        PITChannel *c = &s->ch[i];

        if (!(val & (2 << i))) {
            continue;
        }
        if (!(val & PIT_RB_NO_COUNT) && !c->count_latched) {
            pit_write_control(c, (uint8_t)(i << 6));
        }
        if (!(val & PIT_RB_NO_STATUS) && !c->status_latched) {
            c->status = pit_status(c, now);
            c->status_latched = true;
        }
    }
}

static void pit_write_data(PITChannel *c, uint8_t val)
{
    switch (c->rw) {
    case PIT_RW_LSB:
        pit_load_count(c, val);
        break;
    case PIT_RW_MSB:
        pit_load_count(c, (uint16_t)(val << 8));
        break;
    case PIT_RW_WORD:
        if (!c->write_msb) {
            c->write_lsb = val;
            c->write_msb = true;
        } else {
            c->write_msb = false;
            pit_load_count(c, (uint16_t)(c->write_lsb | (val << 8)));
        }
        break;
    default:
        break;
    }
}

/* One byte of a 16-bit value in access mode @rw; *msb_next sequences. */
static uint8_t pit_byte(uint16_t v, uint8_t rw, bool *msb_next, bool *done)
{
    uint8_t b;

    switch (rw) {
    case PIT_RW_MSB:
        *done = true;
        return v >> 8;
    case PIT_RW_WORD:
        b = *msb_next ? v >> 8 : v & 0xff;
        *msb_next = !*msb_next;
        *done = !*msb_next;
        return b;
    default:
        *done = true;
        return v & 0xff;
    }
}

static uint8_t pit_read_data(PITChannel *c)
{
    int64_t now = clock_get_ns(QLITE_CLOCK_VIRTUAL);
    uint16_t v;
    bool done;
    uint8_t b;

    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->count_latched) {
        v = c->latched_count;
        v = c->bcd ? pit_to_bcd(v) : v;
        b = pit_byte(v, c->latch_rw, &c->latch_msb_next, &done);
        c->count_latched = !done;
        return b;
    }
    v = pit_counter(c, now);
    v = c->bcd ? pit_to_bcd(v) : v;
    return pit_byte(v, c->rw, &c->read_msb, &done);
}

static uint64_t pit_ioport_read(void *opaque, uint64_t addr, unsigned size)
{
    PITState *s = opaque;

    if (addr >= PIT_NUM_CH) {
        return 0xff;    /* the control port is write-only */
    }
    return pit_read_data(&s->ch[addr]);
}

static void pit_ioport_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    PITState *s = opaque;
    uint8_t v = val;

    if (addr < PIT_NUM_CH) {
        pit_write_data(&s->ch[addr], v);
    } else if (PIT_CW_SC(v) == 3) {
        pit_read_back(s, v);
    } else {
        pit_write_control(&s->ch[PIT_CW_SC(v)], v);
    }
}

static const MemoryRegionOps pit_ops = {
    .read = pit_ioport_read,
    .write = pit_ioport_write,
    .valid = { .min_access_size = 1, .max_access_size = 1 },
};

/*
 * Gate input: a rising edge restarts modes 1, 2, 3 and 5 (the data
 * sheet's "trigger"); in modes 2 and 3 a low gate holds OUT high.
 */
static void pit_set_gate(PITChannel *c, bool gate)
{
    int64_t now = clock_get_ns(QLITE_CLOCK_VIRTUAL);

    if (gate == c->gate) {
        return;
    }
    if (!gate) {
        c->frozen = pit_counter(c, now);
    }
    c->gate = gate;
    if (gate && c->counting && c->mode != 0 && c->mode != 4) {
        c->load_time = now;
    }
    pit_update_irq(c);
}

static uint64_t pit_port61_read(void *opaque, uint64_t addr, unsigned size)
{
    PITState *s = opaque;
    PITChannel *c = &s->ch[2];
    int64_t now = clock_get_ns(QLITE_CLOCK_VIRTUAL);

    /* Some delay loops wait for the refresh bit to flip: flip per read. */
    s->refresh = !s->refresh;
    return (c->gate ? PORT61_GATE2 : 0) |
           (s->speaker_data ? PORT61_SPKR_DATA : 0) |
           (s->refresh ? PORT61_REFRESH : 0) |
           (pit_out(c, now) ? PORT61_OUT2 : 0);
}

static void pit_port61_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    PITState *s = opaque;

    s->speaker_data = val & PORT61_SPKR_DATA;
    pit_set_gate(&s->ch[2], val & PORT61_GATE2);
}

static const MemoryRegionOps pit_port61_ops = {
    .read = pit_port61_read,
    .write = pit_port61_write,
    .valid = { .min_access_size = 1, .max_access_size = 1 },
};

/*
 * Power-on as the PC BIOS leaves nothing yet: every channel in mode 3
 * with count 0 (65536), gates 0 and 1 tied high, gate 2 low.  Channel 0
 * therefore ticks IRQ 0 at 18.2 Hz, as QEMU's PIT does after reset.
 */
static void pit_reset(DeviceState *dev)
{
    PITState *s = PIT(dev);
    int64_t now = clock_get_ns(QLITE_CLOCK_VIRTUAL);

    for (int i = 0; i < PIT_NUM_CH; i++) {
        PITChannel *c = &s->ch[i];
        QliteTimer *timer = c->timer;
        IrqLine *irq = c->irq;

        *c = (PITChannel){
            .timer = timer, .irq = irq, .mode = 3, .rw = PIT_RW_WORD,
            .count = 0x10000, .load_time = now, .counting = true,
            .gate = i != 2,
        };
        pit_update_irq(c);
    }
    s->speaker_data = false;
    s->refresh = false;
}

static void pit_realize(DeviceState *dev, GError **errp)
{
    PITState *s = PIT(dev);
    ISADevice *isa = ISA_DEVICE(dev);

    if (s->iobase > 0xfffc) {
        error_setg(errp, "isa-pit: iobase 0x%" PRIx32 " out of range",
                   s->iobase);
        return;
    }
    memory_region_init_io(&s->io, &pit_ops, s, "pit", 4);
    isa_register_ioport(isa, &s->io, s->iobase);
    memory_region_init_io(&s->port61, &pit_port61_ops, s, "pcspk", 1);
    isa_register_ioport(isa, &s->port61, 0x61);
    s->ch[0].irq = isa_get_irq(isa, 0);
    s->ch[0].timer = timer_new_ns(QLITE_CLOCK_VIRTUAL, pit_timer_cb,
                                  &s->ch[0]);
}

static void pit_unrealize(DeviceState *dev)
{
    PITState *s = PIT(dev);
    MemoryRegion *io = isa_device_bus(ISA_DEVICE(dev))->io;

    timer_free(s->ch[0].timer);
    s->ch[0].timer = NULL;
    memory_region_del_subregion(io, &s->io);
    memory_region_del_subregion(io, &s->port61);
}

static const Property pit_props[] = {
    DEFINE_PROP_UINT32("iobase", PITState, iobase, 0x40),
    DEFINE_PROP_END_OF_LIST(),
};

static void pit_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "Intel 8254 programmable interval timer";
    dc->props = pit_props;
    dc->realize = pit_realize;
    dc->unrealize = pit_unrealize;
    dc->reset = pit_reset;
    dc->user_creatable = false;
}

static const TypeInfo pit_info = {
    .name = TYPE_PIT,
    .parent = TYPE_ISA_DEVICE,
    .instance_size = sizeof(PITState),
    .class_init = pit_class_init,
};

type_init(pit_register_types)
{
    type_register(&pit_info);
}
