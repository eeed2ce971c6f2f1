/*
 * e1000 receive (SDM 3.2): a frame that passes the address filter is
 * padded to 60 bytes, given its FCS unless RCTL.SECRC strips it, loses
 * its VLAN tag to the descriptor with CTRL.VME, and is written into as
 * many descriptors' buffers from RDH on as it needs, the last with EOP.
 *
 * Flow control: when the descriptors the driver gave (RDH up to RDT) are
 * too few, receive() returns 0 and the network core keeps the frame;
 * a write of RDT (or RCTL) flushes it.  So no frame is lost while the
 * driver keeps refilling its ring.  A ring that can never hold the frame
 * (too small, outside RAM) drops it with one log line.
 */
#include "qlite/error.h"
#include "qlite/iov.h"
#include "e1000-internal.h"

#define E1000_RXD_ERR_RXE   0x80        /* data error: buffer unwritable */
#define E1000_MAX_FRAME     1518        /* with FCS, LPE clear */
#define E1000_MAX_FRAME_LPE 16384

static E1000RxFilter rx_filter_regs(const E1000State *s)
{
    return (E1000RxFilter) {
        .rctl = e1000_reg(s, E1000_RCTL),
        .vet = e1000_reg(s, E1000_VET),
        .vlan_enabled = e1000_reg(s, E1000_CTRL) & E1000_CTRL_VME,
        .ra = &s->regs[E1000_RA >> 2],
        .mta = &s->regs[E1000_MTA >> 2],
        .vfta = &s->regs[E1000_VFTA >> 2],
    };
}

static bool rx_tagged(const E1000State *s, const uint8_t *f, size_t len)
{
    return (e1000_reg(s, E1000_CTRL) & E1000_CTRL_VME) && len >= 18 &&
           ((f[12] << 8) | f[13]) == (e1000_reg(s, E1000_VET) & 0xffff);
}

static void rx_count(E1000State *s, E1000RxMatch m, size_t wire)
{
    e1000_stat_inc(s, E1000_GPRC);
    e1000_stat_inc(s, E1000_TPR);
    e1000_stat_add64(s, E1000_GORCL, wire);
    e1000_stat_add64(s, E1000_TORL, wire);
    e1000_stat_size(s, E1000_PRC64, wire);
    if (m == E1000_RX_BROADCAST) {
        e1000_stat_inc(s, E1000_BPRC);
    } else if (m == E1000_RX_MULTICAST) {
        e1000_stat_inc(s, E1000_MPRC);
    }
}

static bool rx_ring_ok(E1000State *s, uint32_t size, uint32_t head,
                       uint32_t tail, uint32_t needed)
{
    if (size && head < size && tail < size && needed < size) {
        return true;
    }
    e1000_guest_error(s, "e1000: receive ring of %u descriptors with RDH "
                      "%u, RDT %u cannot take a frame needing %u: dropped",
                      size, head, tail, needed);
    return false;
}

/* One buffer's worth into the descriptor at @at; false: ring unreadable. */
static bool rx_fill_desc(E1000State *s, uint64_t at, const uint8_t *data,
                         size_t n, uint8_t status, uint16_t special)
{
    uint8_t d[E1000_DESC_SIZE];
    uint64_t buf;

    if (dma_read(&address_space_memory, at, d, sizeof(d)) != MEMTX_OK) {
        e1000_guest_error(s, "e1000: receive descriptor at 0x%" PRIx64
                          " is outside RAM", at);
        return false;
    }
    buf = 0;
    for (int i = 7; i >= 0; i--) {
        buf = (buf << 8) | d[i];
    }
    e1000_rxd_writeback(d, n, status, special);
    if (dma_write(&address_space_memory, buf, data, n) != MEMTX_OK) {
        e1000_guest_error(s, "e1000: receive buffer at 0x%" PRIx64
                          " is outside RAM", buf);
        d[13] = E1000_RXD_ERR_RXE;
    }
    dma_write(&address_space_memory, at + 8, d + 8, 8);
    return true;
}

