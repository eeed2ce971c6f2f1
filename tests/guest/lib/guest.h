/*
 * The small runtime every bare-metal test kernel links: COM1 output,
 * isa-debug-exit, descriptor tables, trap recording and a way into ring 3
 * and back.  Built twice: -m32 for protected-mode kernels and -m64 for the
 * long-mode kernel (entered through entry64.S).
 *
 * Exit convention (isa-debug-exit at port 0xf4 or QEMU's default 0x501,
 * status = (v << 1) | 1):
 *   guest_pass() writes 0x10 -> qlite/QEMU exit status 33
 *   guest_fail() writes 0x11 -> exit status 35
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_EXIT_PORT     0xf4
#define GUEST_EXIT_PORT_QEMU 0x501  /* QEMU's default iobase */
#define GUEST_EXIT_PASS     0x10
#define GUEST_EXIT_FAIL     0x11
#define COM1                0x3f8

/*
 * GDT layout.  The 64-bit one puts a second kernel data slot right after
 * the 64-bit code so that STAR can describe SYSCALL's CS/SS pair, and the
 * user code32/data/code64 triple in SYSRET's order (SDM vol 2B, SYSRET).
 * The 32-bit one puts user code/data 16 and 24 bytes above kernel code, in
 * SYSEXIT's order (SDM vol 2B, SYSEXIT).
 */
#ifdef __x86_64__
#define SEL_KCODE32     0x08
#define SEL_KDATA       0x10
#define SEL_KCODE64     0x18
#define SEL_KDATA2      0x20
#define SEL_UCODE32     0x2b
#define SEL_UDATA       0x33
#define SEL_UCODE64     0x3b
#define SEL_TSS         0x40    /* 16 bytes */
#define SEL_SPARE       0x50    /* 4 slots for tests */
#define SEL_UCODE       SEL_UCODE64
#else
#define SEL_KCODE32     0x08
#define SEL_KDATA       0x10
#define SEL_UCODE32     0x1b
#define SEL_UDATA       0x23
#define SEL_CODE16      0x28
#define SEL_DATA16      0x30
#define SEL_TSS         0x38
#define SEL_KCODE64     0x40
#define SEL_SPARE       0x48    /* 4 slots for tests */
#define SEL_UCODE       SEL_UCODE32
#endif
#define GDT_ENTRIES     16

/* Exception vectors (SDM vol 3A, table 6-1). */
enum {
    VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5,
    VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11,
    VEC_SS = 12, VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17,
    VEC_SYSCALL = 0x80,
};

typedef uintptr_t ureg;

/* What trap32.S / trap64.S push, lowest address first. */
typedef struct TrapFrame {
#ifdef __x86_64__
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
#else
    uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
#endif
    ureg vector, error;
    ureg ip, cs, flags;
    ureg sp, ss;        /* valid on a privilege change (always in 64-bit) */
} TrapFrame;

/* The last trap taken, as the dispatcher recorded it. */
typedef struct TrapRecord {
    unsigned count;
    ureg vector, error, ip, cs, sp, cr2;
} TrapRecord;
extern volatile TrapRecord last_trap;

/*
 * A test that expects a fault sets resume_ip to a label after the faulting
 * instruction; the dispatcher records the trap and resumes there.  An
 * unexpected trap in ring 0 fails the test.
 */
extern volatile ureg resume_ip;
/* A test may take over a vector; return to the interrupted code. */
typedef void (*TrapHandler)(TrapFrame *f);
extern TrapHandler trap_handlers[256];

/* The freestanding C library bits guest.c provides. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* Serial output. */
void guest_putc(char c);
void guest_puts(const char *s);
void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Exits never return. */
__attribute__((noreturn)) void guest_exit(uint8_t code);
__attribute__((noreturn)) void guest_pass(void);
__attribute__((noreturn)) void guest_fail(void);

