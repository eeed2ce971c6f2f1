/*
 * The tap back end (net/tap.c) between a fake NIC and a tap interface in
 * a network namespace of the test's own, watched from the host side with
 * a packet socket: frames both ways, the vnet header added and stripped,
 * flow control, scripts, fd=, and the errors users see.  Skipped, with
 * the reason printed, where the machine cannot make taps.
 */
#include "net-test-util.h"

#include "qlite/main-loop.h"
#include "qlite/object.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TEST_ETHERTYPE  0x88b5      /* IEEE local experimental */

static char *skip_why;          /* NULL: taps can be made here */

static bool need_taps(void)
{
    if (skip_why) {
        g_test_skip(skip_why);
        return false;
    }
    return true;
}

/* ---- the host side ----------------------------------------------------- */

static void link_up(const char *ifname)
{
    struct ifreq ifr = {0};
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
    g_assert_cmpint(ioctl(s, SIOCGIFFLAGS, &ifr), ==, 0);
    ifr.ifr_flags |= IFF_UP;
    g_assert_cmpint(ioctl(s, SIOCSIFFLAGS, &ifr), ==, 0);
    close(s);
}

/* A packet socket on @ifname that sees our test frames only. */
static int host_socket(const char *ifname)
{
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(TEST_ETHERTYPE),
        .sll_ifindex = if_nametoindex(ifname),
    };
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC,
                   htons(TEST_ETHERTYPE));

    g_assert_cmpint(s, >=, 0);
    g_assert_cmpint(bind(s, (void *)&sll, sizeof(sll)), ==, 0);
    return s;
}

/* A broadcast test frame carrying @text, padded to the minimum. */
static size_t test_frame(uint8_t *f, const char *text)
{
    memset(f, 0, ETH_MIN_FRAME);
    memset(f, 0xff, ETH_ALEN);
    memcpy(f + ETH_ALEN, "\x52\x54\x00\x12\x34\x56", ETH_ALEN);
    f[12] = TEST_ETHERTYPE >> 8;
    f[13] = TEST_ETHERTYPE & 0xff;
    memcpy(f + ETH_HLEN, text, strlen(text));
    return ETH_MIN_FRAME;
}

/* The host reads @text from the tap; the main loop runs meanwhile. */
static void host_expect(int s, const char *text)
{
    int64_t deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    uint8_t buf[2048];

    while (g_get_monotonic_time() < deadline) {
        struct pollfd pfd = { .fd = s, .events = POLLIN };
        ssize_t len;

        g_main_context_iteration(NULL, false);
        if (poll(&pfd, 1, 1) != 1) {
            continue;
        }
        len = recv(s, buf, sizeof(buf), 0);
        if (len > ETH_HLEN && !memcmp(buf + ETH_HLEN, text, strlen(text))) {
            return;
        }
    }
    g_error("the host never saw '%s'", text);
}

static void host_send(int s, const char *text)
{
    uint8_t f[ETH_MIN_FRAME];

    g_assert_cmpint(send(s, f, test_frame(f, text), 0), ==, ETH_MIN_FRAME);
}

/* A frame at the NIC whose payload (after @skip bytes) starts @text. */
static size_t match_skip;

static bool match_text(const GByteArray *f, const void *text)
{
    size_t off = match_skip + ETH_HLEN;

    return f->len > off && !memcmp(f->data + off, text, strlen(text));
}

/* ---- tests ------------------------------------------------------------- */

