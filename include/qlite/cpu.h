/*
 * The generic vCPU: what the accelerators, the machine and the run-state
 * code share.  The x86 architectural state lives in target/i386 and hangs
 * off @arch; each accelerator keeps its own per-vCPU data in @accel.
 */
#ifndef QLITE_CPU_H
#define QLITE_CPU_H

#include "qlite/osdep.h"

/* interrupt_request bits, set by devices and IPIs, read by the vCPU. */
#define CPU_INTERRUPT_HARD  (1u << 0)   /* INTR line from the PIC/APIC */
#define CPU_INTERRUPT_NMI   (1u << 1)
#define CPU_INTERRUPT_INIT  (1u << 2)
#define CPU_INTERRUPT_SIPI  (1u << 3)
#define CPU_INTERRUPT_SMI   (1u << 4)
#define CPU_INTERRUPT_POLL  (1u << 5)   /* APIC wants to be polled */
#define CPU_INTERRUPT_RESET (1u << 6)

typedef struct CPUState {
    int index;
    GThread *thread;
    int thread_id;          /* host TID of the thread that runs it */
    struct Object *object;  /* at /machine/unattached/device[N] */
    GCond halt_cond;        /* a halted or stopped vCPU sleeps on this */
    bool created;
    bool stop;              /* asked to stop (pause) */
    bool stopped;           /* has stopped */
    bool halted;            /* executed HLT, waits for an interrupt */
    int exit_request;       /* atomic: leave the execution loop soon */
    uint32_t interrupt_request;     /* atomic: CPU_INTERRUPT_* */
    uint32_t sipi_vector;
    void *arch;             /* X86CPU */
    void *accel;            /* accelerator's own state */
} CPUState;

/* Create the vCPU objects (not their threads) for -smp. */
CPUState *cpu_create(int index);
int cpu_count(void);
CPUState *cpu_get(int index);

/*
 * A new vCPU thread publishes its host thread id into @slot (before it
 * takes the big lock); the thread that started it waits for it there, so
 * that query-cpus-fast can name real threads from the first command on.
 */
void cpu_thread_publish_tid(int *slot);
int cpu_thread_await_tid(int *slot);

/* Thread-safe: set bits and wake the vCPU. */
void cpu_interrupt(CPUState *cpu, uint32_t mask);
void cpu_reset_interrupt(CPUState *cpu, uint32_t mask);
/* Make the vCPU leave its loop and re-check its state soon. */
void cpu_kick(CPUState *cpu);

/* Pause/resume every vCPU; pause waits until all have stopped. */
void pause_all_vcpus(void);
void resume_all_vcpus(void);
bool all_vcpus_paused(void);
/* Called by vCPU threads: sleep while stopped or halted without work. */
void cpu_wait_io_event(CPUState *cpu, bool (*has_work)(CPUState *cpu));
/*
 * The same for one thread that runs every vCPU (tcg): sleep until
 * @can_run(cpu) holds for some vCPU, reporting those asked to stop.
 * @can_run must be false for a vCPU asked to stop.
 */
void cpu_wait_io_event_all(bool (*can_run)(CPUState *cpu));
bool cpu_should_stop(CPUState *cpu);

#endif
