/*
 * 16550A UART ("isa-serial"), as on a PC's COM1-COM4.
 *
 * Register file (offset from iobase; DLAB is LCR bit 7):
 *
 *   0  RBR (read) / THR (write)      DLL when DLAB=1
 *   1  IER                           DLM when DLAB=1
 *   2  IIR (read) / FCR (write)
 *   3  LCR    4  MCR    5  LSR    6  MSR    7  SCR
 *
 * Interrupt sources, highest priority first (16550A datasheet, table 4):
 * receiver line status, received data available / character timeout,
 * transmitter holding register empty, modem status.
 *
 * Transmission is instantaneous, as in QEMU: a byte written to THR goes to
 * the chardev at once and THR reads empty again, so the guest never waits
 * on a virtual baud rate.  Reception honours the 16-byte RX FIFO: the
 * chardev gives us only as many bytes as there is room for, and we ask for
 * more when the guest drains the FIFO.  The character timeout uses the
 * virtual clock (four character times, from divisor and LCR).
 */
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "qlite/isa.h"
#include "qlite/main-loop.h"

#define TYPE_ISA_SERIAL "isa-serial"
#define SERIAL_MAX_PORTS 4
#define SERIAL_FIFO_SIZE 16
#define SERIAL_UNSET UINT32_MAX
/* 1.8432 MHz crystal / 16: the baud rate for divisor 1. */
#define SERIAL_BAUDBASE 115200

typedef struct SerialFifo {
    uint8_t data[SERIAL_FIFO_SIZE];
    unsigned head;
    unsigned count;
} SerialFifo;

typedef struct SerialState {
    ISADevice parent;

    /* properties */
    uint32_t index;
    uint32_t iobase;
    uint32_t isairq;
    CharBackend chr;

    MemoryRegion io;
    IrqLine *irq;
    QliteTimer *timeout_timer;
    bool index_taken;

    uint16_t divisor;           /* DLL | DLM << 8 */
    uint8_t ier;
#define UART_IER_RDI    0x01    /* received data available */
#define UART_IER_THRI   0x02    /* THR empty */
#define UART_IER_RLSI   0x04    /* receiver line status */
#define UART_IER_MSI    0x08    /* modem status */
#define UART_IER_MASK   0x0f
    uint8_t fcr;                /* write-only; kept for trigger level */
#define UART_FCR_ENABLE     0x01
#define UART_FCR_CLEAR_RX   0x02
#define UART_FCR_CLEAR_TX   0x04
#define UART_FCR_DMA        0x08
#define UART_FCR_TRIG_SHIFT 6
#define UART_IIR_NO_INT     0x01
#define UART_IIR_MSI        0x00
#define UART_IIR_THRI       0x02
#define UART_IIR_RDI        0x04
#define UART_IIR_RLSI       0x06
#define UART_IIR_CTI        0x0c
#define UART_IIR_FIFO       0xc0
    uint8_t lcr;
#define UART_LCR_WLEN_MASK  0x03
#define UART_LCR_STOP       0x04
#define UART_LCR_PARITY     0x08
#define UART_LCR_DLAB       0x80
    uint8_t mcr;
#define UART_MCR_DTR    0x01
#define UART_MCR_RTS    0x02
#define UART_MCR_OUT1   0x04
#define UART_MCR_OUT2   0x08
#define UART_MCR_LOOP   0x10
#define UART_MCR_MASK   0x1f
    uint8_t lsr;
#define UART_LSR_DR     0x01    /* data ready */
#define UART_LSR_OE     0x02    /* overrun */
#define UART_LSR_PE     0x04    /* parity error */
#define UART_LSR_FE     0x08    /* framing error */
#define UART_LSR_BI     0x10    /* break */
#define UART_LSR_THRE   0x20    /* THR (TX FIFO) empty */
#define UART_LSR_TEMT   0x40    /* transmitter empty */
#define UART_LSR_FIFOE  0x80    /* error in RX FIFO */
#define UART_LSR_INT_ANY (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | \
                          UART_LSR_BI)
    uint8_t msr;
#define UART_MSR_DCTS   0x01
#define UART_MSR_DDSR   0x02
#define UART_MSR_TERI   0x04    /* RI went from on to off */
#define UART_MSR_DDCD   0x08
#define UART_MSR_DELTAS 0x0f
#define UART_MSR_CTS    0x10
#define UART_MSR_DSR    0x20
#define UART_MSR_RI     0x40
#define UART_MSR_DCD    0x80
    uint8_t scr;

    bool thr_ipending;          /* THRE interrupt latched */
    bool timeout_ipending;      /* character timeout latched */
    SerialFifo rx;
    SerialFifo tx;
} SerialState;

