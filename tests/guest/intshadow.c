/*
 * Interrupt shadows (SDM vol 3A 6.8.3; vol 2B STI): after an STI that
 * sets IF, the next instruction runs before a pending interrupt is
 * taken, and the interrupt comes at the boundary right after it, also
 * when the code runs hot (decoded and translated blocks).  The pending
 * interrupt is a fixed self-IPI from the local APIC, sent with IF=0.
 * MOV SS and POP SS shadow the single-step trap the same way (vol 2B,
 * MOV).  intshadow64.c builds this file again for long mode, where the
 * translator runs the hot loop.
 *
 * Under PVM ("pvm" on the command line) the cases that need an interrupt
 * or a trap at the first boundary after a shadow are skipped, with the
 * reason: PVM runs this ring-0 code in KVM's instruction emulator, which
 * takes a pending interrupt only when it stops emulating (HLT, an exit)
 * and single-steps MOV SS/POP SS without their shadow.
 */
#include "guest.h"

#ifdef __x86_64__
#define MOVP    "movq"
#define PUSHF   "pushfq"
#define POPF    "popfq"
#define SP      "%%rsp"
#else
#define MOVP    "movl"
#define PUSHF   "pushfl"
#define POPF    "popfl"
#define SP      "%%esp"
#endif

#define APIC_BASE       0xfee00000u
#define APIC_EOI        0x0b0
#define APIC_SVR        0x0f0
#define APIC_ICR_LO     0x300
#define ICR_SELF        (1u << 18)      /* destination shorthand: self */
#define VEC_SELF        0x41

static volatile unsigned self_count;
static volatile ureg self_ip;
static bool under_pvm;

#define PVM_NO_SHADOW   "PVM's emulator takes an interrupt only when it " \
                        "stops emulating, not at the first boundary after " \
                        "STI; NOP or POPF"

static void apic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(APIC_BASE + reg) = v;
}

static uint32_t apic_read(unsigned reg)
{
    return *(volatile uint32_t *)(uintptr_t)(APIC_BASE + reg);
}

static void self_handler(TrapFrame *f)
{
    self_count++;
    self_ip = f->ip;
    apic_write(APIC_EOI, 0);
}

/* Make VEC_SELF pending while IF=0; true once the APIC shows it in IRR. */
static bool send_self_ipi(void)
{
    unsigned irr = 0x200 + (VEC_SELF / 32) * 0x10;

    apic_write(APIC_ICR_LO, VEC_SELF | ICR_SELF);
    /* The IPI is posted asynchronously on real hardware: wait for IRR. */
    for (int i = 0; i < 1000000; i++) {
        if (apic_read(irr) & (1u << (VEC_SELF % 32))) {
            return true;
        }
    }
    return false;
}

/* STI; CLI: the shadow covers the only boundary with IF=1. */
static void test_sti_cli(void)
{
    unsigned n = self_count;

    CHECK(send_self_ipi(), "self-IPI pending (IRR)");
    __asm__ volatile("sti; cli" : : : "memory");
    CHECK_EQ(self_count, n, "STI; CLI takes no interrupt");
}

/* STI; NOP; NOP; CLI: taken between the two NOPs, no later. */
static bool sti_nop_once(void)
{
    unsigned n = self_count;
    ureg want;

    if (!send_self_ipi()) {
        return false;
    }
    __asm__ volatile(MOVP " $1f, %0\n\t"
                     "sti\n\tnop\n1:\tnop\n\tcli" : "=m"(want) : : "memory");
    return self_count == n + 1 && self_ip == want;
}

static void test_sti_nop(void)
{
    unsigned ok = 0;

    if (under_pvm) {
        guest_puts("skip STI; NOP: " PVM_NO_SHADOW "\n");
        return;
    }
    /* A pending one left over from test_sti_cli is taken here first. */
    __asm__ volatile("sti; nop; cli" : : : "memory");
    CHECK(sti_nop_once(), "STI; NOP: taken right after the NOP");
    /* Hot: decoded, then translated blocks. */
    for (int i = 0; i < 500; i++) {
        ok += sti_nop_once();
    }
    CHECK_EQ(ok, 500, "STI; NOP taken after the NOP, 500 times in a loop");
}

