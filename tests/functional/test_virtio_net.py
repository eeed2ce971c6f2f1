#!/usr/bin/env python3
"""virtio-net-pci driven over qtest, playing the driver's part (the PCI
and common-configuration helpers of test_virtio_blk's driver, three
queues of our own: receive, transmit, control).

Checks: IDs, class and features, the MAC and link status in the device
config; with -netdev user an ARP request for the gateway goes out and
its reply comes back, on the transitional device and with
disable-legacy=on, with and without mergeable buffers, and through the
legacy interface's 10-byte header; a reply that finds no receive buffer
waits until the driver adds one; control-queue RX mode and MAC commands
are acknowledged and show in query-rx-filter; set_link flips the status
and raises a config interrupt; a bad header drops the frame only, a
chain without a header breaks the device until a reset; a partial
TCP checksum is completed and a GSO frame cut into segments that reach a
host socket through slirp.  Everything runs on the transitional device
and again with disable-legacy=on.

On a tap with IFF_VNET_HDR (in a network namespace of its own, as root;
skipped elsewhere) the guest offloads are offered, a TSO send reaches the
host stack as one GSO frame, and a GSO frame from the host arrives in
three mergeable buffers with its GSO header.
"""
import os
import ctypes
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import QtestMachine, binary, is_real_qemu  # noqa: E402
from test_qmp_client import QMPClient  # noqa: E402
from test_virtio_blk import VirtioBlkDriver  # noqa: E402
from test_virtio_blk import S_ACK, S_DRIVER, S_DRIVER_OK  # noqa: E402
from test_virtio_blk import S_FEATURES_OK, S_NEEDS_RESET  # noqa: E402
from test_virtio_blk import C_GFSEL, C_GF, C_STATUS, C_QSEL  # noqa: E402
from test_virtio_blk import C_QSIZE, C_QENABLE, C_QDESC  # noqa: E402
from test_virtio_blk import C_QAVAIL, C_QUSED  # noqa: E402

QSIZE = 16
RINGS = 0x100000                # queue n at RINGS + n * 0x3000
RXBUF, TXBUF, CMD = 0x200000, 0x300000, 0x380000
BUF_SIZE = 2048
MAC = bytes.fromhex('525400abcdef')
GW_IP, GUEST_IP = bytes([10, 0, 2, 2]), bytes([10, 0, 2, 15])
BAR4 = 0xe0000000

# virtio-net feature bits (virtio 1.2, 5.1.3)
F_CSUM, F_GUEST_CSUM, F_MTU, F_MAC = 0, 1, 3, 5
F_GUEST_TSO4, F_GUEST_TSO6, F_CTRL_GUEST_OFFLOADS = 7, 8, 2
F_HOST_TSO4, F_HOST_TSO6, F_MRG_RXBUF, F_STATUS = 11, 12, 15, 16
F_CTRL_VQ, F_CTRL_RX, F_CTRL_RX_EXTRA, F_CTRL_MAC_ADDR = 17, 18, 20, 23
F_INDIRECT, F_EVENT_IDX, F_VERSION_1 = 28, 29, 32
D_NEXT, D_WRITE = 1, 2
RX, TX, CTRL = 0, 1, 2

TIMEOUT_S = 10
NO_QEMU = unittest.skipIf(is_real_qemu(), 'Debian QEMU lacks qtest')


def arp_request(src_mac=MAC):
    """Who has 10.0.2.2? Tell 10.0.2.15."""
    return (b'\xff' * 6 + src_mac + b'\x08\x06' +
            struct.pack('>HHBBH', 1, 0x0800, 6, 4, 1) +
            src_mac + GUEST_IP + bytes(6) + GW_IP + bytes(18))


def user_net_missing():
    """Why -netdev user cannot be used here, or None.  (A qtest socket
    that does not exist ends the probe right after option parsing.)"""
    r = subprocess.run([binary(), '-machine', 'none', '-accel', 'qtest',
                        '-qtest', 'unix:/nonexistent/qlite-probe',
                        '-display', 'none', '-nodefaults',
                        '-netdev', 'user,id=probe'],
                       capture_output=True, text=True, timeout=30)
    return r.stderr.strip() if "value 'user'" in r.stderr else None


class Queue:
    def __init__(self, index):
        self.index = index
        self.base = RINGS + index * 0x3000
        self.desc, self.avail, self.used = (self.base, self.base + 0x1000,
                                            self.base + 0x2000)
        self.avail_idx = 0
        self.used_seen = 0