#define ISA_SERIAL(obj) OBJECT_CHECK(SerialState, (obj), TYPE_ISA_SERIAL)

static const uint32_t serial_default_iobase[SERIAL_MAX_PORTS] = {
    0x3f8, 0x2f8, 0x3e8, 0x2e8
};
static const uint32_t serial_default_irq[SERIAL_MAX_PORTS] = { 4, 3, 4, 3 };
static const unsigned serial_trigger_levels[4] = { 1, 4, 8, 14 };
static bool serial_index_used[SERIAL_MAX_PORTS];

/* ---- FIFOs ---- */

static void serial_fifo_reset(SerialFifo *f)
{
    f->head = 0;
    f->count = 0;
}

static bool serial_fifo_push(SerialFifo *f, uint8_t b)
{
    if (f->count == SERIAL_FIFO_SIZE) {
        return false;
    }
    f->data[(f->head + f->count) % SERIAL_FIFO_SIZE] = b;
    f->count++;
    return true;
}

static uint8_t serial_fifo_pop(SerialFifo *f)
{
    uint8_t b;

    if (f->count == 0) {
        return 0;
    }
    b = f->data[f->head];
    f->head = (f->head + 1) % SERIAL_FIFO_SIZE;
    f->count--;
    return b;
}

static bool serial_fifo_enabled(SerialState *s)
{
    return s->fcr & UART_FCR_ENABLE;
}

/* Without FIFOs the receiver holds one byte (RBR). */
static unsigned serial_rx_capacity(SerialState *s)
{
    return serial_fifo_enabled(s) ? SERIAL_FIFO_SIZE : 1;
}

static unsigned serial_rx_trigger(SerialState *s)
{
    if (!serial_fifo_enabled(s)) {
        return 1;
    }
    return serial_trigger_levels[s->fcr >> UART_FCR_TRIG_SHIFT];
}

/* ---- interrupts ---- */

/* The IIR identification of the highest-priority pending source. */
static uint8_t serial_pending_iir(SerialState *s)
{
    if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_INT_ANY)) {
        return UART_IIR_RLSI;
    }
    if ((s->ier & UART_IER_RDI) && s->timeout_ipending) {
        return UART_IIR_CTI;
    }
    if ((s->ier & UART_IER_RDI) && s->rx.count >= serial_rx_trigger(s)) {
        return UART_IIR_RDI;
    }
    if ((s->ier & UART_IER_THRI) && s->thr_ipending) {
        return UART_IIR_THRI;
    }
    if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_DELTAS)) {
        return UART_IIR_MSI;
    }
    return UART_IIR_NO_INT;
}

/*
 * The INT pin follows the pending sources.  A PC gates it with OUT2; QEMU
 * does not, and guests written for QEMU rely on that, so neither do we.
 */
static void serial_update_irq(SerialState *s)
{
    irq_set(s->irq, serial_pending_iir(s) != UART_IIR_NO_INT);
}

/* ---- timing ---- */

/* Nanoseconds one character takes on the line, from LCR and divisor. */
static int64_t serial_char_ns(SerialState *s)
{
    unsigned data_bits = 5 + (s->lcr & UART_LCR_WLEN_MASK);
    unsigned bits = 1 + data_bits + 1;
    unsigned divisor = s->divisor ? s->divisor : 1;

    if (s->lcr & UART_LCR_PARITY) {
        bits++;
    }
    if (s->lcr & UART_LCR_STOP) {
        bits++;
    }
    return (int64_t)bits * divisor * 1000000000LL / SERIAL_BAUDBASE;
}

/* Character timeout: data waits in the FIFO and nothing moves for 4 chars. */
static void serial_timeout_arm(SerialState *s)
{
    if (!serial_fifo_enabled(s) || s->rx.count == 0) {
        timer_del(s->timeout_timer);
        return;
    }
    timer_mod_ns(s->timeout_timer,
                 clock_get_ns(QLITE_CLOCK_VIRTUAL) + 4 * serial_char_ns(s));
}

static void serial_timeout_expired(void *opaque)
{
    SerialState *s = opaque;

    if (s->rx.count > 0) {
        s->timeout_ipending = true;
        serial_update_irq(s);
    }
}

/* ---- receive ---- */

