/*
 * What the back-end tests share: a fake NIC peered with a netdev made by
 * netdev_add(), a main loop run until a condition holds, and a private
 * network namespace (only "lo", brought up) so ports are free, taps can
 * be made without touching the host, and /etc/resolv.conf can name a
 * fake resolver.
 */
#ifndef TESTS_UNIT_NET_TEST_UTIL_H
#define TESTS_UNIT_NET_TEST_UTIL_H

#include "qlite/net.h"

/* A NIC that keeps every frame it gets; room 0 refuses (flow control). */
typedef struct FakeNic {
    NetClientState *nc;
    NetClientState *backend;
    GPtrArray *got;             /* of GByteArray * */
    unsigned room;
} FakeNic;

/* netdev_add(@spec) peered with a new fake NIC; asserts success. */
void fake_nic_attach(FakeNic *n, const char *spec);
/* Free the back end and the NIC. */
void fake_nic_detach(FakeNic *n);
/* The NIC sends @len bytes to its back end. */
void fake_nic_send(FakeNic *n, const void *frame, size_t len);
/* The first frame from the back end @match accepts, or NULL after 5 s. */
typedef bool FrameMatch(const GByteArray *f, const void *opaque);
GByteArray *fake_nic_wait(FakeNic *n, FrameMatch *match, const void *opaque);

/* netdev_add(@spec) is refused with a message containing @msg. */
void expect_netdev_error(const char *spec, const char *msg);

/* Run the main loop until @cond(@opaque) holds; false after 5 s. */
bool loop_until(bool (*cond)(void *opaque), void *opaque);

/*
 * Move this process into a new network (and mount) namespace.  When
 * @resolv_conf is given, it replaces /etc/resolv.conf there.  False with
 * *why set (to print in a skip) when the machine does not allow it.
 */
bool net_sandbox_enter(const char *resolv_conf, char **why);

#endif
