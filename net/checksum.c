/*
 * Offloads done in software: the Internet checksum (RFC 1071) and TCP
 * segmentation, shared by every NIC that offers them to its guest.
 * Frames are Ethernet (optionally 802.1Q tagged) with IPv4 or IPv6.
 */
#include "qlite/net.h"

#define ETH_P_IPV4      0x0800
#define ETH_P_IPV6      0x86dd
#define ETH_P_VLAN      0x8100
#define IPPROTO_TCP_    6
#define IPPROTO_UDP_    17
#define TCP_FIN         0x01
#define TCP_PSH         0x08
#define TCP_CWR         0x80

static uint16_t rd16(const uint8_t *p)
{
    return (p[0] << 8) | p[1];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)rd16(p) << 16) | rd16(p + 2);
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v >> 16);
    wr16(p + 2, v);
}

uint32_t net_checksum_add(uint32_t sum, const uint8_t *buf, size_t len)
{
    uint64_t s = sum;

    for (size_t i = 0; i + 1 < len; i += 2) {
        s += rd16(buf + i);
    }
    if (len & 1) {
        s += buf[len - 1] << 8;
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return s;
}

uint16_t net_checksum_finish(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum & 0xffff;
}

bool net_checksum_insert(uint8_t *frame, size_t len, size_t start,
                         size_t offset, size_t end)
{
    if (!end || end > len) {
        end = len;
    }
    if (start >= end || len < 2 || offset > len - 2) {
        return false;
    }
    /* What the driver left at @offset (the pseudo-header) is summed in. */
    wr16(frame + offset,
         net_checksum_finish(net_checksum_add(0, frame + start,
                                              end - start)));
    return true;
}

/* Where a frame's layers are. */
typedef struct NetLayers {
    size_t l3;          /* IP header */
    size_t l4;          /* TCP/UDP header */
    size_t end;         /* end of the IP datagram */
    bool ipv6;
    uint8_t proto;
} NetLayers;

/*
 * Find the layers; @trust_len uses the IP length field (else the frame
 * ends the datagram: TSO input, whose length fields the driver may zero).
 */
static bool net_parse_layers(const uint8_t *f, size_t len, bool trust_len,
                             NetLayers *out)
{
    size_t l3 = ETH_HLEN;
    uint16_t type;

    if (len < ETH_HLEN) {
        return false;
    }
    type = rd16(f + 12);
    if (type == ETH_P_VLAN) {
        if (len < ETH_HLEN + 4) {
            return false;
        }
        type = rd16(f + 16);
        l3 += 4;
    }
    out->l3 = l3;
    out->end = len;
    if (type == ETH_P_IPV4) {
        size_t ihl, tot;

        if (len < l3 + 20 || (f[l3] >> 4) != 4) {
            return false;
        }
        ihl = (f[l3] & 0xf) * 4;
        tot = rd16(f + l3 + 2);
        if (ihl < 20 || len < l3 + ihl) {
            return false;
        }
        if (trust_len && tot >= ihl && l3 + tot <= len) {
            out->end = l3 + tot;
        }
        out->ipv6 = false;
        out->proto = f[l3 + 9];
        out->l4 = l3 + ihl;
        /* A fragment after the first has no L4 header of its own. */
        if (rd16(f + l3 + 6) & 0x3fff) {
            out->proto = 0;
        }
        return true;
    }
    if (type == ETH_P_IPV6) {
        size_t off = l3 + 40, plen;
        uint8_t next;

        if (len < off || (f[l3] >> 4) != 6) {
            return false;
        }
        plen = rd16(f + l3 + 4);
        if (trust_len && plen && off + plen <= len) {
            out->end = off + plen;
        }
        next = f[l3 + 6];
        /* Hop-by-hop, routing and destination options come before L4. */
        while ((next == 0 || next == 43 || next == 60) && off + 8 <= len) {
            uint8_t n = f[off];

            off += (f[off + 1] + 1) * 8;
            next = n;
        }
        if (off > out->end) {
            return false;
        }
        out->ipv6 = true;
        out->proto = next;
        out->l4 = off;
        return true;
    }
    return false;
}

static void net_fill_ipv4_header(uint8_t *f, const NetLayers *ly)
{
    size_t ihl = ly->l4 - ly->l3;

    wr16(f + ly->l3 + 10, 0);
    wr16(f + ly->l3 + 10,
         net_checksum_finish(net_checksum_add(0, f + ly->l3, ihl)));
}

static void net_fill_l4(uint8_t *f, const NetLayers *ly)
{
    size_t l4len = ly->end - ly->l4;
    size_t csum_off;
    uint8_t pseudo[8];
    uint32_t sum;
    uint16_t csum;

    if (ly->proto == IPPROTO_TCP_ && l4len >= 20) {
        csum_off = ly->l4 + 16;
    } else if (ly->proto == IPPROTO_UDP_ && l4len >= 8) {
        csum_off = ly->l4 + 6;
    } else {
        return;
    }
    if (ly->ipv6) {
        sum = net_checksum_add(0, f + ly->l3 + 8, 32);      /* src, dst */
    } else {
        sum = net_checksum_add(0, f + ly->l3 + 12, 8);
    }
    wr32(pseudo, l4len);
    wr32(pseudo + 4, ly->proto);
    sum = net_checksum_add(sum, pseudo, 8);
    wr16(f + csum_off, 0);
    csum = net_checksum_finish(net_checksum_add(sum, f + ly->l4, l4len));
    if (ly->proto == IPPROTO_UDP_ && csum == 0) {
        csum = 0xffff;      /* 0 would mean "no checksum" (RFC 768) */
    }
    wr16(f + csum_off, csum);
}

bool net_checksum_fill(uint8_t *frame, size_t len)
{
    NetLayers ly;

    if (!net_parse_layers(frame, len, true, &ly)) {
        return false;
    }
    if (!ly.ipv6) {
        net_fill_ipv4_header(frame, &ly);
    }
    net_fill_l4(frame, &ly);
    return true;
}

bool net_tso_segment(const uint8_t *frame, size_t len, unsigned mss,
                     void (*emit)(void *opaque, const uint8_t *seg,
                                  size_t seg_len),
                     void *opaque)
{
    NetLayers ly;
    size_t hlen, payload;
    uint32_t seq;
    uint16_t ip_id;
    uint8_t flags;
    g_autofree uint8_t *seg = NULL;

    if (!mss || !net_parse_layers(frame, len, false, &ly) ||
        ly.proto != IPPROTO_TCP_ || len < ly.l4 + 20) {
        return false;
    }
    hlen = ly.l4 + (frame[ly.l4 + 12] >> 4) * 4;
    if (hlen < ly.l4 + 20 || hlen > len) {
        return false;
    }
    payload = len - hlen;
    /* No segment may be longer than IP's 16-bit length can say. */
    mss = MIN(mss, 0xffff - (hlen - ly.l3));
    seq = rd32(frame + ly.l4 + 4);
    flags = frame[ly.l4 + 13];
    ip_id = ly.ipv6 ? 0 : rd16(frame + ly.l3 + 4);
    seg = g_malloc(hlen + MIN(mss, MAX(payload, 1)));

    for (size_t off = 0; off < payload || off == 0; off += mss) {
        size_t chunk = MIN(mss, payload - off);
        bool last = off + chunk >= payload;
        NetLayers sl = ly;

        memcpy(seg, frame, hlen);
        memcpy(seg + hlen, frame + hlen + off, chunk);
        sl.end = hlen + chunk;
        if (ly.ipv6) {
            wr16(seg + ly.l3 + 4, sl.end - ly.l3 - 40);
        } else {
            wr16(seg + ly.l3 + 2, sl.end - ly.l3);
            wr16(seg + ly.l3 + 4, ip_id + off / mss);
            net_fill_ipv4_header(seg, &sl);
        }
        wr32(seg + ly.l4 + 4, seq + off);
        seg[ly.l4 + 13] = flags & ~(last ? 0 : TCP_FIN | TCP_PSH) &
                          ~(off ? TCP_CWR : 0);
        net_fill_l4(seg, &sl);
        emit(opaque, seg, sl.end);
        if (payload == 0) {
            break;
        }
    }
    return true;
}
