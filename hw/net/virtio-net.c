/*
 * virtio-net (virtio 1.2, 5.1) on the PCI transport: "virtio-net-pci".
 *
 * Queue 0 receives, queue 1 transmits, queue 2 (with CTRL_VQ) carries
 * control commands.  Every frame travels with a virtio-net header.  A
 * back end that understands the header (tap with IFF_VNET_HDR) gets it
 * as it is, and offloads pass through; with any other back end (user
 * networking) the device does the work itself: it completes checksums
 * and cuts TSO frames on transmit, and gives the guest plain frames with
 * a zero header on receive.
 *
 * Flow control both ways: a frame that finds no receive buffer stays in
 * the core's queue (receive returns 0) until the driver adds buffers and
 * kicks; a frame the back end queued stops transmission until its sent
 * callback.  Transmission does at most TX_BATCH frames per turn, then
 * goes on from a bottom half, so a busy guest cannot hold the main loop.
 */
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/virtio-pci.h"
#include "virtio-net.h"

#define TYPE_VIRTIO_NET_PCI "virtio-net-pci"

#define TX_BATCH            256
#define CTRL_QUEUE_SIZE     64
#define CTRL_DATA_MAX       (64 * 1024)   /* a MAC table of ~10900 entries */

/* struct virtio_net_config (5.1.4), the fields we fill. */
#define VNC_MAC             0x00
#define VNC_STATUS          0x06    /* le16 */
#define VNC_MAX_VQ_PAIRS    0x08    /* le16 */
#define VNC_MTU             0x0a    /* le16 */
#define VNC_SIZE            0x0c

typedef struct VirtIONet {
    VirtIOPCIProxy parent;
    /* properties */
    NICConf conf;
    bool csum;
    bool guest_csum;
    bool host_tso4;
    bool host_tso6;
    bool guest_tso4;
    bool guest_tso6;
    bool mrg_rxbuf;
    bool status;
    bool ctrl_vq;
    bool ctrl_rx;
    bool ctrl_rx_extra;
    bool ctrl_vlan;
    bool ctrl_mac_addr;
    bool ctrl_guest_offloads;
    uint16_t host_mtu;
    uint16_t rx_queue_size;
    uint16_t tx_queue_size;
    /* state */
    NetClientState *nc;
    VirtQueue *rx_vq;
    VirtQueue *tx_vq;
    bool vnet_peer;             /* the back end takes the header */
    size_t hdr_len;             /* the guest's: 12, or 10 (legacy) */
    bool mergeable;
    uint64_t guest_offloads;    /* GUEST_* bits in effect (5.1.6.5.6) */
    uint16_t link_status;
    VirtioNetFilter filter;
    /* receive chains popped for a frame that did not fit yet */
    VirtQueueElement **rx_stash;
    unsigned rx_stash_count;
    /* transmit */
    QliteBH *tx_bh;
    unsigned tx_waiting;        /* frames the back end queued, not sent */
    uint8_t *tx_buf;            /* the software path's copy of a frame */
    struct iovec *tx_iov;
    /* counters of frames dropped, for a reader with a debugger */
    uint64_t tx_bad;
    uint64_t rx_filtered;
    uint64_t rx_no_fit;
    uint64_t rx_bad;            /* offloads the driver did not accept */
} VirtIONet;

#define VIRTIO_NET_PCI(obj) \
    OBJECT_CHECK(VirtIONet, (obj), TYPE_VIRTIO_NET_PCI)

static VirtIONet *net_of(VirtIODevice *vdev)
{
    return container_of(vdev, VirtIONet, parent.vdev);
}

static bool vnet_has(VirtIONet *s, unsigned bit)
{
    return virtio_vdev_has_feature(&s->parent.vdev, bit);
}

/* The device may touch guest memory: driver running, bus master on. */
static bool virtio_net_dma_ok(VirtIONet *s)
{
    VirtIODevice *vdev = &s->parent.vdev;

    return (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) && !vdev->broken &&
           pci_bus_master_enabled(&s->parent.parent);
}

/* ---- config space and features ---- */

