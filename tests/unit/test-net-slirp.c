/*
 * User networking (net/slirp.c) seen from a fake NIC: ARP, DHCP, DNS
 * through a fake resolver, hostfwd from -netdev and from HMP, and the
 * errors for bad options.  Runs in a network namespace of its own where
 * the machine allows (then ports are free and DNS is offline-safe).
 */
#include "net-test-util.h"

#include "qlite/main-loop.h"
#include "qlite/object.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETH_P_IP    0x0800
#define ETH_P_ARP   0x0806
#define IP_UDP      17
#define IP_TCP      6
#define TCP_SYN     0x02

static const uint8_t guest_mac[ETH_ALEN] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
static const uint8_t bcast_mac[ETH_ALEN] = {0xff, 0xff, 0xff,
                                            0xff, 0xff, 0xff};
static bool sandboxed;          /* own netns with the fake resolver */
static char *sandbox_why;

/* ---- building frames --------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static uint16_t get16(const uint8_t *p)
{
    return p[0] << 8 | p[1];
}

static void put_ip4(uint8_t *p, const char *addr)
{
    struct in_addr a;

    g_assert_cmpint(inet_pton(AF_INET, addr, &a), ==, 1);
    memcpy(p, &a, 4);
}

static bool is_ip4(const uint8_t *p, const char *addr)
{
    struct in_addr a;

    inet_pton(AF_INET, addr, &a);
    return !memcmp(p, &a, 4);
}

static size_t put_eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, ETH_ALEN);
    memcpy(f + ETH_ALEN, guest_mac, ETH_ALEN);
    put16(f + 12, type);
    return ETH_HLEN;
}

/* An IPv4 header at @p with a correct checksum, no options. */
static void put_ipv4(uint8_t *p, uint8_t proto, const char *src,
                     const char *dst, size_t payload)
{
    uint32_t sum = 0;

    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, 20 + payload);
    p[8] = 64;
    p[9] = proto;
    put_ip4(p + 12, src);
    put_ip4(p + 16, dst);
    for (int i = 0; i < 20; i += 2) {
        sum += get16(p + i);
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    put16(p + 10, ~sum);
}

/* A UDP datagram (checksum 0: none) of @len bytes from @data. */
static size_t put_udp(uint8_t *f, const char *src, uint16_t sport,
                      const char *dst, uint16_t dport, const void *data,
                      size_t len)
{
    uint8_t *ip = f + put_eth(f, bcast_mac, ETH_P_IP);
    uint8_t *udp = ip + 20;

    put_ipv4(ip, IP_UDP, src, dst, 8 + len);
    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, 8 + len);
    put16(udp + 6, 0);
    memcpy(udp + 8, data, len);
    return ETH_HLEN + 20 + 8 + len;
}

/* Who has @target?  Tell @sender (which teaches slirp our MAC). */
static void send_arp_from(FakeNic *n, const char *sender, const char *target)
{
    uint8_t f[ETH_MIN_FRAME] = {0};
    uint8_t *arp = f + put_eth(f, bcast_mac, ETH_P_ARP);

    put16(arp, 1);
    put16(arp + 2, ETH_P_IP);
    arp[4] = ETH_ALEN;
    arp[5] = 4;
    put16(arp + 6, 1);
    memcpy(arp + 8, guest_mac, ETH_ALEN);
    put_ip4(arp + 14, sender);
    put_ip4(arp + 24, target);
    fake_nic_send(n, f, sizeof(f));
}

static void send_arp_request(FakeNic *n, const char *target)
{
    send_arp_from(n, "10.0.2.15", target);
}

/* ---- matching frames --------------------------------------------------- */

static const uint8_t *ipv4_payload(const GByteArray *f, uint8_t proto)
{
    const uint8_t *ip = f->data + ETH_HLEN;

    if (f->len < ETH_HLEN + 20 || get16(f->data + 12) != ETH_P_IP ||
        ip[9] != proto || f->len < ETH_HLEN + (ip[0] & 15) * 4 + 8) {
        return NULL;
    }
    return ip + (ip[0] & 15) * 4;
}

