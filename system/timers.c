/*
 * Clocks and timers.  Timers are armed and run with the big lock held;
 * a GSource in the main loop sleeps until the nearest deadline.
 *
 * The virtual clock is host monotonic time minus the time spent paused;
 * under qtest it is manual and moves only when the test steps it.
 */
#include "qlite/main-loop.h"
#include "internal.h"

#include <time.h>

struct QliteTimer {
    QliteClockType type;
    QliteTimerCb *cb;
    void *opaque;
    int64_t expire;     /* -1 when not pending */
};

static GList *active[QLITE_CLOCK_MAX];    /* pending timers, sorted by expire */
static int64_t virtual_offset;      /* virtual = realtime - offset */
static int64_t virtual_frozen;      /* value while stopped or manual */
static bool virtual_running;
static bool virtual_manual;

static int64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t clock_get_ns(QliteClockType type)
{
    switch (type) {
    case QLITE_CLOCK_REALTIME:
        return monotonic_ns();
    case QLITE_CLOCK_VIRTUAL:
        if (!virtual_running || virtual_manual) {
            return virtual_frozen;
        }
        return monotonic_ns() - virtual_offset;
    case QLITE_CLOCK_HOST:
        return g_get_real_time() * 1000;
    default:
        g_assert_not_reached();
    }
}

void clock_virtual_enable(bool enable)
{
    if (enable == virtual_running) {
        return;
    }
    if (enable) {
        virtual_offset = monotonic_ns() - virtual_frozen;
    } else {
        virtual_frozen = clock_get_ns(QLITE_CLOCK_VIRTUAL);
    }
    virtual_running = enable;
    main_loop_kick();
}

void clock_virtual_set_manual(bool manual)
{
    if (manual) {
        virtual_frozen = clock_get_ns(QLITE_CLOCK_VIRTUAL);
    } else {
        virtual_offset = monotonic_ns() - virtual_frozen;
    }
    virtual_manual = manual;
}

QliteTimer *timer_new_ns(QliteClockType type, QliteTimerCb *cb, void *opaque)
{
    QliteTimer *t = g_new0(QliteTimer, 1);

    t->type = type;
    t->cb = cb;
    t->opaque = opaque;
    t->expire = -1;
    return t;
}

void timer_del(QliteTimer *t)
{
    if (t->expire >= 0) {
        active[t->type] = g_list_remove(active[t->type], t);
        t->expire = -1;
    }
}

void timer_free(QliteTimer *t)
{
    if (t) {
        timer_del(t);
        g_free(t);
    }
}

static gint timer_cmp(gconstpointer a, gconstpointer b)
{
    const QliteTimer *ta = a, *tb = b;

    return ta->expire < tb->expire ? -1 : ta->expire > tb->expire;
}

void timer_mod_ns(QliteTimer *t, int64_t expire_ns)
{
    timer_del(t);
    t->expire = expire_ns < 0 ? 0 : expire_ns;
    active[t->type] = g_list_insert_sorted(active[t->type], t, timer_cmp);
    /*
     * Another thread's new earliest deadline must wake the loop, which
     * may be sleeping past it; the loop's own thread recomputes its
     * timeout before it sleeps again, so it needs no system call.
     */
    if (active[t->type]->data == t && !g_main_context_is_owner(NULL)) {
        main_loop_kick();
    }
}

bool timer_pending(QliteTimer *t)
{
    return t->expire >= 0;
}

int64_t timer_expire_ns(QliteTimer *t)
{
    return t->expire;
}

int64_t clock_virtual_next_deadline(void)
{
    GList *first = active[QLITE_CLOCK_VIRTUAL];

    return first ? ((QliteTimer *)first->data)->expire : -1;
}

/* Run every timer of @type due at @now; true if any ran. */
static bool timers_run_due(QliteClockType type, int64_t now)
{
    bool ran = false;

    while (active[type]) {
        QliteTimer *t = active[type]->data;

        if (t->expire > now) {
            break;
        }
        timer_del(t);
        t->cb(t->opaque);
        ran = true;
    }
    return ran;
}

void clock_virtual_advance(int64_t ns)
{
    int64_t next;

    while ((next = clock_virtual_next_deadline()) >= 0 && next <= ns) {
        if (next > virtual_frozen) {
            virtual_frozen = next;
        }
        timers_run_due(QLITE_CLOCK_VIRTUAL, virtual_frozen);
    }
    if (ns > virtual_frozen) {
        virtual_frozen = ns;
    }
}

static bool clock_is_live(QliteClockType type)
{
    return type != QLITE_CLOCK_VIRTUAL || (virtual_running && !virtual_manual);
}

int64_t timers_deadline_ns(void)
{
    int64_t best = -1;

    for (int type = 0; type < QLITE_CLOCK_MAX; type++) {
        int64_t delta;

        if (!active[type] || !clock_is_live(type)) {
            continue;
        }
        delta = ((QliteTimer *)active[type]->data)->expire -
                clock_get_ns(type);
        if (delta < 0) {
            delta = 0;
        }
        if (best < 0 || delta < best) {
            best = delta;
        }
    }
    return best;
}

/* Milliseconds until the nearest live deadline, -1 for none. */
static gint timers_timeout_ms(void)
{
    int64_t best = timers_deadline_ns();

    if (best < 0) {
        return -1;
    }
    return (gint)MIN((best + 999999) / 1000000, G_MAXINT);
}

static gboolean timer_source_prepare(GSource *source, gint *timeout)
{
    *timeout = timers_timeout_ms();
    return *timeout == 0;
}

static gboolean timer_source_check(GSource *source)
{
    return timers_timeout_ms() == 0;
}

static gboolean timer_source_dispatch(GSource *source, GSourceFunc cb,
                                      gpointer data)
{
    for (int type = 0; type < QLITE_CLOCK_MAX; type++) {
        if (clock_is_live(type)) {
            timers_run_due(type, clock_get_ns(type));
        }
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = {
    .prepare = timer_source_prepare,
    .check = timer_source_check,
    .dispatch = timer_source_dispatch,
};

void timers_attach_source(GMainContext *ctx)
{
    GSource *src = g_source_new(&timer_source_funcs, sizeof(GSource));

    g_source_attach(src, ctx);
    g_source_unref(src);
}
