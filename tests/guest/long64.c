/*
 * Long mode: #PF with CR2 and NX on a 64-bit address, a non-canonical
 * access (#GP), the IST stack switch, ring 3 via IRETQ and back through
 * INT 0x80, SYSCALL/SYSRET, SWAPGS and the FS/GS base MSRs.
 */
#include "guest.h"

#define MSR_STAR            0xc0000081
#define MSR_LSTAR           0xc0000082
#define MSR_FMASK           0xc0000084
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_KERNEL_GS_BASE  0xc0000102

extern uint64_t pds[];          /* entry64.S: 4 page directories */
static uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t ist_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
static uint8_t test_page[4096] __attribute__((aligned(4096)));

/* Map 0x40000000.. (PD 1, entry 0) through pt[] with 4K pages. */
static volatile uint8_t *test_va(unsigned page)
{
    return (volatile uint8_t *)(uintptr_t)(0x40000000u + page * 4096u);
}

static void test_paging(void)
{
    ureg ip;
    unsigned n;

    pt[0] = (uint64_t)(uintptr_t)test_page | PTE_P | PTE_W;
    pt[1] = 0;
    pt[2] = (uint64_t)(uintptr_t)test_page | PTE_P | PTE_W | PTE_NX;
    pds[512] = (uint64_t)(uintptr_t)pt | PTE_P | PTE_W | PTE_U;
    write_cr3(read_cr3());
    test_page[0] = 0xc3;                    /* ret */
    CHECK_EQ(*test_va(0), 0xc3, "4K page mapped at 1 GiB reads the frame");

    n = last_trap.count;
    __asm__ volatile(SET_RESUME "8: movb (%1), %%al\n9:\tleaq 8b(%%rip), %0"
                     : "=r"(ip) : "r"(test_va(1) + 0x123)
                     : "rax", "r11", "memory");
    CHECK_EQ(last_trap.count, n + 1, "#PF taken");
    CHECK_EQ(last_trap.vector, VEC_PF, "#PF vector");
    CHECK_EQ(last_trap.error, 0, "#PF error: not present, read");
    CHECK_EQ(last_trap.cr2, 0x40001123, "CR2 = faulting address");

    /*
     * Fetch from the NX alias: #PF with P|I/D, CR2 = the target.  A JMP,
     * not a CALL: the fault comes after a CALL's push, which the resume
     * label would leave on the stack under this function's frame.
     */
    n = last_trap.count;
    __asm__ volatile(SET_RESUME "jmp *%0\n9:" : : "r"(test_va(2))
                     : "r11", "memory");
    CHECK_EQ(last_trap.vector, VEC_PF, "NX fetch faults");
    CHECK_EQ(last_trap.error, PFERR_P | PFERR_I, "NX error code P|I");
    CHECK_EQ(last_trap.cr2, 0x40002000, "NX CR2");
    (void)ip;

    n = last_trap.count;
    __asm__ volatile(SET_RESUME "movq (%0), %%rax\n9:"
                     : : "r"(0x8000000000000000ull) : "rax", "r11", "memory");
    CHECK_EQ(last_trap.vector, VEC_GP, "non-canonical access: #GP");
    CHECK_EQ(last_trap.error, 0, "non-canonical: error 0");
}

static volatile ureg bp_frame;

static void bp_handler(TrapFrame *f)
{
    bp_frame = (ureg)(uintptr_t)f;
}

static void test_ist(void)
{
    uint8_t *top = ist_stack + sizeof(ist_stack);

    if (guest_cmdline_has("pvm")) {
        guest_puts("skip #BP through an IST gate: PVM runs ring-0 code in "
                   "KVM's instruction emulator, which has no INT3 outside "
                   "real mode\n");
        return;
    }
    tss_set_ist(1, top);
    idt_set_gate(VEC_BP, trap_stubs[VEC_BP], 0, 1);
    trap_handlers[VEC_BP] = bp_handler;
    __asm__ volatile("int3" : : : "memory");
    trap_handlers[VEC_BP] = NULL;
    idt_set_gate(VEC_BP, trap_stubs[VEC_BP], 0, 0);
    CHECK_EQ(last_trap.vector, VEC_BP, "#BP through an IST gate");
    CHECK(bp_frame >= (ureg)(uintptr_t)ist_stack
          && bp_frame < (ureg)(uintptr_t)top,
          "handler ran on the IST1 stack");
    CHECK_EQ(*(uint64_t *)(top - 8), SEL_KDATA,
             "interrupted SS pushed at the top of IST1");
}

static volatile ureg user_seen_cs, user_syscall_ret, user_rflags_r11;

static void user_fn(ureg arg)
{
    ureg cs, r;

    __asm__ volatile("movw %%cs, %w0" : "=r"(cs));
    user_seen_cs = cs & 0xffff;
    /* INT 0x80 AX=1: returns BX+1. */
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(1), "b"(arg) : "memory");
    user_syscall_ret = r;
    /* SYSCALL nr 7: the kernel returns RDI*2 via SYSRET. */
    __asm__ volatile("syscall" : "=a"(r) : "a"(7), "D"(arg)
                     : "rcx", "r11", "memory");
    user_rflags_r11 = r;
}

