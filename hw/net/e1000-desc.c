/*
 * Pure functions over the e1000's guest-facing formats (see
 * e1000-desc.h and the layouts in e1000-regs.h).
 */
#include "e1000-desc.h"
#include "e1000-regs.h"

#include <zlib.h>

static uint16_t get_le16(const uint8_t *p)
{
    return p[0] | (p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
    return get_le16(p) | ((uint32_t)get_le16(p + 2) << 16);
}

static uint64_t get_le64(const uint8_t *p)
{
    return get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static void txd_parse_context(const uint8_t *d, E1000TxContext *ctx)
{
    uint32_t word2 = get_le32(d + 8);

    ctx->ipcss = d[0];
    ctx->ipcso = d[1];
    ctx->ipcse = get_le16(d + 2);
    ctx->tucss = d[4];
    ctx->tucso = d[5];
    ctx->tucse = get_le16(d + 6);
    ctx->paylen = word2 & 0xfffff;
    ctx->tucmd = word2 >> 24;
    ctx->hdrlen = d[13];
    ctx->mss = get_le16(d + 14);
}

E1000TxDescKind e1000_txd_parse(const uint8_t *d, E1000TxContext *ctx,
                                E1000TxBuf *buf)
{
    uint32_t word2 = get_le32(d + 8);
    uint8_t cmd = word2 >> 24;
    unsigned dtyp = (word2 >> 20) & 0xf;

    if (!(cmd & E1000_TXD_CMD_DEXT)) {
        *buf = (E1000TxBuf) {
            .addr = get_le64(d),
            .len = word2 & 0xffff,
            .cso = (word2 >> 16) & 0xff,
            .cmd = cmd,
            .css = d[13],
            .special = get_le16(d + 14),
        };
        return E1000_TXD_LEGACY;
    }
    if (dtyp == E1000_TXD_DTYP_CTX) {
        txd_parse_context(d, ctx);
        return E1000_TXD_CONTEXT;
    }
    if (dtyp != E1000_TXD_DTYP_DATA) {
        return E1000_TXD_BAD;
    }
    *buf = (E1000TxBuf) {
        .addr = get_le64(d),
        .len = word2 & 0xfffff,
        .cmd = cmd,
        .ext = true,
        .popts = d[13],
        .special = get_le16(d + 14),
    };
    return E1000_TXD_DATA;
}

uint32_t e1000_ring_size(uint32_t len_reg)
{
    return (len_reg & E1000_RING_LEN_MASK) / E1000_DESC_SIZE;
}

uint32_t e1000_ring_pending(uint32_t head, uint32_t tail, uint32_t size)
{
    return tail >= head ? tail - head : size - head + tail;
}

uint32_t e1000_rx_buf_size(uint32_t rctl)
{
    unsigned bsize = (rctl >> E1000_RCTL_BSIZE_SHIFT) & 3;

    /* BSEX with BSIZE 00 is reserved: take it as the plain 2048. */
    if (!(rctl & E1000_RCTL_BSEX) || bsize == 0) {
        return 2048 >> bsize;
    }
    return 32768 >> bsize;
}

uint32_t e1000_rx_desc_needed(size_t len, uint32_t buf_size)
{
    return len ? (len + buf_size - 1) / buf_size : 1;
}

uint32_t e1000_rx_min_threshold(uint32_t rctl, uint32_t size)
{
    unsigned rdmts = (rctl >> E1000_RCTL_RDMTS_SHIFT) & 3;

    return rdmts == 3 ? 0 : size >> (rdmts + 1);
}

void e1000_rxd_writeback(uint8_t *d, uint16_t len, uint8_t status,
                         uint16_t special)
{
    put_le16(d + 8, len);
    put_le16(d + 10, 0);        /* packet checksum: IXSM says ignore it */
    d[12] = status;
    d[13] = 0;                  /* errors */
    put_le16(d + 14, special);
}

uint16_t e1000_mta_hash(unsigned mo, const uint8_t *mac)
{
    /* MO 0..3 take address bits 47:36, 46:35, 45:34, 43:32 (SDM 13.5.1) */
    static const unsigned shift[4] = { 4, 3, 2, 0 };
    unsigned s = shift[mo & 3];

    return ((mac[4] >> s) | (mac[5] << (8 - s))) & 0xfff;
}

bool e1000_ra_get(const uint32_t *ra, unsigned i, uint8_t *mac)
{
    uint32_t lo = ra[2 * i], hi = ra[2 * i + 1];

    for (int b = 0; b < 4; b++) {
        mac[b] = lo >> (8 * b);
    }
    mac[4] = hi;
    mac[5] = hi >> 8;
    return hi & E1000_RAH_AV;
}

static bool rx_unicast_match(const E1000RxFilter *f, const uint8_t *dst)
{
    uint8_t mac[6];

    for (unsigned i = 0; i < E1000_RA_COUNT; i++) {
        if (e1000_ra_get(f->ra, i, mac) && !memcmp(mac, dst, 6)) {
            return true;
        }
    }
    return false;
}

static bool rx_multicast_match(const E1000RxFilter *f, const uint8_t *dst)
{
    uint16_t h = e1000_mta_hash(f->rctl >> E1000_RCTL_MO_SHIFT, dst);

    return f->mta[h >> 5] & (1u << (h & 31));
}

/* A tagged frame whose VLAN is not in VFTA is dropped (SDM 3.2.1). */
static bool rx_vlan_rejects(const E1000RxFilter *f, const uint8_t *frame,
                            size_t len)
{
    uint16_t vid;

    if (!f->vlan_enabled || !(f->rctl & E1000_RCTL_VFE) || len < 18 ||
        ((frame[12] << 8) | frame[13]) != f->vet) {
        return false;
    }
    vid = ((frame[14] << 8) | frame[15]) & 0xfff;
    return !(f->vfta[vid >> 5] & (1u << (vid & 31)));
}

E1000RxMatch e1000_rx_filter(const E1000RxFilter *f, const uint8_t *frame,
                             size_t len)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    if (len < 14 || rx_vlan_rejects(f, frame, len)) {
        return E1000_RX_REJECT;
    }
    if (!memcmp(frame, bcast, 6)) {
        return f->rctl & (E1000_RCTL_BAM | E1000_RCTL_MPE)
            ? E1000_RX_BROADCAST : E1000_RX_REJECT;
    }
    if (frame[0] & 1) {
        return (f->rctl & E1000_RCTL_MPE) || rx_multicast_match(f, frame)
            ? E1000_RX_MULTICAST : E1000_RX_REJECT;
    }
    return (f->rctl & E1000_RCTL_UPE) || rx_unicast_match(f, frame)
        ? E1000_RX_UNICAST : E1000_RX_REJECT;
}

uint32_t e1000_eth_fcs(const uint8_t *buf, size_t len)
{
    /* 802.3's FCS (clause 3.2.9) is zlib's CRC-32, table-driven. */
    return crc32(0, buf, len);
}
