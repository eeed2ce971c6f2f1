/*
 * The mux: several front ends (serial port, monitor) share one backend.
 *
 * One front end has the focus and gets the input; output from all of them
 * goes to the backend.  Ctrl-a is the escape key (C-a h lists the rest).
 * Each front end has a small buffer so the bytes the backend already read
 * wait there while the front end is full; while the focused front end's
 * buffer is full the backend stops reading (flow control end to end).
 */
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "qlite/runstate.h"
#include "char-internal.h"

#define MUX_MAX_FRONTENDS 4
#define MUX_BUFFER_SIZE 32
#define MUX_ESCAPE_CHAR 0x01 /* Ctrl-a */

typedef struct MuxFrontEnd {
    CharBackend *be;
    uint8_t buf[MUX_BUFFER_SIZE];
    unsigned head;  /* first buffered byte */
    unsigned count; /* bytes buffered */
} MuxFrontEnd;

typedef struct MuxChardev {
    Chardev parent;
    Chardev *base;
    CharBackend base_be; /* our handle on the base, as its front end */
    MuxFrontEnd fe[MUX_MAX_FRONTENDS];
    int fe_count; /* tags handed out */
    int focus;    /* tag with the focus, -1 before any */
    bool got_escape;
    bool timestamps; /* C-a t */
    bool at_line_start;
    int64_t ts_start_us;
    bool opening;    /* inside char_mux_open() */
    guint open_idle; /* OPENED for our front ends, pending */
} MuxChardev;

static MuxChardev *mux_of(Chardev *chr)
{
    return (MuxChardev *)chr;
}

static void char_mux_init(Object *obj)
{
    mux_of(CHARDEV(obj))->focus = -1;
    mux_of(CHARDEV(obj))->at_line_start = true;
}

/* ---- output ---- */

static void char_mux_print(MuxChardev *d, const char *text)
{
    chardev_write_all(d->base, (const uint8_t *)text, strlen(text));
}

/* "[hh:mm:ss.mmm] " since C-a t, at the start of each output line. */
static void char_mux_print_timestamp(MuxChardev *d)
{
    int64_t ms = (g_get_monotonic_time() - d->ts_start_us) / 1000;
    char stamp[40];

    snprintf(stamp, sizeof(stamp), "[%02d:%02d:%02d.%03d] ",
             (int)(ms / 3600000), (int)(ms / 60000 % 60), (int)(ms / 1000 % 60),
             (int)(ms % 1000));
    char_mux_print(d, stamp);
}

static int char_mux_write(Chardev *chr, const uint8_t *buf, int len)
{
    MuxChardev *d = mux_of(chr);
    int start = 0;

    if (!d->base) {
        return len;
    }
    if (!d->timestamps) {
        return chardev_write_all(d->base, buf, len);
    }
    for (int i = 0; i < len; i++) {
        if (d->at_line_start) {
            chardev_write_all(d->base, buf + start, i - start);
            start = i;
            char_mux_print_timestamp(d);
            d->at_line_start = false;
        }
        if (buf[i] == '\n') {
            d->at_line_start = true;
        }
    }
    chardev_write_all(d->base, buf + start, len - start);
    return len;
}

/* ---- focus and events ---- */

static void char_mux_send_event(MuxChardev *d, int tag, ChrEvent event)
{
    CharBackend *be = tag >= 0 ? d->fe[tag].be : NULL;

    if (be && be->event) {
        be->event(be->opaque, event);
    }
}

static void char_mux_set_focus(MuxChardev *d, int tag)
{
    char_mux_send_event(d, d->focus, CHR_EVENT_MUX_OUT);
    d->focus = tag;
    char_mux_send_event(d, d->focus, CHR_EVENT_MUX_IN);
    /* The new focus may have room where the old one had none. */
    chr_fe_accept_input(&d->base_be);
}

static void char_mux_next_focus(MuxChardev *d)
{
    for (int i = 1; i <= d->fe_count; i++) {
        int tag = (d->focus + i) % d->fe_count;

        if (d->fe[tag].be) {
            char_mux_set_focus(d, tag);
            return;
        }
    }
}

void char_mux_event(Chardev *chr, ChrEvent event)
{
    MuxChardev *d = mux_of(chr);

    if (event == CHR_EVENT_BREAK) {
        char_mux_send_event(d, d->focus, event);
        return;
    }
    for (int tag = 0; tag < d->fe_count; tag++) {
        char_mux_send_event(d, tag, event);
    }
}

/* ---- input ---- */

