#!/usr/bin/env python3
"""The pc board's platform devices, driven over qtest: PIT, RTC/CMOS,
PCI configuration space (i440FX, PIIX3, PIIX4 PM, pci-testdev BARs),
fw_cfg, the IOAPIC and its delivery to the local APIC, port 0x92, the
i8042 and the ACPI power button (QMP system_powerdown -> PM1 status ->
SCI on IRQ 9).

Reset values were checked against Debian's QEMU 7.2 through its monitor
('o'/'i' port commands); values firmware changes (BARs, PIRQ routes,
PM base) are what SeaBIOS programs, since qlite plays firmware's part.
"""
import os
import shutil
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import QtestMachine, is_real_qemu  # noqa: E402
from test_qmp_client import QMPClient  # noqa: E402

PIT_NS_PER_TICK = 1e9 / 1193182
NO_QEMU = unittest.skipIf(is_real_qemu(), 'Debian QEMU lacks qtest')


def start(args=()):
    return QtestMachine(args=['-m', '512'] + list(args)).start()


class PITTest(unittest.TestCase):
    def setUp(self):
        self.m = start()
        self.addCleanup(self.m.close)

    @NO_QEMU
    def test_mode2_irq0_rate(self):
        m = self.m
        m.ok('irq_intercept_in ioapic')
        m.outb(0x43, 0x34)              # channel 0, LSB/MSB, mode 2
        m.outb(0x40, 1193 & 0xff)       # ~1 kHz
        m.outb(0x40, 1193 >> 8)
        m.take_irqs()
        m.clock_step(10_000_000)        # 10 ms
        raises = [e for e in m.take_irqs() if e == 'raise 0']
        self.assertIn(len(raises), (9, 10, 11))

    @NO_QEMU
    def test_counter_counts_down(self):
        m = self.m
        m.outb(0x43, 0x30)              # channel 0, mode 0
        m.outb(0x40, 0x00)
        m.outb(0x40, 0x80)              # 0x8000
        m.clock_step(int(0x1000 * PIT_NS_PER_TICK) + 1)
        m.outb(0x43, 0x00)              # latch channel 0
        v = m.inb(0x40) | (m.inb(0x40) << 8)
        self.assertAlmostEqual(v, 0x7000, delta=2)

    def test_port61_gate_and_out2(self):
        m = self.m
        self.assertEqual(m.inb(0x61) & 0x21, 0x20)  # gate 0, OUT2 high
        m.outb(0x61, 0x01)              # gate 2 on, speaker off
        m.outb(0x43, 0xb0)              # channel 2, mode 0
        m.outb(0x42, 0xff)
        m.outb(0x42, 0x00)              # 255 ticks
        self.assertEqual(m.inb(0x61) & 0x21, 0x01)  # OUT2 low while counting
        if is_real_qemu():
            return
        m.clock_step(300_000)           # > 255 ticks (214 us)
        self.assertEqual(m.inb(0x61) & 0x20, 0x20)

    def test_read_back_status(self):
        m = self.m
        m.outb(0x43, 0xb4)              # channel 2, LSB/MSB, mode 2
        m.outb(0x43, 0xe8)              # read-back: status of channel 2
        st = m.inb(0x42)
        self.assertEqual(st & 0x3f, 0x34)
        self.assertTrue(st & 0x40)      # null count: no count loaded


def cmos(m, reg, val=None):
    """Read CMOS byte @reg, or write @val to it."""
    m.outb(0x70, reg)
    if val is None:
        return m.inb(0x71)
    m.outb(0x71, val)


