/*
 * User networking (-netdev user): libslirp's TCP/IP stack between the
 * guest's Ethernet frames and ordinary host sockets, with DHCP, DNS,
 * TFTP, host forwarding (hostfwd=) and guest forwarding (guestfwd=).
 *
 * Slirp runs on the main loop: one GSource per instance asks slirp for
 * its sockets before every poll (slirp_pollfds_fill) and hands the
 * results back after it (slirp_pollfds_poll), which also runs slirp's
 * TCP timers.  Slirp's clock and its own timers use QLITE_CLOCK_REALTIME:
 * its peers are real hosts whose retransmissions and timeouts run in host
 * time, and a paused VM (or a qtest's manual virtual clock) must not
 * freeze connections the host side keeps open.
 */
#include "net/slirp-internal.h"

#include "qlite/error.h"
#include "qlite/iov.h"
#include "qlite/main-loop.h"
#include "qlite/object.h"

#include <arpa/inet.h>

/* QEMU's defaults for the virtual network. */
#define USER_DEFAULT_NET        "10.0.2.0"
#define USER_DEFAULT_PREFIX     24
#define USER_HOST_OFFSET        2
#define USER_DNS_OFFSET         3
#define USER_DHCP_OFFSET        15
#define USER_DEFAULT_NET6       "fec0::"
#define USER_DEFAULT_PREFIX6    64

/* ---- the main-loop source ---------------------------------------------- */

typedef struct SlirpSource {
    GSource parent;
    UserNet *u;
    GArray *fds;            /* of GPollFD; pointers given to g_source */
    int64_t deadline_ms;    /* when slirp's timers want a turn, or -1 */
} SlirpSource;

static int slirp_source_add_poll(int fd, int events, void *opaque)
{
    GArray *fds = opaque;
    GPollFD pfd = { .fd = fd };

    pfd.events |= (events & SLIRP_POLL_IN) ? G_IO_IN : 0;
    pfd.events |= (events & SLIRP_POLL_OUT) ? G_IO_OUT : 0;
    pfd.events |= (events & SLIRP_POLL_PRI) ? G_IO_PRI : 0;
    pfd.events |= (events & SLIRP_POLL_ERR) ? G_IO_ERR : 0;
    pfd.events |= (events & SLIRP_POLL_HUP) ? G_IO_HUP : 0;
    g_array_append_val(fds, pfd);
    return fds->len - 1;
}

static int slirp_source_get_revents(int idx, void *opaque)
{
    GArray *fds = opaque;
    int r = g_array_index(fds, GPollFD, idx).revents;

    return ((r & G_IO_IN) ? SLIRP_POLL_IN : 0) |
           ((r & G_IO_OUT) ? SLIRP_POLL_OUT : 0) |
           ((r & G_IO_PRI) ? SLIRP_POLL_PRI : 0) |
           ((r & G_IO_ERR) ? SLIRP_POLL_ERR : 0) |
           ((r & G_IO_HUP) ? SLIRP_POLL_HUP : 0);
}

static bool pollfds_equal(GArray *a, GArray *b)
{
    if (a->len != b->len) {
        return false;
    }
    for (guint i = 0; i < a->len; i++) {
        GPollFD *x = &g_array_index(a, GPollFD, i);
        GPollFD *y = &g_array_index(b, GPollFD, i);

        if (x->fd != y->fd || x->events != y->events) {
            return false;
        }
    }
    return true;
}

/*
 * Slirp's set of sockets changes with every connection: ask it afresh,
 * but hand GLib a new set only when it differs.  Adding or removing a
 * poll wakes the context, so doing it on every prepare would make every
 * poll return at once: a main loop spinning against the vCPU threads
 * for the big lock.
 */
static gboolean slirp_source_prepare(GSource *source, gint *timeout)
{
    SlirpSource *s = (SlirpSource *)source;
    uint32_t wait_ms = UINT32_MAX;
    GArray *next = g_array_new(false, true, sizeof(GPollFD));

    slirp_pollfds_fill(s->u->slirp, &wait_ms, slirp_source_add_poll, next);
    if (pollfds_equal(s->fds, next)) {
        g_array_free(next, true);
    } else {
        for (guint i = 0; i < s->fds->len; i++) {
            g_source_remove_poll(source, &g_array_index(s->fds, GPollFD, i));
        }
        g_array_free(s->fds, true);
        s->fds = next;
        /* The array is complete: its elements no longer move. */
        for (guint i = 0; i < s->fds->len; i++) {
            g_source_add_poll(source, &g_array_index(s->fds, GPollFD, i));
        }
    }
    if (wait_ms == UINT32_MAX) {
        s->deadline_ms = -1;
        *timeout = -1;
    } else {
        s->deadline_ms = clock_get_ns(QLITE_CLOCK_REALTIME) / 1000000 +
                         wait_ms;
        *timeout = MIN(wait_ms, (uint32_t)G_MAXINT);
    }
    return wait_ms == 0;
}

