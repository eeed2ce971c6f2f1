#!/usr/bin/env python3
"""Write the seed corpus of fuzz-virtio-blk (see the op list at the top of
tests/fuzz/fuzz-virtio-blk.c): a driver init followed by one request of
each kind, plus the broken chains the device must survive.

    tests/fuzz/gen-virtio-blk-seeds.py tests/fuzz/corpus-virtio-blk
"""
import os
import struct
import sys

(CFG_WRITE, CFG_READ, MODERN_WRITE, MODERN_READ, LEGACY_WRITE, LEGACY_READ,
 MSIX_WRITE, MSIX_READ, DRIVER_INIT, DESC, AVAIL, NOTIFY, RAM_WRITE, HEADER,
 DRAIN) = range(15)
F_FLUSH, F_INDIRECT, F_EVENT_IDX = 1 << 9, 1 << 28, 1 << 29
NEXT, WRITE, INDIRECT = 1, 2, 4
HDR, DATA, STATUS, TABLE = 0x4000, 0x5000, 0x4100, 0x8000


def init(features=F_FLUSH | F_INDIRECT | F_EVENT_IDX, qsize_log=4):
    return struct.pack('<BQB', DRIVER_INIT, features, qsize_log)


def desc(idx, off, length, flags, nxt=0, kind=0):
    return struct.pack('<BBBIIBB', DESC, idx, kind, off, length, flags, nxt)


def header(off, rtype, sector):
    return struct.pack('<BHBI', HEADER, off, rtype, sector)


def kick(head=0):
    return struct.pack('<BH', AVAIL, head) + struct.pack('<BB', NOTIFY, 0)


def request(rtype, sector, data_flags=WRITE, length=512):
    return (header(HDR, rtype, sector) + desc(0, HDR, 16, NEXT, 1) +
            desc(1, DATA, length, data_flags | NEXT, 2) +
            desc(2, STATUS, 1, WRITE) + kick() + bytes([DRAIN]))


SEEDS = {
    'seed-read': init() + request(0, 3),
    'seed-write': init() + request(1, 8, data_flags=0),
    'seed-flush': init() + header(HDR, 4, 0) + desc(0, HDR, 16, NEXT, 1) +
    desc(1, STATUS, 1, WRITE) + kick() + bytes([DRAIN]),
    'seed-get-id': init() + request(8, 0, length=20),
    'seed-loop': init() + desc(0, HDR, 16, NEXT, 1) +
    desc(1, DATA, 16, NEXT | WRITE, 0) + kick(),
    'seed-outside-ram': init() + desc(0, HDR, 16, NEXT, 1) +
    desc(1, 0x100, 512, WRITE, 0, kind=2) + kick(),
    'seed-indirect': init() + header(HDR, 0, 1) +
    struct.pack('<BH', RAM_WRITE, TABLE) + bytes([48]) +
    struct.pack('<QIHH', 0x100000 + HDR, 16, NEXT, 1) +
    struct.pack('<QIHH', 0x100000 + DATA, 512, NEXT | WRITE, 2) +
    struct.pack('<QIHH', 0x100000 + STATUS, 1, WRITE, 0) +
    desc(0, TABLE, 48, INDIRECT) + kick() + bytes([DRAIN]),
    'seed-msix': struct.pack('<BBBI', CFG_WRITE, 0x42, 1, 0x80) +
    struct.pack('<BHI', MSIX_WRITE, 4, 0xfee00000) +
    struct.pack('<BHI', MSIX_WRITE, 7, 0) + init() + request(0, 1),
    'seed-legacy': struct.pack('<BBBI', LEGACY_WRITE, 0x12, 0, 3) +
    struct.pack('<BBBI', LEGACY_WRITE, 0x08, 2, 0x100) +
    struct.pack('<BBBI', LEGACY_WRITE, 0x12, 0, 7) +
    struct.pack('<BBB', LEGACY_READ, 0x13, 0),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
