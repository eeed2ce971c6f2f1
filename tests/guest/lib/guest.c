/*
 * The bare-metal test kernels' runtime: see guest.h.
 */
#include <stdarg.h>
#include "guest.h"

volatile TrapRecord last_trap;
volatile ureg resume_ip;
volatile ureg user_trap_value;
TrapHandler trap_handlers[256];
unsigned guest_failures;
static unsigned guest_checks;

/* ---- COM1 ------------------------------------------------------------ */

void guest_putc(char c)
{
    /* Wait for THRE (LSR bit 5), but never forever. */
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++) {
    }
    outb(COM1, (uint8_t)c);
}

void guest_puts(const char *s)
{
    while (*s) {
        if (*s == '\n') {
            guest_putc('\r');
        }
        guest_putc(*s++);
    }
}

/*
 * v / base for base <= 16 with 32-bit divisions only: there is no 32-bit
 * libgcc for the 64-bit helpers.
 */
static uint64_t div_small(uint64_t v, uint32_t base, uint32_t *rem)
{
    uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;
    uint32_t qhi = hi / base, r = hi % base;
    uint32_t t = (r << 16) | (lo >> 16);
    uint32_t q1 = t / base;

    r = t % base;
    t = (r << 16) | (lo & 0xffff);
    *rem = t % base;
    return ((uint64_t)qhi << 32) | (q1 << 16) | (t / base);
}

static void put_num(uint64_t v, unsigned base, int width, bool neg)
{
    char buf[24];
    int n = 0;
    uint32_t digit;

    do {
        v = div_small(v, base, &digit);
        buf[n++] = "0123456789abcdef"[digit];
    } while (v);
    while (n < width) {
        buf[n++] = '0';
    }
    if (neg) {
        guest_putc('-');
    }
    while (n) {
        guest_putc(buf[--n]);
    }
}

static uint64_t fetch_unsigned(va_list *ap, int longs)
{
    if (longs >= 2) {
        return va_arg(*ap, unsigned long long);
    }
    if (longs == 1) {
        return va_arg(*ap, unsigned long);
    }
    return va_arg(*ap, unsigned int);
}

/* %s %c %d %u %x with optional l/ll and a zero-padded width: enough. */
void guest_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        int width = 0, longs = 0;

        if (*fmt != '%') {
            guest_puts((char[]){*fmt, 0});
            continue;
        }
        fmt++;
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 's':
            guest_puts(va_arg(ap, const char *));
            break;
        case 'c':
            guest_putc((char)va_arg(ap, int));
            break;
        case 'd': {
            int64_t v = longs >= 2 ? va_arg(ap, long long)
                      : longs ? va_arg(ap, long) : va_arg(ap, int);
            put_num(v < 0 ? -(uint64_t)v : (uint64_t)v, 10, width, v < 0);
            break;
        }
        case 'u':
            put_num(fetch_unsigned(&ap, longs), 10, width, false);
            break;
        case 'x':
            put_num(fetch_unsigned(&ap, longs), 16, width, false);
            break;
        case '%':
            guest_putc('%');
            break;
        default:
            guest_putc('?');
            break;
        }
    }
    va_end(ap);
}

/* ---- exits and checks ------------------------------------------------ */

