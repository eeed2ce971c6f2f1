#!/usr/bin/env python3
"""Write the seed inputs of fuzz-ide (tests/fuzz/fuzz-ide.c).

    tests/fuzz/gen-ide-seeds.py [OUTDIR]

Each seed drives the IDE channels the way a driver would (IDENTIFY, PIO
and DMA transfers, ATAPI commands, resets), so that fuzzing starts from
commands that go somewhere.  The encoding follows fuzz-ide.c's opcodes.
"""
import os
import struct
import sys

(REG_WRITE, REG_READ, CTL_WRITE, CTL_READ, DATA_READ, DATA_WRITE, ATA_CMD,
 PACKET, BM_WRITE, BM_READ, PRD, RAM_WRITE, DRAIN) = range(13)
PRI, SEC = 0, 1


class Program:
    def __init__(self):
        self.b = bytearray()

    def ata(self, ch, cmd, lba=0, count=1, dev=0xe0, feat=0):
        self.b += struct.pack('<BBBBH', ATA_CMD, ch, dev, feat, count)
        self.b += lba.to_bytes(6, 'little') + bytes([cmd])

    def packet(self, ch, cdb, dev=0xa0, dma=False, bcl=0xfffe):
        cdb = bytes(cdb) + bytes(12 - len(cdb))
        self.b += struct.pack('<BBBBH', PACKET, ch, dev, int(dma), bcl)
        self.b += cdb

    def read_data(self, ch, dwords):
        while dwords > 0:
            n = min(dwords, 256)
            self.b += bytes([DATA_READ, ch, 1, n - 1])
            dwords -= n

    def write_data(self, ch, words, val=0x5aa5):
        while words > 0:
            n = min(words, 256)
            self.b += bytes([DATA_WRITE, ch, 0, n - 1]) + \
                struct.pack('<H', val)
            words -= n

    def status(self, ch):
        self.b += bytes([REG_READ, ch, 7])

    def drain(self):
        self.b += bytes([DRAIN])

    def prd(self, ch, entries):
        self.b += bytes([PRD, ch, len(entries) - 1])
        for addr, count, last in entries:
            self.b += struct.pack('<IHB', addr, count, 0x80 if last else 0)

    def bm(self, off, val, size=1):
        self.b += struct.pack('<BBBI', BM_WRITE, off, {1: 0, 2: 1, 4: 2}[size],
                              val)

    def ctl(self, ch, val):
        self.b += bytes([CTL_WRITE, ch, val])


def seeds():
    p = Program()                       # IDENTIFY both units
    p.ata(PRI, 0xec)
    p.read_data(PRI, 128)
    p.ata(SEC, 0xa1, dev=0xa0)
    p.read_data(SEC, 128)
    p.ata(SEC, 0xec, dev=0xb0)
    p.status(SEC)
    yield 'seed-identify', p

    p = Program()                       # PIO read, write, multiple
    p.ata(PRI, 0x20, lba=3, count=2)
    p.drain()
    p.read_data(PRI, 128)
    p.drain()
    p.read_data(PRI, 128)
    p.ata(PRI, 0x30, lba=10, count=1)
    p.write_data(PRI, 256)
    p.drain()
    p.b += bytes([REG_WRITE, PRI, 1, 8])
    p.ata(PRI, 0xc6, count=8)
    p.ata(PRI, 0x29, lba=0, count=16, dev=0x40)
    p.drain()
    p.read_data(PRI, 1024)
    p.ata(PRI, 0xe7)
    p.drain()
    yield 'seed-pio', p

    p = Program()                       # DMA read and write
    p.prd(PRI, [(0x2000, 0x400, False), (0x3000, 0x800, True)])
    p.bm(0, 0x08)
    p.ata(PRI, 0xc8, lba=1, count=3)
    p.bm(0, 0x09)
    p.drain()
    p.bm(2, 0x06)
    p.bm(0, 0)
    p.prd(PRI, [(0x4000, 0, True)])
    p.ata(PRI, 0x35, lba=0, count=8, dev=0x40)
    p.bm(0, 0x01)
    p.drain()
    p.status(PRI)
    yield 'seed-dma', p

    p = Program()                       # bad PRD tables
    p.prd(PRI, [(0xfffff000, 0x2000, True)])
    p.bm(0, 0x08)
    p.ata(PRI, 0xc8, lba=0, count=16)
    p.bm(0, 0x09)
    p.drain()
    p.bm(0, 0x08)
    p.bm(4, 0xfff8, 4)
    p.ata(PRI, 0x25, lba=0, count=4)
    p.bm(0, 0x09)
    p.drain()
    yield 'seed-bad-prd', p

    p = Program()                       # ATAPI by PIO
    p.packet(SEC, [0x12, 0, 0, 0, 36])
    p.read_data(SEC, 9)
    p.packet(SEC, [0x25])
    p.read_data(SEC, 2)
    p.packet(SEC, [0x28, 0, 0, 0, 0, 16, 0, 0, 2], bcl=0x800)
    p.drain()
    p.read_data(SEC, 512)
    p.drain()
    p.read_data(SEC, 512)
    p.packet(SEC, [0x43, 2, 0, 0, 0, 0, 0, 0, 0xff])
    p.read_data(SEC, 16)
    p.packet(SEC, [0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 0xff])
    p.read_data(SEC, 16)
    p.packet(SEC, [0x46, 0, 0, 0, 0, 0, 0, 0, 0xff])
    p.read_data(SEC, 16)
    p.packet(SEC, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8])
    p.read_data(SEC, 2)
    yield 'seed-atapi-pio', p

    p = Program()                       # ATAPI by DMA, tray, no medium
    p.prd(SEC, [(0x5000, 0x1000, True)])
    p.bm(8, 0x08)
    p.packet(SEC, [0x28, 0, 0, 0, 0, 1, 0, 0, 2], dma=True)
    p.bm(8, 0x09)
    p.drain()
    p.bm(8, 0x00)
    p.packet(SEC, [0x1e, 0, 0, 0, 1])
    p.packet(SEC, [0x1b, 0, 0, 0, 2])
    p.packet(SEC, [0x1e, 0, 0, 0, 0])
    p.packet(SEC, [0x1b, 0, 0, 0, 2])
    p.packet(SEC, [0x00])
    p.packet(SEC, [0x1b, 0, 0, 0, 3])
    p.packet(SEC, [0x00])
    p.packet(SEC, [0x03, 0, 0, 0, 18])
    p.read_data(SEC, 5)
    p.packet(SEC, [0x00], dev=0xb0)
    p.packet(SEC, [0x03, 0, 0, 0, 18], dev=0xb0)
    p.read_data(SEC, 5)
    yield 'seed-atapi-dma-tray', p

    p = Program()                       # resets in the middle
    p.ata(PRI, 0x20, lba=0, count=0)
    p.ctl(PRI, 0x04)
    p.drain()
    p.ctl(PRI, 0x00)
    p.packet(SEC, [0x28, 0, 0, 0, 0, 0, 0, 0, 40])
    p.ata(SEC, 0x08, dev=0xa0)
    p.drain()
    p.ata(PRI, 0x90)
    p.ctl(PRI, 0x82)
    p.b += bytes([REG_READ, PRI, 2])
    yield 'seed-resets', p


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'corpus-ide')
    os.makedirs(out, exist_ok=True)
    for name, prog in seeds():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(prog.b)


if __name__ == '__main__':
    main()
