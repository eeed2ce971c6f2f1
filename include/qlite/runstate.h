/*
 * Run states and the requests (shutdown, reset, powerdown) that devices,
 * signals and QMP make.  Requests are recorded from any thread and acted on
 * by the main loop, which emits the matching QMP events.
 */
#ifndef QLITE_RUNSTATE_H
#define QLITE_RUNSTATE_H

#include "qlite/osdep.h"

/* QEMU's RunState values, in QAPI order; names from runstate_name(). */
typedef enum {
    RUN_STATE_DEBUG,
    RUN_STATE_INMIGRATE,
    RUN_STATE_INTERNAL_ERROR,
    RUN_STATE_IO_ERROR,
    RUN_STATE_PAUSED,
    RUN_STATE_POSTMIGRATE,
    RUN_STATE_PRELAUNCH,
    RUN_STATE_FINISH_MIGRATE,
    RUN_STATE_RESTORE_VM,
    RUN_STATE_RUNNING,
    RUN_STATE_SAVE_VM,
    RUN_STATE_SHUTDOWN,
    RUN_STATE_SUSPENDED,
    RUN_STATE_WATCHDOG,
    RUN_STATE_GUEST_PANICKED,
    RUN_STATE_COLO,
    RUN_STATE_MAX
} RunState;

/* QEMU's ShutdownCause values; names from shutdown_cause_name(). */
typedef enum {
    SHUTDOWN_CAUSE_NONE,
    SHUTDOWN_CAUSE_HOST_ERROR,
    SHUTDOWN_CAUSE_HOST_QMP_QUIT,
    SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,
    SHUTDOWN_CAUSE_HOST_SIGNAL,
    SHUTDOWN_CAUSE_HOST_UI,
    SHUTDOWN_CAUSE_GUEST_SHUTDOWN,
    SHUTDOWN_CAUSE_GUEST_RESET,
    SHUTDOWN_CAUSE_GUEST_PANIC,
    SHUTDOWN_CAUSE_SUBSYSTEM_RESET,
    SHUTDOWN_CAUSE_SNAPSHOT_LOAD,
    SHUTDOWN_CAUSE_MAX
} ShutdownCause;

const char *runstate_name(RunState state);
const char *shutdown_cause_name(ShutdownCause cause);
RunState runstate_get(void);
void runstate_set(RunState state);
bool runstate_is_running(void);

/* Start or resume the vCPUs (emits RESUME); stop them (emits STOP). */
void vm_start(void);
void vm_stop(RunState reason);
/*
 * Called after the VM starts running (@running) or stops, in the thread
 * that changed the state (the main thread).  Devices use it to redo
 * requests that werror=stop held back.
 */
typedef void (*RunstateChangeFn)(void *opaque, bool running);
void runstate_add_change_notifier(RunstateChangeFn fn, void *opaque);
void runstate_remove_change_notifier(RunstateChangeFn fn, void *opaque);

/* Options that change what requests do. */
void runstate_set_no_reboot(bool on);    /* reset request -> shutdown */
void runstate_set_no_shutdown(bool on);  /* shutdown -> pause, not exit */

/* Thread-safe requests; the main loop acts on them. */
void qlite_system_shutdown_request(ShutdownCause cause);
void qlite_system_reset_request(ShutdownCause cause);
void qlite_system_powerdown_request(void);
/* End the process with @status right away (isa-debug-exit). */
G_NORETURN void qlite_system_exit(int status);

/*
 * ACPI S3, suspend to RAM (system/suspend.c).  A device asks to suspend;
 * the main loop stops the vCPUs (state "suspended", event SUSPEND) and
 * keeps devices and RAM as they are.  A wake-up source the guest enabled,
 * or QMP system_wakeup, brings the machine back through the wakeup hook
 * (event WAKEUP).  Only the main thread asks for a wake-up.
 */
typedef enum {
    WAKEUP_REASON_NONE,
    WAKEUP_REASON_RTC,          /* RTC alarm; enabled by PM1_EN.RTC_EN */
    WAKEUP_REASON_PMTIMER,      /* PM timer; enabled by PM1_EN.TMR_EN */
    WAKEUP_REASON_POWER_BUTTON, /* always enabled (ACPI 6.4 4.8.3.1.1) */
    WAKEUP_REASON_OTHER,        /* system_wakeup; always enabled */
    WAKEUP_REASON_MAX
} WakeupReason;
void qlite_system_suspend_request(void);
/* Fails (QEMU's error text in @errp) unless the machine is suspended. */
bool qlite_system_wakeup_request(WakeupReason reason, GError **errp);
void qlite_system_wakeup_enable(WakeupReason reason, bool on);

/*
 * Called by the main loop each iteration: performs pending requests.
 * Returns true when the loop should end; *status is the exit status.
 */
bool runstate_handle_requests(int *status);

/* Hooks the machine and accelerator install. */
typedef struct RunstateHooks {
    void (*reset)(ShutdownCause cause);     /* reset the whole machine */
    void (*powerdown)(void);                /* ACPI power button */
    void (*pause_vcpus)(void);
    void (*resume_vcpus)(void);
    void (*suspend)(void);                  /* vCPUs paused: S3 entered */
    void (*wakeup)(WakeupReason reason);    /* vCPUs paused: leave S3 */
} RunstateHooks;
void runstate_set_hooks(const RunstateHooks *hooks);

/*
 * Events for QMP: name ("STOP", "SHUTDOWN", ...) and a JSON object text
 * for "data" (NULL for none).  Listeners are called in the main thread.
 */
typedef void (*QliteEventFn)(const char *name, const char *data_json,
                             void *opaque);
void qlite_event_add_listener(QliteEventFn fn, void *opaque);
void qlite_event_emit(const char *name, const char *data_json);

/* Run every registered exit notifier (restore the terminal, ...). */
void qlite_add_exit_notifier(void (*fn)(void));
void qlite_run_exit_notifiers(void);

#endif
