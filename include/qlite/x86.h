/*
 * The x86 CPUs as the board sees them: creating them for -smp/-cpu, the
 * interrupt-acknowledge hook of the interrupt controller, and the reset.
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
/* The QOM object of vCPU @cs, of the type of @model (a model's name). */
void x86_cpu_object_new(CPUState *cs, const char *model);
/* "-cpu help": the models qlite knows. */
void x86_cpu_model_list(FILE *out);
/*
 * Each model with its description and the features it lists that qlite
 * does not implement (dropped when it runs), as QEMU feature names.
 */
typedef void (*X86CpuModelFn)(const char *name, const char *desc,
                              GPtrArray *missing, void *opaque);
void x86_cpu_model_foreach(X86CpuModelFn fn, void *opaque);

/*
 * The board's interrupt controller: @ack returns the vector of the
 * highest pending interrupt and marks it in service (or -1 for a spurious
 * one).  The CPU calls it with the BQL held when it takes
 * CPU_INTERRUPT_HARD.
 */
void x86_set_intr_ack(int (*ack)(void *opaque), void *opaque);
int x86_intr_ack(void);

/*
 * Put @cs in its reset state, then, for the BSP, the entry state a kernel
 * loader recorded (qlite/boot-cpu.h).
 */
void x86_cpu_reset_vcpu(CPUState *cs);

#endif
