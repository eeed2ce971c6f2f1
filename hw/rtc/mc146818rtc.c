/*
 * Motorola MC146818 real-time clock with 128 bytes of CMOS memory, at
 * I/O ports 0x70 (index; bit 7 masks NMI) and 0x71 (data), on ISA IRQ 8.
 *
 * The time of day is the host's UTC time at start-up plus the virtual
 * time elapsed since, so it stops while the VM is paused and moves only
 * when a qtest steps the clock.  The clock registers are computed when
 * read; a guest that sets the time (SET bit, or a write with SET clear)
 * moves the offset.  Interrupts (data sheet "Interrupts"): periodic (PF)
 * at the rate register A selects, alarm (AF) and update-ended (UF) once
 * a second; register C reports and clears them, and IRQ 8 follows
 * IRQF = (PF & PIE) | (AF & AIE) | (UF & UIE).  An enabled alarm also
 * wakes a machine suspended to RAM (if the guest let it: PM1_EN.RTC_EN).
 */
#include "qlite/error.h"
#include "qlite/isa.h"
#include "qlite/main-loop.h"
#include "qlite/rtc.h"
#include "qlite/runstate.h"

#include <time.h>

#define RTC_CMOS_SIZE       128
#define RTC_NS              INT64_C(1000000000)
/* Dates within +-146 years of 1970: half of what int64_t ns can hold. */
#define RTC_MAX_SECONDS     (INT64_MAX / RTC_NS / 2)

/* Clock registers. */
#define RTC_SECONDS         0x00
#define RTC_SECONDS_ALARM   0x01
#define RTC_MINUTES         0x02
#define RTC_MINUTES_ALARM   0x03
#define RTC_HOURS           0x04
#define RTC_HOURS_ALARM     0x05
#define RTC_DAY_OF_WEEK     0x06
#define RTC_DAY_OF_MONTH    0x07
#define RTC_MONTH           0x08
#define RTC_YEAR            0x09
#define RTC_REG_A           0x0a
#define   REG_A_UIP         0x80    /* update in progress */
#define   REG_A_DV_MASK     0x70    /* divider: 010 = 32.768 kHz, running */
#define   REG_A_DV_NORMAL   0x20
#define   REG_A_RS_MASK     0x0f    /* periodic rate select */
#define RTC_REG_B           0x0b
#define   REG_B_SET         0x80
#define   REG_B_PIE         0x40
#define   REG_B_AIE         0x20
#define   REG_B_UIE         0x10
#define   REG_B_SQWE        0x08
#define   REG_B_DM          0x04    /* 1: binary, 0: BCD */
#define   REG_B_24H         0x02
#define   REG_B_DSE         0x01
#define RTC_REG_C           0x0c
#define   REG_C_IRQF        0x80
#define   REG_C_PF          0x40
#define   REG_C_AF          0x20
#define   REG_C_UF          0x10
#define   REG_C_MASK        0x70
#define RTC_REG_D           0x0d
#define   REG_D_VRT         0x80    /* valid RAM and time */
#define RTC_CENTURY         0x32    /* IBM's century byte (BCD) */
#define RTC_PS2_CENTURY     0x37

/* UIP is set this long before each update (data sheet: 244 us). */
#define RTC_UIP_NS          244000
/* An alarm byte with its two top bits set matches any value. */
#define RTC_ALARM_DONT_CARE 0xc0

typedef struct RTCState {
    ISADevice parent;
    uint32_t iobase;
    int32_t base_year;
    MemoryRegion io;
    uint8_t cmos[RTC_CMOS_SIZE];
    uint8_t index;
    /* UTC seconds (times 1e9) of virtual time 0: time = offset + now. */
    int64_t offset_ns;
    int64_t last_second;        /* the last second the 1 Hz tick saw */
    QliteTimer *periodic_timer;
    QliteTimer *second_timer;
    int64_t next_periodic;
    IrqLine *irq;
    /*
     * lost_tick_policy=slew (-rtc driftfix=slew): periodic ticks the
     * guest could not take (PF still set, or the timer ran late) are
     * counted and given again, one after each REG_C read, so a guest that
     * counts ticks for its time keeps time.
     */
    char *lost_tick_policy;
    bool slew;
    uint32_t coalesced;
    QliteTimer *reinject_timer;
} RTCState;

