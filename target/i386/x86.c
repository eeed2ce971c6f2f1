/*
 * The x86 CPUs as the board sees them (include/qlite/x86.h): creating
 * them for -smp/-cpu, the interrupt controller's acknowledge hook, and
 * the entry state kernel loaders ask for, applied to the boot CPU at
 * every reset.
 */
#include "qlite/accel.h"
#include "qlite/boot-cpu.h"
#include "qlite/machine.h"
#include "qlite/x86-cpu.h"
#include "target/i386/cpu.h"
#include "target/i386/cpuid.h"

static int (*x86_ack_fn)(void *opaque);
static void *x86_ack_opaque;

/*
 * The -cpu models describe what the emulator implements; under KVM the
 * kernel's CPUID list rules and the accelerator builds its own.
 */
static bool x86_models_apply(void)
{
    const AccelOps *accel = accel_current();

    return !accel || !strcmp(accel->name, "tcg");
}

bool x86_cpus_init(MachineState *ms, GError **errp)
{
    for (unsigned i = 0; i < ms->smp.cpus; i++) {
        CPUState *cs = cpu_create(i);
        X86CPU *cpu = g_new0(X86CPU, 1);
        X86CPUState *env = &cpu->env;

        cs->arch = cpu;
        env->cs = cs;
        if (x86_models_apply() &&
            !x86_cpu_model_apply(env, ms->cpu_model, errp)) {
            return false;
        }
        env->apic_id = i;
        /* Under KVM the guest sees what the host's KVM offers: "host". */
        x86_cpu_object_new(cs, env->model
                               ? ((X86ModelInfo *)env->model)->name : "host");
        x86_cpu_reset(env);
        g_ptr_array_add(ms->cpus, cs);
    }
    return true;
}

void x86_set_intr_ack(int (*ack)(void *opaque), void *opaque)
{
    x86_ack_fn = ack;
    x86_ack_opaque = opaque;
}

int x86_intr_ack(void)
{
    return x86_ack_fn ? x86_ack_fn(x86_ack_opaque) : -1;
}

static void x86_boot_seg(SegmentCache *s, const BootCpuSegment *ls)
{
    s->selector = ls->selector;
    s->base = ls->base;
    s->limit = ls->limit;
    s->flags = ((uint32_t)ls->type << DESC_TYPE_SHIFT) |
               ((uint32_t)ls->dpl << DESC_DPL_SHIFT) |
               (ls->s ? DESC_S_MASK : 0) | (ls->present ? DESC_P_MASK : 0) |
               (ls->db ? DESC_B_MASK : 0) | (ls->l ? DESC_L_MASK : 0) |
               (ls->g ? DESC_G_MASK : 0);
}

/* The entry state a kernel loader recorded (qlite/boot-cpu.h). */
static void x86_apply_boot(X86CPUState *env, const BootCpuState *st)
{
    for (int i = 0; i < 16; i++) {
        env->regs[i] = st->gprs[i];
    }
    env->rip = st->rip;
    x86_set_eflags(env, st->rflags, UINT32_MAX);
    env->cr[0] = st->cr0;
    env->cr[3] = st->cr3;
    env->cr[4] = st->cr4;
    env->efer = st->efer;
    env->gdt = (DescTableReg){ st->gdt_base, st->gdt_limit };
    x86_boot_seg(&env->segs[R_CS], &st->cs);
    for (int i = R_ES; i <= R_GS; i++) {
        if (i != R_CS) {
            x86_boot_seg(&env->segs[i], &st->ds);
        }
    }
    x86_update_hflags(env);
    x86_tlb_flush(env, true);
}

void x86_cpu_reset_vcpu(CPUState *cs)
{
    X86CPUState *env = x86_env(cs);
    const BootCpuState *boot = boot_cpu_get();

    x86_cpu_reset(env);
    if (cs->index == 0 && boot) {
        x86_apply_boot(env, boot);
    }
}
