/*
 * Debug traps in long mode (SDM vol 3B ch. 17): single-step on TF
 * (17.3.1.4), also across POPF, MOV SS, IRETQ and SYSCALL/SYSRET; DR0-DR3
 * execute, write, read/write and I/O breakpoints with their DR6 bits
 * (17.2); RF in the RFLAGS pushed for faults, and RF letting a handler
 * go on past an instruction breakpoint (17.3.1.1); DR7.GD (17.2.4).
 */
#include "guest.h"

/*
 * Under PVM ("pvm" on the command line) this ring-0 code runs in KVM's
 * instruction emulator and ring 3 runs natively: the cases those two do
 * not implement are skipped, each with the reason.
 */
static bool pvm_skip(const char *what, const char *why)
{
    if (!guest_cmdline_has("pvm")) {
        return false;
    }
    guest_printf("skip %s: %s\n", what, why);
    return true;
}

#define MSR_STAR        0xc0000081
#define MSR_LSTAR       0xc0000082
#define MSR_FMASK       0xc0000084
#define TF              0x100u
#define RF              0x10000u
#define DR6_BS          (1u << 14)
#define DR6_BD          (1u << 13)
#define DR7_GD          (1u << 13)
#define CR4_DE          (1u << 3)
/* DR7: local enable of DRi, R/W and LEN fields (17.2.4). */
#define DR7_L(i)        (1u << (2 * (i)))
#define DR7_RW(i, rw)   ((uint64_t)(rw) << (16 + 4 * (i)))
#define DR7_LEN(i, len) ((uint64_t)(len) << (18 + 4 * (i)))
enum { RW_EXEC, RW_WRITE, RW_IO, RW_ACCESS };
enum { LEN_1, LEN_2, LEN_8, LEN_4 };

#define MAX_DB 16
static volatile unsigned db_count;
static volatile ureg db_ip[MAX_DB], db_cs[MAX_DB], db_flags[MAX_DB];
static volatile uint64_t db_dr6[MAX_DB];
static volatile bool db_resume;         /* set RF in the frame */
static uint8_t user_stack[4096] __attribute__((aligned(16)));

