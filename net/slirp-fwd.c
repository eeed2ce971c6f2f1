/*
 * User networking's forwards: hostfwd= (a host port reaches a guest port)
 * and guestfwd= (a guest connection to server:port reaches a command or
 * a chardev), with QEMU's syntax and messages.
 */
#include "net/slirp-internal.h"

#include "qlite/chardev.h"
#include "qlite/error.h"
#include "qlite/sandbox.h"

#include <arpa/inet.h>

#define HOSTFWD_SYNTAX "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport"

typedef struct UserGuestFwd {
    UserNet *u;
    CharBackend be;
    struct in_addr server;
    int port;
} UserGuestFwd;

/* Cut @s at the first @sep: the part before it, *s after.  NULL: none. */
static char *fwd_take(char **s, char sep)
{
    char *start = *s;
    char *p = strchr(start, sep);

    if (!p) {
        return NULL;
    }
    *p = '\0';
    *s = p + 1;
    return start;
}

static bool fwd_parse_port(const char *s, int min, int *port)
{
    char *end;
    unsigned long v;

    if (!g_ascii_isdigit(*s)) {
        return false;
    }
    v = strtoul(s, &end, 10);
    if (*end || v < (unsigned long)min || v > 65535) {
        return false;
    }
    *port = v;
    return true;
}

/* "[addr]": empty means @def. */
static bool fwd_parse_addr(const char *s, struct in_addr def,
                           struct in_addr *addr)
{
    *addr = def;
    return !*s || inet_pton(AF_INET, s, addr) == 1;
}

/* "tcp", "udp" or "" (tcp); @allow_udp false for guestfwd. */
static bool fwd_parse_proto(const char *s, bool allow_udp, bool *udp)
{
    *udp = allow_udp && !strcmp(s, "udp");
    return !*s || !strcmp(s, "tcp") || *udp;
}

typedef struct HostFwd {
    bool udp;
    struct in_addr host_addr;
    int host_port;
    struct in_addr guest_addr;
    int guest_port;
} HostFwd;

/*
 * "[tcp|udp]:[hostaddr]:hostport" and, when @guest_def is given,
 * "-[guestaddr]:guestport" after it.  On error returns what was wrong.
 */
static const char *hostfwd_parse(const char *spec, const struct in_addr *gdef,
                                 HostFwd *f)
{
    g_autofree char *buf = g_strdup(spec);
    char *rest = buf;
    char *proto = fwd_take(&rest, ':');
    char *haddr = fwd_take(&rest, ':');
    char *hport = gdef ? fwd_take(&rest, '-') : rest;
    struct in_addr any = { .s_addr = htonl(INADDR_ANY) };
    char *gaddr;

    if (!proto || !fwd_parse_proto(proto, true, &f->udp)) {
        return "bad protocol name";
    }
    if (!haddr || !fwd_parse_addr(haddr, any, &f->host_addr)) {
        return "bad host address";
    }
    if (!hport || !fwd_parse_port(hport, 0, &f->host_port)) {
        return "bad host port";
    }
    if (!gdef) {
        return NULL;
    }
    gaddr = fwd_take(&rest, ':');
    if (!gaddr || !fwd_parse_addr(gaddr, *gdef, &f->guest_addr)) {
        return "bad guest address";
    }
    if (!fwd_parse_port(rest, 1, &f->guest_port)) {
        return "bad guest port";
    }
    return NULL;
}

bool user_hostfwd_add(UserNet *u, const char *spec, GError **errp)
{
    HostFwd f;
    const char *why = hostfwd_parse(spec, &u->dhcp_start, &f);

    if (why) {
        error_setg(errp, "Invalid host forwarding rule '%s' (%s; expected "
                   HOSTFWD_SYNTAX ")", spec, why);
        return false;
    }
    errno = 0;
    if (slirp_add_hostfwd(u->slirp, f.udp, f.host_addr, f.host_port,
                          f.guest_addr, f.guest_port) < 0) {
        error_setg(errp, "Could not set up host forwarding rule '%s'%s%s",
                   spec, errno ? ": " : "", errno ? g_strerror(errno) : "");
        return false;
    }
    return true;
}

bool user_hostfwd_remove(UserNet *u, const char *spec, GError **errp)
{
    HostFwd f;
    const char *why = hostfwd_parse(spec, NULL, &f);

    if (why) {
        error_setg(errp, "Invalid host forwarding rule '%s' (%s; expected "
                   "[tcp|udp]:[hostaddr]:hostport)", spec, why);
        return false;
    }
    if (slirp_remove_hostfwd(u->slirp, f.udp, f.host_addr, f.host_port) < 0) {
        error_setg(errp, "host forwarding rule for '%s' not found", spec);
        return false;
    }
    return true;
}

