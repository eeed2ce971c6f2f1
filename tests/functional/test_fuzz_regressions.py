#!/usr/bin/env python3
"""Inputs that fuzz-pc-devices (tests/fuzz/) found crashing the pc board,
replayed over qtest.  Each test names the bug, replays the accesses that
reached it (QLITE_FUZZ_TRACE=1 prints them) and checks the device
behaves as documented afterwards, so it fails on a build without the fix
even when no sanitizer is there to catch the original fault.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import QtestMachine, is_real_qemu  # noqa: E402

NO_QEMU = unittest.skipIf(is_real_qemu(), 'Debian QEMU lacks qtest')


def cmos_read(m, reg):
    m.outb(0x70, reg)
    return m.inb(0x71)


def cmos_write(m, reg, val):
    m.outb(0x70, reg)
    m.outb(0x71, val)


class RTCTest(unittest.TestCase):
    def setUp(self):
        self.m = QtestMachine(args=['-d', 'guest_errors']).start()
        self.addCleanup(self.m.close)

    @NO_QEMU
    def test_binary_mode_over_bcd_date_is_refused(self):
        """mc146818rtc.c rtc_take_time: switching to binary mode while the
        registers hold BCD, then clearing SET, read century 0x20 as 32:
        the year 32xx overflowed int64_t nanoseconds (UBSan: signed
        overflow) and the clock jumped to a wrapped date.  Such a date is
        now refused and the clock keeps its time."""
        m = self.m
        year = time.gmtime().tm_year
        cmos_write(m, 0x0b, 0x82)       # SET, 24h, BCD: registers frozen
        cmos_write(m, 0x0b, 0x86)       # binary mode, still SET
        cmos_write(m, 0x0b, 0x06)       # clear SET: take the time
        m.clock_step(1_100_000_000)     # an update cycle refills them
        got = cmos_read(m, 0x32) * 100 + cmos_read(m, 0x09)
        self.assertIn(got, (year, year + 1))
        self.assertIn('invalid date written', m.stderr())


LAPIC = 0xfee00000


class LAPICTimerTest(unittest.TestCase):
    def setUp(self):
        self.m = QtestMachine().start()
        self.addCleanup(self.m.close)

    @NO_QEMU
    def test_periodic_timer_with_tiny_period(self):
        """apic.c apic_arm_timer: a periodic timer with initial count 1 and
        divide-by-1 rearmed itself every nanosecond, so one clock step of
        a second ran 10^9 callbacks (fuzzer timeout; a guest could hang
        the main loop the same way).  Periods under 100 us now fire every
        100 us; the interrupt is still delivered and the current-count
        register still counts at the programmed rate."""
        m = self.m
        m.writel(LAPIC + 0xf0, 0x1ff)           # software enable
        m.writel(LAPIC + 0x3e0, 0x0b)           # divide by 1
        m.writel(LAPIC + 0x320, 0x20040)        # periodic, vector 0x40
        m.writel(LAPIC + 0x380, 1)              # initial count 1
        start = time.monotonic()
        m.clock_step(1_000_000_000)
        self.assertLess(time.monotonic() - start, 5.0)
        self.assertTrue(m.readl(LAPIC + 0x220) & 1)   # IRR bit 0x40
        self.assertEqual(m.readl(LAPIC + 0x390), 1)   # count 1 of 1

    @NO_QEMU
    def test_periodic_timer_rate_is_kept(self):
        """The clamp leaves ordinary periods alone: a 1 ms timer first
        fires exactly 1 ms after the initial count is written."""
        m = self.m
        m.writel(LAPIC + 0xf0, 0x1ff)
        m.writel(LAPIC + 0x3e0, 0x0b)
        m.writel(LAPIC + 0x320, 0x20040)
        m.writel(LAPIC + 0x380, 1_000_000)      # 1 ms at 1 GHz
        m.clock_step(999_999)
        self.assertFalse(m.readl(LAPIC + 0x220) & 1)
        m.clock_step(1)
        self.assertTrue(m.readl(LAPIC + 0x220) & 1)

if __name__ == '__main__':
    unittest.main(verbosity=2)
