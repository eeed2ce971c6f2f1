/*
 * qlite-stat's QMP client: one Unix socket, newline-separated JSON
 * messages (QMP spec: the server ends each with CRLF), events skipped.
 * Every read waits at most the timeout, so a silent or foreign peer
 * gives an error, never a hang.
 */
#include "qlite-stat.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A reply larger than this is not one qlite-stat asked for. */
#define STAT_QMP_MAX_LINE   (16 * 1024 * 1024)

G_DEFINE_QUARK(qlite-stat-error, stat_error)

struct StatQmp {
    int fd;
    int timeout_ms;
    GString *buf;               /* bytes read, not yet a whole line */
};

static bool stat_qmp_connect(StatQmp *q, const char *path, GError **errp)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (strlen(path) >= sizeof(sa.sun_path)) {
        g_set_error(errp, STAT_ERROR, 0,
                    "socket path too long: %s", path);
        return false;
    }
    strcpy(sa.sun_path, path);
    q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa))) {
        g_set_error(errp, STAT_ERROR, 0,
                    "cannot connect to %s: %s", path, g_strerror(errno));
        return false;
    }
    return true;
}

/* Read more bytes into q->buf within the timeout. */
static bool stat_qmp_fill(StatQmp *q, GError **errp)
{
    struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
    char chunk[4096];
    ssize_t n;
    int r;

    do {
        r = poll(&pfd, 1, q->timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        g_set_error(errp, STAT_ERROR, 0,
                    "no answer from the QMP server within %d ms",
                    q->timeout_ms);
        return false;
    }
    n = r < 0 ? -1 : read(q->fd, chunk, sizeof(chunk));
    if (n <= 0) {
        g_set_error(errp, STAT_ERROR, 0,
                    "the QMP server %s", n == 0 ? "closed the connection"
                    : g_strerror(errno));
        return false;
    }
    g_string_append_len(q->buf, chunk, n);
    return true;
}

/* The next message that is not an event (a new reference). */
static json_t *stat_qmp_read(StatQmp *q, GError **errp)
{
    for (;;) {
        char *nl = memchr(q->buf->str, '\n', q->buf->len);
        json_t *msg;
        json_error_t jerr;

        if (!nl) {
            if (q->buf->len > STAT_QMP_MAX_LINE) {
                g_set_error(errp, STAT_ERROR, 0,
                            "not a QMP server: a message over %d bytes",
                            STAT_QMP_MAX_LINE);
                return NULL;
            }
            if (!stat_qmp_fill(q, errp)) {
                return NULL;
            }
            continue;
        }
        msg = json_loadb(q->buf->str, nl - q->buf->str, 0, &jerr);
        g_string_erase(q->buf, 0, nl - q->buf->str + 1);
        if (!json_is_object(msg)) {
            json_decref(msg);
            g_set_error(errp, STAT_ERROR, 0,
                        "not a QMP server: it sent something that is not "
                        "a JSON object");
            return NULL;
        }
        if (!json_object_get(msg, "event")) {
            return msg;
        }
        json_decref(msg);
    }
}

static bool stat_qmp_send(StatQmp *q, json_t *msg, GError **errp)
{
    g_autofree char *dump = json_dumps(msg, JSON_COMPACT);
    g_autofree char *text = g_strconcat(dump, "\n", NULL);
    size_t len = strlen(text), done = 0;

    while (done < len) {
        ssize_t n = send(q->fd, text + done, len - done, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            g_set_error(errp, STAT_ERROR, 0,
                        "cannot send to the QMP server: %s",
                        g_strerror(errno));
            return false;
        }
        done += n;
    }
    return true;
}

json_t *stat_qmp_call(StatQmp *q, const char *cmd, json_t *args,
                      GError **errp)
{
    json_t *req = json_pack("{s:s}", "execute", cmd);
    json_t *reply, *ret, *err;
    bool sent;

    if (args) {
        json_object_set(req, "arguments", args);
    }
    sent = stat_qmp_send(q, req, errp);
    json_decref(req);
    reply = sent ? stat_qmp_read(q, errp) : NULL;
    if (!reply) {
        return NULL;
    }
    err = json_object_get(reply, "error");
    ret = json_object_get(reply, "return");
    if (err || !ret) {
        const char *desc = json_string_value(json_object_get(err, "desc"));

        g_set_error(errp, STAT_ERROR, 0, "%s: %s", cmd,
                    desc ? desc : "the reply has no 'return'");
        json_decref(reply);
        return NULL;
    }
    json_incref(ret);
    json_decref(reply);
    return ret;
}

StatQmp *stat_qmp_open(const char *path, int timeout_ms, GError **errp)
{
    StatQmp *q = g_new0(StatQmp, 1);
    json_t *greeting, *caps;

    q->fd = -1;
    q->timeout_ms = timeout_ms;
    q->buf = g_string_new(NULL);
    if (g_str_has_prefix(path, "unix:")) {
        path += strlen("unix:");
    }
    if (!stat_qmp_connect(q, path, errp) ||
        !(greeting = stat_qmp_read(q, errp))) {
        stat_qmp_close(q);
        return NULL;
    }
    if (!json_object_get(greeting, "QMP")) {
        json_decref(greeting);
        g_set_error(errp, STAT_ERROR, 0,
                    "not a QMP server: %s sent no QMP greeting", path);
        stat_qmp_close(q);
        return NULL;
    }
    json_decref(greeting);
    caps = stat_qmp_call(q, "qmp_capabilities", NULL, errp);
    if (!caps) {
        stat_qmp_close(q);
        return NULL;
    }
    json_decref(caps);
    return q;
}

void stat_qmp_close(StatQmp *q)
{
    if (q->fd >= 0) {
        close(q->fd);
    }
    g_string_free(q->buf, true);
    g_free(q);
}
