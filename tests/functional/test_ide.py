#!/usr/bin/env python3
"""The PIIX3 IDE function over qtest: ATA disks (PIO, LBA28/LBA48,
multiple mode, bus-master DMA, bad PRD tables) and the ATAPI CD-ROM
(INQUIRY, READ CAPACITY, READ(10) by PIO and DMA, sense with no medium),
against images made at test time.  Every wait polls a status register.
"""
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import QtestMachine, is_real_qemu  # noqa: E402
from test_qmp_client import QMPClient  # noqa: E402

NO_QEMU = unittest.skipIf(is_real_qemu(), 'Debian QEMU lacks qtest')

IDE_BDF = 0x09                  # 00:01.1
BM_BASE = 0xc000
PRI, PRI_CTL = 0x1f0, 0x3f6
SEC, SEC_CTL = 0x170, 0x376
RAM = 128 << 20

BSY, DRDY, DRQ, ERR = 0x80, 0x40, 0x08, 0x01
BM_START, BM_TO_MEM = 0x01, 0x08
BM_ACTIVE, BM_ERROR, BM_INT = 0x01, 0x02, 0x04
ABRT = 0x04


def cfg_write(m, bdf, reg, val, size=4):
    m.outl(0xcf8, 0x80000000 | (bdf << 8) | (reg & 0xfc))
    {1: m.outb, 2: m.outw, 4: m.outl}[size](0xcfc + (reg & 3), val)


def cfg_read(m, bdf, reg, size=4):
    m.outl(0xcf8, 0x80000000 | (bdf << 8) | (reg & 0xfc))
    return {1: m.inb, 2: m.inw, 4: m.inl}[size](0xcfc + (reg & 3))


def mem_write(m, addr, data):
    m.ok('b64write 0x%x 0x%x %s' % (addr, len(data),
                                     base64.b64encode(data).decode()))


def mem_read(m, addr, size):
    return base64.b64decode(m.ok('b64read 0x%x 0x%x' % (addr, size)))


def pattern(n, seed):
    return random.Random(seed).randbytes(n)