/* As QEMU sizes it: up to the last field an offered feature needs. */
static uint32_t virtio_net_config_len(VirtIONet *s)
{
    return s->host_mtu ? VNC_SIZE : VNC_MAX_VQ_PAIRS;
}

static void virtio_net_get_config(VirtIODevice *vdev, uint8_t *config)
{
    VirtIONet *s = net_of(vdev);
    uint8_t c[VNC_SIZE] = { 0 };

    memcpy(c + VNC_MAC, s->filter.mac, ETH_ALEN);
    pci_set_word(c + VNC_STATUS, s->link_status);
    pci_set_word(c + VNC_MAX_VQ_PAIRS, 1);
    pci_set_word(c + VNC_MTU, s->host_mtu);
    memcpy(config, c, vdev->config_len);
}

static void virtio_net_mac_changed(VirtIONet *s)
{
    net_nic_set_mac(s->nc, s->filter.mac);
    net_nic_rx_filter_changed(s->nc);
}

/* Legacy drivers without CTRL_MAC_ADDR set the MAC in the config (5.1.4). */
static void virtio_net_set_config(VirtIODevice *vdev, const uint8_t *c)
{
    VirtIONet *s = net_of(vdev);

    if (vnet_has(s, VIRTIO_F_VERSION_1) ||
        vnet_has(s, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
        !memcmp(c + VNC_MAC, s->filter.mac, ETH_ALEN)) {
        return;
    }
    memcpy(s->filter.mac, c + VNC_MAC, ETH_ALEN);
    virtio_net_mac_changed(s);
}

/* The GUEST_* offloads in effect are what tap may hand us (TUNSETOFFLOAD). */
static void virtio_net_set_peer_offloads(VirtIONet *s, uint64_t f)
{
    NetOffloads o = {
        .csum = virtio_has_feature(f, VIRTIO_NET_F_GUEST_CSUM),
        .tso4 = virtio_has_feature(f, VIRTIO_NET_F_GUEST_TSO4),
        .tso6 = virtio_has_feature(f, VIRTIO_NET_F_GUEST_TSO6),
    };

    if (s->vnet_peer) {
        net_peer_set_offload(s->nc, &o);
    }
}

static void virtio_net_set_features(VirtIODevice *vdev, uint64_t f)
{
    VirtIONet *s = net_of(vdev);

    s->mergeable = virtio_has_feature(f, VIRTIO_NET_F_MRG_RXBUF);
    /* 5.1.6: the 10-byte header only for legacy drivers without MRG. */
    s->hdr_len = s->mergeable || virtio_has_feature(f, VIRTIO_F_VERSION_1)
                 ? VIRTIO_NET_HDR_LEN : VIRTIO_NET_HDR_LEGACY_LEN;
    s->filter.vlan_filtering = virtio_has_feature(f, VIRTIO_NET_F_CTRL_VLAN);
    s->guest_offloads = f & VIRTIO_NET_GUEST_OFFLOAD_BITS;
    virtio_net_set_peer_offloads(s, s->guest_offloads);
}

static uint64_t bit(unsigned b)
{
    return UINT64_C(1) << b;
}

static uint64_t virtio_net_host_features(VirtIONet *s)
{
    uint64_t f = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ANY_LAYOUT) |
                 bit(VIRTIO_F_RING_INDIRECT_DESC) |
                 bit(VIRTIO_F_RING_EVENT_IDX) | bit(VIRTIO_NET_F_MAC);

    if (s->csum) {
        f |= bit(VIRTIO_NET_F_CSUM);
        f |= s->host_tso4 ? bit(VIRTIO_NET_F_HOST_TSO4) : 0;
        f |= s->host_tso6 ? bit(VIRTIO_NET_F_HOST_TSO6) : 0;
    }
    /* Only a header-carrying back end can hand the guest partial csums. */
    if (s->vnet_peer && s->guest_csum) {
        f |= bit(VIRTIO_NET_F_GUEST_CSUM);
        f |= s->guest_tso4 ? bit(VIRTIO_NET_F_GUEST_TSO4) : 0;
        f |= s->guest_tso6 ? bit(VIRTIO_NET_F_GUEST_TSO6) : 0;
    }
    f |= s->mrg_rxbuf ? bit(VIRTIO_NET_F_MRG_RXBUF) : 0;
    f |= s->status ? bit(VIRTIO_NET_F_STATUS) : 0;
    f |= s->host_mtu ? bit(VIRTIO_NET_F_MTU) : 0;
    if (s->ctrl_vq) {
        f |= bit(VIRTIO_NET_F_CTRL_VQ);
        f |= s->ctrl_rx ? bit(VIRTIO_NET_F_CTRL_RX) : 0;
        f |= s->ctrl_rx && s->ctrl_rx_extra ?
             bit(VIRTIO_NET_F_CTRL_RX_EXTRA) : 0;
        f |= s->ctrl_vlan ? bit(VIRTIO_NET_F_CTRL_VLAN) : 0;
        f |= s->ctrl_mac_addr ? bit(VIRTIO_NET_F_CTRL_MAC_ADDR) : 0;
        f |= s->ctrl_guest_offloads ?
             bit(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) : 0;
    }
    return f;
}

