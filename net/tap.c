/*
 * The tap back end (-netdev tap): frames go to and from a Linux tap
 * interface through /dev/net/tun, or through a tap fd handed over with
 * fd= (as libvirt does).
 *
 * The fd is non-blocking and watched on the main loop.  Reading stops
 * while the NIC's queue is full (net_send_iov() returned 0) and resumes
 * in the sent callback; a write that would block leaves the frame queued
 * in the core and resumes with net_flush_queued() once the fd is
 * writable.  With IFF_VNET_HDR every frame on the fd carries a 12-byte
 * virtio-net header, which a NIC that uses headers sees as is; for other
 * NICs we add a zero one on write and strip it on read (the kernel sends
 * only plain frames while no offloads are set).
 */
#include "qlite/error.h"
#include "qlite/fdset.h"
#include "qlite/iov.h"
#include "qlite/net.h"
#include "qlite/object.h"
#include "qlite/sandbox.h"

#include <fcntl.h>
#include <limits.h>
#include <glib-unix.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAP_DEFAULT_SCRIPT      "/etc/qemu-ifup"
#define TAP_DEFAULT_DOWNSCRIPT  "/etc/qemu-ifdown"
#define TAP_READ_BURST          64      /* frames per wakeup, for fairness */

typedef struct TapState {
    NetClientState *nc;
    int fd;
    char ifname[IFNAMSIZ];
    char *downscript;       /* run at cleanup; NULL: none */
    bool has_vnet_hdr;      /* frames on the fd carry a header */
    bool using_vnet_hdr;    /* the NIC's frames carry one too */
    guint read_watch;       /* 0 while the NIC's queue is full */
    guint write_watch;      /* set while a write would block */
    uint8_t buf[VIRTIO_NET_HDR_LEN + NET_MAX_FRAME];
} TapState;

static void tap_read_resume(TapState *s);

/* ---- from the tap to the NIC ------------------------------------------- */

static void tap_sent(NetClientState *nc, ssize_t len)
{
    tap_read_resume(nc->opaque);
}

/* Give one frame read from the fd to the NIC; false: its queue is full. */
static bool tap_deliver(TapState *s, uint8_t *buf, size_t len)
{
    static const VirtioNetHdr zero_hdr;
    struct iovec iov[2];
    int n = 0;

    if (s->has_vnet_hdr && !s->using_vnet_hdr) {
        if (len < VIRTIO_NET_HDR_LEN) {
            return true;
        }
        buf += VIRTIO_NET_HDR_LEN;
        len -= VIRTIO_NET_HDR_LEN;
    } else if (!s->has_vnet_hdr && s->using_vnet_hdr) {
        iov[n++] = (struct iovec){ (void *)&zero_hdr, VIRTIO_NET_HDR_LEN };
    }
    iov[n++] = (struct iovec){ buf, len };
    return net_send_iov(s->nc, iov, n, tap_sent) != 0;
}

static gboolean tap_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    TapState *s = opaque;

    for (int i = 0; i < TAP_READ_BURST; i++) {
        ssize_t len = read(s->fd, s->buf, sizeof(s->buf));

        if (len < 0 && errno == EINTR) {
            continue;
        }
        if (len <= 0) {
            break;      /* EAGAIN: drained; other errors: try next time */
        }
        if (!tap_deliver(s, s->buf, len)) {
            s->read_watch = 0;
            return G_SOURCE_REMOVE;     /* until tap_sent() */
        }
    }
    return G_SOURCE_CONTINUE;
}

static void tap_read_resume(TapState *s)
{
    if (!s->read_watch) {
        s->read_watch = g_unix_fd_add(s->fd, G_IO_IN, tap_readable, s);
    }
}

/* ---- from the NIC to the tap ------------------------------------------- */

static gboolean tap_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    TapState *s = opaque;

    s->write_watch = 0;
    net_flush_queued(s->nc);    /* may block again and re-arm the watch */
    return G_SOURCE_REMOVE;
}

