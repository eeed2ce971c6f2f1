/*
 * The socket backend: a stream over a unix or TCP socket, as a server
 * (listening; one client at a time, later ones wait in the backlog) or a
 * client (connects at open; with reconnect=N retries every N seconds).
 *
 * Front ends see CHR_EVENT_OPENED when a peer connects and CLOSED when it
 * goes.  Output with no peer is dropped, as QEMU does.
 */
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "qlite/fdset.h"
#include "char-internal.h"

#include <glib-unix.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct SocketChardev {
    Chardev parent;
    char *path;        /* unix */
    char *host, *port; /* tcp */
    int given_fd;      /* fd=: a socket the parent made, or -1 */
    bool is_listen;
    bool nodelay;
    uint64_t reconnect; /* seconds; 0: never */
    int listen_fd;
    guint listen_tag;
    int fd; /* the connected peer, or -1 */
    GSource *src;
    guint reconnect_tag;
    bool unlink_on_close; /* we created the unix socket file */
    GArray *msgfds;       /* of int: fds from the latest SCM_RIGHTS */
} SocketChardev;

/* As QEMU: at most this many fds in one message; more are closed. */
#define CHAR_SOCKET_MAX_FDS 16

static void char_socket_init(Object *obj)
{
    SocketChardev *s = (SocketChardev *)obj;

    s->listen_fd = -1;
    s->fd = -1;
    s->given_fd = -1;
}

/* ---- names (query-chardev's filename, QEMU's forms) ---- */

static char *char_socket_address(SocketChardev *s, const char *prefix)
{
    const char *server = s->is_listen ? ",server=on" : "";

    if (s->path) {
        return g_strdup_printf("%sunix:%s%s", prefix, s->path, server);
    }
    if (!s->host) {
        return g_strdup_printf("%sfd%s", prefix, server);
    }
    return g_strdup_printf("%stcp:%s:%s%s", prefix, s->host, s->port, server);
}

static void char_socket_format_addr(struct sockaddr_storage *ss, socklen_t len,
                                    char *out, size_t size)
{
    char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";

    getnameinfo((struct sockaddr *)ss, len, host, sizeof(host), serv,
                sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
    if (ss->ss_family == AF_INET6) {
        snprintf(out, size, "[%s]:%s", host, serv);
    } else {
        snprintf(out, size, "%s:%s", host, serv);
    }
}

static void char_socket_update_filename(SocketChardev *s)
{
    struct sockaddr_storage local, peer;
    socklen_t llen = sizeof(local), plen = sizeof(peer);
    char lname[NI_MAXHOST + NI_MAXSERV + 4], pname[sizeof(lname)];
    Chardev *chr = &s->parent;

    if (s->fd < 0) {
        g_free(chr->filename);
        chr->filename = char_socket_address(s, "disconnected:");
        return;
    }
    if (s->path || !s->host ||
        getsockname(s->fd, (struct sockaddr *)&local, &llen) ||
        getpeername(s->fd, (struct sockaddr *)&peer, &plen)) {
        g_free(chr->filename);
        chr->filename = char_socket_address(s, "");
        return;
    }
    char_socket_format_addr(&local, llen, lname, sizeof(lname));
    char_socket_format_addr(&peer, plen, pname, sizeof(pname));
    chardev_set_filename(chr, "tcp:%s%s <-> %s", lname,
                         s->is_listen ? ",server=on" : "", pname);
}

/* ---- connection state ---- */

static void char_socket_readable(Chardev *chr);
static void char_socket_drop_msgfds(SocketChardev *s);
static bool char_socket_listen_watch(SocketChardev *s);
static void char_socket_schedule_reconnect(SocketChardev *s);

static void char_socket_connected(SocketChardev *s, int fd)
{
    Chardev *chr = &s->parent;
    int one = 1;

    s->fd = fd;
    chardev_fd_set_nonblock(fd);
    if (s->nodelay && !s->path) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    char_socket_update_filename(s);
    s->src = chardev_fd_source_new(chr, fd, char_socket_readable);
    chr_be_event(chr, CHR_EVENT_OPENED);
}

static void char_socket_disconnect(SocketChardev *s)
{
    Chardev *chr = &s->parent;

    if (s->fd < 0) {
        return;
    }
    chardev_fd_source_remove(&s->src);
    close(s->fd);
    s->fd = -1;
    char_socket_drop_msgfds(s);
    char_socket_update_filename(s);
    if (s->is_listen) {
        char_socket_listen_watch(s);
    } else if (s->reconnect) {
        char_socket_schedule_reconnect(s);
    }
    chr_be_event(chr, CHR_EVENT_CLOSED);
}

static void char_socket_drop_msgfds(SocketChardev *s)
{
    for (guint i = 0; s->msgfds && i < s->msgfds->len; i++) {
        close(g_array_index(s->msgfds, int, i));
    }
    if (s->msgfds) {
        g_array_set_size(s->msgfds, 0);
    }
}

/* Keep the fds of one SCM_RIGHTS message; they replace any not taken. */
static void char_socket_keep_fds(SocketChardev *s, struct cmsghdr *c)
{
    size_t n;

    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len < CMSG_LEN(0)) {
        return;
    }
    n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    char_socket_drop_msgfds(s);
    if (!s->msgfds) {
        s->msgfds = g_array_new(false, false, sizeof(int));
    }
    for (size_t i = 0; i < n; i++) {
        int fd;

        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        g_array_append_val(s->msgfds, fd);
    }
}

