/*
 * PIIX4 power management function (82371AB function 3, 8086:7113) as
 * QEMU's pc machine has it at 00:01.3: the ACPI fixed hardware (PM1
 * event and control registers, the 24-bit PM timer at 3.579545 MHz), the
 * SCI on ISA IRQ 9, the APM control port 0xb2 that switches ACPI mode on,
 * and QEMU's GPE0 block at 0xafe0.
 *
 * The PM registers decode at PMBA (config 0x40) once PMREGMISC bit 0
 * (config 0x80) enables them, as firmware sets up.  Writing SLP_TYP 0
 * with SLP_EN to PM1_CNT is soft-off: the guest powers the machine down;
 * SLP_TYP 1 is S3, suspend to RAM (QEMU's \_S3).  The RTC alarm (with
 * RTC_EN), the PM timer (with TMR_EN), the power button and QMP
 * system_wakeup wake the machine with WAK_STS and the source's status
 * bit set (ACPI 6.4 4.8.3.1.1).
 *
 * The SMBus controller is not modelled: its base register reads as
 * unprogrammed, so drivers leave it alone.
 */
#include "qlite/acpi.h"
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/pci.h"
#include "qlite/runstate.h"

#define PIIX4_PMBA          0x40
#define   PMBA_IO_SPACE     0x01
#define   PMBA_MASK         0xffc0
#define PIIX4_DEVACTB       0x58
#define PIIX4_PMREGMISC     0x80
#define   PMREGMISC_PMIOSE  0x01
#define PIIX4_SMBBA         0x90
#define PIIX4_SMBHSTCFG     0xd2

/* PM I/O registers (ACPI 6.4 4.8.3). */
#define PM1_STS             0x00
#define PM1_EN              0x02
#define PM1_CNT             0x04
#define PM_TMR              0x08
#define   PM1_TMR           (1u << 0)
#define   PM1_GBL           (1u << 5)
#define   PM1_PWRBTN        (1u << 8)
#define   PM1_RTC           (1u << 10)
#define   PM1_WAK           (1u << 15)
#define   PM1_SCI_SOURCES   (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_RTC)
#define   CNT_SCI_EN        (1u << 0)
#define   CNT_SLP_TYP_SHIFT 10
#define   CNT_SLP_EN        (1u << 13)
#define PM_TIMER_HZ         3579545
#define PM_TIMER_MASK       0xffffff

#define SLP_TYP_SOFT_OFF    0
#define SLP_TYP_S3          1

typedef struct PIIX4PMState {
    PCIDevice parent;
    MemoryRegion pm_io;
    MemoryRegion gpe_io;
    MemoryRegion apm_io;
    bool pm_io_mapped;
    uint16_t pm_io_base;
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    uint16_t gpe_sts, gpe_en;
    uint8_t apm_sts;
    int64_t tmr_flip_ns;        /* next flip of timer bit 23 not in STS */
    QliteTimer *tmr_timer;
    IrqLine *sci_out[1];
    uint8_t disable_s3;         /* no \_S3, and SLP_TYP 1 does nothing */
    uint8_t disable_s4;         /* must be 1: there is no S4 */
} PIIX4PMState;

#define PIIX4_PM(obj) OBJECT_CHECK(PIIX4PMState, (obj), TYPE_PIIX4_PM)

static PIIX4PMState *piix4_pm_current;

static uint32_t piix4_pm_timer_value(int64_t now)
{
    return (uint32_t)(((unsigned __int128)now * PM_TIMER_HZ) / 1000000000u)
           & PM_TIMER_MASK;
}

static void piix4_pm_update_sci(PIIX4PMState *s)
{
    bool level = (s->pm1_sts & s->pm1_en & PM1_SCI_SOURCES) ||
                 (s->gpe_sts & s->gpe_en);

    irq_set(s->sci_out[0], level);
}

/* The virtual time of the first flip of timer bit 23 after @now. */
static int64_t piix4_pm_next_flip_ns(int64_t now)
{
    uint64_t ticks = ((unsigned __int128)now * PM_TIMER_HZ) / 1000000000u;
    uint64_t next = (ticks | 0x7fffff) + 1;

    return ((unsigned __int128)next * 1000000000u + PM_TIMER_HZ - 1) /
           PM_TIMER_HZ;
}

/*
 * TMR_STS sets whenever bit 23 of the timer flips, enabled or not (ACPI
 * 6.4 4.8.3.1.1); kept up to date lazily, when STS is read or written.
 */