class VirtioNetDriver(VirtioBlkDriver):
    """The blk test's PCI helpers with virtio-net's queues."""

    def __init__(self, m):
        super().__init__(m)
        self.queues = [Queue(i) for i in range(3)]
        self.hdr_len = 12

    def init_modern(self, features=(F_VERSION_1, F_MAC, F_STATUS, F_CSUM,
                                    F_HOST_TSO4, F_MRG_RXBUF, F_CTRL_VQ,
                                    F_CTRL_RX, F_CTRL_RX_EXTRA,
                                    F_CTRL_MAC_ADDR,
                                    F_CTRL_GUEST_OFFLOADS)):
        self.common_w(C_STATUS, 0, 1)
        self.common_w(C_STATUS, S_ACK | S_DRIVER, 1)
        want = sum(1 << f for f in features)
        for sel in (0, 1):
            self.common_w(C_GFSEL, sel, 4)
            self.common_w(C_GF, (want >> (32 * sel)) & 0xffffffff, 4)
        self.common_w(C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK, 1)
        assert self.status() & S_FEATURES_OK
        self.m.ok('memset 0x%x 0x9000 0' % RINGS)
        for q in self.queues:
            self.common_w(C_QSEL, q.index, 2)
            self.common_w(C_QSIZE, QSIZE, 2)
            for off, addr in ((C_QDESC, q.desc), (C_QAVAIL, q.avail),
                              (C_QUSED, q.used)):
                self.common_w(off, addr, 4)
                self.common_w(off + 4, 0, 4)
            self.common_w(C_QENABLE, 1, 2)
            q.avail_idx = q.used_seen = 0
        self.mergeable = F_MRG_RXBUF in features
        self.common_w(C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK |
                      S_DRIVER_OK, 1)

    # ---- rings ----
    def put(self, q, i, addr, length, flags, nxt=0):
        self.write_mem(q.desc + 16 * i,
                       struct.pack('<QIHH', addr, length, flags, nxt))

    def make_avail_q(self, q, head):
        self.write_mem(q.avail + 4 + 2 * (q.avail_idx % QSIZE),
                       struct.pack('<H', head))
        q.avail_idx = (q.avail_idx + 1) & 0xffff
        self.write_mem(q.avail + 2, struct.pack('<H', q.avail_idx))

    def q_used_idx(self, q):
        return struct.unpack('<H', self.read_mem(q.used + 2, 2))[0]

    def take_used(self, q):
        """The next used element (id, len), once the device returns it."""
        assert self.m.poll_until(lambda: self.q_used_idx(q) != q.used_seen)
        slot = q.used + 4 + 8 * (q.used_seen % QSIZE)
        q.used_seen = (q.used_seen + 1) & 0xffff
        return struct.unpack('<II', self.read_mem(slot, 8))

    # ---- frames ----
    def transmit(self, frame, hdr=None):
        hdr = bytes(self.hdr_len) if hdr is None else hdr
        q = self.queues[TX]
        slot = q.avail_idx % QSIZE
        addr = TXBUF + slot * 0x1000
        self.write_mem(addr, hdr + frame)
        self.put(q, slot, addr, len(hdr) + len(frame), 0)
        self.make_avail_q(q, slot)
        self.notify(TX)
        return self.take_used(q)

    def give_rx_buffers(self, n, size=BUF_SIZE):
        q = self.queues[RX]
        for _ in range(n):
            slot = q.avail_idx % QSIZE
            self.put(q, slot, RXBUF + slot * 0x1000, size, D_WRITE)
            self.make_avail_q(q, slot)
        self.notify(RX)

    def receive(self):
        """(header, frame) of the next received frame."""
        q = self.queues[RX]
        head, length = self.take_used(q)
        data = self.read_mem(RXBUF + head * 0x1000, length)
        return data[:self.hdr_len], data[self.hdr_len:]

    def control(self, cls, cmd, data=b''):
        """Send one control command; return its ack byte."""
        q = self.queues[CTRL]
        self.write_mem(CMD, bytes([cls, cmd]) + data)
        self.write_mem(CMD + 0x100, b'\xff')
        self.put(q, 0, CMD, 2 + len(data), D_NEXT, 1)
        self.put(q, 1, CMD + 0x100, 1, D_WRITE)
        self.make_avail_q(q, 0)
        self.notify(CTRL)
        head, length = self.take_used(q)
        assert (head, length) == (0, 1), (head, length)
        return self.read_mem(CMD + 0x100, 1)[0]

    def config(self, off, size):
        cmd = {1: 'readb', 2: 'readw', 4: 'readl'}[size]
        return int(self.m.ok('%s 0x%x' % (cmd, self.bar4(4) + off)), 16)

    def isr(self):
        return int(self.m.ok('readb 0x%x' % self.bar4(3)), 16)


def is_arp_reply(frame):
    return (len(frame) >= 42 and frame[0:6] == MAC and
            frame[12:14] == b'\x08\x06' and frame[20:22] == b'\x00\x02' and
            frame[28:32] == GW_IP and frame[38:42] == GUEST_IP)


