/*
 * The network core without devices: two fake clients peered by hand,
 * queued delivery and flow control, links, and the software offloads.
 */
#include "qlite/net.h"

/* A receiver that takes at most @room frames, then says "not now". */
typedef struct FakeClient {
    NetClientState *nc;
    unsigned room;
    GPtrArray *got;             /* of GByteArray * */
    unsigned link_changes;
} FakeClient;

static ssize_t fake_receive(NetClientState *nc, const struct iovec *iov,
                            int iovcnt)
{
    FakeClient *f = nc->opaque;
    GByteArray *b;

    if (!f->room) {
        return 0;
    }
    f->room--;
    b = g_byte_array_new();
    for (int i = 0; i < iovcnt; i++) {
        g_byte_array_append(b, iov[i].iov_base, iov[i].iov_len);
    }
    g_ptr_array_add(f->got, b);
    return b->len;
}

static void fake_link(NetClientState *nc)
{
    ((FakeClient *)nc->opaque)->link_changes++;
}

static const NetClientInfo fake_info = {
    .kind = NET_CLIENT_USER,
    .receive = fake_receive,
    .link_status_changed = fake_link,
};

static void fake_init(FakeClient *f, const char *name, unsigned room)
{
    f->nc = net_client_new(&fake_info, name, "fake", f);
    f->room = room;
    f->got = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    f->link_changes = 0;
}

static void fake_pair(FakeClient *a, FakeClient *b, unsigned room_b)
{
    fake_init(a, "a", 100);
    fake_init(b, "b", room_b);
    a->nc->peer = b->nc;
    b->nc->peer = a->nc;
}

static void fake_fini(FakeClient *f)
{
    net_client_free(f->nc);
    g_ptr_array_unref(f->got);
}

static unsigned sent_calls;

static void count_sent(NetClientState *sender, ssize_t len)
{
    sent_calls++;
}

static void test_delivery_in_order_with_flow_control(void)
{
    FakeClient a, b;
    uint8_t frame[64];

    fake_pair(&a, &b, 1);
    sent_calls = 0;
    for (int i = 0; i < 3; i++) {
        memset(frame, i, sizeof(frame));
        struct iovec iov = { frame, sizeof(frame) };
        ssize_t r = net_send_iov(a.nc, &iov, 1, count_sent);

        /* The first fits; the others wait for room. */
        g_assert_cmpint(r, ==, i == 0 ? 64 : 0);
    }
    g_assert_cmpuint(b.got->len, ==, 1);
    g_assert_cmpuint(b.nc->incoming.length, ==, 2);
    /* Flushing without room delivers nothing and loses nothing. */
    net_flush_queued(b.nc);
    g_assert_cmpuint(b.nc->incoming.length, ==, 2);
    b.room = 5;
    net_flush_queued(b.nc);
    g_assert_cmpuint(b.got->len, ==, 3);
    g_assert_cmpuint(sent_calls, ==, 2);
    for (guint i = 0; i < 3; i++) {
        GByteArray *g = b.got->pdata[i];

        g_assert_cmpuint(g->data[0], ==, i);
    }
    fake_fini(&a);
    fake_fini(&b);
}

static void test_queue_limit_counts_drops(void)
{
    FakeClient a, b;
    uint8_t frame[60] = { 0 };

    fake_pair(&a, &b, 0);
    for (int i = 0; i < NET_QUEUE_MAX + 10; i++) {
        net_send(a.nc, frame, sizeof(frame));
    }
    g_assert_cmpuint(b.nc->incoming.length, ==, NET_QUEUE_MAX);
    g_assert_cmpuint(b.nc->dropped, ==, 10);
    fake_fini(&a);
    fake_fini(&b);
}

static void test_link_down_drops_and_both_ends_see_it(void)
{
    FakeClient a, b;
    uint8_t frame[60] = { 0 };
    GError *err = NULL;

    fake_pair(&a, &b, 10);
    g_assert_true(net_set_link("a", false, &err));
    g_assert_true(a.nc->link_down && b.nc->link_down);
    g_assert_cmpuint(a.link_changes, ==, 1);
    g_assert_cmpuint(b.link_changes, ==, 1);
    g_assert_cmpint(net_send(a.nc, frame, sizeof(frame)), ==, 60);
    g_assert_cmpuint(b.got->len, ==, 0);
    g_assert_true(net_set_link("b", true, &err));
    g_assert_cmpint(net_send(a.nc, frame, sizeof(frame)), ==, 60);
    g_assert_cmpuint(b.got->len, ==, 1);
    g_assert_false(net_set_link("nosuch", true, &err));
    g_assert_cmpstr(err->message, ==, "Device 'nosuch' not found");
    g_clear_error(&err);
    fake_fini(&a);
    fake_fini(&b);
}

