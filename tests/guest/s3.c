/*
 * ACPI S3, suspend to RAM, and the resume through the FACS waking vector
 * (ACPI 6.4 7.4.2 and 16.3): the kernel finds the FADT and FACS through
 * the RSDP, takes \_S3's SLP_TYP from the DSDT, puts a 16-bit stub below
 * 1 MiB and its address in FACS.Firmware_Waking_Vector, arms the RTC
 * alarm two seconds ahead with PM1_EN.RTC_EN (RTC data sheet: alarm
 * bytes with the top two bits set match any value), and writes
 * SLP_TYP|SLP_EN to PM1a_CNT.  The alarm wakes the machine; firmware
 * (SeaBIOS under QEMU, qlite itself without firmware) starts the CPU in
 * real mode at vector >> 4 : vector & 0xf; the stub enters protected
 * mode and comes back here.  Checked then: WAK_STS and RTC_STS in
 * PM1_STS (4.8.3.1.1), RAM contents kept, the wake-up reset of the RTC
 * alarm enable, and the firmware's shutdown status byte cleared.
 *
 * What must survive lives outside the kernel image, in S3_KEEP_ADDR:
 * QEMU loads a multiboot ELF as ROM blobs and writes them again at every
 * reset, the wake-up's included, so the image's .data and .bss start
 * over there (qlite leaves all of RAM alone).
 *
 * With "s3-qmp" on the command line no alarm is armed: the machine stays
 * suspended until tests/functional/test_acpi_s3.py wakes it over QMP
 * (system_wakeup), and RTC_STS must then be clear.  "s3-badvec" (qlite
 * only) leaves a waking vector above 1 MiB, which real mode cannot reach:
 * qlite logs it and boots afresh, and the kernel passes when it starts
 * again after a suspend.
 */
#include "guest.h"

#define RSDP_SCAN_START     0xe0000
#define RSDP_SCAN_END       0x100000
#define S3_STUB_ADDR        0x8000      /* below 1 MiB, page aligned */
#define S3_KEEP_ADDR        0x400000    /* above the kernel image */
#define S3_BAD_VECTOR       0x200000

/* FADT fields (ACPI 6.4 5.2.9, table 5.9), by byte offset. */
#define FADT_FIRMWARE_CTRL  36
#define FADT_DSDT           40
#define FADT_PM1A_EVT_BLK   56
#define FADT_PM1A_CNT_BLK   64
#define FADT_PM_TMR_BLK     76
#define FADT_X_FIRM_CTRL    132
#define FACS_WAKING_VECTOR  12

#define PM1_STS             0
#define PM1_EN              2
#define   PM1_RTC           (1u << 10)
#define   PM1_WAK           (1u << 15)
#define CNT_SLP_TYP_SHIFT   10
#define CNT_SLP_TYP_MASK    (7u << CNT_SLP_TYP_SHIFT)
#define CNT_SLP_EN          (1u << 13)

#define CMOS_INDEX          0x70
#define CMOS_DATA           0x71
#define RTC_SECONDS         0x00
#define RTC_SECONDS_ALARM   0x01
#define RTC_MINUTES_ALARM   0x03
#define RTC_HOURS_ALARM     0x05
#define RTC_REG_A           0x0a
#define   REG_A_UIP         0x80
#define RTC_REG_B           0x0b
#define   REG_B_AIE         0x20
#define   REG_B_DM          0x04
#define RTC_REG_C           0x0c
#define RTC_SHUTDOWN_STATUS 0x0f
#define RTC_DONT_CARE       0xff

#define PM_TIMER_HZ         3579545u
#define PATTERN_WORDS       4096

/*
 * The waking vector's stub, copied to S3_STUB_ADDR: real mode with CS
 * pointing at it, load its own flat GDT (addressed through DS = CS),
 * set CR0.PE and jump to s3_resume32, which takes the kernel's GDT back
 * and calls s3_resumed() on the boot stack.
 */