/* recv() that also takes the fds a unix peer sends along. */
static ssize_t char_socket_recv(SocketChardev *s, uint8_t *buf, size_t len)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * CHAR_SOCKET_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = &control, .msg_controllen = sizeof(control),
    };
    ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

    if (n < 0) {
        return n;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
         c = CMSG_NXTHDR(&msg, c)) {
        char_socket_keep_fds(s, c);
    }
    return n;
}

static int char_socket_get_msgfd(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;
    int fd;

    if (!s->msgfds || !s->msgfds->len) {
        return -1;
    }
    fd = g_array_index(s->msgfds, int, 0);
    g_array_remove_index(s->msgfds, 0);
    return fd;
}

static void char_socket_readable(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;
    uint8_t buf[CHARDEV_READ_CHUNK];
    int budget = chardev_read_budget(chr);
    ssize_t n;

    if (budget <= 0) {
        return;
    }
    n = char_socket_recv(s, buf, budget);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        char_socket_disconnect(s);
        return;
    }
    chr_be_write(chr, buf, n);
}

static int char_socket_write(Chardev *chr, const uint8_t *buf, int len)
{
    SocketChardev *s = (SocketChardev *)chr;
    ssize_t n;

    if (s->fd < 0) {
        return len;
    }
    do {
        n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        return n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return -EAGAIN;
    }
    char_socket_disconnect(s);
    return len;
}

/* ---- server ---- */

static gboolean char_socket_accept_cb(gint fd, GIOCondition cond,
                                      gpointer opaque)
{
    SocketChardev *s = opaque;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (cfd < 0) {
        return G_SOURCE_CONTINUE;
    }
    /* One client at a time: stop listening until it goes away. */
    s->listen_tag = 0;
    char_socket_connected(s, cfd);
    return G_SOURCE_REMOVE;
}

static bool char_socket_listen_watch(SocketChardev *s)
{
    if (!s->listen_tag && s->listen_fd >= 0) {
        s->listen_tag =
            g_unix_fd_add(s->listen_fd, G_IO_IN, char_socket_accept_cb, s);
    }
    return true;
}

static int char_socket_unix_addr(const char *path, struct sockaddr_un *sun,
                                 GError **errp)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return -1;
    }
    strcpy(sun->sun_path, path);
    return 0;
}