/* Lost ticks kept at most (8 s at 1024 Hz), and how soon one is redone. */
#define RTC_MAX_COALESCED   8192
#define RTC_REINJECT_NS     100000

#define RTC(obj) OBJECT_CHECK(RTCState, (obj), TYPE_MC146818_RTC)

static int64_t rtc_now(void)
{
    return clock_get_ns(QLITE_CLOCK_VIRTUAL);
}

static int64_t rtc_time_ns(RTCState *s)
{
    return s->offset_ns + rtc_now();
}

static void rtc_update_irq(RTCState *s)
{
    uint8_t b = s->cmos[RTC_REG_B];
    uint8_t pending = s->cmos[RTC_REG_C] & b & (REG_B_PIE | REG_B_AIE |
                                                 REG_B_UIE);

    /* REG_C's PF/AF/UF bits sit where REG_B's PIE/AIE/UIE do. */
    if (pending) {
        s->cmos[RTC_REG_C] |= REG_C_IRQF;
    } else {
        s->cmos[RTC_REG_C] &= ~REG_C_IRQF;
    }
    irq_set(s->irq, pending != 0);
}

/* ------------------------------------------------------------------------
 * Time registers: binary/BCD and 12/24-hour formats (data sheet table 3)
 */

static uint8_t rtc_to_reg(RTCState *s, int v)
{
    if (s->cmos[RTC_REG_B] & REG_B_DM) {
        return v;
    }
    return ((v / 10) << 4) | (v % 10);
}

static int rtc_from_reg(RTCState *s, uint8_t v)
{
    if (s->cmos[RTC_REG_B] & REG_B_DM) {
        return v;
    }
    return (v >> 4) * 10 + (v & 15);
}

static uint8_t rtc_hour_to_reg(RTCState *s, int hour)
{
    int h12;

    if (s->cmos[RTC_REG_B] & REG_B_24H) {
        return rtc_to_reg(s, hour);
    }
    h12 = hour % 12 ? hour % 12 : 12;
    return rtc_to_reg(s, h12) | (hour >= 12 ? 0x80 : 0);
}

static int rtc_hour_from_reg(RTCState *s, uint8_t v)
{
    int h;

    if (s->cmos[RTC_REG_B] & REG_B_24H) {
        return rtc_from_reg(s, v);
    }
    h = rtc_from_reg(s, v & 0x7f) % 12;
    return (v & 0x80) ? h + 12 : h;
}

/* Refresh registers 0x00-0x09 and the century from the clock. */
static void rtc_fill_time(RTCState *s)
{
    time_t t = (time_t)(rtc_time_ns(s) / RTC_NS);
    int year;
    struct tm tm;

    gmtime_r(&t, &tm);
    year = tm.tm_year + 1900;
    s->cmos[RTC_SECONDS] = rtc_to_reg(s, tm.tm_sec);
    s->cmos[RTC_MINUTES] = rtc_to_reg(s, tm.tm_min);
    s->cmos[RTC_HOURS] = rtc_hour_to_reg(s, tm.tm_hour);
    s->cmos[RTC_DAY_OF_WEEK] = rtc_to_reg(s, tm.tm_wday + 1);
    s->cmos[RTC_DAY_OF_MONTH] = rtc_to_reg(s, tm.tm_mday);
    s->cmos[RTC_MONTH] = rtc_to_reg(s, tm.tm_mon + 1);
    s->cmos[RTC_YEAR] = rtc_to_reg(s, (year - s->base_year + 100) % 100);
    s->cmos[RTC_CENTURY] = rtc_to_reg(s, year / 100);
}

