/*
 * The pty backend: a pseudo-terminal whose slave side (/dev/pts/N) a user
 * opens with screen or minicom.
 *
 * The master reports a hang-up while no one holds the slave open, so we
 * watch for input only while connected and otherwise look again once a
 * second.  Output with nobody connected is dropped, as QEMU does: the
 * guest must not stall on an unattended console.
 */
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "char-internal.h"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#define PTY_POLL_INTERVAL_MS 1000

typedef struct PtyChardev {
    Chardev parent;
    int fd;       /* the master */
    GSource *src; /* input, while connected */
    guint timer;  /* looking for a peer, while disconnected */
    bool connected;
} PtyChardev;

static void char_pty_init(Object *obj)
{
    ((PtyChardev *)obj)->fd = -1;
}

static bool char_pty_peer_present(PtyChardev *s)
{
    struct pollfd pfd = {.fd = s->fd, .events = POLLIN};

    if (poll(&pfd, 1, 0) < 0) {
        return s->connected;
    }
    return !(pfd.revents & POLLHUP);
}

static void char_pty_readable(Chardev *chr);
static void char_pty_set_connected(PtyChardev *s, bool connected);

static gboolean char_pty_timer(gpointer opaque)
{
    PtyChardev *s = opaque;

    if (char_pty_peer_present(s)) {
        s->timer = 0;
        char_pty_set_connected(s, true);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void char_pty_set_connected(PtyChardev *s, bool connected)
{
    Chardev *chr = &s->parent;

    if (s->connected == connected) {
        return;
    }
    s->connected = connected;
    if (connected) {
        if (s->timer) {
            g_source_remove(s->timer);
            s->timer = 0;
        }
        s->src = chardev_fd_source_new(chr, s->fd, char_pty_readable);
        chr_be_event(chr, CHR_EVENT_OPENED);
    } else {
        chardev_fd_source_remove(&s->src);
        s->timer = g_timeout_add(PTY_POLL_INTERVAL_MS, char_pty_timer, s);
        chr_be_event(chr, CHR_EVENT_CLOSED);
    }
}

static void char_pty_readable(Chardev *chr)
{
    PtyChardev *s = (PtyChardev *)chr;
    uint8_t buf[CHARDEV_READ_CHUNK];
    int budget = chardev_read_budget(chr);
    ssize_t n;

    if (budget <= 0) {
        return;
    }
    n = read(s->fd, buf, budget);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        /* EIO: the last holder of the slave closed it. */
        char_pty_set_connected(s, false);
        return;
    }
    chr_be_write(chr, buf, n);
}

static bool char_pty_make_raw(int fd)
{
    struct termios tty;

    if (tcgetattr(fd, &tty) < 0) {
        return false;
    }
    cfmakeraw(&tty);
    return tcsetattr(fd, TCSAFLUSH, &tty) == 0;
}

/*
 * A fresh master does not report a hang-up until its slave has been opened
 * and closed once; do that now so "nobody there yet" looks the same as
 * "they left", and early output is dropped instead of piling up.
 */
static void char_pty_mark_unused(const char *pts)
{
    int fd = open(pts, O_RDWR | O_NOCTTY | O_CLOEXEC);

    if (fd >= 0) {
        close(fd);
    }
}

static bool char_pty_open_master(PtyChardev *s, char **name, GError **errp)
{
    const char *pts;

    s->fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (s->fd < 0 || grantpt(s->fd) < 0 || unlockpt(s->fd) < 0 ||
        !chardev_fd_set_nonblock(s->fd) || !char_pty_make_raw(s->fd) ||
        !(pts = ptsname(s->fd))) {
        error_setg(errp, "Failed to create PTY: %s", g_strerror(errno));
        return false;
    }
    *name = g_strdup(pts);
    char_pty_mark_unused(pts);
    return true;
}

static bool char_pty_open(Chardev *chr, QliteOpts *opts, GError **errp)
{
    PtyChardev *s = (PtyChardev *)chr;
    g_autofree char *name = NULL;

    /* Check options before telling the user where to connect. */
    if (!qopts_check_all_used(opts, errp) ||
        !char_pty_open_master(s, &name, errp)) {
        return false;
    }
    chardev_set_filename(chr, "pty:%s", name);
    fprintf(stderr, "char device redirected to %s (label %s)\n", name,
            chr->label);
    s->timer = g_timeout_add(PTY_POLL_INTERVAL_MS, char_pty_timer, s);
    return true;
}

static int char_pty_write(Chardev *chr, const uint8_t *buf, int len)
{
    PtyChardev *s = (PtyChardev *)chr;
    ssize_t n;

    if (!s->connected) {
        if (!char_pty_peer_present(s)) {
            return len;
        }
        char_pty_set_connected(s, true);
    }
    n = write(s->fd, buf, len);
    if (n >= 0) {
        return n;
    }
    if (errno == EAGAIN || errno == EINTR) {
        return -EAGAIN;
    }
    char_pty_set_connected(s, false);
    return len;
}

static void char_pty_close(Chardev *chr)
{
    PtyChardev *s = (PtyChardev *)chr;

    chardev_fd_source_remove(&s->src);
    if (s->timer) {
        g_source_remove(s->timer);
        s->timer = 0;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static void char_pty_class_init(ObjectClass *oc, const void *data)
{
    ChardevClass *cc = (ChardevClass *)oc;

    cc->backend = "pty";
    cc->open = char_pty_open;
    cc->write = char_pty_write;
    cc->close = char_pty_close;
}

static const TypeInfo char_pty_info = {
    .name = "chardev-pty",
    .parent = TYPE_CHARDEV,
    .instance_size = sizeof(PtyChardev),
    .class_size = sizeof(ChardevClass),
    .instance_init = char_pty_init,
    .class_init = char_pty_class_init,
};

type_init(char_pty_register_types)
{
    type_register(&char_pty_info);
}