/* ---- transmit ---- */

static void virtio_net_tx_sent(NetClientState *nc, ssize_t len)
{
    VirtIONet *s = nc->opaque;

    if (s->tx_waiting && --s->tx_waiting == 0) {
        bh_schedule(s->tx_bh);
    }
}

static void virtio_net_send(VirtIONet *s, const struct iovec *iov,
                            unsigned n)
{
    /* Counted first: a back end may call back before this returns. */
    s->tx_waiting++;
    if (net_send_iov(s->nc, iov, n, virtio_net_tx_sent) != 0) {
        s->tx_waiting--;            /* taken at once: no callback comes */
    }
}

static void virtio_net_send_segment(void *opaque, const uint8_t *seg,
                                    size_t len)
{
    struct iovec iov = { .iov_base = (void *)seg, .iov_len = len };

    virtio_net_send(opaque, &iov, 1);
}

/* A tap-like back end: our 12-byte header, then the guest's frame. */
static void virtio_net_tx_passthrough(VirtIONet *s, const VirtioNetHdr *h,
                                      VirtQueueElement *e, size_t len)
{
    uint8_t raw[VIRTIO_NET_HDR_LEN];
    VirtioNetHdr out = *h;
    unsigned n;

    out.num_buffers = 0;
    virtio_net_hdr_store(&out, raw, sizeof(raw));
    s->tx_iov[0].iov_base = raw;
    s->tx_iov[0].iov_len = sizeof(raw);
    n = iov_slice(e->out_sg, e->out_num, s->hdr_len, len, s->tx_iov + 1);
    virtio_net_send(s, s->tx_iov, n + 1);
}

/* No header at the back end: checksum and segment here. */
static bool virtio_net_tx_software(VirtIONet *s, const VirtioNetHdr *h,
                                   VirtQueueElement *e, size_t len)
{
    struct iovec iov = { .iov_base = s->tx_buf, .iov_len = len };

    iov_to_buf(e->out_sg, e->out_num, s->hdr_len, s->tx_buf, len);
    if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        return net_tso_segment(s->tx_buf, len,
                               net_peer_tso_mss(s->nc, h->gso_size),
                               virtio_net_send_segment, s);
    }
    if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
        !net_checksum_insert(s->tx_buf, len, h->csum_start,
                             h->csum_start + h->csum_offset, 0)) {
        return false;
    }
    virtio_net_send(s, &iov, 1);
    return true;
}

