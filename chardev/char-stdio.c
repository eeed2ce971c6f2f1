/*
 * The stdio backend: input from fd 0, output to fd 1.
 *
 * When stdin is a terminal it goes into raw mode (no echo, no line
 * editing) so the guest sees every key.  Ctrl-C stays a signal unless
 * signal=off; under a mux (-nographic, mon:stdio) the default is off so
 * Ctrl-C reaches the guest and C-a x is the way out.  The saved terminal
 * settings come back on every way out of the process: close, the exit
 * notifiers, and atexit() as a last resort.
 */
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "qlite/runstate.h"
#include "char-internal.h"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

/* Largest write tried at once, so a terminal never makes us wait long. */
#define STDIO_WRITE_CHUNK 512

typedef struct StdioChardev {
    Chardev parent;
    GSource *src;
    bool opened;
} StdioChardev;

static struct termios stdio_saved_tty;
static bool stdio_tty_saved;
static bool stdio_in_use;

static void char_stdio_restore_tty(void)
{
    if (stdio_tty_saved) {
        tcsetattr(0, TCSANOW, &stdio_saved_tty);
    }
}

static void char_stdio_register_restore(void)
{
    static bool registered;

    if (!registered) {
        registered = true;
        qlite_add_exit_notifier(char_stdio_restore_tty);
        atexit(char_stdio_restore_tty);
    }
}

static void char_stdio_set_raw(bool isig)
{
    struct termios tty;

    if (!isatty(0) || tcgetattr(0, &tty) < 0) {
        return;
    }
    stdio_saved_tty = tty;
    stdio_tty_saved = true;
    char_stdio_register_restore();
    tty.c_iflag &=
        ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    /* Keep output processing: the guest's "\n" still starts a new line. */
    tty.c_oflag |= OPOST;
    tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
    if (isig) {
        tty.c_lflag |= ISIG;
    }
    tty.c_cflag &= ~(CSIZE | PARENB);
    tty.c_cflag |= CS8;
    tty.c_cc[VMIN] = 1;
    tty.c_cc[VTIME] = 0;
    tcsetattr(0, TCSANOW, &tty);
}

static void char_stdio_readable(Chardev *chr)
{
    StdioChardev *s = (StdioChardev *)chr;
    uint8_t buf[CHARDEV_READ_CHUNK];
    int budget = chardev_read_budget(chr);
    ssize_t n;

    if (budget <= 0) {
        return;
    }
    n = read(0, buf, budget);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        /* End of input: stop watching rather than spin on it, and tell
         * the front end (a qtest server then ends the machine). */
        chardev_fd_source_remove(&s->src);
        chr_be_event(chr, CHR_EVENT_CLOSED);
        return;
    }
    chr_be_write(chr, buf, n);
}

static bool char_stdio_open(Chardev *chr, QliteOpts *opts, GError **errp)
{
    StdioChardev *s = (StdioChardev *)chr;
    bool isig;

    if (!qopts_get_bool(opts, "signal", !chr->in_mux, &isig, errp)) {
        return false;
    }
    if (stdio_in_use) {
        error_setg(errp, "cannot use stdio by multiple character devices");
        return false;
    }
    stdio_in_use = true;
    s->opened = true;
    char_stdio_set_raw(isig);
    s->src = chardev_fd_source_new(chr, 0, char_stdio_readable);
    chr_be_event(chr, CHR_EVENT_OPENED);
    return true;
}

/*
 * fd 1 is shared with the shell, so it stays blocking; poll() first so a
 * stopped terminal or a full pipe gives -EAGAIN instead of a hang.
 */
static int char_stdio_write(Chardev *chr, const uint8_t *buf, int len)
{
    struct pollfd pfd = {.fd = 1, .events = POLLOUT};
    ssize_t n;

    if (poll(&pfd, 1, 0) < 0) {
        return -errno;
    }
    if (pfd.revents & (POLLERR | POLLNVAL)) {
        return -EIO;
    }
    if (!(pfd.revents & POLLOUT)) {
        return -EAGAIN;
    }
    n = write(1, buf, MIN(len, STDIO_WRITE_CHUNK));
    return n < 0 ? -errno : (int)n;
}

static void char_stdio_close(Chardev *chr)
{
    StdioChardev *s = (StdioChardev *)chr;

    chardev_fd_source_remove(&s->src);
    if (s->opened) {
        char_stdio_restore_tty();
        stdio_tty_saved = false;
        stdio_in_use = false;
        s->opened = false;
    }
}

static void char_stdio_class_init(ObjectClass *oc, const void *data)
{
    ChardevClass *cc = (ChardevClass *)oc;

    cc->backend = "stdio";
    cc->open = char_stdio_open;
    cc->write = char_stdio_write;
    cc->close = char_stdio_close;
}

static const TypeInfo char_stdio_info = {
    .name = "chardev-stdio",
    .parent = TYPE_CHARDEV,
    .instance_size = sizeof(StdioChardev),
    .class_size = sizeof(ChardevClass),
    .class_init = char_stdio_class_init,
};

type_init(char_stdio_register_types)
{
    type_register(&char_stdio_info);
}
