/*
 * virtio-net's pure parts (hw/net/virtio-net-ctrl.c): control commands
 * applied to the receive filter, the filter's verdicts, and the checks
 * of transmit headers.
 */
#include "hw/net/virtio-net.h"

#include <glib.h>
#include <string.h>

#define ALL_CTRL (UINT64_C(1) << VIRTIO_NET_F_CTRL_RX | \
                  UINT64_C(1) << VIRTIO_NET_F_CTRL_RX_EXTRA | \
                  UINT64_C(1) << VIRTIO_NET_F_CTRL_VLAN | \
                  UINT64_C(1) << VIRTIO_NET_F_CTRL_MAC_ADDR)

static const uint8_t own[ETH_ALEN] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
static const uint8_t other[ETH_ALEN] = { 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc };
static const uint8_t mcast[ETH_ALEN] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff };

static bool accepts(const VirtioNetFilter *f, const uint8_t *dst,
                    int vlan)
{
    uint8_t frame[64] = { 0 };

    memcpy(frame, dst, ETH_ALEN);
    if (vlan >= 0) {
        frame[12] = 0x81;
        frame[14] = vlan >> 8;
        frame[15] = vlan;
    }
    return virtio_net_filter_accepts(f, frame, sizeof(frame));
}

static uint8_t apply(VirtioNetFilter *f, uint64_t features, uint8_t cls,
                     uint8_t cmd, const void *data, size_t len)
{
    unsigned changed = 0;

    return virtio_net_ctrl_apply(f, features, cls, cmd, data, len, &changed);
}

static void test_rx_modes(void)
{
    VirtioNetFilter f;
    uint8_t off = 0, on = 1;

    virtio_net_filter_reset(&f, own);
    g_assert_true(accepts(&f, other, -1));          /* promiscuous */
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_RX,
                          VIRTIO_NET_CTRL_RX_PROMISC, &off, 1), ==,
                    VIRTIO_NET_OK);
    g_assert_false(accepts(&f, other, -1));
    g_assert_true(accepts(&f, own, -1));
    g_assert_true(accepts(&f, bcast, -1));
    g_assert_false(accepts(&f, mcast, -1));
    apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI,
          &on, 1);
    g_assert_true(accepts(&f, mcast, -1));
    apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOMULTI,
          &on, 1);
    g_assert_false(accepts(&f, mcast, -1));
    apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST,
          &on, 1);
    g_assert_false(accepts(&f, bcast, -1));
    apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLUNI,
          &on, 1);
    g_assert_true(accepts(&f, other, -1));
    apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOUNI,
          &on, 1);
    g_assert_false(accepts(&f, own, -1));
    /* the extra modes need CTRL_RX_EXTRA; all need a one-byte datum */
    g_assert_cmpint(apply(&f, UINT64_C(1) << VIRTIO_NET_F_CTRL_RX,
                          VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOUNI,
                          &off, 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_RX,
                          VIRTIO_NET_CTRL_RX_PROMISC, &on, 0), ==,
                    VIRTIO_NET_ERR);
    g_assert_cmpint(apply(&f, 0, VIRTIO_NET_CTRL_RX,
                          VIRTIO_NET_CTRL_RX_PROMISC, &on, 1), ==,
                    VIRTIO_NET_ERR);
    g_assert_cmpint(apply(&f, ALL_CTRL, 9, 0, &on, 1), ==, VIRTIO_NET_ERR);
}

