/*
 * Linux direct boot (-kernel bzImage -initrd -append): the x86 boot
 * protocol (Linux Documentation/arch/x86/boot.rst, zero-page.rst), shared
 * by both accelerators.
 *
 * linux_boot_load() writes the kernel, initrd, command line, boot_params
 * and (for the 64-bit entry) page tables and a GDT into guest memory, and
 * records the register state the boot CPU starts in.  Each accelerator
 * applies that state to CPU 0 at every machine reset
 * (linux_boot_cpu_state()).
 */
#ifndef QLITE_LINUX_BOOT_H
#define QLITE_LINUX_BOOT_H

#include "qlite/osdep.h"

typedef struct MachineState MachineState;

/* A segment register with its hidden descriptor cache (SDM 3A 3.4.5). */
typedef struct LinuxBootSegment {
    uint16_t selector;
    uint64_t base;
    uint32_t limit;         /* in bytes, after granularity scaling */
    uint8_t type;           /* 4-bit descriptor type */
    uint8_t dpl;
    bool s;                 /* code/data (not system) */
    bool present;
    bool db;                /* default operand size 32 */
    bool l;                 /* 64-bit code */
    bool g;                 /* 4 KiB granularity */
} LinuxBootSegment;

/* Register numbers in x86 encoding order. */
enum {
    LINUX_BOOT_RAX, LINUX_BOOT_RCX, LINUX_BOOT_RDX, LINUX_BOOT_RBX,
    LINUX_BOOT_RSP, LINUX_BOOT_RBP, LINUX_BOOT_RSI, LINUX_BOOT_RDI,
    LINUX_BOOT_NR_GPRS = 16
};

typedef struct LinuxBootCpuState {
    bool long_mode;         /* 64-bit entry; else flat 32-bit */
    uint64_t gprs[LINUX_BOOT_NR_GPRS];
    uint64_t rip;
    uint64_t rflags;
    uint64_t cr0, cr3, cr4, efer;
    uint64_t gdt_base;
    uint16_t gdt_limit;
    LinuxBootSegment cs;
    LinuxBootSegment ds;    /* also ES, SS, FS and GS */
} LinuxBootCpuState;

/*
 * Load ms->kernel_filename (a bzImage, boot protocol 2.06 or later),
 * ms->initrd_filename and ms->kernel_cmdline.  Guest RAM comes from
 * address_space_memory's RAM ranges, which also give the e820 map.
 */
bool linux_boot_load(MachineState *ms, GError **errp);

/* The boot CPU's entry state, or NULL when no kernel was loaded. */
const LinuxBootCpuState *linux_boot_cpu_state(void);

/* Does @path start like a bzImage ("HdrS" at 0x202)?  false if unreadable. */
bool linux_boot_is_bzimage(const char *path);

#endif