/* SYSCALL entry: on the user stack, CPL 0; RCX/R11 hold RIP/RFLAGS. */
__asm__(".text\n.globl syscall_entry\nsyscall_entry:\n"
        "\tleaq (%rdi,%rdi), %rax\n"
        "\tsysretq\n");
void syscall_entry(void);

static void test_user(void)
{
    ureg r;

    wrmsr(MSR_STAR, ((uint64_t)(SEL_UCODE32 & ~3) << 48)
          | ((uint64_t)SEL_KCODE64 << 32));
    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
    wrmsr(MSR_FMASK, 0x200);
    if (guest_cmdline_has("pvm")) {
        guest_puts("skip INT 0x80 and SYSCALL from ring 3: PVM runs ring 3 "
                   "on the host's own selectors (CS reads 0x33) and "
                   "delivers INT 0x80 from there as #UD\n");
    } else {
        /* IF stays 0: the BIOS left the PIC timer on vector 8. */
        r = enter_user(user_fn, 41, user_stack + sizeof(user_stack), 0x2);
        CHECK_EQ(r, 0, "ring 3 returned through INT 0x80");
        CHECK_EQ(user_seen_cs, SEL_UCODE64,
                 "CS in ring 3 is the user code64");
        CHECK_EQ(user_syscall_ret, 42, "INT 0x80 from ring 3");
        CHECK_EQ(user_rflags_r11, 82, "SYSCALL/SYSRET round trip");
    }

    /* A fault in ring 3 comes back to the kernel with its vector. */
    r = enter_user((void (*)(ureg))(uintptr_t)test_va(1), 0,
                   user_stack + sizeof(user_stack), 0x2);
    CHECK_EQ(r, 0x10000 | VEC_PF, "jump to an unmapped page from ring 3");
    CHECK_EQ(last_trap.error, PFERR_U | PFERR_I, "user fetch #PF error");
    CHECK_EQ(last_trap.cr2, 0x40001000, "user fetch CR2");
}

/*
 * A fault right after register-only instructions of the same block: the
 * interpreter lets rip lag over those (accel/tcg TcgOp.pure) and must
 * put it back on the faulting instruction.  User code pushes onto a
 * supervisor page: #PF with rip on the PUSH.
 */
__asm__(".text\n.globl push_fault_user\npush_fault_user:\n"
        "\tmovq $5, %rax\n"
        "\taddq %rdi, %rax\n"
        "\tleaq 1(%rax), %rdx\n"
        "\txorl %ecx, %ecx\n"
        "\tshlq $3, %rdx\n"
        ".globl push_fault_insn\npush_fault_insn:\n"
        "\tpushq %rax\n"
        "\tud2\n");
void push_fault_user(ureg arg);
extern const char push_fault_insn[];

static void test_fault_rip_after_pure(void)
{
    ureg r;

    /* enter_user() puts its return address at 0x40000ff8 (ring 0). */
    r = enter_user(push_fault_user, 1, (void *)(uintptr_t)0x40001008u, 0x2);
    CHECK_EQ(r, 0x10000 | VEC_PF, "user PUSH onto a supervisor page: #PF");
    CHECK_EQ(last_trap.ip, (ureg)(uintptr_t)push_fault_insn,
             "#PF rip is the PUSH after register-only instructions");
    CHECK_EQ(last_trap.error, PFERR_P | PFERR_W | PFERR_U,
             "user write #PF error");
    CHECK_EQ(last_trap.cr2, 0x40000ff0, "PUSH #PF CR2");
}

static void test_swapgs(void)
{
    uint64_t gs;

    wrmsr(MSR_GS_BASE, 0x1111);
    wrmsr(MSR_KERNEL_GS_BASE, 0x2222);
    __asm__ volatile("swapgs");
    gs = rdmsr(MSR_GS_BASE);
    CHECK_EQ(gs, 0x2222, "SWAPGS exchanges GS base");
    CHECK_EQ(rdmsr(MSR_KERNEL_GS_BASE), 0x1111, "... and KERNEL_GS_BASE");
    wrmsr(MSR_FS_BASE, (uint64_t)(uintptr_t)test_page);
    test_page[8] = 0x5a;
    __asm__ volatile("movb %%fs:8, %b0" : "=q"(gs));
    CHECK_EQ(gs & 0xff, 0x5a, "FS base applies to FS: accesses");
    wrmsr(MSR_GS_BASE, 0);
    wrmsr(MSR_FS_BASE, 0);
}

void kernel_main(void)
{
    CHECK((rdmsr(MSR_EFER) & EFER_LMA) != 0, "EFER.LMA: long mode active");
    test_paging();
    test_ist();
    test_user();
    test_fault_rip_after_pure();
    test_swapgs();
}