static bool match_arp_reply(const GByteArray *f, const void *opaque)
{
    const uint8_t *arp = f->data + ETH_HLEN;

    return f->len >= ETH_HLEN + 28 && get16(f->data + 12) == ETH_P_ARP &&
           get16(arp + 6) == 2 && is_ip4(arp + 14, opaque) &&
           !memcmp(arp + 18, guest_mac, ETH_ALEN);
}

/* A UDP datagram to the guest's port *@opaque. */
static bool match_udp_to(const GByteArray *f, const void *opaque)
{
    const uint8_t *udp = ipv4_payload(f, IP_UDP);

    return udp && get16(udp + 2) == *(const uint16_t *)opaque;
}

/* A SYN to the guest's port *@opaque. */
static bool match_syn_to(const GByteArray *f, const void *opaque)
{
    const uint8_t *tcp = ipv4_payload(f, IP_TCP);

    return tcp && get16(tcp + 2) == *(const uint16_t *)opaque &&
           (tcp[13] & TCP_SYN) && is_ip4(f->data + ETH_HLEN + 16,
                                         "10.0.2.15");
}

/* ---- ARP, DHCP, DNS ---------------------------------------------------- */

static void test_arp(void)
{
    FakeNic n;

    fake_nic_attach(&n, "user,id=u0");
    g_assert_cmpstr(n.backend->info_str, ==, "net=10.0.2.0,restrict=off");
    send_arp_request(&n, "10.0.2.2");
    g_assert_nonnull(fake_nic_wait(&n, match_arp_reply, "10.0.2.2"));
    fake_nic_detach(&n);
}

#define BOOTP_LEN   548     /* the fixed part and 312 bytes of options */

static void test_dhcp(void)
{
    static const uint8_t cookie_discover[] = {99, 130, 83, 99, 53, 1, 1, 255};
    uint8_t bootp[BOOTP_LEN] = {1, 1, ETH_ALEN};
    uint8_t f[ETH_HLEN + 28 + BOOTP_LEN];
    uint16_t client_port = 68;
    const uint8_t *reply;
    GByteArray *got;
    FakeNic n;

    memcpy(bootp + 4, "\x12\x34\x56\x78", 4);      /* xid */
    memcpy(bootp + 28, guest_mac, ETH_ALEN);        /* chaddr */
    memcpy(bootp + 236, cookie_discover, sizeof(cookie_discover));
    fake_nic_attach(&n, "user,id=u0");
    fake_nic_send(&n, f, put_udp(f, "0.0.0.0", 68, "255.255.255.255", 67,
                                 bootp, sizeof(bootp)));
    got = fake_nic_wait(&n, match_udp_to, &client_port);
    g_assert_nonnull(got);
    reply = ipv4_payload(got, IP_UDP) + 8;
    g_assert_cmpint(reply[0], ==, 2);                       /* BOOTREPLY */
    g_assert_cmpmem(reply + 4, 4, "\x12\x34\x56\x78", 4);
    g_assert_true(is_ip4(reply + 16, "10.0.2.15"));         /* yiaddr */
    g_assert_cmpmem(reply + 240, 3, "\x35\x01\x02", 3);     /* OFFER */
    fake_nic_detach(&n);
}

/* A resolver on 127.0.0.1:53 that answers every A query with 127.0.0.1. */
static gboolean fake_resolver_answer(gint fd, GIOCondition c, gpointer p)
{
    static const uint8_t answer[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60,
                                     0, 4, 127, 0, 0, 1};
    uint8_t buf[512 + sizeof(answer)];
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    ssize_t len = recvfrom(fd, buf, 512, 0, (void *)&from, &flen);

    if (len >= 12) {
        put16(buf + 2, 0x8180);         /* a response, no error */
        put16(buf + 6, 1);              /* one answer */
        memcpy(buf + len, answer, sizeof(answer));
        sendto(fd, buf, len + sizeof(answer), 0, (void *)&from, flen);
    }
    return G_SOURCE_CONTINUE;
}

