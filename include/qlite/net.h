/*
 * The network core: a NIC front end and a back end (user, tap) are two
 * NetClientStates that are each other's peer.  Either sends a frame to
 * its peer with net_send_iov(); the peer's receive() takes it, or says
 * it cannot now (returns 0), and then the frame waits in the peer's
 * incoming queue until the peer calls net_flush_queued() (a NIC does
 * when the guest gives it receive buffers, tap when its fd is writable).
 * A sender that passes a sent callback learns when a queued frame went
 * out and should send nothing more until then: that is the flow control
 * that keeps a full guest ring from losing frames.
 *
 * Frames are Ethernet frames without the FCS.  A back end that carries
 * a virtio-net header (tap with IFF_VNET_HDR) says so in has_vnet_hdr;
 * a NIC that will prefix every frame it sends and expects one before
 * every frame it receives calls net_peer_using_vnet_hdr(nic, true).
 *
 * Everything here runs with the big lock held.
 */
#ifndef QLITE_NET_H
#define QLITE_NET_H

#include "qlite/keyval.h"
#include "qlite/qdev.h"

#include <sys/uio.h>

#define ETH_ALEN            6
#define ETH_HLEN            14
#define ETH_MIN_FRAME       60      /* without FCS; shorter ones are padded */
#define NET_MAX_FRAME       65536   /* one GSO frame plus headers, at most */
#define NET_QUEUE_MAX       4096    /* frames one client may have waiting */

typedef struct NetClientState NetClientState;

typedef enum {
    NET_CLIENT_NIC,
    NET_CLIENT_USER,
    NET_CLIENT_TAP,
} NetClientKind;

/*
 * The virtio-net header (virtio 1.2, 5.1.6), 12 bytes: the form both
 * virtio-net (VERSION_1 or MRG_RXBUF) and tap (TUNSETVNETHDRSZ 12) use.
 * Fields are little-endian.
 */
typedef struct VirtioNetHdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
} VirtioNetHdr;
#define VIRTIO_NET_HDR_LEN              12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM     1
#define VIRTIO_NET_HDR_F_DATA_VALID     2
#define VIRTIO_NET_HDR_GSO_NONE         0
#define VIRTIO_NET_HDR_GSO_TCPV4        1
#define VIRTIO_NET_HDR_GSO_UDP          3
#define VIRTIO_NET_HDR_GSO_TCPV6        4
#define VIRTIO_NET_HDR_GSO_ECN          0x80

/* Offloads a NIC asks a vnet-header back end for (TUNSETOFFLOAD). */
typedef struct NetOffloads {
    bool csum;      /* frames to the guest may carry NEEDS_CSUM */
    bool tso4;
    bool tso6;
    bool ecn;
    bool ufo;
} NetOffloads;

/* What query-rx-filter reports for a NIC. */
typedef enum {
    RX_STATE_NORMAL,
    RX_STATE_NONE,
    RX_STATE_ALL,
} NetRxState;

typedef struct NetRxFilter {
    bool promiscuous;
    NetRxState multicast;
    NetRxState unicast;
    NetRxState vlan;
    bool broadcast_allowed;
    bool multicast_overflow;
    bool unicast_overflow;
    uint8_t main_mac[ETH_ALEN];
    GArray *vlan_table;         /* of unsigned int; filled by the NIC */
    GArray *unicast_table;      /* of uint8_t[ETH_ALEN] */
    GArray *multicast_table;    /* of uint8_t[ETH_ALEN] */
} NetRxFilter;