/*
 * Put @len bytes into the ring.  Returns false (nothing written) when
 * the driver has not given enough descriptors yet.
 */
static bool rx_to_ring(E1000State *s, const uint8_t *data, size_t len,
                       uint8_t last_status, uint16_t special)
{
    uint32_t size = e1000_ring_size(e1000_reg(s, E1000_RDLEN));
    uint32_t head = e1000_reg(s, E1000_RDH);
    uint32_t tail = e1000_reg(s, E1000_RDT);
    uint64_t base = e1000_ring_base(s, E1000_RDBAL);
    uint32_t bufsz = e1000_rx_buf_size(e1000_reg(s, E1000_RCTL));
    uint32_t needed = e1000_rx_desc_needed(len, bufsz);
    uint32_t causes = E1000_ICR_RXT0;

    if (!rx_ring_ok(s, size, head, tail, needed)) {
        e1000_stat_inc(s, E1000_MPC);
        return true;
    }
    if (e1000_ring_pending(head, tail, size) < needed) {
        e1000_stat_inc(s, E1000_RNBC);
        e1000_set_ics(s, E1000_ICR_RXO);
        return false;
    }
    for (size_t off = 0; off < len || off == 0; off += bufsz) {
        size_t n = MIN(bufsz, len - off);
        bool last = off + n >= len;
        uint64_t at = base + (uint64_t)head * E1000_DESC_SIZE;

        if (!rx_fill_desc(s, at, data + off, n,
                          E1000_RXD_STA_DD | E1000_RXD_STA_IXSM |
                          (last ? last_status : 0), last ? special : 0)) {
            break;
        }
        head = (head + 1) % size;
        if (last) {
            break;
        }
    }
    e1000_reg_set(s, E1000_RDH, head);
    if (e1000_ring_pending(head, tail, size) <=
        e1000_rx_min_threshold(e1000_reg(s, E1000_RCTL), size)) {
        causes |= E1000_ICR_RXDMT0;
    }
    e1000_set_ics(s, causes);
    return true;
}

static bool rx_accepting(E1000State *s)
{
    return (e1000_reg(s, E1000_RCTL) & E1000_RCTL_EN) &&
           (e1000_reg(s, E1000_STATUS) & E1000_STATUS_LU) &&
           pci_bus_master_enabled(&s->parent);
}

/*
 * The frame as the wire would give it: tag moved to @special, padded,
 * FCS added unless SECRC.  Returns its new length.
 */