static void virtio_net_tx_one(VirtIONet *s, VirtQueueElement *e)
{
    uint8_t raw[VIRTIO_NET_HDR_LEN];
    VirtioNetTxError err;
    VirtioNetHdr h;
    size_t len;

    /* 5.1.6.2: the header comes first, in the device-readable part. */
    if (e->out_len < s->hdr_len) {
        virtio_error(&s->parent.vdev, "transmit chain of %u bytes without "
                     "its header", e->out_len);
        virtqueue_push(s->tx_vq, e, 0);
        return;
    }
    iov_to_buf(e->out_sg, e->out_num, 0, raw, s->hdr_len);
    virtio_net_hdr_parse(&h, raw, s->hdr_len);
    len = e->out_len - s->hdr_len;
    err = virtio_net_tx_check(&h, len, s->parent.vdev.guest_features);
    if (!err && (len < ETH_HLEN || len > NET_MAX_FRAME)) {
        qlite_log_guest_error("virtio-net: transmit frame of %zu bytes "
                              "dropped", len);
        s->tx_bad++;
    } else if (err) {
        qlite_log_guest_error("virtio-net: transmit frame dropped: %s",
                              virtio_net_tx_error_str(err));
        s->tx_bad++;
    } else if (s->vnet_peer) {
        virtio_net_tx_passthrough(s, &h, e, len);
    } else if (!virtio_net_tx_software(s, &h, e, len)) {
        qlite_log_guest_error("virtio-net: transmit offload request on a "
                              "frame that is not TCP/UDP over IP; dropped");
        s->tx_bad++;
    }
    virtqueue_push(s->tx_vq, e, 0);
}

static void virtio_net_flush_tx(VirtIONet *s)
{
    VirtQueueElement *e;
    unsigned done = 0;

    /* A back end deleted with our frames queued never calls back. */
    if (!s->nc->peer) {
        s->tx_waiting = 0;
    }
    if (s->tx_waiting || !virtio_net_dma_ok(s)) {
        return;
    }
    while (done < TX_BATCH && !s->tx_waiting &&
           (e = virtqueue_pop(s->tx_vq))) {
        virtio_net_tx_one(s, e);
        done++;
    }
    if (done) {
        virtio_notify(&s->parent.vdev, s->tx_vq);
    }
    if (done == TX_BATCH && !s->tx_waiting) {
        bh_schedule(s->tx_bh);      /* more may wait: after other work */
    }
}

static void virtio_net_tx_bh(void *opaque)
{
    virtio_net_flush_tx(opaque);
}

static void virtio_net_handle_tx(VirtIODevice *vdev, VirtQueue *vq)
{
    virtio_net_flush_tx(net_of(vdev));
}

/* ---- receive ---- */

/* The oldest receive chain: one kept from before, or a new one. */
static VirtQueueElement *virtio_net_rx_chain(VirtIONet *s, unsigned i)
{
    VirtQueueElement *e;

    while (i >= s->rx_stash_count) {
        e = virtqueue_pop(s->rx_vq);
        if (!e) {
            return NULL;
        }
        /* Every receive buffer holds at least a header (5.1.6.3.1). */
        if (e->in_len < s->hdr_len) {
            qlite_log_guest_error("virtio-net: receive chain of %u bytes "
                                  "is smaller than the header", e->in_len);
            virtqueue_push(s->rx_vq, e, 0);
            continue;
        }
        s->rx_stash[s->rx_stash_count++] = e;
    }
    return s->rx_stash[i];
}

/* Chains 0..n-1 were filled: hand them to the driver together. */
static void virtio_net_rx_publish(VirtIONet *s, unsigned n,
                                  const uint32_t *lens)
{
    virtqueue_push_many(s->rx_vq, s->rx_stash, lens, n);
    s->rx_stash_count -= n;
    memmove(s->rx_stash, s->rx_stash + n,
            s->rx_stash_count * sizeof(*s->rx_stash));
    virtio_notify(&s->parent.vdev, s->rx_vq);
}

/*
 * How many chains (from the oldest) hold @need bytes: 0 when the ring
 * has too few now, -1 when even a full ring never could.
 */
static int virtio_net_rx_chains_for(VirtIONet *s, size_t need)
{
    size_t have = 0;
    unsigned max = s->mergeable ? s->rx_vq->num : 1;

    for (unsigned i = 0; i < max; i++) {
        VirtQueueElement *e = virtio_net_rx_chain(s, i);

        if (!e) {
            return 0;
        }
        have += e->in_len;
        if (have >= need) {
            return i + 1;
        }
    }
    return -1;
}

