/*
 * Character device core: creation from -chardev options and legacy specs,
 * the registry under /chardevs, and the front-end/back-end plumbing that
 * every backend shares (bounded writes, flow-controlled input sources).
 */
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "char-internal.h"

#include <fcntl.h>
#include <unistd.h>

/* How long chr_fe_write_all() waits for a slow peer before dropping. */
#define CHARDEV_WRITE_TIMEOUT_US (1000 * 1000)
#define CHARDEV_WRITE_MAX_SLEEP_US (10 * 1000)

/* Every live chardev in creation order (query-chardev order). */
static GPtrArray *chardev_all;
/* The QOM container "/chardevs" they live under. */
static Object *chardev_container;
/*
 * Chardevs whose last write timed out: later writes try once and drop
 * what does not fit, so a stuck peer cannot stall the guest for a second
 * on every byte.  Cleared by the first write that goes through whole.
 */
static GHashTable *chardev_stalled;

/* ---- the abstract type ---- */

static void chardev_instance_finalize(Object *obj)
{
    Chardev *chr = CHARDEV(obj);

    if (chardev_stalled) {
        g_hash_table_remove(chardev_stalled, chr);
    }
    g_free(chr->label);
    g_free(chr->filename);
}

static const TypeInfo chardev_info = {
    .name = TYPE_CHARDEV,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(Chardev),
    .class_size = sizeof(ChardevClass),
    .abstract = true,
    .instance_finalize = chardev_instance_finalize,
};

type_init(chardev_register_types)
{
    type_register(&chardev_info);
}

/* ---- registry ---- */

static Object *chardev_get_container(void)
{
    if (!chardev_container) {
        chardev_container = container_get("/chardevs");
    }
    return chardev_container;
}

Chardev *chardev_find(const char *id)
{
    if (!chardev_all || !id) {
        return NULL;
    }
    for (guint i = 0; i < chardev_all->len; i++) {
        Chardev *chr = g_ptr_array_index(chardev_all, i);

        if (!strcmp(chr->label, id)) {
            return chr;
        }
    }
    return NULL;
}

/* A new array (caller unrefs it); the chardevs stay owned by the tree. */
GPtrArray *chardev_list(void)
{
    GPtrArray *list = g_ptr_array_new();

    for (guint i = 0; chardev_all && i < chardev_all->len; i++) {
        g_ptr_array_add(list, g_ptr_array_index(chardev_all, i));
    }
    return list;
}

bool chardev_is_mux(Chardev *chr)
{
    return chr && object_dynamic_cast(OBJECT(chr), TYPE_CHARDEV_MUX);
}

/* Close @chr, cut its front ends loose, and drop it from the tree. */
static void chardev_delete(Chardev *chr)
{
    ChardevClass *cc = CHARDEV_GET_CLASS(chr);

    if (cc->close) {
        cc->close(chr);
    }
    if (chr->be) {
        chr->be->chr = NULL;
        chr->be = NULL;
    }
    if (chardev_all) {
        g_ptr_array_remove(chardev_all, chr);
    }
    object_unparent(OBJECT(chr));
}

void chardev_cleanup_all(void)
{
    /* Newest first: a mux goes before the backend it sits on. */
    while (chardev_all && chardev_all->len) {
        chardev_delete(g_ptr_array_index(chardev_all, chardev_all->len - 1));
    }
}

/* ---- creation ---- */

static ChardevClass *chardev_class_lookup(const char *backend, GError **errp)
{
    g_autofree char *tname = g_strdup_printf("chardev-%s", backend);
    ObjectClass *oc = object_class_by_name(tname);

    if (!oc || !object_class_dynamic_cast(oc, TYPE_CHARDEV) ||
        object_class_is_abstract(oc)) {
        error_setg(errp, "'%s' is not a valid char driver name", backend);
        return NULL;
    }
    return (ChardevClass *)oc;
}

static bool chardev_check_new_id(const char *id, GError **errp)
{
    if (!keyval_id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return false;
    }
    if (chardev_find(id)) {
        error_setg(errp, "Duplicate ID '%s' for chardev", id);
        return false;
    }
    return true;
}

static Chardev *chardev_create(ChardevClass *cc, const char *id,
                               QliteOpts *opts, bool in_mux, GError **errp)
{
    Chardev *chr;

    if (!chardev_check_new_id(id, errp)) {
        return NULL;
    }
    chr = CHARDEV(object_new(object_class_get_name(OBJECT_CLASS(cc))));
    chr->label = g_strdup(id);
    chr->in_mux = in_mux;
    if ((cc->open && !cc->open(chr, opts, errp)) ||
        !qopts_check_all_used(opts, errp)) {
        if (cc->close) {
            cc->close(chr);
        }
        object_unref(OBJECT(chr));
        return NULL;
    }
    if (!chr->filename) {
        chr->filename = g_strdup(cc->backend);
    }
    object_property_add_child(chardev_get_container(), id, OBJECT(chr));
    object_unref(OBJECT(chr));
    if (!chardev_all) {
        chardev_all = g_ptr_array_new();
    }
    g_ptr_array_add(chardev_all, chr);
    return chr;
}