static void test_frames_both_ways(void)
{
    uint8_t f[VIRTIO_NET_HDR_LEN + ETH_MIN_FRAME];
    FakeNic n;
    int s;

    if (!need_taps()) {
        return;
    }
    fake_nic_attach(&n, "tap,id=t0,ifname=qltap0,script=no,downscript=no");
    g_assert_cmpstr(n.backend->info_str, ==,
                    "ifname=qltap0,script=no,downscript=no");
    link_up("qltap0");
    s = host_socket("qltap0");
    /* The NIC has no vnet header: tap adds and strips a zero one. */
    g_assert_true(net_peer_has_vnet_hdr(n.nc));
    fake_nic_send(&n, f, test_frame(f, "to-host"));
    host_expect(s, "to-host");
    host_send(s, "to-guest");
    match_skip = 0;
    g_assert_nonnull(fake_nic_wait(&n, match_text, "to-guest"));

    /* A NIC that uses the header sends and gets it in front. */
    net_peer_using_vnet_hdr(n.nc, true);
    memset(f, 0, VIRTIO_NET_HDR_LEN);
    test_frame(f + VIRTIO_NET_HDR_LEN, "hdr-to-host");
    fake_nic_send(&n, f, VIRTIO_NET_HDR_LEN + ETH_MIN_FRAME);
    host_expect(s, "hdr-to-host");
    host_send(s, "hdr-to-guest");
    match_skip = VIRTIO_NET_HDR_LEN;
    g_assert_nonnull(fake_nic_wait(&n, match_text, "hdr-to-guest"));
    close(s);
    fake_nic_detach(&n);
}

static bool nic_has_queued(void *opaque)
{
    FakeNic *n = opaque;

    return g_queue_get_length(&n->nc->incoming) > 0;
}

static bool is_test_frame(const GByteArray *f)
{
    return f->len >= ETH_HLEN && f->data[12] == TEST_ETHERTYPE >> 8 &&
           f->data[13] == (TEST_ETHERTYPE & 0xff);
}

/* Our test frames, in arrival order (the kernel sends IPv6 ND too). */
static GPtrArray *test_frames_got(FakeNic *n)
{
    GPtrArray *a = g_ptr_array_new();

    for (guint i = 0; i < n->got->len; i++) {
        if (is_test_frame(g_ptr_array_index(n->got, i))) {
            g_ptr_array_add(a, g_ptr_array_index(n->got, i));
        }
    }
    return a;
}

static bool nic_got_three(void *opaque)
{
    g_autoptr(GPtrArray) a = test_frames_got(opaque);

    return a->len >= 3;
}

/* A full NIC stops the reading until its queue drains, losing nothing. */
static void test_flow_control(void)
{
    static const char *const texts[] = {"one", "two", "three"};
    g_autoptr(GPtrArray) got = NULL;
    FakeNic n;
    int s;

    if (!need_taps()) {
        return;
    }
    fake_nic_attach(&n, "tap,id=t0,ifname=qltap0,script=no,downscript=no");
    link_up("qltap0");
    s = host_socket("qltap0");
    match_skip = 0;
    n.room = 0;
    for (int i = 0; i < 3; i++) {
        host_send(s, texts[i]);
    }
    g_assert_true(loop_until(nic_has_queued, &n));
    for (int i = 0; i < 20; i++) {
        g_main_context_iteration(NULL, false);
    }
    /* One frame waits in the core; the tap read no more. */
    g_assert_cmpuint(g_queue_get_length(&n.nc->incoming), ==, 1);
    n.room = G_MAXUINT;
    net_flush_queued(n.nc);
    g_assert_true(loop_until(nic_got_three, &n));
    got = test_frames_got(&n);
    g_assert_cmpuint(got->len, ==, 3);
    for (int i = 0; i < 3; i++) {
        g_assert_true(match_text(g_ptr_array_index(got, i), texts[i]));
    }
    close(s);
    fake_nic_detach(&n);
}

/* script= and downscript= run with the interface's name. */
static void test_scripts(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-net-tap-XXXXXX", NULL);
    g_autofree char *up = g_build_filename(dir, "up", NULL);
    g_autofree char *down = g_build_filename(dir, "down", NULL);
    g_autofree char *log = g_build_filename(dir, "log", NULL);
    g_autofree char *body = g_strdup_printf("#!/bin/sh\necho \"$0 $1\" >> %s\n",
                                            log);
    g_autofree char *spec = NULL, *want = NULL, *got = NULL;
    FakeNic n;

    if (!need_taps()) {
        return;
    }
    g_assert_true(g_file_set_contents(up, body, -1, NULL));
    g_assert_true(g_file_set_contents(down, body, -1, NULL));
    g_assert_cmpint(g_chmod(up, 0755) | g_chmod(down, 0755), ==, 0);
    spec = g_strdup_printf("tap,id=t0,ifname=qltap1,script=%s,downscript=%s",
                           up, down);
    fake_nic_attach(&n, spec);
    fake_nic_detach(&n);
    want = g_strdup_printf("%s qltap1\n%s qltap1\n", up, down);
    g_assert_true(g_file_get_contents(log, &got, NULL, NULL));
    g_assert_cmpstr(got, ==, want);
    g_unlink(up);
    g_unlink(down);
    g_unlink(log);
    g_rmdir(dir);
}