/* STI; HLT: the interrupt wakes the HLT and returns after it. */
static void test_sti_hlt(void)
{
    unsigned n = self_count;
    ureg want;

    CHECK(send_self_ipi(), "self-IPI pending for STI; HLT");
    __asm__ volatile(MOVP " $1f, %0\n\tsti\n\thlt\n1:\tcli"
                     : "=m"(want) : : "memory");
    CHECK_EQ(self_count, n + 1, "STI; HLT takes the interrupt");
    CHECK_EQ(self_ip, want, "...returning after the HLT");
}

/* IF already 1: STI has no shadow (vol 2B, STI). */
static void test_sti_no_shadow(void)
{
    unsigned n = self_count;
    ureg want;

    if (under_pvm) {
        guest_puts("skip POPF setting IF: " PVM_NO_SHADOW "\n");
        return;
    }
    CHECK(send_self_ipi(), "self-IPI pending for STI with IF=1");
    __asm__ volatile(MOVP " $1f, %0\n\t"
                     PUSHF "\n\torl $0x200, (" SP ")\n\t" POPF "\n"
                     "1:\tsti\n\tnop\n\tcli" : "=m"(want) : : "memory");
    CHECK_EQ(self_count, n + 1, "POPF setting IF takes the interrupt");
    CHECK_EQ(self_ip, want, "...at once: POPF has no shadow");
}

static volatile unsigned db_count;
static volatile ureg db_ip;

static void db_handler(TrapFrame *f)
{
    if (db_count++ == 0) {
        db_ip = f->ip;
    }
}

/* TF set, then MOV SS (or POP SS): the first #DB comes after the NOP. */
#define TF_ON   PUSHF "\n\torl $0x100, (" SP ")\n\t" POPF "\n\t"
#define TF_OFF  PUSHF "\n\tandl $~0x100, (" SP ")\n\t" POPF "\n\t"

static void check_ss_shadow(const char *what, ureg want)
{
    trap_handlers[VEC_DB] = NULL;
    guest_printf("# %s with TF\n", what);
    CHECK(db_count >= 1, "#DB taken");
    if (under_pvm) {
        guest_puts("skip the #DB's place: PVM's emulator single-steps the "
                   "SS load without its shadow\n");
        return;
    }
    CHECK_EQ(db_ip, want, "...first after the NOP, not after the SS load");
}

static void test_mov_ss(void)
{
    ureg want;

    db_count = 0;
    trap_handlers[VEC_DB] = db_handler;
    __asm__ volatile(MOVP " $1f, %0\n\tmovl %%ss, %%eax\n\t" TF_ON
                     "movl %%eax, %%ss\n\tnop\n1:\t" TF_OFF
                     : "=&m"(want) : : "eax", "memory", "cc");
    check_ss_shadow("MOV SS", want);
}

#ifndef __x86_64__
static void test_pop_ss(void)
{
    ureg want;

    db_count = 0;
    trap_handlers[VEC_DB] = db_handler;
    __asm__ volatile("movl $1f, %0\n\tpushl %%ss\n\t" TF_ON
                     "popl %%ss\n\tnop\n1:\t" TF_OFF
                     : "=&m"(want) : : "memory", "cc");
    check_ss_shadow("POP SS", want);
}
#endif

void kernel_main(void)
{
    under_pvm = guest_cmdline_has("pvm");
    /* The legacy PIC would deliver its timer on vector 8: mask it. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    apic_write(APIC_SVR, 0x1ff);        /* software-enable the APIC */
    idt_set_gate(VEC_SELF, trap_stubs[VEC_SELF], 0, 0);
    trap_handlers[VEC_SELF] = self_handler;
    test_sti_cli();
    test_sti_nop();
    test_sti_hlt();
    test_sti_no_shadow();
    test_mov_ss();
#ifndef __x86_64__
    test_pop_ss();              /* no POP SS in 64-bit mode */
#endif
    guest_finish();
}
