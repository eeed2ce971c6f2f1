/*
 * The e1000's guest-facing data, parsed and built by pure functions:
 * transmit descriptors, receive descriptor write-back, ring arithmetic,
 * the receive address filter and the Ethernet FCS.  Nothing here touches
 * device state or guest memory, so tests/unit/test-e1000-desc.c checks it
 * byte by byte.  Internal to hw/net/e1000*.
 */
#ifndef HW_NET_E1000_DESC_H
#define HW_NET_E1000_DESC_H

#include "qlite/osdep.h"

typedef enum {
    E1000_TXD_LEGACY,
    E1000_TXD_CONTEXT,
    E1000_TXD_DATA,
    E1000_TXD_BAD,          /* DEXT with a DTYP we do not know: skip it */
} E1000TxDescKind;

/* A context descriptor: offsets for checksums and TSO (SDM 3.3.6). */
typedef struct E1000TxContext {
    uint8_t ipcss;
    uint8_t ipcso;
    uint16_t ipcse;         /* inclusive; 0: to the end of the packet */
    uint8_t tucss;
    uint8_t tucso;
    uint16_t tucse;         /* inclusive; 0: to the end of the packet */
    uint32_t paylen;        /* TSO: payload bytes after the header */
    uint8_t tucmd;          /* E1000_TXD_TUCMD_*, E1000_TXD_CMD_TSE */
    uint8_t hdrlen;
    uint16_t mss;
} E1000TxContext;

/* A legacy or data descriptor: one buffer of a packet. */
typedef struct E1000TxBuf {
    uint64_t addr;
    uint32_t len;
    uint8_t cmd;            /* E1000_TXD_CMD_* */
    bool ext;               /* a data descriptor (else legacy) */
    uint8_t popts;          /* data: E1000_TXD_POPTS_* */
    uint8_t cso;            /* legacy: checksum offset and start */
    uint8_t css;
    uint16_t special;       /* VLAN tag to insert with VLE */
} E1000TxBuf;

/* Parse one transmit descriptor; fills @ctx or @buf by its kind. */
E1000TxDescKind e1000_txd_parse(const uint8_t *d, E1000TxContext *ctx,
                                E1000TxBuf *buf);

/* Descriptors in a ring of @len_reg bytes (RDLEN/TDLEN), 0 if none. */
uint32_t e1000_ring_size(uint32_t len_reg);
/* Descriptors from @head up to @tail (both < @size), i.e. owned by us. */
uint32_t e1000_ring_pending(uint32_t head, uint32_t tail, uint32_t size);

/* Receive buffer size from RCTL.BSIZE and BSEX (SDM 13.4.22). */
uint32_t e1000_rx_buf_size(uint32_t rctl);
/* Receive descriptors a frame of @len bytes takes, buffers of @buf_size. */
uint32_t e1000_rx_desc_needed(size_t len, uint32_t buf_size);
/* Free descriptors at or below which RXDMT0 fires (RCTL.RDMTS). */
uint32_t e1000_rx_min_threshold(uint32_t rctl, uint32_t size);
/* The write-back half (bytes 8..15) of a receive descriptor. */
void e1000_rxd_writeback(uint8_t *d, uint16_t len, uint8_t status,
                         uint16_t special);

/* What the receive filter makes of a frame. */
typedef enum {
    E1000_RX_REJECT,
    E1000_RX_UNICAST,
    E1000_RX_MULTICAST,
    E1000_RX_BROADCAST,
} E1000RxMatch;

typedef struct E1000RxFilter {
    uint32_t rctl;
    uint16_t vet;           /* VLAN ethertype, VET */
    bool vlan_enabled;      /* CTRL.VME */
    const uint32_t *ra;     /* E1000_RA_COUNT pairs RAL, RAH */
    const uint32_t *mta;    /* E1000_MTA_COUNT dwords */
    const uint32_t *vfta;   /* E1000_VFTA_COUNT dwords */
} E1000RxFilter;

/* The 12 MTA hash bits of @mac for multicast offset @mo (RCTL.MO). */
uint16_t e1000_mta_hash(unsigned mo, const uint8_t *mac);
/* Whether RA pair @i holds a valid address, and which. */
bool e1000_ra_get(const uint32_t *ra, unsigned i, uint8_t *mac);
/* Filter a frame of @len bytes (at least 14) (SDM 3.2.1, 3.2.2). */
E1000RxMatch e1000_rx_filter(const E1000RxFilter *f, const uint8_t *frame,
                             size_t len);

/* The Ethernet FCS (CRC-32, IEEE 802.3) over @len bytes. */
uint32_t e1000_eth_fcs(const uint8_t *buf, size_t len);

#endif
