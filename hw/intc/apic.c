/*
 * Local APIC in xAPIC and x2APIC modes (Intel SDM vol 3, chapter 10), one
 * per vCPU.  x2APIC mode (10.12) is entered through IA32_APIC_BASE.EXTD;
 * its registers are MSRs 0x800 + (xAPIC offset >> 4), reached through
 * apic_msr_read()/apic_msr_write(), and the MMIO page goes dark.
 *
 * Every CPU sees its own APIC at 0xfee00000; the one MMIO region there
 * dispatches to the APIC of the CPU running on this thread (see
 * apic_set_current_cpu()).  The same 1 MiB window receives MSI writes,
 * which never touch offset 0x000-0x00f or anything past 0xfff of the
 * register page, as QEMU relies on too.
 *
 * The timer counts at 1 GHz divided by the divide configuration, on the
 * virtual clock; one-shot, periodic and TSC-deadline modes.
 */
#include "qlite/apic.h"
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/memory.h"
#include "qlite/x86-cpu.h"

#define APIC_MMIO_SIZE      0x100000    /* APIC page + MSI window */
#define APIC_VERSION        0x14
#define APIC_LVT_NB         6
#define APIC_VEC_WORDS      8           /* 256 bits of ISR/TMR/IRR */
/*
 * The shortest period the periodic timer fires at.  Shorter ones fire at
 * this rate: the interrupts between would coalesce in IRR anyway, and a
 * 1 ns period would keep the main loop running timer callbacks for ever
 * (KVM clamps periodic timers the same way, to 200 us by default).  The
 * current-count register still counts at the programmed rate.
 */
#define APIC_TIMER_MIN_PERIOD_NS    INT64_C(100000)

/* Register offsets >> 4 (SDM table 10-1). */
enum {
    APIC_REG_ID = 0x02, APIC_REG_VERSION = 0x03, APIC_REG_TPR = 0x08,
    APIC_REG_APR = 0x09, APIC_REG_PPR = 0x0a, APIC_REG_EOI = 0x0b,
    APIC_REG_LDR = 0x0d, APIC_REG_DFR = 0x0e, APIC_REG_SVR = 0x0f,
    APIC_REG_ISR = 0x10, APIC_REG_TMR = 0x18, APIC_REG_IRR = 0x20,
    APIC_REG_ESR = 0x28, APIC_REG_ICR_LO = 0x30, APIC_REG_ICR_HI = 0x31,
    APIC_REG_LVT = 0x32, APIC_REG_TIMER_INIT = 0x38,
    APIC_REG_TIMER_CUR = 0x39, APIC_REG_TIMER_DIV = 0x3e,
    APIC_REG_SELF_IPI = 0x3f,
};

/* LVT entries, in register order. */
enum {
    APIC_LVT_TIMER, APIC_LVT_THERMAL, APIC_LVT_PERF, APIC_LVT_LINT0,
    APIC_LVT_LINT1, APIC_LVT_ERROR,
};

#define APIC_LVT_MASKED         (1u << 16)
#define APIC_LVT_LEVEL_TRIGGER  (1u << 15)
#define APIC_LVT_TIMER_SHIFT    17
#define APIC_LVT_DELIV_SHIFT    8
#define APIC_SV_ENABLE          (1u << 8)

enum { APIC_TIMER_ONESHOT, APIC_TIMER_PERIODIC, APIC_TIMER_TSC_DEADLINE };

/* Delivery modes (ICR, LVT, redirection entries). */
enum {
    APIC_DM_FIXED = 0, APIC_DM_LOWPRI = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4,
    APIC_DM_INIT = 5, APIC_DM_SIPI = 6, APIC_DM_EXTINT = 7,
};

/* ICR fields. */
#define ICR_DEST_LOGICAL        (1u << 11)
#define ICR_LEVEL_ASSERT        (1u << 14)
#define ICR_TRIGGER_LEVEL       (1u << 15)
#define ICR_SHORTHAND_SHIFT     18
enum { ICR_DEST_FIELD, ICR_SELF, ICR_ALL, ICR_ALL_BUT_SELF };

