/*
 * Shared inside accel/kvm/ only: the VM and vCPU state and the helpers the
 * files here call on each other.
 *
 *   kvm-all.c   the accelerator: VM, in-kernel irqchip and PIT, IRQ lines
 *   kvm-mem.c   memory slots from address_space_memory's RAM ranges
 *   kvm-cpu.c   vCPU threads, the KVM_RUN loop and exit dispatch
 *   kvm-x86.c   x86 state: CPUID, power-on and boot registers, dumps
 */
#ifndef ACCEL_KVM_INTERNAL_H
#define ACCEL_KVM_INTERNAL_H

#include <pthread.h>
#include <linux/kvm.h>

#include "qlite/osdep.h"
#include "qlite/stats.h"

#define KVM_NUM_GSIS 24     /* IOAPIC pins; GSIs 0-15 are the ISA IRQs */

typedef struct CPUState CPUState;
typedef struct MachineState MachineState;

typedef struct KVMState {
    int fd;                     /* /dev/kvm */
    int vm_fd;
    int vcpu_mmap_size;
    bool readonly_mem;          /* KVM_CAP_READONLY_MEM */
    bool has_pit;
    struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID */
    /* The in-kernel chips' state just after creation: their reset. */
    struct kvm_irqchip pic_reset[2];
    struct kvm_irqchip ioapic_reset;
    struct kvm_pit_state2 pit_reset;
} KVMState;

/* Power-on state KVM gave a fresh vCPU; a reset puts it back. */
typedef struct KVMVcpuReset {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_lapic_state lapic;
    struct kvm_mp_state mp_state;
} KVMVcpuReset;

typedef struct KVMVcpu {
    CPUState *cpu;
    int fd;
    int stats_fd;               /* KVM_GET_STATS_FD, or -1 */
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;
    bool failed;                /* stopped on an error until a reset */
    bool in_shutdown;           /* triple fault: waits for the reset */
    KVMVcpuReset reset;
} KVMVcpu;

extern KVMState *kvm_state;

/* ioctl that retries on EINTR; returns -errno on failure. */
int kvm_ioctl(int fd, unsigned long request, void *arg);

/* kvm-mem.c */
bool kvm_mem_init(GError **errp);

/* kvm-cpu.c */
KVMVcpu *kvm_vcpu_get(CPUState *cpu, GError **errp);
bool kvm_cpu_start(CPUState *cpu, GError **errp);
void kvm_cpu_kick(CPUState *cpu);
void kvm_cpu_signals_init(void);

/* kvm-stats.c */

/* What a stats fd's descriptors say, the stats this code understands. */
typedef struct KVMStatsSchema {
    StatsDesc *desc;            /* n of them */
    uint32_t *offset;           /* each one's data, from data_offset */
    size_t n;
    uint32_t data_offset;
    uint32_t data_size;         /* bytes that hold every value */
    char *names;                /* the descriptor block the names are in */
} KVMStatsSchema;

/* Read the header and descriptors of the stats fd @fd. */
bool kvm_stats_schema_load(int fd, KVMStatsSchema *s, GError **errp);
void kvm_stats_schema_clear(KVMStatsSchema *s);
/* Every value @s describes, in its order (stats_values_count()). */
bool kvm_stats_read_fd(int fd, const KVMStatsSchema *s, uint64_t *values);
/* After KVM_CREATE_VM: open the VM's stats, register the provider. */
void kvm_stats_vm_init(void);
/* After KVM_CREATE_VCPU, in the main thread (the ioctl waits for a
 * running vCPU): open its stats. */
void kvm_stats_vcpu_init(KVMVcpu *v);

/* kvm-x86.c */
bool kvm_x86_get_supported_cpuid(GError **errp);
bool kvm_x86_vcpu_init(KVMVcpu *v, GError **errp);
bool kvm_x86_vcpu_reset(KVMVcpu *v, GError **errp);
void kvm_x86_dump_state(KVMVcpu *v, GString *out);

#endif