/* One frame of @len bytes at @soff in @iov, with header @h, to the guest. */
static ssize_t virtio_net_rx_deliver(VirtIONet *s, VirtioNetHdr *h,
                                     const struct iovec *iov, int iovcnt,
                                     size_t soff, size_t len)
{
    uint32_t lens[VIRTQUEUE_MAX_SIZE];
    uint8_t raw[VIRTIO_NET_HDR_LEN];
    int n = virtio_net_rx_chains_for(s, s->hdr_len + len);
    size_t done = 0;

    if (n == 0) {
        return 0;                   /* wait for buffers */
    }
    if (n < 0) {
        qlite_log_guest_error("virtio-net: receive buffers too small for "
                              "a frame of %zu bytes; dropped", len);
        s->rx_no_fit++;
        if (!s->mergeable) {
            lens[0] = 0;            /* the driver sees a runt and drops it */
            virtio_net_rx_publish(s, 1, lens);
        }
        return iov_size(iov, iovcnt);
    }
    h->num_buffers = n;
    virtio_net_hdr_store(h, raw, s->hdr_len);
    for (int i = 0; i < n; i++) {
        VirtQueueElement *e = s->rx_stash[i];
        /* A legacy driver may have renegotiated the header since. */
        size_t hl = i == 0 ? MIN(s->hdr_len, e->in_len) : 0;
        size_t chunk = MIN(len - done, e->in_len - hl);

        if (hl) {
            iov_from_buf(e->in_sg, e->in_num, 0, raw, hl);
        }
        iov_copy(e->in_sg, e->in_num, hl, iov, iovcnt, soff + done, chunk);
        done += chunk;
        lens[i] = hl + chunk;
    }
    virtio_net_rx_publish(s, n, lens);
    return iov_size(iov, iovcnt);
}

/*
 * A header from the back end must only claim what the driver accepted
 * (5.1.6.4.1); frames queued before a reset or a renegotiation may not.
 */
static bool virtio_net_rx_hdr_ok(VirtIONet *s, VirtioNetHdr *h)
{
    uint64_t on = s->guest_offloads;
    uint8_t gso = h->gso_type;

    h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
    if (!virtio_has_feature(on, VIRTIO_NET_F_GUEST_CSUM)) {
        if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
            return false;
        }
        h->flags = 0;
    }
    return gso == VIRTIO_NET_HDR_GSO_NONE ||
           (gso == VIRTIO_NET_HDR_GSO_TCPV4 &&
            virtio_has_feature(on, VIRTIO_NET_F_GUEST_TSO4)) ||
           (gso == VIRTIO_NET_HDR_GSO_TCPV6 &&
            virtio_has_feature(on, VIRTIO_NET_F_GUEST_TSO6));
}

static ssize_t virtio_net_receive(NetClientState *nc, const struct iovec *iov,
                                  int iovcnt)
{
    VirtIONet *s = nc->opaque;
    VirtIODevice *vdev = &s->parent.vdev;
    size_t total = iov_size(iov, iovcnt);
    size_t skip = s->vnet_peer ? VIRTIO_NET_HDR_LEN : 0;
    uint8_t head[ETH_HLEN + 4];
    VirtioNetHdr h = { 0 };

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return total;               /* no driver: the frame is lost */
    }
    if (!virtio_net_dma_ok(s) || !virtio_queue_ready(s->rx_vq)) {
        return 0;
    }
    if (total < skip + ETH_HLEN || total - skip > NET_MAX_FRAME) {
        s->rx_no_fit++;
        return total;
    }
    if (skip) {
        uint8_t raw[VIRTIO_NET_HDR_LEN];

        iov_to_buf(iov, iovcnt, 0, raw, sizeof(raw));
        virtio_net_hdr_parse(&h, raw, sizeof(raw));
        if (!virtio_net_rx_hdr_ok(s, &h)) {
            s->rx_bad++;
            return total;
        }
    }
    iov_to_buf(iov, iovcnt, skip, head, sizeof(head));
    if (!virtio_net_filter_accepts(&s->filter, head,
                                   MIN(total - skip, sizeof(head)))) {
        s->rx_filtered++;
        return total;
    }
    return virtio_net_rx_deliver(s, &h, iov, iovcnt, skip, total - skip);
}

/* The driver added receive buffers: deliver what waited for them. */
static void virtio_net_handle_rx(VirtIODevice *vdev, VirtQueue *vq)
{
    net_flush_queued(net_of(vdev)->nc);
}