static void piix4_pm_sync_tmr_sts(PIIX4PMState *s)
{
    int64_t now = clock_get_ns(QLITE_CLOCK_VIRTUAL);

    if (now >= s->tmr_flip_ns) {
        s->pm1_sts |= PM1_TMR;
        s->tmr_flip_ns = piix4_pm_next_flip_ns(now);
    }
}

/* With TMR_EN, a timer raises the SCI at the next flip. */
static void piix4_pm_arm_timer(PIIX4PMState *s)
{
    if (!(s->pm1_en & PM1_TMR)) {
        timer_del(s->tmr_timer);
        return;
    }
    timer_mod_ns(s->tmr_timer, s->tmr_flip_ns);
}

static void piix4_pm_timer_cb(void *opaque)
{
    PIIX4PMState *s = opaque;

    piix4_pm_sync_tmr_sts(s);
    piix4_pm_update_sci(s);
    piix4_pm_arm_timer(s);
    qlite_system_wakeup_request(WAKEUP_REASON_PMTIMER, NULL);
}

/* PM1_EN's RTC_EN and TMR_EN also enable those sources to wake from S3. */
static void piix4_pm_write_en(PIIX4PMState *s, uint16_t en)
{
    s->pm1_en = en;
    qlite_system_wakeup_enable(WAKEUP_REASON_RTC, en & PM1_RTC);
    qlite_system_wakeup_enable(WAKEUP_REASON_PMTIMER, en & PM1_TMR);
    piix4_pm_sync_tmr_sts(s);
    piix4_pm_arm_timer(s);
}

static void piix4_pm_write_cnt(PIIX4PMState *s, uint16_t val)
{
    unsigned typ = (val >> CNT_SLP_TYP_SHIFT) & 7;

    s->pm1_cnt = val & ~CNT_SLP_EN;     /* SLP_EN reads as zero */
    if (!(val & CNT_SLP_EN)) {
        return;
    }
    if (typ == SLP_TYP_SOFT_OFF) {
        qlite_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    } else if (typ == SLP_TYP_S3 && !s->disable_s3) {
        qlite_system_suspend_request();
    } else {
        qlite_log_unimp("piix4-pm: sleep type %u", typ);
    }
}

/* The value of the 32-bit-aligned PM register group holding @addr. */
static uint32_t piix4_pm_read32(PIIX4PMState *s, uint64_t addr)
{
    switch (addr & ~3u) {
    case PM1_STS:
        piix4_pm_sync_tmr_sts(s);
        return s->pm1_sts | ((uint32_t)s->pm1_en << 16);
    case PM1_CNT:
        return s->pm1_cnt;
    case PM_TMR:
        return piix4_pm_timer_value(clock_get_ns(QLITE_CLOCK_VIRTUAL));
    default:
        return 0;
    }
}

static uint64_t piix4_pm_io_read(void *opaque, uint64_t addr, unsigned size)
{
    uint32_t v = piix4_pm_read32(opaque, addr);

    v >>= 8 * (addr & 3);
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void piix4_pm_io_write(void *opaque, uint64_t addr, uint64_t val,
                              unsigned size)
{
    PIIX4PMState *s = opaque;

    for (unsigned i = 0; i < size; i++) {
        unsigned off = addr + i;
        uint16_t b = (val >> (8 * i)) & 0xff;
        unsigned shift = 8 * (off & 1);

        switch (off & ~1u) {
        case PM1_STS:
            piix4_pm_sync_tmr_sts(s);           /* a flip before: cleared */
            s->pm1_sts &= ~(b << shift);        /* write 1 to clear */
            break;
        case PM1_EN:
            piix4_pm_write_en(s, (s->pm1_en & ~(0xff << shift)) |
                                 (b << shift));
            break;
        case PM1_CNT:
            piix4_pm_write_cnt(s, (s->pm1_cnt & ~(0xff << shift)) |
                                  (b << shift));
            break;
        default:
            break;
        }
    }
    piix4_pm_update_sci(s);
}

static const MemoryRegionOps piix4_pm_io_ops = {
    .read = piix4_pm_io_read,
    .write = piix4_pm_io_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

static uint64_t piix4_gpe_read(void *opaque, uint64_t addr, unsigned size)
{
    PIIX4PMState *s = opaque;
    uint32_t v = s->gpe_sts | ((uint32_t)s->gpe_en << 16);

    return (v >> (8 * addr)) & 0xff;
}

static void piix4_gpe_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    PIIX4PMState *s = opaque;
    unsigned shift = 8 * (addr & 1);

    if (addr < 2) {
        s->gpe_sts &= ~((val & 0xff) << shift);
    } else {
        s->gpe_en = (s->gpe_en & ~(0xff << shift)) | ((val & 0xff) << shift);
    }
    piix4_pm_update_sci(s);
}

static const MemoryRegionOps piix4_gpe_ops = {
    .read = piix4_gpe_read,
    .write = piix4_gpe_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 1, .max_access_size = 1 },
};