/* fd= adopts a tap opened elsewhere, vnet header and all. */
static void test_fd(void)
{
    struct ifreq ifr = {
        .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
        .ifr_name = "qltap2",
    };
    g_autofree char *spec = NULL, *info = NULL;
    FakeNic n;
    int fd;

    if (!need_taps()) {
        return;
    }
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    g_assert_cmpint(ioctl(fd, TUNSETIFF, &ifr), ==, 0);
    spec = g_strdup_printf("tap,id=t0,fd=%d", fd);
    info = g_strdup_printf("fd=%d", fd);
    fake_nic_attach(&n, spec);
    g_assert_cmpstr(n.backend->info_str, ==, info);
    g_assert_true(net_peer_has_vnet_hdr(n.nc));
    fake_nic_detach(&n);
    g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);    /* the netdev owned it */
}

static void test_errors(void)
{
    int pipefd[2];
    g_autofree char *spec = NULL;

    expect_netdev_error("tap,id=t0,fd=bogus",
                        "File descriptor named 'bogus' has not been found");
    expect_netdev_error("tap,id=t0,fd=99",
                        "tap: fd=99 is not a tap device: Bad file descriptor");
    g_assert_cmpint(pipe(pipefd), ==, 0);
    spec = g_strdup_printf("tap,id=t0,fd=%d", pipefd[0]);
    expect_netdev_error(spec, "is not a tap device");
    close(pipefd[0]);
    close(pipefd[1]);
    expect_netdev_error("tap,id=t0,fd=3,ifname=x", "invalid with fd=");
    expect_netdev_error("tap,id=t0,vhost=on", "vhost=on is not supported");
    expect_netdev_error("tap,id=t0,queues=2", "queues=2 is not supported");
    expect_netdev_error("tap,id=t0,br=br0", "br= is not supported");
    expect_netdev_error("tap,id=t0,vnet_hdr=maybe", "vnet_hdr");
}

/* Without CAP_NET_ADMIN a named tap cannot be made: one clear line. */
static void test_no_permission(void)
{
    struct __user_cap_header_struct hdr = {
        .version = _LINUX_CAPABILITY_VERSION_3,
    };
    struct __user_cap_data_struct caps[2];

    if (g_test_subprocess()) {
        g_assert_cmpint(syscall(SYS_capget, &hdr, caps), ==, 0);
        caps[0].effective &= ~(1u << CAP_NET_ADMIN);
        g_assert_cmpint(syscall(SYS_capset, &hdr, caps), ==, 0);
        /* Root still opens /dev/net/tun; others fail there already. */
        expect_netdev_error("tap,id=t0,ifname=nosuchtap0,script=no",
                            geteuid() ? "tap: could not " :
                            "tap: could not configure ifname=nosuchtap0: "
                            "Operation not permitted");
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (access("/dev/net/tun", R_OK | W_OK) < 0) {
        skip_why = g_strdup_printf("no usable /dev/net/tun: %s",
                                   g_strerror(errno));
    } else {
        net_sandbox_enter(NULL, &skip_why);     /* sets it on failure */
    }
    if (skip_why) {
        g_printerr("# tap tests skipped: %s\n", skip_why);
    }
    qlite_register_all_types();
    main_loop_init();
    g_test_add_func("/net/tap/frames", test_frames_both_ways);
    g_test_add_func("/net/tap/flow-control", test_flow_control);
    g_test_add_func("/net/tap/scripts", test_scripts);
    g_test_add_func("/net/tap/fd", test_fd);
    g_test_add_func("/net/tap/errors", test_errors);
    g_test_add_func("/net/tap/no-permission", test_no_permission);
    return g_test_run();
}