/* Checks print "ok"/"FAIL" lines; a failure is remembered, not fatal. */
extern unsigned guest_failures;
void guest_check(bool ok, const char *what, uint64_t got, uint64_t want);
#define CHECK_EQ(got, want, what) \
    guest_check((uint64_t)(got) == (uint64_t)(want), (what), \
                (uint64_t)(got), (uint64_t)(want))
#define CHECK(cond, what) guest_check((cond), (what), (cond), 1)
/*
 * Is @word one of the multiboot command line's words?  The runner passes
 * "qemu" when the emulator is QEMU, "kvm" under KVM and "pvm" where that
 * KVM is PVM, so that a test can skip a case where QEMU, KVM or PVM itself
 * is known to be wrong or lacking (and say why).
 */
bool guest_cmdline_has(const char *word);
/* Prints the summary line and exits pass or fail. */
__attribute__((noreturn)) void guest_finish(void);

/* Descriptor tables. */
extern uint64_t gdt[GDT_ENTRIES];
void gdt_set(unsigned sel, uint64_t desc);
uint64_t gdt_make(uint32_t base, uint32_t limit, uint8_t access,
                  uint8_t flags);
void idt_init(void);
/* dpl 3 lets ring 3 use INT n on it; ist (64-bit only) picks a stack. */
void idt_set_gate(unsigned vec, void *handler, unsigned dpl, unsigned ist);
void idt_set_present(unsigned vec, bool present);
extern void *trap_stubs[256];
void tss_init(void);
void tss_set_iomap_bit(unsigned port, bool deny);
void tss_set_ist(unsigned n, void *stack_top);

/* Ring 3: run fn(arg) on ustack at CPL 3; returns what user_return got. */
ureg enter_user(void (*fn)(ureg), ureg arg, void *ustack, ureg flags);
__attribute__((noreturn)) void user_return(ureg value);
/* Called from the dispatcher when a trap came from ring 3. */
extern volatile ureg user_trap_value;

/* Port and register helpers. */
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline ureg read_cr0(void)
{
    ureg v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
static inline void write_cr0(ureg v)
{
    __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}
static inline ureg read_cr2(void)
{
    ureg v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline ureg read_cr3(void)
{
    ureg v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
static inline void write_cr3(ureg v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline ureg read_cr4(void)
{
    ureg v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
static inline void write_cr4(ureg v)
{
    __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}
static inline void invlpg(const volatile void *p)
{
    __asm__ volatile("invlpg (%0)" : : "r"(p) : "memory");
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
                     "d"((uint32_t)(v >> 32)) : "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]),
                     "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline ureg read_flags(void)
{
    ureg v;
    __asm__ volatile("pushf; pop %0" : "=r"(v));
    return v;
}

#define CR0_PE  (1u << 0)
#define CR0_WP  (1u << 16)
#define CR0_PG  (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_PGE (1u << 7)
#define MSR_EFER        0xc0000080
#define EFER_SCE        (1u << 0)
#define EFER_LME        (1u << 8)
#define EFER_LMA        (1u << 10)
#define EFER_NXE        (1u << 11)

#define PTE_P   (1u << 0)
#define PTE_W   (1u << 1)
#define PTE_U   (1u << 2)
#define PTE_A   (1u << 5)
#define PTE_D   (1u << 6)
#define PTE_PS  (1u << 7)
#define PTE_G   (1u << 8)
#define PTE_NX  (1ull << 63)

#define PFERR_P     (1u << 0)
#define PFERR_W     (1u << 1)
#define PFERR_U     (1u << 2)
#define PFERR_RSVD  (1u << 3)
#define PFERR_I     (1u << 4)

/*
 * Run one instruction sequence that should fault: @insn is inline asm text;
 * the dispatcher resumes at the local label 9 placed after it.
 */
#ifdef __x86_64__
#define SET_RESUME "leaq 9f(%%rip), %%r11; movq %%r11, resume_ip(%%rip)\n\t"
#else
#define SET_RESUME "movl $9f, resume_ip\n\t"
#endif

/* Every kernel defines this; entry32.S / entry64.S call it. */
void kernel_main(void);

#endif
