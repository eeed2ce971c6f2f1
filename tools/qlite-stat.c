/*
 * qlite-stat: live statistics of a running qlite (or QEMU) from its QMP
 * socket, in the manner of Linux's kvm_stat: one line per counter with
 * its total and its rate over the last interval, busiest first,
 * redrawn in place on a terminal.  'q' or Ctrl-C quits.
 *
 *   qlite-stat -s /run/vm/qmp.sock          live view
 *   qlite-stat --once unix:/run/vm/qmp.sock totals and rates, one interval
 *   qlite-stat --json -d 5 PATH             a JSON object per sample
 */
#include "qlite-stat.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define STAT_MAX_INTERVAL   3600.0
#define STAT_MAX_TIMEOUT    3600

typedef struct StatApp {
    StatQmp *qmp;
    StatOptions opts;
    const char *path;
    double interval;
    int timeout;                /* seconds, per QMP exchange */
    gboolean once, json, per_vcpu;
    bool tty;                   /* stdout is a terminal: redraw in place */
    bool keys;                  /* stdin is a terminal in raw mode */
    struct termios saved;
} StatApp;

static volatile sig_atomic_t stat_quit;

static void stat_on_signal(int sig)
{
    stat_quit = 1;
}

static void stat_signals_init(void)
{
    struct sigaction sa = { .sa_handler = stat_on_signal };

    /* No SA_RESTART: a signal ends the wait in poll() at once. */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* Keys without Enter and without echo while the live view runs. */
static void stat_keys_init(StatApp *a)
{
    struct termios raw;

    if (a->once || !isatty(STDIN_FILENO) ||
        tcgetattr(STDIN_FILENO, &a->saved)) {
        return;
    }
    raw = a->saved;
    raw.c_lflag &= ~(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    a->keys = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

static void stat_keys_restore(StatApp *a)
{
    if (a->keys) {
        tcsetattr(STDIN_FILENO, TCSANOW, &a->saved);
        a->keys = false;
    }
}

/* A key arrived: false for 'q' (or the end of stdin: stop reading it). */
static bool stat_key(StatApp *a)
{
    char c;
    ssize_t n = read(STDIN_FILENO, &c, 1);

    if (n <= 0) {
        stat_keys_restore(a);
        return true;
    }
    return c != 'q' && c != 'Q';
}

/* Wait @seconds; false when asked to quit ('q', Ctrl-C, a signal). */
static bool stat_wait(StatApp *a, double seconds)
{
    gint64 end = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);

    while (!stat_quit) {
        gint64 left = end - g_get_monotonic_time();
        struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };

        if (left <= 0) {
            return true;
        }
        if (poll(&pfd, a->keys ? 1 : 0, (int)(left / 1000) + 1) > 0 &&
            !stat_key(a)) {
            return false;
        }
    }
    return false;
}

/* query-stats for @target, only the chosen provider's if one was. */
static json_t *stat_query(StatApp *a, const char *target, GError **errp)
{
    json_t *args = json_pack("{s:s}", "target", target);
    json_t *ret;

    if (a->opts.provider) {
        json_object_set_new(args, "providers", json_pack(
            "[{s:s}]", "provider", a->opts.provider));
    }
    ret = stat_qmp_call(a->qmp, "query-stats", args, errp);
    json_decref(args);
    if (ret && !json_is_array(ret)) {
        g_set_error(errp, STAT_ERROR, 0,
                    "query-stats did not return a list");
        json_decref(ret);
        return NULL;
    }
    return ret;
}

static GHashTable *stat_take(StatApp *a, gint64 *when, GError **errp)
{
    json_t *vm = stat_query(a, "vm", errp);
    json_t *vcpu = vm ? stat_query(a, "vcpu", errp) : NULL;
    GHashTable *s = NULL;

    if (vcpu) {
        s = stat_sample_new(vm, vcpu, &a->opts);
        *when = g_get_monotonic_time();
    }
    json_decref(vm);
    json_decref(vcpu);
    return s;
}

static unsigned stat_term_rows(void)
{
    struct winsize ws;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 4) {
        return ws.ws_row - 4;   /* the title, a blank line, the heading */
    }
    return 0;
}

static void stat_show(StatApp *a, GHashTable *cur, GHashTable *prev,
                      double seconds)
{
    g_autoptr(GArray) rows = stat_rows(cur, prev, seconds);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *title = NULL;

    if (a->json) {
        json_t *obj = stat_rows_json(rows, seconds);
        g_autofree char *text = json_dumps(obj, JSON_COMPACT);

        json_decref(obj);
        printf("%s\n", text);
        fflush(stdout);
        return;
    }
    title = g_strdup_printf("qlite statistics - %s (interval %.2f s)",
                            a->path, seconds);
    if (a->tty && !a->once) {
        g_string_append(out, "\033[H\033[2J");     /* home, clear */
    }
    stat_print_table(out, rows, title, a->tty && !a->once ?
                                       stat_term_rows() : 0);
    if (!a->tty || a->once) {
        g_string_append_c(out, '\n');
    }
    fputs(out->str, stdout);
    fflush(stdout);
}

