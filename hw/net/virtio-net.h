/*
 * virtio-net internals shared by the device (virtio-net.c) and the pure
 * parsers it relies on (virtio-net-ctrl.c): feature bits, the receive
 * filter the control queue programs, and checks of guest-written headers.
 * Nothing here touches guest memory or device state beyond its arguments,
 * so the unit test and the fuzzer can call it directly.
 */
#ifndef HW_NET_VIRTIO_NET_H
#define HW_NET_VIRTIO_NET_H

#include "qlite/net.h"

#define VIRTIO_ID_NET               1

/* Feature bits (virtio 1.2, 5.1.3). */
#define VIRTIO_NET_F_CSUM           0
#define VIRTIO_NET_F_GUEST_CSUM     1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU            3
#define VIRTIO_NET_F_MAC            5
#define VIRTIO_NET_F_GUEST_TSO4     7
#define VIRTIO_NET_F_GUEST_TSO6     8
#define VIRTIO_NET_F_GUEST_ECN      9
#define VIRTIO_NET_F_GUEST_UFO      10
#define VIRTIO_NET_F_HOST_TSO4      11
#define VIRTIO_NET_F_HOST_TSO6      12
#define VIRTIO_NET_F_HOST_ECN       13
#define VIRTIO_NET_F_HOST_UFO       14
#define VIRTIO_NET_F_MRG_RXBUF      15
#define VIRTIO_NET_F_STATUS         16
#define VIRTIO_NET_F_CTRL_VQ        17
#define VIRTIO_NET_F_CTRL_RX        18
#define VIRTIO_NET_F_CTRL_VLAN      19
#define VIRTIO_NET_F_CTRL_RX_EXTRA  20
#define VIRTIO_NET_F_CTRL_MAC_ADDR  23

/* Link status in the config space (5.1.4). */
#define VIRTIO_NET_S_LINK_UP        1

/* Legacy drivers without MRG_RXBUF use the header without num_buffers. */
#define VIRTIO_NET_HDR_LEGACY_LEN   10

/* Control queue (5.1.6.5): class, command, data..., then the ack byte. */
#define VIRTIO_NET_CTRL_RX              0
#define  VIRTIO_NET_CTRL_RX_PROMISC     0
#define  VIRTIO_NET_CTRL_RX_ALLMULTI    1
#define  VIRTIO_NET_CTRL_RX_ALLUNI      2
#define  VIRTIO_NET_CTRL_RX_NOMULTI     3
#define  VIRTIO_NET_CTRL_RX_NOUNI       4
#define  VIRTIO_NET_CTRL_RX_NOBCAST     5
#define VIRTIO_NET_CTRL_MAC             1
#define  VIRTIO_NET_CTRL_MAC_TABLE_SET  0
#define  VIRTIO_NET_CTRL_MAC_ADDR_SET   1
#define VIRTIO_NET_CTRL_VLAN            2
#define  VIRTIO_NET_CTRL_VLAN_ADD       0
#define  VIRTIO_NET_CTRL_VLAN_DEL       1
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS  5
#define  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0
#define VIRTIO_NET_OK                   0
#define VIRTIO_NET_ERR                  1

/* Addresses a MAC table holds; more than that means "accept them all". */
#define VIRTIO_NET_MAC_TABLE_MAX    64
#define VIRTIO_NET_VLAN_MAX         4096

/* The receive filter, as the control queue leaves it. */
typedef struct VirtioNetFilter {
    uint8_t mac[ETH_ALEN];      /* the device's own address */
    bool promisc;
    bool allmulti;
    bool alluni;
    bool nomulti;
    bool nouni;
    bool nobcast;
    bool uni_overflow;          /* the guest gave more than the table holds */
    bool multi_overflow;
    unsigned uni_count;
    unsigned multi_count;
    uint8_t uni[VIRTIO_NET_MAC_TABLE_MAX][ETH_ALEN];
    uint8_t multi[VIRTIO_NET_MAC_TABLE_MAX][ETH_ALEN];
    bool vlan_filtering;        /* CTRL_VLAN negotiated */
    uint32_t vlans[VIRTIO_NET_VLAN_MAX / 32];
} VirtioNetFilter;

/* Power-on filter for @mac: promiscuous, as before a driver says more. */
void virtio_net_filter_reset(VirtioNetFilter *f, const uint8_t *mac);

/* What a control command changed, for the device to act on. */
enum {
    VIRTIO_NET_CTRL_CHANGED_FILTER = 1,
    VIRTIO_NET_CTRL_CHANGED_MAC = 2,
};

/*
 * Apply one control command with its @len bytes of data to @f.
 * @features are the negotiated ones: a command of a class the driver did
 * not negotiate is refused.  Returns VIRTIO_NET_OK or VIRTIO_NET_ERR and
 * ORs VIRTIO_NET_CTRL_CHANGED_* into *@changed.
 */
uint8_t virtio_net_ctrl_apply(VirtioNetFilter *f, uint64_t features,
                              uint8_t cls, uint8_t cmd, const uint8_t *data,
                              size_t len, unsigned *changed);

/* The feature bits a driver may switch with GUEST_OFFLOADS_SET. */
#define VIRTIO_NET_GUEST_OFFLOAD_BITS \
    (UINT64_C(1) << VIRTIO_NET_F_GUEST_CSUM | \
     UINT64_C(1) << VIRTIO_NET_F_GUEST_TSO4 | \
     UINT64_C(1) << VIRTIO_NET_F_GUEST_TSO6 | \
     UINT64_C(1) << VIRTIO_NET_F_GUEST_ECN | \
     UINT64_C(1) << VIRTIO_NET_F_GUEST_UFO)

/*
 * GUEST_OFFLOADS_SET (5.1.6.5.6.1): le64 of GUEST_* feature bits, each
 * one negotiated.  Fills *@offloads on VIRTIO_NET_OK.
 */
uint8_t virtio_net_ctrl_offloads(uint64_t features, uint8_t cmd,
                                 const uint8_t *data, size_t len,
                                 uint64_t *offloads);

/* Whether @f lets the frame (at least ETH_HLEN bytes at @frame) in. */
bool virtio_net_filter_accepts(const VirtioNetFilter *f,
                               const uint8_t *frame, size_t len);

/* Why a transmitted frame's header was refused. */
typedef enum {
    VIRTIO_NET_TX_OK = 0,
    VIRTIO_NET_TX_BAD_FLAGS,        /* flags other than NEEDS_CSUM */
    VIRTIO_NET_TX_BAD_CSUM,         /* csum field outside the frame */
    VIRTIO_NET_TX_CSUM_OFF,         /* NEEDS_CSUM without CSUM */
    VIRTIO_NET_TX_BAD_GSO,          /* gso_type not negotiated / unknown */
    VIRTIO_NET_TX_BAD_GSO_SIZE,     /* gso_size 0 */
    VIRTIO_NET_TX_GSO_NO_CSUM,      /* GSO without NEEDS_CSUM (5.1.6.2) */
} VirtioNetTxError;

const char *virtio_net_tx_error_str(VirtioNetTxError err);

/* Check a guest header for a frame of @frame_len bytes (5.1.6.2.1). */
VirtioNetTxError virtio_net_tx_check(const VirtioNetHdr *h, size_t frame_len,
                                     uint64_t features);

/* The header from its wire form (little-endian, @len 10 or 12 bytes). */
void virtio_net_hdr_parse(VirtioNetHdr *h, const uint8_t *buf, size_t len);
void virtio_net_hdr_store(const VirtioNetHdr *h, uint8_t *buf, size_t len);

#endif
