/*
 * Run states, the requests that change them, and the events they emit.
 */
#include "qlite/runstate.h"
#include "qlite/main-loop.h"
#include "internal.h"

#include <unistd.h>

static const char *const runstate_names[RUN_STATE_MAX] = {
    [RUN_STATE_DEBUG] = "debug",
    [RUN_STATE_INMIGRATE] = "inmigrate",
    [RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [RUN_STATE_IO_ERROR] = "io-error",
    [RUN_STATE_PAUSED] = "paused",
    [RUN_STATE_POSTMIGRATE] = "postmigrate",
    [RUN_STATE_PRELAUNCH] = "prelaunch",
    [RUN_STATE_FINISH_MIGRATE] = "finish-migrate",
    [RUN_STATE_RESTORE_VM] = "restore-vm",
    [RUN_STATE_RUNNING] = "running",
    [RUN_STATE_SAVE_VM] = "save-vm",
    [RUN_STATE_SHUTDOWN] = "shutdown",
    [RUN_STATE_SUSPENDED] = "suspended",
    [RUN_STATE_WATCHDOG] = "watchdog",
    [RUN_STATE_GUEST_PANICKED] = "guest-panicked",
    [RUN_STATE_COLO] = "colo",
};

static const char *const cause_names[SHUTDOWN_CAUSE_MAX] = {
    [SHUTDOWN_CAUSE_NONE] = "none",
    [SHUTDOWN_CAUSE_HOST_ERROR] = "host-error",
    [SHUTDOWN_CAUSE_HOST_QMP_QUIT] = "host-qmp-quit",
    [SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET] = "host-qmp-system-reset",
    [SHUTDOWN_CAUSE_HOST_SIGNAL] = "host-signal",
    [SHUTDOWN_CAUSE_HOST_UI] = "host-ui",
    [SHUTDOWN_CAUSE_GUEST_SHUTDOWN] = "guest-shutdown",
    [SHUTDOWN_CAUSE_GUEST_RESET] = "guest-reset",
    [SHUTDOWN_CAUSE_GUEST_PANIC] = "guest-panic",
    [SHUTDOWN_CAUSE_SUBSYSTEM_RESET] = "subsystem-reset",
    [SHUTDOWN_CAUSE_SNAPSHOT_LOAD] = "snapshot-load",
};

static RunState current_state = RUN_STATE_PRELAUNCH;
static bool no_reboot;
static bool no_shutdown;
static int shutdown_requested;      /* atomic: a ShutdownCause, 0 = none */
static int reset_requested;         /* atomic: a ShutdownCause */
static int powerdown_requested;     /* atomic */
static RunstateHooks hooks;

typedef struct EventListener {
    QliteEventFn fn;
    void *opaque;
} EventListener;

static GArray *event_listeners;
static GPtrArray *exit_notifiers;

typedef struct ChangeNotifier {
    RunstateChangeFn fn;
    void *opaque;
} ChangeNotifier;

static GArray *change_notifiers;

void runstate_add_change_notifier(RunstateChangeFn fn, void *opaque)
{
    ChangeNotifier n = { fn, opaque };

    if (!change_notifiers) {
        change_notifiers = g_array_new(false, false, sizeof(n));
    }
    g_array_append_val(change_notifiers, n);
}

void runstate_remove_change_notifier(RunstateChangeFn fn, void *opaque)
{
    for (guint i = 0; change_notifiers && i < change_notifiers->len; i++) {
        ChangeNotifier *n = &g_array_index(change_notifiers,
                                           ChangeNotifier, i);
        if (n->fn == fn && n->opaque == opaque) {
            g_array_remove_index(change_notifiers, i);
            return;
        }
    }
}

static void runstate_notify_change(bool running)
{
    /* A notifier may remove itself: walk a copy. */
    g_autoptr(GArray) copy = NULL;

    if (!change_notifiers || !change_notifiers->len) {
        return;
    }
    copy = g_array_copy(change_notifiers);
    for (guint i = 0; i < copy->len; i++) {
        ChangeNotifier *n = &g_array_index(copy, ChangeNotifier, i);
        n->fn(n->opaque, running);
    }
}

const char *runstate_name(RunState state)
{
    return state < RUN_STATE_MAX ? runstate_names[state] : "unknown";
}

const char *shutdown_cause_name(ShutdownCause cause)
{
    return cause < SHUTDOWN_CAUSE_MAX ? cause_names[cause] : "unknown";
}

RunState runstate_get(void)
{
    return current_state;
}

void runstate_set(RunState state)
{
    current_state = state;
}

bool runstate_is_running(void)
{
    return current_state == RUN_STATE_RUNNING;
}

void runstate_set_hooks(const RunstateHooks *h)
{
    hooks = *h;
}

void runstate_set_no_reboot(bool on)
{
    no_reboot = on;
}

void runstate_set_no_shutdown(bool on)
{
    no_shutdown = on;
}

/* S3 ends only through a wake-up or a reset; stop and cont leave it. */
void vm_start(void)
{
    if (runstate_is_running() || current_state == RUN_STATE_SUSPENDED) {
        return;
    }
    runstate_set(RUN_STATE_RUNNING);
    clock_virtual_enable(true);
    if (hooks.resume_vcpus) {
        hooks.resume_vcpus();
    }
    qlite_event_emit("RESUME", NULL);
    runstate_notify_change(true);
}

void vm_stop(RunState reason)
{
    if (current_state == RUN_STATE_SUSPENDED) {
        return;
    }
    if (!runstate_is_running()) {
        runstate_set(reason);
        return;
    }
    if (hooks.pause_vcpus) {
        hooks.pause_vcpus();
    }
    clock_virtual_enable(false);
    runstate_set(reason);
    qlite_event_emit("STOP", NULL);
    runstate_notify_change(false);
}

void qlite_system_shutdown_request(ShutdownCause cause)
{
    g_atomic_int_set(&shutdown_requested, cause);
    main_loop_kick();
}

void qlite_system_reset_request(ShutdownCause cause)
{
    if (no_reboot && cause == SHUTDOWN_CAUSE_GUEST_RESET) {
        qlite_system_shutdown_request(cause);
        return;
    }
    g_atomic_int_set(&reset_requested, cause);
    main_loop_kick();
}

void qlite_system_powerdown_request(void)
{
    g_atomic_int_set(&powerdown_requested, 1);
    main_loop_kick();
}

void qlite_system_exit(int status)
{
    qlite_run_exit_notifiers();
    fflush(stdout);
    fflush(stderr);
    _exit(status);
}

static bool cause_is_guest(ShutdownCause cause)
{
    return cause >= SHUTDOWN_CAUSE_GUEST_SHUTDOWN &&
           cause <= SHUTDOWN_CAUSE_GUEST_PANIC;
}

static void emit_with_cause(const char *event, ShutdownCause cause)
{
    g_autofree char *data = g_strdup_printf(
        "{\"guest\": %s, \"reason\": \"%s\"}",
        cause_is_guest(cause) ? "true" : "false", shutdown_cause_name(cause));

    qlite_event_emit(event, data);
}

/* true: the process should exit now */
static bool handle_shutdown(ShutdownCause cause)
{
    emit_with_cause("SHUTDOWN", cause);
    if (no_shutdown && cause != SHUTDOWN_CAUSE_HOST_QMP_QUIT &&
        cause != SHUTDOWN_CAUSE_HOST_SIGNAL &&
        cause != SHUTDOWN_CAUSE_HOST_UI) {
        vm_stop(RUN_STATE_SHUTDOWN);
        return false;
    }
    return true;
}

static void handle_reset(ShutdownCause cause)
{
    bool suspended = runstate_get() == RUN_STATE_SUSPENDED;
    bool was_running = runstate_is_running() || suspended;

    if (hooks.pause_vcpus && was_running) {
        hooks.pause_vcpus();
    }
    if (hooks.reset) {
        hooks.reset(cause);
    }
    emit_with_cause("RESET", cause);
    if (runstate_get() == RUN_STATE_SHUTDOWN) {
        runstate_set(RUN_STATE_PAUSED);     /* QEMU: reset leaves shutdown */
    } else if (suspended) {
        runstate_set(RUN_STATE_RUNNING);    /* the reset button wakes it */
    }
    if (hooks.resume_vcpus && was_running) {
        hooks.resume_vcpus();
    }
}

bool runstate_handle_requests(int *status)
{
    int cause;

    cause = g_atomic_int_exchange(&shutdown_requested, 0);
    if (cause) {
        *status = 0;
        if (handle_shutdown(cause)) {
            return true;
        }
    }
    cause = g_atomic_int_exchange(&reset_requested, 0);
    if (cause) {
        handle_reset(cause);
    }
    if (g_atomic_int_exchange(&powerdown_requested, 0)) {
        qlite_event_emit("POWERDOWN", NULL);
        if (hooks.powerdown) {
            hooks.powerdown();
        }
        qlite_system_wakeup_request(WAKEUP_REASON_POWER_BUTTON, NULL);
    }
    suspend_handle_requests(&hooks);
    return false;
}

void qlite_event_add_listener(QliteEventFn fn, void *opaque)
{
    EventListener l = { fn, opaque };

    if (!event_listeners) {
        event_listeners = g_array_new(false, false, sizeof(EventListener));
    }
    g_array_append_val(event_listeners, l);
}

void qlite_event_emit(const char *name, const char *data_json)
{
    for (guint i = 0; event_listeners && i < event_listeners->len; i++) {
        EventListener *l = &g_array_index(event_listeners, EventListener, i);

        l->fn(name, data_json, l->opaque);
    }
}

void qlite_add_exit_notifier(void (*fn)(void))
{
    if (!exit_notifiers) {
        exit_notifiers = g_ptr_array_new();
    }
    g_ptr_array_add(exit_notifiers, (gpointer)fn);
}

void qlite_run_exit_notifiers(void)
{
    static bool ran;

    if (ran || !exit_notifiers) {
        return;
    }
    ran = true;
    for (guint i = exit_notifiers->len; i > 0; i--) {
        void (*fn)(void) = (void (*)(void))exit_notifiers->pdata[i - 1];

        fn();
    }
}