__asm__(
    "    .text\n"
    "    .code16\n"
    "    .globl s3_stub, s3_stub_end\n"
    "s3_stub:\n"
    "    cli\n"
    "    cld\n"
    "    movw %cs, %ax\n"
    "    movw %ax, %ds\n"
    "    lgdtl (s3_stub_gdtr - s3_stub)\n"
    "    movl %cr0, %eax\n"
    "    orl $1, %eax\n"
    "    movl %eax, %cr0\n"
    "    ljmpl $0x08, $s3_resume32\n"
    "    .balign 8\n"
    "s3_stub_gdt:\n"
    "    .quad 0\n"
    "    .quad 0x00cf9a000000ffff\n"    /* flat 32-bit code */
    "    .quad 0x00cf92000000ffff\n"    /* flat data */
    "s3_stub_gdtr:\n"
    "    .word 3 * 8 - 1\n"
    "    .long 0x8000 + (s3_stub_gdt - s3_stub)\n"
    "s3_stub_end:\n"
    "    .code32\n"
    "s3_resume32:\n"
    "    movw $0x10, %ax\n"
    "    movw %ax, %ds\n"
    "    movw %ax, %es\n"
    "    movw %ax, %ss\n"
    "    movl $boot_stack_top, %esp\n"
    "    lgdt gdt_ptr\n"
    "    ljmp $0x08, $1f\n"
    "1:  movw $0x10, %ax\n"
    "    movw %ax, %ds\n"
    "    movw %ax, %es\n"
    "    movw %ax, %fs\n"
    "    movw %ax, %gs\n"
    "    movw %ax, %ss\n"
    "    call s3_resumed\n"
    "2:  hlt\n"
    "    jmp 2b\n");

extern const uint8_t s3_stub[], s3_stub_end[];
void s3_resumed(void);

/* What survives the suspend: RAM is all the kernel keeps. */
typedef struct S3Keep {
    uint32_t stage;
    bool by_alarm;              /* else QMP wakes us */
    unsigned failures;          /* guest_failures before the suspend */
    uint16_t pm1_evt, pm1_cnt, pm_tmr;
    int slp_typ;
    uint32_t pattern[PATTERN_WORDS];
} S3Keep;

#define keep ((volatile S3Keep *)S3_KEEP_ADDR)

static uint8_t checksum(const uint8_t *p, uint32_t len)
{
    uint8_t sum = 0;

    for (uint32_t i = 0; i < len; i++) {
        sum += p[i];
    }
    return sum;
}

static uint32_t get32(const uint8_t *p, unsigned off)
{
    return p[off] | (p[off + 1] << 8) | (p[off + 2] << 16) |
           ((uint32_t)p[off + 3] << 24);
}

static const uint8_t *find_rsdp(void)
{
    for (uint32_t a = RSDP_SCAN_START; a < RSDP_SCAN_END; a += 16) {
        const uint8_t *p = (const uint8_t *)a;

        if (!memcmp(p, "RSD PTR ", 8) && checksum(p, 20) == 0) {
            return p;
        }
    }
    return NULL;
}

/* The table @sig the RSDT points at, checksum checked; NULL if none. */
static const uint8_t *find_table(const uint8_t *rsdt, const char *sig)
{
    uint32_t n = (get32(rsdt, 4) - 36) / 4;

    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *t = (const uint8_t *)get32(rsdt, 36 + 4 * i);

        if (!memcmp(t, sig, 4) && checksum(t, get32(t, 4)) == 0) {
            return t;
        }
    }
    return NULL;
}

/*
 * SLP_TYP for PM1a from the DSDT's \_S3 (Name(_S3, Package(){a, ...}),
 * ACPI 6.4 7.4.2): NameString, PackageOp, PkgLength, NumElements, then
 * the first element as ZeroOp, OneOp or BytePrefix n.  -1: none.
 */