bool net_slirp_hostfwd_add(const char *netdev, const char *spec,
                           GError **errp)
{
    UserNet *u = user_net_find(netdev, errp);

    return u && user_hostfwd_add(u, spec, errp);
}

bool net_slirp_hostfwd_remove(const char *netdev, const char *spec,
                              GError **errp)
{
    UserNet *u = user_net_find(netdev, errp);

    return u && user_hostfwd_remove(u, spec, errp);
}

/* ---- guestfwd to a chardev -------------------------------------------- */

/* The guest sent data on the forwarded connection. */
static ssize_t guestfwd_write(const void *buf, size_t len, void *opaque)
{
    UserGuestFwd *g = opaque;

    return chr_fe_write_all(&g->be, buf, len);
}

static int guestfwd_can_read(void *opaque)
{
    UserGuestFwd *g = opaque;

    return slirp_socket_can_recv(g->u->slirp, g->server, g->port);
}

static void guestfwd_read(void *opaque, const uint8_t *buf, int len)
{
    UserGuestFwd *g = opaque;

    slirp_socket_recv(g->u->slirp, g->server, g->port, buf, len);
}

static bool guestfwd_add_chardev(UserNet *u, const char *dev,
                                 struct in_addr server, int port,
                                 GError **errp)
{
    g_autofree char *label = g_strdup_printf("%s-guestfwd%u", u->nc->name,
                                             u->guestfwds->len);
    GError *err = NULL;
    Chardev *chr = chardev_new_legacy(label, dev, &err);
    UserGuestFwd *g;

    if (!chr) {
        if (!err) {
            error_setg(&err, "guestfwd needs a chardev, not '%s'", dev);
        }
        g_propagate_error(errp, err);
        return false;
    }
    g = g_new0(UserGuestFwd, 1);
    g->u = u;
    g->server = server;
    g->port = port;
    if (!chr_fe_init(&g->be, chr, errp)) {
        g_free(g);
        return false;
    }
    g_ptr_array_add(u->guestfwds, g);
    if (slirp_add_guestfwd(u->slirp, guestfwd_write, g, &g->server,
                           port) < 0) {
        error_setg(errp, "Conflicting/invalid host:port in guest forwarding "
                   "rule '%s-%s'", inet_ntoa(server), dev);
        return false;   /* g is freed with @u */
    }
    chr_fe_set_handlers(&g->be, guestfwd_can_read, guestfwd_read, NULL, g);
    return true;
}

void user_guestfwd_notify(UserNet *u)
{
    for (guint i = 0; i < u->guestfwds->len; i++) {
        UserGuestFwd *g = g_ptr_array_index(u->guestfwds, i);

        chr_fe_accept_input(&g->be);
    }
}

static void guestfwd_free(gpointer p)
{
    UserGuestFwd *g = p;

    chr_fe_deinit(&g->be);
    g_free(g);
}

void user_guestfwd_init(UserNet *u)
{
    u->guestfwds = g_ptr_array_new_with_free_func(guestfwd_free);
}

void user_guestfwd_free_all(UserNet *u)
{
    g_ptr_array_free(u->guestfwds, true);
}

/* "[tcp]:server:port-cmd:command" or "[tcp]:server:port-DEV" */
bool user_guestfwd_add(UserNet *u, const char *spec, GError **errp)
{
    g_autofree char *buf = g_strdup(spec);
    char *dev = buf;
    char *proto = fwd_take(&dev, ':');
    char *server = fwd_take(&dev, ':');
    char *port_s = fwd_take(&dev, '-');
    struct in_addr addr;
    bool udp;
    int port;

    if (!proto || !fwd_parse_proto(proto, false, &udp) || !server ||
        inet_pton(AF_INET, server, &addr) != 1 || !port_s ||
        !fwd_parse_port(port_s, 1, &port) || !*dev) {
        error_setg(errp, "Invalid guest forwarding rule '%s' (expected "
                   "[tcp]:server:port-cmd:command or "
                   "[tcp]:server:port-chardev)", spec);
        return false;
    }
    if (!g_str_has_prefix(dev, "cmd:")) {
        return guestfwd_add_chardev(u, dev, addr, port, errp);
    }
    /* libslirp starts the command when the guest connects, under the
     * filter: refused now rather than a guest able to kill qlite. */
    if (!sandbox_spawn_allowed_later()) {
        error_setg(errp, "guestfwd '%s': the sandbox forbids starting "
                   "programs (-sandbox on,spawn=allow or -sandbox off "
                   "permit it)", spec);
        return false;
    }
    if (slirp_add_exec(u->slirp, dev + 4, &addr, port) < 0) {
        error_setg(errp, "Conflicting/invalid host:port in guest forwarding "
                   "rule '%s'", spec);
        return false;
    }
    return true;
}
