#!/usr/bin/env python3
"""virtio-blk-pci driven over qtest, playing the driver's part: find the
function in PCI config space, program its BARs, negotiate features
through the modern common configuration (or the legacy I/O BAR), lay
out a split virtqueue in guest RAM and submit requests.

Checks: reads return the image's bytes, writes reach the file, a flush
completes, a read-only drive refuses writes; a looping chain, a buffer
outside RAM and an over-long chain each set NEEDS_RESET with one log
line while qlite keeps answering, and a device reset brings it back;
a reset with a read in flight drops its completion;
MSI-X pending bits; INTx; the legacy interface; werror=report and
werror=stop (redone on cont) on a full tmpfs, where one can be mounted.
"""
import os
import errno
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import QtestMachine, is_real_qemu  # noqa: E402
from test_qmp_client import QMPClient  # noqa: E402

IMG_SIZE = 1 << 20
QSIZE = 16
# Guest RAM layout of the test driver.
DESC, AVAIL, USED = 0x100000, 0x101000, 0x102000
HDR, DATA, STATUS, INDIRECT = 0x110000, 0x120000, 0x11f000, 0x130000
BAR4, BAR1, BAR0 = 0xe0000000, 0xe0010000, 0xc000
FAR_AWAY = 0x100000000000       # far beyond the 128 MiB of RAM

# virtio constants (virtio 1.2).
S_ACK, S_DRIVER, S_DRIVER_OK, S_FEATURES_OK = 1, 2, 4, 8
S_NEEDS_RESET = 0x40
F_INDIRECT, F_EVENT_IDX, F_VERSION_1 = 28, 29, 32
F_RO, F_BLK_SIZE, F_FLUSH = 5, 6, 9
D_NEXT, D_WRITE, D_INDIRECT = 1, 2, 4
T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8
# common cfg offsets
C_DFSEL, C_DF, C_GFSEL, C_GF, C_MSIX = 0x00, 0x04, 0x08, 0x0c, 0x10
C_STATUS, C_QSEL, C_QSIZE, C_QMSIX, C_QENABLE = 0x14, 0x16, 0x18, 0x1a, 0x1c
C_QDESC, C_QAVAIL, C_QUSED = 0x20, 0x28, 0x30

NO_QEMU = unittest.skipIf(is_real_qemu(), 'Debian QEMU lacks qtest')


def pattern(sector):
    """The bytes the image holds in @sector."""
    return bytes(((sector * 7 + i) & 0xff) for i in range(512))