class RTCTest(unittest.TestCase):
    def setUp(self):
        self.m = start()
        self.addCleanup(self.m.close)

    def cmos(self, reg, val=None):
        return cmos(self.m, reg, val)

    def test_reset_values_and_memory_size(self):
        self.assertEqual(self.cmos(0x0a), 0x26)
        self.assertEqual(self.cmos(0x0b), 0x02)
        self.assertEqual(self.cmos(0x0d), 0x80)
        self.assertEqual(self.cmos(0x15) | self.cmos(0x16) << 8, 640)
        self.assertEqual(self.cmos(0x17) | self.cmos(0x18) << 8, 0xffff)
        # (512 MiB - 16 MiB) / 64 KiB
        self.assertEqual(self.cmos(0x34) | self.cmos(0x35) << 8, 0x1f00)
        self.assertEqual(self.cmos(0x5f), 0)

    def test_time_is_bcd_and_plausible(self):
        import time
        year = self.cmos(0x09)
        now = time.gmtime()
        self.assertEqual((year >> 4) * 10 + (year & 15), now.tm_year % 100)
        self.assertEqual(self.cmos(0x32), 0x20)
        self.cmos(0x0b, 0x06)           # binary mode
        self.assertEqual(self.cmos(0x09), now.tm_year % 100)

    @NO_QEMU
    def test_periodic_irq8(self):
        m = self.m
        m.ok('irq_intercept_in ioapic')
        self.cmos(0x0a, 0x26)           # 1024 Hz
        self.cmos(0x0b, 0x42)           # PIE
        m.clock_step(1_000_000)         # 1 ms
        self.assertEqual(m.irq_level(8), 1)
        self.assertEqual(self.cmos(0x0c) & 0xc0, 0xc0)   # IRQF | PF
        self.assertEqual(m.irq_level(8), 0)
        self.assertEqual(self.cmos(0x0c), 0)

    def count_periodic(self, m, stall_ns, after_ns, step_ns=100_000):
        """PF bits read after the guest sat @stall_ns without reading REG_C,
        then read it every @step_ns for @after_ns."""
        self.cmos(0x0a, 0x26)           # 1024 Hz: 976.5 us
        self.cmos(0x0b, 0x42)           # PIE
        self.cmos(0x0c)
        m.clock_step(stall_ns)
        n = 0
        for _ in range(after_ns // step_ns):
            n += bool(self.cmos(0x0c) & 0x40)
            m.clock_step(step_ns)
        return n + bool(self.cmos(0x0c) & 0x40)

    @NO_QEMU
    def test_lost_ticks_are_given_again_with_driftfix_slew(self):
        # 30 ms of 1024 Hz is 30.7 ticks; a guest that was away for the
        # first 10 ms gets one PF for them, and the rest again with slew.
        n_discard = self.count_periodic(self.m, 10_000_000, 20_000_000)
        slew = start(['-rtc', 'base=utc,driftfix=slew'])
        self.addCleanup(slew.close)
        self.m = slew
        n_slew = self.count_periodic(slew, 10_000_000, 20_000_000)
        self.assertLessEqual(n_discard, 22)
        self.assertGreaterEqual(n_slew, 29)
        self.assertLessEqual(n_slew, 32)

    @NO_QEMU
    def test_update_ended_irq(self):
        m = self.m
        m.ok('irq_intercept_in ioapic')
        self.cmos(0x0b, 0x12)           # UIE
        m.clock_step(1_000_000_001)
        self.assertEqual(m.irq_level(8), 1)
        self.assertEqual(self.cmos(0x0c) & 0x90, 0x90)


def cfg_read(m, bdf, reg, size=4):
    m.outl(0xcf8, 0x80000000 | (bdf << 8) | (reg & 0xfc))
    port = 0xcfc + (reg & 3)
    return {1: m.inb, 2: m.inw, 4: m.inl}[size](port)


def cfg_write(m, bdf, reg, val, size=4):
    m.outl(0xcf8, 0x80000000 | (bdf << 8) | (reg & 0xfc))
    port = 0xcfc + (reg & 3)
    {1: m.outb, 2: m.outw, 4: m.outl}[size](port, val)


class PCITest(unittest.TestCase):
    def setUp(self):
        self.m = start(['-device', 'pci-testdev,addr=03.0'])
        self.addCleanup(self.m.close)

    def test_ids(self):
        m = self.m
        self.assertEqual(cfg_read(m, 0x00, 0), 0x12378086)
        self.assertEqual(cfg_read(m, 0x08, 0), 0x70008086)
        self.assertEqual(cfg_read(m, 0x08, 0x0e, 1) & 0x80, 0x80)
        self.assertEqual(cfg_read(m, 0x0b, 0), 0x71138086)
        self.assertEqual(cfg_read(m, 0x18, 0), 0x00051b36)
        self.assertEqual(cfg_read(m, 0x10, 0), 0xffffffff)   # empty slot
        self.assertEqual(cfg_read(m, 0x18, 0x08) >> 16, 0xff00)

    def test_bar_sizing_and_mapping(self):
        m = self.m
        dev = 0x18
        cfg_write(m, dev, 0x04, 0, 2)                 # decoding off
        cfg_write(m, dev, 0x10, 0xffffffff)
        self.assertEqual(cfg_read(m, dev, 0x10), 0xfffff000)  # 4 KiB mem
        cfg_write(m, dev, 0x14, 0xffffffff)
        self.assertEqual(cfg_read(m, dev, 0x14), 0xffffff01)  # 256 B I/O
        if is_real_qemu():
            return
        cfg_write(m, dev, 0x10, 0xfe000000)
        cfg_write(m, dev, 0x14, 0xd000)
        cfg_write(m, dev, 0x04, 0x3, 2)
        # Select test 0 through I/O: header of "portio-no-eventfd".
        m.outb(0xd000, 0)
        name = bytes(m.inb(0xd000 + 16 + i) for i in range(17))
        self.assertEqual(name, b'portio-no-eventfd')
        m.writel(0xfe000000, 1)     # select mmio test 1 (wildcard)
        self.assertEqual(m.readl(0xfe000004), 2048 + 1)

    @NO_QEMU
    def test_pirq_routes_intx(self):
        m = self.m
        m.ok('irq_intercept_in ioapic')
        # Route PIRQA to IRQ 5 and pulse a line by hand via PIIX3 is not
        # reachable from qtest; check the route register takes writes.
        cfg_write(m, 0x08, 0x60, 0x05, 1)
        self.assertEqual(cfg_read(m, 0x08, 0x60, 1), 0x05)


class FwCfgTest(unittest.TestCase):
    def setUp(self):
        self.m = start()
        self.addCleanup(self.m.close)

    def item(self, key, n):
        self.m.outw(0x510, key)
        return bytes(self.m.inb(0x511) for _ in range(n))

    def files(self):
        count = struct.unpack('>I', self.item(0x19, 4))[0]
        raw = self.item(0x19, 4 + 64 * count)[4:]
        out = {}
        for i in range(count):
            size, sel, _ = struct.unpack('>IHH', raw[64 * i:64 * i + 8])
            name = raw[64 * i + 8:64 * i + 64].split(b'\0')[0].decode()
            out[name] = (size, sel)
        return out

    def test_signature_and_id(self):
        self.assertEqual(self.item(0x00, 4), b'QEMU')
        self.assertEqual(self.item(0x01, 4), b'\x03\0\0\0')
        self.assertEqual(struct.unpack('<Q', self.item(0x03, 8))[0],
                         512 << 20)
        self.assertEqual(struct.unpack('<H', self.item(0x05, 2))[0], 1)

    def test_directory_and_e820(self):
        files = self.files()
        self.assertIn('etc/e820', files)
        names = list(files)
        self.assertEqual(names, sorted(names))
        size, sel = files['etc/e820']
        e820 = self.item(sel, size)
        addr, length, typ = struct.unpack('<QQI', e820[:20])
        self.assertEqual((addr, length, typ), (0, 512 << 20, 1))

    @NO_QEMU
    def test_acpi_files_and_dma(self):
        m = self.m
        files = self.files()
        for f in ('etc/acpi/tables', 'etc/acpi/rsdp', 'etc/table-loader'):
            self.assertIn(f, files)
        size, sel = files['etc/acpi/rsdp']
        # DMA: descriptor at 0x1000, data to 0x2000.
        desc = struct.pack('>IIQ', (sel << 16) | 0x08 | 0x02, size, 0x2000)
        for i in range(0, 16, 4):
            m.writel(0x1000 + i, struct.unpack('<I', desc[i:i + 4])[0])
        self.assertEqual(m.inl(0x514), struct.unpack('<I', b'QEMU')[0])
        m.outl(0x514, 0)
        m.outl(0x518, struct.unpack('<I', struct.pack('>I', 0x1000))[0])
        self.assertEqual(m.readl(0x1000), 0)            # control: done
        self.assertEqual(m.readl(0x2000), struct.unpack('<I', b'RSD ')[0])

    @NO_QEMU
    def test_acpi_table_checksums(self):
        files = self.files()
        size, sel = files['etc/acpi/tables']
        blob = self.item(sel, size)
        size, sel = files['etc/acpi/rsdp']
        rsdp = self.item(sel, size)
        self.assertEqual(rsdp[:8], b'RSD PTR ')
        self.assertEqual(sum(rsdp[:20]) & 0xff, 0)
        self.assertEqual(sum(rsdp) & 0xff, 0)
        # Pointers are offsets into the tables blob until firmware links.
        rsdt = struct.unpack('<I', rsdp[16:20])[0]
        self.assertEqual(blob[rsdt:rsdt + 4], b'RSDT')
        length = struct.unpack('<I', blob[rsdt + 4:rsdt + 8])[0]
        entries = struct.unpack('<%dI' % ((length - 36) // 4),
                                blob[rsdt + 36:rsdt + length])
        sigs = set()
        for off in (rsdt,) + entries:
            n = struct.unpack('<I', blob[off + 4:off + 8])[0]
            self.assertEqual(sum(blob[off:off + n]) & 0xff, 0)
            sigs.add(blob[off:off + 4])
        self.assertEqual(sigs, {b'RSDT', b'FACP', b'APIC'})
        fadt = entries[0]
        dsdt = struct.unpack('<I', blob[fadt + 40:fadt + 44])[0]
        self.assertEqual(blob[dsdt:dsdt + 4], b'DSDT')
        self.assertIn(b'_S5_', blob[dsdt:])
        self.assertIn(b'_PRT', blob[dsdt:])


class IOAPICTest(unittest.TestCase):
    def setUp(self):
        self.m = start(['-device', 'pc-testdev'])
        self.addCleanup(self.m.close)

    def ioapic(self, reg, val=None):
        self.m.writel(0xfec00000, reg)
        if val is None:
            return self.m.readl(0xfec00010)
        self.m.writel(0xfec00010, val)

    def test_version_and_reset(self):
        self.assertEqual(self.ioapic(0x01), 0x00170020)
        self.assertEqual(self.ioapic(0x10) & 0x10000, 0x10000)

    @NO_QEMU
    def test_delivery_to_lapic_irr(self):
        # Pin 5, vector 0x45, edge, physical destination APIC 0.
        self.ioapic(0x10 + 2 * 5, 0x45)
        self.ioapic(0x11 + 2 * 5, 0)
        self.m.outb(0x2005, 1)          # pc-testdev raises ISA IRQ 5
        irr = self.m.readl(0xfee00200 + 0x10 * (0x45 // 32))
        self.assertTrue(irr & (1 << (0x45 % 32)))

    def test_low_write_keeps_destination(self):
        # Linux writes the high dword (destination) first, then the low
        # one; a 32-bit mask once cleared the destination on the second
        # write, and every interrupt went to logical destination 0.
        self.ioapic(0x11 + 2 * 2, 0x01000000)
        self.ioapic(0x10 + 2 * 2, 0x830)        # edge, logical, vector 0x30
        self.assertEqual(self.ioapic(0x11 + 2 * 2), 0x01000000)
        self.assertEqual(self.ioapic(0x10 + 2 * 2), 0x830)

    @NO_QEMU
    def test_level_eoi_keeps_destination(self):
        self.ioapic(0x11 + 2 * 9, 0xff000000)        # broadcast
        self.ioapic(0x10 + 2 * 9, 0x8000 | 0x59)     # level, vector 0x59
        self.m.outb(0x2009, 1)
        self.assertTrue(self.ioapic(0x10 + 2 * 9) & 0x4000)   # remote IRR
        self.m.outb(0x2009, 0)
        self.m.writel(0xfec00040, 0x59)               # EOI register
        self.assertFalse(self.ioapic(0x10 + 2 * 9) & 0x4000)
        self.assertEqual(self.ioapic(0x11 + 2 * 9), 0xff000000)

    @NO_QEMU
    def test_level_remote_irr(self):
        self.ioapic(0x10 + 2 * 9, 0x8000 | 0x59)     # level, vector 0x59
        self.ioapic(0x11 + 2 * 9, 0)
        self.m.outb(0x2009, 1)
        self.assertTrue(self.ioapic(0x10 + 2 * 9) & 0x4000)   # remote IRR
        self.m.writel(0xfec00040, 0x59)                       # EOI register
        # still high: delivered again, remote IRR set again
        self.assertTrue(self.ioapic(0x10 + 2 * 9) & 0x4000)
        self.m.outb(0x2009, 0)
        self.m.writel(0xfec00040, 0x59)
        self.assertFalse(self.ioapic(0x10 + 2 * 9) & 0x4000)


class MiscTest(unittest.TestCase):
    def setUp(self):
        self.m = start(['-device', 'pc-testdev'])
        self.addCleanup(self.m.close)

    def test_port92_and_i8042_reset_values(self):
        self.assertEqual(self.m.inb(0x92), 0x00)
        self.assertEqual(self.m.inb(0x64), 0x18)

    def test_i8042_self_test(self):
        m = self.m
        m.outb(0x64, 0xaa)
        self.assertEqual(m.inb(0x64) & 0x01, 0x01)
        self.assertEqual(m.inb(0x60), 0x55)
        m.outb(0x64, 0x20)
        self.assertEqual(m.inb(0x60), 0x03)

    def test_pc_testdev_scratch(self):
        m = self.m
        m.outl(0xe0, 0x12345678)
        self.assertEqual(m.inb(0xe9), 0x56)
        m.outb(0xe8, 0xaa)
        self.assertEqual(m.inl(0xe0), 0x123456aa)
        m.writel(0xff000010, 0xdeadbeef)
        self.assertEqual(m.readl(0xff000010), 0xdeadbeef)

    @NO_QEMU
    def test_i8042_reset_command(self):
        m = self.m
        m.outb(0x64, 0x60)
        m.outb(0x60, 0x00)              # command byte: interrupts off

        def mode():
            m.outb(0x64, 0x20)
            return m.inb(0x60)
        self.assertEqual(mode(), 0x00)
        m.outb(0x64, 0xfe)              # pulse reset: the machine resets
        self.assertTrue(m.poll_until(lambda: mode() == 0x03))


# PIIX4 PM (00:01.3) and its fixed-hardware registers (ACPI 6.4 4.8.3).
PM_BDF = 0x0b
PM_BASE = 0x600
PM1_STS, PM1_EN, PM1_CNT = PM_BASE, PM_BASE + 2, PM_BASE + 4
TMR, PWRBTN = 1 << 0, 1 << 8
SCI_IRQ = 9
# Bit 23 of the 3.579545 MHz PM timer flips every 2^23 ticks.
TMR_FLIP_NS = (1 << 23) * 1e9 / 3579545


def start_with_qmp(test, prefix, args=()):
    """A qtest machine with a QMP socket, closed when @test ends."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    test.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
    sock = os.path.join(tmp, 'qmp.sock')
    m = start(['-qmp', 'unix:%s,server=on,wait=off' % sock] + list(args))
    test.addCleanup(m.close)
    qmp = QMPClient(path=sock)
    test.addCleanup(qmp.close)
    return m, qmp


def enable_pm(m):
    """Firmware's part: PM I/O at PMBA, enabled by PMREGMISC."""
    cfg_write(m, PM_BDF, 0x40, PM_BASE | 1)
    cfg_write(m, PM_BDF, 0x80, 1, size=1)


class PM1EventTest(unittest.TestCase):
    """PM1 status and enable: system_powerdown presses the fixed power
    button; PWRBTN_STS and TMR_STS set whatever the enables say (ACPI 6.4
    4.8.3.1.1); the SCI (IRQ 9, level) follows STS & EN; writing 1 to a
    status bit clears it and drops the line."""

    def setUp(self):
        self.m, self.qmp = start_with_qmp(self, 'qlite-pwrbtn-')
        enable_pm(self.m)
        self.m.ok('irq_intercept_in ioapic')

    def press(self):
        self.qmp.ok('system_powerdown')
        self.qmp.event('POWERDOWN')

    def sci(self):
        """The SCI's level: a qtest round trip first collects IRQ events
        the QMP command caused."""
        self.m.inb(PM1_CNT)
        return self.m.irq_level(SCI_IRQ)

    # QEMU latches the press only while PWRBTN_EN is set.
    @NO_QEMU
    def test_status_then_sci_when_enabled(self):
        m = self.m
        self.assertEqual(m.inw(PM1_STS) & PWRBTN, 0)
        self.assertEqual(m.inw(PM1_EN), 0)
        self.press()
        self.assertEqual(m.inw(PM1_STS) & PWRBTN, PWRBTN)
        self.assertEqual(self.sci(), 0)       # not enabled
        m.outw(PM1_EN, PWRBTN)                          # pending: SCI now
        self.assertEqual(self.sci(), 1)
        m.outw(PM1_STS, 0)                              # 0 leaves it set
        self.assertEqual(m.inw(PM1_STS) & PWRBTN, PWRBTN)
        self.assertEqual(self.sci(), 1)
        m.outw(PM1_STS, PWRBTN)                         # write 1 to clear
        self.assertEqual(m.inw(PM1_STS) & PWRBTN, 0)
        self.assertEqual(self.sci(), 0)

    def test_press_with_sci_enabled(self):
        m = self.m
        m.outw(PM1_EN, PWRBTN)
        self.assertEqual(self.sci(), 0)
        self.press()
        self.assertEqual(self.sci(), 1)
        self.assertEqual(m.inl(PM1_STS) & PWRBTN, PWRBTN)
        self.assertEqual(m.inl(PM1_STS) >> 16, PWRBTN)  # PM1_EN above
        m.outw(PM1_EN, 0)                               # masking drops it
        self.assertEqual(self.sci(), 0)
        m.outw(PM1_EN, PWRBTN)
        self.assertEqual(self.sci(), 1)
        m.outw(PM1_STS, PWRBTN | TMR)                   # clear both
        self.assertEqual(self.sci(), 0)
        self.press()                                    # a second press
        self.assertEqual(self.sci(), 1)

    def test_reset_clears_the_button(self):
        m = self.m
        m.outw(PM1_EN, PWRBTN)
        self.press()
        self.assertEqual(self.sci(), 1)
        self.qmp.ok('system_reset')
        self.qmp.event('RESET')
        enable_pm(m)
        self.assertEqual(m.inw(PM1_STS) & PWRBTN, 0)
        self.assertEqual(m.inw(PM1_EN), 0)
        self.assertEqual(self.sci(), 0)

    @NO_QEMU
    def test_timer_status(self):
        m = self.m
        m.clock_step(int(TMR_FLIP_NS) + 1000)
        m.outw(PM1_STS, TMR)
        self.assertEqual(m.inw(PM1_STS) & TMR, 0)
        m.clock_step(int(TMR_FLIP_NS) + 1000)
        self.assertEqual(m.inw(PM1_STS) & TMR, TMR)     # TMR_EN clear
        self.assertEqual(self.sci(), 0)
        m.outw(PM1_STS, TMR)
        m.outw(PM1_EN, TMR)
        self.assertEqual(self.sci(), 0)
        m.clock_step(int(TMR_FLIP_NS) + 1000)           # the timer fires
        self.assertEqual(self.sci(), 1)
        m.outw(PM1_STS, TMR)
        self.assertEqual(self.sci(), 0)


if __name__ == '__main__':
    unittest.main()