void guest_exit(uint8_t code)
{
    /*
     * QEMU's isa-debug-exit sits at 0x501 unless iobase= says otherwise;
     * 0xf4 is the usual explicit choice.  Write both so that a plain
     * "-device isa-debug-exit" works whichever default the emulator has.
     */
    outb(GUEST_EXIT_PORT, code);
    outb(GUEST_EXIT_PORT_QEMU, code);
    /* No isa-debug-exit device: stop here for the runner's timeout. */
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

void guest_pass(void)
{
    guest_exit(GUEST_EXIT_PASS);
}

void guest_fail(void)
{
    guest_exit(GUEST_EXIT_FAIL);
}

void guest_check(bool ok, const char *what, uint64_t got, uint64_t want)
{
    guest_checks++;
    if (ok) {
        guest_printf("ok %u - %s\n", guest_checks, what);
        return;
    }
    guest_failures++;
    guest_printf("FAIL %u - %s: got 0x%llx want 0x%llx\n", guest_checks,
                 what, (unsigned long long)got, (unsigned long long)want);
}

void guest_finish(void)
{
    guest_printf("%u checks, %u failed\n", guest_checks, guest_failures);
    if (guest_failures || !guest_checks) {
        guest_puts("GUEST TEST FAILED\n");
        guest_fail();
    }
    guest_puts("GUEST TEST PASSED\n");
    guest_pass();
}

/* ---- GDT ------------------------------------------------------------- */

/* SDM vol 3A 3.4.5: flags are G, D/B, L, AVL (the descriptor's top nibble). */
uint64_t gdt_make(uint32_t base, uint32_t limit, uint8_t access,
                  uint8_t flags)
{
    return (uint64_t)(limit & 0xffff)
         | ((uint64_t)(base & 0xffffff) << 16)
         | ((uint64_t)access << 40)
         | ((uint64_t)((limit >> 16) & 0xf) << 48)
         | ((uint64_t)(flags & 0xf) << 52)
         | ((uint64_t)(base >> 24) << 56);
}

#define FLAT_CODE32     0x00cf9a000000ffffull
#define FLAT_DATA       0x00cf92000000ffffull
#define FLAT_CODE64     0x00af9a000000ffffull
#define USER_CODE32     0x00cffa000000ffffull
#define USER_DATA       0x00cff2000000ffffull
#define USER_CODE64     0x00affa000000ffffull
#define CODE16          0x00009a000000ffffull
#define DATA16          0x000092000000ffffull

uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16))) = {
#ifdef __x86_64__
    [SEL_KCODE32 >> 3] = FLAT_CODE32,
    [SEL_KDATA >> 3] = FLAT_DATA,
    [SEL_KCODE64 >> 3] = FLAT_CODE64,
    [SEL_KDATA2 >> 3] = FLAT_DATA,
    [SEL_UCODE32 >> 3] = USER_CODE32,
    [SEL_UDATA >> 3] = USER_DATA,
    [SEL_UCODE64 >> 3] = USER_CODE64,
#else
    [SEL_KCODE32 >> 3] = FLAT_CODE32,
    [SEL_KDATA >> 3] = FLAT_DATA,
    [SEL_UCODE32 >> 3] = USER_CODE32,
    [SEL_UDATA >> 3] = USER_DATA,
    [SEL_CODE16 >> 3] = CODE16,
    [SEL_DATA16 >> 3] = DATA16,
    [SEL_KCODE64 >> 3] = FLAT_CODE64,
#endif
};

/* The pseudo-descriptor entry*.S loads (limit, base). */
struct __attribute__((packed)) {
    uint16_t limit;
    ureg base;
} gdt_ptr = { sizeof(gdt) - 1, (ureg)gdt };

void gdt_set(unsigned sel, uint64_t desc)
{
    gdt[sel >> 3] = desc;
}

/* ---- IDT ------------------------------------------------------------- */

#ifdef __x86_64__
typedef struct __attribute__((packed)) IdtGate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} IdtGate;
#else
typedef struct __attribute__((packed)) IdtGate {
    uint16_t off_lo, sel;
    uint8_t zero, type;
    uint16_t off_mid;
} IdtGate;
#endif

static IdtGate idt[256] __attribute__((aligned(16)));