static bool char_socket_listen_unix(SocketChardev *s, GError **errp)
{
    struct sockaddr_un sun;
    struct stat st;

    if (char_socket_unix_addr(s->path, &sun, errp) < 0) {
        return false;
    }
    /* A socket file left by a previous run would make bind() fail. */
    if (lstat(s->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(s->path);
    }
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0 ||
        bind(s->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        error_setg(errp, "Failed to bind socket to %s: %s", s->path,
                   g_strerror(errno));
        return false;
    }
    s->unlink_on_close = true;
    if (listen(s->listen_fd, 1) < 0) {
        error_setg(errp, "Failed to listen on socket: %s", g_strerror(errno));
        return false;
    }
    return true;
}

/* "[::1]" in a legacy spec names an IPv6 host; getaddrinfo wants "::1". */
static char *char_socket_bare_host(const char *host)
{
    size_t len = strlen(host);

    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        return g_strndup(host + 1, len - 2);
    }
    return g_strdup(host);
}

static struct addrinfo *char_socket_resolve(SocketChardev *s, bool passive,
                                            GError **errp)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = passive ? AI_PASSIVE : 0,
    };
    g_autofree char *host = char_socket_bare_host(s->host);
    struct addrinfo *res = NULL;
    int rc;

    rc = getaddrinfo(*host ? host : NULL, s->port, &hints, &res);
    if (rc) {
        error_setg(errp, "address resolution failed for %s:%s: %s", s->host,
                   s->port, gai_strerror(rc));
        return NULL;
    }
    return res;
}

static int char_socket_bind_one(struct addrinfo *ai)
{
    int one = 1;
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
        int err = errno;

        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static bool char_socket_listen_tcp(SocketChardev *s, GError **errp)
{
    struct addrinfo *res = char_socket_resolve(s, true, errp);
    int err = EADDRNOTAVAIL;

    if (!res) {
        return false;
    }
    for (struct addrinfo *ai = res; ai && s->listen_fd < 0; ai = ai->ai_next) {
        s->listen_fd = char_socket_bind_one(ai);
        if (s->listen_fd < 0) {
            err = errno;
        }
    }
    freeaddrinfo(res);
    if (s->listen_fd < 0) {
        error_setg(errp, "Failed to bind socket: %s", g_strerror(err));
        return false;
    }
    return true;
}

/* wait=on: block until the first client connects, as QEMU does. */
static void char_socket_wait_first_client(SocketChardev *s)
{
    g_autofree char *addr = char_socket_address(s, "disconnected:");
    struct pollfd pfd = {.fd = s->listen_fd, .events = POLLIN};

    fprintf(stderr, "qlite waiting for connection on: %s\n", addr);
    while (s->fd < 0) {
        int cfd;

        if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
            return;
        }
        cfd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd >= 0) {
            char_socket_connected(s, cfd);
        }
    }
}

/* query-chardev names a given unix socket by its path, as QEMU does. */
static void char_socket_name_given(SocketChardev *s)
{
    struct sockaddr_un sun;
    socklen_t len = sizeof(sun);

    if (getsockname(s->listen_fd, (struct sockaddr *)&sun, &len) == 0 &&
        sun.sun_family == AF_UNIX && len > offsetof(struct sockaddr_un,
                                                    sun_path) &&
        sun.sun_path[0]) {
        s->path = g_strndup(sun.sun_path,
                            len - offsetof(struct sockaddr_un, sun_path));
    }
}

/*
 * fd=N with server=on: libvirt's monitor socket, bound (and usually
 * listening) before we start.  As QEMU, listen() on it whatever its state.
 */
static bool char_socket_listen_given(SocketChardev *s, GError **errp)
{
    if (listen(s->given_fd, 1) < 0) {
        error_setg(errp, "Failed to listen on socket fd %d: %s", s->given_fd,
                   g_strerror(errno));
        return false;
    }
    s->listen_fd = s->given_fd;
    s->given_fd = -1;
    char_socket_name_given(s);
    return true;
}

static bool char_socket_open_server(SocketChardev *s, bool wait, GError **errp)
{
    bool ok = s->given_fd >= 0 ? char_socket_listen_given(s, errp)
              : s->path ? char_socket_listen_unix(s, errp)
                        : char_socket_listen_tcp(s, errp);

    if (!ok || !chardev_fd_set_nonblock(s->listen_fd)) {
        return false;
    }
    char_socket_update_filename(s);
    if (wait) {
        char_socket_wait_first_client(s);
    }
    if (s->fd < 0) {
        char_socket_listen_watch(s);
    }
    return true;
}