typedef struct APICState {
    DeviceState parent;
    CPUState *cpu;
    uint32_t id;
    uint32_t initial_id;        /* the x2APIC ID; xAPIC's after reset */
    uint64_t apicbase;
    uint8_t tpr;
    uint32_t svr;
    uint8_t ldr;                /* logical APIC ID, LDR bits 31:24 */
    uint8_t dfr_model;          /* DFR bits 31:28: 0xf flat, 0 cluster */
    uint32_t isr[APIC_VEC_WORDS];
    uint32_t tmr[APIC_VEC_WORDS];
    uint32_t irr[APIC_VEC_WORDS];
    uint32_t lvt[APIC_LVT_NB];
    uint32_t esr;
    uint32_t icr[2];
    uint32_t divide_conf;
    int count_shift;
    uint32_t initial_count;
    int64_t load_time;
    QliteTimer *timer;
    uint64_t tsc_deadline;
    bool pic_level;             /* the 8259's INTR on LINT0 */
} APICState;

#define APIC(obj) OBJECT_CHECK(APICState, (obj), TYPE_APIC)

static APICState *apics[APIC_MAX_CPUS];    /* by CPU index */
static __thread CPUState *apic_current_cpu;
static MemoryRegion apic_mmio;
static bool apic_mmio_mapped;
static GArray *apic_eoi_listeners;

typedef struct ApicEoiListener {
    ApicEoiFn fn;
    void *opaque;
} ApicEoiListener;

static APICState *apic_of(CPUState *cs)
{
    if (!cs || cs->index < 0 || cs->index >= APIC_MAX_CPUS) {
        return NULL;
    }
    return apics[cs->index];
}

/* ------------------------------------------------------------------------
 * 256-bit vector sets
 */

static void apic_vec_set(uint32_t *v, int vector)
{
    v[vector >> 5] |= 1u << (vector & 31);
}

static void apic_vec_clear(uint32_t *v, int vector)
{
    v[vector >> 5] &= ~(1u << (vector & 31));
}

static bool apic_vec_test(const uint32_t *v, int vector)
{
    return v[vector >> 5] & (1u << (vector & 31));
}