static int dsdt_s3_slp_typ(const uint8_t *dsdt)
{
    uint32_t len = get32(dsdt, 4);

    for (uint32_t i = 36; i + 8 < len; i++) {
        const uint8_t *p = dsdt + i;

        if (memcmp(p, "_S3_", 4) || p[4] != 0x12) {
            continue;
        }
        p += 5 + 1 + ((p[5] >> 6) & 3) + 1;     /* PkgLength, NumElements */
        if (p[0] == 0x00 || p[0] == 0x01) {
            return p[0];
        }
        return p[0] == 0x0a ? p[1] : -1;
    }
    return -1;
}

static uint8_t cmos_read(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
    outb(CMOS_INDEX, reg);
    outb(CMOS_DATA, v);
}

static unsigned rtc_from_reg(uint8_t v, bool binary)
{
    return binary ? v : (v >> 4) * 10 + (v & 0xf);
}

static uint8_t rtc_to_reg(unsigned v, bool binary)
{
    return binary ? v : ((v / 10) << 4) | (v % 10);
}

/* The alarm two seconds ahead, any minute and hour; AF cleared. */
static void arm_rtc_alarm(void)
{
    bool binary = cmos_read(RTC_REG_B) & REG_B_DM;
    unsigned sec;

    while (cmos_read(RTC_REG_A) & REG_A_UIP) {
    }
    sec = rtc_from_reg(cmos_read(RTC_SECONDS), binary);
    cmos_write(RTC_SECONDS_ALARM, rtc_to_reg((sec + 2) % 60, binary));
    cmos_write(RTC_MINUTES_ALARM, RTC_DONT_CARE);
    cmos_write(RTC_HOURS_ALARM, RTC_DONT_CARE);
    cmos_read(RTC_REG_C);
    cmos_write(RTC_REG_B, cmos_read(RTC_REG_B) | REG_B_AIE);
}

/* Spin about @seconds on the PM timer (24 bits at 3.579545 MHz). */
static void pm_timer_wait(uint16_t pm_tmr, unsigned seconds)
{
    uint32_t last = inl(pm_tmr) & 0xffffff;
    uint64_t ticks = 0;

    while (ticks < (uint64_t)seconds * PM_TIMER_HZ) {
        uint32_t now = inl(pm_tmr) & 0xffffff;

        ticks += (now - last) & 0xffffff;
        last = now;
    }
}

static bool find_acpi(void)
{
    uint16_t pm1_evt, pm1_cnt, pm_tmr;
    int slp_typ_s3;
    const uint8_t *rsdp = find_rsdp(), *rsdt, *fadt, *dsdt, *facs;
    uint32_t facs_addr;

    CHECK(rsdp != NULL, "RSDP found in the BIOS area");
    if (!rsdp) {
        return false;
    }
    rsdt = (const uint8_t *)get32(rsdp, 16);
    fadt = find_table(rsdt, "FACP");
    CHECK(fadt != NULL, "FADT in the RSDT");
    if (!fadt) {
        return false;
    }
    /* X_FIRMWARE_CTRL, when set, replaces FIRMWARE_CTRL (table 5.9). */
    facs_addr = get32(fadt, FADT_FIRMWARE_CTRL);
    if (get32(fadt, 4) >= FADT_X_FIRM_CTRL + 8 &&
        get32(fadt, FADT_X_FIRM_CTRL)) {
        facs_addr = get32(fadt, FADT_X_FIRM_CTRL);
    }
    facs = (const uint8_t *)facs_addr;
    CHECK(!memcmp(facs, "FACS", 4), "FACS signature");
    dsdt = (const uint8_t *)get32(fadt, FADT_DSDT);
    slp_typ_s3 = dsdt_s3_slp_typ(dsdt);
    CHECK_EQ(slp_typ_s3, 1, "DSDT \\_S3 SLP_TYP (PIIX4: 1)");
    pm1_evt = get32(fadt, FADT_PM1A_EVT_BLK);
    pm1_cnt = get32(fadt, FADT_PM1A_CNT_BLK);
    pm_tmr = get32(fadt, FADT_PM_TMR_BLK);
    keep->pm1_evt = pm1_evt;
    keep->pm1_cnt = pm1_cnt;
    keep->pm_tmr = pm_tmr;
    keep->slp_typ = slp_typ_s3;
    guest_printf("PM1a_EVT 0x%x PM1a_CNT 0x%x FACS 0x%x\n", pm1_evt,
                 pm1_cnt, (unsigned)facs_addr);
    if (slp_typ_s3 < 0 || !pm1_evt || !pm1_cnt || !pm_tmr ||
        memcmp(facs, "FACS", 4)) {
        return false;
    }
    *(volatile uint32_t *)(facs_addr + FACS_WAKING_VECTOR) =
        guest_cmdline_has("s3-badvec") ? S3_BAD_VECTOR : S3_STUB_ADDR;
    return true;
}