#define DEFINE_DR(n) \
    static inline void write_dr##n(uint64_t v) \
    { __asm__ volatile("mov %0, %%dr" #n : : "r"(v) : "memory"); } \
    static inline uint64_t read_dr##n(void) \
    { uint64_t v; __asm__ volatile("mov %%dr" #n ", %0" : "=r"(v)); \
      return v; }
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
DEFINE_DR(7)

static void db_handler(TrapFrame *f)
{
    unsigned i = db_count;

    if (i < MAX_DB) {
        db_ip[i] = f->ip;
        db_cs[i] = f->cs;
        db_flags[i] = f->flags;
        db_dr6[i] = read_dr6();
    }
    db_count = i + 1;
    write_dr6(0);
    if (db_resume) {
        f->flags |= RF;
    }
}

static void db_reset(void)
{
    db_count = 0;
    db_resume = false;
    write_dr6(0);
}

/* DR6 with the always-1 bits masked off: B0-B3 and BS. */
static uint64_t dr6_bits(unsigned i)
{
    return db_dr6[i] & (0xfu | DR6_BS);
}

/* TF set by POPF: traps after each instruction from the next one on. */
static void test_single_step(void)
{
    ureg l1, l2, l3, l4, l5;

    db_reset();
    __asm__ volatile("leaq 1f(%%rip), %0\n\tleaq 2f(%%rip), %1\n\t"
                     "leaq 3f(%%rip), %2\n\tleaq 4f(%%rip), %3\n\t"
                     "leaq 5f(%%rip), %4\n\t"
                     "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n"
                     "1:\tnop\n"
                     "2:\tmovl $1, %%eax\n"
                     "3:\tpushfq\n"
                     "4:\tandq $~0x100, (%%rsp)\n"
                     "5:\tpopfq\n"
                     : "=r"(l1), "=r"(l2), "=r"(l3), "=r"(l4), "=r"(l5)
                     : : "rax", "memory", "cc");
    guest_printf("# single-step: POPF sets TF, POPF clears it\n");
    CHECK_EQ(db_count, 5, "a #DB after each of 5 instructions");
    CHECK_EQ(db_ip[0], l2, "first trap after the NOP (not the POPF)");
    CHECK_EQ(db_ip[1], l3, "then after the MOV");
    CHECK_EQ(db_ip[2], l4, "then after the PUSHF");
    CHECK_EQ(db_ip[3], l5, "then after the AND");
    CHECK_EQ(dr6_bits(0), DR6_BS, "DR6.BS reports the single step");
    CHECK(db_flags[0] & TF, "the pushed RFLAGS has TF");
    CHECK(!(db_flags[0] & RF), "...and no RF (a trap)");
    CHECK(!(read_flags() & TF), "the handler ran with TF clear");
}

/* MOV SS holds the single-step trap until after the next instruction. */
static void test_mov_ss(void)
{
    ureg after_mov, after_nop;

    db_reset();
    __asm__ volatile("leaq 1f(%%rip), %0\n\tleaq 2f(%%rip), %1\n\t"
                     "movl %%ss, %%eax\n\t"
                     "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
                     "movl %%eax, %%ss\n"
                     "1:\tnop\n"
                     "2:\tpushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq\n"
                     : "=r"(after_mov), "=r"(after_nop)
                     : : "rax", "memory", "cc");
    guest_printf("# MOV SS with TF\n");
    CHECK(db_count >= 1, "single-step traps taken");
    if (!pvm_skip("the #DB's place after MOV SS", "PVM's emulator "
                  "single-steps the SS load without its shadow")) {
        CHECK_EQ(db_ip[0], after_nop,
                 "no #DB after MOV SS; one after the NOP");
    }
    CHECK_EQ(dr6_bits(0), DR6_BS, "...reported as a single step");
}

/* IRETQ that sets TF: the trap comes after the next instruction. */
static void test_iret(void)
{
    ureg target, after;

    db_reset();
    __asm__ volatile("leaq 1f(%%rip), %0\n\tleaq 2f(%%rip), %1\n\t"
                     "movq %%rsp, %%rax\n\t"
                     "pushq %%rax\n\tpushq %%rax\n\t"  /* SS fixed below */
                     "movl %%ss, %%eax\n\tmovq %%rax, 8(%%rsp)\n\t"
                     "pushfq\n\torq $0x100, (%%rsp)\n\t"
                     "movl %%cs, %%eax\n\tpushq %%rax\n\t"
                     "pushq %0\n\t"
                     "iretq\n"
                     "1:\tnop\n"
                     "2:\tpushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq\n"
                     : "=&r"(target), "=&r"(after) : : "rax", "memory",
                     "cc");
    guest_printf("# IRETQ loading TF\n");
    CHECK(db_count >= 1, "single-step traps taken");
    CHECK_EQ(db_ip[0], after, "first trap after the instruction after IRETQ");
}

/*
 * SYSCALL with TF and FMASK clearing TF: no #DB at CPL 0; SYSRET restores
 * TF from R11 and the trap follows it, in ring 3, as if after SYSCALL.
 */
__asm__(".text\ndb_syscall_entry:\n\tsysretq\n");
extern char db_syscall_entry[];
static volatile ureg user_after_syscall;

static void user_syscall_tf(ureg arg)
{
    ureg after;

    __asm__ volatile("leaq 1f(%%rip), %0\n\t"
                     "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
                     "syscall\n"
                     "1:\tnop\n\t"
                     "pushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq\n"
                     : "=&r"(after) : : "rcx", "r11", "memory", "cc");
    user_after_syscall = after;
}

static void test_syscall(void)
{
    if (pvm_skip("SYSCALL/SYSRET with TF", "PVM runs ring 3 natively and "
                 "reports no single-step trap from there")) {
        return;
    }
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    wrmsr(MSR_STAR, ((uint64_t)(SEL_UCODE32 & ~3) << 48)
          | ((uint64_t)SEL_KCODE64 << 32));
    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)db_syscall_entry);
    wrmsr(MSR_FMASK, 0x200 | TF);
    db_reset();
    enter_user(user_syscall_tf, 0, user_stack + sizeof(user_stack), 0x2);
    guest_printf("# SYSCALL/SYSRET with TF\n");
    CHECK(db_count >= 2, "single-step traps taken in ring 3");
    CHECK_EQ(db_cs[0] & 3, 3, "no #DB at CPL 0 (FMASK cleared TF)");
    CHECK_EQ(db_ip[0], user_after_syscall, "first trap right after SYSRET");
    CHECK_EQ(dr6_bits(0), DR6_BS, "...a single step");
}

/* DR0 on an instruction: a fault before it; RF goes on past it once. */
static void test_exec_bp(void)
{
    ureg bp = 0;

    db_reset();
    db_resume = true;
    __asm__ volatile("leaq 1f(%%rip), %0\n\t"
                     "movq %0, %%dr0\n\t"
                     "movq %1, %%dr7\n\t"
                     "movl $2, %%ecx\n"
                     "1:\tdecl %%ecx\n\t"
                     "jnz 1b\n\t"
                     "xorl %%eax, %%eax\n\tmovq %%rax, %%dr7\n"
                     : "=&r"(bp) : "r"((uint64_t)DR7_L(0)) : "rax", "rcx",
                     "memory", "cc");
    guest_printf("# DR0 execute breakpoint\n");
    CHECK_EQ(db_count, 2, "one fault per pass over the instruction (RF)");
    CHECK_EQ(db_ip[0], bp, "saved RIP is the breakpoint's instruction");
    CHECK_EQ(dr6_bits(0), 1, "DR6.B0");
    CHECK(!(db_flags[0] & RF), "the #DB fault pushes RF as it was (0)");
}

/*
 * DR7.GD (17.2.4): a MOV from a debug register faults (#DB at the MOV,
 * DR6.BD); the processor clears GD entering the handler, so the handler's
 * own MOVs and the MOV run again after IRETQ go through.
 */
static void test_general_detect(void)
{
    ureg at = 0;
    uint64_t v;

    db_reset();
    write_dr0(0x1234);
    __asm__ volatile("movq %2, %%dr7\n\t"
                     "leaq 1f(%%rip), %0\n"
                     "1:\tmovq %%dr0, %1\n"
                     : "=&r"(at), "=r"(v) : "r"((uint64_t)DR7_GD)
                     : "memory");
    guest_printf("# DR7.GD general detect\n");
    if (guest_cmdline_has("qemu") && db_count == 0) {
        guest_printf("skip: MOV DR with DR7.GD=1 raises #DB: QEMU 7.2 does "
                     "not implement general detect (SDM vol 3B 17.2.4)\n");
        write_dr7(0);
        return;
    }
    CHECK_EQ(db_count, 1, "one #DB for the MOV");
    CHECK_EQ(db_ip[0], at, "a fault: saved RIP is the MOV DR");
    CHECK(db_dr6[0] & DR6_BD, "DR6.BD");
    CHECK(!(read_dr7() & DR7_GD), "GD cleared by the #DB");
    CHECK_EQ(v, 0x1234, "the MOV ran after the handler");
    write_dr0(0);
}

static volatile uint32_t watched_w, watched_rw;

/* DR1 write, DR2 read/write: traps after the access, B1 / B2. */
static void test_data_bp(void)
{
    ureg after;
    uint32_t v;

    if (pvm_skip("DR1/DR2 data breakpoints", "KVM's emulator, which runs "
                 "this code under PVM, does not match its data accesses "
                 "against DR0-DR3")) {
        return;
    }
    db_reset();
    write_dr1((uintptr_t)&watched_w);
    write_dr2((uintptr_t)&watched_rw + 1);
    write_dr7(DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN_4) |
              DR7_L(2) | DR7_RW(2, RW_ACCESS) | DR7_LEN(2, LEN_1));
    v = watched_w;
    CHECK_EQ(db_count, 0, "a read of a write-watched word: no #DB");
    __asm__ volatile("movl $5, %1\n1:\tleaq 1b(%%rip), %0"
                     : "=r"(after), "=m"(watched_w) : : "memory");
    CHECK_EQ(db_count, 1, "a write to DR1's word: #DB");
    CHECK_EQ(db_ip[0], after, "...a trap after the store");
    CHECK_EQ(dr6_bits(0), 2, "...DR6.B1");
    __asm__ volatile("movl %1, %0\n1:\tleaq 1b(%%rip), %%rax\n\t"
                     "movq %%rax, %2"
                     : "=r"(v) : "m"(watched_rw), "m"(after) : "rax",
                     "memory");
    CHECK_EQ(db_count, 2, "a 4-byte read covering DR2's byte: #DB");
    CHECK_EQ(db_ip[1], after, "...a trap after the load");
    CHECK_EQ(dr6_bits(1), 4, "...DR6.B2");
    *(volatile uint8_t *)&watched_rw = 1;
    CHECK_EQ(db_count, 2, "a byte store beside DR2's byte: no #DB");
    write_dr7(0);
    watched_w = v;
    CHECK_EQ(db_count, 2, "disarmed: no #DB");
}

