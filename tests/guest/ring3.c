/*
 * Ring 3 in 32-bit protected mode: IRET into CPL 3 and back through
 * INT 0x80, the TSS I/O bitmap and IOPL (SDM vol 1 19.5), privileged
 * instructions and DPL-0 gates from CPL 3 (#GP), SYSENTER/SYSEXIT and a
 * far CALL through a call gate to CPL 0 and LRET back.
 */
#include "guest.h"

#define MSR_SYSENTER_CS     0x174
#define MSR_SYSENTER_ESP    0x175
#define MSR_SYSENTER_EIP    0x176
#define SEL_GATE            (SEL_SPARE | 3)

static uint8_t user_stack[4096] __attribute__((aligned(16)));
static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));
static volatile uint32_t user_step, user_value;

static ureg run_user(void (*fn)(ureg), ureg arg, ureg flags)
{
    user_step = 0;
    return enter_user(fn, arg, user_stack + sizeof(user_stack), flags);
}

static void user_io(ureg arg)
{
    outb(0x80, 1);
    user_step = 1;
    user_value = inb(COM1 + 7);
    user_step = 2;
}

static void user_cli(ureg arg)
{
    __asm__ volatile("cli");
    user_step = 1;
}

static void user_int41(ureg arg)
{
    __asm__ volatile("int $0x41");
    user_step = 1;
}

/* SYSENTER lands here at CPL 0: double EAX, SYSEXIT to EDX with ECX. */
__asm__(".text\nsysenter_entry:\n\taddl %eax, %eax\n\tsysexit\n");
extern char sysenter_entry[];

static void user_sysenter(ureg arg)
{
    uint32_t r;

    __asm__ volatile("movl %%esp, %%ecx\n\t"
                     "movl $1f, %%edx\n\t"
                     "sysenter\n1:"
                     : "=a"(r) : "a"(arg) : "ecx", "edx", "memory");
    user_value = r;
    user_step = 1;
}

/* Call-gate target at CPL 0: report CS in EAX, return to CPL 3. */
__asm__(".text\ngate_target:\n\tmovl %cs, %eax\n\tlret\n");
extern char gate_target[];

static void user_callgate(ureg arg)
{
    uint32_t r;

    __asm__ volatile("lcall $%c1, $0" : "=a"(r) : "i"(SEL_GATE) : "memory");
    user_value = r & 0xffff;
    __asm__ volatile("movl %%cs, %0" : "=r"(r));
    user_step = r & 3;
}

static void test_io_bitmap(void)
{
    ureg r;

    outb(COM1 + 7, 0x5c);
    tss_set_iomap_bit(0x80, false);
    r = run_user(user_io, 0, 0x2);
    CHECK_EQ(user_step, 1, "ring 3 OUT to a port the bitmap allows");
    CHECK_EQ(r, 0x10000 | VEC_GP, "ring 3 IN from a denied port: #GP");
    CHECK_EQ(last_trap.error, 0, "#GP(0)");
    r = run_user(user_io, 0, 0x3002);
    CHECK_EQ(r, 0, "IOPL 3: every port allowed");
    CHECK_EQ(user_value, 0x5c, "... and the IN read the scratch register");
}

static void test_privilege(void)
{
    ureg r = run_user(user_cli, 0, 0x2);

    CHECK_EQ(r, 0x10000 | VEC_GP, "CLI at CPL 3 with IOPL 0: #GP");
    CHECK_EQ(user_step, 0, "CLI did not complete");
    r = run_user(user_int41, 0, 0x2);
    CHECK_EQ(r, 0x10000 | VEC_GP, "INT to a DPL 0 gate from CPL 3: #GP");
    CHECK_EQ(last_trap.error, 0x41 * 8 + 2, "error code names the IDT slot");
}

static void test_sysenter(void)
{
    ureg r;

    wrmsr(MSR_SYSENTER_CS, SEL_KCODE32);
    wrmsr(MSR_SYSENTER_ESP, (uintptr_t)(sysenter_stack
                                        + sizeof(sysenter_stack)));
    wrmsr(MSR_SYSENTER_EIP, (uintptr_t)sysenter_entry);
    r = run_user(user_sysenter, 21, 0x2);
    CHECK_EQ(r, 0, "SYSENTER/SYSEXIT returned to ring 3");
    CHECK_EQ(user_value, 42, "SYSENTER handler ran at CPL 0");
}

static void test_call_gate(void)
{
    uint32_t off = (uint32_t)(uintptr_t)gate_target;
    ureg r;

    /* 32-bit call gate (type 0xc), DPL 3, to kernel code (SDM 5.8.3). */
    gdt_set(SEL_SPARE, (uint64_t)((off & 0xffff) | (SEL_KCODE32 << 16))
            | ((uint64_t)((off & 0xffff0000) | 0xec00) << 32));
    r = run_user(user_callgate, 0, 0x2);
    CHECK_EQ(r, 0, "far CALL through a gate and LRET back");
    CHECK_EQ(user_value, SEL_KCODE32, "gate target ran with kernel CS");
    CHECK_EQ(user_step, 3, "back at CPL 3 after LRET");
}

void kernel_main(void)
{
    test_io_bitmap();
    test_privilege();
    test_sysenter();
    test_call_gate();
}