/* The guest wrote the time: move the offset so the clock reads it. */
static void rtc_take_time(RTCState *s)
{
    struct tm tm = { 0 };
    int year = rtc_from_reg(s, s->cmos[RTC_YEAR]) % 100;
    int century = rtc_from_reg(s, s->cmos[RTC_CENTURY]);
    time_t t;

    tm.tm_sec = rtc_from_reg(s, s->cmos[RTC_SECONDS]) % 60;
    tm.tm_min = rtc_from_reg(s, s->cmos[RTC_MINUTES]) % 60;
    tm.tm_hour = rtc_hour_from_reg(s, s->cmos[RTC_HOURS]) % 24;
    tm.tm_mday = rtc_from_reg(s, s->cmos[RTC_DAY_OF_MONTH]);
    tm.tm_mon = rtc_from_reg(s, s->cmos[RTC_MONTH]) - 1;
    /* The century byte is what Linux writes; else base_year decides. */
    if (century >= 19 && century <= 99) {
        tm.tm_year = century * 100 + year - 1900;
    } else {
        tm.tm_year = s->base_year + year - 1900;
    }
    t = timegm(&tm);
    /*
     * Out-of-range BCD digits normalise to any year; the clock counts in
     * int64_t nanoseconds, so refuse what it cannot hold (with room for
     * the virtual clock added to it).
     */
    if (t == (time_t)-1 || t > RTC_MAX_SECONDS || t < -RTC_MAX_SECONDS) {
        qlite_log_guest_error("mc146818rtc: invalid date written");
        return;
    }
    /* Keep the sub-second phase: the next update comes a second later. */
    s->offset_ns = (int64_t)t * RTC_NS - rtc_now() +
                   (rtc_time_ns(s) % RTC_NS);
    s->last_second = rtc_time_ns(s) / RTC_NS;
}

/* ------------------------------------------------------------------------
 * Periodic interrupt (register A rate select)
 */

/* Period in ns, or 0 when stopped: rates 1 and 2 alias 8 and 9. */
static int64_t rtc_periodic_ns(RTCState *s)
{
    unsigned rs = s->cmos[RTC_REG_A] & REG_A_RS_MASK;

    if (!rs || (s->cmos[RTC_REG_A] & REG_A_DV_MASK) != REG_A_DV_NORMAL) {
        return 0;
    }
    if (rs <= 2) {
        rs += 7;
    }
    /* (1 << (rs - 1)) periods of the 32.768 kHz time base. */
    return (int64_t)(((uint64_t)1 << (rs - 1)) * RTC_NS / 32768);
}

static void rtc_arm_periodic(RTCState *s)
{
    int64_t period = rtc_periodic_ns(s);
    int64_t now = rtc_now();

    if (!period || !(s->cmos[RTC_REG_B] & REG_B_PIE)) {
        timer_del(s->periodic_timer);
        s->coalesced = 0;
        return;
    }
    /* Periods are aligned to the time base, as the divider chain is. */
    s->next_periodic = (rtc_time_ns(s) / period + 1) * period - s->offset_ns;
    if (s->next_periodic <= now) {
        s->next_periodic = now + 1;
    }
    timer_mod_ns(s->periodic_timer, s->next_periodic);
}

static void rtc_coalesce(RTCState *s, int64_t ticks)
{
    s->coalesced = MIN(s->coalesced + ticks, RTC_MAX_COALESCED);
}

static void rtc_periodic_cb(void *opaque)
{
    RTCState *s = opaque;
    int64_t period = rtc_periodic_ns(s);
    /* This tick, and those the timer was too late for. */
    int64_t ticks = 1 + (period ? (rtc_now() - s->next_periodic) / period
                                : 0);

    if (s->slew && (s->cmos[RTC_REG_C] & REG_C_PF)) {
        rtc_coalesce(s, ticks);         /* the last one is not taken yet */
    } else {
        s->cmos[RTC_REG_C] |= REG_C_PF;
        rtc_update_irq(s);
        if (s->slew) {
            rtc_coalesce(s, ticks - 1);
        }
    }
    rtc_arm_periodic(s);
}

/* A lost tick given again, once the guest took the one before. */
static void rtc_reinject_cb(void *opaque)
{
    RTCState *s = opaque;

    if (s->coalesced && !(s->cmos[RTC_REG_C] & REG_C_PF)) {
        s->coalesced--;
        s->cmos[RTC_REG_C] |= REG_C_PF;
        rtc_update_irq(s);
    }
}

