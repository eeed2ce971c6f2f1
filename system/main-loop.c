/*
 * The main loop: GLib's default context, run in the main thread with the
 * big lock held except while it sleeps in poll().  Bottom halves live here;
 * timers are in timers.c.
 */
#include "qlite/main-loop.h"
#include "internal.h"
#include "qlite/runstate.h"
#include "qlite/error.h"

#include <glib-unix.h>
#include <poll.h>
#include <signal.h>

static GMutex bql;
static __thread bool bql_held;
static GPollFunc default_poll;

void bql_lock(void)
{
    g_assert(!bql_held);
    g_mutex_lock(&bql);
    bql_held = true;
}

void bql_unlock(void)
{
    g_assert(bql_held);
    bql_held = false;
    g_mutex_unlock(&bql);
}

bool bql_locked(void)
{
    return bql_held;
}

GMutex *bql_mutex(void)
{
    return &bql;
}

void bql_cond_wait(GCond *cond)
{
    g_cond_wait(cond, &bql);
}

/*
 * Sleep without the big lock so vCPU threads can reach the devices.
 * GLib counts timeouts in milliseconds; a device timer due in 50 us (a
 * NIC's interrupt moderation) would fire up to 1 ms late, so the sleep
 * ends at the nearest timer to the nanosecond (ppoll).  GPollFD has
 * struct pollfd's layout on Linux.
 */
static gint main_loop_poll(GPollFD *fds, guint nfds, gint timeout)
{
    int64_t ns = timeout < 0 ? -1 : (int64_t)timeout * 1000000;
    int64_t timer_ns = timers_deadline_ns();
    struct timespec ts;
    gint ret;

    if (timer_ns >= 0 && (ns < 0 || timer_ns < ns)) {
        ns = timer_ns;
    }
    if (ns == 0) {
        return default_poll(fds, nfds, 0);
    }
    ts.tv_sec = ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    bql_unlock();
    ret = ppoll((struct pollfd *)fds, nfds, ns < 0 ? NULL : &ts, NULL);
    bql_lock();
    return ret;
}

/* Bottom halves ------------------------------------------------------- */

struct QliteBH {
    QliteBHFunc *cb;
    void *opaque;
    bool scheduled;     /* guarded by bh_lock */
};

static GMutex bh_lock;
static GPtrArray *bh_list;      /* every BH, guarded by bh_lock */
static bool bh_any_scheduled;

QliteBH *bh_new(QliteBHFunc *cb, void *opaque)
{
    QliteBH *bh = g_new0(QliteBH, 1);

    bh->cb = cb;
    bh->opaque = opaque;
    g_mutex_lock(&bh_lock);
    if (!bh_list) {
        bh_list = g_ptr_array_new();
    }
    g_ptr_array_add(bh_list, bh);
    g_mutex_unlock(&bh_lock);
    return bh;
}

void bh_schedule(QliteBH *bh)
{
    bool was;

    g_mutex_lock(&bh_lock);
    was = bh->scheduled;
    bh->scheduled = true;
    bh_any_scheduled = true;
    g_mutex_unlock(&bh_lock);
    /* One wake-up per run of the BH is enough: the first one did it. */
    if (!was) {
        main_loop_kick();
    }
}

void bh_cancel(QliteBH *bh)
{
    g_mutex_lock(&bh_lock);
    bh->scheduled = false;
    g_mutex_unlock(&bh_lock);
}

void bh_delete(QliteBH *bh)
{
    g_mutex_lock(&bh_lock);
    g_ptr_array_remove(bh_list, bh);
    g_mutex_unlock(&bh_lock);
    g_free(bh);
}

/* Take one scheduled BH off the list, or NULL. */
static QliteBH *bh_take_scheduled(void)
{
    QliteBH *found = NULL;

    g_mutex_lock(&bh_lock);
    for (guint i = 0; bh_list && i < bh_list->len; i++) {
        QliteBH *bh = bh_list->pdata[i];

        if (bh->scheduled) {
            bh->scheduled = false;
            found = bh;
            break;
        }
    }
    if (!found) {
        bh_any_scheduled = false;
    }
    g_mutex_unlock(&bh_lock);
    return found;
}

static gboolean bh_source_prepare(GSource *source, gint *timeout)
{
    bool any;

    g_mutex_lock(&bh_lock);
    any = bh_any_scheduled;
    g_mutex_unlock(&bh_lock);
    *timeout = -1;
    return any;
}

static gboolean bh_source_check(GSource *source)
{
    return bh_source_prepare(source, &(gint){0});
}

static gboolean bh_source_dispatch(GSource *source, GSourceFunc cb,
                                   gpointer data)
{
    QliteBH *bh;

    while ((bh = bh_take_scheduled())) {
        bh->cb(bh->opaque);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs bh_source_funcs = {
    .prepare = bh_source_prepare,
    .check = bh_source_check,
    .dispatch = bh_source_dispatch,
};

/* Loop ------------------------------------------------------------- */

static gboolean on_signal(gpointer data)
{
    int sig = GPOINTER_TO_INT(data);

    error_report("terminating on signal %d", sig);
    qlite_system_shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
    return G_SOURCE_CONTINUE;
}

void main_loop_init(void)
{
    GMainContext *ctx = g_main_context_default();
    GSource *bh_source;
    static bool done;

    if (done) {
        return;
    }
    done = true;
    if (!bql_held) {
        bql_lock();
    }
    default_poll = g_main_context_get_poll_func(ctx);
    g_main_context_set_poll_func(ctx, main_loop_poll);
    bh_source = g_source_new(&bh_source_funcs, sizeof(GSource));
    g_source_attach(bh_source, ctx);
    g_source_unref(bh_source);
    timers_attach_source(ctx);
    g_unix_signal_add(SIGINT, on_signal, GINT_TO_POINTER(SIGINT));
    g_unix_signal_add(SIGTERM, on_signal, GINT_TO_POINTER(SIGTERM));
    g_unix_signal_add(SIGHUP, on_signal, GINT_TO_POINTER(SIGHUP));
    signal(SIGPIPE, SIG_IGN);
}

void main_loop_wait(bool blocking)
{
    g_main_context_iteration(NULL, blocking);
}

int main_loop_run(void)
{
    int status = 0;

    while (!runstate_handle_requests(&status)) {
        main_loop_wait(true);
    }
    return status;
}

void main_loop_kick(void)
{
    g_main_context_wakeup(NULL);
}