static int apic_vec_highest(const uint32_t *v)
{
    for (int i = APIC_VEC_WORDS - 1; i >= 0; i--) {
        if (v[i]) {
            return i * 32 + 31 - __builtin_clz(v[i]);
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------
 * Priorities and the CPU's interrupt line
 */

static bool apic_x2apic_mode(const APICState *s)
{
    return s->apicbase & MSR_IA32_APICBASE_EXTD;
}

/* SDM 10.12.10.2: the x2APIC LDR is derived from the x2APIC ID. */
static uint32_t apic_x2apic_ldr(const APICState *s)
{
    return ((s->id >> 4) << 16) | (1u << (s->id & 0xf));
}

static bool apic_enabled(APICState *s)
{
    return (s->apicbase & MSR_IA32_APICBASE_ENABLE) &&
           (s->svr & APIC_SV_ENABLE);
}

/* SDM 10.8.3.1: PPR is the higher class of TPR and the highest ISR. */
static uint8_t apic_ppr(APICState *s)
{
    int isrv = apic_vec_highest(s->isr);

    if (isrv < 0 || (s->tpr >> 4) >= (isrv >> 4)) {
        return s->tpr;
    }
    return isrv & 0xf0;
}

/* The vector the CPU would take now, or -1. */
static int apic_pending_vector(APICState *s)
{
    int irrv;

    if (!apic_enabled(s)) {
        return -1;
    }
    irrv = apic_vec_highest(s->irr);
    if (irrv < 0 || (irrv & 0xf0) <= (apic_ppr(s) & 0xf0)) {
        return -1;
    }
    return irrv;
}

/* The 8259 reaches the CPU when LINT0 is unmasked ExtINT, or no APIC. */
static bool apic_accepts_pic(APICState *s)
{
    uint32_t lint0 = s->lvt[APIC_LVT_LINT0];

    if (!(s->apicbase & MSR_IA32_APICBASE_ENABLE)) {
        return true;
    }
    return !(lint0 & APIC_LVT_MASKED) &&
           ((lint0 >> APIC_LVT_DELIV_SHIFT) & 7) == APIC_DM_EXTINT;
}

static void apic_update_irq(APICState *s)
{
    if (!s->cpu) {
        return;
    }
    if (apic_pending_vector(s) >= 0 ||
        (s->pic_level && apic_accepts_pic(s))) {
        cpu_interrupt(s->cpu, CPU_INTERRUPT_HARD);
    } else {
        cpu_reset_interrupt(s->cpu, CPU_INTERRUPT_HARD);
    }
}

static void apic_set_irq(APICState *s, int vector, bool level)
{
    if (vector < 16) {
        s->esr |= 1u << 6;      /* received illegal vector */
        return;
    }
    apic_vec_set(s->irr, vector);
    if (level) {
        apic_vec_set(s->tmr, vector);
    } else {
        apic_vec_clear(s->tmr, vector);
    }
    apic_update_irq(s);
}

static void apic_eoi(APICState *s)
{
    int isrv = apic_vec_highest(s->isr);

    if (isrv < 0) {
        return;
    }
    apic_vec_clear(s->isr, isrv);
    if (apic_vec_test(s->tmr, isrv) && apic_eoi_listeners) {
        for (guint i = 0; i < apic_eoi_listeners->len; i++) {
            ApicEoiListener *l = &g_array_index(apic_eoi_listeners,
                                                ApicEoiListener, i);
            l->fn(l->opaque, isrv);
        }
    }
    apic_update_irq(s);
}

void apic_add_eoi_listener(ApicEoiFn fn, void *opaque)
{
    ApicEoiListener l = { fn, opaque };

    if (!apic_eoi_listeners) {
        apic_eoi_listeners = g_array_new(false, false, sizeof(l));
    }
    g_array_append_val(apic_eoi_listeners, l);
}

/* ------------------------------------------------------------------------
 * Message delivery: IPIs, I/O APIC, MSI (SDM 10.6)
 */

/*
 * @wide: a 32-bit x2APIC ICR destination, else an 8-bit one (xAPIC ICR,
 * I/O APIC, MSI) whose all-ones is the broadcast.
 */
static bool apic_match_dest(APICState *s, uint32_t dest, bool logical,
                            bool wide)
{
    uint32_t ldr;

    if (!logical) {
        return dest == (wide ? 0xffffffffu : 0xffu) || s->id == dest;
    }
    if (apic_x2apic_mode(s)) {
        /* SDM 10.12.10.2: cluster in 31:16, member bitmap in 15:0. */
        ldr = apic_x2apic_ldr(s);
        if (wide && dest == 0xffffffffu) {
            return true;
        }
        return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
    }
    if (s->dfr_model == 0xf) {              /* flat model */
        return (s->ldr & dest) != 0;
    }
    /* cluster model: cluster in the high nibble, members in the low */
    return ((s->ldr ^ dest) & 0xf0) == 0 && (s->ldr & dest & 0x0f);
}

static void apic_deliver_one(APICState *t, uint8_t mode, uint8_t vector,
                             bool level, bool assert)
{
    switch (mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWPRI:
        apic_set_irq(t, vector, level);
        break;
    case APIC_DM_NMI:
        cpu_interrupt(t->cpu, CPU_INTERRUPT_NMI);
        break;
    case APIC_DM_INIT:
        /* INIT level de-assert only resyncs arbitration IDs. */
        if (!(level && !assert)) {
            cpu_interrupt(t->cpu, CPU_INTERRUPT_INIT);
        }
        break;
    case APIC_DM_SIPI:
        t->cpu->sipi_vector = vector;
        cpu_interrupt(t->cpu, CPU_INTERRUPT_SIPI);
        break;
    case APIC_DM_EXTINT:
        cpu_interrupt(t->cpu, CPU_INTERRUPT_HARD);
        break;
    default:
        qlite_log_unimp("apic: delivery mode %u", mode);
        break;
    }
}

/*
 * Deliver to every APIC that @self's shorthand or @dest selects.  Lowest
 * priority goes to the first match: every APIC has the same priority
 * class as far as the guest can tell, and one target is what counts.
 */
static void apic_deliver(APICState *self, int shorthand, uint32_t dest,
                         bool logical, bool wide, uint8_t mode,
                         uint8_t vector, bool level, bool assert)
{
    for (int i = 0; i < APIC_MAX_CPUS; i++) {
        APICState *t = apics[i];
        bool hit;

        if (!t || !t->cpu) {
            continue;
        }
        switch (shorthand) {
        case ICR_SELF:
            hit = t == self;
            break;
        case ICR_ALL:
            hit = true;
            break;
        case ICR_ALL_BUT_SELF:
            hit = t != self;
            break;
        default:
            hit = apic_match_dest(t, dest, logical, wide);
            break;
        }
        if (hit) {
            apic_deliver_one(t, mode, vector, level, assert);
            if (mode == APIC_DM_LOWPRI) {
                return;
            }
        }
    }
}

void apic_deliver_irq(uint8_t dest, uint8_t dest_mode, uint8_t delivery_mode,
                      uint8_t vector, uint8_t trigger_mode)
{
    apic_deliver(NULL, ICR_DEST_FIELD, dest, dest_mode, false,
                 delivery_mode, vector, trigger_mode, true);
}

/* MSI address: 0xfee, dest 19:12, RH 3, DM 2; data: TM 15, mode 10:8. */
void apic_deliver_msi(uint64_t addr, uint32_t data)
{
    apic_deliver_irq((addr >> 12) & 0xff, (addr >> 2) & 1,
                     (data >> 8) & 7, data & 0xff, (data >> 15) & 1);
}

/* The ICR's destination is bits 63:56 in xAPIC mode, 63:32 in x2APIC. */
static void apic_send_ipi(APICState *s)
{
    uint32_t lo = s->icr[0];
    bool wide = apic_x2apic_mode(s);

    apic_deliver(s, (lo >> ICR_SHORTHAND_SHIFT) & 3,
                 wide ? s->icr[1] : s->icr[1] >> 24, lo & ICR_DEST_LOGICAL,
                 wide, (lo >> APIC_LVT_DELIV_SHIFT) & 7, lo & 0xff,
                 lo & ICR_TRIGGER_LEVEL, lo & ICR_LEVEL_ASSERT);
}

/* ------------------------------------------------------------------------
 * Timer (SDM 10.5.4)
 */

static unsigned apic_timer_mode(APICState *s)
{
    return (s->lvt[APIC_LVT_TIMER] >> APIC_LVT_TIMER_SHIFT) & 3;
}

static int64_t apic_timer_period(APICState *s)
{
    return (int64_t)s->initial_count << s->count_shift;
}

static uint32_t apic_current_count(APICState *s)
{
    int64_t d;

    if (!s->initial_count || apic_timer_mode(s) == APIC_TIMER_TSC_DEADLINE) {
        return 0;
    }
    d = (clock_get_ns(QLITE_CLOCK_VIRTUAL) - s->load_time) >> s->count_shift;
    if (d < 0) {
        d = 0;
    }
    if (apic_timer_mode(s) == APIC_TIMER_PERIODIC) {
        return s->initial_count - d % s->initial_count;
    }
    return d >= s->initial_count ? 0 : s->initial_count - d;
}

static void apic_arm_timer(APICState *s)
{
    int64_t now = clock_get_ns(QLITE_CLOCK_VIRTUAL);
    int64_t period = apic_timer_period(s);
    int64_t n;

    if (apic_timer_mode(s) == APIC_TIMER_TSC_DEADLINE) {
        return;     /* armed by apic_set_tsc_deadline() */
    }
    if (!period) {
        timer_del(s->timer);
        return;
    }
    if (apic_timer_mode(s) == APIC_TIMER_ONESHOT) {
        if (now >= s->load_time + period) {
            timer_del(s->timer);
            return;
        }
        timer_mod_ns(s->timer, s->load_time + period);
        return;
    }
    n = (now - s->load_time + MAX(period, APIC_TIMER_MIN_PERIOD_NS)) /
        period;
    timer_mod_ns(s->timer, s->load_time + n * period);
}

static void apic_timer_cb(void *opaque)
{
    APICState *s = opaque;
    uint32_t lvt = s->lvt[APIC_LVT_TIMER];

    if (apic_timer_mode(s) == APIC_TIMER_TSC_DEADLINE) {
        s->tsc_deadline = 0;
    }
    if (!(lvt & APIC_LVT_MASKED)) {
        apic_set_irq(s, lvt & 0xff, false);
    }
    if (apic_timer_mode(s) == APIC_TIMER_PERIODIC) {
        apic_arm_timer(s);
    }
}

static void apic_set_divide(APICState *s, uint32_t val)
{
    unsigned v = (val & 3) | ((val >> 1) & 4);

    s->divide_conf = val & 0xb;
    s->count_shift = (v + 1) & 7;
}

/* ------------------------------------------------------------------------
 * Register access
 */

/*
 * The bits of each LVT entry software may set (SDM vol 3 figure 10-8):
 * every entry has a vector and a mask; the timer a mode, of which
 * TSC-deadline (10b) only where CPUID offers it (else bit 18 is
 * reserved), and no delivery mode; the error entry nothing else; LINT0/1
 * a delivery mode, polarity and trigger mode; thermal and performance a
 * delivery mode.  Delivery status and remote IRR are read-only.
 */
static uint32_t apic_lvt_writable(APICState *s, int n)
{
    uint32_t m = APIC_LVT_MASKED | 0xff;
    X86CPUState *env = x86_env(s->cpu);

    switch (n) {
    case APIC_LVT_TIMER:
        return m | (x86_has_feature(env, FEAT_1_ECX, CPUID_EXT_TSC_DEADLINE)
                    ? 3u : 1u) << APIC_LVT_TIMER_SHIFT;
    case APIC_LVT_ERROR:
        return m;
    case APIC_LVT_LINT0:
    case APIC_LVT_LINT1:
        return m | (7u << APIC_LVT_DELIV_SHIFT) | (1u << 13) |
               APIC_LVT_LEVEL_TRIGGER;
    default:
        return m | (7u << APIC_LVT_DELIV_SHIFT);
    }
}

static void apic_write_lvt(APICState *s, int n, uint32_t val)
{
    unsigned old_mode = apic_timer_mode(s);

    val &= apic_lvt_writable(s, n);
    if (!(s->svr & APIC_SV_ENABLE)) {
        val |= APIC_LVT_MASKED;     /* SDM 10.4.7.2 */
    }
    s->lvt[n] = val;
    if (n == APIC_LVT_TIMER && apic_timer_mode(s) != old_mode) {
        /* Switching modes disarms the timer (SDM 10.5.4.1). */
        s->initial_count = 0;
        s->tsc_deadline = 0;
        timer_del(s->timer);
    }
    apic_update_irq(s);
}

static void apic_write_svr(APICState *s, uint32_t val)
{
    s->svr = val & 0x3ff;
    if (!(s->svr & APIC_SV_ENABLE)) {
        for (int n = 0; n < APIC_LVT_NB; n++) {
            s->lvt[n] |= APIC_LVT_MASKED;
        }
    }
    apic_update_irq(s);
}

static uint32_t apic_reg_read(APICState *s, unsigned index)
{
    switch (index) {
    case APIC_REG_ID:
        return s->id << 24;
    case APIC_REG_VERSION:
        return APIC_VERSION | ((APIC_LVT_NB - 1) << 16);
    case APIC_REG_TPR:
        return s->tpr;
    case APIC_REG_PPR:
        return apic_ppr(s);
    case APIC_REG_LDR:
        return (uint32_t)s->ldr << 24;
    case APIC_REG_DFR:
        return ((uint32_t)s->dfr_model << 28) | 0x0fffffff;
    case APIC_REG_SVR:
        return s->svr;
    case APIC_REG_ISR ... APIC_REG_ISR + 7:
        return s->isr[index - APIC_REG_ISR];
    case APIC_REG_TMR ... APIC_REG_TMR + 7:
        return s->tmr[index - APIC_REG_TMR];
    case APIC_REG_IRR ... APIC_REG_IRR + 7:
        return s->irr[index - APIC_REG_IRR];
    case APIC_REG_ESR:
        return s->esr;
    case APIC_REG_ICR_LO:
    case APIC_REG_ICR_HI:
        return s->icr[index - APIC_REG_ICR_LO];
    case APIC_REG_LVT ... APIC_REG_LVT + APIC_LVT_NB - 1:
        return s->lvt[index - APIC_REG_LVT];
    case APIC_REG_TIMER_INIT:
        return s->initial_count;
    case APIC_REG_TIMER_CUR:
        return apic_current_count(s);
    case APIC_REG_TIMER_DIV:
        return s->divide_conf;
    default:
        return 0;
    }
}

static void apic_reg_write(APICState *s, unsigned index, uint32_t val)
{
    switch (index) {
    case APIC_REG_ID:
        s->id = val >> 24;
        break;
    case APIC_REG_TPR:
        s->tpr = val & 0xff;
        apic_update_irq(s);
        break;
    case APIC_REG_EOI:
        apic_eoi(s);
        break;
    case APIC_REG_LDR:
        s->ldr = val >> 24;
        break;
    case APIC_REG_DFR:
        s->dfr_model = val >> 28;
        break;
    case APIC_REG_SVR:
        apic_write_svr(s, val);
        break;
    case APIC_REG_ESR:
        s->esr = 0;
        break;
    case APIC_REG_ICR_LO:
        s->icr[0] = val & ~(1u << 12);  /* delivery status: always idle */
        apic_send_ipi(s);
        break;
    case APIC_REG_ICR_HI:
        s->icr[1] = val & 0xff000000;
        break;
    case APIC_REG_LVT ... APIC_REG_LVT + APIC_LVT_NB - 1:
        apic_write_lvt(s, index - APIC_REG_LVT, val);
        break;
    case APIC_REG_TIMER_INIT:
        if (apic_timer_mode(s) != APIC_TIMER_TSC_DEADLINE) {
            s->initial_count = val;
            s->load_time = clock_get_ns(QLITE_CLOCK_VIRTUAL);
            apic_arm_timer(s);
        }
        break;
    case APIC_REG_TIMER_DIV:
        apic_set_divide(s, val);
        apic_arm_timer(s);
        break;
    default:
        /* read-only or reserved: SDM says writes are ignored (or ESR) */
        break;
    }
}

static APICState *apic_for_access(void)
{
    APICState *s = apic_of(apic_current_cpu);

    return s ? s : apics[0];
}

static uint64_t apic_mem_read(void *opaque, uint64_t addr, unsigned size)
{
    APICState *s = apic_for_access();

    /* x2APIC mode has no MMIO interface (SDM 10.12.1.2). */
    if (!s || addr > 0xfff || apic_x2apic_mode(s)) {
        return 0;
    }
    return apic_reg_read(s, addr >> 4);
}

static void apic_mem_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
    APICState *s = apic_for_access();
    unsigned index = (addr >> 4) & 0xff;

    if (addr > 0xfff || index == 0) {
        apic_deliver_msi(APIC_DEFAULT_ADDRESS + addr, val);
        return;
    }
    if (s && !apic_x2apic_mode(s)) {
        apic_reg_write(s, index, val);
    }
}

static const MemoryRegionOps apic_mem_ops = {
    .read = apic_mem_read,
    .write = apic_mem_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

/* ------------------------------------------------------------------------
 * x2APIC MSRs (SDM 10.12.1.2, table 10-6)
 */

/* The registers RDMSR may read; the others raise #GP. */
static bool apic_x2apic_readable(unsigned reg)
{
    switch (reg) {
    case APIC_REG_ID: case APIC_REG_VERSION: case APIC_REG_TPR:
    case APIC_REG_PPR: case APIC_REG_LDR: case APIC_REG_SVR:
    case APIC_REG_ISR ... APIC_REG_ISR + 7:
    case APIC_REG_TMR ... APIC_REG_TMR + 7:
    case APIC_REG_IRR ... APIC_REG_IRR + 7:
    case APIC_REG_ESR: case APIC_REG_ICR_LO:
    case APIC_REG_LVT ... APIC_REG_LVT + APIC_LVT_NB - 1:
    case APIC_REG_TIMER_INIT: case APIC_REG_TIMER_CUR:
    case APIC_REG_TIMER_DIV:
        return true;
    default:
        return false;
    }
}

/* The registers WRMSR may write; the others raise #GP. */
static bool apic_x2apic_writable(unsigned reg)
{
    switch (reg) {
    case APIC_REG_TPR: case APIC_REG_EOI: case APIC_REG_SVR:
    case APIC_REG_ESR: case APIC_REG_ICR_LO:
    case APIC_REG_LVT ... APIC_REG_LVT + APIC_LVT_NB - 1:
    case APIC_REG_TIMER_INIT: case APIC_REG_TIMER_DIV:
    case APIC_REG_SELF_IPI:
        return true;
    default:
        return false;
    }
}

bool apic_msr_read(CPUState *cs, unsigned reg, uint64_t *val)
{
    APICState *s = apic_of(cs);

    if (!s || !apic_x2apic_mode(s) || !apic_x2apic_readable(reg)) {
        return false;
    }
    switch (reg) {
    case APIC_REG_ID:
        *val = s->id;
        break;
    case APIC_REG_LDR:
        *val = apic_x2apic_ldr(s);
        break;
    case APIC_REG_ICR_LO:
        *val = s->icr[0] | (uint64_t)s->icr[1] << 32;
        break;
    default:
        *val = apic_reg_read(s, reg);
        break;
    }
    return true;
}

/*
 * Only the ICR is 64 bits wide; the upper half of the others, EOI and
 * ESR values other than 0, and SELF IPI bits 31:8 are reserved: #GP.
 */
static bool apic_x2apic_value_ok(unsigned reg, uint64_t val)
{
    if (reg == APIC_REG_ICR_LO) {
        return true;
    }
    if (reg == APIC_REG_EOI || reg == APIC_REG_ESR) {
        return val == 0;
    }
    if (reg == APIC_REG_SELF_IPI) {
        return val <= 0xff;
    }
    return (val >> 32) == 0;
}

bool apic_msr_write(CPUState *cs, unsigned reg, uint64_t val)
{
    APICState *s = apic_of(cs);

    if (!s || !apic_x2apic_mode(s) || !apic_x2apic_writable(reg) ||
        !apic_x2apic_value_ok(reg, val)) {
        return false;
    }
    switch (reg) {
    case APIC_REG_ICR_LO:
        /* One write sends: no delivery status bit in x2APIC mode. */
        s->icr[0] = (uint32_t)val & ~(1u << 12);
        s->icr[1] = val >> 32;
        apic_send_ipi(s);
        break;
    case APIC_REG_SELF_IPI:
        apic_set_irq(s, val & 0xff, false);
        break;
    default:
        apic_reg_write(s, reg, val);
        break;
    }
    return true;
}

/* ------------------------------------------------------------------------
 * CPU side
 */

void apic_set_current_cpu(CPUState *cs)
{
    apic_current_cpu = cs;
}

static int apic_get_interrupt(APICState *s)
{
    int irrv;

    if (!apic_enabled(s)) {
        return -1;
    }
    irrv = apic_vec_highest(s->irr);
    if (irrv < 0) {
        return -1;
    }
    if ((irrv & 0xf0) <= (apic_ppr(s) & 0xf0)) {
        /* Masked by TPR since the CPU saw the line: spurious. */
        return s->svr & 0xff;
    }
    apic_vec_clear(s->irr, irrv);
    apic_vec_set(s->isr, irrv);
    apic_update_irq(s);
    return irrv;
}

int apic_intr_ack(CPUState *cs)
{
    APICState *s = apic_of(cs);
    int vector;

    if (!s) {
        return x86_intr_ack();
    }
    vector = apic_get_interrupt(s);
    if (vector >= 0) {
        return vector;
    }
    if (s->pic_level && apic_accepts_pic(s)) {
        return x86_intr_ack();
    }
    apic_update_irq(s);
    return -1;
}

void apic_set_tpr(CPUState *cs, uint8_t cr8)
{
    APICState *s = apic_of(cs);

    if (s) {
        s->tpr = (cr8 & 0xf) << 4;
        apic_update_irq(s);
    }
}

uint8_t apic_get_tpr(CPUState *cs)
{
    APICState *s = apic_of(cs);

    return s ? s->tpr >> 4 : 0;
}

/*
 * SDM 10.12.5, figure 10-27: EN=0 EXTD=1 is invalid; x2APIC to xAPIC and
 * disabled to x2APIC are illegal; every other change is allowed.
 */
static bool apic_base_change_ok(uint64_t old, uint64_t val)
{
    const uint64_t en = MSR_IA32_APICBASE_ENABLE;
    const uint64_t extd = MSR_IA32_APICBASE_EXTD;

    if ((val & (en | extd)) == extd) {
        return false;
    }
    if ((old & extd) && (val & (en | extd)) == en) {
        return false;
    }
    return (old & en) || !(val & extd);
}

bool apic_set_base(CPUState *cs, uint64_t val)
{
    APICState *s = apic_of(cs);
    uint64_t old;

    if (!s) {
        return true;
    }
    old = s->apicbase;
    if (!apic_base_change_ok(old, val)) {
        return false;
    }
    s->apicbase = (val & (MSR_IA32_APICBASE_BASE | MSR_IA32_APICBASE_EXTD |
                          MSR_IA32_APICBASE_ENABLE)) |
                  (old & MSR_IA32_APICBASE_BSP);
    if ((s->apicbase ^ old) & MSR_IA32_APICBASE_EXTD) {
        /* Either way the ID is the initial one again (SDM 10.12.5.1). */
        s->id = s->initial_id;
    }
    if (!(val & MSR_IA32_APICBASE_ENABLE)) {
        apic_write_svr(s, s->svr & ~APIC_SV_ENABLE);
    }
    apic_update_irq(s);
    return true;
}

uint64_t apic_get_base(CPUState *cs)
{
    APICState *s = apic_of(cs);

    return s ? s->apicbase : 0;
}

void apic_set_tsc_deadline(CPUState *cs, uint64_t deadline,
                           uint64_t tsc_now, uint64_t tsc_hz)
{
    APICState *s = apic_of(cs);
    int64_t delay;

    if (!s || apic_timer_mode(s) != APIC_TIMER_TSC_DEADLINE || !tsc_hz) {
        return;
    }
    s->tsc_deadline = deadline;
    if (!deadline) {
        timer_del(s->timer);
        return;
    }
    delay = deadline <= tsc_now ? 0 :
        (int64_t)(((unsigned __int128)(deadline - tsc_now) * 1000000000u) /
                  tsc_hz);
    timer_mod_ns(s->timer, clock_get_ns(QLITE_CLOCK_VIRTUAL) + delay);
}

uint64_t apic_get_tsc_deadline(CPUState *cs)
{
    APICState *s = apic_of(cs);

    return s ? s->tsc_deadline : 0;
}

/* INIT: everything but the APIC base and ID (SDM 10.4.7.3). */
static void apic_init_state(APICState *s)
{
    s->tpr = 0;
    s->svr = 0xff;
    s->ldr = 0;
    s->dfr_model = 0xf;
    memset(s->isr, 0, sizeof(s->isr));
    memset(s->tmr, 0, sizeof(s->tmr));
    memset(s->irr, 0, sizeof(s->irr));
    for (int n = 0; n < APIC_LVT_NB; n++) {
        s->lvt[n] = APIC_LVT_MASKED;
    }
    s->esr = 0;
    s->icr[0] = s->icr[1] = 0;
    apic_set_divide(s, 0);
    s->initial_count = 0;
    s->load_time = 0;
    s->tsc_deadline = 0;
    timer_del(s->timer);
    apic_update_irq(s);
}

void apic_init_reset(CPUState *cs)
{
    APICState *s = apic_of(cs);

    if (s) {
        apic_init_state(s);
    }
}

void apic_deliver_pic_intr(int level)
{
    bool any = false;

    for (int i = 0; i < APIC_MAX_CPUS; i++) {
        if (apics[i]) {
            apics[i]->pic_level = level;
            apic_update_irq(apics[i]);
            any = true;
        }
    }
    if (!any && cpu_get(0)) {
        if (level) {
            cpu_interrupt(cpu_get(0), CPU_INTERRUPT_HARD);
        } else {
            cpu_reset_interrupt(cpu_get(0), CPU_INTERRUPT_HARD);
        }
    }
}

/* ------------------------------------------------------------------------
 * Lifecycle
 */

/*
 * Power-on: enabled at the default base; the BSP's LINT0 is ExtINT so
 * the 8259 reaches it, as firmware leaves it (and QEMU does).
 */
static void apic_reset(DeviceState *dev)
{
    APICState *s = APIC(dev);
    bool bsp = s->cpu && s->cpu->index == 0;

    s->apicbase = APIC_DEFAULT_ADDRESS | MSR_IA32_APICBASE_ENABLE |
                  (bsp ? MSR_IA32_APICBASE_BSP : 0);
    s->id = s->initial_id;
    apic_init_state(s);
    if (bsp) {
        s->lvt[APIC_LVT_LINT0] = APIC_DM_EXTINT << APIC_LVT_DELIV_SHIFT;
    }
    apic_update_irq(s);
}

static void apic_realize(DeviceState *dev, GError **errp)
{
    APICState *s = APIC(dev);

    if (!s->cpu || s->cpu->index >= APIC_MAX_CPUS || apics[s->cpu->index]) {
        error_setg(errp, "apic: needs a CPU without an APIC");
        return;
    }
    if (s->id > 0xfe) {
        error_setg(errp, "apic: id %u does not fit xAPIC mode", s->id);
        return;
    }
    s->initial_id = s->id;
    s->timer = timer_new_ns(QLITE_CLOCK_VIRTUAL, apic_timer_cb, s);
    apics[s->cpu->index] = s;
    if (!apic_mmio_mapped) {
        memory_region_init_io(&apic_mmio, &apic_mem_ops, NULL, "apic-msi",
                              APIC_MMIO_SIZE);
        memory_region_add_subregion_overlap(get_system_memory(),
                                            APIC_DEFAULT_ADDRESS,
                                            &apic_mmio, 4096);
        apic_mmio_mapped = true;
    }
}

static void apic_unrealize(DeviceState *dev)
{
    APICState *s = APIC(dev);

    timer_free(s->timer);
    s->timer = NULL;
    apics[s->cpu->index] = NULL;
}

DeviceState *apic_create(CPUState *cs, uint32_t apic_id, GError **errp)
{
    DeviceState *dev = qdev_new(TYPE_APIC);
    g_autofree char *id = g_strdup_printf("%" PRIu32, apic_id);

    APIC(dev)->cpu = cs;
    if (!qdev_prop_set(dev, "id", id, errp) ||
        !qdev_realize_and_unref(dev, NULL, errp)) {
        return NULL;
    }
    return dev;
}

DeviceState *apic_get(CPUState *cs)
{
    APICState *s = apic_of(cs);

    return s ? DEVICE(s) : NULL;
}

static const Property apic_props[] = {
    DEFINE_PROP_UINT32("id", APICState, id, 0),
    DEFINE_PROP_END_OF_LIST(),
};

static void apic_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "local APIC";
    dc->props = apic_props;
    dc->realize = apic_realize;
    dc->unrealize = apic_unrealize;
    dc->reset = apic_reset;
    dc->user_creatable = false;
}

static const TypeInfo apic_info = {
    .name = TYPE_APIC,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(APICState),
    .class_init = apic_class_init,
};

type_init(apic_register_types)
{
    type_register(&apic_info);
}