/* ------------------------------------------------------------------------
 * Once a second: update-ended and alarm
 */

static bool rtc_alarm_field(RTCState *s, int alarm_reg, int time_reg)
{
    uint8_t a = s->cmos[alarm_reg];

    return (a & RTC_ALARM_DONT_CARE) == RTC_ALARM_DONT_CARE ||
           a == s->cmos[time_reg];
}

static bool rtc_alarm_matches(RTCState *s)
{
    return rtc_alarm_field(s, RTC_SECONDS_ALARM, RTC_SECONDS) &&
           rtc_alarm_field(s, RTC_MINUTES_ALARM, RTC_MINUTES) &&
           rtc_alarm_field(s, RTC_HOURS_ALARM, RTC_HOURS);
}

/*
 * Account every second boundary passed since the last call: UF for each
 * update, AF when the time now matches the alarm.
 */
static void rtc_catch_up(RTCState *s)
{
    int64_t sec = rtc_time_ns(s) / RTC_NS;

    if (sec == s->last_second || (s->cmos[RTC_REG_B] & REG_B_SET) ||
        (s->cmos[RTC_REG_A] & REG_A_DV_MASK) != REG_A_DV_NORMAL) {
        s->last_second = sec;
        return;
    }
    s->last_second = sec;
    s->cmos[RTC_REG_C] |= REG_C_UF;
    rtc_fill_time(s);
    if (rtc_alarm_matches(s)) {
        s->cmos[RTC_REG_C] |= REG_C_AF;
        if (s->cmos[RTC_REG_B] & REG_B_AIE) {
            qlite_system_wakeup_request(WAKEUP_REASON_RTC, NULL);
        }
    }
    rtc_update_irq(s);
}

static void rtc_arm_second(RTCState *s)
{
    int64_t next;

    if (!(s->cmos[RTC_REG_B] & (REG_B_UIE | REG_B_AIE))) {
        timer_del(s->second_timer);
        return;
    }
    next = (rtc_time_ns(s) / RTC_NS + 1) * RTC_NS - s->offset_ns;
    timer_mod_ns(s->second_timer, next);
}

static void rtc_second_cb(void *opaque)
{
    RTCState *s = opaque;

    rtc_catch_up(s);
    rtc_arm_second(s);
}

/* ------------------------------------------------------------------------
 * Register access
 */

static bool rtc_update_in_progress(RTCState *s)
{
    if (s->cmos[RTC_REG_B] & REG_B_SET) {
        return false;
    }
    return RTC_NS - rtc_time_ns(s) % RTC_NS <= RTC_UIP_NS;
}

static uint8_t rtc_read_reg(RTCState *s, uint8_t index)
{
    uint8_t v;

    switch (index) {
    case RTC_SECONDS ... RTC_YEAR:
    case RTC_CENTURY:
        if (!(s->cmos[RTC_REG_B] & REG_B_SET)) {
            rtc_fill_time(s);
        }
        return s->cmos[index];
    case RTC_REG_A:
        v = s->cmos[RTC_REG_A] & ~REG_A_UIP;
        return v | (rtc_update_in_progress(s) ? REG_A_UIP : 0);
    case RTC_REG_C:
        rtc_catch_up(s);
        v = s->cmos[RTC_REG_C];
        s->cmos[RTC_REG_C] = 0;
        rtc_update_irq(s);
        if (s->coalesced && (v & REG_C_PF)) {
            timer_mod_ns(s->reinject_timer, rtc_now() + RTC_REINJECT_NS);
        }
        return v;
    default:
        return s->cmos[index];
    }
}

/* Registers that hold part of the time (not alarms or day of week). */
static bool rtc_is_time_reg(uint8_t index)
{
    switch (index) {
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
    case RTC_CENTURY:
        return true;
    default:
        return false;
    }
}