static void test_dns(void)
{
    /* id 0xbeef, RD, one question: localhost A IN */
    static const uint8_t query[] = {0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                    9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's',
                                    't', 0, 0, 1, 0, 1};
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
    uint8_t f[ETH_HLEN + 28 + sizeof(query)];
    uint16_t guest_port = 40000;
    const uint8_t *udp;
    GByteArray *got;
    guint watch;
    FakeNic n;
    int fd;

    if (!sandboxed) {
        g_test_skip(sandbox_why);
        return;
    }
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(fd, (void *)&sa, sizeof(sa)), ==, 0);
    watch = g_unix_fd_add(fd, G_IO_IN, fake_resolver_answer, NULL);
    fake_nic_attach(&n, "user,id=u0");
    send_arp_request(&n, "10.0.2.2");
    fake_nic_send(&n, f, put_udp(f, "10.0.2.15", guest_port, "10.0.2.3", 53,
                                 query, sizeof(query)));
    got = fake_nic_wait(&n, match_udp_to, &guest_port);
    g_assert_nonnull(got);
    udp = ipv4_payload(got, IP_UDP);
    g_assert_true(is_ip4(got->data + ETH_HLEN + 12, "10.0.2.3"));
    g_assert_cmpint(get16(udp), ==, 53);
    g_assert_cmpint(get16(udp + 8), ==, 0xbeef);            /* same id */
    g_assert_cmpint(get16(udp + 8 + 6), ==, 1);             /* an answer */
    fake_nic_detach(&n);
    g_source_remove(watch);
    close(fd);
}

/* ---- hostfwd ----------------------------------------------------------- */