def ones_sum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('>%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return total


class TcpToHost:
    """A guest-side TCP client, in Python, to 10.0.2.2:port (slirp
    connects that to the host's 127.0.0.1:port)."""

    def __init__(self, d, gw_mac, port):
        self.d, self.gw_mac, self.port = d, gw_mac, port
        self.seq = 1000
        self.ack = 0

    def frame(self, flags, payload=b'', partial=False):
        """Ethernet + IPv4 + TCP; with @partial the TCP checksum field
        holds only the pseudo-header sum, for the device to complete."""
        tcp_len = 20 + len(payload)
        ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + tcp_len, 1, 0x4000,
                         64, 6, 0, GUEST_IP, GW_IP)
        ip = ip[:10] + struct.pack('>H', 0xffff - ones_sum(ip)) + ip[12:]
        tcp = struct.pack('>HHIIBBHHH', 40000, self.port, self.seq,
                          self.ack, 0x50, flags, 65535, 0, 0) + payload
        pseudo = GUEST_IP + GW_IP + struct.pack('>BBH', 0, 6, tcp_len)
        if partial:
            csum = ones_sum(pseudo)
        else:
            csum = 0xffff - ones_sum(pseudo + tcp)
        tcp = tcp[:16] + struct.pack('>H', csum) + tcp[18:]
        return self.gw_mac + MAC + b'\x08\x00' + ip + tcp

    def wait_segment(self, want_flags):
        """The next TCP segment from the gateway with @want_flags set."""
        while True:
            hdr, f = self.d.receive()
            self.d.give_rx_buffers(1)
            if f[12:14] == b'\x08\x00' and f[23] == 6:
                flags = f[47]
                if flags & want_flags == want_flags:
                    return struct.unpack('>II', f[38:46])