static ssize_t tap_receive(NetClientState *nc, const struct iovec *iov,
                           int iovcnt)
{
    static const VirtioNetHdr zero_hdr;
    TapState *s = nc->opaque;
    struct iovec *out = g_newa(struct iovec, iovcnt + 1);
    size_t len;
    int n = 0;

    if (s->has_vnet_hdr && !s->using_vnet_hdr) {
        out[n++] = (struct iovec){ (void *)&zero_hdr, VIRTIO_NET_HDR_LEN };
    }
    memcpy(out + n, iov, iovcnt * sizeof(*iov));
    n += iovcnt;
    len = iov_size(iov, iovcnt);
    while (writev(s->fd, out, n) < 0) {
        if (errno == EAGAIN) {
            if (!s->write_watch) {
                s->write_watch = g_unix_fd_add(s->fd, G_IO_OUT, tap_writable,
                                               s);
            }
            return 0;   /* the core keeps it until the fd is writable */
        }
        if (errno != EINTR) {
            break;      /* e.g. the interface is down: drop it */
        }
    }
    return len;
}

/* ---- vnet header and offloads ------------------------------------------ */

static bool tap_has_vnet_hdr(NetClientState *nc)
{
    TapState *s = nc->opaque;

    return s->has_vnet_hdr;
}

static void tap_using_vnet_hdr(NetClientState *nc, bool on)
{
    TapState *s = nc->opaque;

    s->using_vnet_hdr = on && s->has_vnet_hdr;
}

static void tap_set_offload(NetClientState *nc, const NetOffloads *o)
{
    TapState *s = nc->opaque;
    unsigned flags = 0;

    if (!s->has_vnet_hdr) {
        return;
    }
    flags |= o->csum ? TUN_F_CSUM : 0;
    flags |= o->tso4 ? TUN_F_TSO4 : 0;
    flags |= o->tso6 ? TUN_F_TSO6 : 0;
    flags |= o->ecn ? TUN_F_TSO_ECN : 0;
    flags |= o->ufo ? TUN_F_UFO : 0;
    if (ioctl(s->fd, TUNSETOFFLOAD, flags) < 0 && flags & TUN_F_UFO) {
        /* Kernels since 4.14 refuse UFO: keep the rest. */
        ioctl(s->fd, TUNSETOFFLOAD, flags & ~TUN_F_UFO);
    }
}

/* ---- scripts ----------------------------------------------------------- */

/* Run "@script IFNAME" as QEMU does; "no" or "" means none. */
static bool tap_run_script(const char *script, const char *ifname,
                           GError **errp)
{
    char *argv[] = { (char *)script, (char *)ifname, NULL };
    GError *err = NULL;
    int status;

    if (!script || !*script || !strcmp(script, "no")) {
        return true;
    }
    /* Refused here, cleanly: under the filter the exec would kill qlite. */
    if (!sandbox_spawn_allowed()) {
        error_setg(errp, "tap: cannot run network script %s: the sandbox "
                   "forbids starting programs (-sandbox on,spawn=allow "
                   "or -sandbox off permit it)", script);
        return false;
    }
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL,
                      NULL, NULL, NULL, &status, &err)) {
        error_setg(errp, "tap: could not run network script %s: %s", script,
                   err->message);
        g_error_free(err);
        return false;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        error_setg(errp, "tap: network script %s failed with status %d",
                   script, status);
        return false;
    }
    return true;
}

/* ---- the client -------------------------------------------------------- */

static void tap_cleanup(NetClientState *nc)
{
    TapState *s = nc->opaque;
    GError *err = NULL;

    if (s->read_watch) {
        g_source_remove(s->read_watch);
    }
    if (s->write_watch) {
        g_source_remove(s->write_watch);
    }
    /* Before close: a non-persistent tap vanishes with its fd. */
    if (!tap_run_script(s->downscript, s->ifname, &err)) {
        error_report_err(err);
    }
    close(s->fd);
    g_free(s->downscript);
    g_free(s);
}