class VirtioBlkDriver:
    """Just enough of a virtio driver, in Python, over qtest."""

    def __init__(self, m):
        self.m = m
        self.devfn = self.find_device()
        self.caps = {}
        self.avail_idx = 0
        self.used_seen = 0
        self.queue = 0
        self.desc, self.avail, self.used = DESC, AVAIL, USED

    # ---- PCI config space through 0xcf8/0xcfc ----
    def cfg_addr(self, reg):
        return 0x80000000 | (self.devfn << 8) | (reg & 0xfc)

    def cfg_read(self, reg, size=4, devfn=None):
        devfn = self.devfn if devfn is None else devfn
        self.m.outl(0xcf8, 0x80000000 | (devfn << 8) | (reg & 0xfc))
        port = 0xcfc + (reg & 3)
        return {1: self.m.inb, 2: self.m.inw, 4: self.m.inl}[size](port)

    def cfg_write(self, reg, val, size=4):
        self.m.outl(0xcf8, self.cfg_addr(reg))
        port = 0xcfc + (reg & 3)
        {1: self.m.outb, 2: self.m.outw, 4: self.m.outl}[size](port, val)

    def find_device(self):
        for slot in range(32):
            ids = self.cfg_read(0, 4, devfn=slot << 3)
            if ids & 0xffff == 0x1af4:
                self.device_id = ids >> 16
                return slot << 3
        raise AssertionError('no virtio device on the bus')

    def setup_pci(self):
        self.cfg_write(0x10, BAR0)                  # legacy I/O
        self.cfg_write(0x14, BAR1)                  # MSI-X
        self.cfg_write(0x20, BAR4 | 0xc)            # 64-bit prefetchable
        self.cfg_write(0x24, 0)
        self.cfg_write(0x04, 0x7, 2)                # I/O, memory, master
        off = self.cfg_read(0x34, 1)
        while off:
            cap_id = self.cfg_read(off, 1)
            if cap_id == 0x09:
                cfg_type = self.cfg_read(off + 3, 1)
                self.caps[cfg_type] = (off, self.cfg_read(off + 8))
            elif cap_id == 0x11:
                self.msix_cap = off
            off = self.cfg_read(off + 1, 1)

    def bar4(self, cfg_type):
        return BAR4 + self.caps[cfg_type][1]

    # ---- the modern common configuration ----
    def common_w(self, off, val, size):
        m = self.m
        cmd = {1: 'writeb', 2: 'writew', 4: 'writel'}[size]
        m.ok('%s 0x%x 0x%x' % (cmd, self.bar4(1) + off, val))

    def common_r(self, off, size):
        cmd = {1: 'readb', 2: 'readw', 4: 'readl'}[size]
        return int(self.m.ok('%s 0x%x' % (cmd, self.bar4(1) + off)), 16)

    def status(self):
        return self.common_r(C_STATUS, 1)

    def features(self):
        self.common_w(C_DFSEL, 0, 4)
        lo = self.common_r(C_DF, 4)
        self.common_w(C_DFSEL, 1, 4)
        return lo | self.common_r(C_DF, 4) << 32

    def init_modern(self, features=(F_VERSION_1, F_FLUSH, F_BLK_SIZE)):
        self.common_w(C_STATUS, 0, 1)
        assert self.status() == 0
        self.common_w(C_STATUS, S_ACK | S_DRIVER, 1)
        want = sum(1 << f for f in features)
        self.common_w(C_GFSEL, 0, 4)
        self.common_w(C_GF, want & 0xffffffff, 4)
        self.common_w(C_GFSEL, 1, 4)
        self.common_w(C_GF, want >> 32, 4)
        self.common_w(C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK, 1)
        assert self.status() & S_FEATURES_OK
        self.common_w(C_QSEL, 0, 2)
        self.common_w(C_QSIZE, QSIZE, 2)
        for off, addr in ((C_QDESC, DESC), (C_QAVAIL, AVAIL),
                          (C_QUSED, USED)):
            self.common_w(off, addr, 4)
            self.common_w(off + 4, 0, 4)
        self.clear_rings()
        self.common_w(C_QENABLE, 1, 2)
        self.common_w(C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK |
                      S_DRIVER_OK, 1)

    def clear_rings(self):
        self.m.ok('memset 0x%x 0x3000 0' % DESC)
        self.avail_idx = 0
        self.used_seen = 0

    def notify(self, queue=0):
        notify_off = self.caps[2][0]
        mult = self.cfg_read(notify_off + 16)
        self.m.ok('writew 0x%x %d' % (self.bar4(2) + queue * mult, queue))

    # ---- ring memory ----
    def write_mem(self, addr, data):
        self.m.ok('write 0x%x %d 0x%s' % (addr, len(data), data.hex()))

    def read_mem(self, addr, size):
        return bytes.fromhex(self.m.ok('read 0x%x %d' % (addr, size))[2:])

    def put_desc(self, i, addr, length, flags, nxt=0, table=None):
        table = self.desc if table is None else table
        self.write_mem(table + 16 * i,
                       struct.pack('<QIHH', addr, length, flags, nxt))

    def make_avail(self, head):
        self.write_mem(self.avail + 4 + 2 * (self.avail_idx % QSIZE),
                       struct.pack('<H', head))
        self.avail_idx = (self.avail_idx + 1) & 0xffff
        self.write_mem(self.avail + 2, struct.pack('<H', self.avail_idx))

    def used_idx(self):
        return struct.unpack('<H', self.read_mem(self.used + 2, 2))[0]

    def wait_used(self):
        """The next used element (id, len), once the device returns it."""
        assert self.m.poll_until(lambda: self.used_idx() != self.used_seen)
        slot = self.used + 4 + 8 * (self.used_seen % QSIZE)
        self.used_seen = (self.used_seen + 1) & 0xffff
        return struct.unpack('<II', self.read_mem(slot, 8))

    # ---- requests ----
    def request(self, rtype, sector, data_len=0, write_data=None):
        """Submit one request in three descriptors; return its status."""
        self.submit(rtype, sector, data_len, write_data)
        self.notify(self.queue)
        head, length = self.wait_used()
        assert head == 0
        return self.read_mem(STATUS, 1)[0]

    def submit(self, rtype, sector, data_len=0, write_data=None):
        """Lay one request out and make it available, without notifying."""
        self.write_mem(HDR, struct.pack('<IIQ', rtype, 0, sector))
        self.write_mem(STATUS, b'\xff')
        if write_data is not None:
            self.write_mem(DATA, write_data)
            data_len = len(write_data)
        self.put_desc(0, HDR, 16, D_NEXT, 1)
        if data_len:
            self.put_desc(1, DATA, data_len,
                          D_NEXT | (0 if write_data is not None else D_WRITE),
                          2)
            self.put_desc(2, STATUS, 1, D_WRITE)
        else:
            self.put_desc(1, STATUS, 1, D_WRITE)
        self.make_avail(0)

    def add_queue(self, n, base):
        """Set up queue @n with its rings at @base and switch to it."""
        self.common_w(C_QSEL, n, 2)
        self.common_w(C_QSIZE, QSIZE, 2)
        self.m.ok('memset 0x%x 0x3000 0' % base)
        for off, addr in ((C_QDESC, base), (C_QAVAIL, base + 0x1000),
                          (C_QUSED, base + 0x2000)):
            self.common_w(off, addr, 4)
            self.common_w(off + 4, 0, 4)
        self.common_w(C_QENABLE, 1, 2)
        self.queue = n
        self.desc, self.avail, self.used = base, base + 0x1000, base + 0x2000
        self.avail_idx = self.used_seen = 0


class VirtioBlkTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='qlite-vblk-')
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.img = os.path.join(self.dir, 'disk.raw')
        with open(self.img, 'wb') as f:
            for s in range(IMG_SIZE // 512):
                f.write(pattern(s))

    def start(self, drive_opts='', dev_opts=''):
        m = QtestMachine(['-m', '128', '-d', 'guest_errors',
                          '-drive', 'if=none,id=d0,format=raw,file=%s%s'
                          % (self.img, drive_opts),
                          '-device', 'virtio-blk-pci,drive=d0,addr=4' +
                          dev_opts]).start()
        self.addCleanup(m.close)
        d = VirtioBlkDriver(m)
        d.setup_pci()
        return m, d

    def file_bytes(self, offset, size):
        with open(self.img, 'rb') as f:
            f.seek(offset)
            return f.read(size)

    def log_lines(self, m, text):
        return [ln for ln in m.stderr().splitlines() if text in ln]

    @NO_QEMU
    def test_ids_and_features(self):
        m, d = self.start()
        self.assertEqual(d.device_id, 0x1001)
        self.assertEqual(d.cfg_read(0x2c), 0x00021af4)   # subsystem
        self.assertEqual(set(d.caps), {1, 2, 3, 4, 5})
        f = d.features()
        for bit in (F_VERSION_1, F_FLUSH, F_BLK_SIZE, F_INDIRECT,
                    F_EVENT_IDX):
            self.assertTrue(f & (1 << bit), bit)
        self.assertFalse(f & (1 << F_RO))
        # capacity in the device config, in 512-byte sectors
        cfg = d.bar4(4)
        self.assertEqual(m.readl(cfg), IMG_SIZE // 512)
        # the PCI cfg access capability reaches BAR 4 through config space
        pcicfg = d.caps[5][0]
        d.cfg_write(pcicfg + 4, 4, 1)                   # bar
        d.cfg_write(pcicfg + 8, d.caps[4][1])           # offset: device cfg
        d.cfg_write(pcicfg + 12, 4)                     # length
        self.assertEqual(d.cfg_read(pcicfg + 16), IMG_SIZE // 512)
        d.cfg_write(pcicfg + 8, d.caps[1][1] + C_STATUS)
        d.cfg_write(pcicfg + 12, 1)
        d.cfg_write(pcicfg + 16, S_ACK)                 # write through it
        self.assertEqual(d.status(), S_ACK)

    def test_config_space_as_qemu(self):
        """Capabilities and BAR sizes as QEMU 7.2 lays them out (read
        from Debian's QEMU with the same command line)."""
        m = QtestMachine(['-drive', 'if=none,id=d0,format=raw,file=' +
                          self.img, '-device',
                          'virtio-blk-pci,drive=d0,addr=4']).start()
        self.addCleanup(m.close)
        d = VirtioBlkDriver(m)
        want = {0x34: 0x98, 0x40: 0x01100009, 0x50: 0x03104009,
                0x60: 0x04105009, 0x70: 0x02146009, 0x80: 0x00000004,
                0x84: 0x05147009, 0x98: 0x00018411, 0x9c: 0x00000001,
                0xa0: 0x00000801}
        for reg, val in want.items():
            self.assertEqual(d.cfg_read(reg), val, hex(reg))
        sizes = []
        for reg in (0x10, 0x14, 0x20, 0x24):
            d.cfg_write(reg, 0xffffffff)
            sizes.append(d.cfg_read(reg))
        self.assertEqual(sizes, [0xffffff81, 0xfffff000, 0xffffc00c,
                                 0xffffffff])

    @NO_QEMU
    def test_features_ok_refused(self):
        m, d = self.start()
        for feats in ((F_VERSION_1, 40), (F_FLUSH,)):   # unknown; no V1
            d.common_w(C_STATUS, 0, 1)
            d.common_w(C_STATUS, S_ACK | S_DRIVER, 1)
            want = sum(1 << f for f in feats)
            for sel in (0, 1):
                d.common_w(C_GFSEL, sel, 4)
                d.common_w(C_GF, (want >> (32 * sel)) & 0xffffffff, 4)
            d.common_w(C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK, 1)
            self.assertFalse(d.status() & S_FEATURES_OK, feats)

    @NO_QEMU
    def test_modern_only_ids(self):
        m = QtestMachine(['-drive', 'if=none,id=d0,format=raw,file=' +
                          self.img, '-device',
                          'virtio-blk-pci,drive=d0,disable-legacy=on']
                         ).start()
        self.addCleanup(m.close)
        d = VirtioBlkDriver(m)
        self.assertEqual(d.device_id, 0x1042)
        self.assertEqual(d.cfg_read(0x2c), 0x11001af4)
        self.assertEqual(d.cfg_read(0x08, 1), 1)

    @NO_QEMU
    def test_if_virtio_drive(self):
        """-drive if=virtio makes a virtio-blk-pci for the drive."""
        m = QtestMachine(['-drive', 'if=virtio,format=raw,file=' +
                          self.img]).start()
        self.addCleanup(m.close)
        d = VirtioBlkDriver(m)
        self.assertEqual(d.device_id, 0x1001)
        d.setup_pci()
        d.init_modern()
        self.assertEqual(d.request(T_IN, 1, data_len=512), 0)
        self.assertEqual(d.read_mem(DATA, 512), pattern(1))

    @NO_QEMU
    def test_read_write_flush(self):
        m, d = self.start()
        d.init_modern()
        self.assertEqual(d.request(T_IN, 3, data_len=1024), 0)
        self.assertEqual(d.read_mem(DATA, 1024), pattern(3) + pattern(4))
        data = bytes(range(256)) * 2
        self.assertEqual(d.request(T_OUT, 10, write_data=data), 0)
        self.assertEqual(self.file_bytes(10 * 512, 512), data)
        self.assertEqual(d.request(T_FLUSH, 0), 0)
        # GET_ID with no serial: all zeroes
        self.assertEqual(d.request(T_GET_ID, 0, data_len=20), 0)
        # past the end of the disk: an I/O error, the device keeps going
        self.assertEqual(d.request(T_IN, IMG_SIZE // 512, data_len=512), 1)
        self.assertEqual(d.request(T_IN, 0, data_len=512), 0)
        self.assertEqual(d.read_mem(DATA, 512), pattern(0))
        self.assertEqual(d.request(99, 0), 2)               # UNSUPP

    @NO_QEMU
    def test_resize_raises_config_change(self):
        """QMP block_resize: new capacity, a new config generation and a
        config interrupt (ISR bit 1 under INTx)."""
        sock = os.path.join(self.dir, 'qmp.sock')
        m = QtestMachine(['-m', '128', '-qmp',
                          'unix:%s,server=on,wait=off' % sock,
                          '-drive', 'if=none,id=d0,format=raw,file=%s'
                          % self.img,
                          '-device', 'virtio-blk-pci,drive=d0,addr=4']
                         ).start()
        self.addCleanup(m.close)
        qmp = QMPClient(path=sock)
        self.addCleanup(qmp.close)
        d = VirtioBlkDriver(m)
        d.setup_pci()
        d.init_modern()
        gen = d.common_r(0x15, 1)
        def cap():
            return m.readl(d.bar4(4)) | m.readl(d.bar4(4) + 4) << 32
        self.assertEqual(cap(), IMG_SIZE // 512)
        qmp.ok('block_resize', {'device': 'd0', 'size': 2 * IMG_SIZE})
        self.assertEqual(cap(), 2 * IMG_SIZE // 512)
        self.assertNotEqual(d.common_r(0x15, 1), gen)
        self.assertEqual(int(m.ok('readb 0x%x' % d.bar4(3)), 16) & 2, 2)

    @NO_QEMU
    def test_snapshot_keeps_the_image(self):
        """-snapshot (and snapshot=on): the guest reads its own writes,
        the image file is left as it was."""
        for extra in (['-snapshot'], []):
            opts = '' if extra else ',snapshot=on'
            m = QtestMachine(['-m', '128'] + extra + [
                '-drive', 'if=none,id=d0,format=raw,file=%s%s'
                % (self.img, opts),
                '-device', 'virtio-blk-pci,drive=d0,addr=4']).start()
            self.addCleanup(m.close)
            d = VirtioBlkDriver(m)
            d.setup_pci()
            d.init_modern()
            before = self.file_bytes(0, IMG_SIZE)
            self.assertEqual(d.request(T_OUT, 5, write_data=b'\x5a' * 512),
                             0)
            self.assertEqual(d.request(T_IN, 5, data_len=512), 0)
            self.assertEqual(d.read_mem(DATA, 512), b'\x5a' * 512)
            self.assertEqual(d.request(T_FLUSH, 0), 0)
            self.assertEqual(self.file_bytes(0, IMG_SIZE), before)

    @NO_QEMU
    def test_no_dma_without_bus_master(self):
        """With bus mastering off the device leaves its rings alone; once
        it is back on, the next notify serves the request."""
        m, d = self.start()
        d.init_modern()
        d.cfg_write(0x04, 0x3, 2)                   # I/O, memory: no master
        d.submit(T_IN, 0, data_len=512)
        d.notify()
        self.assertTrue(m.poll_until(lambda: self.log_lines(
            m, 'bus mastering off')), m.stderr())
        self.assertEqual(d.used_idx(), 0)
        self.assertEqual(d.read_mem(STATUS, 1)[0], 0xff)
        d.cfg_write(0x04, 0x7, 2)
        d.notify()
        d.wait_used()
        self.assertEqual(d.read_mem(STATUS, 1)[0], 0)

    @NO_QEMU
    def test_serial_and_block_sizes(self):
        m, d = self.start(dev_opts=',serial=QLITE-SN-1,num-queues=2,'
                          'logical_block_size=4096,physical_block_size=4096')
        d.init_modern()
        self.assertEqual(d.request(T_GET_ID, 0, data_len=20), 0)
        self.assertEqual(d.read_mem(DATA, 20), b'QLITE-SN-1' + bytes(10))
        cfg = d.bar4(4)
        self.assertEqual(m.readl(cfg + 0x14), 4096)     # blk_size
        self.assertEqual(int(m.ok('readw 0x%x' % (cfg + 0x22)), 16), 2)
        # 4 KiB logical blocks: a 512-byte read is refused
        self.assertEqual(d.request(T_IN, 0, data_len=512), 1)
        self.assertEqual(d.request(T_IN, 8, data_len=4096), 0)
        self.assertEqual(d.read_mem(DATA, 512), pattern(8))

    @NO_QEMU
    def test_second_queue(self):
        m, d = self.start(dev_opts=',num-queues=2')
        self.assertTrue(d.features() & (1 << 12))       # MQ
        d.common_w(C_STATUS, 0, 1)
        d.common_w(C_STATUS, S_ACK | S_DRIVER, 1)
        d.common_w(C_GFSEL, 1, 4)
        d.common_w(C_GF, 1, 4)                          # VERSION_1
        d.common_w(C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK, 1)
        d.add_queue(0, 0x140000)
        d.add_queue(1, 0x150000)
        d.common_w(C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK |
                   S_DRIVER_OK, 1)
        self.assertEqual(d.request(T_IN, 11, data_len=512), 0)
        self.assertEqual(d.read_mem(DATA, 512), pattern(11))
        # queue 0 saw nothing
        self.assertEqual(d.read_mem(0x142000 + 2, 2), b'\0\0')

    @NO_QEMU
    def test_read_only(self):
        m, d = self.start(',readonly=on')
        self.assertTrue(d.features() & (1 << F_RO))
        d.init_modern()
        before = self.file_bytes(0, 512)
        self.assertEqual(d.request(T_OUT, 0, write_data=b'\xaa' * 512), 1)
        self.assertEqual(self.file_bytes(0, 512), before)
        self.assertEqual(d.request(T_IN, 0, data_len=512), 0)

    def broken_once(self, m, d, what):
        """NEEDS_RESET set, one log line, qlite still answering."""
        self.assertTrue(d.status() & S_NEEDS_RESET)
        self.assertEqual(len(self.log_lines(m, what)), 1, m.stderr())
        d.notify()                      # a kick at a broken device: ignored
        self.assertEqual(len(self.log_lines(m, what)), 1)
        self.assertEqual(d.cfg_read(0, 2), 0x1af4)     # still answering
        # ISR shows the config change (INTx mode)
        self.assertEqual(m.readl(d.bar4(3)) & 2, 2)
        # a reset brings the device back
        d.init_modern((F_VERSION_1, F_FLUSH, F_INDIRECT))
        self.assertFalse(d.status() & S_NEEDS_RESET)
        self.assertEqual(d.request(T_IN, 5, data_len=512), 0)
        self.assertEqual(d.read_mem(DATA, 512), pattern(5))

    @NO_QEMU
    def test_loop_sets_needs_reset(self):
        m, d = self.start()
        d.init_modern()
        d.put_desc(0, HDR, 16, D_NEXT, 1)
        d.put_desc(1, DATA, 512, D_NEXT | D_WRITE, 0)
        d.make_avail(0)
        d.notify()
        self.broken_once(m, d, 'loops')

    @NO_QEMU
    def test_outside_ram_sets_needs_reset(self):
        m, d = self.start()
        d.init_modern()
        d.put_desc(0, HDR, 16, D_NEXT, 1)
        d.put_desc(1, FAR_AWAY, 512, D_NEXT | D_WRITE, 2)
        d.put_desc(2, STATUS, 1, D_WRITE)
        d.make_avail(0)
        d.notify()
        self.broken_once(m, d, 'outside guest RAM')

    @NO_QEMU
    def test_overlong_chain_sets_needs_reset(self):
        m, d = self.start()
        d.init_modern((F_VERSION_1, F_FLUSH, F_INDIRECT))
        # two direct buffers, then an indirect table of QSIZE entries
        d.put_desc(0, HDR, 16, D_NEXT, 1)
        d.put_desc(1, DATA, 512, D_NEXT | D_WRITE, 2)
        d.put_desc(2, INDIRECT, 16 * QSIZE, D_INDIRECT)
        for i in range(QSIZE):
            d.put_desc(i, DATA, 512, D_WRITE | (D_NEXT if i < QSIZE - 1
                                                else 0), i + 1,
                       table=INDIRECT)
        d.make_avail(0)
        d.notify()
        self.broken_once(m, d, 'longer than the queue size')

    @NO_QEMU
    def test_reset_with_request_in_flight(self):
        m, d = self.start()
        d.init_modern()
        d.write_mem(HDR, struct.pack('<IIQ', T_IN, 0, 2))
        d.put_desc(0, HDR, 16, D_NEXT, 1)
        d.put_desc(1, DATA, 65536, D_NEXT | D_WRITE, 2)
        d.put_desc(2, STATUS, 1, D_WRITE)
        d.make_avail(0)
        # kick and reset in one packet: the read is still in flight when
        # the reset comes, and its completion must land nowhere
        notify = d.bar4(2)
        m.conn.sendall(b'writew 0x%x 0\nwriteb 0x%x 0\n' %
                       (notify, d.bar4(1) + C_STATUS))
        self.assertEqual([m._readline(), m._readline()], ['OK', 'OK'])
        d.init_modern()
        self.assertEqual(d.request(T_IN, 6, data_len=512), 0)
        self.assertEqual(d.used_idx(), 1)
        self.assertEqual(d.read_mem(DATA, 512), pattern(6))

    @NO_QEMU
    def test_indirect_read(self):
        m, d = self.start()
        d.init_modern((F_VERSION_1, F_INDIRECT))
        d.write_mem(HDR, struct.pack('<IIQ', T_IN, 0, 7))
        d.put_desc(0, HDR, 16, D_NEXT, 1, table=INDIRECT)
        d.put_desc(1, DATA, 512, D_NEXT | D_WRITE, 2, table=INDIRECT)
        d.put_desc(2, STATUS, 1, D_WRITE, table=INDIRECT)
        d.put_desc(5, INDIRECT, 48, D_INDIRECT)
        d.make_avail(5)
        d.notify()
        self.assertEqual(d.wait_used(), (5, 513))
        self.assertEqual(d.read_mem(STATUS, 1), b'\x00')
        self.assertEqual(d.read_mem(DATA, 512), pattern(7))

    @NO_QEMU
    def test_msix_pending_until_unmasked(self):
        m, d = self.start()
        d.init_modern()
        ctl = d.cfg_read(d.msix_cap + 2, 2)
        self.assertEqual(ctl & 0x7ff, 1)                # 2 vectors
        d.cfg_write(d.msix_cap + 2, 0x8000, 2)          # enable
        d.common_w(C_QSEL, 0, 2)
        d.common_w(C_QMSIX, 1, 2)
        self.assertEqual(d.common_r(C_QMSIX, 2), 1)
        d.common_w(C_QMSIX, 7, 2)                       # no such vector
        self.assertEqual(d.common_r(C_QMSIX, 2), 0xffff)
        d.common_w(C_QMSIX, 1, 2)
        m.writel(BAR1 + 16, 0xfee00000)                 # vector 1 address
        m.writel(BAR1 + 24, 0x0031)                     # vector 31... data
        self.assertEqual(m.readl(BAR1 + 28), 1)         # masked at reset
        self.assertEqual(d.request(T_IN, 1, data_len=512), 0)
        self.assertEqual(m.readl(BAR1 + 0x800) & 2, 2)  # pending
        m.writel(BAR1 + 28, 0)                          # unmask: delivered
        self.assertEqual(m.readl(BAR1 + 0x800) & 2, 0)
        # the function mask holds every vector back the same way
        d.cfg_write(d.msix_cap + 2, 0xc000, 2)
        self.assertEqual(d.request(T_IN, 1, data_len=512), 0)
        self.assertEqual(m.readl(BAR1 + 0x800) & 2, 2)
        d.cfg_write(d.msix_cap + 2, 0x8000, 2)
        self.assertEqual(m.readl(BAR1 + 0x800) & 2, 0)
        # with MSI-X on, INTx stays low
        self.assertEqual(d.cfg_read(0x06, 2) & 0x08, 0)

    @NO_QEMU
    def test_intx_follows_isr(self):
        m, d = self.start()
        d.init_modern()
        self.assertEqual(d.cfg_read(0x06, 2) & 0x08, 0)
        self.assertEqual(d.request(T_IN, 1, data_len=512), 0)
        self.assertEqual(d.cfg_read(0x06, 2) & 0x08, 0x08)   # INTx up
        self.assertEqual(int(m.ok('readb 0x%x' % d.bar4(3)), 16), 1)
        self.assertEqual(d.cfg_read(0x06, 2) & 0x08, 0)      # read cleared

    @NO_QEMU
    def test_legacy_interface(self):
        m, d = self.start()
        io = BAR0
        m.outb(io + 0x12, 0)                            # reset
        m.outb(io + 0x12, S_ACK | S_DRIVER)
        host = m.inl(io + 0x00)
        self.assertTrue(host & (1 << F_FLUSH))
        m.outl(io + 0x04, 1 << F_FLUSH)
        m.outw(io + 0x0e, 0)
        qnum = m.inw(io + 0x0c)
        self.assertEqual(qnum, 256)
        # legacy layout: desc, avail right after, used on the next page
        base = 0x200000
        m.ok('memset 0x%x 0x%x 0' % (base, 0x3000 + 16 * qnum))
        m.outl(io + 0x08, base >> 12)
        m.outb(io + 0x12, S_ACK | S_DRIVER | S_DRIVER_OK)
        avail = base + 16 * qnum
        used = (avail + 6 + 2 * qnum + 4095) & ~4095
        d.write_mem(HDR, struct.pack('<IIQ', T_IN, 0, 9))
        d.put_desc(0, HDR, 16, D_NEXT, 1, table=base)
        d.put_desc(1, DATA, 512, D_NEXT | D_WRITE, 2, table=base)
        d.put_desc(2, STATUS, 1, D_WRITE, table=base)
        d.write_mem(avail + 4, struct.pack('<H', 0))
        d.write_mem(avail + 2, struct.pack('<H', 1))
        m.outw(io + 0x10, 0)                            # notify queue 0
        self.assertTrue(m.poll_until(
            lambda: d.read_mem(used + 2, 2) == b'\x01\x00'))
        self.assertEqual(d.read_mem(DATA, 512), pattern(9))
        self.assertEqual(m.inb(io + 0x13), 1)           # ISR: queue
        self.assertEqual(m.inb(io + 0x13), 0)           # read cleared it
        # device config right after the 20-byte header: capacity
        self.assertEqual(m.inl(io + 0x14), IMG_SIZE // 512)
        # with MSI-X on, the vector registers come first (24-byte header)
        d.cfg_write(d.msix_cap + 2, 0x8000, 2)
        m.outw(io + 0x14, 0)                            # config vector
        m.outw(io + 0x16, 1)                            # queue 0 vector
        self.assertEqual((m.inw(io + 0x14), m.inw(io + 0x16)), (0, 1))
        m.outw(io + 0x16, 9)                            # out of range
        self.assertEqual(m.inw(io + 0x16), 0xffff)
        self.assertEqual(m.inl(io + 0x18), IMG_SIZE // 512)


class WriteErrorTest(unittest.TestCase):
    """werror= on a disk that has run out of space: a small tmpfs (root
    only; skipped where it cannot be mounted) that a filler file fills."""

    def setUp(self):
        if is_real_qemu():
            self.skipTest('Debian QEMU lacks qtest')
        self.dir = tempfile.mkdtemp(prefix='qlite-vblk-enospc-')
        self.addCleanup(shutil.rmtree, self.dir, True)
        fs = os.path.join(self.dir, 'fs')
        os.mkdir(fs)
        if os.geteuid() != 0 or subprocess.run(
                ['mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', fs],
                capture_output=True).returncode != 0:
            self.skipTest('cannot mount a small tmpfs here')
        self.addCleanup(subprocess.run, ['umount', '-l', fs])
        self.img = os.path.join(fs, 'disk.raw')
        with open(self.img, 'wb') as f:
            f.truncate(IMG_SIZE)        # sparse: writes need new pages
        self.filler = os.path.join(fs, 'filler')
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while True:
                os.write(fd, b'x' * 4096)
        except OSError as e:
            self.assertEqual(e.errno, errno.ENOSPC)
        finally:
            os.close(fd)

    def start(self, werror):
        sock = os.path.join(self.dir, 'qmp.sock')
        m = QtestMachine(['-m', '128', '-qmp',
                          'unix:%s,server=on,wait=off' % sock,
                          '-drive', 'if=none,id=d0,format=raw,file=%s,'
                          'werror=%s' % (self.img, werror),
                          '-device', 'virtio-blk-pci,drive=d0']).start()
        self.addCleanup(m.close)
        qmp = QMPClient(path=sock)
        self.addCleanup(qmp.close)
        d = VirtioBlkDriver(m)
        d.setup_pci()
        d.init_modern()
        return m, qmp, d

    def test_report(self):
        m, qmp, d = self.start('report')
        self.assertEqual(d.request(T_OUT, 0, write_data=b'\x5a' * 4096), 1)
        ev = qmp.event('BLOCK_IO_ERROR')
        self.assertEqual(ev['data']['action'], 'report')
        self.assertTrue(qmp.ok('query-status')['running'])

    def test_stop_then_redo_on_cont(self):
        m, qmp, d = self.start('stop')
        data = b'\xa5' * 4096
        d.write_mem(HDR, struct.pack('<IIQ', T_OUT, 0, 0))
        d.write_mem(DATA, data)
        d.write_mem(STATUS, b'\xff')
        d.put_desc(0, HDR, 16, D_NEXT, 1)
        d.put_desc(1, DATA, len(data), D_NEXT, 2)
        d.put_desc(2, STATUS, 1, D_WRITE)
        d.make_avail(0)
        d.notify()
        ev = qmp.event('BLOCK_IO_ERROR')
        self.assertEqual(ev['data']['action'], 'stop')
        qmp.event('STOP')
        self.assertEqual(qmp.ok('query-status')['status'], 'io-error')
        self.assertEqual(d.used_idx(), 0)       # held, not completed
        os.unlink(self.filler)                  # room again
        qmp.ok('cont')
        self.assertEqual(d.wait_used(), (0, 1))
        self.assertEqual(d.read_mem(STATUS, 1), b'\x00')
        with open(self.img, 'rb') as f:
            self.assertEqual(f.read(len(data)), data)


if __name__ == '__main__':
    unittest.main()
