/*
 * See net-test-util.h.
 */
#include "net-test-util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_US (5 * G_USEC_PER_SEC)

/* ---- the fake NIC ------------------------------------------------------ */

static ssize_t fake_nic_receive(NetClientState *nc, const struct iovec *iov,
                                int iovcnt)
{
    FakeNic *n = nc->opaque;
    GByteArray *b;

    if (!n->room) {
        return 0;
    }
    n->room--;
    b = g_byte_array_new();
    for (int i = 0; i < iovcnt; i++) {
        g_byte_array_append(b, iov[i].iov_base, iov[i].iov_len);
    }
    g_ptr_array_add(n->got, b);
    return b->len;
}

static const NetClientInfo fake_nic_info = {
    .kind = NET_CLIENT_NIC,
    .receive = fake_nic_receive,
};

void fake_nic_attach(FakeNic *n, const char *spec)
{
    GError *err = NULL;
    g_autoptr(QliteOpts) opts = keyval_parse(spec, "type", 0, &err);

    g_assert_no_error(err);
    n->backend = netdev_add(opts, &err);
    g_assert_no_error(err);
    g_assert_nonnull(n->backend);
    n->nc = net_client_new(&fake_nic_info, "fakenic", "fake", n);
    n->nc->peer = n->backend;
    n->backend->peer = n->nc;
    n->got = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    n->room = G_MAXUINT;
}

void fake_nic_detach(FakeNic *n)
{
    net_client_free(n->backend);
    net_client_free(n->nc);
    g_ptr_array_unref(n->got);
}

void fake_nic_send(FakeNic *n, const void *frame, size_t len)
{
    g_assert_cmpint(net_send(n->nc, frame, len), ==, len);
}

bool loop_until(bool (*cond)(void *opaque), void *opaque)
{
    int64_t deadline = g_get_monotonic_time() + WAIT_US;

    while (!cond(opaque)) {
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        /* Poll, and nap briefly only when nothing was ready. */
        if (!g_main_context_iteration(NULL, false)) {
            g_usleep(1000);
        }
    }
    return true;
}

typedef struct FrameWait {
    FakeNic *n;
    FrameMatch *match;
    const void *opaque;
    GByteArray *found;
} FrameWait;

static bool frame_arrived(void *opaque)
{
    FrameWait *w = opaque;

    for (guint i = 0; i < w->n->got->len; i++) {
        GByteArray *f = g_ptr_array_index(w->n->got, i);

        if (w->match(f, w->opaque)) {
            w->found = f;
            return true;
        }
    }
    return false;
}

GByteArray *fake_nic_wait(FakeNic *n, FrameMatch *match, const void *opaque)
{
    FrameWait w = { n, match, opaque, NULL };

    loop_until(frame_arrived, &w);
    return w.found;
}

void expect_netdev_error(const char *spec, const char *msg)
{
    GError *err = NULL;
    g_autoptr(QliteOpts) opts = keyval_parse(spec, "type", 0, &err);

    g_assert_no_error(err);
    g_assert_null(netdev_add(opts, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, msg)) {
        g_error("'%s': got '%s', want '%s'", spec, err->message, msg);
    }
    g_error_free(err);
}

/* ---- the sandbox ------------------------------------------------------- */

static bool sandbox_lo_up(char **why)
{
    struct ifreq ifr = { .ifr_name = "lo" };
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0;

    ifr.ifr_flags |= IFF_UP;
    ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    if (!ok) {
        *why = g_strdup_printf("cannot bring up lo: %s", g_strerror(errno));
    }
    if (s >= 0) {
        close(s);
    }
    return ok;
}

/* Bind a file holding @text over /etc/resolv.conf, in our namespace only. */
static bool sandbox_resolv_conf(const char *text, char **why)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("resolv-XXXXXX.conf", &path, NULL);
    bool ok;

    if (fd < 0) {
        *why = g_strdup("cannot make a temporary file");
        return false;
    }
    ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    ok = ok && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
         mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL) == 0;
    if (!ok) {
        *why = g_strdup_printf("cannot replace /etc/resolv.conf: %s",
                               g_strerror(errno));
    }
    g_unlink(path);     /* the mount keeps it */
    return ok;
}

bool net_sandbox_enter(const char *resolv_conf, char **why)
{
    int flags = CLONE_NEWNET | (resolv_conf ? CLONE_NEWNS : 0);

    if (unshare(flags) < 0) {
        *why = g_strdup_printf("cannot make a network namespace: %s",
                               g_strerror(errno));
        return false;
    }
    return sandbox_lo_up(why) &&
           (!resolv_conf || sandbox_resolv_conf(resolv_conf, why));
}