/* Back from S3 through the stub, on a reset CPU. */
void s3_resumed(void)
{
    uint16_t pm1_evt = keep->pm1_evt;
    uint16_t sts = inw(pm1_evt + PM1_STS);
    bool same = true;

    idt_init();
    guest_failures = keep->failures;    /* 0 where .bss started over */
    guest_puts("s3: resumed at the waking vector\n");
    CHECK_EQ(keep->stage, 1, "resumed once, after the suspend");
    keep->stage = 2;
    CHECK((sts & PM1_WAK) != 0, "PM1_STS.WAK_STS after wake-up");
    guest_printf("PM1_STS 0x%x after wake-up\n", sts);
    if (keep->by_alarm) {
        CHECK((sts & PM1_RTC) != 0, "PM1_STS.RTC_STS: the RTC alarm woke us");
    } else {
        CHECK((sts & PM1_RTC) == 0, "PM1_STS.RTC_STS clear: QMP woke us");
    }
    for (unsigned i = 0; i < PATTERN_WORDS; i++) {
        same &= keep->pattern[i] == i * 2654435761u;
    }
    CHECK(same, "RAM contents kept across S3");
    if (keep->by_alarm) {
        CHECK((cmos_read(RTC_REG_B) & REG_B_AIE) == 0,
              "RTC alarm enable cleared by the wake-up reset");
    }
    CHECK_EQ(cmos_read(RTC_SHUTDOWN_STATUS), 0,
             "CMOS shutdown status cleared by firmware");
    outw(pm1_evt + PM1_STS, sts);
    CHECK_EQ(inw(pm1_evt + PM1_STS) & (PM1_WAK | PM1_RTC), 0,
             "WAK_STS and RTC_STS clear when written 1");
    guest_finish();
}

void kernel_main(void)
{
    uint16_t cnt;

    if (guest_cmdline_has("s3-badvec") && keep->stage == 1) {
        guest_puts("s3: booted afresh after the wake-up\n");
        keep->stage = 0;
        return;
    }
    keep->stage = 0;
    if (!find_acpi()) {
        return;
    }
    for (unsigned i = 0; i < PATTERN_WORDS; i++) {
        keep->pattern[i] = i * 2654435761u;
    }
    memcpy((void *)S3_STUB_ADDR, s3_stub, s3_stub_end - s3_stub);
    keep->by_alarm = !guest_cmdline_has("s3-qmp");
    if (keep->by_alarm) {
        arm_rtc_alarm();
    }
    outw(keep->pm1_evt + PM1_STS, 0xffff);  /* write 1 to clear */
    outw(keep->pm1_evt + PM1_EN, keep->by_alarm ? PM1_RTC : 0);
    keep->failures = guest_failures;
    keep->stage = 1;
    __asm__ volatile("wbinvd" : : : "memory");
    guest_puts("s3: suspending\n");
    cnt = inw(keep->pm1_cnt) & ~(CNT_SLP_TYP_MASK | CNT_SLP_EN);
    outw(keep->pm1_cnt, cnt | (keep->slp_typ << CNT_SLP_TYP_SHIFT) |
                        CNT_SLP_EN);
    /* The machine stops here; still running after 5 s is a failure. */
    if (!keep->by_alarm) {
        for (;;) {
            __asm__ volatile("hlt");    /* interrupts are off */
        }
    }
    pm_timer_wait(keep->pm_tmr, 5);
    CHECK(false, "machine suspended on SLP_TYP(S3)|SLP_EN");
}