/* DR3 on port 0x80 with CR4.DE: a trap after the OUT, B3. */
static void test_io_bp(void)
{
    ureg after;

    if (pvm_skip("DR3 I/O breakpoint", "KVM's emulator, which runs "
                 "this code under PVM, does not match port I/O against "
                 "DR0-DR3")) {
        return;
    }
    db_reset();
    write_cr4(read_cr4() | CR4_DE);
    write_dr3(0x80);
    write_dr7(DR7_L(3) | DR7_RW(3, RW_IO) | DR7_LEN(3, LEN_1));
    outb(0x81, 0);
    CHECK_EQ(db_count, 0, "OUT to another port: no #DB");
    __asm__ volatile("outb %%al, $0x80\n1:\tleaq 1b(%%rip), %0"
                     : "=r"(after) : "a"(0) : "memory");
    CHECK_EQ(db_count, 1, "OUT to DR3's port: #DB");
    CHECK_EQ(db_ip[0], after, "...a trap after the OUT");
    CHECK_EQ(dr6_bits(0), 8, "...DR6.B3");
    write_dr7(0);
    write_cr4(read_cr4() & ~CR4_DE);
}

static volatile ureg ud_flags, bp_flags;

static void ud_handler(TrapFrame *f)
{
    ud_flags = f->flags;
    f->ip += 2;                         /* past UD2 */
}