/* Hand buffered bytes to @tag's front end as far as it takes them. */
static void char_mux_drain(MuxChardev *d, int tag)
{
    MuxFrontEnd *f = &d->fe[tag];

    while (f->count && f->be && f->be->can_read && f->be->read) {
        int room = f->be->can_read(f->be->opaque);
        unsigned n = MIN(f->count, MUX_BUFFER_SIZE - f->head);

        if (room <= 0) {
            return;
        }
        n = MIN(n, (unsigned)room);
        f->be->read(f->be->opaque, f->buf + f->head, n);
        f->head = (f->head + n) % MUX_BUFFER_SIZE;
        f->count -= n;
    }
}

static void char_mux_deliver(MuxChardev *d, uint8_t ch)
{
    MuxFrontEnd *f;

    if (d->focus < 0 || !d->fe[d->focus].be) {
        return;
    }
    f = &d->fe[d->focus];
    if (f->count == MUX_BUFFER_SIZE) {
        return; /* the backend ignored can_write(); nowhere to keep it */
    }
    f->buf[(f->head + f->count) % MUX_BUFFER_SIZE] = ch;
    f->count++;
    char_mux_drain(d, d->focus);
}

static const char char_mux_help[] =
    "\n\r"
    "C-a h    print this help\n\r"
    "C-a x    exit emulator\n\r"
    "C-a s    save disk data back to file (if -snapshot)\n\r"
    "C-a t    toggle console timestamps\n\r"
    "C-a b    send break (magic sysrq)\n\r"
    "C-a c    switch between console and monitor\n\r"
    "C-a C-a  sends C-a\n\r";

static void char_mux_escape(MuxChardev *d, uint8_t ch)
{
    switch (ch) {
    case 'h':
    case '?':
        char_mux_print(d, char_mux_help);
        break;
    case 'x':
        char_mux_print(d, "qlite: Terminated\n\r");
        qlite_system_shutdown_request(SHUTDOWN_CAUSE_HOST_UI);
        break;
    case 's':
        char_mux_print(d, "\n\rqlite: saving disks (C-a s) is not "
                          "supported\n\r");
        break;
    case 't':
        d->timestamps = !d->timestamps;
        d->ts_start_us = g_get_monotonic_time();
        d->at_line_start = false;
        break;
    case 'b':
        char_mux_send_event(d, d->focus, CHR_EVENT_BREAK);
        break;
    case 'c':
        char_mux_next_focus(d);
        break;
    case MUX_ESCAPE_CHAR:
        char_mux_deliver(d, ch);
        break;
    default:
        /* An unknown command is swallowed, like QEMU's. */
        break;
    }
}

void char_mux_input(Chardev *chr, const uint8_t *buf, int len)
{
    MuxChardev *d = mux_of(chr);

    for (int i = 0; i < len; i++) {
        if (d->got_escape) {
            d->got_escape = false;
            char_mux_escape(d, buf[i]);
        } else if (buf[i] == MUX_ESCAPE_CHAR) {
            d->got_escape = true;
        } else {
            char_mux_deliver(d, buf[i]);
        }
    }
}

/*
 * Room in the focused front end's buffer.  Without a focused front end the
 * input is still read (and dropped) so C-a commands keep working.
 */
int char_mux_can_write(Chardev *chr)
{
    MuxChardev *d = mux_of(chr);

    if (d->focus < 0 || !d->fe[d->focus].be) {
        return MUX_BUFFER_SIZE;
    }
    char_mux_drain(d, d->focus);
    return MUX_BUFFER_SIZE - d->fe[d->focus].count;
}

static void char_mux_accept_input(Chardev *chr)
{
    MuxChardev *d = mux_of(chr);

    for (int tag = 0; tag < d->fe_count; tag++) {
        char_mux_drain(d, tag);
    }
    chr_fe_accept_input(&d->base_be);
}

/* ---- front ends ---- */

bool char_mux_attach(Chardev *chr, CharBackend *be, GError **errp)
{
    MuxChardev *d = mux_of(chr);

    if (d->fe_count >= MUX_MAX_FRONTENDS) {
        error_setg(errp, "too many uses of multiplexed chardev '%s'",
                   chr->label);
        return false;
    }
    be->tag = d->fe_count++;
    d->fe[be->tag].be = be;
    d->fe[be->tag].head = 0;
    d->fe[be->tag].count = 0;
    if (d->focus < 0) {
        d->focus = be->tag;
    }
    return true;
}

