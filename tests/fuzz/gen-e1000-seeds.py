#!/usr/bin/env python3
"""Write the seed corpus of fuzz-e1000 (see the op list at the top of
tests/fuzz/fuzz-e1000.c): a driver init followed by transmits of each
descriptor kind, received frames of each kind, and the broken rings and
buffers the device must survive.

    tests/fuzz/gen-e1000-seeds.py tests/fuzz/corpus-e1000
"""
import os
import struct
import sys

(MMIO_WRITE, MMIO_READ, IO_WRITE, IO_READ, CFG_WRITE, CFG_READ,
 DRIVER_INIT, TX_DESC, TX_KICK, RX_DESC, RX_KICK, RAM_WRITE, INJECT,
 BACKEND, LINK, CLOCK, EEPROM) = range(17)
CTRL, EECD, MDIC, ICR, ITR, ICS, RCTL = 0, 0x10, 0x20, 0xc0, 0xc4, 0xc8, 0x100
RAH0, VFTA = 0x5404, 0x5600
EOP, IFCS, RS, TSE, DEXT, VLE = 1, 2, 8, 4, 0x20, 0x40
BUF = 0x8000                # window offset of transmit data
BSIZE_256 = 3 << 16
MAC = bytes.fromhex('525400123456')


def init(rxlen=0, txlen=0, rctl=1 << 15):
    return struct.pack('<BBBI', DRIVER_INIT, rxlen, txlen, rctl)


def mmio_w(reg, val):
    return struct.pack('<BI', MMIO_WRITE, reg // 4)[:4] + struct.pack(
        '<I', val)


def mmio_r(reg):
    return struct.pack('<BI', MMIO_READ, reg // 4)[:4]


def ram(off, data):
    out = b''
    for i in range(0, len(data), 255):
        chunk = data[i:i + 255]
        out += struct.pack('<BHB', RAM_WRITE, off + i, len(chunk)) + chunk
    return out


def tx_desc(idx, addr_off, word2, word3=0, kind=0):
    return struct.pack('<BBBIII', TX_DESC, idx, kind, addr_off, word2, word3)


def legacy(idx, length, cmd=EOP | IFCS | RS, off=BUF, cso=0, css=0):
    return tx_desc(idx, off, length | cso << 16 | cmd << 24, css << 8)


def context(idx, ipcss=14, ipcso=24, ipcse=33, tucss=34, tucso=50, tucse=0,
            paylen=0, tucmd=3, hdrlen=0, mss=0):
    """A context descriptor, written straight into transmit ring slot
    @idx (the ring starts the window)."""
    lo = ipcss | ipcso << 8 | ipcse << 16
    hi = tucss | tucso << 8 | tucse << 16
    return ram(16 * idx, struct.pack('<IIII', lo, hi,
                                      paylen | (tucmd | DEXT) << 24,
                                      hdrlen << 8 | mss << 16))


def data(idx, length, cmd=EOP | IFCS | RS, popts=3, off=BUF, special=0):
    return tx_desc(idx, off, length | 1 << 20 | (cmd | DEXT) << 24,
                   popts << 8 | special << 16)


def kick(tail):
    return struct.pack('<BH', TX_KICK, tail)


def inject(frame, dst=0):
    return struct.pack('<BBH', INJECT, dst, len(frame)) + frame


def tcp_frame(payload_len):
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 0, 1, 0x4000, 64, 6, 0,
                     bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2]))
    tcp = struct.pack('>HHIIBBHHH', 1234, 80, 1000, 0, 5 << 4, 0x18, 65535,
                      0, 0)
    return (b'\x52\x55\x0a\x00\x02\x02' + MAC + b'\x08\x00' + ip + tcp +
            bytes(i & 0xff for i in range(payload_len)))


ARP = (b'\xff' * 6 + MAC + b'\x08\x06' +
       struct.pack('>HHBBH', 1, 0x0800, 6, 4, 1) + MAC +
       bytes([10, 0, 2, 15]) + b'\x00' * 6 + bytes([10, 0, 2, 2]))
UDP = tcp_frame(0)[:23] + b'\x11' + tcp_frame(0)[24:34] + \
    struct.pack('>HHHH', 68, 67, 8 + 32, 0) + b'\x00' * 32


def eeprom_read(addr):
    out = mmio_w(EECD, 0x40) + mmio_w(EECD, 0x42)
    bits = (0b110 << 6) | addr
    for i in range(8, -1, -1):
        di = 4 if (bits >> i) & 1 else 0
        out += mmio_w(EECD, 0x42 | di) + mmio_w(EECD, 0x43 | di)
    for _ in range(16):
        out += mmio_w(EECD, 0x43) + mmio_r(EECD) + mmio_w(EECD, 0x42)
    return out + mmio_w(EECD, 0)