static gboolean slirp_source_check(GSource *source)
{
    SlirpSource *s = (SlirpSource *)source;

    for (guint i = 0; i < s->fds->len; i++) {
        if (g_array_index(s->fds, GPollFD, i).revents) {
            return true;
        }
    }
    return s->deadline_ms >= 0 &&
           clock_get_ns(QLITE_CLOCK_REALTIME) / 1000000 >= s->deadline_ms;
}

static gboolean slirp_source_dispatch(GSource *source, GSourceFunc cb,
                                      gpointer data)
{
    SlirpSource *s = (SlirpSource *)source;

    slirp_pollfds_poll(s->u->slirp, 0, slirp_source_get_revents, s->fds);
    for (guint i = 0; i < s->fds->len; i++) {
        g_array_index(s->fds, GPollFD, i).revents = 0;
    }
    return G_SOURCE_CONTINUE;
}

static void slirp_source_finalize(GSource *source)
{
    SlirpSource *s = (SlirpSource *)source;

    g_array_free(s->fds, true);
}

static GSourceFuncs slirp_source_funcs = {
    .prepare = slirp_source_prepare,
    .check = slirp_source_check,
    .dispatch = slirp_source_dispatch,
    .finalize = slirp_source_finalize,
};

static GSource *slirp_source_new(UserNet *u)
{
    GSource *source = g_source_new(&slirp_source_funcs, sizeof(SlirpSource));
    SlirpSource *s = (SlirpSource *)source;

    s->u = u;
    s->fds = g_array_new(false, true, sizeof(GPollFD));
    s->deadline_ms = -1;
    g_source_attach(source, NULL);
    return source;
}

/* ---- slirp's callbacks ------------------------------------------------- */

/* No sent callback: slirp cannot be paused; the core queues or drops. */
static ssize_t user_send_packet(const void *buf, size_t len, void *opaque)
{
    UserNet *u = opaque;

    net_send(u->nc, buf, len);
    return len;
}

static void user_guest_error(const char *msg, void *opaque)
{
    qlite_log_guest_error("slirp: %s", msg);
}

static int64_t user_clock_get_ns(void *opaque)
{
    return clock_get_ns(QLITE_CLOCK_REALTIME);
}

typedef struct UserTimer {
    UserNet *u;
    QliteTimer *timer;
    SlirpTimerId id;
    void *cb_opaque;
} UserTimer;

static void user_timer_fire(void *opaque)
{
    UserTimer *t = opaque;

    slirp_handle_timer(t->u->slirp, t->id, t->cb_opaque);
}

static void *user_timer_new_opaque(SlirpTimerId id, void *cb_opaque,
                                   void *opaque)
{
    UserTimer *t = g_new0(UserTimer, 1);

    t->u = opaque;
    t->id = id;
    t->cb_opaque = cb_opaque;
    t->timer = timer_new_ns(QLITE_CLOCK_REALTIME, user_timer_fire, t);
    return t;
}

static void user_timer_free(void *timer, void *opaque)
{
    UserTimer *t = timer;

    timer_free(t->timer);
    g_free(t);
}

/* @expire_ms is on user_clock_get_ns()'s clock, in milliseconds. */
static void user_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    UserTimer *t = timer;

    timer_mod_ns(t->timer, expire_ms * 1000000);
}

static void user_register_poll_fd(int fd, void *opaque)
{
    /* Nothing: the source asks for every socket before each poll. */
}

static void user_unregister_poll_fd(int fd, void *opaque)
{
}

/* Slirp's guestfwd sockets can take data again. */
static void user_notify(void *opaque)
{
    user_guestfwd_notify(opaque);
}

/* Called inside slirp_new(), before it returns: timers need the pointer. */
static void user_init_completed(Slirp *slirp, void *opaque)
{
    UserNet *u = opaque;

    u->slirp = slirp;
}

