/*
 * The CPU's links to its local APIC (hw/intc/apic.c, include/qlite/apic.h):
 * CR8 is the APIC's task priority; IA32_APIC_BASE, IA32_TSC_DEADLINE and
 * the x2APIC MSRs live in the APIC.
 * The APIC is a device, so it is called with the big lock held; the vCPU
 * thread runs guest code without it and takes it here.  A board without
 * APICs leaves the values in the CPU state.
 */
#include "qlite/apic.h"
#include "qlite/main-loop.h"
#include "target/i386/cpu.h"

/* Take the big lock unless this thread holds it; true if taken. */
static bool lapic_lock(void)
{
    if (bql_locked()) {
        return false;
    }
    bql_lock();
    return true;
}

static void lapic_unlock(bool taken)
{
    if (taken) {
        bql_unlock();
    }
}

static bool lapic_present(X86CPUState *env)
{
    return env->cs && apic_get(env->cs);
}

uint8_t x86_lapic_get_tpr(X86CPUState *env)
{
    uint8_t tpr;
    bool taken;

    if (!lapic_present(env)) {
        return env->cr[8] & 0xf;
    }
    taken = lapic_lock();
    tpr = apic_get_tpr(env->cs);
    lapic_unlock(taken);
    return tpr;
}

void x86_lapic_set_tpr(X86CPUState *env, uint8_t tpr)
{
    bool taken;

    env->cr[8] = tpr & 0xf;
    if (!lapic_present(env)) {
        return;
    }
    taken = lapic_lock();
    apic_set_tpr(env->cs, tpr);
    lapic_unlock(taken);
}

uint64_t x86_lapic_get_base(X86CPUState *env)
{
    uint64_t base;
    bool taken;

    if (!lapic_present(env)) {
        return env->apic_base;
    }
    taken = lapic_lock();
    base = apic_get_base(env->cs);
    lapic_unlock(taken);
    return base;
}

bool x86_lapic_set_base(X86CPUState *env, uint64_t val)
{
    bool taken, ok;

    if (!lapic_present(env)) {
        env->apic_base = val;
        return true;
    }
    taken = lapic_lock();
    ok = apic_set_base(env->cs, val);
    lapic_unlock(taken);
    if (ok) {
        env->apic_base = val;
    }
    return ok;
}

/* The TSC counts at 1 GHz (see x86_rdtsc()). */
#define LAPIC_TSC_HZ    UINT64_C(1000000000)

void x86_lapic_set_tsc_deadline(X86CPUState *env, uint64_t deadline)
{
    uint64_t now = x86_rdtsc(env);
    bool taken;

    if (!lapic_present(env)) {
        return;
    }
    taken = lapic_lock();
    apic_set_tsc_deadline(env->cs, deadline, now, LAPIC_TSC_HZ);
    lapic_unlock(taken);
}

uint64_t x86_lapic_get_tsc_deadline(X86CPUState *env)
{
    uint64_t v;
    bool taken;

    if (!lapic_present(env)) {
        return 0;
    }
    taken = lapic_lock();
    v = apic_get_tsc_deadline(env->cs);
    lapic_unlock(taken);
    return v;
}

bool x86_lapic_msr_read(X86CPUState *env, uint32_t index, uint64_t *val)
{
    bool taken, ok;

    if (!lapic_present(env)) {
        return false;
    }
    taken = lapic_lock();
    ok = apic_msr_read(env->cs, index - X86_MSR_X2APIC_FIRST, val);
    lapic_unlock(taken);
    return ok;
}

bool x86_lapic_msr_write(X86CPUState *env, uint32_t index, uint64_t val)
{
    bool taken, ok;

    if (!lapic_present(env)) {
        return false;
    }
    taken = lapic_lock();
    ok = apic_msr_write(env->cs, index - X86_MSR_X2APIC_FIRST, val);
    lapic_unlock(taken);
    return ok;
}

/* INIT: the APIC goes back to its INIT state with the CPU. */
void x86_lapic_init_reset(X86CPUState *env)
{
    bool taken;

    if (!lapic_present(env)) {
        return;
    }
    taken = lapic_lock();
    apic_init_reset(env->cs);
    lapic_unlock(taken);
}
