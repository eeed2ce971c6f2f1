/*
 * ACPI S3 (suspend to RAM) as the run state sees it: requests from the
 * PM device, the wake-up sources the guest enabled, and the main loop's
 * part of entering and leaving the "suspended" state.  The vCPUs stop;
 * the virtual clock keeps running, so timers (RTC alarm, PM timer) can
 * wake the machine.
 */
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/runstate.h"
#include "internal.h"

static int suspend_requested;       /* atomic */
static int wakeup_requested;        /* a WakeupReason, 0 = none */
static unsigned wakeup_enabled = (1u << WAKEUP_REASON_POWER_BUTTON) |
                                 (1u << WAKEUP_REASON_OTHER);

void qlite_system_suspend_request(void)
{
    g_atomic_int_set(&suspend_requested, 1);
    main_loop_kick();
}

void qlite_system_wakeup_enable(WakeupReason reason, bool on)
{
    if (on) {
        wakeup_enabled |= 1u << reason;
    } else {
        wakeup_enabled &= ~(1u << reason);
    }
}

bool qlite_system_wakeup_request(WakeupReason reason, GError **errp)
{
    if (runstate_get() != RUN_STATE_SUSPENDED) {
        error_setg(errp, "Unable to wake up: guest is not in suspended "
                         "state");
        return false;
    }
    if (wakeup_enabled & (1u << reason)) {
        wakeup_requested = reason;
        main_loop_kick();
    }
    return true;
}

/* QEMU: the vCPUs stop without a STOP event; SUSPEND says why. */
static void suspend_enter(const RunstateHooks *hooks)
{
    if (hooks->pause_vcpus) {
        hooks->pause_vcpus();
    }
    if (hooks->suspend) {
        hooks->suspend();
    }
    runstate_set(RUN_STATE_SUSPENDED);
    qlite_event_emit("SUSPEND", NULL);
}

static void suspend_leave(const RunstateHooks *hooks, WakeupReason reason)
{
    runstate_set(RUN_STATE_RUNNING);
    if (hooks->wakeup) {
        hooks->wakeup(reason);
    }
    if (hooks->resume_vcpus) {
        hooks->resume_vcpus();
    }
    qlite_event_emit("WAKEUP", NULL);
}

void suspend_handle_requests(const RunstateHooks *hooks)
{
    WakeupReason reason;

    if (g_atomic_int_exchange(&suspend_requested, 0) &&
        runstate_is_running()) {
        suspend_enter(hooks);
    }
    reason = wakeup_requested;
    wakeup_requested = WAKEUP_REASON_NONE;
    if (reason && runstate_get() == RUN_STATE_SUSPENDED) {
        suspend_leave(hooks, reason);
    }
}
