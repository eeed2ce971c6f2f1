/*
 * Monitors on chardevs: one per -qmp, -monitor, -mon, and the monitor
 * half of a "mon:" mux.  This file owns what both kinds share: the
 * CharBackend, a per-monitor output queue, input flow control, event
 * fan-out to QMP clients, and the exit path.
 *
 * Output never blocks the emulator: replies and events go into the
 * monitor's queue and are written without waiting; what the peer cannot
 * take now is retried from a timer.  While the queue holds more than
 * MONITOR_OUT_PAUSE bytes the monitor reads no input (a client that sends
 * commands but never reads replies is throttled); past MONITOR_OUT_MAX
 * further output (events) is dropped until the peer catches up or goes.
 */
#include "monitor-internal.h"
#include "qlite/error.h"
#include "qlite/runstate.h"

#define MONITOR_OUT_PAUSE (64 * 1024)
#define MONITOR_OUT_MAX (4 * 1024 * 1024)
#define MONITOR_RETRY_MS 10
#define MONITOR_RETRY_MAX_MS 500
#define MONITOR_READ_CHUNK 4096

struct Monitor {
    CharBackend be;
    MonitorMode mode;
    bool pretty;
    GString *out;           /* queued output not yet written */
    guint retry_tag;        /* timer source while output is queued */
    guint retry_ms;         /* its period, backing off */
    unsigned generation;    /* bumped on each close: stale writes stop */
    uint64_t dropped;       /* bytes dropped for a full queue */
    QmpSession qmp;
    HmpState *hmp;
};

static GPtrArray *monitors;
static bool monitor_listening;

/* ---- output ---- */

/*
 * One non-blocking write through the chardev class (chr_fe_write_all()
 * waits for a slow peer, which a stuck client must not make us do).
 * Returns bytes taken, or a negative errno.
 */
static int monitor_write_nowait(Monitor *mon, const char *buf, size_t len)
{
    Chardev *chr = mon->be.chr;
    ChardevClass *cc;

    if (!chr) {
        return len;
    }
    cc = CHARDEV_GET_CLASS(chr);
    if (!cc->write) {
        return len;
    }
    return cc->write(chr, (const uint8_t *)buf, MIN(len, (size_t)G_MAXINT));
}

static gboolean monitor_retry_cb(gpointer opaque);

static void monitor_flush(Monitor *mon)
{
    unsigned gen = mon->generation;
    bool was_paused = mon->out->len > MONITOR_OUT_PAUSE;
    bool progress = false;

    while (mon->out->len) {
        int n = monitor_write_nowait(mon, mon->out->str, mon->out->len);

        if (gen != mon->generation) {
            return;     /* the write closed the connection */
        }
        if (n == -EAGAIN || n == -EINTR || n == 0) {
            break;
        }
        if (n < 0) {
            /* The peer is gone for good (EPIPE ...): nobody will read it. */
            mon->dropped += mon->out->len;
            g_string_truncate(mon->out, 0);
            break;
        }
        g_string_erase(mon->out, 0, n);
        progress = true;
    }
    /* Retry from a timer, backing off while a peer reads nothing. */
    mon->retry_ms = progress ? MONITOR_RETRY_MS
                             : MIN(mon->retry_ms * 2, MONITOR_RETRY_MAX_MS);
    if (mon->out->len && !mon->retry_tag) {
        mon->retry_tag = g_timeout_add(mon->retry_ms, monitor_retry_cb, mon);
    }
    if (was_paused && mon->out->len <= MONITOR_OUT_PAUSE) {
        chr_fe_accept_input(&mon->be);
    }
}

static gboolean monitor_retry_cb(gpointer opaque)
{
    Monitor *mon = opaque;

    mon->retry_tag = 0;
    monitor_flush(mon);
    return G_SOURCE_REMOVE;
}

/* Queue @len bytes; '\n' becomes "\r\n" as on QEMU's monitors. */
static void monitor_puts(Monitor *mon, const char *text, size_t len)
{
    if (mon->out->len + 2 * len > MONITOR_OUT_MAX) {
        if (!mon->dropped) {
            warn_report("monitor %s: the client reads nothing; dropping "
                        "its output", mon->be.chr ? mon->be.chr->label : "");
        }
        mon->dropped += len;
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            g_string_append_c(mon->out, '\r');
        }
        g_string_append_c(mon->out, text[i]);
    }
    monitor_flush(mon);
}

void monitor_printf(Monitor *mon, const char *fmt, ...)
{
    g_autofree char *s = NULL;
    va_list ap;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    monitor_puts(mon, s, strlen(s));
}

static void monitor_send_json(Monitor *mon, json_t *msg)
{
    size_t flags = JSON_PRESERVE_ORDER |
                   (mon->pretty ? JSON_INDENT(4) : 0);
    g_autofree char *text = json_dumps(msg, flags);
    g_autofree char *line = NULL;

    if (!text) {
        return;
    }
    /* One piece, so a message is queued (or dropped) whole. */
    line = g_strconcat(text, "\n", NULL);
    monitor_puts(mon, line, strlen(line));
}