static const NetClientInfo tap_info = {
    .kind = NET_CLIENT_TAP,
    .receive = tap_receive,
    .cleanup = tap_cleanup,
    .has_vnet_hdr = tap_has_vnet_hdr,
    .using_vnet_hdr = tap_using_vnet_hdr,
    .set_offload = tap_set_offload,
};

/* ---- opening ----------------------------------------------------------- */

typedef struct TapOpts {
    const char *ifname;
    const char *script;
    const char *downscript;
    const char *fd;
    int vnet_hdr;           /* -1: when the kernel has it */
    uint64_t sndbuf;
} TapOpts;

/* Open /dev/net/tun as @o->ifname; fills @ifname with the name it got. */
static int tap_open(const TapOpts *o, char *ifname, bool *vnet_hdr,
                    GError **errp)
{
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    unsigned int features = 0;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        error_setg(errp, "tap: could not open /dev/net/tun: %s",
                   g_strerror(errno));
        return -1;
    }
    ioctl(fd, TUNGETFEATURES, &features);
    *vnet_hdr = o->vnet_hdr != 0 && (features & IFF_VNET_HDR);
    if (o->vnet_hdr == 1 && !*vnet_hdr) {
        error_setg(errp, "tap: vnet_hdr=on, but the kernel does not support "
                   "IFF_VNET_HDR");
        goto fail;
    }
    ifr.ifr_flags |= *vnet_hdr ? IFF_VNET_HDR : 0;
    g_strlcpy(ifr.ifr_name, o->ifname ? o->ifname : "tap%d", IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        error_setg(errp, "tap: could not configure ifname=%s: %s",
                   o->ifname ? o->ifname : "tap%d", g_strerror(errno));
        goto fail;
    }
    g_strlcpy(ifname, ifr.ifr_name, IFNAMSIZ);
    return fd;
fail:
    close(fd);
    return -1;
}

static int tap_check_fd(int fd, const char *s, char *ifname,
                        bool *vnet_hdr, GError **errp)
{
    struct ifreq ifr = {0};

    if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
        error_setg(errp, "tap: fd=%s is not a tap device: %s", s,
                   g_strerror(errno));
        return -1;
    }
    if ((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI)) != (IFF_TAP | IFF_NO_PI)) {
        error_setg(errp, "tap: fd=%s is not a tap opened with IFF_NO_PI", s);
        return -1;
    }
    *vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
    g_strlcpy(ifname, ifr.ifr_name, IFNAMSIZ);
    return fd;
}

/*
 * An fd handed over with fd=: a number, or a name passed with QMP getfd
 * (then ours, closed if it is no tap).  It must be a tap; its flags say
 * the rest.
 */