/* mux=on: the backend becomes "ID-base" and a mux named ID sits on it. */
static Chardev *chardev_create_muxed(ChardevClass *cc, const char *id,
                                     QliteOpts *opts, GError **errp)
{
    g_autofree char *base_id = g_strdup_printf("%s-base", id);
    g_autoptr(QliteOpts) mux_opts = qopts_new("chardev");
    ChardevClass *mux_cc;
    Chardev *base, *mux;

    if (!chardev_check_new_id(id, errp) ||
        !(mux_cc = chardev_class_lookup("mux", errp))) {
        return NULL;
    }
    base = chardev_create(cc, base_id, opts, true, errp);
    if (!base) {
        return NULL;
    }
    qopts_set(mux_opts, "chardev", base_id);
    mux = chardev_create(mux_cc, id, mux_opts, false, errp);
    if (!mux) {
        chardev_delete(base);
    }
    return mux;
}

Chardev *chardev_new_from_opts(QliteOpts *opts, GError **errp)
{
    const char *backend = qopts_get(opts, "backend");
    const char *id = qopts_get(opts, "id");
    ChardevClass *cc;
    bool mux;

    if (!backend) {
        error_setg(errp, "Parameter 'backend' is missing");
        return NULL;
    }
    cc = chardev_class_lookup(backend, errp);
    if (!cc) {
        return NULL;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    if (!qopts_get_bool(opts, "mux", false, &mux, errp)) {
        return NULL;
    }
    if (mux) {
        return chardev_create_muxed(cc, id, opts, errp);
    }
    return chardev_create(cc, id, opts, false, errp);
}

/* ---- legacy specs (-serial, -monitor, -qmp) ---- */

/* Append "k=v,..." (bare keys mean on) from @tail to @opts. */
static bool chardev_legacy_add_tail(QliteOpts *opts, const char *tail,
                                    GError **errp)
{
    g_autoptr(QliteOpts) extra = NULL;

    if (!tail || !*tail) {
        return true;
    }
    extra = keyval_parse(tail, NULL, KEYVAL_BARE_KEY_IS_ON, errp);
    if (!extra) {
        return false;
    }
    for (guint i = 0; i < extra->pairs->len; i++) {
        KeyvalPair *kv = g_ptr_array_index(extra->pairs, i);

        qopts_set(opts, kv->key, kv->value);
    }
    return true;
}

/* "HOST:PORT[,opts]": the port is after the last ':' before any ','. */
static bool chardev_legacy_tcp(QliteOpts *opts, const char *rest, GError **errp)
{
    const char *comma = strchr(rest, ',');
    g_autofree char *addr =
        g_strndup(rest, comma ? comma - rest : (long)strlen(rest));
    char *colon = strrchr(addr, ':');

    if (!colon) {
        error_setg(errp, "chardev: socket: no port given in 'tcp:%s'", rest);
        return false;
    }
    *colon = '\0';
    qopts_set(opts, "backend", "socket");
    qopts_set(opts, "host", addr);
    qopts_set(opts, "port", colon + 1);
    return chardev_legacy_add_tail(opts, comma ? comma + 1 : NULL, errp);
}

static bool chardev_legacy_unix(QliteOpts *opts, const char *rest,
                                GError **errp)
{
    const char *comma = strchr(rest, ',');
    g_autofree char *path =
        g_strndup(rest, comma ? comma - rest : (long)strlen(rest));

    qopts_set(opts, "backend", "socket");
    qopts_set(opts, "path", path);
    return chardev_legacy_add_tail(opts, comma ? comma + 1 : NULL, errp);
}

/* Fill @opts from a legacy spec (without "mon:"). */
static bool chardev_legacy_fill(QliteOpts *opts, const char *spec,
                                GError **errp)
{
    static const char *const simple[] = {"stdio", "null", "pty"};

    for (size_t i = 0; i < G_N_ELEMENTS(simple); i++) {
        if (!strcmp(spec, simple[i])) {
            qopts_set(opts, "backend", simple[i]);
            return true;
        }
    }
    /* Without a display, a virtual console is just a sink. */
    if (!strcmp(spec, "vc") || g_str_has_prefix(spec, "vc:")) {
        qopts_set(opts, "backend", "null");
        return true;
    }
    if (g_str_has_prefix(spec, "file:")) {
        qopts_set(opts, "backend", "file");
        qopts_set(opts, "path", spec + 5);
        return true;
    }
    if (g_str_has_prefix(spec, "unix:")) {
        return chardev_legacy_unix(opts, spec + 5, errp);
    }
    if (g_str_has_prefix(spec, "tcp:")) {
        return chardev_legacy_tcp(opts, spec + 4, errp);
    }
    error_setg(errp, "'%s' is not a valid char driver name", spec);
    return false;
}

Chardev *chardev_new_legacy(const char *label, const char *spec, GError **errp)
{
    g_autoptr(QliteOpts) opts = qopts_new("chardev");
    Chardev *chr;

    if (!strcmp(spec, "none")) {
        return NULL;
    }
    if (g_str_has_prefix(spec, "chardev:")) {
        chr = chardev_find(spec + 8);
        if (!chr) {
            error_setg(errp, "chardev '%s' not found", spec + 8);
        }
        return chr;
    }
    if (g_str_has_prefix(spec, "mon:")) {
        spec += 4;
        qopts_set(opts, "mux", "on");
    }
    if (!chardev_legacy_fill(opts, spec, errp)) {
        return NULL;
    }
    qopts_set(opts, "id", label);
    return chardev_new_from_opts(opts, errp);
}

/* ---- front end ---- */

bool chr_fe_init(CharBackend *be, Chardev *chr, GError **errp)
{
    be->can_read = NULL;
    be->read = NULL;
    be->event = NULL;
    be->opaque = NULL;
    be->tag = 0;
    be->chr = NULL;
    if (!chr) {
        return true;
    }
    if (chardev_is_mux(chr)) {
        if (!char_mux_attach(chr, be, errp)) {
            return false;
        }
    } else {
        if (chr->be || chr->in_mux) {
            error_setg(errp, "Device '%s' is in use", chr->label);
            return false;
        }
        chr->be = be;
    }
    be->chr = chr;
    return true;
}

void chr_fe_deinit(CharBackend *be)
{
    Chardev *chr = be->chr;

    if (!chr) {
        return;
    }
    if (chardev_is_mux(chr)) {
        char_mux_detach(chr, be);
    } else if (chr->be == be) {
        chr->be = NULL;
    }
    be->chr = NULL;
    be->can_read = NULL;
    be->read = NULL;
    be->event = NULL;
    be->opaque = NULL;
}

/*
 * A front end that installs an event handler on an open backend is told
 * OPENED at once (as QEMU does), so a monitor can print its greeting.  On
 * a mux it first learns whether it has the focus (MUX_IN or MUX_OUT).
 */
void chr_fe_set_handlers(CharBackend *be, ChrCanReadFn can_read, ChrReadFn read,
                         ChrEventFn event, void *opaque)
{
    Chardev *chr = be->chr;
    ChardevClass *cc;

    if (!chr) {
        return;
    }
    be->can_read = can_read;
    be->read = read;
    be->event = event;
    be->opaque = opaque;
    cc = CHARDEV_GET_CLASS(chr);
    if (cc->update_handlers) {
        cc->update_handlers(chr);
    }
    if (chardev_is_mux(chr)) {
        char_mux_handlers_set(chr, be);
    }
    if (event && chr->be_open) {
        event(opaque, CHR_EVENT_OPENED);
    }
    /* Input sources re-check can_read() in their prepare step. */
    g_main_context_wakeup(NULL);
}

int chr_fe_write_all(CharBackend *be, const uint8_t *buf, int len)
{
    if (!be->chr || len <= 0) {
        return 0;
    }
    if (!buf) {
        return -EINVAL;
    }
    return chardev_write_all(be->chr, buf, len);
}

int chr_fe_get_msgfd(CharBackend *be)
{
    ChardevClass *cc = be->chr ? CHARDEV_GET_CLASS(be->chr) : NULL;

    return cc && cc->get_msgfd ? cc->get_msgfd(be->chr) : -1;
}

void chr_fe_accept_input(CharBackend *be)
{
    Chardev *chr = be->chr;
    ChardevClass *cc;

    if (!chr) {
        return;
    }
    cc = CHARDEV_GET_CLASS(chr);
    if (cc->accept_input) {
        cc->accept_input(chr);
    }
    /* May be a vCPU thread: the main loop might sleep without our fd. */
    g_main_context_wakeup(NULL);
}

bool chr_fe_backend_connected(CharBackend *be)
{
    return be->chr != NULL;
}

/* ---- back end ---- */

int chr_be_can_write(Chardev *chr)
{
    CharBackend *be = chr->be;

    if (chardev_is_mux(chr)) {
        return char_mux_can_write(chr);
    }
    if (!be || !be->can_read) {
        return 0;
    }
    return be->can_read(be->opaque);
}

void chr_be_write(Chardev *chr, const uint8_t *buf, int len)
{
    CharBackend *be = chr->be;

    if (len <= 0) {
        return;
    }
    if (chardev_is_mux(chr)) {
        char_mux_input(chr, buf, len);
        return;
    }
    if (be && be->read) {
        be->read(be->opaque, buf, len);
    }
}

void chr_be_event(Chardev *chr, ChrEvent event)
{
    CharBackend *be = chr->be;

    if (event == CHR_EVENT_OPENED) {
        chr->be_open = true;
    } else if (event == CHR_EVENT_CLOSED) {
        chr->be_open = false;
    }
    if (chardev_is_mux(chr)) {
        char_mux_event(chr, event);
        return;
    }
    if (be && be->event) {
        be->event(be->opaque, event);
    }
}

/* ---- helpers for the backends ---- */

int chardev_read_budget(Chardev *chr)
{
    int n = chr_be_can_write(chr);

    return MAX(0, MIN(n, CHARDEV_READ_CHUNK));
}

void chardev_set_filename(Chardev *chr, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_free(chr->filename);
    chr->filename = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static bool chardev_is_stalled(Chardev *chr)
{
    return chardev_stalled && g_hash_table_contains(chardev_stalled, chr);
}

static void chardev_set_stalled(Chardev *chr, bool stalled)
{
    if (stalled) {
        if (!chardev_stalled) {
            chardev_stalled = g_hash_table_new(NULL, NULL);
        }
        g_hash_table_add(chardev_stalled, chr);
    } else if (chardev_stalled) {
        g_hash_table_remove(chardev_stalled, chr);
    }
}

int chardev_write_all(Chardev *chr, const uint8_t *buf, int len)
{
    ChardevClass *cc = CHARDEV_GET_CLASS(chr);
    bool stalled = chardev_is_stalled(chr);
    int64_t deadline =
        g_get_monotonic_time() + (stalled ? 0 : CHARDEV_WRITE_TIMEOUT_US);
    gulong sleep_us = 50;
    int done = 0;

    if (!cc->write) {
        return len;
    }
    while (done < len) {
        int ret = cc->write(chr, buf + done, len - done);

        if (ret > 0) {
            done += MIN(ret, len - done);
            continue;
        }
        if (ret < 0 && ret != -EAGAIN && ret != -EINTR) {
            return done ? done : ret;
        }
        if (g_get_monotonic_time() >= deadline) {
            chardev_set_stalled(chr, true);
            return done ? done : -EAGAIN;
        }
        g_usleep(sleep_us);
        sleep_us = MIN(sleep_us * 2, CHARDEV_WRITE_MAX_SLEEP_US);
    }
    if (stalled) {
        chardev_set_stalled(chr, false);
    }
    return done;
}

bool chardev_fd_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return false;
    }
    return fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

/* ---- flow-controlled input source ---- */

typedef struct ChardevFdSource {
    GSource source;
    GPollFD pfd;
    bool polling; /* pfd is in the source's poll set */
    Chardev *chr;
    ChardevReadableFn readable;
} ChardevFdSource;

/*
 * The fd joins the poll set only while the front end can take bytes.
 * Leaving it in with no events would not do: poll() reports a hang-up
 * regardless, and the loop would spin.
 */
static gboolean chardev_fd_source_prepare(GSource *src, gint *timeout)
{
    ChardevFdSource *s = (ChardevFdSource *)src;
    bool want = chr_be_can_write(s->chr) > 0;

    *timeout = -1;
    if (want && !s->polling) {
        s->pfd.revents = 0;
        g_source_add_poll(src, &s->pfd);
    } else if (!want && s->polling) {
        g_source_remove_poll(src, &s->pfd);
    }
    s->polling = want;
    return FALSE;
}

static gboolean chardev_fd_source_check(GSource *src)
{
    ChardevFdSource *s = (ChardevFdSource *)src;

    return s->polling &&
           (s->pfd.revents & (G_IO_IN | G_IO_HUP | G_IO_ERR | G_IO_NVAL));
}

static gboolean chardev_fd_source_dispatch(GSource *src, GSourceFunc cb,
                                           gpointer data)
{
    ChardevFdSource *s = (ChardevFdSource *)src;

    s->pfd.revents = 0;
    s->readable(s->chr);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs chardev_fd_source_funcs = {
    .prepare = chardev_fd_source_prepare,
    .check = chardev_fd_source_check,
    .dispatch = chardev_fd_source_dispatch,
};

GSource *chardev_fd_source_new(Chardev *chr, int fd, ChardevReadableFn readable)
{
    GSource *src =
        g_source_new(&chardev_fd_source_funcs, sizeof(ChardevFdSource));
    ChardevFdSource *s = (ChardevFdSource *)src;

    s->pfd.fd = fd;
    s->pfd.events = G_IO_IN | G_IO_HUP | G_IO_ERR;
    s->chr = chr;
    s->readable = readable;
    g_source_attach(src, NULL);
    return src;
}

void chardev_fd_source_remove(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}