/* A TCP port on 127.0.0.1 nobody listens on (now). */
static int free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (void *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (void *)&sa, &len), ==, 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Start connecting to 127.0.0.1:@port; -1 when refused at once. */
static int host_connect(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (void *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A host connection to @port shows up as a SYN to guest port @gport. */
static void expect_forwarded(FakeNic *n, int port, uint16_t gport)
{
    int fd = host_connect(port);

    g_assert_cmpint(fd, >=, 0);
    if (!fake_nic_wait(n, match_syn_to, &gport)) {
        g_error("no SYN to guest port %u after connecting to %d", gport,
                port);
    }
    close(fd);
}

static void test_hostfwd(void)
{
    int p1 = free_port(), p2 = free_port();
    g_autofree char *spec = g_strdup_printf(
        "user,id=u0,hostfwd=tcp:127.0.0.1:%d-:22,"
        "hostfwd=tcp:127.0.0.1:%d-10.0.2.15:80", p1, p2);
    FakeNic n;

    fake_nic_attach(&n, spec);
    send_arp_request(&n, "10.0.2.2");   /* slirp learns the guest's MAC */
    expect_forwarded(&n, p1, 22);
    expect_forwarded(&n, p2, 80);
    fake_nic_detach(&n);
}

static void test_hostfwd_hmp(void)
{
    int port = free_port();
    g_autofree char *rule = g_strdup_printf("tcp:127.0.0.1:%d-:23", port);
    g_autofree char *key = g_strdup_printf("tcp:127.0.0.1:%d", port);
    GError *err = NULL;
    FakeNic n;

    fake_nic_attach(&n, "user,id=u0");
    send_arp_request(&n, "10.0.2.2");
    g_assert_true(net_slirp_hostfwd_add("u0", rule, &err));
    g_assert_no_error(err);
    expect_forwarded(&n, port, 23);
    g_assert_true(net_slirp_hostfwd_remove(NULL, key, &err));
    g_assert_no_error(err);
    g_assert_false(net_slirp_hostfwd_remove("u0", key, &err));
    g_assert_nonnull(strstr(err->message, "not found"));
    g_clear_error(&err);
    g_assert_false(net_slirp_hostfwd_add("nosuch", rule, &err));
    g_assert_nonnull(strstr(err->message, "no user netdev named 'nosuch'"));
    g_clear_error(&err);
    fake_nic_detach(&n);
}

/* ---- errors ------------------------------------------------------------ */

static void test_bad_options(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_autofree char *in_use = NULL;

    expect_netdev_error("user,id=u0,hostfwd=garbage",
                        "Invalid host forwarding rule 'garbage'");
    expect_netdev_error("user,id=u0,hostfwd=tcp::22-:0",
                        "(bad guest port;");
    expect_netdev_error("user,id=u0,hostfwd=tcp:1.2.3:22-:22",
                        "(bad host address;");
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(busy, (void *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(busy, 1), ==, 0);
    g_assert_cmpint(getsockname(busy, (void *)&sa, &len), ==, 0);
    in_use = g_strdup_printf("user,id=u0,hostfwd=tcp:127.0.0.1:%d-:22",
                             ntohs(sa.sin_port));
    expect_netdev_error(in_use, "Could not set up host forwarding rule");
    close(busy);
    expect_netdev_error("user,id=u0,net=nonsense", "invalid net='nonsense'");
    expect_netdev_error("user,id=u0,net=10.0.2.1/24", "invalid net=");
    expect_netdev_error("user,id=u0,host=192.168.0.2",
                        "host=192.168.0.2 is not a host address");
    expect_netdev_error("user,id=u0,ipv4=off,ipv6=off", "disabled");
    expect_netdev_error("user,id=u0,guestfwd=tcp:10.0.2.100:x-cmd:cat",
                        "Invalid guest forwarding rule");
    expect_netdev_error("user,id=u0,smb=/tmp", "smb= is not supported");
    expect_netdev_error("user,id=u0,bogus=1", "Invalid parameter 'bogus'");
    /* A failed netdev leaves nothing behind: the id is free again. */
    g_assert_null(net_client_find("u0"));
}

static void test_good_options(void)
{
    FakeNic n;

    fake_nic_attach(&n, "user,id=u0,net=192.168.76.0/24,host=192.168.76.1,"
                        "dhcpstart=192.168.76.100,dns=192.168.76.53,"
                        "restrict=on,hostname=h,domainname=example.org,"
                        "dnssearch=a.example,dnssearch=b.example,"
                        "ipv6-net=fd00:1::/64,"
                        "guestfwd=tcp:192.168.76.9:4000-cmd:cat");
    g_assert_cmpstr(n.backend->info_str, ==, "net=192.168.76.0,restrict=on");
    send_arp_from(&n, "192.168.76.100", "192.168.76.1");
    g_assert_nonnull(fake_nic_wait(&n, match_arp_reply, "192.168.76.1"));
    fake_nic_detach(&n);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    sandboxed = net_sandbox_enter("nameserver 127.0.0.1\n", &sandbox_why);
    if (!sandboxed) {
        g_printerr("# DNS test skipped, hostfwd on host ports: %s\n",
                   sandbox_why);
    }
    qlite_register_all_types();
    main_loop_init();
    g_test_add_func("/net/slirp/arp", test_arp);
    g_test_add_func("/net/slirp/dhcp", test_dhcp);
    g_test_add_func("/net/slirp/dns", test_dns);
    g_test_add_func("/net/slirp/hostfwd", test_hostfwd);
    g_test_add_func("/net/slirp/hostfwd-hmp", test_hostfwd_hmp);
    g_test_add_func("/net/slirp/bad-options", test_bad_options);
    g_test_add_func("/net/slirp/good-options", test_good_options);
    return g_test_run();
}
