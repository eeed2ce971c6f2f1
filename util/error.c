/*
 * Error and log output: "progname: [location: ]message" on stderr, as QEMU
 * prints it, plus rate-limited guest-error logging.
 */
#include "qlite/error.h"

#include <stdarg.h>

static const char *progname = "qlite";
static char *location;
static bool log_guest_errors;
static bool log_unimp;

G_DEFINE_QUARK(qlite-error-quark, qlite_error)

void error_set_progname(const char *name)
{
    const char *slash = strrchr(name, '/');

    progname = slash ? slash + 1 : name;
}

const char *error_get_progname(void)
{
    return progname;
}

void error_set_location(const char *loc)
{
    g_free(location);
    location = g_strdup(loc);
}

static bool msg_timestamp;
static char *msg_guest_name;

void error_set_message_prefix(bool timestamp, const char *guest_name)
{
    msg_timestamp = timestamp;
    g_free(msg_guest_name);
    msg_guest_name = g_strdup(guest_name);
}

/* -msg timestamp=on,guest-name=on: "2026-12-06T10:28:39.493468Z NAME " */
static void report_prefix(void)
{
    if (msg_timestamp) {
        g_autoptr(GDateTime) now = g_date_time_new_now_utc();
        g_autofree char *ts = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");

        fprintf(stderr, "%s.%06dZ ", ts, g_date_time_get_microsecond(now));
    }
    if (msg_guest_name) {
        fprintf(stderr, "%s ", msg_guest_name);
    }
}

static void G_GNUC_PRINTF(2, 0) report_va(const char *kind, const char *fmt,
                                          va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);

    report_prefix();
    if (location) {
        fprintf(stderr, "%s: %s: %s%s\n", progname, location, kind, msg);
    } else {
        fprintf(stderr, "%s: %s%s\n", progname, kind, msg);
    }
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_va("", fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_va("warning: ", fmt, ap);
    va_end(ap);
}

void info_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_va("info: ", fmt, ap);
    va_end(ap);
}

void error_report_err(GError *err)
{
    error_report("%s", err->message);
    g_error_free(err);
}

void error_prepend(GError **errp, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *prefix = NULL;
    char *msg;

    if (!errp || !*errp) {
        return;
    }
    va_start(ap, fmt);
    prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    msg = g_strconcat(prefix, (*errp)->message, NULL);
    g_free((*errp)->message);
    (*errp)->message = msg;
}

/*
 * A misbehaving guest can log in a tight loop; allow a burst and then one
 * message per second so the log stays readable and the host stays fast.
 */
static bool log_ratelimit_ok(void)
{
    static gint64 window_start;
    static unsigned in_window;
    gint64 now = g_get_monotonic_time();

    if (now - window_start > G_USEC_PER_SEC) {
        window_start = now;
        in_window = 0;
    }
    return ++in_window <= 20;
}

static void G_GNUC_PRINTF(3, 0) log_va(bool enabled, const char *kind,
                                       const char *fmt, va_list ap)
{
    g_autofree char *msg = NULL;

    if (!enabled || !log_ratelimit_ok()) {
        return;
    }
    msg = g_strdup_vprintf(fmt, ap);
    fprintf(stderr, "%s: %s: %s\n", progname, kind, msg);
}

void qlite_log_guest_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_va(log_guest_errors, "guest error", fmt, ap);
    va_end(ap);
}

void qlite_log_unimp(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_va(log_unimp, "unimplemented", fmt, ap);
    va_end(ap);
}

/* -d guest_errors,unimp */
void qlite_log_set_mask(const char *spec, GError **errp)
{
    g_auto(GStrv) items = g_strsplit(spec, ",", -1);

    for (char **it = items; *it; it++) {
        if (!strcmp(*it, "guest_errors")) {
            log_guest_errors = true;
        } else if (!strcmp(*it, "unimp")) {
            log_unimp = true;
        } else if (**it) {
            error_setg(errp, "unknown logging item '%s' "
                       "(supported: guest_errors, unimp)", *it);
            return;
        }
    }
}