static size_t rx_shape(E1000State *s, uint8_t *f, size_t len,
                       uint16_t *special, uint8_t *status)
{
    if (rx_tagged(s, f, len)) {
        *special = (f[14] << 8) | f[15];
        *status |= E1000_RXD_STA_VP;
        memmove(f + 12, f + 12 + E1000_VLAN_HLEN, len - 12 - E1000_VLAN_HLEN);
        len -= E1000_VLAN_HLEN;
    }
    if (len < ETH_MIN_FRAME) {
        memset(f + len, 0, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    if (!(e1000_reg(s, E1000_RCTL) & E1000_RCTL_SECRC)) {
        uint32_t fcs = e1000_eth_fcs(f, len);

        for (int i = 0; i < E1000_FCS_LEN; i++) {
            f[len + i] = fcs >> (8 * i);
        }
        len += E1000_FCS_LEN;
    }
    return len;
}

/* Copy the iovec in; false when no Ethernet frame is that long. */
static bool rx_gather(E1000State *s, const struct iovec *iov, int iovcnt,
                      size_t *len)
{
    *len = iov_size(iov, iovcnt);
    if (*len > NET_MAX_FRAME) {
        return false;
    }
    iov_to_buf(iov, iovcnt, 0, s->rx_buf, *len);
    return true;
}

/* Frames too long for RCTL.LPE (SDM 3.2.4): counted in ROC, dropped. */
static bool rx_oversize(E1000State *s, const uint8_t *f, size_t len)
{
    size_t max = e1000_reg(s, E1000_RCTL) & E1000_RCTL_LPE
                 ? E1000_MAX_FRAME_LPE : E1000_MAX_FRAME;

    if (rx_tagged(s, f, len)) {
        max += E1000_VLAN_HLEN;
    }
    if (len + E1000_FCS_LEN <= max) {
        return false;
    }
    e1000_stat_inc(s, E1000_ROC);
    return true;
}

ssize_t e1000_receive(NetClientState *nc, const struct iovec *iov,
                      int iovcnt)
{
    E1000State *s = nc->opaque;
    E1000RxFilter filter = rx_filter_regs(s);
    uint8_t status = E1000_RXD_STA_EOP;
    uint16_t special = 0;
    size_t len, wire;
    E1000RxMatch m;
    bool delivered;

    /* Frames we do not take are consumed (dropped) with length >= 1. */
    if (!rx_gather(s, iov, iovcnt, &len) || !rx_accepting(s)) {
        return MAX(len, 1);
    }
    m = e1000_rx_filter(&filter, s->rx_buf, len);
    if (m == E1000_RX_REJECT || rx_oversize(s, s->rx_buf, len)) {
        return MAX(len, 1);
    }
    wire = rx_shape(s, s->rx_buf, len, &special, &status);
    s->dma_depth++;
    delivered = rx_to_ring(s, s->rx_buf, wire, status, special);
    s->dma_depth--;
    if (!delivered) {
        return 0;
    }
    /* The counters see the frame as on the wire, FCS included. */
    rx_count(s, m, wire + (e1000_reg(s, E1000_RCTL) & E1000_RCTL_SECRC
                           ? E1000_FCS_LEN : 0));
    return MAX(len, 1);
}

void e1000_rx_kick(E1000State *s)
{
    if (s->nc && rx_accepting(s)) {
        net_flush_queued(s->nc);
    }
}

static void rx_filter_tables(E1000State *s, NetRxFilter *f)
{
    uint8_t mac[ETH_ALEN];

    for (unsigned i = 1; i < E1000_RA_COUNT; i++) {
        if (e1000_ra_get(&s->regs[E1000_RA >> 2], i, mac)) {
            g_array_append_vals(f->unicast_table, mac, 1);
        }
    }
    for (unsigned vid = 0; vid < 32 * E1000_VFTA_COUNT; vid++) {
        if (s->regs[(E1000_VFTA >> 2) + vid / 32] & (1u << (vid % 32))) {
            g_array_append_val(f->vlan_table, vid);
        }
    }
}

static bool rx_mta_empty(const E1000State *s)
{
    for (unsigned i = 0; i < E1000_MTA_COUNT; i++) {
        if (s->regs[(E1000_MTA >> 2) + i]) {
            return false;
        }
    }
    return true;
}

/*
 * query-rx-filter: the MTA holds hashes, not addresses, so multicast is
 * "normal" with an empty table and multicast-overflow set when any hash
 * bit is on.
 */
void e1000_query_rx_filter(NetClientState *nc, NetRxFilter *f)
{
    E1000State *s = nc->opaque;
    uint32_t rctl = e1000_reg(s, E1000_RCTL);
    bool vlan = (e1000_reg(s, E1000_CTRL) & E1000_CTRL_VME) &&
                (rctl & E1000_RCTL_VFE);
    uint8_t mac[ETH_ALEN];

    f->promiscuous = rctl & E1000_RCTL_UPE;
    f->unicast = rctl & E1000_RCTL_UPE ? RX_STATE_ALL : RX_STATE_NORMAL;
    f->multicast = rctl & E1000_RCTL_MPE ? RX_STATE_ALL
                   : rx_mta_empty(s) ? RX_STATE_NONE : RX_STATE_NORMAL;
    f->multicast_overflow = f->multicast == RX_STATE_NORMAL;
    f->broadcast_allowed = rctl & (E1000_RCTL_BAM | E1000_RCTL_MPE);
    f->vlan = vlan ? RX_STATE_NORMAL : RX_STATE_ALL;
    if (e1000_ra_get(&s->regs[E1000_RA >> 2], 0, mac)) {
        memcpy(f->main_mac, mac, ETH_ALEN);
    }
    rx_filter_tables(s, f);
}
