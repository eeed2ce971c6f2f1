/*
 * User networking's internals shared by net/slirp.c (the stack on the
 * main loop, options) and net/slirp-fwd.c (hostfwd= and guestfwd=).
 */
#ifndef NET_SLIRP_INTERNAL_H
#define NET_SLIRP_INTERNAL_H

#include "qlite/main-loop.h"
#include "qlite/net.h"

#include <netinet/in.h>
#include <slirp/libslirp.h>

typedef struct UserNet {
    NetClientState *nc;
    Slirp *slirp;
    GSource *source;            /* polls slirp's sockets */
    QliteTimer *repoll;         /* makes the main loop ask slirp again */
    struct in_addr dhcp_start;  /* a hostfwd's guest address by default */
    GPtrArray *guestfwds;       /* of UserGuestFwd *, chardev ones */
} UserNet;

/* The user netdev named @netdev, or the first one when NULL. */
UserNet *user_net_find(const char *netdev, GError **errp);

/* "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport" */
bool user_hostfwd_add(UserNet *u, const char *spec, GError **errp);
/* "[tcp|udp]:[hostaddr]:hostport" */
bool user_hostfwd_remove(UserNet *u, const char *spec, GError **errp);
/* "[tcp]:server:port-cmd:command" or "[tcp]:server:port-CHARDEV" */
bool user_guestfwd_add(UserNet *u, const char *spec, GError **errp);
/* Slirp can take more data for the chardev forwards. */
void user_guestfwd_notify(UserNet *u);
void user_guestfwd_init(UserNet *u);
void user_guestfwd_free_all(UserNet *u);

#endif