static void test_purge_and_free_drop_waiting_frames(void)
{
    FakeClient a, b;
    uint8_t frame[60] = { 0 };

    fake_pair(&a, &b, 0);
    sent_calls = 0;
    struct iovec iov = { frame, sizeof(frame) };
    net_send_iov(a.nc, &iov, 1, count_sent);
    net_send_iov(a.nc, &iov, 1, count_sent);
    net_purge_sent(a.nc);
    g_assert_cmpuint(b.nc->incoming.length, ==, 0);
    b.room = 2;
    net_flush_queued(b.nc);
    g_assert_cmpuint(sent_calls, ==, 0);
    /* Freeing the sender unpeers and forgets what it queued. */
    b.room = 0;
    net_send_iov(a.nc, &iov, 1, count_sent);
    fake_fini(&a);
    g_assert_null(b.nc->peer);
    g_assert_cmpuint(b.nc->incoming.length, ==, 0);
    fake_fini(&b);
}

static const NetClientInfo stack_info = {
    .kind = NET_CLIENT_USER,
    .receive = fake_receive,
    .takes_whole_tso = true,
};

static void test_tso_mss_follows_the_peer(void)
{
    FakeClient a, b;
    NetClientState *stack;

    fake_pair(&a, &b, 1);
    /* A wire: the guest's MSS. */
    g_assert_cmpuint(net_peer_tso_mss(a.nc, 1448), ==, 1448);
    /* A TCP stack: one IP datagram's worth, never less than the MSS. */
    stack = net_client_new(&stack_info, "stack", "fake", &b);
    a.nc->peer = stack;
    g_assert_cmpuint(net_peer_tso_mss(a.nc, 1448), >, 60000);
    g_assert_cmpuint(net_peer_tso_mss(a.nc, 1448), <=, 65535 - 40);
    g_assert_cmpuint(net_peer_tso_mss(a.nc, 0), ==, 0);
    a.nc->peer = b.nc;
    net_client_free(stack);
    fake_fini(&a);
    fake_fini(&b);
}

/* ---- checksums --------------------------------------------------------- */

static void test_rfc1071_example(void)
{
    /* RFC 1071 section 3: these bytes sum to ddf2. */
    static const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03,
                                    0xf4, 0xf5, 0xf6, 0xf7 };

    g_assert_cmphex(net_checksum_add(0, data, sizeof(data)), ==, 0xddf2);
    g_assert_cmphex(net_checksum_finish(0xddf2), ==, 0x220d);
}

/* Ethernet + IPv4 (20) + TCP (20) + @payload bytes of 0..255. */
static size_t make_tcp4(uint8_t *f, size_t payload, uint8_t flags)
{
    size_t len = ETH_HLEN + 40 + payload;

    memset(f, 0, len);
    f[12] = 0x08;                       /* IPv4 */
    f[14] = 0x45;
    f[16] = (len - ETH_HLEN) >> 8;
    f[17] = len - ETH_HLEN;
    f[18] = 0x12;                       /* id 0x1234 */
    f[19] = 0x34;
    f[22] = 64;
    f[23] = 6;                          /* TCP */
    memcpy(f + 26, (uint8_t[]){ 10, 0, 2, 15, 10, 0, 2, 2 }, 8);
    f[34] = 0x1f;                       /* ports 8080 -> 80 */
    f[35] = 0x90;
    f[37] = 80;
    f[38] = 0x10;                       /* seq 0x10000000 */
    f[46] = 0x50;                       /* data offset 5 */
    f[47] = flags;
    f[48] = 0xff;
    for (size_t i = 0; i < payload; i++) {
        f[54 + i] = i;
    }
    return len;
}

/* Independent check: IPv4 header and TCP sums come to all ones. */
static void assert_tcp4_sums_valid(const uint8_t *f, size_t len)
{
    uint8_t pseudo[12] = { 0 };
    size_t ip_len = (f[16] << 8) | f[17];
    uint32_t sum;

    g_assert_cmpuint(ETH_HLEN + ip_len, ==, len);
    g_assert_cmphex(net_checksum_add(0, f + 14, 20), ==, 0xffff);
    memcpy(pseudo, f + 26, 8);
    pseudo[9] = 6;
    pseudo[10] = (ip_len - 20) >> 8;
    pseudo[11] = ip_len - 20;
    sum = net_checksum_add(0, pseudo, 12);
    g_assert_cmphex(net_checksum_add(sum, f + 34, ip_len - 20), ==, 0xffff);
}