void char_mux_detach(Chardev *chr, CharBackend *be)
{
    MuxChardev *d = mux_of(chr);

    if (be->tag >= 0 && be->tag < d->fe_count && d->fe[be->tag].be == be) {
        d->fe[be->tag].be = NULL;
        d->fe[be->tag].count = 0;
    }
}

/*
 * A front end installed handlers: it takes the focus, as in QEMU.  The
 * serial port is realized after the monitors are set up, so it is the one
 * that has the focus when the guest starts.
 */
void char_mux_handlers_set(Chardev *chr, CharBackend *be)
{
    MuxChardev *d = mux_of(chr);

    if (!be->can_read && !be->read && !be->event) {
        return;
    }
    if (be->tag != d->focus) {
        char_mux_set_focus(d, be->tag);
    } else {
        char_mux_send_event(d, be->tag, CHR_EVENT_MUX_IN);
    }
}

/* ---- the base's side ---- */

static int char_mux_base_can_read(void *opaque)
{
    MuxChardev *d = opaque;

    return chr_be_can_write(&d->parent);
}

static void char_mux_base_read(void *opaque, const uint8_t *buf, int len)
{
    MuxChardev *d = opaque;

    chr_be_write(&d->parent, buf, len);
}

static gboolean char_mux_open_idle(gpointer opaque)
{
    MuxChardev *d = opaque;

    d->open_idle = 0;
    chr_be_event(&d->parent, CHR_EVENT_OPENED);
    return G_SOURCE_REMOVE;
}

/*
 * A base that is open when the mux is made (stdio) reports OPENED to our
 * front ends only once the main loop runs, as QEMU does after machine
 * creation: by then every front end is attached and the focus settled,
 * so a monitor without the focus does not print its greeting over the
 * guest's console.
 */
static void char_mux_base_event(void *opaque, ChrEvent event)
{
    MuxChardev *d = opaque;

    if (event == CHR_EVENT_OPENED && d->opening) {
        if (!d->open_idle) {
            d->open_idle = g_idle_add(char_mux_open_idle, d);
        }
        return;
    }
    if (event == CHR_EVENT_CLOSED && d->open_idle) {
        g_source_remove(d->open_idle);
        d->open_idle = 0;
    }
    chr_be_event(&d->parent, event);
}

static bool char_mux_open(Chardev *chr, QliteOpts *opts, GError **errp)
{
    MuxChardev *d = mux_of(chr);
    const char *id = qopts_get(opts, "chardev");
    Chardev *base = chardev_find(id);

    if (!id) {
        error_setg(errp, "chardev: mux: no chardev given");
        return false;
    }
    if (!base || chardev_is_mux(base)) {
        error_setg(errp,
                   "chardev: mux: '%s' is not a chardev to "
                   "multiplex",
                   id);
        return false;
    }
    /* A base created by mux=on is already marked as ours. */
    base->in_mux = false;
    if (!chr_fe_init(&d->base_be, base, errp)) {
        base->in_mux = base->be != NULL;
        return false;
    }
    base->in_mux = true;
    d->base = base;
    d->opening = true;
    chr_fe_set_handlers(&d->base_be, char_mux_base_can_read, char_mux_base_read,
                        char_mux_base_event, d);
    d->opening = false;
    return true;
}

static void char_mux_close(Chardev *chr)
{
    MuxChardev *d = mux_of(chr);

    for (int tag = 0; tag < d->fe_count; tag++) {
        if (d->fe[tag].be) {
            d->fe[tag].be->chr = NULL;
            d->fe[tag].be = NULL;
        }
    }
    if (d->open_idle) {
        g_source_remove(d->open_idle);
        d->open_idle = 0;
    }
    if (d->base) {
        chr_fe_deinit(&d->base_be);
        d->base->in_mux = false;
        d->base = NULL;
    }
}

static void char_mux_class_init(ObjectClass *oc, const void *data)
{
    ChardevClass *cc = (ChardevClass *)oc;

    cc->backend = "mux";
    cc->open = char_mux_open;
    cc->write = char_mux_write;
    cc->accept_input = char_mux_accept_input;
    cc->close = char_mux_close;
}

static const TypeInfo char_mux_info = {
    .name = TYPE_CHARDEV_MUX,
    .parent = TYPE_CHARDEV,
    .instance_size = sizeof(MuxChardev),
    .class_size = sizeof(ChardevClass),
    .instance_init = char_mux_init,
    .class_init = char_mux_class_init,
};

type_init(char_mux_register_types)
{
    type_register(&char_mux_info);
}