static int tap_adopt_fd(const char *s, char *ifname, bool *vnet_hdr,
                        GError **errp)
{
    int fd = fd_param_resolve(s, errp);

    if (fd < 0) {
        return -1;
    }
    if (tap_check_fd(fd, s, ifname, vnet_hdr, errp) < 0) {
        if (!g_ascii_isdigit(s[0])) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* The fd's settings every tap needs, whoever opened it. */
static bool tap_setup_fd(int fd, bool vnet_hdr, uint64_t sndbuf,
                         GError **errp)
{
    int hdr_len = VIRTIO_NET_HDR_LEN;
    int snd = MIN(sndbuf, (uint64_t)INT_MAX);

    if (vnet_hdr && (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0 ||
                     ioctl(fd, TUNSETOFFLOAD, 0) < 0)) {
        error_setg(errp, "tap: could not set the vnet header size: %s",
                   g_strerror(errno));
        return false;
    }
    if (ioctl(fd, TUNSETSNDBUF, &snd) < 0) {
        error_setg(errp, "tap: could not set sndbuf: %s", g_strerror(errno));
        return false;
    }
    if (!g_unix_set_fd_nonblocking(fd, true, NULL)) {
        error_setg(errp, "tap: could not make the fd non-blocking: %s",
                   g_strerror(errno));
        return false;
    }
    return true;
}

/* What QEMU has for tap that we do not: one clear error each. */
static bool tap_refuse_unsupported(QliteOpts *opts, GError **errp)
{
    static const char *const keys[] = {
        "br", "helper", "fds", "vhostfd", "vhostfds", "poll-us",
    };
    bool vhost, vhostforce;
    uint64_t queues;

    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (qopts_has(opts, keys[i])) {
            error_setg(errp, "tap: %s= is not supported", keys[i]);
            return false;
        }
    }
    if (!qopts_get_bool(opts, "vhost", false, &vhost, errp) ||
        !qopts_get_bool(opts, "vhostforce", false, &vhostforce, errp) ||
        !qopts_get_uint(opts, "queues", 1, &queues, errp)) {
        return false;
    }
    if (vhost || vhostforce) {
        error_setg(errp, "tap: vhost=on is not supported (use vhost=off)");
        return false;
    }
    if (queues != 1) {
        error_setg(errp, "tap: queues=%" PRIu64 " is not supported, only 1",
                   queues);
        return false;
    }
    return true;
}

static bool tap_parse_opts(QliteOpts *opts, TapOpts *o, GError **errp)
{
    bool vnet_hdr;

    if (!tap_refuse_unsupported(opts, errp) ||
        !qopts_get_bool(opts, "vnet_hdr", true, &vnet_hdr, errp) ||
        !qopts_get_size(opts, "sndbuf", INT_MAX, &o->sndbuf, errp)) {
        return false;
    }
    o->vnet_hdr = qopts_has(opts, "vnet_hdr") ? vnet_hdr : -1;
    o->fd = qopts_get(opts, "fd");
    o->ifname = qopts_get(opts, "ifname");
    o->script = qopts_get(opts, "script");
    o->downscript = qopts_get(opts, "downscript");
    if (o->fd && (o->ifname || o->script || o->downscript ||
                  o->vnet_hdr >= 0)) {
        error_setg(errp, "tap: ifname=, script=, downscript= and vnet_hdr= "
                   "are invalid with fd=");
        return false;
    }
    if (!o->fd) {
        o->script = o->script ? o->script : TAP_DEFAULT_SCRIPT;
        o->downscript = o->downscript ? o->downscript
                                      : TAP_DEFAULT_DOWNSCRIPT;
    }
    return true;
}

static NetClientState *tap_init(QliteOpts *opts, const char *id,
                                GError **errp)
{
    TapOpts o = {0};
    TapState *s;
    char ifname[IFNAMSIZ];
    bool vnet_hdr;
    int fd;

    if (!tap_parse_opts(opts, &o, errp)) {
        return NULL;
    }
    fd = o.fd ? tap_adopt_fd(o.fd, ifname, &vnet_hdr, errp)
              : tap_open(&o, ifname, &vnet_hdr, errp);
    if (fd < 0) {
        return NULL;
    }
    if (!tap_setup_fd(fd, vnet_hdr, o.sndbuf, errp) ||
        !tap_run_script(o.script, ifname, errp)) {
        close(fd);
        return NULL;
    }
    s = g_new0(TapState, 1);
    s->fd = fd;
    s->has_vnet_hdr = vnet_hdr;
    g_strlcpy(s->ifname, ifname, IFNAMSIZ);
    s->downscript = g_strdup(o.downscript);
    s->nc = net_client_new(&tap_info, id, "tap", s);
    if (o.fd) {
        net_client_set_info_str(s->nc, "fd=%d", fd);
    } else {
        net_client_set_info_str(s->nc, "ifname=%s,script=%s,downscript=%s",
                                ifname, o.script, o.downscript);
    }
    tap_read_resume(s);
    return s->nc;
}

static const NetBackendType tap_backend = {
    .type = "tap",
    .init = tap_init,
};

type_init(tap_register_backend)
{
    net_backend_register(&tap_backend);
}