/* Sample, wait, sample, show; again unless --once.  0 or 1 for exit. */
static int stat_run(StatApp *a)
{
    g_autoptr(GError) err = NULL;
    GHashTable *prev, *cur;
    gint64 t0, t1;

    prev = stat_take(a, &t0, &err);
    if (prev && a->tty && !a->once && !a->json) {
        stat_show(a, prev, NULL, 0);
    }
    while (prev && stat_wait(a, a->interval)) {
        cur = stat_take(a, &t1, &err);
        if (!cur) {
            break;
        }
        stat_show(a, cur, prev, (double)(t1 - t0) / G_USEC_PER_SEC);
        g_hash_table_unref(prev);
        prev = cur;
        t0 = t1;
        if (a->once) {
            break;
        }
    }
    if (prev) {
        g_hash_table_unref(prev);
    }
    if (err) {
        fprintf(stderr, "qlite-stat: %s\n", err->message);
        return 1;
    }
    return 0;
}

/* Options into @a; false with a message on stderr for bad ones. */
static bool stat_parse_args(StatApp *a, int *argc, char ***argv)
{
    g_autofree char *socket = NULL, *fields = NULL, *provider = NULL;
    GOptionEntry entries[] = {
        { "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket,
          "the QMP socket (or give it as the argument)", "PATH" },
        { "delay", 'd', 0, G_OPTION_ARG_DOUBLE, &a->interval,
          "seconds between samples (default 1)", "SECONDS" },
        { "once", '1', 0, G_OPTION_ARG_NONE, &a->once,
          "sample twice, one interval apart, print and exit", NULL },
        { "json", 'j', 0, G_OPTION_ARG_NONE, &a->json,
          "print each sample as one JSON object", NULL },
        { "vcpus", 'c', 0, G_OPTION_ARG_NONE, &a->per_vcpu,
          "one line per vCPU and counter: NAME(N)", NULL },
        { "provider", 'p', 0, G_OPTION_ARG_STRING, &provider,
          "only this provider's statistics (kvm, tcg)", "NAME" },
        { "fields", 'f', 0, G_OPTION_ARG_STRING, &fields,
          "only counters whose name matches REGEX", "REGEX" },
        { "timeout", 't', 0, G_OPTION_ARG_INT, &a->timeout,
          "seconds to wait for each QMP answer (default 5)", "SECONDS" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("[unix:]QMP-SOCKET - live statistics of a "
                             "running qlite");
    g_autoptr(GError) err = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, argc, argv, &err)) {
        fprintf(stderr, "qlite-stat: %s\n", err->message);
        return false;
    }
    if (*argc > 2 || (*argc == 2 && socket)) {
        fprintf(stderr, "qlite-stat: give one QMP socket\n");
        return false;
    }
    if (*argc == 2) {
        socket = g_strdup((*argv)[1]);
    }
    if (!socket) {
        fprintf(stderr, "qlite-stat: no QMP socket given (-s PATH)\n");
        return false;
    }
    if (!(a->interval > 0 && a->interval <= STAT_MAX_INTERVAL) ||
        a->timeout <= 0 || a->timeout > STAT_MAX_TIMEOUT) {
        fprintf(stderr, "qlite-stat: the delay must be in (0, %.0f] "
                "seconds and the timeout in [1, %d]\n", STAT_MAX_INTERVAL,
                STAT_MAX_TIMEOUT);
        return false;
    }
    if (fields) {
        a->opts.fields = g_regex_new(fields, 0, 0, &err);
        if (!a->opts.fields) {
            fprintf(stderr, "qlite-stat: --fields: %s\n", err->message);
            return false;
        }
    }
    a->path = g_steal_pointer(&socket);
    a->opts.provider = g_steal_pointer(&provider);
    a->opts.per_vcpu = a->per_vcpu;
    return true;
}

int main(int argc, char **argv)
{
    StatApp a = { .interval = 1.0, .timeout = 5 };
    g_autoptr(GError) err = NULL;
    int ret;

    if (!stat_parse_args(&a, &argc, &argv)) {
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    a.qmp = stat_qmp_open(a.path, a.timeout * 1000, &err);
    if (!a.qmp) {
        fprintf(stderr, "qlite-stat: %s\n", err->message);
        return 1;
    }
    a.tty = isatty(STDOUT_FILENO);
    stat_signals_init();
    stat_keys_init(&a);
    ret = stat_run(&a);
    stat_keys_restore(&a);
    stat_qmp_close(a.qmp);
    if (a.opts.fields) {
        g_regex_unref(a.opts.fields);
    }
    return ret;
}