/*
 * Overrun (datasheet, LSR bit 1): without FIFOs the new character replaces
 * the unread one; with FIFOs the FIFO is kept and the new one is lost.
 */
static void serial_receive_byte(SerialState *s, uint8_t b)
{
    if (s->rx.count >= serial_rx_capacity(s)) {
        s->lsr |= UART_LSR_OE;
        if (!serial_fifo_enabled(s)) {
            serial_fifo_reset(&s->rx);
            serial_fifo_push(&s->rx, b);
        }
    } else {
        serial_fifo_push(&s->rx, b);
    }
    s->lsr |= UART_LSR_DR;
    serial_timeout_arm(s);
}

static int serial_can_receive(void *opaque)
{
    SerialState *s = opaque;

    if (s->mcr & UART_MCR_LOOP) {
        /* the line input is disconnected: take and drop */
        return 1;
    }
    return serial_rx_capacity(s) - s->rx.count;
}

static void serial_receive(void *opaque, const uint8_t *buf, int len)
{
    SerialState *s = opaque;

    if (s->mcr & UART_MCR_LOOP) {
        return;
    }
    for (int i = 0; i < len; i++) {
        serial_receive_byte(s, buf[i]);
    }
    serial_update_irq(s);
}

static void serial_event(void *opaque, ChrEvent event)
{
    SerialState *s = opaque;

    if (event != CHR_EVENT_BREAK || (s->mcr & UART_MCR_LOOP)) {
        return;
    }
    /* A break reads as a zero character with LSR.BI set. */
    serial_receive_byte(s, 0);
    s->lsr |= UART_LSR_BI;
    if (serial_fifo_enabled(s)) {
        s->lsr |= UART_LSR_FIFOE;   /* an error character is queued */
    }
    serial_update_irq(s);
}

static uint8_t serial_read_rbr(SerialState *s)
{
    uint8_t b = serial_fifo_pop(&s->rx);

    if (s->rx.count == 0) {
        s->lsr &= ~(UART_LSR_DR | UART_LSR_FIFOE);
    }
    s->timeout_ipending = false;
    serial_timeout_arm(s);
    serial_update_irq(s);
    if (s->chr.chr && !(s->mcr & UART_MCR_LOOP)) {
        chr_fe_accept_input(&s->chr);
    }
    return b;
}

/* ---- transmit ---- */

/* Send what the TX FIFO holds: to the line, or back to us in loopback. */
static void serial_tx_drain(SerialState *s)
{
    while (s->tx.count > 0) {
        uint8_t b = serial_fifo_pop(&s->tx);

        if (s->mcr & UART_MCR_LOOP) {
            serial_receive_byte(s, b);
        } else if (s->chr.chr) {
            /* a peer that went away loses the byte, as a cut cable would */
            chr_fe_write_all(&s->chr, &b, 1);
        }
    }
    s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    s->thr_ipending = true;
}

static void serial_write_thr(SerialState *s, uint8_t b)
{
    s->thr_ipending = false;
    s->lsr &= ~(UART_LSR_THRE | UART_LSR_TEMT);
    if (!serial_fifo_push(&s->tx, b)) {
        qlite_log_guest_error("isa-serial: TX FIFO overrun, byte dropped");
    }
    serial_tx_drain(s);
    serial_update_irq(s);
}

/* ---- modem control and status ---- */

