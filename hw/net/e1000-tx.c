/*
 * e1000 transmit (SDM 3.3): the driver fills descriptors from TDH up to
 * TDT; we gather each packet's buffers up to EOP, apply the offloads the
 * context descriptor and POPTS ask for (IP and TCP/UDP checksums, TCP
 * segmentation), insert a VLAN tag, pad and send, and write DD back into
 * descriptors with RS.
 *
 * A bad ring (zero length, TDH/TDT past its end, descriptors outside
 * RAM) stops transmission where it is with one log line; a packet whose
 * data cannot be read or does not fit is dropped at its EOP.  When the
 * peer queues a frame we stop until its sent callback, so that a slow
 * back end holds the guest back instead of losing frames.
 */
#include "qlite/error.h"
#include "e1000-internal.h"

void e1000_tx_init(E1000State *s)
{
    s->tx.buf = g_malloc(E1000_TX_BUF_MAX);
}

void e1000_tx_cleanup(E1000State *s)
{
    g_clear_pointer(&s->tx.buf, g_free);
}

static void tx_packet_clear(E1000State *s)
{
    uint8_t *buf = s->tx.buf;

    s->tx = (E1000TxPacket) { .buf = buf };
}

void e1000_tx_reset(E1000State *s)
{
    tx_packet_clear(s);
    memset(&s->tx_ctx, 0, sizeof(s->tx_ctx));
    s->tx_waiting = false;
}

static void tx_sent(NetClientState *sender, ssize_t len)
{
    E1000State *s = sender->opaque;

    s->tx_waiting = false;
    if (!s->tx_running) {       /* else the running loop goes on */
        e1000_tx_kick(s);
    }
}

static void tx_count(E1000State *s, const uint8_t *frame, size_t len)
{
    static const uint8_t bcast[ETH_ALEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff
    };
    size_t wire = len + E1000_FCS_LEN;

    e1000_stat_inc(s, E1000_GPTC);
    e1000_stat_inc(s, E1000_TPT);
    e1000_stat_add64(s, E1000_GOTCL, wire);
    e1000_stat_add64(s, E1000_TOTL, wire);
    e1000_stat_size(s, E1000_PTC64, wire);
    if (!memcmp(frame, bcast, ETH_ALEN)) {
        e1000_stat_inc(s, E1000_BPTC);
    } else if (frame[0] & 1) {
        e1000_stat_inc(s, E1000_MPTC);
    }
}

/* One frame to the wire: VLAN tag (VLE with CTRL.VME), padding (PSP). */
static void tx_send(E1000State *s, const uint8_t *frame, size_t len,
                    bool vle, uint16_t vlan)
{
    uint8_t head[ETH_HLEN - 2 + E1000_VLAN_HLEN];
    static const uint8_t zeros[ETH_MIN_FRAME];
    struct iovec iov[3];
    int n = 0;
    size_t total;

    if (len < ETH_HLEN) {
        e1000_guest_error(s, "e1000: transmit of a %zu-byte frame", len);
        return;
    }
    if (vle && (e1000_reg(s, E1000_CTRL) & E1000_CTRL_VME)) {
        uint16_t tpid = e1000_reg(s, E1000_VET);

        memcpy(head, frame, 2 * ETH_ALEN);
        head[12] = tpid >> 8;
        head[13] = tpid;
        head[14] = vlan >> 8;
        head[15] = vlan;
        iov[n++] = (struct iovec) { head, sizeof(head) };
        iov[n++] = (struct iovec) { (void *)(frame + 12), len - 12 };
        total = len + E1000_VLAN_HLEN;
    } else {
        iov[n++] = (struct iovec) { (void *)frame, len };
        total = len;
    }
    if ((e1000_reg(s, E1000_TCTL) & E1000_TCTL_PSP) &&
        total < ETH_MIN_FRAME) {
        iov[n++] = (struct iovec) { (void *)zeros, ETH_MIN_FRAME - total };
        total = ETH_MIN_FRAME;
    }
    tx_count(s, frame, total);
    if (net_send_iov(s->nc, iov, n, tx_sent) == 0) {
        s->tx_waiting = true;
    }
}

typedef struct TxSegCtx {
    E1000State *s;
    bool vle;
    uint16_t vlan;
} TxSegCtx;

static void tx_emit_segment(void *opaque, const uint8_t *seg, size_t len)
{
    TxSegCtx *c = opaque;

    tx_send(c->s, seg, len, c->vle, c->vlan);
}

static void tx_tso(E1000State *s, bool vle, uint16_t vlan)
{
    TxSegCtx c = { s, vle, vlan };

    /*
     * The header's IP length may be 0 (Linux leaves it so): segmenting
     * takes the datagram's end from the packet, not from that field.
     */
    if (!net_tso_segment(s->tx.buf, s->tx.len,
                         net_peer_tso_mss(s->nc, s->tx_ctx.mss),
                         tx_emit_segment, &c)) {
        e1000_guest_error(s, "e1000: TSO of a %zu-byte frame that is not "
                          "TCP (or MSS 0)", s->tx.len);
        return;
    }
    e1000_stat_inc(s, E1000_TSCTC);
}

