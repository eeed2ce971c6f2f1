/*
 * Intel 8042 keyboard controller with a PS/2 keyboard and mouse that
 * answer the commands an OS probes with, at I/O ports 0x60 (data) and
 * 0x64 (status/command), IRQ 1 (keyboard) and IRQ 12 (mouse).
 *
 * Besides input (none yet: qlite has no display), the controller's output
 * port carries the A20 gate (bit 1, GPIO output "a20") and the CPU reset
 * line (bit 0, active low): command 0xfe pulses it, the classic reboot.
 *
 * Bytes for the host wait in one queue, each tagged keyboard or mouse;
 * the head is what port 0x60 returns and what the status bits and IRQ
 * lines describe.
 */
#include "qlite/error.h"
#include "qlite/isa.h"
#include "qlite/runstate.h"

#define TYPE_I8042 "i8042"

/* Status register (port 0x64 read). */
#define STAT_OBF        0x01    /* output buffer full */
#define STAT_SELFTEST   0x04    /* system flag: self-test passed */
#define STAT_CMD        0x08    /* last write went to port 0x64 */
#define STAT_UNLOCKED   0x10    /* keyboard not inhibited */
#define STAT_AUX_OBF    0x20    /* output buffer holds mouse data */

/* Controller command byte ("mode"). */
#define MODE_KBD_INT    0x01
#define MODE_AUX_INT    0x02
#define MODE_SYS        0x04
#define MODE_DISABLE_KBD 0x10
#define MODE_DISABLE_AUX 0x20
#define MODE_DEFAULT    (MODE_KBD_INT | MODE_AUX_INT)

/* Output port. */
#define OUT_RESET       0x01    /* low: CPU in reset */
#define OUT_A20         0x02
#define OUT_ONES        0xcc
#define OUT_DEFAULT     (OUT_RESET | OUT_A20 | OUT_ONES)

/* Controller commands (port 0x64 write). */
enum {
    CCMD_READ_MODE = 0x20, CCMD_WRITE_MODE = 0x60,
    CCMD_DISABLE_AUX = 0xa7, CCMD_ENABLE_AUX = 0xa8, CCMD_TEST_AUX = 0xa9,
    CCMD_SELF_TEST = 0xaa, CCMD_TEST_KBD = 0xab, CCMD_DISABLE_KBD = 0xad,
    CCMD_ENABLE_KBD = 0xae, CCMD_READ_INPORT = 0xc0,
    CCMD_READ_OUTPORT = 0xd0, CCMD_WRITE_OUTPORT = 0xd1,
    CCMD_WRITE_KBD_OBUF = 0xd2, CCMD_WRITE_AUX_OBUF = 0xd3,
    CCMD_WRITE_AUX = 0xd4, CCMD_DISABLE_A20 = 0xdd, CCMD_ENABLE_A20 = 0xdf,
    CCMD_PULSE_FIRST = 0xf0,
};

/* Device replies. */
#define REPLY_ACK       0xfa
#define REPLY_RESEND    0xfe
#define REPLY_BAT_OK    0xaa
#define REPLY_ECHO      0xee

#define I8042_QUEUE_LEN 16

typedef struct I8042Byte {
    uint8_t val;
    bool aux;
} I8042Byte;

typedef struct I8042State {
    ISADevice parent;
    MemoryRegion data_io;
    MemoryRegion cmd_io;
    uint8_t status;
    uint8_t mode;
    uint8_t outport;
    uint8_t pending_cmd;        /* controller command awaiting data */
    uint8_t kbd_pending;        /* keyboard command awaiting its argument */
    uint8_t aux_pending;        /* mouse command awaiting its argument */
    bool kbd_scanning;
    I8042Byte queue[I8042_QUEUE_LEN];
    unsigned q_head, q_len;
    IrqLine *irq_kbd;
    IrqLine *irq_aux;
    IrqLine *a20_out[1];
} I8042State;

#define I8042(obj) OBJECT_CHECK(I8042State, (obj), TYPE_I8042)

static void i8042_update_irq(I8042State *s)
{
    bool kbd = false, aux = false;

    s->status &= ~(STAT_OBF | STAT_AUX_OBF);
    if (s->q_len) {
        const I8042Byte *b = &s->queue[s->q_head];

        s->status |= STAT_OBF | (b->aux ? STAT_AUX_OBF : 0);
        aux = b->aux && (s->mode & MODE_AUX_INT);
        kbd = !b->aux && (s->mode & MODE_KBD_INT);
    }
    irq_set(s->irq_kbd, kbd);
    irq_set(s->irq_aux, aux);
}

