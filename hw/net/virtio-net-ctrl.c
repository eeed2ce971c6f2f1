/*
 * virtio-net's pure parts: the control queue's commands applied to a
 * receive filter (virtio 1.2, 5.1.6.5), the filter's verdict on a frame
 * (5.1.6.5.1), and the checks of a header the driver wrote (5.1.6.2).
 * Every input is guest-supplied: each length is checked before use.
 */
#include "virtio-net.h"

#include <string.h>

static bool has(uint64_t features, unsigned bit)
{
    return features & (UINT64_C(1) << bit);
}

static uint32_t get_le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

void virtio_net_filter_reset(VirtioNetFilter *f, const uint8_t *mac)
{
    memset(f, 0, sizeof(*f));
    memcpy(f->mac, mac, ETH_ALEN);
    f->promisc = true;
}

/* RX mode switches (5.1.6.5.1): one byte, 0 off, anything else on. */
static uint8_t ctrl_rx(VirtioNetFilter *f, uint64_t features, uint8_t cmd,
                       const uint8_t *data, size_t len)
{
    bool *flag;

    if (len != 1 || !has(features, VIRTIO_NET_F_CTRL_RX)) {
        return VIRTIO_NET_ERR;
    }
    switch (cmd) {
    case VIRTIO_NET_CTRL_RX_PROMISC:  flag = &f->promisc; break;
    case VIRTIO_NET_CTRL_RX_ALLMULTI: flag = &f->allmulti; break;
    case VIRTIO_NET_CTRL_RX_ALLUNI:   flag = &f->alluni; break;
    case VIRTIO_NET_CTRL_RX_NOMULTI:  flag = &f->nomulti; break;
    case VIRTIO_NET_CTRL_RX_NOUNI:    flag = &f->nouni; break;
    case VIRTIO_NET_CTRL_RX_NOBCAST:  flag = &f->nobcast; break;
    default:
        return VIRTIO_NET_ERR;
    }
    if (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI &&
        !has(features, VIRTIO_NET_F_CTRL_RX_EXTRA)) {
        return VIRTIO_NET_ERR;
    }
    *flag = data[0] != 0;
    return VIRTIO_NET_OK;
}

/*
 * One table of a TABLE_SET: le32 entries, then entries * 6 bytes.
 * Returns the bytes it used, or 0 when it runs past @len.
 */
static size_t parse_mac_table(const uint8_t *data, size_t len,
                              uint8_t (*table)[ETH_ALEN], unsigned *count,
                              bool *overflow)
{
    uint64_t entries, bytes;

    if (len < 4) {
        return 0;
    }
    entries = get_le32(data);
    bytes = 4 + entries * ETH_ALEN;
    if (bytes > len) {
        return 0;
    }
    *overflow = entries > VIRTIO_NET_MAC_TABLE_MAX;
    *count = *overflow ? 0 : entries;
    if (*count) {
        memcpy(table, data + 4, *count * ETH_ALEN);
    }
    return bytes;
}