/* Checksums the driver asked for (SDM 3.3.5, 3.3.7.1); ends inclusive. */
static void tx_checksums(E1000State *s)
{
    const E1000TxContext *c = &s->tx_ctx;
    uint8_t *f = s->tx.buf;
    size_t len = s->tx.len;

    if (s->tx.legacy_csum) {
        net_checksum_insert(f, len, s->tx.css, s->tx.cso, 0);
        return;
    }
    if (s->tx.popts & E1000_TXD_POPTS_IXSM) {
        net_checksum_insert(f, len, c->ipcss, c->ipcso,
                            c->ipcse ? c->ipcse + 1u : 0);
    }
    if (s->tx.popts & E1000_TXD_POPTS_TXSM) {
        net_checksum_insert(f, len, c->tucss, c->tucso,
                            c->tucse ? c->tucse + 1u : 0);
    }
}

static void tx_packet_done(E1000State *s, const E1000TxBuf *last)
{
    bool vle = last->cmd & E1000_TXD_CMD_VLE;

    if (s->tx.bad) {
        /* logged where the data was lost */
    } else if (s->tx.tse && (s->tx_ctx.tucmd & E1000_TXD_CMD_TSE)) {
        tx_tso(s, vle, last->special);
    } else if (s->tx.len > NET_MAX_FRAME) {
        e1000_guest_error(s, "e1000: transmit of a %zu-byte frame",
                          s->tx.len);
    } else {
        tx_checksums(s);
        tx_send(s, s->tx.buf, s->tx.len, vle, last->special);
    }
    tx_packet_clear(s);
}

/* One legacy or data descriptor's buffer into the packet. */
static void tx_buffer(E1000State *s, const E1000TxBuf *b)
{
    size_t room = E1000_TX_BUF_MAX - s->tx.len;
    size_t n = MIN(b->len, room);

    if (!s->tx.started) {
        s->tx.started = true;
        s->tx.tse = b->ext && (b->cmd & E1000_TXD_CMD_TSE);
        s->tx.popts = b->ext ? b->popts : 0;
    }
    if (!b->ext && (b->cmd & E1000_TXD_CMD_IC)) {
        s->tx.legacy_csum = true;
        s->tx.cso = b->cso;
        s->tx.css = b->css;
    }
    if (n < b->len && !s->tx.bad) {
        s->tx.bad = true;
        e1000_guest_error(s, "e1000: transmit packet longer than %u bytes",
                          E1000_TX_BUF_MAX);
    }
    if (n && !s->tx.bad &&
        dma_read(&address_space_memory, b->addr, s->tx.buf + s->tx.len, n)
        != MEMTX_OK) {
        s->tx.bad = true;
        e1000_guest_error(s, "e1000: transmit buffer at 0x%" PRIx64
                          " (%u bytes) is outside RAM", b->addr, b->len);
    }
    s->tx.len += n;
    if (b->cmd & E1000_TXD_CMD_EOP) {
        tx_packet_done(s, b);
    }
}

/* Process one descriptor; returns whether it asks for a status (RS). */
static bool tx_descriptor(E1000State *s, const uint8_t *d)
{
    E1000TxContext ctx;
    E1000TxBuf b;

    switch (e1000_txd_parse(d, &ctx, &b)) {
    case E1000_TXD_CONTEXT:
        s->tx_ctx = ctx;
        return ctx.tucmd & E1000_TXD_CMD_RS;
    case E1000_TXD_BAD:
        e1000_guest_error(s, "e1000: transmit descriptor of unknown type "
                          "0x%x skipped", (d[10] >> 4) & 0xf);
        return d[11] & E1000_TXD_CMD_RS;
    default:
        tx_buffer(s, &b);
        return b.cmd & E1000_TXD_CMD_RS;
    }
}

static bool tx_ring_ok(E1000State *s, uint32_t size, uint32_t head,
                       uint32_t tail)
{
    if (size && head < size && tail < size) {
        return true;
    }
    e1000_guest_error(s, "e1000: transmit ring of %u descriptors with "
                      "TDH %u, TDT %u: not sending", size, head, tail);
    return false;
}

void e1000_tx_kick(E1000State *s)
{
    uint32_t size = e1000_ring_size(e1000_reg(s, E1000_TDLEN));
    uint32_t head = e1000_reg(s, E1000_TDH);
    uint32_t tail = e1000_reg(s, E1000_TDT);
    uint64_t base = e1000_ring_base(s, E1000_TDBAL);
    uint32_t causes = 0;

    if (!(e1000_reg(s, E1000_TCTL) & E1000_TCTL_EN) || s->tx_waiting ||
        !pci_bus_master_enabled(&s->parent) || head == tail ||
        !tx_ring_ok(s, size, head, tail)) {
        return;
    }
    s->tx_running = true;
    s->dma_depth++;
    /* At most one lap: head moves toward tail, both inside the ring. */
    while (head != tail && !s->tx_waiting) {
        uint64_t at = base + (uint64_t)head * E1000_DESC_SIZE;
        uint8_t d[E1000_DESC_SIZE];

        if (dma_read(&address_space_memory, at, d, sizeof(d)) != MEMTX_OK) {
            e1000_guest_error(s, "e1000: transmit descriptor at 0x%" PRIx64
                              " is outside RAM", at);
            break;
        }
        if (tx_descriptor(s, d)) {
            d[E1000_TXD_STA_OFF] |= E1000_TXD_STA_DD;
            dma_write(&address_space_memory, at + E1000_TXD_STA_OFF,
                      &d[E1000_TXD_STA_OFF], 1);
            causes |= E1000_ICR_TXDW;
        }
        head = (head + 1) % size;
        e1000_reg_set(s, E1000_TDH, head);
    }
    s->tx_running = false;
    s->dma_depth--;
    if (head == tail) {
        causes |= E1000_ICR_TXQE;
    }
    e1000_set_ics(s, causes);
}