/* ---- client ---- */

static int char_socket_connect_unix(SocketChardev *s, GError **errp)
{
    struct sockaddr_un sun;
    int fd;

    if (char_socket_unix_addr(s->path, &sun, errp) < 0) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
        return fd;
    }
    error_setg(errp, "Failed to connect to '%s': %s", s->path,
               g_strerror(errno));
    if (fd >= 0) {
        close(fd);
    }
    return -1;
}

static int char_socket_connect_tcp(SocketChardev *s, GError **errp)
{
    struct addrinfo *res = char_socket_resolve(s, false, errp);
    int fd = -1, err = ECONNREFUSED;

    if (!res) {
        return -1;
    }
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg(errp, "Failed to connect to '%s:%s': %s", s->host, s->port,
                   g_strerror(err));
    }
    return fd;
}

static bool char_socket_try_connect(SocketChardev *s, GError **errp)
{
    int fd;

    if (s->given_fd >= 0) {
        /* fd=N without server: a connected socket; once only */
        fd = s->given_fd;
        s->given_fd = -1;
        char_socket_connected(s, fd);
        return true;
    }
    fd = s->path ? char_socket_connect_unix(s, errp)
                 : char_socket_connect_tcp(s, errp);

    if (fd < 0) {
        return false;
    }
    char_socket_connected(s, fd);
    return true;
}