/* TABLE_SET: a unicast table then a multicast one (5.1.6.5.2). */
static uint8_t ctrl_mac_table(VirtioNetFilter *f, const uint8_t *data,
                              size_t len)
{
    VirtioNetFilter n = *f;
    size_t used, used2;

    used = parse_mac_table(data, len, n.uni, &n.uni_count, &n.uni_overflow);
    if (!used) {
        return VIRTIO_NET_ERR;
    }
    used2 = parse_mac_table(data + used, len - used, n.multi, &n.multi_count,
                            &n.multi_overflow);
    if (!used2 || used + used2 != len) {
        return VIRTIO_NET_ERR;
    }
    *f = n;
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_mac(VirtioNetFilter *f, uint64_t features, uint8_t cmd,
                        const uint8_t *data, size_t len, unsigned *changed)
{
    switch (cmd) {
    case VIRTIO_NET_CTRL_MAC_TABLE_SET:
        if (!has(features, VIRTIO_NET_F_CTRL_RX)) {
            return VIRTIO_NET_ERR;
        }
        return ctrl_mac_table(f, data, len);
    case VIRTIO_NET_CTRL_MAC_ADDR_SET:
        if (!has(features, VIRTIO_NET_F_CTRL_MAC_ADDR) || len != ETH_ALEN) {
            return VIRTIO_NET_ERR;
        }
        memcpy(f->mac, data, ETH_ALEN);
        *changed |= VIRTIO_NET_CTRL_CHANGED_MAC;
        return VIRTIO_NET_OK;
    default:
        return VIRTIO_NET_ERR;
    }
}

static uint8_t ctrl_vlan(VirtioNetFilter *f, uint64_t features, uint8_t cmd,
                         const uint8_t *data, size_t len)
{
    unsigned vid;

    if (!has(features, VIRTIO_NET_F_CTRL_VLAN) || len != 2) {
        return VIRTIO_NET_ERR;
    }
    vid = data[0] | data[1] << 8;
    if (vid >= VIRTIO_NET_VLAN_MAX) {
        return VIRTIO_NET_ERR;
    }
    switch (cmd) {
    case VIRTIO_NET_CTRL_VLAN_ADD:
        f->vlans[vid / 32] |= 1u << (vid % 32);
        return VIRTIO_NET_OK;
    case VIRTIO_NET_CTRL_VLAN_DEL:
        f->vlans[vid / 32] &= ~(1u << (vid % 32));
        return VIRTIO_NET_OK;
    default:
        return VIRTIO_NET_ERR;
    }
}

uint8_t virtio_net_ctrl_apply(VirtioNetFilter *f, uint64_t features,
                              uint8_t cls, uint8_t cmd, const uint8_t *data,
                              size_t len, unsigned *changed)
{
    uint8_t ack;

    switch (cls) {
    case VIRTIO_NET_CTRL_RX:
        ack = ctrl_rx(f, features, cmd, data, len);
        break;
    case VIRTIO_NET_CTRL_MAC:
        ack = ctrl_mac(f, features, cmd, data, len, changed);
        break;
    case VIRTIO_NET_CTRL_VLAN:
        ack = ctrl_vlan(f, features, cmd, data, len);
        break;
    default:
        return VIRTIO_NET_ERR;
    }
    if (ack == VIRTIO_NET_OK) {
        *changed |= VIRTIO_NET_CTRL_CHANGED_FILTER;
    }
    return ack;
}

uint8_t virtio_net_ctrl_offloads(uint64_t features, uint8_t cmd,
                                 const uint8_t *data, size_t len,
                                 uint64_t *offloads)
{
    uint64_t want;

    if (!has(features, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
        cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || len != 8) {
        return VIRTIO_NET_ERR;
    }
    want = get_le32(data) | (uint64_t)get_le32(data + 4) << 32;
    /* Only what was negotiated, and only offload bits (5.1.6.5.6.2). */
    if (want & ~(features & VIRTIO_NET_GUEST_OFFLOAD_BITS)) {
        return VIRTIO_NET_ERR;
    }
    *offloads = want;
    return VIRTIO_NET_OK;
}

static bool mac_in(const uint8_t (*table)[ETH_ALEN], unsigned n,
                   const uint8_t *mac)
{
    for (unsigned i = 0; i < n; i++) {
        if (!memcmp(table[i], mac, ETH_ALEN)) {
            return true;
        }
    }
    return false;
}

/* With CTRL_VLAN, a tagged frame passes only for a VLAN the driver added. */
static bool vlan_accepts(const VirtioNetFilter *f, const uint8_t *frame,
                         size_t len)
{
    unsigned vid;

    if (!f->vlan_filtering || len < ETH_HLEN + 4 ||
        frame[12] != 0x81 || frame[13] != 0x00) {
        return true;
    }
    vid = (frame[14] << 8 | frame[15]) & 0xfff;
    return f->vlans[vid / 32] & (1u << (vid % 32));
}

bool virtio_net_filter_accepts(const VirtioNetFilter *f,
                               const uint8_t *frame, size_t len)
{
    static const uint8_t bcast[ETH_ALEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff
    };
    const uint8_t *dst = frame;

    if (len < ETH_HLEN) {
        return false;
    }
    if (f->promisc) {
        return true;
    }
    if (!vlan_accepts(f, frame, len)) {
        return false;
    }
    if (!memcmp(dst, bcast, ETH_ALEN)) {
        return !f->nobcast;
    }
    if (dst[0] & 1) {
        if (f->nomulti) {
            return false;
        }
        return f->allmulti || f->multi_overflow ||
               mac_in(f->multi, f->multi_count, dst);
    }
    if (f->nouni) {
        return false;
    }
    return f->alluni || f->uni_overflow || !memcmp(dst, f->mac, ETH_ALEN) ||
           mac_in(f->uni, f->uni_count, dst);
}

const char *virtio_net_tx_error_str(VirtioNetTxError err)
{
    static const char *const names[] = {
        [VIRTIO_NET_TX_OK] = "ok",
        [VIRTIO_NET_TX_BAD_FLAGS] = "unknown header flags",
        [VIRTIO_NET_TX_BAD_CSUM] = "checksum position outside the frame",
        [VIRTIO_NET_TX_CSUM_OFF] = "NEEDS_CSUM without the CSUM feature",
        [VIRTIO_NET_TX_BAD_GSO] = "gso_type unknown or not negotiated",
        [VIRTIO_NET_TX_BAD_GSO_SIZE] = "gso_size 0",
        [VIRTIO_NET_TX_GSO_NO_CSUM] = "GSO without NEEDS_CSUM",
    };

    return err < G_N_ELEMENTS(names) ? names[err] : "?";
}

static VirtioNetTxError tx_check_gso(const VirtioNetHdr *h,
                                     uint64_t features)
{
    unsigned bit;

    switch (h->gso_type) {
    case VIRTIO_NET_HDR_GSO_NONE:
        return VIRTIO_NET_TX_OK;
    case VIRTIO_NET_HDR_GSO_TCPV4:
        bit = VIRTIO_NET_F_HOST_TSO4;
        break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        bit = VIRTIO_NET_F_HOST_TSO6;
        break;
    default:                    /* UDP, ECN: never offered */
        return VIRTIO_NET_TX_BAD_GSO;
    }
    if (!has(features, bit)) {
        return VIRTIO_NET_TX_BAD_GSO;
    }
    if (!h->gso_size) {
        return VIRTIO_NET_TX_BAD_GSO_SIZE;
    }
    if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
        return VIRTIO_NET_TX_GSO_NO_CSUM;
    }
    return VIRTIO_NET_TX_OK;
}

VirtioNetTxError virtio_net_tx_check(const VirtioNetHdr *h, size_t frame_len,
                                     uint64_t features)
{
    /* DATA_VALID means nothing on transmit: tolerated, ignored. */
    if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM |
                     VIRTIO_NET_HDR_F_DATA_VALID)) {
        return VIRTIO_NET_TX_BAD_FLAGS;
    }
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!has(features, VIRTIO_NET_F_CSUM)) {
            return VIRTIO_NET_TX_CSUM_OFF;
        }
        if ((size_t)h->csum_start + h->csum_offset + 2 > frame_len) {
            return VIRTIO_NET_TX_BAD_CSUM;
        }
    }
    return tx_check_gso(h, features);
}

void virtio_net_hdr_parse(VirtioNetHdr *h, const uint8_t *b, size_t len)
{
    h->flags = b[0];
    h->gso_type = b[1];
    h->hdr_len = b[2] | b[3] << 8;
    h->gso_size = b[4] | b[5] << 8;
    h->csum_start = b[6] | b[7] << 8;
    h->csum_offset = b[8] | b[9] << 8;
    h->num_buffers = len >= VIRTIO_NET_HDR_LEN ? (b[10] | b[11] << 8) : 0;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

void virtio_net_hdr_store(const VirtioNetHdr *h, uint8_t *b, size_t len)
{
    b[0] = h->flags;
    b[1] = h->gso_type;
    put_le16(b + 2, h->hdr_len);
    put_le16(b + 4, h->gso_size);
    put_le16(b + 6, h->csum_start);
    put_le16(b + 8, h->csum_offset);
    if (len >= VIRTIO_NET_HDR_LEN) {
        put_le16(b + 10, h->num_buffers);
    }
}