typedef struct NetClientInfo {
    NetClientKind kind;
    /*
     * Take one frame.  Returns its length when taken (or deliberately
     * dropped, e.g. filtered), 0 when it cannot take it now: the core
     * queues it and the client calls net_flush_queued() later.
     */
    ssize_t (*receive)(NetClientState *nc, const struct iovec *iov,
                       int iovcnt);
    /* Optional: false keeps frames queued without calling receive. */
    bool (*can_receive)(NetClientState *nc);
    /* nc->link_down changed (set_link). */
    void (*link_status_changed)(NetClientState *nc);
    /* Free the owner's state; called by net_client_free(). */
    void (*cleanup)(NetClientState *nc);
    /* Back ends with a virtio-net header (tap). */
    bool (*has_vnet_hdr)(NetClientState *nc);
    void (*using_vnet_hdr)(NetClientState *nc, bool on);
    void (*set_offload)(NetClientState *nc, const NetOffloads *o);
    /*
     * A TCP stack rather than a wire (user networking): it takes a TSO
     * frame whole, with complete checksums, instead of MSS-sized pieces.
     */
    bool takes_whole_tso;
    /* NICs: fill @f (tables already allocated, empty). */
    void (*query_rx_filter)(NetClientState *nc, NetRxFilter *f);
} NetClientInfo;

typedef struct NetQueuedPacket NetQueuedPacket;
typedef void NetPacketSent(NetClientState *sender, ssize_t len);

struct NetClientState {
    const NetClientInfo *info;
    NetClientState *peer;
    char *name;                 /* netdev id, or the NIC's device id */
    char *model;                /* "user", "tap", "e1000", "virtio-net-pci" */
    char *info_str;             /* the rest of its "info network" line */
    bool link_down;
    bool rx_filter_notify;      /* next filter change emits an event */
    GQueue incoming;            /* of NetQueuedPacket *, waiting for us */
    bool flushing;
    uint64_t dropped;           /* frames lost to a full incoming queue */
    void *opaque;               /* the owner's state */
    /* NICs */
    DeviceState *dev;
    uint8_t mac[ETH_ALEN];
};

/* ---- clients ---------------------------------------------------------- */

NetClientState *net_client_new(const NetClientInfo *info, const char *name,
                               const char *model, void *opaque);