static void test_mac_table(void)
{
    VirtioNetFilter f;
    uint8_t off = 0, buf[64];
    size_t n = 0;

    virtio_net_filter_reset(&f, own);
    apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC,
          &off, 1);
    buf[n++] = 1; buf[n++] = 0; buf[n++] = 0; buf[n++] = 0;
    memcpy(buf + n, other, ETH_ALEN);
    n += ETH_ALEN;
    buf[n++] = 1; buf[n++] = 0; buf[n++] = 0; buf[n++] = 0;
    memcpy(buf + n, mcast, ETH_ALEN);
    n += ETH_ALEN;
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_MAC,
                          VIRTIO_NET_CTRL_MAC_TABLE_SET, buf, n), ==,
                    VIRTIO_NET_OK);
    g_assert_true(accepts(&f, other, -1));
    g_assert_true(accepts(&f, mcast, -1));
    /* truncated, trailing garbage, a count beyond the data */
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_MAC,
                          VIRTIO_NET_CTRL_MAC_TABLE_SET, buf, n - 1), ==,
                    VIRTIO_NET_ERR);
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_MAC,
                          VIRTIO_NET_CTRL_MAC_TABLE_SET, buf, n + 1), ==,
                    VIRTIO_NET_ERR);
    buf[0] = 0xff; buf[1] = 0xff; buf[2] = 0xff; buf[3] = 0xff;
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_MAC,
                          VIRTIO_NET_CTRL_MAC_TABLE_SET, buf, n), ==,
                    VIRTIO_NET_ERR);
    g_assert_true(accepts(&f, other, -1));      /* left as it was */
    /* ADDR_SET moves the device's own address */
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_MAC,
                          VIRTIO_NET_CTRL_MAC_ADDR_SET, mcast + 0, 6), ==,
                    VIRTIO_NET_OK);
    g_assert_cmpmem(f.mac, ETH_ALEN, mcast, ETH_ALEN);
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_MAC,
                          VIRTIO_NET_CTRL_MAC_ADDR_SET, own, 5), ==,
                    VIRTIO_NET_ERR);
}

static void test_mac_table_overflow(void)
{
    VirtioNetFilter f;
    uint8_t off = 0;
    size_t entries = VIRTIO_NET_MAC_TABLE_MAX + 1;
    size_t len = 4 + entries * ETH_ALEN + 4;
    g_autofree uint8_t *buf = g_malloc0(len);

    virtio_net_filter_reset(&f, own);
    apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC,
          &off, 1);
    buf[0] = entries;
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_MAC,
                          VIRTIO_NET_CTRL_MAC_TABLE_SET, buf, len), ==,
                    VIRTIO_NET_OK);
    g_assert_true(f.uni_overflow);
    g_assert_true(accepts(&f, other, -1));
    g_assert_false(accepts(&f, mcast, -1));
}

static void test_vlan(void)
{
    VirtioNetFilter f;
    uint8_t off = 0, vid[2] = { 5, 0 }, bad[2] = { 0, 0x10 };

    virtio_net_filter_reset(&f, own);
    apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC,
          &off, 1);
    f.vlan_filtering = true;
    g_assert_false(accepts(&f, own, 5));
    g_assert_true(accepts(&f, own, -1));            /* untagged */
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_VLAN,
                          VIRTIO_NET_CTRL_VLAN_ADD, vid, 2), ==,
                    VIRTIO_NET_OK);
    g_assert_true(accepts(&f, own, 5));
    apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_DEL,
          vid, 2);
    g_assert_false(accepts(&f, own, 5));
    g_assert_cmpint(apply(&f, ALL_CTRL, VIRTIO_NET_CTRL_VLAN,
                          VIRTIO_NET_CTRL_VLAN_ADD, bad, 2), ==,
                    VIRTIO_NET_ERR);
}

static void test_guest_offloads(void)
{
    uint64_t f = UINT64_C(1) << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS |
                 UINT64_C(1) << VIRTIO_NET_F_GUEST_CSUM |
                 UINT64_C(1) << VIRTIO_NET_F_GUEST_TSO4;
    uint8_t csum_only[8] = { 1 << VIRTIO_NET_F_GUEST_CSUM };
    uint8_t tso6[8] = { 0, 1 << (VIRTIO_NET_F_GUEST_TSO6 - 8) };
    uint8_t ctrl[8] = { 1 << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS };
    uint64_t out = 99;

    g_assert_cmpint(virtio_net_ctrl_offloads(f, 0, csum_only, 8, &out), ==,
                    VIRTIO_NET_OK);
    g_assert_cmpuint(out, ==, UINT64_C(1) << VIRTIO_NET_F_GUEST_CSUM);
    /* not negotiated, not an offload, wrong size, wrong command */
    g_assert_cmpint(virtio_net_ctrl_offloads(f, 0, tso6, 8, &out), ==,
                    VIRTIO_NET_ERR);
    g_assert_cmpint(virtio_net_ctrl_offloads(f, 0, ctrl, 8, &out), ==,
                    VIRTIO_NET_ERR);
    g_assert_cmpint(virtio_net_ctrl_offloads(f, 0, csum_only, 4, &out), ==,
                    VIRTIO_NET_ERR);
    g_assert_cmpint(virtio_net_ctrl_offloads(f, 1, csum_only, 8, &out), ==,
                    VIRTIO_NET_ERR);
    g_assert_cmpint(virtio_net_ctrl_offloads(0, 0, csum_only, 8, &out), ==,
                    VIRTIO_NET_ERR);
    g_assert_cmpuint(out, ==, UINT64_C(1) << VIRTIO_NET_F_GUEST_CSUM);
}