void idt_set_gate(unsigned vec, void *handler, unsigned dpl, unsigned ist)
{
    ureg off = (ureg)handler;
    IdtGate *g = &idt[vec & 0xff];

    g->off_lo = off & 0xffff;
    g->off_mid = (off >> 16) & 0xffff;
#ifdef __x86_64__
    g->sel = SEL_KCODE64;
    g->ist = ist & 7;
    g->off_hi = (uint32_t)(off >> 32);
    g->zero = 0;
#else
    (void)ist;
    g->sel = SEL_KCODE32;
    g->zero = 0;
#endif
    /* Present, DPL, 32/64-bit interrupt gate (type 0xe). */
    g->type = 0x80 | ((dpl & 3) << 5) | 0x0e;
}

void idt_set_present(unsigned vec, bool present)
{
    if (present) {
        idt[vec & 0xff].type |= 0x80;
    } else {
        idt[vec & 0xff].type &= ~0x80;
    }
}

void idt_init(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        ureg base;
    } ptr = { sizeof(idt) - 1, (ureg)idt };

    for (unsigned v = 0; v < 256; v++) {
        idt_set_gate(v, trap_stubs[v], v == VEC_SYSCALL ? 3 : 0, 0);
    }
    __asm__ volatile("lidt %0" : : "m"(ptr));
}

/* ---- TSS ------------------------------------------------------------- */

#define IOMAP_BYTES 8192

#ifdef __x86_64__
typedef struct __attribute__((packed)) Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} Tss;
#else
typedef struct __attribute__((packed)) Tss {
    uint16_t link, pad0;
    uint32_t esp0;
    uint16_t ss0, pad1;
    uint32_t esp1;
    uint16_t ss1, pad2;
    uint32_t esp2;
    uint16_t ss2, pad3;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, pad4, cs, pad5, ss, pad6, ds, pad7, fs, pad8, gs, pad9;
    uint16_t ldt, pad10, trap, iomap_base;
} Tss;
#endif

/* The I/O bitmap follows the TSS; one all-ones byte ends it (SDM 20.5.2). */
static struct __attribute__((packed)) {
    Tss tss;
    uint8_t iomap[IOMAP_BYTES];
    uint8_t iomap_end;
} tss_block __attribute__((aligned(128)));

static uint8_t kernel_trap_stack[8192] __attribute__((aligned(16)));

void tss_set_iomap_bit(unsigned port, bool deny)
{
    port &= 0xffff;
    if (deny) {
        tss_block.iomap[port / 8] |= 1u << (port % 8);
    } else {
        tss_block.iomap[port / 8] &= ~(1u << (port % 8));
    }
}

void tss_set_ist(unsigned n, void *stack_top)
{
#ifdef __x86_64__
    if (n >= 1 && n <= 7) {
        tss_block.tss.ist[n - 1] = (uint64_t)stack_top;
    }
#else
    (void)n;
    (void)stack_top;
#endif
}

void tss_init(void)
{
    ureg base = (ureg)&tss_block;
    uint32_t limit = sizeof(tss_block) - 1;
    void *top = kernel_trap_stack + sizeof(kernel_trap_stack);

    /* Deny every port by default; tests open the ones they want. */
    for (unsigned i = 0; i < IOMAP_BYTES; i++) {
        tss_block.iomap[i] = 0xff;
    }
    tss_block.iomap_end = 0xff;
    tss_block.tss.iomap_base = offsetof(__typeof__(tss_block), iomap);
#ifdef __x86_64__
    tss_block.tss.rsp[0] = (uint64_t)top;
    gdt_set(SEL_TSS, gdt_make((uint32_t)base, limit, 0x89, 0));
    gdt_set(SEL_TSS + 8, (uint64_t)base >> 32);
#else
    tss_block.tss.esp0 = (uint32_t)top;
    tss_block.tss.ss0 = SEL_KDATA;
    gdt_set(SEL_TSS, gdt_make(base, limit, 0x89, 0));
#endif
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)SEL_TSS));
}

/* ---- traps ----------------------------------------------------------- */

void trap_dispatch(TrapFrame *f);