class VirtioNetTest(unittest.TestCase):
    """The transitional device (legacy and modern interfaces)."""
    variant = ''

    def setUp(self):
        if is_real_qemu():
            self.skipTest('Debian QEMU lacks qtest')
        self.dir = tempfile.mkdtemp(prefix='qlite-vnet-')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start(self, dev_opts='', netdev='user,id=n0', qmp=False):
        args = ['-m', '128', '-d', 'guest_errors']
        if netdev:
            args += ['-netdev', netdev]
        if qmp:
            self.sock = os.path.join(self.dir, 'qmp.sock')
            args += ['-qmp', 'unix:%s,server=on,wait=off' % self.sock]
        args += ['-device', 'virtio-net-pci,id=nic0,addr=4,mac=%s%s' %
                 (':'.join('%02x' % b for b in MAC),
                  ',netdev=n0' if netdev else '') + self.variant + dev_opts]
        if netdev and netdev.startswith('user'):
            why = user_net_missing()
            if why:
                self.skipTest('no user networking: ' + why)
        m = QtestMachine(args).start()
        self.addCleanup(m.close)
        d = VirtioNetDriver(m)
        d.setup_pci()
        if qmp:
            self.qmp = QMPClient(path=self.sock)
            self.addCleanup(self.qmp.close)
        return m, d

    def log_lines(self, m, text):
        return [ln for ln in m.stderr().splitlines() if text in ln]

    def test_ids_config_and_features(self):
        m, d = self.start(netdev=None)
        self.assertEqual(d.device_id, 0x1041 if self.variant else 0x1000)
        self.assertEqual(d.cfg_read(0x08) >> 8, 0x020000)  # Ethernet
        if not self.variant:
            self.assertEqual(d.cfg_read(0x2c), 0x00011af4)   # subsystem
        f = d.features()
        for bit in (F_VERSION_1, F_MAC, F_STATUS, F_CSUM, F_HOST_TSO4,
                    F_HOST_TSO6, F_MRG_RXBUF, F_CTRL_VQ, F_CTRL_RX,
                    F_CTRL_RX_EXTRA, F_CTRL_MAC_ADDR, F_EVENT_IDX,
                    F_INDIRECT):
            self.assertTrue(f & (1 << bit), bit)
        # no back end with a vnet header: nothing partial for the guest
        self.assertFalse(f & (1 << F_GUEST_CSUM))
        self.assertFalse(f & (1 << F_MTU))
        self.assertEqual(bytes(d.config(i, 1) for i in range(6)), MAC)
        self.assertEqual(d.config(6, 2), 1)             # link up

    def test_properties(self):
        m, d = self.start(netdev=None, dev_opts=',csum=off,mrg_rxbuf=off,'
                          'ctrl_vq=off,status=off,host_mtu=1400')
        f = d.features()
        for bit in (F_CSUM, F_HOST_TSO4, F_MRG_RXBUF, F_CTRL_VQ, F_CTRL_RX,
                    F_STATUS):
            self.assertFalse(f & (1 << bit), bit)
        self.assertTrue(f & (1 << F_MTU))
        self.assertEqual(d.config(10, 2), 1400)

    def test_bad_properties_refused(self):
        for opts in ('guest_ufo=on', 'rx_queue_size=100',
                     'tx_queue_size=2048', 'netdev=nosuch'):
            with self.subTest(opts=opts):
                m = QtestMachine(['-device', 'virtio-net-pci,' + opts])
                with self.assertRaises(Exception):
                    m.start()
                m.close()
        m, d = self.start(netdev=None, dev_opts=',rx_queue_size=1024,'
                          'tx_queue_size=512')
        self.assertEqual(d.device_id, 0x1041 if self.variant else 0x1000)

    def test_modern_only_ids(self):
        m, d = self.start(netdev=None, dev_opts=',disable-legacy=on')
        self.assertEqual(d.device_id, 0x1041)
        self.assertEqual(d.cfg_read(0x08, 1), 1)        # revision

    def arp_roundtrip(self, d):
        d.give_rx_buffers(4)
        d.transmit(arp_request())
        hdr, frame = d.receive()
        self.assertTrue(is_arp_reply(frame), frame.hex())
        return hdr

    def test_arp_through_user_net(self):
        m, d = self.start()
        d.init_modern()
        hdr = self.arp_roundtrip(d)
        # a plain frame: no offload flags, one buffer
        self.assertEqual(hdr, bytes(10) + b'\x01\x00')

    def test_arp_without_mergeable_buffers(self):
        m, d = self.start()
        d.init_modern((F_VERSION_1, F_MAC))
        hdr = self.arp_roundtrip(d)
        self.assertEqual(hdr[:10], bytes(10))

    def test_legacy_interface(self):
        """A legacy driver without MRG_RXBUF: 10-byte headers."""
        if self.variant:
            self.skipTest('no legacy interface with disable-legacy=on')
        self.legacy_driver(*self.start())

    def test_legacy_only_device(self):
        """disable-modern=on: the legacy interface alone, still works."""
        if self.variant:
            self.skipTest('disable-legacy and disable-modern exclude each '
                          'other')
        m, d = self.start(dev_opts=',disable-modern=on')
        self.assertEqual(d.device_id, 0x1000)
        self.assertEqual(d.caps, {})                # no modern capabilities
        self.legacy_driver(m, d)

    def legacy_driver(self, m, d):
        io = 0xc000
        m.outb(io + 0x12, 0)
        m.outb(io + 0x12, S_ACK | S_DRIVER)
        self.assertTrue(m.inl(io + 0x00) & (1 << F_MAC))
        m.outl(io + 0x04, 1 << F_MAC)
        self.assertEqual(bytes(m.inb(io + 0x14 + i) for i in range(6)), MAC)
        queues = []
        for n in (RX, TX):
            m.outw(io + 0x0e, n)
            qnum = m.inw(io + 0x0c)
            base = 0x400000 + n * 0x10000
            m.ok('memset 0x%x 0x%x 0' % (base, 0x3000 + 16 * qnum))
            m.outl(io + 0x08, base >> 12)
            avail = base + 16 * qnum
            used = (avail + 6 + 2 * qnum + 4095) & ~4095
            queues.append((base, avail, used))
        m.outb(io + 0x12, S_ACK | S_DRIVER | S_DRIVER_OK)
        (rdesc, ravail, rused), (tdesc, tavail, tused) = queues
        d.write_mem(rdesc, struct.pack('<QIHH', RXBUF, BUF_SIZE, D_WRITE, 0))
        d.write_mem(ravail + 2, struct.pack('<HH', 1, 0))
        m.outw(io + 0x10, RX)
        frame = arp_request()
        d.write_mem(TXBUF, bytes(10) + frame)
        d.write_mem(tdesc, struct.pack('<QIHH', TXBUF, 10 + len(frame), 0, 0))
        d.write_mem(tavail + 2, struct.pack('<HH', 1, 0))
        m.outw(io + 0x10, TX)
        self.assertTrue(m.poll_until(
            lambda: d.read_mem(rused + 2, 2) == b'\x01\x00'))
        length = struct.unpack('<I', d.read_mem(rused + 8, 4))[0]
        data = d.read_mem(RXBUF, length)
        self.assertEqual(data[:10], bytes(10))
        self.assertTrue(is_arp_reply(data[10:]), data.hex())
        # without CTRL_MAC_ADDR a legacy driver sets the MAC in the config
        new_mac = bytes.fromhex('525400fedcba')
        for i, b in enumerate(new_mac):
            m.outb(io + 0x14 + i, b)
        self.assertEqual(bytes(m.inb(io + 0x14 + i) for i in range(6)),
                         new_mac)

    def test_reply_waits_for_buffers(self):
        """No receive buffer: the reply is held, not dropped, and arrives
        once the driver adds buffers and kicks."""
        m, d = self.start()
        d.init_modern()
        d.transmit(arp_request())
        rx = d.queues[RX]
        self.assertEqual(d.q_used_idx(rx), 0)
        d.give_rx_buffers(1)
        hdr, frame = d.receive()
        self.assertTrue(is_arp_reply(frame), frame.hex())

    def test_burst_waits_without_loss(self):
        """Forty replies for a sixteen-buffer ring: each waits in the
        queue until the driver refills, none is lost."""
        m, d = self.start()
        d.init_modern()
        for _ in range(40):
            d.transmit(arp_request())
        replies = 0
        while replies < 40:
            d.give_rx_buffers(QSIZE if replies + QSIZE <= 40 else 40 - replies)
            for _ in range(min(QSIZE, 40 - replies)):
                hdr, frame = d.receive()
                self.assertTrue(is_arp_reply(frame), frame.hex())
                replies += 1
        # nothing more was waiting: the next frame is the next reply
        other = bytes.fromhex('525400999999')
        d.give_rx_buffers(1)
        d.transmit(arp_request(src_mac=other))
        hdr, frame = d.receive()
        self.assertEqual(frame[0:6], other)

    def test_ctrl_rx_mode_and_mac(self):
        m, d = self.start(qmp=True)
        d.init_modern()
        filt = self.qmp.ok('query-rx-filter', {'name': 'nic0'})[0]
        self.assertTrue(filt['promiscuous'])
        self.assertEqual(d.control(0, 0, b'\x00'), 0)    # PROMISC off
        self.assertEqual(self.qmp.event('NIC_RX_FILTER_CHANGED')['data']
                         ['name'], 'nic0')
        self.assertEqual(d.control(0, 3, b'\x01'), 0)    # NOMULTI on
        self.assertEqual(d.control(0, 9, b'\x01'), 1)    # no such command
        self.assertEqual(d.control(0, 0, b''), 1)        # no data
        self.assertEqual(d.control(7, 0, b''), 1)        # no such class
        other = bytes.fromhex('525400112233')
        table = struct.pack('<I', 1) + other + struct.pack('<I', 0)
        self.assertEqual(d.control(1, 0, table), 0)      # MAC TABLE_SET
        self.assertEqual(d.control(1, 0, table[:-1]), 1)  # truncated
        new_mac = bytes.fromhex('5254000a0b0c')
        self.assertEqual(d.control(1, 1, new_mac), 0)    # ADDR_SET
        filt = self.qmp.ok('query-rx-filter', {'name': 'nic0'})[0]
        self.assertFalse(filt['promiscuous'])
        self.assertEqual(filt['multicast'], 'none')
        self.assertEqual(filt['unicast-table'], ['52:54:00:11:22:33'])
        self.assertEqual(filt['main-mac'], '52:54:00:0a:0b:0c')
        self.assertEqual(bytes(d.config(i, 1) for i in range(6)), new_mac)
        # the device is still fine
        self.assertFalse(d.status() & S_NEEDS_RESET)

    def test_ctrl_guest_offloads(self):
        """GUEST_OFFLOADS_SET takes only negotiated GUEST_* bits; with
        user networking there are none to switch on."""
        m, d = self.start()
        self.assertTrue(d.features() & (1 << F_CTRL_GUEST_OFFLOADS))
        d.init_modern()
        self.assertEqual(d.control(5, 0, struct.pack('<Q', 0)), 0)
        self.assertEqual(d.control(5, 0, struct.pack('<Q', 1 << 1)), 1)
        self.assertEqual(d.control(5, 0, struct.pack('<I', 0)), 1)
        self.assertEqual(d.control(5, 1, struct.pack('<Q', 0)), 1)
        self.arp_roundtrip(d)

    def test_filter_drops_frames_for_others(self):
        """Promiscuous off and a new MAC: the gateway's reply to the old
        address is filtered; to the new one it arrives."""
        m, d = self.start()
        d.init_modern()
        self.assertEqual(d.control(0, 0, b'\x00'), 0)
        new_mac = bytes.fromhex('5254000a0b0c')
        self.assertEqual(d.control(1, 1, new_mac), 0)
        d.give_rx_buffers(2)
        d.transmit(arp_request(src_mac=MAC))      # reply goes to MAC
        d.transmit(arp_request(src_mac=new_mac))
        hdr, frame = d.receive()
        self.assertEqual(frame[0:6], new_mac)
        self.assertEqual(d.q_used_idx(d.queues[RX]), 1)

    def test_set_link(self):
        m, d = self.start(qmp=True)
        d.init_modern()
        self.assertEqual(d.config(6, 2), 1)
        d.isr()                                     # clear it
        gen = d.common_r(0x15, 1)
        self.qmp.ok('set_link', {'name': 'nic0', 'up': False})
        self.assertEqual(d.config(6, 2), 0)
        self.assertEqual(d.isr() & 2, 2)            # config interrupt
        self.assertNotEqual(d.common_r(0x15, 1), gen)
        self.qmp.ok('set_link', {'name': 'n0', 'up': True})
        self.assertEqual(d.config(6, 2), 1)
        self.assertEqual(d.isr() & 2, 2)

    def test_tcp_checksum_and_tso_in_software(self):
        """With -netdev user the device completes a partial checksum
        (slirp drops a TCP segment whose checksum is wrong) and cuts a
        GSO frame into MSS-sized segments that reach a host socket."""
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)
        listener.settimeout(30)
        port = listener.getsockname()[1]
        m, d = self.start()
        d.init_modern()
        d.give_rx_buffers(QSIZE)
        d.transmit(arp_request())
        hdr, reply = d.receive()
        d.give_rx_buffers(1)
        self.assertTrue(is_arp_reply(reply))
        tcp = TcpToHost(d, reply[6:12], port)
        csum_hdr = struct.pack('<BBHHHHH', 1, 0, 0, 0, 34, 16, 0)
        d.transmit(tcp.frame(0x02, partial=True), csum_hdr)      # SYN
        seq, ack = tcp.wait_segment(0x12)                        # SYN ACK
        self.assertEqual(ack, tcp.seq + 1)
        tcp.seq += 1
        tcp.ack = seq + 1
        d.transmit(tcp.frame(0x10))                              # ACK
        conn, _ = listener.accept()
        self.addCleanup(conn.close)
        conn.settimeout(30)
        payload = bytes((i * 7) & 0xff for i in range(5000))
        gso_hdr = struct.pack('<BBHHHHH', 1, 1, 54, 1000, 34, 16, 0)
        d.transmit(tcp.frame(0x18, payload, partial=True), gso_hdr)
        got = b''
        while len(got) < len(payload):
            chunk = conn.recv(65536)
            self.assertTrue(chunk, 'connection closed after %d' % len(got))
            got += chunk
        self.assertEqual(got, payload)

    def test_bad_header_drops_the_frame_only(self):
        m, d = self.start()
        d.init_modern()
        # NEEDS_CSUM with the checksum field past the end of the frame
        hdr = struct.pack('<BBHHHHH', 1, 0, 0, 0, 100, 50, 0)
        head, length = d.transmit(arp_request(), hdr)
        self.assertTrue(m.poll_until(lambda: self.log_lines(
            m, 'checksum position outside')), m.stderr())
        # UDP fragmentation was never offered
        hdr = struct.pack('<BBHHHHH', 1, 3, 0, 1000, 34, 6, 0)
        d.transmit(arp_request(), hdr)
        self.assertFalse(d.status() & S_NEEDS_RESET)
        # and the device still works
        self.arp_roundtrip(d)

    def test_chain_without_header_needs_reset(self):
        m, d = self.start()
        d.init_modern()
        q = d.queues[TX]
        d.put(q, 0, TXBUF, 4, 0)
        d.make_avail_q(q, 0)
        d.notify(TX)
        self.assertTrue(m.poll_until(lambda: d.status() & S_NEEDS_RESET))
        self.assertEqual(len(self.log_lines(m, 'without its header')), 1)
        d.init_modern()
        self.assertFalse(d.status() & S_NEEDS_RESET)
        self.arp_roundtrip(d)

    def test_no_dma_without_bus_master(self):
        m, d = self.start()
        d.init_modern()
        d.cfg_write(0x04, 0x3, 2)                   # bus mastering off
        q = d.queues[TX]
        frame = arp_request()
        d.write_mem(TXBUF, bytes(12) + frame)
        d.put(q, 0, TXBUF, 12 + len(frame), 0)
        d.make_avail_q(q, 0)
        d.notify(TX)
        self.assertTrue(m.poll_until(lambda: self.log_lines(
            m, 'bus mastering off')), m.stderr())
        self.assertEqual(d.q_used_idx(q), 0)
        d.cfg_write(0x04, 0x7, 2)
        d.give_rx_buffers(2)
        d.notify(TX)
        d.take_used(q)
        hdr, frame = d.receive()
        self.assertTrue(is_arp_reply(frame))