/* APM control (0xb2) and status (0xb3): ACPI enable/disable commands. */
static uint64_t piix4_apm_read(void *opaque, uint64_t addr, unsigned size)
{
    PIIX4PMState *s = opaque;

    return addr == 1 ? s->apm_sts : 0;
}

static void piix4_apm_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    PIIX4PMState *s = opaque;

    if (addr == 1) {
        s->apm_sts = val;
    } else if (val == ACPI_ENABLE_CMD) {
        s->pm1_cnt |= CNT_SCI_EN;
    } else if (val == ACPI_DISABLE_CMD) {
        s->pm1_cnt &= ~CNT_SCI_EN;
    }
}

static const MemoryRegionOps piix4_apm_ops = {
    .read = piix4_apm_read,
    .write = piix4_apm_write,
    .valid = { .min_access_size = 1, .max_access_size = 1 },
};

/* ------------------------------------------------------------------------
 * PCI configuration: PMBA and PMREGMISC place the PM registers
 */

static void piix4_pm_update_io(PIIX4PMState *s)
{
    uint8_t *c = s->parent.config;
    uint16_t base = pci_get_word(c + PIIX4_PMBA) & PMBA_MASK;
    bool on = c[PIIX4_PMREGMISC] & PMREGMISC_PMIOSE;

    if (s->pm_io_mapped && (!on || base != s->pm_io_base)) {
        memory_region_del_subregion(get_system_io(), &s->pm_io);
        s->pm_io_mapped = false;
    }
    if (on && !s->pm_io_mapped) {
        memory_region_add_subregion(get_system_io(), base, &s->pm_io);
        s->pm_io_mapped = true;
        s->pm_io_base = base;
    }
}

static void piix4_pm_config_write(PCIDevice *dev, uint32_t addr,
                                  uint32_t val, int len)
{
    pci_default_write_config(dev, addr, val, len);
    if ((addr < PIIX4_PMBA + 4 && addr + len > PIIX4_PMBA) ||
        (addr <= PIIX4_PMREGMISC && addr + len > PIIX4_PMREGMISC)) {
        piix4_pm_update_io(PIIX4_PM(dev));
    }
}

void acpi_pm_enable_io(DeviceState *pm, uint16_t base)
{
    PCIDevice *dev = PCI_DEVICE(pm);

    piix4_pm_config_write(dev, PIIX4_PMBA, base | PMBA_IO_SPACE, 4);
    piix4_pm_config_write(dev, PIIX4_PMREGMISC, PMREGMISC_PMIOSE, 1);
}

void acpi_pm_powerdown(void)
{
    PIIX4PMState *s = piix4_pm_current;

    if (s) {
        s->pm1_sts |= PM1_PWRBTN;
        piix4_pm_update_sci(s);
    }
}

void acpi_pm_wakeup(WakeupReason reason)
{
    static const uint16_t reason_sts[WAKEUP_REASON_MAX] = {
        [WAKEUP_REASON_RTC] = PM1_RTC,
        [WAKEUP_REASON_PMTIMER] = PM1_TMR,
        [WAKEUP_REASON_POWER_BUTTON] = PM1_PWRBTN,
    };
    PIIX4PMState *s = piix4_pm_current;

    if (s && reason < WAKEUP_REASON_MAX) {
        s->pm1_sts |= PM1_WAK | reason_sts[reason];
        piix4_pm_update_sci(s);
    }
}

/* ------------------------------------------------------------------------
 * Lifecycle
 */