/* The modem inputs: looped from MCR, else a always-ready line. */
static uint8_t serial_modem_inputs(SerialState *s)
{
    uint8_t in = 0;

    if (!(s->mcr & UART_MCR_LOOP)) {
        return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    }
    in |= (s->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0;
    in |= (s->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0;
    in |= (s->mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0;
    in |= (s->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0;
    return in;
}

/* Recompute MSR's upper half and latch the deltas (TERI: RI falls). */
static void serial_update_msr(SerialState *s)
{
    uint8_t old = s->msr;
    uint8_t now = serial_modem_inputs(s);
    uint8_t changed = old ^ now;

    s->msr = (old & UART_MSR_DELTAS) | now;
    s->msr |= (changed & UART_MSR_CTS) ? UART_MSR_DCTS : 0;
    s->msr |= (changed & UART_MSR_DSR) ? UART_MSR_DDSR : 0;
    s->msr |= (changed & UART_MSR_DCD) ? UART_MSR_DDCD : 0;
    s->msr |= ((old & UART_MSR_RI) && !(now & UART_MSR_RI)) ?
              UART_MSR_TERI : 0;
}

static void serial_write_mcr(SerialState *s, uint8_t val)
{
    bool was_loop = s->mcr & UART_MCR_LOOP;

    s->mcr = val & UART_MCR_MASK;
    serial_update_msr(s);
    if (was_loop && !(s->mcr & UART_MCR_LOOP) && s->chr.chr) {
        chr_fe_accept_input(&s->chr);
    }
}

/* ---- FIFO control ---- */

static void serial_clear_rx(SerialState *s)
{
    serial_fifo_reset(&s->rx);
    s->lsr &= ~(UART_LSR_DR | UART_LSR_FIFOE);
    s->timeout_ipending = false;
    timer_del(s->timeout_timer);
}

static void serial_clear_tx(SerialState *s)
{
    serial_fifo_reset(&s->tx);
    s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    s->thr_ipending = true;
}

static void serial_write_fcr(SerialState *s, uint8_t val)
{
    /* Turning the FIFOs on or off empties both (datasheet, FCR bit 0). */
    if ((val ^ s->fcr) & UART_FCR_ENABLE) {
        val |= UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX;
    }
    if (val & UART_FCR_CLEAR_RX) {
        serial_clear_rx(s);
    }
    if (val & UART_FCR_CLEAR_TX) {
        serial_clear_tx(s);
    }
    s->fcr = val & (UART_FCR_ENABLE | UART_FCR_DMA | 0xc0);
    if (s->chr.chr) {
        chr_fe_accept_input(&s->chr);
    }
}

/* ---- register access ---- */

static uint8_t serial_read_iir(SerialState *s)
{
    uint8_t iir = serial_pending_iir(s);

    /* Reading IIR that names THRE is what acknowledges it. */
    if (iir == UART_IIR_THRI) {
        s->thr_ipending = false;
        serial_update_irq(s);
    }
    return iir | (serial_fifo_enabled(s) ? UART_IIR_FIFO : 0);
}

static uint8_t serial_read_lsr(SerialState *s)
{
    uint8_t lsr = s->lsr;

    s->lsr &= ~(UART_LSR_INT_ANY | UART_LSR_FIFOE);
    serial_update_irq(s);
    return lsr;
}

static uint8_t serial_read_msr(SerialState *s)
{
    uint8_t msr = s->msr;

    s->msr &= ~UART_MSR_DELTAS;
    serial_update_irq(s);
    return msr;
}

static uint64_t serial_io_read(void *opaque, uint64_t addr, unsigned size)
{
    SerialState *s = opaque;
    bool dlab = s->lcr & UART_LCR_DLAB;

    switch (addr) {
    case 0:
        return dlab ? (s->divisor & 0xff) : serial_read_rbr(s);
    case 1:
        return dlab ? (s->divisor >> 8) : s->ier;
    case 2:
        return serial_read_iir(s);
    case 3:
        return s->lcr;
    case 4:
        return s->mcr;
    case 5:
        return serial_read_lsr(s);
    case 6:
        return serial_read_msr(s);
    case 7:
        return s->scr;
    }
    return 0xff;
}

static void serial_write_ier(SerialState *s, uint8_t val)
{
    uint8_t old = s->ier;

    s->ier = val & UART_IER_MASK;
    /* Enabling ETBEI with THR empty raises THRE at once (16550A). */
    if (!(old & UART_IER_THRI) && (s->ier & UART_IER_THRI) &&
        (s->lsr & UART_LSR_THRE)) {
        s->thr_ipending = true;
    }
}

static void serial_io_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    SerialState *s = opaque;
    bool dlab = s->lcr & UART_LCR_DLAB;
    uint8_t v = val;

    switch (addr) {
    case 0:
        if (dlab) {
            s->divisor = (s->divisor & 0xff00) | v;
            return;
        }
        serial_write_thr(s, v);
        return;
    case 1:
        if (dlab) {
            s->divisor = (s->divisor & 0x00ff) | (v << 8);
            return;
        }
        serial_write_ier(s, v);
        break;
    case 2:
        serial_write_fcr(s, v);
        break;
    case 3:
        s->lcr = v;
        break;
    case 4:
        serial_write_mcr(s, v);
        break;
    case 5:
    case 6:
        qlite_log_guest_error("isa-serial: write 0x%02x to read-only "
                              "register %" PRIu64, v, addr);
        return;
    case 7:
        s->scr = v;
        return;
    }
    serial_update_irq(s);
}

static const MemoryRegionOps serial_io_ops = {
    .read = serial_io_read,
    .write = serial_io_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 1, .max_access_size = 1 },
};

/* ---- lifecycle ---- */

/* Power-on values, as QEMU's model has them (9600 baud, OUT2 set). */
static void serial_reset(DeviceState *dev)
{
    SerialState *s = ISA_SERIAL(dev);

    s->divisor = 12;
    s->ier = 0;
    s->fcr = 0;
    s->lcr = 0;
    s->mcr = UART_MCR_OUT2;
    s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    s->scr = 0;
    s->thr_ipending = false;
    s->timeout_ipending = false;
    serial_fifo_reset(&s->rx);
    serial_fifo_reset(&s->tx);
    if (s->timeout_timer) {
        timer_del(s->timeout_timer);
    }
    serial_update_irq(s);
    if (s->chr.chr) {
        chr_fe_accept_input(&s->chr);
    }
}

static bool serial_pick_index(SerialState *s, GError **errp)
{
    if (s->index == SERIAL_UNSET) {
        for (uint32_t i = 0; i < SERIAL_MAX_PORTS; i++) {
            if (!serial_index_used[i]) {
                s->index = i;
                break;
            }
        }
    }
    if (s->index >= SERIAL_MAX_PORTS) {
        error_setg(errp, "Max. supported number of ISA serial ports is %d.",
                   SERIAL_MAX_PORTS);
        return false;
    }
    if (serial_index_used[s->index]) {
        error_setg(errp, "Serial port index %" PRIu32 " is already in use",
                   s->index);
        return false;
    }
    return true;
}

static void serial_realize(DeviceState *dev, GError **errp)
{
    SerialState *s = ISA_SERIAL(dev);

    if (!serial_pick_index(s, errp)) {
        return;
    }
    if (s->iobase == SERIAL_UNSET) {
        s->iobase = serial_default_iobase[s->index];
    }
    if (s->isairq == SERIAL_UNSET) {
        s->isairq = serial_default_irq[s->index];
    }
    if (s->isairq >= ISA_NUM_IRQS) {
        error_setg(errp, "isairq %" PRIu32 " invalid", s->isairq);
        return;
    }
    if (s->iobase > 0x10000 - 8) {
        error_setg(errp, "iobase 0x%" PRIx32 " invalid", s->iobase);
        return;
    }
    serial_index_used[s->index] = true;
    s->index_taken = true;
    s->irq = isa_get_irq(ISA_DEVICE(dev), s->isairq);
    s->timeout_timer = timer_new_ns(QLITE_CLOCK_VIRTUAL,
                                    serial_timeout_expired, s);
    memory_region_init_io(&s->io, &serial_io_ops, s, "serial", 8);
    isa_register_ioport(ISA_DEVICE(dev), &s->io, s->iobase);
    if (s->chr.chr) {
        chr_fe_set_handlers(&s->chr, serial_can_receive, serial_receive,
                            serial_event, s);
    }
    serial_reset(dev);
}

static void serial_unrealize(DeviceState *dev)
{
    SerialState *s = ISA_SERIAL(dev);

    if (s->chr.chr) {
        chr_fe_set_handlers(&s->chr, NULL, NULL, NULL, NULL);
    }
    if (s->io.container) {
        memory_region_del_subregion(s->io.container, &s->io);
    }
    timer_free(s->timeout_timer);
    s->timeout_timer = NULL;
    if (s->index_taken) {
        serial_index_used[s->index] = false;
        s->index_taken = false;
    }
}

static const Property serial_props[] = {
    DEFINE_PROP_UINT32("index", SerialState, index, SERIAL_UNSET),
    DEFINE_PROP_UINT32("iobase", SerialState, iobase, SERIAL_UNSET),
    DEFINE_PROP_UINT32("irq", SerialState, isairq, SERIAL_UNSET),
    DEFINE_PROP_CHR("chardev", SerialState, chr),
    DEFINE_PROP_END_OF_LIST(),
};

static void serial_class_init(ObjectClass *klass, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->desc = NULL;
    dc->category = DEVICE_CATEGORY_INPUT;
    dc->props = serial_props;
    dc->bus_type = TYPE_ISA_BUS;
    dc->user_creatable = true;
    dc->realize = serial_realize;
    dc->unrealize = serial_unrealize;
    dc->reset = serial_reset;
}

static const TypeInfo serial_info = {
    .name = TYPE_ISA_SERIAL,
    .parent = TYPE_ISA_DEVICE,
    .instance_size = sizeof(SerialState),
    .class_init = serial_class_init,
};

type_init(serial_register_types)
{
    type_register(&serial_info);
}
