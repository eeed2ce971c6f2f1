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


if __name__ == '__main__':
    unittest.main(verbosity=2)