/* ---- control queue ---- */

static void virtio_net_ctrl_done(VirtIONet *s, unsigned changed)
{
    if (changed & VIRTIO_NET_CTRL_CHANGED_MAC) {
        net_nic_set_mac(s->nc, s->filter.mac);
    }
    if (changed) {
        net_nic_rx_filter_changed(s->nc);
    }
}

static uint8_t virtio_net_ctrl_dispatch(VirtIONet *s, uint8_t cls,
                                        uint8_t cmd, const uint8_t *data,
                                        size_t len, unsigned *changed)
{
    uint64_t features = s->parent.vdev.guest_features;
    uint8_t ack;

    if (cls != VIRTIO_NET_CTRL_GUEST_OFFLOADS) {
        return virtio_net_ctrl_apply(&s->filter, features, cls, cmd, data,
                                     len, changed);
    }
    ack = virtio_net_ctrl_offloads(features, cmd, data, len,
                                   &s->guest_offloads);
    if (ack == VIRTIO_NET_OK) {
        virtio_net_set_peer_offloads(s, s->guest_offloads);
    }
    return ack;
}

static void virtio_net_ctrl_one(VirtIONet *s, VirtQueue *vq,
                                VirtQueueElement *e)
{
    uint8_t cmd[2], ack = VIRTIO_NET_ERR;
    g_autofree uint8_t *data = NULL;
    unsigned changed = 0;
    size_t len;

    /* 5.1.6.5: class and command readable, the ack byte writable. */
    if (e->out_len < sizeof(cmd) || e->in_len < 1) {
        virtio_error(&s->parent.vdev, "control command without header "
                     "or ack");
        virtqueue_push(vq, e, 0);
        return;
    }
    iov_to_buf(e->out_sg, e->out_num, 0, cmd, sizeof(cmd));
    len = e->out_len - sizeof(cmd);
    if (len <= CTRL_DATA_MAX) {
        data = g_malloc(len + 1);
        iov_to_buf(e->out_sg, e->out_num, sizeof(cmd), data, len);
        ack = virtio_net_ctrl_dispatch(s, cmd[0], cmd[1], data, len,
                                       &changed);
    }
    if (ack != VIRTIO_NET_OK) {
        qlite_log_guest_error("virtio-net: control command %u.%u with %zu "
                              "bytes refused", cmd[0], cmd[1], len);
    }
    iov_from_buf(e->in_sg, e->in_num, 0, &ack, 1);
    virtqueue_push(vq, e, 1);
    virtio_net_ctrl_done(s, changed);
}

static void virtio_net_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIONet *s = net_of(vdev);
    VirtQueueElement *e;
    bool any = false;

    while ((e = virtqueue_pop(vq))) {
        virtio_net_ctrl_one(s, vq, e);
        any = true;
    }
    if (any) {
        virtio_notify(vdev, vq);
    }
}

/* ---- the network core's view ---- */

