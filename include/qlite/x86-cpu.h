/*
 * The x86 CPU: the one door into target/i386 for the rest of qlite.
 *
 * The board sees the CPUs: creating them for -smp/-cpu, the
 * interrupt-acknowledge hook of the interrupt controller, and the reset.
 * The accelerator that runs the CPU core itself (accel/tcg) sees the
 * core: the architectural state (X86CPUState), the decoder and the
 * instruction handlers, the MMU and its soft TLB, the CPU trace, the
 * code-cache hook (X86CodeCache) and the CPU's side of the loop.  Nothing outside target/i386 includes a
 * target/i386 header except through this one (scripts/check-includes.py).
 */
#ifndef QLITE_X86_CPU_H
#define QLITE_X86_CPU_H

#include "qlite/osdep.h"
#include "target/i386/exec.h"       /* state, decoder, handlers */
#include "target/i386/mmu.h"        /* page walk, soft TLB */
#include "target/i386/cpuid.h"      /* feature bits */
#include "target/i386/tcg/trace.h"  /* QLITE_TRACE_CPU */
#include "target/i386/tcg/tcg-cpu.h" /* the CPU's side of tcg's loop */

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