TSO = tcp_frame(3000)
SEEDS = {
    'seed-tx-legacy': init() + ram(BUF, ARP) + legacy(0, len(ARP)) +
    kick(1),
    'seed-tx-csum': init() + ram(BUF, UDP) +
    context(0, tucso=40, tucmd=2) + data(1, len(UDP)) + kick(2),
    'seed-tx-legacy-csum': init() + ram(BUF, UDP) +
    legacy(0, len(UDP), EOP | IFCS | RS | 4, cso=40, css=34) + kick(1),
    'seed-tx-tso': init() + ram(BUF, TSO) +
    context(0, paylen=3000, tucmd=3 | TSE, hdrlen=54, mss=1000) +
    data(1, 1000, cmd=TSE) + data(2, len(TSO) - 1000, off=BUF + 1000,
                                  cmd=EOP | IFCS | RS | TSE) + kick(3),
    'seed-tx-vlan': mmio_w(CTRL, 1 << 30) + init() + ram(BUF, ARP) +
    legacy(0, len(ARP), EOP | IFCS | RS | VLE) + kick(1),
    'seed-tx-busy': init() + struct.pack('<BB', BACKEND, 1) +
    ram(BUF, ARP) + legacy(0, len(ARP)) + legacy(1, len(ARP)) + kick(2) +
    struct.pack('<BB', BACKEND, 0),
    'seed-tx-loop': init() + struct.pack('<BB', BACKEND, 2) +
    ram(BUF, ARP) + legacy(0, len(ARP)) + kick(1),
    'seed-rx': init() + inject(ARP[6:] + MAC, 0) + inject(ARP, 1) +
    mmio_r(ICR),
    'seed-rx-multi': init(rctl=1 << 15 | BSIZE_256 | 1 << 26) +
    inject(bytes(1000), 0),
    'seed-rx-full': init() + struct.pack('<BH', RX_KICK, 1) +
    inject(bytes(64), 1) + inject(bytes(64), 1) + inject(bytes(64), 1) +
    struct.pack('<BH', RX_KICK, 5),
    'seed-rx-vlan': mmio_w(CTRL, 1 << 30) + mmio_w(VFTA, 0x20) +
    init(rctl=1 << 15 | 1 << 18) +
    inject(b'\xff' * 6 + MAC + b'\x81\x00\x00\x05' + bytes(50), 2),
    'seed-rx-bad-buffer': init() +
    struct.pack('<BBBI', RX_DESC, 0, 2, 0x1000) + inject(bytes(64), 1),
    'seed-dma-to-self': init() +
    struct.pack('<BBBI', RX_DESC, 0, 1, 0xe0000000) + inject(bytes(64), 1) +
    tx_desc(0, 0xe0000000 + 0x3818, 64 | 0x0b000000, kind=1) + kick(1),
    'seed-tx-outside-ram': init() + tx_desc(0, 0x100, len(ARP) | 0x0b000000,
                                            kind=2) + kick(1),
    'seed-bad-ring': init() + mmio_w(0x3808, 0) + kick(3) +
    mmio_w(0x3808, 0x80) + kick(200) + mmio_w(CTRL, 1 << 26),
    'seed-eeprom': eeprom_read(0) + eeprom_read(0x3f) +
    mmio_w(0x14, 0x301) + mmio_r(0x14),
    'seed-eeprom-op': bytes([EEPROM, 0, EEPROM, 0x3f, EEPROM, 0x40]),
    'seed-filter': mmio_w(RCTL, 0x801a) + mmio_w(0x5200, 1) +
    mmio_w(RAH0 + 8, 0x80000001) + mmio_w(VFTA, 0x20),
    'seed-mdic': mmio_w(MDIC, 2 << 26 | 1 << 21 | 2 << 16) + mmio_r(MDIC) +
    mmio_w(MDIC, 1 << 26 | 1 << 21 | 0x1340 | 1 << 29) +
    struct.pack('<BI', CLOCK, 2000000)[:4],
    'seed-link': mmio_w(0xd0, 4) + struct.pack('<BB', LINK, 0) +
    mmio_r(ICR) + struct.pack('<BB', LINK, 1) + mmio_r(ICR),
    'seed-itr': mmio_w(0xd0, 4) + mmio_w(ITR, 100) + mmio_w(ICS, 4) +
    mmio_r(ICR) + mmio_w(ICS, 4) + struct.pack('<BI', CLOCK, 30000)[:4],
    'seed-io': struct.pack('<BBI', IO_WRITE, 0, 0x8) +
    struct.pack('<BB', IO_READ, 1) + struct.pack('<BBI', IO_WRITE, 0,
                                                 RAH0) +
    struct.pack('<BBI', IO_WRITE, 1, 0),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, blob in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(blob)


if __name__ == '__main__':
    main()