static void test_tx_check(void)
{
    uint64_t csum = UINT64_C(1) << VIRTIO_NET_F_CSUM;
    uint64_t tso = csum | UINT64_C(1) << VIRTIO_NET_F_HOST_TSO4;
    VirtioNetHdr h = { 0 };

    g_assert_cmpint(virtio_net_tx_check(&h, 60, 0), ==, VIRTIO_NET_TX_OK);
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.csum_start = 34;
    h.csum_offset = 16;
    g_assert_cmpint(virtio_net_tx_check(&h, 60, 0), ==,
                    VIRTIO_NET_TX_CSUM_OFF);
    g_assert_cmpint(virtio_net_tx_check(&h, 60, csum), ==,
                    VIRTIO_NET_TX_OK);
    g_assert_cmpint(virtio_net_tx_check(&h, 51, csum), ==,
                    VIRTIO_NET_TX_BAD_CSUM);
    h.csum_start = 0xffff;
    h.csum_offset = 0xffff;
    g_assert_cmpint(virtio_net_tx_check(&h, 60, csum), ==,
                    VIRTIO_NET_TX_BAD_CSUM);
    h.csum_start = 34;
    h.csum_offset = 16;
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h.gso_size = 1448;
    g_assert_cmpint(virtio_net_tx_check(&h, 9000, csum), ==,
                    VIRTIO_NET_TX_BAD_GSO);
    g_assert_cmpint(virtio_net_tx_check(&h, 9000, tso), ==,
                    VIRTIO_NET_TX_OK);
    h.gso_size = 0;
    g_assert_cmpint(virtio_net_tx_check(&h, 9000, tso), ==,
                    VIRTIO_NET_TX_BAD_GSO_SIZE);
    h.gso_size = 1448;
    h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
    g_assert_cmpint(virtio_net_tx_check(&h, 9000, tso), ==,
                    VIRTIO_NET_TX_BAD_GSO);
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
    g_assert_cmpint(virtio_net_tx_check(&h, 9000, tso), ==,
                    VIRTIO_NET_TX_BAD_GSO);
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h.flags = 0;
    g_assert_cmpint(virtio_net_tx_check(&h, 9000, tso), ==,
                    VIRTIO_NET_TX_GSO_NO_CSUM);
    h.flags = 0x80;
    g_assert_cmpint(virtio_net_tx_check(&h, 9000, tso), ==,
                    VIRTIO_NET_TX_BAD_FLAGS);
}

static void test_hdr_wire_form(void)
{
    VirtioNetHdr h = { 1, 4, 0x0102, 0x0304, 0x0506, 0x0708, 3 }, back;
    uint8_t raw[VIRTIO_NET_HDR_LEN];
    static const uint8_t want[VIRTIO_NET_HDR_LEN] = {
        1, 4, 2, 1, 4, 3, 6, 5, 8, 7, 3, 0
    };

    virtio_net_hdr_store(&h, raw, sizeof(raw));
    g_assert_cmpmem(raw, sizeof(raw), want, sizeof(want));
    virtio_net_hdr_parse(&back, raw, VIRTIO_NET_HDR_LEGACY_LEN);
    g_assert_cmpint(back.csum_offset, ==, 0x0708);
    g_assert_cmpint(back.num_buffers, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-net/ctrl/rx-modes", test_rx_modes);
    g_test_add_func("/virtio-net/ctrl/mac-table", test_mac_table);
    g_test_add_func("/virtio-net/ctrl/mac-table-overflow",
                    test_mac_table_overflow);
    g_test_add_func("/virtio-net/ctrl/vlan", test_vlan);
    g_test_add_func("/virtio-net/ctrl/guest-offloads", test_guest_offloads);
    g_test_add_func("/virtio-net/tx-check", test_tx_check);
    g_test_add_func("/virtio-net/hdr-wire-form", test_hdr_wire_form);
    return g_test_run();
}
