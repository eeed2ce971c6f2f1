/*
 * Exceptions in 32-bit protected mode: vector, error code and saved EIP for
 * #DE, #UD, #GP (with a selector error code), #NP, #SS, #BP, #OF (INTO),
 * #BR (BOUND), INT n, and #DF from a fault while delivering a fault
 * (SDM vol 3A 6.15, table 6-5).
 */
#include "guest.h"

/*
 * Run @insn with a resume point after it; *fault_ip gets the address of
 * the instruction itself (label 8).
 */
#define FAULT(insn, fault_ip, ...) \
    __asm__ volatile(SET_RESUME "movl $8f, %0\n8:\t" insn "\n9:" \
                     : "=m"(fault_ip) : __VA_ARGS__ : "memory", "cc")

static void expect(unsigned vec, ureg err, ureg ip, unsigned count_before,
                   const char *what)
{
    guest_printf("# %s\n", what);
    CHECK_EQ(last_trap.count, count_before + 1, "one trap taken");
    CHECK_EQ(last_trap.vector, vec, "vector");
    CHECK_EQ(last_trap.error, err, "error code");
    CHECK_EQ(last_trap.ip, ip, "saved EIP");
}

static void test_de(void)
{
    ureg ip;
    unsigned n = last_trap.count;

    FAULT("divl %%ecx", ip, "a"(1), "d"(0), "c"(0));
    expect(VEC_DE, 0, ip, n, "#DE: DIV by zero faults on the DIV");
    n = last_trap.count;
    FAULT("idivl %%ecx", ip, "a"(0x80000000), "d"(0xffffffff), "c"(-1));
    expect(VEC_DE, 0, ip, n, "#DE: IDIV overflow");
}

static void test_ud(void)
{
    ureg ip;
    unsigned n = last_trap.count;

    FAULT("ud2", ip, "i"(0));
    expect(VEC_UD, 0, ip, n, "#UD: UD2");
    n = last_trap.count;
    /* LOCK on a register form is #UD (SDM vol 2A, LOCK). */
    FAULT(".byte 0xf0, 0x01, 0xc0", ip, "i"(0));
    expect(VEC_UD, 0, ip, n, "#UD: LOCK ADD reg,reg");
}

static void test_gp(void)
{
    ureg ip;
    unsigned n = last_trap.count;
    uint16_t ds;

    FAULT("movw %%ax, %%ds", ip, "a"(0x1f8));
    expect(VEC_GP, 0x1f8, ip, n, "#GP: selector beyond the GDT limit");
    __asm__ volatile("movw %%ds, %0" : "=r"(ds));
    CHECK_EQ(ds, SEL_KDATA, "DS unchanged after the fault");

    n = last_trap.count;
    FAULT("movw %%ax, %%ss", ip, "a"(SEL_KCODE32));
    expect(VEC_GP, SEL_KCODE32, ip, n, "#GP: code segment into SS");

    n = last_trap.count;
    FAULT("movw %%ax, %%ds", ip, "a"(SEL_UDATA - 3 + 0x00));
    CHECK_EQ(last_trap.count, n, "DPL 3 data into DS at CPL 0 is fine");
    __asm__ volatile("movw %w0, %%ds" : : "r"(SEL_KDATA));

    n = last_trap.count;
    FAULT("ljmp $0, $0", ip, "i"(0));
    expect(VEC_GP, 0, ip, n, "#GP(0): far JMP to the null selector");
}

static void test_np_ss(void)
{
    ureg ip;
    unsigned n = last_trap.count;
    unsigned sel = SEL_SPARE;

    /* A data segment with P=0 (access 0x12). */
    gdt_set(sel, gdt_make(0, 0xfffff, 0x12, 0xc));
    FAULT("movw %%ax, %%ds", ip, "a"(sel));
    expect(VEC_NP, sel, ip, n, "#NP: not-present data segment into DS");

    n = last_trap.count;
    FAULT("movw %%ax, %%ss", ip, "a"(sel));
    expect(VEC_SS, sel, ip, n, "#SS: not-present segment into SS");
    gdt_set(sel, 0);
}

static void test_traps(void)
{
    ureg ip;
    unsigned n = last_trap.count;

    /* Traps save the address of the next instruction: label 9. */
    __asm__ volatile(SET_RESUME "int3\n9:\tmovl $9b, %0" : "=m"(ip)
                     : : "memory");
    expect(VEC_BP, 0, ip, n, "#BP: INT3 saves the next EIP");

    n = last_trap.count;
    __asm__ volatile(SET_RESUME "int $0x41\n9:\tmovl $9b, %0" : "=m"(ip)
                     : : "memory");
    expect(0x41, 0, ip, n, "INT 0x41");

    n = last_trap.count;
    __asm__ volatile("movb $0x7f, %%al; addb $1, %%al\n\t" SET_RESUME
                     "into\n9:\tmovl $9b, %0" : "=m"(ip) : : "eax",
                     "memory", "cc");
    expect(VEC_OF, 0, ip, n, "#OF: INTO with OF=1");

    n = last_trap.count;
    __asm__ volatile("movb $1, %%al; addb $1, %%al; into" : : : "eax", "cc");
    CHECK_EQ(last_trap.count, n, "INTO with OF=0 does nothing");
}

static void test_bound(void)
{
    static int32_t bounds[2] = { 10, 20 };
    ureg ip;
    unsigned n = last_trap.count;

    FAULT("boundl %%eax, (%%ecx)", ip, "a"(15), "c"(bounds));
    CHECK_EQ(last_trap.count, n, "BOUND inside the bounds");
    FAULT("boundl %%eax, (%%ecx)", ip, "a"(21), "c"(bounds));
    expect(VEC_BR, 0, ip, n, "#BR: BOUND above the upper bound");
}

static void test_df(void)
{
    ureg ip;
    unsigned n = last_trap.count;

    /*
     * #GP whose gate is not present raises #NP(13*8+2) while delivering
     * it: two contributory faults make a #DF with error code 0.
     */
    idt_set_present(VEC_GP, false);
    FAULT("movw %%ax, %%ds", ip, "a"(0x1f8));
    idt_set_present(VEC_GP, true);
    CHECK_EQ(last_trap.count, n + 1, "#DF: one trap reached a handler");
    CHECK_EQ(last_trap.vector, VEC_DF, "#DF: vector 8");
    CHECK_EQ(last_trap.error, 0, "#DF: error code 0");

    n = last_trap.count;
    idt_set_present(VEC_BP, false);
    FAULT("int3", ip, "i"(0));
    idt_set_present(VEC_BP, true);
    expect(VEC_NP, VEC_BP * 8 + 2, ip, n,
           "#NP: INT3 through a not-present gate (benign: no #DF)");
}

void kernel_main(void)
{
    test_de();
    test_ud();
    test_gp();
    test_np_ss();
    test_traps();
    test_bound();
    test_df();
}
