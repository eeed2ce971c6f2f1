#!/usr/bin/env python3
"""Write the seed corpus of fuzz-virtio-net (see the op list at the top of
tests/fuzz/fuzz-virtio-net.c): a driver init followed by transmits with
each offload, receives with and without mergeable buffers, control
commands, link changes, back-end flow control, the legacy interface,
and headers the device must refuse.

    tests/fuzz/gen-virtio-net-seeds.py tests/fuzz/corpus-virtio-net
"""
import os
import struct
import sys

(SELECT, CFG_WRITE, CFG_READ, MODERN_WRITE, MODERN_READ, LEGACY_WRITE,
 LEGACY_READ, MSIX_WRITE, DRIVER_INIT, DESC, AVAIL, NOTIFY, RAM_WRITE,
 NET_HDR, FRAME, INJECT, BLOCK, LINK, DRAIN) = range(19)
RX, TX, CTRL = 0, 1, 2
NEXT, WRITE, INDIRECT = 1, 2, 4


def bits(*b):
    return sum(1 << x for x in b)


CSUM, GUEST_CSUM, GUEST_TSO4, HOST_TSO4, HOST_TSO6 = 0, 1, 7, 11, 12
CTRL_GUEST_OFFLOADS = 2
MRG, STATUS, CTRL_VQ, CTRL_RX, CTRL_VLAN, RX_EXTRA = 15, 16, 17, 18, 19, 20
MAC_ADDR, INDIRECT_F, EVENT_IDX = 23, 28, 29
ALL = bits(CSUM, HOST_TSO4, HOST_TSO6, MRG, STATUS, CTRL_VQ, CTRL_RX,
           CTRL_VLAN, RX_EXTRA, MAC_ADDR, INDIRECT_F, EVENT_IDX)
HDR, PKT, RXBUF, CMD = 0x9000, 0x900c, 0xc000, 0xf000


def init(features=ALL, qsize_log=4):
    return struct.pack('<BQB', DRIVER_INIT, features, qsize_log)


def desc(q, idx, off, length, flags, nxt=0, kind=0):
    return struct.pack('<BBBBIIBB', DESC, q, idx, kind, off, length, flags,
                       nxt)


def kick(q, head=0):
    return struct.pack('<BBH', AVAIL, q, head) + bytes([NOTIFY, q])


def net_hdr(flags=0, gso=0, hdr_len=0, gso_size=0, cstart=0, coff=0):
    return struct.pack('<BHBBHHHH', NET_HDR, HDR, flags, gso, hdr_len,
                       gso_size, cstart, coff)


def frame(kind, length):
    return struct.pack('<BHBH', FRAME, PKT, kind, length)


def tx(kind=0, length=100, **hdr):
    return (net_hdr(**hdr) + frame(kind, length) +
            desc(TX, 0, HDR, 12 + length, 0) + kick(TX) + bytes([DRAIN]))


def rx_buffers(n, size, start=0):
    out = b''
    for i in range(n):
        out += desc(RX, start + i, RXBUF + i * size, size, WRITE)
        out += struct.pack('<BBH', AVAIL, RX, start + i)
    return out + bytes([NOTIFY, RX])


def inject(kind=0, length=100, dst=0, hdr=bytes(10)):
    return struct.pack('<BBHB', INJECT, kind, length, dst) + hdr


def ctrl(cls, cmd, data):
    body = bytes([cls, cmd]) + data
    return (struct.pack('<BHB', RAM_WRITE, CMD, len(body)) + body +
            desc(CTRL, 0, CMD, len(body), NEXT, 1) +
            desc(CTRL, 1, CMD + 0x100, 1, WRITE) + kick(CTRL))


def mac_table(uni, multi):
    out = struct.pack('<I', len(uni)) + b''.join(uni)
    return out + struct.pack('<I', len(multi)) + b''.join(multi)


OTHER = bytes([0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc])
MCAST = bytes([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01])