/* Unpeer, drop what waits for it and for its peer from it, cleanup(). */
void net_client_free(NetClientState *nc);
void net_client_set_info_str(NetClientState *nc, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
/* By name: back ends by netdev id, NICs by device id. */
NetClientState *net_client_find(const char *name);
/* Every client in creation order (info network, query-rx-filter). */
void net_client_foreach(void (*fn)(NetClientState *nc, void *opaque),
                        void *opaque);
/* QMP/HMP set_link: @name is a NIC or a netdev; both ends see it. */
bool net_set_link(const char *name, bool up, GError **errp);

/* ---- sending ---------------------------------------------------------- */

/*
 * Send one frame to @sender's peer.  Returns its length when delivered
 * (or dropped: no peer, a link down, a full queue), 0 when queued; then
 * @sent_cb, if given, runs once the peer takes it.
 */
ssize_t net_send_iov(NetClientState *sender, const struct iovec *iov,
                     int iovcnt, NetPacketSent *sent_cb);
ssize_t net_send(NetClientState *sender, const void *buf, size_t len);
/* @nc can take frames again: deliver its incoming queue. */
void net_flush_queued(NetClientState *nc);
/* Drop frames @sender queued at its peer (a NIC reset), no callbacks. */
void net_purge_sent(NetClientState *sender);
/*
 * The payload size a NIC cuts a TSO frame at for its peer: the guest's
 * @mss for a wire, or as much as one IP datagram holds for a peer that
 * takes whole TSO frames (one slirp input and one host send() per 64 KiB
 * instead of per 1.4 KiB).
 */
unsigned net_peer_tso_mss(NetClientState *nc, unsigned mss);
/* Whether the peer can take a frame now (false: no peer or it refuses). */
bool net_peer_can_receive(NetClientState *nc);

/* vnet header plumbing, all false/no-op when the peer lacks it. */
bool net_peer_has_vnet_hdr(NetClientState *nc);
void net_peer_using_vnet_hdr(NetClientState *nc, bool on);
void net_peer_set_offload(NetClientState *nc, const NetOffloads *o);

/* ---- NICs ------------------------------------------------------------- */

/* What every NIC carries as properties "mac" and "netdev". */
typedef struct NICConf {
    uint8_t macaddr[ETH_ALEN];  /* all zero: generate one */
    char *netdev;
    int32_t bootindex;          /* see qdev_claim_bootindex() */
} NICConf;

#define DEFINE_NIC_PROPERTIES(S, conf) \
    DEFINE_PROP_MACADDR("mac", S, conf.macaddr), \
    DEFINE_PROP_LINK("netdev", S, conf.netdev), \
    DEFINE_PROP_INT32("bootindex", S, conf.bootindex, -1)

/*
 * Realize-time: make the NIC's client, peer it with the netdev named in
 * @conf (an error when there is none of that name or it already has a
 * NIC), and fill conf->macaddr with 52:54:00:12:34:NN unless given.
 * A NIC without netdev= is valid: its frames go nowhere.
 */
NetClientState *net_nic_new(DeviceState *dev, NICConf *conf,
                            const NetClientInfo *info, const char *model,
                            void *opaque, GError **errp);
/* The NIC changed its MAC: info network shows the new one. */
void net_nic_set_mac(NetClientState *nc, const uint8_t *mac);
/* The guest changed the NIC's receive filter: NIC_RX_FILTER_CHANGED. */
void net_nic_rx_filter_changed(NetClientState *nc);
/*
 * The NIC's filter for query-rx-filter (tables made here, freed with
 * net_rx_filter_clear()); clears rx_filter_notify so the next change
 * emits NIC_RX_FILTER_CHANGED again.
 */
void net_nic_query_rx_filter(NetClientState *nc, NetRxFilter *f);
void net_rx_filter_clear(NetRxFilter *f);

/* ---- back ends -------------------------------------------------------- */

/*
 * A back end type: "user", "tap".  init() reads its keys from @opts
 * (marking them used) and makes a NetClientState named @id.
 */
typedef struct NetBackendType {
    const char *type;
    NetClientState *(*init)(QliteOpts *opts, const char *id, GError **errp);
} NetBackendType;

void net_backend_register(const NetBackendType *t);
/* -netdev / netdev_add: type=, id=, the type's keys; all must be used. */
NetClientState *netdev_add(QliteOpts *opts, GError **errp);
/* The same for -nic and -net, whose made-up ids are __org.qemu.*. */
NetClientState *netdev_add_hidden(QliteOpts *opts, GError **errp);
bool netdev_del(const char *id, GError **errp);

/* user networking (net/slirp.c), for HMP hostfwd_add/hostfwd_remove. */
bool net_slirp_hostfwd_add(const char *netdev, const char *spec,
                           GError **errp);
bool net_slirp_hostfwd_remove(const char *netdev, const char *spec,
                              GError **errp);

/* ---- offloads done in software (net/checksum.c) ------------------------ */

/* One's complement sum of @len bytes, folded into @sum (not inverted). */
uint32_t net_checksum_add(uint32_t sum, const uint8_t *buf, size_t len);
uint16_t net_checksum_finish(uint32_t sum);
/*
 * Sum @frame[start, end) (end 0: the whole frame) onto what the driver
 * left in place and store it at @frame[offset]: virtio's csum_start/
 * csum_offset and e1000's TUCSS/TUCSO/TUCSE.  False when out of range.
 */
bool net_checksum_insert(uint8_t *frame, size_t len, size_t start,
                         size_t offset, size_t end);
/*
 * Complete a frame's IPv4 header checksum and its TCP/UDP checksum from
 * scratch (Ethernet, optional 802.1Q tag, IPv4 or IPv6).  False when the
 * frame is not one of those (it is then left as it was).
 */
bool net_checksum_fill(uint8_t *frame, size_t len);
/*
 * Cut a TCP (v4 or v6) frame whose payload is larger than @mss into
 * segments of at most @mss payload bytes, each with correct lengths, IP
 * id, sequence number, flags (FIN and PSH on the last only) and
 * checksums, and hand each to @emit.  Returns false, emitting nothing,
 * when the frame does not parse as TCP or @mss is 0.
 */
bool net_tso_segment(const uint8_t *frame, size_t len, unsigned mss,
                     void (*emit)(void *opaque, const uint8_t *seg,
                                  size_t seg_len),
                     void *opaque);

#endif