static void i8042_queue(I8042State *s, uint8_t val, bool aux)
{
    if (s->q_len == I8042_QUEUE_LEN) {
        return;     /* a real controller would overrun too */
    }
    s->queue[(s->q_head + s->q_len++) % I8042_QUEUE_LEN] =
        (I8042Byte){ val, aux };
    i8042_update_irq(s);
}

static void i8042_set_outport(I8042State *s, uint8_t val)
{
    s->outport = val;
    irq_set(s->a20_out[0], (val & OUT_A20) != 0);
    if (!(val & OUT_RESET)) {
        qlite_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

/* ------------------------------------------------------------------------
 * The keyboard and the mouse behind the controller
 */

static void i8042_kbd_command(I8042State *s, uint8_t val)
{
    if (s->kbd_pending) {
        /* LEDs, typematic rate, scancode set: take the argument. */
        s->kbd_pending = 0;
        i8042_queue(s, REPLY_ACK, false);
        return;
    }
    switch (val) {
    case 0xed:  /* set LEDs */
    case 0xf3:  /* set typematic rate */
    case 0xf0:  /* select scancode set */
        s->kbd_pending = val;
        i8042_queue(s, REPLY_ACK, false);
        break;
    case 0xee:
        i8042_queue(s, REPLY_ECHO, false);
        break;
    case 0xf2:  /* identify: MF2 keyboard */
        i8042_queue(s, REPLY_ACK, false);
        i8042_queue(s, 0xab, false);
        i8042_queue(s, 0x83, false);
        break;
    case 0xf4:
        s->kbd_scanning = true;
        i8042_queue(s, REPLY_ACK, false);
        break;
    case 0xf5:
        s->kbd_scanning = false;
        i8042_queue(s, REPLY_ACK, false);
        break;
    case 0xf6:
        s->kbd_scanning = true;
        i8042_queue(s, REPLY_ACK, false);
        break;
    case 0xff:  /* reset and self-test */
        s->kbd_scanning = true;
        i8042_queue(s, REPLY_ACK, false);
        i8042_queue(s, REPLY_BAT_OK, false);
        break;
    default:
        i8042_queue(s, REPLY_ACK, false);
        break;
    }
}

static void i8042_aux_command(I8042State *s, uint8_t val)
{
    if (s->aux_pending) {
        s->aux_pending = 0;
        i8042_queue(s, REPLY_ACK, true);
        return;
    }
    i8042_queue(s, REPLY_ACK, true);
    switch (val) {
    case 0xe8:  /* set resolution */
    case 0xf3:  /* set sample rate */
        s->aux_pending = val;
        break;
    case 0xe9:  /* status request: stream mode, 4 counts/mm, 100/s */
        i8042_queue(s, 0x00, true);
        i8042_queue(s, 0x02, true);
        i8042_queue(s, 0x64, true);
        break;
    case 0xf2:  /* identify: standard PS/2 mouse */
        i8042_queue(s, 0x00, true);
        break;
    case 0xff:  /* reset */
        i8042_queue(s, REPLY_BAT_OK, true);
        i8042_queue(s, 0x00, true);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------------
 * The controller
 */

static void i8042_controller_command(I8042State *s, uint8_t cmd)
{
    switch (cmd) {
    case CCMD_READ_MODE:
        i8042_queue(s, s->mode, false);
        break;
    case CCMD_WRITE_MODE:
    case CCMD_WRITE_OUTPORT:
    case CCMD_WRITE_KBD_OBUF:
    case CCMD_WRITE_AUX_OBUF:
    case CCMD_WRITE_AUX:
        s->pending_cmd = cmd;
        break;
    case CCMD_DISABLE_AUX:
        s->mode |= MODE_DISABLE_AUX;
        break;
    case CCMD_ENABLE_AUX:
        s->mode &= ~MODE_DISABLE_AUX;
        break;
    case CCMD_TEST_AUX:
    case CCMD_TEST_KBD:
        i8042_queue(s, 0x00, false);    /* no interface error */
        break;
    case CCMD_SELF_TEST:
        s->status |= STAT_SELFTEST;
        i8042_queue(s, 0x55, false);
        break;
    case CCMD_DISABLE_KBD:
        s->mode |= MODE_DISABLE_KBD;
        break;
    case CCMD_ENABLE_KBD:
        s->mode &= ~MODE_DISABLE_KBD;
        break;
    case CCMD_READ_INPORT:
        i8042_queue(s, 0x80, false);    /* keyboard not inhibited */
        break;
    case CCMD_READ_OUTPORT:
        i8042_queue(s, s->outport, false);
        break;
    case CCMD_DISABLE_A20:
        i8042_set_outport(s, s->outport & ~OUT_A20);
        break;
    case CCMD_ENABLE_A20:
        i8042_set_outport(s, s->outport | OUT_A20);
        break;
    default:
        if (cmd >= CCMD_PULSE_FIRST) {
            /* Pulse the low bits that are 0; bit 0 is CPU reset. */
            if (!(cmd & OUT_RESET)) {
                qlite_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
            }
        } else {
            qlite_log_guest_error("i8042: unknown command 0x%02x", cmd);
        }
        break;
    }
}

static void i8042_write_data(I8042State *s, uint8_t val)
{
    uint8_t cmd = s->pending_cmd;

    s->pending_cmd = 0;
    switch (cmd) {
    case CCMD_WRITE_MODE:
        s->mode = val;
        i8042_update_irq(s);
        break;
    case CCMD_WRITE_OUTPORT:
        i8042_set_outport(s, val);
        break;
    case CCMD_WRITE_KBD_OBUF:
        i8042_queue(s, val, false);
        break;
    case CCMD_WRITE_AUX_OBUF:
        i8042_queue(s, val, true);
        break;
    case CCMD_WRITE_AUX:
        i8042_aux_command(s, val);
        break;
    default:
        i8042_kbd_command(s, val);
        break;
    }
}

static uint64_t i8042_data_read(void *opaque, uint64_t addr, unsigned size)
{
    I8042State *s = opaque;
    uint8_t val;

    if (!s->q_len) {
        /* Reading an empty buffer returns the last byte again. */
        return s->queue[(s->q_head + I8042_QUEUE_LEN - 1) %
                        I8042_QUEUE_LEN].val;
    }
    val = s->queue[s->q_head].val;
    s->q_head = (s->q_head + 1) % I8042_QUEUE_LEN;
    s->q_len--;
    /* The line drops with OBF; the next byte makes a new edge. */
    irq_set(s->irq_kbd, 0);
    irq_set(s->irq_aux, 0);
    i8042_update_irq(s);
    return val;
}

static void i8042_data_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    I8042State *s = opaque;

    s->status &= ~STAT_CMD;
    i8042_write_data(s, val);
}

static const MemoryRegionOps i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
    .valid = { .min_access_size = 1, .max_access_size = 1 },
};

static uint64_t i8042_cmd_read(void *opaque, uint64_t addr, unsigned size)
{
    I8042State *s = opaque;

    return s->status;
}

static void i8042_cmd_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    I8042State *s = opaque;

    s->status |= STAT_CMD;
    s->pending_cmd = 0;
    i8042_controller_command(s, val);
}

static const MemoryRegionOps i8042_cmd_ops = {
    .read = i8042_cmd_read,
    .write = i8042_cmd_write,
    .valid = { .min_access_size = 1, .max_access_size = 1 },
};

static void i8042_reset(DeviceState *dev)
{
    I8042State *s = I8042(dev);

    s->mode = MODE_DEFAULT;
    s->status = STAT_CMD | STAT_UNLOCKED;
    s->outport = OUT_DEFAULT;
    s->pending_cmd = s->kbd_pending = s->aux_pending = 0;
    s->kbd_scanning = true;
    s->q_head = s->q_len = 0;
    memset(s->queue, 0, sizeof(s->queue));
    i8042_update_irq(s);
}

static void i8042_realize(DeviceState *dev, GError **errp)
{
    I8042State *s = I8042(dev);
    ISADevice *isa = ISA_DEVICE(dev);

    memory_region_init_io(&s->data_io, &i8042_data_ops, s, "i8042-data", 1);
    isa_register_ioport(isa, &s->data_io, 0x60);
    memory_region_init_io(&s->cmd_io, &i8042_cmd_ops, s, "i8042-cmd", 1);
    isa_register_ioport(isa, &s->cmd_io, 0x64);
    s->irq_kbd = isa_get_irq(isa, 1);
    s->irq_aux = isa_get_irq(isa, 12);
    qdev_init_gpio_out_named(dev, s->a20_out, "a20", 1);
}

static void i8042_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "i8042 keyboard controller";
    dc->category = DEVICE_CATEGORY_INPUT;
    dc->realize = i8042_realize;
    dc->reset = i8042_reset;
    dc->user_creatable = false;
}

static const TypeInfo i8042_info = {
    .name = TYPE_I8042,
    .parent = TYPE_ISA_DEVICE,
    .instance_size = sizeof(I8042State),
    .class_init = i8042_class_init,
};

type_init(i8042_register_types)
{
    type_register(&i8042_info);
}