static const SlirpCb user_slirp_cb = {
    .send_packet = user_send_packet,
    .guest_error = user_guest_error,
    .clock_get_ns = user_clock_get_ns,
    .timer_free = user_timer_free,
    .timer_mod = user_timer_mod,
    .register_poll_fd = user_register_poll_fd,
    .unregister_poll_fd = user_unregister_poll_fd,
    .notify = user_notify,
    .init_completed = user_init_completed,
    .timer_new_opaque = user_timer_new_opaque,
};

/* ---- the net client ---------------------------------------------------- */

static void user_repoll(void *opaque)
{
    /* Nothing to do: running at all makes the loop prepare slirp again. */
}

/*
 * A frame from a vCPU thread may have armed slirp's delayed-ACK timer or
 * left data for a socket that is full, while the main loop sleeps with
 * the timeout and socket set it asked for before.  A timer 1 ms away
 * makes it ask again: at most one wake-up per millisecond however many
 * frames the guest sends (a wake-up per frame costs more in big-lock
 * hand-overs than it saves).
 */
#define USER_REPOLL_NS  1000000

static void user_input(UserNet *u, const uint8_t *buf, size_t len)
{
    slirp_input(u->slirp, buf, len);
    if (!timer_pending(u->repoll) &&
        !g_main_context_is_owner(g_main_context_default())) {
        timer_mod_ns(u->repoll, clock_get_ns(QLITE_CLOCK_REALTIME) +
                                USER_REPOLL_NS);
    }
}

static ssize_t user_receive(NetClientState *nc, const struct iovec *iov,
                            int iovcnt)
{
    UserNet *u = nc->opaque;
    size_t len = iov_size(iov, iovcnt);
    g_autofree uint8_t *buf = NULL;

    if (iovcnt == 1) {
        user_input(u, iov[0].iov_base, len);
        return len;
    }
    /* Slirp takes one flat frame. */
    buf = g_malloc(len);
    iov_to_buf(iov, iovcnt, 0, buf, len);
    user_input(u, buf, len);
    return len;
}

static void user_cleanup(NetClientState *nc)
{
    UserNet *u = nc->opaque;

    user_guestfwd_free_all(u);
    g_source_destroy(u->source);
    g_source_unref(u->source);
    timer_free(u->repoll);
    slirp_cleanup(u->slirp);
    g_free(u);
}

static const NetClientInfo user_info = {
    .kind = NET_CLIENT_USER,
    .receive = user_receive,
    .takes_whole_tso = true,
    .cleanup = user_cleanup,
};

static void user_net_first(NetClientState *nc, void *opaque)
{
    NetClientState **first = opaque;

    if (!*first && nc->info == &user_info) {
        *first = nc;
    }
}

UserNet *user_net_find(const char *netdev, GError **errp)
{
    NetClientState *nc;

    if (!netdev) {
        nc = NULL;
        net_client_foreach(user_net_first, &nc);
    } else {
        nc = net_client_find(netdev);
    }
    if (!nc || nc->info != &user_info) {
        error_setg(errp, netdev ? "no user netdev named '%s'"
                                : "no user netdev%s", netdev ? netdev : "");
        return NULL;
    }
    return nc->opaque;
}


/* ---- options ----------------------------------------------------------- */

/* An IPv4 address in key @key, or @def when absent. */
static bool user_opt_ipv4(QliteOpts *opts, const char *key,
                          struct in_addr def, struct in_addr *out,
                          GError **errp)
{
    const char *s = qopts_get(opts, key);

    *out = def;
    if (s && inet_pton(AF_INET, s, out) != 1) {
        error_setg(errp, "user: invalid %s='%s': not an IPv4 address", key,
                   s);
        return false;
    }
    return true;
}

/* @addr lies inside the network, and is neither its first nor last one. */
static bool user_addr_in_net(const SlirpConfig *cfg, const char *key,
                             struct in_addr addr, GError **errp)
{
    uint32_t mask = ntohl(cfg->vnetmask.s_addr);
    uint32_t a = ntohl(addr.s_addr);

    if ((a & mask) != ntohl(cfg->vnetwork.s_addr) || !(a & ~mask) ||
        (a & ~mask) == ~mask) {
        error_setg(errp, "user: %s=%s is not a host address in the network",
                   key, inet_ntoa(addr));
        return false;
    }
    return true;
}