static void monitor_qmp_send(QmpSession *s, json_t *msg)
{
    monitor_send_json(s->opaque, msg);
}

/* ---- input ---- */

static int monitor_qmp_take_fd(QmpSession *s)
{
    return chr_fe_get_msgfd(&((Monitor *)s->opaque)->be);
}

static int monitor_can_read(void *opaque)
{
    Monitor *mon = opaque;

    if (mon->out->len > MONITOR_OUT_PAUSE) {
        return 0;
    }
    if (mon->mode == MONITOR_MODE_READLINE) {
        return hmp_can_read(mon->hmp);
    }
    return MONITOR_READ_CHUNK;
}

static void monitor_read(void *opaque, const uint8_t *buf, int len)
{
    Monitor *mon = opaque;

    if (len <= 0) {
        return;
    }
    if (mon->mode == MONITOR_MODE_CONTROL) {
        qmp_session_feed(&mon->qmp, buf, len);
    } else {
        hmp_input(mon->hmp, buf, len);
    }
}

/* A peer went away: drop what it had not read and what it half sent. */
static void monitor_closed(Monitor *mon)
{
    mon->generation++;
    mon->dropped = 0;
    g_string_truncate(mon->out, 0);
    if (mon->retry_tag) {
        g_source_remove(mon->retry_tag);
        mon->retry_tag = 0;
    }
    if (mon->mode == MONITOR_MODE_CONTROL) {
        qmp_session_reset(&mon->qmp);
    }
}

static void monitor_event(void *opaque, ChrEvent event)
{
    Monitor *mon = opaque;
    json_t *greeting;

    if (mon->mode == MONITOR_MODE_READLINE) {
        if (event == CHR_EVENT_CLOSED) {
            monitor_closed(mon);
        }
        hmp_event(mon->hmp, event);
        return;
    }
    if (event == CHR_EVENT_OPENED) {
        monitor_closed(mon);    /* a fresh session for the new peer */
        greeting = qmp_greeting();
        monitor_send_json(mon, greeting);
        json_decref(greeting);
    } else if (event == CHR_EVENT_CLOSED) {
        monitor_closed(mon);
    }
}

/* ---- events ---- */

static void monitor_event_listener(const char *name, const char *data_json,
                                   void *opaque)
{
    json_t *data = NULL, *msg;

    if (data_json) {
        data = json_loads(data_json, 0, NULL);
    }
    msg = qmp_event_message(name, data);
    for (guint i = 0; monitors && i < monitors->len; i++) {
        Monitor *mon = monitors->pdata[i];

        if (mon->mode == MONITOR_MODE_CONTROL && mon->qmp.negotiated) {
            monitor_send_json(mon, msg);
        }
    }
    json_decref(msg);
    json_decref(data);
}

/* ---- lifecycle ---- */

static void monitor_free(Monitor *mon)
{
    chr_fe_deinit(&mon->be);
    if (mon->retry_tag) {
        g_source_remove(mon->retry_tag);
    }
    if (mon->mode == MONITOR_MODE_CONTROL) {
        qmp_session_destroy(&mon->qmp);
    } else {
        hmp_free(mon->hmp);
    }
    g_string_free(mon->out, true);
    g_free(mon);
}

bool monitor_init(Chardev *chr, MonitorMode mode, bool pretty,
                  GError **errp)
{
    Monitor *mon = g_new0(Monitor, 1);

    mon->mode = mode;
    mon->pretty = pretty;
    mon->out = g_string_new(NULL);
    mon->retry_ms = MONITOR_RETRY_MS;
    if (!chr_fe_init(&mon->be, chr, errp)) {
        g_string_free(mon->out, true);
        g_free(mon);
        return false;
    }
    if (mode == MONITOR_MODE_CONTROL) {
        qmp_session_init(&mon->qmp, monitor_qmp_send, mon);
        mon->qmp.take_fd = monitor_qmp_take_fd;
    } else {
        mon->hmp = hmp_new(mon, chardev_is_mux(chr));
    }
    if (!monitors) {
        monitors = g_ptr_array_new();
    }
    g_ptr_array_add(monitors, mon);
    if (!monitor_listening) {
        qlite_event_add_listener(monitor_event_listener, NULL);
        monitor_listening = true;
    }
    chr_fe_set_handlers(&mon->be, monitor_can_read, monitor_read,
                        monitor_event, mon);
    return true;
}

/* Exit path: give each peer a last chance to get its queued output. */
void monitor_cleanup(void)
{
    if (!monitors) {
        return;
    }
    for (guint i = 0; i < monitors->len; i++) {
        Monitor *mon = monitors->pdata[i];

        if (mon->out->len && mon->be.chr) {
            chr_fe_write_all(&mon->be, (const uint8_t *)mon->out->str,
                             mon->out->len);
        }
        monitor_free(mon);
    }
    g_ptr_array_free(monitors, true);
    monitors = NULL;
}