static gboolean char_socket_reconnect_cb(gpointer opaque)
{
    SocketChardev *s = opaque;

    if (s->fd >= 0 || char_socket_try_connect(s, NULL)) {
        s->reconnect_tag = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void char_socket_schedule_reconnect(SocketChardev *s)
{
    if (!s->reconnect_tag) {
        s->reconnect_tag = g_timeout_add_seconds(MIN(s->reconnect, 3600),
                                                 char_socket_reconnect_cb, s);
    }
}

static bool char_socket_open_client(SocketChardev *s, GError **errp)
{
    g_autoptr(GError) err = NULL;

    if (char_socket_try_connect(s, &err)) {
        return true;
    }
    if (!s->reconnect) {
        g_propagate_error(errp, g_steal_pointer(&err));
        return false;
    }
    /* With reconnect, a peer that is not there yet is not an error. */
    char_socket_update_filename(s);
    char_socket_schedule_reconnect(s);
    return true;
}

/* ---- options ---- */

static bool char_socket_check_port(const char *port, bool is_listen,
                                   GError **errp)
{
    uint64_t n;

    if (!keyval_parse_uint("port", port, &n, NULL) || n > 65535 ||
        (n == 0 && !is_listen)) {
        error_setg(errp, "chardev: socket: invalid port '%s'", port);
        return false;
    }
    return true;
}

/* fd=: a number, or the name of an fd passed with QMP getfd. */
static bool char_socket_take_fd(SocketChardev *s, const char *spec,
                                GError **errp)
{
    struct stat st;
    int fd = fd_param_resolve(spec, errp);

    if (fd < 0) {
        return false;
    }
    if (fstat(fd, &st) < 0) {
        error_setg(errp, "File descriptor '%s' is not valid", spec);
        return false;
    }
    if (!S_ISSOCK(st.st_mode)) {
        error_setg(errp, "File descriptor '%s' is not a socket", spec);
        return false;
    }
    s->given_fd = fd;
    return true;
}

static bool char_socket_parse_addr(SocketChardev *s, QliteOpts *opts,
                                   GError **errp)
{
    const char *path = qopts_get(opts, "path");
    const char *host = qopts_get(opts, "host");
    const char *port = qopts_get(opts, "port");
    const char *fd = qopts_get(opts, "fd");

    if (fd) {
        if (path || host || port) {
            error_setg(errp, "chardev: socket: 'fd' cannot be combined "
                             "with 'path', 'host' or 'port'");
            return false;
        }
        return char_socket_take_fd(s, fd, errp);
    }
    if (path) {
        if (host || port) {
            error_setg(errp, "chardev: socket: 'path' cannot be combined "
                             "with 'host' or 'port'");
            return false;
        }
        if (!*path) {
            error_setg(errp, "chardev: socket: empty 'path'");
            return false;
        }
        s->path = g_strdup(path);
        return true;
    }
    if (!host) {
        error_setg(errp, "chardev: socket: no host given");
        return false;
    }
    if (!port) {
        error_setg(errp, "chardev: socket: no port given");
        return false;
    }
    if (!char_socket_check_port(port, s->is_listen, errp)) {
        return false;
    }
    s->host = g_strdup(host);
    s->port = g_strdup(port);
    return true;
}

/* server, wait, and the old spelling "nowait" (a bare key: nowait=on). */
static bool char_socket_parse_mode(SocketChardev *s, QliteOpts *opts,
                                   bool *wait, GError **errp)
{
    bool nowait = false;

    if (!qopts_get_bool(opts, "server", false, &s->is_listen, errp) ||
        !qopts_get_bool(opts, "wait", true, wait, errp) ||
        !qopts_get_bool(opts, "nowait", false, &nowait, errp) ||
        !qopts_get_bool(opts, "nodelay", false, &s->nodelay, errp) ||
        !qopts_get_uint(opts, "reconnect", 0, &s->reconnect, errp)) {
        return false;
    }
    if (nowait) {
        *wait = false;
    }
    if (!s->is_listen &&
        (qopts_has(opts, "wait") || qopts_has(opts, "nowait"))) {
        error_setg(errp, "'wait' option is incompatible with "
                         "socket in client connect mode");
        return false;
    }
    if (s->is_listen && s->reconnect) {
        error_setg(errp, "'reconnect' option is incompatible with "
                         "socket in server listen mode");
        return false;
    }
    return true;
}

static bool char_socket_open(Chardev *chr, QliteOpts *opts, GError **errp)
{
    SocketChardev *s = (SocketChardev *)chr;
    bool wait;

    if (!char_socket_parse_mode(s, opts, &wait, errp) ||
        !char_socket_parse_addr(s, opts, errp) ||
        !qopts_check_all_used(opts, errp)) {
        return false;
    }
    if (s->is_listen) {
        return char_socket_open_server(s, wait, errp);
    }
    return char_socket_open_client(s, errp);
}

static void char_socket_close(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;

    chardev_fd_source_remove(&s->src);
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->given_fd >= 0) {
        close(s->given_fd);
        s->given_fd = -1;
    }
    char_socket_drop_msgfds(s);
    if (s->msgfds) {
        g_array_free(s->msgfds, true);
        s->msgfds = NULL;
    }
    if (s->listen_tag) {
        g_source_remove(s->listen_tag);
        s->listen_tag = 0;
    }
    if (s->reconnect_tag) {
        g_source_remove(s->reconnect_tag);
        s->reconnect_tag = 0;
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->unlink_on_close) {
        unlink(s->path);
        s->unlink_on_close = false;
    }
    g_clear_pointer(&s->path, g_free);
    g_clear_pointer(&s->host, g_free);
    g_clear_pointer(&s->port, g_free);
}

static void char_socket_class_init(ObjectClass *oc, const void *data)
{
    ChardevClass *cc = (ChardevClass *)oc;

    cc->backend = "socket";
    cc->open = char_socket_open;
    cc->write = char_socket_write;
    cc->close = char_socket_close;
    cc->get_msgfd = char_socket_get_msgfd;
}

static const TypeInfo char_socket_info = {
    .name = "chardev-socket",
    .parent = TYPE_CHARDEV,
    .instance_size = sizeof(SocketChardev),
    .class_size = sizeof(ChardevClass),
    .instance_init = char_socket_init,
    .class_init = char_socket_class_init,
};

type_init(char_socket_register_types)
{
    type_register(&char_socket_info);
}