static void rtc_write_reg_b(RTCState *s, uint8_t val)
{
    uint8_t old = s->cmos[RTC_REG_B];

    if ((old & REG_B_SET) && !(val & REG_B_SET)) {
        s->cmos[RTC_REG_B] = val;
        rtc_take_time(s);
    } else if (!(old & REG_B_SET) && (val & REG_B_SET)) {
        /* Freeze the registers; setting SET also clears UIE. */
        rtc_fill_time(s);
        val &= ~REG_B_UIE;
    }
    if (!(old & (REG_B_UIE | REG_B_AIE))) {
        s->last_second = rtc_time_ns(s) / RTC_NS;
    }
    s->cmos[RTC_REG_B] = val;
    rtc_update_irq(s);
    rtc_arm_periodic(s);
    rtc_arm_second(s);
}

static void rtc_write_reg(RTCState *s, uint8_t index, uint8_t val)
{
    switch (index) {
    case RTC_SECONDS ... RTC_YEAR:
    case RTC_CENTURY:
        if (!(s->cmos[RTC_REG_B] & REG_B_SET) && rtc_is_time_reg(index)) {
            /* A direct write while running: take the rest from now. */
            rtc_fill_time(s);
            s->cmos[index] = val;
            rtc_take_time(s);
        } else {
            s->cmos[index] = val;
        }
        break;
    case RTC_REG_A:
        s->cmos[RTC_REG_A] = (val & ~REG_A_UIP) |
                             (s->cmos[RTC_REG_A] & REG_A_UIP);
        rtc_arm_periodic(s);
        break;
    case RTC_REG_B:
        rtc_write_reg_b(s, val);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        break;  /* read-only */
    default:
        s->cmos[index] = val;
        break;
    }
}

static uint64_t rtc_ioport_read(void *opaque, uint64_t addr, unsigned size)
{
    RTCState *s = opaque;

    if (addr == 0) {
        return 0xff;    /* the index register is write-only */
    }
    return rtc_read_reg(s, s->index);
}

static void rtc_ioport_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    RTCState *s = opaque;

    if (addr == 0) {
        /* Bit 7 gates NMI on a real PC; qlite has no NMI sources yet. */
        s->index = val & (RTC_CMOS_SIZE - 1);
    } else {
        rtc_write_reg(s, s->index, val);
    }
}

static const MemoryRegionOps rtc_ops = {
    .read = rtc_ioport_read,
    .write = rtc_ioport_write,
    .valid = { .min_access_size = 1, .max_access_size = 1 },
};

/* ------------------------------------------------------------------------
 * Board interface
 */

void rtc_set_cmos(DeviceState *rtc, unsigned addr, uint8_t val)
{
    RTCState *s = RTC(rtc);

    if (addr > RTC_REG_D && addr < RTC_CMOS_SIZE) {
        s->cmos[addr] = val;
    }
}

uint8_t rtc_get_cmos(DeviceState *rtc, unsigned addr)
{
    RTCState *s = RTC(rtc);

    return addr < RTC_CMOS_SIZE ? rtc_read_reg(s, addr) : 0xff;
}

static void rtc_set_word(RTCState *s, unsigned addr, uint64_t val)
{
    val = MIN(val, 0xffff);
    s->cmos[addr] = val & 0xff;
    s->cmos[addr + 1] = val >> 8;
}

void rtc_set_pc_config(DeviceState *rtc, uint64_t below_4g,
                       uint64_t above_4g, unsigned cpus)
{
    RTCState *s = RTC(rtc);
    uint64_t ext_kb = below_4g / KiB > 1024 ? below_4g / KiB - 1024 : 0;
    uint64_t above_16m = below_4g > 16 * MiB ? below_4g - 16 * MiB : 0;
    uint64_t high = above_4g / (64 * KiB);

    rtc_set_word(s, 0x15, 640);                 /* base memory, KiB */
    rtc_set_word(s, 0x17, ext_kb);              /* extended memory, KiB */
    rtc_set_word(s, 0x30, ext_kb);
    rtc_set_word(s, 0x34, above_16m / (64 * KiB));
    s->cmos[0x5b] = high & 0xff;                /* above 4 GiB, 64 KiB */
    s->cmos[0x5c] = (high >> 8) & 0xff;
    s->cmos[0x5d] = (high >> 16) & 0xff;
    s->cmos[0x5f] = cpus ? cpus - 1 : 0;
    s->cmos[0x14] = 0x06;       /* equipment: FPU and PS/2 mouse */
    s->cmos[0x10] = 0x00;       /* no floppy drives */
    s->cmos[0x3d] = 0x12;       /* boot order "cad": disk, floppy */
    s->cmos[0x38] = 0x30;       /* then CD-ROM */
}