class VirtioNetModernOnlyTest(VirtioNetTest):
    """The same checks on the modern-only device."""
    variant = ',disable-legacy=on'


class VirtioNetLayoutTest(unittest.TestCase):
    """PCI config space and BAR sizes as QEMU 7.2 lays them out (read from
    Debian's QEMU with the same command lines); runs on either."""

    def layout(self, opts):
        m = QtestMachine(['-device', 'virtio-net-pci,addr=4' + opts]).start()
        self.addCleanup(m.close)
        d = VirtioNetDriver(m)
        regs = {reg: d.cfg_read(reg) for reg in range(0, 0xa4, 4)}
        sizes = []
        for reg in (0x10, 0x14, 0x20, 0x24):
            d.cfg_write(reg, 0xffffffff)
            sizes.append(d.cfg_read(reg))
        return regs, sizes

    def test_config_space_as_qemu(self):
        caps = {0x34: 0x98, 0x40: 0x01100009, 0x50: 0x03104009,
                0x60: 0x04105009, 0x70: 0x02146009, 0x84: 0x05147009,
                0x98: 0x00038411, 0x9c: 0x00000001, 0xa0: 0x00000801}
        for opts, ids, rev, bar0 in (
                ('', 0x10001af4, 0x02000000, 0xffffffe1),
                (',host_mtu=1400', 0x10001af4, 0x02000000, 0xffffffc1),
                (',disable-legacy=on', 0x10411af4, 0x02000001, 0)):
            with self.subTest(opts=opts):
                regs, sizes = self.layout(opts)
                self.assertEqual(regs[0x00], ids)
                self.assertEqual(regs[0x08], rev)
                for reg, val in caps.items():
                    self.assertEqual(regs[reg], val, hex(reg))
                self.assertEqual(sizes, [bar0, 0xfffff000, 0xffffc00c,
                                         0xffffffff])