class Channel:
    """One IDE channel: taskfile at @base, device control at @ctl."""

    def __init__(self, m, base, ctl, bm):
        self.m, self.base, self.ctl, self.bm = m, base, ctl, bm

    def wait(self, mask=BSY, value=0):
        ok = self.m.poll_until(
            lambda: self.m.inb(self.ctl) & mask == value)
        assert ok, 'status 0x%x' % self.m.inb(self.ctl)
        return self.m.inb(self.ctl)

    def select(self, unit, lba_bits=0):
        self.m.outb(self.base + 6, 0xe0 | (unit << 4) | lba_bits)

    def taskfile(self, lba, count, lba48=False, unit=0):
        m, b = self.m, self.base
        if lba48:
            m.outb(b + 2, (count >> 8) & 0xff)
            m.outb(b + 3, (lba >> 24) & 0xff)
            m.outb(b + 4, (lba >> 32) & 0xff)
            m.outb(b + 5, (lba >> 40) & 0xff)
            self.select(unit)
        else:
            self.select(unit, (lba >> 24) & 0x0f)
        m.outb(b + 2, count & 0xff)
        m.outb(b + 3, lba & 0xff)
        m.outb(b + 4, (lba >> 8) & 0xff)
        m.outb(b + 5, (lba >> 16) & 0xff)

    def command(self, cmd):
        self.m.outb(self.base + 7, cmd)

    def read_words(self, nbytes):
        return b''.join(self.m.inw(self.base).to_bytes(2, 'little')
                        for _ in range(nbytes // 2))

    def read_block(self, nbytes):
        """Dwords, as ata_piix's 32-bit PIO does."""
        return b''.join(self.m.inl(self.base).to_bytes(4, 'little')
                        for _ in range(nbytes // 4))

    def write_words(self, data):
        for i in range(0, len(data), 2):
            self.m.outw(self.base, int.from_bytes(data[i:i + 2], 'little'))

    def status(self):
        return self.m.inb(self.base + 7)

    def error(self):
        return self.m.inb(self.base + 1)

    # ---- bus master ----
    def bm_setup(self, prd_addr, to_mem):
        m = self.m
        m.outb(self.bm + 2, BM_ERROR | BM_INT)     # clear
        m.outl(self.bm + 4, prd_addr)
        m.outb(self.bm, BM_TO_MEM if to_mem else 0)

    def bm_start(self, to_mem):
        self.m.outb(self.bm, (BM_TO_MEM if to_mem else 0) | BM_START)

    def bm_wait(self):
        m = self.m
        assert m.poll_until(lambda: m.inb(self.bm + 2) & BM_INT), \
            'no bus master interrupt'
        st = m.inb(self.bm + 2)
        m.outb(self.bm, 0)
        return st


def prd(entries):
    out = b''
    for addr, size, last in entries:
        out += addr.to_bytes(4, 'little')
        out += ((size & 0xffff) | (0x80000000 if last else 0)).to_bytes(
            4, 'little')
    return out


class IDEBase(unittest.TestCase):
    disk_size = 8 << 20

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='qlite-ide-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def make_disk(self, size=None, name='disk.img', seed=1, sparse=False):
        path = os.path.join(self.dir, name)
        size = size or self.disk_size
        with open(path, 'wb') as f:
            if sparse:
                f.truncate(size)
            else:
                f.write(pattern(size, seed))
        return path

    def start(self, args):
        m = QtestMachine(['-m', str(RAM >> 20)] + args).start()
        self.addCleanup(m.close)
        # What firmware would do: BAR4, I/O decoding and bus mastering.
        cfg_write(m, IDE_BDF, 0x20, BM_BASE | 1)
        cfg_write(m, IDE_BDF, 0x04, 0x05, 2)
        m.ok('irq_intercept_in ioapic')
        self.m = m
        self.pri = Channel(m, PRI, PRI_CTL, BM_BASE)
        self.sec = Channel(m, SEC, SEC_CTL, BM_BASE + 8)
        return m

    def file_bytes(self, path, offset, size):
        with open(path, 'rb') as f:
            f.seek(offset)
            return f.read(size)


@NO_QEMU
class ATATest(IDEBase):
    def setUp(self):
        super().setUp()
        self.disk = self.make_disk()
        self.start(['-drive', 'file=%s,format=raw,if=ide,index=0,'
                    'serial=SER-0' % self.disk])

    def identify(self):
        ch = self.pri
        ch.select(0)
        ch.command(0xec)
        ch.wait(BSY | DRQ, DRQ)
        data = ch.read_words(512)
        self.assertEqual(ch.status() & (BSY | DRQ | ERR), 0)
        return [int.from_bytes(data[i:i + 2], 'little')
                for i in range(0, 512, 2)]

    @staticmethod
    def id_str(w, start, words):
        return ''.join(chr(x >> 8) + chr(x & 0xff)
                       for x in w[start:start + words]).strip()

    def test_pci_function(self):
        m = self.m
        self.assertEqual(cfg_read(m, IDE_BDF, 0), 0x70108086)
        self.assertEqual(cfg_read(m, IDE_BDF, 0x08) >> 8, 0x010180)
        self.assertEqual(cfg_read(m, IDE_BDF, 0x20), BM_BASE | 1)
        cfg_write(m, IDE_BDF, 0x20, 0xffffffff)
        self.assertEqual(cfg_read(m, IDE_BDF, 0x20), 0xfffffff1)  # 16 B

    def test_identify(self):
        w = self.identify()
        self.assertEqual(self.id_str(w, 27, 20), 'QEMU HARDDISK')
        self.assertEqual(self.id_str(w, 10, 10), 'SER-0')    # -drive serial=
        self.assertEqual(self.id_str(w, 23, 4), '2.5+')
        sectors = self.disk_size // 512
        self.assertEqual(w[60] | (w[61] << 16), sectors)
        self.assertEqual(w[100] | (w[101] << 16), sectors)
        self.assertTrue(w[49] & (1 << 9))           # LBA
        self.assertTrue(w[49] & (1 << 8))           # DMA
        self.assertTrue(w[83] & (1 << 10))          # 48-bit
        self.assertTrue(w[86] & (1 << 10))
        self.assertEqual(w[47] & 0xff, 16)          # READ MULTIPLE max

    def test_pio_read_lba28_irq(self):
        ch = self.pri
        self.m.take_irqs()
        ch.taskfile(3, 2)
        ch.command(0x20)
        data = b''
        for _ in range(2):
            ch.wait(BSY | DRQ, DRQ)
            self.assertEqual(self.m.irq_level(14), 1)
            self.assertEqual(ch.status() & ERR, 0)     # acks the IRQ
            self.assertEqual(self.m.irq_level(14), 0)
            data += ch.read_block(512)
        ch.wait()
        self.assertEqual(data, self.file_bytes(self.disk, 3 * 512, 1024))

    def test_pio_write_lba28(self):
        ch = self.pri
        data = pattern(1024, 7)
        ch.taskfile(100, 2)
        ch.command(0x30)
        for i in range(2):
            ch.wait(BSY | DRQ, DRQ)
            ch.write_words(data[i * 512:(i + 1) * 512])
        st = ch.wait(BSY | DRQ, 0)
        self.assertEqual(st & ERR, 0)
        ch.command(0xe7)                               # FLUSH CACHE
        self.assertEqual(ch.wait() & ERR, 0)
        self.assertEqual(self.file_bytes(self.disk, 100 * 512, 1024), data)

    def test_multiple_mode(self):
        ch = self.pri
        ch.m.outb(PRI + 2, 4)
        ch.command(0xc6)                               # SET MULTIPLE 4
        self.assertEqual(ch.wait() & ERR, 0)
        self.assertEqual(self.identify()[59], 0x104)
        data = pattern(8 * 512, 8)
        ch.taskfile(40, 8, lba48=True)
        ch.command(0x39)                               # WRITE MULTIPLE EXT
        for i in range(2):
            ch.wait(BSY | DRQ, DRQ)
            ch.write_words(data[i * 2048:(i + 1) * 2048])
        self.assertEqual(ch.wait(BSY | DRQ, 0) & ERR, 0)
        ch.taskfile(40, 8)
        ch.command(0xc4)                               # READ MULTIPLE
        got = b''
        for _ in range(2):
            ch.wait(BSY | DRQ, DRQ)
            got += ch.read_words(2048)
        self.assertEqual(got, data)
        ch.m.outb(PRI + 2, 3)
        ch.command(0xc6)                               # not a power of 2
        self.assertTrue(ch.wait() & ERR)
        self.assertEqual(ch.error(), ABRT)

    def test_out_of_range_and_unknown(self):
        ch = self.pri
        ch.taskfile(self.disk_size // 512, 1)
        ch.command(0x20)
        self.assertTrue(ch.wait() & ERR)
        self.assertTrue(ch.error() & 0x10)             # IDNF
        ch.command(0xff)                               # no such command
        self.assertTrue(ch.wait() & ERR)
        self.assertEqual(ch.error(), ABRT)
        self.assertEqual(self.identify()[0], 0x0040)

    def test_srst_signature(self):
        ch = self.pri
        self.m.outb(PRI_CTL, 0x04)
        self.assertTrue(self.m.inb(PRI_CTL) & BSY)
        self.m.outb(PRI_CTL, 0x00)
        ch.wait()
        self.assertEqual([self.m.inb(PRI + r) for r in range(1, 6)],
                         [1, 1, 1, 0, 0])
        self.assertEqual(self.m.inb(SEC + 7), 0)       # nothing there

    def test_nien_masks_irq(self):
        ch = self.pri
        self.m.outb(PRI_CTL, 0x02)
        ch.select(0)
        ch.command(0xe5)                               # CHECK POWER MODE
        ch.wait()
        self.assertEqual(self.m.irq_level(14), 0)
        self.assertEqual(self.m.inb(PRI + 2), 0xff)
        self.m.outb(PRI_CTL, 0x00)

    def dma(self, cmd, lba, count, table, to_mem):
        ch = self.pri
        mem_write(self.m, 0x1000, table)
        ch.bm_setup(0x1000, to_mem)
        ch.taskfile(lba, count, lba48=cmd in (0x25, 0x35))
        ch.command(cmd)
        ch.bm_start(to_mem)
        bm = ch.bm_wait()
        st = ch.wait()
        return bm, st

    def test_dma_read(self):
        # 16 sectors over three regions of 2 KiB, 2 KiB and 4 KiB.
        table = prd([(0x20000, 0x800, False), (0x30000, 0x800, False),
                     (0x40000, 0x1000, True)])
        bm, st = self.dma(0xc8, 5, 16, table, True)
        self.assertEqual(bm & (BM_ERROR | BM_ACTIVE), 0)
        self.assertEqual(st & ERR, 0)
        got = (mem_read(self.m, 0x20000, 0x800) +
               mem_read(self.m, 0x30000, 0x800) +
               mem_read(self.m, 0x40000, 0x1000))
        self.assertEqual(got, self.file_bytes(self.disk, 5 * 512, 8192))

    def test_dma_read_large_ext(self):
        # 512 sectors (256 KiB, more than one internal chunk), 64 KiB
        # regions (byte count 0).
        n = 512
        table = prd([(0x100000 + i * 0x10000, 0, i == 3)
                     for i in range(4)])
        bm, st = self.dma(0x25, 1000, n, table, True)
        self.assertEqual((bm & BM_ERROR, st & ERR), (0, 0))
        self.assertEqual(mem_read(self.m, 0x100000, n * 512),
                         self.file_bytes(self.disk, 1000 * 512, n * 512))

    def test_dma_write(self):
        data = pattern(16 * 512, 9)
        mem_write(self.m, 0x50000, data)
        table = prd([(0x50000, 0x1000, False), (0x51000, 0x1000, True)])
        bm, st = self.dma(0x35, 200, 16, table, False)
        self.assertEqual((bm & BM_ERROR, st & ERR), (0, 0))
        self.assertEqual(self.file_bytes(self.disk, 200 * 512, 8192), data)

    def assert_prd_error(self, bm, st):
        self.assertTrue(bm & BM_ERROR)
        self.assertFalse(bm & BM_ACTIVE)
        self.assertTrue(st & ERR)
        self.assertEqual(self.pri.error() & ABRT, ABRT)
        # qlite still answers, and the next command works.
        self.assertEqual(self.identify()[27] >> 8, ord('Q'))

    def test_prd_past_ram(self):
        table = prd([(RAM - 0x1000, 0x2000, True)])
        self.assert_prd_error(*self.dma(0xc8, 0, 16, table, True))

    def test_prd_write_past_ram(self):
        table = prd([(0xfffff000, 0x2000, True)])
        self.assert_prd_error(*self.dma(0xca, 0, 16, table, False))

    def test_prd_too_short(self):
        table = prd([(0x20000, 0x200, True)])
        self.assert_prd_error(*self.dma(0xc8, 0, 2, table, True))

    def test_prd_no_end_bit_runs_off_ram(self):
        ch = self.pri
        at = RAM - 8                    # the next entry would be past RAM
        mem_write(self.m, at, prd([(0x20000, 0x200, False)]))
        ch.bm_setup(at, True)
        ch.taskfile(0, 2)
        ch.command(0xc8)
        ch.bm_start(True)
        self.assert_prd_error(ch.bm_wait(), ch.wait())

    def test_prd_no_end_bit_bounded(self):
        # 8192 two-byte entries, none the last: 16 KiB, short of 32 KiB.
        ch = self.pri
        mem_write(self.m, 0x200000, prd([(0x300000, 2, False)] * 8192))
        ch.bm_setup(0x200000, True)
        ch.taskfile(0, 64)
        ch.command(0xc8)
        ch.bm_start(True)
        self.assert_prd_error(ch.bm_wait(), ch.wait())


@NO_QEMU
class LBA48Test(IDEBase):
    def test_pio_lba48_beyond_28_bits(self):
        disk = self.make_disk(size=(1 << 28) * 512 + (1 << 20), sparse=True)
        self.start(['-drive', 'file=%s,format=raw,if=ide' % disk])
        ch = self.pri
        lba = (1 << 28) + 5
        data = pattern(1024, 3)
        ch.taskfile(lba, 2, lba48=True)
        ch.command(0x34)                               # WRITE SECTORS EXT
        for i in range(2):
            ch.wait(BSY | DRQ, DRQ)
            ch.write_words(data[i * 512:(i + 1) * 512])
        self.assertEqual(ch.wait(BSY | DRQ, 0) & ERR, 0)
        self.assertEqual(self.file_bytes(disk, lba * 512, 1024), data)
        ch.taskfile(lba + 1, 1, lba48=True)
        ch.command(0x24)                               # READ SECTORS EXT
        ch.wait(BSY | DRQ, DRQ)
        self.assertEqual(ch.read_words(512), data[512:])
        # LBA28 keeps the low 28 bits only
        ch.taskfile(lba, 1)
        ch.command(0x20)
        ch.wait(BSY | DRQ, DRQ)
        self.assertEqual(ch.read_words(512),
                         self.file_bytes(disk, 5 * 512, 512))

    def test_qcow2_dma_roundtrip(self):
        if not shutil.which('qemu-img'):
            self.skipTest('qemu-img not installed')
        img = os.path.join(self.dir, 'd.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', img,
                        '16M'], check=True)
        self.start(['-drive', 'file=%s,format=qcow2,if=ide' % img])
        ch = self.pri
        data = pattern(8192, 5)
        mem_write(self.m, 0x60000, data)
        mem_write(self.m, 0x1000, prd([(0x60000, 0x2000, True)]))
        ch.bm_setup(0x1000, False)
        ch.taskfile(777, 16)
        ch.command(0xca)
        ch.bm_start(False)
        self.assertFalse(ch.bm_wait() & BM_ERROR)
        self.assertFalse(ch.wait() & ERR)
        ch.command(0xea)                               # FLUSH CACHE EXT
        self.assertFalse(ch.wait() & ERR)
        raw = os.path.join(self.dir, 'd.raw')
        subprocess.run(['qemu-img', 'convert', '-U', '-O', 'raw', img, raw],
                       check=True)
        self.assertEqual(self.file_bytes(raw, 777 * 512, 8192), data)


@NO_QEMU
class DeviceTest(IDEBase):
    def test_read_only_drive_refused(self):
        disk = self.make_disk()
        p = subprocess.run(
            [QtestMachine().binary, '-machine', 'pc', '-accel', 'qtest',
             '-display', 'none', '-nodefaults', '-drive',
             'file=%s,format=raw,if=none,id=d0,readonly=on' % disk,
             '-device', 'ide-hd,drive=d0,bus=ide.0'],
            capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"Can't use a read-only drive", p.stderr)

    def query_block(self, args):
        qmp = (b'{"execute":"qmp_capabilities"}\n'
               b'{"execute":"query-block"}\n{"execute":"quit"}\n')
        p = subprocess.run(
            [QtestMachine().binary, '-machine', 'pc', '-accel', 'qtest',
             '-display', 'none', '-qmp', 'stdio', '-serial', 'none',
             '-monitor', 'none'] + args, input=qmp, capture_output=True,
            timeout=30)
        for line in p.stdout.decode().splitlines():
            reply = json.loads(line)
            if isinstance(reply.get('return'), list):
                return reply['return']
        self.fail(p.stderr)

    def test_default_cdrom(self):
        # as QEMU: an empty ide1-cd0 unless -nodefaults or a -device disk
        blk = self.query_block([])
        self.assertEqual([b['device'] for b in blk], ['ide1-cd0'])
        self.assertTrue(blk[0]['removable'])
        self.assertNotIn('inserted', blk[0])
        self.assertEqual(self.query_block(['-nodefaults']), [])
        disk = self.make_disk()
        blk = self.query_block(['-drive', 'file=%s,format=raw,if=none,'
                                'id=d0' % disk, '-device', 'ide-hd,drive=d0'])
        self.assertEqual([b['device'] for b in blk], ['d0'])

    def test_default_serial(self):
        disk = self.make_disk()
        self.start(['-drive', 'file=%s,format=raw,if=ide,index=3' % disk])
        ch = self.sec
        ch.select(1)
        ch.command(0xec)
        ch.wait(BSY | DRQ, DRQ)
        self.assertEqual(ch.read_words(512)[20:28], b'MQ0000 4')  # QM00004

    def test_device_options(self):
        disk = self.make_disk()
        self.start(['-drive', 'file=%s,format=raw,if=none,id=d0' % disk,
                    '-device', 'ide-hd,drive=d0,bus=ide.1,unit=1,'
                    'serial=SN42,model=MyDisk'])
        ch = self.sec
        ch.select(1)
        ch.command(0xec)
        ch.wait(BSY | DRQ, DRQ)
        w = ch.read_words(512)
        self.assertEqual(w[54:58], b'yMiD')                # word 27
        self.assertEqual(w[20:24], b'NS24')                # word 10
        ch.select(0)
        self.assertEqual(self.m.inb(SEC + 7), 0)           # no master


def atapi(ch, cdb, bcl=0xfffe, dma=None, unit=0):
    """One PACKET command; returns (status, error, data).  @dma is
    (prd_addr, size) to take the data by DMA."""
    m = ch.m
    cdb = bytes(b & 0xff for b in cdb) + bytes(12 - len(cdb))
    ch.select(unit)
    m.outb(ch.base + 1, 1 if dma else 0)
    m.outb(ch.base + 4, bcl & 0xff)
    m.outb(ch.base + 5, bcl >> 8)
    if dma:
        ch.bm_setup(dma[0], True)
    ch.command(0xa0)
    ch.wait(BSY | DRQ, DRQ)
    assert m.inb(ch.base + 2) & 3 == 1                    # CoD
    ch.write_words(cdb)
    if dma:
        ch.bm_start(True)
        ch.bm_wait()
    data = b''
    while True:
        st = ch.wait()
        if not st & DRQ:
            break
        assert m.inb(ch.base + 2) & 3 == 2                # data in
        n = m.inb(ch.base + 4) | (m.inb(ch.base + 5) << 8)
        assert 0 < n <= bcl
        data += ch.read_words(n + (n & 1))[:n]
    st = ch.status()
    return st, ch.error(), data


@NO_QEMU
class ATAPITest(IDEBase):
    def setUp(self):
        super().setUp()
        if not shutil.which('xorriso'):
            self.skipTest('xorriso not installed')
        tree = os.path.join(self.dir, 'tree')
        os.mkdir(tree)
        self.payload = pattern(300000, 11)
        with open(os.path.join(tree, 'data.bin'), 'wb') as f:
            f.write(self.payload)
        self.iso = os.path.join(self.dir, 'cd.iso')
        subprocess.run(['xorriso', '-as', 'mkisofs', '-quiet', '-o',
                        self.iso, tree], check=True,
                       stderr=subprocess.DEVNULL)
        self.start(['-drive', 'file=%s,if=ide,index=2,media=cdrom'
                    % self.iso,
                    '-drive', 'if=none,id=empty,media=cdrom',
                    '-device', 'ide-cd,drive=empty,bus=ide.1,unit=1'])

    def test_signature_and_identify_packet(self):
        ch = self.sec
        ch.select(0)
        ch.command(0xec)                       # IDENTIFY DEVICE: aborted
        self.assertTrue(ch.wait() & ERR)
        self.assertEqual((self.m.inb(SEC + 4), self.m.inb(SEC + 5)),
                         (0x14, 0xeb))
        ch.command(0xa1)
        ch.wait(BSY | DRQ, DRQ)
        w = ch.read_words(512)
        self.assertEqual(int.from_bytes(w[0:2], 'little') >> 14, 2)
        self.assertEqual(w[54:66], b'EQUMD DVR-MO')

    def test_inquiry(self):
        st, err, data = atapi(self.sec, [0x12, 0, 0, 0, 96])
        self.assertEqual(st & ERR, 0)
        self.assertEqual(len(data), 36)
        self.assertEqual(data[0], 0x05)
        self.assertEqual(data[1], 0x80)
        self.assertEqual(data[8:16], b'QEMU    ')
        self.assertEqual(data[16:32].strip(), b'QEMU DVD-ROM')

    def test_read_capacity(self):
        st, err, data = atapi(self.sec, [0x25])
        self.assertEqual(st & ERR, 0)
        sectors = os.path.getsize(self.iso) // 2048
        self.assertEqual(int.from_bytes(data[0:4], 'big'), sectors - 1)
        self.assertEqual(int.from_bytes(data[4:8], 'big'), 2048)

    def test_read10_pio_small_bcl(self):
        st, err, data = atapi(self.sec, [0x28, 0, 0, 0, 0, 16, 0, 0, 3],
                              bcl=0x1000)
        self.assertEqual(st & ERR, 0)
        self.assertEqual(data, self.file_bytes(self.iso, 16 * 2048, 6144))

    def test_read10_whole_file(self):
        with open(self.iso, 'rb') as f:
            iso = f.read()
        at = iso.find(self.payload[:2048])
        self.assertEqual(at % 2048, 0)
        n = (len(self.payload) + 2047) // 2048
        lba = at // 2048
        st, err, data = atapi(self.sec, [0x28, 0, lba >> 24, lba >> 16,
                                         lba >> 8, lba, 0, 0, n])
        self.assertEqual(st & ERR, 0)
        self.assertEqual(data[:len(self.payload)], self.payload)

    def test_read10_dma(self):
        table = prd([(0x80000, 0x4000, False), (0x90000, 0x4000, True)])
        mem_write(self.m, 0x2000, table)
        st, err, data = atapi(self.sec, [0x28, 0, 0, 0, 0, 20, 0, 0, 16],
                              dma=(0x2000, 0x8000))
        self.assertEqual((st & ERR, data), (0, b''))
        got = mem_read(self.m, 0x80000, 0x4000) + \
            mem_read(self.m, 0x90000, 0x4000)
        self.assertEqual(got, self.file_bytes(self.iso, 20 * 2048, 0x8000))

    def test_read_past_end(self):
        sectors = os.path.getsize(self.iso) // 2048
        st, err, _ = atapi(self.sec, [0x28, 0, sectors >> 24, sectors >> 16,
                                      sectors >> 8, sectors, 0, 0, 1])
        self.assertTrue(st & ERR)
        self.assertEqual(err >> 4, 0x05)               # ILLEGAL REQUEST
        st, err, sense = atapi(self.sec, [0x03, 0, 0, 0, 18])
        self.assertEqual((sense[2], sense[12]), (0x05, 0x21))

    def test_toc_and_mode_sense(self):
        st, _, toc = atapi(self.sec, [0x43, 0, 0, 0, 0, 0, 0, 0, 0xff])
        self.assertEqual(st & ERR, 0)
        self.assertEqual((toc[2], toc[3], toc[6]), (1, 1, 1))
        self.assertEqual(toc[14], 0xaa)
        sectors = os.path.getsize(self.iso) // 2048
        self.assertEqual(int.from_bytes(toc[16:20], 'big'), sectors)
        st, _, caps = atapi(self.sec, [0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 0xff])
        self.assertEqual(st & ERR, 0)
        self.assertEqual(caps[8], 0x2a)

    def test_no_medium(self):
        ch = self.sec
        st, err, _ = atapi(ch, [0x00], unit=1)         # TEST UNIT READY
        self.assertTrue(st & ERR)
        self.assertEqual(err >> 4, 0x02)               # NOT READY
        st, err, sense = atapi(ch, [0x03, 0, 0, 0, 18], unit=1)
        self.assertEqual(st & ERR, 0)
        self.assertEqual((sense[0], sense[2], sense[12]), (0x70, 0x02, 0x3a))
        # nothing stored: REQUEST SENSE still reports the missing medium
        st, err, sense = atapi(ch, [0x03, 0, 0, 0, 18], unit=1)
        self.assertEqual((sense[2], sense[12]), (0x02, 0x3a))

    def test_eject_and_reload(self):
        ch = self.sec
        self.assertEqual(atapi(ch, [0x1e, 0, 0, 0, 1])[0] & ERR, 0)  # lock
        st, err, _ = atapi(ch, [0x1b, 0, 0, 0, 0x02])  # eject: refused
        self.assertTrue(st & ERR)
        atapi(ch, [0x1e, 0, 0, 0, 0])                  # unlock
        self.assertEqual(atapi(ch, [0x1b, 0, 0, 0, 0x02])[0] & ERR, 0)
        st, err, sense = atapi(ch, [0x00])
        self.assertEqual(err >> 4, 0x02)
        st, err, sense = atapi(ch, [0x03, 0, 0, 0, 18])
        self.assertEqual((sense[12], sense[13]), (0x3a, 0x02))  # tray open
        atapi(ch, [0x1b, 0, 0, 0, 0x03])               # load
        st, err, _ = atapi(ch, [0x00])
        self.assertEqual(err >> 4, 0x06)               # UNIT ATTENTION
        self.assertEqual(atapi(ch, [0x00])[0] & ERR, 0)


@NO_QEMU
class MediaChangeTest(IDEBase):
    """QMP eject / blockdev-change-medium against what the guest sees."""

    def setUp(self):
        super().setUp()
        if not shutil.which('xorriso'):
            self.skipTest('xorriso not installed')
        self.isos = []
        for i in range(2):
            tree = os.path.join(self.dir, 't%d' % i)
            os.mkdir(tree)
            with open(os.path.join(tree, 'f'), 'wb') as f:
                f.write(pattern(10000 * (i + 1), i))
            iso = os.path.join(self.dir, '%d.iso' % i)
            subprocess.run(['xorriso', '-as', 'mkisofs', '-quiet', '-o',
                            iso, tree], check=True,
                           stderr=subprocess.DEVNULL)
            self.isos.append(iso)
        sock = os.path.join(self.dir, 'qmp.sock')
        self.start(['-qmp', 'unix:%s,server=on,wait=off' % sock,
                    '-drive', 'file=%s,if=none,id=cd0,media=cdrom,'
                    'format=raw' % self.isos[0],
                    '-device', 'ide-cd,drive=cd0,id=cdrom0,bus=ide.0'])
        self.qmp = QMPClient(path=sock)
        self.addCleanup(self.qmp.close)

    def capacity(self):
        st, err, data = atapi(self.pri, [0x25])
        self.assertEqual(st & ERR, 0)
        return int.from_bytes(data[0:4], 'big') + 1

    def event_status(self):
        st, err, data = atapi(self.pri, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8])
        self.assertEqual(st & ERR, 0)
        return data[4], data[5]

    def test_change_medium(self):
        ch = self.pri
        self.assertEqual(self.capacity(),
                         os.path.getsize(self.isos[0]) // 2048)
        self.qmp.ok('blockdev-change-medium',
                    {'id': 'cdrom0', 'filename': self.isos[1],
                     'format': 'raw'})
        self.assertEqual(self.event_status(), (2, 2))  # new media, present
        st, err, _ = atapi(ch, [0x00])
        self.assertEqual(err >> 4, 0x06)               # UNIT ATTENTION
        st, err, sense = atapi(ch, [0x03, 0, 0, 0, 18])
        self.assertEqual(st & ERR, 0)
        self.assertEqual(self.capacity(),
                         os.path.getsize(self.isos[1]) // 2048)

    def test_eject_locked_and_guest_tray(self):
        ch = self.pri
        atapi(ch, [0x1e, 0, 0, 0, 1])                  # guest locks
        reply = self.qmp.cmd('eject', {'id': 'cdrom0'})
        self.assertIn('error', reply)
        self.assertEqual(self.event_status()[0], 1)    # eject request
        blk = self.qmp.ok('query-block')[0]
        self.assertEqual((blk['locked'], blk['tray_open']), (True, False))
        atapi(ch, [0x1e, 0, 0, 0, 0])
        atapi(ch, [0x1b, 0, 0, 0, 0x02])               # guest opens it
        ev = self.qmp.event('DEVICE_TRAY_MOVED')
        self.assertEqual(ev['data']['tray-open'], True)
        self.assertEqual(self.qmp.ok('query-block')[0]['tray_open'], True)
        self.qmp.ok('eject', {'id': 'cdrom0'})         # medium out
        atapi(ch, [0x1b, 0, 0, 0, 0x03])               # guest closes it
        st, err, sense = atapi(ch, [0x03, 0, 0, 0, 18])
        self.assertEqual((sense[2], sense[12], sense[13]), (0x02, 0x3a, 1))
        self.qmp.ok('eject', {'id': 'cdrom0', 'force': True})
        self.assertTrue(self.qmp.ok('query-block')[0]['tray_open'])


@NO_QEMU
class ErrorPolicyTest(IDEBase):
    """-drive rerror=: a qcow2 whose first cluster maps past its file."""

    def setUp(self):
        super().setUp()
        if not shutil.which('qemu-img') or not shutil.which('qemu-io'):
            self.skipTest('qemu-img/qemu-io not installed')
        self.img = os.path.join(self.dir, 'bad.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', self.img,
                        '1M'], check=True)
        subprocess.run(['qemu-io', '-c', 'write 0 64k', self.img],
                       check=True, capture_output=True)
        with open(self.img, 'r+b') as f:
            l1 = int.from_bytes(f.read(48)[40:48], 'big')
            f.seek(l1)
            l2 = int.from_bytes(f.read(8), 'big') & 0x00fffffffffffe00
            f.seek(l2)                  # cluster 0 -> 1 TiB: past the end
            f.write(((1 << 63) | (1 << 40)).to_bytes(8, 'big'))

    def start_policy(self, policy):
        sock = os.path.join(self.dir, 'qmp.sock')
        self.start(['-qmp', 'unix:%s,server=on,wait=off' % sock,
                    '-drive', 'file=%s,format=qcow2,if=ide,rerror=%s'
                    % (self.img, policy)])
        self.qmp = QMPClient(path=sock)
        self.addCleanup(self.qmp.close)

    def read0(self):
        self.pri.taskfile(0, 1)
        self.pri.command(0x20)

    def test_report(self):
        self.start_policy('report')
        self.read0()
        self.assertTrue(self.pri.wait() & ERR)
        self.assertEqual(self.pri.error(), 0x40)       # UNC
        ev = self.qmp.event('BLOCK_IO_ERROR')
        self.assertEqual((ev['data']['action'], ev['data']['operation']),
                         ('report', 'read'))
        # by DMA: the device's error, not the bus master's
        mem_write(self.m, 0x1000, prd([(0x20000, 0x200, True)]))
        self.pri.bm_setup(0x1000, True)
        self.pri.taskfile(0, 1)
        self.pri.command(0xc8)
        self.pri.bm_start(True)
        bm = self.pri.bm_wait()
        self.assertEqual(bm & (BM_ERROR | BM_ACTIVE), 0)
        self.assertTrue(self.pri.wait() & ERR)

    def test_ignore(self):
        self.start_policy('ignore')
        self.read0()
        st = self.pri.wait(BSY | DRQ, DRQ)
        self.assertEqual(st & ERR, 0)
        self.pri.read_words(512)
        self.assertEqual(self.qmp.event('BLOCK_IO_ERROR')['data']['action'],
                         'ignore')

    def test_stop_and_redo(self):
        self.start_policy('stop')
        self.read0()
        self.assertEqual(self.qmp.event('BLOCK_IO_ERROR')['data']['action'],
                         'stop')
        self.qmp.event('STOP')
        self.assertTrue(self.m.inb(PRI_CTL) & BSY)     # held, not failed
        self.assertEqual(self.qmp.ok('query-status')['status'], 'io-error')
        self.qmp.ok('cont')             # redone: fails and stops again
        self.qmp.event('RESUME')
        self.assertEqual(self.qmp.event('BLOCK_IO_ERROR')['data']['action'],
                         'stop')
        self.assertTrue(self.m.inb(PRI_CTL) & BSY)


if __name__ == '__main__':
    unittest.main()