static void virtio_net_link_changed(NetClientState *nc)
{
    VirtIONet *s = nc->opaque;
    VirtIODevice *vdev = &s->parent.vdev;

    s->link_status = nc->link_down ? 0 : VIRTIO_NET_S_LINK_UP;
    if ((vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
        vnet_has(s, VIRTIO_NET_F_STATUS)) {
        virtio_notify_config(vdev);
    }
}

static NetRxState rx_state(bool none, bool all)
{
    return none ? RX_STATE_NONE : all ? RX_STATE_ALL : RX_STATE_NORMAL;
}

static void virtio_net_query_rx_filter(NetClientState *nc, NetRxFilter *rf)
{
    VirtIONet *s = nc->opaque;
    const VirtioNetFilter *f = &s->filter;

    rf->promiscuous = f->promisc;
    rf->multicast = rx_state(f->nomulti, f->allmulti);
    rf->unicast = rx_state(f->nouni, f->alluni);
    rf->vlan = f->vlan_filtering ? RX_STATE_NORMAL : RX_STATE_ALL;
    rf->broadcast_allowed = !f->nobcast;
    rf->multicast_overflow = f->multi_overflow;
    rf->unicast_overflow = f->uni_overflow;
    memcpy(rf->main_mac, f->mac, ETH_ALEN);
    g_array_append_vals(rf->unicast_table, f->uni, f->uni_count);
    g_array_append_vals(rf->multicast_table, f->multi, f->multi_count);
    for (unsigned vid = 0; f->vlan_filtering && vid < VIRTIO_NET_VLAN_MAX;
         vid++) {
        if (f->vlans[vid / 32] & (1u << (vid % 32))) {
            g_array_append_val(rf->vlan_table, vid);
        }
    }
}

static const NetClientInfo virtio_net_info = {
    .kind = NET_CLIENT_NIC,
    .receive = virtio_net_receive,
    .link_status_changed = virtio_net_link_changed,
    .query_rx_filter = virtio_net_query_rx_filter,
};

/* ---- lifecycle ---- */

static void virtio_net_drop_stash(VirtIONet *s)
{
    for (unsigned i = 0; i < s->rx_stash_count; i++) {
        virtq_element_free(s->rx_stash[i]);
    }
    s->rx_stash_count = 0;
}

static void virtio_net_reset(VirtIODevice *vdev)
{
    VirtIONet *s = net_of(vdev);
    bool mac_changed = memcmp(s->filter.mac, s->conf.macaddr, ETH_ALEN);

    virtio_net_drop_stash(s);
    net_purge_sent(s->nc);
    s->tx_waiting = 0;
    bh_cancel(s->tx_bh);
    virtio_net_filter_reset(&s->filter, s->conf.macaddr);
    s->mergeable = false;
    s->hdr_len = VIRTIO_NET_HDR_LEGACY_LEN;
    s->guest_offloads = 0;
    virtio_net_set_peer_offloads(s, 0);
    if (mac_changed) {
        virtio_net_mac_changed(s);
    }
}

static const VirtIODeviceOps virtio_net_ops = {
    .get_config = virtio_net_get_config,
    .set_config = virtio_net_set_config,
    .set_features = virtio_net_set_features,
    .reset = virtio_net_reset,
};

static bool queue_size_ok(uint16_t size)
{
    return size >= 256 && size <= VIRTQUEUE_MAX_SIZE &&
           !(size & (size - 1));
}

static bool virtio_net_check_props(VirtIONet *s, GError **errp)
{
    /* QEMU's words (its rx message ends in a full stop, tx's not). */
    if (!queue_size_ok(s->rx_queue_size)) {
        error_setg(errp, "Invalid rx_queue_size (= %u), must be a power of "
                   "2 between 256 and %d.", s->rx_queue_size,
                   VIRTQUEUE_MAX_SIZE);
        return false;
    }
    if (!queue_size_ok(s->tx_queue_size)) {
        error_setg(errp, "Invalid tx_queue_size (= %u), must be a power of "
                   "2 between 256 and %d", s->tx_queue_size,
                   VIRTQUEUE_MAX_SIZE);
        return false;
    }
    return true;
}

static void virtio_net_realize(VirtIOPCIProxy *proxy, GError **errp)
{
    VirtIONet *s = VIRTIO_NET_PCI(proxy);
    VirtIODevice *vdev = &proxy->vdev;

    if (!virtio_net_check_props(s, errp)) {
        return;
    }
    s->nc = net_nic_new(DEVICE(s), &s->conf, &virtio_net_info,
                        TYPE_VIRTIO_NET_PCI, s, errp);
    if (!s->nc) {
        return;
    }
    s->vnet_peer = net_peer_has_vnet_hdr(s->nc);
    if (s->vnet_peer) {
        net_peer_using_vnet_hdr(s->nc, true);
    }
    virtio_init(vdev, "virtio-net", VIRTIO_ID_NET, virtio_net_config_len(s),
                &virtio_net_ops, s);
    vdev->host_features = virtio_net_host_features(s);
    s->rx_vq = virtio_add_queue(vdev, s->rx_queue_size,
                                virtio_net_handle_rx);
    s->tx_vq = virtio_add_queue(vdev, s->tx_queue_size,
                                virtio_net_handle_tx);
    if (s->ctrl_vq) {
        virtio_add_queue(vdev, CTRL_QUEUE_SIZE, virtio_net_handle_ctrl);
    }
    s->rx_stash = g_new0(VirtQueueElement *, s->rx_queue_size);
    s->tx_buf = g_malloc(NET_MAX_FRAME);
    s->tx_iov = g_new(struct iovec, s->tx_queue_size + 1);
    s->tx_bh = bh_new(virtio_net_tx_bh, s);
    s->link_status = s->nc->link_down ? 0 : VIRTIO_NET_S_LINK_UP;
    s->hdr_len = VIRTIO_NET_HDR_LEGACY_LEN;
    virtio_net_filter_reset(&s->filter, s->conf.macaddr);
}

static void virtio_net_unrealize(VirtIOPCIProxy *proxy)
{
    VirtIONet *s = VIRTIO_NET_PCI(proxy);

    if (!s->nc) {
        return;
    }
    virtio_net_drop_stash(s);
    net_purge_sent(s->nc);
    bh_delete(s->tx_bh);
    net_client_free(s->nc);
    s->nc = NULL;
    g_clear_pointer(&s->rx_stash, g_free);
    g_clear_pointer(&s->tx_buf, g_free);
    g_clear_pointer(&s->tx_iov, g_free);
    virtio_cleanup(&proxy->vdev);
}

static const Property virtio_net_props[] = {
    DEFINE_NIC_PROPERTIES(VirtIONet, conf),
    DEFINE_PROP_BOOL("csum", VirtIONet, csum, true),
    DEFINE_PROP_BOOL("guest_csum", VirtIONet, guest_csum, true),
    DEFINE_PROP_BOOL("host_tso4", VirtIONet, host_tso4, true),
    DEFINE_PROP_BOOL("host_tso6", VirtIONet, host_tso6, true),
    DEFINE_PROP_BOOL("guest_tso4", VirtIONet, guest_tso4, true),
    DEFINE_PROP_BOOL("guest_tso6", VirtIONet, guest_tso6, true),
    DEFINE_PROP_BOOL("mrg_rxbuf", VirtIONet, mrg_rxbuf, true),
    DEFINE_PROP_BOOL("status", VirtIONet, status, true),
    DEFINE_PROP_BOOL("ctrl_vq", VirtIONet, ctrl_vq, true),
    DEFINE_PROP_BOOL("ctrl_rx", VirtIONet, ctrl_rx, true),
    DEFINE_PROP_BOOL("ctrl_rx_extra", VirtIONet, ctrl_rx_extra, true),
    DEFINE_PROP_BOOL("ctrl_vlan", VirtIONet, ctrl_vlan, true),
    DEFINE_PROP_BOOL("ctrl_mac_addr", VirtIONet, ctrl_mac_addr, true),
    DEFINE_PROP_BOOL("ctrl_guest_offloads", VirtIONet, ctrl_guest_offloads,
                     true),
    DEFINE_PROP_UINT16("host_mtu", VirtIONet, host_mtu, 0),
    DEFINE_PROP_UINT16("rx_queue_size", VirtIONet, rx_queue_size, 256),
    DEFINE_PROP_UINT16("tx_queue_size", VirtIONet, tx_queue_size, 256),
    DEFINE_PROP_END_OF_LIST(),
};

static void virtio_net_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);
    VirtIOPCIClass *vc = VIRTIO_PCI_CLASS(oc);

    dc->desc = "Virtio network device";
    dc->category = DEVICE_CATEGORY_NETWORK;
    dc->user_creatable = true;
    dc->props = virtio_net_props;
    k->class_id = 0x0200;       /* network, Ethernet */
    vc->realize = virtio_net_realize;
    vc->unrealize = virtio_net_unrealize;
    vc->virtio_id = VIRTIO_ID_NET;
}

static const TypeInfo virtio_net_pci_info = {
    .name = TYPE_VIRTIO_NET_PCI,
    .parent = TYPE_VIRTIO_PCI,
    .instance_size = sizeof(VirtIONet),
    .class_size = sizeof(VirtIOPCIClass),
    .class_init = virtio_net_class_init,
};

type_init(virtio_net_register_types)
{
    type_register(&virtio_net_pci_info);
}