# ---- tap with IFF_VNET_HDR: the header and offloads pass through ----

CLONE_NEWNET = 0x40000000
SOL_PACKET, PACKET_VNET_HDR = 263, 15
TAP = 'qvtap0'
PEER_MAC = bytes.fromhex('020000000001')


def tcp4_frame(dst, src, payload, csum=0):
    """Ethernet + IPv4 + TCP (checksum field @csum) + @payload."""
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 40 + len(payload), 1, 0x4000,
                     64, 6, 0, bytes([192, 168, 99, 1]),
                     bytes([192, 168, 99, 2]))
    ip = ip[:10] + struct.pack('>H', 0xffff - ones_sum(ip)) + ip[12:]
    tcp = struct.pack('>HHIIBBHHH', 1234, 80, 1, 0, 0x50, 0x18, 65535, csum,
                      0)
    return dst + src + b'\x08\x00' + ip + tcp + payload


class NetnsMachine(QtestMachine):
    """The emulator started inside network namespace @ns."""

    def __init__(self, ns, args):
        super().__init__(args)
        self.ns = ns

    def command_line(self, qtest_path, serial_path):
        return (['ip', 'netns', 'exec', self.ns] +
                super().command_line(qtest_path, serial_path))


class VirtioNetTapTest(unittest.TestCase):
    """A tap in a network namespace of its own, and a packet socket on
    it for the other end.  Skips where taps or namespaces cannot be made
    (no /dev/net/tun, not root)."""

    def setUp(self):
        if is_real_qemu():
            self.skipTest('Debian QEMU lacks qtest')
        if not os.path.exists('/dev/net/tun') or os.geteuid() != 0:
            self.skipTest('no /dev/net/tun or not root: no taps')
        self.ns = 'qlite-vnet-%d' % os.getpid()
        for cmd in (['ip', 'netns', 'add', self.ns],
                    ['ip', 'netns', 'exec', self.ns, 'ip', 'tuntap', 'add',
                     'dev', TAP, 'mode', 'tap'],
                    ['ip', 'netns', 'exec', self.ns, 'ip', 'link', 'set',
                     TAP, 'up']):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if cmd[2] == 'add':
                self.addCleanup(subprocess.run,
                                ['ip', 'netns', 'del', self.ns])
            if r.returncode:
                self.skipTest('%s: %s' % (' '.join(cmd), r.stderr.strip()))
        m = NetnsMachine(self.ns, [
            '-m', '128', '-d', 'guest_errors', '-netdev',
            'tap,id=n0,ifname=%s,script=no,downscript=no' % TAP,
            '-device', 'virtio-net-pci,id=nic0,addr=4,netdev=n0,mac=' +
            ':'.join('%02x' % b for b in MAC)]).start()
        self.addCleanup(m.close)
        self.m, self.d = m, VirtioNetDriver(m)
        self.d.setup_pci()
        self.sock = self.packet_socket()
        self.addCleanup(self.sock.close)

    def packet_socket(self):
        """A raw socket on the tap, made inside the namespace."""
        libc = ctypes.CDLL(None, use_errno=True)
        here = os.open('/proc/self/ns/net', os.O_RDONLY)
        there = os.open('/var/run/netns/' + self.ns, os.O_RDONLY)
        try:
            self.assertEqual(libc.setns(there, CLONE_NEWNET), 0)
            try:
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                  socket.htons(3))
                s.bind((TAP, 0))
            finally:
                self.assertEqual(libc.setns(here, CLONE_NEWNET), 0)
        finally:
            os.close(here)
            os.close(there)
        s.settimeout(TIMEOUT_S)
        return s

    def sniff(self, want):
        """Frames from the guest (source MAC ours) until @want(frames)."""
        frames = []
        while not want(frames):
            f = self.sock.recv(65536)
            if f[6:12] == MAC:
                frames.append(f)
        return frames

    def test_features_include_guest_offloads(self):
        f = self.d.features()
        for bit in (F_GUEST_CSUM, F_GUEST_TSO4, F_GUEST_TSO6, F_CSUM,
                    F_HOST_TSO4):
            self.assertTrue(f & (1 << bit), bit)

    def test_gso_frame_passes_to_the_tap_whole(self):
        """The guest's 5000-byte TSO send reaches the host stack as one
        GSO frame (or, segmented by the kernel, as its segments)."""
        d = self.d
        d.init_modern()
        payload = bytes((i * 3) & 0xff for i in range(5000))
        frame = tcp4_frame(PEER_MAC, MAC, payload)
        hdr = struct.pack('<BBHHHHH', 1, 1, 54, 1448, 34, 16, 0)
        d.transmit(frame, hdr)
        got = self.sniff(lambda fs: sum(len(f) - 54 for f in fs) >= 5000)
        self.assertEqual(b''.join(f[54:] for f in got), payload)

    def test_gso_frame_from_the_host_in_mergeable_buffers(self):
        """A GSO frame the host sends reaches the guest as one frame in
        three mergeable buffers, with its GSO header (GUEST_TSO4)."""
        d = self.d
        d.init_modern((F_VERSION_1, F_MAC, F_MRG_RXBUF, F_CSUM, F_GUEST_CSUM,
                       F_GUEST_TSO4, F_GUEST_TSO6))
        d.give_rx_buffers(8)
        self.sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        payload = bytes((i * 5) & 0xff for i in range(5000))
        frame = tcp4_frame(MAC, PEER_MAC, payload)
        self.sock.send(struct.pack('<BBHHHH', 1, 1, 54, 1448, 34, 16) +
                       frame)
        rx = d.queues[RX]
        while True:
            # The host's own frames on the tap (IPv6 neighbour discovery,
            # multicast reports) may come first: skip those, one buffer
            # each, by their destination.
            parts = [d.take_used(rx)]
            first = d.read_mem(RXBUF + parts[0][0] * 0x1000, parts[0][1])
            hdr = struct.unpack('<BBHHHHH', first[:12])
            if first[12:18] == MAC:
                break
            self.assertEqual(hdr[6], 1, 'a stray frame in one buffer')
        for _ in range(hdr[6] - 1):
            parts.append(d.take_used(rx))
        data = first[12:] + b''.join(
            d.read_mem(RXBUF + head * 0x1000, length)
            for head, length in parts[1:])
        self.assertEqual(hdr[6], 3)                     # num_buffers
        self.assertEqual(hdr[1] & 0x7f, 1)              # GSO_TCPV4
        self.assertEqual(hdr[0] & 1, 1)                 # NEEDS_CSUM
        self.assertEqual(len(data), len(frame))
        self.assertEqual(data[54:], payload)

    def test_guest_offloads_switched_off(self):
        """GUEST_OFFLOADS_SET 0: the host cuts its GSO frame itself and
        the guest gets plain segments."""
        d = self.d
        d.init_modern((F_VERSION_1, F_MAC, F_MRG_RXBUF, F_CSUM, F_GUEST_CSUM,
                       F_GUEST_TSO4, F_CTRL_VQ, F_CTRL_GUEST_OFFLOADS))
        self.assertEqual(d.control(5, 0, struct.pack('<Q', 0)), 0)
        d.give_rx_buffers(QSIZE)
        self.sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        payload = bytes((i * 5) & 0xff for i in range(3000))
        self.sock.send(struct.pack('<BBHHHH', 1, 1, 54, 1448, 34, 16) +
                       tcp4_frame(MAC, PEER_MAC, payload))
        got = b''
        while len(got) < len(payload):
            hdr, frame = d.receive()
            self.assertEqual(hdr[:2], b'\0\0')       # no csum, no GSO
            self.assertLessEqual(len(frame), 1514)
            got += frame[54:]
        self.assertEqual(got, payload)

    def test_plain_frame_from_the_host(self):
        d = self.d
        d.init_modern()
        d.give_rx_buffers(2)
        frame = tcp4_frame(MAC, PEER_MAC, b'hello', csum=0x1234)
        self.sock.send(frame)
        hdr, got = d.receive()
        self.assertEqual(hdr, bytes(10) + b'\x01\x00')
        self.assertEqual(got, frame)


if __name__ == '__main__':
    unittest.main()
