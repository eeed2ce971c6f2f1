/*
 * The boot CPU's entry state: the one channel from a kernel loader
 * (Linux direct boot, Multiboot) to the accelerators.  A loader records
 * the registers the boot CPU starts in with boot_cpu_set(); at every
 * machine reset both the KVM vCPU reset and the CPU emulator's reset put
 * CPU 0 in that state (boot_cpu_get()), or leave it at the power-on reset
 * vector (firmware) when no loader ran.
 */
#ifndef QLITE_BOOT_CPU_H
#define QLITE_BOOT_CPU_H

#include "qlite/osdep.h"

/* A segment register with its hidden descriptor cache (SDM 3A 3.4.5). */
typedef struct BootCpuSegment {
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
} BootCpuSegment;

/* Register numbers in x86 encoding order. */
enum {
    BOOT_CPU_RAX, BOOT_CPU_RCX, BOOT_CPU_RDX, BOOT_CPU_RBX,
    BOOT_CPU_RSP, BOOT_CPU_RBP, BOOT_CPU_RSI, BOOT_CPU_RDI,
    BOOT_CPU_NR_GPRS = 16
};

typedef struct BootCpuState {
    bool long_mode;         /* 64-bit entry; else flat 32-bit */
    uint64_t gprs[BOOT_CPU_NR_GPRS];
    uint64_t rip;
    uint64_t rflags;
    uint64_t cr0, cr3, cr4, efer;
    uint64_t gdt_base;
    uint16_t gdt_limit;
    BootCpuSegment cs;
    BootCpuSegment ds;      /* also ES, SS, FS and GS */
} BootCpuState;

/* Descriptor types of the flat segments loaders use. */
#define BOOT_CPU_CODE_TYPE  0xb     /* execute/read, accessed */
#define BOOT_CPU_DATA_TYPE  0x3     /* read/write, accessed */

/* A flat 4 GiB ring-0 segment (base 0, limit 0xffffffff, 4K pages). */
BootCpuSegment boot_cpu_flat_segment(uint16_t sel, uint8_t type, bool db,
                                     bool l);
/*
 * Flat 32-bit protected mode, paging off, IF clear, at @entry; code
 * selector @cs, data @ds; the other registers zero.
 */
void boot_cpu_flat32(BootCpuState *s, uint64_t entry, uint16_t cs,
                     uint16_t ds);

/*
 * Real mode at @cs:@ip as firmware leaves it when it jumps to an ACPI
 * real-mode waking vector (ACPI 6.4 5.2.10): CS base @cs << 4, 64 KiB
 * segment limits, data segments zero, paging and protection off.
 */
void boot_cpu_real16(BootCpuState *s, uint16_t cs, uint16_t ip);

/* Record the entry state (replacing any earlier one). */
void boot_cpu_set(const BootCpuState *s);
/* The recorded entry state, or NULL: start in firmware. */
const BootCpuState *boot_cpu_get(void);
/*
 * For the resets until boot_cpu_override(NULL), boot_cpu_get() returns
 * @s instead (S3 resume: CPU 0 starts at the waking vector).
 */
void boot_cpu_override(const BootCpuState *s);

#endif
