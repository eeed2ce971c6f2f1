/*
 * The x86 CPUs as the board sees them: creating them for -smp/-cpu, the
 * interrupt-acknowledge hook of the interrupt controller, and the boot
 * state a kernel loader asks for.
 */
#ifndef QLITE_X86_H
#define QLITE_X86_H

#include "qlite/osdep.h"

typedef struct MachineState MachineState;
typedef struct CPUState CPUState;

/*
 * Create ms->smp.cpus vCPUs of the model ms->cpu_model names (NULL:
 * the default) and add them to ms->cpus; errp says why the model is bad.
 */
bool x86_cpus_init(MachineState *ms, GError **errp);
/* "-cpu help": the models qlite knows. */
void x86_cpu_model_list(FILE *out);

/*
 * The board's interrupt controller: @ack returns the vector of the
 * highest pending interrupt and marks it in service (or -1 for a spurious
 * one).  The CPU calls it with the BQL held when it takes
 * CPU_INTERRUPT_HARD.
 */
void x86_set_intr_ack(int (*ack)(void *opaque), void *opaque);
int x86_intr_ack(void);

/*
 * A kernel loader's entry state, applied to the boot CPU at reset:
 * flat 32-bit protected mode (Multiboot, Linux 32-bit boot protocol) or
 * 64-bit long mode with identity paging at @cr3 (Linux 64-bit entry).
 */
typedef enum {
    X86_BOOT_FIRMWARE,      /* real mode at F000:FFF0, as on power-on */
    X86_BOOT_FLAT32,
    X86_BOOT_LONG64,
} X86BootMode;

typedef struct X86BootState {
    X86BootMode mode;
    uint64_t rip;
    uint64_t regs[8];       /* EAX..EDI / RAX..RDI at entry */
    uint64_t cr3;           /* LONG64: page tables the loader built */
    uint64_t gdt_base;      /* LONG64: a GDT the loader built (or 0) */
} X86BootState;

void x86_set_boot_state(const X86BootState *bs);
/* Put @cs in its reset state, then the boot state when it is the BSP. */
void x86_cpu_reset_vcpu(CPUState *cs);

#endif