/* net=ADDR[/PREFIX|/MASK] */
static bool user_parse_net(const char *s, SlirpConfig *cfg, GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(s, "/", 2);
    uint32_t mask = ~0u << (32 - USER_DEFAULT_PREFIX);
    char *end;

    if (inet_pton(AF_INET, parts[0], &cfg->vnetwork) != 1) {
        goto bad;
    }
    if (parts[1] && strchr(parts[1], '.')) {
        struct in_addr m;

        if (inet_pton(AF_INET, parts[1], &m) != 1) {
            goto bad;
        }
        mask = ntohl(m.s_addr);
        if (mask & ~(~mask >> 1) & ~mask) {
            goto bad;   /* not contiguous */
        }
    } else if (parts[1]) {
        unsigned long bits = strtoul(parts[1], &end, 10);

        if (!*parts[1] || *end || bits < 1 || bits > 30) {
            goto bad;
        }
        mask = ~0u << (32 - bits);
    }
    if (mask > 0xfffffffc || (ntohl(cfg->vnetwork.s_addr) & ~mask)) {
        goto bad;
    }
    cfg->vnetmask.s_addr = htonl(mask);
    return true;
bad:
    error_setg(errp, "user: invalid net='%s': expected ADDR[/PREFIX] with "
               "no host bits set, e.g. 10.0.2.0/24", s);
    return false;
}

static struct in_addr user_net_offset(const SlirpConfig *cfg, uint32_t off)
{
    struct in_addr a = {
        .s_addr = htonl(ntohl(cfg->vnetwork.s_addr) | off),
    };

    return a;
}

static bool user_parse_ipv4(QliteOpts *opts, SlirpConfig *cfg, GError **errp)
{
    const char *net = qopts_get(opts, "net");

    if (!user_parse_net(net ? net : USER_DEFAULT_NET, cfg, errp)) {
        return false;
    }
    return user_opt_ipv4(opts, "host", user_net_offset(cfg, USER_HOST_OFFSET),
                         &cfg->vhost, errp) &&
           user_addr_in_net(cfg, "host", cfg->vhost, errp) &&
           user_opt_ipv4(opts, "dhcpstart",
                         user_net_offset(cfg, USER_DHCP_OFFSET),
                         &cfg->vdhcp_start, errp) &&
           user_addr_in_net(cfg, "dhcpstart", cfg->vdhcp_start, errp) &&
           user_opt_ipv4(opts, "dns", user_net_offset(cfg, USER_DNS_OFFSET),
                         &cfg->vnameserver, errp) &&
           user_addr_in_net(cfg, "dns", cfg->vnameserver, errp);
}

static bool user_opt_ipv6(QliteOpts *opts, const char *key,
                          struct in6_addr def, struct in6_addr *out,
                          GError **errp)
{
    const char *s = qopts_get(opts, key);

    *out = def;
    if (s && inet_pton(AF_INET6, s, out) != 1) {
        error_setg(errp, "user: invalid %s='%s': not an IPv6 address", key,
                   s);
        return false;
    }
    return true;
}

/* ipv6-net=ADDR[/LEN], or the older ipv6-prefix= and ipv6-prefixlen=. */
static bool user_parse_ipv6(QliteOpts *opts, SlirpConfig *cfg, GError **errp)
{
    const char *net = qopts_get(opts, "ipv6-net");
    const char *prefix = qopts_get(opts, "ipv6-prefix");
    uint64_t len = USER_DEFAULT_PREFIX6;
    g_auto(GStrv) parts = NULL;
    struct in6_addr host, dns;

    if (net && prefix) {
        error_setg(errp, "user: ipv6-net= and ipv6-prefix= are alternatives");
        return false;
    }
    if (!qopts_get_uint(opts, "ipv6-prefixlen", len, &len, errp)) {
        return false;
    }
    parts = g_strsplit(net ? net : prefix ? prefix : USER_DEFAULT_NET6, "/",
                       2);
    if (parts[1] && !keyval_parse_uint("ipv6-net", parts[1], &len, errp)) {
        return false;
    }
    if (inet_pton(AF_INET6, parts[0], &cfg->vprefix_addr6) != 1 || len < 1 ||
        len > 120) {
        error_setg(errp, "user: invalid IPv6 network '%s', expected "
                   "ADDR[/LEN] with LEN at most 120", net ? net : prefix);
        return false;
    }
    cfg->vprefix_len = len;
    /* Host ::2 and DNS ::3 inside the prefix, as for IPv4. */
    host = dns = cfg->vprefix_addr6;
    host.s6_addr[15] |= USER_HOST_OFFSET;
    dns.s6_addr[15] |= USER_DNS_OFFSET;
    return user_opt_ipv6(opts, "ipv6-host", host, &cfg->vhost6, errp) &&
           user_opt_ipv6(opts, "ipv6-dns", dns, &cfg->vnameserver6, errp);
}