static void piix4_pm_reset(PCIDevice *dev)
{
    PIIX4PMState *s = PIIX4_PM(dev);
    uint8_t *c = dev->config;

    pci_set_word(c + PCI_STATUS,
                 PCI_STATUS_FAST_BACK | PCI_STATUS_DEVSEL_MEDIUM);
    memset(c + PCI_CONFIG_HEADER_SIZE, 0,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
    c[PCI_INTERRUPT_PIN] = 1;
    pci_set_long(c + PIIX4_PMBA, PMBA_IO_SPACE);
    c[0x5f] = 0x10;                     /* DEVRESD: as QEMU's */
    c[0x63] = 0x60;                     /* DEVRESA */
    pci_set_long(c + PIIX4_SMBBA, PMBA_IO_SPACE);
    s->pm1_sts = s->pm1_cnt = 0;
    s->gpe_sts = s->gpe_en = 0;
    s->apm_sts = 0;
    s->tmr_flip_ns = piix4_pm_next_flip_ns(clock_get_ns(QLITE_CLOCK_VIRTUAL));
    piix4_pm_write_en(s, 0);
    piix4_pm_update_io(s);
    piix4_pm_update_sci(s);
}

static void piix4_pm_realize(PCIDevice *dev, GError **errp)
{
    PIIX4PMState *s = PIIX4_PM(dev);

    if (piix4_pm_current) {
        error_setg(errp, "only one PIIX4_PM is supported");
        return;
    }
    if (!s->disable_s4) {
        error_setg(errp, "disable_s4=0: qlite has no S4 (suspend to disk)");
        return;
    }
    pci_set_word(dev->wmask + PIIX4_PMBA, PMBA_MASK);
    dev->wmask[PIIX4_PMBA + 2] = dev->wmask[PIIX4_PMBA + 3] = 0;
    memory_region_init_io(&s->pm_io, &piix4_pm_io_ops, s, "piix4-pm",
                          ACPI_PM_IO_LEN);
    memory_region_init_io(&s->gpe_io, &piix4_gpe_ops, s, "acpi-gpe0",
                          ACPI_GPE0_LEN);
    memory_region_add_subregion(get_system_io(), ACPI_GPE0_BASE, &s->gpe_io);
    memory_region_init_io(&s->apm_io, &piix4_apm_ops, s, "apm-io", 2);
    memory_region_add_subregion(get_system_io(), ACPI_SMI_CMD_PORT,
                                &s->apm_io);
    s->tmr_timer = timer_new_ns(QLITE_CLOCK_VIRTUAL, piix4_pm_timer_cb, s);
    qdev_init_gpio_out_named(DEVICE(dev), s->sci_out, "sci", 1);
    piix4_pm_current = s;
}

static void piix4_pm_exit(PCIDevice *dev)
{
    PIIX4PMState *s = PIIX4_PM(dev);

    if (s->pm_io_mapped) {
        memory_region_del_subregion(get_system_io(), &s->pm_io);
        s->pm_io_mapped = false;
    }
    memory_region_del_subregion(get_system_io(), &s->gpe_io);
    memory_region_del_subregion(get_system_io(), &s->apm_io);
    timer_free(s->tmr_timer);
    s->tmr_timer = NULL;
    piix4_pm_current = NULL;
}

/* QEMU's names and types; libvirt sets them for <pm> (-global). */
static const Property piix4_pm_props[] = {
    DEFINE_PROP_UINT8("disable_s3", PIIX4PMState, disable_s3, 0),
    DEFINE_PROP_UINT8("disable_s4", PIIX4PMState, disable_s4, 1),
    DEFINE_PROP_END_OF_LIST(),
};

bool piix4_pm_s3_enabled(DeviceState *dev)
{
    return !PIIX4_PM(dev)->disable_s3;
}

static void piix4_pm_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);

    dc->props = piix4_pm_props;
    dc->desc = "PM";
    dc->category = DEVICE_CATEGORY_BRIDGE;
    dc->user_creatable = false;
    k->realize = piix4_pm_realize;
    k->exit = piix4_pm_exit;
    k->reset = piix4_pm_reset;
    k->config_write = piix4_pm_config_write;
    k->vendor_id = PCI_VENDOR_ID_INTEL;
    k->device_id = 0x7113;
    k->revision = 0x03;
    k->class_id = PCI_CLASS_BRIDGE_OTHER;
    k->subsystem_vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET;
    k->subsystem_id = PCI_SUBDEVICE_ID_QEMU;
}

static const TypeInfo piix4_pm_info = {
    .name = TYPE_PIIX4_PM,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(PIIX4PMState),
    .class_init = piix4_pm_class_init,
};

type_init(piix4_pm_register_types)
{
    type_register(&piix4_pm_info);
}