static void test_checksum_fill_tcp4(void)
{
    uint8_t f[200];
    size_t len = make_tcp4(f, 101, 0x18);

    g_assert_true(net_checksum_fill(f, len));
    assert_tcp4_sums_valid(f, len);
    /* Not IP: refused and untouched. */
    f[12] = 0x86;
    f[13] = 0x06;
    g_assert_false(net_checksum_fill(f, len));
}

static void test_checksum_insert_bounds(void)
{
    uint8_t f[100] = { 0 };

    g_assert_true(net_checksum_insert(f, 100, 34, 50, 0));
    g_assert_false(net_checksum_insert(f, 100, 100, 50, 0));
    g_assert_false(net_checksum_insert(f, 100, 34, 99, 0));
    g_assert_false(net_checksum_insert(f, 100, 34, SIZE_MAX - 1, 0));
}

typedef struct Segs {
    GPtrArray *segs;
} Segs;

static void collect_seg(void *opaque, const uint8_t *seg, size_t len)
{
    g_ptr_array_add(((Segs *)opaque)->segs,
                    g_byte_array_append(g_byte_array_new(), seg, len));
}

static void test_tso_segments(void)
{
    static uint8_t f[ETH_HLEN + 40 + 4000];
    size_t len = make_tcp4(f, 4000, 0x19);      /* FIN PSH ACK */
    Segs s = { g_ptr_array_new_with_free_func(
                   (GDestroyNotify)g_byte_array_unref) };
    uint32_t seq = 0x10000000;

    /* The driver may leave the IP length 0 for TSO. */
    f[16] = f[17] = 0;
    g_assert_true(net_tso_segment(f, len, 1460, collect_seg, &s));
    g_assert_cmpuint(s.segs->len, ==, 3);
    for (guint i = 0; i < 3; i++) {
        GByteArray *g = s.segs->pdata[i];
        size_t plen = i < 2 ? 1460 : 4000 - 2920;
        uint32_t gseq = (g->data[38] << 24) | (g->data[39] << 16) |
                        (g->data[40] << 8) | g->data[41];

        g_assert_cmpuint(g->len, ==, ETH_HLEN + 40 + plen);
        assert_tcp4_sums_valid(g->data, g->len);
        g_assert_cmphex(gseq, ==, seq + i * 1460);
        g_assert_cmpuint((g->data[18] << 8) | g->data[19], ==, 0x1234 + i);
        /* FIN and PSH only on the last. */
        g_assert_cmphex(g->data[47], ==, i < 2 ? 0x10 : 0x19);
        g_assert_cmpuint(g->data[54], ==, (i * 1460) & 0xff);
    }
    /* An MSS past what IP's length holds is cut to fit, not wrapped. */
    {
        static uint8_t big[ETH_HLEN + 40 + 70000];
        size_t blen = make_tcp4(big, 70000, 0x10);
        Segs b = { g_ptr_array_new_with_free_func(
                       (GDestroyNotify)g_byte_array_unref) };

        g_assert_true(net_tso_segment(big, blen, 100000, collect_seg, &b));
        g_assert_cmpuint(b.segs->len, ==, 2);
        for (guint i = 0; i < b.segs->len; i++) {
            GByteArray *g = b.segs->pdata[i];

            g_assert_cmpuint(g->len - ETH_HLEN, <=, 0xffff);
            assert_tcp4_sums_valid(g->data, g->len);
        }
        g_ptr_array_unref(b.segs);
    }
    g_assert_false(net_tso_segment(f, len, 0, collect_seg, &s));
    g_assert_false(net_tso_segment(f, 30, 1460, collect_seg, &s));
    g_assert_cmpuint(s.segs->len, ==, 3);
    g_ptr_array_unref(s.segs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/delivery-flow-control",
                    test_delivery_in_order_with_flow_control);
    g_test_add_func("/net/queue-limit", test_queue_limit_counts_drops);
    g_test_add_func("/net/link", test_link_down_drops_and_both_ends_see_it);
    g_test_add_func("/net/purge", test_purge_and_free_drop_waiting_frames);
    g_test_add_func("/net/tso-mss", test_tso_mss_follows_the_peer);
    g_test_add_func("/net/checksum/rfc1071", test_rfc1071_example);
    g_test_add_func("/net/checksum/fill-tcp4", test_checksum_fill_tcp4);
    g_test_add_func("/net/checksum/insert-bounds",
                    test_checksum_insert_bounds);
    g_test_add_func("/net/tso", test_tso_segments);
    return g_test_run();
}