/* Every dnssearch= value, in order (the key may repeat). */
static char **user_dnssearch(QliteOpts *opts)
{
    GPtrArray *list = g_ptr_array_new();

    for (guint i = 0; i < opts->pairs->len; i++) {
        KeyvalPair *p = g_ptr_array_index(opts->pairs, i);

        if (!strcmp(p->key, "dnssearch")) {
            p->used = true;
            g_ptr_array_add(list, g_strdup(p->value));
        }
    }
    g_ptr_array_add(list, NULL);
    return (char **)g_ptr_array_free(list, false);
}

/* Options QEMU has that we do not: say so rather than "Invalid parameter". */
static bool user_refuse_unsupported(QliteOpts *opts, GError **errp)
{
    static const char *const keys[] = {"smb", "smbserver", "vlan"};

    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (qopts_has(opts, keys[i])) {
            error_setg(errp, "user: %s= is not supported", keys[i]);
            return false;
        }
    }
    return true;
}

static bool user_parse_config(QliteOpts *opts, SlirpConfig *cfg,
                              GError **errp)
{
    bool ipv4, ipv6, restrict_on;

    if (!user_refuse_unsupported(opts, errp) ||
        !qopts_get_bool(opts, "ipv4", true, &ipv4, errp) ||
        !qopts_get_bool(opts, "ipv6", true, &ipv6, errp) ||
        !qopts_get_bool(opts, "restrict", false, &restrict_on, errp)) {
        return false;
    }
    if (!ipv4 && !ipv6) {
        error_setg(errp, "user: IPv4 and IPv6 disabled simultaneously");
        return false;
    }
    cfg->version = 4;
    cfg->restricted = restrict_on;
    cfg->in_enabled = ipv4;
    cfg->in6_enabled = ipv6;
    cfg->vhostname = qopts_get(opts, "hostname");
    cfg->vdomainname = qopts_get(opts, "domainname");
    cfg->tftp_server_name = qopts_get(opts, "tftp-server-name");
    cfg->tftp_path = qopts_get(opts, "tftp");
    cfg->bootfile = qopts_get(opts, "bootfile");
    return user_parse_ipv4(opts, cfg, errp) &&
           user_parse_ipv6(opts, cfg, errp);
}

/* Each hostfwd= and guestfwd= value, in the order given. */
static bool user_add_forwards(UserNet *u, QliteOpts *opts, GError **errp)
{
    for (guint i = 0; i < opts->pairs->len; i++) {
        KeyvalPair *p = g_ptr_array_index(opts->pairs, i);

        if (!strcmp(p->key, "hostfwd")) {
            p->used = true;
            if (!user_hostfwd_add(u, p->value, errp)) {
                return false;
            }
        } else if (!strcmp(p->key, "guestfwd")) {
            p->used = true;
            if (!user_guestfwd_add(u, p->value, errp)) {
                return false;
            }
        }
    }
    return true;
}

static NetClientState *user_init(QliteOpts *opts, const char *id,
                                 GError **errp)
{
    SlirpConfig cfg = {0};
    g_auto(GStrv) dnssearch = user_dnssearch(opts);
    UserNet *u;

    if (!user_parse_config(opts, &cfg, errp)) {
        return NULL;
    }
    cfg.vdnssearch = (const char **)dnssearch;
    u = g_new0(UserNet, 1);
    u->dhcp_start = cfg.vdhcp_start;
    user_guestfwd_init(u);
    if (!slirp_new(&cfg, &user_slirp_cb, u)) {
        error_setg(errp, "user: could not start the user network stack");
        user_guestfwd_free_all(u);
        g_free(u);
        return NULL;
    }
    u->source = slirp_source_new(u);
    u->repoll = timer_new_ns(QLITE_CLOCK_REALTIME, user_repoll, u);
    u->nc = net_client_new(&user_info, id, "user", u);
    net_client_set_info_str(u->nc, "net=%s,restrict=%s",
                            inet_ntoa(cfg.vnetwork),
                            cfg.restricted ? "on" : "off");
    if (!user_add_forwards(u, opts, errp)) {
        net_client_free(u->nc);
        return NULL;
    }
    return u->nc;
}

static const NetBackendType user_backend = {
    .type = "user",
    .init = user_init,
};

type_init(user_register_backend)
{
    net_backend_register(&user_backend);
}