static void bp_handler(TrapFrame *f)
{
    bp_flags = f->flags;
}

/* Faults push RF=1, traps and software interrupts push RF as it is. */
static void test_rf_pushed(void)
{
    if (pvm_skip("RF in the pushed RFLAGS", "KVM's emulator, which runs "
                 "this code under PVM, has no INT3 outside real mode")) {
        return;
    }
    trap_handlers[VEC_UD] = ud_handler;
    trap_handlers[VEC_BP] = bp_handler;
    __asm__ volatile("ud2" : : : "memory");
    __asm__ volatile("int3" : : : "memory");
    trap_handlers[VEC_UD] = NULL;
    trap_handlers[VEC_BP] = NULL;
    guest_printf("# RF in the pushed RFLAGS\n");
    if (guest_cmdline_has("qemu")) {
        /* QEMU 7.2 pushes RF as it is for every event, faults included. */
        guest_printf("skip: #UD pushes RF=1: QEMU 7.2 does not set RF in "
                     "the RFLAGS pushed for faults (SDM vol 3B 17.3.1.1)\n");
    } else {
        CHECK(ud_flags & RF, "#UD (a fault) pushes RF=1");
    }
    CHECK(!(bp_flags & RF), "#BP (a trap) pushes RF=0");
    CHECK(!(read_flags() & RF), "RF is clear after the IRETQ");
}

void kernel_main(void)
{
    trap_handlers[VEC_DB] = db_handler;
    test_single_step();
    test_mov_ss();
    test_iret();
    test_syscall();
    test_exec_bp();
    test_data_bp();
    test_io_bp();
    test_rf_pushed();
    test_general_detect();
    guest_finish();
}