SEEDS = {
    'seed-tx-plain': init() + tx(),
    'seed-tx-csum': init() + tx(flags=1, cstart=34, coff=16),
    'seed-tx-tso4': init() + tx(0, 5000, flags=1, gso=1, gso_size=1448,
                                cstart=34, coff=16),
    'seed-tx-tso6': init() + tx(1, 4000, flags=1, gso=4, gso_size=1000,
                                cstart=54, coff=16),
    'seed-tx-bad-gso': init() + tx(2, 3000, flags=1, gso=3, gso_size=1000,
                                   cstart=34, coff=6),
    'seed-tx-bad-csum': init() + tx(0, 100, flags=1, cstart=0xfff0, coff=9),
    'seed-tx-short': init() + desc(TX, 0, HDR, 6, 0) + kick(TX),
    'seed-tx-blocked': init() + bytes([BLOCK, 1]) + tx() + tx(3, 60) +
    bytes([BLOCK, 0, DRAIN]) + tx(),
    'seed-rx-mrg': init() + rx_buffers(4, 1526) + inject(0, 4000, 0),
    'seed-rx-nobuf': init() + inject(0, 1000, 1) + inject(3, 60, 1) +
    rx_buffers(2, 2048),
    'seed-rx-small': init(ALL & ~bits(MRG)) + rx_buffers(2, 64) +
    inject(0, 1000, 1),
    'seed-ctrl-rx': init() + ctrl(0, 0, b'\0') + ctrl(0, 3, b'\1') +
    rx_buffers(4, 1526) + inject(0, 200, 3) + inject(0, 200, 2) +
    inject(3, 60, 1),
    'seed-ctrl-mac': init() + ctrl(0, 0, b'\0') +
    ctrl(1, 0, mac_table([OTHER], [MCAST])) +
    ctrl(1, 1, OTHER) + rx_buffers(4, 1526) + inject(0, 200, 3),
    'seed-ctrl-vlan': init() + ctrl(0, 0, b'\0') +
    ctrl(2, 0, struct.pack('<H', 5)) + rx_buffers(2, 1526) +
    inject(4, 200, 0) + ctrl(2, 1, struct.pack('<H', 5)) + inject(4, 200, 0),
    'seed-ctrl-offloads': bytes([SELECT, 1]) +
    init(ALL | bits(GUEST_CSUM, GUEST_TSO4, CTRL_GUEST_OFFLOADS)) +
    ctrl(5, 0, struct.pack('<Q', bits(GUEST_CSUM))) + rx_buffers(4, 1526) +
    inject(0, 3000, 0, struct.pack('<BBHHHH', 1, 1, 54, 1448, 34, 16)) +
    ctrl(5, 0, struct.pack('<Q', 0)) +
    inject(0, 200, 0, struct.pack('<BBHHHH', 1, 0, 0, 0, 34, 16)),
    'seed-link': init() + bytes([LINK, 0, LINK, 1]) +
    struct.pack('<BHB', MODERN_READ, 0x2006, 1),
    'seed-vnet-peer': bytes([SELECT, 1]) +
    init(ALL | bits(GUEST_CSUM, GUEST_TSO4)) +
    tx(0, 5000, flags=1, gso=1, gso_size=1448, cstart=34, coff=16) +
    rx_buffers(4, 1526) +
    inject(0, 3000, 0, struct.pack('<BBHHHH', 1, 1, 54, 1448, 34, 16)),
    'seed-legacy': struct.pack('<BBBI', LEGACY_WRITE, 0x12, 0, 3) +
    struct.pack('<BBBI', LEGACY_WRITE, 0x04, 2, bits(CSUM, MRG, STATUS)) +
    struct.pack('<BBBI', LEGACY_WRITE, 0x0e, 1, 1) +
    struct.pack('<BBBI', LEGACY_WRITE, 0x08, 2, 0x101) +
    struct.pack('<BBBI', LEGACY_WRITE, 0x12, 0, 7) +
    struct.pack('<BBB', LEGACY_READ, 0x14, 2) +
    struct.pack('<BBBI', LEGACY_WRITE, 0x14, 0, 0x02),
    'seed-msix': struct.pack('<BBBI', CFG_WRITE, 0x42, 1, 0x80) +
    struct.pack('<BHI', MSIX_WRITE, 4, 0xfee00000) +
    struct.pack('<BHI', MSIX_WRITE, 7, 0) + init() + tx(),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