#ifdef __x86_64__
#define FRAME_AX(f) ((f)->rax)
#define FRAME_BX(f) ((f)->rbx)
#else
#define FRAME_AX(f) ((f)->eax)
#define FRAME_BX(f) ((f)->ebx)
#endif

/* INT 0x80 from ring 3: AX=0 leaves ring 3 with BX; AX=1 returns BX+1. */
static void guest_syscall(TrapFrame *f)
{
    if (FRAME_AX(f) == 0) {
        user_return(FRAME_BX(f));
    }
    FRAME_AX(f) = FRAME_BX(f) + 1;
}

void trap_dispatch(TrapFrame *f)
{
    bool from_user = (f->cs & 3) != 0;

    last_trap.vector = f->vector;
    last_trap.error = f->error;
    last_trap.ip = f->ip;
    last_trap.cs = f->cs;
#ifdef __x86_64__
    last_trap.sp = f->sp;
#else
    last_trap.sp = from_user ? f->sp : (ureg)&f->sp;
#endif
    last_trap.cr2 = read_cr2();
    last_trap.count++;

    if (trap_handlers[f->vector & 0xff]) {
        trap_handlers[f->vector & 0xff](f);
        return;
    }
    if (f->vector == VEC_SYSCALL && from_user) {
        guest_syscall(f);
        return;
    }
    if (from_user) {
        user_trap_value = f->vector;
        user_return(0x10000 | f->vector);
    }
    if (resume_ip) {
        f->ip = resume_ip;
        resume_ip = 0;
        return;
    }
    guest_printf("FAIL unexpected trap %u error 0x%lx at %lx:%lx cr2 %lx\n",
                 (unsigned)f->vector, (unsigned long)f->error,
                 (unsigned long)f->cs, (unsigned long)f->ip,
                 (unsigned long)last_trap.cr2);
    guest_puts("GUEST TEST FAILED\n");
    guest_fail();
}

/* gcc may emit calls to these even in freestanding code. */
void *memset(void *d, int c, size_t n)
{
    uint8_t *p = d;

    while (n--) {
        *p++ = (uint8_t)c;
    }
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *p = d;
    const uint8_t *q = s;

    while (n--) {
        *p++ = *q++;
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *p = a, *q = b;

    for (; n; n--, p++, q++) {
        if (*p != *q) {
            return *p - *q;
        }
    }
    return 0;
}

/* ---- start-up -------------------------------------------------------- */

void guest_start(uint32_t magic, uint32_t mbi);

/*
 * The multiboot command line (info flags bit 2, cmdline at offset 16;
 * Multiboot 0.6.96 3.3), or "" when the loader gave none.
 */
static const char *guest_cmdline = "";

static void guest_read_cmdline(uint32_t mbi)
{
    const volatile uint32_t *info = (const volatile uint32_t *)(ureg)mbi;

    if (info[0] & (1u << 2)) {
        guest_cmdline = (const char *)(ureg)info[4];
    }
}

bool guest_cmdline_has(const char *word)
{
    size_t n = 0;

    while (word[n]) {
        n++;
    }
    for (const char *p = guest_cmdline; *p; p++) {
        bool starts = p == guest_cmdline || p[-1] == ' ';
        if (starts && !memcmp(p, word, n) && (p[n] == ' ' || !p[n])) {
            return true;
        }
    }
    return false;
}

/* entry32.S / entry64.S arrive here with the multiboot registers. */
void guest_start(uint32_t magic, uint32_t mbi)
{
    guest_puts("\nguest: start\n");
    guest_read_cmdline(mbi);
    CHECK_EQ(magic, 0x2badb002, "multiboot magic in EAX");
    /* Flags bit 0: mem_lower/mem_upper are valid (spec 3.3). */
    CHECK((*(volatile uint32_t *)(ureg)mbi & 1) != 0, "multiboot info flags");
    idt_init();
    tss_init();
    kernel_main();
    guest_finish();
}