/* ------------------------------------------------------------------------
 * Lifecycle
 */

/* Reset keeps the time and CMOS memory, as a battery-backed chip does. */
static void rtc_reset(DeviceState *dev)
{
    RTCState *s = RTC(dev);

    s->cmos[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
    s->cmos[RTC_REG_C] = 0;
    rtc_update_irq(s);
    timer_del(s->periodic_timer);
    timer_del(s->second_timer);
    timer_del(s->reinject_timer);
    s->coalesced = 0;
}

static void rtc_realize(DeviceState *dev, GError **errp)
{
    RTCState *s = RTC(dev);
    ISADevice *isa = ISA_DEVICE(dev);

    if (s->iobase > 0xfffe) {
        error_setg(errp, "mc146818rtc: iobase 0x%" PRIx32 " out of range",
                   s->iobase);
        return;
    }
    if (s->lost_tick_policy && strcmp(s->lost_tick_policy, "discard") &&
        strcmp(s->lost_tick_policy, "slew")) {
        error_setg(errp, "Property 'mc146818rtc.lost_tick_policy' doesn't "
                   "take value '%s' (discard or slew)", s->lost_tick_policy);
        return;
    }
    s->slew = !g_strcmp0(s->lost_tick_policy, "slew");
    s->offset_ns = clock_get_ns(QLITE_CLOCK_HOST) - rtc_now();
    s->last_second = rtc_time_ns(s) / RTC_NS;
    s->cmos[RTC_REG_A] = REG_A_DV_NORMAL | 0x06;   /* 1024 Hz rate */
    s->cmos[RTC_REG_B] = REG_B_24H;
    s->cmos[RTC_REG_D] = REG_D_VRT;
    rtc_fill_time(s);
    s->cmos[RTC_PS2_CENTURY] = s->cmos[RTC_CENTURY];
    memory_region_init_io(&s->io, &rtc_ops, s, "rtc", 2);
    isa_register_ioport(isa, &s->io, s->iobase);
    s->irq = isa_get_irq(isa, RTC_ISA_IRQ);
    s->periodic_timer = timer_new_ns(QLITE_CLOCK_VIRTUAL, rtc_periodic_cb, s);
    s->second_timer = timer_new_ns(QLITE_CLOCK_VIRTUAL, rtc_second_cb, s);
    s->reinject_timer = timer_new_ns(QLITE_CLOCK_VIRTUAL, rtc_reinject_cb, s);
}

static void rtc_unrealize(DeviceState *dev)
{
    RTCState *s = RTC(dev);

    timer_free(s->periodic_timer);
    timer_free(s->second_timer);
    timer_free(s->reinject_timer);
    s->periodic_timer = s->second_timer = s->reinject_timer = NULL;
    memory_region_del_subregion(isa_device_bus(ISA_DEVICE(dev))->io, &s->io);
}

static const Property rtc_props[] = {
    DEFINE_PROP_UINT32("iobase", RTCState, iobase, 0x70),
    DEFINE_PROP_INT32("base_year", RTCState, base_year, 2000),
    DEFINE_PROP_STRING("lost_tick_policy", RTCState, lost_tick_policy),
    DEFINE_PROP_END_OF_LIST(),
};

static void rtc_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "MC146818 real-time clock and CMOS memory";
    dc->props = rtc_props;
    dc->realize = rtc_realize;
    dc->unrealize = rtc_unrealize;
    dc->reset = rtc_reset;
    dc->user_creatable = false;
}

static const TypeInfo rtc_info = {
    .name = TYPE_MC146818_RTC,
    .parent = TYPE_ISA_DEVICE,
    .instance_size = sizeof(RTCState),
    .class_init = rtc_class_init,
};

type_init(rtc_register_types)
{
    type_register(&rtc_info);
}
